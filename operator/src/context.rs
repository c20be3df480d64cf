//! What every reconcile shares: the Kubernetes client, the deployer (and through it the cloud),
//! the builders' configuration, the node cache, the cloud inventory, events and backoff. The
//! Ingress controller's own state lives with it (`controllers::ingress::IngressContext`).

use std::time::Duration;

use elbow_builder::BuildConfig;
use elbow_deploy::Deployer;
use k8s_openapi::api::core::v1::{Node, Service};
use kube::Client;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::controllers::backoff::ObjectBackoff;
use crate::controllers::events::EventPublisher;
use crate::inventory::InventoryCache;
use crate::metrics::Metrics;

pub struct Context {
    pub client: Client,
    pub deployer: Deployer,
    pub build: BuildConfig,
    /// Every node, from one shared watch.
    pub nodes: Store<Node>,
    pub inventory: InventoryCache,
    pub events: EventPublisher,
    pub service_backoff: ObjectBackoff<ObjectRef<Service>>,
    pub settings: ControllerSettings,
    pub metrics: Metrics,
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
