//! The SDK implementation against an AWS-compatible endpoint: every call Elbow makes, with the
//! answers the deployer relies on.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_cloud::*;
use elbow_localstack_tests::{Network, cloud, unique};
use elbow_model::{
    Action, HealthCheck, HealthCheckPort, IngressRule, IpAddressType, LoadBalancerType, Protocol, RuleSource, Scheme,
    SecurityGroupRef, Tags, Target, TargetType,
};

fn tcp_health_check() -> HealthCheck {
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
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_network_load_balancer_lives_and_dies_through_the_adapter() {
    let net = Network::seed("adapter-lb", 2).await;
    let cloud = cloud().await;
    let name = unique("lb");
    let subnets: Vec<String> = net.inventory.subnets.iter().step_by(2).map(|s| s.id.clone()).collect();

    let tg = cloud
        .create_target_group(CreateTargetGroup {
            name: unique("tg"),
            target_type: TargetType::Instance,
            protocol: Protocol::Tcp,
            port: 31000,
            vpc_id: net.inventory.vpc_id.clone(),
            ip_address_type: IpAddressType::Ipv4,
            health_check: tcp_health_check(),
            tags: tags(&[("elbow.dev/cluster", &net.cluster)]),
        })
        .await
        .expect("target group");
    assert_eq!((tg.port, tg.protocol, tg.target_type), (31000, Protocol::Tcp, TargetType::Instance));
    assert_eq!(tg.health_check, tcp_health_check());

    let lb = cloud
        .create_load_balancer(CreateLoadBalancer {
            name: name.clone(),
            lb_type: LoadBalancerType::Network,
            scheme: Scheme::InternetFacing,
            ip_address_type: IpAddressType::Ipv4,
            subnets: subnets.clone(),
            security_groups: vec![],
            tags: tags(&[("elbow.dev/cluster", &net.cluster), ("elbow.dev/stack", "default/web")]),
        })
        .await
        .expect("load balancer");
    assert_eq!(lb.name, name);
    assert_eq!(lb.dns_name, lb.dns_name.to_lowercase());
    assert!(!lb.dns_name.is_empty());
    let mut sorted = subnets.clone();
    sorted.sort();
    assert_eq!(lb.subnets, sorted);
    // AWS answers a repeated create with identical settings with the existing load balancer;
    // moto creates a second one with the same name. The deployer never repeats a create for a name
    // it can find by tags, so neither behaviour can duplicate a load balancer of ours.

    let listener = cloud
        .create_listener(CreateListener {
            load_balancer_arn: lb.arn.clone(),
            port: 80,
            protocol: Protocol::Tcp,
            certificates: vec![],
            ssl_policy: None,
            default_actions: vec![Action::forward(tg.arn.clone())],
            tags: Tags::new(),
        })
        .await
        .expect("listener");
    let listeners = cloud.describe_listeners(&lb.arn).await.expect("listeners");
    assert_eq!(listeners.len(), 1);
    assert_eq!(listeners[0].default_actions, vec![Action::forward(tg.arn.clone())]);
    assert_eq!(listeners[0].arn, listener.arn);

    let targets: Vec<Target> = net.instances.iter().map(|id| Target { id: id.clone(), port: 31000 }).collect();
    cloud.register_targets(&tg.arn, &targets).await.expect("registered");
    let mut registered: Vec<Target> =
        cloud.describe_target_health(&tg.arn).await.expect("health").into_iter().map(|h| h.target).collect();
    registered.sort();
    let mut expected = targets.clone();
    expected.sort();
    assert_eq!(registered, expected);

    let found = cloud.describe_load_balancers(LoadBalancerFilter::Names(vec![name.clone()])).await.expect("by name");
    assert_eq!(found.len(), 1);
    assert!(
        cloud
            .describe_load_balancers(LoadBalancerFilter::Names(vec![unique("missing")]))
            .await
            .expect("unknown name")
            .is_empty()
    );
    let lb_tags = cloud.describe_tags(std::slice::from_ref(&lb.arn)).await.expect("tags");
    assert_eq!(lb_tags[&lb.arn].get("elbow.dev/stack").map(String::as_str), Some("default/web"));

    let mut slower = tcp_health_check();
    slower.interval_seconds = 30;
    cloud.modify_target_group(&tg.arn, &slower).await.expect("modified");
    let described = cloud.describe_target_groups(TargetGroupFilter::Arns(vec![tg.arn.clone()])).await.expect("tg");
    assert_eq!(described[0].health_check.interval_seconds, 30);

    cloud
        .modify_load_balancer_attributes(&lb.arn, &tags(&[("load_balancing.cross_zone.enabled", "true")]))
        .await
        .expect("attributes");
    let attributes = cloud.describe_load_balancer_attributes(&lb.arn).await.expect("attributes");
    assert_eq!(attributes.get("load_balancing.cross_zone.enabled").map(String::as_str), Some("true"));

    cloud.deregister_targets(&tg.arn, &targets[..1]).await.expect("deregistered");
    cloud.delete_load_balancer(&lb.arn).await.expect("lb deleted");
    cloud.delete_target_group(&tg.arn).await.expect("tg deleted");
    assert!(cloud.describe_load_balancers(LoadBalancerFilter::Names(vec![name])).await.expect("gone").is_empty());
    assert!(cloud.calls().count(Api::CreateLoadBalancer) == 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn security_groups_and_tagged_rules_are_found_by_their_tags() {
    let net = Network::seed("adapter-sg", 1).await;
    let cloud = cloud().await;
    let owner = tags(&[("elbow.dev/cluster", &net.cluster), ("elbow.dev/stack", "default/web")]);
    let group =
        cloud.create_security_group(&unique("fe"), "frontend", &net.inventory.vpc_id, &owner).await.expect("group");
    let by_tag = cloud
        .describe_security_groups(SecurityGroupFilter::Tag {
            key: "elbow.dev/cluster".into(),
            value: Some(net.cluster.clone()),
        })
        .await
        .expect("by tag");
    assert_eq!(by_tag.iter().map(|g| g.id.clone()).collect::<Vec<_>>(), vec![group.clone()]);

    let rule = NewIngressRule {
        rule: IngressRule {
            ip_protocol: "tcp".into(),
            from_port: 31000,
            to_port: 31000,
            source: RuleSource::SecurityGroup(SecurityGroupRef::Existing(group.clone())),
            description: None,
        },
        tags: owner.clone(),
    };
    let created =
        cloud.authorize_security_group_ingress(&net.node_group, std::slice::from_ref(&rule)).await.expect("authorized");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].rule.source, rule.rule.source);
    let in_group = cloud
        .describe_security_group_rules(SecurityGroupRuleFilter::Group(net.node_group.clone()))
        .await
        .expect("rules");
    let ours: Vec<_> = in_group.iter().filter(|r| r.rule_id == created[0].rule_id).collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].tags.get("elbow.dev/cluster"), Some(&net.cluster), "rule tags are kept");
    let by_tag = cloud
        .describe_security_group_rules(SecurityGroupRuleFilter::Tag {
            key: "elbow.dev/cluster".into(),
            value: net.cluster.clone(),
        })
        .await
        .expect("rules by tag");
    assert_eq!(by_tag.iter().map(|r| r.rule_id.clone()).collect::<Vec<_>>(), vec![created[0].rule_id.clone()]);

    let duplicate = cloud.authorize_security_group_ingress(&net.node_group, &[rule]).await.expect_err("duplicate");
    assert_eq!(duplicate.kind, CloudErrorKind::Duplicate, "{duplicate}");
    // AWS refuses to delete a group another group's rule refers to (DependencyViolation, which the
    // fake reproduces); moto allows it, so the order below is the one that works on both.
    cloud.revoke_security_group_ingress(&net.node_group, &[created[0].rule_id.clone()]).await.expect("revoked");
    cloud.delete_security_group(&group).await.expect("deleted");
    let gone = cloud.delete_security_group(&group).await.expect_err("gone");
    assert_eq!(gone.kind, CloudErrorKind::NotFound, "{gone}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_network_is_read_as_the_builders_need_it() {
    let net = Network::seed("adapter-net", 2).await;
    let cloud = cloud().await;
    let mut subnets = cloud.describe_subnets(&net.inventory.vpc_id).await.expect("subnets");
    subnets.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(subnets.len(), 6);
    assert!(subnets.iter().all(|s| s.tags.contains_key(&format!("kubernetes.io/cluster/{}", net.cluster))));
    let mut asked = net.instances.clone();
    asked.push("i-00000000000000000".into());
    let instances = cloud.describe_instances(&asked).await.expect("instances");
    assert_eq!(instances.len(), 2, "unknown ids are left out");
    assert!(instances.iter().all(|i| i.security_groups == vec![net.node_group.clone()]));
}
