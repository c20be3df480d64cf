//! The ReplicaSet controller: keeps `spec.replicas` active pods made from the template, each
//! controlled by the ReplicaSet (owner reference), replacing pods that finish or are deleted,
//! deleting the surplus in kube-controller-manager's order (unscheduled, pending, not ready,
//! doubled up on a node, ready for less time, newest first), adopting orphans its selector
//! matches and releasing pods it no longer selects, and reporting the counts in its status
//! (replicas, fullyLabeled, ready, available after `minReadySeconds`, terminating).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource};
use serde_json::json;

use super::events::Events;
use super::objects::{self, controller_ref, is_active, is_ready, matches, name, namespace, uid};

struct Context {
    client: Client,
    events: Events,
}

pub async fn run(client: Client) {
    let context =
        Arc::new(Context { client: client.clone(), events: Events::new(client.clone(), "replicaset-controller") });
    Controller::new(Api::<ReplicaSet>::all(client.clone()), watcher::Config::default())
        .owns(Api::<Pod>::all(client), watcher::Config::default())
        .run(reconcile, |_, _, _| Action::requeue(super::RETRY), context)
        .for_each(|_| futures::future::ready(()))
        .await;
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Context>) -> Result<Action, kube::Error> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace(&rs.metadata));
    let spec = rs.spec.clone().unwrap_or_default();
    let Some(selector) = objects::selector(Some(&spec.selector)) else { return Ok(Action::await_change()) };
    let deleting = rs.metadata.deletion_timestamp.is_some();

    // The pods it controls, after adopting the orphans it selects and releasing those it no
    // longer selects (`ClaimPods`).
    let mut owned = Vec::new();
    for pod in pods.list(&ListParams::default()).await?.items {
        let selected = matches(&selector, &pod.metadata);
        match controller_ref(&pod.metadata) {
            Some(owner) if owner.uid == uid(&rs.metadata) => {
                if selected {
                    owned.push(pod);
                } else {
                    set_owners(&pods, &pod, pod_owners_without(&pod.metadata, uid(&rs.metadata))).await?;
                }
            }
            None if selected && !deleting && !objects::is_terminating(&pod) => {
                let mut owners = pod.metadata.owner_references.clone().unwrap_or_default();
                owners.push(objects::owner_reference("apps/v1", "ReplicaSet", &rs.metadata));
                owned.push(set_owners(&pods, &pod, owners).await?);
            }
            _ => {}
        }
    }

    let mut failure = None;
    if !deleting {
        failure = manage_replicas(&rs, &pods, &owned, spec.replicas.unwrap_or(1), &ctx).await;
    }
    write_status(&rs, &owned, failure, &ctx.client).await?;
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let next_available =
        owned.iter().filter(|p| is_active(p)).filter_map(|p| objects::until_available(p, min_ready)).min();
    Ok(match next_available {
        Some(seconds) => Action::requeue(std::time::Duration::from_secs(seconds.unsigned_abs())),
        None => Action::await_change(),
    })
}

/// Writes a pod's owner references, failing if the pod changed since it was read.
async fn set_owners(
    pods: &Api<Pod>,
    pod: &Pod,
    owners: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
) -> Result<Pod, kube::Error> {
    let patch = json!({ "metadata": {
        "ownerReferences": owners, "resourceVersion": pod.metadata.resource_version, "uid": pod.metadata.uid,
    } });
    pods.patch(name(&pod.metadata), &PatchParams::default(), &Patch::Merge(patch)).await
}

fn pod_owners_without(
    meta: &ObjectMeta,
    uid: &str,
) -> Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference> {
    meta.owner_references.iter().flatten().filter(|r| r.uid != uid).cloned().collect()
}

/// Creates or deletes pods until `replicas` are active; returns the first failure, which the
/// status reports as `ReplicaFailure`.
async fn manage_replicas(
    rs: &ReplicaSet,
    pods: &Api<Pod>,
    owned: &[Pod],
    replicas: i32,
    ctx: &Context,
) -> Option<(String, String)> {
    let active: Vec<&Pod> = owned.iter().filter(|p| is_active(p)).collect();
    let diff = active.len() as i64 - i64::from(replicas);
    let reference = rs.object_ref(&());
    if diff < 0 {
        for _ in 0..-diff {
            match pods.create(&PostParams::default(), &pod_from_template(rs)).await {
                Ok(created) => {
                    let note = format!("Created pod: {}", name(&created.metadata));
                    ctx.events.normal(&reference, "SuccessfulCreate", note).await;
                }
                Err(error) => {
                    let note = format!("Error creating: {}", error_message(&error));
                    ctx.events.warning(&reference, "FailedCreate", note.clone()).await;
                    return Some(("FailedCreate".into(), note));
                }
            }
        }
    } else if diff > 0 {
        for pod in deletion_order(active).into_iter().take(diff as usize) {
            let params = DeleteParams {
                preconditions: Some(kube::api::Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
                ..DeleteParams::default()
            };
            match pods.delete(name(&pod.metadata), &params).await {
                Ok(_) => {
                    let note = format!("Deleted pod: {}", name(&pod.metadata));
                    ctx.events.normal(&reference, "SuccessfulDelete", note).await;
                }
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => {
                    let note = format!("Error deleting: {}", error_message(&error));
                    ctx.events.warning(&reference, "FailedDelete", note.clone()).await;
                    return Some(("FailedDelete".into(), note));
                }
            }
        }
    }
    None
}

fn error_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

/// `GetPodFromTemplate`: the template's labels, annotations, finalizers and spec, named after the
/// ReplicaSet, controlled by it.
fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let template = rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", name(&rs.metadata))),
            namespace: rs.metadata.namespace.clone(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![objects::owner_reference("apps/v1", "ReplicaSet", &rs.metadata)]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// Active pods in the order they are deleted when there are too many (`ActivePodsWithRanks`).
fn deletion_order(mut pods: Vec<&Pod>) -> Vec<&Pod> {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for pod in &pods {
        *per_node.entry(node_of(pod)).or_default() += 1;
    }
    let phase_rank = |pod: &Pod| match objects::phase(pod) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };
    let ready_since = |pod: &Pod| objects::condition(pod, "Ready").and_then(|c| c.last_transition_time.clone());
    let restarts = |pod: &Pod| -> i32 {
        pod.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .map(|c| c.restart_count)
            .sum()
    };
    pods.sort_by(|a, b| {
        let assigned = |p: &Pod| !node_of(p).is_empty();
        assigned(a)
            .cmp(&assigned(b))
            .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
            .then_with(|| is_ready(a).cmp(&is_ready(b)))
            .then_with(|| per_node[node_of(b)].cmp(&per_node[node_of(a)]))
            .then_with(|| match (is_ready(a), is_ready(b)) {
                // Ready more recently goes first.
                (true, true) => ready_since(b).cmp(&ready_since(a)),
                _ => Ordering::Equal,
            })
            .then_with(|| restarts(b).cmp(&restarts(a)))
            .then_with(|| b.metadata.creation_timestamp.cmp(&a.metadata.creation_timestamp))
    });
    pods
}

fn node_of(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or_default()
}

/// Writes the counts (and a `ReplicaFailure` condition while creating or deleting fails) when
/// they changed.
async fn write_status(
    rs: &ReplicaSet,
    owned: &[Pod],
    failure: Option<(String, String)>,
    client: &Client,
) -> Result<(), kube::Error> {
    let spec = rs.spec.clone().unwrap_or_default();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let template_labels = spec.template.and_then(|t| t.metadata).and_then(|m| m.labels).unwrap_or_default();
    let active: Vec<&Pod> = owned.iter().filter(|p| is_active(p)).collect();
    let fully_labeled = active
        .iter()
        .filter(|p| {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            template_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .count();
    let terminating = owned.iter().filter(|p| objects::is_terminating(p) && !objects::is_terminal(p)).count();
    let current = rs.status.clone().unwrap_or_default();
    let conditions = match failure {
        Some((reason, message)) => {
            let since = current
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "ReplicaFailure")
                .and_then(|c| c.last_transition_time.clone())
                .unwrap_or_else(objects::now);
            json!([{ "type": "ReplicaFailure", "status": "True", "reason": reason, "message": message, "lastTransitionTime": since }])
        }
        None => serde_json::Value::Null,
    };
    let status = json!({
        "replicas": active.len(),
        "fullyLabeledReplicas": fully_labeled,
        "readyReplicas": active.iter().filter(|p| is_ready(p)).count(),
        "availableReplicas": active.iter().filter(|p| objects::is_available(p, min_ready)).count(),
        "terminatingReplicas": terminating,
        "observedGeneration": rs.metadata.generation,
        "conditions": conditions,
    });
    let unchanged = serde_json::to_value(&current).ok().is_some_and(|now| {
        let field = |key: &str| now.get(key).cloned().unwrap_or(json!(0));
        [
            "replicas",
            "fullyLabeledReplicas",
            "readyReplicas",
            "availableReplicas",
            "terminatingReplicas",
            "observedGeneration",
        ]
        .iter()
        .all(|key| field(key) == status[*key])
            && now.get("conditions").cloned().unwrap_or_default() == status["conditions"]
    });
    if unchanged {
        return Ok(());
    }
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace(&rs.metadata));
    sets.patch_status(name(&rs.metadata), &PatchParams::default(), &Patch::Merge(json!({ "status": status }))).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, node: &str, phase: &str, ready: bool, created: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": { "name": name, "creationTimestamp": created },
            "spec": { "nodeName": node, "containers": [] },
            "status": { "phase": phase, "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }] },
        }))
        .unwrap()
    }

    #[test]
    fn surplus_pods_go_unscheduled_then_pending_then_unready_then_doubled_up_then_newest() {
        let unscheduled = pod("unscheduled", "", "Pending", false, "2026-01-01T00:00:05Z");
        let pending = pod("pending", "node-1", "Pending", false, "2026-01-01T00:00:04Z");
        let unready = pod("unready", "node-2", "Running", false, "2026-01-01T00:00:03Z");
        let doubled = pod("doubled", "node-1", "Running", true, "2026-01-01T00:00:01Z");
        let newer = pod("newer", "node-3", "Running", true, "2026-01-01T00:00:02Z");
        let older = pod("older", "node-4", "Running", true, "2026-01-01T00:00:00Z");
        let order = deletion_order(vec![&older, &newer, &doubled, &unready, &pending, &unscheduled]);
        let names: Vec<&str> = order.iter().map(|p| name(&p.metadata)).collect();
        assert_eq!(names, ["unscheduled", "pending", "unready", "doubled", "newer", "older"]);
    }

    #[test]
    fn pods_are_made_from_the_template_and_controlled_by_the_replica_set() {
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": { "name": "web-7c5ddbdf54", "namespace": "shop", "uid": "rs-uid" },
            "spec": { "selector": { "matchLabels": { "app": "web" } }, "template": {
                "metadata": { "labels": { "app": "web", "pod-template-hash": "7c5ddbdf54" }, "annotations": { "a": "b" } },
                "spec": { "containers": [{ "name": "nginx", "image": "nginx" }] } } },
        }))
        .unwrap();
        let pod = pod_from_template(&rs);
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-7c5ddbdf54-"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(pod.metadata.labels.unwrap()["pod-template-hash"], "7c5ddbdf54");
        let owner = &pod.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.uid.as_str(), owner.controller), ("ReplicaSet", "rs-uid", Some(true)));
        assert_eq!(pod.spec.unwrap().containers[0].image.as_deref(), Some("nginx"));
    }
}
