//! The Ingress controller end to end against an AWS-compatible endpoint: the testkit API server,
//! the real controllers, and moto (or `AWS_ENDPOINT_URL`) through the real SDK. Every check reads
//! the endpoint back.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_builder::crd::IngressClassParams;
use elbow_cloud::Cloud;
use elbow_cloud::SecurityGroupRuleFilter;
use elbow_localstack_tests::owned::{Owned, owned};
use elbow_localstack_tests::{cloud, sandbox_options, unique};
use elbow_model::{Action, LoadBalancerType, RuleCondition, RuleSource};
use elbow_playground::Sandbox;
use elbow_testkit::eventually;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

struct Fixture {
    sandbox: Sandbox,
    ingresses: Api<Ingress>,
}

impl Fixture {
    async fn start(prefix: &str) -> Fixture {
        let options = sandbox_options(prefix).await;
        let sandbox = Sandbox::start(options).await.expect("sandbox");
        let ingresses = Api::namespaced(sandbox.client(), "default");
        let fx = Fixture { sandbox, ingresses };
        for name in ["web", "api"] {
            fx.service(name).await;
        }
        fx
    }

    async fn service(&self, name: &str) {
        let services: Api<Service> = Api::namespaced(self.sandbox.client(), "default");
        let service: Service = serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": { "type": "NodePort", "selector": { "app": name }, "ports": [{ "port": 80, "targetPort": 8080 }] }
        }))
        .unwrap();
        services.create(&PostParams::default(), &service).await.unwrap();
    }

    async fn class(&self, name: &str, controller: &str, default: bool) {
        let classes: Api<IngressClass> = Api::all(self.sandbox.client());
        let annotations =
            if default { json!({ "ingressclass.kubernetes.io/is-default-class": "true" }) } else { json!({}) };
        let class: IngressClass = serde_json::from_value(json!({
            "metadata": { "name": name, "annotations": annotations },
            "spec": { "controller": controller }
        }))
        .unwrap();
        classes.create(&PostParams::default(), &class).await.unwrap();
    }

    async fn ingress(&self, name: &str, class: Option<&str>, annotations: Value, host: &str, service: &str) {
        let mut spec = json!({ "rules": [{ "host": host, "http": { "paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": { "service": { "name": service, "port": { "number": 80 } } }
        }] } }] });
        if let Some(class) = class {
            spec["ingressClassName"] = json!(class);
        }
        let ingress: Ingress =
            serde_json::from_value(json!({ "metadata": { "name": name, "annotations": annotations }, "spec": spec }))
                .unwrap();
        self.ingresses.create(&PostParams::default(), &ingress).await.unwrap();
    }

    async fn hostname(&self, name: &str) -> String {
        eventually("a hostname in the Ingress's status", async || hostname(&self.ingresses.get(name).await.ok()?)).await
    }

    async fn owned(&self) -> Owned {
        let cloud = cloud().await;
        let environment = &self.sandbox.environment;
        owned(&cloud as &dyn Cloud, &environment.cluster, &environment.node_group).await
    }

    /// The host-header values of every rule of every listener of the (one) ALB.
    async fn hosts(&self) -> Vec<String> {
        let cloud = cloud().await;
        let mut hosts = Vec::new();
        for lb in self.owned().await.lbs {
            for listener in cloud.describe_listeners(&lb.arn).await.unwrap() {
                for rule in cloud.describe_rules(&listener.arn).await.unwrap() {
                    for condition in rule.conditions {
                        if let RuleCondition::HostHeader(values) = condition {
                            hosts.extend(values);
                        }
                    }
                }
            }
        }
        hosts.sort();
        hosts
    }

    async fn gone(&self, name: &str) {
        self.ingresses.delete(name, &DeleteParams::default()).await.unwrap();
        eventually("the Ingress to be gone", async || self.ingresses.get_opt(name).await.ok()?.is_none().then_some(()))
            .await;
    }
}

fn hostname(ingress: &Ingress) -> Option<String> {
    ingress.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?.first()?.hostname.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ingress_of_our_class_gets_an_alb_with_its_rules_and_another_class_gets_nothing() {
    let fx = Fixture::start("ing-one").await;
    fx.class("elbow", "elbow.dev/alb", false).await;
    fx.class("other", "example.com/other", false).await;
    fx.ingress("theirs", Some("other"), json!({}), "theirs.example.com", "api").await;
    fx.ingress("web", Some("elbow"), json!({}), "web.example.com", "web").await;
    let address = fx.hostname("web").await;

    let now = fx.owned().await;
    assert_eq!(now.lbs.len(), 1, "one ALB");
    assert_eq!(now.lbs[0].lb_type, LoadBalancerType::Application);
    assert_eq!(now.lbs[0].dns_name, address);
    assert_eq!(now.listeners.iter().map(|(_, port)| *port).collect::<Vec<_>>(), [80]);
    assert_eq!(fx.hosts().await, ["web.example.com"]);
    assert_eq!(now.targets.len(), 1, "one target group, for web:80");
    let web = fx.ingresses.get("web").await.unwrap();
    assert_eq!(web.finalizers(), ["ingress.elbow.dev/resources"]);

    let theirs = fx.ingresses.get("theirs").await.unwrap();
    assert!(theirs.finalizers().is_empty(), "no finalizer on another controller's Ingress");
    assert_eq!(hostname(&theirs), None);

    fx.gone("web").await;
    assert!(fx.owned().await.is_empty(), "nothing left in AWS");
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_ingresses_in_one_group_share_an_alb_until_the_last_goes() {
    let fx = Fixture::start("ing-group").await;
    fx.class("elbow", "elbow.dev/alb", false).await;
    let group = json!({ "alb.ingress.kubernetes.io/group.name": "shop" });
    fx.ingress("web", Some("elbow"), group.clone(), "web.example.com", "web").await;
    fx.ingress("api", Some("elbow"), group, "api.example.com", "api").await;
    let (web, api) = (fx.hostname("web").await, fx.hostname("api").await);
    assert_eq!(web, api, "one ALB for the group");
    let hosts = eventually("both members' rules", async || {
        let hosts = fx.hosts().await;
        (hosts.len() == 2).then_some(hosts)
    })
    .await;
    assert_eq!(hosts, ["api.example.com", "web.example.com"]);
    assert_eq!(fx.owned().await.lbs.len(), 1);

    fx.gone("web").await;
    assert_eq!(fx.hosts().await, ["api.example.com"], "the other member's rules stay");
    let now = fx.owned().await;
    assert_eq!((now.lbs.len(), now.targets.len()), (1, 1), "web's target group went with it");
    assert_eq!(now.lbs[0].dns_name, api, "the same ALB");

    fx.gone("api").await;
    assert!(fx.owned().await.is_empty(), "the last member takes the ALB with it");
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_class_less_ingress_is_served_only_when_our_class_is_the_default() {
    let fx = Fixture::start("ing-default").await;
    fx.class("elbow", "elbow.dev/alb", false).await;
    // No default class yet: the Ingress stays class-less and nobody's.
    fx.ingress("orphan", None, json!({}), "orphan.example.com", "web").await;
    fx.ingress("marker", Some("elbow"), json!({}), "marker.example.com", "api").await;
    fx.hostname("marker").await;
    let orphan = fx.ingresses.get("orphan").await.unwrap();
    assert!(orphan.finalizers().is_empty() && hostname(&orphan).is_none(), "not ours while no class is the default");

    // Our class becomes the default: the class-less Ingress is now ours.
    let classes: Api<IngressClass> = Api::all(fx.sandbox.client());
    let annotate = json!({ "metadata": { "annotations": { "ingressclass.kubernetes.io/is-default-class": "true" } } });
    classes.patch("elbow", &PatchParams::default(), &Patch::Merge(annotate)).await.unwrap();
    fx.hostname("orphan").await;
    assert_eq!(fx.ingresses.get("orphan").await.unwrap().finalizers(), ["ingress.elbow.dev/resources"]);

    // Another controller's class becomes the default instead: the class-less Ingress leaves.
    fx.class("other", "example.com/other", true).await;
    let unmark = json!({ "metadata": { "annotations": { "ingressclass.kubernetes.io/is-default-class": null } } });
    classes.patch("elbow", &PatchParams::default(), &Patch::Merge(unmark)).await.unwrap();
    eventually("the class-less Ingress to be released", async || {
        let orphan = fx.ingresses.get("orphan").await.ok()?;
        (orphan.finalizers().is_empty() && hostname(&orphan).is_none()).then_some(())
    })
    .await;
    assert_eq!(fx.hosts().await, ["marker.example.com"], "only the marker's rules remain");
    fx.sandbox.stop().await;
}

/// What a platform team sets once on the class: the ALB's name, the HTTP-to-HTTPS redirect, a
/// listener attribute and the prefix lists admitted. Each wins over the Ingress's own annotation.
#[tokio::test(flavor = "multi_thread")]
async fn an_ingress_class_params_names_the_alb_redirects_to_https_and_sets_listener_attributes_and_prefix_lists() {
    let fx = Fixture::start("ing-params").await;
    let prefix_list = elbow_localstack_tests::objects::prefix_list(&unique("office"), "203.0.113.0/24").await;
    let certificate = elbow_localstack_tests::acm::certificate("params.example.com").await;
    // ELBv2 names are unique per account and region: the cluster's unique name keeps tests apart.
    let name = unique("params").chars().rev().take(32).collect::<String>().chars().rev().collect::<String>();
    let name = name.trim_start_matches('-').to_string();
    let header = "routing.http.response.server.enabled";
    let params = json!({
        "apiVersion": "elbow.dev/v1beta1", "kind": "IngressClassParams",
        "metadata": { "name": "platform" },
        "spec": {
            "loadBalancerName": name,
            "sslRedirectPort": "443",
            "certificateArn": [certificate],
            "listeners": [{ "protocol": "HTTPS", "port": 443, "listenerAttributes": [{ "key": header, "value": "false" }] }],
            "prefixListsIDs": [prefix_list],
        }
    });
    let client = fx.sandbox.client();
    let all_params: Api<IngressClassParams> = Api::all(client.clone());
    elbow_testkit::create_from_json(&all_params, params).await;
    let classes: Api<IngressClass> = Api::all(client.clone());
    let class: IngressClass = serde_json::from_value(json!({
        "metadata": { "name": "platform" },
        "spec": { "controller": "elbow.dev/alb",
                  "parameters": { "apiGroup": "elbow.dev", "kind": "IngressClassParams", "name": "platform" } }
    }))
    .unwrap();
    classes.create(&PostParams::default(), &class).await.unwrap();
    let annotations = json!({
        "alb.ingress.kubernetes.io/listen-ports": r#"[{"HTTP": 80}, {"HTTPS": 443}]"#,
        "alb.ingress.kubernetes.io/load-balancer-name": "not-this-one",
        "alb.ingress.kubernetes.io/listener-attributes.HTTPS-443": format!("{header}=true"),
    });
    fx.ingress("web", Some("platform"), annotations, "web.example.com", "web").await;
    fx.hostname("web").await;

    let cloud = cloud().await;
    let now = fx.owned().await;
    assert_eq!(now.lbs.iter().map(|lb| lb.name.as_str()).collect::<Vec<_>>(), [name.as_str()], "the class's name");
    let listeners = cloud.describe_listeners(&now.lbs[0].arn).await.unwrap();
    let http = listeners.iter().find(|l| l.port == 80).expect("an HTTP listener");
    assert!(
        matches!(&http.default_actions[..], [Action::Redirect { protocol: Some(p), port: Some(port), .. }]
            if p == "HTTPS" && port == "443"),
        "HTTP redirects to 443: {:?}",
        http.default_actions
    );
    let https = listeners.iter().find(|l| l.port == 443).expect("an HTTPS listener");
    let attributes = cloud.describe_listener_attributes(&https.arn).await.unwrap();
    assert_eq!(attributes.get(header).map(String::as_str), Some("false"), "the class's attribute wins");
    let frontend = now
        .groups
        .iter()
        .find(|g| g.tags.get("elbow.dev/resource").map(String::as_str) == Some("SecurityGroup/frontend"))
        .expect("the frontend group");
    let rules = cloud.describe_security_group_rules(SecurityGroupRuleFilter::Group(frontend.id.clone())).await.unwrap();
    let mut admitted: Vec<(u16, String)> = rules
        .iter()
        .filter_map(|r| match &r.rule.source {
            RuleSource::PrefixList(id) => Some((r.rule.from_port, id.clone())),
            _ => None,
        })
        .collect();
    admitted.sort();
    assert_eq!(admitted, [(80, prefix_list.clone()), (443, prefix_list.clone())], "the prefix list on both ports");

    fx.gone("web").await;
    assert!(fx.owned().await.is_empty(), "nothing left in AWS");
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ingress_names_its_security_group_by_its_name_tag() {
    let fx = Fixture::start("ing-sgname").await;
    fx.class("elbow", "elbow.dev/alb", false).await;
    let cloud = cloud().await;
    let name = unique("alb-clients");
    let name_tag = [("Name".to_string(), name.clone())].into_iter().collect();
    let vpc = fx.sandbox.environment.inventory.vpc_id.clone();
    let group = cloud.create_security_group(&unique("sg"), "clients", &vpc, &name_tag).await.expect("group");

    let annotations = json!({ "alb.ingress.kubernetes.io/security-groups": name });
    fx.ingress("web", Some("elbow"), annotations, "web.example.com", "web").await;
    fx.hostname("web").await;
    let lb = eventually("the ALB", async || fx.owned().await.lbs.into_iter().next()).await;
    assert_eq!(
        lb.security_groups,
        std::slice::from_ref(&group),
        "the group of that Name tag, no managed frontend group"
    );

    fx.gone("web").await;
    assert!(fx.owned().await.is_empty(), "nothing left in AWS");
    cloud.delete_security_group(&group).await.expect("the test's group deleted");
    fx.sandbox.stop().await;
}
