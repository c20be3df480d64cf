//! The one EndpointSlice watch: it fills the slice cache the builders read for ip targets, and
//! tells each controller which Service's endpoints changed, so that a pod becoming ready or going
//! away re-enqueues that Service (and the Ingresses sending traffic to it), and nothing else. The
//! controllers' queues coalesce a burst of changes to one Service into one reconcile, and a
//! reconcile that finds only targets changed costs only Register/DeregisterTargets calls.
//!
//! Slices are cached as [`CompactSlice`]s, not as k8s-openapi's `EndpointSlice`: a cluster's
//! endpoints outnumber its Services tenfold, and of each only the address, the conditions, the
//! node and the Pod it stands for are read. Each watch event is converted as it arrives, so no
//! full slice outlives its event; node names are shared across the whole cache.

use std::borrow::Cow;

use elbow_builder::endpoints::{CompactSlice, NodeNames};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::Resource;
use kube::runtime::reflector::{self, Lookup, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::mpsc;
use tracing::warn;

use super::{LIST_PAGE_SIZE, record_cache_size};

/// An entry of the slice cache: kube-runtime's stores take any type that says its kind, name
/// and namespace, and the builders' type cannot say so itself (the builders know no
/// kube-runtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSlice(pub CompactSlice);

impl Lookup for CachedSlice {
    type DynamicType = ();

    fn kind(dyntype: &()) -> Cow<'_, str> {
        <EndpointSlice as Resource>::kind(dyntype)
    }

    fn group(dyntype: &()) -> Cow<'_, str> {
        <EndpointSlice as Resource>::group(dyntype)
    }

    fn version(dyntype: &()) -> Cow<'_, str> {
        <EndpointSlice as Resource>::version(dyntype)
    }

    fn plural(dyntype: &()) -> Cow<'_, str> {
        <EndpointSlice as Resource>::plural(dyntype)
    }

    fn name(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(&self.0.name))
    }

    fn namespace(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(&self.0.namespace))
    }

    // Nothing reads a cached slice's version or uid: the cache is keyed by namespace and name.
    fn resource_version(&self) -> Option<Cow<'_, str>> {
        None
    }

    fn uid(&self) -> Option<Cow<'_, str>> {
        None
    }
}

/// Keeps `writer`'s store in sync with the cluster's EndpointSlices and sends every controller the
/// Service of each slice that changed after the first list (the first reconcile of every Service
/// reads the filled cache anyway). `cached` is kept at the number of slices cached.
pub async fn watch_endpoint_slices(
    api: Api<EndpointSlice>,
    mut writer: reflector::store::Writer<CachedSlice>,
    changed: Vec<mpsc::UnboundedSender<ObjectRef<Service>>>,
    cached: Gauge,
) {
    let store = writer.as_reader();
    let mut nodes = NodeNames::default();
    let events = watcher(api, watcher::Config::default().page_size(LIST_PAGE_SIZE)).default_backoff();
    futures::pin_mut!(events);
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => compact(event, &mut nodes),
            Err(error) => {
                warn!(%error, "EndpointSlice watch failed; retrying");
                continue;
            }
        };
        writer.apply_watcher_event(&event);
        record_cache_size(&cached, store.len());
        match event {
            watcher::Event::Apply(slice) | watcher::Event::Delete(slice) => {
                if let Some(service) = service_of(&slice) {
                    for controller in &changed {
                        // A closed channel means that controller has stopped: nothing to tell.
                        let _ = controller.send(service.clone());
                    }
                }
            }
            // A relist replaced the whole cache: the names of nodes whose endpoints are all gone
            // are no longer needed.
            watcher::Event::InitDone => nodes.forget_unused(),
            watcher::Event::Init | watcher::Event::InitApply(_) => {}
        }
    }
}

/// `event` with its slice as the cache keeps it.
fn compact(event: watcher::Event<EndpointSlice>, nodes: &mut NodeNames) -> watcher::Event<CachedSlice> {
    let mut entry = |slice: EndpointSlice| CachedSlice(CompactSlice::new(&slice, nodes));
    match event {
        watcher::Event::Apply(slice) => watcher::Event::Apply(entry(slice)),
        watcher::Event::Delete(slice) => watcher::Event::Delete(entry(slice)),
        watcher::Event::InitApply(slice) => watcher::Event::InitApply(entry(slice)),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}

/// The Service a slice belongs to, by its `kubernetes.io/service-name` label.
fn service_of(slice: &CachedSlice) -> Option<ObjectRef<Service>> {
    let name = slice.0.service.as_deref()?;
    Some(ObjectRef::new(name).within(&slice.0.namespace))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use elbow_builder::endpoints::SERVICE_NAME_LABEL;
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use kube::runtime::watcher::Event;

    use super::*;

    /// A slice of Service `shop/web` named `name`, its one endpoint on `node`.
    fn slice(name: &str, node: &str) -> EndpointSlice {
        EndpointSlice {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("shop".into()),
                labels: Some(BTreeMap::from([
                    (SERVICE_NAME_LABEL.to_string(), "web".to_string()),
                    (
                        "endpointslice.kubernetes.io/managed-by".to_string(),
                        "endpointslice-controller.k8s.io".to_string(),
                    ),
                ])),
                resource_version: Some("7".into()),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: vec![Endpoint {
                addresses: vec!["10.0.1.10".into()],
                conditions: Some(EndpointConditions { ready: Some(true), ..Default::default() }),
                node_name: Some(node.into()),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".into()),
                    name: Some(format!("{name}-pod")),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ports: Some(vec![EndpointPort { name: Some("http".into()), port: Some(8080), ..Default::default() }]),
        }
    }

    #[test]
    fn a_slice_is_cached_compact_under_its_name_and_a_delete_removes_it() {
        let (store, mut writer) = reflector::store::<CachedSlice>();
        let mut nodes = NodeNames::default();
        writer.apply_watcher_event(&compact(Event::Apply(slice("web-abcde", "node-1")), &mut nodes));
        let key = ObjectRef::new("web-abcde").within("shop");
        let cached = store.get(&key).expect("cached");
        assert_eq!(cached.0, CompactSlice::from(&slice("web-abcde", "node-1")));
        // A delete carries the slice's last state, which may differ from the cached one: the
        // key alone decides.
        let mut gone = slice("web-abcde", "node-2");
        gone.endpoints.clear();
        writer.apply_watcher_event(&compact(Event::Delete(gone), &mut nodes));
        assert_eq!(store.get(&key), None);
        assert!(store.is_empty());
    }

    #[test]
    fn the_cached_slices_share_their_node_names() {
        let (store, mut writer) = reflector::store::<CachedSlice>();
        let mut nodes = NodeNames::default();
        writer.apply_watcher_event(&compact(Event::Init, &mut nodes));
        for name in ["web-1", "web-2"] {
            writer.apply_watcher_event(&compact(Event::InitApply(slice(name, "node-1")), &mut nodes));
        }
        writer.apply_watcher_event(&compact(Event::InitDone, &mut nodes));
        let node = |name: &str| {
            let cached = store.get(&ObjectRef::new(name).within("shop")).expect("cached");
            cached.0.endpoints[0].node.clone().expect("a node")
        };
        assert!(Arc::ptr_eq(&node("web-1"), &node("web-2")));
        assert_eq!(nodes.len(), 1);
    }

    #[test]
    fn a_slice_belongs_to_the_service_its_label_names() {
        let cached = CachedSlice(CompactSlice::from(&slice("web-abcde", "node-1")));
        assert_eq!(service_of(&cached), Some(ObjectRef::new("web").within("shop")));
        let mut unlabelled = slice("web-abcde", "node-1");
        unlabelled.metadata.labels = None;
        assert_eq!(service_of(&CachedSlice(CompactSlice::from(&unlabelled))), None);
    }
}
