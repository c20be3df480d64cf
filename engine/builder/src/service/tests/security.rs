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
    let message = error(&[("security-groups", " , ")]);
    assert!(message.contains("aws-load-balancer-security-groups") && message.contains("sg-..."), "{message}");
    let off = built(&[("manage-backend-security-group-rules", "false")]);
    assert!(off.node_security_group_rules.is_empty());
}

#[test]
fn security_groups_are_given_by_id_or_by_name_tag() {
    let existing = |ids: &[&str]| ids.iter().map(|id| SecurityGroupRef::Existing(id.to_string())).collect::<Vec<_>>();
    for (value, expected) in [
        ("web-lb", existing(&["sg-web"])),
        ("sg-1, web-lb", existing(&["sg-1", "sg-web"])),
        ("web-lb,sg-web", existing(&["sg-web"])),
        ("sg-2,sg-1", existing(&["sg-2", "sg-1"])),
    ] {
        let stack = built(&[("security-groups", value)]);
        assert_eq!(stack.load_balancers[0].security_groups, expected, "{value}");
        assert!(stack.security_groups.is_empty(), "{value}: no managed frontend");
    }
    for (value, said) in [
        ("sg-1,nowhere", "security group \"nowhere\" of the security-groups annotation was not found"),
        ("sg-1,nowhere", "carries the tag Name=nowhere"),
        ("twin", "name \"twin\" of the security-groups annotation is ambiguous"),
        ("twin", "(sg-twin1, sg-twin2)"),
        ("web-lb-group", "Name=web-lb-group"),
    ] {
        let message = error(&[("security-groups", value)]);
        assert!(message.contains(said), "{value}: {message}");
        let error = build(&service(&[("security-groups", value)])).expect_err("user error");
        assert!(error.depends_on_cloud(), "{value}: a tag added later cures it");
    }
}

#[test]
fn only_names_are_looked_up() {
    let annotated = service(&[("security-groups", "sg-1, web-lb,twin ,web-lb")]);
    assert_eq!(security_groups_named(&annotated), ["twin", "web-lb"]);
    assert!(security_groups_named(&service(&[("security-groups", "sg-1")])).is_empty());
    assert!(security_groups_named(&service(&[])).is_empty());
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
        build_service_stack(&service(&[]), &borrowed(&nodes()), &[], &crate::endpoints::NoPodFacts, &inv, &config())
            .expect_err("ambiguous");
    assert!(matches!(error, BuildError::AmbiguousNodeSecurityGroup { .. }), "{error}");
    inv.instances.iter_mut().for_each(|i| i.security_groups = vec!["sg-only".into()]);
    let stack =
        build_service_stack(&service(&[]), &borrowed(&nodes()), &[], &crate::endpoints::NoPodFacts, &inv, &config())
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

/// A node rule as (ip protocol, port, source CIDR).
type OpenRule = (String, u16, String);

/// The rules a Service without security groups puts on the nodes' group, as (protocol, port,
/// source), in an inventory whose subnets have blocks of their own.
fn open_rules(annotations: &[(&str, &str)], ports: Vec<ServicePort>) -> Result<(Stack, Vec<OpenRule>), BuildError> {
    let mut inventory = inventory();
    for (subnet, block) in inventory.subnets.iter_mut().zip(["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]) {
        subnet.cidr_block = block.to_string();
    }
    let mut svc = service(annotations);
    svc.spec.as_mut().expect("spec").ports = Some(ports);
    let stack =
        build_service_stack(&svc, &borrowed(&nodes()), &[], &crate::endpoints::NoPodFacts, &inventory, &config())?;
    let mut rules: Vec<OpenRule> = stack
        .node_security_group_rules
        .iter()
        .map(|r| {
            assert_eq!(r.group_id, "sg-nodes", "the nodes' cluster group");
            let source = match &r.rule.source {
                RuleSource::CidrIpv4(cidr) | RuleSource::CidrIpv6(cidr) => cidr.clone(),
                other => panic!("only addresses can be admitted without a backend group: {other:?}"),
            };
            assert_eq!(r.rule.from_port, r.rule.to_port);
            (r.rule.ip_protocol.clone(), r.rule.from_port, source)
        })
        .collect();
    rules.sort();
    Ok((stack, rules))
}

#[test]
fn a_load_balancer_without_security_groups_has_the_nodes_admit_addresses() {
    let tcp = || vec![port(80, "TCP", Some(31000))];
    let udp = || vec![port(53, "UDP", Some(30053))];
    let rule = |protocol: &str, port: u16, cidr: &str| (protocol.to_string(), port, cidr.to_string());
    let vpc = |protocol: &str, port: u16| {
        ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"].map(|cidr| rule(protocol, port, cidr)).to_vec()
    };
    const OFF: (&str, &str) = ("disable-nlb-sg", "true");
    const PUBLIC: (&str, &str) = ("scheme", "internet-facing");
    const RANGES: (&str, &str) = ("service.beta.kubernetes.io/load-balancer-source-ranges", "192.168.0.0/16");
    const NO_CLIENT_IP: (&str, &str) = ("target-group-attributes", "preserve_client_ip.enabled=false");
    for (what, annotations, ports, expected) in [
        // Instance targets see the client's address: the clients are admitted, by default the
        // VPC's addresses (internal) or everyone (internet-facing), which hold the health checks.
        ("internal, instance", vec![OFF], tcp(), vpc("tcp", 31000)),
        ("internet-facing", vec![OFF, PUBLIC], tcp(), vec![rule("tcp", 31000, "0.0.0.0/0")]),
        // Ranges asked for do not hold the load balancer's own addresses (subnets a and b).
        (
            "source ranges",
            vec![OFF, PUBLIC, RANGES],
            tcp(),
            vec![
                rule("tcp", 31000, "10.0.1.0/24"),
                rule("tcp", 31000, "10.0.2.0/24"),
                rule("tcp", 31000, "192.168.0.0/16"),
            ],
        ),
        // Without the client's address, all traffic comes from the load balancer's subnets.
        (
            "no client ip",
            vec![OFF, PUBLIC, RANGES, NO_CLIENT_IP],
            tcp(),
            vec![rule("tcp", 31000, "10.0.1.0/24"), rule("tcp", 31000, "10.0.2.0/24")],
        ),
        // UDP keeps the client's address whatever the attribute says, and is checked over tcp.
        (
            "udp",
            vec![OFF, PUBLIC, NO_CLIENT_IP],
            udp(),
            vec![rule("tcp", 30053, "10.0.1.0/24"), rule("tcp", 30053, "10.0.2.0/24"), rule("udp", 30053, "0.0.0.0/0")],
        ),
        ("not managed", vec![OFF, ("manage-backend-security-group-rules", "false")], tcp(), vec![]),
    ] {
        let (stack, rules) = open_rules(&annotations, ports).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(rules, expected, "{what}");
        assert!(
            stack.load_balancers[0].security_groups.is_empty(),
            "{what}: no group at all, not even the backend one"
        );
        assert!(stack.security_groups.is_empty(), "{what}: no managed frontend group");
    }
    let backend = RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend);
    let with_groups = built(&[]).node_security_group_rules;
    assert!(!with_groups.is_empty() && with_groups.iter().all(|r| r.rule.source == backend), "{with_groups:?}");

    for (conflicting, named) in [
        (("security-groups", "sg-1"), "aws-load-balancer-security-groups"),
        (("security-group-prefix-lists", "pl-00ff"), "aws-load-balancer-security-group-prefix-lists"),
    ] {
        let message = error(&[OFF, conflicting]);
        assert!(message.contains("aws-load-balancer-disable-nlb-sg") && message.contains(named), "{message}");
    }
    assert!(error(&[("disable-nlb-sg", "yes")]).contains("aws-load-balancer-disable-nlb-sg has an invalid value"));
    let stack = built(&[("disable-nlb-sg", "false")]);
    assert_eq!(stack.security_groups.len(), 1, "false is the default: a managed frontend group");
}
