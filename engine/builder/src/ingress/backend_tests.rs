//! How an Ingress reaches its backends: the target groups' protocol version (HTTP/1.1, HTTP/2,
//! gRPC) and the health checks that go with it; forwards to target groups made outside
//! Kubernetes and forward stickiness; rules that match by regular expressions.

use super::*;
use elbow_model::ProtocolVersion;

fn web_key(group: &GroupId) -> IngressTargetGroupKey<'_> {
    IngressTargetGroupKey {
        group,
        ingress_namespace: "shop",
        ingress_name: "web",
        service_namespace: "shop",
        service_name: "web",
        service_uid: "uid-web",
        service_port: "http",
    }
}

#[test]
fn backend_protocol_versions_set_the_target_group_and_grpc_health_check_defaults() {
    // (annotations on the Ingress, on the Service) -> version, health-check path, success codes
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Pairs, Pairs, ProtocolVersion, &str, &str); 7] = [
        (&[], &[], ProtocolVersion::Http1, "/", "200"),
        (&[("backend-protocol-version", "HTTP1")], &[], ProtocolVersion::Http1, "/", "200"),
        (&[("backend-protocol-version", "HTTP2")], &[], ProtocolVersion::Http2, "/", "200"),
        (&[("backend-protocol-version", "GRPC")], &[], ProtocolVersion::Grpc, "/AWS.ALB/healthcheck", "12"),
        // The Service's value wins over the Ingress's.
        (
            &[("backend-protocol-version", "HTTP2")],
            &[("backend-protocol-version", "GRPC")],
            ProtocolVersion::Grpc,
            "/AWS.ALB/healthcheck",
            "12",
        ),
        (
            &[
                ("backend-protocol-version", "GRPC"),
                ("success-codes", "0-99"),
                ("healthcheck-path", "/grpc.health.v1.Health/Check"),
            ],
            &[],
            ProtocolVersion::Grpc,
            "/grpc.health.v1.Health/Check",
            "0-99",
        ),
        (
            &[("backend-protocol-version", "HTTP2"), ("success-codes", "200-299")],
            &[],
            ProtocolVersion::Http2,
            "/",
            "200-299",
        ),
    ];
    for (on_ingress, on_service, version, path, codes) in cases {
        let stack = build_with(&[&web(on_ingress)], &[service("shop", "web", on_service)], None)
            .unwrap_or_else(|e| panic!("{on_ingress:?} {on_service:?}: {e}"));
        let tg = &stack.target_groups[0];
        let group = group_of(&web(on_ingress), None).expect("a group");
        assert_eq!(tg.protocol_version, Some(version), "{on_ingress:?} {on_service:?}");
        // LBC's name hash covers the version, so each version has its own target group name.
        assert_eq!(
            tg.name,
            ingress_target_group_name(CLUSTER, &web_key(&group), 30080, "instance", "HTTP", version.as_str())
        );
        assert_eq!(tg.health_check.path.as_deref(), Some(path), "{on_ingress:?}");
        assert_eq!(tg.health_check.matcher.as_deref(), Some(codes), "{on_ingress:?}");
    }
}

#[test]
fn backend_protocol_versions_and_their_success_codes_are_checked() {
    for (annotations, expected) in [
        (&[("backend-protocol-version", "HTTP3")][..], "HTTP1, HTTP2 or GRPC"),
        (&[("backend-protocol-version", "grpc")][..], "HTTP1, HTTP2 or GRPC"),
        // gRPC status codes are 0 to 99; HTTP codes mean nothing to a gRPC health check.
        (&[("backend-protocol-version", "GRPC"), ("success-codes", "200")][..], "gRPC codes from 0 to 99"),
        (&[("backend-protocol-version", "GRPC"), ("success-codes", "0-100")][..], "gRPC codes from 0 to 99"),
        (&[("backend-protocol-version", "HTTP2"), ("success-codes", "12")][..], "codes like 200"),
    ] {
        let message = error(&[&web(annotations)]);
        assert!(message.contains("has an invalid value") && message.contains(expected), "{annotations:?}: {message}");
    }
}

const BLUE_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/blue/0123456789abcdef";

/// The rule of `annotated`'s `/` path with `actions.split` set to `action`.
fn split(action: &str) -> Result<Stack, BuildError> {
    build(&[&annotated(&[("actions.split", action)])])
}

#[test]
fn forwards_name_target_groups_made_outside_kubernetes_and_keep_them_foreign() {
    use elbow_model::{ForeignTargetGroup, TargetGroupReference};
    let arn_id = ResourceId::new(format!("ForeignTargetGroup/arn/{BLUE_ARN}"));
    let name_id = ResourceId::new("ForeignTargetGroup/name/green");
    // action -> (the forward's target groups, weights), the foreign groups, Elbow's own groups
    type Forwards = Vec<(ResourceId, Option<u32>)>;
    let cases: [(String, Forwards, Vec<ForeignTargetGroup>, usize); 3] = [
        // LBC's older shape: the action's own targetGroupARN.
        (
            format!(r#"{{"type":"forward","targetGroupARN":"{BLUE_ARN}"}}"#),
            vec![(arn_id.clone(), None)],
            vec![ForeignTargetGroup {
                resource_id: arn_id.clone(),
                reference: TargetGroupReference::Arn(BLUE_ARN.into()),
            }],
            0,
        ),
        (
            r#"{"type":"forward","TargetGroupName":"green"}"#.to_string(),
            vec![(name_id.clone(), None)],
            vec![ForeignTargetGroup {
                resource_id: name_id.clone(),
                reference: TargetGroupReference::Name("green".into()),
            }],
            0,
        ),
        // Weighted, next to a Service of the cluster.
        (
            format!(
                r#"{{"type":"forward","forwardConfig":{{"targetGroups":[
                {{"targetGroupARN":"{BLUE_ARN}","weight":20}},{{"targetGroupName":"green","weight":30}},
                {{"serviceName":"web","servicePort":80,"weight":50}}]}}}}"#
            ),
            vec![
                (arn_id.clone(), Some(20)),
                (name_id.clone(), Some(30)),
                (ResourceId::new("TargetGroup/shop/web/web:80"), Some(50)),
            ],
            vec![
                ForeignTargetGroup {
                    resource_id: arn_id.clone(),
                    reference: TargetGroupReference::Arn(BLUE_ARN.into()),
                },
                ForeignTargetGroup {
                    resource_id: name_id.clone(),
                    reference: TargetGroupReference::Name("green".into()),
                },
            ],
            1,
        ),
    ];
    for (action, forwards, foreign, own) in cases {
        let stack = split(&action).unwrap_or_else(|e| panic!("{action}: {e}"));
        let Action::Forward { target_groups, stickiness } = &listener(&stack, 80).rules[0].actions[0] else {
            panic!("{action}: a forward")
        };
        let got: Vec<(ResourceId, Option<u32>)> =
            target_groups.iter().map(|w| (w.target_group.clone(), w.weight)).collect();
        assert_eq!(got, forwards, "{action}");
        assert_eq!(*stickiness, None);
        assert_eq!(stack.foreign_target_groups, foreign, "{action}");
        assert_eq!(stack.target_groups.len(), own, "{action}: no target group of Elbow's for a foreign one");
    }
}

#[test]
fn forward_stickiness_is_set_with_its_duration() {
    use elbow_model::ForwardStickiness;
    let forward = |stickiness: &str| {
        format!(
            r#"{{"type":"forward","forwardConfig":{{"targetGroups":[{{"serviceName":"web","servicePort":80,"weight":1}},
            {{"serviceName":"canary","servicePort":80,"weight":1}}]{stickiness}}}}}"#
        )
    };
    for (stickiness, expected) in [
        ("", None),
        (r#","targetGroupStickinessConfig":{"enabled":false}"#, None),
        (r#","targetGroupStickinessConfig":{"enabled":false,"durationSeconds":60}"#, None),
        (
            r#","targetGroupStickinessConfig":{"enabled":true,"durationSeconds":3600}"#,
            Some(ForwardStickiness { enabled: true, duration_seconds: Some(3600) }),
        ),
        (
            r#","TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":604800}"#,
            Some(ForwardStickiness { enabled: true, duration_seconds: Some(604_800) }),
        ),
    ] {
        let stack = split(&forward(stickiness)).unwrap_or_else(|e| panic!("{stickiness}: {e}"));
        let Action::Forward { stickiness: got, .. } = &listener(&stack, 80).rules[0].actions[0] else {
            panic!("a forward")
        };
        assert_eq!(*got, expected, "{stickiness}");
    }
    for stickiness in [
        r#","targetGroupStickinessConfig":{"enabled":true}"#,
        r#","targetGroupStickinessConfig":{"enabled":true,"durationSeconds":0}"#,
        r#","targetGroupStickinessConfig":{"enabled":true,"durationSeconds":604801}"#,
    ] {
        let message = split(&forward(stickiness)).expect_err(stickiness).to_string();
        assert!(message.contains("durationSeconds is 1 to 604800"), "{stickiness}: {message}");
    }
}

#[test]
fn forwards_to_foreign_target_groups_are_checked() {
    for (action, expected) in [
        (r#"{"type":"forward","targetGroupARN":"arn:tg"}"#.to_string(), "is not a target group ARN"),
        (
            r#"{"type":"forward","targetGroupARN":"arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1"}"#
                .to_string(),
            "is not a target group ARN",
        ),
        (r#"{"type":"forward","targetGroupName":"bad_name"}"#.to_string(), "is not a target group name"),
        (format!(r#"{{"type":"forward","targetGroupName":"{}"}}"#, "a".repeat(33)), "is not a target group name"),
        (
            format!(r#"{{"type":"forward","targetGroupARN":"{BLUE_ARN}","targetGroupName":"blue"}}"#),
            "either targetGroupARN or targetGroupName",
        ),
        (
            format!(
                r#"{{"type":"forward","targetGroupARN":"{BLUE_ARN}","forwardConfig":{{"targetGroups":[{{"serviceName":"web","servicePort":80}}]}}}}"#
            ),
            "either forwardConfig or targetGroupARN",
        ),
        (r#"{"type":"forward"}"#.to_string(), "forward needs forwardConfig, targetGroupARN or targetGroupName"),
        (
            format!(
                r#"{{"type":"forward","forwardConfig":{{"targetGroups":[{{"targetGroupARN":"{BLUE_ARN}","serviceName":"web","servicePort":80}}]}}}}"#
            ),
            "either serviceName or targetGroupARN",
        ),
        (
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"weight":1}]}}"#.to_string(),
            "needs serviceName, targetGroupARN or targetGroupName",
        ),
    ] {
        let message = split(&action).expect_err(&action).to_string();
        assert!(
            message.contains("actions.split has an invalid value") && message.contains(expected),
            "{action}: {message}"
        );
    }
}

/// `web` with one path of `path_type` to Service `web`, on host `shop.example.com` or none.
fn routed(annotations: &[(&str, &str)], host: Option<&str>, path_text: &str, path_type: &str) -> Ingress {
    ingress("shop", "web", annotations, vec![rule(host, vec![path(path_text, path_type, "web", "http")])])
}

#[test]
fn regular_expressions_match_paths_hosts_and_headers() {
    use RuleCondition::*;
    let regex = [("use-regex-path-match", "true")];
    let header =
        r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Version","regexValues":["^v[0-9]+$"]}}]"#;
    let host_regex =
        r#"[{"field":"host-header","hostHeaderConfig":{"regexValues":["^(www\\.)?shop\\.example\\.com$"]}}]"#;
    let path_regex = r#"[{"field":"path-pattern","pathPatternConfig":{"regexValues":["^/img/.*\\.png$"]}}]"#;
    let cases: Vec<(Ingress, Vec<RuleCondition>)> = vec![
        // ImplementationSpecific paths become regular expressions, after their leading `/`.
        (
            routed(&regex, Some("shop.example.com"), "/api/v[0-9]+/.*", "ImplementationSpecific"),
            vec![HostHeader(strings(&["shop.example.com"])), PathPatternRegex(strings(&["api/v[0-9]+/.*"]))],
        ),
        // Exact and Prefix paths stay patterns; without the annotation nothing changes.
        (routed(&regex, None, "/api", "Prefix"), vec![PathPattern(strings(&["/api", "/api/*"]))]),
        (routed(&regex, None, "/api", "Exact"), vec![PathPattern(strings(&["/api"]))]),
        (routed(&[], None, "/api*", "ImplementationSpecific"), vec![PathPattern(strings(&["/api*"]))]),
        (
            routed(&[("use-regex-path-match", "false")], None, "/api*", "ImplementationSpecific"),
            vec![PathPattern(strings(&["/api*"]))],
        ),
        // regexValues in conditions: headers, hosts and paths.
        (
            routed(&[("conditions.web", header)], None, "/", "Prefix"),
            vec![
                HttpHeaderRegex { name: "X-Version".into(), values: strings(&["^v[0-9]+$"]) },
                PathPattern(strings(&["/*"])),
            ],
        ),
        (
            routed(&[("conditions.web", host_regex)], None, "/", "Prefix"),
            vec![HostHeaderRegex(strings(&[r"^(www\.)?shop\.example\.com$"])), PathPattern(strings(&["/*"]))],
        ),
        (
            routed(&[("conditions.web", path_regex)], Some("shop.example.com"), "", "ImplementationSpecific"),
            vec![HostHeader(strings(&["shop.example.com"])), PathPatternRegex(strings(&[r"^/img/.*\.png$"]))],
        ),
        (
            routed(
                &[("use-regex-path-match", "true"), ("conditions.web", path_regex)],
                None,
                "/api/.*",
                "ImplementationSpecific",
            ),
            vec![PathPatternRegex(strings(&["api/.*", r"^/img/.*\.png$"]))],
        ),
    ];
    for (ingress, expected) in cases {
        let stack = build(&[&ingress]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(listener(&stack, 80).rules[0].conditions, expected, "{:?}", ingress.metadata.annotations);
    }
}

#[test]
fn values_and_regular_expressions_do_not_mix_in_one_rule() {
    let path_regex = r#"[{"field":"path-pattern","pathPatternConfig":{"regexValues":["^/img/.*$"]}}]"#;
    let host_regex = r#"[{"field":"host-header","hostHeaderConfig":{"regexValues":["^shop$"]}}]"#;
    let both =
        r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X","values":["a"],"regexValues":["b"]}}]"#;
    let method = r#"[{"field":"http-request-method","httpRequestMethodConfig":{"regexValues":["GET"]}}]"#;
    for (ingress, expected) in [
        // A Prefix path is a pattern; a regular expression for the path beside it is refused.
        (
            routed(&[("conditions.web", path_regex)], None, "/api", "Prefix"),
            "by values (/api, /api/*) or by regexValues",
        ),
        (routed(&[("conditions.web", host_regex)], Some("shop.example.com"), "/", "Prefix"), "match the host either"),
        (
            routed(
                &[
                    ("use-regex-path-match", "true"),
                    ("conditions.web", r#"[{"field":"path-pattern","pathPatternConfig":{"values":["/x"]}}]"#),
                ],
                None,
                "/api/.*",
                "ImplementationSpecific",
            ),
            "match the path either",
        ),
        (routed(&[("conditions.web", both)], None, "/", "Prefix"), "either values or regexValues, not both"),
        (routed(&[("conditions.web", method)], None, "/", "Prefix"), "httpRequestMethod takes values, not regexValues"),
        (routed(&[("use-regex-path-match", "yes")], None, "/", "Prefix"), "use-regex-path-match has an invalid value"),
        (
            routed(&[("use-regex-path-match", "true")], None, "/", "ImplementationSpecific"),
            "/ followed by a regular expression",
        ),
    ] {
        let message = build(&[&ingress]).expect_err("refused").to_string();
        assert!(message.contains(expected), "{:?}: {message}", ingress.metadata.annotations);
    }
}
