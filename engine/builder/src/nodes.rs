//! Which nodes receive traffic, as the Kubernetes service controller and the AWS Load Balancer
//! Controller pick them: never nodes that are excluded by label, being deleted, tainted for removal
//! by the cluster autoscaler or Karpenter, or that are not EC2 instances (Fargate and EKS hybrid
//! nodes, anything whose providerID names no `i-` instance: one such id makes AWS refuse the whole
//! RegisterTargets call); among the rest, the Ready ones — or, when none is Ready, the ones whose
//! readiness is Unknown (as the AWS Load Balancer Controller does), so that a control-plane hiccup
//! does not empty every target group.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Node;

use elbow_model::stack::Target;

/// Excludes a node when present, whatever its value (upstream's rule since Kubernetes 1.19).
pub const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";
/// Labels that exclude a node by their mere presence: the above, its alpha predecessor, and the
/// legacy control-plane role (control-plane nodes are no load balancer targets).
const EXCLUDING_LABELS: &[&str] =
    &[EXCLUDE_LABEL, "alpha.service-controller.kubernetes.io/exclude-balancer", "node-role.kubernetes.io/master"];
/// EKS's compute-type label; Fargate and hybrid nodes are not EC2 instances in the VPC.
const COMPUTE_TYPE_LABEL: &str = "eks.amazonaws.com/compute-type";
const NOT_INSTANCES: &[&str] = &["fargate", "hybrid"];
const REMOVAL_TAINTS: &[(&str, Option<&str>)] =
    &[("ToBeDeletedByClusterAutoscaler", None), ("karpenter.sh/disrupted", Some("NoSchedule"))];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Readiness {
    Ready,
    Unknown,
    NotReady,
}

/// Whether a node may ever be a target, whatever its readiness.
pub fn is_eligible(node: &Node) -> bool {
    let labels = node.metadata.labels.as_ref();
    let excluded = labels.is_some_and(|l| EXCLUDING_LABELS.iter().any(|key| l.contains_key(*key)));
    let not_an_instance =
        labels.and_then(|l| l.get(COMPUTE_TYPE_LABEL)).is_some_and(|t| NOT_INSTANCES.contains(&t.as_str()));
    let deleting = node.metadata.deletion_timestamp.is_some();
    let removal_taint = node.spec.as_ref().and_then(|s| s.taints.as_ref()).is_some_and(|taints| {
        taints
            .iter()
            .any(|t| REMOVAL_TAINTS.iter().any(|(key, effect)| t.key == *key && effect.is_none_or(|e| t.effect == e)))
    });
    !excluded && !not_an_instance && !deleting && !removal_taint && instance_id(node).is_some()
}

pub fn readiness(node: &Node) -> Readiness {
    let ready =
        node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    match ready.map(|c| c.status.as_str()) {
        Some("True") => Readiness::Ready,
        Some("False") => Readiness::NotReady,
        _ => Readiness::Unknown,
    }
}

/// The nodes that receive traffic. Borrowed, not owned: callers hand in the node cache's
/// entries, and a copy of every node per reconcile is what made the operator's memory grow.
pub fn target_nodes<'a>(nodes: &[&'a Node]) -> Vec<&'a Node> {
    let eligible: Vec<&Node> = nodes.iter().copied().filter(|n| is_eligible(n)).collect();
    let ready: Vec<&Node> = eligible.iter().copied().filter(|n| readiness(n) == Readiness::Ready).collect();
    if !ready.is_empty() {
        return ready;
    }
    eligible.into_iter().filter(|n| readiness(n) == Readiness::Unknown).collect()
}

/// The `nodes` that carry `labels` (`target-node-labels`: a `key=value` must match, a bare `key`
/// must exist); all of them without labels.
pub fn with_labels<'a>(
    nodes: &[&'a Node],
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> Vec<&'a Node> {
    let Some(wanted) = labels else { return nodes.to_vec() };
    nodes
        .iter()
        .copied()
        .filter(|node| {
            let have = node.metadata.labels.as_ref();
            wanted.iter().all(|(k, v)| have.and_then(|l| l.get(k)).is_some_and(|actual| v.is_empty() || actual == v))
        })
        .collect()
}

/// `aws:///us-east-1a/i-0abc` -> `i-0abc`: the last path segment of the providerID, when it is an
/// EC2 instance id (`i-` and hexadecimal digits). Fargate's `.../fargate-ip-10-0-1-2` and a hybrid
/// node's `eks-hybrid:///...` are not.
pub fn instance_id(node: &Node) -> Option<&str> {
    let provider_id = node.spec.as_ref()?.provider_id.as_deref()?;
    let id = provider_id.rsplit('/').next()?;
    let hex = id.strip_prefix("i-")?;
    (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(id)
}

/// One instance target per node on `node_port`, sorted, each instance once.
pub fn targets(nodes: &[&Node], node_port: u16) -> Vec<Target> {
    let ids: BTreeSet<&str> = nodes.iter().filter_map(|n| instance_id(n)).collect();
    ids.into_iter().map(|id| Target::new(id.to_string(), node_port)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus, Taint};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    use super::*;

    pub(crate) fn node(name: &str, instance: &str, ready: &str) -> Node {
        Node {
            metadata: ObjectMeta { name: Some(name.into()), labels: Some(BTreeMap::new()), ..Default::default() },
            spec: Some(NodeSpec { provider_id: Some(format!("aws:///us-east-1a/{instance}")), ..Default::default() }),
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: ready.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    /// The nodes as the builders take them: borrowed, as from the node cache.
    pub(crate) fn borrowed(nodes: &[Node]) -> Vec<&Node> {
        nodes.iter().collect()
    }

    fn names(nodes: Vec<&Node>) -> Vec<String> {
        nodes.iter().map(|n| n.metadata.name.clone().unwrap_or_default()).collect()
    }

    #[test]
    fn the_instance_id_is_the_last_segment_of_the_provider_id() {
        assert_eq!(instance_id(&node("a", "i-0abc", "True")), Some("i-0abc"));
        let mut bare = node("a", "x", "True");
        bare.spec = None;
        assert_eq!(instance_id(&bare), None);
    }

    #[test]
    fn exclusions() {
        let mut labelled = node("labelled", "i-1", "True");
        labelled.metadata.labels.get_or_insert_default().insert(EXCLUDE_LABEL.into(), "".into());
        let mut labelled_false = node("labelled-false", "i-2", "True");
        labelled_false.metadata.labels.get_or_insert_default().insert(EXCLUDE_LABEL.into(), "false".into());
        let mut deleting = node("deleting", "i-3", "True");
        deleting.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        let mut autoscaled = node("autoscaled", "i-4", "True");
        autoscaled.spec.get_or_insert_default().taints = Some(vec![Taint {
            key: "ToBeDeletedByClusterAutoscaler".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        }]);
        let mut disrupted = node("disrupted", "i-5", "True");
        disrupted.spec.get_or_insert_default().taints = Some(vec![Taint {
            key: "karpenter.sh/disrupted".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        }]);
        let mut other_taint = node("other-taint", "i-6", "True");
        other_taint.spec.get_or_insert_default().taints = Some(vec![Taint {
            key: "karpenter.sh/disrupted".into(),
            effect: "PreferNoSchedule".into(),
            ..Default::default()
        }]);
        let mut no_provider = node("no-provider", "i-7", "True");
        no_provider.spec.get_or_insert_default().provider_id = None;
        let all = [labelled, labelled_false, deleting, autoscaled, disrupted, other_taint, no_provider];
        // The exclusion label excludes by its presence, "false" included, as upstream.
        assert_eq!(names(target_nodes(&borrowed(&all))), ["other-taint"]);
    }

    fn labelled(name: &str, key: &str, value: &str) -> Node {
        let mut node = node(name, "i-0abc", "True");
        node.metadata.labels.get_or_insert_default().insert(key.into(), value.into());
        node
    }

    #[test]
    fn nodes_that_cannot_be_instance_targets_are_never_registered() {
        let mut fargate_id = node("fargate-id", "x", "True");
        fargate_id.spec.get_or_insert_default().provider_id =
            Some("aws:///us-east-1b/0123456789abcdef/fargate-ip-192-168-1-2.ec2.internal".into());
        let mut hybrid_id = node("hybrid-id", "x", "True");
        hybrid_id.spec.get_or_insert_default().provider_id = Some("eks-hybrid:///us-west-2/my-cluster/my-node".into());
        let mut not_hex = node("not-hex", "i-zz", "True");
        not_hex.spec.get_or_insert_default().provider_id = Some("aws:///us-east-1a/i-notanid".into());
        let cases = [
            fargate_id,
            hybrid_id,
            not_hex,
            labelled("fargate", "eks.amazonaws.com/compute-type", "fargate"),
            labelled("hybrid", "eks.amazonaws.com/compute-type", "hybrid"),
            labelled("master", "node-role.kubernetes.io/master", ""),
            labelled("alpha-excluded", "alpha.service-controller.kubernetes.io/exclude-balancer", "true"),
            labelled("excluded-false", EXCLUDE_LABEL, "false"),
        ];
        for node in &cases {
            assert!(!is_eligible(node), "{:?} must not be a target", node.metadata.name);
        }
        let kept = [labelled("ec2", "eks.amazonaws.com/compute-type", "ec2"), labelled("worker", "role", "worker")];
        assert!(kept.iter().all(is_eligible));
    }

    #[test]
    fn ready_nodes_win_and_unknown_ones_are_the_fallback() {
        let nodes = [node("ready", "i-1", "True"), node("unknown", "i-2", "Unknown"), node("down", "i-3", "False")];
        assert_eq!(names(target_nodes(&borrowed(&nodes))), ["ready"]);
        assert_eq!(names(target_nodes(&borrowed(&nodes[1..]))), ["unknown"]);
        assert_eq!(names(target_nodes(&borrowed(&nodes[2..]))), Vec::<String>::new());
    }
}
