use super::*;

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
    for ssl_ports in ["p443tcp", "*", "443, p443tcp"] {
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

/// LBC refuses `ssl-ports` naming a port the Service lacks; a typo must not silently leave the
/// port plain TCP.
#[test]
fn ssl_ports_naming_a_port_the_service_lacks_is_an_error() {
    for annotations in [
        vec![("ssl-cert", "arn:cert/1"), ("ssl-ports", "443")],
        vec![("ssl-cert", "arn:cert/1"), ("ssl-ports", "80, https")],
        vec![("ssl-ports", "8443")],
    ] {
        let message = error(&annotations);
        assert!(
            message
                .starts_with("annotation service.beta.kubernetes.io/aws-load-balancer-ssl-ports has an invalid value"),
            "{message}"
        );
        assert!(message.contains("its ports: 80 (p80tcp)"), "{message}");
    }
    let message = error(&[("ssl-cert", "arn:cert/1"), ("ssl-ports", "80, https")]);
    assert!(message.contains("no port https"), "{message}");
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
fn the_tcp_udp_listener_can_be_switched_off_for_tcp_and_udp_on_one_port() {
    let ports = |ports: Vec<ServicePort>, annotations: &[(&str, &str)]| {
        let mut svc = service(annotations);
        svc.spec.as_mut().expect("spec").ports = Some(ports);
        build(&svc)
    };
    let dns = || vec![port(53, "TCP", Some(30053)), port(53, "UDP", Some(30053))];
    let split = || vec![port(53, "TCP", Some(30053)), port(54, "UDP", Some(30054))];
    for (annotation, ports_of, expected) in [
        (None, dns as fn() -> Vec<ServicePort>, Ok(vec![Protocol::TcpUdp])),
        (Some("true"), dns, Ok(vec![Protocol::TcpUdp])),
        (Some("false"), dns, Err(BuildError::TcpUdpListenerDisabled { port: 53 })),
        (Some("false"), split, Ok(vec![Protocol::Tcp, Protocol::Udp])),
        (None, split, Ok(vec![Protocol::Tcp, Protocol::Udp])),
    ] {
        let annotations: Vec<(&str, &str)> =
            annotation.iter().map(|value| ("enable-tcp-udp-listener", *value)).collect();
        let built = ports(ports_of(), &annotations).map(|stack| {
            let listeners: Vec<Protocol> = stack.listeners.iter().map(|l| l.protocol).collect();
            let groups: Vec<Protocol> = stack.target_groups.iter().map(|t| t.protocol).collect();
            assert_eq!(listeners, groups, "{annotation:?}: each listener's group speaks its protocol");
            listeners
        });
        assert_eq!(built, expected, "{annotation:?}");
    }
    let message = ports(dns(), &[("enable-tcp-udp-listener", "false")]).expect_err("refused").to_string();
    assert!(message.contains("53/TCP and 53/UDP") && message.contains("remove that annotation"), "{message}");
    let message = ports(dns(), &[("enable-tcp-udp-listener", "sometimes")]).expect_err("not a bool").to_string();
    assert!(message.contains("aws-load-balancer-enable-tcp-udp-listener has an invalid value"), "{message}");
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
fn listener_attributes_go_to_the_listener_they_name() {
    let mut svc = service(&[
        ("listener-attributes.TCP-80", "tcp.idle_timeout.seconds=600"),
        ("ssl-cert", "arn:cert/1"),
        ("ssl-ports", "443"),
    ]);
    svc.spec.as_mut().expect("spec").ports = Some(vec![port(80, "TCP", Some(31000)), port(443, "TCP", Some(31443))]);
    let stack = build(&svc).expect("built");
    let by_port: BTreeMap<u16, &ListenerSpec> = stack.listeners.iter().map(|l| (l.port, l)).collect();
    assert_eq!(by_port[&80].attributes, Attributes::from([("tcp.idle_timeout.seconds".into(), "600".into())]));
    assert!(by_port[&443].attributes.is_empty(), "TLS-443 names none");
    assert!(built(&[]).listeners[0].attributes.is_empty());
}

#[test]
fn listener_attributes_for_a_listener_the_service_lacks_are_refused() {
    const KEY: &str = "service.beta.kubernetes.io/aws-load-balancer-listener-attributes";
    for (listener, value) in [("TCP-81", "tcp.idle_timeout.seconds=600"), ("tcp-80", "tcp.idle_timeout.seconds=600")] {
        assert_eq!(
            error(&[(&format!("listener-attributes.{listener}")[..], value)]),
            format!(
                "annotation {KEY}.{listener} has an invalid value \"{value}\": attributes of a listener of the Service, named <protocol>-<port> as ELBv2 names the protocol; it has no listener {listener} (its listeners: TCP-80)"
            )
        );
    }
    assert_eq!(
        error(&[("listener-attributes.TCP-80", "tcp.idle_timeout.seconds")]),
        format!(
            "annotation {KEY}.TCP-80 has an invalid value \"tcp.idle_timeout.seconds\": comma-separated key=value pairs"
        )
    );
}

#[test]
fn the_alpn_policy_goes_to_the_tls_listeners_only() {
    let mut svc = service(&[("alpn-policy", "HTTP2Preferred"), ("ssl-cert", "arn:cert/1"), ("ssl-ports", "443")]);
    svc.spec.as_mut().expect("spec").ports = Some(vec![port(80, "TCP", Some(31000)), port(443, "TCP", Some(31443))]);
    let stack = build(&svc).expect("built");
    let by_port: BTreeMap<u16, &ListenerSpec> = stack.listeners.iter().map(|l| (l.port, l)).collect();
    assert_eq!(by_port[&443].alpn_policy, Some(AlpnPolicy::Http2Preferred));
    assert_eq!(by_port[&80].alpn_policy, None, "a plain listener takes none");
    for (value, policy) in [
        ("HTTP1Only", AlpnPolicy::Http1Only),
        ("HTTP2Only", AlpnPolicy::Http2Only),
        ("HTTP2Optional", AlpnPolicy::Http2Optional),
        ("None", AlpnPolicy::None),
    ] {
        let stack = built(&[("alpn-policy", value), ("ssl-cert", "arn:cert/1")]);
        assert_eq!(stack.listeners[0].alpn_policy, Some(policy), "{value}");
    }
    assert_eq!(built(&[("ssl-cert", "arn:cert/1")]).listeners[0].alpn_policy, None);
}

#[test]
fn an_alpn_policy_aws_lacks_or_without_a_tls_listener_is_refused() {
    const KEY: &str = "service.beta.kubernetes.io/aws-load-balancer-alpn-policy";
    assert_eq!(
        error(&[("alpn-policy", "http2preferred"), ("ssl-cert", "arn:cert/1")]),
        format!(
            "annotation {KEY} has an invalid value \"http2preferred\": HTTP1Only, HTTP2Only, HTTP2Optional, HTTP2Preferred or None"
        )
    );
    assert_eq!(
        error(&[("alpn-policy", "HTTP2Only")]),
        format!(
            "annotation {KEY} has an invalid value \"HTTP2Only\": a policy for TLS listeners, and the Service has none; set aws-load-balancer-ssl-cert (and ssl-ports), or remove the annotation"
        )
    );
}
