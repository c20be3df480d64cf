//! Network load balancers without security groups (`disable-nlb-sg`) against the in-memory fake:
//! created without any, the nodes admitting addresses instead of the backend group, and never
//! switched between having security groups and having none, which AWS cannot do.

use elbow_cloud::Api;
use elbow_deploy::DeployError;
use elbow_model::*;

mod support;

use support::*;

/// `svc`'s stack as the builder makes it with `disable-nlb-sg: "true"`: no group on the load
/// balancer, no frontend group, and node rules admitting `cidr` on each NodePort.
fn without_groups(svc: &Svc, cidr: &str) -> Stack {
    let mut stack = svc.stack();
    stack.load_balancers[0].security_groups.clear();
    stack.security_groups.clear();
    for rule in &mut stack.node_security_group_rules {
        rule.resource_id = ResourceId::new(format!("{}/{cidr}", rule.resource_id));
        rule.rule.source = RuleSource::CidrIpv4(cidr.to_string());
    }
    stack
}

/// The node group's rules of this cluster, as (port, source).
fn node_rules(cloud: &elbow_fake::FakeCloud) -> Vec<(u16, RuleSource)> {
    let ours = |tags: &Tags| tags.get(elbow_model::tags::CLUSTER_TAG).is_some_and(|c| c == CLUSTER);
    let mut rules: Vec<(u16, RuleSource)> = cloud
        .security_group_rules(NODE_GROUP)
        .into_iter()
        .filter(|r| ours(&r.tags))
        .map(|r| (r.rule.from_port, r.rule.source))
        .collect();
    rules.sort();
    rules
}

#[tokio::test]
async fn a_network_load_balancer_without_security_groups_is_created_and_deleted_with_its_node_rules() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let svc = Svc::new("web");
    deployer.deploy(&without_groups(&svc, "10.0.0.0/16")).await.expect("deployed");

    let lbs = cloud.load_balancers();
    assert_eq!(lbs.len(), 1);
    assert!(lbs[0].security_groups.is_empty(), "created without security groups");
    assert_eq!(cloud.counter().count(Api::CreateSecurityGroup), 0, "neither a frontend nor the backend group");
    assert!(inventory(&cloud).groups.is_empty());
    assert_eq!(node_rules(&cloud), [(31000, RuleSource::CidrIpv4("10.0.0.0/16".into()))]);

    cloud.counter().reset();
    deployer.deploy(&without_groups(&svc, "10.0.0.0/16")).await.expect("again");
    assert_eq!(cloud.counter().mutating(), 0, "nothing to change");

    deployer.deploy(&Stack::empty(svc.id())).await.expect("deleted");
    assert!(cloud.load_balancers().is_empty());
    assert!(node_rules(&cloud).is_empty(), "the node rule goes with the stack");
}

#[tokio::test]
async fn switching_security_groups_on_or_off_is_refused_and_changes_nothing() {
    let cloud = cloud();
    let deployer = deployer(&cloud);

    // Created without: AWS would refuse SetSecurityGroups, and Elbow does not try.
    let web = Svc::new("web");
    deployer.deploy(&without_groups(&web, "10.0.0.0/16")).await.expect("deployed");
    cloud.counter().reset();
    let error = deployer.deploy(&web.stack()).await.expect_err("refused");
    assert!(matches!(&error, DeployError::SecurityGroupsFixed { has_groups: false, .. }), "{error:?}");
    assert!(!error.is_retryable(), "the user must act");
    let message = error.to_string();
    assert!(
        message.contains("was created without security groups") && message.contains("disable-nlb-sg back to \"true\""),
        "{message}"
    );
    // The cluster's shared backend group is made for the stack that names it; nothing else.
    let calls = cloud.counter().snapshot();
    assert_eq!(cloud.counter().mutating(), 1, "{calls:?}");
    assert_eq!(calls.get(&Api::CreateSecurityGroup), Some(&1), "{calls:?}");
    assert_eq!(inventory(&cloud).groups, [backend()]);
    assert!(cloud.load_balancers()[0].security_groups.is_empty());

    // Created with: the groups stay, refused the other way round.
    let api = Svc::new("api");
    deployer.deploy(&api.stack()).await.expect("deployed");
    let groups_before =
        cloud.load_balancers().into_iter().find(|lb| lb.name.contains("api")).expect("lb").security_groups;
    cloud.counter().reset();
    let error = deployer.deploy(&without_groups(&api, "10.0.0.0/16")).await.expect_err("refused");
    assert!(matches!(&error, DeployError::SecurityGroupsFixed { has_groups: true, .. }), "{error:?}");
    assert!(error.to_string().contains("created with security groups"), "{error}");
    assert_eq!(cloud.counter().mutating(), 0);
    let groups_after =
        cloud.load_balancers().into_iter().find(|lb| lb.name.contains("api")).expect("lb").security_groups;
    assert_eq!(groups_after, groups_before);

    // A change that replaces the load balancer anyway (the scheme) may change both.
    let mut internal = web.clone();
    internal.scheme = Scheme::Internal;
    deployer.deploy(&internal.stack()).await.expect("replaced, with security groups");
    let replaced = cloud.load_balancers().into_iter().find(|lb| lb.name.contains("web")).expect("lb");
    assert_eq!((replaced.scheme, replaced.security_groups.len()), (Scheme::Internal, 2), "frontend and backend");
}

#[tokio::test]
async fn the_fake_refuses_security_groups_on_a_network_load_balancer_created_without_any() {
    let cloud = cloud();
    deployer(&cloud).deploy(&without_groups(&Svc::new("web"), "10.0.0.0/16")).await.expect("deployed");
    let lb = cloud.load_balancers().remove(0);
    let error = elbow_cloud::Cloud::set_security_groups(cloud.as_ref(), &lb.arn, &["sg-nodes".to_string()])
        .await
        .expect_err("refused as AWS refuses it");
    assert_eq!(error.code, "InvalidConfigurationRequest");
}
