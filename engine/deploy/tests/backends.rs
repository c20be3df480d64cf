//! How an application load balancer reaches its backends, against the in-memory fake cloud: a
//! target group's protocol version (HTTP/1.1, HTTP/2, gRPC), which ELBv2 fixes at creation, so a
//! change replaces the group while every rule keeps forwarding to a group with targets; the gRPC
//! success codes of its health check; target groups made outside Elbow, forwarded to by name or
//! ARN and never changed; and forward stickiness.

use elbow_cloud::{Api, Cloud, CreateTargetGroup, TargetGroup};
use elbow_deploy::changes::{Kind, Verb};
use elbow_fake::FakeCloud;
use elbow_model::*;

mod support;

use support::*;

/// `alb_stack("web", [30080], "/api" -> 30080)` with its one target group at `version`, named
/// for it (the builder's names hash the version) and with the health check that goes with it.
fn web(version: ProtocolVersion, codes: &str) -> Stack {
    let mut stack = alb_stack("web", &[30080], &[("/api", 0)]);
    let tg = &mut stack.target_groups[0];
    tg.protocol_version = Some(version);
    tg.name = format!("k8s-web-30080-{}", version.as_str().to_ascii_lowercase());
    tg.health_check.matcher = Some(codes.into());
    if version == ProtocolVersion::Grpc {
        tg.health_check.path = Some("/AWS.ALB/healthcheck".into());
    }
    stack
}

#[tokio::test]
async fn changing_the_protocol_version_replaces_the_target_group_without_dropping_traffic() {
    let watched = WatchedListeners::new(seeded());
    let deployer = deployer(&watched);
    deployer.deploy(&web(ProtocolVersion::Http1, "200")).await.expect("HTTP/1.1");
    watched.broken.lock().expect("lock").clear(); // the listener comes last on creation
    let versions = |cloud: &FakeCloud| {
        cloud.target_groups().into_iter().map(|tg| (tg.protocol_version, tg.health_check.matcher)).collect::<Vec<_>>()
    };
    assert_eq!(versions(&watched.inner), [(Some(ProtocolVersion::Http1), Some("200".into()))]);

    for (version, codes) in
        [(ProtocolVersion::Grpc, "12"), (ProtocolVersion::Http2, "200"), (ProtocolVersion::Grpc, "0-99")]
    {
        let outcome = deployer.deploy(&web(version, codes)).await.unwrap_or_else(|e| panic!("{version:?}: {e}"));
        assert_eq!(versions(&watched.inner), [(Some(version), Some(codes.into()))], "{version:?}");
        assert_eq!(outcome.changes.count(Verb::Created, Kind::TargetGroup), 1, "{version:?}: {}", outcome.changes);
        assert_eq!(outcome.changes.count(Verb::Deleted, Kind::TargetGroup), 1, "{version:?}");
        let tg = &watched.inner.target_groups()[0];
        assert_eq!(watched.inner.targets(&tg.arn).len(), 2, "{version:?}: the new group has the targets");
        let rules = listener_rules(&watched.inner);
        assert_eq!(rules, [(1, vec!["/api".to_string()], tg.name.clone())], "{version:?}: the rule moved");
    }
    assert_eq!(*watched.broken.lock().expect("lock"), Vec::<String>::new(), "a listener lost its targets");
}

#[tokio::test]
async fn a_grpc_groups_success_codes_change_in_place_as_grpc_codes() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&web(ProtocolVersion::Grpc, "12")).await.expect("gRPC");
    let arn = cloud.target_groups()[0].arn.clone();
    cloud.counter().reset();
    let outcome = deployer.deploy(&web(ProtocolVersion::Grpc, "0,12")).await.expect("new codes");
    assert_eq!(cloud.counter().snapshot().get(&Api::ModifyTargetGroup), Some(&1));
    assert_eq!(outcome.changes.count(Verb::Created, Kind::TargetGroup), 0);
    let tg = &cloud.target_groups()[0];
    assert_eq!((tg.arn.as_str(), tg.health_check.matcher.as_deref()), (arn.as_str(), Some("0,12")));
}

#[tokio::test]
async fn the_fake_refuses_what_aws_refuses_of_protocol_versions_and_success_codes() {
    let cloud = seeded();
    let spec = &web(ProtocolVersion::Grpc, "12").target_groups[0];
    let input = |version: Option<ProtocolVersion>, protocol: Protocol, codes: &str| {
        let mut health_check = spec.health_check.clone();
        health_check.matcher = Some(codes.into());
        CreateTargetGroup {
            name: format!("tg-{}", cloud.target_groups().len()),
            target_type: TargetType::Instance,
            protocol,
            port: 30080,
            protocol_version: version,
            vpc_id: "vpc-1".into(),
            ip_address_type: IpAddressType::Ipv4,
            health_check,
            tags: Tags::new(),
        }
    };
    for (version, protocol, codes, refused) in [
        (Some(ProtocolVersion::Grpc), Protocol::Tcp, "12", "cannot be specified for target groups with the TCP"),
        (Some(ProtocolVersion::Grpc), Protocol::Http, "200", "GrpcCode '200' must be codes from 0 to 99"),
        (Some(ProtocolVersion::Http2), Protocol::Http, "12", "HttpCode '12' must be codes from 200"),
        (None, Protocol::Http, "12", "HttpCode '12'"),
    ] {
        let error = cloud.create_target_group(input(version, protocol, codes)).await.expect_err("refused");
        assert!(error.to_string().contains(refused), "{version:?} {codes}: {error}");
    }
    let grpc =
        cloud.create_target_group(input(Some(ProtocolVersion::Grpc), Protocol::Http, "0-99")).await.expect("gRPC");
    let plain = cloud.create_target_group(input(None, Protocol::Http, "200")).await.expect("HTTP/1.1");
    assert_eq!(plain.protocol_version, Some(ProtocolVersion::Http1), "AWS reports HTTP1 for a group made without one");
    // The codes go as GrpcCode to a gRPC group only, as HttpCode to the others only.
    let hc = |codes: &str| HealthCheck { matcher: Some(codes.into()), ..spec.health_check.clone() };
    let error = cloud.modify_target_group(&grpc.arn, &hc("12"), false).await.expect_err("HttpCode to gRPC");
    assert!(error.to_string().contains("takes a GrpcCode matcher"), "{error}");
    let error = cloud.modify_target_group(&plain.arn, &hc("200"), true).await.expect_err("GrpcCode to HTTP1");
    assert!(error.to_string().contains("takes a HttpCode matcher"), "{error}");
    cloud.modify_target_group(&grpc.arn, &hc("12"), true).await.expect("GrpcCode to gRPC");
}

/// A target group made outside Elbow (no tag of ours), holding one target of its own.
#[allow(clippy::expect_used)] // a test helper: failing loudly is the point
async fn seed_foreign(cloud: &FakeCloud, name: &str) -> TargetGroup {
    let spec = &web(ProtocolVersion::Http1, "200").target_groups[0];
    let tg = cloud
        .seed_target_group(CreateTargetGroup {
            name: name.into(),
            target_type: TargetType::Instance,
            protocol: Protocol::Http,
            port: 8080,
            protocol_version: None,
            vpc_id: "vpc-1".into(),
            ip_address_type: IpAddressType::Ipv4,
            health_check: spec.health_check.clone(),
            tags: Tags::from([("team".to_string(), "payments".to_string())]),
        })
        .expect("seeded");
    cloud.register_targets(&tg.arn, &[Target::new("i-3", 8080)]).await.expect("its own target");
    tg
}

/// `web` whose `/api` rule forwards to `reference`, weighted 1:1 with its own group.
fn with_foreign(reference: TargetGroupReference, stickiness: Option<ForwardStickiness>) -> Stack {
    let mut stack = web(ProtocolVersion::Http1, "200");
    let resource_id = ResourceId::new("ForeignTargetGroup/payments");
    stack.foreign_target_groups.push(ForeignTargetGroup { resource_id: resource_id.clone(), reference });
    let own = stack.target_groups[0].resource_id.clone();
    stack.listeners[0].rules[0].actions = vec![Action::Forward {
        target_groups: vec![
            WeightedTargetGroup { target_group: own, weight: Some(1) },
            WeightedTargetGroup { target_group: resource_id, weight: Some(1) },
        ],
        stickiness,
    }];
    stack
}

fn rule_forwards(cloud: &FakeCloud) -> Vec<Action<String>> {
    let listener = &cloud.listeners()[0];
    cloud.rules(&listener.arn).into_iter().filter(|r| r.priority.is_some()).flat_map(|r| r.actions).collect()
}

#[tokio::test]
async fn a_foreign_target_group_is_forwarded_to_by_name_or_arn_and_never_changed() {
    let cloud = cloud();
    let foreign = seed_foreign(&cloud, "payments").await;
    let deployer = deployer(&cloud);
    let sticky = Some(ForwardStickiness { enabled: true, duration_seconds: Some(3600) });
    for reference in [TargetGroupReference::Name("payments".into()), TargetGroupReference::Arn(foreign.arn.clone())] {
        let stack = with_foreign(reference.clone(), sticky);
        deployer.deploy(&stack).await.unwrap_or_else(|e| panic!("{reference:?}: {e}"));
        let [Action::Forward { target_groups, stickiness }] = &rule_forwards(&cloud)[..] else { panic!("one forward") };
        assert_eq!(target_groups[1].target_group, foreign.arn, "{reference:?}");
        assert_eq!(*stickiness, sticky, "{reference:?}");
        // Deployed again, from what the cloud reports: nothing to change, stickiness included.
        cloud.counter().reset();
        support::deployer(&cloud).deploy(&stack).await.expect("again");
        assert_eq!(cloud.counter().mutating(), 0, "{reference:?}: {:?}", cloud.counter().snapshot());
    }
    let untouched = |cloud: &FakeCloud| {
        let now =
            cloud.target_groups().into_iter().find(|tg| tg.arn == foreign.arn).expect("the foreign group is left");
        assert_eq!(now, TargetGroup { load_balancer_arns: now.load_balancer_arns.clone(), ..foreign.clone() });
        assert_eq!(cloud.targets(&foreign.arn), [Target::new("i-3", 8080)], "its targets are its own");
        assert_eq!(cloud.tags(&foreign.arn), Tags::from([("team".to_string(), "payments".to_string())]));
    };
    untouched(&cloud);
    deployer
        .deploy(&Stack::empty(with_foreign(TargetGroupReference::Arn(foreign.arn.clone()), None).id))
        .await
        .expect("deleted");
    assert!(cloud.load_balancers().is_empty());
    untouched(&cloud);
}

#[tokio::test]
async fn a_foreign_target_group_name_that_is_not_found_changes_nothing_and_is_looked_up_again() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let stack = with_foreign(TargetGroupReference::Name("payments".into()), None);
    let error = deployer.deploy(&stack).await.expect_err("no such group");
    assert!(error.to_string().contains("target group named \"payments\""), "{error}");
    assert!(error.is_retryable(), "it may be made after the Ingress");
    assert_eq!(cloud.counter().mutating(), 0, "nothing made before the lookup");
    seed_foreign(&cloud, "payments").await;
    deployer.deploy(&stack).await.expect("found now");
    assert_eq!(rule_forwards(&cloud).len(), 1);
}

#[tokio::test]
async fn rules_matching_by_regular_expressions_are_made_and_kept_and_mixed_ones_are_refused() {
    let cloud = cloud();
    let mut stack = web(ProtocolVersion::Http1, "200");
    stack.listeners[0].rules[0].conditions = vec![
        RuleCondition::HostHeaderRegex(vec![r"^(www\.)?shop\.example\.com$".into()]),
        RuleCondition::PathPatternRegex(vec!["api/v[0-9]+/.*".into()]),
        RuleCondition::HttpHeaderRegex { name: "X-Version".into(), values: vec!["^v2$".into()] },
    ];
    deployer(&cloud).deploy(&stack).await.expect("deployed");
    let listener = &cloud.listeners()[0];
    let rule = cloud.rules(&listener.arn).into_iter().find(|r| r.priority.is_some()).expect("the rule");
    assert_eq!(rule.conditions, stack.listeners[0].rules[0].conditions);
    cloud.counter().reset();
    support::deployer(&cloud).deploy(&stack).await.expect("again, after a restart");
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());

    // A path matched by a pattern and by a regular expression is two path-pattern conditions.
    stack.listeners[0].rules[0].conditions.push(RuleCondition::PathPattern(vec!["/api/*".into()]));
    let error = deployer(&cloud).deploy(&stack).await.expect_err("refused");
    let source = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
    assert!(source.contains("at most one 'path-pattern' condition"), "{error}: {source}");
}
