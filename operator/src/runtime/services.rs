//! The one Service watch: it keeps the one Service cache both controllers read, triggers the
//! Service controller (also when the node set changes, and when an ip-mode Service's
//! EndpointSlices change), and forwards every Service change to the Ingress controller. Services are
//! decoded once per change and cached once.
//!
//! Most Services of a cluster are ClusterIP Services Elbow never acts on, yet the cache must hold
//! every Service (a Service that becomes a LoadBalancer, or that an Ingress names, must be found
//! there). So each Service is slimmed before it is cached: managedFields and the last-applied
//! annotation always go (several KiB per Service, never read), and a Service neither controller
//! can act on keeps only its identity, type and class. For the same reason the Service controller
//! is woken only for Services it may have work on: a cluster of 10,000 Services with 100 load
//! balancers costs 100 reconciles at start and on every node change, not 10,000.

use futures::{Stream, StreamExt, stream};
use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use kube::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::Event;
use kube::runtime::{WatchStreamExt, watcher};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::mpsc;
use tracing::warn;

use super::{LIST_PAGE_SIZE, record_cache_size};
use crate::controllers::service::FINALIZER;
use elbow_builder::annotations::INGRESS_PREFIX;
use elbow_builder::service::uses_ip_targets;

/// Written by `kubectl apply`: a copy of the whole applied manifest.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// How many Service changes may wait for the Ingress controller before the watch waits for it.
const INGRESS_BACKLOG: usize = 1024;

/// The Service cache and what feeds each controller from it.
pub struct ServiceWatch<S> {
    pub store: Store<Service>,
    /// The Service controller's trigger: every Service it may have work on, when it is applied
    /// (created, changed, listed) and whenever the node set changes. Polling it drives the watch
    /// and fills the store.
    pub service_trigger: S,
    /// Every Service change, deletions included, for the Ingress controller to map to the
    /// Ingresses that name the Service.
    pub ingress_trigger: mpsc::Receiver<Service>,
}

/// Watches every Service through `api`; `node_changes` says when the node set changed,
/// `endpoint_changes` which Service's EndpointSlices changed; `cached` is kept at the number of
/// Services cached.
pub fn watch_services(
    api: Api<Service>,
    node_changes: impl Stream<Item = ()> + Send + 'static,
    endpoint_changes: impl Stream<Item = ObjectRef<Service>> + Send + 'static,
    cached: Gauge,
) -> ServiceWatch<impl Stream<Item = Result<Service, watcher::Error>> + Send + 'static> {
    let (store, writer) = reflector::store::<Service>();
    let (to_ingresses, ingress_trigger) = mpsc::channel(INGRESS_BACKLOG);
    let counted = store.clone();
    let changes = watcher(api, watcher::Config::default().page_size(LIST_PAGE_SIZE))
        .default_backoff()
        .modify(keep_what_elbow_reads)
        .reflect(writer)
        .filter_map(move |event| {
            let to_ingresses = to_ingresses.clone();
            record_cache_size(&cached, counted.len());
            async move {
                match event {
                    Ok(Event::Apply(service) | Event::InitApply(service)) => {
                        // A closed channel means the Ingress controller has stopped: nothing to tell.
                        let _ = to_ingresses.send(service.clone()).await;
                        wakes_service_controller(&service).then_some(Ok(service))
                    }
                    Ok(Event::Delete(service)) => {
                        let _ = to_ingresses.send(service).await;
                        None
                    }
                    Ok(Event::Init | Event::InitDone) => None,
                    Err(error) => {
                        warn!(%error, "Service watch failed; retrying");
                        Some(Err(error))
                    }
                }
            }
        });
    // A node change may move targets of every load balancer, and of nothing else.
    let with_load_balancers = store.clone();
    let node_wakeups = node_changes.flat_map(move |()| {
        let services = with_load_balancers.state();
        stream::iter(services.into_iter().filter(|s| wakes_service_controller(s)).map(|s| Ok(Service::clone(&s))))
    });
    // Endpoints move only the targets of ip-mode load balancers: other Services are not woken.
    let with_endpoints = store.clone();
    let endpoint_wakeups = endpoint_changes.filter_map(move |service| {
        let found = with_endpoints.get(&service).filter(|s| wakes_service_controller(s) && uses_ip_targets(s));
        std::future::ready(found.map(|s| Ok(Service::clone(&s))))
    });
    let service_trigger = stream::select(stream::select(changes, node_wakeups), endpoint_wakeups);
    ServiceWatch { store, service_trigger, ingress_trigger }
}

/// Clears what neither controller reads. The cache holds every Service of the cluster for as long
/// as Elbow runs, so this decides most of the operator's memory.
fn keep_what_elbow_reads(service: &mut Service) {
    let metadata = &mut service.metadata;
    metadata.managed_fields = None;
    if let Some(annotations) = metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
    if may_be_acted_on(service) {
        return;
    }
    // Kept: name, namespace, uid and resourceVersion (the cache key and events), finalizers and
    // deletionTimestamp (what a reconcile checks first), the type and class (whether the Service
    // is ours, and the error an Ingress naming a ClusterIP Service in instance mode gets), and
    // what an ip-mode Ingress reads of any backend Service: its ports (the port an Ingress names,
    // its targetPort) and its `alb.ingress.kubernetes.io/` annotations (target type, health
    // check), usually none.
    let metadata = &mut service.metadata;
    metadata.labels = None;
    if let Some(annotations) = metadata.annotations.as_mut() {
        annotations.retain(|key, _| key.starts_with(INGRESS_PREFIX));
    }
    metadata.annotations = metadata.annotations.take().filter(|a| !a.is_empty());
    metadata.owner_references = None;
    service.spec = service.spec.take().map(|spec| ServiceSpec {
        type_: spec.type_,
        load_balancer_class: spec.load_balancer_class,
        ports: spec.ports,
        ..ServiceSpec::default()
    });
    service.status = None;
}

/// A NodePort or LoadBalancer Service may be an Ingress backend, and whatever the Service
/// controller may act on must be cached whole. Everything else is only ever looked up by name.
fn may_be_acted_on(service: &Service) -> bool {
    service_type(service) == Some("NodePort") || wakes_service_controller(service)
}

/// A LoadBalancer Service may be the Service controller's (its class decides); a Service with our
/// finalizer (say, just turned ClusterIP, or deleted) still has a load balancer to remove and a
/// status to clear. Any other Service the controller would look at and leave alone.
fn wakes_service_controller(service: &Service) -> bool {
    service_type(service) == Some("LoadBalancer")
        || service.metadata.finalizers.as_ref().is_some_and(|f| f.iter().any(|f| f == FINALIZER))
}

fn service_type(service: &Service) -> Option<&str> {
    service.spec.as_ref().and_then(|spec| spec.type_.as_deref())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServicePort, ServiceStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    use super::*;

    fn service(type_: &str, finalizers: &[&str]) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("shop".into()),
                uid: Some("u-1".into()),
                resource_version: Some("42".into()),
                labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
                annotations: Some(BTreeMap::from([
                    (LAST_APPLIED.to_string(), "{\"kind\":\"Service\"}".to_string()),
                    ("service.beta.kubernetes.io/aws-load-balancer-scheme".to_string(), "internal".to_string()),
                ])),
                managed_fields: Some(vec![ManagedFieldsEntry::default()]),
                finalizers: Some(finalizers.iter().map(|f| f.to_string()).collect()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some(type_.into()),
                load_balancer_class: Some("elbow.dev/nlb".into()),
                ports: Some(vec![ServicePort { port: 80, node_port: Some(30080), ..Default::default() }]),
                selector: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
                ..Default::default()
            }),
            status: Some(ServiceStatus {
                load_balancer: Some(LoadBalancerStatus {
                    ingress: Some(vec![LoadBalancerIngress {
                        hostname: Some("nlb.example".into()),
                        ..Default::default()
                    }]),
                }),
                ..Default::default()
            }),
        }
    }

    fn slimmed(service: &Service) -> Service {
        let mut copy = service.clone();
        keep_what_elbow_reads(&mut copy);
        copy
    }

    #[test]
    fn services_elbow_may_act_on_keep_everything_but_managed_fields_and_the_last_applied_copy() {
        for original in [service("LoadBalancer", &[]), service("NodePort", &[]), service("ClusterIP", &[FINALIZER])] {
            let kept = slimmed(&original);
            assert_eq!(kept.metadata.managed_fields, None);
            let annotations = kept.metadata.annotations.clone().unwrap_or_default();
            assert!(!annotations.contains_key(LAST_APPLIED));
            assert_eq!(annotations.get("service.beta.kubernetes.io/aws-load-balancer-scheme").unwrap(), "internal");
            assert_eq!((&kept.spec, &kept.status), (&original.spec, &original.status));
            assert_eq!(kept.metadata.labels, original.metadata.labels);
        }
    }

    #[test]
    fn only_load_balancers_and_services_with_our_finalizer_wake_the_service_controller() {
        let wakes = |type_, finalizers| wakes_service_controller(&service(type_, finalizers));
        assert!(wakes("LoadBalancer", &[]));
        assert!(wakes("ClusterIP", &[FINALIZER]), "a Service that stopped being a LoadBalancer must be cleaned up");
        assert!(!wakes("NodePort", &[]));
        assert!(!wakes("ClusterIP", &["example.com/other"]));
        // What wakes the controller is what it then reads from the cache: it must be cached whole.
        let mut slim = service("ClusterIP", &[FINALIZER]);
        keep_what_elbow_reads(&mut slim);
        assert_eq!(slim.spec, service("ClusterIP", &[FINALIZER]).spec);
    }

    #[test]
    fn other_services_keep_only_identity_type_class_and_what_an_ip_mode_ingress_reads() {
        for type_ in ["ClusterIP", "ExternalName"] {
            let mut original = service(type_, &["example.com/other"]);
            let kept = slimmed(&original);
            let metadata = &kept.metadata;
            assert_eq!((metadata.name.as_deref(), metadata.namespace.as_deref()), (Some("web"), Some("shop")));
            assert_eq!((metadata.uid.as_deref(), metadata.resource_version.as_deref()), (Some("u-1"), Some("42")));
            assert_eq!(metadata.finalizers, original.metadata.finalizers);
            assert_eq!((&metadata.labels, &metadata.annotations, &metadata.managed_fields), (&None, &None, &None));
            let spec = kept.spec.expect("spec kept");
            assert_eq!(spec.type_.as_deref(), Some(type_));
            assert_eq!(spec.load_balancer_class.as_deref(), Some("elbow.dev/nlb"));
            assert_eq!(spec.selector, None);
            assert_eq!(spec.ports, original.spec.as_ref().and_then(|s| s.ports.clone()), "an ip-mode backend's ports");
            assert_eq!(kept.status, None);

            let ingress_key = "alb.ingress.kubernetes.io/healthcheck-path".to_string();
            original.metadata.annotations.get_or_insert_default().insert(ingress_key.clone(), "/healthz".into());
            let kept = slimmed(&original);
            assert_eq!(
                kept.metadata.annotations,
                Some(BTreeMap::from([(ingress_key, "/healthz".to_string())])),
                "an ip-mode backend's Ingress annotations, and nothing else"
            );
        }
    }
}
