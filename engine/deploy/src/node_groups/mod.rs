//! The rules Elbow adds to the nodes' security groups, which belong to the cluster rather than to
//! any one stack.
//!
//! ```text
//!  stack A's load balancer ─ tag elbow.dev/node-ports = "sg-nodes:tcp:31000-31000"   (record.rs)
//!  stack B's load balancer ─ tag elbow.dev/node-ports = "sg-nodes:tcp:31950-31951"
//!                                   │ hull per (node group, protocol)
//!                                   ▼
//!  sg-nodes: one rule  tcp 31000-31951  from the backend group                          (ranges.rs)
//! ```
//!
//! Every load balancer of the cluster carries the shared backend security group, and the nodes
//! must admit that group on each port a target group sends traffic or health checks to (the
//! NodePorts of instance targets, the pods' ports of ip targets, health-check ports). One rule
//! per port stops working at scale: EC2 allows 60 inbound rules per security group by default,
//! so a cluster with about 60 LoadBalancer Services could not get another one. So, as the AWS
//! Load Balancer Controller does in its default mode, Elbow grants each node group **one rule per
//! ip protocol**, from the backend group, spanning the lowest to the highest port the cluster's
//! stacks need there. The ports in between are opened too; only Elbow's load balancers carry the
//! backend group, and a load balancer only sends to the targets registered with its target
//! groups and to their health-check ports, so nothing new becomes reachable.
//!
//! The range follows the stacks: a stack needing a port outside it widens it, the last stack at
//! either end narrows it, and the rule goes when no stack needs the group. Every change
//! authorizes the new range *before* revoking the old one, so no packet is ever refused in
//! between; in between, the group holds two of Elbow's rules for that protocol, which is the most
//! it ever holds (a change needs one free rule in the group).
//!
//! # Who needs which ports: a record on each load balancer
//!
//! Narrowing must know every other stack's needs, or it cuts a load balancer off its nodes. The
//! earlier design recorded them as claim tags on the rule (one per stack), but a rule takes 50
//! tags, so no more than 47 stacks could share one, and a cluster-wide range is shared by all of
//! them. Counting needs from the cluster's target groups instead would mean redoing the builder's
//! work in the deployer (which node groups hold a target group's instances, which ports its pods
//! answer on) and reading every target's registration after each restart. So each stack records
//! its own need where nothing limits the number of stacks: on its load balancer, as the tag
//! `elbow.dev/node-ports` (`record.rs`). The record
//!
//! - is written with the load balancer (tags go with the create call), or by the tag diff when
//!   the need changes, always before the range is widened for it, and goes with the load
//!   balancer, always before the range is narrowed without it;
//! - costs no call to read: the cluster index lists every load balancer with its tags anyway,
//!   once per drift period; a load balancer is exactly what uses the backend group, so a stack
//!   without one needs nothing.
//!
//! # Deciding, and why narrowing reads again
//!
//! The deployer keeps every stack's need in memory (filled from the index's records at each
//! rebuild, then updated by each deploy's range step and announced as soon as a new load
//! balancer with its record exists, so one widening serves a burst of new stacks). A range step
//! makes every node group Elbow knows match the hull of those needs, the stack's own need as it
//! now is included. Widening is decided from memory: opening more ports to the backend group
//! never hurts. Narrowing (any port of the current rule outside the new hull) first reads every
//! load balancer's record again (DescribeLoadBalancers and DescribeTags, about one call per 20
//! load balancers) and narrows only to the hull of what it read: a stack another process created
//! since the index was built, or one whose record grew, is then kept. Narrowing happens when a
//! stack at either end of the range goes, so deleting n stacks at random reads the records about
//! 2·ln(n) times, not n times.
//!
//! # Crash safety
//!
//! Each call is complete on its own, and the order is record, widen, (narrow the record), narrow:
//!
//! - a crash after a record is written and before the widening: the re-run widens;
//! - a crash between authorizing a new range and revoking the old: two rules of Elbow's, the new
//!   one covering every need; the next range step revokes the other;
//! - a crash after a record shrank or went (the load balancer deleted) and before the narrowing:
//!   the rule is wider than needed, never narrower; the next range step in any deploy narrows it
//!   (every step reconciles every known group, not only its stack's), and when the last stack of
//!   the cluster goes, its range rules are revoked before the backend group is deleted. A rule of
//!   Elbow's that nothing needs therefore never outlives the cluster's last load balancer.
//!
//! # Concurrency
//!
//! One deployer serves every reconcile. Range steps (and claims, below) of one node group run
//! under that group's lock, held from reading the group's rules to the end of the calls, so two
//! steps never decide from each other's half-done work; groups are locked one at a time. A step
//! counts its own stack's need explicitly, whatever another step's fresh read replaced meanwhile.
//!
//! # What is never touched, and what came before
//!
//! Only rules with this cluster's ownership tags are changed: another cluster's, and any rule
//! without Elbow's tags, are left as they are. A rule that is not Elbow's and grants exactly the
//! range (EC2 refuses a second, identical permission) is left alone too: the range is widened by
//! one port so that Elbow holds a rule of its own, rather than relying on one it does not control.
//!
//! Earlier versions made one rule per port (`claims.rs`): tagged with the one stack that made
//! it, or `_shared` with one claim tag per stack. A stack deployed by this version records its
//! need, has the range cover it, and only then gives up its claims on such rules (the last claim
//! revokes the rule), so its traffic never stops. A stack not deployed again yet keeps its
//! per-port rule until it is. The same rule that makes a range rule distinct from a per-port rule
//! of the same port applies: a range of one port is widened by one when such a rule exists. The
//! migration needs one free rule in a group that the earlier version had filled to EC2's quota
//! (the failure this design removes); after that, each stack migrated frees one.
//!
//! Rules whose source is not the backend group (none are made by the builders today) keep the
//! per-permission claims of `claims.rs`.

mod claims;
mod ranges;
pub(crate) mod record;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use elbow_cloud::{Cloud, CloudResult, SecurityGroupRule, SecurityGroupRuleFilter};
use elbow_model::StackId;
use tokio::sync::Mutex;

pub(crate) use self::claims::{claim_key, claimants, new_rule_tags, same_permission};
pub(crate) use self::ranges::{Spanned, is_range_rule};
use self::record::NodePorts;

/// What the deployer knows of the node groups' rules and of the stacks' needs, with one lock per
/// group.
#[derive(Default)]
pub(crate) struct NodeGroups {
    /// Raised with every rebuild of the cluster index: a copy read before is read again, so
    /// changes made outside Elbow are seen once per drift period.
    epoch: AtomicU64,
    groups: StdMutex<HashMap<String, Arc<Mutex<GroupView>>>>,
    /// Each stack's need, as recorded on its load balancer (see the module documentation).
    needs: StdMutex<Needs>,
}

#[derive(Default)]
struct Needs {
    by_stack: HashMap<StackId, NodePorts>,
    /// Every node group that holds a range rule of Elbow's or that a stack needs: what a range
    /// step reconciles.
    groups: BTreeSet<String>,
}

/// Every ingress rule of one node group, ours and others', as read at an epoch and changed by
/// the calls made since; `None` until read and after a call whose effect is unknown (it failed).
#[derive(Default)]
struct GroupView {
    read: Option<(u64, Vec<SecurityGroupRule>)>,
}

impl NodeGroups {
    pub(crate) fn read_again(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Replaces what is known of the stacks' needs with what the cluster index found: the records
    /// of its load balancers, and the groups holding range rules of Elbow's.
    pub(crate) fn seed(&self, needs: HashMap<StackId, NodePorts>, range_groups: BTreeSet<String>) {
        let mut known = self.lock_needs();
        known.groups = range_groups;
        known.groups.extend(needs.values().flat_map(NodePorts::groups));
        known.by_stack = needs;
    }

    /// A stack's record exists (its load balancer was just created with it): widenings decided
    /// from now on include it, though its own range step has not run yet.
    pub(crate) fn announce(&self, stack: &StackId, ports: &NodePorts) {
        if ports.is_empty() {
            return;
        }
        let mut known = self.lock_needs();
        known.groups.extend(ports.groups());
        known.by_stack.entry(stack.clone()).or_default().extend(ports);
    }

    fn set_need(&self, stack: &StackId, ports: &NodePorts) {
        let mut known = self.lock_needs();
        known.groups.extend(ports.groups());
        if ports.is_empty() {
            known.by_stack.remove(stack);
        } else {
            known.by_stack.insert(stack.clone(), ports.clone());
        }
    }

    /// Replaces what is known of every stack's need with what was just read from the records.
    fn replace_needs(&self, needs: HashMap<StackId, NodePorts>) {
        let mut known = self.lock_needs();
        known.groups.extend(needs.values().flat_map(NodePorts::groups));
        known.by_stack = needs;
    }

    fn lock_needs(&self) -> std::sync::MutexGuard<'_, Needs> {
        // Each update replaces or extends whole entries, so a panic elsewhere cannot leave it torn.
        self.needs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn view(&self, group_id: &str) -> Arc<Mutex<GroupView>> {
        // Each access inserts or clones one entry, so a panic elsewhere cannot leave it torn.
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        groups.entry(group_id.to_string()).or_default().clone()
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }
}

impl GroupView {
    async fn rules(
        &mut self,
        cloud: &dyn Cloud,
        group_id: &str,
        epoch: u64,
    ) -> CloudResult<&mut Vec<SecurityGroupRule>> {
        let rules = match self.read.take() {
            Some((read_at, rules)) if read_at == epoch => rules,
            _ => cloud.describe_security_group_rules(SecurityGroupRuleFilter::Group(group_id.to_string())).await?,
        };
        Ok(&mut self.read.insert((epoch, rules)).1)
    }
}

/// One stack's access to the node groups, as the applier uses it: claims (`claims.rs`) and range
/// steps (`ranges.rs`).
pub(crate) struct NodeRules<'a> {
    pub(crate) groups: &'a NodeGroups,
    pub(crate) cluster: &'a str,
    pub(crate) stack: &'a StackId,
    /// The cluster's shared backend group, the source of every range rule; `None` when it does
    /// not exist (then no range can be granted, and none is changed).
    pub(crate) backend_group: Option<&'a str>,
}
