//! Which node changes matter to load balancers. Nodes change all the time (heartbeats, images,
//! conditions); only a change of a node's eligibility, readiness, providerID or labels (the
//! `target-node-labels` annotation selects by label) changes any target group. This module keeps
//! one fingerprint per node and says when one of those moved, so that a heartbeat never triggers
//! a reconcile of every Service. Bursts (a flapping node) coalesce: the runtime keeps at most one
//! pending "reconcile everything" signal.

use std::collections::{BTreeMap, HashMap};

use elbow_builder::nodes::{Readiness, readiness};
use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use kube::runtime::watcher::Event;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    eligible: bool,
    /// Targets are the Ready nodes (Unknown ones as a fallback), so readiness is part of the set.
    readiness: Readiness,
    provider_id: Option<String>,
    labels: BTreeMap<String, String>,
}

/// Fingerprints of the nodes seen so far.
pub struct NodeSetTracker {
    is_eligible: fn(&Node) -> bool,
    nodes: HashMap<String, Fingerprint>,
    /// The fingerprints gathered during a re-list, swapped in when it completes.
    relisting: Option<HashMap<String, Fingerprint>>,
}

impl NodeSetTracker {
    pub fn new(is_eligible: fn(&Node) -> bool) -> Self {
        Self { is_eligible, nodes: HashMap::new(), relisting: None }
    }

    /// Takes one watcher event; true when the load-balancer-relevant node set changed.
    pub fn observe(&mut self, event: &Event<Node>) -> bool {
        match event {
            Event::Apply(node) => {
                let print = self.fingerprint(node);
                self.nodes.insert(node.name_any(), print.clone()) != Some(print)
            }
            Event::Delete(node) => self.nodes.remove(&node.name_any()).is_some(),
            Event::Init => {
                self.relisting = Some(HashMap::new());
                false
            }
            Event::InitApply(node) => {
                let print = self.fingerprint(node);
                self.relisting.get_or_insert_with(HashMap::new).insert(node.name_any(), print);
                false
            }
            Event::InitDone => {
                let listed = self.relisting.take().unwrap_or_default();
                let changed = listed != self.nodes;
                self.nodes = listed;
                changed
            }
        }
    }

    fn fingerprint(&self, node: &Node) -> Fingerprint {
        Fingerprint {
            eligible: (self.is_eligible)(node),
            readiness: readiness(node),
            provider_id: node.spec.as_ref().and_then(|spec| spec.provider_id.clone()),
            labels: node.labels().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus};
    use kube::api::ObjectMeta;

    use super::*;

    fn node(name: &str, provider_id: &str, excluded: bool) -> Node {
        let mut labels = BTreeMap::new();
        if excluded {
            labels.insert("node.kubernetes.io/exclude-from-external-load-balancers".to_string(), "true".to_string());
        }
        Node {
            metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels), ..Default::default() },
            spec: Some(NodeSpec { provider_id: Some(provider_id.into()), ..Default::default() }),
            status: Some(ready_status("True")),
        }
    }

    fn ready_status(status: &str) -> NodeStatus {
        NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: status.into(),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    fn not_excluded(node: &Node) -> bool {
        !node.labels().contains_key("node.kubernetes.io/exclude-from-external-load-balancers")
    }

    #[test]
    fn heartbeats_and_status_changes_are_not_changes() {
        let mut tracker = NodeSetTracker::new(not_excluded);
        assert!(tracker.observe(&Event::Apply(node("a", "aws:///us-east-1a/i-1", false))));
        let mut heartbeat = node("a", "aws:///us-east-1a/i-1", false);
        heartbeat.status.get_or_insert_default().images = Some(vec![Default::default()]);
        heartbeat.metadata.resource_version = Some("42".into());
        assert!(!tracker.observe(&Event::Apply(heartbeat)));
    }

    #[test]
    fn readiness_changes_are_changes() {
        let mut tracker = NodeSetTracker::new(not_excluded);
        tracker.observe(&Event::Apply(node("a", "aws:///us-east-1a/i-1", false)));
        let mut down = node("a", "aws:///us-east-1a/i-1", false);
        down.status = Some(ready_status("False"));
        assert!(tracker.observe(&Event::Apply(down)));
    }

    #[test]
    fn eligibility_provider_id_labels_and_deletion_are_changes() {
        let mut tracker = NodeSetTracker::new(not_excluded);
        tracker.observe(&Event::Apply(node("a", "aws:///us-east-1a/i-1", false)));
        assert!(tracker.observe(&Event::Apply(node("a", "aws:///us-east-1a/i-1", true))), "excluded");
        assert!(tracker.observe(&Event::Apply(node("a", "aws:///us-east-1a/i-2", true))), "new providerID");
        let mut relabelled = node("a", "aws:///us-east-1a/i-2", true);
        relabelled.labels_mut().insert("pool".into(), "gpu".into());
        assert!(tracker.observe(&Event::Apply(relabelled.clone())), "label");
        assert!(tracker.observe(&Event::Delete(relabelled.clone())), "deleted");
        assert!(!tracker.observe(&Event::Delete(relabelled)), "already gone");
    }

    #[test]
    fn a_relist_reports_a_change_only_when_the_set_differs() {
        let mut tracker = NodeSetTracker::new(not_excluded);
        tracker.observe(&Event::Apply(node("a", "aws:///us-east-1a/i-1", false)));
        let relist = |tracker: &mut NodeSetTracker, nodes: Vec<Node>| {
            assert!(!tracker.observe(&Event::Init));
            for n in nodes {
                assert!(!tracker.observe(&Event::InitApply(n)));
            }
            tracker.observe(&Event::InitDone)
        };
        assert!(!relist(&mut tracker, vec![node("a", "aws:///us-east-1a/i-1", false)]));
        assert!(relist(
            &mut tracker,
            vec![node("a", "aws:///us-east-1a/i-1", false), node("b", "aws:///us-east-1b/i-2", false)]
        ));
    }
}
