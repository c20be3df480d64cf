//! QUIC end to end against an AWS-compatible endpoint (moto, patched with AWS's QUIC rules by
//! `scripts/moto_server.py`) through the real SDK, with the testkit API server, the real
//! controllers, Elbow's admission webhook and the playground's workload controllers: a
//! Deployment's pods created in a namespace labelled for QUIC get their server ids from the
//! webhook, and a Service with `quic-enabled-ports` gets a TCP_QUIC listener and target group
//! whose targets are those pods, each registered with its own id. A pod without an id is left out
//! and the Service says so. A TargetGroupBinding to a QUIC group made outside Elbow registers the
//! pods with their ids the same way.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbow_builder::binding::TargetGroupBinding;
use elbow_builder::quic::{CONTAINERS_ANNOTATION, INJECT_LABEL, SERVER_ID_ENV, elb_server_id};
use elbow_cloud::{Cloud, LoadBalancerFilter, TargetGroupFilter};
use elbow_localstack_tests::owned::owned;
use elbow_localstack_tests::{cloud, sandbox_options, sdk_config, unique};
use elbow_model::{Action, Protocol, TargetType};
use elbow_playground::{Sandbox, SandboxOptions};
use elbow_testkit::{create_from_json, eventually};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;

const NAMESPACE: &str = "quic";
const LBC: &str = "service.beta.kubernetes.io/aws-load-balancer-";

/// The server id Elbow should register each ready pod of `app=envoy` with, by pod IP: its
/// container's variable in ELBv2's spelling.
async fn expected_targets(pods: &Api<Pod>) -> Option<BTreeMap<String, String>> {
    let list = pods.list(&ListParams::default().labels("app=envoy")).await.ok()?;
    let mut expected = BTreeMap::new();
    for pod in list.items {
        let ip = pod.status.as_ref()?.pod_ip.clone()?;
        let env = pod.spec.as_ref()?.containers.first()?.env.clone().unwrap_or_default();
        let Some(value) = env.iter().find(|e| e.name == SERVER_ID_ENV).and_then(|e| e.value.clone()) else {
            continue;
        };
        expected.insert(ip, elb_server_id(&value)?);
    }
    Some(expected)
}

#[tokio::test(flavor = "multi_thread")]
async fn pods_get_server_ids_from_the_webhook_and_a_quic_service_registers_each_with_its_own() {
    let sandbox = quic_sandbox("e2e-quic").await;
    let environment = sandbox.environment.clone();
    let client = sandbox.client();
    // Two replicas whose container `envoy` serves QUIC, and a pod of the same app that does not
    // say so: it gets no id.
    quic_workload(&client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    create_from_json(
        &pods,
        json!({ "metadata": { "name": "stray", "labels": { "app": "envoy" } },
            "spec": { "containers": [{ "name": "envoy", "image": "envoyproxy/envoy", "ports": envoy_ports() }] } }),
    )
    .await;

    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    create_from_json(
        &services,
        json!({ "metadata": { "name": "quic", "annotations": {
                format!("{LBC}nlb-target-type"): "ip",
                format!("{LBC}disable-nlb-sg"): "true",
                format!("{LBC}quic-enabled-ports"): "443" } },
            "spec": { "type": "LoadBalancer", "selector": { "app": "envoy" },
                "ports": [
                    { "name": "h3", "port": 443, "protocol": "UDP", "targetPort": 8443 },
                    { "name": "h2", "port": 443, "protocol": "TCP", "targetPort": 8443 },
                ] } }),
    )
    .await;

    // Each replica came back from the webhook with an id of its own.
    let ids = eventually("two replicas running, each with a server id", async || {
        let expected = expected_targets(&pods).await?;
        (expected.len() == 2).then_some(expected)
    })
    .await;
    assert_ne!(ids.values().next(), ids.values().nth(1), "ids differ: {ids:?}");
    let stray = pods.get("stray").await.unwrap();
    assert!(stray.spec.unwrap().containers[0].env.is_none(), "a pod that names no container gets no id");

    // The listener and its target group are TCP_QUIC, and the endpoint holds each replica with
    // its id, and not the stray pod.
    let cloud = cloud().await;
    let cluster = environment.cluster.clone();
    let (listener, group, targets) = eventually("a TCP_QUIC listener forwarding to the replicas", async || {
        let lbs = cloud.describe_load_balancers(LoadBalancerFilter::All).await.ok()?;
        let tags = cloud.describe_tags(&lbs.iter().map(|lb| lb.arn.clone()).collect::<Vec<_>>()).await.ok()?;
        let lb = lbs.iter().find(|lb| {
            tags.get(&lb.arn).and_then(|t| t.get("elbow.dev/cluster")).map(String::as_str) == Some(cluster.as_str())
        })?;
        let listener = cloud.describe_listeners(&lb.arn).await.ok()?.pop()?;
        let Action::Forward { target_groups, .. } = listener.default_actions.first()? else { return None };
        let arn = target_groups.first()?.target_group.clone();
        let group = cloud.describe_target_groups(TargetGroupFilter::Arns(vec![arn.clone()])).await.ok()?.pop()?;
        let targets: BTreeMap<String, String> = cloud
            .describe_target_health(&arn)
            .await
            .ok()?
            .into_iter()
            .map(|h| (h.target.id, h.target.quic_server_id.unwrap_or_default()))
            .collect();
        (targets == ids).then_some((listener, group, targets))
    })
    .await;
    assert_eq!((listener.port, listener.protocol), (443, Protocol::TcpQuic));
    assert_eq!((group.protocol, group.target_type, group.port), (Protocol::TcpQuic, TargetType::Ip, 8443));
    assert!(!targets.contains_key(stray_ip(&pods).await.as_str()), "the stray pod is not registered");

    // The Service names the pod it could not register.
    let events: Api<Event> = Api::namespaced(client.clone(), NAMESPACE);
    let warning = eventually("a QUICServerIDMissing Warning on the Service", async || {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find_map(|e| {
            let about_it = e.regarding.as_ref()?.name.as_deref() == Some("quic");
            (about_it && e.reason.as_deref() == Some("QUICServerIDMissing")).then_some(e)
        })
    })
    .await;
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    assert!(warning.note.as_deref().unwrap_or_default().contains("quic/stray"), "{:?}", warning.note);

    services.delete("quic", &DeleteParams::default()).await.unwrap();
    eventually("the Service gone", async || services.get_opt("quic").await.ok()?.is_none().then_some(())).await;
    let now = owned(&cloud as &dyn Cloud, &environment.cluster, &environment.node_group).await;
    assert!(now.is_empty(), "nothing left: {:?} {:?} {:?}", now.lbs, now.listeners, now.node_rules);
    sandbox.stop().await;
}

/// A sandbox on the endpoint with Elbow's admission webhook, whose QUIC route gives pods their ids.
async fn quic_sandbox(name: &str) -> Sandbox {
    let options = SandboxOptions { webhook: true, ..sandbox_options(name).await };
    Sandbox::start(options).await.expect("sandbox")
}

/// Where `envoy` serves: QUIC and TCP on 8443.
fn envoy_ports() -> serde_json::Value {
    json!([
        { "name": "h3", "containerPort": 8443, "protocol": "UDP" },
        { "name": "h2", "containerPort": 8443, "protocol": "TCP" },
    ])
}

/// The `quic` namespace, labelled for server ids, and a two-replica Deployment `envoy` whose
/// container `envoy` serves QUIC on 8443.
async fn quic_workload(client: &kube::Client) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create_from_json(&namespaces, json!({ "metadata": { "name": NAMESPACE, "labels": { INJECT_LABEL: "enabled" } } }))
        .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    create_from_json(
        &deployments,
        json!({ "metadata": { "name": "envoy" },
            "spec": { "replicas": 2, "selector": { "matchLabels": { "app": "envoy" } },
                "template": {
                    "metadata": { "labels": { "app": "envoy" }, "annotations": { CONTAINERS_ANNOTATION: "envoy" } },
                    "spec": { "containers": [{ "name": "envoy", "image": "envoyproxy/envoy", "ports": envoy_ports() }] } } } }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_binding_to_a_quic_group_made_outside_elbow_registers_each_pod_with_its_server_id() {
    let sandbox = quic_sandbox("e2e-quic-tgb").await;
    let environment = sandbox.environment.clone();
    let client = sandbox.client();
    quic_workload(&client).await;
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    create_from_json(
        &services,
        json!({ "metadata": { "name": "envoy" },
            "spec": { "selector": { "app": "envoy" },
                "ports": [{ "name": "h3", "port": 443, "protocol": "UDP", "targetPort": 8443 }] } }),
    )
    .await;
    // The group as Terraform would make it: QUIC, ip targets, no tags of Elbow's.
    let sdk = elbv2::Client::new(&sdk_config().await);
    let made = sdk
        .create_target_group()
        .name(unique("tf-quic"))
        .protocol(elbv2::types::ProtocolEnum::Quic)
        .port(8443)
        .vpc_id(environment.vpc_id())
        .target_type(elbv2::types::TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap();
    let arn = made.target_groups()[0].target_group_arn().unwrap().to_string();
    let bindings: Api<TargetGroupBinding> = Api::namespaced(client.clone(), NAMESPACE);
    create_from_json(
        &bindings,
        json!({ "apiVersion": "elbow.dev/v1beta1", "kind": "TargetGroupBinding",
            "metadata": { "name": "envoy" },
            "spec": { "targetGroupARN": arn, "serviceRef": { "name": "envoy", "port": 443 } } }),
    )
    .await;

    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let cloud = cloud().await;
    let ids = eventually("each replica registered with its server id", async || {
        let expected = expected_targets(&pods).await?;
        let registered: BTreeMap<String, String> = cloud
            .describe_target_health(&arn)
            .await
            .ok()?
            .into_iter()
            .map(|h| (h.target.id, h.target.quic_server_id.unwrap_or_default()))
            .collect();
        (expected.len() == 2 && registered == expected).then_some(expected)
    })
    .await;
    // The binding records the ids it registered, to deregister exactly those.
    let recorded = eventually("the registered targets in the binding's status", async || {
        let status = bindings.get("envoy").await.ok()?.status?;
        let registered = status.registered_targets?;
        (registered.len() == 2).then_some(registered)
    })
    .await;
    let recorded: BTreeMap<String, String> =
        recorded.into_iter().map(|t| (t.id, t.quic_server_id.unwrap_or_default())).collect();
    assert_eq!(recorded, ids);

    bindings.delete("envoy", &DeleteParams::default()).await.unwrap();
    eventually("the binding gone and its targets deregistered", async || {
        let gone = bindings.get_opt("envoy").await.ok()?.is_none();
        let left = cloud.describe_target_health(&arn).await.ok()?;
        (gone && left.is_empty()).then_some(())
    })
    .await;
    sdk.delete_target_group().target_group_arn(&arn).send().await.unwrap();
    sandbox.stop().await;
}

async fn stray_ip(pods: &Api<Pod>) -> String {
    eventually("the stray pod's address", async || pods.get("stray").await.ok()?.status?.pod_ip).await
}
