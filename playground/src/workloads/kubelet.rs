//! The kubelet of every playground Node (those in a zone with a pod subnet): runs the pods bound
//! to it, in stages a person can watch (`kubectl get pods -w`):
//!
//! - bound: `Pending`, containers `ContainerCreating`, the node's address as `hostIP`;
//! - after `container_start`: `Running` with an address from the node's subnet, Ready once every
//!   readiness gate is True (re-evaluated whenever the pod's conditions change, as someone else
//!   sets the gates through the status subresource);
//! - deleted (a deletionTimestamp): still Running and Ready for `container_stop`, its endpoint
//!   `terminating` but `serving`, then `Succeeded` with its containers exited, and deleted for
//!   good (grace period 0, for this pod's uid only), its address free again.
//!
//! Status writes are strategic merge patches that carry only the kubelet's own conditions, so a
//! readiness gate's condition written by another controller is never overwritten.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource};

use super::WorkloadOptions;
use super::events::Events;
use super::ipam::Addresses;
use super::objects::{self, name, namespace, uid};
use super::pod_status::{self, Stage};

struct Kubelet {
    client: Client,
    nodes: Store<Node>,
    pods: Store<Pod>,
    options: Arc<WorkloadOptions>,
    events: Events,
    state: Mutex<State>,
}

/// What the kubelets remember between reconciles: each pod's containers, and the addresses given.
#[derive(Default)]
struct State {
    pods: HashMap<String, Containers>,
    addresses: Addresses,
}

/// One pod's containers, by its uid.
#[derive(Debug, Clone)]
struct Containers {
    bound_at: Instant,
    start_time: Time,
    /// When the containers started; `None` while they are being created.
    started: Option<Time>,
    /// When the kubelet saw the pod's deletion.
    stopping: Option<Instant>,
}

pub async fn run(client: Client, nodes: Store<Node>, options: Arc<WorkloadOptions>) {
    let controller = Controller::new(Api::<Pod>::all(client.clone()), watcher::Config::default());
    let kubelet = Arc::new(Kubelet {
        client: client.clone(),
        nodes,
        pods: controller.store(),
        options,
        events: Events::new(client, "kubelet"),
        state: Mutex::new(State::default()),
    });
    controller
        .run(reconcile, |_, _, _| Action::requeue(super::RETRY), kubelet)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// What the kubelet does for a pod now.
enum Step {
    /// Report this status, and look again after the delay (if any).
    Report(Box<k8s_openapi::api::core::v1::PodStatus>, Option<Duration>),
    /// Stopping: look again after the delay.
    Wait(Duration),
    /// Report the pod stopped, then delete it.
    Finish(Box<k8s_openapi::api::core::v1::PodStatus>),
    /// Never started: delete it.
    Delete,
    Nothing,
}

async fn reconcile(pod: Arc<Pod>, kubelet: Arc<Kubelet>) -> Result<Action, kube::Error> {
    let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()).filter(|n| !n.is_empty()) else {
        return Ok(Action::await_change());
    };
    // A Node this kubelet's cache has not seen yet (it just joined) is looked for again shortly;
    // a pod bound to a Node that never comes is the pod garbage collector's.
    let Some(node) = kubelet.nodes.get(&ObjectRef::new(&node)) else {
        return Ok(Action::requeue(Duration::from_secs(1)));
    };
    let zone = node.metadata.labels.as_ref().and_then(|l| l.get("topology.kubernetes.io/zone")).cloned();
    let Some(subnet) = kubelet.options.subnets.iter().find(|s| Some(&s.zone) == zone.as_ref()) else {
        return Ok(Action::await_change());
    };
    if objects::is_terminal(&pod) && !objects::is_terminating(&pod) {
        return Ok(Action::await_change());
    }
    let host_ip = internal_ip(&node);
    let step = kubelet.step(&pod, &subnet.cidr, host_ip.as_deref());
    let pods: Api<Pod> = Api::namespaced(kubelet.client.clone(), namespace(&pod.metadata));
    match step {
        Step::Nothing => Ok(Action::await_change()),
        Step::Wait(delay) => Ok(Action::requeue(delay)),
        Step::Report(status, after) => {
            let started = status.phase.as_deref() == Some("Running") && objects::phase(&pod) != "Running";
            kubelet.report(&pods, &pod, &status).await?;
            if started {
                kubelet.publish(&pod, "Started", "Started container").await;
            }
            Ok(after.map_or_else(Action::await_change, Action::requeue))
        }
        Step::Finish(status) => {
            kubelet.report(&pods, &pod, &status).await?;
            kubelet.delete(&pods, &pod).await
        }
        Step::Delete => kubelet.delete(&pods, &pod).await,
    }
}

fn internal_ip(node: &Node) -> Option<String> {
    let addresses = node.status.as_ref()?.addresses.as_ref()?;
    addresses.iter().find(|a| a.type_ == "InternalIP").map(|a| a.address.clone())
}

impl Kubelet {
    /// Decides the pod's next step from what it is and what the kubelet remembers of it.
    fn step(&self, pod: &Pod, cidr: &str, host_ip: Option<&str>) -> Step {
        let now = objects::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let uid = uid(&pod.metadata).to_string();
        let containers = state.pods.entry(uid.clone()).or_insert_with(|| remembered(pod, &now)).clone();
        if containers.started.is_some()
            && let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.as_deref()).and_then(|ip| ip.parse().ok())
        {
            state.addresses.claim(cidr, &uid, ip);
        }

        if objects::is_terminating(pod) {
            let Some(since) = &containers.started else { return Step::Delete };
            let stopping = match state.pods.get_mut(&uid) {
                Some(c) => *c.stopping.get_or_insert_with(Instant::now),
                None => Instant::now(),
            };
            if let Some(left) =
                self.options.timing.container_stop.checked_sub(stopping.elapsed()).filter(|d| !d.is_zero())
            {
                return Step::Wait(left);
            }
            let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap_or_default();
            let stage = Stage::Completed { ip: &ip, since, finished: &now };
            return Step::Finish(Box::new(pod_status::status(pod, stage, host_ip, &containers.start_time, &now)));
        }

        let started = match &containers.started {
            Some(started) => started.clone(),
            None => match self
                .options
                .timing
                .container_start
                .checked_sub(containers.bound_at.elapsed())
                .filter(|d| !d.is_zero())
            {
                Some(left) => {
                    let status = pod_status::status(pod, Stage::Creating, host_ip, &containers.start_time, &now);
                    return self.if_changed(pod, status, Some(left));
                }
                None => {
                    if let Some(c) = state.pods.get_mut(&uid) {
                        c.started = Some(now.clone());
                    }
                    now.clone()
                }
            },
        };
        let live: HashSet<String> = self.pods.state().iter().map(|p| uid_of(p)).collect();
        state.addresses.keep_only(&live);
        let reserved = self.node_addresses();
        let Some(ip) = state.addresses.allocate(cidr, &uid, &reserved) else {
            tracing::warn!(pod = name(&pod.metadata), cidr, "no free address for the pod in its node's subnet");
            return Step::Wait(Duration::from_secs(5));
        };
        let ip = ip.to_string();
        let status =
            pod_status::status(pod, Stage::Running { ip: &ip, since: &started }, host_ip, &containers.start_time, &now);
        self.if_changed(pod, status, None)
    }

    fn if_changed(&self, pod: &Pod, status: k8s_openapi::api::core::v1::PodStatus, after: Option<Duration>) -> Step {
        if pod_status::is_current(pod.status.as_ref(), &status) {
            return after.map_or(Step::Nothing, Step::Wait);
        }
        Step::Report(Box::new(status), after)
    }

    /// Every Node's own address, which no pod may take.
    fn node_addresses(&self) -> HashSet<Ipv4Addr> {
        self.nodes.state().iter().filter_map(|n| internal_ip(n)).filter_map(|ip| ip.parse().ok()).collect()
    }

    async fn report(
        &self,
        pods: &Api<Pod>,
        pod: &Pod,
        status: &k8s_openapi::api::core::v1::PodStatus,
    ) -> Result<(), kube::Error> {
        let patch = Patch::Strategic(pod_status::patch(status));
        match pods.patch_status(name(&pod.metadata), &PatchParams::default(), &patch).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Deletes the pod for good (its containers are gone), this very pod and not one created
    /// since under its name; forgets it and frees its address.
    async fn delete(&self, pods: &Api<Pod>, pod: &Pod) -> Result<Action, kube::Error> {
        if objects::phase(pod) == "Running" {
            self.publish(pod, "Killing", "Stopping container").await;
        }
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
            ..DeleteParams::default()
        };
        match pods.delete(name(&pod.metadata), &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
            Err(error) => return Err(error),
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.pods.remove(uid(&pod.metadata));
        state.addresses.release(uid(&pod.metadata));
        Ok(Action::await_change())
    }

    /// An event per container, as the kubelet records `Started container nginx`.
    async fn publish(&self, pod: &Pod, reason: &str, what: &str) {
        for container in pod.spec.iter().flat_map(|s| &s.containers) {
            self.events.normal(&pod.object_ref(&()), reason, format!("{what} {}", container.name)).await;
        }
    }
}

fn uid_of(pod: &Pod) -> String {
    uid(&pod.metadata).to_string()
}

/// What the kubelet learns of a pod it has not seen: bound now, or, if it already runs (its
/// status says so), running since its containers started.
fn remembered(pod: &Pod, now: &Time) -> Containers {
    let status = pod.status.clone().unwrap_or_default();
    let started = (status.phase.as_deref() == Some("Running") && status.pod_ip.is_some()).then(|| {
        status
            .container_statuses
            .iter()
            .flatten()
            .find_map(|c| c.state.as_ref()?.running.as_ref()?.started_at.clone())
            .unwrap_or_else(|| now.clone())
    });
    Containers {
        bound_at: Instant::now(),
        start_time: status.start_time.unwrap_or_else(|| now.clone()),
        started,
        stopping: None,
    }
}
