//! The Service controller end to end against an AWS-compatible endpoint: the testkit API server
//! with a real `kube::Client`, the real controllers, and moto (or `AWS_ENDPOINT_URL`) through the
//! real SDK, each test in its own sandbox and cluster name. Every check reads the endpoint back, so
//! these tests see what a user would see in the AWS console.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_cloud::Cloud;
use elbow_localstack_tests::owned::{Owned, owned};
use elbow_localstack_tests::{cloud, sandbox_options, unique};
use elbow_playground::{Sandbox, endpoint, nodes};
use elbow_testkit::eventually;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const FINALIZER: &str = "service.elbow.dev/resources";
const READY: &str = "elbow.dev/LoadBalancerReady";

struct Fixture {
    sandbox: Sandbox,
    services: Api<Service>,
}

impl Fixture {
    async fn start(prefix: &str) -> Fixture {
        let options = sandbox_options(prefix).await;
        let sandbox = Sandbox::start(options).await.expect("sandbox");
        let services = Api::namespaced(sandbox.client(), "default");
        Fixture { sandbox, services }
    }

    async fn owned(&self) -> Owned {
        let cloud = cloud().await;
        let environment = &self.sandbox.environment;
        owned(&cloud as &dyn Cloud, &environment.cluster, &environment.node_group).await
    }

    async fn create(&self, name: &str, spec: Value, annotations: Value) {
        let service: Service =
            serde_json::from_value(json!({ "metadata": { "name": name, "annotations": annotations }, "spec": spec }))
                .unwrap();
        self.services.create(&PostParams::default(), &service).await.unwrap();
    }

    async fn hostname(&self, name: &str) -> String {
        eventually("a hostname in the Service's status", async || hostname(&self.services.get(name).await.ok()?)).await
    }

    async fn patch(&self, name: &str, patch: Value) {
        self.services.patch(name, &PatchParams::default(), &Patch::Merge(patch)).await.unwrap();
    }

    async fn instance_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.sandbox.environment.nodes.iter().map(|n| n.instance_id.clone()).collect();
        ids.sort();
        ids
    }

    /// The events Elbow published about the Service, as (type, reason, note).
    async fn events(&self, name: &str) -> Vec<(String, String, String)> {
        let events: Api<Event> = Api::namespaced(self.sandbox.client(), "default");
        let list = events.list(&ListParams::default()).await.unwrap();
        list.items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .map(|e| (e.type_.unwrap_or_default(), e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
            .collect()
    }
}

fn hostname(service: &Service) -> Option<String> {
    service.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?.first()?.hostname.clone()
}

/// The ready condition's (status, reason).
fn ready(service: &Service) -> Option<(String, String)> {
    let conditions = service.status.as_ref()?.conditions.as_ref()?;
    let condition = conditions.iter().find(|c| c.type_ == READY)?;
    Some((condition.status.clone(), condition.reason.clone()))
}

fn web(ports: &[i32]) -> Value {
    let ports: Vec<Value> =
        ports.iter().map(|p| json!({ "name": format!("p{p}"), "port": p, "targetPort": 8080 })).collect();
    json!({ "type": "LoadBalancer", "selector": { "app": "web" }, "ports": ports })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_gets_an_nlb_that_follows_its_ports_and_nodes_and_goes_with_it() {
    let fx = Fixture::start("e2e-life").await;
    fx.create("web", web(&[80]), json!({})).await;
    let hostname = fx.hostname("web").await;

    // A new load balancer is `provisioning` in moto's create answer: the hostname comes first,
    // the Ready condition once a describe says `active`.
    let service = eventually("the Ready condition to turn True", async || {
        let service = fx.services.get("web").await.ok()?;
        (ready(&service) == Some(("True".into(), "Provisioned".into()))).then_some(service)
    })
    .await;
    assert!(service.finalizers().contains(&FINALIZER.to_string()));
    let now = fx.owned().await;
    assert_eq!(now.lbs.len(), 1);
    assert_eq!(now.lbs[0].dns_name, hostname, "the status shows the load balancer's DNS name");
    let node_port = service.spec.unwrap().ports.unwrap()[0].node_port.unwrap() as u16;
    assert_eq!(now.targets.keys().copied().collect::<Vec<_>>(), [node_port], "one target group, on the NodePort");
    assert_eq!(now.targets[&node_port].1, fx.instance_ids().await, "every node registered");
    assert_eq!(now.node_rules, [(node_port, node_port)], "the NodePort is open on the node group");

    // A second port: a second listener and target group on the same load balancer.
    fx.patch("web", json!({ "spec": web(&[80, 443]) })).await;
    let now = eventually("a second listener", async || {
        let now = fx.owned().await;
        (now.listeners.len() == 2 && now.targets.len() == 2).then_some(now)
    })
    .await;
    assert_eq!(now.lbs.len(), 1);
    assert_eq!(now.lbs[0].dns_name, hostname, "adding a port keeps the load balancer");
    let mut ports: Vec<u16> = now.listeners.iter().map(|(_, port)| *port).collect();
    ports.sort();
    assert_eq!(ports, [80, 443]);

    // A node joins: its instance is registered in every target group.
    let mut environment = fx.sandbox.environment.clone();
    let joined = endpoint::add_instance(fx.sandbox.sdk.as_ref().unwrap(), &mut environment).await.unwrap();
    nodes::register(&fx.sandbox.client(), &joined).await.unwrap();
    eventually("the new node in every target group", async || {
        let now = fx.owned().await;
        now.targets.values().all(|(_, ids)| ids.contains(&joined.instance_id)).then_some(())
    })
    .await;

    // A node leaves: its instance is deregistered everywhere, the others stay.
    let left = &fx.sandbox.environment.nodes[0];
    nodes::remove(&fx.sandbox.client(), &left.name).await.unwrap();
    let now = eventually("the removed node out of every target group", async || {
        let now = fx.owned().await;
        now.targets.values().all(|(_, ids)| !ids.contains(&left.instance_id)).then_some(now)
    })
    .await;
    for (_, ids) in now.targets.values() {
        assert_eq!(ids.len(), 3, "two original nodes and the new one: {ids:?}");
    }

    fx.services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service to be gone", async || fx.services.get_opt("web").await.ok()?.is_none().then_some(())).await;
    let now = fx.owned().await;
    assert!(now.is_empty(), "nothing left: {:?} {:?} {:?}", now.lbs, now.listeners, now.node_rules);
    let events = fx.events("web").await;
    let reasons: Vec<&str> = events.iter().map(|(_, reason, _)| reason.as_str()).collect();
    for expected in ["EnsuringLoadBalancer", "EnsuredLoadBalancer", "UpdatedLoadBalancer", "DeletedLoadBalancer"] {
        assert!(reasons.contains(&expected), "{expected} missing from {reasons:?}");
    }
    // The events say what changed, by kind, not only that something did.
    let notes = |reason: &str| -> Vec<&str> {
        events.iter().filter(|(_, r, _)| r == reason).map(|(_, _, note)| note.as_str()).collect()
    };
    let ensured = notes("EnsuredLoadBalancer");
    assert!(
        ensured.iter().any(|n| n.starts_with("created 1 load balancer, 1 listener, 1 target group")
            && n.contains("registered 3 targets")),
        "{ensured:?}"
    );
    let updated = notes("UpdatedLoadBalancer");
    assert!(
        updated.iter().any(|n| n.starts_with("created 1 listener, 1 target group")),
        "the second port: {updated:?}"
    );
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_that_stops_being_a_load_balancer_loses_its_nlb_and_finalizer() {
    let fx = Fixture::start("e2e-type").await;
    fx.create("web", web(&[80]), json!({})).await;
    fx.hostname("web").await;

    fx.patch("web", json!({ "spec": { "type": "ClusterIP" } })).await;
    let service = eventually("the finalizer to be released", async || {
        let service = fx.services.get("web").await.ok()?;
        (!service.finalizers().contains(&FINALIZER.to_string())).then_some(service)
    })
    .await;
    assert!(fx.owned().await.is_empty(), "the load balancer is deleted before the finalizer is released");
    assert_eq!(hostname(&service), None, "the hostname is cleared");
    assert_eq!(ready(&service), None, "Elbow's condition is removed");
    assert!(service.metadata.deletion_timestamp.is_none(), "the Service itself stays");
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_of_another_class_is_never_touched() {
    let fx = Fixture::start("e2e-class").await;
    let mut foreign = web(&[80]);
    foreign["loadBalancerClass"] = json!("example.com/other-controller");
    fx.create("theirs", foreign, json!({})).await;
    fx.create("ours", web(&[80]), json!({})).await;
    // Ours is done, so the controller has seen both.
    fx.hostname("ours").await;

    let theirs = fx.services.get("theirs").await.unwrap();
    assert!(theirs.finalizers().is_empty(), "no finalizer on a foreign Service");
    assert_eq!(hostname(&theirs), None);
    assert_eq!(ready(&theirs), None);
    assert!(fx.events("theirs").await.is_empty(), "no events about a foreign Service");
    assert_eq!(fx.owned().await.lbs.len(), 1, "only our Service's load balancer exists");
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_annotation_is_reported_and_the_existing_nlb_stays_as_it_was() {
    let fx = Fixture::start("e2e-bad").await;
    fx.create("web", web(&[80]), json!({})).await;
    let hostname_before = fx.hostname("web").await;
    let before = fx.owned().await;

    fx.patch(
        "web",
        json!({ "metadata": { "annotations": {
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval": "often"
    } } }),
    )
    .await;
    let service = eventually("the ready condition to turn False", async || {
        let service = fx.services.get("web").await.ok()?;
        (ready(&service)?.0 == "False").then_some(service)
    })
    .await;
    assert_eq!(ready(&service), Some(("False".into(), "InvalidConfiguration".into())));
    let warnings: Vec<_> = fx.events("web").await.into_iter().filter(|(type_, _, _)| type_ == "Warning").collect();
    assert!(
        warnings
            .iter()
            .any(|(_, reason, note)| reason == "SyncLoadBalancerFailed" && note.contains("healthcheck-interval")),
        "a Warning naming the annotation: {warnings:?}"
    );
    assert_eq!(hostname(&service), Some(hostname_before), "the hostname stays");
    let after = fx.owned().await;
    assert_eq!(after.lbs, before.lbs, "the load balancer is unchanged");
    assert_eq!(after.listeners, before.listeners);
    assert_eq!(
        after
            .targets
            .values()
            .map(|(tg, ids)| (tg.arn.clone(), tg.health_check.clone(), ids.clone()))
            .collect::<Vec<_>>(),
        before
            .targets
            .values()
            .map(|(tg, ids)| (tg.arn.clone(), tg.health_check.clone(), ids.clone()))
            .collect::<Vec<_>>(),
        "target groups and their health checks are unchanged"
    );
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn security_groups_given_by_name_are_found_by_their_name_tag_in_the_vpc() {
    let fx = Fixture::start("e2e-sgname").await;
    let cloud = cloud().await;
    let vpc = fx.sandbox.environment.inventory.vpc_id.clone();
    let name = unique("clients");
    let name_tag = [("Name".to_string(), name.clone())].into_iter().collect();
    let group = cloud.create_security_group(&unique("sg"), "clients", &vpc, &name_tag).await.expect("group");
    const GROUPS: &str = "service.beta.kubernetes.io/aws-load-balancer-security-groups";

    fx.create("web", web(&[80]), json!({ GROUPS: name })).await;
    fx.hostname("web").await;
    let lb = eventually("the load balancer", async || fx.owned().await.lbs.into_iter().next()).await;
    assert_eq!(
        lb.security_groups,
        std::slice::from_ref(&group),
        "the group of that Name, and no managed frontend group"
    );

    fx.create("typo", web(&[81]), json!({ GROUPS: format!("{name}-typo") })).await;
    let service = eventually("the ready condition to turn False", async || {
        let service = fx.services.get("typo").await.ok()?;
        (ready(&service)?.0 == "False").then_some(service)
    })
    .await;
    assert_eq!(ready(&service).map(|r| r.1), Some("InvalidConfiguration".into()));
    let warnings: Vec<_> = fx.events("typo").await.into_iter().filter(|(type_, _, _)| type_ == "Warning").collect();
    assert!(
        warnings.iter().any(|(_, _, note)| note.contains(&format!("\"{name}-typo\"")) && note.contains("not found")),
        "a Warning naming the unknown group: {warnings:?}"
    );
    assert!(hostname(&service).is_none(), "nothing was built for it");

    fx.services.delete("web", &DeleteParams::default()).await.unwrap();
    fx.services.delete("typo", &DeleteParams::default()).await.unwrap();
    eventually("the load balancer to go", async || fx.owned().await.lbs.is_empty().then_some(())).await;
    cloud.delete_security_group(&group).await.expect("the test's group deleted");
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_without_nlb_security_groups_has_its_nodes_admit_addresses_and_cannot_switch() {
    let fx = Fixture::start("e2e-nosg").await;
    const DISABLE: &str = "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg";
    let annotations = json!({
        DISABLE: "true",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    });
    fx.create("web", web(&[80]), annotations).await;
    let hostname_before = fx.hostname("web").await;
    let now = eventually("the load balancer and its node rule", async || {
        let now = fx.owned().await;
        (now.lbs.len() == 1 && !now.node_rules.is_empty()).then_some(now)
    })
    .await;
    assert!(now.lbs[0].security_groups.is_empty(), "created without security groups: {:?}", now.lbs[0]);
    assert!(now.groups.is_empty(), "neither a frontend group nor the backend group: {:?}", now.groups);
    let service = fx.services.get("web").await.unwrap();
    let node_port = service.spec.unwrap().ports.unwrap()[0].node_port.unwrap() as u16;
    assert_eq!(now.node_rules, [(node_port, node_port)]);
    let cloud = cloud().await;
    let rules = cloud
        .describe_security_group_rules(elbow_cloud::SecurityGroupRuleFilter::Group(
            fx.sandbox.environment.node_group.clone(),
        ))
        .await
        .unwrap();
    let sources: Vec<_> =
        rules.iter().filter(|r| r.rule.from_port == node_port).map(|r| r.rule.source.clone()).collect();
    assert_eq!(
        sources,
        [elbow_model::RuleSource::CidrIpv4("0.0.0.0/0".into())],
        "instance targets keep the client's address: the world may reach the NodePort of an internet-facing NLB"
    );

    // Switching security groups on is refused, as AWS refuses it; the load balancer stays.
    fx.patch("web", json!({ "metadata": { "annotations": { DISABLE: "false" } } })).await;
    let service = eventually("the ready condition to turn False", async || {
        let service = fx.services.get("web").await.ok()?;
        (ready(&service)?.0 == "False").then_some(service)
    })
    .await;
    let warnings: Vec<_> = fx.events("web").await.into_iter().filter(|(type_, _, _)| type_ == "Warning").collect();
    assert!(
        warnings.iter().any(|(_, _, note)| note.contains("created without security groups") && note.contains(DISABLE)),
        "{warnings:?}"
    );
    assert_eq!(hostname(&service), Some(hostname_before));
    let after = fx.owned().await;
    assert_eq!(after.lbs.len(), 1);
    assert!(after.lbs[0].security_groups.is_empty(), "still none");

    fx.services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service to be gone", async || fx.services.get_opt("web").await.ok()?.is_none().then_some(())).await;
    let now = fx.owned().await;
    assert!(now.is_empty(), "nothing left: {:?} {:?} {:?}", now.lbs, now.listeners, now.node_rules);
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_minimum_capacity_is_reserved_and_reset_when_the_annotation_goes() {
    let fx = Fixture::start("e2e-capacity").await;
    const CAPACITY: &str = "service.beta.kubernetes.io/aws-load-balancer-minimum-load-balancer-capacity";
    fx.create("web", web(&[80]), json!({ CAPACITY: "CapacityUnits=1500" })).await;
    fx.hostname("web").await;
    let cloud = cloud().await;
    let arn = eventually("the load balancer", async || fx.owned().await.lbs.into_iter().next()).await.arn;
    let reserved =
        eventually("the reservation", async || cloud.describe_capacity_reservation(&arn).await.ok().flatten()).await;
    assert_eq!(reserved, 1500);

    fx.patch("web", json!({ "metadata": { "annotations": { CAPACITY: "CapacityUnits=3000" } } })).await;
    eventually("the new reservation", async || {
        (cloud.describe_capacity_reservation(&arn).await.ok().flatten() == Some(3000)).then_some(())
    })
    .await;

    fx.patch("web", json!({ "metadata": { "annotations": { CAPACITY: null } } })).await;
    eventually("the reservation reset", async || {
        cloud.describe_capacity_reservation(&arn).await.ok()?.is_none().then_some(())
    })
    .await;
    let lb = fx.owned().await.lbs.remove(0);
    assert_eq!(lb.arn, arn, "the same load balancer throughout");

    fx.services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service to be gone", async || fx.services.get_opt("web").await.ok()?.is_none().then_some(())).await;
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_and_udp_on_one_port_share_a_listener_unless_the_annotation_says_false() {
    let fx = Fixture::start("e2e-tcpudp").await;
    let dns = json!({ "type": "LoadBalancer", "selector": { "app": "dns" }, "ports": [
        { "name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 5353 },
        { "name": "dns-udp", "port": 53, "protocol": "UDP", "targetPort": 5353 },
    ] });
    fx.create("merged", dns.clone(), json!({})).await;
    fx.hostname("merged").await;
    let cloud = cloud().await;
    let lb = eventually("the load balancer", async || fx.owned().await.lbs.into_iter().next()).await;
    let listeners = cloud.describe_listeners(&lb.arn).await.unwrap();
    let protocols: Vec<_> = listeners.iter().map(|l| (l.port, l.protocol)).collect();
    assert_eq!(protocols, [(53, elbow_model::Protocol::TcpUdp)], "one TCP_UDP listener for both ports");

    const SWITCH: &str = "service.beta.kubernetes.io/aws-load-balancer-enable-tcp-udp-listener";
    fx.create("split", dns, json!({ SWITCH: "false" })).await;
    let service = eventually("the ready condition to turn False", async || {
        let service = fx.services.get("split").await.ok()?;
        (ready(&service)?.0 == "False").then_some(service)
    })
    .await;
    assert_eq!(ready(&service).map(|r| r.1), Some("InvalidConfiguration".into()));
    let warnings: Vec<_> = fx.events("split").await.into_iter().filter(|(type_, _, _)| type_ == "Warning").collect();
    assert!(
        warnings.iter().any(|(_, _, note)| note.contains("53/TCP and 53/UDP") && note.contains(SWITCH)),
        "{warnings:?}"
    );
    assert_eq!(fx.owned().await.lbs.len(), 1, "nothing was built for the refused Service");

    for name in ["merged", "split"] {
        fx.services.delete(name, &DeleteParams::default()).await.unwrap();
    }
    eventually("the load balancer to go", async || fx.owned().await.lbs.is_empty().then_some(())).await;
    fx.sandbox.stop().await;
}
