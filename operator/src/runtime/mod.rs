//! Starts Elbow's controllers on a Kubernetes client and a cloud: the one place where the node,
//! EndpointSlice and Pod watches, the readiness gates' poller, the Service, Ingress and
//! TargetGroupBinding controllers and their shared context are wired together. `elbow run` calls
//! it with the AWS SDK; the playground and the end-to-end tests call it with the fake cloud or
//! an AWS-compatible endpoint.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use elbow_builder::BuildConfig;
use elbow_cloud::Cloud;
use elbow_deploy::{DeploySettings, Deployer};
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{Node, Service};
use kube::runtime::Controller;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector;
use kube::{Api, Client};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};
use tracing::{info, warn};

use crate::context::{Context, ControllerSettings, PROVISIONING_RECHECK};
use crate::controllers::backoff::{BackoffPolicy, ObjectBackoff};
use crate::controllers::binding::BindingContext;
use crate::controllers::events::EventPublisher;
use crate::controllers::readiness::ReadinessGates;
use crate::controllers::readiness::poller::Poller;
use crate::controllers::readiness::schedule::Backoff;
use crate::controllers::service;
use crate::inventory::InventoryCache;
use crate::metrics::Metrics;
use crate::sweep::{ClusterOwners, PeriodicSweep};

mod bindings;
pub mod endpoints;
mod ingress;
mod nodes;
mod pods;
pub mod secrets;
mod services;
mod watch_health;

/// Objects per list request of the Node and Service watches (kube-runtime's default is 500). A
/// list page is held whole, as JSON and decoded, before the watch slims its objects: 500 Nodes
/// with their image lists are megabytes. At 100 the operator's peak memory with 10,000 Services
/// and 1,000 Nodes fell from 62–65 to 56 MiB (docs/operations.md, "Benchmark"), for 80 more list
/// requests at start.
const LIST_PAGE_SIZE: u32 = 100;

/// Sets a `cached_objects` gauge to a cache's size.
fn record_cache_size(gauge: &prometheus_client::metrics::gauge::Gauge, objects: usize) {
    gauge.set(i64::try_from(objects).unwrap_or(i64::MAX));
}

/// What the operator's Kubernetes client calls itself, so API server audit logs (and the RBAC
/// test, which reads the test server's) can tell its requests apart.
pub const USER_AGENT: &str = concat!("elbow/", env!("CARGO_PKG_VERSION"));

/// `config` with Elbow's user agent on every request.
pub fn identify(mut config: kube::Config) -> kube::Config {
    config.headers.push((http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT)));
    config
}

/// Everything the controllers need besides the two clients.
#[derive(Debug, Clone)]
pub struct OperatorSettings {
    /// The IngressClass `spec.controller` value Elbow serves.
    pub ingress_controller_name: String,
    pub build: BuildConfig,
    pub deploy: DeploySettings,
    pub vpc_id: String,
    /// Reconciles running at once.
    pub concurrency: u16,
    pub resync_period: Duration,
    /// How long subnets and instances read from EC2 are trusted.
    pub inventory_ttl: Duration,
    /// Names this replica in events (the pod name in a cluster).
    pub instance: Option<String>,
    /// Where reconciles are counted and timed.
    pub metrics: Metrics,
    /// The orphan sweep, run alongside the controllers (so only on the leader).
    pub orphan_sweep: PeriodicSweep,
}

/// Runs the controllers until `shutdown` resolves, then lets running reconciles finish.
pub async fn run_controllers(
    client: Client,
    cloud: Arc<dyn Cloud>,
    settings: OperatorSettings,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    run_controllers_signalling_start(client, cloud, settings, shutdown, oneshot::channel().0).await;
}

/// [`run_controllers`], sending on `started` once the caches are filled and the controllers
/// run: the moment a playground may say `ready`.
pub async fn run_controllers_signalling_start(
    client: Client,
    cloud: Arc<dyn Cloud>,
    settings: OperatorSettings,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    started: oneshot::Sender<()>,
) {
    let (node_store, node_writer) = reflector::store::<Node>();
    let (service_nodes_changed, service_node_changes) = mpsc::channel::<()>(1);
    let (ingress_nodes_changed, ingress_node_changes) = mpsc::channel::<()>(1);
    let (binding_nodes_changed, binding_node_changes) = mpsc::channel::<()>(1);
    let node_watch = nodes::watch_nodes(
        Api::all(client.clone()),
        node_writer,
        vec![service_nodes_changed, ingress_nodes_changed, binding_nodes_changed],
        settings.metrics.cached_objects("Node"),
    );
    let node_task = tokio::spawn(node_watch);

    let (slice_store, slice_writer) = reflector::store::<endpoints::CachedSlice>();
    let (service_slices_changed, service_slice_changes) = mpsc::unbounded_channel();
    let (ingress_slices_changed, ingress_slice_changes) = mpsc::unbounded_channel();
    let (binding_slices_changed, binding_slice_changes) = mpsc::unbounded_channel();
    let slice_task = tokio::spawn(endpoints::watch_endpoint_slices(
        Api::all(client.clone()),
        slice_writer,
        vec![service_slices_changed.clone(), ingress_slices_changed.clone(), binding_slices_changed],
        settings.metrics.cached_objects("EndpointSlice"),
    ));
    // Pods with Elbow's readiness gates: a pod whose containers are ready while its gate waits
    // is registered, so its Services are told as for an EndpointSlice change.
    let readiness = Arc::new(ReadinessGates::new());
    let (pods_listed, mut pods_ready) = tokio::sync::watch::channel(false);
    let pod_task = tokio::spawn(pods::watch_pods(
        Api::all(client.clone()),
        readiness.pods.clone(),
        slice_store.clone(),
        vec![service_slices_changed, ingress_slices_changed],
        pods_listed,
        settings.metrics.cached_objects("Pod"),
    ));
    let stop_watches = || {
        node_task.abort();
        slice_task.abort();
        pod_task.abort();
    };

    // Building a stack before the node and EndpointSlice caches are filled would find no targets
    // and deregister every node and pod from every target group; before the gated pods are
    // known, every pod waiting for its gate.
    if node_store.wait_until_ready().await.is_err() {
        warn!("the node watch ended before its first list; not starting controllers");
        stop_watches();
        return;
    }
    if slice_store.wait_until_ready().await.is_err() {
        warn!("the EndpointSlice watch ended before its first list; not starting controllers");
        stop_watches();
        return;
    }
    if pods_ready.wait_for(|listed| *listed).await.is_err() {
        warn!("the Pod watch ended before its first list; not starting controllers");
        stop_watches();
        return;
    }

    let reporter = Reporter { controller: "elbow".into(), instance: settings.instance.clone() };
    let ctx = Arc::new(Context {
        client: client.clone(),
        deployer: Deployer::new(cloud.clone(), settings.deploy.clone()),
        build: settings.build.clone(),
        nodes: node_store,
        endpoint_slices: slice_store,
        readiness: readiness.clone(),
        inventory: InventoryCache::new(cloud.clone(), settings.vpc_id.clone(), settings.inventory_ttl),
        events: EventPublisher::new(Recorder::new(client.clone(), reporter)),
        service_backoff: ObjectBackoff::new(BackoffPolicy::default()),
        settings: ControllerSettings {
            resync_period: settings.resync_period,
            provisioning_recheck: PROVISIONING_RECHECK,
        },
        metrics: settings.metrics.clone(),
    });
    let owners = ClusterOwners::new(client.clone());
    let controller_config = kube::runtime::controller::Config::default().concurrency(settings.concurrency);
    let shutdown = shutdown.shared();

    // Services are watched and cached once; the watch triggers the Service controller and feeds
    // the Ingress controller the Services its Ingresses may name.
    let services = services::watch_services(
        Api::<Service>::all(client.clone()),
        ReceiverStream::new(service_node_changes),
        UnboundedReceiverStream::new(service_slice_changes),
        settings.metrics.cached_objects("Service"),
    );
    // An EndpointSlice change is a change of its Service for the Ingresses sending traffic to it.
    let service_cache = services.store.clone();
    let endpoint_services = UnboundedReceiverStream::new(ingress_slice_changes)
        .filter_map(move |service| std::future::ready(service_cache.get(&service).map(|s| Service::clone(&s))));
    // The binding controller hears of the Services some binding names, from the same watch.
    let binding_controller = bindings::BindingController::new(client.clone());
    let bound = binding_controller.store();
    let (bound_service_changed, bound_service_changes) = mpsc::unbounded_channel();
    let service_changes = ReceiverStream::new(services.ingress_trigger).inspect(move |service| {
        let key = kube::runtime::reflector::ObjectRef::from_obj(service);
        if bindings::is_bound(&bound, &key) {
            let _ = bound_service_changed.send(key);
        }
    });
    let Some(ingresses) = ingress::controller(
        ctx.clone(),
        services.store.clone(),
        futures::stream::select(service_changes, endpoint_services),
        &settings.ingress_controller_name,
        ReceiverStream::new(ingress_node_changes),
        controller_config.clone(),
        shutdown.clone(),
    )
    .await
    else {
        warn!("the Ingress controller's caches never filled; not starting controllers");
        stop_watches();
        return;
    };

    info!("starting the Service, Ingress and TargetGroupBinding controllers");
    let _ = started.send(());
    // The readiness gates' poller works for the leader's controllers, and stops with them.
    let poller = tokio::spawn(Poller::new(readiness, cloud.clone(), ctx.client.clone(), Backoff::default()).run());
    let sweep = crate::sweep::run_periodically(
        &ctx.deployer,
        &owners,
        &settings.orphan_sweep,
        &settings.metrics,
        shutdown.clone(),
    );
    let services_for_bindings = services.store.clone();
    let service_controller = Controller::for_stream(services.service_trigger, services.store)
        .with_config(controller_config.clone())
        .graceful_shutdown_on(shutdown.clone())
        .run(service::reconcile, service::error_policy, ctx.clone())
        .for_each(|_| async {});
    let binding_context = Arc::new(BindingContext {
        shared: ctx.clone(),
        services: services_for_bindings,
        cloud,
        known: Default::default(),
        backoff: ObjectBackoff::new(BackoffPolicy::default()),
        drift_period: settings.deploy.drift_period,
    });
    let binding_run = binding_controller.run(
        binding_context,
        UnboundedReceiverStream::new(bound_service_changes),
        UnboundedReceiverStream::new(binding_slice_changes),
        ReceiverStream::new(binding_node_changes),
        controller_config.clone(),
        shutdown.clone(),
    );
    let stop_ingress_watches = ingresses.watch_stopper();
    tokio::join!(service_controller, ingresses.run, binding_run, sweep);
    stop_ingress_watches();
    poller.abort();
    stop_watches();
    info!("controllers stopped");
}
