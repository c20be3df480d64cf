//! What every reconcile shares: the Kubernetes client, the deployer (and through it the cloud),
//! the builders' configuration, the node, EndpointSlice and gated-pod caches, the cloud inventory, events and
//! backoff. The Ingress controller's own state lives with it
//! (`controllers::ingress::IngressContext`).

use std::sync::Arc;
use std::time::Duration;

use elbow_builder::BuildConfig;
use elbow_builder::endpoints::belongs_to;
use elbow_deploy::Deployer;
use k8s_openapi::api::core::v1::{Node, Service};
use kube::Client;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::controllers::backoff::ObjectBackoff;
use crate::controllers::events::EventPublisher;
use crate::controllers::readiness::ReadinessGates;
use crate::inventory::InventoryCache;
use crate::metrics::Metrics;
use crate::runtime::endpoints::CachedSlice;

pub struct Context {
    pub client: Client,
    pub deployer: Deployer,
    pub build: BuildConfig,
    /// Every node, from one shared watch.
    pub nodes: Store<Node>,
    /// Every EndpointSlice, compact, from one shared watch: the pods of ip targets.
    pub endpoint_slices: Store<CachedSlice>,
    /// The pods with Elbow's readiness gates, and the ip target groups deployed (for the gates'
    /// poller).
    pub readiness: Arc<ReadinessGates>,
    pub inventory: InventoryCache,
    pub events: EventPublisher,
    pub service_backoff: ObjectBackoff<ObjectRef<Service>>,
    pub settings: ControllerSettings,
    pub metrics: Metrics,
}

impl Context {
    /// The cached slices of the Services `names` in `namespace`: pointers into the cache, as
    /// the builders take them.
    pub fn slices_of(&self, namespace: &str, names: &[&str]) -> Vec<Arc<CachedSlice>> {
        self.endpoint_slices
            .state()
            .into_iter()
            .filter(|slice| names.iter().any(|name| belongs_to(&slice.0, namespace, name)))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct ControllerSettings {
    /// How soon a Service or Ingress group that reconciled fine is reconciled again; cheap (no
    /// cloud call) unless the deployer's drift period has passed.
    pub resync_period: Duration,
    /// How soon a load balancer AWS still reports `provisioning` is looked at again (one
    /// describe call each time; AWS takes a few minutes to make a new one active).
    pub provisioning_recheck: Duration,
}

/// AWS takes a few minutes to make a new load balancer active; every 10 s is at most a few dozen
/// describe calls per new load balancer, and the condition turns True within 10 s of it.
pub const PROVISIONING_RECHECK: Duration = Duration::from_secs(10);
