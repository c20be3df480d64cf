//! The scheduler: binds each pending pod to a Node (the `binding` subresource) that is Ready,
//! schedulable, whose taints the pod tolerates and whose labels its node selector and required
//! node affinity match, preferring the node with the fewest pods of the same owner, then the
//! fewest pods, so replicas spread over the nodes and zones. A pod no node fits gets
//! `PodScheduled=False` (`Unschedulable`) and is tried again when a Node changes.
//!
//! Resources (requests against allocatable), inter-pod affinity, topology spread constraints and
//! preemption are not considered.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    Binding, Node, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference, Pod, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource};
use serde_json::{Value, json};

use super::events::Events;
use super::objects::{self, controller_ref, name, namespace};

struct Context {
    client: Client,
    pods: Store<Pod>,
    events: Events,
    /// Pods bound but perhaps not yet in the cache, by uid, with their node (the scheduler's
    /// "assumed" pods); held while a pod is placed, so pods are placed one at a time, each
    /// seeing where the ones before it went.
    assumed: tokio::sync::Mutex<HashMap<String, String>>,
}

pub async fn run(client: Client) {
    let controller = Controller::new(Api::<Pod>::all(client.clone()), watcher::Config::default());
    let pods = controller.store();
    let waiting = pods.clone();
    // A Node that joins or changes may fit pods that fitted nowhere.
    let controller =
        controller.watches(Api::<Node>::all(client.clone()), watcher::Config::default(), move |_: Node| {
            waiting
                .state()
                .into_iter()
                .filter(|p| unscheduled(p))
                .map(|p| ObjectRef::from_obj(p.as_ref()))
                .collect::<Vec<_>>()
        });
    let context = Arc::new(Context {
        client: client.clone(),
        pods,
        events: Events::new(client, "default-scheduler"),
        assumed: tokio::sync::Mutex::new(HashMap::new()),
    });
    controller
        .run(reconcile, |_, _, _| Action::requeue(super::RETRY), context)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// A pod this scheduler is to place: not placed, not finished or being deleted, not gated.
fn unscheduled(pod: &Pod) -> bool {
    let Some(spec) = &pod.spec else { return false };
    spec.node_name.as_deref().is_none_or(str::is_empty)
        && spec.scheduler_name.as_deref().is_none_or(|s| s == "default-scheduler")
        && spec.scheduling_gates.as_ref().is_none_or(Vec::is_empty)
        && objects::is_active(pod)
}

async fn reconcile(pod: Arc<Pod>, ctx: Arc<Context>) -> Result<Action, kube::Error> {
    if !unscheduled(&pod) {
        return Ok(Action::await_change());
    }
    let mut assumed = ctx.assumed.lock().await;
    let cached = ctx.pods.state();
    // Assumed pods the cache shows bound (or gone) need assuming no longer.
    assumed.retain(|uid, _| {
        cached
            .iter()
            .any(|p| objects::uid(&p.metadata) == uid && p.spec.as_ref().is_some_and(|s| s.node_name.is_none()))
    });
    let nodes = Api::<Node>::all(ctx.client.clone()).list(&ListParams::default()).await?.items;
    let mut refusals: HashMap<&'static str, usize> = HashMap::new();
    let fitting: Vec<&Node> = nodes
        .iter()
        .filter(|node| match refusal(&pod, node) {
            Some(why) => {
                *refusals.entry(why).or_default() += 1;
                false
            }
            None => true,
        })
        .collect();
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace(&pod.metadata));
    let placed: Vec<Arc<Pod>> = cached
        .iter()
        .map(|p| match assumed.get(objects::uid(&p.metadata)) {
            Some(node) => {
                let mut bound = p.as_ref().clone();
                if let Some(spec) = bound.spec.as_mut() {
                    spec.node_name = Some(node.clone());
                }
                Arc::new(bound)
            }
            None => p.clone(),
        })
        .collect();
    let Some(node) = pick(&pod, &fitting, &placed) else {
        let message = unschedulable_message(nodes.len(), &refusals);
        let patch = json!({ "status": { "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
            "lastProbeTime": null, "lastTransitionTime": objects::now(),
        }] } });
        let current = objects::condition(&pod, "PodScheduled");
        if current.is_none_or(|c| c.message.as_deref() != Some(message.as_str())) {
            pods.patch_status(name(&pod.metadata), &PatchParams::default(), &Patch::Strategic(patch)).await?;
            ctx.events.warning(&pod.object_ref(&()), "FailedScheduling", message).await;
        }
        return Ok(Action::requeue(Duration::from_secs(10)));
    };
    let binding = Binding {
        metadata: ObjectMeta {
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.clone()),
            ..ObjectReference::default()
        },
    };
    match pods
        .create_subresource::<Binding, Value>("binding", name(&pod.metadata), &PostParams::default(), &binding)
        .await
    {
        Ok(_) => {
            assumed.insert(objects::uid(&pod.metadata).to_string(), node.clone());
            drop(assumed);
            let note = format!("Successfully assigned {}/{} to {node}", namespace(&pod.metadata), name(&pod.metadata));
            ctx.events.normal(&pod.object_ref(&()), "Scheduled", note).await;
        }
        // Bound meanwhile, or deleted: nothing left to do.
        Err(kube::Error::Api(status)) if status.code == 409 || status.code == 404 => {}
        Err(error) => return Err(error),
    }
    Ok(Action::await_change())
}

/// Why `node` cannot run `pod`, if it cannot.
fn refusal(pod: &Pod, node: &Node) -> Option<&'static str> {
    let spec = pod.spec.clone().unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    if !ready {
        return Some("node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
    }
    let node_spec = node.spec.clone().unwrap_or_default();
    if node_spec.unschedulable == Some(true)
        && !tolerated(&spec.tolerations.unwrap_or_default(), &unschedulable_taint())
    {
        return Some("node(s) were unschedulable");
    }
    let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.clone()).unwrap_or_default();
    let untolerated = node_spec
        .taints
        .iter()
        .flatten()
        .any(|t| matches!(t.effect.as_str(), "NoSchedule" | "NoExecute") && !tolerated(&tolerations, t));
    if untolerated {
        return Some("node(s) had untolerated taint(s)");
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let selected = spec.node_selector.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let terms = spec
        .affinity
        .and_then(|a| a.node_affinity)
        .and_then(|a| a.required_during_scheduling_ignored_during_execution)
        .map(|r| r.node_selector_terms);
    let affine = terms.is_none_or(|terms| terms.iter().any(|term| term_matches(term, node)));
    if !selected || !affine {
        return Some("node(s) didn't match Pod's node affinity/selector");
    }
    None
}

fn unschedulable_taint() -> Taint {
    Taint { key: "node.kubernetes.io/unschedulable".into(), effect: "NoSchedule".into(), ..Taint::default() }
}

/// Whether a toleration covers the taint (`ToleratesTaint`).
fn tolerated(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| {
        let effect = t.effect.as_deref().unwrap_or_default();
        if !effect.is_empty() && effect != taint.effect {
            return false;
        }
        let key = t.key.as_deref().unwrap_or_default();
        match t.operator.as_deref().unwrap_or("Equal") {
            "Exists" => key.is_empty() || key == taint.key,
            _ => {
                key == taint.key && t.value.as_deref().unwrap_or_default() == taint.value.as_deref().unwrap_or_default()
            }
        }
    })
}

/// A required node affinity term: every expression holds on the node's labels (or its name).
fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let holds = |r: &NodeSelectorRequirement, value: Option<&String>| {
        let values = r.values.clone().unwrap_or_default();
        match r.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            "Gt" | "Lt" => {
                let (Some(v), Some(bound)) =
                    (value.and_then(|v| v.parse::<i64>().ok()), values.first().and_then(|b| b.parse::<i64>().ok()))
                else {
                    return false;
                };
                if r.operator == "Gt" { v > bound } else { v < bound }
            }
            _ => false,
        }
    };
    let node_name = node.metadata.name.clone().unwrap_or_default();
    let expressions = term.match_expressions.iter().flatten().all(|r| holds(r, labels.get(&r.key)));
    let fields = term.match_fields.iter().flatten().all(|r| r.key == "metadata.name" && holds(r, Some(&node_name)));
    (term.match_expressions.is_some() || term.match_fields.is_some()) && expressions && fields
}

/// The fitting node with the fewest pods of the pod's owner, then the fewest pods, then by name.
fn pick(pod: &Pod, fitting: &[&Node], pods: &[Arc<Pod>]) -> Option<String> {
    let owner = controller_ref(&pod.metadata).map(|r| r.uid.clone());
    let mut load: HashMap<&str, (usize, usize)> = HashMap::new();
    for placed in pods.iter().filter(|p| !objects::is_terminal(p)) {
        let Some(node) = placed.spec.as_ref().and_then(|s| s.node_name.as_deref()) else { continue };
        let entry = load.entry(node).or_default();
        if owner.is_some() && controller_ref(&placed.metadata).map(|r| r.uid.clone()) == owner {
            entry.0 += 1;
        }
        entry.1 += 1;
    }
    fitting
        .iter()
        .map(|n| name(&n.metadata))
        .min_by_key(|n| (load.get(n).copied().unwrap_or_default(), n.to_string()))
        .map(str::to_string)
}

/// The scheduler's message for a pod no node fits: `0/3 nodes are available: 3 node(s) ...`.
fn unschedulable_message(nodes: usize, refusals: &HashMap<&'static str, usize>) -> String {
    if nodes == 0 {
        return "no nodes available to schedule pods".to_string();
    }
    let mut reasons: Vec<String> = refusals.iter().map(|(why, count)| format!("{count} {why}")).collect();
    reasons.sort();
    format!("0/{nodes} nodes are available: {}.", reasons.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, extra: Value) -> Node {
        let mut node = json!({
            "metadata": { "name": name, "labels": { "topology.kubernetes.io/zone": "us-east-1a", "disk": "ssd" } },
            "spec": {},
            "status": { "conditions": [{ "type": "Ready", "status": "True" }] },
        });
        crate::workloads::tests_support::merge(&mut node, extra);
        serde_json::from_value(node).unwrap()
    }

    fn pod(spec: Value) -> Pod {
        let mut spec_value = json!({ "containers": [{ "name": "a", "image": "nginx" }] });
        crate::workloads::tests_support::merge(&mut spec_value, spec);
        serde_json::from_value(
            json!({ "metadata": { "name": "p" }, "spec": spec_value, "status": { "phase": "Pending" } }),
        )
        .unwrap()
    }

    #[test]
    fn nodes_that_are_not_ready_cordoned_tainted_or_unselected_are_refused() {
        let plain = pod(json!({}));
        assert_eq!(refusal(&plain, &node("a", json!({}))), None);
        let not_ready = node("b", json!({ "status": { "conditions": [{ "type": "Ready", "status": "False" }] } }));
        assert!(refusal(&plain, &not_ready).is_some());
        let cordoned = node("c", json!({ "spec": { "unschedulable": true } }));
        assert_eq!(refusal(&plain, &cordoned), Some("node(s) were unschedulable"));
        let tainted = node(
            "d",
            json!({ "spec": { "taints": [{ "key": "dedicated", "value": "gpu", "effect": "NoSchedule" }] } }),
        );
        assert_eq!(refusal(&plain, &tainted), Some("node(s) had untolerated taint(s)"));
        let tolerant = pod(json!({ "tolerations": [{ "key": "dedicated", "operator": "Equal", "value": "gpu" }] }));
        assert_eq!(refusal(&tolerant, &tainted), None);
        let picky = pod(json!({ "nodeSelector": { "disk": "hdd" } }));
        assert_eq!(refusal(&picky, &node("e", json!({}))), Some("node(s) didn't match Pod's node affinity/selector"));
        let affine = pod(json!({ "affinity": { "nodeAffinity": { "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{ "matchExpressions": [{ "key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-east-1b"] }] }] } } } }));
        assert!(refusal(&affine, &node("f", json!({}))).is_some());
    }

    #[test]
    fn replicas_spread_over_the_least_loaded_nodes() {
        let (a, b) = (node("node-1", json!({})), node("node-2", json!({})));
        let owned = |name: &str, node: &str| -> Arc<Pod> {
            Arc::new(serde_json::from_value(json!({
                "metadata": { "name": name, "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs-1", "controller": true }] },
                "spec": { "nodeName": node, "containers": [] }, "status": { "phase": "Running" },
            })).unwrap())
        };
        let other = |name: &str, node: &str| -> Arc<Pod> {
            Arc::new(
                serde_json::from_value(
                    json!({ "metadata": { "name": name }, "spec": { "nodeName": node, "containers": [] } }),
                )
                .unwrap(),
            )
        };
        let new = owned("new", "").as_ref().clone();
        let placed = vec![owned("x", "node-1"), other("y", "node-2"), other("z", "node-2")];
        assert_eq!(pick(&new, &[&a, &b], &placed).as_deref(), Some("node-2"), "fewer pods of its own owner first");
        assert_eq!(pick(&pod(json!({})), &[&a, &b], &placed).as_deref(), Some("node-1"), "then fewer pods");
        assert_eq!(pick(&new, &[], &placed), None);
        let message = unschedulable_message(
            3,
            &HashMap::from([("node(s) were unschedulable", 1), ("node(s) had untolerated taint(s)", 2)]),
        );
        assert_eq!(
            message,
            "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) had untolerated taint(s)."
        );
    }
}
