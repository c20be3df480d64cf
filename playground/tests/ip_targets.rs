//! ip targets end to end on the in-memory fake: the testkit API server with a real
//! `kube::Client`, the real controllers and their EndpointSlice watch. Creating, changing and
//! deleting a Service's EndpointSlices registers and deregisters exactly the pods that changed,
//! and nothing else is called.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_cloud::Api as CloudApi;
use elbow_model::TargetType;
use elbow_playground::{Aws, Sandbox, SandboxOptions};
use elbow_testkit::eventually;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// An endpoint of a pod at `address` on `node`.
fn endpoint(address: &str, node: &str, ready: bool) -> Value {
    json!({
        "addresses": [address],
        "conditions": { "ready": ready, "serving": ready, "terminating": false },
        "nodeName": node,
        "targetRef": { "kind": "Pod", "name": format!("web-{}", address.replace('.', "-")), "namespace": "default" },
    })
}

fn slice(name: &str, service: &str, endpoints: Vec<Value>) -> EndpointSlice {
    serde_json::from_value(json!({
        "metadata": { "name": name, "labels": { "kubernetes.io/service-name": service } },
        "addressType": "IPv4",
        "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }],
        "endpoints": endpoints,
    }))
    .unwrap()
}

/// The addresses registered with the only ip target group, sorted.
fn registered(sandbox: &Sandbox) -> Option<Vec<String>> {
    let cloud = sandbox.fake()?;
    let tg = cloud.target_groups().into_iter().find(|tg| tg.target_type == TargetType::Ip)?;
    let mut targets: Vec<String> = cloud.targets(&tg.arn).into_iter().map(|t| format!("{}:{}", t.id, t.port)).collect();
    targets.sort();
    Some(targets)
}

async fn wait_for(sandbox: &Sandbox, what: &str, expected: &[String]) {
    eventually(what, async || (registered(sandbox)? == expected).then_some(())).await;
}

fn on_8080(addresses: &[&String]) -> Vec<String> {
    let mut targets: Vec<String> = addresses.iter().map(|a| format!("{a}:8080")).collect();
    targets.sort();
    targets
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_slice_changes_register_and_deregister_exactly_the_changed_pods() {
    let sandbox = Sandbox::start(SandboxOptions::new("ip-svc", Aws::Fake)).await.unwrap();
    let cloud = sandbox.fake().unwrap();
    let client = sandbox.client();
    let environment = &sandbox.environment;
    let (node1, node2) = (&environment.nodes[0].name, &environment.nodes[1].name);
    let [a, b, c] = [environment.pod_address(0, 0), environment.pod_address(1, 0), environment.pod_address(0, 1)];
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    slices
        .create(
            &PostParams::default(),
            &slice("web-1", "web", vec![endpoint(&a, node1, true), endpoint(&b, node2, true)]),
        )
        .await
        .unwrap();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": "web", "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip" } },
        "spec": { "type": "LoadBalancer", "selector": { "app": "web" },
            "ports": [{ "name": "http", "port": 80, "targetPort": "http" }] }
    }))
    .unwrap();
    services.create(&PostParams::default(), &service).await.unwrap();
    wait_for(&sandbox, "the two ready pods registered", &on_8080(&[&a, &b])).await;
    let tg = cloud.target_groups().into_iter().find(|tg| tg.target_type == TargetType::Ip).unwrap();
    assert_eq!(tg.port, 1, "a named targetPort: the group is on port 1, each pod on its own");
    // The first deploy registers its targets before it opens the node security groups: let it
    // finish (the hostname is written last) before counting calls.
    eventually("the Service's hostname", async || {
        services.get("web").await.ok()?.status?.load_balancer?.ingress?.first()?.hostname.clone()
    })
    .await;

    // A third pod comes up (not ready yet), then becomes ready: only it is registered.
    cloud.counter().reset();
    let three =
        slice("web-1", "web", vec![endpoint(&a, node1, true), endpoint(&b, node2, true), endpoint(&c, node1, false)]);
    slices.replace("web-1", &PostParams::default(), &with_version(&slices, three).await).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(registered(&sandbox).unwrap(), on_8080(&[&a, &b]), "a pod that is not ready is not registered");
    let ready =
        slice("web-1", "web", vec![endpoint(&a, node1, true), endpoint(&b, node2, true), endpoint(&c, node1, true)]);
    slices.replace("web-1", &PostParams::default(), &with_version(&slices, ready).await).await.unwrap();
    wait_for(&sandbox, "the third pod registered", &on_8080(&[&a, &b, &c])).await;
    // (A describe may come too: the controller asks whether the new load balancer is active yet.)
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&CloudApi::RegisterTargets), Some(&1), "{calls:?}");
    assert_eq!(cloud.counter().mutating(), 1, "nothing but the one registration: {calls:?}");

    // One pod goes away (its endpoint leaves the slice): only it is deregistered.
    cloud.counter().reset();
    let two = slice("web-1", "web", vec![endpoint(&a, node1, true), endpoint(&c, node1, true)]);
    slices.replace("web-1", &PostParams::default(), &with_version(&slices, two).await).await.unwrap();
    wait_for(&sandbox, "the gone pod deregistered", &on_8080(&[&a, &c])).await;
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&CloudApi::DeregisterTargets), Some(&1), "{calls:?}");
    assert_eq!(cloud.counter().mutating(), 1, "nothing but the one deregistration: {calls:?}");

    // The slice deleted (the Deployment scaled to zero): every pod deregistered, the load
    // balancer kept.
    slices.delete("web-1", &DeleteParams::default()).await.unwrap();
    wait_for(&sandbox, "no pod left", &[]).await;
    assert_eq!(cloud.load_balancers().len(), 1);
    sandbox.stop().await;
}

/// `object` with the stored resourceVersion, for a replace.
async fn with_version(api: &Api<EndpointSlice>, mut object: EndpointSlice) -> EndpointSlice {
    let name = object.metadata.name.clone().unwrap();
    object.metadata.resource_version = api.get(&name).await.unwrap().metadata.resource_version;
    object
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ip_mode_ingress_registers_its_backends_pods_and_follows_their_slices() {
    let sandbox = Sandbox::start(SandboxOptions::new("ip-ing", Aws::Fake)).await.unwrap();
    let client = sandbox.client();
    let environment = &sandbox.environment;
    let node1 = &environment.nodes[0].name;
    let [a, b] = [environment.pod_address(0, 0), environment.pod_address(0, 1)];
    let class: IngressClass =
        serde_json::from_value(json!({ "metadata": { "name": "elbow" }, "spec": { "controller": "elbow.dev/alb" } }))
            .unwrap();
    Api::<IngressClass>::all(client.clone()).create(&PostParams::default(), &class).await.unwrap();
    // A ClusterIP Service: ip targets need no NodePort.
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "type": "ClusterIP", "selector": { "app": "web" },
            "ports": [{ "name": "http", "port": 80, "targetPort": 8080 }] }
    }))
    .unwrap();
    Api::<Service>::namespaced(client.clone(), "default").create(&PostParams::default(), &service).await.unwrap();
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    slices.create(&PostParams::default(), &slice("web-1", "web", vec![endpoint(&a, node1, true)])).await.unwrap();
    let ingress: Ingress = serde_json::from_value(json!({
        "metadata": { "name": "web", "annotations": { "alb.ingress.kubernetes.io/target-type": "ip" } },
        "spec": { "ingressClassName": "elbow", "rules": [{ "host": "web.example.com", "http": { "paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": { "service": { "name": "web", "port": { "name": "http" } } }
        }] } }] }
    }))
    .unwrap();
    Api::<Ingress>::namespaced(client.clone(), "default").create(&PostParams::default(), &ingress).await.unwrap();
    wait_for(&sandbox, "the pod registered with the ALB's target group", &on_8080(&[&a])).await;

    let patch = json!({ "endpoints": [endpoint(&a, node1, true), endpoint(&b, node1, true)] });
    slices.patch("web-1", &PatchParams::default(), &Patch::Merge(patch)).await.unwrap();
    wait_for(&sandbox, "the second pod registered", &on_8080(&[&a, &b])).await;
    sandbox.stop().await;
}
