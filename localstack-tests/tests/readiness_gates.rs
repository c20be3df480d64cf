//! Pod readiness gates end to end against an AWS-compatible endpoint (moto by default) through the
//! real SDK: the testkit API server with a real `kube::Client`, Elbow's admission webhook served
//! over TLS behind the MutatingWebhookConfiguration the chart installs, and the real controllers.
//! In a namespace labelled `elbow.dev/pod-readiness-gate-inject=enabled`, a pod created through
//! the API gets the gate of its ip-mode Service's target group; its EndpointSlice (not ready:
//! the gate holds it) leads to its registration; DescribeTargetHealth reports it healthy and the
//! gate turns True. No DescribeTargetHealth is made while no gate is pending (counted on the
//! operator's own metrics).
//!
//! What moto covers: the SDK's DescribeTargetHealth, its answer read into the gate, and the whole
//! path from pod creation to a True condition. moto has no data plane: every registered target is
//! `healthy` at once (no `initial`, no `unhealthy`, no reason or description), and nothing in its
//! API changes that, so the states before healthy are tested on the fake cloud, whose target
//! health a test sets (`playground/tests/readiness_gates_fake.rs`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use elbow_cloud::{Cloud, TargetGroupFilter};
use elbow_localstack_tests::{cloud, sandbox_options};
use elbow_model::TargetType;
use elbow_playground::{Sandbox, SandboxOptions};
use elbow_testkit::{create_from_json, eventually};
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

const NAMESPACE: &str = "shop";

/// DescribeTargetHealth requests the operator made so far, whatever their outcome.
fn target_health_calls(sandbox: &Sandbox) -> f64 {
    let series = r#"elbow_aws_api_calls_total{service="elasticloadbalancing",api="DescribeTargetHealth""#;
    sandbox
        .metrics
        .encode()
        .lines()
        .filter(|line| line.starts_with(series))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_pod_gets_its_gate_is_registered_and_turns_ready_once_its_target_is_healthy() {
    // The test plays the kubelet's and the EndpointSlice controller's parts itself; the
    // sandbox's own workload controllers would race it.
    let options = SandboxOptions { webhook: true, workloads: None, ..sandbox_options("e2e-gates").await };
    let sandbox = Sandbox::start(options).await.expect("sandbox");
    let environment = sandbox.environment.clone();
    let client = sandbox.client();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create_from_json(
        &namespaces,
        json!({ "metadata": { "name": NAMESPACE, "labels": { "elbow.dev/pod-readiness-gate-inject": "enabled" } } }),
    )
    .await;
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    create_from_json(
        &services,
        json!({ "metadata": { "name": "web", "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip" } },
        "spec": { "type": "LoadBalancer", "selector": { "app": "web" },
            "ports": [{ "name": "http", "port": 80, "targetPort": 8080 }] } }),
    )
    .await;
    eventually("the Service's hostname", async || {
        let service = services.get("web").await.ok()?;
        service.status?.load_balancer?.ingress?.first()?.hostname.clone()
    })
    .await;
    // The target group, as the endpoint has it: the one of this cluster's stack shop/web.
    let cloud = cloud().await;
    let groups = cloud.describe_target_groups(TargetGroupFilter::All).await.unwrap();
    let tags = cloud.describe_tags(&groups.iter().map(|g| g.arn.clone()).collect::<Vec<_>>()).await.unwrap();
    let ours = |arn: &String| {
        let tags = tags.get(arn);
        let tag = |key: &str| tags.and_then(|t| t.get(key)).map(String::as_str);
        tag("elbow.dev/cluster") == Some(environment.cluster.as_str()) && tag("elbow.dev/stack") == Some("shop/web")
    };
    let tg = groups.into_iter().find(|g| ours(&g.arn)).expect("the Service's target group");
    assert_eq!(tg.target_type, TargetType::Ip);

    // No gate anywhere: not one DescribeTargetHealth.
    let quiet = target_health_calls(&sandbox);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(target_health_calls(&sandbox), quiet, "no gate pending, no call");

    // Created through the API, the pod goes through the webhook and comes back with its gate; a
    // pod that already carries it (a second request, or written by hand) gets it once.
    let gate = format!("target-health.elbow.dev/{}", tg.name);
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let pod = |name: &str, gates: Value| {
        json!({ "metadata": { "name": name, "labels": { "app": "web" } },
            "spec": { "containers": [{ "name": "app", "image": "nginx" }], "readinessGates": gates } })
    };
    let created = create_from_json(&pods, pod("web-1", Value::Null)).await;
    let gates: Vec<String> =
        created.spec.unwrap().readiness_gates.unwrap().into_iter().map(|g| g.condition_type).collect();
    assert_eq!(gates, std::slice::from_ref(&gate));
    let again = create_from_json(&pods, pod("web-2", json!([{ "conditionType": gate }]))).await;
    assert_eq!(again.spec.unwrap().readiness_gates.unwrap().len(), 1, "the gate is not added twice");
    pods.delete("web-2", &DeleteParams::default()).await.unwrap();

    // The kubelet's part: the containers are ready, the pod is not (its gate is not True).
    let ip = environment.pod_address(0, 0);
    let status = json!({ "status": { "phase": "Running", "podIP": ip, "conditions": [
        { "type": "ContainersReady", "status": "True" }, { "type": "Ready", "status": "False" } ] } });
    pods.patch_status("web-1", &PatchParams::default(), &Patch::Strategic(status)).await.unwrap();
    // The EndpointSlice controller's: the pod listed, not ready.
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), NAMESPACE);
    create_from_json(
        &slices,
        json!({ "metadata": { "name": "web-abc12", "labels": { "kubernetes.io/service-name": "web" } },
            "addressType": "IPv4",
            "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }],
            "endpoints": [{ "addresses": [ip], "conditions": { "ready": false, "serving": false, "terminating": false },
                "nodeName": environment.nodes[0].name, "targetRef": { "kind": "Pod", "name": "web-1", "namespace": NAMESPACE } }] }),
    )
    .await;

    eventually("the waiting pod registered at the endpoint", async || {
        let health = cloud.describe_target_health(&tg.arn).await.ok()?;
        health.iter().any(|h| h.target.id == ip && h.target.port == 8080).then_some(())
    })
    .await;
    let condition = eventually("the gate True", async || {
        let pod = pods.get("web-1").await.ok()?;
        pod.status?.conditions?.into_iter().find(|c| c.type_ == gate && c.status == "True")
    })
    .await;
    assert_eq!((condition.reason, condition.message), (None, None), "moto gives a healthy target no reason");
    let polled = target_health_calls(&sandbox);
    assert!(polled > quiet, "the pending gate was asked about");

    // Nothing pending any more: the polling stopped.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(target_health_calls(&sandbox), polled, "no gate pending, no call");

    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service gone", async || services.get_opt("web").await.ok()?.is_none().then_some(())).await;
    sandbox.stop().await;
}
