//! The playground's default sandbox end to end: the testkit API server with a real
//! `kube::Client`, the real controllers, and the in-memory fake cloud, inspected directly.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_playground::{Aws, Sandbox, SandboxOptions};
use elbow_testkit::eventually;
use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_load_balancer_service_gets_an_nlb_and_loses_it_on_deletion() {
    let sandbox = Sandbox::start(SandboxOptions::new("e2e", Aws::Fake)).await.unwrap();
    let cloud = sandbox.fake().unwrap();
    let services: Api<Service> = Api::namespaced(sandbox.client(), "default");
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "type": "LoadBalancer", "selector": { "app": "web" }, "ports": [{ "port": 80, "targetPort": 8080 }] }
    }))
    .unwrap();
    services.create(&PostParams::default(), &service).await.unwrap();

    let hostname = eventually("a hostname in status", async || {
        let svc = services.get("web").await.ok()?;
        svc.status?.load_balancer?.ingress?.first()?.hostname.clone()
    })
    .await;
    let lbs = cloud.load_balancers();
    assert_eq!(lbs.len(), 1);
    let metrics = sandbox.metrics.encode();
    assert!(
        metrics.lines().any(|l| l.starts_with(r#"elbow_reconciles_total{controller="service",result="success"}"#)),
        "the Service controller's reconciles are counted:\n{metrics}"
    );
    assert_eq!(hostname, lbs[0].dns_name);
    let svc = services.get("web").await.unwrap();
    assert!(svc.finalizers().contains(&"service.elbow.dev/resources".to_string()));
    let condition = svc
        .status
        .unwrap()
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "elbow.dev/LoadBalancerReady")
        .expect("condition");
    assert_eq!(condition.status, "True");
    let node_port = svc.spec.unwrap().ports.unwrap()[0].node_port.unwrap() as u16;
    let tg = &cloud.target_groups()[0];
    assert_eq!(tg.port, node_port);
    let mut targets: Vec<String> = cloud.targets(&tg.arn).into_iter().map(|t| t.id).collect();
    targets.sort();
    let mut instances: Vec<String> = sandbox.environment.nodes.iter().map(|n| n.instance_id.clone()).collect();
    instances.sort();
    assert_eq!(targets, instances);

    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service to be gone", async || services.get_opt("web").await.ok()?.is_none().then_some(())).await;
    assert!(cloud.load_balancers().is_empty(), "the load balancer is deleted before the finalizer is released");
    assert!(cloud.target_groups().is_empty());
    sandbox.stop().await;
}
