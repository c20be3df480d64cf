//! The poller: while some gate is pending, asks each pending gate's target group for its targets'
//! health (one DescribeTargetHealth per group, whatever the number of its pods) and writes each
//! gate's condition where it changed; then waits, [`Backoff`] long, or less when a gate becomes
//! pending or a target group becomes known. With nothing pending it waits for a change and makes
//! no call. Gates whose target group was deleted are let go (set True) as soon as that is known.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use elbow_builder::readiness::condition_type;
use elbow_cloud::{Cloud, CloudErrorKind, TargetHealth};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::ReadinessGates;
use super::gate::{Seen, condition_patch, judge};
use super::pods::{CachedPod, PodKey};
use super::schedule::Backoff;

/// One pending gate as the poller tracks it: a new one (a new pod, or a group just known) starts
/// the delays over.
type Member = (PodKey, String, String, bool);

pub struct Poller {
    gates: Arc<ReadinessGates>,
    cloud: Arc<dyn Cloud>,
    client: kube::Client,
    backoff: Backoff,
}

impl Poller {
    pub fn new(gates: Arc<ReadinessGates>, cloud: Arc<dyn Cloud>, client: kube::Client, backoff: Backoff) -> Self {
        Self { gates, cloud, client, backoff }
    }

    /// Runs until dropped.
    pub async fn run(mut self) {
        let mut known: BTreeSet<Member> = BTreeSet::new();
        loop {
            self.release_deleted().await;
            let pending = self.pending();
            if pending.is_empty() {
                known.clear();
                self.backoff.reset();
                self.wait_for_change().await;
                continue;
            }
            let members = self.members(&pending);
            if !members.is_subset(&known) {
                self.backoff.reset();
            }
            known = members;
            self.poll(&pending).await;
            let deadline = Instant::now() + self.backoff.next_delay();
            // Until the deadline, a change starts a round early only if it makes a gate pending
            // that was not (the poller's own status writes also wake it, and must not).
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => break,
                    () = self.wait_for_change() => {
                        let pending = self.pending();
                        let members = self.members(&pending);
                        if pending.is_empty() || !members.is_subset(&known) || self.has_deleted() {
                            break;
                        }
                    }
                }
            }
        }
    }

    async fn wait_for_change(&self) {
        tokio::select! {
            () = self.gates.pods.changed.notified() => {}
            () = self.gates.registry_changed.notified() => {}
        }
    }

    fn has_deleted(&self) -> bool {
        !self.gates.lock_deleted().is_empty()
    }

    /// The pods with a pending gate, by the gate's target group.
    fn pending(&self) -> BTreeMap<String, Vec<CachedPod>> {
        let mut pending: BTreeMap<String, Vec<CachedPod>> = BTreeMap::new();
        for pod in self.gates.pods.snapshot() {
            for target_group in pod.pending_gates() {
                pending.entry(target_group.to_string()).or_default().push(pod.clone());
            }
        }
        pending
    }

    fn members(&self, pending: &BTreeMap<String, Vec<CachedPod>>) -> BTreeSet<Member> {
        pending
            .iter()
            .flat_map(|(tg, pods)| {
                let known = self.gates.arn_of(tg).is_some();
                pods.iter().map(move |pod| (pod.key(), pod.uid.clone(), tg.clone(), known))
            })
            .collect()
    }

    /// One round: every pending gate's target group asked once, every changed gate written.
    async fn poll(&self, pending: &BTreeMap<String, Vec<CachedPod>>) {
        for (target_group, pods) in pending {
            let health: Option<Vec<TargetHealth>> = match self.gates.arn_of(target_group) {
                None => None,
                Some(arn) => match self.cloud.describe_target_health(&arn).await {
                    Ok(health) => Some(health),
                    // Deleted behind the registry's back: as good as unknown until a deploy says.
                    Err(error) if error.kind == CloudErrorKind::NotFound => None,
                    Err(error) => {
                        warn!(%target_group, %error, "failed to read target health; trying again later");
                        continue;
                    }
                },
            };
            let seen = health.as_deref().map_or(Seen::NoTargetGroup, Seen::Targets);
            for pod in pods {
                let Some(ip) = pod.ip.as_deref() else { continue };
                self.write(pod, target_group, judge(target_group, ip, seen)).await;
            }
        }
    }

    /// Lets go of every gate whose target group was deleted.
    async fn release_deleted(&self) {
        let deleted = self.gates.take_deleted();
        if deleted.is_empty() {
            return;
        }
        for pod in self.gates.pods.snapshot() {
            for target_group in pod.gates.keys().filter(|tg| deleted.contains(*tg)) {
                self.write(&pod, target_group, judge(target_group, "", Seen::Deleted)).await;
            }
        }
    }

    /// Writes the gate's condition when `verdict` changes it.
    async fn write(&self, pod: &CachedPod, target_group: &str, verdict: super::gate::Verdict) {
        let kind = condition_type(target_group);
        let current = pod.gates.get(target_group).and_then(Option::as_ref);
        let Some(condition) = condition_patch(&kind, current, &verdict, Time(Timestamp::now())) else { return };
        match patch_condition(&self.client, pod, condition).await {
            Ok(()) => {
                let status = if verdict.ready { "True" } else { "False" };
                let (namespace, name) = (&pod.namespace, &pod.name);
                let reason = verdict.reason.as_deref().unwrap_or_default();
                match verdict.ready {
                    true => info!(%namespace, pod = %name, %target_group, reason, "readiness gate {status}"),
                    false => debug!(%namespace, pod = %name, %target_group, reason, "readiness gate {status}"),
                }
            }
            // Deleted, or deleted and created again under the same name (the uid precondition
            // failed): the watch brings the new pod, whose gate is judged afresh.
            Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409 | 422) => {
                debug!(namespace = %pod.namespace, pod = %pod.name, code = status.code, "pod gone or replaced; not written");
            }
            Err(error) => {
                warn!(namespace = %pod.namespace, pod = %pod.name, %error, "failed to write a readiness gate")
            }
        }
    }
}

/// One strategic merge patch of the pod's status subresource: `conditions` merge by `type`, so
/// the kubelet's conditions and other gates stay. The uid makes it a patch of this pod only.
async fn patch_condition(client: &kube::Client, pod: &CachedPod, condition: Value) -> kube::Result<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace);
    let patch = json!({ "metadata": { "uid": pod.uid }, "status": { "conditions": [condition] } });
    api.patch_status(&pod.name, &PatchParams::default(), &Patch::Strategic(patch)).await.map(|_| ())
}
