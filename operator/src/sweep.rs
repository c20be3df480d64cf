//! The orphan sweep's Kubernetes side: who owns a stack, read from the API server; the periodic
//! sweep `elbow run` runs while it leads; its flags, log lines and metrics. The sweep itself
//! (listing, grace period, deletion by deploying an empty stack) is `elbow_deploy::sweep`.
//!
//! An owner is read with plain LISTs, the verb the controllers' watches already hold, never from
//! the controllers' caches: the sweep asks after listing the cloud, and a fresh read from the API
//! server is what makes "owned when listed" hold (a cache may not have seen a new Service yet).
//! Asking about one Service or Ingress of its own again, just before deleting its stack, is a
//! LIST narrowed to its name; an Ingress group needs every Ingress, wherever its members are.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use clap::Args;
use elbow_builder::binding::{FINALIZER as BINDING_FINALIZER, TargetGroupBinding};
use elbow_builder::ingress::{GroupId, group_finalizer};
use elbow_builder::owner::StackOwner;
use elbow_deploy::Deployer;
use elbow_deploy::sweep::{OrphanAction, OrphanSweeper, OwnerState, Owners, SweepMode, SweepReport, SweepSettings};
use elbow_model::StackId;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use crate::controllers::service::FINALIZER as SERVICE_FINALIZER;
use crate::metrics::Metrics;
use crate::run::parse_duration;

/// `elbow run`'s orphan sweep flags.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// How often the leader looks for orphaned load balancers: resources tagged with this
    /// cluster whose Service or Ingress group is gone or no longer holds Elbow's finalizer.
    /// 0s turns the sweep off.
    #[arg(long, env = "ELBOW_ORPHAN_SWEEP_INTERVAL", default_value = "1h", value_parser = parse_duration)]
    pub orphan_sweep_interval: Duration,

    /// What the sweep does with an orphan: report (log and count it, change nothing) or delete
    /// it. report by default: deleting acts on the absence of an owner, and a wrong answer (a
    /// second cluster given the same name, a cluster restored from backup) would delete live
    /// load balancers; look at the reports first, then turn on delete.
    #[arg(long, env = "ELBOW_ORPHAN_SWEEP_MODE", default_value = "report", value_parser = parse_mode)]
    pub orphan_sweep_mode: SweepMode,

    /// How long a stack must have been orphaned (by its load balancer's creation time, or by
    /// sweeps that found it orphaned) before the sweep deletes it: a stack being created is
    /// never swept.
    #[arg(long, env = "ELBOW_ORPHAN_SWEEP_GRACE", default_value = "1h", value_parser = parse_duration)]
    pub orphan_sweep_grace: Duration,
}

impl SweepArgs {
    pub fn settings(&self) -> PeriodicSweep {
        PeriodicSweep {
            interval: self.orphan_sweep_interval,
            sweep: SweepSettings { mode: self.orphan_sweep_mode, grace: self.orphan_sweep_grace },
        }
    }
}

pub fn parse_mode(value: &str) -> Result<SweepMode, String> {
    value.parse()
}

/// The periodic sweep's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodicSweep {
    /// Zero: no sweep.
    pub interval: Duration,
    pub sweep: SweepSettings,
}

impl PeriodicSweep {
    /// Off: what the playground and tests that do not sweep run with.
    pub fn off() -> Self {
        Self { interval: Duration::ZERO, sweep: SweepSettings { mode: SweepMode::Report, grace: Duration::ZERO } }
    }
}

/// The longest wait for the first sweep after the controllers start: long enough for the
/// controllers to work through their start-up queue (the sweep's listing shares their AWS rate
/// limits), short enough that a replica that leads for less than an interval still sweeps.
const FIRST_SWEEP_DELAY: Duration = Duration::from_secs(60);

/// Objects per LIST page: the lists are read once per sweep, and a page is held whole.
const LIST_PAGE_SIZE: u32 = 500;

/// Owners as the API server has them now.
pub struct ClusterOwners {
    client: Client,
}

#[derive(Debug, thiserror::Error)]
#[error("failed to list {kind}")]
pub struct ReadOwnersError {
    kind: &'static str,
    #[source]
    source: kube::Error,
}

impl ClusterOwners {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn states(&self, stacks: &[StackId]) -> Result<HashMap<StackId, OwnerState>, ReadOwnersError> {
        let parsed: Vec<(StackId, StackOwner)> =
            stacks.iter().filter_map(|s| StackOwner::parse(s).map(|owner| (s.clone(), owner))).collect();
        let services = self.service_finalizers(&parsed).await?;
        let ingresses = self.ingress_finalizers(&parsed).await?;
        let bindings = self.binding_finalizers(&parsed).await?;
        let mut states = HashMap::new();
        for (stack, owner) in parsed {
            let owned = match &owner {
                StackOwner::Service { namespace, name } => services
                    .get(&(namespace.clone(), name.clone()))
                    .is_some_and(|finalizers| finalizers.contains(SERVICE_FINALIZER)),
                StackOwner::IngressGroup(group @ GroupId::Implicit { namespace, name }) => ingresses
                    .get(&(namespace.clone(), name.clone()))
                    .is_some_and(|finalizers| finalizers.contains(&group_finalizer(group))),
                // Owned while any member holds the group's finalizer: the last member to leave
                // deletes the group's load balancer before it lets go.
                StackOwner::IngressGroup(group @ GroupId::Explicit(_)) => {
                    let finalizer = group_finalizer(group);
                    ingresses.values().any(|finalizers| finalizers.contains(&finalizer))
                }
                StackOwner::TargetGroupBinding { namespace, name } => bindings
                    .get(&(namespace.clone(), name.clone()))
                    .is_some_and(|finalizers| finalizers.contains(BINDING_FINALIZER)),
            };
            states.insert(stack, if owned { OwnerState::Owned } else { OwnerState::Gone });
        }
        Ok(states)
    }

    /// The finalizers of the Services named by `owners`, by (namespace, name).
    async fn service_finalizers(&self, owners: &[(StackId, StackOwner)]) -> Result<Finalizers, ReadOwnersError> {
        let named: Vec<(&str, &str)> = owners
            .iter()
            .filter_map(|(_, owner)| match owner {
                StackOwner::Service { namespace, name } => Some((namespace.as_str(), name.as_str())),
                StackOwner::IngressGroup(_) | StackOwner::TargetGroupBinding { .. } => None,
            })
            .collect();
        let error = |source| ReadOwnersError { kind: "Services", source };
        match named.as_slice() {
            [] => Ok(Finalizers::new()),
            [(namespace, name)] => {
                finalizers(list_named::<Service>(&self.client, namespace, name).await.map_err(error)?)
            }
            _ => finalizers(list_all(&Api::<Service>::all(self.client.clone())).await.map_err(error)?),
        }
    }

    /// The finalizers of the Ingresses that may belong to the groups named by `owners`.
    async fn ingress_finalizers(&self, owners: &[(StackId, StackOwner)]) -> Result<Finalizers, ReadOwnersError> {
        let groups: Vec<&GroupId> = owners
            .iter()
            .filter_map(|(_, owner)| match owner {
                StackOwner::IngressGroup(group) => Some(group),
                StackOwner::Service { .. } | StackOwner::TargetGroupBinding { .. } => None,
            })
            .collect();
        let error = |source| ReadOwnersError { kind: "Ingresses", source };
        match groups.as_slice() {
            [] => Ok(Finalizers::new()),
            [GroupId::Implicit { namespace, name }] => {
                finalizers(list_named::<Ingress>(&self.client, namespace, name).await.map_err(error)?)
            }
            // An explicit group's members may be anywhere.
            _ => finalizers(list_all(&Api::<Ingress>::all(self.client.clone())).await.map_err(error)?),
        }
    }
}

impl ClusterOwners {
    /// The finalizers of the TargetGroupBindings named by `owners` (whose stacks hold only
    /// security-group rules).
    async fn binding_finalizers(&self, owners: &[(StackId, StackOwner)]) -> Result<Finalizers, ReadOwnersError> {
        let named: Vec<(&str, &str)> = owners
            .iter()
            .filter_map(|(_, owner)| match owner {
                StackOwner::TargetGroupBinding { namespace, name } => Some((namespace.as_str(), name.as_str())),
                StackOwner::Service { .. } | StackOwner::IngressGroup(_) => None,
            })
            .collect();
        let error = |source| ReadOwnersError { kind: "TargetGroupBindings", source };
        match named.as_slice() {
            [] => Ok(Finalizers::new()),
            [(namespace, name)] => {
                finalizers(list_named::<TargetGroupBinding>(&self.client, namespace, name).await.map_err(error)?)
            }
            _ => finalizers(list_all(&Api::<TargetGroupBinding>::all(self.client.clone())).await.map_err(error)?),
        }
    }
}

impl Owners for ClusterOwners {
    type Error = ReadOwnersError;

    fn owners(
        &self,
        stacks: &[StackId],
    ) -> impl Future<Output = Result<HashMap<StackId, OwnerState>, Self::Error>> + Send {
        self.states(stacks)
    }
}

type Finalizers = HashMap<(String, String), BTreeSet<String>>;

fn finalizers<K: ResourceExt>(objects: Vec<K>) -> Result<Finalizers, ReadOwnersError> {
    Ok(objects
        .into_iter()
        .map(|object| {
            let key = (object.namespace().unwrap_or_default(), object.name_any());
            (key, object.finalizers().iter().cloned().collect())
        })
        .collect())
}

/// Every object, page by page.
async fn list_all<K>(api: &Api<K>) -> Result<Vec<K>, kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut objects = Vec::new();
    let mut params = ListParams::default().limit(LIST_PAGE_SIZE);
    loop {
        let page = api.list(&params).await?;
        objects.extend(page.items);
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(objects),
        }
    }
}

/// The object `namespace/name`, if it exists: a LIST narrowed by name (the verb the controllers
/// hold already; a GET would need one more).
async fn list_named<K>(client: &Client, namespace: &str, name: &str) -> Result<Vec<K>, kube::Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api = Api::<K>::namespaced(client.clone(), namespace);
    Ok(api.list(&ListParams::default().fields(&format!("metadata.name={name}"))).await?.items)
}

/// Sweeps every `settings.interval` until `shutdown` resolves; the first sweep after at most
/// [`FIRST_SWEEP_DELAY`]. Runs only where the controllers run, so only on the leader. A failed
/// sweep is logged and tried again at the next interval.
pub async fn run_periodically(
    deployer: &Deployer,
    owners: &ClusterOwners,
    settings: &PeriodicSweep,
    metrics: &Metrics,
    shutdown: impl std::future::Future<Output = ()>,
) {
    if settings.interval.is_zero() {
        info!("the orphan sweep is off (--orphan-sweep-interval=0s)");
        return;
    }
    let first = tokio::time::Instant::now() + settings.interval.min(FIRST_SWEEP_DELAY);
    let mut ticks = tokio::time::interval_at(first, settings.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweeper = OrphanSweeper::new();
    let sweeps = async {
        loop {
            ticks.tick().await;
            match sweeper.sweep(deployer, owners, &settings.sweep, SystemTime::now()).await {
                Ok(report) => {
                    log_report(&report, &settings.sweep);
                    metrics.record_sweep(&report);
                }
                Err(error) => {
                    metrics.record_sweep_failed();
                    warn!(error = %crate::controllers::error_chain(&error), "the orphan sweep failed; trying again at the next interval");
                }
            }
        }
    };
    tokio::select! {
        () = sweeps => {}
        () = shutdown => {}
    }
}

/// One log line per orphaned stack (its key, its resources, what was done), warning when it is
/// left in place, and a summary.
pub fn log_report(report: &SweepReport, settings: &SweepSettings) {
    for orphan in &report.orphans {
        let (stack, resources, action) = (orphan.stack.as_str(), &orphan.resources, &orphan.action);
        let age = format!("{}s", orphan.age.as_secs());
        match action {
            OrphanAction::Deleted { .. } => {
                info!(stack, %resources, %age, action = %action, "deleted an orphaned stack")
            }
            OrphanAction::Failed { .. } => {
                warn!(stack, %resources, %age, action = %action, "failed to delete an orphaned stack");
            }
            OrphanAction::OwnerReturned => {
                info!(stack, %resources, action = %action, "kept a stack: its owner is back")
            }
            _ => warn!(stack, %resources, %age, action = %action, "found an orphaned stack: its owner is gone"),
        }
    }
    info!(
        mode = settings.mode.as_str(),
        orphaned = report.orphans.len(),
        left = report.left().count(),
        owned = report.owned,
        unrecognised = report.unrecognised.len(),
        "orphan sweep done"
    );
}
