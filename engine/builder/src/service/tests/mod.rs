use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::names;
use crate::nodes::tests::{borrowed, node};
use elbow_model::inventory::{Instance, SecurityGroup, Subnet};
use elbow_model::tags::Tags;

const UID: &str = "bdca2bd0-bfc6-449a-88a3-03451f05f18c";

fn config() -> BuildConfig {
    BuildConfig::new("my-cluster")
}

fn inventory() -> CloudInventory {
    let subnet = |id: &str, zone: &str, role: &str| Subnet {
        id: id.into(),
        availability_zone: zone.into(),
        cidr_block: "10.0.0.0/24".into(),
        ipv6_cidr_blocks: Vec::new(),
        tags: Tags::from([(role.to_string(), "1".to_string()), ("Name".to_string(), format!("{id}-name"))]),
    };
    CloudInventory {
        vpc_id: "vpc-1".into(),
        certificates: Vec::new(),
        subnets: vec![
            subnet("subnet-a", "us-east-1a", "kubernetes.io/role/elb"),
            subnet("subnet-b", "us-east-1b", "kubernetes.io/role/elb"),
            subnet("subnet-i", "us-east-1a", "kubernetes.io/role/internal-elb"),
        ],
        instances: ["i-1", "i-2", "i-3"]
            .iter()
            .map(|id| Instance {
                id: id.to_string(),
                availability_zone: "us-east-1a".into(),
                security_groups: vec!["sg-nodes".into(), "sg-extra".into()],
            })
            .collect(),
        security_groups: vec![
            SecurityGroup {
                id: "sg-nodes".into(),
                group_name: "nodes".into(),
                tags: Tags::from([("kubernetes.io/cluster/my-cluster".to_string(), "owned".to_string())]),
            },
            SecurityGroup { id: "sg-extra".into(), group_name: "extra".into(), tags: Tags::new() },
            named_group("sg-web", "web-lb"),
            named_group("sg-twin1", "twin"),
            named_group("sg-twin2", "twin"),
        ],
    }
}

/// A group found by its `Name` tag, as the controllers add those an annotation names.
fn named_group(id: &str, name: &str) -> SecurityGroup {
    SecurityGroup {
        id: id.into(),
        group_name: format!("{name}-group"),
        tags: Tags::from([("Name".into(), name.into())]),
    }
}

fn nodes() -> Vec<Node> {
    vec![node("n1", "i-1", "True"), node("n2", "i-2", "True"), node("n3", "i-3", "False")]
}

fn port(port: i32, protocol: &str, node_port: Option<i32>) -> ServicePort {
    ServicePort {
        name: Some(format!("p{port}{}", protocol.to_lowercase())),
        port,
        protocol: Some(protocol.into()),
        node_port,
        target_port: Some(IntOrString::Int(8080)),
        ..Default::default()
    }
}

/// LBC's own Service annotations, as the tests name them by what follows.
const LBC: &str = "service.beta.kubernetes.io/aws-load-balancer-";

/// A Service with `annotations`: a key with a `/` is written as it is, any other is an
/// `aws-load-balancer-` one.
fn service(annotations: &[(&str, &str)]) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some("nlb-ip-svc-tls".into()),
            namespace: Some("default".into()),
            uid: Some(UID.into()),
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| {
                        let key = if k.contains('/') { k.to_string() } else { format!("{LBC}{k}") };
                        (key, v.to_string())
                    })
                    .collect(),
            ),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ports: Some(vec![port(80, "TCP", Some(31000))]),
            ..Default::default()
        }),
        status: None,
    }
}

fn build(service: &Service) -> Result<Stack, BuildError> {
    build_service_stack(service, &borrowed(&nodes()), &[], &crate::endpoints::NoPodFacts, &inventory(), &config())
}

fn built(annotations: &[(&str, &str)]) -> Stack {
    build(&service(annotations)).unwrap_or_else(|e| panic!("{annotations:?}: {e}"))
}

fn error(annotations: &[(&str, &str)]) -> String {
    build(&service(annotations)).expect_err("a user error").to_string()
}

mod addresses;
mod annotations;
mod attributes;
mod health;
mod ip_targets;
mod listeners;
mod quic;
mod security;
mod target_groups;

#[test]
fn class_less_services_marked_for_lbc_are_left_to_it_unless_taken_over() {
    let config = config();
    for (key, value) in [
        ("service.beta.kubernetes.io/aws-load-balancer-type", "external"),
        ("service.beta.kubernetes.io/aws-load-balancer-type", "nlb-ip"),
    ] {
        let marked = service(&[(key, value)]);
        assert!(!is_ours(&marked, &config), "{key}: {value} is LBC's");
        let taking_over = BuildConfig { take_over_lbc_services: true, ..config.clone() };
        assert!(is_ours(&marked, &taking_over), "{key}: {value} is ours once taken over");
        let mut classed = marked.clone();
        classed.spec.as_mut().expect("spec").load_balancer_class = Some("elbow.dev/nlb".into());
        assert!(is_ours(&classed, &config), "Elbow's class wins over the marker");
    }
    let plain_nlb = service(&[("service.beta.kubernetes.io/aws-load-balancer-type", "nlb")]);
    assert!(is_ours(&plain_nlb, &config), "nlb is no LBC marker: the cloud provider's value");
}

#[test]
fn selection_by_type_and_class() {
    let mut config = config();
    let mut svc = service(&[]);
    assert!(is_ours(&svc, &config), "class-less while default");
    config.default_load_balancer = false;
    assert!(!is_ours(&svc, &config), "class-less while not default");
    svc.spec.as_mut().expect("spec").load_balancer_class = Some("elbow.dev/nlb".into());
    assert!(is_ours(&svc, &config));
    svc.spec.as_mut().expect("spec").load_balancer_class = Some("service.k8s.aws/nlb".into());
    assert!(!is_ours(&svc, &config), "a foreign class is never ours");
    let mut cluster_ip = service(&[]);
    cluster_ip.spec.as_mut().expect("spec").type_ = Some("ClusterIP".into());
    assert!(!is_ours(&cluster_ip, &BuildConfig::new("c")));
    let mut deleting = service(&[]);
    deleting.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
    assert!(!is_ours(&deleting, &BuildConfig::new("c")), "a Service being deleted is only cleaned up");
    assert_eq!(stack_id(&svc).as_str(), "default/nlb-ip-svc-tls");
}

#[test]
fn a_plain_service_gets_an_internal_nlb_on_its_node_port() {
    let stack = built(&[]);
    let lb = &stack.load_balancers[0];
    assert_eq!(lb.name, names::load_balancer_name("my-cluster", "default", "nlb-ip-svc-tls", UID, "internal"));
    assert_eq!(lb.lb_type, LoadBalancerType::Network);
    assert_eq!(lb.scheme, Scheme::Internal, "the default scheme is internal, as LBC's");
    assert_eq!(lb.subnets, ["subnet-i"]);
    assert_eq!(
        lb.security_groups,
        [SecurityGroupRef::Managed(ResourceId::new("SecurityGroup/frontend")), SecurityGroupRef::SharedBackend]
    );
    assert_eq!(lb.tags.get("elbow.dev/cluster").map(String::as_str), Some("my-cluster"));
    assert_eq!(lb.tags.get("elbow.dev/stack").map(String::as_str), Some("default/nlb-ip-svc-tls"));

    let tg = &stack.target_groups[0];
    assert_eq!(tg.port, 31000);
    assert_eq!(tg.protocol, Protocol::Tcp);
    assert_eq!(tg.target_type, TargetType::Instance);
    assert_eq!(
        tg.name,
        names::target_group_name(
            "my-cluster",
            "default",
            "nlb-ip-svc-tls",
            UID,
            31000,
            "80",
            "instance",
            "TCP",
            "TCP",
            10
        )
    );
    assert_eq!(tg.targets, [Target::new("i-1", 31000), Target::new("i-2", 31000)], "Ready nodes only");
    assert_eq!(
        tg.health_check,
        HealthCheck {
            protocol: Protocol::Tcp,
            port: HealthCheckPort::TrafficPort,
            path: None,
            interval_seconds: 10,
            timeout_seconds: 10,
            healthy_threshold_count: 3,
            unhealthy_threshold_count: 3,
            matcher: None
        }
    );
    let listener = &stack.listeners[0];
    assert_eq!((listener.port, listener.protocol), (80, Protocol::Tcp));
    assert_eq!(listener.default_actions, [Action::forward(tg.resource_id.clone())]);

    let frontend = &stack.security_groups[0];
    assert_eq!(frontend.ingress.len(), 1);
    assert_eq!(frontend.ingress[0].source, RuleSource::CidrIpv4("0.0.0.0/0".into()));
    assert_eq!(frontend.ingress[0].from_port, 80);
    let rules: Vec<_> =
        stack.node_security_group_rules.iter().map(|r| (r.group_id.as_str(), r.rule.from_port)).collect();
    assert_eq!(rules, [("sg-nodes", 31000)], "the cluster-tagged group of the nodes");
}

#[test]
fn the_build_is_deterministic() {
    assert_eq!(built(&[]), built(&[]));
}

#[test]
fn scheme_annotations() {
    let internal = |a: &[(&str, &str)]| built(a).load_balancers[0].scheme;
    assert_eq!(internal(&[("scheme", "internal")]), Scheme::Internal);
    assert_eq!(internal(&[("internal", "true")]), Scheme::Internal);
    assert_eq!(internal(&[("internal", "true"), ("scheme", "internet-facing")]), Scheme::InternetFacing, "scheme wins");
    assert_eq!(internal(&[("internal", "false")]), Scheme::InternetFacing);
    assert_eq!(built(&[("scheme", "internal")]).load_balancers[0].subnets, ["subnet-i"], "internal subnets");
    assert_eq!(built(&[("scheme", "internet-facing")]).load_balancers[0].subnets, ["subnet-a", "subnet-b"]);
    assert!(error(&[("scheme", "public")]).contains("aws-load-balancer-scheme"));
    let mut config = config();
    config.default_scheme = Scheme::InternetFacing;
    let stack = build_service_stack(
        &service(&[]),
        &borrowed(&nodes()),
        &[],
        &crate::endpoints::NoPodFacts,
        &inventory(),
        &config,
    )
    .expect("built");
    assert_eq!(stack.load_balancers[0].scheme, Scheme::InternetFacing, "--default-scheme");
}

#[test]
fn type_and_target_type_annotations() {
    assert!(build(&service(&[("type", "external")])).is_ok());
    assert!(build(&service(&[("type", "nlb")])).is_ok());
    assert!(build(&service(&[("nlb-target-type", "instance")])).is_ok());
    let target_type = |annotations: &[(&str, &str)]| {
        let stack = built(annotations);
        let ip = stack.target_groups[0].target_type == TargetType::Ip;
        assert_eq!(uses_ip_targets(&service(annotations)), ip, "{annotations:?}: the watch's view of the Service");
        stack.target_groups[0].target_type
    };
    assert_eq!(target_type(&[]), TargetType::Instance);
    assert_eq!(target_type(&[("nlb-target-type", "instance")]), TargetType::Instance);
    assert_eq!(target_type(&[("nlb-target-type", "ip")]), TargetType::Ip);
    assert_eq!(target_type(&[("type", "nlb-ip")]), TargetType::Ip);
    assert_eq!(target_type(&[("type", "nlb-ip"), ("nlb-target-type", "instance")]), TargetType::Ip, "nlb-ip wins");
    assert_eq!(target_type(&[("type", "external"), ("nlb-target-type", "ip")]), TargetType::Ip);
    assert!(error(&[("nlb-target-type", "pod")]).contains("instance or ip"));
    assert!(error(&[("type", "clb")]).contains("external, nlb or nlb-ip"));
}

#[test]
fn name_and_ip_address_type_annotations() {
    assert_eq!(built(&[("name", "my-nlb")]).load_balancers[0].name, "my-nlb");
    assert!(error(&[("name", &"x".repeat(33))]).contains("invalid"));
    let dual = built(&[("ip-address-type", "dualstack")]);
    assert_eq!(dual.load_balancers[0].ip_address_type, IpAddressType::Dualstack);
    let sources: Vec<_> = dual.security_groups[0].ingress.iter().map(|r| r.source.clone()).collect();
    assert!(sources.contains(&RuleSource::CidrIpv6("::/0".into())), "{sources:?}");
    assert!(error(&[("ip-address-type", "ipv6")]).contains("ipv4 or dualstack"));
}

#[test]
fn subnets_annotation_takes_ids_or_names() {
    assert_eq!(built(&[("subnets", "subnet-b, subnet-i-name")]).load_balancers[0].subnets, ["subnet-b", "subnet-i"]);
    assert!(error(&[("subnets", "subnet-404")]).contains("subnet-404"));
}

/// LBC's own instance-mode fixtures (its model builder tests), built end to end: the load balancer
/// and target group names must be the ones LBC gives the same Services, so a migration keeps them.
#[test]
fn lbc_instance_mode_fixtures_get_lbc_names() {
    const LBC_UID: &str = "2dc098f0-ae33-4378-af7b-83e2a0424495";
    let lbc_service = |namespace: &str, name: &str, annotations: &[(&str, &str)], local: bool| {
        let mut svc = service(annotations);
        svc.metadata.namespace = Some(namespace.into());
        svc.metadata.name = Some(name.into());
        svc.metadata.uid = Some(LBC_UID.into());
        let spec = svc.spec.as_mut().expect("spec");
        let mut alt = port(83, "TCP", Some(32323));
        alt.target_port = Some(IntOrString::Int(8883));
        spec.ports = Some(vec![port(80, "TCP", Some(31223)), alt]);
        if local {
            spec.external_traffic_policy = Some("Local".into());
            spec.health_check_node_port = Some(29123);
        }
        build(&svc).expect("built")
    };
    let names = |stack: &Stack| {
        let mut names = vec![stack.load_balancers[0].name.clone()];
        names.extend(stack.target_groups.iter().map(|tg| tg.name.clone()));
        names
    };
    let cluster_mode = lbc_service(
        "default",
        "instance-mode",
        &[("type", "external"), ("nlb-target-type", "instance"), ("scheme", "internal")],
        false,
    );
    assert_eq!(
        names(&cluster_mode),
        ["k8s-default-instance-7ca1de7e6c", "k8s-default-instance-0c68c79423", "k8s-default-instance-c200165858"]
    );
    // LBC's fixture reuses an existing internet-facing load balancer, whose scheme LBC keeps.
    let local = lbc_service(
        "app",
        "traffic-local",
        &[("type", "external"), ("nlb-target-type", "instance"), ("scheme", "internet-facing")],
        true,
    );
    assert_eq!(
        names(&local),
        ["k8s-app-trafficl-2af705447d", "k8s-app-trafficl-d2b8571b2f", "k8s-app-trafficl-4be0ac1fb8"]
    );
}

#[test]
fn resource_ids_follow_the_documented_scheme() {
    let mut svc = service(&[]);
    svc.spec.as_mut().expect("spec").ports = Some(vec![port(443, "TCP", Some(31443)), port(80, "TCP", Some(31000))]);
    let stack = build(&svc).expect("built");
    let ids = |ids: Vec<&ResourceId>| ids.into_iter().map(|id| id.as_str().to_string()).collect::<Vec<_>>();
    assert_eq!(ids(stack.load_balancers.iter().map(|r| &r.resource_id).collect()), ["LoadBalancer"]);
    assert_eq!(ids(stack.listeners.iter().map(|r| &r.resource_id).collect()), ["Listener/80", "Listener/443"]);
    assert_eq!(
        ids(stack.target_groups.iter().map(|r| &r.resource_id).collect()),
        ["TargetGroup/80", "TargetGroup/443"]
    );
    assert_eq!(ids(stack.security_groups.iter().map(|r| &r.resource_id).collect()), ["SecurityGroup/frontend"]);
    assert_eq!(
        ids(stack.node_security_group_rules.iter().map(|r| &r.resource_id).collect()),
        ["NodeRule/sg-nodes/tcp/31000", "NodeRule/sg-nodes/tcp/31443"]
    );
    for tg in &stack.target_groups {
        assert_eq!(tg.tags.get("elbow.dev/resource"), Some(&tg.resource_id.0), "the resource tag is the id");
    }
}
