use super::*;

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
