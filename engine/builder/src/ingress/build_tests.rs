//! The Ingress builder end to end: Ingresses, Services, nodes and an inventory in, a stack out.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule as KubeIngressRule,
    IngressServiceBackend, IngressSpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::annotations::INGRESS_PREFIX;
use crate::crd::{IngressGroupParams, IpamParams, KeyValue, ListenerParams, MinimumCapacityParams, SubnetSelector};
use crate::endpoints::tests::{compact, endpoint, slice};
use crate::names::{IngressTargetGroupKey, ingress_target_group_name};
use crate::nodes::tests::{borrowed, node};
use elbow_model::Wafv2WebAcl;
use elbow_model::inventory::{Instance, SecurityGroup, Subnet};

const CLUSTER: &str = "my-cluster";

fn config() -> BuildConfig {
    BuildConfig::new(CLUSTER)
}

fn inventory() -> CloudInventory {
    let subnet = |id: &str, zone: &str, role: &str| Subnet {
        id: id.into(),
        availability_zone: zone.into(),
        cidr_block: "10.0.0.0/24".into(),
        ipv6_cidr_blocks: Vec::new(),
        tags: Tags::from([(role.to_string(), "1".to_string()), ("tier".to_string(), format!("{id}-tier"))]),
    };
    CloudInventory {
        vpc_id: "vpc-1".into(),
        certificates: Vec::new(),
        subnets: vec![
            subnet("subnet-a", "us-east-1a", "kubernetes.io/role/elb"),
            subnet("subnet-b", "us-east-1b", "kubernetes.io/role/elb"),
            subnet("subnet-i", "us-east-1a", "kubernetes.io/role/internal-elb"),
            subnet("subnet-j", "us-east-1b", "kubernetes.io/role/internal-elb"),
            subnet("subnet-k", "us-east-1c", "kubernetes.io/role/no-elb"),
        ],
        instances: ["i-1", "i-2"]
            .iter()
            .map(|id| Instance {
                id: id.to_string(),
                availability_zone: "us-east-1a".into(),
                security_groups: vec!["sg-nodes".into()],
            })
            .collect(),
        security_groups: vec![
            SecurityGroup { id: "sg-nodes".into(), group_name: "nodes".into(), tags: Tags::new() },
            SecurityGroup {
                id: "sg-web".into(),
                group_name: "web-alb".into(),
                tags: Tags::from([("Name".into(), "web-lb".into())]),
            },
        ],
    }
}

fn nodes() -> Vec<Node> {
    vec![node("n1", "i-1", "True"), node("n2", "i-2", "True"), node("n3", "i-3", "False")]
}

fn backend(service: &str, port: &str) -> IngressBackend {
    let port = match port.parse::<i32>() {
        Ok(number) => ServiceBackendPort { number: Some(number), name: None },
        Err(_) => ServiceBackendPort { name: Some(port.into()), number: None },
    };
    IngressBackend { service: Some(IngressServiceBackend { name: service.into(), port: Some(port) }), resource: None }
}

fn path(path: &str, path_type: &str, service: &str, port: &str) -> HTTPIngressPath {
    HTTPIngressPath { path: Some(path.into()), path_type: path_type.into(), backend: backend(service, port) }
}

fn rule(host: Option<&str>, paths: Vec<HTTPIngressPath>) -> KubeIngressRule {
    KubeIngressRule { host: host.map(str::to_string), http: Some(HTTPIngressRuleValue { paths }) }
}

fn ingress(namespace: &str, name: &str, annotations: &[(&str, &str)], rules: Vec<KubeIngressRule>) -> Ingress {
    Ingress {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            annotations: Some(
                annotations.iter().map(|(k, v)| (format!("{INGRESS_PREFIX}{k}"), v.to_string())).collect(),
            ),
            ..Default::default()
        },
        spec: Some(IngressSpec { rules: Some(rules), ..Default::default() }),
        status: None,
    }
}

/// `shop/web`: one host, one Prefix path to Service `web` port `http`.
fn web(annotations: &[(&str, &str)]) -> Ingress {
    ingress("shop", "web", annotations, vec![rule(Some("shop.example.com"), vec![path("/", "Prefix", "web", "http")])])
}

fn service(namespace: &str, name: &str, annotations: &[(&str, &str)]) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            uid: Some(format!("uid-{name}")),
            annotations: Some(
                annotations.iter().map(|(k, v)| (format!("{INGRESS_PREFIX}{k}"), v.to_string())).collect(),
            ),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("NodePort".into()),
            ports: Some(vec![
                ServicePort { name: Some("http".into()), port: 80, node_port: Some(30080), ..Default::default() },
                ServicePort { name: Some("admin".into()), port: 9000, node_port: Some(30900), ..Default::default() },
            ]),
            ..Default::default()
        }),
        status: None,
    }
}

fn services() -> Vec<Service> {
    ["web", "api", "static", "canary"].iter().map(|name| service("shop", name, &[])).collect()
}

fn build_with(
    members: &[&Ingress],
    services: &[Service],
    params: Option<&IngressClassParamsSpec>,
) -> Result<Stack, BuildError> {
    let group = group_of(members[0], params).expect("a valid group");
    let nodes = nodes();
    let inventory = inventory();
    let config = config();
    let input = IngressGroupInput {
        group: &group,
        members: members.to_vec(),
        services,
        secrets: &[],
        nodes: &borrowed(&nodes),
        endpoint_slices: &[],
        pods: &crate::endpoints::NoPodFacts,
        inventory: &inventory,
        certificates: &inventory.certificates,
        params,
        config: &config,
    };
    build_ingress_stack(&input)
}

fn build(members: &[&Ingress]) -> Result<Stack, BuildError> {
    build_with(members, &services(), None)
}

fn built(members: &[&Ingress]) -> Stack {
    build(members).unwrap_or_else(|e| panic!("{e}"))
}

fn error(members: &[&Ingress]) -> String {
    build(members).expect_err("a user error").to_string()
}

fn listener(stack: &Stack, port: u16) -> &ListenerSpec {
    stack.listeners.iter().find(|l| l.port == port).unwrap_or_else(|| panic!("no listener {port}"))
}

/// Each rule as (hosts, path patterns), the readable part of the rules.
fn routes(listener: &ListenerSpec) -> Vec<(Vec<String>, Vec<String>)> {
    listener
        .rules
        .iter()
        .map(|rule| {
            let mut hosts = Vec::new();
            let mut paths = Vec::new();
            for condition in &rule.conditions {
                match condition {
                    RuleCondition::HostHeader(values) => hosts.extend(values.clone()),
                    RuleCondition::PathPattern(values) => paths.extend(values.clone()),
                    _ => {}
                }
            }
            (hosts, paths)
        })
        .collect()
}

fn forwarded_to(action: &Action<ResourceId>) -> Vec<(String, Option<u32>)> {
    match action {
        Action::Forward { target_groups, .. } => {
            target_groups.iter().map(|w| (w.target_group.to_string(), w.weight)).collect()
        }
        other => panic!("not a forward: {other:?}"),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_plain_ingress_gets_an_application_load_balancer_with_its_rules() {
    let ingress = web(&[]);
    let stack = built(&[&ingress]);
    assert_eq!(stack.id.as_str(), "ingress:shop/web");

    let lb = &stack.load_balancers[0];
    let group = GroupId::Implicit { namespace: "shop".into(), name: "web".into() };
    assert_eq!(lb.name, group_load_balancer_name(CLUSTER, &group, "internal"));
    assert_eq!(lb.lb_type, LoadBalancerType::Application);
    assert_eq!(lb.scheme, Scheme::Internal, "BuildConfig's default scheme, internal as LBC's");
    assert_eq!(lb.subnets, ["subnet-i", "subnet-j"]);
    assert_eq!(
        lb.security_groups,
        [SecurityGroupRef::Managed(ResourceId::new("SecurityGroup/frontend")), SecurityGroupRef::SharedBackend]
    );
    assert_eq!(lb.tags.get("elbow.dev/stack").map(String::as_str), Some("ingress:shop/web"));
    assert_eq!(lb.tags.get("elbow.dev/resource").map(String::as_str), Some("LoadBalancer"));

    assert_eq!(stack.listeners.len(), 1);
    let http = listener(&stack, 80);
    assert_eq!(http.protocol, Protocol::Http);
    assert!(http.certificates.is_empty() && http.ssl_policy.is_none());
    assert_eq!(http.default_actions, [actions::not_found()], "no default backend: a fixed 404");
    assert_eq!(routes(http), [(strings(&["shop.example.com"]), strings(&["/*"]))]);
    let tg_id = "TargetGroup/shop/web/web:http";
    assert_eq!(forwarded_to(&http.rules[0].actions[0]), [(tg_id.to_string(), None)]);

    let tg = &stack.target_groups[0];
    assert_eq!(tg.resource_id.as_str(), tg_id);
    let key = IngressTargetGroupKey {
        group: &group,
        ingress_namespace: "shop",
        ingress_name: "web",
        service_namespace: "shop",
        service_name: "web",
        service_uid: "uid-web",
        service_port: "http",
    };
    assert_eq!(tg.name, ingress_target_group_name(CLUSTER, &key, 30080, "instance", "HTTP", "HTTP1"));
    assert_eq!((tg.protocol, tg.port, tg.target_type), (Protocol::Http, 30080, TargetType::Instance));
    assert_eq!(
        tg.health_check,
        HealthCheck {
            protocol: Protocol::Http,
            port: HealthCheckPort::TrafficPort,
            path: Some("/".into()),
            interval_seconds: 15,
            timeout_seconds: 5,
            healthy_threshold_count: 2,
            unhealthy_threshold_count: 2,
            matcher: Some("200".into()),
        }
    );
    let targets: Vec<&str> = tg.targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(targets, ["i-1", "i-2"], "ready nodes only");
    assert!(tg.targets.iter().all(|t| t.port == 30080));

    let frontend = &stack.security_groups[0];
    assert_eq!(frontend.group_name, group_frontend_group_name(CLUSTER, &group));
    let admitted: Vec<(u16, &RuleSource)> = frontend.ingress.iter().map(|r| (r.from_port, &r.source)).collect();
    assert_eq!(admitted, [(80, &RuleSource::CidrIpv4("0.0.0.0/0".into()))]);
    let node_rules: Vec<&str> = stack.node_security_group_rules.iter().map(|r| r.resource_id.as_str()).collect();
    assert_eq!(node_rules, ["NodeRule/sg-nodes/tcp/30080"]);
}

#[test]
fn no_members_is_the_empty_stack() {
    let group = GroupId::Explicit("public".into());
    let (nodes, inventory, config) = (nodes(), inventory(), config());
    let input = IngressGroupInput {
        group: &group,
        members: Vec::new(),
        services: &[],
        secrets: &[],
        nodes: &borrowed(&nodes),
        endpoint_slices: &[],
        pods: &crate::endpoints::NoPodFacts,
        inventory: &inventory,
        certificates: &inventory.certificates,
        params: None,
        config: &config,
    };
    let stack = build_ingress_stack(&input).expect("empty");
    assert!(stack.is_empty());
    assert_eq!(stack.id.as_str(), "ingress-group:public");
}

#[test]
fn path_types_map_to_patterns_and_rules_are_ordered() {
    let typed = ingress(
        "shop",
        "web",
        &[],
        vec![
            rule(
                Some("shop.example.com"),
                vec![
                    path("/static/*.css", "ImplementationSpecific", "static", "http"),
                    path("/", "Prefix", "web", "http"),
                    path("/api/", "Prefix", "api", "http"),
                    path("/api/v2", "Prefix", "api", "http"),
                    path("/healthz", "Exact", "web", "admin"),
                    path("/legacy", "ImplementationSpecific", "web", "80"),
                ],
            ),
            rule(None, vec![path("/catalog", "Exact", "api", "80")]),
        ],
    );
    let stack = built(&[&typed]);
    let host = || strings(&["shop.example.com"]);
    assert_eq!(
        routes(listener(&stack, 80)),
        [
            (host(), strings(&["/healthz"])),
            (host(), strings(&["/api/v2", "/api/v2/*"])),
            (host(), strings(&["/api", "/api/*"])),
            (host(), strings(&["/*"])),
            (host(), strings(&["/static/*.css"])),
            (host(), strings(&["/legacy"])),
            (vec![], strings(&["/catalog"])),
        ]
    );
    let ids: Vec<&str> = stack.target_groups.iter().map(|t| t.resource_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "TargetGroup/shop/web/api:80",
            "TargetGroup/shop/web/api:http",
            "TargetGroup/shop/web/static:http",
            "TargetGroup/shop/web/web:80",
            "TargetGroup/shop/web/web:admin",
            "TargetGroup/shop/web/web:http",
        ],
        "one target group per (Service, port as written), however many paths use it"
    );
    let admin = stack.target_groups.iter().find(|t| t.resource_id.as_str().ends_with("web:admin")).expect("admin");
    assert_eq!(admin.port, 30900);
}

#[test]
fn paths_that_cannot_be_matched_as_typed_are_errors() {
    let bad = |p: HTTPIngressPath| error(&[&ingress("shop", "web", &[], vec![rule(None, vec![p])])]);
    let unknown = bad(path("/a", "Regex", "web", "http"));
    assert_eq!(
        unknown,
        "Ingress shop/web: path \"/a\" has pathType \"Regex\"; expected Exact, Prefix or ImplementationSpecific"
    );
    assert!(bad(path("/a/*", "Prefix", "web", "http")).contains("wildcards * and ? are for ImplementationSpecific"));
    assert!(bad(path("/a?", "Exact", "web", "http")).contains("wildcards"));
    assert!(bad(path("a", "Exact", "web", "http")).contains("it must start with /"));
}

#[test]
fn listen_ports_and_certificates() {
    let cert = "arn:aws:acm:us-east-1:1:certificate/a";
    // Certificates alone: HTTPS 443 with the default policy.
    let stack = built(&[&web(&[("certificate-arn", cert)])]);
    assert_eq!(stack.listeners.len(), 1);
    let https = listener(&stack, 443);
    assert_eq!(https.protocol, Protocol::Https);
    assert_eq!(https.certificates, [cert]);
    assert_eq!(https.ssl_policy.as_deref(), Some("ELBSecurityPolicy-2016-08"));

    let stack = built(&[&web(&[
        ("listen-ports", r#"[{"HTTP": 80}, {"HTTPS": 443}, {"HTTP": 8080}]"#),
        ("certificate-arn", &format!("{cert}, arn:aws:acm:us-east-1:1:certificate/b")),
        ("ssl-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
    ])]);
    let ports: Vec<(u16, Protocol)> = stack.listeners.iter().map(|l| (l.port, l.protocol)).collect();
    assert_eq!(ports, [(80, Protocol::Http), (443, Protocol::Https), (8080, Protocol::Http)]);
    let https = listener(&stack, 443);
    assert_eq!(https.certificates, [cert, "arn:aws:acm:us-east-1:1:certificate/b"], "the first stays the default");
    assert_eq!(https.ssl_policy.as_deref(), Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
    assert!(listener(&stack, 80).certificates.is_empty() && listener(&stack, 80).ssl_policy.is_none());
    for l in &stack.listeners {
        assert_eq!(routes(l).len(), 1, "every listener carries the rules");
    }
    let frontend_ports: Vec<u16> = stack.security_groups[0].ingress.iter().map(|r| r.from_port).collect();
    assert_eq!(frontend_ports, [80, 443, 8080]);

    let bad = |value: &str| error(&[&web(&[("listen-ports", value)])]);
    assert!(bad(r#"[{"HTTP": 80"#).contains("annotation alb.ingress.kubernetes.io/listen-ports has an invalid value"));
    assert!(bad(r#"[{"TCP": 80}]"#).contains("protocol \"TCP\" is neither HTTP nor HTTPS"));
    assert!(bad(r#"[{"HTTP": 70000}]"#).contains("port 70000 is not within 1 to 65535"));
    assert!(bad("[]").contains("not empty"));
    assert!(bad(r#"[{"HTTP": 80}, {"HTTPS": 80}]"#).contains("port 80 is listed as HTTP and HTTPS"));
    // Certificate discovery needs hosts: an Ingress with none gets no certificate from ACM.
    let hostless = ingress(
        "shop",
        "web",
        &[("listen-ports", r#"[{"HTTPS": 443}]"#)],
        vec![rule(None, vec![path("/", "Prefix", "web", "http")])],
    );
    let no_cert = error(&[&hostless]);
    assert!(no_cert.starts_with("listen port 443 is HTTPS but no member of the group sets a certificate"), "{no_cert}");
}

#[test]
fn ssl_redirect_turns_http_listeners_into_redirects() {
    let cert = "arn:aws:acm:us-east-1:1:certificate/a";
    let stack = built(&[&web(&[
        ("listen-ports", r#"[{"HTTP": 80}, {"HTTPS": 443}]"#),
        ("certificate-arn", cert),
        ("ssl-redirect", "443"),
    ])]);
    let http = listener(&stack, 80);
    assert!(http.rules.is_empty(), "an HTTP listener that redirects has no other rules");
    assert_eq!(
        http.default_actions,
        [Action::Redirect {
            protocol: Some("HTTPS".into()),
            port: Some("443".into()),
            host: Some("#{host}".into()),
            path: Some("/#{path}".into()),
            query: Some("#{query}".into()),
            status_code: "HTTP_301".into(),
        }]
    );
    assert_eq!(routes(listener(&stack, 443)).len(), 1);

    let to_http = error(&[&web(&[("listen-ports", r#"[{"HTTP": 80}]"#), ("ssl-redirect", "80")])]);
    assert_eq!(
        to_http,
        "ssl-redirect names port 80, which listens for HTTP, not HTTPS; name an HTTPS port of listen-ports"
    );
    let nowhere = error(&[&web(&[("certificate-arn", cert), ("ssl-redirect", "8443")])]);
    assert!(nowhere.contains("port 8443, which is not a listen port of the group"), "{nowhere}");
    let bad = error(&[&web(&[("ssl-redirect", "https")])]);
    assert!(bad.contains("ssl-redirect has an invalid value \"https\""), "{bad}");
}

fn member(namespace: &str, name: &str, extra: &[(&str, &str)], host: &str) -> Ingress {
    let mut annotations = vec![("group.name", "shared")];
    annotations.extend_from_slice(extra);
    ingress(namespace, name, &annotations, vec![rule(Some(host), vec![path("/", "Prefix", "web", "http")])])
}

#[test]
fn a_group_shares_one_load_balancer_with_rules_in_group_order() {
    let first = member("zeta", "a", &[("group.order", "-10")], "first.example.com");
    let second = member("alpha", "b", &[], "second.example.com");
    let third = member("beta", "c", &[], "third.example.com");
    let services = vec![service("zeta", "web", &[]), service("alpha", "web", &[]), service("beta", "web", &[])];
    // The caller's order does not matter.
    let stack = build_with(&[&third, &first, &second], &services, None).expect("builds");
    let again = build_with(&[&second, &third, &first], &services, None).expect("builds");
    assert_eq!(stack, again, "deterministic whatever the members' order");
    assert_eq!(stack.id.as_str(), "ingress-group:shared");
    assert_eq!(stack.load_balancers.len(), 1);
    let group = GroupId::Explicit("shared".into());
    assert_eq!(stack.load_balancers[0].name, group_load_balancer_name(CLUSTER, &group, "internal"));
    let hosts: Vec<String> = routes(listener(&stack, 80)).into_iter().flat_map(|(hosts, _)| hosts).collect();
    assert_eq!(hosts, ["first.example.com", "second.example.com", "third.example.com"]);
    let ids: Vec<&str> = stack.target_groups.iter().map(|t| t.resource_id.as_str()).collect();
    assert_eq!(
        ids,
        ["TargetGroup/alpha/b/web:http", "TargetGroup/beta/c/web:http", "TargetGroup/zeta/a/web:http"],
        "each member its own target groups, so leaving the group removes only its own"
    );
}

#[test]
fn conflicting_settings_in_a_group_name_the_setting_and_both_ingresses() {
    let services = vec![service("a", "web", &[]), service("b", "web", &[])];
    let conflict = |first: &[(&str, &str)], second: &[(&str, &str)]| {
        let one = member("a", "one", first, "one.example.com");
        let two = member("b", "two", second, "two.example.com");
        build_with(&[&one, &two], &services, None).expect_err("conflict").to_string()
    };
    assert_eq!(
        conflict(&[("scheme", "internal")], &[("scheme", "internet-facing")]),
        "conflicting scheme in the Ingress group: a/one sets internal, b/two sets internet-facing"
    );
    assert!(
        conflict(&[("ip-address-type", "ipv4")], &[("ip-address-type", "dualstack")])
            .starts_with("conflicting ip-address-type in the Ingress group: a/one sets ipv4, b/two sets dualstack")
    );
    assert_eq!(
        conflict(&[("load-balancer-name", "shop")], &[("load-balancer-name", "store")]),
        "conflicting load-balancer-name in the Ingress group: a/one sets shop, b/two sets store"
    );
    assert_eq!(
        conflict(
            &[("listen-ports", r#"[{"HTTP": 8080}]"#)],
            &[("listen-ports", r#"[{"HTTPS": 8080}]"#), ("certificate-arn", "arn:c")]
        ),
        "conflicting protocol of listen port 8080 in the Ingress group: a/one sets HTTP, b/two sets HTTPS"
    );
    let https = r#"[{"HTTPS": 443}]"#;
    assert!(
        conflict(
            &[("listen-ports", https), ("certificate-arn", "arn:c"), ("ssl-policy", "p1")],
            &[("listen-ports", https), ("certificate-arn", "arn:c"), ("ssl-policy", "p2")]
        )
        .starts_with("conflicting ssl-policy of listen port 443 in the Ingress group: a/one sets p1, b/two sets p2")
    );
    assert!(conflict(&[("tags", "team=a")], &[("tags", "team=b")]).starts_with("conflicting tags key team"));
    assert!(conflict(&[("ssl-redirect", "443")], &[("ssl-redirect", "8443")]).starts_with("conflicting ssl-redirect"));
    assert!(
        conflict(&[("inbound-cidrs", "10.0.0.0/8")], &[("inbound-cidrs", "192.168.0.0/16")])
            .starts_with("conflicting inbound-cidrs of listen port 80")
    );
    assert!(
        conflict(&[("subnets", "subnet-a,subnet-b")], &[("subnets", "subnet-i,subnet-j")])
            .starts_with("conflicting subnets")
    );

    // Agreement, or silence, is no conflict; settings only some members make apply to all.
    let one = member("a", "one", &[("scheme", "internal"), ("tags", "team=a")], "one.example.com");
    let two = member("b", "two", &[("scheme", "internal"), ("tags", "cost=7")], "two.example.com");
    let stack = build_with(&[&one, &two], &services, None).expect("agreeing members");
    assert_eq!(stack.load_balancers[0].scheme, Scheme::Internal);
    assert_eq!(stack.load_balancers[0].subnets, ["subnet-i", "subnet-j"]);
    let tags = &stack.target_groups[0].tags;
    assert_eq!((tags.get("team").map(String::as_str), tags.get("cost").map(String::as_str)), (Some("a"), Some("7")));

    let both_default = |name: &str| {
        let mut ingress = member("a", name, &[], "x.example.com");
        ingress.spec.get_or_insert_default().default_backend = Some(backend("web", "http"));
        ingress
    };
    let (one, two) = (both_default("one"), both_default("two"));
    let error = build_with(&[&one, &two], &services, None).expect_err("two default backends").to_string();
    assert!(
        error.starts_with("conflicting default backend of listen port 80 in the Ingress group: a/one sets"),
        "{error}"
    );
}

#[test]
fn ingress_class_params_override_annotations() {
    let params = IngressClassParamsSpec {
        group: Some(IngressGroupParams { name: "platform".into() }),
        scheme: Some(Scheme::Internal),
        ip_address_type: Some(IpAddressType::Dualstack),
        subnets: Some(SubnetSelector { ids: Some(strings(&["subnet-a", "subnet-j"])), tags: None }),
        inbound_cidrs: Some(strings(&["10.0.0.0/8"])),
        ssl_policy: Some("ELBSecurityPolicy-TLS13-1-2-2021-06".into()),
        certificate_arn: Some(strings(&["arn:params"])),
        tags: Some(vec![KeyValue { key: "team".into(), value: "platform".into() }]),
        load_balancer_attributes: Some(vec![KeyValue {
            key: "idle_timeout.timeout_seconds".into(),
            value: "120".into(),
        }]),
        ..Default::default()
    };
    let ingress = web(&[
        ("group.name", "mine"),
        ("scheme", "internet-facing"),
        ("ip-address-type", "ipv4"),
        ("subnets", "subnet-a,subnet-b"),
        ("inbound-cidrs", "192.168.0.0/16"),
        ("ssl-policy", "ELBSecurityPolicy-2016-08"),
        ("certificate-arn", "arn:annotation"),
        ("tags", "team=web,cost=7"),
        ("load-balancer-attributes", "idle_timeout.timeout_seconds=60,deletion_protection.enabled=true"),
    ]);
    let stack = build_with(&[&ingress], &services(), Some(&params)).expect("builds");
    assert_eq!(stack.id.as_str(), "ingress-group:platform");
    let lb = &stack.load_balancers[0];
    assert_eq!((lb.scheme, lb.ip_address_type), (Scheme::Internal, IpAddressType::Dualstack));
    assert_eq!(lb.subnets, ["subnet-a", "subnet-j"]);
    assert_eq!(lb.tags.get("team").map(String::as_str), Some("platform"), "the params win per key");
    assert_eq!(lb.tags.get("cost").map(String::as_str), Some("7"), "the annotation's other keys stay, as in LBC");
    assert_eq!(
        lb.attributes,
        Attributes::from([
            ("deletion_protection.enabled".to_string(), "true".to_string()),
            ("idle_timeout.timeout_seconds".to_string(), "120".to_string()),
        ])
    );
    let https = listener(&stack, 443);
    assert_eq!(https.certificates, ["arn:params"]);
    assert_eq!(https.ssl_policy.as_deref(), Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
    let sources: Vec<&RuleSource> = stack.security_groups[0].ingress.iter().map(|r| &r.source).collect();
    assert_eq!(sources, [&RuleSource::CidrIpv4("10.0.0.0/8".into())]);

    let by_tags = IngressClassParamsSpec {
        subnets: Some(SubnetSelector {
            ids: None,
            tags: Some(BTreeMap::from([("tier".to_string(), strings(&["subnet-b-tier", "subnet-i-tier"]))])),
        }),
        ..Default::default()
    };
    let stack = build_with(&[&web(&[])], &services(), Some(&by_tags)).expect("builds");
    assert_eq!(stack.load_balancers[0].subnets, ["subnet-b", "subnet-i"]);

    let ip = IngressClassParamsSpec { target_type: Some(TargetType::Ip), ..Default::default() };
    let stack = build_with(&[&web(&[("target-type", "instance")])], &services(), Some(&ip)).expect("ip");
    assert_eq!(stack.target_groups[0].target_type, TargetType::Ip, "the parameters win over the annotation");
    let both = IngressClassParamsSpec {
        subnets: Some(SubnetSelector { ids: Some(strings(&["subnet-a"])), tags: Some(BTreeMap::new()) }),
        ..Default::default()
    };
    let error = build_with(&[&web(&[])], &services(), Some(&both)).expect_err("both").to_string();
    assert!(error.contains("exactly one of ids and tags"), "{error}");
}

#[test]
fn dualstack_admits_ipv6_and_ipv4_only_drops_it() {
    let stack = built(&[&web(&[("ip-address-type", "dualstack")])]);
    let sources: Vec<&RuleSource> = stack.security_groups[0].ingress.iter().map(|r| &r.source).collect();
    assert_eq!(sources, [&RuleSource::CidrIpv4("0.0.0.0/0".into()), &RuleSource::CidrIpv6("::/0".into())]);
    let stack = built(&[&web(&[("inbound-cidrs", "10.0.0.0/8, 2001:db8::/32")])]);
    let sources: Vec<&RuleSource> = stack.security_groups[0].ingress.iter().map(|r| &r.source).collect();
    assert_eq!(sources, [&RuleSource::CidrIpv4("10.0.0.0/8".into())]);
    assert!(error(&[&web(&[("inbound-cidrs", "10.0.0.0/33")])]).contains("inbound-cidrs has an invalid value"));
}

#[test]
fn prefix_lists_are_admitted_alone_or_next_to_the_inbound_cidrs() {
    let sources = |stack: &Stack| stack.security_groups[0].ingress.iter().map(|r| r.source.clone()).collect::<Vec<_>>();
    let prefix_list = |id: &str| RuleSource::PrefixList(id.into());
    let alone = built(&[&web(&[("security-group-prefix-lists", "pl-0123abcd,pl-00ff")])]);
    assert_eq!(sources(&alone), [prefix_list("pl-00ff"), prefix_list("pl-0123abcd")], "not the world");
    let both = built(&[&web(&[("security-group-prefix-lists", "pl-0123abcd"), ("inbound-cidrs", "10.0.0.0/8")])]);
    assert_eq!(sources(&both), [RuleSource::CidrIpv4("10.0.0.0/8".into()), prefix_list("pl-0123abcd")]);

    // Members sharing a port agree on its prefix lists; one that sets none takes the others'.
    let services = vec![service("a", "web", &[]), service("b", "web", &[])];
    let one = member("a", "one", &[("security-group-prefix-lists", "pl-0123abcd")], "one.example.com");
    let two = member("b", "two", &[("security-group-prefix-lists", "pl-00ff")], "two.example.com");
    let quiet = member("b", "two", &[], "two.example.com");
    let message = build_with(&[&one, &two], &services, None).expect_err("conflict").to_string();
    assert!(message.starts_with("conflicting security-group-prefix-lists of listen port 80"), "{message}");
    let shared = build_with(&[&one, &quiet], &services, None).expect("agreed");
    assert_eq!(sources(&shared), [prefix_list("pl-0123abcd")]);

    let message = error(&[&web(&[("security-group-prefix-lists", "sg-0123abcd")])]);
    assert!(message.contains("security-group-prefix-lists has an invalid value"), "{message}");
}

#[test]
fn named_security_groups_replace_the_managed_one() {
    let stack = built(&[&web(&[("security-groups", "sg-2, sg-1")])]);
    assert!(stack.security_groups.is_empty());
    assert!(stack.node_security_group_rules.is_empty(), "backend rules are off by default with named groups");
    assert_eq!(
        stack.load_balancers[0].security_groups,
        [SecurityGroupRef::Existing("sg-1".into()), SecurityGroupRef::Existing("sg-2".into())]
    );
    let stack = built(&[&web(&[("security-groups", "sg-1"), ("manage-backend-security-group-rules", "true")])]);
    assert_eq!(stack.load_balancers[0].security_groups.last(), Some(&SecurityGroupRef::SharedBackend));
    assert!(!stack.node_security_group_rules.is_empty());
    assert!(error(&[&web(&[("security-groups", ",")])]).contains("security group ids (sg-...)"));
}

#[test]
fn the_group_reserves_the_minimum_capacity_its_members_agree_on() {
    let services = vec![service("shop", "web", &[])];
    let capacity = |value: &str| ("minimum-load-balancer-capacity", value.to_string());
    let member_with = |name: &str, annotations: &[(&str, String)]| {
        let annotations: Vec<(&str, &str)> = annotations.iter().map(|(k, v)| (*k, v.as_str())).collect();
        member("shop", name, &annotations, &format!("{name}.example.com"))
    };
    let one = member_with("one", &[capacity("CapacityUnits=500")]);
    let quiet = member_with("two", &[]);
    let stack = build_with(&[&one, &quiet], &services, None).expect("agreed");
    assert_eq!(stack.load_balancers[0].capacity_units, Some(500));
    assert_eq!(
        stack.load_balancers[0].tags.get(elbow_model::tags::CAPACITY_UNITS_TAG).map(String::as_str),
        Some("500")
    );

    let other = member_with("two", &[capacity("CapacityUnits=700")]);
    let message = build_with(&[&one, &other], &services, None).expect_err("conflict").to_string();
    assert!(message.contains("conflicting minimum-load-balancer-capacity"), "{message}");
    assert!(message.contains("CapacityUnits=500") && message.contains("CapacityUnits=700"), "{message}");

    let none = member_with("one", &[capacity("CapacityUnits=0")]);
    let stack = build_with(&[&none], &services, None).expect("built");
    assert_eq!(stack.load_balancers[0].capacity_units, None, "0 is no reservation");
    assert!(!stack.load_balancers[0].tags.contains_key(elbow_model::tags::CAPACITY_UNITS_TAG));
    assert!(error(&[&web(&[("minimum-load-balancer-capacity", "lots")])]).contains("CapacityUnits=<number"));
}

#[test]
fn security_groups_are_also_found_by_their_name_tag() {
    let stack = built(&[&web(&[("security-groups", "web-lb, sg-1")])]);
    assert_eq!(
        stack.load_balancers[0].security_groups,
        [SecurityGroupRef::Existing("sg-1".into()), SecurityGroupRef::Existing("sg-web".into())]
    );
    let message = error(&[&web(&[("security-groups", "sg-1,nowhere")])]);
    assert!(message.contains("\"nowhere\" of the security-groups annotation was not found"), "{message}");

    let one = member("shop", "one", &[("security-groups", "web-lb,sg-1")], "one.example.com");
    let two = member("shop", "two", &[("security-groups", "sg-1, sg-9, web-lb")], "two.example.com");
    assert_eq!(security_groups_named(&[&one, &two]), ["web-lb"]);
}

#[test]
fn names_are_deterministic_overridable_and_checked() {
    let one = built(&[&web(&[])]);
    let two = built(&[&web(&[])]);
    assert_eq!(one.load_balancers[0].name, two.load_balancers[0].name);
    let public = built(&[&web(&[("scheme", "internet-facing")])]);
    assert_ne!(public.load_balancers[0].name, one.load_balancers[0].name, "the scheme is part of the hash");
    for stack in [&one, &public] {
        assert!(crate::names::is_valid_elb_name(&stack.load_balancers[0].name));
        assert!(stack.target_groups.iter().all(|t| crate::names::is_valid_elb_name(&t.name)));
    }

    let named = built(&[&web(&[("load-balancer-name", "shop-front")])]);
    assert_eq!(named.load_balancers[0].name, "shop-front");
    let long = "a".repeat(33);
    let error = error(&[&web(&[("load-balancer-name", &long)])]);
    assert!(
        error.starts_with(&format!("Ingress shop/web: load balancer name \"{long}\" is invalid: at most 32")),
        "{error}"
    );
    assert!(self::error(&[&web(&[("load-balancer-name", "internal-shop")])]).contains("is invalid"));
}

#[test]
fn bad_backends_are_errors_naming_the_service() {
    let mut cluster_ip = service("shop", "web", &[]);
    cluster_ip.spec.get_or_insert_default().type_ = Some("ClusterIP".into());
    let error = build_with(&[&web(&[])], &[cluster_ip], None).expect_err("ClusterIP").to_string();
    assert_eq!(
        error,
        "Ingress shop/web: Service web is of type ClusterIP; instance targets need type NodePort or LoadBalancer"
    );
    let on_missing_port = ingress("shop", "web", &[], vec![rule(None, vec![path("/", "Prefix", "web", "https")])]);
    assert_eq!(self::error(&[&on_missing_port]), "Ingress shop/web: Service web has no port https");
    let on_missing_number = ingress("shop", "web", &[], vec![rule(None, vec![path("/", "Prefix", "web", "8080")])]);
    assert_eq!(self::error(&[&on_missing_number]), "Ingress shop/web: Service web has no port 8080");

    let mut no_node_port = service("shop", "web", &[]);
    let spec = no_node_port.spec.get_or_insert_default();
    spec.type_ = Some("LoadBalancer".into());
    spec.ports.get_or_insert_default()[0].node_port = None;
    let error = build_with(&[&web(&[])], &[no_node_port], None).expect_err("no nodePort").to_string();
    assert!(error.contains("port 80/TCP has no nodePort"), "{error}");

    let mut resource = web(&[]);
    resource.spec.get_or_insert_default().rules.get_or_insert_default()[0].http.get_or_insert_default().paths[0]
        .backend
        .service = None;
    assert!(self::error(&[&resource]).contains("resource backends are not supported"));
}

#[test]
fn a_missing_service_answers_503_instead_of_failing_the_group() {
    let stack = build_with(&[&web(&[])], &[], None).expect("builds");
    assert!(stack.target_groups.is_empty());
    assert_eq!(
        listener(&stack, 80).rules[0].actions,
        [Action::FixedResponse {
            status_code: "503".into(),
            content_type: Some("text/plain".into()),
            message_body: Some("Backend service does not exist".into()),
        }]
    );
}

#[test]
fn more_than_100_rules_on_a_listener_is_an_error() {
    let paths = |n: usize| (0..n).map(|i| path(&format!("/p{i}"), "Exact", "web", "http")).collect::<Vec<_>>();
    let fits = ingress("shop", "web", &[], vec![rule(None, paths(100))]);
    assert_eq!(listener(&built(&[&fits]), 80).rules.len(), 100);
    let over = ingress("shop", "web", &[], vec![rule(None, paths(101))]);
    assert_eq!(
        error(&[&over]),
        "listener 80 would have 101 rules; an application load balancer takes at most 100 per listener"
    );
}

#[test]
fn health_checks_take_ingress_then_service_annotations() {
    let ingress_side = [
        ("healthcheck-path", "/ingress"),
        ("healthcheck-interval-seconds", "30"),
        ("success-codes", "200-299"),
        ("healthy-threshold-count", "3"),
    ];
    let service_side =
        [("healthcheck-path", "/service"), ("healthcheck-port", "admin"), ("unhealthy-threshold-count", "4")];
    let services = vec![service("shop", "web", &service_side)];
    let stack = build_with(&[&web(&ingress_side)], &services, None).expect("builds");
    let check = &stack.target_groups[0].health_check;
    assert_eq!(check.path.as_deref(), Some("/service"), "the Service wins");
    assert_eq!(check.port, HealthCheckPort::Port(30900), "a named port means its NodePort");
    assert_eq!(check.interval_seconds, 30);
    assert_eq!(check.timeout_seconds, 5);
    assert_eq!((check.healthy_threshold_count, check.unhealthy_threshold_count), (3, 4));
    assert_eq!(check.matcher.as_deref(), Some("200-299"));
    let ports: Vec<&str> = stack.node_security_group_rules.iter().map(|r| r.resource_id.as_str()).collect();
    assert_eq!(
        ports,
        ["NodeRule/sg-nodes/tcp/30080", "NodeRule/sg-nodes/tcp/30900"],
        "the health-check port opens too"
    );

    let https =
        build_with(&[&web(&[("backend-protocol", "HTTPS")])], &[service("shop", "web", &[])], None).expect("ok");
    let tg = &https.target_groups[0];
    assert_eq!((tg.protocol, tg.health_check.protocol), (Protocol::Https, Protocol::Https));

    for (annotation, value, expected) in [
        ("healthcheck-timeout-seconds", "15", "fewer seconds than the health-check interval (15)"),
        ("healthcheck-interval-seconds", "301", "a whole number from 5 to 300"),
        ("success-codes", "ok", "codes like 200"),
        ("healthcheck-protocol", "TCP", "HTTP or HTTPS"),
        ("backend-protocol", "GRPC", "HTTP or HTTPS"),
        ("target-type", "pod", "instance or ip"),
    ] {
        let message = error(&[&web(&[(annotation, value)])]);
        assert!(
            message.contains(&format!("{annotation} has an invalid value")) && message.contains(expected),
            "{message}"
        );
    }
}

fn annotated(annotations: &[(&str, &str)]) -> Ingress {
    ingress(
        "shop",
        "web",
        annotations,
        vec![rule(Some("shop.example.com"), vec![path("/", "Prefix", "split", "use-annotation")])],
    )
}

#[test]
fn actions_annotations_forward_weighted_redirect_and_respond() {
    let forward = r#"{"type":"forward","forwardConfig":{"targetGroups":[
        {"serviceName":"web","servicePort":"http","weight":90},
        {"serviceName":"canary","servicePort":80,"weight":10}]}}"#;
    let stack = built(&[&annotated(&[("actions.split", forward)])]);
    assert_eq!(
        forwarded_to(&listener(&stack, 80).rules[0].actions[0]),
        [
            ("TargetGroup/shop/web/web:http".to_string(), Some(90)),
            ("TargetGroup/shop/web/canary:80".to_string(), Some(10))
        ]
    );
    assert_eq!(stack.target_groups.len(), 2);

    let redirect = r#"{"type":"redirect","redirectConfig":{"host":"new.example.com","statusCode":"HTTP_302"}}"#;
    let stack = built(&[&annotated(&[("actions.split", redirect)])]);
    assert_eq!(
        listener(&stack, 80).rules[0].actions,
        [Action::Redirect {
            protocol: Some("#{protocol}".into()),
            port: Some("#{port}".into()),
            host: Some("new.example.com".into()),
            path: Some("/#{path}".into()),
            query: Some("#{query}".into()),
            status_code: "HTTP_302".into(),
        }]
    );
    assert!(stack.target_groups.is_empty());

    let fixed = r#"{"type":"fixed-response","fixedResponseConfig":{"contentType":"text/plain","statusCode":"418","messageBody":"teapot"}}"#;
    let stack = built(&[&annotated(&[("actions.split", fixed)])]);
    assert_eq!(
        listener(&stack, 80).rules[0].actions,
        [Action::FixedResponse {
            status_code: "418".into(),
            content_type: Some("text/plain".into()),
            message_body: Some("teapot".into()),
        }]
    );

    let missing = built(&[&annotated(&[])]);
    let Action::FixedResponse { status_code, message_body, .. } = &listener(&missing, 80).rules[0].actions[0] else {
        panic!("a 503")
    };
    assert_eq!((status_code.as_str(), message_body.as_deref()), ("503", Some("Backend action does not exist")));

    let bad = |value: &str| error(&[&annotated(&[("actions.split", value)])]);
    assert!(bad("{").contains("actions.split has an invalid value"));
    assert!(bad(r#"{"type":"authenticate-oidc"}"#).contains("type \"authenticate-oidc\" is not supported"));
    assert!(bad(r#"{"type":"redirect","redirectConfig":{"statusCode":"HTTP_307"}}"#).contains("HTTP_301 or HTTP_302"));
    assert!(bad(r#"{"type":"fixed-response","fixedResponseConfig":{"statusCode":"301"}}"#).contains("2XX, 4XX or 5XX"));
    assert!(bad(r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"web","servicePort":80},{"serviceName":"api","servicePort":80}]}}"#)
        .contains("weight must be set"));
    assert!(bad(r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"web","servicePort":80,"weight":1},{"serviceName":"gone","servicePort":80,"weight":1}]}}"#)
        .contains("forwards to Service gone, which does not exist"));
}

#[test]
fn conditions_annotations_add_to_the_rules_of_their_service() {
    let conditions = r#"[
        {"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Canary","values":["yes"]}},
        {"field":"host-header","hostHeaderConfig":{"values":["www.example.com"]}},
        {"field":"query-string","queryStringConfig":{"values":[{"key":"v","value":"2"}]}},
        {"field":"source-ip","sourceIpConfig":{"values":["10.0.0.0/8"]}},
        {"field":"http-request-method","httpRequestMethodConfig":{"values":["GET"]}}
    ]"#;
    let canary = ingress(
        "shop",
        "web",
        &[("conditions.canary", conditions)],
        vec![rule(
            Some("shop.example.com"),
            vec![path("/", "Prefix", "canary", "http"), path("/", "Prefix", "web", "http")],
        )],
    );
    let stack = built(&[&canary]);
    let rules = &listener(&stack, 80).rules;
    assert_eq!(
        rules[0].conditions,
        [
            RuleCondition::HttpHeader { name: "X-Canary".into(), values: strings(&["yes"]) },
            RuleCondition::QueryString(vec![QueryStringPair { key: Some("v".into()), value: "2".into() }]),
            RuleCondition::SourceIp(strings(&["10.0.0.0/8"])),
            RuleCondition::HttpRequestMethod(strings(&["GET"])),
            RuleCondition::HostHeader(strings(&["shop.example.com", "www.example.com"])),
            RuleCondition::PathPattern(strings(&["/*"])),
        ]
    );
    assert_eq!(
        rules[1].conditions,
        [RuleCondition::HostHeader(strings(&["shop.example.com"])), RuleCondition::PathPattern(strings(&["/*"]))],
        "another Service's paths are untouched"
    );

    let bad = |value: &str| {
        let web = ingress(
            "shop",
            "web",
            &[("conditions.web", value)],
            vec![rule(None, vec![path("/", "Prefix", "web", "http")])],
        );
        error(&[&web])
    };
    assert!(bad(r#"[{"field":"cookie"}]"#).contains("field \"cookie\" is not supported"));
    assert!(
        bad(r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X","values":[]}}]"#)
            .contains("httpHeaderConfig needs values or regexValues")
    );
    assert!(bad(r#"[{"field":"source-ip","sourceIPConfig":{"values":["everyone"]}}]"#).contains("is not a CIDR block"));
    assert!(bad(r#"{"field":"host-header"}"#).contains("conditions.web has an invalid value"));
}

#[test]
fn the_default_backend_is_the_default_action() {
    let mut with_default = web(&[]);
    with_default.spec.get_or_insert_default().default_backend = Some(backend("api", "80"));
    let stack = built(&[&with_default]);
    assert_eq!(
        forwarded_to(&listener(&stack, 80).default_actions[0]),
        [("TargetGroup/shop/web/api:80".to_string(), None)]
    );

    // Only a default backend, no rules at all.
    let mut only_default = ingress("shop", "web", &[], Vec::new());
    only_default.spec.get_or_insert_default().default_backend = Some(backend("web", "http"));
    let stack = built(&[&only_default]);
    assert!(listener(&stack, 80).rules.is_empty());
    assert_eq!(stack.target_groups.len(), 1);

    let without = built(&[&web(&[])]);
    assert_eq!(listener(&without, 80).default_actions, [actions::not_found()]);
}

#[test]
fn members_rules_go_only_to_the_ports_they_listen_on() {
    let services = vec![service("a", "web", &[]), service("b", "web", &[])];
    let one = member("a", "one", &[], "one.example.com");
    let two = member("b", "two", &[("listen-ports", r#"[{"HTTP": 8080}]"#)], "two.example.com");
    let stack = build_with(&[&one, &two], &services, None).expect("builds");
    let hosts = |port| -> Vec<String> { routes(listener(&stack, port)).into_iter().flat_map(|(h, _)| h).collect() };
    assert_eq!(hosts(80), ["one.example.com"]);
    assert_eq!(hosts(8080), ["two.example.com"]);
}

#[test]
fn target_group_attributes_come_from_the_ingress_then_the_service() {
    let services =
        vec![service("shop", "web", &[("target-group-attributes", "deregistration_delay.timeout_seconds=5")])];
    let ingress =
        web(&[("target-group-attributes", "deregistration_delay.timeout_seconds=30,stickiness.enabled=true")]);
    let stack = build_with(&[&ingress], &services, None).expect("builds");
    assert_eq!(
        stack.target_groups[0].attributes,
        Attributes::from([("deregistration_delay.timeout_seconds".to_string(), "5".to_string())]),
        "the Service's annotation replaces the Ingress's as a whole, as LBC merges annotations"
    );
}

#[test]
fn an_application_load_balancer_needs_two_zones() {
    let error = error(&[&web(&[("subnets", "subnet-a")])]);
    assert_eq!(error, "an application load balancer needs subnets in at least 2 availability zones; found 1");
}

#[path = "annotation_tests.rs"]
mod annotation_tests;

#[path = "tag_tests.rs"]
mod tag_tests;

#[path = "json_case_tests.rs"]
mod json_case_tests;

#[path = "tls_tests.rs"]
mod tls_tests;

#[path = "auth_tests.rs"]
mod auth_tests;

#[path = "backend_tests.rs"]
mod backend_tests;

#[path = "transform_tests.rs"]
mod transform_tests;

/// `build_with`, with EndpointSlices.
fn build_with_slices(
    members: &[&Ingress],
    services: &[Service],
    slices: &[EndpointSlice],
) -> Result<Stack, BuildError> {
    let group = group_of(members[0], None).expect("a valid group");
    let (nodes, inventory, config) = (nodes(), inventory(), config());
    let compact = compact(slices);
    let slices: Vec<&CompactSlice> = compact.iter().collect();
    let input = IngressGroupInput {
        group: &group,
        members: members.to_vec(),
        services,
        secrets: &[],
        nodes: &borrowed(&nodes),
        endpoint_slices: &slices,
        pods: &crate::endpoints::NoPodFacts,
        inventory: &inventory,
        certificates: &inventory.certificates,
        params: None,
        config: &config,
    };
    build_ingress_stack(&input)
}

/// Pods of `shop/web` port `http` on n1 and n2, one of them not ready, and a pod of `shop/api`.
fn web_slices() -> Vec<EndpointSlice> {
    vec![
        slice(
            "shop",
            "web",
            &[("http", 8080)],
            vec![
                endpoint("10.0.1.10", "n1", Some(true), None),
                endpoint("10.0.2.20", "n2", Some(true), None),
                endpoint("10.0.2.21", "n2", Some(false), None),
            ],
        ),
        slice("shop", "api", &[("http", 8080)], vec![endpoint("10.0.3.30", "n1", Some(true), None)]),
    ]
}

#[test]
fn target_type_ip_on_the_ingress_or_the_service_registers_the_services_ready_pods() {
    let mut clusterip = services();
    for svc in &mut clusterip {
        // Pods are reached directly: the Service needs no NodePort.
        let spec = svc.spec.as_mut().expect("spec");
        spec.type_ = Some("ClusterIP".into());
        spec.ports.as_mut().expect("ports").iter_mut().for_each(|p| {
            p.node_port = None;
            p.target_port = Some(IntOrString::String("web".into()));
        });
    }
    let on_ingress = build_with_slices(&[&web(&[("target-type", "ip")])], &clusterip, &web_slices()).expect("builds");
    let mut on_service = clusterip.clone();
    on_service[0].metadata.annotations =
        Some(BTreeMap::from([(format!("{INGRESS_PREFIX}target-type"), "ip".to_string())]));
    let from_service = build_with_slices(&[&web(&[])], &on_service, &web_slices()).expect("builds");
    for stack in [on_ingress, from_service] {
        let tg = &stack.target_groups[0];
        assert_eq!((tg.target_type, tg.port), (TargetType::Ip, 1), "a named target port: port 1");
        let targets: Vec<(&str, u16)> = tg.targets.iter().map(|t| (t.id.as_str(), t.port)).collect();
        assert_eq!(targets, [("10.0.1.10", 8080), ("10.0.2.20", 8080)]);
        let key = IngressTargetGroupKey {
            group: &GroupId::Implicit { namespace: "shop".into(), name: "web".into() },
            ingress_namespace: "shop",
            ingress_name: "web",
            service_namespace: "shop",
            service_name: "web",
            service_uid: "uid-web",
            service_port: "http",
        };
        assert_eq!(tg.name, ingress_target_group_name(CLUSTER, &key, 1, "ip", "HTTP", "HTTP1"));
        let rules: Vec<(&str, u16)> =
            stack.node_security_group_rules.iter().map(|r| (r.group_id.as_str(), r.rule.from_port)).collect();
        assert_eq!(rules, [("sg-nodes", 8080)], "the pods' port, not a NodePort");
    }
    // Instance mode still needs a NodePort Service.
    let message = build_with_slices(&[&web(&[])], &clusterip, &web_slices()).expect_err("ClusterIP").to_string();
    assert!(message.contains("instance targets need type NodePort or LoadBalancer"), "{message}");
}

#[test]
fn an_ip_target_group_on_a_numeric_target_port_has_that_port() {
    let mut svcs = services();
    svcs[0].spec.as_mut().expect("spec").ports.as_mut().expect("ports")[0].target_port = Some(IntOrString::Int(8080));
    let stack = build_with_slices(&[&web(&[("target-type", "ip")])], &svcs, &web_slices()).expect("builds");
    assert_eq!(stack.target_groups[0].port, 8080);
    // The named health-check port is the port's target port.
    let stack =
        build_with_slices(&[&web(&[("target-type", "ip"), ("healthcheck-port", "http")])], &svcs, &web_slices())
            .expect("builds");
    assert_eq!(stack.target_groups[0].health_check.port, HealthCheckPort::Port(8080));
}

/// The readiness-gate webhook names a pod's gates with `ip_target_group_names`: for the Services
/// it is given (those selecting the pod), the names the group's build gives their ip target
/// groups, whether a rule, the default backend or an `actions.<name>` forward sends to them.
#[test]
fn the_gate_names_are_the_built_ip_target_groups_names_of_the_services_given() {
    let forward = r#"{"type":"forward","forwardConfig":{"targetGroups":[
        {"serviceName":"web","servicePort":"http","weight":90},
        {"serviceName":"canary","servicePort":80,"weight":10}]}}"#;
    let mut split = annotated(&[("actions.split", forward), ("target-type", "ip")]);
    split.spec.as_mut().expect("spec").default_backend = Some(backend("api", "80"));
    let group = GroupId::Implicit { namespace: "shop".into(), name: "web".into() };
    let stack = built(&[&split]);
    let built_name = |service: &str, port: &str| {
        let id = format!("TargetGroup/shop/web/{service}:{port}");
        stack.target_groups.iter().find(|tg| tg.resource_id.as_str() == id).expect(&id).name.clone()
    };
    let all = services();
    let to = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<std::collections::BTreeSet<_>>();
    let mut expected = vec![built_name("web", "http"), built_name("canary", "80"), built_name("api", "80")];
    expected.sort();
    let named = ip_target_group_names(&split, &group, None, &all, &to(&["web", "canary", "api"]), &config());
    let mut named = named;
    named.sort();
    assert_eq!(named, expected);
    assert_eq!(
        ip_target_group_names(&split, &group, None, &all, &to(&["canary"]), &config()),
        [built_name("canary", "80")]
    );
    assert!(ip_target_group_names(&split, &group, None, &all, &to(&["static"]), &config()).is_empty(), "not a backend");
    // Instance mode (the default) has no gates, and IngressClassParams' targetType wins.
    let instance = annotated(&[("actions.split", forward)]);
    assert!(ip_target_group_names(&instance, &group, None, &all, &to(&["web"]), &config()).is_empty());
    let ip = IngressClassParamsSpec { target_type: Some(TargetType::Ip), ..Default::default() };
    assert_eq!(ip_target_group_names(&instance, &group, Some(&ip), &all, &to(&["web"]), &config()).len(), 1);
}

#[test]
fn listener_attributes_are_merged_per_listen_port_across_the_group() {
    let services = vec![service("a", "web", &[]), service("b", "web", &[])];
    let header = "routing.http.response.server.enabled";
    let one = member("a", "one", &[("listener-attributes.HTTP-80", &format!("{header}=false")[..])], "one.example.com");
    let two = member("b", "two", &[], "two.example.com");
    let stack = build_with(&[&one, &two], &services, None).expect("builds");
    assert_eq!(listener(&stack, 80).attributes, Attributes::from([(header.to_string(), "false".to_string())]));

    let agreeing =
        member("b", "two", &[("listener-attributes.HTTP-80", &format!("{header}=false")[..])], "two.example.com");
    assert!(build_with(&[&one, &agreeing], &services, None).is_ok(), "the same value twice");
    let other =
        member("b", "two", &[("listener-attributes.HTTP-80", &format!("{header}=true")[..])], "two.example.com");
    assert_eq!(
        build_with(&[&one, &other], &services, None).expect_err("conflict").to_string(),
        format!(
            "conflicting listener attribute {header} of listen port 80 in the Ingress group: a/one sets false, b/two sets true"
        )
    );
    let elsewhere =
        member("a", "one", &[("listener-attributes.HTTPS-443", &format!("{header}=false")[..])], "one.example.com");
    assert_eq!(
        build_with(&[&elsewhere], &services[..1], None).expect_err("no such port").to_string(),
        format!(
            "Ingress a/one: annotation alb.ingress.kubernetes.io/listener-attributes.HTTPS-443 has an invalid value \"{header}=false\": attributes of one of the Ingress's listen ports, named <protocol>-<port>; it has no listen port HTTPS-443 (its listen ports: HTTP-80)"
        )
    );
}

#[test]
fn ingress_class_params_name_redirect_listeners_prefix_lists_and_web_acl() {
    let cert = "arn:aws:acm:us-east-1:1:certificate/a";
    let header = "routing.http.response.server.enabled";
    let https_app = |extra: &[(&str, &str)]| {
        let mut annotations = vec![("listen-ports", r#"[{"HTTP": 80}, {"HTTPS": 443}]"#), ("certificate-arn", cert)];
        annotations.extend_from_slice(extra);
        web(&annotations)
    };
    let params = IngressClassParamsSpec {
        load_balancer_name: Some("platform-alb".into()),
        ssl_redirect_port: Some("443".into()),
        listeners: Some(vec![ListenerParams {
            protocol: "HTTPS".into(),
            port: 443,
            listener_attributes: vec![KeyValue { key: header.into(), value: "false".into() }],
        }]),
        prefix_lists_ids: Some(strings(&["pl-00ff", "pl-0123abcd"])),
        wafv2_acl_arn: Some(ACL_ARN.into()),
        ..Default::default()
    };
    let ingress = https_app(&[
        ("load-balancer-name", "mine"),
        (
            "listener-attributes.HTTPS-443",
            &format!("{header}=true,routing.http.response.x_frame_options.header_value=DENY"),
        ),
        ("security-group-prefix-lists", "pl-0aaa"),
        ("wafv2-acl-arn", "none"),
    ]);
    let stack = build_with(&[&ingress], &services(), Some(&params)).expect("builds");
    let lb = &stack.load_balancers[0];
    assert_eq!(lb.name, "platform-alb", "the class's name wins over the annotation");
    assert_eq!(
        lb.protection.wafv2,
        Some(Wafv2WebAcl::Arn(ACL_ARN.into())),
        "the class's ARN wins over an ARN annotation"
    );
    assert_eq!(
        listener(&stack, 80).default_actions[0],
        actions::redirect_to_https(443),
        "sslRedirectPort redirects without the annotation"
    );
    assert_eq!(
        listener(&stack, 443).attributes,
        Attributes::from([
            (header.to_string(), "false".to_string()),
            ("routing.http.response.x_frame_options.header_value".to_string(), "DENY".to_string()),
        ]),
        "the class wins key by key; the annotation's other keys stay"
    );
    let prefix_lists: Vec<(u16, &RuleSource)> = stack.security_groups[0]
        .ingress
        .iter()
        .filter(|r| matches!(r.source, RuleSource::PrefixList(_)))
        .map(|r| (r.from_port, &r.source))
        .collect();
    let (a, b) = (RuleSource::PrefixList("pl-00ff".into()), RuleSource::PrefixList("pl-0123abcd".into()));
    assert_eq!(
        prefix_lists,
        [(80, &a), (80, &b), (443, &a), (443, &b)],
        "prefixListsIDs replace the annotation's list on every port"
    );

    // The older spelling counts the same; both spellings at once is an error.
    let legacy = IngressClassParamsSpec { prefix_lists_ids_legacy: Some(strings(&["pl-0bbb"])), ..Default::default() };
    let stack = build_with(&[&web(&[])], &services(), Some(&legacy)).expect("legacy spelling");
    assert!(stack.security_groups[0].ingress.iter().any(|r| r.source == RuleSource::PrefixList("pl-0bbb".into())));
    let both = IngressClassParamsSpec { prefix_lists_ids: Some(strings(&["pl-0aaa"])), ..legacy.clone() };
    let refused = |params: IngressClassParamsSpec, ingress: &Ingress| {
        build_with(&[ingress], &services(), Some(&params)).expect_err("refused").to_string()
    };
    assert!(refused(both, &web(&[])).contains("one of the two spellings, not both"));

    // A name annotation wins over the class's ARN (LBC reads names first); the class's name wins over both.
    let named = refused_or_acl(&params, &https_app(&[("wafv2-acl-name", "shop")]));
    assert_eq!(named, Some(Wafv2WebAcl::Name("shop".into())));
    let class_name = IngressClassParamsSpec { wafv2_acl_name: Some("none".into()), ..params.clone() };
    assert_eq!(refused_or_acl(&class_name, &https_app(&[("wafv2-acl-name", "shop")])), Some(Wafv2WebAcl::None));

    // Bad values name the field.
    let bad = |params: IngressClassParamsSpec| refused(params, &https_app(&[]));
    let name = bad(IngressClassParamsSpec { load_balancer_name: Some("-bad".into()), ..Default::default() });
    assert!(name.starts_with("IngressClassParams field loadBalancerName has an invalid value \"-bad\""), "{name}");
    let port = bad(IngressClassParamsSpec { ssl_redirect_port: Some("https".into()), ..Default::default() });
    assert!(port.starts_with("IngressClassParams field sslRedirectPort has an invalid value \"https\""), "{port}");
    let http_port = bad(IngressClassParamsSpec { ssl_redirect_port: Some("80".into()), ..Default::default() });
    assert!(http_port.contains("which listens for HTTP, not HTTPS"), "{http_port}");
    let missing = bad(IngressClassParamsSpec {
        listeners: Some(vec![ListenerParams { protocol: "HTTPS".into(), port: 8443, listener_attributes: Vec::new() }]),
        ..Default::default()
    });
    assert_eq!(
        missing,
        "IngressClassParams field listeners has an invalid value \"HTTPS-8443\": a listener of the group, named by protocol and port; it has HTTP-80, HTTPS-443"
    );
    let protocol = bad(IngressClassParamsSpec {
        listeners: Some(vec![ListenerParams { protocol: "TCP".into(), port: 80, listener_attributes: Vec::new() }]),
        ..Default::default()
    });
    assert!(protocol.contains("protocol HTTP or HTTPS"), "{protocol}");
    let acl = bad(IngressClassParamsSpec { wafv2_acl_arn: Some("shop".into()), ..Default::default() });
    assert!(acl.starts_with("IngressClassParams field wafv2AclArn has an invalid value \"shop\""), "{acl}");
    let prefix = bad(IngressClassParamsSpec { prefix_lists_ids: Some(strings(&["sg-1"])), ..Default::default() });
    assert!(prefix.contains("managed prefix list ids"), "{prefix}");

    // The class's capacity reservation wins over the annotation's; 0 asks for none.
    let reserved = |units: i32| {
        let params = IngressClassParamsSpec {
            minimum_load_balancer_capacity: Some(MinimumCapacityParams { capacity_units: units }),
            ..Default::default()
        };
        let ingress = https_app(&[("minimum-load-balancer-capacity", "CapacityUnits=500")]);
        let stack = build_with(&[&ingress], &services(), Some(&params)).expect("builds");
        stack.load_balancers[0].tags.get(elbow_model::tags::CAPACITY_UNITS_TAG).cloned()
    };
    assert_eq!(reserved(1000).as_deref(), Some("1000"));
    assert_eq!(reserved(0), None);
    let negative = bad(IngressClassParamsSpec {
        minimum_load_balancer_capacity: Some(MinimumCapacityParams { capacity_units: -1 }),
        ..Default::default()
    });
    assert!(negative.starts_with("IngressClassParams field minimumLoadBalancerCapacity.capacityUnits"), "{negative}");

    // What Elbow does not implement is refused, never dropped.
    let ipam = bad(IngressClassParamsSpec {
        ipam_configuration: Some(IpamParams { ipv4_ipam_pool_id: Some("ipam-pool-1".into()) }),
        ..Default::default()
    });
    assert!(ipam.contains("ipamConfiguration (addresses from an IPAM pool) is not supported"), "{ipam}");
}

const ACL_ARN: &str = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shop/3ab78708-85b0-49d3-b4e1-7a9615a6613b";

fn refused_or_acl(params: &IngressClassParamsSpec, ingress: &Ingress) -> Option<Wafv2WebAcl> {
    let stack = build_with(&[ingress], &services(), Some(params)).expect("builds");
    stack.load_balancers[0].protection.wafv2.clone()
}

#[path = "protection_tests.rs"]
mod protection_tests;
