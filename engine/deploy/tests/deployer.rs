//! The deployer against the in-memory fake cloud: the call budget, idempotency, updates,
//! replacements, deletion, crashes at every point, and never touching what is not ours.

use std::sync::Arc;
use std::time::Duration;

use elbow_cloud::resilient::{RateLimits, Resilient, RetryPolicy};
use elbow_cloud::{Api, CloudErrorKind, CreateLoadBalancer, NewIngressRule, SecurityGroup};
use elbow_deploy::{DeployError, DeploySettings, Deployer};
use elbow_fake::Failure;
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
    cloud.deregister_targets(&tg, &[Target { id: "i-1".into(), port: 31000 }]).await.expect("by hand");
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
