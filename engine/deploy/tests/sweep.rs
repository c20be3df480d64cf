//! The orphan sweep against the in-memory fake cloud: an orphaned stack goes whole (load
//! balancer, listeners, target groups, security groups, its share of the node port range) while owned
//! stacks, young stacks, another cluster's and foreign resources stay; report mode changes
//! nothing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use elbow_cloud::{Api, Cloud, CloudErrorKind, CreateLoadBalancer, CreateTargetGroup, SecurityGroup};
use elbow_deploy::sweep::{OrphanAction, OrphanSweeper, OwnerState, Owners, SweepMode, SweepReport, SweepSettings};
use elbow_fake::{Failure, FakeCloud};
use elbow_model::tags::{CLUSTER_TAG, ownership_tags};
use elbow_model::*;

mod support;

use support::*;

const HOUR: Duration = Duration::from_secs(3600);

/// Owners as a test decides them: every key answers `Gone` unless set otherwise; a script of
/// answers for the calls after the first (the looks just before each deletion).
#[derive(Default)]
struct TestOwners {
    states: Mutex<HashMap<StackId, OwnerState>>,
    /// Answers given, in turn, to the calls after the first.
    second_looks: Mutex<Vec<OwnerState>>,
    calls: Mutex<Vec<Vec<StackId>>>,
}

impl TestOwners {
    fn owned(stacks: &[&StackId]) -> Self {
        let owners = Self::default();
        for stack in stacks {
            owners.set(stack, OwnerState::Owned);
        }
        owners
    }

    fn set(&self, stack: &StackId, state: OwnerState) {
        self.states.lock().unwrap().insert(stack.clone(), state);
    }
}

impl Owners for TestOwners {
    type Error = Infallible;

    fn owners(
        &self,
        stacks: &[StackId],
    ) -> impl Future<Output = Result<HashMap<StackId, OwnerState>, Self::Error>> + Send {
        let mut calls = self.calls.lock().unwrap();
        calls.push(stacks.to_vec());
        let scripted = if calls.len() > 1 { self.second_looks.lock().unwrap().pop() } else { None };
        let states = self.states.lock().unwrap();
        let answer: HashMap<StackId, OwnerState> = stacks
            .iter()
            .filter(|s| states.get(*s) != Some(&OwnerState::Unrecognised))
            .map(|s| (s.clone(), scripted.unwrap_or_else(|| states.get(s).copied().unwrap_or(OwnerState::Gone))))
            .collect();
        std::future::ready(Ok(answer))
    }
}

fn settings(mode: SweepMode, grace: Duration) -> SweepSettings {
    SweepSettings { mode, grace }
}

fn action_of<'a>(report: &'a SweepReport, stack: &StackId) -> &'a OrphanAction {
    &report.orphans.iter().find(|o| &o.stack == stack).unwrap_or_else(|| panic!("{stack} in {report:?}")).action
}

fn later(by: Duration) -> SystemTime {
    SystemTime::now() + by
}

/// The Ingress-shaped stack `shop` sending traffic to NodePort 31000, as the Service `web` does.
fn shop() -> Stack {
    alb_stack("shop", &[31000], &[])
}

#[tokio::test]
async fn an_orphaned_stack_goes_whole_and_the_owned_stack_sharing_its_node_rule_keeps_it() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut web = Svc::new("web");
    web.ports = vec![(80, 31000), (443, 31001)];
    deployer.deploy(&web.stack()).await.unwrap();
    deployer.deploy(&shop()).await.unwrap();
    let before = inventory(&cloud);
    assert_eq!(before.node_rules, [(31000, 31001)], "one range for both stacks' ports");
    assert_eq!(before.listeners.len(), 3);
    let owners = TestOwners::owned(&[&shop().id]);

    let report = OrphanSweeper::new()
        .sweep(&deployer, &owners, &settings(SweepMode::Delete, HOUR), later(2 * HOUR))
        .await
        .unwrap();

    assert_eq!(report.orphans.len(), 1, "{report:?}");
    let orphan = &report.orphans[0];
    assert_eq!(orphan.stack, web.id());
    assert_eq!(orphan.resources.load_balancers, ["k8s-default-web-e"]);
    assert_eq!(orphan.resources.target_groups, ["k8s-default-web-31000", "k8s-default-web-31001"]);
    assert_eq!(orphan.resources.security_groups.len(), 1, "its frontend group");
    assert_eq!(orphan.resources.node_rule_claims.len(), 0, "the range rule belongs to no stack");
    let OrphanAction::Deleted { changes } = &orphan.action else { panic!("{:?}", orphan.action) };
    // Its listeners go with the load balancer, without a call of their own.
    assert_eq!(
        changes.to_string(),
        "created 1 node rule; deleted 1 load balancer, 2 target groups, 1 security group, 1 node rule",
        "the range narrowed to shop's port"
    );
    assert_eq!(report.owned, 1);

    let after = inventory(&cloud);
    assert_eq!(after.load_balancers, ["k8s-shop-alb"], "web's load balancer is gone, shop's stays");
    assert_eq!(after.listeners, [("k8s-shop-alb".to_string(), 80)]);
    assert_eq!(after.target_groups.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["k8s-shop-31000"]);
    assert_eq!(after.groups, [backend(), "k8s-shop-fe".to_string()], "web's frontend group is gone");
    assert_eq!(after.node_rules, [(31000, 31000)], "the port only web needed is no longer open; shop's is");
    assert!(admitted(&cloud, 31000));

    // Nothing else to do: a second sweep finds no orphan and calls nothing that changes anything.
    cloud.counter().reset();
    let again = OrphanSweeper::new()
        .sweep(&deployer, &owners, &settings(SweepMode::Delete, HOUR), later(2 * HOUR))
        .await
        .unwrap();
    assert!(again.orphans.is_empty(), "{again:?}");
    assert_eq!(cloud.counter().mutating(), 0);
}

#[tokio::test]
async fn the_last_orphan_takes_the_shared_backend_group_with_it() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&Svc::new("web").stack()).await.unwrap();
    let report = OrphanSweeper::new()
        .sweep(&deployer, &TestOwners::default(), &settings(SweepMode::Delete, HOUR), later(2 * HOUR))
        .await
        .unwrap();
    assert!(matches!(action_of(&report, &Svc::new("web").id()), OrphanAction::Deleted { .. }), "{report:?}");
    let left = inventory(&cloud);
    assert!(left.load_balancers.is_empty() && left.target_groups.is_empty() && left.node_rules.is_empty(), "{left:?}");
    assert!(left.groups.is_empty(), "nothing of Elbow's outlives its last load balancer: {left:?}");
}

#[tokio::test]
async fn a_stack_whose_load_balancer_is_younger_than_the_grace_period_is_left() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let web = Svc::new("web");
    deployer.deploy(&web.stack()).await.unwrap();
    let before = inventory(&cloud);
    cloud.counter().reset();

    let report = OrphanSweeper::new()
        .sweep(&deployer, &TestOwners::default(), &settings(SweepMode::Delete, HOUR), later(Duration::from_secs(600)))
        .await
        .unwrap();

    let OrphanAction::Waiting { remaining } = action_of(&report, &web.id()) else { panic!("{report:?}") };
    assert!(*remaining > Duration::from_secs(2900) && *remaining <= Duration::from_secs(3000), "{remaining:?}");
    assert_eq!(cloud.counter().mutating(), 0);
    assert_eq!(inventory(&cloud), before);
}

/// A stack without a load balancer (target groups and a security group left by an interrupted
/// deletion, say) has no creation time in AWS: only sweeps that found it orphaned for the grace
/// period, without a break, let it go.
#[tokio::test]
async fn a_stack_without_a_load_balancer_is_swept_after_sweeps_spanning_the_grace_period() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let web = Svc::new("web");
    let mut leftovers = web.stack();
    leftovers.load_balancers.clear();
    leftovers.listeners.clear();
    deployer.deploy(&leftovers).await.unwrap();
    assert!(inventory(&cloud).load_balancers.is_empty());
    let owners = TestOwners::default();
    let delete = settings(SweepMode::Delete, HOUR);
    let t0 = SystemTime::now();

    let mut sweeper = OrphanSweeper::new();
    let first = sweeper.sweep(&deployer, &owners, &delete, t0).await.unwrap();
    assert!(matches!(action_of(&first, &web.id()), OrphanAction::Waiting { .. }), "{first:?}");
    assert!(first.orphans[0].newly_found);
    let second = sweeper.sweep(&deployer, &owners, &delete, t0 + HOUR / 2).await.unwrap();
    assert!(matches!(action_of(&second, &web.id()), OrphanAction::Waiting { .. }), "{second:?}");
    assert!(!second.orphans[0].newly_found, "found once, counted once");

    // Its owner back for one sweep: the clock starts again.
    owners.set(&web.id(), OwnerState::Owned);
    let owned = sweeper.sweep(&deployer, &owners, &delete, t0 + HOUR * 3 / 4).await.unwrap();
    assert!(owned.orphans.is_empty() && owned.owned == 1, "{owned:?}");
    owners.set(&web.id(), OwnerState::Gone);
    let third = sweeper.sweep(&deployer, &owners, &delete, t0 + HOUR).await.unwrap();
    assert!(matches!(action_of(&third, &web.id()), OrphanAction::Waiting { .. }), "{third:?}");
    assert_eq!(inventory(&cloud).target_groups.len(), 1, "still there");

    // A one-shot sweep has no memory: it waits too, however old the stack is.
    let one_shot = OrphanSweeper::new().sweep(&deployer, &owners, &delete, t0 + 10 * HOUR).await.unwrap();
    assert!(matches!(action_of(&one_shot, &web.id()), OrphanAction::Waiting { .. }), "{one_shot:?}");

    let fourth = sweeper.sweep(&deployer, &owners, &delete, t0 + HOUR * 2).await.unwrap();
    assert!(matches!(action_of(&fourth, &web.id()), OrphanAction::Deleted { .. }), "{fourth:?}");
    let left = inventory(&cloud);
    assert!(left.target_groups.is_empty() && left.groups.is_empty() && left.node_rules.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_zero_grace_period_sweeps_a_stack_without_a_load_balancer_at_once() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut leftovers = Svc::new("web").stack();
    leftovers.load_balancers.clear();
    leftovers.listeners.clear();
    deployer.deploy(&leftovers).await.unwrap();
    let report = OrphanSweeper::new()
        .sweep(&deployer, &TestOwners::default(), &settings(SweepMode::Delete, Duration::ZERO), SystemTime::now())
        .await
        .unwrap();
    assert!(matches!(action_of(&report, &leftovers.id), OrphanAction::Deleted { .. }), "{report:?}");
    assert!(inventory(&cloud).target_groups.is_empty());
}

fn lb(name: &str, tags: Tags) -> CreateLoadBalancer {
    CreateLoadBalancer {
        name: name.into(),
        lb_type: LoadBalancerType::Network,
        scheme: Scheme::Internal,
        ip_address_type: IpAddressType::Ipv4,
        subnets: vec!["subnet-a".into()],
        subnet_addresses: Vec::new(),
        security_groups: vec![],
        tags,
    }
}

/// Resources that are not this cluster's: another cluster's, with Elbow's tags, and someone
/// else's, with none or with only Elbow's stack tag.
fn seed_strangers(cloud: &FakeCloud) {
    let other = StackId::new("default/web");
    let other_tags = |resource: &str| ownership_tags("other-cluster", &other, &ResourceId::new(resource));
    cloud.seed_load_balancer(lb("k8s-default-web-other", other_tags("LoadBalancer"))).unwrap();
    cloud.seed_load_balancer(lb("hand-made", Tags::from([("team".to_string(), "payments".to_string())]))).unwrap();
    let mut half = ownership_tags(CLUSTER, &other, &ResourceId::new("LoadBalancer"));
    half.remove(CLUSTER_TAG);
    cloud.seed_load_balancer(lb("stack-tag-only", half)).unwrap();
    cloud
        .seed_target_group(CreateTargetGroup {
            name: "tg-other-cluster".into(),
            target_type: TargetType::Instance,
            protocol: Protocol::Tcp,
            port: 30000,
            protocol_version: None,
            vpc_id: "vpc-1".into(),
            ip_address_type: IpAddressType::Ipv4,
            health_check: Svc::new("x").stack().target_groups[0].health_check.clone(),
            tags: other_tags("TargetGroup/TCP-80"),
        })
        .unwrap();
    cloud.seed_security_group(SecurityGroup {
        id: "sg-other-cluster".into(),
        group_name: "k8s-other-web-fe".into(),
        description: "another cluster's".into(),
        vpc_id: "vpc-1".into(),
        tags: other_tags("SecurityGroup/frontend"),
    });
}

#[tokio::test]
async fn another_cluster_s_and_foreign_resources_are_never_listed_or_touched() {
    let cloud = cloud();
    seed_strangers(&cloud);
    let deployer = deployer(&cloud);
    let names = |cloud: &FakeCloud| {
        let mut names: Vec<String> = cloud.load_balancers().into_iter().map(|lb| lb.name).collect();
        names.sort();
        (names, cloud.target_groups().len(), cloud.security_groups().len())
    };
    let before = names(&cloud);
    cloud.counter().reset();

    // Owners that disown everything, with no grace: the worst case for a stranger.
    let report = OrphanSweeper::new()
        .sweep(&deployer, &TestOwners::default(), &settings(SweepMode::Delete, Duration::ZERO), later(100 * HOUR))
        .await
        .unwrap();

    assert!(report.orphans.is_empty() && report.owned == 0 && report.unrecognised.is_empty(), "{report:?}");
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());
    assert_eq!(names(&cloud), before);
    assert_eq!(before.0, ["hand-made", "k8s-default-web-other", "stack-tag-only"]);
}

#[tokio::test]
async fn among_strangers_only_this_cluster_s_orphan_goes() {
    let cloud = cloud();
    seed_strangers(&cloud);
    let deployer = deployer(&cloud);
    deployer.deploy(&Svc::new("web").stack()).await.unwrap();
    let report = OrphanSweeper::new()
        .sweep(&deployer, &TestOwners::default(), &settings(SweepMode::Delete, HOUR), later(2 * HOUR))
        .await
        .unwrap();
    assert_eq!(report.orphans.len(), 1, "{report:?}");
    let mut names: Vec<String> = cloud.load_balancers().into_iter().map(|lb| lb.name).collect();
    names.sort();
    assert_eq!(
        names,
        ["hand-made", "k8s-default-web-other", "stack-tag-only"],
        "the same key in another cluster stays"
    );
    assert!(cloud.security_groups().iter().any(|g| g.id == "sg-other-cluster"));
    assert!(cloud.target_groups().iter().any(|tg| tg.name == "tg-other-cluster"));
}

#[tokio::test]
async fn report_mode_finds_the_orphan_and_changes_nothing() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let web = Svc::new("web");
    deployer.deploy(&web.stack()).await.unwrap();
    let before = inventory(&cloud);
    cloud.counter().reset();

    let report = OrphanSweeper::new()
        .sweep(&deployer, &TestOwners::default(), &settings(SweepMode::Report, HOUR), later(2 * HOUR))
        .await
        .unwrap();

    assert_eq!(action_of(&report, &web.id()), &OrphanAction::Reported);
    assert_eq!(report.left().count(), 1);
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());
    assert_eq!(inventory(&cloud), before);
}

#[tokio::test]
async fn an_owner_back_just_before_the_deletion_keeps_its_stack() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let web = Svc::new("web");
    deployer.deploy(&web.stack()).await.unwrap();
    let owners = TestOwners::default();
    owners.second_looks.lock().unwrap().push(OwnerState::Owned);
    let before = inventory(&cloud);

    let report = OrphanSweeper::new()
        .sweep(&deployer, &owners, &settings(SweepMode::Delete, HOUR), later(2 * HOUR))
        .await
        .unwrap();

    assert_eq!(action_of(&report, &web.id()), &OrphanAction::OwnerReturned);
    assert_eq!(report.left().count(), 0, "an owned stack is no orphan left behind");
    assert_eq!(inventory(&cloud), before);
    let calls = owners.calls.lock().unwrap();
    assert_eq!(*calls, [vec![web.id()], vec![web.id()]], "asked after the listing, and again before deleting");
}

#[tokio::test]
async fn a_stack_key_the_owners_do_not_recognise_is_kept() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let web = Svc::new("web");
    deployer.deploy(&web.stack()).await.unwrap();
    let owners = TestOwners::default();
    owners.set(&web.id(), OwnerState::Unrecognised);
    let before = inventory(&cloud);
    let report = OrphanSweeper::new()
        .sweep(&deployer, &owners, &settings(SweepMode::Delete, Duration::ZERO), later(2 * HOUR))
        .await
        .unwrap();
    assert!(report.orphans.is_empty());
    assert_eq!(report.unrecognised, [web.id()]);
    assert_eq!(inventory(&cloud), before);
}

/// A deployer that last saw the orphan's stack empty (its own index built before the orphan's
/// resources existed, or its last deploy of that stack a deletion) still deletes what the sweep
/// listed: the sweep's listing becomes its index.
#[tokio::test]
async fn the_sweep_deletes_what_it_listed_even_when_its_deployer_knew_the_stack_empty() {
    let cloud = cloud();
    let web = Svc::new("web");
    let sweeping = deployer(&cloud);
    sweeping.deploy(&Svc::new("first").stack()).await.unwrap();
    sweeping.deploy(&Stack::empty(web.id())).await.unwrap();
    // Another process (an earlier replica) creates web's stack; the sweeping deployer's index
    // and memory know nothing of it.
    deployer(&cloud).deploy(&web.stack()).await.unwrap();
    let owners = TestOwners::owned(&[&Svc::new("first").id()]);

    let report = OrphanSweeper::new()
        .sweep(&sweeping, &owners, &settings(SweepMode::Delete, HOUR), later(2 * HOUR))
        .await
        .unwrap();

    assert!(matches!(action_of(&report, &web.id()), OrphanAction::Deleted { .. }), "{report:?}");
    assert_eq!(inventory(&cloud).load_balancers, ["k8s-default-first-e"]);
}

/// The shared backend group outlives every stack when its deletion failed (AWS holds a group for
/// minutes after a network load balancer goes) and the deployer that tried is gone. Once no
/// stack is left, the sweep finds it, waits out the grace period on its own clock (a group has no
/// creation time) and deletes it.
#[tokio::test]
async fn a_backend_group_left_without_any_stack_is_swept_after_the_grace_period() {
    let cloud = cloud();
    let web = Svc::new("web");
    let first = deployer(&cloud);
    first.deploy(&web.stack()).await.unwrap();
    // The frontend group's deletion goes through; the backend group's is refused.
    cloud.inject(Failure::on(Api::DeleteSecurityGroup, CloudErrorKind::InUse).after(1));
    first.deploy(&Stack::empty(web.id())).await.expect_err("the backend group is still in use");
    cloud.clear_failures();
    assert_eq!(inventory(&cloud).groups, [backend()], "nothing left but the backend group");

    let restarted = deployer(&cloud);
    let owners = TestOwners::default();
    let delete = settings(SweepMode::Delete, HOUR);
    let t0 = SystemTime::now();
    let mut sweeper = OrphanSweeper::new();
    let first_sweep = sweeper.sweep(&restarted, &owners, &delete, t0).await.unwrap();
    let shared = StackId::new(elbow_deploy::shared::SHARED_STACK);
    assert!(matches!(action_of(&first_sweep, &shared), OrphanAction::Waiting { .. }), "{first_sweep:?}");
    assert!(first_sweep.orphans[0].resources.security_groups[0].contains("shared backend group"));
    assert!(owners.calls.lock().unwrap().is_empty(), "no owner to ask about");
    let later_sweep = sweeper.sweep(&restarted, &owners, &delete, t0 + HOUR).await.unwrap();
    assert!(matches!(action_of(&later_sweep, &shared), OrphanAction::Deleted { .. }), "{later_sweep:?}");
    assert!(inventory(&cloud).groups.is_empty());
}

/// A range rule outlives every stack when the resources that needed it were removed by hand
/// (and the process that would have narrowed it is gone): the sweep lists it with the backend
/// group, and deletes the rule first, since it names the group.
#[tokio::test]
async fn a_node_port_range_left_without_any_stack_is_swept_with_the_backend_group() {
    let cloud = cloud();
    let web = Svc::new("web");
    deployer(&cloud).deploy(&web.stack()).await.unwrap();
    for lb in cloud.load_balancers() {
        cloud.delete_load_balancer(&lb.arn).await.unwrap();
    }
    for tg in cloud.target_groups() {
        cloud.delete_target_group(&tg.arn).await.unwrap();
    }
    let frontend = cloud.security_groups().into_iter().find(|g| g.group_name == "k8s-default-web-fe").unwrap();
    cloud.delete_security_group(&frontend.id).await.unwrap();
    assert_eq!(inventory(&cloud).node_rules, [(31000, 31000)]);

    let restarted = deployer(&cloud);
    let report = OrphanSweeper::new()
        .sweep(&restarted, &TestOwners::default(), &settings(SweepMode::Report, HOUR), SystemTime::now())
        .await
        .unwrap();
    let shared = StackId::new(elbow_deploy::shared::SHARED_STACK);
    let orphan = report.orphans.iter().find(|o| o.stack == shared).expect("the shared resources");
    assert_eq!(orphan.resources.node_rules.len(), 1, "{orphan:?}");
    assert!(orphan.resources.node_rules[0].contains("tcp 31000-31000"), "{orphan:?}");
    assert_eq!(orphan.resources.security_groups.len(), 1);

    let report = OrphanSweeper::new()
        .sweep(&restarted, &TestOwners::default(), &settings(SweepMode::Delete, Duration::ZERO), SystemTime::now())
        .await
        .unwrap();
    let OrphanAction::Deleted { changes } = action_of(&report, &shared) else { panic!("{report:?}") };
    assert_eq!(changes.to_string(), "deleted 1 security group, 1 node rule");
    let left = inventory(&cloud);
    assert!(left.node_rules.is_empty() && left.groups.is_empty(), "{left:?}");
}

#[tokio::test]
async fn the_backend_group_is_no_orphan_while_any_stack_is_left() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&Svc::new("web").stack()).await.unwrap();
    let owners = TestOwners::owned(&[&Svc::new("web").id()]);
    let report = OrphanSweeper::new()
        .sweep(&deployer, &owners, &settings(SweepMode::Delete, Duration::ZERO), later(2 * HOUR))
        .await
        .unwrap();
    assert!(report.orphans.is_empty(), "{report:?}");
    assert!(inventory(&cloud).groups.contains(&backend()));
}
