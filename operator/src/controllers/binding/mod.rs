//! The TargetGroupBinding controller: keeps a target group made outside Kubernetes filled with
//! a Service's nodes or pods, and the binding's sources admitted to them. It never creates,
//! changes or deletes the target group.
//!
//! One reconcile:
//!
//! ```text
//! finalizer ─> the group (DescribeTargetGroups, then known) ─> check_group ─> desired targets
//!   ─> networking rules checked ─> targets synchronised: status records the binding's own
//!      targets first, then Register/DeregisterTargets in batches (elbow_deploy::targets)
//!   ─> the rules deployed as the binding's stack ─> status, condition, event
//! ```
//!
//! Only the binding's own targets are ever deregistered: a target someone else registered with
//! the group (Terraform, another cluster) stays, whatever the binding wants. A Service or port
//! that does not exist empties the group of the binding's targets (and removes its rules) until
//! it is back; any other mistake leaves the group as it is. Deleting the binding deregisters its
//! targets, deploys its stack empty, and releases the finalizer.

pub mod known;
pub mod status;
pub mod target_group;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::events::{QUIC_SERVER_ID_MISSING, quic_server_id_missing};
use elbow_builder::binding::{
    Backends, BindingError, DesiredTargets, FINALIZER, TargetGroupBinding, binding_stack, check_group, desired_targets,
    permissions,
};
use elbow_builder::endpoints::CompactSlice;
use elbow_builder::owner::StackOwner;
use elbow_builder::security::node_groups;
use elbow_cloud::{Cloud, CloudErrorKind};
use elbow_deploy::targets::{self, TargetChanges};
use elbow_model::{Stack, StackId, Target, TargetType};
use k8s_openapi::api::core::v1::{Node, Service};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};
use tokio::time::Instant;
use tracing::info;

use self::known::{Known, KnownGroups};
use self::status::{READY, StatusWriter, Update, reasons};
use super::backoff::ObjectBackoff;
use super::conditions::Wanted;
use super::{Error, error_chain, finalizers, instrumented, object_name, retry_after};
use crate::context::Context;

/// Event reasons as the AWS Load Balancer Controller names them for its bindings.
mod events {
    pub const RECONCILED: &str = "SuccessfullyReconciled";
    pub const BACKEND_NOT_FOUND: &str = "BackendNotFound";
    pub const FAILED: &str = "FailedReconcile";
    pub const CLEANUP_FAILED: &str = "FailedCleanup";
}

pub struct BindingContext {
    pub shared: Arc<Context>,
    /// The one Service cache (`runtime::services`).
    pub services: Store<Service>,
    pub cloud: Arc<dyn Cloud>,
    pub known: KnownGroups,
    pub backoff: ObjectBackoff<ObjectRef<TargetGroupBinding>>,
    /// How long what is known of a target group is trusted (the deployer's drift period).
    pub drift_period: Duration,
}

/// The stack that holds a binding's security-group rules.
pub fn stack_id(binding: &TargetGroupBinding) -> StackId {
    StackOwner::TargetGroupBinding { namespace: binding.namespace().unwrap_or_default(), name: binding.name_any() }
        .stack_id()
}

/// Whether `binding` is bound to `service`.
pub fn names_service(binding: &TargetGroupBinding, service: &ObjectRef<Service>) -> bool {
    binding.spec.service_ref.name == service.name && binding.namespace() == service.namespace
}

pub async fn reconcile(binding: Arc<TargetGroupBinding>, ctx: Arc<BindingContext>) -> Result<Action, Error> {
    let work = reconcile_inner(&binding, &ctx);
    instrumented("targetgroupbinding", binding.as_ref(), &ctx.shared.metrics, &ctx.backoff, work).await
}

/// Failed reconciles come back after a per-binding exponential delay; mistakes when the binding
/// changes, or, for a target group that does not exist yet, once the inventory period passed.
pub fn error_policy(binding: Arc<TargetGroupBinding>, error: &Error, ctx: Arc<BindingContext>) -> Action {
    retry_after(error, binding.as_ref(), &ctx.backoff, ctx.shared.inventory.ttl())
}

async fn reconcile_inner(binding: &TargetGroupBinding, ctx: &BindingContext) -> Result<Action, Error> {
    let api: Api<TargetGroupBinding> =
        Api::namespaced(ctx.shared.client.clone(), &binding.namespace().unwrap_or_default());
    if binding.metadata.deletion_timestamp.is_some() {
        if binding.finalizers().iter().any(|f| f == FINALIZER) {
            clean_up(&api, binding, ctx).await?;
        }
        return Ok(Action::await_change());
    }
    let binding = finalizers::add(&api, binding, FINALIZER).await?.unwrap_or_else(|| binding.clone());
    let mut status = StatusWriter::new(&api, &binding);
    match serve(&binding, ctx, &mut status).await {
        Ok(action) => Ok(action),
        Err(error) => {
            report_failure(&binding, ctx, &mut status, &error).await;
            Err(error)
        }
    }
}

/// Everything but the finalizer: see the module documentation.
async fn serve(
    binding: &TargetGroupBinding,
    ctx: &BindingContext,
    status: &mut StatusWriter<'_>,
) -> Result<Action, Error> {
    // A Service missing from an unfilled cache would empty the group.
    ctx.services.wait_until_ready().await.map_err(|_| Error::ServiceCacheClosed)?;
    let object = object_name(binding);
    let invalid = |source| Error::InvalidBinding { object: object.clone(), source };
    let namespace = binding.namespace().unwrap_or_default();
    let spec = &binding.spec;

    let mut known = known_group(binding, ctx, status).await?;
    let target_type = check_group(spec, &known.group).map_err(invalid)?;
    let cached_nodes = ctx.shared.nodes.state();
    let nodes: Vec<&Node> = cached_nodes.iter().map(AsRef::as_ref).collect();
    let slices = match target_type {
        TargetType::Ip => ctx.shared.slices_of(&namespace, &[&spec.service_ref.name]),
        TargetType::Instance => Vec::new(),
    };
    let slices: Vec<&CompactSlice> = slices.iter().map(|slice| &slice.0).collect();
    let service = ctx.services.get(&ObjectRef::new(&spec.service_ref.name).within(&namespace));
    let built = desired_targets(
        &namespace,
        spec,
        target_type,
        &Backends {
            service: service.as_deref(),
            nodes: &nodes,
            slices: &slices,
            pods: ctx.shared.readiness.pods.as_ref(),
            quic: known.group.protocol.is_quic(),
        },
    );
    let (desired, missing) = match built {
        Ok(desired) => (desired, None),
        Err(error) if error.backend_missing() => (DesiredTargets::default(), Some(error)),
        Err(error) => return Err(invalid(error)),
    };
    // Checked before anything changes: a mistake in the rules leaves the targets as they are.
    let wanted_rules = match missing {
        None => permissions(spec.networking.as_ref(), target_type, &desired).map_err(invalid)?,
        Some(_) => Vec::new(),
    };

    let changes = synchronise(binding, ctx, status, &mut known, &desired.targets).await?;
    let stack = rules_stack(binding, ctx, &wanted_rules, &desired).await.map_err(|e| match e {
        RulesError::Invalid(source) => invalid(source),
        RulesError::Other(error) => error,
    })?;
    ctx.shared.deployer.deploy(&stack).await.map_err(|source| Error::Deploy { stack: stack.id.to_string(), source })?;

    let arn = known.group.arn.clone();
    let (ready_status, reason, message) = match &missing {
        Some(error) => (
            "False",
            error.reason(),
            format!("{error}; the binding's targets are deregistered from {arn} until it is back"),
        ),
        None => {
            let count = desired.targets.len();
            let noun = if count == 1 { "target" } else { "targets" };
            let (service, port) = (&spec.service_ref.name, port_text(&spec.service_ref.port));
            (
                "True",
                reasons::RECONCILED,
                format!("target group {arn} holds the {count} {noun} of Service {namespace}/{service} port {port}"),
            )
        }
    };
    let ready = Wanted { type_: READY, status: ready_status, reason, message: &message };
    let condition_changed = !status.current.conditions.iter().flatten().any(|c| {
        c.type_ == READY && c.reason == ready.reason && c.message == ready.message && c.status == ready.status
    });
    status
        .write(Update {
            target_group_arn: Some(&arn),
            target_type: Some(target_type),
            registered: Some(&known.owned),
            observed_generation: binding.metadata.generation,
            ready: Some(ready),
        })
        .await?;
    if !desired.without_server_id.is_empty() && (condition_changed || !changes.is_empty()) {
        let note = quic_server_id_missing(&desired.without_server_id);
        ctx.shared.events.publish(binding, EventType::Warning, QUIC_SERVER_ID_MISSING, &note).await;
    }
    match &missing {
        // Once per change of what is missing, not on every node heartbeat that wakes the binding.
        Some(_) if condition_changed => {
            ctx.shared.events.publish(binding, EventType::Warning, events::BACKEND_NOT_FOUND, &message).await;
        }
        Some(_) => {}
        None if !changes.is_empty() => {
            let note = format!(
                "registered {}, deregistered {} target(s) of {arn}",
                changes.register.len(),
                changes.deregister.len()
            );
            info!(%note, "synchronised targets");
            ctx.shared.events.publish(binding, EventType::Normal, events::RECONCILED, &note).await;
        }
        None => {}
    }
    Ok(Action::requeue(ctx.shared.settings.resync_period))
}

/// What is known of the binding's group: from memory within the drift period, else described
/// again, with the targets registered with it and those the binding registered (remembered, or
/// from its status after a restart).
async fn known_group(
    binding: &TargetGroupBinding,
    ctx: &BindingContext,
    status: &StatusWriter<'_>,
) -> Result<Known, Error> {
    let uid = binding.uid().unwrap_or_default();
    if let Some(known) = ctx.known.fresh(&uid, ctx.drift_period) {
        return Ok(known);
    }
    let group = target_group::find(ctx.cloud.as_ref(), &binding.spec, &object_name(binding)).await?;
    let registered = read_registered(ctx.cloud.as_ref(), &group.arn).await?;
    let owned = ctx.known.owned(&uid).unwrap_or_else(|| status.registered());
    let known = Known { group, registered, owned, read_at: Some(Instant::now()) };
    ctx.known.keep(&uid, known.clone());
    Ok(known)
}

async fn read_registered(cloud: &dyn Cloud, arn: &str) -> Result<Vec<Target>, Error> {
    targets::registered_targets(cloud, arn)
        .await
        .map_err(|source| Error::Targets { step: format!("read the targets registered with {arn}"), source })
}

/// Registers what is desired and missing, deregisters the binding's own targets that are no
/// longer desired. The status records every target about to be registered before the call, so
/// that a crash in between leaves it the binding's, to deregister later.
async fn synchronise(
    binding: &TargetGroupBinding,
    ctx: &BindingContext,
    status: &mut StatusWriter<'_>,
    known: &mut Known,
    desired: &[Target],
) -> Result<TargetChanges, Error> {
    let uid = binding.uid().unwrap_or_default();
    let changes = TargetChanges::for_owner(desired, &known.registered, &known.owned);
    if changes.is_empty() {
        return Ok(changes);
    }
    let mut intent: Vec<Target> = known.owned.iter().chain(&changes.register).cloned().collect();
    intent.sort();
    intent.dedup();
    status.write(Update { registered: Some(&intent), ..Update::default() }).await?;
    known.owned = intent;
    ctx.known.keep(&uid, known.clone());

    let arn = known.group.arn.clone();
    let result = targets::apply(ctx.cloud.as_ref(), &arn, &changes, &mut known.registered).await;
    // Owned: what the binding registered and is still registered (a target it deregistered, or
    // someone else did, is no longer its own).
    let registered: BTreeSet<&Target> = known.registered.iter().collect();
    known.owned.retain(|t| registered.contains(t));
    if let Err(error) = &result {
        // What the failed call did is unknown: read the group again next time.
        known.read_at = None;
        if error.source.kind == CloudErrorKind::NotFound {
            // The group went (replaced by Terraform, say): look it up again by its name.
            known.registered.clear();
        }
    }
    ctx.known.keep(&uid, known.clone());
    match result {
        Ok(()) => Ok(changes),
        Err(error) => {
            // Best effort: the status written before the call already holds every target that
            // may be the binding's.
            let _ = status.write(Update { registered: Some(&known.owned), ..Update::default() }).await;
            Err(Error::Targets { step: error.step, source: error.source })
        }
    }
}

enum RulesError {
    Invalid(BindingError),
    Other(Error),
}

/// The binding's stack: its rules on the security groups of the nodes its targets are, or run,
/// on. Reads the cloud inventory only when there are rules at all.
async fn rules_stack(
    binding: &TargetGroupBinding,
    ctx: &BindingContext,
    wanted: &[elbow_model::IngressRule],
    desired: &DesiredTargets<'_>,
) -> Result<Stack, RulesError> {
    let id = stack_id(binding);
    if wanted.is_empty() || desired.nodes.is_empty() {
        return Ok(Stack::empty(id));
    }
    let inventory =
        ctx.shared.inventory.get(&desired.nodes).await.map_err(|e| RulesError::Other(Error::Inventory(e)))?;
    let groups = node_groups(&desired.nodes, &inventory, &ctx.shared.build.cluster_name)
        .map_err(|e| RulesError::Invalid(BindingError::Build(e)))?;
    Ok(binding_stack(id, wanted, &groups))
}

/// Deregisters the binding's own targets, removes its rules, then releases the finalizer.
/// Idempotent, and copes with a group that is gone or was never found.
async fn clean_up(
    api: &Api<TargetGroupBinding>,
    binding: &TargetGroupBinding,
    ctx: &BindingContext,
) -> Result<(), Error> {
    let mut status = StatusWriter::new(api, binding);
    let uid = binding.uid().unwrap_or_default();
    let result = async {
        match target_group::find(ctx.cloud.as_ref(), &binding.spec, &object_name(binding)).await {
            Ok(group) => {
                let mut registered = read_registered(ctx.cloud.as_ref(), &group.arn).await?;
                let owned = ctx.known.owned(&uid).unwrap_or_else(|| status.registered());
                let changes = TargetChanges::for_owner(&[], &registered, &owned);
                let result = targets::apply(ctx.cloud.as_ref(), &group.arn, &changes, &mut registered).await;
                if let Err(error) = result {
                    let still: Vec<Target> = owned.into_iter().filter(|t| registered.contains(t)).collect();
                    let _ = status.write(Update { registered: Some(&still), ..Update::default() }).await;
                    return Err(Error::Targets { step: error.step, source: error.source });
                }
                if !changes.is_empty() {
                    info!(deregistered = changes.deregister.len(), group = %group.arn, "deregistered the binding's targets");
                }
            }
            // Nothing registered with a group that does not exist.
            Err(Error::InvalidBinding { source: BindingError::TargetGroupNotFound(_) | BindingError::NoTargetGroup, .. }) => {}
            Err(error) => return Err(error),
        }
        let empty = Stack::empty(stack_id(binding));
        ctx.shared.deployer.deploy(&empty).await.map_err(|source| Error::Deploy { stack: empty.id.to_string(), source })?;
        ctx.shared.deployer.forget(&empty.id);
        Ok(())
    }
    .await;
    if let Err(error) = &result {
        let message = format!("failed to clean up: {}", error_chain(error));
        ctx.shared.events.publish(binding, EventType::Warning, events::CLEANUP_FAILED, &message).await;
        let ready = Wanted { type_: READY, status: "False", reason: reasons::CLEANUP_FAILED, message: &message };
        let _ = status.write(Update { ready: Some(ready), ..Update::default() }).await;
        return result;
    }
    ctx.known.forget(&uid);
    finalizers::remove(api, binding, FINALIZER).await?;
    info!("released");
    Ok(())
}

/// Shows a failed reconcile on the binding: a Warning event and the `Ready` condition, with the
/// same message. A failure to write the condition is only logged.
async fn report_failure(
    binding: &TargetGroupBinding,
    ctx: &BindingContext,
    status: &mut StatusWriter<'_>,
    error: &Error,
) {
    let (reason, message) = match error {
        Error::InvalidBinding { source, .. } => (source.reason(), source.to_string()),
        other => (reasons::FAILED, error_chain(other)),
    };
    ctx.shared.events.publish(binding, EventType::Warning, events::FAILED, &message).await;
    let ready = Wanted { type_: READY, status: "False", reason, message: &message };
    if let Err(status_error) = status.write(Update { ready: Some(ready), ..Update::default() }).await {
        tracing::warn!(error = %error_chain(&status_error), "could not show the failure in the binding's condition");
    }
}

fn port_text(port: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString) -> String {
    match port {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(number) => number.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(name) => name.clone(),
    }
}
