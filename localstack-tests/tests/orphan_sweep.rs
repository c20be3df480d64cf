//! The orphan sweep end to end through the real SDK against an AWS-compatible endpoint (moto by
//! default): stacks deployed by the real builder and deployer, owners read from the testkit API
//! server by `elbow gc`'s own code, every check read back from the endpoint. The test's cluster
//! name is its own, so the other tests' resources at the same endpoint are strangers to it too.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use elbow_builder::BuildConfig;
use elbow_builder::service::build_service_stack;
use elbow_cloud::{Cloud, CreateLoadBalancer, LoadBalancerFilter};
use elbow_deploy::sweep::{OrphanAction, SweepMode, SweepSettings};
use elbow_deploy::{DeploySettings, Deployer};
use elbow_localstack_tests::owned::owned;
use elbow_localstack_tests::{Network, cloud, unique};
use elbow_model::tags::ownership_tags;
use elbow_model::{IpAddressType, LoadBalancerType, ResourceId, Scheme, StackId, Tags};
use elbow_testkit::TestServer;
use k8s_openapi::api::core::v1::{Node, Service};
use kube::api::{Api, PostParams};
use serde_json::json;

fn service(name: &str, node_port: i32) -> Service {
    serde_json::from_value(json!({
        "metadata": { "name": name, "namespace": "default", "uid": format!("uid-{name}"),
                      "finalizers": ["service.elbow.dev/resources"] },
        "spec": { "type": "LoadBalancer", "ports": [{ "port": 80, "nodePort": node_port, "protocol": "TCP" }] }
    }))
    .unwrap()
}

fn load_balancer(name: &str, subnets: &[String], tags: Tags) -> CreateLoadBalancer {
    CreateLoadBalancer {
        name: name.into(),
        lb_type: LoadBalancerType::Network,
        scheme: Scheme::Internal,
        ip_address_type: IpAddressType::Ipv4,
        subnets: subnets[..1].to_vec(),
        subnet_addresses: Vec::new(),
        security_groups: vec![],
        tags,
    }
}

async fn load_balancer_names(cloud: &dyn Cloud) -> Vec<String> {
    cloud.describe_load_balancers(LoadBalancerFilter::All).await.unwrap().into_iter().map(|lb| lb.name).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_deletes_a_force_deleted_service_s_stack_and_nothing_else() {
    let net = Network::seed("gc", 2).await;
    let sdk: Arc<dyn Cloud> = Arc::new(cloud().await);
    let deployer = Deployer::new(
        sdk.clone(),
        DeploySettings {
            cluster_name: net.cluster.clone(),
            vpc_id: net.inventory.vpc_id.clone(),
            drift_period: Duration::from_secs(3600),
            integrations: elbow_deploy::Integrations::all(),
        },
    );
    let nodes: Vec<Node> = net.ready_nodes(2);
    let nodes: Vec<&Node> = nodes.iter().collect();
    let config = BuildConfig::new(net.cluster.clone());
    let (gone, kept) = (service(&unique("gone"), 30100), service(&unique("kept"), 30200));
    for svc in [&gone, &kept] {
        let stack =
            build_service_stack(svc, &nodes, &[], &elbow_builder::endpoints::NoPodFacts, &net.inventory, &config)
                .unwrap();
        deployer.deploy(&stack).await.unwrap();
    }
    // Strangers: another cluster's load balancer for the same stack key, and one without tags.
    let gone_key = StackId::new(format!("default/{}", gone.metadata.name.as_deref().unwrap()));
    let other_cluster = ownership_tags(&unique("other"), &gone_key, &ResourceId::new("LoadBalancer"));
    let subnets = net.public_subnets();
    let (theirs, foreign) = (unique("theirs"), unique("hand-made"));
    sdk.create_load_balancer(load_balancer(&theirs, &subnets, other_cluster)).await.unwrap();
    sdk.create_load_balancer(load_balancer(&foreign, &subnets, Tags::new())).await.unwrap();

    // Only `kept` is in the cluster: `gone` was force-deleted (its finalizer removed by hand).
    let server = TestServer::start().await.unwrap();
    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
    services.create(&PostParams::default(), &kept).await.unwrap();

    // Without --delete, and inside the grace period: found, nothing changed.
    let before = owned(sdk.as_ref(), &net.cluster, &net.node_group).await;
    assert_eq!(before.lbs.len(), 2);
    assert_eq!(before.node_rules, [(30100, 30200)], "one range for both NodePorts");
    let report_only = SweepSettings { mode: SweepMode::Report, grace: Duration::ZERO };
    let report = elbow::gc::sweep_once(server.client.clone(), sdk.clone(), &net.cluster, &report_only).await.unwrap();
    assert_eq!(report.orphans.len(), 1, "{report:?}");
    assert_eq!(report.orphans[0].stack, gone_key);
    assert_eq!(report.orphans[0].action, OrphanAction::Reported);
    assert_eq!(report.owned, 1);
    let created = report.orphans[0].resources.newest_load_balancer.expect("the endpoint reports CreatedTime");
    let age = SystemTime::now().duration_since(created).unwrap_or_default();
    assert!(age < Duration::from_secs(600), "a load balancer made moments ago, read back as {created:?}");
    let young = SweepSettings { mode: SweepMode::Delete, grace: Duration::from_secs(3600) };
    let report = elbow::gc::sweep_once(server.client.clone(), sdk.clone(), &net.cluster, &young).await.unwrap();
    assert!(matches!(report.orphans[0].action, OrphanAction::Waiting { .. }), "{report:?}");
    let unchanged = owned(sdk.as_ref(), &net.cluster, &net.node_group).await;
    assert_eq!(unchanged.lbs.len(), 2);
    assert_eq!(unchanged.node_rules, [(30100, 30200)]);

    // --delete --grace 0s: gone's stack goes, with its node rule; kept's and the strangers stay.
    let delete = SweepSettings { mode: SweepMode::Delete, grace: Duration::ZERO };
    let report = elbow::gc::sweep_once(server.client.clone(), sdk.clone(), &net.cluster, &delete).await.unwrap();
    assert!(matches!(report.orphans[0].action, OrphanAction::Deleted { .. }), "{report:?}");
    let after = owned(sdk.as_ref(), &net.cluster, &net.node_group).await;
    let kept_name = before.lbs.iter().map(|lb| lb.name.clone()).find(|n| after.lbs.iter().any(|a| &a.name == n));
    assert_eq!(after.lbs.len(), 1, "{:?}", after.lbs);
    assert!(kept_name.is_some());
    assert_eq!(after.targets.keys().copied().collect::<Vec<_>>(), [30200], "gone's target group is deleted");
    assert_eq!(after.node_rules, [(30200, 30200)], "the range narrows to kept's NodePort");
    let names = load_balancer_names(sdk.as_ref()).await;
    assert!(names.contains(&theirs), "another cluster's load balancer stays");
    assert!(names.contains(&foreign), "an untagged load balancer stays");

    // Nothing left to do.
    let report = elbow::gc::sweep_once(server.client.clone(), sdk.clone(), &net.cluster, &delete).await.unwrap();
    assert!(report.orphans.is_empty(), "{report:?}");
}
