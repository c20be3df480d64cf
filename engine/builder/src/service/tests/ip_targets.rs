//! ip mode: pods from the Service's EndpointSlices as targets, on their own ports.

use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::*;
use crate::endpoints::tests::{compact, endpoint, slice};

/// The test Service in ip mode, its port 80 (`p80tcp`) sending to `target_port`.
fn ip_service(target_port: IntOrString) -> Service {
    let mut svc = service(&[("nlb-target-type", "ip")]);
    svc.spec.as_mut().expect("spec").ports.as_mut().expect("ports")[0].target_port = Some(target_port);
    svc
}

fn build_ip(svc: &Service, slices: &[EndpointSlice]) -> Result<Stack, BuildError> {
    let compact = compact(slices);
    let slices: Vec<&CompactSlice> = compact.iter().collect();
    build_service_stack(svc, &borrowed(&nodes()), &slices, &crate::endpoints::NoPodFacts, &inventory(), &config())
}

/// Two ready pods on n1 and n2, one not ready on n1, one terminating on n2; a slice of another
/// Service with a pod of its own.
fn slices() -> Vec<EndpointSlice> {
    vec![
        slice(
            "default",
            "nlb-ip-svc-tls",
            &[("p80tcp", 8080)],
            vec![
                endpoint("10.0.1.10", "n1", Some(true), None),
                endpoint("10.0.2.20", "n2", None, None),
                endpoint("10.0.1.11", "n1", Some(false), None),
                endpoint("10.0.2.21", "n2", Some(false), Some(true)),
            ],
        ),
        slice("default", "other", &[("p80tcp", 8080)], vec![endpoint("10.0.3.30", "n3", Some(true), None)]),
    ]
}

fn targets(stack: &Stack) -> Vec<(String, u16)> {
    stack.target_groups[0].targets.iter().map(|t| (t.id.clone(), t.port)).collect()
}

#[test]
fn ip_mode_registers_the_ready_pods_of_the_service_on_the_target_port() {
    let stack = build_ip(&ip_service(IntOrString::Int(8080)), &slices()).expect("built");
    let tg = &stack.target_groups[0];
    assert_eq!((tg.target_type, tg.port, tg.protocol), (TargetType::Ip, 8080, Protocol::Tcp));
    assert_eq!(targets(&stack), [("10.0.1.10".to_string(), 8080), ("10.0.2.20".to_string(), 8080)]);
    // The listener still forwards to it, by resource id.
    assert_eq!(stack.listeners[0].default_actions, [Action::forward(tg.resource_id.clone())]);
}

#[test]
fn ip_target_group_names_carry_the_target_port_and_type_as_lbcs_do() {
    // LBC's fixture: Service default/nlb-ip-svc-tls in cluster my-cluster, port 80 to target
    // port 80, TCP health check every 10 s.
    let stack = build_ip(&ip_service(IntOrString::Int(80)), &[]).expect("built");
    assert_eq!(stack.target_groups[0].name, "k8s-default-nlbipsvc-d4818dcd51");
    let instance = built(&[]);
    assert_ne!(instance.target_groups[0].name, stack.target_groups[0].name, "switching the type replaces the group");
}

#[test]
fn a_named_target_port_puts_the_group_on_port_1_and_each_pod_on_its_own() {
    let slices = [
        slice("default", "nlb-ip-svc-tls", &[("p80tcp", 8080)], vec![endpoint("10.0.1.10", "n1", Some(true), None)]),
        slice("default", "nlb-ip-svc-tls", &[("p80tcp", 9090)], vec![endpoint("10.0.2.20", "n2", Some(true), None)]),
    ];
    let stack = build_ip(&ip_service(IntOrString::String("web".into())), &slices).expect("built");
    assert_eq!(stack.target_groups[0].port, 1);
    assert_eq!(targets(&stack), [("10.0.1.10".to_string(), 8080), ("10.0.2.20".to_string(), 9090)]);
    // The load balancer is admitted on each pod port, not on port 1.
    let ports: BTreeSet<u16> = stack.node_security_group_rules.iter().map(|r| r.rule.from_port).collect();
    assert_eq!(ports, BTreeSet::from([8080, 9090]));
}

#[test]
fn ip_mode_needs_no_node_port_and_ignores_the_local_traffic_policy() {
    let mut svc = ip_service(IntOrString::Int(8080));
    let spec = svc.spec.as_mut().expect("spec");
    spec.allocate_load_balancer_node_ports = Some(false);
    spec.ports.as_mut().expect("ports")[0].node_port = None;
    spec.external_traffic_policy = Some("Local".into());
    spec.health_check_node_port = Some(32100);
    let stack = build_ip(&svc, &slices()).expect("built without a NodePort");
    // LBC's default NLB check, on the pods themselves: kube-proxy's health-check NodePort speaks
    // for nodes, not pods.
    assert_eq!(
        stack.target_groups[0].health_check,
        HealthCheck {
            protocol: Protocol::Tcp,
            port: HealthCheckPort::TrafficPort,
            path: None,
            interval_seconds: 10,
            timeout_seconds: 10,
            healthy_threshold_count: 3,
            unhealthy_threshold_count: 3,
            matcher: None,
        }
    );
    // Instance mode still refuses a port without a NodePort.
    svc.metadata.annotations.as_mut().expect("annotations").clear();
    assert!(matches!(build_ip(&svc, &[]), Err(BuildError::MissingNodePort { .. })));
}

#[test]
fn the_pods_nodes_groups_admit_the_load_balancer_on_the_pod_port_not_the_node_port() {
    let stack = build_ip(&ip_service(IntOrString::Int(8080)), &slices()).expect("built");
    let rules: Vec<(String, String, u16)> = stack
        .node_security_group_rules
        .iter()
        .map(|r| (r.group_id.clone(), r.rule.ip_protocol.clone(), r.rule.from_port))
        .collect();
    assert_eq!(rules, [("sg-nodes".to_string(), "tcp".to_string(), 8080)]);
    assert!(
        stack
            .node_security_group_rules
            .iter()
            .all(|r| r.rule.source == RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend))
    );
    // No ready pod: no group needs a rule yet.
    let empty = build_ip(&ip_service(IntOrString::Int(8080)), &[]).expect("built");
    assert!(empty.node_security_group_rules.is_empty());
    assert!(empty.target_groups[0].targets.is_empty());
}

#[test]
fn a_named_health_check_port_is_the_ports_numeric_target_port_in_ip_mode() {
    let mut svc = ip_service(IntOrString::Int(8080));
    let annotations = svc.metadata.annotations.as_mut().expect("annotations");
    annotations.insert(format!("{LBC}healthcheck-port"), "p80tcp".into());
    let stack = build_ip(&svc, &slices()).expect("built");
    assert_eq!(stack.target_groups[0].health_check.port, HealthCheckPort::Port(8080));
    let mut named = ip_service(IntOrString::String("web".into()));
    let annotations = named.metadata.annotations.as_mut().expect("annotations");
    annotations.insert(format!("{LBC}healthcheck-port"), "p80tcp".into());
    let message = build_ip(&named, &slices()).expect_err("named target port").to_string();
    assert!(message.contains("whose targetPort is a number"), "{message}");
}

#[test]
fn tcp_and_udp_on_one_port_must_share_the_target_port_in_ip_mode() {
    let mut svc = ip_service(IntOrString::Int(8080));
    let mut udp = port(80, "UDP", None);
    udp.target_port = Some(IntOrString::Int(8081));
    svc.spec.as_mut().expect("spec").ports.as_mut().expect("ports").push(udp);
    assert_eq!(build_ip(&svc, &[]), Err(BuildError::MixedProtocolTargetPorts { port: 80 }));
}

/// The readiness-gate webhook names a pod's gates with `ip_target_group_names`: the names the
/// build gives, whatever shapes the group (named target port, TLS, health-check annotations).
#[test]
fn the_gate_names_are_the_built_target_groups_names() {
    let mut two_ports = ip_service(IntOrString::String("web".into()));
    let spec = two_ports.spec.as_mut().expect("spec");
    spec.ports.as_mut().expect("ports").push(ServicePort {
        name: Some("p443tcp".into()),
        port: 443,
        protocol: Some("TCP".into()),
        target_port: Some(IntOrString::Int(8443)),
        node_port: Some(31443),
        ..Default::default()
    });
    let mut tuned = ip_service(IntOrString::Int(8080));
    tuned.metadata.annotations.as_mut().expect("annotations").extend([
        (format!("{LBC}healthcheck-protocol"), "HTTP".to_string()),
        (format!("{LBC}healthcheck-interval"), "30".to_string()),
        (format!("{LBC}ssl-cert"), "arn:aws:acm:us-east-1:123456789012:certificate/abc".to_string()),
    ]);
    for svc in [ip_service(IntOrString::Int(8080)), two_ports, tuned] {
        let built: Vec<String> =
            build_ip(&svc, &[]).expect("built").target_groups.into_iter().map(|tg| tg.name).collect();
        let named = ip_target_group_names(&svc, &config()).expect("named");
        assert_eq!(named, built);
    }
    // Instance targets have no gates; a Service the build refuses names none either.
    assert_eq!(ip_target_group_names(&service(&[]), &config()).expect("instance"), Vec::<String>::new());
    let bad = service(&[("nlb-target-type", "ip"), ("healthcheck-interval", "often")]);
    assert!(ip_target_group_names(&bad, &config()).is_err());
}

/// A pod held back only by its target-health gate is registered, so that its target can become
/// healthy and the gate True; without the gate it waits for readiness as before.
#[test]
fn a_not_ready_pod_waiting_for_its_gate_is_registered() {
    let svc = ip_service(IntOrString::Int(8080));
    let slices = slices();
    let compact = compact(&slices);
    let borrowed_slices: Vec<&CompactSlice> = compact.iter().collect();
    // `endpoint` names the pod behind an address `pod-<address>`; 10.0.1.11 is the not-ready one.
    let waiting = BTreeSet::from([("default".to_string(), "pod-10.0.1.11".to_string())]);
    let stack = build_service_stack(&svc, &borrowed(&nodes()), &borrowed_slices, &waiting, &inventory(), &config())
        .expect("built");
    assert_eq!(
        targets(&stack),
        [("10.0.1.10".to_string(), 8080), ("10.0.1.11".to_string(), 8080), ("10.0.2.20".to_string(), 8080)]
    );
}
