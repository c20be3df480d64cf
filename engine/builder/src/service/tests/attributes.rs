use super::*;

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
/// As in LBC: the operator's `--default-tag`s win over `additional-resource-tags`, and nothing
/// overrides Elbow's ownership tags.
fn default_tags_win_and_nothing_overrides_ownership() {
    let mut config = config();
    config.default_tags =
        Tags::from([("env".to_string(), "prod".to_string()), ("team".to_string(), "platform".to_string())]);
    let svc = service(&[("additional-resource-tags", "team=web,cost=7,elbow.dev/cluster=evil")]);
    let stack =
        build_service_stack(&svc, &borrowed(&nodes()), &[], &crate::endpoints::NoPodFacts, &inventory(), &config)
            .expect("built");
    for tags in [&stack.load_balancers[0].tags, &stack.target_groups[0].tags, &stack.security_groups[0].tags] {
        assert_eq!(tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(tags.get("team").map(String::as_str), Some("platform"), "--default-tag wins over the annotation");
        assert_eq!(tags.get("cost").map(String::as_str), Some("7"), "the annotation's other keys stay");
        assert_eq!(tags.get("elbow.dev/cluster").map(String::as_str), Some("my-cluster"));
    }
}

#[test]
fn proxy_protocol_per_target_group_turns_it_on_for_the_listed_ports_and_off_for_the_rest() {
    let with_ports = |annotations: &[(&str, &str)]| {
        let mut svc = service(annotations);
        svc.spec.as_mut().expect("spec").ports =
            Some(vec![port(80, "TCP", Some(31000)), port(443, "TCP", Some(31443)), port(22, "TCP", Some(31022))]);
        build(&svc)
    };
    let proxy = |stack: &Stack| -> Vec<(u16, Option<String>)> {
        stack.target_groups.iter().map(|t| (t.port, t.attributes.get("proxy_protocol_v2.enabled").cloned())).collect()
    };
    let on = |v: &str| Some(v.to_string());
    let stack = with_ports(&[
        ("proxy-protocol-per-target-group", "443, 22"),
        ("target-group-attributes", "proxy_protocol_v2.enabled=true,deregistration_delay.timeout_seconds=30"),
    ])
    .expect("builds");
    // Target groups are on the NodePorts: 31000 for port 80, and so on.
    assert_eq!(proxy(&stack), [(31022, on("true")), (31000, on("false")), (31443, on("true"))]);
    assert!(stack.target_groups.iter().all(|t| t.attributes.contains_key("deregistration_delay.timeout_seconds")));
    let everywhere =
        with_ports(&[("proxy-protocol-per-target-group", "443"), ("proxy-protocol", "*")]).expect("builds");
    assert!(proxy(&everywhere).iter().all(|(_, v)| *v == on("true")), "proxy-protocol: * wins");
    assert!(proxy(&with_ports(&[]).expect("builds")).iter().all(|(_, v)| v.is_none()), "left to AWS");

    const KEY: &str = "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol-per-target-group";
    for (value, why) in
        [("443,8443", "the Service has no port 8443 (its ports: 80, 443, 22)"), ("443,https", "\"https\" is not one")]
    {
        assert_eq!(
            with_ports(&[("proxy-protocol-per-target-group", value)]).expect_err("refused").to_string(),
            format!("annotation {KEY} has an invalid value \"{value}\": comma-separated Service port numbers; {why}")
        );
    }
}

#[test]
fn a_minimum_capacity_is_reserved_and_recorded_on_the_load_balancer() {
    const KEY: &str = "minimum-load-balancer-capacity";
    for (value, expected) in [
        (None, None),
        (Some("CapacityUnits=3000"), Some(3000)),
        (Some(" CapacityUnits = 1500 "), Some(1500)),
        (Some("CapacityUnits=0"), None),
    ] {
        let annotations: Vec<(&str, &str)> = value.iter().map(|v| (KEY, *v)).collect();
        let lb = built(&annotations).load_balancers.remove(0);
        assert_eq!(lb.capacity_units, expected, "{value:?}");
        let record = expected.map(|units| units.to_string());
        assert_eq!(lb.tags.get(elbow_model::tags::CAPACITY_UNITS_TAG), record.as_ref(), "{value:?}: the record tag");
    }
    for bad in ["3000", "CapacityUnits=many", "Units=3000", "CapacityUnits=-1", "CapacityUnits=4294967296"] {
        let message = error(&[(KEY, bad)]);
        assert!(
            message.contains("aws-load-balancer-minimum-load-balancer-capacity has an invalid value")
                && message.contains("CapacityUnits=<number of capacity units>"),
            "{bad}: {message}"
        );
    }
}
