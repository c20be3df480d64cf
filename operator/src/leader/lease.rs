//! One candidate's reads and writes of the Lease. Every write is an update carrying the
//! `resourceVersion` that was read (or a create, which fails if the Lease exists), so when two
//! candidates race, the API server lets exactly one through and the other gets 409 Conflict.
//! Only `get`, `create` and `update` are used: the verbs the chart's Role grants.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::time::Instant;

use super::decision::{self, Decision, Observation};

/// The result of one acquire-or-renew attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// We hold the lease (just acquired or renewed).
    Holding,
    /// Another candidate holds a lease that has not expired.
    HeldBy(String),
}

pub(crate) struct LeaseLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
    observed: Option<Observation>,
    /// The Lease as we last wrote it while holding it: what a release updates.
    ours: Option<Lease>,
}

impl LeaseLock {
    pub(crate) fn new(client: Client, namespace: &str, name: &str, identity: &str, lease_duration: Duration) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
            lease_duration,
            observed: None,
            ours: None,
        }
    }

    /// Reads the Lease and, if it is free, expired or ours, writes ourselves in. A conflict (someone
    /// else wrote first) is returned as an error: the next attempt reads the winner.
    pub(crate) async fn try_acquire_or_renew(&mut self) -> Result<Attempt, kube::Error> {
        let Some(current) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..ObjectMeta::default() },
                spec: Some(decision::created(&self.identity, self.lease_duration, Timestamp::now())),
            };
            let created = self.api.create(&PostParams::default(), &lease).await?;
            return Ok(self.holding(created));
        };
        let now = Instant::now();
        let spec = current.spec.clone().unwrap_or_default();
        let observed = Observation::update(self.observed.take(), &spec, now);
        let decision = decision::decide(&observed, &self.identity, self.lease_duration, now, Timestamp::now());
        self.observed = Some(observed);
        match decision {
            Decision::HeldBy(holder) => {
                self.ours = None;
                Ok(Attempt::HeldBy(holder))
            }
            Decision::Write(spec) => {
                // `current` keeps the resourceVersion it was read at: the update is conditional on it.
                let wanted = Lease { spec: Some(spec), ..current };
                let written = self.api.replace(&self.name, &PostParams::default(), &wanted).await?;
                Ok(self.holding(written))
            }
        }
    }

    /// Hands the lease back if we still hold it, so that a standby takes over without waiting for
    /// it to expire. Returns whether it was released; `false` when another candidate had already
    /// written it (a 409 on our stale resourceVersion), which leaves it to them.
    pub(crate) async fn release(&mut self) -> Result<bool, kube::Error> {
        let Some(ours) = self.ours.take() else { return Ok(false) };
        let spec = decision::released(&ours.spec.clone().unwrap_or_default(), Timestamp::now());
        match self.api.replace(&self.name, &PostParams::default(), &Lease { spec: Some(spec), ..ours }).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }

    fn holding(&mut self, written: Lease) -> Attempt {
        self.observed = Some(Observation { spec: written.spec.clone().unwrap_or_default(), at: Instant::now() });
        self.ours = Some(written);
        Attempt::Holding
    }
}
