//! The deployer against the in-memory fake cloud: the call budget, idempotency, updates,
//! replacements, deletion, crashes at every point, and never touching what is not ours.

use std::sync::Arc;
use std::time::Duration;

use elbow_cloud::resilient::{RateLimits, Resilient, RetryPolicy};
use elbow_cloud::{Api, Cloud, CloudErrorKind, CreateLoadBalancer, NewIngressRule, SecurityGroup};
use elbow_deploy::{DeployError, DeploySettings, Deployer};
use elbow_fake::{Failure, FakeCloud};
use elbow_model::tags::CLUSTER_TAG;
use elbow_model::*;

mod support;

use support::*;

#[tokio::test]
async fn a_new_single_port_nlb_costs_six_mutating_calls_once_the_index_is_warm_and_its_port_is_in_the_range() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut first = Svc::new("first");
    first.ports = vec![(80, 31000), (81, 31999)];
    deployer.deploy(&first.stack()).await.expect("first deploy");
    cloud.counter().reset();

    let mut web = Svc::new("web");
    web.ports = vec![(80, 31500)];
    let outcome = deployer.deploy(&web.stack()).await.expect("deployed");

    let calls = cloud.counter().snapshot();
    assert_eq!(cloud.counter().mutating(), 6, "{calls:?}");
    for api in [
        Api::CreateSecurityGroup,
        Api::AuthorizeSecurityGroupIngress,
        Api::CreateTargetGroup,
        Api::CreateLoadBalancer,
        Api::CreateListener,
        Api::RegisterTargets,
    ] {
        assert_eq!(calls.get(&api), Some(&1), "{api}: {calls:?}");
    }
    assert_eq!(calls.get(&Api::DescribeLoadBalancers), None, "a widening reads nothing: {calls:?}");
    assert!(outcome.changed);

    // One outside the range widens it: the new range first, then the old one goes.
    cloud.counter().reset();
    let mut outside = Svc::new("outside");
    outside.ports = vec![(80, 32000)];
    deployer.deploy(&outside.stack()).await.expect("deployed");
    assert_eq!(cloud.counter().count(Api::AuthorizeSecurityGroupIngress), 2, "frontend and the new range");
    assert_eq!(cloud.counter().count(Api::RevokeSecurityGroupIngress), 1, "the old range");
    assert_eq!(inventory(&cloud).node_rules, [(31000, 32000)]);
}

#[tokio::test]
async fn the_stack_is_created_with_everything_the_data_path_needs() {
    let cloud = cloud();
    let svc = Svc::new("web");
    deployer(&cloud).deploy(&svc.stack()).await.expect("deployed");

    assert_eq!(
        inventory(&cloud),
        Inventory {
            load_balancers: vec!["k8s-default-web-e".into()],
            target_groups: vec![("k8s-default-web-31000".into(), vec!["i-1".into(), "i-2".into()])],
            listeners: vec![("k8s-default-web-e".into(), 80)],
            groups: vec![backend(), "k8s-default-web-fe".into()],
            node_rules: vec![(31000, 31000)],
        }
    );
    let lb = &cloud.load_balancers()[0];
    let groups = cloud.security_groups();
    let frontend = groups.iter().find(|g| g.group_name == "k8s-default-web-fe").expect("frontend");
    let shared = groups.iter().find(|g| g.group_name == backend()).expect("backend");
    assert_eq!(lb.security_groups, {
        let mut v = vec![frontend.id.clone(), shared.id.clone()];
        v.sort();
        v
    });
    let node_rule = &cloud.security_group_rules(NODE_GROUP)[0];
    assert_eq!(node_rule.rule.source, RuleSource::SecurityGroup(SecurityGroupRef::Existing(shared.id.clone())));
    let frontend_rules = cloud.security_group_rules(&frontend.id);
    assert_eq!(frontend_rules.len(), 1);
    assert_eq!(frontend_rules[0].rule.source, RuleSource::CidrIpv4("0.0.0.0/0".into()));
}

#[tokio::test]
async fn an_unchanged_stack_makes_no_call_at_all() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let stack = Svc::new("web").stack();
    let first = deployer.deploy(&stack).await.expect("deployed");
    cloud.counter().reset();
    let second = deployer.deploy(&stack).await.expect("re-deployed");
    assert_eq!(cloud.counter().total(), 0, "{:?}", cloud.counter().snapshot());
    assert!(!second.changed);
    assert_eq!(second.dns_name, first.dns_name);
}

#[tokio::test]
async fn a_restarted_deployer_finds_everything_by_tags_and_changes_nothing() {
    let cloud = cloud();
    let stack = Svc::new("web").stack();
    deployer(&cloud).deploy(&stack).await.expect("deployed");
    cloud.counter().reset();
    let outcome = deployer(&cloud).deploy(&stack).await.expect("re-deployed after a restart");
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());
    assert!(!outcome.changed);
    assert!(outcome.dns_name.is_some());
}

#[tokio::test]
async fn a_changed_node_set_is_one_register_and_one_deregister_per_target_group() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut svc = Svc::new("web");
    svc.ports = vec![(80, 31000), (443, 31001)];
    deployer.deploy(&svc.stack()).await.expect("deployed");
    cloud.counter().reset();

    svc.nodes = vec!["i-2", "i-3"];
    deployer.deploy(&svc.stack()).await.expect("updated");
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&Api::RegisterTargets), Some(&2), "{calls:?}");
    assert_eq!(calls.get(&Api::DeregisterTargets), Some(&2), "{calls:?}");
    assert_eq!(cloud.counter().total(), 4, "nothing else: {calls:?}");
    for (_, targets) in inventory(&cloud).target_groups {
        assert_eq!(targets, ["i-2", "i-3"]);
    }
}

#[tokio::test]
async fn health_check_and_source_range_changes_modify_in_place() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut svc = Svc::new("web");
    deployer.deploy(&svc.stack()).await.expect("deployed");
    let before = inventory(&cloud);
    cloud.counter().reset();

    svc.health_interval = 30;
    svc.source_ranges = vec!["10.0.0.0/8"];
    deployer.deploy(&svc.stack()).await.expect("updated");
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&Api::ModifyTargetGroup), Some(&1), "{calls:?}");
    assert_eq!(calls.get(&Api::AuthorizeSecurityGroupIngress), Some(&1), "{calls:?}");
    assert_eq!(calls.get(&Api::RevokeSecurityGroupIngress), Some(&1), "{calls:?}");
    assert_eq!(cloud.counter().mutating(), 3, "{calls:?}");
    assert_eq!(inventory(&cloud), before, "same resources");
    assert_eq!(cloud.target_groups()[0].health_check.interval_seconds, 30);
    let frontend = cloud.security_groups().into_iter().find(|g| g.group_name == "k8s-default-web-fe").expect("fe");
    let sources: Vec<_> = cloud.security_group_rules(&frontend.id).into_iter().map(|r| r.rule.source).collect();
    assert_eq!(sources, [RuleSource::CidrIpv4("10.0.0.0/8".into())]);
}

#[tokio::test]
async fn adding_and_removing_a_port_adds_and_removes_its_listener_target_group_and_rules() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut svc = Svc::new("web");
    deployer.deploy(&svc.stack()).await.expect("deployed");

    svc.ports = vec![(80, 31000), (8080, 31080)];
    deployer.deploy(&svc.stack()).await.expect("port added");
    let added = inventory(&cloud);
    assert_eq!(added.listeners, [("k8s-default-web-e".into(), 80), ("k8s-default-web-e".into(), 8080)]);
    assert_eq!(added.target_groups.len(), 2);
    assert_eq!(added.node_rules, [(31000, 31080)], "one range spans both ports");

    svc.ports = vec![(8080, 31080)];
    deployer.deploy(&svc.stack()).await.expect("port removed");
    let removed = inventory(&cloud);
    assert_eq!(removed.listeners, [("k8s-default-web-e".into(), 8080)]);
    assert_eq!(removed.target_groups, [("k8s-default-web-31080".into(), vec!["i-1".into(), "i-2".into()])]);
    assert_eq!(removed.node_rules, [(31080, 31080)], "narrowed to the port left");
}

#[tokio::test]
async fn a_scheme_change_replaces_the_load_balancer() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut svc = Svc::new("web");
    let before = deployer.deploy(&svc.stack()).await.expect("deployed");
    svc.scheme = Scheme::Internal;
    let after = deployer.deploy(&svc.stack()).await.expect("replaced");
    assert_ne!(before.load_balancer_arn, after.load_balancer_arn);
    let now = inventory(&cloud);
    assert_eq!(now.load_balancers, ["k8s-default-web-i"]);
    assert_eq!(now.listeners, [("k8s-default-web-i".into(), 80)]);
    assert_eq!(now.target_groups.len(), 1, "the target group is kept and moved");
    assert_eq!(cloud.load_balancers()[0].scheme, Scheme::Internal);
}

/// `svc`'s stack with one Elastic IP per subnet and the record the builder would tag it with.
fn with_elastic_ips(svc: &Svc, allocations: [&str; 2], record: &str) -> Stack {
    let mut stack = svc.stack();
    let lb = &mut stack.load_balancers[0];
    lb.subnet_addresses = lb
        .subnets
        .iter()
        .zip(allocations)
        .map(|(subnet, id)| SubnetAddresses {
            subnet: subnet.clone(),
            allocation_id: Some(id.to_string()),
            private_ipv4_address: None,
            ipv6_address: None,
        })
        .collect();
    lb.tags.insert(tags::SUBNET_ADDRESSES_TAG.to_string(), record.to_string());
    stack
}

#[tokio::test]
async fn fixed_addresses_are_set_at_creation_and_a_change_replaces_the_load_balancer() {
    let cloud = cloud();
    cloud.seed_elastic_ip("eipalloc-1");
    cloud.seed_elastic_ip("eipalloc-2");
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    let first = with_elastic_ips(&svc, ["eipalloc-1", "eipalloc-2"], "r1");
    let created = deployer.deploy(&first).await.expect("deployed");
    let arn = created.load_balancer_arn.clone().expect("an arn");
    assert_eq!(cloud.subnet_addresses(&arn), first.load_balancers[0].subnet_addresses);

    // Unchanged: nothing to do, for this deployer and for a restarted one reading the record tag.
    assert!(!deployer.deploy(&first).await.expect("again").changed);
    cloud.counter().reset();
    assert!(!support::deployer(&cloud).deploy(&first).await.expect("restarted").changed);
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());

    // Swapped: the old load balancer holds both Elastic IPs and the name, so it goes first.
    let swapped = with_elastic_ips(&svc, ["eipalloc-2", "eipalloc-1"], "r2");
    let replaced = deployer.deploy(&swapped).await.expect("replaced");
    let new_arn = replaced.load_balancer_arn.clone().expect("an arn");
    assert_ne!(new_arn, arn);
    assert_eq!(cloud.subnet_addresses(&new_arn), swapped.load_balancers[0].subnet_addresses);
    let summary = replaced.changes.to_string();
    assert!(summary.contains("replaced 1 load balancer"), "{summary}");
    let now = inventory(&cloud);
    assert_eq!(now.load_balancers, ["k8s-default-web-e"]);
    assert_eq!(now.listeners, [("k8s-default-web-e".into(), 80)]);

    // Dropped: AWS picks the addresses of a new load balancer, and the Elastic IPs are free.
    let plain = deployer.deploy(&svc.stack()).await.expect("replaced again");
    let plain_arn = plain.load_balancer_arn.expect("an arn");
    assert_ne!(plain_arn, new_arn);
    assert!(cloud.subnet_addresses(&plain_arn).is_empty());
    assert!(!cloud.tags(&plain_arn).contains_key(tags::SUBNET_ADDRESSES_TAG));
}

#[tokio::test]
async fn an_unknown_or_taken_elastic_ip_fails_the_deploy_before_anything_is_deleted() {
    let cloud = cloud();
    cloud.seed_elastic_ip("eipalloc-1");
    cloud.seed_elastic_ip("eipalloc-2");
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    let created = deployer.deploy(&with_elastic_ips(&svc, ["eipalloc-1", "eipalloc-2"], "r1")).await.expect("deployed");
    let arn = created.load_balancer_arn.expect("an arn");

    // A typo in the list would replace the load balancer with one AWS refuses to create.
    cloud.counter().reset();
    let typo = with_elastic_ips(&svc, ["eipalloc-1", "eipalloc-9"], "r2");
    let error = deployer.deploy(&typo).await.expect_err("refused");
    assert_eq!(
        error.to_string(),
        "the Elastic IP allocations eipalloc-9 do not exist in the load balancer's region; allocate them, or correct \
         service.beta.kubernetes.io/aws-load-balancer-eip-allocations (nothing was changed)"
    );
    assert!(!error.is_retryable());
    assert_eq!(cloud.counter().mutating(), 0, "nothing changed: {:?}", cloud.counter().snapshot());
    assert_eq!(inventory(&cloud).load_balancers, ["k8s-default-web-e"], "the old load balancer still serves");
    assert_eq!(cloud.load_balancers()[0].arn, arn);

    // Another Service's load balancer holds eipalloc-2: a new load balancer cannot take it.
    let other = Svc::new("api");
    let error = deployer.deploy(&with_elastic_ips(&other, ["eipalloc-3", "eipalloc-2"], "r1")).await;
    assert!(matches!(error, Err(DeployError::ElasticIpsNotFound { ref ids }) if ids == &["eipalloc-3"]), "{error:?}");
    cloud.seed_elastic_ip("eipalloc-3");
    let error =
        deployer.deploy(&with_elastic_ips(&other, ["eipalloc-3", "eipalloc-2"], "r1")).await.expect_err("taken");
    assert!(error.to_string().starts_with("the Elastic IP allocation eipalloc-2 is associated with"), "{error}");
    assert_eq!(inventory(&cloud).load_balancers, ["k8s-default-web-e"], "no load balancer for api");

    // A plan with no Elastic IP makes no address call.
    cloud.counter().reset();
    deployer.deploy(&other.stack()).await.expect("plain");
    assert_eq!(cloud.counter().count(Api::DescribeAddresses), 0);
}

#[tokio::test]
async fn listener_attributes_are_set_kept_and_repaired_like_load_balancer_attributes() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    let idle = |seconds: &str| Attributes::from([("tcp.idle_timeout.seconds".to_string(), seconds.to_string())]);
    let with_idle = |seconds: &str| {
        let mut stack = svc.stack();
        stack.listeners[0].attributes = idle(seconds);
        stack
    };
    let created = deployer.deploy(&with_idle("600")).await.expect("deployed");
    let listener = cloud.listeners()[0].arn.clone();
    assert_eq!(cloud.attributes(&listener), idle("600"));
    assert!(created.changes.to_string().contains("modified 1 listener"), "{}", created.changes);

    // A restarted deployer reads the listener's attributes and finds nothing to do.
    cloud.counter().reset();
    assert!(!support::deployer(&cloud).deploy(&with_idle("600")).await.expect("restarted").changed);
    assert_eq!(cloud.counter().count(Api::DescribeListenerAttributes), 1);
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());

    // Changed by hand: set back by the next full comparison, and only that.
    cloud.modify_listener_attributes(&listener, &idle("350")).await.expect("drift");
    cloud.counter().reset();
    support::deployer(&cloud).deploy(&with_idle("600")).await.expect("repaired");
    assert_eq!(cloud.attributes(&listener), idle("600"));
    assert_eq!(cloud.counter().mutating(), 1, "{:?}", cloud.counter().snapshot());
    assert_eq!(cloud.counter().count(Api::ModifyListenerAttributes), 1);

    // A new value: one call on the same listener.
    cloud.counter().reset();
    deployer.deploy(&with_idle("900")).await.expect("changed");
    assert_eq!(cloud.attributes(&listener), idle("900"));
    assert_eq!(cloud.counter().mutating(), 1, "{:?}", cloud.counter().snapshot());
    assert_eq!(cloud.listeners()[0].arn, listener, "modified in place");

    // A stack that sets none does not read them, and leaves them as they are.
    cloud.counter().reset();
    support::deployer(&cloud).deploy(&svc.stack()).await.expect("without");
    assert_eq!(cloud.counter().count(Api::DescribeListenerAttributes), 0);
    assert_eq!(cloud.attributes(&listener), idle("900"));
}

#[tokio::test]
async fn an_alpn_policy_is_set_compared_and_taken_off_again() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    let tls = |alpn_policy: Option<AlpnPolicy>| {
        let mut stack = svc.stack();
        let listener = &mut stack.listeners[0];
        listener.protocol = Protocol::Tls;
        listener.certificates = vec!["arn:aws:acm:us-east-1:123456789012:certificate/1".into()];
        listener.ssl_policy = Some("ELBSecurityPolicy-2016-08".into());
        listener.alpn_policy = alpn_policy;
        stack
    };
    let reported = |cloud: &FakeCloud| cloud.listeners()[0].alpn_policy;
    deployer.deploy(&tls(Some(AlpnPolicy::Http2Preferred))).await.expect("deployed");
    assert_eq!(reported(&cloud), Some(AlpnPolicy::Http2Preferred));

    cloud.counter().reset();
    assert!(!support::deployer(&cloud).deploy(&tls(Some(AlpnPolicy::Http2Preferred))).await.expect("again").changed);
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());

    // No policy asked for: the listener is set back to AWS's None, and then left alone.
    cloud.counter().reset();
    deployer.deploy(&tls(None)).await.expect("taken off");
    assert_eq!(reported(&cloud), Some(AlpnPolicy::None));
    assert_eq!(cloud.counter().count(Api::ModifyListener), 1, "{:?}", cloud.counter().snapshot());
    cloud.counter().reset();
    assert!(!support::deployer(&cloud).deploy(&tls(None)).await.expect("quiet").changed);
    assert!(!support::deployer(&cloud).deploy(&tls(Some(AlpnPolicy::None))).await.expect("the same").changed);
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());
}

#[tokio::test]
async fn a_node_port_change_replaces_the_target_group_and_moves_the_listener() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut svc = Svc::new("web");
    deployer.deploy(&svc.stack()).await.expect("deployed");
    svc.ports = vec![(80, 32000)];
    deployer.deploy(&svc.stack()).await.expect("replaced");
    let now = inventory(&cloud);
    assert_eq!(now.target_groups, [("k8s-default-web-32000".into(), vec!["i-1".into(), "i-2".into()])]);
    let tg = &cloud.target_groups()[0];
    let listener = &cloud.listeners()[0];
    assert_eq!(listener.default_actions, vec![Action::forward(tg.arn.clone())]);
    assert_eq!(now.node_rules, [(32000, 32000)]);
}

#[tokio::test]
async fn deleting_removes_everything_of_the_stack_and_nothing_else() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let foreign = cloud.seed_load_balancer(CreateLoadBalancer {
        name: "someone-elses".into(),
        lb_type: LoadBalancerType::Network,
        scheme: Scheme::Internal,
        ip_address_type: IpAddressType::Ipv4,
        subnets: vec!["subnet-a".into()],
        subnet_addresses: Vec::new(),
        security_groups: vec![],
        tags: Tags::new(),
    });
    let foreign = foreign.expect("seeded");
    let kept = Svc::new("kept");
    deployer.deploy(&kept.stack()).await.expect("kept deployed");
    let mut web = Svc::new("web");
    web.ports = vec![(80, 31500)];
    deployer.deploy(&web.stack()).await.expect("web deployed");

    let outcome = deployer.deploy(&Stack::empty(web.id())).await.expect("deleted");
    assert!(outcome.changed);
    assert_eq!(outcome.dns_name, None);
    let now = inventory(&cloud);
    assert_eq!(now.load_balancers, ["k8s-default-kept-e"]);
    assert_eq!(now.groups, [backend(), "k8s-default-kept-fe".to_string()], "the backend group stays");
    assert_eq!(now.node_rules, [(31000, 31000)], "kept's port stays open");
    assert!(cloud.load_balancers().iter().any(|lb| lb.arn == foreign.arn), "foreign load balancer untouched");

    cloud.counter().reset();
    deployer.deploy(&Stack::empty(web.id())).await.expect("deleting again");
    assert_eq!(cloud.counter().mutating(), 0, "deleting twice changes nothing");
}

#[tokio::test]
async fn the_backend_group_goes_with_the_last_stack_and_comes_back_with_the_next() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let (web, api) = (Svc::new("web"), Svc::new("api"));
    deployer.deploy(&web.stack()).await.expect("web deployed");
    deployer.deploy(&api.stack()).await.expect("api deployed");

    deployer.deploy(&Stack::empty(web.id())).await.expect("web deleted");
    assert!(inventory(&cloud).groups.contains(&backend()), "api still uses the backend group");
    deployer.deploy(&Stack::empty(api.id())).await.expect("api deleted");
    let left = inventory(&cloud);
    assert_eq!((left.load_balancers.len(), left.groups.len(), left.node_rules.len()), (0, 0, 0), "nothing left");

    deployer.deploy(&web.stack()).await.expect("web deployed again");
    assert!(inventory(&cloud).groups.contains(&backend()), "a new backend group for the new load balancer");
}

#[tokio::test]
async fn the_last_two_stacks_deleted_at_once_take_the_backend_group_with_them() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let (web, api) = (Svc::new("web"), Svc::new("api"));
    deployer.deploy(&web.stack()).await.expect("web deployed");
    deployer.deploy(&api.stack()).await.expect("api deployed");
    let (web_gone, api_gone) = (Stack::empty(web.id()), Stack::empty(api.id()));
    let (a, b) = tokio::join!(deployer.deploy(&web_gone), deployer.deploy(&api_gone));
    a.expect("web deleted");
    b.expect("api deleted");
    assert_eq!(inventory(&cloud).groups, Vec::<String>::new());
}

#[tokio::test]
async fn a_foreign_load_balancer_with_our_name_is_a_conflict_and_is_left_alone() {
    let cloud = cloud();
    let svc = Svc::new("web");
    let stack = svc.stack();
    let foreign = cloud
        .seed_load_balancer(CreateLoadBalancer {
            name: stack.load_balancers[0].name.clone(),
            lb_type: LoadBalancerType::Network,
            scheme: Scheme::InternetFacing,
            ip_address_type: IpAddressType::Ipv4,
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            subnet_addresses: Vec::new(),
            security_groups: vec![],
            tags: Tags::from([("team".to_string(), "other".to_string())]),
        })
        .expect("seeded");
    let error = deployer(&cloud).deploy(&stack).await.expect_err("conflict");
    assert!(matches!(error, DeployError::NameConflict { .. }), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(cloud.counter().mutating(), 0, "nothing was created before the check");
    let now = cloud.load_balancers();
    assert_eq!(now.len(), 1);
    assert_eq!((&now[0].arn, &now[0].security_groups), (&foreign.arn, &foreign.security_groups));
    assert_eq!(cloud.tags(&foreign.arn), Tags::from([("team".to_string(), "other".to_string())]));
}

#[tokio::test]
async fn a_node_group_rule_that_is_not_ours_is_never_revoked() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    deployer.deploy(&svc.stack()).await.expect("deployed");
    let someone_elses = cloud
        .seed_security_group_rule(
            NODE_GROUP,
            NewIngressRule {
                rule: IngressRule {
                    ip_protocol: "tcp".into(),
                    from_port: 22,
                    to_port: 22,
                    source: RuleSource::CidrIpv4("10.0.0.0/8".into()),
                    description: Some("ssh".into()),
                },
                tags: Tags::new(),
            },
        )
        .expect("seeded");
    deployer.deploy(&Stack::empty(svc.id())).await.expect("deleted");
    assert_eq!(cloud.security_group_rules(NODE_GROUP), vec![someone_elses]);
}

/// Crashes the deploy at every mutating call in turn (the request failing, or landing with its
/// answer lost), restarts, and checks that the re-run converges on exactly the desired resources;
/// then that deleting after the partial create leaves nothing behind.
#[tokio::test]
async fn a_crash_between_any_two_calls_is_repaired_by_a_rerun_after_a_restart() {
    let svc = Svc::new("web");
    let stack = svc.stack();
    let expected = {
        let cloud = cloud();
        deployer(&cloud).deploy(&stack).await.expect("reference run");
        inventory(&cloud)
    };
    let total_calls = 8; // 7 for the stack and 1 for the shared backend group
    for landed in [false, true] {
        for kind in [CloudErrorKind::ServerError, CloudErrorKind::Timeout, CloudErrorKind::Throttled] {
            for crash_at in 0..total_calls {
                let cloud = cloud();
                cloud.inject(support::crash_at(kind, crash_at, landed));
                let first = deployer(&cloud).deploy(&stack).await;
                assert!(first.is_err(), "crash at call {crash_at} ({kind:?}, landed {landed}) must surface");
                assert!(first.expect_err("checked").is_retryable());
                cloud.clear_failures();

                let outcome = deployer(&cloud).deploy(&stack).await;
                let context = format!("crash at call {crash_at} ({kind:?}, landed {landed})");
                outcome.unwrap_or_else(|e| panic!("{context}: re-run failed: {e}"));
                assert_eq!(inventory(&cloud), expected, "{context}");

                let leftovers = {
                    let partial = self::cloud();
                    partial.inject(support::crash_at(kind, crash_at, landed));
                    let _ = deployer(&partial).deploy(&stack).await;
                    partial.clear_failures();
                    deployer(&partial)
                        .deploy(&Stack::empty(svc.id()))
                        .await
                        .unwrap_or_else(|e| panic!("{context}: delete: {e}"));
                    inventory(&partial)
                };
                assert_eq!(leftovers.load_balancers, Vec::<String>::new(), "{context}");
                assert_eq!(leftovers.target_groups, Vec::<(String, Vec<String>)>::new(), "{context}");
                assert_eq!(leftovers.node_rules, [], "{context}");
                let groups: Vec<String> = leftovers.groups.into_iter().filter(|g| g != &backend()).collect();
                assert_eq!(groups, Vec::<String>::new(), "{context}");
            }
        }
    }
}

#[tokio::test]
async fn a_failed_deploy_is_retried_by_the_same_deployer_without_duplicates() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let stack = Svc::new("web").stack();
    cloud.inject(Failure::on(Api::CreateListener, CloudErrorKind::Timeout).landed());
    deployer.deploy(&stack).await.expect_err("the listener's answer was lost");
    let outcome = deployer.deploy(&stack).await.expect("second attempt");
    assert!(outcome.dns_name.is_some());
    let now = inventory(&cloud);
    assert_eq!(now.listeners.len(), 1);
    assert_eq!(now.load_balancers.len(), 1);
    assert_eq!(now.target_groups.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn throttling_and_server_errors_converge_through_the_resilient_layer() {
    let fake = seeded();
    fake.inject(Failure::any(CloudErrorKind::Throttled).mutating_only().times(3));
    fake.inject(Failure::any(CloudErrorKind::ServerError).after(4).times(2));
    fake.inject(Failure::on(Api::CreateListener, CloudErrorKind::Timeout));
    let cloud = Arc::new(Resilient::new(fake, RateLimits::aws_defaults(), RetryPolicy::default()));
    let deployer = Deployer::new(
        cloud.clone(),
        DeploySettings {
            cluster_name: CLUSTER.into(),
            vpc_id: "vpc-1".into(),
            drift_period: Duration::from_secs(3600),
            integrations: elbow_deploy::Integrations::all(),
        },
    );
    let outcome = deployer.deploy(&Svc::new("web").stack()).await.expect("converges in one deploy");
    assert!(outcome.dns_name.is_some());
    let now = inventory(cloud.inner());
    assert_eq!(now.load_balancers.len(), 1);
    assert_eq!(now.listeners.len(), 1);
    assert_eq!(now.target_groups.len(), 1);
}

#[tokio::test]
async fn a_node_rule_someone_else_added_is_neither_relied_upon_nor_revoked() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut other = Svc::new("other");
    other.ports = vec![(80, 31999)];
    deployer.deploy(&other.stack()).await.expect("the backend group exists");
    let backend_id = cloud.security_groups().into_iter().find(|g| g.group_name == backend()).expect("backend").id;
    let theirs = cloud
        .seed_security_group_rule(
            NODE_GROUP,
            NewIngressRule {
                rule: IngressRule {
                    ip_protocol: "tcp".into(),
                    from_port: 31000,
                    to_port: 31000,
                    source: RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend_id)),
                    description: Some("added by hand".into()),
                },
                tags: Tags::new(),
            },
        )
        .expect("seeded");

    let mut web = Svc::new("web");
    deployer.deploy(&web.stack()).await.expect("a port someone else opened too");
    assert_eq!(inventory(&cloud).node_rules, [(31000, 31999)], "Elbow's own range covers it");
    assert!(cloud.security_group_rules(NODE_GROUP).contains(&theirs));

    cloud.counter().reset();
    web.nodes = vec!["i-3"];
    deployer.deploy(&web.stack()).await.expect("updated");
    assert_eq!(cloud.counter().count(Api::AuthorizeSecurityGroupIngress), 0, "{:?}", cloud.counter().snapshot());

    deployer.deploy(&Stack::empty(web.id())).await.expect("deleted");
    assert_eq!(inventory(&cloud).node_rules, [(31999, 31999)]);
    assert!(cloud.security_group_rules(NODE_GROUP).contains(&theirs), "someone else's rule stays");
}

#[tokio::test]
async fn a_foreign_security_group_with_the_frontend_name_is_a_conflict_and_is_left_alone() {
    let cloud = cloud();
    let stack = Svc::new("web").stack();
    let foreign = SecurityGroup {
        id: "sg-foreign".into(),
        group_name: stack.security_groups[0].group_name.clone(),
        description: "someone else's".into(),
        vpc_id: "vpc-1".into(),
        tags: Tags::from([("team".to_string(), "other".to_string())]),
    };
    cloud.seed_security_group(foreign.clone());
    let error = deployer(&cloud).deploy(&stack).await.expect_err("conflict");
    assert!(matches!(error, DeployError::NameConflict { kind: "security group", .. }), "{error}");
    assert!(!error.is_retryable());
    assert!(cloud.security_groups().contains(&foreign));
    assert_eq!(inventory(&cloud).load_balancers, Vec::<String>::new(), "nothing after the conflict was created");
}

#[tokio::test]
async fn a_shared_backend_group_deleted_elsewhere_is_recreated_by_the_next_attempt() {
    let cloud = cloud();
    let elsewhere = deployer(&cloud);
    let deployer = deployer(&cloud);
    let gone = Svc::new("gone");
    deployer.deploy(&gone.stack()).await.expect("deployed");
    let backend_id = cloud.security_groups().into_iter().find(|g| g.group_name == backend()).expect("backend").id;
    // Another deployer (a previous leader's, or a restart's) deletes the last stack, and the
    // backend group with it, behind this deployer's index.
    elsewhere.deploy(&Stack::empty(gone.id())).await.expect("deleted by another deployer");
    assert!(cloud.security_groups().iter().all(|g| g.id != backend_id), "the backend group went with the last stack");

    let web = Svc::new("web");
    let first = deployer.deploy(&web.stack()).await.expect_err("the index still names the deleted group");
    assert!(first.is_retryable(), "{first}");
    deployer.deploy(&web.stack()).await.expect("the next attempt rebuilds the index and recreates the group");
    let backend_now = cloud.security_groups().into_iter().find(|g| g.group_name == backend()).expect("recreated");
    assert_ne!(backend_now.id, backend_id);
    let lb = &cloud.load_balancers()[0];
    assert!(lb.security_groups.contains(&backend_now.id), "{:?}", lb.security_groups);
    assert!(!lb.security_groups.contains(&backend_id), "{:?}", lb.security_groups);
    let node_rules = cloud.security_group_rules(NODE_GROUP);
    assert_eq!(node_rules.len(), 1);
    assert_eq!(node_rules[0].rule.source, RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend_now.id)));
}

#[tokio::test]
async fn two_stacks_asking_for_the_same_load_balancer_name_do_not_share_it() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut first = Svc::new("first");
    first.lb_name = Some("shared-name");
    let mut second = Svc::new("second");
    second.lb_name = Some("shared-name");
    second.ports = vec![(80, 31500)];
    let owner = deployer.deploy(&first.stack()).await.expect("first deployed");
    cloud.counter().reset();

    let error = deployer.deploy(&second.stack()).await.expect_err("the name is taken");
    assert!(matches!(&error, DeployError::NameTaken { owner, .. } if owner == &first.id()), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(cloud.counter().mutating(), 0);
    // After a restart too: the index knows every stack of the cluster.
    let error = self::deployer(&cloud).deploy(&second.stack()).await.expect_err("still taken");
    assert!(matches!(error, DeployError::NameTaken { .. }), "{error}");
    assert_eq!(cloud.counter().mutating(), 0);
    let lbs = cloud.load_balancers();
    assert_eq!(lbs.len(), 1);
    assert_eq!(Some(&lbs[0].arn), owner.load_balancer_arn.as_ref());
    assert_eq!(cloud.tags(&lbs[0].arn).get(elbow_model::tags::STACK_TAG), Some(&"default/first".to_string()));
}

#[tokio::test]
async fn tags_elbow_no_longer_asks_for_are_removed_and_tags_of_others_stay() {
    use elbow_cloud::Cloud;
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut svc = Svc::new("web");
    svc.extra_tags = vec![("team", "a"), ("cost-center", "1")];
    deployer.deploy(&svc.stack()).await.expect("deployed");
    let lb = cloud.load_balancers()[0].arn.clone();
    let tg = cloud.target_groups()[0].arn.clone();
    let frontend = cloud.security_groups().into_iter().find(|g| g.group_name == "k8s-default-web-fe").expect("fe").id;
    let billing = Tags::from([("billing".to_string(), "x".to_string())]);
    cloud.add_tags(&[lb.clone(), tg.clone()], &billing).await.expect("someone else tags");
    cloud.create_tags(std::slice::from_ref(&frontend), &billing).await.expect("someone else tags");
    cloud.counter().reset();

    svc.extra_tags = vec![("team", "b")];
    deployer.deploy(&svc.stack()).await.expect("re-tagged");
    for id in [&lb, &tg, &frontend] {
        let tags = cloud.tags(id);
        assert_eq!(tags.get("team").map(String::as_str), Some("b"), "{id}: {tags:?}");
        assert_eq!(tags.get("cost-center"), None, "{id}: {tags:?}");
        assert_eq!(tags.get("billing").map(String::as_str), Some("x"), "{id}: someone else's tag stays");
        assert_eq!(tags.get(CLUSTER_TAG).map(String::as_str), Some(CLUSTER), "{id}");
    }
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&Api::AddTags), Some(&2), "{calls:?}");
    assert_eq!(calls.get(&Api::RemoveTags), Some(&2), "{calls:?}");
    assert_eq!(calls.get(&Api::CreateTags), Some(&1), "{calls:?}");
    assert_eq!(calls.get(&Api::DeleteTags), Some(&1), "{calls:?}");
    assert_eq!(cloud.counter().mutating(), 6, "{calls:?}");
}

#[tokio::test]
async fn groups_still_in_use_after_the_load_balancer_is_gone_are_a_retryable_error_and_the_next_run_finishes() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    deployer.deploy(&svc.stack()).await.expect("deployed");
    // AWS frees a network load balancer's target groups and security groups a while after it is
    // deleted; until then their deletion answers ResourceInUse / DependencyViolation.
    cloud.inject(Failure::on(Api::DeleteTargetGroup, CloudErrorKind::InUse));
    let error = deployer.deploy(&Stack::empty(svc.id())).await.expect_err("target group still in use");
    assert!(error.is_retryable(), "{error}");
    assert_eq!(inventory(&cloud).load_balancers, Vec::<String>::new(), "the load balancer went first");

    cloud.inject(Failure::on(Api::DeleteSecurityGroup, CloudErrorKind::InUse));
    let error = deployer.deploy(&Stack::empty(svc.id())).await.expect_err("security group still in use");
    assert!(error.is_retryable(), "{error}");

    let outcome = deployer.deploy(&Stack::empty(svc.id())).await.expect("the third run finishes");
    assert!(outcome.changed);
    let left = inventory(&cloud);
    assert_eq!(left.target_groups, Vec::<(String, Vec<String>)>::new());
    assert_eq!(left.groups, Vec::<String>::new(), "the backend group went with the last stack");
    assert_eq!(left.node_rules, []);
}

#[tokio::test(start_paused = true)]
async fn drift_is_left_alone_until_the_drift_period_then_repaired() {
    use elbow_cloud::Cloud;
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let stack = Svc::new("web").stack();
    deployer.deploy(&stack).await.expect("deployed");
    let listener = cloud.listeners()[0].arn.clone();
    let tg = cloud.target_groups()[0].arn.clone();
    cloud.delete_listener(&listener).await.expect("deleted by hand");
    cloud.deregister_targets(&tg, &[Target::new("i-1", 31000)]).await.expect("by hand");
    cloud.counter().reset();

    tokio::time::advance(Duration::from_secs(3599)).await;
    let quiet = deployer.deploy(&stack).await.expect("quiet");
    assert!(!quiet.changed);
    assert_eq!(cloud.counter().total(), 0, "within the drift period the cloud is not asked");

    tokio::time::advance(Duration::from_secs(2)).await;
    let repaired = deployer.deploy(&stack).await.expect("compared with the cloud");
    assert!(repaired.changed, "{repaired:?}");
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&Api::CreateListener), Some(&1), "{calls:?}");
    assert_eq!(calls.get(&Api::RegisterTargets), Some(&1), "{calls:?}");
    assert_eq!(cloud.counter().mutating(), 2, "{calls:?}");
    assert_eq!(inventory(&cloud).target_groups[0].1, ["i-1", "i-2"]);
}

#[tokio::test]
async fn a_foreign_load_balancer_taking_our_name_after_the_index_was_built_is_reported_as_a_conflict_next() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut other = Svc::new("other");
    other.ports = vec![(80, 31999)];
    deployer.deploy(&other.stack()).await.expect("the index is warm");
    let stack = Svc::new("web").stack();
    cloud
        .seed_load_balancer(CreateLoadBalancer {
            name: stack.load_balancers[0].name.clone(),
            lb_type: LoadBalancerType::Network,
            scheme: Scheme::Internal,
            ip_address_type: IpAddressType::Ipv4,
            subnets: vec!["subnet-a".into()],
            subnet_addresses: Vec::new(),
            security_groups: vec![],
            tags: Tags::new(),
        })
        .expect("seeded");

    let first = deployer.deploy(&stack).await.expect_err("the name is taken");
    assert!(first.is_retryable(), "the deployer cannot tell yet: {first}");
    let second = deployer.deploy(&stack).await.expect_err("still taken");
    assert!(matches!(second, DeployError::NameConflict { kind: "load balancer", .. }), "{second}");
    assert!(!second.is_retryable());
}

#[tokio::test]
async fn prefix_list_sources_are_authorized_compared_and_replaced_like_cidrs() {
    let cloud = cloud();
    cloud.seed_prefix_list("pl-0123abcd", 10);
    cloud.seed_prefix_list("pl-00ff", 10);
    let with_prefix_list = |id: &str| {
        let mut stack = Svc::new("web").stack();
        for rule in &mut stack.security_groups[0].ingress {
            rule.source = RuleSource::PrefixList(id.into());
        }
        stack
    };
    let frontend_sources = |cloud: &elbow_fake::FakeCloud| {
        let group = cloud.security_groups().into_iter().find(|g| g.group_name == "k8s-default-web-fe").expect("fe");
        cloud.security_group_rules(&group.id).into_iter().map(|r| r.rule.source).collect::<Vec<_>>()
    };
    deployer(&cloud).deploy(&with_prefix_list("pl-0123abcd")).await.expect("created");
    assert_eq!(frontend_sources(&cloud), [RuleSource::PrefixList("pl-0123abcd".into())]);

    cloud.counter().reset();
    deployer(&cloud).deploy(&with_prefix_list("pl-0123abcd")).await.expect("found again");
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());

    deployer(&cloud).deploy(&with_prefix_list("pl-00ff")).await.expect("another list");
    assert_eq!(frontend_sources(&cloud), [RuleSource::PrefixList("pl-00ff".into())]);
}
