//! The Service controller: gives every Service of ours an NLB, writes its DNS name back, and
//! removes everything when the Service goes away or stops being ours.
//!
//! One reconcile: decide whether the Service is ours; if it is not (or is being deleted) and still
//! carries our finalizer, deploy the empty stack and release the finalizer; if it is, add the
//! finalizer before any cloud call, build the desired stack (a user error stops here, leaving the
//! existing load balancer as it was), deploy it, and write status, condition and events.

use std::sync::Arc;
use std::time::Duration;

use elbow_builder::service::{build_service_stack, is_ours, stack_id};
use elbow_model::Stack;
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Node, Service};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use serde_json::json;
use tracing::{info, warn};

use super::conditions::{ReadyReason, with_ready_condition, without_ready_condition};
use super::{Error, error_chain, finalizers};
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
    let key = ObjectRef::from_obj(service.as_ref());
    let timer = ctx.metrics.reconcile_started("service");
    let result = reconcile_inner(&service, &ctx).await;
    timer.finish_with(&result);
    match &result {
        Ok(_) => ctx.service_backoff.succeeded(&key),
        Err(error) => {
            warn!(service = %key, error = %error_chain(error), "reconcile failed");
        }
    }
    result
}

/// Failed reconciles come back after a per-Service exponential delay.
pub fn error_policy(service: Arc<Service>, _error: &Error, ctx: Arc<Context>) -> Action {
    Action::requeue(ctx.service_backoff.failed(&ObjectRef::from_obj(service.as_ref())))
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

    let service = match finalizers::add(&api, service, FINALIZER).await.map_err(Error::Kube)? {
        Some(updated) => updated,
        None => service.clone(),
    };

    let desired = match build_stack(&service, ctx).await? {
        Ok(stack) => stack,
        Err(user_error) => {
            // The user must change the Service; retrying cannot help, and the existing load
            // balancer (if any) stays exactly as it is.
            let message = user_error.to_string();
            publish(ctx, &service, EventType::Warning, reasons::SYNC_FAILED, &message).await;
            set_status(&api, &service, None, ReadyReason::InvalidConfiguration, &message).await?;
            return Ok(Action::await_change());
        }
    };

    let had_hostname = current_hostname(&service).is_some();
    if !had_hostname {
        publish(ctx, &service, EventType::Normal, reasons::ENSURING, "provisioning a network load balancer").await;
    }
    let outcome = match ctx.deployer.deploy(&desired).await {
        Ok(outcome) => outcome,
        Err(error) => {
            let message = format!("failed to provision the load balancer: {}", error_chain(&error));
            publish(ctx, &service, EventType::Warning, reasons::SYNC_FAILED, &message).await;
            set_status(&api, &service, None, ReadyReason::ProvisioningFailed, &message).await?;
            return Err(Error::Deploy(error));
        }
    };
    if outcome.changed {
        let reason = if had_hostname { reasons::UPDATED } else { reasons::ENSURED };
        let note = format!("{} step(s) applied", outcome.steps.len());
        publish(ctx, &service, EventType::Normal, reason, &note).await;
    }
    let hostname = outcome.dns_name.clone();
    let message = match &hostname {
        Some(name) => format!("load balancer {name} is provisioned"),
        None => "load balancer is provisioned".to_string(),
    };
    set_status(&api, &service, hostname.as_deref(), ReadyReason::Provisioned, &message).await?;
    Ok(Action::requeue(ctx.settings.resync_period))
}

/// The desired stack, or the user's mistake. The outer error is a failure to read what the
/// builder needs (nodes, the cloud inventory), which is retried.
async fn build_stack(service: &Service, ctx: &Context) -> Result<Result<Stack, elbow_builder::BuildError>, Error> {
    // Pointers into the node cache: a deep copy of every node per reconcile, at concurrency 8,
    // kept up to eight copies of the whole cache alive.
    let cached = ctx.nodes.state();
    let nodes: Vec<&Node> = cached.iter().map(AsRef::as_ref).collect();
    let inventory = ctx.inventory.get(&nodes).await.map_err(Error::Inventory)?;
    Ok(build_service_stack(service, &nodes, &inventory, &ctx.build))
}

/// Deletes the Service's cloud resources, clears what Elbow wrote to its status, then releases
/// the finalizer. Idempotent: a Service whose resources were never (or only partly) created
/// deploys an empty stack just the same.
async fn clean_up(api: &Api<Service>, service: &Service, ctx: &Context) -> Result<(), Error> {
    let empty = Stack::empty(stack_id(service));
    publish(ctx, service, EventType::Normal, reasons::DELETING, "deleting load balancer").await;
    if let Err(error) = ctx.deployer.deploy(&empty).await {
        let message = format!("failed to delete the load balancer: {}", error_chain(&error));
        publish(ctx, service, EventType::Warning, reasons::DELETE_FAILED, &message).await;
        return Err(Error::Deploy(error));
    }
    ctx.deployer.forget(&empty.id);
    if service.metadata.deletion_timestamp.is_none() {
        clear_status(api, service).await?;
    }
    finalizers::remove(api, service, FINALIZER).await.map_err(Error::Kube)?;
    publish(ctx, service, EventType::Normal, reasons::DELETED, "deleted load balancer").await;
    info!(service = %ObjectRef::from_obj(service), "released");
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
    api.patch_status(&service.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(Error::Kube)?;
    Ok(())
}

async fn publish(ctx: &Context, service: &Service, type_: EventType, reason: &str, note: &str) {
    ctx.events.publish(service, type_, reason, note).await;
}

/// How often a Service that is fine is looked at again (a cheap no-op unless the drift period
/// of the deployer has passed).
pub fn default_resync() -> Duration {
    Duration::from_secs(600)
}
