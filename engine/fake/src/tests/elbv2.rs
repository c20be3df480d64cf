//! ELBv2 rules of the fake: names, idempotent creates, quotas, associations, not-found answers and
//! the shapes of ARNs and DNS names.

use elbow_model::{
    Action, Attributes, IpAddressType, LoadBalancerType, Protocol, RuleCondition, Scheme, Tags, Target, TargetType,
};

use super::{health_check, lb_input, listener_input, network, pod_subnet, tg_input};
use elbow_cloud::Cloud;
use elbow_cloud::error::CloudErrorKind;
use elbow_cloud::types::*;

fn alb_input(name: &str) -> CreateLoadBalancer {
    CreateLoadBalancer { lb_type: LoadBalancerType::Application, ..lb_input(name) }
}

fn http_listener(lb: &str, port: u16, tg: &str) -> CreateListener {
    CreateListener { protocol: Protocol::Http, ..listener_input(lb, port, tg) }
}

fn path_rule(listener: &str, priority: u32, tg: &str) -> CreateRule {
    CreateRule {
        listener_arn: listener.into(),
        priority,
        conditions: vec![RuleCondition::PathPattern(vec![format!("/p{priority}")])],
        actions: vec![Action::forward(tg.to_string())],
        transforms: vec![],
        tags: Tags::new(),
    }
}

fn ip_group(name: &str) -> CreateTargetGroup {
    CreateTargetGroup { target_type: TargetType::Ip, ..tg_input(name, 8080) }
}

#[tokio::test]
async fn arns_and_dns_names_are_shaped_like_aws() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("Web")).await.expect("lb");
    let prefix = "arn:aws:elasticloadbalancing:us-east-1:123456789012:";
    let lb_id = lb.arn.rsplit('/').next().expect("an id");
    assert_eq!(lb.arn, format!("{prefix}loadbalancer/net/Web/{lb_id}"));
    assert!(lb_id.len() == 16 && lb_id.chars().all(|c| c.is_ascii_hexdigit()), "{lb_id}");
    assert_eq!(lb.dns_name, format!("web-{lb_id}.elb.us-east-1.amazonaws.com"), "lower case");

    let tg = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    assert!(tg.arn.starts_with(&format!("{prefix}targetgroup/web-tg/")), "{}", tg.arn);
    let listener = cloud.create_listener(listener_input(&lb.arn, 80, &tg.arn)).await.expect("listener");
    assert!(listener.arn.starts_with(&format!("{prefix}listener/net/Web/{lb_id}/")), "{}", listener.arn);

    let internal = cloud
        .create_load_balancer(CreateLoadBalancer { scheme: Scheme::Internal, ..alb_input("Inside") })
        .await
        .expect("alb");
    let (name, domain) = internal.dns_name.split_once('.').expect("a domain");
    assert_eq!(domain, "us-east-1.elb.amazonaws.com");
    let digits = name.strip_prefix("internal-inside-").expect("internal ALBs say so");
    assert!(digits.len() == 10 && digits.chars().all(|c| c.is_ascii_digit()), "{name}");
    let ids: std::collections::BTreeSet<_> = [&lb.arn, &internal.arn, &tg.arn, &listener.arn]
        .iter()
        .map(|arn| arn.rsplit('/').next().expect("an id").to_string())
        .collect();
    assert_eq!(ids.len(), 4, "ids are unique");
}

#[tokio::test]
async fn a_new_load_balancer_is_provisioning_until_described() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    assert_eq!(lb.state, "provisioning");
    assert_eq!(cloud.load_balancers()[0].state, "provisioning", "inspection does not describe");
    let all = cloud.describe_load_balancers(LoadBalancerFilter::All).await.expect("all");
    assert_eq!(all[0].state, "active");
}

#[tokio::test]
async fn a_held_load_balancer_stays_provisioning_until_released_as_on_aws() {
    let cloud = network();
    cloud.hold_provisioning(true);
    cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    let state = async || cloud.describe_load_balancers(LoadBalancerFilter::All).await.expect("all")[0].state.clone();
    assert_eq!(state().await, "provisioning");
    assert_eq!(state().await, "provisioning", "however often it is described");
    cloud.hold_provisioning(false);
    assert_eq!(state().await, "active");
}

#[tokio::test]
async fn target_group_names_are_unique_and_a_repeated_create_is_idempotent() {
    let cloud = network();
    let first = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    let again = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("same settings");
    assert_eq!(first.arn, again.arn);
    let error = cloud.create_target_group(tg_input("web-tg", 81)).await.expect_err("other port");
    assert_eq!(error.kind, CloudErrorKind::Duplicate);
    assert_eq!(error.code, "DuplicateTargetGroupName");
    let error = cloud.create_target_group(tg_input("internal-tg", 80)).await.expect_err("bad name");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
    // Load balancers and target groups have separate name spaces.
    cloud.create_load_balancer(lb_input("web-tg")).await.expect("an LB may share a TG's name");
    assert_eq!(cloud.target_groups().len(), 1);
}

#[tokio::test]
async fn only_the_health_check_of_a_target_group_changes() {
    let cloud = network();
    let tg = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    let mut check = health_check();
    check.interval_seconds = 30;
    cloud.modify_target_group(&tg.arn, &check, false).await.expect("modified");
    let now = &cloud.target_groups()[0];
    assert_eq!(now.health_check.interval_seconds, 30);
    assert_eq!((now.protocol, now.port, now.target_type), (Protocol::Tcp, 80, TargetType::Instance));
}

#[tokio::test]
async fn a_listener_port_is_taken_once_per_load_balancer() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    let tg = cloud.create_target_group(tg_input("web-80", 80)).await.expect("tg");
    let other = cloud.create_target_group(tg_input("web-81", 81)).await.expect("tg");
    let first = cloud.create_listener(listener_input(&lb.arn, 80, &tg.arn)).await.expect("listener");
    let again = cloud.create_listener(listener_input(&lb.arn, 80, &tg.arn)).await.expect("same settings");
    assert_eq!(first.arn, again.arn, "a repeated create returns the listener");
    let error = cloud.create_listener(listener_input(&lb.arn, 80, &other.arn)).await.expect_err("port taken");
    assert_eq!(error.kind, CloudErrorKind::Duplicate);

    let second = cloud.create_listener(listener_input(&lb.arn, 81, &other.arn)).await.expect("listener");
    let moved = ModifyListener {
        arn: second.arn.clone(),
        port: 80,
        protocol: Protocol::Tcp,
        certificates: vec![],
        ssl_policy: None,
        alpn_policy: None,
        mutual_authentication: None,
        default_actions: second.default_actions.clone(),
    };
    let error = cloud.modify_listener(moved).await.expect_err("port taken");
    assert_eq!(error.kind, CloudErrorKind::Duplicate);
    assert_eq!(cloud.describe_listeners(&lb.arn).await.expect("listeners").len(), 2);
}

#[tokio::test]
async fn listeners_speak_their_load_balancers_protocols() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    let tg = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    let error = cloud.create_listener(http_listener(&lb.arn, 80, &tg.arn)).await.expect_err("HTTP on an NLB");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
    let tls = CreateListener { protocol: Protocol::Tls, ..listener_input(&lb.arn, 443, &tg.arn) };
    let error = cloud.create_listener(tls.clone()).await.expect_err("TLS without a certificate");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
    let certificate = "arn:aws:acm:us-east-1:123456789012:certificate/1".to_string();
    cloud.create_listener(CreateListener { certificates: vec![certificate], ..tls }).await.expect("TLS with one");
}

#[tokio::test]
async fn a_load_balancer_takes_at_most_50_listeners() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    let tg = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    for port in 1..=50 {
        cloud.create_listener(listener_input(&lb.arn, port, &tg.arn)).await.expect("listener");
    }
    let error = cloud.create_listener(listener_input(&lb.arn, 51, &tg.arn)).await.expect_err("51st");
    assert_eq!(error.kind, CloudErrorKind::LimitExceeded);
    assert_eq!(cloud.listeners().len(), 50);
}

#[tokio::test]
async fn rules_have_unique_priorities_and_at_most_100_per_listener() {
    let cloud = network();
    let lb = cloud.create_load_balancer(alb_input("web")).await.expect("alb");
    let tg = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    let listener = cloud.create_listener(http_listener(&lb.arn, 80, &tg.arn)).await.expect("listener");
    let other = cloud.create_listener(http_listener(&lb.arn, 8080, &tg.arn)).await.expect("listener");

    cloud.create_rule(path_rule(&listener.arn, 1, &tg.arn)).await.expect("rule");
    let error = cloud.create_rule(path_rule(&listener.arn, 1, &tg.arn)).await.expect_err("priority taken");
    assert_eq!(error.kind, CloudErrorKind::Duplicate);
    cloud.create_rule(path_rule(&other.arn, 1, &tg.arn)).await.expect("same priority, other listener");
    let error = cloud.create_rule(path_rule(&listener.arn, 0, &tg.arn)).await.expect_err("priority 0");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);

    for priority in 2..=100 {
        cloud.create_rule(path_rule(&listener.arn, priority, &tg.arn)).await.expect("rule");
    }
    let error = cloud.create_rule(path_rule(&listener.arn, 101, &tg.arn)).await.expect_err("101st");
    assert_eq!(error.kind, CloudErrorKind::LimitExceeded);

    let rules = cloud.describe_rules(&listener.arn).await.expect("rules");
    assert_eq!(rules.len(), 101, "100 rules and the default rule");
    assert_eq!(rules[0].priority, Some(1));
    assert_eq!(rules[100].priority, None, "the default rule comes last");
    assert!(rules[100].arn.contains(":listener-rule/app/web/"), "{}", rules[100].arn);
}

#[tokio::test]
async fn network_listeners_have_no_rules() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    let tg = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    let listener = cloud.create_listener(listener_input(&lb.arn, 80, &tg.arn)).await.expect("listener");
    let error = cloud.create_rule(path_rule(&listener.arn, 1, &tg.arn)).await.expect_err("rule on an NLB");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
}

#[tokio::test]
async fn deleting_a_load_balancer_takes_its_listeners_and_rules_and_frees_its_target_groups() {
    let cloud = network();
    let lb = cloud.create_load_balancer(alb_input("web")).await.expect("alb");
    let default_tg = cloud.create_target_group(tg_input("default-tg", 80)).await.expect("tg");
    let rule_tg = cloud.create_target_group(tg_input("rule-tg", 81)).await.expect("tg");
    let listener = cloud.create_listener(http_listener(&lb.arn, 80, &default_tg.arn)).await.expect("listener");
    let rule = cloud.create_rule(path_rule(&listener.arn, 1, &rule_tg.arn)).await.expect("rule");
    let mut served = cloud.describe_target_groups(TargetGroupFilter::LoadBalancer(lb.arn.clone())).await.expect("tgs");
    served.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(served.iter().map(|tg| tg.name.as_str()).collect::<Vec<_>>(), ["default-tg", "rule-tg"]);
    assert_eq!(cloud.delete_target_group(&rule_tg.arn).await.expect_err("rule uses it").kind, CloudErrorKind::InUse);

    cloud.delete_load_balancer(&lb.arn).await.expect("deleted");
    assert!(cloud.listeners().is_empty());
    assert!(cloud.rules(&listener.arn).is_empty());
    assert!(cloud.tags(&rule.arn).is_empty(), "the rule's tags went with it");
    assert!(cloud.target_groups().iter().all(|tg| tg.load_balancer_arns.is_empty()));
    cloud.delete_target_group(&rule_tg.arn).await.expect("free now");
    cloud.delete_target_group(&default_tg.arn).await.expect("free now");
    let error = cloud.describe_listeners(&lb.arn).await.expect_err("gone");
    assert_eq!(error.kind, CloudErrorKind::NotFound);
}

#[tokio::test]
async fn unknown_arns_are_not_found_and_unknown_names_are_left_out() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    let tg = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    let ghost_lb = lb.arn.replace("/web/", "/ghost/");
    let ghost_tg = tg.arn.replace("/web-tg/", "/ghost/");

    let error = cloud.describe_load_balancers(LoadBalancerFilter::Arns(vec![ghost_lb.clone()])).await.expect_err("");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::NotFound, "LoadBalancerNotFound"));
    let error = cloud.describe_target_groups(TargetGroupFilter::Arns(vec![ghost_tg.clone()])).await.expect_err("");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::NotFound, "TargetGroupNotFound"));
    for error in [
        cloud.describe_load_balancer_attributes(&ghost_lb).await.expect_err("attributes"),
        cloud.describe_target_health(&ghost_tg).await.expect_err("health"),
        cloud.set_subnets(&ghost_lb, &["subnet-a".to_string()]).await.expect_err("subnets"),
        cloud.modify_target_group(&ghost_tg, &health_check(), false).await.expect_err("modify"),
        cloud.add_tags(std::slice::from_ref(&ghost_tg), &Tags::new()).await.expect_err("tags"),
    ] {
        assert_eq!(error.kind, CloudErrorKind::NotFound, "{error}");
    }

    let names = vec!["ghost".to_string(), "web".to_string()];
    let found = cloud.describe_load_balancers(LoadBalancerFilter::Names(names)).await.expect("by name");
    assert_eq!(found.iter().map(|lb| lb.name.as_str()).collect::<Vec<_>>(), ["web"]);
    let found = cloud.describe_target_groups(TargetGroupFilter::Names(vec!["ghost".into()])).await.expect("by name");
    assert!(found.is_empty());
    let tags = cloud.describe_tags(&[ghost_lb, lb.arn.clone(), ghost_tg]).await.expect("tags");
    assert_eq!(tags.keys().collect::<Vec<_>>(), [&lb.arn], "unknown ARNs are left out");
}

#[tokio::test]
async fn tags_are_added_and_removed_on_every_kind_of_resource() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    let tg = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    let listener = cloud.create_listener(listener_input(&lb.arn, 80, &tg.arn)).await.expect("listener");
    let arns = vec![lb.arn.clone(), tg.arn.clone(), listener.arn.clone()];
    let extra = Tags::from([("team".to_string(), "a".to_string())]);
    cloud.add_tags(&arns, &extra).await.expect("tagged");
    let tags = cloud.describe_tags(&arns).await.expect("tags");
    assert!(tags.values().all(|t| t.get("team").map(String::as_str) == Some("a")), "{tags:?}");
    assert_eq!(tags[&lb.arn].get("owner").map(String::as_str), Some("me"), "create tags are kept");

    cloud.remove_tags(&arns, &["team".to_string()]).await.expect("untagged");
    assert!(cloud.describe_tags(&arns).await.expect("tags").values().all(|t| !t.contains_key("team")));

    let many: Tags = (0..50).map(|i| (format!("k{i}"), String::new())).collect();
    cloud.add_tags(std::slice::from_ref(&tg.arn), &many).await.expect("50 tags fit");
    let error = cloud.add_tags(std::slice::from_ref(&lb.arn), &many).await.expect_err("50 more than `owner`");
    assert_eq!(error.kind, CloudErrorKind::LimitExceeded);
}

#[tokio::test]
async fn the_network_of_a_load_balancer_is_checked() {
    let cloud = network();
    let unknown = CreateLoadBalancer { subnets: vec!["subnet-404".into()], ..lb_input("a") };
    assert_eq!(cloud.create_load_balancer(unknown).await.expect_err("subnet").kind, CloudErrorKind::NotFound);
    cloud.seed_subnet(Subnet {
        id: "subnet-a2".into(),
        vpc_id: "vpc-1".into(),
        availability_zone: "us-east-1a".into(),
        cidr_block: "10.0.1.0/24".into(),
        ipv6_cidr_blocks: Vec::new(),
        tags: Tags::new(),
    });
    let same_zone = CreateLoadBalancer { subnets: vec!["subnet-a".into(), "subnet-a2".into()], ..lb_input("b") };
    let error = cloud.create_load_balancer(same_zone).await.expect_err("two subnets in one zone");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
    let no_group = CreateLoadBalancer { security_groups: vec!["sg-404".into()], ..lb_input("c") };
    assert_eq!(cloud.create_load_balancer(no_group).await.expect_err("group").kind, CloudErrorKind::NotFound);
    assert!(cloud.load_balancers().is_empty());

    let lb = cloud.create_load_balancer(lb_input("d")).await.expect("lb");
    cloud.set_subnets(&lb.arn, &["subnet-a2".to_string()]).await.expect("moved");
    assert_eq!(cloud.load_balancers()[0].subnets, ["subnet-a2"]);
}

#[tokio::test]
async fn a_network_load_balancer_created_without_security_groups_never_gets_any() {
    let cloud = network();
    let group = cloud.create_security_group("front", "f", "vpc-1", &Tags::new()).await.expect("sg");
    let other = cloud.create_security_group("other", "o", "vpc-1", &Tags::new()).await.expect("sg");
    let bare = cloud.create_load_balancer(lb_input("bare")).await.expect("lb");
    let error = cloud.set_security_groups(&bare.arn, std::slice::from_ref(&group)).await.expect_err("no groups");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);

    let guarded = cloud
        .create_load_balancer(CreateLoadBalancer { security_groups: vec![group.clone()], ..lb_input("guarded") })
        .await
        .expect("lb");
    cloud.set_security_groups(&guarded.arn, &[other.clone(), group.clone()]).await.expect("set");
    let mut expected = vec![group.clone(), other.clone()];
    expected.sort();
    assert_eq!(cloud.security_groups_of(&guarded.arn), expected);
    cloud.set_security_groups(&guarded.arn, std::slice::from_ref(&other)).await.expect("set");
    cloud.delete_security_group(&group).await.expect("detached, so deletable");
    let error = cloud.delete_security_group(&other).await.expect_err("still attached");
    assert_eq!(error.kind, CloudErrorKind::InUse);
}

#[tokio::test]
async fn only_running_instances_become_targets() {
    let cloud = network();
    cloud.seed_instance(Instance {
        id: "i-stopped".into(),
        vpc_id: "vpc-1".into(),
        availability_zone: "us-east-1a".into(),
        state: "stopped".into(),
        security_groups: vec![],
    });
    let tg = cloud.create_target_group(tg_input("web-tg", 80)).await.expect("tg");
    let targets = [Target::new("i-1", 80), Target::new("i-stopped", 80)];
    let error = cloud.register_targets(&tg.arn, &targets).await.expect_err("stopped");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::InvalidRequest, "InvalidTarget"));
    assert!(cloud.targets(&tg.arn).is_empty(), "a request registers all or nothing");

    cloud.remove_instance("i-1");
    let error = cloud.register_targets(&tg.arn, &targets[..1]).await.expect_err("gone");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
}

#[tokio::test]
async fn ip_targets_are_addresses_in_the_vpcs_subnets_as_aws_has_it() {
    let cloud = network();
    let tg = cloud.create_target_group(ip_group("pods")).await.expect("tg");
    let target = |id: &str| Target::new(id, 8080);
    cloud.register_targets(&tg.arn, &[target("10.0.0.7")]).await.expect("in subnet-a's 10.0.0.0/24");
    #[rustfmt::skip]
    let refused = [
        ("i-1", "not a valid IPv4 address"),
        ("10.1.0.7", "outside the VPC"),
        ("100.64.0.7", "outside the VPC"),
        ("52.1.2.3", "publicly routable"),
    ];
    for (id, message) in refused {
        let error = cloud.register_targets(&tg.arn, &[target(id)]).await.expect_err(id);
        assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::InvalidRequest, "InvalidTarget"), "{id}");
        assert!(error.message.contains(message), "{id}: {}", error.message);
    }
    let error = cloud.register_targets(&tg.arn, &[Target::new("10.0.0.8", 0)]).await.expect_err("0");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
    // An instance target group takes no addresses.
    let instances = cloud.create_target_group(tg_input("nodes", 80)).await.expect("tg");
    let error = cloud.register_targets(&instances.arn, &[target("10.0.0.7")]).await.expect_err("an address");
    assert_eq!(error.code, "InvalidTarget");
    assert_eq!(cloud.targets(&tg.arn), [target("10.0.0.7")], "nothing refused was registered");
}

/// AWS's health checks that have not passed yet, played for every new registration: a target
/// starts with the health given, keeps one set for it beforehand, and targets registered before
/// (or after the setting is cleared) stay healthy.
#[tokio::test]
async fn new_targets_start_with_the_health_a_test_sets_for_new_registrations() {
    let cloud = network();
    let tg = cloud.create_target_group(ip_group("pods")).await.expect("tg");
    let target = |id: &str| Target::new(id, 8080);
    cloud.register_targets(&tg.arn, &[target("10.0.0.7")]).await.expect("register");
    let initial =
        crate::Health { state: "initial".into(), reason: Some("Elb.InitialHealthChecking".into()), description: None };
    cloud.set_new_target_health(Some(initial));
    let failing = crate::Health { state: "unhealthy".into(), reason: Some("Target.Timeout".into()), description: None };
    assert!(cloud.set_target_health(&tg.arn, &target("10.0.0.9"), failing));
    cloud
        .register_targets(&tg.arn, &[target("10.0.0.7"), target("10.0.0.8"), target("10.0.0.9")])
        .await
        .expect("register");
    cloud.set_new_target_health(None);
    cloud.register_targets(&tg.arn, &[target("10.0.0.10")]).await.expect("register");
    let health = cloud.describe_target_health(&tg.arn).await.expect("health");
    let state = |id: &str| health.iter().find(|h| h.target == target(id)).map(|h| h.state.clone()).unwrap_or_default();
    assert_eq!(
        [state("10.0.0.7"), state("10.0.0.8"), state("10.0.0.9"), state("10.0.0.10")],
        ["healthy", "initial", "unhealthy", "healthy"]
    );
}

/// The data plane the fake lacks, set by a test: a target reports what it was given (before or
/// after its registration), with AWS's reason and description, until it is deregistered;
/// registered again it is healthy.
#[tokio::test]
async fn a_target_reports_the_health_a_test_gives_it_while_registered_until_it_is_deregistered() {
    let cloud = network();
    let tg = cloud.create_target_group(ip_group("pods")).await.expect("tg");
    let (a, b) = (Target::new("10.0.0.7", 8080), Target::new("10.0.0.8", 8080));
    cloud.register_targets(&tg.arn, &[a.clone(), b.clone()]).await.expect("register");
    let failing = crate::Health {
        state: "unhealthy".into(),
        reason: Some("Target.ResponseCodeMismatch".into()),
        description: Some("Health checks failed with these codes: [503]".into()),
    };
    assert!(cloud.set_target_health(&tg.arn, &a, failing.clone()));
    assert!(!cloud.set_target_health(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gone/0",
        &a,
        failing.clone()
    ));
    // Set before its registration, a target reports it once registered.
    let c = Target::new("10.0.0.9", 8080);
    let initial =
        crate::Health { state: "initial".into(), reason: Some("Elb.InitialHealthChecking".into()), description: None };
    assert!(cloud.set_target_health(&tg.arn, &c, initial));
    assert!(
        cloud.describe_target_health(&tg.arn).await.expect("health").iter().all(|h| h.target != c),
        "not registered"
    );
    cloud.register_targets(&tg.arn, std::slice::from_ref(&c)).await.expect("register");
    let health = cloud.describe_target_health(&tg.arn).await.expect("health");
    let of = |t: &Target| health.iter().find(|h| &h.target == t).cloned().expect("reported");
    assert_eq!(
        (of(&a).state.as_str(), of(&a).reason.as_deref(), of(&a).description.as_deref()),
        ("unhealthy", Some("Target.ResponseCodeMismatch"), Some("Health checks failed with these codes: [503]"))
    );
    assert_eq!((of(&b).state.as_str(), of(&b).reason, of(&b).description), ("healthy", None, None));
    assert_eq!((of(&c).state.as_str(), of(&c).reason.as_deref()), ("initial", Some("Elb.InitialHealthChecking")));

    cloud.deregister_targets(&tg.arn, std::slice::from_ref(&a)).await.expect("deregister");
    cloud.register_targets(&tg.arn, std::slice::from_ref(&a)).await.expect("register again");
    let health = cloud.describe_target_health(&tg.arn).await.expect("health");
    let state = |t: &Target| health.iter().find(|h| &h.target == t).map(|h| h.state.clone());
    assert_eq!(state(&a).as_deref(), Some("healthy"), "registered again: from scratch");
    assert_eq!(state(&c).as_deref(), Some("initial"), "the others keep theirs");
}

#[tokio::test]
async fn a_target_group_holds_at_most_1000_targets() {
    let cloud = network();
    cloud.seed_subnet(pod_subnet());
    let tg = cloud.create_target_group(ip_group("pods")).await.expect("tg");
    let targets: Vec<Target> =
        (0..1000).map(|i| Target::new(format!("10.0.{}.{}", i / 250, i % 250 + 1), 8080)).collect();
    cloud.register_targets(&tg.arn, &targets).await.expect("1000 targets");
    cloud.register_targets(&tg.arn, &targets[..10]).await.expect("registering again adds nothing");
    let error = cloud.register_targets(&tg.arn, &[Target::new("10.0.9.9", 8080)]).await.expect_err("1001st");
    assert_eq!(error.kind, CloudErrorKind::LimitExceeded);
    assert_eq!(cloud.targets(&tg.arn).len(), 1000);
}

#[tokio::test]
async fn a_forward_action_names_at_most_five_target_groups() {
    let cloud = network();
    let lb = cloud.create_load_balancer(alb_input("web")).await.expect("alb");
    let mut groups = Vec::new();
    for i in 0..6 {
        groups.push(cloud.create_target_group(tg_input(&format!("tg-{i}"), 80)).await.expect("tg").arn);
    }
    let weighted = |arns: &[String]| Action::Forward {
        target_groups: arns
            .iter()
            .map(|arn| elbow_model::WeightedTargetGroup { target_group: arn.clone(), weight: Some(1) })
            .collect(),
        stickiness: None,
    };
    let mut input = http_listener(&lb.arn, 80, &groups[0]);
    input.default_actions = vec![weighted(&groups)];
    assert_eq!(cloud.create_listener(input.clone()).await.expect_err("six").kind, CloudErrorKind::LimitExceeded);
    input.default_actions = vec![weighted(&groups[..5])];
    cloud.create_listener(input).await.expect("five");
    assert_eq!(cloud.target_groups().iter().filter(|tg| tg.load_balancer_arns == [lb.arn.clone()]).count(), 5);
}

#[tokio::test]
async fn a_dualstack_load_balancer_keeps_its_address_type() {
    let cloud = network();
    let lb = cloud
        .create_load_balancer(CreateLoadBalancer { ip_address_type: IpAddressType::Dualstack, ..lb_input("web") })
        .await
        .expect("lb");
    assert_eq!(lb.ip_address_type, IpAddressType::Dualstack);
    let error = cloud.create_load_balancer(lb_input("web")).await.expect_err("ipv4 under the same name");
    assert_eq!(error.kind, CloudErrorKind::Duplicate);
    cloud.set_ip_address_type(&lb.arn, IpAddressType::Ipv4).await.expect("set");
    assert_eq!(cloud.load_balancers()[0].ip_address_type, IpAddressType::Ipv4);
}

#[tokio::test]
async fn listener_attributes_start_at_aws_defaults_and_take_only_what_the_protocol_has() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("web")).await.expect("lb");
    let tg = cloud.create_target_group(tg_input("tg", 31000)).await.expect("tg");
    let listener = cloud.create_listener(listener_input(&lb.arn, 80, &tg.arn)).await.expect("listener");
    let idle = |seconds: &str| Attributes::from([("tcp.idle_timeout.seconds".to_string(), seconds.to_string())]);
    assert_eq!(cloud.describe_listener_attributes(&listener.arn).await.expect("defaults"), idle("350"));
    cloud.modify_listener_attributes(&listener.arn, &idle("600")).await.expect("set");
    assert_eq!(cloud.describe_listener_attributes(&listener.arn).await.expect("set"), idle("600"));
    for refused in
        [idle("30"), Attributes::from([("routing.http.response.server.enabled".to_string(), "false".to_string())])]
    {
        let error = cloud.modify_listener_attributes(&listener.arn, &refused).await.expect_err("not for TCP");
        assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::InvalidRequest, "ValidationError"));
    }
    assert_eq!(cloud.describe_listener_attributes(&listener.arn).await.expect("kept"), idle("600"));
    cloud.delete_listener(&listener.arn).await.expect("deleted");
    let gone = cloud.describe_listener_attributes(&listener.arn).await.expect_err("gone");
    assert_eq!(gone.kind, CloudErrorKind::NotFound);
}

fn quic_group(name: &str, protocol: Protocol) -> CreateTargetGroup {
    CreateTargetGroup { protocol, ..ip_group(name) }
}

/// ELBv2's QUIC rules: a server id on every target of a QUIC group and on no other, well formed,
/// unique in the group, and fixed while the target is registered.
#[tokio::test]
async fn quic_targets_need_a_well_formed_unique_server_id_that_a_registration_cannot_change() {
    let cloud = network();
    let quic = cloud.create_target_group(quic_group("quic", Protocol::Quic)).await.expect("tg");
    let udp = cloud.create_target_group(quic_group("udp", Protocol::Udp)).await.expect("tg");
    let (one, two) = ("0x0000000000000001", "0x0000000000000002");
    let refused = |error: elbow_cloud::CloudError| error.to_string();
    let error = cloud.register_targets(&quic.arn, &[Target::new("10.0.0.7", 8080)]).await.expect_err("no id");
    assert!(refused(error).contains("needs a QUIC server ID"));
    for bad in ["0000000000000001", "0x00000000000001", "0x000000000000000A", "0x00000000000000zz"] {
        let error = cloud.register_targets(&quic.arn, &[Target::quic("10.0.0.7", 8080, bad)]).await.expect_err(bad);
        assert!(refused(error).contains("16 lowercase hexadecimal"), "{bad}");
    }
    let error = cloud.register_targets(&udp.arn, &[Target::quic("10.0.0.7", 8080, one)]).await.expect_err("udp");
    assert!(refused(error).contains("only QUIC and TCP_QUIC"));

    cloud.register_targets(&quic.arn, &[Target::quic("10.0.0.7", 8080, one)]).await.expect("registered");
    cloud.register_targets(&quic.arn, &[Target::quic("10.0.0.7", 8080, one)]).await.expect("again, the same");
    let error = cloud.register_targets(&quic.arn, &[Target::quic("10.0.0.8", 8080, one)]).await.expect_err("taken");
    assert!(refused(error).contains("already used"));
    let error = cloud.register_targets(&quic.arn, &[Target::quic("10.0.0.7", 8080, two)]).await.expect_err("changed");
    assert!(refused(error).contains("deregister it before"));
    // Deregistered by address and port, its id is free again.
    cloud.deregister_targets(&quic.arn, &[Target::new("10.0.0.7", 8080)]).await.expect("deregistered");
    cloud.register_targets(&quic.arn, &[Target::quic("10.0.0.8", 8080, one)]).await.expect("the id moved");
    let health = cloud.describe_target_health(&quic.arn).await.expect("health");
    assert_eq!(health.iter().map(|h| h.target.clone()).collect::<Vec<_>>(), [Target::quic("10.0.0.8", 8080, one)]);
}

/// ELBv2's QUIC listener rules: no security groups, not dualstack, one per load balancer, none
/// beside UDP, a target group of the listener's own protocol, and a port that stays.
#[tokio::test]
async fn a_quic_listener_needs_a_load_balancer_without_security_groups_or_udp_and_a_quic_group() {
    let cloud = network();
    let quic = cloud.create_target_group(quic_group("quic", Protocol::Quic)).await.expect("tg");
    let tcp_quic = cloud.create_target_group(quic_group("tcp-quic", Protocol::TcpQuic)).await.expect("tg");
    let udp = cloud.create_target_group(quic_group("udp", Protocol::Udp)).await.expect("tg");
    let listener =
        |lb: &str, port: u16, protocol: Protocol, tg: &str| CreateListener { protocol, ..listener_input(lb, port, tg) };
    cloud.seed_security_group(SecurityGroup {
        id: "sg-front".into(),
        group_name: "front".into(),
        description: "front".into(),
        vpc_id: "vpc-1".into(),
        tags: Tags::new(),
    });
    let with_groups = cloud
        .create_load_balancer(CreateLoadBalancer { security_groups: vec!["sg-front".into()], ..lb_input("grouped") })
        .await
        .expect("lb");
    let error =
        cloud.create_listener(listener(&with_groups.arn, 443, Protocol::Quic, &quic.arn)).await.expect_err("sg");
    assert!(error.to_string().contains("security groups"), "{error}");
    let dualstack = cloud
        .create_load_balancer(CreateLoadBalancer { ip_address_type: IpAddressType::Dualstack, ..lb_input("dual") })
        .await
        .expect("lb");
    let error = cloud.create_listener(listener(&dualstack.arn, 443, Protocol::Quic, &quic.arn)).await.expect_err("ds");
    assert!(error.to_string().contains("dualstack"), "{error}");

    let lb = cloud.create_load_balancer(lb_input("plain")).await.expect("lb");
    let error = cloud.create_listener(listener(&lb.arn, 443, Protocol::Quic, &udp.arn)).await.expect_err("a UDP group");
    assert!(error.to_string().contains("of protocol UDP"), "{error}");
    let error = cloud.create_listener(listener(&lb.arn, 443, Protocol::TcpQuic, &quic.arn)).await.expect_err("QUIC");
    assert!(error.to_string().contains("of protocol QUIC"), "{error}");
    let made = cloud.create_listener(listener(&lb.arn, 443, Protocol::Quic, &quic.arn)).await.expect("QUIC");
    let error = cloud.create_listener(listener(&lb.arn, 444, Protocol::TcpQuic, &tcp_quic.arn)).await.expect_err("2nd");
    assert!(error.to_string().contains("only one QUIC"), "{error}");
    let error = cloud.create_listener(listener(&lb.arn, 53, Protocol::Udp, &udp.arn)).await.expect_err("UDP beside");
    assert!(error.to_string().contains("has a QUIC"), "{error}");
    let modify = |port: u16, protocol: Protocol, tg: &str| ModifyListener {
        arn: made.arn.clone(),
        port,
        protocol,
        certificates: vec![],
        ssl_policy: None,
        alpn_policy: None,
        mutual_authentication: None,
        default_actions: vec![Action::forward(tg.to_string())],
    };
    let error = cloud.modify_listener(modify(8443, Protocol::Quic, &quic.arn)).await.expect_err("port");
    assert!(error.to_string().contains("cannot be changed"), "{error}");
    // Its own old protocol does not count against it: QUIC becomes TCP_QUIC, and back to UDP.
    cloud.modify_listener(modify(443, Protocol::TcpQuic, &tcp_quic.arn)).await.expect("TCP_QUIC");
    cloud.modify_listener(modify(443, Protocol::Udp, &udp.arn)).await.expect("UDP");
}
