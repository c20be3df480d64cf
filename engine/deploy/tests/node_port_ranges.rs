//! The node group admits the cluster's backend group through one rule per ip protocol spanning
//! the ports the stacks' load balancers need (their records). Whatever happens (many stacks, two
//! deploys at once, a restart, another process, rules of an earlier version, rules that are not
//! Elbow's) a stack that stays keeps its ports open after every single call, EC2's quota of 60
//! rules per group is never in the way, and the last stack takes the rule with it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use elbow_cloud::{Api, Attempt, Call, Cloud, CloudErrorKind, CloudResult, Layer, NewIngressRule};
use elbow_deploy::{DeployError, DeploySettings, Deployer};
use elbow_fake::FakeCloud;
use elbow_model::tags::{CLAIM_TAG_PREFIX, CLUSTER_TAG, NODE_PORTS_TAG, ownership_tags};
use elbow_model::*;
use sha2::{Digest, Sha256};

mod support;

use support::*;

/// The Ingress-shaped stack `shop`, whose application load balancer forwards to `ports`.
fn shop(ports: &[u16]) -> Stack {
    alb_stack("shop", ports, &[])
}

/// A Service named `name` on NodePort `port`.
fn svc(name: &str, port: u16) -> Svc {
    let mut svc = Svc::new(Box::leak(name.to_string().into_boxed_str()));
    svc.ports = vec![(80, port)];
    svc
}

/// Our rules on the node group.
fn ours(cloud: &FakeCloud) -> Vec<elbow_cloud::SecurityGroupRule> {
    cloud
        .security_group_rules(NODE_GROUP)
        .into_iter()
        .filter(|r| r.tags.get(CLUSTER_TAG).map(String::as_str) == Some(CLUSTER))
        .collect()
}

fn settings() -> DeploySettings {
    DeploySettings {
        cluster_name: CLUSTER.into(),
        vpc_id: "vpc-1".into(),
        drift_period: Duration::from_secs(3600),
        integrations: elbow_deploy::Integrations::all(),
    }
}

/// The fake, checking after every call that could change a security group's rules (EC2's
/// mutating calls) that each port in `open` is admitted to the backend group; what it found
/// closed, and after which call, is in `closed`.
struct Watched {
    cloud: FakeCloud,
    open: Mutex<Vec<u16>>,
    closed: Mutex<Vec<String>>,
    /// Calls that changed the node group's rules.
    node_rule_calls: AtomicU64,
}

impl Watched {
    fn new(cloud: FakeCloud) -> Arc<Watched> {
        Arc::new(Watched {
            cloud,
            open: Mutex::new(Vec::new()),
            closed: Mutex::new(Vec::new()),
            node_rule_calls: AtomicU64::new(0),
        })
    }

    fn keep_open(&self, ports: impl IntoIterator<Item = u16>) {
        *self.open.lock().unwrap() = ports.into_iter().collect();
    }

    fn closed(&self) -> Vec<String> {
        self.closed.lock().unwrap().clone()
    }

    /// Calls that changed the node group's rules since the last time this was asked.
    fn take_node_rule_calls(&self) -> u64 {
        self.node_rule_calls.swap(0, Ordering::SeqCst)
    }
}

impl Layer for Watched {
    type Inner = FakeCloud;

    fn inner(&self) -> &FakeCloud {
        &self.cloud
    }

    async fn around<T: Send>(&self, call: Call, mut attempt: impl Attempt<T>) -> CloudResult<T> {
        // Only EC2's changes can change a security group's rules: the rest need no look.
        if !(call.api.is_mutating() && call.api.iam_action().starts_with("ec2:")) {
            return attempt.run().await;
        }
        let before = self.cloud.security_group_rules(NODE_GROUP);
        let result = attempt.run().await;
        if self.cloud.security_group_rules(NODE_GROUP) != before {
            self.node_rule_calls.fetch_add(1, Ordering::SeqCst);
        }
        let open = self.open.lock().unwrap().clone();
        for port in open {
            if !admitted(&self.cloud, port) {
                self.closed.lock().unwrap().push(format!("{port} after {}", call.api));
            }
        }
        result
    }
}

fn watched_deployer(watched: &Arc<Watched>) -> Deployer {
    Deployer::new(watched.clone(), settings())
}

/// A fixed shuffle of 0..n (a linear congruential walk), so that ports come in no order.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    order
}

#[tokio::test]
async fn a_hundred_services_on_their_own_node_ports_fit_one_rule_and_keep_their_paths_while_others_go() {
    let watched = Watched::new(seeded());
    let deployer = watched_deployer(&watched);
    let ports: Vec<u16> = shuffled(100, 7).into_iter().map(|i| 30000 + 17 * i as u16).collect();
    let services: Vec<Svc> = ports.iter().enumerate().map(|(i, port)| svc(&format!("s{i}"), *port)).collect();
    let mut open = Vec::new();
    for svc in &services {
        watched.keep_open(open.clone());
        deployer.deploy(&svc.stack()).await.unwrap_or_else(|e| panic!("{}: {e}", svc.name));
        open.push(svc.ports[0].1);
    }
    let (low, high) = (*ports.iter().min().unwrap(), *ports.iter().max().unwrap());
    assert_eq!(inventory(&watched.cloud).node_rules, [(low, high)], "one rule, under EC2's 60 (the fake's default)");
    assert!(ports.iter().all(|p| admitted(&watched.cloud, *p)));
    let creating = watched.take_node_rule_calls();
    println!("100 Services in random NodePort order: {creating} node-rule calls (one per port would be 100)");
    assert!(creating <= 30, "the range changes only when a port falls outside it: {creating} calls");

    // Deleted in another order, each one's going leaves every other path open after every call.
    watched.cloud.counter().reset();
    for index in shuffled(100, 11) {
        open.retain(|p| *p != ports[index]);
        watched.keep_open(open.clone());
        deployer.deploy(&Stack::empty(services[index].id())).await.unwrap_or_else(|e| panic!("s{index}: {e}"));
        if let (Some(low), Some(high)) = (open.iter().min(), open.iter().max()) {
            assert_eq!(inventory(&watched.cloud).node_rules, [(*low, *high)], "narrowed to who is left");
        }
    }
    assert_eq!(watched.closed(), Vec::<String>::new(), "a remaining Service's port was closed");
    let left = inventory(&watched.cloud);
    assert_eq!((left.node_rules.len(), left.groups.len()), (0, 0), "{left:?}");
    let reads = watched.cloud.counter().count(Api::DescribeLoadBalancers);
    let deleting = watched.take_node_rule_calls();
    println!("deleting them: {deleting} node-rule calls, {reads} reads of the records before narrowing");
    assert!(reads <= 30, "the records are read again only to narrow: {reads}");
}

#[tokio::test]
async fn more_stacks_than_a_rule_could_carry_claims_for_share_one_port() {
    let watched = Watched::new(seeded());
    let cloud = &watched.cloud;
    let deployer = watched_deployer(&watched);
    let services: Vec<Svc> = (0..60).map(|i| svc(&format!("s{i}"), 31000)).collect();
    for svc in &services {
        deployer.deploy(&svc.stack()).await.unwrap_or_else(|e| panic!("{}: {e}", svc.name));
    }
    assert_eq!(inventory(cloud).node_rules, [(31000, 31000)]);
    assert_eq!(watched.take_node_rule_calls(), 1, "one authorize for all of them");
    for svc in &services[..59] {
        deployer.deploy(&Stack::empty(svc.id())).await.unwrap();
        assert!(admitted(cloud, 31000), "the others still need it");
    }
    deployer.deploy(&Stack::empty(services[59].id())).await.unwrap();
    assert_eq!(ours(cloud), [], "the last one takes it");
}

#[tokio::test]
async fn a_node_port_two_stacks_share_stays_until_the_last_of_them_is_deleted() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let web = Svc::new("web");
    deployer.deploy(&web.stack()).await.expect("the Service");
    deployer.deploy(&shop(&[31000])).await.expect("an Ingress routing to the same NodePort");
    assert_eq!(inventory(&cloud).node_rules, [(31000, 31000)], "one rule serves both");

    deployer.deploy(&Stack::empty(web.id())).await.expect("the Service deleted");
    assert!(admitted(&cloud, 31000), "the Ingress's path is open: {:?}", ours(&cloud));

    deployer.deploy(&Stack::empty(shop(&[31000]).id)).await.expect("the Ingress deleted");
    let left = inventory(&cloud);
    assert_eq!(left.node_rules, [], "the last user takes the rule with it");
    assert_eq!(left.groups, Vec::<String>::new(), "and the backend group");
}

#[tokio::test]
async fn needs_are_read_back_from_the_load_balancers_by_a_restarted_deployer() {
    let cloud = cloud();
    let web = svc("web", 31000);
    deployer(&cloud).deploy(&web.stack()).await.expect("the Service");
    deployer(&cloud).deploy(&shop(&[32000])).await.expect("the Ingress, after a restart");
    assert_eq!(inventory(&cloud).node_rules, [(31000, 32000)]);
    let lb = cloud.load_balancers().into_iter().find(|lb| lb.name == "k8s-shop-alb").unwrap();
    assert_eq!(cloud.tags(&lb.arn).get(NODE_PORTS_TAG).map(String::as_str), Some("sg-nodes:tcp:32000-32000"));

    deployer(&cloud).deploy(&Stack::empty(web.id())).await.expect("the Service deleted after another restart");
    assert_eq!(inventory(&cloud).node_rules, [(32000, 32000)], "narrowed to the Ingress's port");

    let restarted = deployer(&cloud);
    cloud.counter().reset();
    restarted.deploy(&shop(&[32000])).await.expect("the Ingress again");
    assert_eq!(cloud.counter().mutating(), 0, "its need is found where it was recorded");
    restarted.deploy(&Stack::empty(shop(&[32000]).id)).await.expect("the Ingress deleted");
    assert_eq!(ours(&cloud), []);
}

#[tokio::test]
async fn a_stack_moving_to_another_port_leaves_the_port_another_stack_still_needs() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let mut web = Svc::new("web");
    deployer.deploy(&web.stack()).await.expect("the Service");
    deployer.deploy(&shop(&[31000])).await.expect("the Ingress");

    web.ports = vec![(80, 32000)];
    deployer.deploy(&web.stack()).await.expect("the Service on another NodePort");
    assert_eq!(inventory(&cloud).node_rules, [(31000, 32000)]);

    deployer.deploy(&Stack::empty(shop(&[31000]).id)).await.expect("the Ingress deleted");
    assert_eq!(inventory(&cloud).node_rules, [(32000, 32000)], "31000 went with its last user");
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
    (cloud.clone(), Deployer::new(cloud, settings()))
}

async fn late(offset: usize, deployer: &Deployer, stack: &Stack) -> Result<elbow_deploy::DeployOutcome, DeployError> {
    for _ in 0..offset {
        tokio::task::yield_now().await;
    }
    deployer.deploy(stack).await
}

#[tokio::test]
async fn two_stacks_deployed_at_once_both_get_their_ports_whichever_is_deleted_first() {
    for offset in -12..12_isize {
        for service_first in [true, false] {
            let context = format!("offset {offset}, service deleted first {service_first}");
            let (cloud, deployer) = interleaved();
            let web = svc("web", 31000).stack();
            let shop = shop(&[32000]);
            let (a, b) = tokio::join!(
                late((-offset).max(0).unsigned_abs(), &deployer, &web),
                late(offset.max(0).unsigned_abs(), &deployer, &shop)
            );
            a.unwrap_or_else(|e| panic!("{context}: the Service: {e}"));
            b.unwrap_or_else(|e| panic!("{context}: the Ingress: {e}"));
            assert_eq!(inventory(&cloud.0).node_rules, [(31000, 32000)], "{context}: one rule for both");

            let (gone, survivor, port) = if service_first { (&web, &shop, 32000) } else { (&shop, &web, 31000) };
            deployer.deploy(&Stack::empty(gone.id.clone())).await.expect("one deleted");
            assert_eq!(inventory(&cloud.0).node_rules, [(port, port)], "{context}");
            deployer.deploy(&Stack::empty(survivor.id.clone())).await.expect("the other deleted");
            assert_eq!(ours(&cloud.0), [], "{context}");
        }
    }
}

#[tokio::test]
async fn a_deletion_and_a_new_stack_at_the_other_end_at_once_leave_the_new_one_its_port() {
    // Negative offsets hold the deletion back, positive ones the new Ingress.
    for offset in -24..24_isize {
        let (cloud, deployer) = interleaved();
        let web = svc("web", 31000);
        deployer.deploy(&web.stack()).await.expect("the Service");
        let shop = shop(&[32000]);
        let web_gone = Stack::empty(web.id());
        let (a, b) = tokio::join!(
            late((-offset).max(0).unsigned_abs(), &deployer, &web_gone),
            late(offset.max(0).unsigned_abs(), &deployer, &shop)
        );
        a.unwrap_or_else(|e| panic!("offset {offset}: the Service deleted: {e}"));
        b.unwrap_or_else(|e| panic!("offset {offset}: the Ingress: {e}"));
        assert_eq!(inventory(&cloud.0).node_rules, [(32000, 32000)], "offset {offset}");

        deployer.deploy(&Stack::empty(shop.id.clone())).await.expect("the Ingress deleted");
        let left = inventory(&cloud.0);
        assert_eq!((left.node_rules.len(), left.groups.len()), (0, 0), "offset {offset}: {left:?}");
    }
}

#[tokio::test]
async fn a_narrowing_reads_the_records_afresh_whatever_another_deployer_did_meanwhile() {
    let cloud = cloud();
    let first = deployer(&cloud);
    first.deploy(&svc("web", 31000).stack()).await.expect("the Service");
    first.deploy(&shop(&[31500])).await.expect("the Ingress");
    // Another process (a restart's) adds a Service beyond the range that the first never saw.
    deployer(&cloud).deploy(&svc("api", 32000).stack()).await.expect("a Service made elsewhere");
    assert_eq!(inventory(&cloud).node_rules, [(31000, 32000)]);

    first.deploy(&Stack::empty(svc("web", 31000).id())).await.expect("the Service at the low end deleted");
    assert_eq!(inventory(&cloud).node_rules, [(31500, 32000)], "api's port, unknown to the first, is kept");

    // And one deleted elsewhere is not counted: the last one known to the first takes the rule.
    deployer(&cloud).deploy(&Stack::empty(svc("api", 32000).id())).await.expect("deleted elsewhere");
    first.deploy(&Stack::empty(shop(&[31500]).id)).await.expect("the Ingress deleted");
    assert_eq!(ours(&cloud), [], "the last record went, and the rule with it");
    assert_eq!(inventory(&cloud).groups, Vec::<String>::new());
}

#[tokio::test]
async fn a_lost_answer_while_widening_or_narrowing_is_read_again_not_guessed() {
    for api in [Api::AuthorizeSecurityGroupIngress, Api::RevokeSecurityGroupIngress] {
        let cloud = cloud();
        let deployer = deployer(&cloud);
        deployer.deploy(&svc("web", 31000).stack()).await.expect("the Service");
        cloud.inject(elbow_fake::Failure::on(api, CloudErrorKind::Timeout).landed());
        let error = deployer.deploy(&shop(&[32000])).await.expect_err("the answer was lost");
        assert!(error.is_retryable(), "{api}: {error}");
        cloud.clear_failures();
        deployer.deploy(&shop(&[32000])).await.unwrap_or_else(|e| panic!("{api}: the retry: {e}"));
        assert_eq!(inventory(&cloud).node_rules, [(31000, 32000)], "{api}: one rule");

        deployer.deploy(&Stack::empty(svc("web", 31000).id())).await.expect("the Service deleted");
        deployer.deploy(&Stack::empty(shop(&[32000]).id)).await.expect("the Ingress deleted");
        assert_eq!(ours(&cloud), [], "{api}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_range_revoked_by_hand_is_granted_again_after_the_drift_period() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&svc("web", 31000).stack()).await.expect("the Service");
    deployer.deploy(&shop(&[32000])).await.expect("the Ingress");
    let rule = ours(&cloud).remove(0);
    cloud.revoke_security_group_ingress(NODE_GROUP, std::slice::from_ref(&rule.rule_id)).await.expect("by hand");

    tokio::time::advance(Duration::from_secs(3601)).await;
    deployer.deploy(&svc("web", 31000).stack()).await.expect("the Service, after the drift period");
    assert!(admitted(&cloud, 31000) && admitted(&cloud, 32000), "{:?}", ours(&cloud));
}

/// Another cluster's range rule and a rule someone added by hand that grants exactly the range
/// Elbow wants: neither is touched, and Elbow holds a rule of its own, one port wider.
#[tokio::test]
async fn rules_that_are_not_this_clusters_are_left_alone_even_when_they_grant_the_same() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&svc("first", 30500).stack()).await.expect("a first Service makes the backend group");
    let backend = cloud.security_groups().into_iter().find(|g| g.group_name == backend()).unwrap().id;
    let rule = |from: u16, to: u16, source: RuleSource, tags: Tags| NewIngressRule {
        rule: IngressRule { ip_protocol: "tcp".into(), from_port: from, to_port: to, source, description: None },
        tags,
    };
    let resource = ResourceId::new(format!("NodePortRange/{NODE_GROUP}/tcp"));
    let other_cluster = ownership_tags("other", &StackId::new("_shared"), &resource);
    let cidr = RuleSource::CidrIpv4("10.0.0.0/8".into());
    let theirs = cloud.seed_security_group_rule(NODE_GROUP, rule(1, 65535, cidr, other_cluster)).unwrap();
    let from_backend = RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend.clone()));
    let by_hand = cloud.seed_security_group_rule(NODE_GROUP, rule(30500, 31000, from_backend, Tags::new())).unwrap();

    deployer.deploy(&svc("web", 31000).stack()).await.expect("the range 30500-31000, which a hand granted");
    assert_eq!(inventory(&cloud).node_rules, [(30500, 31001)], "its own rule, one port wider");
    deployer.deploy(&Stack::empty(svc("web", 31000).id())).await.expect("deleted");
    let error =
        deployer.deploy(&Stack::empty(svc("first", 30500).id())).await.expect_err("the hand's rule names the group");
    assert!(error.is_retryable(), "the backend group stays in use while a rule names it: {error}");
    assert_eq!(ours(&cloud), [], "Elbow's own rules are gone");
    let left = cloud.security_group_rules(NODE_GROUP);
    assert!(left.contains(&theirs) && left.contains(&by_hand), "untouched: {left:?}");
}

// ---- rules of earlier versions ----

/// How an earlier version tagged a per-port rule.
#[derive(Clone, Copy, Debug)]
enum Earlier {
    /// `_shared`, with one claim tag per stack.
    Claims,
    /// The one stack that made it, as its stack tag.
    Owner,
}

fn claim_key(stack: &StackId) -> String {
    let hash = hex::encode(Sha256::digest(stack.as_str().as_bytes()));
    format!("{CLAIM_TAG_PREFIX}{}", &hash[..20])
}

/// Rewrites what a deploy of this version left into what an earlier one left for `stacks`
/// (stack, node port): no record on the load balancers, no range rule, one rule per port instead,
/// tagged `how`. With `Earlier::Owner` the first stack of a port owns it (the others' need left no
/// trace then).
async fn as_an_earlier_version_left_it(cloud: &FakeCloud, stacks: &[(StackId, u16)], how: Earlier) {
    for lb in cloud.load_balancers() {
        cloud.remove_tags(std::slice::from_ref(&lb.arn), &[NODE_PORTS_TAG.to_string()]).await.expect("no record");
    }
    let rules: Vec<String> = ours(cloud).into_iter().map(|r| r.rule_id).collect();
    if !rules.is_empty() {
        cloud.revoke_security_group_ingress(NODE_GROUP, &rules).await.expect("no range");
    }
    let backend = cloud.security_groups().into_iter().find(|g| g.group_name == backend()).unwrap().id;
    let mut ports: Vec<u16> = stacks.iter().map(|(_, p)| *p).collect();
    ports.sort();
    ports.dedup();
    for port in ports {
        let users: Vec<&StackId> = stacks.iter().filter(|(_, p)| *p == port).map(|(s, _)| s).collect();
        let resource = ResourceId::new(format!("NodeRule/{NODE_GROUP}/tcp/{port}"));
        let tags = match how {
            Earlier::Claims => {
                let mut tags = ownership_tags(CLUSTER, &StackId::new("_shared"), &resource);
                tags.extend(users.iter().map(|s| (claim_key(s), s.as_str().to_string())));
                tags
            }
            Earlier::Owner => ownership_tags(CLUSTER, users[0], &resource),
        };
        let rule = IngressRule {
            ip_protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            source: RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend.clone())),
            description: None,
        };
        cloud.seed_security_group_rule(NODE_GROUP, NewIngressRule { rule, tags }).expect("a per-port rule");
    }
}

#[tokio::test]
async fn per_port_rules_of_earlier_versions_give_way_to_the_range_without_closing_a_port() {
    for how in [Earlier::Claims, Earlier::Owner] {
        let watched = Watched::new(seeded());
        let cloud = &watched.cloud;
        let (web, api) = (svc("web", 31000), svc("api", 31500));
        let shop_stack = shop(&[31000]);
        let earlier = watched_deployer(&watched);
        for stack in [web.stack(), api.stack(), shop_stack.clone()] {
            earlier.deploy(&stack).await.expect("deployed");
        }
        let stacks = [(web.id(), 31000), (shop_stack.id.clone(), 31000), (api.id(), 31500)];
        as_an_earlier_version_left_it(cloud, &stacks, how).await;
        assert_eq!(inventory(cloud).node_rules, [(31000, 31000), (31500, 31500)], "{how:?}");
        watched.keep_open([31000, 31500]);

        // The upgrade: each stack is deployed again by this version, one after the other.
        let upgraded = watched_deployer(&watched);
        upgraded.deploy(&web.stack()).await.unwrap_or_else(|e| panic!("{how:?}: web: {e}"));
        let rules = inventory(cloud).node_rules;
        assert!(rules.contains(&(31500, 31500)), "{how:?}: api, not deployed again yet, keeps its rule: {rules:?}");
        upgraded.deploy(&shop_stack).await.unwrap_or_else(|e| panic!("{how:?}: shop: {e}"));
        upgraded.deploy(&api.stack()).await.unwrap_or_else(|e| panic!("{how:?}: api: {e}"));
        assert_eq!(watched.closed(), Vec::<String>::new(), "{how:?}: a port was closed");
        assert_eq!(inventory(cloud).node_rules, [(31000, 31500)], "{how:?}: only the range is left");
        assert!(
            ours(cloud).iter().all(|r| !r.tags.keys().any(|k| k.starts_with(CLAIM_TAG_PREFIX))),
            "{how:?}: no claim is left"
        );

        watched.keep_open([]);
        for stack in [web.id(), shop_stack.id.clone(), api.id()] {
            upgraded.deploy(&Stack::empty(stack)).await.expect("deleted");
        }
        let left = inventory(cloud);
        assert_eq!((left.node_rules.len(), left.groups.len()), (0, 0), "{how:?}: {left:?}");
    }
}

/// A node group that an earlier version filled to EC2's quota with per-port rules: the range
/// needs one free rule. Until there is one, the deploy says why and nothing is closed; once there
/// is, each stack deployed again frees another.
#[tokio::test]
async fn a_node_group_an_earlier_version_filled_to_the_quota_migrates_once_one_rule_is_free() {
    let watched = Watched::new(seeded());
    let cloud = &watched.cloud;
    let services: Vec<Svc> = (0..59).map(|i| svc(&format!("s{i}"), 30000 + i)).collect();
    let earlier = watched_deployer(&watched);
    for svc in &services {
        earlier.deploy(&svc.stack()).await.expect("deployed");
    }
    let stacks: Vec<(StackId, u16)> = services.iter().map(|s| (s.id(), s.ports[0].1)).collect();
    as_an_earlier_version_left_it(cloud, &stacks, Earlier::Claims).await;
    let someone = cloud
        .seed_security_group_rule(
            NODE_GROUP,
            NewIngressRule {
                rule: IngressRule {
                    ip_protocol: "tcp".into(),
                    from_port: 22,
                    to_port: 22,
                    source: RuleSource::CidrIpv4("10.0.0.0/8".into()),
                    description: None,
                },
                tags: Tags::new(),
            },
        )
        .unwrap();
    assert_eq!(cloud.security_group_rules(NODE_GROUP).len(), 60, "full");
    let all_ports: Vec<u16> = stacks.iter().map(|(_, p)| *p).collect();
    watched.keep_open(all_ports.clone());

    let upgraded = watched_deployer(&watched);
    let error = upgraded.deploy(&services[0].stack()).await.expect_err("no room for the range");
    let source = std::error::Error::source(&error).expect("the cloud's error").to_string();
    assert!(source.contains("RulesPerSecurityGroupLimitExceeded"), "{source}");
    assert!(!error.is_retryable(), "the user must make room: {error}");

    cloud.revoke_security_group_ingress(NODE_GROUP, std::slice::from_ref(&someone.rule_id)).await.expect("by hand");
    for svc in &services {
        upgraded.deploy(&svc.stack()).await.unwrap_or_else(|e| panic!("{}: {e}", svc.name));
    }
    assert_eq!(watched.closed(), Vec::<String>::new(), "a port was closed during the migration");
    assert_eq!(inventory(cloud).node_rules, [(30000, 30058)]);
}
