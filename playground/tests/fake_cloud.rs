//! The playground's default sandbox end to end: the testkit API server with a real
//! `kube::Client`, the real controllers, and the in-memory fake cloud, inspected directly.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_model::Scheme;
use elbow_playground::{Aws, Prepared, Sandbox, SandboxOptions};
use elbow_testkit::eventually;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_load_balancer_service_gets_an_nlb_and_loses_it_on_deletion() {
    let sandbox = Sandbox::start(SandboxOptions::new("e2e", Aws::Fake)).await.unwrap();
    let cloud = sandbox.fake().unwrap();
    // As on AWS, the new load balancer is not active at once.
    cloud.hold_provisioning(true);
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
    assert_eq!(lbs[0].scheme, Scheme::InternetFacing, "the playground asks for public load balancers");
    let metrics = sandbox.metrics.encode();
    assert!(
        metrics.lines().any(|l| l.starts_with(r#"elbow_reconciles_total{controller="service",result="success"}"#)),
        "the Service controller's reconciles are counted:\n{metrics}"
    );
    assert_eq!(hostname, lbs[0].dns_name);
    // The hostname and the condition come in one status patch.
    let first = services.get("web").await.unwrap();
    let first_condition = first.status.unwrap().conditions.unwrap_or_default();
    let first_condition = first_condition.iter().find(|c| c.type_ == "elbow.dev/LoadBalancerReady").unwrap();
    assert_eq!(
        (first_condition.status.as_str(), first_condition.reason.as_str()),
        ("False", "Provisioning"),
        "not Ready while AWS reports the load balancer provisioning: {first_condition:?}"
    );
    // Once a describe says `active` (the controller looks again every 10 s), the condition turns
    // True.
    cloud.hold_provisioning(false);
    let svc = eventually("the Ready condition to turn True", async || {
        let svc = services.get("web").await.ok()?;
        let conditions = svc.status.as_ref()?.conditions.as_ref()?;
        let condition = conditions.iter().find(|c| c.type_ == "elbow.dev/LoadBalancerReady")?;
        (condition.status == "True" && condition.reason == "Provisioned").then_some(svc.clone())
    })
    .await;
    assert!(svc.finalizers().contains(&"service.elbow.dev/resources".to_string()));
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

#[tokio::test(flavor = "multi_thread")]
async fn ingresses_of_one_group_that_arrive_together_cost_one_deploy() {
    // The operator starts once the group's three members exist, so all three are in its cache
    // and all three are queued at once, as after a `kubectl apply` of a whole directory.
    let prepared = Prepared::fake("e2e-group", 3).await.unwrap();
    let client = prepared.server.client.clone();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "default");
    let class: IngressClass =
        serde_json::from_value(json!({ "metadata": { "name": "elbow" }, "spec": { "controller": "elbow.dev/alb" } }))
            .unwrap();
    Api::<IngressClass>::all(client.clone()).create(&PostParams::default(), &class).await.unwrap();
    let names = ["web", "api", "shop"];
    for name in names {
        let service: Service = serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": { "type": "NodePort", "selector": { "app": name }, "ports": [{ "port": 80 }] }
        }))
        .unwrap();
        services.create(&PostParams::default(), &service).await.unwrap();
        let ingress: Ingress = serde_json::from_value(json!({
            "metadata": { "name": name, "annotations": { "alb.ingress.kubernetes.io/group.name": "store" } },
            "spec": { "ingressClassName": "elbow", "rules": [{ "host": format!("{name}.example.com"), "http": { "paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": { "service": { "name": name, "port": { "number": 80 } } }
            }] } }] }
        }))
        .unwrap();
        ingresses.create(&PostParams::default(), &ingress).await.unwrap();
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = prepared.operator_settings(elbow::metrics::Metrics::new());
    let operator = tokio::spawn(elbow::runtime::run_controllers(
        prepared.operator_client().unwrap(),
        prepared.cloud.clone(),
        settings,
        async {
            let _ = stopped.await;
        },
    ));

    for name in names {
        eventually("every member's hostname", async || {
            ingresses.get(name).await.ok()?.status?.load_balancer?.ingress?.first()?.hostname.clone()
        })
        .await;
    }
    // Whichever reconcile takes the group's lock first adopts the other two members and deploys
    // the whole group; the others find nothing to change. Each deploy that changes something
    // gives every member of the group one SuccessfullyReconciled event, published before any
    // member's status is written: one deploy is one such event per member.
    let events: Api<Event> = Api::namespaced(client, "default");
    let mut deploys_seen_by: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for event in events.list(&Default::default()).await.unwrap().items {
        if event.reason.as_deref() == Some("SuccessfullyReconciled") {
            let member = event.regarding.and_then(|r| r.name).unwrap_or_default();
            deploys_seen_by.entry(member).or_default().push(event.note.unwrap_or_default());
        }
    }
    let mut members: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    members.sort();
    assert_eq!(deploys_seen_by.keys().cloned().collect::<Vec<_>>(), members, "every member hears of the deploy");
    assert!(deploys_seen_by.values().all(|notes| notes.len() == 1), "one deploy for the group: {deploys_seen_by:?}");
    assert_eq!(prepared.cloud.load_balancers().len(), 1);
    assert_eq!(prepared.cloud.counter().count(elbow_cloud::Api::ModifyRule), 0, "no rule moved");
    let _ = stop.send(());
    operator.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_whose_service_is_missing_answers_503_and_its_ingress_hears_why() {
    let prepared = Prepared::fake("e2e-ghost", 2).await.unwrap();
    let client = prepared.server.client.clone();
    let class: IngressClass =
        serde_json::from_value(json!({ "metadata": { "name": "elbow" }, "spec": { "controller": "elbow.dev/alb" } }))
            .unwrap();
    Api::<IngressClass>::all(client.clone()).create(&PostParams::default(), &class).await.unwrap();
    let ingress: Ingress = serde_json::from_value(json!({
        "metadata": { "name": "shop" },
        "spec": { "ingressClassName": "elbow", "rules": [{ "host": "shop.example.com", "http": { "paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": { "service": { "name": "ghost", "port": { "number": 80 } } }
        }] } }] }
    }))
    .unwrap();
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "default");
    ingresses.create(&PostParams::default(), &ingress).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = prepared.operator_settings(elbow::metrics::Metrics::new());
    let operator = tokio::spawn(elbow::runtime::run_controllers(
        prepared.operator_client().unwrap(),
        prepared.cloud.clone(),
        settings,
        async {
            let _ = stopped.await;
        },
    ));

    let events: Api<Event> = Api::namespaced(client, "default");
    let note = eventually("a Warning naming the missing Service", async || {
        let listed = events.list(&Default::default()).await.ok()?;
        listed
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("BackendServiceNotFound"))
            .and_then(|e| (e.regarding?.name? == "shop").then_some(e.note?))
    })
    .await;
    assert!(note.contains("Service ghost does not exist") && note.contains("503"), "{note}");
    // The group is still served: the rule answers 503 instead of failing the load balancer.
    assert_eq!(prepared.cloud.load_balancers().len(), 1);
    let listener = &prepared.cloud.listeners()[0];
    let rules = prepared.cloud.rules(&listener.arn);
    assert!(rules.iter().any(|r| format!("{:?}", r.actions).contains("503")), "the rule answers 503: {rules:?}");
    let _ = stop.send(());
    operator.await.unwrap();
}
