//! The one EndpointSlice watch: it fills the slice cache the builders read for ip targets, and
//! tells each controller which Service's endpoints changed, so that a pod becoming ready or going
//! away re-enqueues that Service (and the Ingresses sending traffic to it), and nothing else. The
//! controllers' queues coalesce a burst of changes to one Service into one reconcile, and a
//! reconcile that finds only targets changed costs only Register/DeregisterTargets calls.
//!
//! Slices are slimmed before they are cached, as Services and Nodes are: a cluster's endpoints
//! outnumber its Services tenfold, and of each only the address, the conditions, the node and the
//! Pod it stands for are read.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ObjectReference, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use kube::Api;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::mpsc;
use tracing::warn;

use super::{LIST_PAGE_SIZE, record_cache_size};
use elbow_builder::endpoints::SERVICE_NAME_LABEL;

/// Keeps `writer`'s store in sync with the cluster's EndpointSlices and sends every controller the
/// Service of each slice that changed after the first list (the first reconcile of every Service
/// reads the filled cache anyway). `cached` is kept at the number of slices cached.
pub async fn watch_endpoint_slices(
    api: Api<EndpointSlice>,
    writer: reflector::store::Writer<EndpointSlice>,
    changed: Vec<mpsc::UnboundedSender<ObjectRef<Service>>>,
    cached: Gauge,
) {
    let store = writer.as_reader();
    let events = watcher(api, watcher::Config::default().page_size(LIST_PAGE_SIZE))
        .default_backoff()
        .modify(keep_what_elbow_reads)
        .reflect(writer);
    futures::pin_mut!(events);
    while let Some(event) = events.next().await {
        record_cache_size(&cached, store.len());
        match event {
            Ok(watcher::Event::Apply(slice) | watcher::Event::Delete(slice)) => {
                if let Some(service) = service_of(&slice) {
                    for controller in &changed {
                        // A closed channel means that controller has stopped: nothing to tell.
                        let _ = controller.send(service.clone());
                    }
                }
            }
            Ok(watcher::Event::Init | watcher::Event::InitApply(_) | watcher::Event::InitDone) => {}
            Err(error) => warn!(%error, "EndpointSlice watch failed; retrying"),
        }
    }
}

/// The Service a slice belongs to, by its `kubernetes.io/service-name` label.
fn service_of(slice: &EndpointSlice) -> Option<ObjectRef<Service>> {
    let name = slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    let namespace = slice.metadata.namespace.as_deref()?;
    Some(ObjectRef::new(name).within(namespace))
}

/// Clears everything of `slice` the builders do not read.
fn keep_what_elbow_reads(slice: &mut EndpointSlice) {
    let metadata = &mut slice.metadata;
    // Kept: name, namespace (the cache key), resourceVersion, and of the labels only the Service
    // name, which says whose endpoints these are.
    metadata.annotations = None;
    metadata.managed_fields = None;
    metadata.owner_references = None;
    metadata.finalizers = None;
    metadata.generate_name = None;
    if let Some(labels) = metadata.labels.as_mut() {
        labels.retain(|key, _| key == SERVICE_NAME_LABEL);
    }
    for endpoint in &mut slice.endpoints {
        // Kept: the addresses (only the first is registered), the conditions, the node (its
        // readiness and security groups) and which Pod it is (only Pods are targets).
        let Endpoint { addresses, conditions, node_name, target_ref, .. } = std::mem::take(endpoint);
        *endpoint = Endpoint {
            addresses: addresses.into_iter().take(1).collect(),
            conditions,
            node_name,
            target_ref: target_ref.map(|r| ObjectReference { kind: r.kind, name: r.name, ..Default::default() }),
            ..Default::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::discovery::v1::{EndpointConditions, EndpointHints, EndpointPort, ForZone};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    use super::*;

    fn full_slice() -> EndpointSlice {
        EndpointSlice {
            metadata: ObjectMeta {
                name: Some("web-abcde".into()),
                namespace: Some("shop".into()),
                generate_name: Some("web-".into()),
                labels: Some(BTreeMap::from([
                    (SERVICE_NAME_LABEL.to_string(), "web".to_string()),
                    (
                        "endpointslice.kubernetes.io/managed-by".to_string(),
                        "endpointslice-controller.k8s.io".to_string(),
                    ),
                ])),
                annotations: Some(BTreeMap::from([(
                    "endpoints.kubernetes.io/last-change-trigger-time".to_string(),
                    "x".to_string(),
                )])),
                managed_fields: Some(vec![ManagedFieldsEntry::default()]),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: vec![Endpoint {
                addresses: vec!["10.0.1.10".into(), "10.0.1.11".into()],
                conditions: Some(EndpointConditions {
                    ready: Some(true),
                    serving: Some(true),
                    terminating: Some(false),
                }),
                hints: Some(EndpointHints {
                    for_zones: Some(vec![ForZone { name: "us-east-1a".into() }]),
                    ..Default::default()
                }),
                hostname: Some("web-0".into()),
                node_name: Some("node-1".into()),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".into()),
                    name: Some("web-7d9f-abcde".into()),
                    namespace: Some("shop".into()),
                    uid: Some("u-1".into()),
                    resource_version: Some("99".into()),
                    ..Default::default()
                }),
                zone: Some("us-east-1a".into()),
                ..Default::default()
            }],
            ports: Some(vec![EndpointPort { name: Some("http".into()), port: Some(8080), ..Default::default() }]),
        }
    }

    #[test]
    fn only_what_the_builders_read_survives() {
        let mut slice = full_slice();
        keep_what_elbow_reads(&mut slice);
        assert_eq!(slice.metadata.labels, Some(BTreeMap::from([(SERVICE_NAME_LABEL.to_string(), "web".to_string())])));
        assert_eq!((&slice.metadata.annotations, &slice.metadata.managed_fields), (&None, &None));
        let endpoint = &slice.endpoints[0];
        assert_eq!(endpoint.addresses, ["10.0.1.10"]);
        assert_eq!(endpoint.conditions, full_slice().endpoints[0].conditions);
        assert_eq!(endpoint.node_name.as_deref(), Some("node-1"));
        let pod = endpoint.target_ref.as_ref().expect("target ref");
        assert_eq!(
            (pod.kind.as_deref(), pod.name.as_deref(), pod.uid.as_deref()),
            (Some("Pod"), Some("web-7d9f-abcde"), None)
        );
        assert_eq!((&endpoint.hints, &endpoint.hostname, &endpoint.zone), (&None, &None, &None));
        assert_eq!(slice.ports, full_slice().ports);
        assert_eq!(service_of(&slice), Some(ObjectRef::new("web").within("shop")));
    }

    #[test]
    fn the_builders_read_a_slimmed_slice_as_the_full_one() {
        use elbow_builder::endpoints::{NoGatedPods, pod_targets};
        use k8s_openapi::api::core::v1::ServicePort;
        let port = ServicePort { name: Some("http".into()), port: 80, ..Default::default() };
        let full = full_slice();
        let mut slim = full_slice();
        keep_what_elbow_reads(&mut slim);
        assert_eq!(pod_targets(&[&slim], &port, &[], &NoGatedPods), pod_targets(&[&full], &port, &[], &NoGatedPods));
        assert_eq!(pod_targets(&[&slim], &port, &[], &NoGatedPods).targets.len(), 1);
    }

    #[test]
    fn a_slice_without_the_service_label_belongs_to_no_service() {
        let mut slice = full_slice();
        slice.metadata.labels = None;
        assert_eq!(service_of(&slice), None);
    }
}
