//! The Service controller: gives every Service of ours an NLB, writes its DNS name back, and
//! removes everything when the Service goes away or stops being ours.
//!
//! One reconcile: decide whether the Service is ours; if it is not (or is being deleted) and still
//! carries our finalizer, deploy the empty stack and release the finalizer; if it is, add the
//! finalizer before any cloud call, build the desired stack (a user error stops here, leaving the
//! existing load balancer as it was), deploy it, and write status, condition and events. Every
//! failure after the finalizer shows on the Service as a Warning event and a False condition
//! carrying the same message.

use std::sync::Arc;

use elbow_builder::endpoints::CompactSlice;
use elbow_builder::service::{ServiceBuild, build_service, is_ours, security_groups_named, stack_id, uses_ip_targets};
use elbow_model::Stack;
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Node, Service};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use serde_json::json;
use tracing::{info, warn};

use super::events::{QUIC_SERVER_ID_MISSING, quic_server_id_missing};

use super::conditions::{ReadyReason, with_ready_condition, without_ready_condition};
use super::{Error, error_chain, finalizers, instrumented, object_name, retry_after};
use crate::context::Context;

/// Set on every Service Elbow provisions; released only after its cloud resources are gone.
pub const FINALIZER: &str = "service.elbow.dev/resources";

/// Event reasons people already grep for (the cloud-provider service controller's).
mod reasons {
    pub const ENSURING: &str = "EnsuringLoadBalancer";
    pub const ENSURED: &str = "EnsuredLoadBalancer";
    pub const UPDATED: &str = "UpdatedLoadBalancer";
    pub const SYNC_FAILED: &str = "SyncLoadBalancerFailed";
    pub const DELETING: &str = "DeletingLoadBalancer";
    pub const DELETED: &str = "DeletedLoadBalancer";
    pub const DELETE_FAILED: &str = "DeleteLoadBalancerFailed";
}

pub async fn reconcile(service: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    instrumented("service", service.as_ref(), &ctx.metrics, &ctx.service_backoff, reconcile_inner(&service, &ctx)).await
}

/// Failed reconciles come back after a per-Service exponential delay; user errors when the
/// Service changes (or the cloud inventory does, for those that depend on it).
pub fn error_policy(service: Arc<Service>, error: &Error, ctx: Arc<Context>) -> Action {
    retry_after(error, service.as_ref(), &ctx.service_backoff, ctx.inventory.ttl())
}

async fn reconcile_inner(service: &Service, ctx: &Context) -> Result<Action, Error> {
    let api: Api<Service> = Api::namespaced(ctx.client.clone(), &service.namespace().unwrap_or_default());
    let has_finalizer = service.finalizers().iter().any(|f| f == FINALIZER);
    let wanted = service.metadata.deletion_timestamp.is_none() && is_ours(service, &ctx.build);

    if !wanted {
        if has_finalizer {
            clean_up(&api, service, ctx).await?;
        }
        return Ok(Action::await_change());
    }

    let service = finalizers::add(&api, service, FINALIZER).await?.unwrap_or_else(|| service.clone());
    match provision(&api, &service, ctx).await {
        Ok(action) => Ok(action),
        Err(error) => {
            report_failure(&api, &service, ctx, &error).await;
            Err(error)
        }
    }
}

/// Builds and deploys the Service's stack and writes its hostname and condition. A user error
/// stops before any cloud call, leaving the existing load balancer (if any) exactly as it is.
async fn provision(api: &Api<Service>, service: &Service, ctx: &Context) -> Result<Action, Error> {
    let ServiceBuild { stack: desired, pods_without_quic_server_id } = build_stack(service, ctx).await?;
    if !pods_without_quic_server_id.is_empty() {
        let note = quic_server_id_missing(&pods_without_quic_server_id);
        publish(ctx, service, EventType::Warning, QUIC_SERVER_ID_MISSING, &note).await;
    }
    let had_hostname = current_hostname(service).is_some();
    if !had_hostname {
        publish(ctx, service, EventType::Normal, reasons::ENSURING, "provisioning a network load balancer").await;
    }
    let deploy_error = |source| Error::Deploy { stack: desired.id.to_string(), source };
    let mut outcome = ctx.deployer.deploy(&desired).await.map_err(deploy_error)?;
    ctx.readiness.deployed(&desired, &ctx.deployer).await;
    if outcome.changed {
        let reason = if had_hostname { reasons::UPDATED } else { reasons::ENSURED };
        let note = outcome.changes.to_string();
        publish(ctx, service, EventType::Normal, reason, &note).await;
    } else if outcome.load_balancer_state.as_deref() == Some(PROVISIONING) {
        // Nothing to change, so the deployer answered from memory: ask AWS whether the load
        // balancer has become active since.
        outcome = ctx.deployer.refresh_state(&desired.id, outcome).await.map_err(deploy_error)?;
    }
    let hostname = outcome.dns_name.as_deref();
    let name = hostname.map(|h| format!("load balancer {h}")).unwrap_or_else(|| "load balancer".to_string());
    let (reason, message, next) = match outcome.load_balancer_state.as_deref() {
        Some(PROVISIONING) => (
            ReadyReason::Provisioning,
            format!("{name} is provisioning; AWS has not made it active yet"),
            ctx.settings.provisioning_recheck,
        ),
        Some("failed") => {
            (ReadyReason::ProvisioningFailed, format!("AWS reports {name} as failed"), ctx.settings.resync_period)
        }
        Some("active_impaired") => (
            ReadyReason::Provisioned,
            format!("{name} is provisioned; AWS reports it active_impaired (it cannot scale)"),
            ctx.settings.resync_period,
        ),
        _ => (ReadyReason::Provisioned, format!("{name} is provisioned"), ctx.settings.resync_period),
    };
    set_status(api, service, hostname, reason, &message).await?;
    Ok(Action::requeue(next))
}

/// The state AWS gives a new load balancer until it routes traffic.
const PROVISIONING: &str = "provisioning";

/// Shows a failed reconcile on the Service: a Warning event (what `kubectl describe` prints) and
/// the condition, with the same message. A failure to write the condition is only logged: the
/// reconcile's own error is the one to retry on.
async fn report_failure(api: &Api<Service>, service: &Service, ctx: &Context, error: &Error) {
    let (reason, message) = match error {
        Error::Invalid { source, .. } => (ReadyReason::InvalidConfiguration, source.to_string()),
        Error::Deploy { source, .. } => {
            (ReadyReason::ProvisioningFailed, format!("failed to provision the load balancer: {}", error_chain(source)))
        }
        other => (ReadyReason::ProvisioningFailed, error_chain(other)),
    };
    publish(ctx, service, EventType::Warning, reasons::SYNC_FAILED, &message).await;
    if let Err(status_error) = set_status(api, service, None, reason, &message).await {
        warn!(error = %error_chain(&status_error), "could not show the failure in the Service's condition");
    }
}

/// The desired stack. Fails with [`Error::Invalid`] for the user's mistakes and
/// [`Error::Inventory`] when what the builder needs from the cloud cannot be read (retried).
async fn build_stack(service: &Service, ctx: &Context) -> Result<ServiceBuild, Error> {
    // Pointers into the node cache: a deep copy of every node per reconcile, at concurrency 8,
    // kept up to eight copies of the whole cache alive.
    let cached = ctx.nodes.state();
    let nodes: Vec<&Node> = cached.iter().map(AsRef::as_ref).collect();
    let group_names = security_groups_named(service);
    let inventory = ctx.inventory.get_with_groups(&nodes, &group_names).await.map_err(Error::Inventory)?;
    // Only ip targets read the Service's EndpointSlices.
    let slices = match uses_ip_targets(service) {
        true => ctx.slices_of(&service.namespace().unwrap_or_default(), &[&service.name_any()]),
        false => Vec::new(),
    };
    let slices: Vec<&CompactSlice> = slices.iter().map(|slice| &slice.0).collect();
    build_service(service, &nodes, &slices, ctx.readiness.pods.as_ref(), &inventory, &ctx.build)
        .map_err(|source| Error::Invalid { object: object_name(service), source })
}

/// Deletes the Service's cloud resources, clears what Elbow wrote to its status, then releases
/// the finalizer. Idempotent: a Service whose resources were never (or only partly) created
/// deploys an empty stack just the same.
async fn clean_up(api: &Api<Service>, service: &Service, ctx: &Context) -> Result<(), Error> {
    let empty = Stack::empty(stack_id(service));
    publish(ctx, service, EventType::Normal, reasons::DELETING, "deleting load balancer").await;
    if let Err(source) = ctx.deployer.deploy(&empty).await {
        let message = format!("failed to delete the load balancer: {}", error_chain(&source));
        publish(ctx, service, EventType::Warning, reasons::DELETE_FAILED, &message).await;
        return Err(Error::Deploy { stack: empty.id.to_string(), source });
    }
    ctx.readiness.deployed(&empty, &ctx.deployer).await;
    ctx.deployer.forget(&empty.id);
    if service.metadata.deletion_timestamp.is_none() {
        clear_status(api, service).await?;
    }
    finalizers::remove(api, service, FINALIZER).await?;
    publish(ctx, service, EventType::Normal, reasons::DELETED, "deleted load balancer").await;
    info!("released");
    Ok(())
}

fn current_hostname(service: &Service) -> Option<&str> {
    service.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?.first()?.hostname.as_deref()
}

/// Writes the hostname (when known) and the ready condition, in one status patch, only when
/// either differs from what the Service already shows.
async fn set_status(
    api: &Api<Service>,
    service: &Service,
    hostname: Option<&str>,
    reason: ReadyReason,
    message: &str,
) -> Result<(), Error> {
    let status = service.status.clone().unwrap_or_default();
    let conditions = status.conditions.clone().unwrap_or_default();
    let new_conditions =
        with_ready_condition(&conditions, reason, message, service.metadata.generation, Timestamp::now());
    let new_ingress = hostname
        .filter(|name| current_hostname(service) != Some(name))
        .map(|name| vec![LoadBalancerIngress { hostname: Some(name.to_string()), ..Default::default() }]);
    if new_conditions.is_none() && new_ingress.is_none() {
        return Ok(());
    }
    let mut patch = json!({ "status": {} });
    if let Some(conditions) = new_conditions {
        patch["status"]["conditions"] = json!(conditions);
    }
    if let Some(ingress) = new_ingress {
        patch["status"]["loadBalancer"] = json!(LoadBalancerStatus { ingress: Some(ingress) });
    }
    patch_status(api, service, patch).await
}

/// Removes the hostname Elbow wrote and its condition, for a Service that is no longer ours.
async fn clear_status(api: &Api<Service>, service: &Service) -> Result<(), Error> {
    let status = service.status.clone().unwrap_or_default();
    let conditions = without_ready_condition(&status.conditions.unwrap_or_default());
    let has_ingress = current_hostname(service).is_some();
    if conditions.is_none() && !has_ingress {
        return Ok(());
    }
    let mut patch = json!({ "status": {} });
    if let Some(conditions) = conditions {
        patch["status"]["conditions"] = json!(conditions);
    }
    if has_ingress {
        patch["status"]["loadBalancer"] = json!({ "ingress": null });
    }
    patch_status(api, service, patch).await
}

async fn patch_status(api: &Api<Service>, service: &Service, patch: serde_json::Value) -> Result<(), Error> {
    match api.patch_status(&service.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(source) => Err(Error::PatchStatus { object: object_name(service), source }),
    }
}

async fn publish(ctx: &Context, service: &Service, type_: EventType, reason: &str, note: &str) {
    ctx.events.publish(service, type_, reason, note).await;
}
