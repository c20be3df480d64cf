//! ip targets end to end against an AWS-compatible endpoint (moto by default) through the real
//! SDK: the testkit API server with a real `kube::Client` and the real controllers. An ip-mode
//! Service gets a target group of type ip holding its ready pods' addresses, follows its
//! EndpointSlices, and switches to instance targets and back with a listener forwarding to a
//! target group with targets each time. Every check reads the endpoint back.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_cloud::{Cloud, LoadBalancerFilter, TargetGroup, TargetGroupFilter};
use elbow_localstack_tests::owned::owned;
use elbow_localstack_tests::{cloud, sandbox_options};
use elbow_model::{Action, TargetType};
use elbow_playground::Sandbox;
use elbow_testkit::eventually;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const IP: &str = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type";

fn endpoint(address: &str, node: &str) -> Value {
    json!({
        "addresses": [address],
        "conditions": { "ready": true, "serving": true, "terminating": false },
        "nodeName": node,
        "targetRef": { "kind": "Pod", "name": format!("web-{}", address.replace('.', "-")), "namespace": "default" },
    })
}

/// The one target group of the cluster whose listener is the load balancer's: its type and its
/// registered (address or instance, port) pairs; `None` until the listener forwards to one.
/// (Read without `owned`, which fails when a target group goes between two of its calls, as the
/// replaced one does during a switch.)
async fn forwarded(cluster: &str) -> Option<(TargetGroup, Vec<(String, u16)>)> {
    let cloud = cloud().await;
    let lbs = cloud.describe_load_balancers(LoadBalancerFilter::All).await.ok()?;
    let tags = cloud.describe_tags(&lbs.iter().map(|lb| lb.arn.clone()).collect::<Vec<_>>()).await.ok()?;
    let ours =
        |arn: &String| tags.get(arn).and_then(|t| t.get("elbow.dev/cluster")).map(String::as_str) == Some(cluster);
    let lb = lbs.iter().find(|lb| ours(&lb.arn))?;
    let listeners = cloud.describe_listeners(&lb.arn).await.ok()?;
    let Action::Forward { target_groups, .. } = listeners.first()?.default_actions.first()? else { return None };
    let arn = &target_groups.first()?.target_group;
    let tg = cloud.describe_target_groups(TargetGroupFilter::Arns(vec![arn.clone()])).await.ok()?.pop()?;
    let mut targets: Vec<(String, u16)> =
        cloud.describe_target_health(arn).await.ok()?.into_iter().map(|h| (h.target.id, h.target.port)).collect();
    targets.sort();
    Some((tg, targets))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ip_mode_service_registers_its_pods_follows_their_slices_and_switches_to_instance_and_back() {
    let options = sandbox_options("e2e-ip").await;
    let sandbox = Sandbox::start(options).await.expect("sandbox");
    let environment = sandbox.environment.clone();
    let (cluster, node_group) = (environment.cluster.clone(), environment.node_group.clone());
    let client = sandbox.client();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let (node1, node2) = (environment.nodes[0].name.clone(), environment.nodes[1].name.clone());
    let [a, b, c] = [environment.pod_address(0, 0), environment.pod_address(1, 0), environment.pod_address(0, 1)];

    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": { "name": "web-1", "labels": { "kubernetes.io/service-name": "web" } },
        "addressType": "IPv4",
        "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }],
        "endpoints": [endpoint(&a, &node1), endpoint(&b, &node2)],
    }))
    .unwrap();
    slices.create(&PostParams::default(), &slice).await.unwrap();
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": "web", "annotations": { IP: "ip" } },
        "spec": { "type": "LoadBalancer", "selector": { "app": "web" },
            "ports": [{ "name": "http", "port": 80, "targetPort": 8080 }] }
    }))
    .unwrap();
    services.create(&PostParams::default(), &service).await.unwrap();

    let mut expected = vec![(a.clone(), 8080), (b.clone(), 8080)];
    expected.sort();
    let (tg, _) = eventually("the pods registered with an ip target group", async || {
        let (tg, targets) = forwarded(&cluster).await?;
        (tg.target_type == TargetType::Ip && targets == expected).then_some((tg, targets))
    })
    .await;
    assert_eq!(tg.port, 8080, "the group is on the target port");
    let cloud = cloud().await;
    let now = owned(&cloud as &dyn Cloud, &cluster, &node_group).await;
    assert_eq!(now.node_rules, [(8080, 8080)], "the node group admits the load balancer on the pods' port");

    // A rolling update replaces pod b with pod c.
    let patch = json!({ "endpoints": [endpoint(&a, &node1), endpoint(&c, &node1)] });
    slices.patch("web-1", &PatchParams::default(), &Patch::Merge(patch)).await.unwrap();
    let mut expected = vec![(a.clone(), 8080), (c.clone(), 8080)];
    expected.sort();
    eventually("b deregistered and c registered", async || {
        let (_, targets) = forwarded(&cluster).await?;
        (targets == expected).then_some(())
    })
    .await;

    // Instance targets: the target group is replaced, the listener moves to the new one.
    services
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "annotations": { IP: "instance" } } })),
        )
        .await
        .unwrap();
    let node_port = services.get("web").await.unwrap().spec.unwrap().ports.unwrap()[0].node_port.unwrap() as u16;
    let mut instances: Vec<(String, u16)> =
        environment.nodes.iter().map(|n| (n.instance_id.clone(), node_port)).collect();
    instances.sort();
    eventually("the listener forwarding to an instance target group of every node", async || {
        let (tg, targets) = forwarded(&cluster).await?;
        (tg.target_type == TargetType::Instance && targets == instances).then_some(())
    })
    .await;
    let groups = cloud.describe_target_groups(TargetGroupFilter::All).await.unwrap();
    assert!(!groups.iter().any(|g| g.arn == tg.arn), "the ip target group was deleted once unused");

    // And back to ip.
    services
        .patch("web", &PatchParams::default(), &Patch::Merge(json!({ "metadata": { "annotations": { IP: "ip" } } })))
        .await
        .unwrap();
    eventually("the listener forwarding to the pods again", async || {
        let (tg, targets) = forwarded(&cluster).await?;
        (tg.target_type == TargetType::Ip && targets == expected).then_some(())
    })
    .await;

    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service gone", async || services.get_opt("web").await.ok()?.is_none().then_some(())).await;
    let now = owned(&cloud as &dyn Cloud, &cluster, &node_group).await;
    assert!(now.is_empty(), "nothing left: {:?} {:?} {:?}", now.lbs, now.listeners, now.node_rules);
    sandbox.stop().await;
}
