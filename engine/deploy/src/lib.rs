//! Elbow's deployer: makes the cloud match a desired [`Stack`].
//!
//! A deploy finds the stack's actual resources by their ownership tags (through a cluster-wide
//! index built once per drift period, so a new stack costs no describe call), plans the difference
//! ([`plan`], pure), applies it in dependency order ([`apply`]) and keeps what it did as the stack's
//! known state. Deleting is deploying [`Stack::empty`].
//!
//! Targets (nodes, pods) change far more often than anything else, so they are not part of the
//! stack's hash: a deploy whose desired stack hashes the same as the last one applied compares
//! only the targets, with what is known to be registered ([`targets`], the one target
//! synchroniser), and makes no cloud call at all when they are equal too. Past the drift period a
//! deploy compares everything with the cloud again.
//!
//! Two things belong to the cluster rather than to one stack: the shared backend security group
//! ([`shared`]), and the rules admitting it on the node groups: one port range per node group and
//! ip protocol, spanning what the stacks' load balancers record they need (`node_groups`).
//!
//! The orphan sweep ([`sweep`]) lists the cluster's stacks, asks the caller which still have an
//! owner, and deletes the others the same way: by deploying their empty stack.

pub mod actual;
mod addresses;
mod apply;
mod capacity;
pub mod certificates;
pub mod changes;
mod discovery;
pub mod error;
mod expiring;
mod node_groups;
pub mod plan;
pub mod protection;
mod secrets;
pub mod shared;
pub mod sweep;
pub mod targets;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use elbow_cloud::{Arn, Cloud, LoadBalancerFilter, TargetGroupFilter};
use elbow_model::{ResourceId, RuleSource, SecurityGroupRef, Stack, StackId, Tags, Target, TargetGroupReference};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{info, warn};

pub use changes::Changes;
pub use error::DeployError;
pub use protection::Integrations;

use crate::apply::Applier;
use crate::discovery::{ClusterIndex, StackEntry, discover_cluster, discover_stack, load_details};
use crate::node_groups::record::{self, MAX_RECORD_TAGS};
use crate::node_groups::{NodeGroups, NodeRules};
use crate::plan::PlanContext;
use crate::secrets::SentSecrets;

#[derive(Debug, Clone)]
pub struct DeploySettings {
    pub cluster_name: String,
    /// Where the shared backend security group lives.
    pub vpc_id: String,
    /// How long the known state is trusted before a full comparison with the cloud.
    pub drift_period: Duration,
    /// The WAF and Shield integrations in use.
    pub integrations: Integrations,
}

/// What a deploy did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeployOutcome {
    /// The load balancer's DNS name (lower case), when the stack has one.
    pub dns_name: Option<String>,
    pub load_balancer_arn: Option<String>,
    /// The load balancer's state as the cloud last reported it: `provisioning` (a new load
    /// balancer, for a few minutes), `active`, `active_impaired` or `failed`.
    pub load_balancer_state: Option<String>,
    /// Whether any change was made.
    pub changed: bool,
    /// What was changed, counted by kind of resource ("created 1 load balancer, 1 listener").
    pub changes: Changes,
}

pub struct Deployer {
    cloud: Arc<dyn Cloud>,
    settings: DeploySettings,
    /// A tokio mutex: a rebuild of the index is single-flight, and deploys wait for it. It is held
    /// only to read and write entries and to create or delete the shared backend group, never
    /// across a stack's own cloud calls.
    index: Mutex<Option<ClusterIndex>>,
    /// Deploys between checkout and check-in. The backend group is deleted only when the last
    /// stack is gone and no other deploy is under way (one may be about to attach the group).
    deploys_in_flight: AtomicUsize,
    applied: StdMutex<HashMap<StackId, Applied>>,
    /// The tags each stack's deploys asked for, by resource: how a tag Elbow set is told from one
    /// someone else set when it is no longer desired. Kept through failed deploys (which may have
    /// set some), dropped by [`Deployer::forget`]; lost on restart, when tags dropped from the
    /// desired state in the meantime stay.
    tags_asked: StdMutex<HashMap<StackId, BTreeMap<ResourceId, Tags>>>,
    /// Fingerprints of the OIDC client secrets each stack's deploys last sent, by listener or rule
    /// ARN: AWS never reports a secret, so this is the only way to tell a rotated one from an
    /// unchanged one. Lost on restart, when each listener and rule with a secret is sent it again
    /// once (`secrets`).
    secrets_sent: StdMutex<HashMap<StackId, SentSecrets>>,
    /// The node groups' rules and the locks under which stacks claim and release them.
    node_groups: NodeGroups,
    /// The Shield subscription state and WAFv2 web ACL names, asked once for every stack.
    protection_lookups: protection::Lookups,
    /// ACM certificates (certificate discovery) and trust store ARNs, each cached for a while.
    lookups: certificates::Caches,
}

struct Applied {
    hash: [u8; 32],
    at: Instant,
    outcome: DeployOutcome,
}

impl Deployer {
    pub fn new(cloud: Arc<dyn Cloud>, settings: DeploySettings) -> Self {
        Self {
            cloud,
            settings,
            index: Mutex::new(None),
            deploys_in_flight: AtomicUsize::new(0),
            applied: StdMutex::new(HashMap::new()),
            tags_asked: StdMutex::new(HashMap::new()),
            secrets_sent: StdMutex::new(HashMap::new()),
            node_groups: NodeGroups::default(),
            protection_lookups: protection::Lookups::default(),
            lookups: certificates::Caches::default(),
        }
    }

    /// The region's issued ACM certificates and the names each is for, for the Ingress builder's
    /// certificate discovery; cached (see [`certificates`]), so that reconciling many Ingresses
    /// costs one listing a minute.
    pub async fn acm_certificates(&self) -> Result<Vec<elbow_model::AcmCertificate>, DeployError> {
        self.lookups.certificates(self.cloud.as_ref()).await
    }

    pub async fn deploy(&self, desired: &Stack) -> Result<DeployOutcome, DeployError> {
        // The stack's need of node ports is recorded on its load balancer, like any tag it asks for.
        let (desired, record_tags) = record::with_record(desired);
        if record_tags > MAX_RECORD_TAGS {
            return Err(DeployError::NodePortsRecord { tags: record_tags, most: MAX_RECORD_TAGS });
        }
        let desired = &desired;
        let hash = stack_hash(desired);
        if let Some(outcome) = self.unchanged(&desired.id, &hash)
            && let Some(result) = self.sync_targets(desired, outcome).await
        {
            return result;
        }
        self.deploy_all(desired, hash).await
    }

    /// The quick path of a deploy whose stack is unchanged but for its targets: each target group's
    /// desired targets against those known to be registered (read by the last full comparison,
    /// and kept since), registered and deregistered in batches; no call when they are equal.
    /// `None` when the known state does not cover the stack (a full deploy then compares).
    async fn sync_targets(
        &self,
        desired: &Stack,
        outcome: DeployOutcome,
    ) -> Option<Result<DeployOutcome, DeployError>> {
        let known: Vec<(String, Vec<Target>)> = {
            let guard = self.index.lock().await;
            let entry = guard.as_ref()?.stacks.get(&desired.id).filter(|e| e.detailed && !e.rediscover)?;
            let mut known = Vec::with_capacity(desired.target_groups.len());
            for tg in &desired.target_groups {
                let actual = entry
                    .actual
                    .target_groups
                    .iter()
                    .find(|a| a.resource_id == tg.resource_id && a.tg.name == tg.name)?;
                known.push((actual.tg.arn.clone(), actual.targets.clone()));
            }
            known
        };
        let mut changes = Changes::default();
        let mut synced: Vec<(String, Vec<Target>)> = Vec::new();
        let mut failure = None;
        for ((arn, mut registered), spec) in known.into_iter().zip(&desired.target_groups) {
            let result = targets::sync(self.cloud.as_ref(), &arn, &spec.targets, &mut registered).await;
            // What a failed sync did register or deregister is recorded too.
            synced.push((arn, registered));
            match result {
                Ok(done) => {
                    changes.add((changes::Verb::Registered, changes::Kind::Target, done.register.len()));
                    changes.add((changes::Verb::Deregistered, changes::Kind::Target, done.deregister.len()));
                }
                Err(error) => {
                    failure = Some(DeployError::Apply { step: error.step, source: error.source });
                    break;
                }
            }
        }
        {
            let mut guard = self.index.lock().await;
            if let Some(entry) = guard.as_mut().and_then(|index| index.stacks.get_mut(&desired.id)) {
                for (arn, registered) in synced {
                    if let Some(tg) = entry.actual.target_groups.iter_mut().find(|t| t.tg.arn == arn) {
                        tg.targets = registered;
                    }
                }
            }
        }
        if let Some(error) = failure {
            // The next deploy compares everything again.
            self.forget_outcome(&desired.id);
            return Some(Err(error));
        }
        if !changes.is_empty() {
            info!(stack = %desired.id, changes = %changes, "synchronised targets");
        }
        Some(Ok(DeployOutcome { changed: !changes.is_empty(), changes, ..outcome }))
    }

    async fn deploy_all(&self, desired: &Stack, hash: [u8; 32]) -> Result<DeployOutcome, DeployError> {
        // Trust stores named rather than given by ARN are looked up before anything is compared:
        // the cloud reports ARNs. Before checkout, so that an unknown name changes nothing.
        let resolved;
        let desired = if desired.listeners.iter().any(|l| l.mutual_authentication.is_some()) {
            let mut stack = desired.clone();
            self.lookups.resolve_trust_stores(self.cloud.as_ref(), &mut stack).await?;
            resolved = stack;
            &resolved
        } else {
            desired
        };
        let cloud = self.cloud.as_ref();
        let foreign_target_groups = foreign_target_groups(cloud, desired).await?;
        let (mut entry, backend_group, in_flight) = self.checkout(desired).await?;
        if entry.rediscover {
            let (lb_names, tg_names) = names_of(desired, &entry);
            entry.actual = discover_stack(cloud, &self.settings.cluster_name, &desired.id, lb_names, tg_names)
                .await
                .map_err(DeployError::Discover)?;
            entry.detailed = false;
        }
        if !entry.detailed {
            load_details(cloud, &mut entry.actual, desired).await.map_err(DeployError::Discover)?;
        }

        if let Err(error) = plan::security_group_switch(desired, &entry.actual) {
            self.check_in(&desired.id, entry.actual, Some(&error), in_flight).await?;
            return Err(error);
        }
        let previous_tags = self.lock_tags().get(&desired.id).cloned().unwrap_or_default();
        let sent_secrets = self.lock_secrets().get(&desired.id).cloned().unwrap_or_default();
        let plan = plan::plan(
            desired,
            &entry.actual,
            &PlanContext {
                cluster: self.settings.cluster_name.clone(),
                backend_group: backend_group.clone(),
                previous_tags,
                sent_secrets,
                foreign_target_groups,
            },
        );
        let node_rules = NodeRules {
            groups: &self.node_groups,
            cluster: &self.settings.cluster_name,
            stack: &desired.id,
            backend_group: backend_group.as_deref(),
        };
        addresses::check_elastic_ips(cloud, &plan).await?;
        let kept = plan.bindings.clone();
        let mut reserved = Changes::default();
        if let Err(error) = capacity::converge_kept(cloud, desired, &entry.actual, &kept, &mut reserved).await {
            self.check_in(&desired.id, entry.actual, Some(&error), in_flight).await?;
            return Err(error);
        }
        let mut applier = Applier::new(cloud, node_rules, plan.bindings.clone(), entry.actual);
        let mut result = applier.run(plan).await;
        let mut changes = std::mem::take(&mut applier.changes);
        changes.extend(reserved);
        if result.is_ok() {
            let created = |id: &ResourceId| applier.binding(id).cloned();
            result = capacity::reserve_created(cloud, desired, &kept, created, &mut changes).await;
        }
        let protected = match &result {
            Ok(()) => self.protect(desired, &applier, &mut changes).await,
            Err(_) => Ok(()),
        };
        let outcome = DeployOutcome {
            dns_name: None,
            load_balancer_arn: None,
            load_balancer_state: None,
            changed: !changes.is_empty() || applier.applied_steps > 0,
            changes,
        };
        let outcome = with_load_balancer(outcome, desired, &applier);
        self.record_tags(desired, result.is_ok());
        self.record_secrets(&desired.id, std::mem::take(&mut applier.sent_secrets), &applier.actual);
        let released = self.check_in(&desired.id, applier.actual, result.as_ref().err(), in_flight).await;
        result?;
        released?;
        if let Err(error) = protected {
            // What was deployed is known (and checked in); the protection is asked again next time.
            self.forget_outcome(&desired.id);
            return Err(error);
        }
        if outcome.changed {
            info!(stack = %desired.id, changes = %outcome.changes, "deployed");
        }
        self.remember(&desired.id, hash, &outcome);
        Ok(outcome)
    }

    /// The web ACLs and Shield protection of the stack's load balancers, now that they exist.
    async fn protect(&self, desired: &Stack, applier: &Applier<'_>, changes: &mut Changes) -> Result<(), DeployError> {
        for lb in desired.load_balancers.iter().filter(|lb| !lb.protection.is_unset()) {
            let arn =
                applier.binding(&lb.resource_id).ok_or_else(|| DeployError::Unbound(lb.resource_id.to_string()))?;
            protection::apply(
                self.cloud.as_ref(),
                &self.protection_lookups,
                self.settings.integrations,
                &self.settings.cluster_name,
                &desired.id,
                lb,
                arn,
                changes,
            )
            .await?;
        }
        Ok(())
    }

    /// `outcome` with its load balancer's state read again from the cloud (one describe call).
    /// A new load balancer is `provisioning` for a few minutes, and a deploy that changes nothing
    /// answers from memory, with the state the load balancer had when it was last described; the
    /// state read here is remembered for the next such deploy.
    pub async fn refresh_state(&self, stack: &StackId, outcome: DeployOutcome) -> Result<DeployOutcome, DeployError> {
        let Some(arn) = outcome.load_balancer_arn.clone() else { return Ok(outcome) };
        let found = self
            .cloud
            .describe_load_balancers(LoadBalancerFilter::Arns(vec![arn]))
            .await
            .map_err(DeployError::Discover)?;
        let state = found.first().map(|lb| lb.state.clone());
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = applied.get_mut(stack) {
            last.outcome.load_balancer_state.clone_from(&state);
        }
        Ok(DeployOutcome { load_balancer_state: state, ..outcome })
    }

    /// The target groups of `stack` as the cluster index holds them after its last deploy: name
    /// and ARN of each. No cloud call; empty for a stack the index does not know (none deployed
    /// yet, or deleted).
    pub async fn target_group_arns(&self, stack: &StackId) -> BTreeMap<String, Arn> {
        let guard = self.index.lock().await;
        let Some(entry) = guard.as_ref().and_then(|index| index.stacks.get(stack)) else { return BTreeMap::new() };
        entry.actual.target_groups.iter().map(|tg| (tg.tg.name.clone(), tg.tg.arn.clone())).collect()
    }

    /// Drops what is known about a stack (after its deletion, or when its owner went away).
    pub fn forget(&self, stack: &StackId) {
        self.forget_outcome(stack);
        self.lock_tags().remove(stack);
        self.lock_secrets().remove(stack);
    }

    /// What a deploy sent joins what earlier ones did (a failed deploy's sent steps count too);
    /// listeners and rules that are gone, or that no longer have an OIDC action, are dropped.
    fn record_secrets(&self, stack: &StackId, sent: SentSecrets, actual: &actual::ActualStack) {
        let mut memory = self.lock_secrets();
        let known = memory.entry(stack.clone()).or_default();
        known.extend(sent);
        let has_oidc = |actions: &[elbow_model::Action<String>]| {
            actions.iter().any(|a| matches!(a, elbow_model::Action::AuthenticateOidc(_)))
        };
        let holders: std::collections::BTreeSet<&str> = actual
            .load_balancers
            .iter()
            .flat_map(|lb| {
                let listeners = lb.listeners.iter().filter(|l| has_oidc(&l.default_actions)).map(|l| l.arn.as_str());
                let rules = lb.rules.values().flatten().filter(|r| has_oidc(&r.actions)).map(|r| r.arn.as_str());
                listeners.chain(rules)
            })
            .collect();
        known.retain(|arn, _| holders.contains(arn.as_str()));
        if known.is_empty() {
            memory.remove(stack);
        }
    }

    fn lock_secrets(&self) -> std::sync::MutexGuard<'_, HashMap<StackId, SentSecrets>> {
        // Each update replaces or extends one entry, so a panic elsewhere cannot leave it torn.
        self.secrets_sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next deploy of the stack compares with the cloud, whatever it asks for.
    fn forget_outcome(&self, stack: &StackId) {
        self.applied.lock().unwrap_or_else(|p| p.into_inner()).remove(stack);
    }

    /// After a success the cloud has exactly the desired tags; after a failure it may have those
    /// of either deploy, so both are remembered.
    fn record_tags(&self, desired: &Stack, succeeded: bool) {
        let mut asked = self.lock_tags();
        let now = plan::desired_tags(desired);
        let entry = asked.entry(desired.id.clone()).or_default();
        if succeeded {
            *entry = now;
        } else {
            for (resource, tags) in now {
                entry.entry(resource).or_default().extend(tags);
            }
        }
        if entry.is_empty() {
            asked.remove(&desired.id);
        }
    }

    fn lock_tags(&self) -> std::sync::MutexGuard<'_, HashMap<StackId, BTreeMap<ResourceId, Tags>>> {
        // Each update replaces or extends one entry, so a panic elsewhere cannot leave it torn.
        self.tags_asked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached outcome of the last deploy, when `desired` has not changed since and the drift
    /// period has not passed.
    fn unchanged(&self, stack: &StackId, hash: &[u8; 32]) -> Option<DeployOutcome> {
        let applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        let last = applied.get(stack)?;
        (last.hash == *hash && last.at.elapsed() < self.settings.drift_period).then(|| DeployOutcome {
            changed: false,
            changes: Changes::default(),
            ..last.outcome.clone()
        })
    }

    fn remember(&self, stack: &StackId, hash: [u8; 32], outcome: &DeployOutcome) {
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        applied.insert(stack.clone(), Applied { hash, at: Instant::now(), outcome: outcome.clone() });
    }

    /// The stack's known state and the backend group id, after making sure the index is fresh,
    /// the desired names are not taken by foreign resources, and the backend group exists if the
    /// stack needs it.
    async fn checkout(&self, desired: &Stack) -> Result<(StackEntry, Option<String>, InFlight<'_>), DeployError> {
        let mut guard = self.index.lock().await;
        let stale = guard.as_ref().is_none_or(|index| index.built_at.elapsed() >= self.settings.drift_period);
        let index = match guard.take().filter(|_| !stale) {
            Some(index) => index,
            None => {
                let index = discover_cluster(self.cloud.as_ref(), &self.settings.cluster_name)
                    .await
                    .map_err(DeployError::Discover)?;
                // What the index found of the node rules is read again where they change.
                self.node_groups.read_again();
                self.node_groups.seed(index.node_port_needs(), index.range_groups());
                index
            }
        };
        let index = guard.insert(index);
        let entry = index.stacks.get(&desired.id).cloned().unwrap_or_default();
        check_names(desired, &entry, index)?;
        if uses_backend_group(desired) && index.backend_group.is_none() {
            let id =
                shared::create_backend_group(self.cloud.as_ref(), &self.settings.cluster_name, &self.settings.vpc_id)
                    .await?;
            index.backend_group = Some(id);
        }
        // Counted while the index is locked, so a check-in deciding to delete the backend group
        // either sees this deploy or runs before it read the group's id.
        let in_flight = InFlight::start(&self.deploys_in_flight);
        Ok((entry, index.backend_group.clone(), in_flight))
    }

    /// Records what the deploy left. Fails only when this was the last stack and the shared
    /// backend group could not be deleted; the next deploy of the (empty) stack tries again.
    async fn check_in(
        &self,
        stack: &StackId,
        actual: actual::ActualStack,
        error: Option<&DeployError>,
        in_flight: InFlight<'_>,
    ) -> Result<(), DeployError> {
        let succeeded = error.is_none();
        if !succeeded {
            self.forget_outcome(stack);
        }
        let mut guard = self.index.lock().await;
        // Under the lock: of two last stacks checked in one after the other, the second sees the
        // first done, and deletes the backend group.
        drop(in_flight);
        if error.is_some_and(DeployError::contradicts_known_state) {
            // Something the index vouched for is gone (the shared backend group deleted by hand,
            // say), or a name it thought free was taken since it was built (by a foreign load
            // balancer, which the rebuilt index reports as a conflict): the next deploy rebuilds it.
            *guard = None;
            return Ok(());
        }
        let Some(index) = guard.as_mut() else { return Ok(()) };
        if succeeded && actual.is_empty() {
            index.stacks.remove(stack);
            if index.stacks.is_empty() && self.deploys_in_flight.load(Ordering::SeqCst) == 0 {
                return self.release_backend_group(index).await.map(|_| ());
            }
        } else {
            index.stacks.insert(stack.clone(), StackEntry { actual, detailed: succeeded, rediscover: !succeeded });
        }
        Ok(())
    }

    /// Deletes the shared backend group once no stack of the cluster is left: nothing of Elbow's
    /// outlives its last load balancer. As with a stack's own groups, AWS refuses while a deleted
    /// load balancer's network interfaces still hold the group (DependencyViolation, for minutes
    /// after a network load balancer goes); that is a retryable error, so the last owner's
    /// finalizer stays until the group is gone.
    ///
    /// Returns how many range rules it revoked.
    async fn release_backend_group(&self, index: &mut ClusterIndex) -> Result<usize, DeployError> {
        // The range rules name the group as their source, so they go first; the range step reads
        // every load balancer's record before it revokes, so one made meanwhile by another
        // process keeps its rule (and then the group, which it uses).
        let cluster = StackId::new(shared::SHARED_STACK);
        let node_rules = NodeRules {
            groups: &self.node_groups,
            cluster: &self.settings.cluster_name,
            stack: &cluster,
            backend_group: index.backend_group.as_deref(),
        };
        let spanned = node_rules
            .span(self.cloud.as_ref(), &record::NodePorts::default())
            .await
            .map_err(|source| DeployError::Apply { step: "revoke the node port ranges".into(), source })?;
        let Some(id) = index.backend_group.take() else { return Ok(spanned.revoked) };
        match self.cloud.delete_security_group(&id).await {
            Ok(()) => {
                info!(group = %id, "deleted the shared backend security group: no load balancer is left");
                Ok(spanned.revoked)
            }
            Err(error) if error.kind == elbow_cloud::CloudErrorKind::NotFound => Ok(spanned.revoked),
            Err(source) => {
                warn!(group = %id, error = %source, "the shared backend security group could not be deleted yet");
                index.backend_group = Some(id.clone());
                Err(DeployError::Apply { step: format!("delete the shared backend security group {id}"), source })
            }
        }
    }
}

/// One deploy between checkout and check-in, counted in `deploys_in_flight` until dropped: by
/// its check-in, or wherever the deploy ends early with an error.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn start(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Desired load balancer and target group names must not belong to someone else: AWS answers a
/// create with an existing name and identical settings with the existing resource, so without
/// this check Elbow would silently adopt (and later delete) a load balancer that is not its own.
fn check_names(desired: &Stack, entry: &StackEntry, index: &ClusterIndex) -> Result<(), DeployError> {
    for lb in &desired.load_balancers {
        let ours = entry.actual.load_balancers.iter().any(|a| a.lb.name == lb.name);
        if !ours && index.foreign_load_balancer_names.contains(&lb.name) {
            return Err(DeployError::NameConflict { kind: "load balancer", name: lb.name.clone() });
        }
        let other = index
            .stacks
            .iter()
            .find(|(id, other)| **id != desired.id && other.actual.load_balancers.iter().any(|a| a.lb.name == lb.name));
        if let Some((owner, _)) = other {
            return Err(DeployError::NameTaken { kind: "load balancer", name: lb.name.clone(), owner: owner.clone() });
        }
    }
    for tg in &desired.target_groups {
        let ours = entry.actual.target_groups.iter().any(|a| a.tg.name == tg.name);
        if !ours && index.foreign_target_group_names.contains(&tg.name) {
            return Err(DeployError::NameConflict { kind: "target group", name: tg.name.clone() });
        }
        let other = index
            .stacks
            .iter()
            .find(|(id, other)| **id != desired.id && other.actual.target_groups.iter().any(|a| a.tg.name == tg.name));
        if let Some((owner, _)) = other {
            return Err(DeployError::NameTaken { kind: "target group", name: tg.name.clone(), owner: owner.clone() });
        }
    }
    Ok(())
}

fn uses_backend_group(stack: &Stack) -> bool {
    let backend = SecurityGroupRef::SharedBackend;
    stack.load_balancers.iter().any(|lb| lb.security_groups.contains(&backend))
        || stack.node_security_group_rules.iter().any(|r| r.rule.source == RuleSource::SecurityGroup(backend.clone()))
        || stack
            .security_groups
            .iter()
            .flat_map(|g| &g.ingress)
            .any(|r| r.source == RuleSource::SecurityGroup(backend.clone()))
}

/// The ARNs of the stack's foreign target groups: as given, or found by name with one
/// DescribeTargetGroups (no call when none is named by name). Nothing else is read or changed of
/// them.
async fn foreign_target_groups(
    cloud: &dyn Cloud,
    desired: &Stack,
) -> Result<BTreeMap<ResourceId, String>, DeployError> {
    let mut arns = BTreeMap::new();
    let mut by_name = Vec::new();
    for foreign in &desired.foreign_target_groups {
        match &foreign.reference {
            TargetGroupReference::Arn(arn) => {
                arns.insert(foreign.resource_id.clone(), arn.clone());
            }
            TargetGroupReference::Name(name) => by_name.push((foreign.resource_id.clone(), name.clone())),
        }
    }
    if by_name.is_empty() {
        return Ok(arns);
    }
    let names = by_name.iter().map(|(_, name)| name.clone()).collect();
    let found = cloud.describe_target_groups(TargetGroupFilter::Names(names)).await.map_err(DeployError::Discover)?;
    for (resource_id, name) in by_name {
        let tg = found.iter().find(|tg| tg.name == name).ok_or(DeployError::TargetGroupNameNotFound { name })?;
        arns.insert(resource_id, tg.arn.clone());
    }
    Ok(arns)
}

/// Names to look for when re-discovering a stack: the ones it wants and the ones it had.
fn names_of(desired: &Stack, entry: &StackEntry) -> (Vec<String>, Vec<String>) {
    let mut lbs: Vec<String> = desired.load_balancers.iter().map(|lb| lb.name.clone()).collect();
    lbs.extend(entry.actual.load_balancers.iter().map(|lb| lb.lb.name.clone()));
    lbs.sort();
    lbs.dedup();
    let mut tgs: Vec<String> = desired.target_groups.iter().map(|tg| tg.name.clone()).collect();
    tgs.extend(entry.actual.target_groups.iter().map(|tg| tg.tg.name.clone()));
    tgs.sort();
    tgs.dedup();
    (lbs, tgs)
}

fn with_load_balancer(mut outcome: DeployOutcome, desired: &Stack, applier: &Applier<'_>) -> DeployOutcome {
    let Some(spec) = desired.load_balancers.first() else { return outcome };
    let Some(arn) = applier.binding(&spec.resource_id) else { return outcome };
    if let Some(lb) = applier.actual.load_balancers.iter().find(|lb| &lb.lb.arn == arn) {
        outcome.dns_name = Some(lb.lb.dns_name.to_lowercase());
        outcome.load_balancer_arn = Some(lb.lb.arn.clone());
        outcome.load_balancer_state = Some(lb.lb.state.clone());
    }
    outcome
}

/// SHA-256 of the stack's JSON without its targets: equal stacks (the builders emit sorted lists)
/// hash equal, and a stack whose targets alone changed hashes as before (see [`targets`]).
fn stack_hash(stack: &Stack) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut without_targets = stack.clone();
    for tg in &mut without_targets.target_groups {
        tg.targets.clear();
    }
    // Serializing plain data with string keys cannot fail; an empty input would only cost a deploy.
    hasher.update(serde_json::to_vec(&without_targets).unwrap_or_default());
    secrets::hash_secrets(stack, &mut hasher);
    hasher.finalize().into()
}
