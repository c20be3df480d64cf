//! The Secrets that authenticating Ingresses name (their OIDC clients), each watched on its own, as
//! the AWS Load Balancer Controller watches them: a list and watch in the Secret's namespace with
//! the field selector `metadata.name=<name>`, started when the first Ingress names the Secret and
//! stopped when the last one stops naming it. So the operator never lists or caches any other
//! Secret, however many the cluster holds; RBAC still needs `list` and `watch` on Secrets, since
//! Kubernetes cannot grant a watch by name across namespaces (docs/operations.md says how to
//! narrow it to namespaces instead).
//!
//! A change to a watched Secret (after its first list) re-enqueues the Ingresses that used it in
//! their last build, so a rotated client secret reaches the load balancer.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::watch_health::WatchHealth;

/// A Secret by namespace and name.
pub type SecretKey = (String, String);

/// The watched Secrets and who uses them.
pub struct SecretWatches {
    client: Client,
    watched: Arc<Mutex<BTreeMap<SecretKey, Watched>>>,
    /// Every change of a watched Secret, for the Ingress controller to map to its users.
    changed: mpsc::UnboundedSender<Secret>,
}

struct Watched {
    store: Store<Secret>,
    task: JoinHandle<()>,
    /// The Ingresses whose last build named this Secret.
    users: HashSet<ObjectRef<Ingress>>,
}

impl SecretWatches {
    /// The watches, and the stream of changes to the Secrets they watch.
    pub fn new(client: Client) -> (Self, mpsc::UnboundedReceiver<Secret>) {
        let (changed, changes) = mpsc::unbounded_channel();
        (Self { client, watched: Arc::new(Mutex::new(BTreeMap::new())), changed }, changes)
    }

    /// Records that `user` now names exactly `secrets`: watches start for the new ones, and a
    /// watch no Ingress needs any more stops.
    pub fn monitor(&self, user: &ObjectRef<Ingress>, secrets: &BTreeSet<SecretKey>) {
        let mut watched = self.lock();
        for key in secrets {
            let entry = watched.entry(key.clone()).or_insert_with(|| self.watch(key));
            entry.users.insert(user.clone());
        }
        watched.retain(|key, entry| {
            if !secrets.contains(key) {
                entry.users.remove(user);
            }
            let needed = !entry.users.is_empty();
            if !needed {
                entry.task.abort();
                debug!(namespace = %key.0, name = %key.1, "no Ingress names the Secret any more; stopped watching it");
            }
            needed
        });
    }

    /// The Secrets among `keys` that exist, once each one's watch has listed it.
    pub async fn get(&self, keys: &BTreeSet<SecretKey>) -> Vec<Secret> {
        let stores: Vec<(SecretKey, Store<Secret>)> = {
            let watched = self.lock();
            keys.iter().filter_map(|key| Some((key.clone(), watched.get(key)?.store.clone()))).collect()
        };
        let mut found = Vec::with_capacity(stores.len());
        for ((namespace, name), store) in stores {
            // A watch whose first list never comes (its task ended) reads as the Secret missing.
            if store.wait_until_ready().await.is_err() {
                continue;
            }
            if let Some(secret) = store.get(&ObjectRef::new(&name).within(&namespace)) {
                found.push(Secret::clone(&secret));
            }
        }
        found
    }

    /// The Ingresses whose last build used `secret`.
    pub fn users(&self, secret: &Secret) -> Vec<ObjectRef<Ingress>> {
        let key =
            (secret.metadata.namespace.clone().unwrap_or_default(), secret.metadata.name.clone().unwrap_or_default());
        self.lock().get(&key).map(|w| w.users.iter().cloned().collect()).unwrap_or_default()
    }

    /// How many Secrets are watched.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn watch(&self, (namespace, name): &SecretKey) -> Watched {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let (store, writer) = reflector::store::<Secret>();
        let changed = self.changed.clone();
        let (namespace, name) = (namespace.clone(), name.clone());
        info!(%namespace, %name, "watching the Secret an Ingress names for authentication");
        let task = tokio::spawn(async move {
            let events = watcher(api, config).default_backoff().reflect(writer);
            futures::pin_mut!(events);
            let mut health = WatchHealth::default();
            while let Some(event) = events.next().await {
                match event {
                    Ok(event) => {
                        health.succeeded();
                        // The first list is what the build that started the watch reads; only
                        // later changes need a new build.
                        match event {
                            watcher::Event::Apply(secret) | watcher::Event::Delete(secret) => {
                                let _ = changed.send(secret);
                            }
                            watcher::Event::Init | watcher::Event::InitApply(_) | watcher::Event::InitDone => {}
                        }
                    }
                    Err(error) => match health.failed("Secret", &error) {
                        Some(line) => warn!(%namespace, %name, "{line}"),
                        None => debug!(%namespace, %name, %error, "Secret watch still failing"),
                    },
                }
            }
        });
        Watched { store, task, users: HashSet::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<SecretKey, Watched>> {
        // Every update is a whole insert or removal, so a panic elsewhere leaves the map whole.
        self.watched.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for SecretWatches {
    fn drop(&mut self) {
        for watched in self.lock().values() {
            watched.task.abort();
        }
    }
}
