//! Table tests of the planner: which steps, in which order, for each kind of difference.

use elbow_cloud::{Listener, LoadBalancer, TargetGroup};
use elbow_model::*;

use super::*;

fn lb_spec(scheme: Scheme) -> LoadBalancerSpec {
    LoadBalancerSpec {
        resource_id: ResourceId::new("LoadBalancer"),
        name: format!("lb-{}", scheme.as_str()),
        lb_type: LoadBalancerType::Network,
        scheme,
        ip_address_type: IpAddressType::Ipv4,
        subnets: vec!["subnet-a".into()],
        security_groups: vec![SecurityGroupRef::Existing("sg-user".into())],
        attributes: Attributes::new(),
        tags: Tags::new(),
    }
}

fn tg_spec(port: u16) -> TargetGroupSpec {
    TargetGroupSpec {
        resource_id: ResourceId::new("TargetGroup/TCP-80"),
        name: format!("tg-{port}"),
        target_type: TargetType::Instance,
        protocol: Protocol::Tcp,
        port,
        vpc_id: "vpc-1".into(),
        ip_address_type: IpAddressType::Ipv4,
        health_check: HealthCheck {
            protocol: Protocol::Tcp,
            port: HealthCheckPort::TrafficPort,
            path: None,
            interval_seconds: 10,
            timeout_seconds: 10,
            healthy_threshold_count: 3,
            unhealthy_threshold_count: 3,
            matcher: None,
        },
        attributes: Attributes::new(),
        tags: Tags::new(),
        targets: vec![Target { id: "i-1".into(), port }],
    }
}

fn stack(scheme: Scheme, port: u16) -> Stack {
    let mut stack = Stack::empty(StackId::new("default/web"));
    stack.load_balancers.push(lb_spec(scheme));
    stack.target_groups.push(tg_spec(port));
    stack.listeners.push(ListenerSpec {
        resource_id: ResourceId::new("Listener/TCP-80"),
        load_balancer: ResourceId::new("LoadBalancer"),
        port: 80,
        protocol: Protocol::Tcp,
        certificates: vec![],
        ssl_policy: None,
        default_actions: vec![Action::forward(ResourceId::new("TargetGroup/TCP-80"))],
        rules: vec![],
        tags: Tags::new(),
    });
    stack
}

/// What exists after `stack` was applied, with made-up ARNs.
fn applied(stack: &Stack) -> ActualStack {
    let lb = &stack.load_balancers[0];
    let tg = &stack.target_groups[0];
    let lb_arn = format!("arn:lb/{}", lb.name);
    let tg_arn = format!("arn:tg/{}", tg.name);
    ActualStack {
        load_balancers: vec![ActualLoadBalancer {
            resource_id: lb.resource_id.clone(),
            lb: LoadBalancer {
                arn: lb_arn.clone(),
                name: lb.name.clone(),
                dns_name: "x".into(),
                lb_type: lb.lb_type,
                scheme: lb.scheme,
                ip_address_type: lb.ip_address_type,
                vpc_id: "vpc-1".into(),
                state: "active".into(),
                subnets: lb.subnets.clone(),
                security_groups: vec!["sg-user".into()],
            },
            tags: Tags::new(),
            listeners: vec![Listener {
                arn: "arn:listener/80".into(),
                load_balancer_arn: lb_arn,
                port: 80,
                protocol: Protocol::Tcp,
                certificates: vec![],
                ssl_policy: None,
                default_actions: vec![Action::forward(tg_arn.clone())],
            }],
            attributes: Attributes::new(),
            rules: BTreeMap::new(),
        }],
        target_groups: vec![ActualTargetGroup {
            resource_id: tg.resource_id.clone(),
            tg: TargetGroup {
                arn: tg_arn,
                name: tg.name.clone(),
                target_type: tg.target_type,
                protocol: tg.protocol,
                port: tg.port,
                vpc_id: tg.vpc_id.clone(),
                ip_address_type: tg.ip_address_type,
                health_check: tg.health_check.clone(),
                load_balancer_arns: vec![],
            },
            tags: Tags::new(),
            targets: tg.targets.clone(),
            attributes: Attributes::new(),
        }],
        security_groups: vec![],
        node_rules: vec![],
        satisfied_node_rules: vec![],
    }
}

fn ctx() -> PlanContext {
    PlanContext { cluster: "c".into(), backend_group: None, previous_tags: BTreeMap::new() }
}

/// Each step's variant name, in order.
fn kinds(plan: &Plan) -> Vec<String> {
    plan.steps.iter().map(|step| format!("{step:?}").split([' ', '{']).next().unwrap_or_default().to_string()).collect()
}

#[test]
fn creation_follows_dependency_order() {
    let plan = plan(&stack(Scheme::InternetFacing, 31000), &ActualStack::default(), &ctx());
    assert_eq!(kinds(&plan), ["CreateTargetGroup", "RegisterTargets", "CreateLoadBalancer", "CreateListener"]);
    assert!(plan.bindings.is_empty());
}

#[test]
fn what_exists_as_desired_needs_no_step() {
    let desired = stack(Scheme::InternetFacing, 31000);
    let plan = plan(&desired, &applied(&desired), &ctx());
    assert_eq!(plan.steps, []);
    assert_eq!(plan.bindings.len(), 2);
}

#[test]
fn a_scheme_change_deletes_the_old_load_balancer_before_listening_on_the_new_one() {
    let before = stack(Scheme::InternetFacing, 31000);
    let plan = plan(&stack(Scheme::Internal, 31000), &applied(&before), &ctx());
    assert_eq!(kinds(&plan), ["CreateLoadBalancer", "DeleteLoadBalancer", "CreateListener"]);
}

#[test]
fn a_target_group_port_change_creates_moves_then_deletes() {
    let before = stack(Scheme::InternetFacing, 31000);
    let plan = plan(&stack(Scheme::InternetFacing, 32000), &applied(&before), &ctx());
    assert_eq!(kinds(&plan), ["CreateTargetGroup", "RegisterTargets", "ModifyListener", "DeleteTargetGroup"]);
}

#[test]
fn the_empty_stack_deletes_the_load_balancer_before_its_target_groups() {
    let before = stack(Scheme::InternetFacing, 31000);
    let plan = plan(&Stack::empty(before.id.clone()), &applied(&before), &ctx());
    assert_eq!(kinds(&plan), ["DeleteLoadBalancer", "DeleteTargetGroup"]);
}

#[test]
fn a_replacement_that_keeps_the_name_deletes_the_old_load_balancer_first() {
    let mut before = stack(Scheme::InternetFacing, 31000);
    before.load_balancers[0].name = "my-web".into();
    let mut after = stack(Scheme::Internal, 31000);
    after.load_balancers[0].name = "my-web".into();
    let plan = plan(&after, &applied(&before), &ctx());
    assert_eq!(kinds(&plan), ["DeleteLoadBalancer", "CreateLoadBalancer", "CreateListener"]);
}

#[test]
fn an_interrupted_replacement_keeps_the_matching_load_balancer_and_frees_the_target_group_first() {
    let before = stack(Scheme::InternetFacing, 31000);
    let after = stack(Scheme::Internal, 31000);
    let mut actual = applied(&before);
    let mut new = applied(&after).load_balancers.remove(0);
    new.listeners.clear();
    actual.load_balancers.push(new.clone());
    let plan = plan(&after, &actual, &ctx());
    assert_eq!(kinds(&plan), ["DeleteLoadBalancer", "CreateListener"]);
    assert_eq!(plan.steps[0], Step::DeleteLoadBalancer { arn: actual.load_balancers[0].lb.arn.clone() });
    assert_eq!(plan.bindings.get(&ResourceId::new("LoadBalancer")), Some(&new.lb.arn));
}

#[test]
fn a_rule_from_another_of_the_stacks_groups_compares_by_the_groups_id() {
    let group = |rid: &str, ingress: Vec<IngressRule>| SecurityGroupSpec {
        resource_id: ResourceId::new(rid),
        group_name: rid.replace('/', "-"),
        description: String::new(),
        vpc_id: "vpc-1".into(),
        ingress,
        tags: Tags::new(),
    };
    let from_a = IngressRule {
        ip_protocol: "tcp".into(),
        from_port: 80,
        to_port: 80,
        source: RuleSource::SecurityGroup(SecurityGroupRef::Managed(ResourceId::new("SecurityGroup/a"))),
        description: None,
    };
    let mut desired = Stack::empty(StackId::new("default/web"));
    // b names a as its source and comes first: a's id must be known before b's rules compare.
    desired.security_groups = vec![group("SecurityGroup/b", vec![from_a.clone()]), group("SecurityGroup/a", vec![])];
    let actual_group = |spec: &SecurityGroupSpec, id: &str, rules| ActualSecurityGroup {
        resource_id: spec.resource_id.clone(),
        group: elbow_cloud::SecurityGroup {
            id: id.into(),
            group_name: spec.group_name.clone(),
            description: String::new(),
            vpc_id: "vpc-1".into(),
            tags: Tags::new(),
        },
        rules,
    };
    let reported = elbow_cloud::SecurityGroupRule {
        rule_id: "sgr-1".into(),
        group_id: "sg-b".into(),
        rule: IngressRule { source: RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-a".into())), ..from_a },
        tags: Tags::new(),
    };
    let actual = ActualStack {
        security_groups: vec![
            actual_group(&desired.security_groups[0], "sg-b", vec![reported]),
            actual_group(&desired.security_groups[1], "sg-a", vec![]),
        ],
        ..ActualStack::default()
    };
    assert_eq!(plan(&desired, &actual, &ctx()).steps, []);
}

#[test]
fn the_shared_backend_group_resolves_to_its_id() {
    let mut desired = stack(Scheme::InternetFacing, 31000);
    desired.load_balancers[0].security_groups = vec![SecurityGroupRef::SharedBackend];
    let ctx =
        PlanContext { cluster: "c".into(), backend_group: Some("sg-backend".into()), previous_tags: BTreeMap::new() };
    let plan = plan(&desired, &ActualStack::default(), &ctx);
    let groups = plan.steps.iter().find_map(|s| match s {
        Step::CreateLoadBalancer { security_groups, .. } => Some(security_groups.clone()),
        _ => None,
    });
    assert_eq!(groups, Some(vec![GroupRef::Id("sg-backend".into())]));
}

#[test]
fn mutable_differences_are_modifications_of_the_existing_resources() {
    type Change = fn(&mut Stack);
    let cases: [(&str, Change, &[&str]); 9] = [
        ("health check", |s| s.target_groups[0].health_check.interval_seconds = 30, &["ModifyTargetGroup"]),
        (
            "target group attributes",
            |s| {
                s.target_groups[0].attributes.insert("deregistration_delay.timeout_seconds".into(), "10".into());
            },
            &["ModifyTargetGroupAttributes"],
        ),
        (
            "node set",
            |s| s.target_groups[0].targets = vec![Target { id: "i-2".into(), port: 31000 }],
            &["RegisterTargets", "DeregisterTargets"],
        ),
        ("subnets", |s| s.load_balancers[0].subnets.push("subnet-b".into()), &["SetSubnets"]),
        (
            "security groups",
            |s| s.load_balancers[0].security_groups = vec![SecurityGroupRef::Existing("sg-other".into())],
            &["SetSecurityGroups"],
        ),
        ("IP address type", |s| s.load_balancers[0].ip_address_type = IpAddressType::Dualstack, &["SetIpAddressType"]),
        (
            "load balancer attributes",
            |s| {
                s.load_balancers[0].attributes.insert("load_balancing.cross_zone.enabled".into(), "true".into());
            },
            &["ModifyLoadBalancerAttributes"],
        ),
        (
            "tags",
            |s| {
                s.load_balancers[0].tags.insert("team".into(), "a".into());
            },
            &["AddTags"],
        ),
        ("listener protocol", |s| s.listeners[0].protocol = Protocol::Udp, &["ModifyListener"]),
    ];
    for (what, change, expected) in cases {
        let before = stack(Scheme::InternetFacing, 31000);
        let mut after = before.clone();
        change(&mut after);
        assert_eq!(kinds(&plan(&after, &applied(&before), &ctx())), expected, "{what}");
    }
}

#[test]
fn only_tags_set_by_an_earlier_deploy_are_removed() {
    let mut before = stack(Scheme::InternetFacing, 31000);
    before.load_balancers[0].tags.insert("team".into(), "a".into());
    let mut actual = applied(&before);
    actual.load_balancers[0].tags =
        Tags::from([("team".to_string(), "a".to_string()), ("billing".to_string(), "x".to_string())]);
    let after = stack(Scheme::InternetFacing, 31000);
    let lb = ResourceId::new("LoadBalancer");

    let forgetful = plan(&after, &actual, &ctx());
    assert_eq!(forgetful.steps, [], "without a record of what Elbow set, every tag is someone else's");

    let mut ctx = ctx();
    ctx.previous_tags.insert(lb.clone(), before.load_balancers[0].tags.clone());
    let plan = plan(&after, &actual, &ctx);
    let arn = actual.load_balancers[0].lb.arn.clone();
    assert_eq!(plan.steps, [Step::RemoveTags { resource_id: lb, arn, keys: vec!["team".into()] }]);
}

#[test]
fn node_rules_are_authorized_per_group_and_only_ours_are_revoked() {
    let rule = |port: u16| NodeSecurityGroupRule {
        resource_id: ResourceId::new(format!("NodeRule/{port}")),
        group_id: "sg-nodes".into(),
        rule: IngressRule {
            ip_protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            source: RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend),
            description: None,
        },
    };
    let ctx = PlanContext { backend_group: Some("sg-backend".into()), ..ctx() };
    let actual_rule = |port: u16| crate::actual::ActualNodeRule {
        resource_id: ResourceId::new(format!("NodeRule/{port}")),
        rule: elbow_cloud::SecurityGroupRule {
            rule_id: format!("sgr-{port}"),
            group_id: "sg-nodes".into(),
            rule: IngressRule {
                source: RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-backend".into())),
                ..rule(port).rule
            },
            tags: Tags::new(),
        },
    };
    let mut desired = Stack::empty(StackId::new("default/web"));
    desired.node_security_group_rules = vec![rule(31000), rule(31001)];
    let actual = ActualStack { node_rules: vec![actual_rule(31000), actual_rule(32000)], ..ActualStack::default() };
    let plan = plan(&desired, &actual, &ctx);
    assert_eq!(kinds(&plan), ["AuthorizeIngress", "RevokeIngress"]);
    let Step::AuthorizeIngress { group, rules, node: true } = &plan.steps[0] else { panic!("{:?}", plan.steps) };
    assert_eq!(group, &GroupRef::Id("sg-nodes".into()));
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].rule.from_port, 31001);
    assert_eq!(
        rules[0].rule.source,
        RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-backend".into())),
        "the backend group is named by id"
    );
    assert_eq!(rules[0].tags.get(elbow_model::tags::RESOURCE_TAG).map(String::as_str), Some("NodeRule/31001"));
    assert_eq!(
        plan.steps[1],
        Step::RevokeIngress { group_id: "sg-nodes".into(), rule_ids: vec!["sgr-32000".into()], node: true }
    );
}

#[test]
fn listener_rules_are_matched_by_priority() {
    let rule = |path: &str| RuleSpec {
        conditions: vec![RuleCondition::PathPattern(vec![path.into()])],
        actions: vec![Action::forward(ResourceId::new("TargetGroup/TCP-80"))],
    };
    let actual_rule = |priority: u32, path: &str| Rule {
        arn: format!("arn:rule/{priority}"),
        priority: Some(priority),
        conditions: vec![RuleCondition::PathPattern(vec![path.into()])],
        actions: vec![Action::forward("arn:tg/tg-31000".to_string())],
    };
    let mut desired = stack(Scheme::InternetFacing, 31000);
    desired.listeners[0].rules = vec![rule("/a"), rule("/b")];
    let mut actual = applied(&desired);
    actual.load_balancers[0]
        .rules
        .insert("arn:listener/80".into(), vec![actual_rule(1, "/a"), actual_rule(2, "/old"), actual_rule(3, "/x")]);
    let plan = plan(&desired, &actual, &ctx());
    assert_eq!(kinds(&plan), ["ModifyRule", "DeleteRule"]);
    assert!(matches!(&plan.steps[0], Step::ModifyRule { arn, .. } if arn == "arn:rule/2"));
    assert!(matches!(&plan.steps[1], Step::DeleteRule { arn, .. } if arn == "arn:rule/3"));

    let created = super::plan(&desired, &ActualStack::default(), &ctx());
    assert_eq!(
        kinds(&created),
        ["CreateTargetGroup", "RegisterTargets", "CreateLoadBalancer", "CreateListener", "CreateRule", "CreateRule"]
    );
}
