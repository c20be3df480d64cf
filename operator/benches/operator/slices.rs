//! EndpointSlices as the EndpointSlice controller writes them, written by the benchmark in its
//! place (the testkit API server runs no controllers): labels copied from the Service, an owner
//! reference to it, at most 100 endpoints per slice, one per pod with its address, conditions, node,
//! zone and Pod reference, and the managedFields kube-apiserver records. Their size is what the
//! operator's EndpointSlice cache pays for.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

use crate::cluster::{node_name, zone, zone_index};

/// The EndpointSlice controller's default `--max-endpoints-per-slice`.
pub const ENDPOINTS_PER_SLICE: usize = 100;
const IN_FLIGHT: usize = 64;

/// One pod behind a Service: its number (which fixes its address and name), the node it runs on,
/// and its readiness as the slice reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pod {
    pub number: usize,
    pub node: usize,
    pub state: PodState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodState {
    Ready,
    /// Being deleted: not ready, still serving for its grace period, as kubelet reports it.
    Terminating,
}

impl Pod {
    pub fn ready(number: usize, nodes: usize) -> Self {
        Self { number, node: number % nodes, state: PodState::Ready }
    }

    /// An address in the subnet of the pod's node's zone (10.0.0.0/19, 10.0.32.0/19, 10.0.64.0/19),
    /// above the nodes' own addresses; distinct for the first 6,000 pods of a zone.
    pub fn ip(&self) -> String {
        let zone = zone_index(self.node);
        format!("10.0.{}.{}", zone * 32 + 8 + (self.number / 250) % 24, self.number % 250 + 4)
    }

    fn name(&self, service: &str) -> String {
        format!("{service}-7c9d8f6b5-{:05x}", self.number)
    }
}

/// The slices of `service` holding `pods`, `ENDPOINTS_PER_SLICE` to a slice, named
/// `<service>-<n>`.
pub fn slices(service: &str, pods: &[Pod]) -> Vec<EndpointSlice> {
    pods.chunks(ENDPOINTS_PER_SLICE).enumerate().map(|(n, chunk)| slice(service, n, chunk)).collect()
}

fn slice(service: &str, index: usize, pods: &[Pod]) -> EndpointSlice {
    let labels = json!({
        "kubernetes.io/service-name": service,
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
        "app.kubernetes.io/name": service, "app.kubernetes.io/instance": service,
        "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "service-1.4.2"
    });
    let endpoints: Vec<Value> = pods
        .iter()
        .map(|pod| {
            let ready = pod.state == PodState::Ready;
            json!({
                "addresses": [pod.ip()],
                "conditions": { "ready": ready, "serving": true, "terminating": !ready },
                "nodeName": node_name(pod.node),
                "zone": zone(pod.node),
                "targetRef": { "kind": "Pod", "namespace": "default", "name": pod.name(service),
                               "uid": format!("{:08x}-5c1e-4d0b-9a7e-{:012x}", pod.number, index) }
            })
        })
        .collect();
    serde_json::from_value(json!({
        "metadata": {
            "name": format!("{service}-{index}"),
            "namespace": "default",
            "generateName": format!("{service}-"),
            "labels": labels,
            "annotations": { "endpoints.kubernetes.io/last-change-trigger-time": "2025-01-01T00:00:00Z" },
            "ownerReferences": [{ "apiVersion": "v1", "kind": "Service", "name": service,
                                  "uid": format!("5e7a1c2b-0d3f-4e6a-8b9c-{:012x}", name_hash(service)),
                                  "controller": true, "blockOwnerDeletion": true }],
            "managedFields": [{ "manager": "kube-controller-manager", "operation": "Update",
                "apiVersion": "discovery.k8s.io/v1", "time": "2025-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": { "f:addressType": {}, "f:endpoints": {}, "f:metadata": { "f:annotations": {},
                    "f:generateName": {}, "f:labels": {}, "f:ownerReferences": {} }, "f:ports": {} } }]
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }]
    }))
    .expect("an EndpointSlice")
}

/// A stand-in for the Service's UID: distinct per name, the same on every run.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(17u64, |hash, byte| hash.wrapping_mul(31).wrapping_add(u64::from(byte))) & 0xffff_ffff_ffff
}

/// Creates the slices of every `(service, pods)`, many at a time.
pub async fn create_all(client: &kube::Client, services: impl Iterator<Item = (String, Vec<Pod>)>) {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    futures::stream::iter(services.flat_map(|(service, pods)| slices(&service, &pods)))
        .map(|slice| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &slice).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("creating EndpointSlices");
}

/// Makes `service`'s slices hold exactly `pods`, as the controller does after pods change: each
/// slice replaced whole, slices no longer needed deleted.
pub async fn write(client: &kube::Client, service: &str, pods: &[Pod], slices_before: usize) -> usize {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let wanted = slices(service, pods);
    for slice in &wanted {
        let name = slice.metadata.name.clone().expect("a named slice");
        match api.get_opt(&name).await.expect("reading a slice") {
            Some(current) => {
                let mut replacement = slice.clone();
                replacement.metadata.resource_version = current.metadata.resource_version;
                api.replace(&name, &PostParams::default(), &replacement).await.expect("replacing a slice");
            }
            None => {
                api.create(&PostParams::default(), slice).await.expect("creating a slice");
            }
        }
    }
    for index in wanted.len()..slices_before {
        api.delete(&format!("{service}-{index}"), &DeleteParams::default()).await.expect("deleting a slice");
    }
    wanted.len()
}
