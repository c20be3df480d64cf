//! What every reconcile shares: the Kubernetes client, the deployer (and through it the cloud),
//! the builders' configuration, the node cache, the cloud inventory, events and backoff.

use std::sync::Arc;
use std::time::Duration;

use elbow_builder::BuildConfig;
use elbow_builder::crd::IngressClassParams;
use elbow_deploy::Deployer;
use elbow_model::StackId;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::Client;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::controllers::backoff::ObjectBackoff;
use crate::controllers::events::EventPublisher;
use crate::controllers::ingress::ClassView;
use crate::controllers::keyed_locks::KeyedLocks;
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
    /// How often a Service that is fine is reconciled again; cheap (no cloud call) unless the
    /// deployer's drift period has passed.
    pub resync_period: Duration,
}

/// The Ingress controller's own caches and state, next to the shared [`Context`].
pub struct IngressContext {
    pub shared: Arc<Context>,
    /// The controller's own Ingress cache.
    pub ingresses: Store<Ingress>,
    pub classes: Store<IngressClass>,
    pub params: Store<IngressClassParams>,
    pub services: Store<Service>,
    /// The IngressClass `spec.controller` value Elbow serves.
    pub controller_name: String,
    /// One reconcile at a time per group (stack).
    pub group_locks: KeyedLocks<StackId>,
    pub backoff: ObjectBackoff<ObjectRef<Ingress>>,
}

impl IngressContext {
    pub fn class_view(&self) -> ClassView {
        ClassView::new(&self.classes, &self.params, &self.controller_name)
    }
}
