use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::annotations::SERVICE_PREFIX;
use crate::names;
use crate::nodes::tests::{borrowed, node};
use elbow_model::inventory::{Instance, SecurityGroup, Subnet};

const UID: &str = "bdca2bd0-bfc6-449a-88a3-03451f05f18c";

fn config() -> BuildConfig {
    BuildConfig::new("my-cluster")
}

fn inventory() -> CloudInventory {
    let subnet = |id: &str, zone: &str, role: &str| Subnet {
        id: id.into(),
        availability_zone: zone.into(),
        cidr_block: "10.0.0.0/24".into(),
        tags: Tags::from([(role.to_string(), "1".to_string()), ("Name".to_string(), format!("{id}-name"))]),
    };
    CloudInventory {
        vpc_id: "vpc-1".into(),
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
        ],
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

fn service(annotations: &[(&str, &str)]) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some("nlb-ip-svc-tls".into()),
            namespace: Some("default".into()),
            uid: Some(UID.into()),
            annotations: Some(
                annotations.iter().map(|(k, v)| (format!("{SERVICE_PREFIX}{k}"), v.to_string())).collect(),
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
    build_service_stack(service, &borrowed(&nodes()), &inventory(), &config())
}

fn built(annotations: &[(&str, &str)]) -> Stack {
    build(&service(annotations)).unwrap_or_else(|e| panic!("{annotations:?}: {e}"))
}

fn error(annotations: &[(&str, &str)]) -> String {
    build(&service(annotations)).expect_err("a user error").to_string()
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
fn a_plain_service_gets_an_internet_facing_nlb_on_its_node_port() {
    let stack = built(&[]);
    let lb = &stack.load_balancers[0];
    assert_eq!(lb.name, names::load_balancer_name("my-cluster", "default", "nlb-ip-svc-tls", UID, "internet-facing"));
    assert_eq!(lb.lb_type, LoadBalancerType::Network);
    assert_eq!(lb.scheme, Scheme::InternetFacing);
    assert_eq!(lb.subnets, ["subnet-a", "subnet-b"]);
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
    assert_eq!(
        tg.targets,
        [Target { id: "i-1".into(), port: 31000 }, Target { id: "i-2".into(), port: 31000 }],
        "Ready nodes only"
    );
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
fn external_traffic_policy_local_checks_kube_proxy_healthz() {
    let mut svc = service(&[]);
    let spec = svc.spec.as_mut().expect("spec");
    spec.external_traffic_policy = Some("Local".into());
    spec.health_check_node_port = Some(32100);
    let stack = build(&svc).expect("built");
    assert_eq!(
        stack.target_groups[0].health_check,
        HealthCheck {
            protocol: Protocol::Http,
            port: HealthCheckPort::Port(32100),
            path: Some("/healthz".into()),
            interval_seconds: 10,
            timeout_seconds: 6,
            healthy_threshold_count: 2,
            unhealthy_threshold_count: 2,
            matcher: Some("200-399".into())
        }
    );
    let ports: Vec<u16> = stack.node_security_group_rules.iter().map(|r| r.rule.from_port).collect();
    assert_eq!(ports, [31000, 32100], "the health-check port is opened too");
}

#[test]
fn scheme_annotations() {
    let internal = |a: &[(&str, &str)]| built(a).load_balancers[0].scheme;
    assert_eq!(internal(&[("scheme", "internal")]), Scheme::Internal);
    assert_eq!(internal(&[("internal", "true")]), Scheme::Internal);
    assert_eq!(internal(&[("internal", "true"), ("scheme", "internet-facing")]), Scheme::InternetFacing, "scheme wins");
    assert_eq!(built(&[("scheme", "internal")]).load_balancers[0].subnets, ["subnet-i"], "internal subnets");
    assert!(error(&[("scheme", "public")]).contains("aws-load-balancer-scheme"));
    let mut config = config();
    config.default_scheme = Scheme::Internal;
    let stack = build_service_stack(&service(&[]), &borrowed(&nodes()), &inventory(), &config).expect("built");
    assert_eq!(stack.load_balancers[0].scheme, Scheme::Internal);
}

#[test]
fn type_and_target_type_annotations() {
    assert!(build(&service(&[("type", "external")])).is_ok());
    assert!(build(&service(&[("type", "nlb")])).is_ok());
    assert!(build(&service(&[("nlb-target-type", "instance")])).is_ok());
    assert!(error(&[("type", "nlb-ip")]).contains("not supported yet"));
    assert!(error(&[("nlb-target-type", "ip")]).contains("not supported yet"));
    assert!(error(&[("nlb-target-type", "pod")]).contains("instance or ip"));
    assert!(error(&[("type", "clb")]).contains("external or nlb"));
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

#[test]
fn tls_annotations() {
    let mut svc = service(&[("ssl-cert", "arn:cert/1,arn:cert/2"), ("ssl-ports", "443")]);
    svc.spec.as_mut().expect("spec").ports = Some(vec![port(80, "TCP", Some(31000)), port(443, "TCP", Some(31443))]);
    let stack = build(&svc).expect("built");
    let by_port: BTreeMap<u16, &ListenerSpec> = stack.listeners.iter().map(|l| (l.port, l)).collect();
    assert_eq!(by_port[&80].protocol, Protocol::Tcp);
    assert_eq!(by_port[&443].protocol, Protocol::Tls);
    assert_eq!(by_port[&443].certificates, ["arn:cert/1", "arn:cert/2"]);
    assert_eq!(by_port[&443].ssl_policy.as_deref(), Some("ELBSecurityPolicy-2016-08"));
    assert_eq!(
        stack.target_groups.iter().find(|t| t.port == 31443).expect("tg").protocol,
        Protocol::Tcp,
        "plain to the targets"
    );

    let all = built(&[
        ("ssl-cert", "arn:cert/1"),
        ("ssl-negotiation-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
        ("backend-protocol", "ssl"),
    ]);
    assert_eq!(all.listeners[0].protocol, Protocol::Tls, "every port without ssl-ports");
    assert_eq!(all.listeners[0].ssl_policy.as_deref(), Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
    assert_eq!(all.target_groups[0].protocol, Protocol::Tls, "backend-protocol ssl");
    assert!(error(&[("backend-protocol", "http")]).contains("tcp or ssl"));

    // ssl-ports names ports by number or by name; `*` means every port.
    for ssl_ports in ["p443tcp", "*", "443, 8443"] {
        let mut svc = service(&[("ssl-cert", "arn:cert/1"), ("ssl-ports", ssl_ports)]);
        svc.spec.as_mut().expect("spec").ports =
            Some(vec![port(80, "TCP", Some(31000)), port(443, "TCP", Some(31443))]);
        let stack = build(&svc).expect("built");
        let tls: Vec<u16> = stack.listeners.iter().filter(|l| l.protocol == Protocol::Tls).map(|l| l.port).collect();
        let expected: &[u16] = if ssl_ports == "*" { &[80, 443] } else { &[443] };
        assert_eq!(tls, expected, "ssl-ports {ssl_ports}");
    }
    let plain = built(&[("ssl-ports", "80")]);
    assert_eq!(plain.listeners[0].protocol, Protocol::Tcp, "ssl-ports alone, without ssl-cert, changes nothing");
}

#[test]
fn health_check_annotations() {
    let stack = built(&[
        ("healthcheck-protocol", "HTTP"),
        ("healthcheck-port", "8081"),
        ("healthcheck-path", "/ready"),
        ("healthcheck-interval", "30"),
        ("healthcheck-timeout", "5"),
        ("healthcheck-healthy-threshold", "4"),
        ("healthcheck-unhealthy-threshold", "5"),
        ("healthcheck-success-codes", "200-299"),
    ]);
    assert_eq!(
        stack.target_groups[0].health_check,
        HealthCheck {
            protocol: Protocol::Http,
            port: HealthCheckPort::Port(8081),
            path: Some("/ready".into()),
            interval_seconds: 30,
            timeout_seconds: 5,
            healthy_threshold_count: 4,
            unhealthy_threshold_count: 5,
            matcher: Some("200-299".into())
        }
    );
    assert_eq!(built(&[("healthcheck-protocol", "http")]).target_groups[0].health_check.path.as_deref(), Some("/"));
    for (annotation, value) in [
        ("healthcheck-protocol", "udp"),
        ("healthcheck-port", "0"),
        ("healthcheck-path", "ready"),
        ("healthcheck-interval", "1"),
        ("healthcheck-timeout", "x"),
        ("healthcheck-healthy-threshold", "11"),
        ("healthcheck-unhealthy-threshold", "1"),
        ("healthcheck-success-codes", "2xx"),
    ] {
        assert!(error(&[(annotation, value)]).contains(annotation), "{annotation}={value}");
    }
}

#[test]
fn attribute_annotations() {
    let stack = built(&[
        ("target-group-attributes", "deregistration_delay.timeout_seconds=30"),
        ("proxy-protocol", "*"),
        ("access-log-enabled", "true"),
        ("access-log-s3-bucket-name", "logs"),
        ("access-log-s3-bucket-prefix", "nlb"),
        ("cross-zone-load-balancing-enabled", "true"),
        (
            "attributes",
            "load_balancing.cross_zone.enabled=false,access_logs.s3.bucket=other,deletion_protection.enabled=true",
        ),
    ]);
    let tg = &stack.target_groups[0].attributes;
    assert_eq!(tg.get("deregistration_delay.timeout_seconds").map(String::as_str), Some("30"));
    assert_eq!(tg.get("proxy_protocol_v2.enabled").map(String::as_str), Some("true"));
    let lb = &stack.load_balancers[0].attributes;
    assert_eq!(lb.get("access_logs.s3.enabled").map(String::as_str), Some("true"));
    assert_eq!(lb.get("access_logs.s3.bucket").map(String::as_str), Some("logs"));
    assert_eq!(lb.get("access_logs.s3.prefix").map(String::as_str), Some("nlb"));
    assert_eq!(
        lb.get("load_balancing.cross_zone.enabled").map(String::as_str),
        Some("true"),
        "the deprecated annotation wins, as in LBC"
    );
    assert_eq!(lb.get("deletion_protection.enabled").map(String::as_str), Some("true"));
    let disabled = built(&[("access-log-enabled", "false"), ("access-log-s3-bucket-name", "logs")]);
    assert!(disabled.load_balancers[0].attributes.is_empty(), "bucket names count only with access logs on");
    assert!(error(&[("proxy-protocol", "v2")]).contains("proxy-protocol"));
    assert!(error(&[("attributes", "nonsense")]).contains("key=value"));
}

#[test]
fn tags_cannot_override_ownership() {
    let mut config = config();
    config.default_tags =
        Tags::from([("env".to_string(), "prod".to_string()), ("team".to_string(), "platform".to_string())]);
    let svc = service(&[("additional-resource-tags", "team=web,elbow.dev/cluster=evil")]);
    let stack = build_service_stack(&svc, &borrowed(&nodes()), &inventory(), &config).expect("built");
    for tags in [&stack.load_balancers[0].tags, &stack.target_groups[0].tags, &stack.security_groups[0].tags] {
        assert_eq!(tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(tags.get("team").map(String::as_str), Some("web"), "the annotation wins over defaults");
        assert_eq!(tags.get("elbow.dev/cluster").map(String::as_str), Some("my-cluster"));
    }
}

#[test]
fn security_group_annotations() {
    let own = built(&[("security-groups", "sg-1,sg-2")]);
    assert_eq!(
        own.load_balancers[0].security_groups,
        [SecurityGroupRef::Existing("sg-1".into()), SecurityGroupRef::Existing("sg-2".into())]
    );
    assert!(own.security_groups.is_empty(), "no managed frontend");
    assert!(own.node_security_group_rules.is_empty(), "backend rules off by default with own groups");
    let managed = built(&[("security-groups", "sg-1"), ("manage-backend-security-group-rules", "true")]);
    assert!(managed.load_balancers[0].security_groups.contains(&SecurityGroupRef::SharedBackend));
    assert_eq!(managed.node_security_group_rules.len(), 1);
    let message = error(&[("security-groups", "sg-1,web-lb")]);
    assert!(message.contains("aws-load-balancer-security-groups") && message.contains("sg-..."), "{message}");
    let off = built(&[("manage-backend-security-group-rules", "false")]);
    assert!(off.node_security_group_rules.is_empty());
}

#[test]
fn source_ranges_come_from_the_spec_then_the_annotation() {
    let sources = |stack: &Stack| stack.security_groups[0].ingress.iter().map(|r| r.source.clone()).collect::<Vec<_>>();
    let annotated = built(&[("load-balancer-source-ranges", "10.0.0.0/8, 192.168.0.0/16")]);
    assert_eq!(
        sources(&annotated),
        [RuleSource::CidrIpv4("10.0.0.0/8".into()), RuleSource::CidrIpv4("192.168.0.0/16".into())]
    );
    let mut svc = service(&[("load-balancer-source-ranges", "10.0.0.0/8")]);
    svc.spec.as_mut().expect("spec").load_balancer_source_ranges = Some(vec!["172.16.0.0/12".into()]);
    assert_eq!(sources(&build(&svc).expect("built")), [RuleSource::CidrIpv4("172.16.0.0/12".into())]);
    let message = error(&[("load-balancer-source-ranges", "10.0.0.0/8,10.0.0.0")]);
    assert!(
        message.contains("aws-load-balancer-load-balancer-source-ranges") && message.contains("10.0.0.0"),
        "{message}"
    );
    let mut bad_spec = service(&[]);
    bad_spec.spec.as_mut().expect("spec").load_balancer_source_ranges = Some(vec!["everywhere".into()]);
    assert_eq!(build(&bad_spec), Err(BuildError::InvalidSourceRange("everywhere".into())));
}

#[test]
fn prefix_lists_are_admitted_alone_or_next_to_the_source_ranges() {
    let sources = |stack: &Stack| stack.security_groups[0].ingress.iter().map(|r| r.source.clone()).collect::<Vec<_>>();
    let prefix_list = |id: &str| RuleSource::PrefixList(id.into());
    // Prefix lists and no source ranges: only the prefix lists, not the world.
    let alone = built(&[("security-group-prefix-lists", "pl-0123abcd, pl-00ff,pl-0123abcd")]);
    assert_eq!(sources(&alone), [prefix_list("pl-00ff"), prefix_list("pl-0123abcd")]);
    assert!(alone.security_groups[0].ingress.iter().all(|r| (r.ip_protocol.as_str(), r.from_port) == ("tcp", 80)));
    let both = built(&[("security-group-prefix-lists", "pl-0123abcd"), ("load-balancer-source-ranges", "10.0.0.0/8")]);
    assert_eq!(sources(&both), [RuleSource::CidrIpv4("10.0.0.0/8".into()), prefix_list("pl-0123abcd")]);
    let dualstack = built(&[("security-group-prefix-lists", "pl-0123abcd"), ("ip-address-type", "dualstack")]);
    assert_eq!(sources(&dualstack), [prefix_list("pl-0123abcd")]);
    for bad in ["sg-0123abcd", "pl-XYZ", "pl-", " , "] {
        let message = error(&[("security-group-prefix-lists", bad)]);
        assert!(message.contains("aws-load-balancer-security-group-prefix-lists"), "{bad}: {message}");
    }
}

#[test]
fn target_node_labels_narrow_the_targets() {
    let mut labelled = nodes();
    labelled[1].metadata.labels.get_or_insert_default().insert("pool".into(), "web".into());
    let svc = service(&[("target-node-labels", "pool=web")]);
    let stack = build_service_stack(&svc, &borrowed(&labelled), &inventory(), &config()).expect("built");
    assert_eq!(stack.target_groups[0].targets, [Target { id: "i-2".into(), port: 31000 }]);
}

#[test]
fn tcp_and_udp_on_one_port_share_a_tcp_udp_listener() {
    let mut svc = service(&[]);
    svc.spec.as_mut().expect("spec").ports = Some(vec![port(53, "TCP", Some(30053)), port(53, "UDP", Some(30053))]);
    let stack = build(&svc).expect("built");
    assert_eq!(stack.listeners.len(), 1);
    assert_eq!(stack.listeners[0].protocol, Protocol::TcpUdp);
    assert_eq!(stack.target_groups[0].protocol, Protocol::TcpUdp);
    let protocols: Vec<&str> = stack.node_security_group_rules.iter().map(|r| r.rule.ip_protocol.as_str()).collect();
    assert_eq!(protocols, ["tcp", "udp"]);

    svc.spec.as_mut().expect("spec").ports = Some(vec![port(53, "TCP", Some(30053)), port(53, "UDP", Some(30054))]);
    assert!(matches!(build(&svc), Err(BuildError::MixedProtocolNodePorts { port: 53 })));
}

#[test]
fn bad_ports_are_user_errors() {
    let with_ports = |ports: Vec<ServicePort>| {
        let mut svc = service(&[]);
        svc.spec.as_mut().expect("spec").ports = Some(ports);
        build(&svc)
    };
    assert!(matches!(with_ports(vec![port(80, "TCP", None)]), Err(BuildError::MissingNodePort { port: 80, .. })));
    assert!(matches!(with_ports(vec![port(80, "SCTP", Some(31000))]), Err(BuildError::UnsupportedProtocol { .. })));
    assert!(matches!(with_ports(vec![]), Err(BuildError::NoPorts)));
    assert_eq!(with_ports(vec![port(70000, "TCP", Some(31000))]), Err(BuildError::InvalidPort(70000)));
    let message = with_ports(vec![port(80, "TCP", None)]).expect_err("no node port").to_string();
    assert!(message.contains("allocateLoadBalancerNodePorts"), "{message}");
}

#[test]
fn ambiguous_node_groups_are_reported() {
    let mut inv = inventory();
    inv.security_groups[0].tags.clear();
    let error = build_service_stack(&service(&[]), &borrowed(&nodes()), &inv, &config()).expect_err("ambiguous");
    assert!(matches!(error, BuildError::AmbiguousNodeSecurityGroup { .. }), "{error}");
    inv.instances.iter_mut().for_each(|i| i.security_groups = vec!["sg-only".into()]);
    let stack = build_service_stack(&service(&[]), &borrowed(&nodes()), &inv, &config()).expect("the only group");
    assert_eq!(stack.node_security_group_rules[0].group_id, "sg-only");
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
    let local = lbc_service("app", "traffic-local", &[("type", "external"), ("nlb-target-type", "instance")], true);
    assert_eq!(
        names(&local),
        ["k8s-app-trafficl-2af705447d", "k8s-app-trafficl-d2b8571b2f", "k8s-app-trafficl-4be0ac1fb8"]
    );
}

#[test]
fn udp_target_groups_open_tcp_for_their_health_check() {
    let mut svc = service(&[]);
    svc.spec.as_mut().expect("spec").ports = Some(vec![port(514, "UDP", Some(30514))]);
    let stack = build(&svc).expect("built");
    assert_eq!(stack.listeners[0].protocol, Protocol::Udp);
    let rules: Vec<(&str, u16)> =
        stack.node_security_group_rules.iter().map(|r| (r.rule.ip_protocol.as_str(), r.rule.from_port)).collect();
    assert_eq!(rules, [("tcp", 30514), ("udp", 30514)], "the TCP health check reaches the traffic port");
    let ids: Vec<&str> = stack.node_security_group_rules.iter().map(|r| r.resource_id.as_str()).collect();
    assert_eq!(ids, ["NodeRule/sg-nodes/tcp/30514", "NodeRule/sg-nodes/udp/30514"]);
}

#[test]
fn a_named_health_check_port_means_that_ports_node_port() {
    let mut svc = service(&[("healthcheck-port", "status")]);
    let mut status = port(8081, "TCP", Some(31081));
    status.name = Some("status".into());
    svc.spec.as_mut().expect("spec").ports = Some(vec![port(80, "TCP", Some(31000)), status]);
    let stack = build(&svc).expect("built");
    for tg in &stack.target_groups {
        assert_eq!(tg.health_check.port, HealthCheckPort::Port(31081), "{}", tg.resource_id);
    }
    let message = error(&[("healthcheck-port", "nope")]);
    assert!(message.contains("aws-load-balancer-healthcheck-port") && message.contains("nope"), "{message}");
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
