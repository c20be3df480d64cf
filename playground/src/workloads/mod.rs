//! The controllers a cluster runs for workloads, emulated in the playground as KWOK emulates them,
//! against the API server, so that `kubectl create deployment` gives pods with addresses that
//! become ready, Services get EndpointSlices, and Elbow's ip targets and readiness gates meet the
//! objects they meet on a cluster:
//!
//! ```text
//!  Deployment ──deployments──► ReplicaSets ──replicasets──► Pods ──scheduler──► spec.nodeName
//!   (rollout: rollout.rs)        (pod-template-hash)                               │
//!                                                                                   kubelet
//!                                                                                   ▼
//!  Service + Pods ──endpointslices──► EndpointSlices       Running, podIP from the node's subnet,
//!                                                          Ready (after every readiness gate)
//!  owner gone ──garbage_collector──► dependents deleted; pods of a deleted Node deleted
//! ```
//!
//! Each is a kube-runtime controller with a client of its own, named as the component it stands
//! for (`kube-controller-manager`, `kube-scheduler`, `kubelet`), so the API server's audit log
//! tells them from Elbow. They read what they decide on fresh from the API server (a list by
//! selector) rather than from a cache, which stands in for client-go's expectations: a
//! ReplicaSet never creates a pod twice because its cache had not seen the first yet.

mod deployment_status;
mod deployments;
mod endpointslices;
mod events;
mod garbage_collector;
mod ipam;
mod kubelet;
mod objects;
mod pod_status;
mod replicasets;
mod rollout;
mod scheduler;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::task::JoinSet;

pub use ipam::PodSubnet;

/// How the emulated kubelet paces a pod's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodTiming {
    /// From a pod's binding to its containers running (its sandbox and image pull on a node).
    pub container_start: Duration,
    /// From a pod's deletion to its containers having stopped, during which its endpoint is
    /// `terminating` but still `serving`.
    pub container_stop: Duration,
}

impl Default for PodTiming {
    fn default() -> Self {
        PodTiming { container_start: Duration::from_millis(300), container_stop: Duration::from_secs(1) }
    }
}

#[derive(Debug, Clone)]
pub struct WorkloadOptions {
    pub timing: PodTiming,
    /// The subnet each zone's nodes give pods addresses from, as the VPC CNI does.
    pub subnets: Vec<PodSubnet>,
}

/// The running controllers; dropping this stops them.
pub struct Workloads {
    tasks: JoinSet<()>,
}

/// The components the controllers stand for, by the user agent their clients send.
const CONTROLLER_MANAGER: &str = "kube-controller-manager/v1.35.0 (playground)";
const SCHEDULER: &str = "kube-scheduler/v1.35.0 (playground)";
const KUBELET: &str = "kubelet/v1.35.0 (playground)";

impl Workloads {
    /// Starts every controller against the API server at `url`.
    pub fn start(url: &str, options: WorkloadOptions) -> anyhow::Result<Workloads> {
        let controller_manager = client(url, CONTROLLER_MANAGER)?;
        let scheduler = client(url, SCHEDULER)?;
        let kubelet = client(url, KUBELET)?;
        let mut tasks = JoinSet::new();
        let nodes = watch_nodes(&controller_manager, &mut tasks);
        tasks.spawn(deployments::run(controller_manager.clone()));
        tasks.spawn(replicasets::run(controller_manager.clone()));
        tasks.spawn(scheduler::run(scheduler));
        // Those that look nodes up start once the Nodes are known. One task waits for them:
        // the cache's readiness wakes only one waiter.
        tasks.spawn(async move {
            if nodes.wait_until_ready().await.is_err() {
                return;
            }
            tokio::join!(
                endpointslices::run(controller_manager.clone(), nodes.clone()),
                garbage_collector::run(controller_manager, nodes.clone()),
                kubelet::run(kubelet, nodes, Arc::new(options)),
            );
        });
        Ok(Workloads { tasks })
    }

    /// Stops every controller.
    pub fn stop(&mut self) {
        self.tasks.abort_all();
    }
}

fn client(url: &str, user_agent: &'static str) -> anyhow::Result<Client> {
    let mut config = kube::Config::new(url.parse()?);
    config.headers.push((http::header::USER_AGENT, http::HeaderValue::from_static(user_agent)));
    Ok(Client::try_from(config)?)
}

/// One cache of the Nodes, shared by the controllers that look nodes up (their zone, address).
fn watch_nodes(client: &Client, tasks: &mut JoinSet<()>) -> Store<Node> {
    let (reader, writer) = reflector::store();
    let events =
        watcher(Api::<Node>::all(client.clone()), watcher::Config::default()).default_backoff().reflect(writer);
    tasks.spawn(events.for_each(|_| futures::future::ready(())));
    reader
}

/// How long a controller waits before it retries a failed reconcile (a conflict, usually: another
/// component wrote the object in between), as client-go's rate-limited queue would.
const RETRY: Duration = Duration::from_millis(200);

#[cfg(test)]
mod tests_support {
    use serde_json::Value;

    /// `patch` merged into `target` (objects key by key, anything else replaced), for test fixtures.
    pub fn merge(target: &mut Value, patch: Value) {
        match (target, patch) {
            (Value::Object(target), Value::Object(patch)) => {
                for (key, value) in patch {
                    merge(target.entry(key).or_insert(Value::Null), value);
                }
            }
            (target, patch) => *target = patch,
        }
    }
}
