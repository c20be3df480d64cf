//! The pod registry's rules, as kube-apiserver applies them, for the controllers that run pods
//! (the playground's scheduler, kubelet and ReplicaSet controller) and for webhooks that see them:
//!
//! - defaults (`SetDefaults_PodSpec`, `SetDefaults_Container`), also for the pod templates of
//!   Deployments and ReplicaSets, which are defaulted by the same functions;
//! - on create, the admission plugins that touch every pod (Priority, DefaultTolerationSeconds)
//!   and the strategy's status: `Pending` with the pod's QoS class, whatever the client sent;
//! - the update rule that a pod's spec is fixed once created, but for images, tolerations added,
//!   `activeDeadlineSeconds` and scheduling gates removed;
//! - graceful deletion (`CheckGracefulDelete`): a pod bound to a node that has not finished is
//!   only marked, with a deletionTimestamp its grace period ahead, and the kubelet deletes it
//!   once its containers have stopped; and the `binding` subresource the scheduler assigns a
//!   node with.

use serde_json::{Value, json};

use crate::errors::ApiError;

/// `SetDefaults_PodSpec` and the container defaults, on a pod's or a template's `spec`.
pub fn spec_defaults(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    for (field, value) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
        ("enableServiceLinks", json!(true)),
    ] {
        if spec[field].is_null() {
            spec[field] = value;
        }
    }
    for list in ["initContainers", "containers"] {
        // `get_mut`, not indexing, which would write a null where there is no list.
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            containers.iter_mut().filter(|c| c.is_object()).for_each(container_defaults);
        }
    }
}

fn container_defaults(container: &mut Value) {
    if container["terminationMessagePath"].is_null() {
        container["terminationMessagePath"] = json!("/dev/termination-log");
    }
    if container["terminationMessagePolicy"].is_null() {
        container["terminationMessagePolicy"] = json!("File");
    }
    if container["imagePullPolicy"].is_null() {
        let image = container["image"].as_str().unwrap_or_default();
        container["imagePullPolicy"] =
            json!(if image_tag(image) == Some("latest") { "Always" } else { "IfNotPresent" });
    }
    if let Some(ports) = container.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter(|p| p.is_object() && p["protocol"].is_null()) {
            port["protocol"] = json!("TCP");
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(probe) = container.get_mut(probe).filter(|p| p.is_object()) else { continue };
        for (field, value) in
            [("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)]
        {
            if probe[field].is_null() {
                probe[field] = json!(value);
            }
        }
        if probe["httpGet"].is_object() && probe["httpGet"]["scheme"].is_null() {
            probe["httpGet"]["scheme"] = json!("HTTP");
        }
    }
}

/// The tag an image reference names: `latest` when it names none and has no digest, `None` when
/// it is pinned by digest (a `:` in the registry host is not a tag).
fn image_tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    Some(last.split_once(':').map_or("latest", |(_, tag)| tag))
}

/// What a pod gets as it is written: defaults always; on create, the admission plugins and the
/// registry's fresh status.
pub fn admit(old: Option<&Value>, pod: &mut Value) {
    if !pod["spec"].is_object() {
        pod["spec"] = json!({});
    }
    spec_defaults(&mut pod["spec"]);
    if old.is_some() {
        return;
    }
    let spec = &mut pod["spec"];
    // Priority: without a PriorityClass (and no global default), priority 0.
    if spec["priority"].is_null() && spec["priorityClassName"].is_null() {
        spec["priority"] = json!(0);
    }
    if spec["preemptionPolicy"].is_null() {
        spec["preemptionPolicy"] = json!("PreemptLowerPriority");
    }
    default_toleration_seconds(spec);
    let mut status = json!({ "phase": "Pending", "qosClass": qos_class(spec) });
    if spec["schedulingGates"].as_array().is_some_and(|gates| !gates.is_empty()) {
        status["conditions"] = json!([{
            "type": "PodScheduled", "status": "False", "reason": "SchedulingGated",
            "message": "Scheduling is blocked due to non-empty scheduling gates", "lastTransitionTime": null,
        }]);
    }
    pod["status"] = status;
}

/// DefaultTolerationSeconds: a pod tolerates a not-ready or unreachable node for 300 s before the
/// node lifecycle controller evicts it, unless it says otherwise.
fn default_toleration_seconds(spec: &mut Value) {
    let mut tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        let tolerated = tolerations.iter().any(|t| {
            let effect = t["effect"].as_str().unwrap_or_default();
            (effect.is_empty() || effect == "NoExecute")
                && (t["key"] == json!(key)
                    || (t["key"].as_str().is_none_or(str::is_empty) && t["operator"] == "Exists"))
        });
        if !tolerated {
            tolerations.push(json!({
                "key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300,
            }));
        }
    }
    spec["tolerations"] = json!(tolerations);
}

/// The QoS class: Guaranteed when every container limits CPU and memory and requests what it
/// limits, BestEffort when no container requests or limits either, else Burstable.
fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> =
        ["initContainers", "containers"].iter().flat_map(|l| spec[*l].as_array().into_iter().flatten()).collect();
    let compute = ["cpu", "memory"];
    let any = containers.iter().any(|c| {
        compute.iter().any(|r| !c["resources"]["requests"][*r].is_null() || !c["resources"]["limits"][*r].is_null())
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        compute.iter().all(|r| {
            let limit = &c["resources"]["limits"][*r];
            let request = &c["resources"]["requests"][*r];
            !limit.is_null() && (request.is_null() || request == limit)
        })
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}

const IMMUTABLE_SPEC: &str = "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// An update of a pod's spec (the main resource, not its status or binding): only what
/// kube-apiserver lets change may differ from the stored spec.
pub fn validate_update(old: &Value, new: &Value) -> Result<(), ApiError> {
    let (old_spec, mut new_spec) = (&old["spec"], new["spec"].clone());
    for list in ["containers", "initContainers"] {
        if let (Some(before), Some(after)) =
            (old_spec[list].as_array(), new_spec.get_mut(list).and_then(Value::as_array_mut))
            && before.len() == after.len()
        {
            for (before, after) in before.iter().zip(after.iter_mut()) {
                after["image"] = before["image"].clone();
            }
        }
    }
    copy(old_spec, &mut new_spec, "activeDeadlineSeconds");
    if old_spec["terminationGracePeriodSeconds"].as_i64().is_some_and(|s| s < 0) {
        copy(old_spec, &mut new_spec, "terminationGracePeriodSeconds");
    }
    let kept = |field: &str| {
        let after = new_spec[field].as_array().cloned().unwrap_or_default();
        old_spec[field].as_array().is_none_or(|before| before.iter().all(|t| after.contains(t)))
    };
    // Tolerations may only be added to, scheduling gates only removed.
    if kept("tolerations") {
        copy(old_spec, &mut new_spec, "tolerations");
    }
    let gates_removed = new_spec["schedulingGates"].as_array().is_none_or(|after| {
        after.iter().all(|g| old_spec["schedulingGates"].as_array().is_some_and(|b| b.contains(g)))
    });
    if gates_removed {
        copy(old_spec, &mut new_spec, "schedulingGates");
    }
    if &new_spec == old_spec {
        return Ok(());
    }
    let name = new["metadata"]["name"].as_str().unwrap_or_default();
    Err(crate::validation::invalid_object("", "Pod", name, &[IMMUTABLE_SPEC.to_string()]))
}

fn copy(from: &Value, to: &mut Value, field: &str) {
    match from.get(field) {
        Some(value) => to[field] = value.clone(),
        None => {
            if let Some(object) = to.as_object_mut() {
                object.remove(field);
            }
        }
    }
}

/// `CheckGracefulDelete`: how long a pod being deleted is given to stop. The request's period,
/// else the pod's `terminationGracePeriodSeconds`; 0 (deleted at once) for a pod no node runs
/// and for one that already finished; a negative period counts as 1 s.
pub fn grace_period(pod: &Value, requested: Option<i64>) -> i64 {
    let mut period = requested.or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64()).unwrap_or(0);
    if pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
        period = 0;
    }
    if matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
        period = 0;
    }
    if period < 0 { 1 } else { period }
}

/// The pod a `Binding` (`POST .../pods/<name>/binding`) makes of `pod`: assigned to the binding's
/// node, with the binding's annotations and the `PodScheduled` condition. A pod that is being
/// deleted or is already assigned is refused with the Conflict kube-apiserver answers.
pub fn bind(pod: &Value, binding: &Value) -> Result<Value, ApiError> {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let node = binding["target"]["name"].as_str().unwrap_or_default();
    if node.is_empty() {
        return Err(crate::validation::invalid_object("", "Binding", name, &["target.name: Required value".into()]));
    }
    if let Some(kind) = binding["target"]["kind"].as_str().filter(|k| !k.is_empty() && *k != "Node") {
        let error = format!("target.kind: Invalid value: \"{kind}\": must be empty or 'Node'");
        return Err(crate::validation::invalid_object("", "Binding", name, &[error]));
    }
    let refused = |why: String| ApiError::conflict_because("pods/binding", name, why);
    if let Some(uid) = binding["metadata"]["uid"].as_str().filter(|u| !u.is_empty())
        && pod["metadata"]["uid"].as_str() != Some(uid)
    {
        return Err(refused(format!("the UID in the binding ({uid}) does not match the UID of the pod")));
    }
    if pod["metadata"]["deletionTimestamp"].is_string() {
        return Err(refused(format!("pod {name} is being deleted, cannot be assigned to a host")));
    }
    if let Some(assigned) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
        return Err(refused(format!("pod {name} is already assigned to node \"{assigned}\"")));
    }
    let mut bound = pod.clone();
    bound["spec"]["nodeName"] = json!(node);
    if let Some(annotations) = binding["metadata"]["annotations"].as_object() {
        for (key, value) in annotations {
            bound["metadata"]["annotations"][key] = value.clone();
        }
    }
    let mut conditions = bound["status"]["conditions"].as_array().cloned().unwrap_or_default();
    conditions.retain(|c| c["type"] != "PodScheduled");
    conditions.push(json!({
        "type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": crate::store::now(),
    }));
    bound["status"]["conditions"] = json!(conditions);
    Ok(bound)
}

/// What `POST .../binding` answers when the pod was bound.
pub fn bound_status() -> Value {
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: Value) -> Value {
        json!({ "metadata": { "name": "web-1", "uid": "u-1" }, "spec": spec })
    }

    #[test]
    fn a_new_pod_is_defaulted_and_pending_whatever_status_it_was_sent_with() {
        let mut created = pod(json!({ "containers": [
            { "name": "a", "image": "nginx", "ports": [{ "containerPort": 80 }] },
            { "name": "b", "image": "nginx:1.27" },
            { "name": "c", "image": "registry:5000/app" },
            { "name": "d", "image": "nginx@sha256:abc" },
        ] }));
        created["status"] = json!({ "phase": "Running", "podIP": "10.0.0.1" });
        admit(None, &mut created);
        let spec = &created["spec"];
        assert_eq!(
            (&spec["restartPolicy"], &spec["terminationGracePeriodSeconds"], &spec["schedulerName"]),
            (&json!("Always"), &json!(30), &json!("default-scheduler"))
        );
        let policies: Vec<&Value> = (0..4).map(|i| &spec["containers"][i]["imagePullPolicy"]).collect();
        assert_eq!(policies, [&json!("Always"), &json!("IfNotPresent"), &json!("Always"), &json!("IfNotPresent")]);
        assert_eq!(spec["containers"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2), "not-ready and unreachable, 300 s");
        assert_eq!(created["status"], json!({ "phase": "Pending", "qosClass": "BestEffort" }));
        let written: Vec<&String> = spec["containers"][0].as_object().unwrap().keys().collect();
        assert!(!written.iter().any(|k| k.ends_with("Probe")), "no probe where there was none: {written:?}");
        assert!(spec.get("initContainers").is_none());
    }

    #[test]
    fn the_qos_class_follows_requests_and_limits() {
        let with = |resources: Value| qos_class(&json!({ "containers": [{ "name": "a", "resources": resources }] }));
        assert_eq!(with(json!({})), "BestEffort");
        assert_eq!(with(json!({ "requests": { "cpu": "100m" } })), "Burstable");
        assert_eq!(with(json!({ "limits": { "cpu": "1", "memory": "1Gi" } })), "Guaranteed");
        assert_eq!(
            with(json!({ "limits": { "cpu": "1", "memory": "1Gi" }, "requests": { "cpu": "500m" } })),
            "Burstable"
        );
    }

    #[test]
    fn only_images_tolerations_added_and_gates_removed_may_change() {
        let mut old = pod(json!({ "containers": [{ "name": "a", "image": "nginx" }],
            "schedulingGates": [{ "name": "g" }], "tolerations": [{ "key": "k", "operator": "Exists" }] }));
        admit(None, &mut old);
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("nginx:1.27");
        new["spec"]["schedulingGates"] = json!([]);
        let mut tolerations = new["spec"]["tolerations"].as_array().cloned().unwrap_or_default();
        tolerations.push(json!({ "key": "other", "operator": "Exists" }));
        new["spec"]["tolerations"] = json!(tolerations);
        assert_eq!(validate_update(&old, &new), Ok(()));

        let mut ports = old.clone();
        ports["spec"]["containers"][0]["ports"] = json!([{ "containerPort": 80, "protocol": "TCP" }]);
        let refused = validate_update(&old, &ports).unwrap_err();
        assert_eq!(refused.code, 422);
        assert!(refused.message.starts_with("Pod \"web-1\" is invalid: spec: Forbidden: pod updates may not change"));
        let mut node = old.clone();
        node["spec"]["nodeName"] = json!("node-1");
        assert!(validate_update(&old, &node).is_err(), "a node is assigned through the binding only");
        let mut fewer = old.clone();
        fewer["spec"]["tolerations"] = json!([]);
        assert!(validate_update(&old, &fewer).is_err(), "tolerations cannot be taken away");
    }

    #[test]
    fn grace_applies_only_to_pods_a_node_runs_that_have_not_finished() {
        let mut running = pod(json!({ "nodeName": "node-1", "terminationGracePeriodSeconds": 30 }));
        assert_eq!(grace_period(&running, None), 30);
        assert_eq!(grace_period(&running, Some(5)), 5);
        assert_eq!(grace_period(&running, Some(-1)), 1);
        assert_eq!(grace_period(&pod(json!({ "terminationGracePeriodSeconds": 30 })), None), 0, "not scheduled");
        running["status"] = json!({ "phase": "Succeeded" });
        assert_eq!(grace_period(&running, None), 0);
    }

    #[test]
    fn a_binding_assigns_a_node_once() {
        let mut created = pod(json!({ "containers": [{ "name": "a", "image": "nginx" }] }));
        admit(None, &mut created);
        let binding = json!({ "metadata": { "name": "web-1" }, "target": { "kind": "Node", "name": "node-1" } });
        let bound = bind(&created, &binding).unwrap();
        assert_eq!(bound["spec"]["nodeName"], "node-1");
        assert_eq!(bound["status"]["conditions"][0]["type"], "PodScheduled");
        assert_eq!(bound["status"]["conditions"][0]["status"], "True");
        let again = bind(&bound, &binding).unwrap_err();
        assert_eq!((again.code, again.reason.as_ref()), (409, "Conflict"));
        assert_eq!(
            again.message,
            "Operation cannot be fulfilled on pods/binding \"web-1\": pod web-1 is already assigned to node \"node-1\""
        );
        let mut deleting = created.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert!(bind(&deleting, &binding).unwrap_err().message.contains("is being deleted"));
        let nowhere = json!({ "metadata": { "name": "web-1" }, "target": {} });
        assert_eq!(bind(&created, &nowhere).unwrap_err().code, 422);
    }
}
