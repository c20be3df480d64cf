//! Follows Services (or Ingresses) through a watch and counts those whose status shows a load
//! balancer hostname: the clock of the provisioning measurement stops when the count reaches the number
//! created. A watch, unlike polling a list of 1,000 Services, costs the API server next to nothing.

use std::collections::HashSet;
use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::watcher;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// The first list is done: later creates are seen as events.
    listed: bool,
    with_hostname: usize,
}

pub struct HostnameWatch {
    progress: watch::Receiver<Progress>,
    task: JoinHandle<()>,
}

impl HostnameWatch {
    /// Starts watching the objects `config` selects and returns once the watch has listed what
    /// exists.
    pub async fn start<K: ShowsHostname>(api: Api<K>, config: watcher::Config) -> Self {
        let (sender, mut progress) = watch::channel(Progress::default());
        let task = tokio::spawn(follow(api, config, sender));
        progress.wait_for(|p| p.listed).await.expect("the watch ended before its first list");
        Self { progress, task }
    }

    /// Waits until `count` objects show a hostname; false if `timeout` passed first.
    pub async fn wait_for(&mut self, count: usize, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.progress.wait_for(|p| p.with_hostname >= count))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn with_hostname(&self) -> usize {
        self.progress.borrow().with_hostname
    }
}

impl Drop for HostnameWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn follow<K: ShowsHostname>(api: Api<K>, config: watcher::Config, progress: watch::Sender<Progress>) {
    let mut named: HashSet<String> = HashSet::new();
    let mut relisted: HashSet<String> = HashSet::new();
    let mut listed = false;
    let events = watcher(api, config);
    futures::pin_mut!(events);
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Init) => relisted.clear(),
            Ok(watcher::Event::InitApply(service)) => {
                if service.has_hostname() {
                    relisted.insert(service.name_any());
                }
            }
            Ok(watcher::Event::InitDone) => {
                named = std::mem::take(&mut relisted);
                listed = true;
            }
            Ok(watcher::Event::Apply(service)) => {
                if service.has_hostname() {
                    named.insert(service.name_any());
                } else {
                    named.remove(&service.name_any());
                }
            }
            Ok(watcher::Event::Delete(service)) => {
                named.remove(&service.name_any());
            }
            // The watcher retries by itself; a failed attempt only delays the count.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
        progress.send_replace(Progress { listed, with_hostname: named.len() });
    }
}

/// An object whose status can name a load balancer's hostname.
pub trait ShowsHostname: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static {
    fn has_hostname(&self) -> bool;
}

impl ShowsHostname for Service {
    fn has_hostname(&self) -> bool {
        let ingress = self.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.as_ref());
        ingress.is_some_and(|ingress| ingress.iter().any(|i| i.hostname.is_some()))
    }
}

impl ShowsHostname for Ingress {
    fn has_hostname(&self) -> bool {
        let ingress = self.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.as_ref());
        ingress.and_then(|ingress| ingress.first()).is_some_and(|first| first.hostname.is_some())
    }
}
