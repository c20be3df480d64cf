//! Node rules that several stacks need: a Service and an Ingress routing to it both send their
//! load balancer's traffic to the Service's NodePort through the one rule admitting the shared
//! backend group there. Deleting or changing one of them must leave the others' path open; the
//! last one takes the rule with it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use elbow_cloud::{Api, Attempt, Call, Cloud, CloudErrorKind, CloudResult, Layer};
use elbow_deploy::{DeployError, DeploySettings, Deployer};
use elbow_fake::FakeCloud;
use elbow_model::tags::{CLAIM_TAG_PREFIX, CLUSTER_TAG, STACK_TAG};
use elbow_model::*;

mod support;

use support::*;

/// Whether the load balancer named `lb` can reach the nodes on `port`: it has the backend group,
/// and the node group admits that group on the port.
fn path_open(cloud: &FakeCloud, lb: &str, port: u16) -> bool {
    let Some(backend) = cloud.security_groups().into_iter().find(|g| g.group_name == backend()) else {
        return false;
    };
    let attached = cloud.load_balancers().iter().any(|l| l.name == lb && l.security_groups.contains(&backend.id));
    let admitted = cloud.security_group_rules(NODE_GROUP).iter().any(|r| {
        r.rule.from_port == port
            && r.rule.to_port == port
            && r.rule.source == RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend.id.clone()))
    });
    attached && admitted
}

/// The Ingress-shaped stack `shop`, whose application load balancer forwards to NodePort `port`.
fn shop(ports: &[u16]) -> Stack {
    alb_stack("shop", ports, &[])
}

const SHOP_LB: &str = "k8s-shop-alb";

fn ours(cloud: &FakeCloud) -> Vec<elbow_cloud::SecurityGroupRule> {
    cloud
        .security_group_rules(NODE_GROUP)
        .into_iter()
        .filter(|r| r.tags.get(CLUSTER_TAG).map(String::as_str) == Some(CLUSTER))
        .collect()
}

#[tokio::test]
async fn a_node_rule_two_stacks_share_stays_until_the_last_of_them_is_deleted() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let web = Svc::new("web");
    deployer.deploy(&web.stack()).await.expect("the Service");
    deployer.deploy(&shop(&[31000])).await.expect("an Ingress routing to the same NodePort");
    assert_eq!(inventory(&cloud).node_rules, [31000], "one rule serves both");

    deployer.deploy(&Stack::empty(web.id())).await.expect("the Service deleted");
    assert!(path_open(&cloud, SHOP_LB, 31000), "the Ingress's path is open: {:?}", ours(&cloud));
    assert_eq!(inventory(&cloud).node_rules, [31000]);

    deployer.deploy(&Stack::empty(shop(&[31000]).id)).await.expect("the Ingress deleted");
    let left = inventory(&cloud);
    assert_eq!(left.node_rules, Vec::<u16>::new(), "the last user takes the rule with it");
    assert_eq!(left.groups, Vec::<String>::new(), "and the backend group");
}

#[tokio::test]
async fn claims_are_read_back_from_the_rules_by_a_restarted_deployer() {
    let cloud = cloud();
    let web = Svc::new("web");
    deployer(&cloud).deploy(&web.stack()).await.expect("the Service");
    deployer(&cloud).deploy(&shop(&[31000])).await.expect("the Ingress, after a restart");

    deployer(&cloud).deploy(&Stack::empty(web.id())).await.expect("the Service deleted after another restart");
    assert!(path_open(&cloud, SHOP_LB, 31000), "{:?}", ours(&cloud));

    let restarted = deployer(&cloud);
    cloud.counter().reset();
    let outcome = restarted.deploy(&shop(&[31000])).await.expect("the Ingress again");
    assert_eq!(cloud.counter().mutating(), 0, "its claim is found: {:?}", outcome.changes);
    restarted.deploy(&Stack::empty(shop(&[31000]).id)).await.expect("the Ingress deleted");
    assert_eq!(inventory(&cloud).node_rules, Vec::<u16>::new());
}

#[tokio::test]
async fn a_stack_moving_to_another_port_leaves_the_rule_another_stack_still_needs() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut web = Svc::new("web");
    deployer.deploy(&web.stack()).await.expect("the Service");
    deployer.deploy(&shop(&[31000])).await.expect("the Ingress");

    web.ports = vec![(80, 32000)];
    deployer.deploy(&web.stack()).await.expect("the Service on another NodePort");
    assert_eq!(inventory(&cloud).node_rules, [31000, 32000]);
    assert!(path_open(&cloud, SHOP_LB, 31000), "{:?}", ours(&cloud));
    assert!(path_open(&cloud, "k8s-default-web-e", 32000));

    deployer.deploy(&Stack::empty(shop(&[31000]).id)).await.expect("the Ingress deleted");
    assert_eq!(inventory(&cloud).node_rules, [32000], "31000 went with its last user");
}

/// The fake answers at once, so two deploys joined in one task would run one after the other.
/// This layer yields before every call: joined deploys take turns call by call, and one started
/// a number of turns late meets the other at a different point for each number.
struct Interleaved(FakeCloud);

impl Layer for Interleaved {
    type Inner = FakeCloud;

    fn inner(&self) -> &FakeCloud {
        &self.0
    }

    async fn around<T: Send>(&self, _call: Call, mut attempt: impl Attempt<T>) -> CloudResult<T> {
        tokio::task::yield_now().await;
        attempt.run().await
    }
}

fn interleaved() -> (Arc<Interleaved>, Deployer) {
    let cloud = Arc::new(Interleaved(seeded()));
    let settings = DeploySettings {
        cluster_name: CLUSTER.into(),
        vpc_id: "vpc-1".into(),
        drift_period: Duration::from_secs(3600),
    };
    (cloud.clone(), Deployer::new(cloud, settings))
}

async fn late(offset: usize, deployer: &Deployer, stack: &Stack) -> Result<elbow_deploy::DeployOutcome, DeployError> {
    for _ in 0..offset {
        tokio::task::yield_now().await;
    }
    deployer.deploy(stack).await
}

#[tokio::test]
async fn two_stacks_deployed_at_once_share_the_rule_whichever_is_deleted_first() {
    for offset in -12..12_isize {
        for service_first in [true, false] {
            let context = format!("offset {offset}, service deleted first {service_first}");
            let (cloud, deployer) = interleaved();
            let web = Svc::new("web").stack();
            let shop = shop(&[31000]);
            let (a, b) = tokio::join!(
                late((-offset).max(0).unsigned_abs(), &deployer, &web),
                late(offset.max(0).unsigned_abs(), &deployer, &shop)
            );
            a.unwrap_or_else(|e| panic!("{context}: the Service: {e}"));
            b.unwrap_or_else(|e| panic!("{context}: the Ingress: {e}"));
            assert_eq!(ours(&cloud.0).len(), 1, "{context}: one rule for both");

            let (gone, survivor, survivor_lb) =
                if service_first { (&web, &shop, SHOP_LB) } else { (&shop, &web, "k8s-default-web-e") };
            deployer.deploy(&Stack::empty(gone.id.clone())).await.expect("one deleted");
            assert!(path_open(&cloud.0, survivor_lb, 31000), "{context}: {:?}", ours(&cloud.0));
            deployer.deploy(&Stack::empty(survivor.id.clone())).await.expect("the other deleted");
            assert_eq!(ours(&cloud.0), [], "{context}");
        }
    }
}

#[tokio::test]
async fn a_deletion_and_a_new_claim_on_the_same_rule_at_once_leave_the_new_user_with_its_path() {
    // Negative offsets hold the deletion back, positive ones the new Ingress.
    for offset in -24..24_isize {
        let (cloud, deployer) = interleaved();
        let web = Svc::new("web");
        deployer.deploy(&web.stack()).await.expect("the Service");
        let shop = shop(&[31000]);
        let web_gone = Stack::empty(web.id());
        let (a, b) = tokio::join!(
            late((-offset).max(0).unsigned_abs(), &deployer, &web_gone),
            late(offset.max(0).unsigned_abs(), &deployer, &shop)
        );
        a.unwrap_or_else(|e| panic!("offset {offset}: the Service deleted: {e}"));
        b.unwrap_or_else(|e| panic!("offset {offset}: the Ingress: {e}"));
        assert!(path_open(&cloud.0, SHOP_LB, 31000), "offset {offset}: {:?}", ours(&cloud.0));

        deployer.deploy(&Stack::empty(shop.id.clone())).await.expect("the Ingress deleted");
        let left = inventory(&cloud.0);
        assert_eq!((left.node_rules.len(), left.groups.len()), (0, 0), "offset {offset}: {left:?}");
    }
}

/// A node rule as Elbow made it before claims: the one stack that created it as its owner. An
/// identical need of another stack was then counted as satisfied and left no trace in the cloud.
async fn as_an_earlier_version_left_it(cloud: &FakeCloud, owner: &StackId) {
    for rule in ours(cloud) {
        let claims: Vec<String> = rule.tags.keys().filter(|k| k.starts_with(CLAIM_TAG_PREFIX)).cloned().collect();
        cloud.delete_tags(std::slice::from_ref(&rule.rule_id), &claims).await.expect("claims dropped");
        let owned = Tags::from([(STACK_TAG.to_string(), owner.as_str().to_string())]);
        cloud.create_tags(std::slice::from_ref(&rule.rule_id), &owned).await.expect("owner set");
    }
}

#[tokio::test]
async fn a_rule_of_an_earlier_version_is_adopted_and_revoked_by_its_last_user() {
    let cloud = cloud();
    let web = Svc::new("web");
    deployer(&cloud).deploy(&web.stack()).await.expect("the Service");
    as_an_earlier_version_left_it(&cloud, &web.id()).await;
    let old_rule = ours(&cloud).remove(0);

    let upgraded = deployer(&cloud);
    cloud.counter().reset();
    upgraded.deploy(&web.stack()).await.expect("the Service after the upgrade");
    assert_eq!(cloud.counter().mutating(), 0, "its rule is its own: {:?}", cloud.counter().snapshot());
    upgraded.deploy(&shop(&[31000])).await.expect("the Ingress after the upgrade");
    assert_eq!(ours(&cloud).iter().map(|r| &r.rule_id).collect::<Vec<_>>(), [&old_rule.rule_id], "the same rule");

    deployer(&cloud).deploy(&Stack::empty(web.id())).await.expect("the old owner deleted");
    assert!(path_open(&cloud, SHOP_LB, 31000), "{:?}", ours(&cloud));
    let kept = ours(&cloud).remove(0);
    assert_eq!(kept.tags.get(STACK_TAG).map(String::as_str), Some("_shared"), "no longer the old owner's");

    deployer(&cloud).deploy(&Stack::empty(shop(&[31000]).id)).await.expect("the last user deleted");
    assert_eq!(ours(&cloud), [], "not leaked");
    assert_eq!(inventory(&cloud).groups, Vec::<String>::new());

    // One that only its owner used goes with the owner.
    deployer(&cloud).deploy(&web.stack()).await.expect("the Service again");
    as_an_earlier_version_left_it(&cloud, &web.id()).await;
    deployer(&cloud).deploy(&Stack::empty(web.id())).await.expect("deleted after the upgrade");
    let left = inventory(&cloud);
    assert_eq!((left.node_rules.len(), left.groups.len()), (0, 0), "{left:?}");
}

#[tokio::test]
async fn a_rule_of_ours_that_lost_every_claim_is_revoked_by_the_next_release_in_its_group() {
    let cloud = cloud();
    let first = deployer(&cloud);
    let web = Svc::new("web");
    first.deploy(&web.stack()).await.expect("the Service");
    let mut api = Svc::new("api");
    api.ports = vec![(80, 31500)];
    first.deploy(&api.stack()).await.expect("another Service");
    // Someone strips web's claim by hand: the rule is Elbow's, and nobody's.
    let stray = ours(&cloud).into_iter().find(|r| r.rule.from_port == 31000).expect("web's rule");
    let claims: Vec<String> = stray.tags.keys().filter(|k| k.starts_with(CLAIM_TAG_PREFIX)).cloned().collect();
    cloud.delete_tags(std::slice::from_ref(&stray.rule_id), &claims).await.expect("claim stripped");

    // A restarted deployer reads the group's rules before it releases anything.
    deployer(&cloud).deploy(&Stack::empty(api.id())).await.expect("the other Service deleted");
    assert_eq!(inventory(&cloud).node_rules, Vec::<u16>::new(), "the unclaimed rule went too");
}

#[tokio::test]
async fn at_most_47_stacks_share_a_rule_and_the_48th_is_told_so() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let services: Vec<Svc> = (0..48).map(|i| Svc::new(Box::leak(format!("s{i}").into_boxed_str()))).collect();
    for svc in &services[..47] {
        deployer.deploy(&svc.stack()).await.unwrap_or_else(|e| panic!("{}: {e}", svc.name));
    }
    let error = deployer.deploy(&services[47].stack()).await.expect_err("no room for a 48th claim");
    assert!(!error.is_retryable(), "{error}");
    let source = std::error::Error::source(&error).expect("the cloud's error").to_string();
    assert!(source.contains("TagLimitExceeded"), "{source}");
    assert!(path_open(&cloud, "k8s-default-s0-e", 31000), "the others are undisturbed");

    deployer.deploy(&Stack::empty(services[0].id())).await.expect("one deleted");
    deployer.deploy(&services[47].stack()).await.expect("room for the 48th");
    assert_eq!(cloud.counter().count(Api::RevokeSecurityGroupIngress), 0, "the rule stayed throughout");
}

#[tokio::test]
async fn a_lost_answer_while_claiming_or_releasing_is_read_again_not_guessed() {
    for api in [Api::CreateTags, Api::DeleteTags] {
        let cloud = cloud();
        let deployer = deployer(&cloud);
        let web = Svc::new("web");
        deployer.deploy(&web.stack()).await.expect("the Service");
        let shop = shop(&[31000]);
        if api == Api::DeleteTags {
            deployer.deploy(&shop).await.expect("the Ingress");
        }
        cloud.inject(elbow_fake::Failure::on(api, CloudErrorKind::Timeout).landed());
        let changed = if api == Api::CreateTags { shop.clone() } else { Stack::empty(web.id()) };
        let error = deployer.deploy(&changed).await.expect_err("the answer was lost");
        assert!(error.is_retryable(), "{api}: {error}");
        cloud.clear_failures();
        deployer.deploy(&changed).await.unwrap_or_else(|e| panic!("{api}: the retry: {e}"));
        assert!(path_open(&cloud, SHOP_LB, 31000), "{api}: {:?}", ours(&cloud));

        deployer.deploy(&Stack::empty(web.id())).await.expect("the Service deleted");
        deployer.deploy(&Stack::empty(shop.id.clone())).await.expect("the Ingress deleted");
        assert_eq!(ours(&cloud), [], "{api}");
    }
}

#[tokio::test]
async fn a_claim_on_a_rule_revoked_behind_the_deployers_back_makes_the_rule_again() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&Svc::new("web").stack()).await.expect("the Service");
    let rule = ours(&cloud).remove(0);
    cloud.revoke_security_group_ingress(NODE_GROUP, std::slice::from_ref(&rule.rule_id)).await.expect("by hand");

    deployer.deploy(&shop(&[31000])).await.expect("the Ingress, in one attempt");
    assert!(path_open(&cloud, SHOP_LB, 31000), "{:?}", ours(&cloud));
}

#[tokio::test]
async fn a_release_reads_the_claims_afresh_whatever_another_deployer_did_meanwhile() {
    let cloud = cloud();
    let first = deployer(&cloud);
    let web = Svc::new("web");
    first.deploy(&web.stack()).await.expect("the Service");
    first.deploy(&shop(&[31000])).await.expect("the Ingress");
    // Another process (a restart's) deletes the Service behind the first deployer's back.
    deployer(&cloud).deploy(&Stack::empty(web.id())).await.expect("the Service deleted elsewhere");

    first.deploy(&Stack::empty(shop(&[31000]).id)).await.expect("the Ingress deleted");
    assert_eq!(ours(&cloud), [], "the last claim went, and the rule with it");
}
