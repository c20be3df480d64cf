//! The one node watch every controller shares: it fills the node cache and tells each
//! controller when the load-balancer-relevant node set changed.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, NodeSpec, NodeStatus};
use kube::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::mpsc;
use tracing::warn;

use super::{LIST_PAGE_SIZE, record_cache_size};
use crate::controllers::nodes::NodeSetTracker;
use elbow_builder::nodes::is_eligible;

/// Keeps `writer`'s store in sync with the cluster's nodes and signals every controller whenever
/// the load-balancer-relevant node set changes (a full channel means a signal is already pending,
/// which is just as good). `cached` is kept at the number of nodes cached.
pub async fn watch_nodes(
    api: Api<Node>,
    writer: reflector::store::Writer<Node>,
    changed: Vec<mpsc::Sender<()>>,
    cached: Gauge,
) {
    let store = writer.as_reader();
    let mut tracker = NodeSetTracker::new(is_eligible);
    let events = watcher(api, watcher::Config::default().page_size(LIST_PAGE_SIZE))
        .default_backoff()
        .modify(keep_what_elbow_reads)
        .reflect(writer);
    futures::pin_mut!(events);
    while let Some(event) = events.next().await {
        record_cache_size(&cached, store.len());
        match event {
            Ok(event) => {
                if tracker.observe(&event) {
                    for controller in &changed {
                        let _ = controller.try_send(());
                    }
                }
            }
            Err(error) => warn!(%error, "node watch failed; retrying"),
        }
    }
}

/// Clears everything of `node` that no builder or the [`NodeSetTracker`] reads: the cache holds
/// every node for as long as Elbow runs, and the rest (managedFields, annotations, images,
/// capacity, nodeInfo, addresses, volumes, the other conditions) is most of a Node's size.
fn keep_what_elbow_reads(node: &mut Node) {
    let metadata = &mut node.metadata;
    // Kept: name (the cache key, and the node named in node security-group rules), labels (the
    // exclusion label and `target-node-labels`), deletionTimestamp (a deleting node is no
    // target), and resourceVersion and uid (small; they identify this version of the object).
    metadata.annotations = None;
    metadata.managed_fields = None;
    metadata.owner_references = None;
    metadata.finalizers = None;
    // Kept: providerID (the instance id of every target) and taints (the cluster autoscaler's
    // and Karpenter's removal taints make a node ineligible).
    node.spec = node.spec.take().map(|spec| NodeSpec {
        provider_id: spec.provider_id,
        taints: spec.taints,
        ..NodeSpec::default()
    });
    // Kept: the Ready condition alone, which decides readiness; no other status field is read.
    node.status = node.status.take().map(|status| NodeStatus {
        conditions: status.conditions.map(|conditions| conditions.into_iter().filter(|c| c.type_ == "Ready").collect()),
        ..NodeStatus::default()
    });
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use elbow_builder::nodes::{Readiness, instance_id, readiness};
    use k8s_openapi::api::core::v1::{ContainerImage, NodeAddress, NodeCondition, NodeSystemInfo, Taint};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    use super::*;

    fn condition(type_: &str, status: &str) -> NodeCondition {
        NodeCondition { type_: type_.into(), status: status.into(), ..Default::default() }
    }

    fn full_node() -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("node-1".into()),
                labels: Some(BTreeMap::from([("pool".to_string(), "web".to_string())])),
                annotations: Some(BTreeMap::from([("csi.volume.kubernetes.io/nodeid".to_string(), "{}".to_string())])),
                managed_fields: Some(vec![ManagedFieldsEntry::default()]),
                resource_version: Some("7".into()),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                provider_id: Some("aws:///us-east-1a/i-0abc".into()),
                taints: Some(vec![Taint {
                    key: "ToBeDeletedByClusterAutoscaler".into(),
                    effect: "NoSchedule".into(),
                    ..Default::default()
                }]),
                pod_cidr: Some("10.0.0.0/24".into()),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(vec![condition("MemoryPressure", "False"), condition("Ready", "True")]),
                images: Some(vec![ContainerImage { names: Some(vec!["nginx".into()]), size_bytes: Some(1) }]),
                capacity: Some(BTreeMap::from([("cpu".to_string(), Quantity("2".into()))])),
                addresses: Some(vec![NodeAddress { type_: "InternalIP".into(), address: "10.0.0.1".into() }]),
                node_info: Some(NodeSystemInfo { kubelet_version: "v1.35.0".into(), ..Default::default() }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn only_what_the_builders_and_the_tracker_read_survives() {
        let original = full_node();
        let mut node = original.clone();
        keep_what_elbow_reads(&mut node);

        assert_eq!(node.metadata.name, original.metadata.name);
        assert_eq!(node.metadata.labels, original.metadata.labels);
        assert_eq!(node.metadata.annotations, None);
        assert_eq!(node.metadata.managed_fields, None);
        assert_eq!(instance_id(&node), Some("i-0abc"));
        assert_eq!(
            node.spec.as_ref().and_then(|s| s.taints.clone()),
            original.spec.as_ref().and_then(|s| s.taints.clone())
        );
        assert_eq!(node.spec.as_ref().and_then(|s| s.pod_cidr.clone()), None);
        assert_eq!(readiness(&node), Readiness::Ready);
        assert_eq!(is_eligible(&node), is_eligible(&original));
        let status = node.status.expect("status kept");
        assert_eq!(status.conditions, Some(vec![condition("Ready", "True")]));
        assert_eq!((status.images, status.capacity, status.addresses, status.node_info), (None, None, None, None));
    }
}
