//! The orphan sweep: finds this cluster's stacks whose owner is gone (a finalizer removed by
//! hand, a namespace force-deleted) and reports them or deletes them.
//!
//! ```text
//!  list every LB, TG, SG and node rule tagged elbow.dev/cluster=<this cluster>   (one listing)
//!    -> group by elbow.dev/stack                       (the shared backend group never counts)
//!    -> ask the caller, after the listing: owned, gone, or a key it does not recognise?
//!    -> gone, and old enough (grace) ->  report  |  delete = deploy Stack::empty(stack)
//! ```
//!
//! What it never touches: a resource without Elbow's cluster tag, or with another cluster's
//! value, is not in the listing at all (the deployer's own discovery draws that line); a stack
//! whose key the caller does not recognise, or leaves out of its answer, is kept. Deleting is the
//! deployer deploying the stack's empty stack, the one way Elbow deletes anything: listeners,
//! rules, load balancer, target groups, the stack's own security groups, and its claims on node
//! security group rules (a rule goes only with its last claim), in the deployer's usual order.
//!
//! Races, and why the grace period. The owners are asked *after* the listing, so a stack whose
//! owner existed when its resources were listed is always seen owned: Elbow adds its finalizer
//! before it creates anything. The grace period covers what that ordering cannot: an owner read
//! from a source that lags (a cache, another replica's view), an owner created again under the
//! same name while the sweep runs, resources made by something that shares the cluster name. A
//! stack is swept only once it is old enough, by either of two clocks:
//!
//! - its newest load balancer's `CreatedTime`, as AWS reports it: persistent, survives restarts,
//!   and a load balancer is created after the stack's target groups and security groups;
//! - how long this sweeper has found it orphaned without a break: kept in memory between sweeps,
//!   so it starts again with each process (or leader). The only clock for a stack without a load
//!   balancer (target groups or security groups left by a deletion that was interrupted), since
//!   AWS records no creation time for those. A one-shot sweep (`elbow gc`) therefore never removes
//!   such a stack unless the grace period is zero.
//!
//! Just before deleting, the sweep asks about that one owner again; an owner that came back is
//! left alone.
//!
//! Some resources belong to no stack: the cluster's shared backend security group and the
//! port-range rules admitting it on the node groups, which the deployer deletes with the last
//! stack. Should that deletion have failed and its process ended (AWS holds a group for minutes
//! after a network load balancer goes), they outlive every stack. The sweep reports them as the
//! orphan `_shared` once no stack of the cluster is left, judged by the sweeps' clock alone (a
//! security group has no creation time), and deletes them (the rules first, after reading every
//! load balancer's record again) only while this deployer has no deploy under way, as the
//! deployer itself would.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use elbow_model::{Stack, StackId};

use crate::changes::{Kind, Verb};
use crate::discovery::ClusterIndex;
use crate::error::DeployError;
use crate::shared::SHARED_STACK;
use crate::{Changes, Deployer};

/// Whether a sweep deletes what it finds or only reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SweepMode {
    /// Log and count orphans, change nothing.
    #[default]
    Report,
    /// Delete orphans that are old enough.
    Delete,
}

impl SweepMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Report => "report",
            Self::Delete => "delete",
        }
    }
}

impl FromStr for SweepMode {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "report" => Ok(Self::Report),
            "delete" => Ok(Self::Delete),
            other => Err(format!("expected report or delete, got {other:?}")),
        }
    }
}

impl fmt::Display for SweepMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSettings {
    pub mode: SweepMode,
    /// How old an orphaned stack must be before it is swept (see the module documentation).
    pub grace: Duration,
}

/// What the cluster says about the owner named by a stack key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    /// The owner exists and holds Elbow's finalizer (being deleted included: its own cleanup is
    /// under way).
    Owned,
    /// No such owner, or one without Elbow's finalizer: nothing will ever delete the stack.
    Gone,
    /// A key the caller cannot map to an owner (written by another version, say): kept.
    Unrecognised,
}

/// The caller's side of the sweep: who owns what, read from the cluster.
pub trait Owners {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The state of each stack's owner, read when called. A stack left out of the answer is
    /// treated as [`OwnerState::Unrecognised`], so kept.
    fn owners(
        &self,
        stacks: &[StackId],
    ) -> impl Future<Output = Result<HashMap<StackId, OwnerState>, Self::Error>> + Send;
}

/// The kinds of resource a sweep lists, as the metrics and the reports name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    LoadBalancer,
    TargetGroup,
    SecurityGroup,
    /// A stack's claim on a per-port rule of a node security group, as earlier versions made
    /// them (the rule may be claimed by others).
    NodeRuleClaim,
    /// A port-range rule of a node security group: the cluster's, listed (with the backend group)
    /// only once no stack is left.
    NodeRule,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 5] =
        [Self::LoadBalancer, Self::TargetGroup, Self::SecurityGroup, Self::NodeRuleClaim, Self::NodeRule];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoadBalancer => "load_balancer",
            Self::TargetGroup => "target_group",
            Self::SecurityGroup => "security_group",
            Self::NodeRuleClaim => "node_rule_claim",
            Self::NodeRule => "node_rule",
        }
    }

    fn noun(self, count: usize) -> &'static str {
        match (self, count) {
            (Self::LoadBalancer, 1) => "load balancer",
            (Self::LoadBalancer, _) => "load balancers",
            (Self::TargetGroup, 1) => "target group",
            (Self::TargetGroup, _) => "target groups",
            (Self::SecurityGroup, 1) => "security group",
            (Self::SecurityGroup, _) => "security groups",
            (Self::NodeRuleClaim, 1) => "node rule claim",
            (Self::NodeRuleClaim, _) => "node rule claims",
            (Self::NodeRule, 1) => "node rule",
            (Self::NodeRule, _) => "node rules",
        }
    }
}

/// One stack's resources as the sweep listed them. Listeners and listener rules go with their
/// load balancer and are not listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackResources {
    /// Names, sorted.
    pub load_balancers: Vec<String>,
    /// Names, sorted.
    pub target_groups: Vec<String>,
    /// `id (name)`, sorted.
    pub security_groups: Vec<String>,
    /// `rule id in group id`, sorted.
    pub node_rule_claims: Vec<String>,
    /// `rule id in group id (protocol from-to)`, sorted: the cluster's range rules, in the
    /// listing of the shared resources only.
    pub node_rules: Vec<String>,
    /// When the newest of its load balancers was created, where the cloud says.
    pub newest_load_balancer: Option<SystemTime>,
}

impl StackResources {
    pub fn count(&self, kind: ResourceKind) -> usize {
        match kind {
            ResourceKind::LoadBalancer => self.load_balancers.len(),
            ResourceKind::TargetGroup => self.target_groups.len(),
            ResourceKind::SecurityGroup => self.security_groups.len(),
            ResourceKind::NodeRuleClaim => self.node_rule_claims.len(),
            ResourceKind::NodeRule => self.node_rules.len(),
        }
    }

    fn of(index: &ClusterIndex) -> BTreeMap<StackId, StackResources> {
        let mut stacks = Self::stacks(index);
        if stacks.is_empty() && (index.backend_group.is_some() || !index.range_rules.is_empty()) {
            let mut node_rules: Vec<String> = index
                .range_rules
                .iter()
                .map(|r| {
                    format!(
                        "{} in {} ({} {}-{})",
                        r.rule_id, r.group_id, r.rule.ip_protocol, r.rule.from_port, r.rule.to_port
                    )
                })
                .collect();
            node_rules.sort();
            let shared = StackResources {
                security_groups: index.backend_group.iter().map(|id| format!("{id} (shared backend group)")).collect(),
                node_rules,
                ..Self::default()
            };
            stacks.insert(StackId::new(SHARED_STACK), shared);
        }
        stacks
    }

    fn stacks(index: &ClusterIndex) -> BTreeMap<StackId, StackResources> {
        let mut stacks = BTreeMap::new();
        for (id, entry) in &index.stacks {
            let actual = &entry.actual;
            let mut resources = StackResources {
                load_balancers: actual.load_balancers.iter().map(|lb| lb.lb.name.clone()).collect(),
                target_groups: actual.target_groups.iter().map(|tg| tg.tg.name.clone()).collect(),
                security_groups: actual
                    .security_groups
                    .iter()
                    .map(|g| format!("{} ({})", g.group.id, g.group.group_name))
                    .collect(),
                node_rule_claims: actual
                    .node_rules
                    .iter()
                    .map(|r| format!("{} in {}", r.rule.rule_id, r.rule.group_id))
                    .collect(),
                node_rules: Vec::new(),
                newest_load_balancer: actual.load_balancers.iter().filter_map(|lb| lb.lb.created_time).max(),
            };
            if ResourceKind::ALL.iter().all(|kind| resources.count(*kind) == 0) {
                continue;
            }
            resources.load_balancers.sort();
            resources.target_groups.sort();
            resources.security_groups.sort();
            resources.node_rule_claims.sort();
            stacks.insert(id.clone(), resources);
        }
        stacks
    }
}

/// "1 load balancer (k8s-default-web-0a1b2c3d4e), 2 target groups (...), ..."
impl fmt::Display for StackResources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lists = [
            (ResourceKind::LoadBalancer, &self.load_balancers),
            (ResourceKind::TargetGroup, &self.target_groups),
            (ResourceKind::SecurityGroup, &self.security_groups),
            (ResourceKind::NodeRuleClaim, &self.node_rule_claims),
            (ResourceKind::NodeRule, &self.node_rules),
        ];
        let mut first = true;
        for (kind, names) in lists.into_iter().filter(|(_, names)| !names.is_empty()) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{} {} ({})", names.len(), kind.noun(names.len()), names.join(", "))?;
        }
        Ok(())
    }
}

/// What a sweep did about one orphaned stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrphanAction {
    /// Younger than the grace period: looked at again by a later sweep.
    Waiting { remaining: Duration },
    /// Old enough, and left in place: the sweep only reports.
    Reported,
    /// Deleted; what the deploy of its empty stack changed.
    Deleted { changes: Changes },
    /// Its owner was there again when asked just before the deletion.
    OwnerReturned,
    /// The deletion (or the second look at its owner) failed; the next sweep tries again.
    Failed { error: String },
}

impl OrphanAction {
    /// A word for logs and tables.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Waiting { .. } => "waiting",
            Self::Reported => "reported",
            Self::Deleted { .. } => "deleted",
            Self::OwnerReturned => "kept",
            Self::Failed { .. } => "failed",
        }
    }
}

/// "waiting: 12m left of the grace period", "deleted: deleted 1 load balancer, ..."
impl fmt::Display for OrphanAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Waiting { remaining } => {
                write!(f, "waiting: inside the grace period, {}s left", remaining.as_secs().max(1))
            }
            Self::Reported => f.write_str("reported: not deleted (report mode)"),
            Self::Deleted { changes } => write!(f, "deleted: {changes}"),
            Self::OwnerReturned => f.write_str("kept: its owner exists again"),
            Self::Failed { error } => write!(f, "failed: {error}; the next sweep tries again"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub stack: StackId,
    pub resources: StackResources,
    /// How long it has been orphaned, as far as the sweep can tell (the older of its two clocks).
    pub age: Duration,
    /// First found orphaned by this sweeper in this sweep.
    pub newly_found: bool,
    pub action: OrphanAction,
}

/// What one sweep found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SweepReport {
    pub orphans: Vec<Orphan>,
    /// Stacks whose owner holds them.
    pub owned: usize,
    /// Stacks whose key the owners did not recognise: kept.
    pub unrecognised: Vec<StackId>,
}

impl SweepReport {
    /// Orphans still in the cloud after the sweep: reported, waiting out the grace period, or
    /// whose deletion failed. (Deleted ones are gone; one whose owner came back is no orphan.)
    pub fn left(&self) -> impl Iterator<Item = &Orphan> {
        self.orphans.iter().filter(|o| !matches!(o.action, OrphanAction::Deleted { .. } | OrphanAction::OwnerReturned))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("failed to list the cluster's resources")]
    List(#[source] DeployError),
    #[error("failed to read the stacks' owners from the cluster")]
    ReadOwners(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Timer jitter forgiven when comparing how long a stack has been seen orphaned with the grace
/// period: sweeps every hour with an hour's grace delete on the second sweep, not the third
/// because the second began a millisecond early.
const CLOCK_TOLERANCE: Duration = Duration::from_secs(1);

/// A sweeper and its memory of when each stack was first found orphaned. One per process (the
/// periodic sweep) or per command (`elbow gc`).
#[derive(Debug, Default)]
pub struct OrphanSweeper {
    first_seen: HashMap<StackId, SystemTime>,
}

impl OrphanSweeper {
    pub fn new() -> Self {
        Self::default()
    }

    /// One sweep at `now` (a parameter so that tests can move time; callers pass the clock).
    /// Errors only when listing or the first reading of the owners fails; a failed deletion is
    /// reported in its orphan's action.
    pub async fn sweep<O: Owners + Sync>(
        &mut self,
        deployer: &Deployer,
        owners: &O,
        settings: &SweepSettings,
        now: SystemTime,
    ) -> Result<SweepReport, SweepError> {
        let listed = deployer.relist().await.map_err(SweepError::List)?;
        let shared = StackId::new(SHARED_STACK);
        let keys: Vec<StackId> = listed.keys().filter(|k| **k != shared).cloned().collect();
        let states = if keys.is_empty() {
            HashMap::new()
        } else {
            owners.owners(&keys).await.map_err(|e| SweepError::ReadOwners(Box::new(e)))?
        };
        let mut report = SweepReport::default();
        let mut orphaned = Vec::new();
        for (stack, resources) in listed {
            if stack == shared {
                // Listed only when no stack is left: it has no owner to ask about.
                orphaned.push((stack, resources));
                continue;
            }
            match states.get(&stack).copied().unwrap_or(OwnerState::Unrecognised) {
                OwnerState::Owned => report.owned += 1,
                OwnerState::Unrecognised => report.unrecognised.push(stack),
                OwnerState::Gone => orphaned.push((stack, resources)),
            }
        }
        // Only an unbroken run of sightings counts: a stack owned again starts from zero.
        self.first_seen.retain(|stack, _| orphaned.iter().any(|(s, _)| s == stack));
        for (stack, resources) in orphaned {
            let newly_found = !self.first_seen.contains_key(&stack);
            let first = *self.first_seen.entry(stack.clone()).or_insert(now);
            let seen_for = now.duration_since(first).unwrap_or_default();
            let lb_age = resources.newest_load_balancer.map(|t| now.duration_since(t).unwrap_or_default());
            let age = seen_for.max(lb_age.unwrap_or_default());
            let action = if age + CLOCK_TOLERANCE < settings.grace {
                OrphanAction::Waiting { remaining: settings.grace - age }
            } else if settings.mode == SweepMode::Report {
                OrphanAction::Reported
            } else {
                self.delete(deployer, owners, &stack).await
            };
            report.orphans.push(Orphan { stack, resources, age, newly_found, action });
        }
        Ok(report)
    }

    async fn delete<O: Owners + Sync>(&mut self, deployer: &Deployer, owners: &O, stack: &StackId) -> OrphanAction {
        if stack.as_str() == SHARED_STACK {
            return match deployer.delete_unused_backend_group().await {
                Ok(Some((rules, groups))) => {
                    self.first_seen.remove(stack);
                    let mut changes = Changes::default();
                    changes.add((Verb::Deleted, Kind::NodeRule, rules));
                    changes.add((Verb::Deleted, Kind::SecurityGroup, groups));
                    OrphanAction::Deleted { changes }
                }
                Ok(None) => {
                    self.first_seen.remove(stack);
                    OrphanAction::OwnerReturned
                }
                Err(error) => OrphanAction::Failed { error: error_chain(&error) },
            };
        }
        match owners.owners(std::slice::from_ref(stack)).await {
            Ok(states) if states.get(stack) == Some(&OwnerState::Gone) => {}
            Ok(_) => {
                self.first_seen.remove(stack);
                return OrphanAction::OwnerReturned;
            }
            Err(error) => return OrphanAction::Failed { error: format!("failed to read its owner again: {error}") },
        }
        match deployer.delete_orphan(stack).await {
            Ok(changes) => {
                self.first_seen.remove(stack);
                OrphanAction::Deleted { changes }
            }
            Err(error) => OrphanAction::Failed { error: error_chain(&error) },
        }
    }
}

/// An error with its sources, as one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Deployer {
    /// Lists every resource of the cluster now, keeps the listing as the deployer's index (what
    /// a drift period's rebuild does, done early) and returns it by stack, the shared backend
    /// group left out. Installing it is what makes a deletion that follows start from what was
    /// just listed, not from an index built before the orphan's resources existed.
    async fn relist(&self) -> Result<BTreeMap<StackId, StackResources>, DeployError> {
        let mut guard = self.index.lock().await;
        let index = crate::discovery::discover_cluster(self.cloud.as_ref(), &self.settings.cluster_name)
            .await
            .map_err(DeployError::Discover)?;
        self.node_groups.read_again();
        self.node_groups.seed(index.node_port_needs(), index.range_groups());
        let listed = StackResources::of(&index);
        *guard = Some(index);
        Ok(listed)
    }

    /// Deletes the cluster's range rules and the shared backend group when no stack of the
    /// cluster is known and no deploy is under way (the deployer's own rule for them): how many
    /// rules and groups went, or `None` when a stack or a deploy is there, and they are kept.
    async fn delete_unused_backend_group(&self) -> Result<Option<(usize, usize)>, DeployError> {
        let mut guard = self.index.lock().await;
        let Some(index) = guard.as_mut() else { return Ok(None) };
        if !index.stacks.is_empty() || self.deploys_in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            return Ok(None);
        }
        let groups = usize::from(index.backend_group.is_some());
        let rules = self.release_backend_group(index).await?;
        Ok(Some((rules, groups)))
    }

    /// Deletes a stack whose owner is gone: deploys its empty stack, after forgetting the last
    /// outcome so that the deploy compares with the cloud rather than answering from memory.
    async fn delete_orphan(&self, stack: &StackId) -> Result<Changes, DeployError> {
        self.forget(stack);
        let outcome = self.deploy(&Stack::empty(stack.clone())).await?;
        self.forget(stack);
        Ok(outcome.changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_and_print_the_same_words() {
        for mode in [SweepMode::Report, SweepMode::Delete] {
            assert_eq!(mode.as_str().parse::<SweepMode>(), Ok(mode));
        }
        assert!("remove".parse::<SweepMode>().is_err());
        assert_eq!(SweepMode::default(), SweepMode::Report, "the safe default");
    }

    #[test]
    fn resources_read_as_counts_and_names() {
        let resources = StackResources {
            load_balancers: vec!["k8s-default-web-0a1b2c3d4e".into()],
            target_groups: vec!["tg-1".into(), "tg-2".into()],
            ..Default::default()
        };
        assert_eq!(resources.to_string(), "1 load balancer (k8s-default-web-0a1b2c3d4e), 2 target groups (tg-1, tg-2)");
    }
}
