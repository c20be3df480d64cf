//! The garbage collector, for the owners this emulation knows (Deployments, ReplicaSets,
//! Services): an object all of whose owners are gone is deleted, in the background, so deleting
//! a Deployment takes its ReplicaSets and then their pods, and deleting a Service its
//! EndpointSlices. An owner is gone only when the API server says so (a live read, not a cache,
//! which may not have seen a new owner yet); an owner reference of another kind keeps its object.
//! And the pod garbage collector's part: a pod bound to a Node that no longer exists is deleted
//! at once.
//!
//! Not emulated: `propagationPolicy: Foreground` and `Orphan` (the API server here does not add
//! their finalizers), so every deletion cascades in the background, kubectl's default.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{DeleteParams, Preconditions};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::objects::{name, namespace};

/// How often every dependent is looked at again, besides when an owner is deleted.
const SWEEP: Duration = Duration::from_secs(2);

struct Caches {
    deployments: Store<Deployment>,
    replica_sets: Store<ReplicaSet>,
    services: Store<Service>,
    pods: Store<Pod>,
    slices: Store<EndpointSlice>,
}

pub async fn run(client: Client, nodes: Store<Node>) {
    let deleted = Arc::new(Notify::new());
    let mut tasks = tokio::task::JoinSet::new();
    let caches = Caches {
        deployments: cache(&client, &deleted, &mut tasks),
        replica_sets: cache(&client, &deleted, &mut tasks),
        services: cache(&client, &deleted, &mut tasks),
        pods: cache(&client, &deleted, &mut tasks),
        slices: cache(&client, &deleted, &mut tasks),
    };
    for ready in [
        caches.deployments.wait_until_ready().await,
        caches.replica_sets.wait_until_ready().await,
        caches.services.wait_until_ready().await,
        caches.pods.wait_until_ready().await,
        caches.slices.wait_until_ready().await,
    ] {
        if ready.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            () = deleted.notified() => {}
            () = tokio::time::sleep(SWEEP) => {}
        }
        sweep(&client, &caches, &nodes).await;
    }
}

/// A cache of every object of `K`, waking the collector when one is deleted; its watch runs in
/// `tasks`, which stop with the collector.
fn cache<K>(client: &Client, deleted: &Arc<Notify>, tasks: &mut tokio::task::JoinSet<()>) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let deleted = deleted.clone();
    let events = watcher(Api::<K>::all(client.clone()), watcher::Config::default()).default_backoff().reflect(writer);
    tasks.spawn(events.for_each(move |event| {
        if let Ok(watcher::Event::Delete(_)) = event {
            deleted.notify_one();
        }
        futures::future::ready(())
    }));
    reader
}

async fn sweep(client: &Client, caches: &Caches, nodes: &Store<Node>) {
    for rs in caches.replica_sets.state() {
        collect::<ReplicaSet>(client, caches, &rs.metadata).await;
    }
    for pod in caches.pods.state() {
        collect::<Pod>(client, caches, &pod.metadata).await;
        let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty());
        if let Some(node) = node
            && nodes.get(&ObjectRef::new(node)).is_none()
            && Api::<Node>::all(client.clone()).get_opt(node).await.is_ok_and(|n| n.is_none())
        {
            delete::<Pod>(client, &pod.metadata, Some(0)).await;
        }
    }
    for slice in caches.slices.state() {
        collect::<EndpointSlice>(client, caches, &slice.metadata).await;
    }
}

/// Deletes the object if every owner it names is gone.
async fn collect<K>(client: &Client, caches: &Caches, meta: &ObjectMeta)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let owners = meta.owner_references.as_deref().unwrap_or_default();
    if owners.is_empty() || meta.deletion_timestamp.is_some() {
        return;
    }
    let ns = namespace(meta);
    if owners.iter().any(|owner| cached(caches, ns, owner)) {
        return;
    }
    for owner in owners {
        match exists(client, ns, owner).await {
            Some(false) => {}
            // Still there, of a kind not known here, or not readable now: kept.
            _ => return,
        }
    }
    delete::<K>(client, meta, None).await;
}

/// Whether a cache holds the owner (with its uid).
fn cached(caches: &Caches, ns: &str, owner: &OwnerReference) -> bool {
    let at = |name: &str| (ns.to_string(), name.to_string());
    let same = |meta: &ObjectMeta| meta.uid.as_deref() == Some(owner.uid.as_str());
    let (ns, name) = at(&owner.name);
    match (owner.api_version.as_str(), owner.kind.as_str()) {
        ("apps/v1", "Deployment") => {
            caches.deployments.get(&ObjectRef::new(&name).within(&ns)).is_some_and(|d| same(&d.metadata))
        }
        ("apps/v1", "ReplicaSet") => {
            caches.replica_sets.get(&ObjectRef::new(&name).within(&ns)).is_some_and(|r| same(&r.metadata))
        }
        ("v1", "Service") => caches.services.get(&ObjectRef::new(&name).within(&ns)).is_some_and(|s| same(&s.metadata)),
        // Unknown kinds count as present: never collect on their account.
        _ => true,
    }
}

/// Whether the API server holds the owner with its uid; `None` when that cannot be told.
async fn exists(client: &Client, ns: &str, owner: &OwnerReference) -> Option<bool> {
    let uid = |meta: &ObjectMeta| meta.uid.as_deref() == Some(owner.uid.as_str());
    let found = match (owner.api_version.as_str(), owner.kind.as_str()) {
        ("apps/v1", "Deployment") => {
            Api::<Deployment>::namespaced(client.clone(), ns).get_opt(&owner.name).await.ok()?.map(|o| uid(&o.metadata))
        }
        ("apps/v1", "ReplicaSet") => {
            Api::<ReplicaSet>::namespaced(client.clone(), ns).get_opt(&owner.name).await.ok()?.map(|o| uid(&o.metadata))
        }
        ("v1", "Service") => {
            Api::<Service>::namespaced(client.clone(), ns).get_opt(&owner.name).await.ok()?.map(|o| uid(&o.metadata))
        }
        _ => return None,
    };
    Some(found.unwrap_or(false))
}

/// Deletes this very object (its uid), in the background.
async fn delete<K>(client: &Client, meta: &ObjectMeta, grace: Option<i64>)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let params = DeleteParams {
        grace_period_seconds: grace.and_then(|g| u32::try_from(g).ok()),
        propagation_policy: Some(kube::api::PropagationPolicy::Background),
        preconditions: Some(Preconditions { uid: meta.uid.clone(), resource_version: None }),
        ..DeleteParams::default()
    };
    let api: Api<K> = Api::namespaced(client.clone(), namespace(meta));
    if let Err(error) = api.delete(name(meta), &params).await {
        tracing::debug!(%error, object = name(meta), "the garbage collector could not delete");
    }
}
