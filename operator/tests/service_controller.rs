//! The Service controller end to end: the testkit API server over HTTP with a real
//! `kube::Client`, the in-memory cloud, and the real controllers.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use elbow::runtime::{OperatorSettings, run_controllers};
use elbow_cloud::fake::FakeCloud;
use elbow_cloud::{Instance, SecurityGroup, Subnet};
use elbow_deploy::DeploySettings;
use elbow_model::Tags;
use elbow_model::build::BuildConfig;
use elbow_testkit::TestServer;
use k8s_openapi::api::core::v1::{Node, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::oneshot;

const CLUSTER: &str = "e2e";

fn cloud() -> Arc<FakeCloud> {
    let cloud = FakeCloud::new();
    cloud.seed_vpc("vpc-1");
    for (id, zone) in [("subnet-a", "us-east-1a"), ("subnet-b", "us-east-1b"), ("subnet-c", "us-east-1c")] {
        cloud.seed_subnet(Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: zone.into(),
            cidr_block: "10.0.0.0/24".into(),
            tags: Tags::from([("kubernetes.io/role/elb".to_string(), "1".to_string())]),
        });
    }
    cloud.seed_security_group(SecurityGroup {
        id: "sg-nodes".into(),
        group_name: "nodes".into(),
        description: "nodes".into(),
        vpc_id: "vpc-1".into(),
        tags: Tags::from([(format!("kubernetes.io/cluster/{CLUSTER}"), "owned".to_string())]),
    });
    for id in ["i-1", "i-2"] {
        cloud.seed_instance(Instance {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: "us-east-1a".into(),
            state: "running".into(),
            security_groups: vec!["sg-nodes".into()],
        });
    }
    Arc::new(cloud)
}

async fn add_node(client: &kube::Client, name: &str, instance: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(
        json!({ "metadata": { "name": name }, "spec": { "providerID": format!("aws:///us-east-1a/{instance}") } }),
    )
    .unwrap();
    nodes.create(&PostParams::default(), &node).await.unwrap();
    let ready = json!({ "status": { "conditions": [{ "type": "Ready", "status": "True" }] } });
    nodes.patch_status(name, &PatchParams::default(), &Patch::Merge(ready)).await.unwrap();
}

async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_balancer_service_gets_an_nlb_and_loses_it_on_deletion() {
    elbow::run::init_logging(elbow::run::LogFormat::Text);
    let server = TestServer::start().await.unwrap();
    let cloud = cloud();
    add_node(&server.client, "node-1", "i-1").await;
    add_node(&server.client, "node-2", "i-2").await;
    let settings = OperatorSettings {
        build: BuildConfig::new(CLUSTER),
        deploy: DeploySettings {
            cluster_name: CLUSTER.into(),
            vpc_id: "vpc-1".into(),
            drift_period: Duration::from_secs(600),
        },
        vpc_id: "vpc-1".into(),
        concurrency: 4,
        resync_period: Duration::from_secs(600),
        inventory_ttl: Duration::from_secs(600),
        instance: Some("e2e".into()),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let operator = tokio::spawn(run_controllers(server.client.clone(), cloud.clone(), settings, async {
        let _ = stopped.await;
    }));

    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
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
    assert_eq!(hostname, lbs[0].dns_name);
    let svc = services.get("web").await.unwrap();
    assert!(svc.metadata.finalizers.unwrap_or_default().contains(&"service.elbow.dev/resources".to_string()));
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
    assert_eq!(targets, ["i-1", "i-2"]);

    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service to be gone", async || services.get_opt("web").await.ok()?.is_none().then_some(())).await;
    assert!(cloud.load_balancers().is_empty(), "the load balancer is deleted before the finalizer is released");
    assert!(cloud.target_groups().is_empty());

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), operator).await;
}
