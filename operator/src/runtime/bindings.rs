//! Wiring of the TargetGroupBinding controller. Bindings are watched by the controller itself
//! (a new kind, few objects); everything else it reads comes from the shared caches and their
//! one watch each: a change of a bound Service, of a bound Service's EndpointSlices, or of the
//! node set re-enqueues the bindings concerned.
//!
//! ```text
//! Service watch ── bound Services only ──┐
//! EndpointSlice watch ── their Service ──┼──> bindings naming it ─┐
//! node watch ── the node set changed ────┴──> every binding ──────┴──> reconcile
//! ```

use std::future::Future;
use std::sync::Arc;

use elbow_builder::binding::TargetGroupBinding;
use futures::{Stream, StreamExt, stream};
use k8s_openapi::api::core::v1::Service;
use kube::runtime::controller::{self, Config};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client};
use tracing::{debug, info, warn};

use super::watch_health::WatchHealth;
use crate::controllers::binding::{self, BindingContext};

/// The controller before it runs: its binding cache exists already, so that the Service watch
/// can pass on only the Services some binding names.
pub struct BindingController {
    controller: Controller<TargetGroupBinding>,
}

impl BindingController {
    pub fn new(client: Client) -> Self {
        Self { controller: Controller::new(Api::<TargetGroupBinding>::all(client), watcher::Config::default()) }
    }

    pub fn store(&self) -> Store<TargetGroupBinding> {
        self.controller.store()
    }

    /// Runs until `shutdown`. `service_changes` are changed Services (any: those no binding
    /// names are dropped here), `slice_changes` the Services whose EndpointSlices changed,
    /// `node_changes` a signal per change of the node set.
    pub fn run(
        self,
        ctx: Arc<BindingContext>,
        service_changes: impl Stream<Item = ObjectRef<Service>> + Send + 'static,
        slice_changes: impl Stream<Item = ObjectRef<Service>> + Send + 'static,
        node_changes: impl Stream<Item = ()> + Send + 'static,
        config: Config,
        shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ) -> impl Future<Output = ()> {
        let bindings = self.controller.store();
        let triggers = stream::select(service_changes, slice_changes).map(|service| Ok(stub(&service)));
        let mut health = WatchHealth::default();
        info!("TargetGroupBinding controller ready");
        self.controller
            .reconcile_all_on(node_changes)
            .watches_stream(triggers, move |service: Service| bound_to(&bindings, &service))
            .with_config(config)
            .graceful_shutdown_on(shutdown)
            .run(binding::reconcile, binding::error_policy, ctx)
            .for_each(move |result| {
                match result {
                    // The binding watch is the one the controller owns: a missing CRD shows here.
                    Err(controller::Error::QueueError(error)) => match health.failed("TargetGroupBinding", &error) {
                        Some(line) => warn!("{line}"),
                        None => debug!(%error, "TargetGroupBinding watch still failing"),
                    },
                    Ok(_) => {
                        if health.succeeded() {
                            info!("the TargetGroupBinding watch works again");
                        }
                    }
                    Err(_) => {}
                }
                async {}
            })
    }
}

/// Whether some binding in `bindings` names `service`: what the Service watch passes on.
pub fn is_bound(bindings: &Store<TargetGroupBinding>, service: &ObjectRef<Service>) -> bool {
    bindings.state().iter().any(|b| binding::names_service(b, service))
}

fn bound_to(bindings: &Store<TargetGroupBinding>, service: &Service) -> Vec<ObjectRef<TargetGroupBinding>> {
    let key = ObjectRef::from_obj(service);
    bindings
        .state()
        .iter()
        .filter(|b| binding::names_service(b, &key))
        .map(|b| ObjectRef::from_obj(b.as_ref()))
        .collect()
}

/// A Service standing for its key: the mapper reads only its name and namespace.
fn stub(service: &ObjectRef<Service>) -> Service {
    let mut stub = Service::default();
    stub.metadata.name = Some(service.name.clone());
    stub.metadata.namespace = service.namespace.clone();
    stub
}

#[cfg(test)]
mod tests {
    use kube::ResourceExt;

    use super::*;

    #[test]
    fn a_stub_has_the_key_of_its_service() {
        let key = ObjectRef::<Service>::new("web").within("shop");
        let service = stub(&key);
        assert_eq!(ObjectRef::from_obj(&service), key);
        assert_eq!(service.name_any(), "web");
    }
}
