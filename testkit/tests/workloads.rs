//! What the server does for the controllers that run workloads, checked with kubectl v1.35 and a
//! real `kube::Client`: Deployment defaults, `kubectl scale` through the `scale` subresource,
//! ReplicaSets, pods created `Pending`, the scheduler's binding, a pod's graceful deletion, and a
//! pod's spec staying as created.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_testkit::tools::KubectlServer;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{Value, json};

fn get_json(cluster: &KubectlServer, args: &[&str]) -> Value {
    let args: Vec<&str> = ["get"].iter().chain(args).chain(&["-o", "json"]).copied().collect();
    serde_json::from_str(&cluster.kubectl.ok(&args)).unwrap()
}

#[test]
fn kubectl_scale_writes_replicas_through_the_scale_subresource() {
    let cluster = KubectlServer::start();
    let created = cluster.kubectl.ok(&["create", "deployment", "web", "--image=nginx", "--replicas=2"]);
    assert_eq!(created.trim(), "deployment.apps/web created");
    let deployment = get_json(&cluster, &["deployment", "web"]);
    assert_eq!(
        deployment["spec"]["strategy"],
        json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": "25%", "maxUnavailable": "25%" } })
    );
    assert_eq!(deployment["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always");

    let scaled = cluster.kubectl.ok(&["scale", "deployment", "web", "--replicas=5"]);
    assert_eq!(scaled.trim(), "deployment.apps/web scaled");
    let deployment = get_json(&cluster, &["deployment", "web"]);
    assert_eq!(
        (deployment["spec"]["replicas"].as_i64(), deployment["metadata"]["generation"].as_i64()),
        (Some(5), Some(2))
    );
    // With a precondition kubectl reads the Scale first and refuses a size that is not current.
    let stale = cluster.kubectl.run(&["scale", "deployment", "web", "--current-replicas=2", "--replicas=3"]);
    assert!(!stale.success());
    assert!(stale.stderr.contains("Expected replicas to be 2, was 5"), "{}", stale.stderr);
    let current = cluster.kubectl.ok(&["scale", "deployment/web", "--current-replicas=5", "--replicas=1"]);
    assert_eq!(current.trim(), "deployment.apps/web scaled");

    cluster.runtime.block_on(async {
        let deployments: Api<Deployment> = Api::default_namespaced(cluster.server.client.clone());
        let scale: Scale = deployments.get_scale("web").await.unwrap();
        assert_eq!(scale.spec.and_then(|s| s.replicas), Some(1));
        assert_eq!(scale.status.map(|s| s.selector), Some(Some("app=web".to_string())));
        let patch = Patch::Merge(json!({ "spec": { "replicas": -1 } }));
        let refused = deployments.patch_scale("web", &PatchParams::default(), &patch).await.unwrap_err();
        assert!(matches!(refused, kube::Error::Api(ref e) if e.code == 422), "{refused:?}");
    });
}

#[test]
fn replica_sets_are_served_with_their_scale() {
    let cluster = KubectlServer::start();
    let manifest = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata: { name: web-1 }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: nginx, image: "nginx:1.27", ports: [{ containerPort: 80 }] }] }
"#;
    cluster.kubectl.apply(manifest);
    let rs = get_json(&cluster, &["rs", "web-1"]);
    assert_eq!(rs["spec"]["replicas"], 1, "defaulted");
    assert_eq!(rs["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"], "TCP");
    assert_eq!(cluster.kubectl.ok(&["scale", "rs", "web-1", "--replicas=3"]).trim(), "replicaset.apps/web-1 scaled");
    let table = cluster.kubectl.ok(&["get", "replicasets"]);
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);
    assert_eq!(rows[1][..4], ["web-1", "3", "0", "0"]);

    let mismatched = manifest.replace("labels: { app: web }", "labels: { app: other }");
    let refused = cluster.kubectl.run_with_input(&["apply", "-f", "-"], &mismatched.replace("web-1", "web-2"));
    assert!(!refused.success());
    assert!(refused.stderr.contains("`selector` does not match template `labels`"), "{}", refused.stderr);
    cluster.runtime.block_on(async {
        let sets: Api<ReplicaSet> = Api::default_namespaced(cluster.server.client.clone());
        assert_eq!(sets.get_scale("web-1").await.unwrap().spec.and_then(|s| s.replicas), Some(3));
    });
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": { "name": name, "labels": { "app": "web" } },
        "spec": { "containers": [{ "name": "nginx", "image": "nginx" }] },
        "status": { "phase": "Running", "podIP": "10.0.0.9" },
    }))
    .unwrap()
}

fn binding(name: &str, node: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": { "name": name },
        "target": { "apiVersion": "v1", "kind": "Node", "name": node },
    })
}

#[test]
fn pods_start_pending_are_bound_once_and_are_deleted_gracefully() {
    let cluster = KubectlServer::start();
    cluster.runtime.block_on(async {
        let pods: Api<Pod> = Api::default_namespaced(cluster.server.client.clone());
        let created = pods.create(&PostParams::default(), &pod("web-1")).await.unwrap();
        let status = created.status.clone().unwrap();
        assert_eq!((status.phase.as_deref(), status.pod_ip), (Some("Pending"), None), "the client's status is dropped");
        assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));

        // The scheduler's binding sets the node and the PodScheduled condition, once.
        let bound: Value =
            pods.create_subresource("binding", "web-1", &PostParams::default(), &binding("web-1", "node-1")).await.unwrap();
        assert_eq!((bound["kind"].as_str(), bound["status"].as_str()), (Some("Status"), Some("Success")));
        let pod = pods.get("web-1").await.unwrap();
        assert_eq!(pod.spec.as_ref().and_then(|s| s.node_name.as_deref()), Some("node-1"));
        let conditions = pod.status.and_then(|s| s.conditions).unwrap();
        assert!(conditions.iter().any(|c| c.type_ == "PodScheduled" && c.status == "True"), "{conditions:?}");
        let again = pods
            .create_subresource::<Value, Value>("binding", "web-1", &PostParams::default(), &binding("web-1", "node-2"))
            .await
            .unwrap_err();
        assert!(matches!(again, kube::Error::Api(ref e) if e.code == 409
            && e.message == "Operation cannot be fulfilled on pods/binding \"web-1\": pod web-1 is already assigned to node \"node-1\""), "{again:?}");

        // Its spec stays as created, but for the image.
        let ports = Patch::Merge(json!({ "spec": { "containers": [{ "name": "nginx", "image": "nginx", "ports": [{ "containerPort": 80 }] }] } }));
        let refused = pods.patch("web-1", &PatchParams::default(), &ports).await.unwrap_err();
        assert!(matches!(refused, kube::Error::Api(ref e) if e.code == 422), "{refused:?}");
        let image = Patch::Strategic(json!({ "spec": { "containers": [{ "name": "nginx", "image": "nginx:1.27" }] } }));
        pods.patch("web-1", &PatchParams::default(), &image).await.unwrap();

        // Deleting a pod a node runs leaves it terminating for its grace period; the kubelet's
        // delete with no grace, for this very pod, removes it.
        pods.delete("web-1", &DeleteParams::default()).await.unwrap();
        let terminating = pods.get("web-1").await.unwrap();
        assert!(terminating.metadata.deletion_timestamp.is_some());
        assert_eq!(terminating.metadata.deletion_grace_period_seconds, Some(30));
        let other_uid = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: Some("not-this-pod".into()), resource_version: None }),
            ..DeleteParams::default()
        };
        let refused = pods.delete("web-1", &other_uid).await.unwrap_err();
        assert!(matches!(refused, kube::Error::Api(ref e) if e.code == 409), "{refused:?}");
        let this_uid = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: terminating.metadata.uid.clone(), resource_version: None }),
            ..DeleteParams::default()
        };
        pods.delete("web-1", &this_uid).await.unwrap();
        assert!(pods.get_opt("web-1").await.unwrap().is_none());

        // A pod no node runs goes at once.
        pods.create(&PostParams::default(), &self::pod("web-2")).await.unwrap();
        pods.delete("web-2", &DeleteParams::default()).await.unwrap();
        assert!(pods.get_opt("web-2").await.unwrap().is_none());

        pods.create(&PostParams::default(), &self::pod("web-3")).await.unwrap();
        pods.create_subresource::<Value, Value>("binding", "web-3", &PostParams::default(), &binding("web-3", "node-1"))
            .await
            .unwrap();
    });
    // kubectl shows the terminating pod as such.
    let deleted = cluster.kubectl.ok(&["delete", "pod", "web-3", "--wait=false"]);
    assert_eq!(deleted.trim(), "pod \"web-3\" deleted from default namespace");
    let rows = cluster.kubectl.ok(&["get", "pods", "--no-headers"]);
    assert_eq!(rows.split_whitespace().take(3).collect::<Vec<_>>(), ["web-3", "0/1", "Terminating"], "{rows}");
}
