//! Pod readiness gates, Elbow's side after the webhook (`webhook::pods`) has given a new pod the
//! gate `target-health.elbow.dev/<target group>`: the kubelet holds the pod un-Ready until its
//! condition of that type is True, and Elbow sets it True once the load balancer reports the
//! pod's target healthy, so that a rolling update never runs ahead of the load balancer.
//!
//! ```text
//!  Pod watch ──► pods (only gated pods kept) ──► builders: a pod waiting only for its gate is
//!  (runtime/pods.rs)        │                     registered (else it could never turn healthy)
//!                           ▼
//!  deploys ──► registry ──► poller: while a gate is pending, one DescribeTargetHealth per
//!  (Service, Ingress)       (name → ARN)   target group, 1 s doubling to 15 s ──► gate
//!                                          (state machine) ──► pods/status patch
//! ```
//!
//! The poller runs with the controllers, on the leader only. It asks nothing while no gate is
//! pending.

pub mod gate;
pub mod pods;
pub mod poller;
pub mod registry;
pub mod schedule;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use elbow_deploy::Deployer;
use elbow_model::{Stack, TargetType};
use tokio::sync::Notify;

use pods::PodCache;
use registry::Registry;

/// What the controllers, the Pod watch and the poller share.
#[derive(Debug, Default)]
pub struct ReadinessGates {
    pub pods: Arc<PodCache>,
    registry: Registry,
    /// Target groups deleted since the poller last looked: the gates naming them let go.
    deleted: Mutex<BTreeSet<String>>,
    /// Woken when the registry changes.
    registry_changed: Notify,
}

impl ReadinessGates {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the ip target groups `stack` has after a successful deploy (an empty stack: none),
    /// with their ARNs from the deployer's index.
    pub async fn deployed(&self, stack: &Stack, deployer: &Deployer) {
        let ip: BTreeSet<&str> = stack
            .target_groups
            .iter()
            .filter(|tg| tg.target_type == TargetType::Ip)
            .map(|tg| tg.name.as_str())
            .collect();
        let groups: BTreeMap<String, String> = match ip.is_empty() {
            true => BTreeMap::new(),
            false => deployer
                .target_group_arns(&stack.id)
                .await
                .into_iter()
                .filter(|(name, _)| ip.contains(name.as_str()))
                .collect(),
        };
        let recorded = self.registry.record(&stack.id, groups);
        let deleted = !recorded.deleted.is_empty();
        self.lock_deleted().extend(recorded.deleted);
        if recorded.added || deleted {
            self.registry_changed.notify_one();
        }
    }

    fn lock_deleted(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.deleted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The target groups deleted since the last call.
    fn take_deleted(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.lock_deleted())
    }

    pub fn arn_of(&self, target_group: &str) -> Option<String> {
        self.registry.arn_of(target_group)
    }
}
