//! `status.loadBalancer.ingress` of the Ingresses an ALB serves: written when it differs, cleared
//! when an Ingress leaves its group.

use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::controllers::{Error, object_name};

fn hostnames(ingress: &Ingress) -> Vec<&str> {
    let entries = ingress.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.as_ref());
    entries.map(|e| e.iter().filter_map(|i| i.hostname.as_deref()).collect()).unwrap_or_default()
}

pub async fn set_hostname(api: &Api<Ingress>, ingress: &Ingress, hostname: &str) -> Result<(), Error> {
    if hostnames(ingress) == [hostname] {
        return Ok(());
    }
    let patch = json!({ "status": { "loadBalancer": { "ingress": [{ "hostname": hostname }] } } });
    patch_status(api, ingress, patch).await
}

pub async fn clear_hostname(api: &Api<Ingress>, ingress: &Ingress) -> Result<(), Error> {
    if hostnames(ingress).is_empty() {
        return Ok(());
    }
    patch_status(api, ingress, json!({ "status": { "loadBalancer": { "ingress": null } } })).await
}

async fn patch_status(api: &Api<Ingress>, ingress: &Ingress, patch: serde_json::Value) -> Result<(), Error> {
    match api.patch_status(&ingress.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        // Deleted meanwhile: nothing to show the status to.
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(source) => Err(Error::PatchStatus { object: object_name(ingress), source }),
    }
}
