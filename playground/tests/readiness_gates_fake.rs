//! Pod readiness gates end to end on the in-memory fake, whose target health a test can set (moto
//! reports every registered target healthy; `localstack-tests/tests/readiness_gates.rs` runs the
//! same path through the real SDK against moto): the testkit API server with a real
//! `kube::Client`, the admission webhook over TLS as the chart installs it, and the real
//! controllers. A pod created in a labelled namespace gets its gate; the kubelet's and the
//! EndpointSlice controller's parts are played by the test through the API. The gate's condition
//! then follows the target's health (registration in progress, unhealthy with AWS's reason,
//! initial, healthy), no DescribeTargetHealth is made while no gate is pending, and a gate whose
//! target group is deleted lets go of its pod.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use elbow_cloud::Api as CloudApi;
use elbow_fake::Health;
use elbow_model::{Target, TargetType};
use elbow_playground::{Aws, Sandbox, SandboxOptions};
use elbow_testkit::{create_from_json, eventually};
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

const NAMESPACE: &str = "shop";

/// A pod of the web Deployment, as its ReplicaSet would create it.
fn web_pod(name: &str) -> Value {
    json!({
        "metadata": { "name": name, "labels": { "app": "web", "pod-template-hash": "7d9f" } },
        "spec": { "containers": [{ "name": "app", "image": "nginx", "ports": [{ "containerPort": 8080 }] }] }
    })
}

/// The kubelet's part: the pod runs at `ip`, its containers are ready, and it is not Ready while
/// a gate is not True.
async fn kubelet_runs(pods: &Api<Pod>, name: &str, ip: &str) {
    let status = json!({ "status": { "phase": "Running", "podIP": ip, "podIPs": [{ "ip": ip }], "conditions": [
        { "type": "ContainersReady", "status": "True" },
        { "type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady" } ] } });
    pods.patch_status(name, &PatchParams::default(), &Patch::Strategic(status)).await.unwrap();
}

/// The gate's condition on the pod: (status, reason, message).
async fn gate_condition(pods: &Api<Pod>, name: &str, gate: &str) -> Option<(String, Option<String>, Option<String>)> {
    let pod = pods.get(name).await.ok()?;
    let condition = pod.status?.conditions?.into_iter().find(|c| c.type_ == gate)?;
    Some((condition.status, condition.reason, condition.message))
}

async fn wait_for_condition(pods: &Api<Pod>, name: &str, gate: &str, status: &str, reason: Option<&str>) {
    eventually(&format!("{name}'s gate {status} ({reason:?})"), async || {
        let (found, found_reason, _) = gate_condition(pods, name, gate).await?;
        (found == status && found_reason.as_deref() == reason).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pods_gate_follows_its_targets_health_and_lets_go_when_the_target_group_goes() {
    // The test plays the scheduler's, the kubelet's and the EndpointSlice controller's parts
    // itself, step by step: the sandbox's own workload controllers would race it (bind the pod,
    // give it another address, list it in a slice of their own).
    let options = SandboxOptions { webhook: true, workloads: None, ..SandboxOptions::new("gates", Aws::Fake) };
    let sandbox = Sandbox::start(options).await.unwrap();
    let cloud = sandbox.fake().unwrap();
    let client = sandbox.client();
    let environment = sandbox.environment.clone();
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
    let tg = eventually("the Service's ip target group", async || {
        cloud.target_groups().into_iter().find(|tg| tg.target_type == TargetType::Ip)
    })
    .await;
    let gate = format!("target-health.elbow.dev/{}", tg.name);

    // Nothing pending: not one DescribeTargetHealth.
    let quiet = cloud.counter().count(CloudApi::DescribeTargetHealth);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(cloud.counter().count(CloudApi::DescribeTargetHealth), quiet, "no gate pending, no call");

    // The webhook gives a new pod of the Service its gate.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let created = create_from_json(&pods, web_pod("web-1")).await;
    let gates: Vec<String> =
        created.spec.unwrap().readiness_gates.unwrap().into_iter().map(|g| g.condition_type).collect();
    assert_eq!(gates, std::slice::from_ref(&gate));

    // What the load balancer will say of the pod once it is registered.
    let ip = environment.pod_address(0, 0);
    let target = Target::new(ip.clone(), 8080);
    let failing = Health {
        state: "unhealthy".into(),
        reason: Some("Target.ResponseCodeMismatch".into()),
        description: Some("Health checks failed with these codes: [503]".into()),
    };
    assert!(cloud.set_target_health(&tg.arn, &target, failing));
    // Running with ready containers: the gate is pending, the pod not registered yet.
    kubelet_runs(&pods, "web-1", &ip).await;
    wait_for_condition(&pods, "web-1", &gate, "False", Some("Elb.RegistrationInProgress")).await;

    // The EndpointSlice controller lists the pod, not ready (its gate is not True): Elbow
    // registers it all the same, since only its gate holds it.
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
    eventually("the waiting pod registered", async || (cloud.targets(&tg.arn) == [target.clone()]).then_some(())).await;
    wait_for_condition(&pods, "web-1", &gate, "False", Some("Target.ResponseCodeMismatch")).await;
    let (_, _, message) = gate_condition(&pods, "web-1", &gate).await.unwrap();
    assert_eq!(message.as_deref(), Some("Health checks failed with these codes: [503]"));

    let initial = Health {
        state: "initial".into(),
        reason: Some("Elb.InitialHealthChecking".into()),
        description: Some("Initial health checks in progress".into()),
    };
    cloud.set_target_health(&tg.arn, &target, initial);
    wait_for_condition(&pods, "web-1", &gate, "False", Some("Elb.InitialHealthChecking")).await;
    cloud.set_target_health(&tg.arn, &target, Health::healthy());
    wait_for_condition(&pods, "web-1", &gate, "True", None).await;
    let condition = pods.get("web-1").await.unwrap().status.unwrap().conditions.unwrap();
    assert!(
        condition.iter().any(|c| c.type_ == "ContainersReady" && c.status == "True"),
        "the kubelet's conditions stay beside the gate's"
    );

    // No gate pending any more: the polling stops.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = cloud.counter().count(CloudApi::DescribeTargetHealth);
    assert!(settled > quiet, "the pending gate was polled");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(cloud.counter().count(CloudApi::DescribeTargetHealth), settled, "nothing pending, no call");

    // A second pod waits (its containers are not ready); the Service goes, and with it the
    // target group: the gate lets go of the pod rather than hold it for ever.
    let second = create_from_json(&pods, web_pod("web-2")).await;
    assert_eq!(second.spec.unwrap().readiness_gates.unwrap().len(), 1);
    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service gone", async || services.get_opt("web").await.ok()?.is_none().then_some(())).await;
    wait_for_condition(&pods, "web-2", &gate, "True", Some("Elbow.TargetGroupDeleted")).await;
    assert!(cloud.target_groups().is_empty());
    sandbox.stop().await;
}
