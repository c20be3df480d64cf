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
        build_service_stack(&svc, &borrowed(&nodes()), &[], &crate::endpoints::NoGatedPods, &inventory(), &config)
            .expect("built");
    for tags in [&stack.load_balancers[0].tags, &stack.target_groups[0].tags, &stack.security_groups[0].tags] {
        assert_eq!(tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(tags.get("team").map(String::as_str), Some("platform"), "--default-tag wins over the annotation");
        assert_eq!(tags.get("cost").map(String::as_str), Some("7"), "the annotation's other keys stay");
        assert_eq!(tags.get("elbow.dev/cluster").map(String::as_str), Some("my-cluster"));
    }
}
