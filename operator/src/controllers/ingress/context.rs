//! The Ingress controller's own caches and state, next to the shared [`Context`].

use std::sync::Arc;

use elbow_builder::crd::IngressClassParams;
use elbow_model::StackId;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::runtime::reflector::{ObjectRef, Store};

use super::membership::ClassView;
use crate::context::Context;
use crate::controllers::backoff::ObjectBackoff;
use crate::controllers::keyed_locks::KeyedLocks;
use crate::runtime::secrets::SecretWatches;

/// The Ingress controller's own caches and state, next to the shared [`Context`].
pub struct IngressContext {
    pub shared: Arc<Context>,
    /// The controller's own Ingress cache.
    pub ingresses: Store<Ingress>,
    pub classes: Store<IngressClass>,
    pub params: Store<IngressClassParams>,
    pub services: Store<Service>,
    /// The Secrets the Ingresses name for OIDC, each watched by name.
    pub secrets: Arc<SecretWatches>,
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
