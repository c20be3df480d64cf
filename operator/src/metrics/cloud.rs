//! [`Metered`]: a [`Cloud`] that records every call in the [`Metrics`]: count by action and
//! outcome, latency by action, and the load balancers it sees tagged with the cluster.
//!
//! Where it goes: *inside* [`Resilient`](elbow_cloud::resilient::Resilient), directly around the
//! SDK (`Resilient::new(Metered::new(sdk, ..), ..)`). Throttling is an answer AWS gives to one
//! request; `Resilient` retries it, and the SDK's own retries are off (elbow-aws), so only a
//! wrapper on the inside sees each throttled request and each retry as what it is, a request
//! of its own, and times each one alone. Outside `Resilient`, a call throttled twice and then
//! accepted would count as one success, throttling would show only when retries ran out, and the
//! latency would include the client-side rate-limit waits and backoff pauses.
//!
//! It is an `elbow_cloud` [`Layer`]: one hook times and counts every call, whatever the action,
//! and [`ManagedLoadBalancers`] observes the typed answers of the four calls that show which load
//! balancers carry the cluster's tag. A paged or batched method counts once per call, however many
//! pages or batches it sent (the SDK adapter's own `CallCounter` counts those).

use std::collections::BTreeMap;
use std::time::Instant;

use elbow_cloud::{
    Arn, Attempt, Call, Cloud, CloudResult, CreateLoadBalancer, Layer, LoadBalancer, LoadBalancerFilter, Observe,
};
use elbow_model::Tags;

use super::{ManagedLoadBalancers, Metrics};

pub struct Metered<C> {
    inner: C,
    metrics: Metrics,
    managed: ManagedLoadBalancers,
}

impl<C: Cloud> Metered<C> {
    /// `cluster_name` tells this cluster's load balancers (by their `elbow.dev/cluster` tag) from
    /// those of other clusters in the same account.
    pub fn new(inner: C, metrics: Metrics, cluster_name: &str) -> Self {
        let managed = metrics.managed_load_balancers(cluster_name);
        Self { inner, metrics, managed }
    }

    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C: Cloud> Layer for Metered<C> {
    type Inner = C;

    fn inner(&self) -> &C {
        &self.inner
    }

    /// Times the one request and counts it by outcome; never retries.
    async fn around<T: Send>(&self, call: Call, mut attempt: impl Attempt<T>) -> CloudResult<T> {
        let started = Instant::now();
        let result = attempt.run().await;
        let outcome = result.as_ref().map(|_| ()).map_err(|error| error.kind);
        self.metrics.record_cloud_call(call.api, outcome, started.elapsed());
        result
    }

    fn observer(&self) -> Option<&dyn Observe> {
        Some(&self.managed)
    }
}

/// The answers that tell which load balancers carry this cluster's tag; every other call tells
/// nothing about it.
impl Observe for ManagedLoadBalancers {
    fn describe_load_balancers(&self, filter: LoadBalancerFilter, result: &CloudResult<Vec<LoadBalancer>>) {
        if let (LoadBalancerFilter::All, Ok(load_balancers)) = (filter, result) {
            self.all_listed(load_balancers);
        }
    }

    fn describe_tags(&self, arns: &[Arn], result: &CloudResult<BTreeMap<Arn, Tags>>) {
        if let Ok(tags) = result {
            self.tags_read(arns, tags);
        }
    }

    fn create_load_balancer(&self, input: CreateLoadBalancer, result: &CloudResult<LoadBalancer>) {
        if let Ok(load_balancer) = result {
            self.created(load_balancer, &input.tags);
        }
    }

    fn delete_load_balancer(&self, arn: &str, result: &CloudResult<()>) {
        // A delete that found nothing to delete leaves nothing behind either.
        let gone = match result {
            Ok(()) => true,
            Err(error) => error.is_not_found(),
        };
        if gone {
            self.deleted(arn);
        }
    }
}
