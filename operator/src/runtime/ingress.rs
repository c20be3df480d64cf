//! Wiring of the Ingress controller: the caches it reads (IngressClasses, their parameters, and
//! the one Service cache of `runtime::services`, shared so that Services are cached once) and what
//! re-enqueues Ingresses — any class or parameters change re-enqueues them all
//! (rare, and a no-op reconcile costs no AWS call), a Service change re-enqueues the Ingresses
//! of its namespace that send traffic to it, a node-set change re-enqueues them all, and a change
//! of a Secret an Ingress authenticates with re-enqueues the Ingresses that use it
//! (`runtime::secrets`, which watches only those Secrets).

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use elbow_builder::crd::IngressClassParams;
use futures::{Stream, StreamExt, stream};
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::runtime::controller::Config;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tracing::{debug, info, warn};

use super::secrets::SecretWatches;
use super::watch_health::WatchHealth;
use crate::context::Context;
use crate::controllers::backoff::{BackoffPolicy, ObjectBackoff};
use crate::controllers::ingress;
use crate::controllers::ingress::IngressContext;
use crate::controllers::keyed_locks::KeyedLocks;

/// A running Ingress controller and the cache watches it owns.
pub struct IngressController<F> {
    pub run: F,
    watches: Vec<JoinHandle<()>>,
}

impl<F> IngressController<F> {
    /// Something to call once the controller has stopped, to stop its cache watches too.
    pub fn watch_stopper(&self) -> impl FnOnce() + use<F> {
        let handles: Vec<_> = self.watches.iter().map(JoinHandle::abort_handle).collect();
        move || handles.iter().for_each(tokio::task::AbortHandle::abort)
    }
}

/// The Ingress controller, ready to run; `None` when a cache never filled (its watch ended).
/// Waiting matters: an Ingress resolved against an empty class cache looks foreign, and would
/// be removed from its load balancer. `services` is the one Service cache and `service_changes`
/// every change to it: the cache fills only once the Service controller runs (its trigger drives
/// the watch), so it is not waited for here; each reconcile waits for it before building.
pub async fn controller(
    shared: Arc<Context>,
    services: Store<Service>,
    service_changes: impl Stream<Item = Service> + Send + 'static,
    controller_name: &str,
    node_changes: impl Stream<Item = ()> + Send + 'static,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> Option<IngressController<impl Future<Output = ()>>> {
    let client = shared.client.clone();
    let controller = Controller::new(Api::<Ingress>::all(client.clone()), watcher::Config::default());
    let ingresses = controller.store();
    let (class_changed, class_changes) = mpsc::unbounded_channel();
    let (params_changed, params_changes) = mpsc::unbounded_channel();
    let (classes, class_watch) = cached(Api::<IngressClass>::all(client.clone()), Some(class_changed));
    let (params, params_watch) = cached(Api::<IngressClassParams>::all(client.clone()), Some(params_changed));
    let watches = vec![class_watch, params_watch];
    let ready = async { classes.wait_until_ready().await.is_ok() && params.wait_until_ready().await.is_ok() };
    if !ready.await {
        watches.iter().for_each(JoinHandle::abort);
        return None;
    }

    let reenqueue_all = stream::select_all([
        UnboundedReceiverStream::new(class_changes).boxed(),
        UnboundedReceiverStream::new(params_changes).boxed(),
        node_changes.boxed(),
    ]);
    let users = {
        let ingresses = ingresses.clone();
        move |service: Service| ingresses_using(&ingresses, &service)
    };
    let (secrets, secret_changes) = SecretWatches::new(client.clone());
    let secrets = Arc::new(secrets);
    let secret_users = {
        let secrets = secrets.clone();
        move |secret: Secret| secrets.users(&secret)
    };
    let ctx = Arc::new(IngressContext {
        shared,
        ingresses,
        classes,
        params,
        services,
        secrets,
        controller_name: controller_name.to_string(),
        group_locks: KeyedLocks::new(),
        backoff: ObjectBackoff::new(BackoffPolicy::default()),
    });
    info!(controller = controller_name, "Ingress controller ready");
    let run = controller
        .reconcile_all_on(reenqueue_all)
        .watches_stream(service_changes.map(Ok), users)
        .watches_stream(UnboundedReceiverStream::new(secret_changes).map(Ok), secret_users)
        .with_config(config)
        .graceful_shutdown_on(shutdown)
        .run(ingress::reconcile, ingress::error_policy, ctx)
        .for_each(|_| async {});
    Some(IngressController { run, watches })
}

/// A cache of every `K`, kept by a background watch, which signals `changed` (when given) for
/// every object it sees change, deletions included. The signal channel is unbounded because the
/// watch must never wait for the controller: the cache has to fill before the controller starts.
fn cached<K>(api: Api<K>, changed: Option<mpsc::UnboundedSender<()>>) -> (Store<K>, JoinHandle<()>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let watch = tokio::spawn(async move {
        let events = watcher(api, watcher::Config::default()).default_backoff().reflect(writer);
        futures::pin_mut!(events);
        let kind = K::kind(&());
        let mut health = WatchHealth::default();
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => {
                    // Any answer, an empty initial list included, ends a failure streak.
                    if health.succeeded() {
                        info!(%kind, "watch works again");
                    }
                    let touched = matches!(
                        event,
                        watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitApply(_)
                    );
                    if touched && let Some(changed) = &changed {
                        let _ = changed.send(());
                    }
                }
                Err(error) => match health.failed(&kind, &error) {
                    Some(line) => warn!(%kind, "{line}"),
                    None => debug!(%kind, %error, "watch still failing"),
                },
            }
        }
    });
    (store, watch)
}

/// The Ingresses in `service`'s namespace whose rules, default backend or action annotations
/// name it.
fn ingresses_using(ingresses: &Store<Ingress>, service: &Service) -> Vec<ObjectRef<Ingress>> {
    let (namespace, name) = (service.namespace(), service.name_any());
    ingresses
        .state()
        .iter()
        .filter(|ingress| ingress.namespace() == namespace)
        .filter(|ingress| ingress::referenced_service_names(ingress).contains(&name))
        .map(|ingress| ObjectRef::from_obj(ingress.as_ref()))
        .collect()
}
