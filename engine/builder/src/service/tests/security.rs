use super::*;

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

/// Kubernetes' core annotation, `service.beta.kubernetes.io/load-balancer-source-ranges` (no
/// `aws-` in it), as LBC and the in-tree provider read it; `spec.loadBalancerSourceRanges` wins.
const SOURCE_RANGES: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

#[test]
fn source_ranges_come_from_the_spec_then_the_annotation() {
    let sources = |stack: &Stack| stack.security_groups[0].ingress.iter().map(|r| r.source.clone()).collect::<Vec<_>>();
    let annotated = built(&[(SOURCE_RANGES, "10.0.0.0/8, 192.168.0.0/16")]);
    assert_eq!(
        sources(&annotated),
        [RuleSource::CidrIpv4("10.0.0.0/8".into()), RuleSource::CidrIpv4("192.168.0.0/16".into())]
    );
    let mut svc = service(&[(SOURCE_RANGES, "10.0.0.0/8")]);
    svc.spec.as_mut().expect("spec").load_balancer_source_ranges = Some(vec!["172.16.0.0/12".into()]);
    assert_eq!(sources(&build(&svc).expect("built")), [RuleSource::CidrIpv4("172.16.0.0/12".into())], "the spec wins");
    let message = error(&[(SOURCE_RANGES, "10.0.0.0/8,10.0.0.0")]);
    assert!(message.starts_with(&format!("annotation {SOURCE_RANGES} has an invalid value")), "{message}");
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
    let both = built(&[("security-group-prefix-lists", "pl-0123abcd"), (SOURCE_RANGES, "10.0.0.0/8")]);
    assert_eq!(sources(&both), [RuleSource::CidrIpv4("10.0.0.0/8".into()), prefix_list("pl-0123abcd")]);
    let dualstack = built(&[("security-group-prefix-lists", "pl-0123abcd"), ("ip-address-type", "dualstack")]);
    assert_eq!(sources(&dualstack), [prefix_list("pl-0123abcd")]);
    for bad in ["sg-0123abcd", "pl-XYZ", "pl-", " , "] {
        let message = error(&[("security-group-prefix-lists", bad)]);
        assert!(message.contains("aws-load-balancer-security-group-prefix-lists"), "{bad}: {message}");
    }
}

#[test]
fn ambiguous_node_groups_are_reported() {
    let mut inv = inventory();
    inv.security_groups[0].tags.clear();
    let error =
        build_service_stack(&service(&[]), &borrowed(&nodes()), &[], &crate::endpoints::NoGatedPods, &inv, &config())
            .expect_err("ambiguous");
    assert!(matches!(error, BuildError::AmbiguousNodeSecurityGroup { .. }), "{error}");
    inv.instances.iter_mut().for_each(|i| i.security_groups = vec!["sg-only".into()]);
    let stack =
        build_service_stack(&service(&[]), &borrowed(&nodes()), &[], &crate::endpoints::NoGatedPods, &inv, &config())
            .expect("the only group");
    assert_eq!(stack.node_security_group_rules[0].group_id, "sg-only");
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
