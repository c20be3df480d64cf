//! The Ingress controller: one ALB per Ingress group, shared by every member Ingress.
//!
//! A reconcile is triggered by one Ingress but acts on whole groups, under the group's lock:
//! 1. the groups the Ingress carries a finalizer for but no longer belongs to (deleted, class
//!    changed away from Elbow, group renamed) are deployed without it, then that finalizer goes;
//! 2. if the Ingress is ours, its group's finalizer is added before any cloud call, the group's
//!    stack is built from all members (a user error is reported on every member and changes
//!    nothing) and deployed, and every member's status gets the ALB's DNS name. New Ingresses of
//!    the group not yet reconciled are adopted first (their finalizer added), so that members
//!    created together cost one deploy, not one each.
//!
//! The last member leaving deploys the empty stack, which deletes the ALB.

mod context;
mod membership;
mod status;

use std::collections::BTreeSet;
use std::sync::Arc;

use elbow_builder::BuildError;
use elbow_builder::crd::IngressClassParamsSpec;
use elbow_builder::endpoints::CompactSlice;
use elbow_builder::ingress::{
    GroupId, IngressGroupInput, build_ingress_stack, discovers_certificates, group_finalizer, group_stack_id,
    referenced_secret_names, security_groups_named,
};
use elbow_deploy::DeployOutcome;
use elbow_model::Stack;
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use tracing::{debug, info};

pub use context::IngressContext;
pub use elbow_builder::ingress::referenced_service_names;
pub use elbow_builder::ingress::{Standing, joined_groups};
pub use membership::ClassView;

use super::{Error, error_chain, finalizers, instrumented, object_name, retry_after};
use crate::runtime::endpoints::CachedSlice;
use crate::runtime::secrets::SecretKey;

/// Event reasons as the AWS Load Balancer Controller names them, so existing alerts keep working.
mod reasons {
    pub const RECONCILED: &str = "SuccessfullyReconciled";
    pub const BUILD_FAILED: &str = "FailedBuildModel";
    pub const DEPLOY_FAILED: &str = "FailedDeployModel";
    pub const CLEANUP_FAILED: &str = "FailedCleanup";
    /// Elbow's own: the AWS Load Balancer Controller fails the whole group instead.
    pub const MISSING_SERVICE: &str = "BackendServiceNotFound";
}

pub async fn reconcile(ingress: Arc<Ingress>, ctx: Arc<IngressContext>) -> Result<Action, Error> {
    instrumented("ingress", ingress.as_ref(), &ctx.shared.metrics, &ctx.backoff, reconcile_inner(&ingress, &ctx)).await
}

/// Failed reconciles come back after a per-Ingress exponential delay; user errors when the
/// Ingress changes (or the cloud inventory does, for those that depend on it).
pub fn error_policy(ingress: Arc<Ingress>, error: &Error, ctx: Arc<IngressContext>) -> Action {
    retry_after(error, ingress.as_ref(), &ctx.backoff, ctx.shared.inventory.ttl())
}

async fn reconcile_inner(ingress: &Ingress, ctx: &IngressContext) -> Result<Action, Error> {
    let api: Api<Ingress> = Api::namespaced(ctx.shared.client.clone(), &ingress.namespace().unwrap_or_default());
    let view = ctx.class_view();
    let standing = view.standing(ingress);
    let current = match &standing {
        Standing::Member { group, .. } => Some(group.clone()),
        _ => None,
    };

    let mut ingress = ingress.clone();
    for old in joined_groups(&ingress).into_iter().filter(|g| Some(g) != current.as_ref()) {
        ingress = leave(&api, &ingress, &old, &view, ctx).await?;
    }

    if !matches!(standing, Standing::Member { .. }) {
        // No build of this Ingress will read a Secret any more.
        ctx.secrets.monitor(&ObjectRef::from_obj(&ingress), &BTreeSet::new());
    }
    match standing {
        Standing::Outside => {
            if ingress.metadata.deletion_timestamp.is_none()
                && let Some(warning) = view.unserved_legacy_class(&ingress)
            {
                ctx.shared
                    .events
                    .publish(&ingress, EventType::Warning, reasons::BUILD_FAILED, &warning.to_string())
                    .await;
            }
            Ok(Action::await_change())
        }
        Standing::Invalid(source) => {
            ctx.shared.events.publish(&ingress, EventType::Warning, reasons::BUILD_FAILED, &source.to_string()).await;
            Err(Error::Invalid { object: object_name(&ingress), source })
        }
        Standing::Member { group, params } => {
            if let Err(error) = namespace_allowed(&ingress, params.as_ref(), ctx).await {
                if let Error::Invalid { source, .. } = &error {
                    let note = source.to_string();
                    ctx.shared.events.publish(&ingress, EventType::Warning, reasons::BUILD_FAILED, &note).await;
                }
                return Err(error);
            }
            join(&api, &ingress, &group, params.as_ref(), &view, ctx).await
        }
    }
}

/// Deploys `group` without `ingress`, then releases the group's finalizer and clears the status
/// Elbow wrote. Returns the Ingress as it is after the finalizer patch.
async fn leave(
    api: &Api<Ingress>,
    ingress: &Ingress,
    group: &GroupId,
    view: &ClassView,
    ctx: &IngressContext,
) -> Result<Ingress, Error> {
    let _turn = ctx.group_locks.lock(&group_stack_id(group)).await;
    let leaving = ObjectRef::from_obj(ingress);
    let members: Vec<Arc<Ingress>> = view
        .members(&ctx.ingresses, group)
        .into_iter()
        .filter(|m| ObjectRef::from_obj(m.as_ref()) != leaving)
        .collect();
    let params = members.first().and_then(|m| match view.standing(m) {
        Standing::Member { params, .. } => params,
        _ => None,
    });
    match deploy_group(group, &members, params.as_ref(), ctx).await {
        Ok(outcome) => {
            if members.is_empty() {
                ctx.shared.deployer.forget(&group_stack_id(group));
            }
            write_hostnames(ctx, &members, outcome.dns_name.as_deref()).await?;
        }
        // The remaining members are inconsistent: their load balancer cannot be rebuilt without
        // this Ingress now; it keeps its finalizer until the group is fixed.
        Err(Error::Invalid { source, .. }) => {
            let note = format!("cannot remove this Ingress from group {}: {source}", group_name(group));
            ctx.shared.events.publish(ingress, EventType::Warning, reasons::CLEANUP_FAILED, &note).await;
            return Ok(ingress.clone());
        }
        Err(error) => {
            let note = format!("failed to remove this Ingress from its load balancer: {}", error_chain(&error));
            ctx.shared.events.publish(ingress, EventType::Warning, reasons::CLEANUP_FAILED, &note).await;
            return Err(error);
        }
    }
    if ingress.metadata.deletion_timestamp.is_none() {
        status::clear_hostname(api, ingress).await?;
    }
    let released = finalizers::remove(api, ingress, &group_finalizer(group)).await?;
    info!(group = %group_name(group), "left its group");
    Ok(released.unwrap_or_else(|| ingress.clone()))
}

/// Adds the group finalizer, then deploys the group with this Ingress and writes every member's
/// status.
async fn join(
    api: &Api<Ingress>,
    ingress: &Ingress,
    group: &GroupId,
    params: Option<&IngressClassParamsSpec>,
    view: &ClassView,
    ctx: &IngressContext,
) -> Result<Action, Error> {
    let _turn = ctx.group_locks.lock(&group_stack_id(group)).await;
    let ingress = finalizers::add(api, ingress, &group_finalizer(group)).await?.unwrap_or_else(|| ingress.clone());
    let this = ObjectRef::from_obj(&ingress);
    let roster = view.roster(&ctx.ingresses, group);
    let mut members: Vec<Arc<Ingress>> =
        roster.members.into_iter().filter(|m| ObjectRef::from_obj(m.as_ref()) != this).collect();
    for (arrival, arrival_params) in roster.arrivals {
        if ObjectRef::from_obj(arrival.as_ref()) != this
            && let Some(adopted) = adopt(&arrival, arrival_params.as_ref(), group, ctx).await
        {
            members.push(Arc::new(adopted));
        }
    }
    members.push(Arc::new(ingress.clone()));

    let outcome = match deploy_group(group, &members, params, ctx).await {
        Ok(outcome) => outcome,
        Err(error) => {
            // Every member shares the load balancer, so every member hears why it is not
            // up to date, with one Warning each.
            let (reason, note) = match &error {
                Error::Invalid { source, .. } => (reasons::BUILD_FAILED, source.to_string()),
                other => {
                    (reasons::DEPLOY_FAILED, format!("failed to provision the load balancer: {}", error_chain(other)))
                }
            };
            publish_to_members(ctx, &members, EventType::Warning, reason, &note).await;
            return Err(error);
        }
    };
    if outcome.changed {
        let note = format!("group {}: {}", group_name(group), outcome.changes);
        publish_to_members(ctx, &members, EventType::Normal, reasons::RECONCILED, &note).await;
    }
    warn_of_missing_services(ctx, &members).await;
    write_hostnames(ctx, &members, outcome.dns_name.as_deref()).await?;
    Ok(Action::requeue(ctx.shared.settings.resync_period))
}

/// Gives a new arrival the group's finalizer so that this deploy includes it. Without this, a
/// group whose members are created together is redeployed once per member, each time moving
/// rules to new priorities. `None` when the arrival is left to its own reconcile, which is the
/// authority on it and reports its own errors: its namespace is refused, or the patch failed
/// (deleted or changed meanwhile).
async fn adopt(
    arrival: &Ingress,
    params: Option<&IngressClassParamsSpec>,
    group: &GroupId,
    ctx: &IngressContext,
) -> Option<Ingress> {
    if namespace_allowed(arrival, params, ctx).await.is_err() {
        return None;
    }
    let api: Api<Ingress> = Api::namespaced(ctx.shared.client.clone(), &arrival.namespace().unwrap_or_default());
    match finalizers::add(&api, arrival, &group_finalizer(group)).await {
        Ok(updated) => Some(updated.unwrap_or_else(|| arrival.clone())),
        Err(error) => {
            debug!(arrival = %ObjectRef::from_obj(arrival), error = %error_chain(&error), "not adopted into its group now; its own reconcile will join it");
            None
        }
    }
}

/// Builds and deploys the group's stack. [`Error::Invalid`] is the users' to fix.
async fn deploy_group(
    group: &GroupId,
    members: &[Arc<Ingress>],
    params: Option<&IngressClassParamsSpec>,
    ctx: &IngressContext,
) -> Result<DeployOutcome, Error> {
    let stack = if members.is_empty() {
        Stack::empty(group_stack_id(group))
    } else {
        // Pointers into the node cache, not copies of every node (see the Service controller).
        let cached_nodes = ctx.shared.nodes.state();
        let nodes: Vec<&Node> = cached_nodes.iter().map(AsRef::as_ref).collect();
        let member_refs: Vec<&Ingress> = members.iter().map(|m| m.as_ref()).collect();
        let group_names = security_groups_named(&member_refs);
        let inventory = ctx.shared.inventory.get_with_groups(&nodes, &group_names).await.map_err(Error::Inventory)?;
        // The Services come from the Service controller's cache, which fills only once that
        // controller runs, so the Ingress controller starts without waiting for it. Built from a
        // cache not yet filled, a rule whose Service is missing would answer a fixed 503.
        ctx.services.wait_until_ready().await.map_err(|_| Error::ServiceCacheClosed)?;
        let services = referenced_services(members, &ctx.services.state());
        let secrets = referenced_secrets(members, &services, ctx).await;
        let slices = referenced_slices(&services, &ctx.shared.endpoint_slices.state());
        let slices: Vec<&CompactSlice> = slices.iter().map(|slice| &slice.0).collect();
        let member_refs: Vec<&Ingress> = members.iter().map(|m| m.as_ref()).collect();
        // Certificate discovery: asked of ACM (through the deployer's caches) only when a member
        // needs it, so that groups naming their certificates cost no ACM call.
        let certificates = if discovers_certificates(&member_refs, params) {
            ctx.shared
                .deployer
                .acm_certificates()
                .await
                .map_err(|source| Error::Deploy { stack: group_stack_id(group).to_string(), source })?
        } else {
            Vec::new()
        };
        let input = IngressGroupInput {
            group,
            members: member_refs,
            services: &services,
            secrets: &secrets,
            nodes: &nodes,
            endpoint_slices: &slices,
            pods: ctx.shared.readiness.pods.as_ref(),
            inventory: &inventory,
            certificates: &certificates,
            params,
            config: &ctx.shared.build,
        };
        build_ingress_stack(&input).map_err(|source| Error::Invalid { object: group_label(group), source })?
    };
    let outcome = ctx
        .shared
        .deployer
        .deploy(&stack)
        .await
        .map_err(|source| Error::Deploy { stack: stack.id.to_string(), source })?;
    ctx.shared.readiness.deployed(&stack, &ctx.shared.deployer).await;
    Ok(outcome)
}

/// The Services the members name (rules, default backends, forward actions), copied out of the
/// cache for the builder: only those, not every Service of the members' namespaces.
fn referenced_services(members: &[Arc<Ingress>], services: &[Arc<Service>]) -> Vec<Service> {
    let wanted: BTreeSet<(String, String)> = members
        .iter()
        .flat_map(|m| {
            let namespace = m.namespace().unwrap_or_default();
            referenced_service_names(m).into_iter().map(move |name| (namespace.clone(), name))
        })
        .collect();
    services
        .iter()
        .filter(|s| wanted.contains(&(s.namespace().unwrap_or_default(), s.name_any())))
        .map(|s| s.as_ref().clone())
        .collect()
}

/// The Secrets the members may authenticate with (OIDC clients), read from their watches, which
/// start here for Secrets no Ingress named before. Each member is recorded as using its own, so
/// that a change to one re-enqueues it.
async fn referenced_secrets(members: &[Arc<Ingress>], services: &[Service], ctx: &IngressContext) -> Vec<Secret> {
    let mut all = BTreeSet::new();
    for member in members {
        let namespace = member.namespace().unwrap_or_default();
        let own: Vec<&Service> = services.iter().filter(|s| s.namespace().as_deref() == Some(&namespace)).collect();
        let keys: BTreeSet<SecretKey> =
            referenced_secret_names(member, &own).into_iter().map(|name| (namespace.clone(), name)).collect();
        ctx.secrets.monitor(&ObjectRef::from_obj(member.as_ref()), &keys);
        all.extend(keys);
    }
    ctx.secrets.get(&all).await
}

/// The EndpointSlices of `services` (pointers into the cache): the pods of ip target groups.
fn referenced_slices(services: &[Service], slices: &[Arc<CachedSlice>]) -> Vec<Arc<CachedSlice>> {
    let wanted: BTreeSet<(String, String)> =
        services.iter().map(|s| (s.namespace().unwrap_or_default(), s.name_any())).collect();
    slices
        .iter()
        .filter(|slice| {
            let CachedSlice(slice) = slice.as_ref();
            let service = slice.service.as_deref();
            service.is_some_and(|name| wanted.contains(&(slice.namespace.to_string(), name.to_string())))
        })
        .cloned()
        .collect()
}

async fn write_hostnames(ctx: &IngressContext, members: &[Arc<Ingress>], hostname: Option<&str>) -> Result<(), Error> {
    let Some(hostname) = hostname else { return Ok(()) };
    for member in members {
        let api: Api<Ingress> = Api::namespaced(ctx.shared.client.clone(), &member.namespace().unwrap_or_default());
        status::set_hostname(&api, member, hostname).await?;
    }
    Ok(())
}

/// Whether the class's parameters let this Ingress's namespace use it: [`Error::Invalid`] when
/// their namespaceSelector leaves the namespace out.
async fn namespace_allowed(
    ingress: &Ingress,
    params: Option<&IngressClassParamsSpec>,
    ctx: &IngressContext,
) -> Result<(), Error> {
    let Some(selector) = params.and_then(|p| p.namespace_selector.as_ref()) else { return Ok(()) };
    let namespace = ingress.namespace().unwrap_or_default();
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(ctx.shared.client.clone());
    let labels = match namespaces.get(&namespace).await {
        Ok(found) => found.labels().clone(),
        Err(source) => return Err(Error::ReadNamespace { namespace, source }),
    };
    if crate::controllers::label_selector::matches(selector, &labels) {
        Ok(())
    } else {
        Err(Error::Invalid { object: object_name(ingress), source: BuildError::NamespaceNotSelected(namespace) })
    }
}

/// A rule whose Service does not exist answers 503 (so one missing Service never breaks the
/// group's other rules); the member that names it gets a Warning saying which, on every
/// reconcile until the Service exists.
async fn warn_of_missing_services(ctx: &IngressContext, members: &[Arc<Ingress>]) {
    let named: Vec<(String, BTreeSet<String>)> =
        members.iter().map(|m| (m.namespace().unwrap_or_default(), referenced_service_names(m))).collect();
    // One pass over the Service cache, keeping only the names the members use.
    let wanted: BTreeSet<(&str, &str)> =
        named.iter().flat_map(|(ns, names)| names.iter().map(move |n| (ns.as_str(), n.as_str()))).collect();
    let services = ctx.services.state();
    let existing: BTreeSet<(String, String)> = services
        .iter()
        .map(|s| (s.namespace().unwrap_or_default(), s.name_any()))
        .filter(|(ns, name)| wanted.contains(&(ns.as_str(), name.as_str())))
        .collect();
    for (member, (namespace, names)) in members.iter().zip(&named) {
        let missing: Vec<&str> = names
            .iter()
            .filter(|name| !existing.contains(&(namespace.clone(), (*name).clone())))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let note = format!(
                "Service {} does not exist in namespace {namespace}; the rules that forward to it answer 503 until it does",
                missing.join(", ")
            );
            ctx.shared.events.publish(member.as_ref(), EventType::Warning, reasons::MISSING_SERVICE, &note).await;
        }
    }
}

async fn publish_to_members(
    ctx: &IngressContext,
    members: &[Arc<Ingress>],
    type_: EventType,
    reason: &str,
    note: &str,
) {
    for member in members {
        ctx.shared.events.publish(member.as_ref(), type_, reason, note).await;
    }
}

/// How logs and errors name a group: the Ingress itself when it is a group of its own.
fn group_label(group: &GroupId) -> String {
    match group {
        GroupId::Explicit(name) => format!("IngressGroup {name}"),
        GroupId::Implicit { namespace, name } => format!("Ingress {namespace}/{name}"),
    }
}

fn group_name(group: &GroupId) -> String {
    match group {
        GroupId::Explicit(name) => name.clone(),
        GroupId::Implicit { namespace, name } => format!("{namespace}/{name}"),
    }
}
