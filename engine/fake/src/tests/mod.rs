use elbow_model::{
    Action, HealthCheck, HealthCheckPort, IngressRule, IpAddressType, LoadBalancerType, Protocol, RuleSource, Scheme,
    SecurityGroupRef, Tags, Target, TargetType,
};

use super::*;
use elbow_cloud::error::CloudErrorKind;

mod addons;
mod addresses;
mod auth_actions;
mod certificates;
mod ec2;
mod elbv2;
mod requests;
mod tls;

fn network() -> FakeCloud {
    let cloud = FakeCloud::new();
    cloud.seed_vpc("vpc-1");
    for (id, az) in [("subnet-a", "us-east-1a"), ("subnet-b", "us-east-1b")] {
        cloud.seed_subnet(Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: az.into(),
            cidr_block: "10.0.0.0/24".into(),
            ipv6_cidr_blocks: Vec::new(),
            tags: Tags::new(),
        });
    }
    cloud.seed_instance(Instance {
        id: "i-1".into(),
        vpc_id: "vpc-1".into(),
        availability_zone: "us-east-1a".into(),
        state: "running".into(),
        security_groups: vec![],
    });
    cloud
}

/// A /16 of the VPC for pods, as the VPC CNI gives them addresses from the node subnets.
pub(super) fn pod_subnet() -> Subnet {
    Subnet {
        id: "subnet-pods".into(),
        vpc_id: "vpc-1".into(),
        availability_zone: "us-east-1c".into(),
        cidr_block: "10.0.0.0/16".into(),
        ipv6_cidr_blocks: Vec::new(),
        tags: Tags::new(),
    }
}

fn lb_input(name: &str) -> CreateLoadBalancer {
    CreateLoadBalancer {
        name: name.into(),
        lb_type: LoadBalancerType::Network,
        scheme: Scheme::InternetFacing,
        ip_address_type: IpAddressType::Ipv4,
        subnets: vec!["subnet-b".into(), "subnet-a".into()],
        subnet_addresses: Vec::new(),
        security_groups: vec![],
        tags: Tags::from([("owner".to_string(), "me".to_string())]),
    }
}

fn health_check() -> HealthCheck {
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

fn tg_input(name: &str, port: u16) -> CreateTargetGroup {
    CreateTargetGroup {
        name: name.into(),
        target_type: TargetType::Instance,
        protocol: Protocol::Tcp,
        port,
        protocol_version: None,
        vpc_id: "vpc-1".into(),
        ip_address_type: IpAddressType::Ipv4,
        health_check: health_check(),
        tags: Tags::new(),
    }
}

fn listener_input(lb: &str, port: u16, tg: &str) -> CreateListener {
    CreateListener {
        load_balancer_arn: lb.into(),
        port,
        protocol: Protocol::Tcp,
        certificates: vec![],
        ssl_policy: None,
        alpn_policy: None,
        mutual_authentication: None,
        default_actions: vec![Action::forward(tg.to_string())],
        tags: Tags::new(),
    }
}

#[tokio::test]
async fn a_load_balancer_is_created_with_its_tags_and_found_by_name() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("created");
    assert_eq!(lb.state, "provisioning");
    assert_eq!(lb.vpc_id, "vpc-1");
    assert_eq!(lb.subnets, ["subnet-a", "subnet-b"], "sorted");
    assert!(lb.dns_name.starts_with("web-") && lb.dns_name.ends_with(".elb.us-east-1.amazonaws.com"));
    assert_eq!(cloud.tags(&lb.arn).get("owner").map(String::as_str), Some("me"));

    let found = cloud
        .describe_load_balancers(LoadBalancerFilter::Names(vec!["web".into(), "nope".into()]))
        .await
        .expect("described");
    assert_eq!(found.len(), 1, "unknown names are left out");
    let again = cloud.describe_load_balancers(LoadBalancerFilter::Arns(vec![lb.arn.clone()])).await.expect("described");
    assert_eq!(again[0].state, "active", "active once described");
    assert_eq!(found[0].state, "active", "like moto, the first describe already says active");
}

#[tokio::test]
async fn a_repeated_create_returns_the_existing_load_balancer_unless_settings_differ() {
    let cloud = network();
    let first = cloud.create_load_balancer(lb_input("web")).await.expect("created");
    let second = cloud.create_load_balancer(lb_input("web")).await.expect("same settings");
    assert_eq!(first.arn, second.arn);
    let mut internal = lb_input("web");
    internal.scheme = Scheme::Internal;
    let error = cloud.create_load_balancer(internal).await.expect_err("different scheme");
    assert_eq!(error.kind, CloudErrorKind::Duplicate);
    assert_eq!(cloud.load_balancers().len(), 1);
}

#[tokio::test]
async fn names_follow_elbv2_rules() {
    let cloud = network();
    for bad in ["", "-web", "web-", "internal-web", "a_b", &"x".repeat(33)] {
        let error = cloud.create_load_balancer(lb_input(bad)).await.expect_err(bad);
        assert_eq!(error.kind, CloudErrorKind::InvalidRequest, "{bad:?}");
    }
}

#[tokio::test]
async fn a_target_group_in_use_cannot_be_deleted_until_its_load_balancer_is_gone() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    let tg = cloud.create_target_group(tg_input("web-tg", 31000)).await.expect("tg");
    cloud.create_listener(listener_input(&lb.arn, 80, &tg.arn)).await.expect("listener");
    assert_eq!(cloud.target_groups()[0].load_balancer_arns, vec![lb.arn.clone()]);

    let error = cloud.delete_target_group(&tg.arn).await.expect_err("in use");
    assert_eq!(error.kind, CloudErrorKind::InUse);
    cloud.delete_load_balancer(&lb.arn).await.expect("lb deleted");
    assert!(cloud.listeners().is_empty(), "listeners go with their load balancer");
    cloud.delete_target_group(&tg.arn).await.expect("tg deleted");
    cloud.delete_load_balancer(&lb.arn).await.expect("deleting twice succeeds");
}

#[tokio::test]
async fn a_network_target_group_serves_one_load_balancer() {
    let cloud = network();
    let one = cloud.create_load_balancer(lb_input("one")).await.expect("lb");
    let two = cloud.create_load_balancer(lb_input("two")).await.expect("lb");
    let tg = cloud.create_target_group(tg_input("shared", 31000)).await.expect("tg");
    cloud.create_listener(listener_input(&one.arn, 80, &tg.arn)).await.expect("listener");
    let error = cloud.create_listener(listener_input(&two.arn, 80, &tg.arn)).await.expect_err("second lb");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
    let error = cloud
        .create_listener(listener_input(&one.arn, 81, &tg.arn.replace("shared", "x")))
        .await
        .expect_err("unknown tg");
    assert_eq!(error.kind, CloudErrorKind::NotFound);
}

#[tokio::test]
async fn instance_targets_must_exist_and_batches_are_counted() {
    let cloud = network();
    let tg = cloud.create_target_group(tg_input("web-tg", 31000)).await.expect("tg");
    let error = cloud.register_targets(&tg.arn, &[Target::new("i-404", 31000)]).await.expect_err("unknown");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
    cloud.register_targets(&tg.arn, &[Target::new("i-1", 31000)]).await.expect("registered");
    assert_eq!(cloud.targets(&tg.arn), [Target::new("i-1", 31000)]);

    let health = cloud.describe_target_health(&tg.arn).await.expect("health");
    assert_eq!(health[0].state, "healthy");
    cloud.deregister_targets(&tg.arn, &[Target::new("i-1", 31000)]).await.expect("deregistered");
    assert!(cloud.targets(&tg.arn).is_empty());
}

#[tokio::test]
async fn paging_and_tag_batches_count_one_request_each() {
    let cloud = network().with_page_size(2);
    let mut arns = Vec::new();
    for i in 0..5 {
        arns.push(cloud.create_load_balancer(lb_input(&format!("lb-{i}"))).await.expect("lb").arn);
    }
    cloud.counter().reset();
    let all = cloud.describe_load_balancers(LoadBalancerFilter::All).await.expect("all");
    assert_eq!(all.len(), 5);
    assert_eq!(cloud.counter().count(Api::DescribeLoadBalancers), 3, "pages of 2");

    let many: Vec<String> = (0..45).map(|i| arns[i % 5].clone()).collect();
    cloud.describe_tags(&many).await.expect("tags");
    assert_eq!(cloud.counter().count(Api::DescribeTags), 3, "batches of 20");
    assert_eq!(cloud.counter().mutating(), 0);
}

#[tokio::test]
async fn security_groups_keep_tagged_rules_and_refuse_duplicates_and_deletion_in_use() {
    let cloud = network();
    let backend = cloud.create_security_group("backend", "shared", "vpc-1", &Tags::new()).await.expect("sg");
    let nodes = cloud.create_security_group("nodes", "nodes", "vpc-1", &Tags::new()).await.expect("sg");
    let error = cloud.create_security_group("nodes", "again", "vpc-1", &Tags::new()).await.expect_err("same name");
    assert_eq!(error.kind, CloudErrorKind::Duplicate);

    let rule = NewIngressRule {
        rule: IngressRule {
            ip_protocol: "tcp".into(),
            from_port: 31000,
            to_port: 31000,
            source: RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend.clone())),
            description: None,
        },
        tags: Tags::from([("elbow.dev/cluster".to_string(), "c".to_string())]),
    };
    let created =
        cloud.authorize_security_group_ingress(&nodes, std::slice::from_ref(&rule)).await.expect("authorized");
    assert!(created[0].rule_id.starts_with("sgr-"));
    assert_eq!(cloud.security_group_rules(&nodes)[0].tags, rule.tags);
    let error = cloud.authorize_security_group_ingress(&nodes, &[rule]).await.expect_err("duplicate");
    assert_eq!(error.kind, CloudErrorKind::Duplicate);

    let error = cloud.delete_security_group(&backend).await.expect_err("referenced by a rule");
    assert_eq!(error.kind, CloudErrorKind::InUse);
    cloud.revoke_security_group_ingress(&nodes, &[created[0].rule_id.clone()]).await.expect("revoked");
    cloud.delete_security_group(&backend).await.expect("deleted");
    let error = cloud.delete_security_group(&backend).await.expect_err("gone");
    assert_eq!(error.kind, CloudErrorKind::NotFound);
}

#[tokio::test]
async fn a_group_attached_to_a_load_balancer_cannot_be_deleted() {
    let cloud = network();
    let group = cloud.create_security_group("frontend", "f", "vpc-1", &Tags::new()).await.expect("sg");
    let mut input = lb_input("web");
    input.security_groups = vec![group.clone()];
    let lb = cloud.create_load_balancer(input).await.expect("lb");
    assert_eq!(cloud.delete_security_group(&group).await.expect_err("attached").kind, CloudErrorKind::InUse);
    cloud.delete_load_balancer(&lb.arn).await.expect("lb deleted");
    cloud.delete_security_group(&group).await.expect("deleted");
}

#[tokio::test]
async fn injected_failures_fail_before_or_after_the_request_lands() {
    let cloud = network();
    cloud.inject(Failure::on(Api::CreateTargetGroup, CloudErrorKind::Throttled));
    let error = cloud.create_target_group(tg_input("a", 1)).await.expect_err("throttled");
    assert!(error.is_retryable());
    assert!(cloud.target_groups().is_empty(), "nothing happened");

    cloud.inject(Failure::on(Api::CreateTargetGroup, CloudErrorKind::Timeout).landed());
    cloud.create_target_group(tg_input("a", 1)).await.expect_err("timed out");
    assert_eq!(cloud.target_groups().len(), 1, "but it landed");
    assert_eq!(cloud.counter().count(Api::CreateTargetGroup), 2, "failed requests count too");
}
