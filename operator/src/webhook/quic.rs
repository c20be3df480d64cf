//! `/mutate-v1-pod-quic`: QUIC server ids injected at pod creation, as the AWS Load Balancer
//! Controller (LBC) injects them. A pod created in a namespace labelled
//! `elbow.dev/quic-server-id-inject=enabled` (the configuration's namespace selector sends only
//! those) whose annotation `quic-enabled-containers` names some of its containers gets, in each
//! named container (init containers too) that lacks it, the environment variable
//! `AWS_LBC_QUIC_SERVER_ID` with a new server id: 8 random bytes in base64
//! (`elbow_builder::quic`). A container's environment is fixed once the pod exists, so this is
//! the only moment it can be given; the controllers read it back from the pod.
//!
//! Nothing in the cluster is read, so the answer never waits on the API server.

use elbow_builder::quic::{SERVER_ID_ENV, containers_to_inject, new_server_id};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::pods::is_pod_creation;
use super::review::AdmissionRequest;

pub const PATH: &str = "/mutate-v1-pod-quic";

/// The patch giving the pod being created in `request` its server ids, `random` drawing each
/// id's 8 bytes; none when it asks for none or has them all.
pub fn patch_for(request: &AdmissionRequest, random: &mut dyn FnMut() -> u64) -> Option<json_patch::Patch> {
    if !is_pod_creation(request) {
        return None;
    }
    let object = request.object.as_ref()?;
    let pod: Pod = serde_json::from_value(object.clone()).ok()?;
    let operations: Vec<Value> = containers_to_inject(&pod)
        .into_iter()
        .map(|container| {
            let variable = json!({ "name": SERVER_ID_ENV, "value": new_server_id(random()) });
            let env = format!("/spec/{}/{}/env", container.list, container.index);
            if container.has_env {
                json!({ "op": "add", "path": format!("{env}/-"), "value": variable })
            } else {
                // The list is created whole; appending to one that is not there fails.
                json!({ "op": "add", "path": env, "value": [variable] })
            }
        })
        .collect();
    if operations.is_empty() {
        return None;
    }
    serde_json::from_value(Value::Array(operations)).ok()
}

#[cfg(test)]
mod tests {
    use elbow_builder::quic::{CONTAINERS_ANNOTATION, PodServerIds};

    use super::*;
    use crate::webhook::review::GroupVersionResource;

    fn creation(object: Value) -> AdmissionRequest {
        serde_json::from_value(json!({
            "uid": "u-1",
            "kind": { "group": "", "version": "v1", "kind": "Pod" },
            "resource": { "group": "", "version": "v1", "resource": "pods" },
            "operation": "CREATE",
            "namespace": "quic",
            "object": object,
        }))
        .expect("a request")
    }

    fn pod(annotation: Option<&str>) -> Value {
        let mut pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": "envoy-1", "namespace": "quic" },
            "spec": {
                "containers": [
                    { "name": "app", "image": "app" },
                    { "name": "envoy", "image": "envoy", "ports": [{ "containerPort": 443, "protocol": "UDP" }],
                      "env": [{ "name": "LOG", "value": "info" }] },
                ],
                "initContainers": [{ "name": "proxy", "image": "proxy", "restartPolicy": "Always",
                                     "ports": [{ "containerPort": 8443, "protocol": "UDP" }] }],
            },
        });
        if let Some(value) = annotation {
            pod["metadata"]["annotations"] = json!({ CONTAINERS_ANNOTATION: value });
        }
        pod
    }

    #[test]
    fn each_named_container_gets_its_own_id_and_the_builders_read_them_back() {
        let mut next = 0x0102_0304_0506_0700_u64;
        let mut random = || {
            next += 1;
            next
        };
        let mut object = pod(Some("envoy,proxy"));
        let patch = patch_for(&creation(object.clone()), &mut random).expect("a patch");
        json_patch::patch(&mut object, &patch).expect("applies");
        assert_eq!(object["spec"]["containers"][1]["env"][0]["name"], "LOG", "the container's own env stays");
        assert_eq!(object["spec"]["containers"][1]["env"][1]["value"], "AQIDBAUGBwE=");
        assert_eq!(object["spec"]["initContainers"][0]["env"][0]["name"], SERVER_ID_ENV, "a list made whole");
        assert!(object["spec"]["containers"][0].get("env").is_none(), "an unnamed container is left alone");
        let ids = PodServerIds::of(&serde_json::from_value(object.clone()).expect("a pod")).expect("ids");
        assert_eq!(ids.for_port(443), Some("0x0102030405060701"));
        assert_eq!(ids.for_port(8443), Some("0x0102030405060702"));
        assert_eq!(patch_for(&creation(object), &mut random), None, "a pod seen twice keeps its ids");
    }

    #[test]
    fn a_pod_without_the_annotation_or_not_being_created_passes_unchanged() {
        let mut random = || 7;
        assert_eq!(patch_for(&creation(pod(None)), &mut random), None);
        let mut update = creation(pod(Some("envoy")));
        update.operation = "UPDATE".into();
        assert_eq!(patch_for(&update, &mut random), None, "a container's env cannot change after creation");
        let mut binding = creation(pod(Some("envoy")));
        binding.resource = GroupVersionResource { group: String::new(), version: "v1".into(), resource: "pods".into() };
        binding.sub_resource = Some("binding".into());
        assert_eq!(patch_for(&binding, &mut random), None);
    }
}
