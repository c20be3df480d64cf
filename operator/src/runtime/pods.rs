//! The one Pod watch, for pod readiness gates and QUIC server ids: it fills the cache of pods that
//! carry a gate of Elbow's or a server id (`controllers::readiness::pods`, which keeps nothing of
//! any other pod), wakes the
//! readiness poller when one changes, and sends the controllers the Services whose registered
//! pods change (a pod whose containers became ready while its gate is pending is registered
//! before its EndpointSlice calls it ready), found through the EndpointSlices that name the pod.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{mpsc, watch};
use tracing::warn;

use super::endpoints::CachedSlice;
use super::{LIST_PAGE_SIZE, record_cache_size};
use crate::controllers::readiness::pods::{CachedPod, PodCache, PodKey};

/// Keeps `pods` in step with the cluster's Pods. `ready` turns true once the first list is in
/// (the controllers wait for it: built before, a pod waiting for its gate would be
/// deregistered). The Services whose registered pods change are sent on `changed`, found
/// through `slices`. `cached` is kept at the number of pods kept.
pub async fn watch_pods(
    api: Api<Pod>,
    pods: Arc<PodCache>,
    slices: Store<CachedSlice>,
    changed: Vec<mpsc::UnboundedSender<ObjectRef<Service>>>,
    ready: watch::Sender<bool>,
    cached: Gauge,
) {
    let events = watcher(api, watcher::Config::default().page_size(LIST_PAGE_SIZE)).default_backoff();
    futures::pin_mut!(events);
    // The pods of a list in progress, swapped in whole at its end.
    let mut listing: Option<HashMap<PodKey, CachedPod>> = None;
    while let Some(event) = events.next().await {
        let moved: Vec<PodKey> = match event {
            Ok(watcher::Event::Init) => {
                listing = Some(HashMap::new());
                continue;
            }
            Ok(watcher::Event::InitApply(pod)) => {
                if let (Some(listing), Some(gated)) = (listing.as_mut(), CachedPod::of(&pod)) {
                    listing.insert(gated.key(), gated);
                }
                continue;
            }
            Ok(watcher::Event::InitDone) => {
                let moved = pods.replace(listing.take().unwrap_or_default());
                let _ = ready.send(true);
                pods.changed.notify_one();
                moved
            }
            Ok(watcher::Event::Apply(pod)) => {
                let Some(key) = key_of(&pod) else { continue };
                let change = pods.apply(key.clone(), CachedPod::of(&pod));
                if change.any {
                    pods.changed.notify_one();
                }
                if change.targets { vec![key] } else { continue }
            }
            Ok(watcher::Event::Delete(pod)) => {
                let Some(key) = key_of(&pod) else { continue };
                let change = pods.apply(key.clone(), None);
                if change.any {
                    pods.changed.notify_one();
                }
                if change.targets { vec![key] } else { continue }
            }
            Err(error) => {
                warn!(%error, "Pod watch failed; retrying");
                continue;
            }
        };
        record_cache_size(&cached, pods.len());
        for service in services_of(&moved, &slices) {
            for controller in &changed {
                // A closed channel means that controller has stopped: nothing to tell.
                let _ = controller.send(service.clone());
            }
        }
    }
}

fn key_of(pod: &Pod) -> Option<PodKey> {
    Some((pod.metadata.namespace.clone()?, pod.metadata.name.clone()?))
}

/// The Services whose EndpointSlices name one of `pods`.
fn services_of(pods: &[PodKey], slices: &Store<CachedSlice>) -> Vec<ObjectRef<Service>> {
    if pods.is_empty() {
        return Vec::new();
    }
    let wanted: BTreeSet<(&str, &str)> = pods.iter().map(|(ns, name)| (ns.as_str(), name.as_str())).collect();
    let mut services = BTreeSet::new();
    for cached in slices.state() {
        let CachedSlice(slice) = cached.as_ref();
        let Some(service) = slice.service.as_deref() else { continue };
        let namespace = &*slice.namespace;
        let names_one = slice
            .endpoints
            .iter()
            .any(|endpoint| endpoint.pod_name.as_deref().is_some_and(|pod| wanted.contains(&(namespace, pod))));
        if names_one {
            services.insert((namespace.to_string(), service.to_string()));
        }
    }
    services.into_iter().map(|(namespace, name)| ObjectRef::new(&name).within(&namespace)).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use elbow_builder::endpoints::{CompactSlice, SERVICE_NAME_LABEL};
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;

    use super::*;

    fn slice(namespace: &str, service: &str, pods: &[&str]) -> EndpointSlice {
        EndpointSlice {
            metadata: ObjectMeta {
                name: Some(format!("{service}-abc")),
                namespace: Some(namespace.into()),
                labels: Some(BTreeMap::from([(SERVICE_NAME_LABEL.to_string(), service.to_string())])),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: pods
                .iter()
                .map(|pod| Endpoint {
                    addresses: vec!["10.0.1.5".into()],
                    target_ref: Some(ObjectReference {
                        kind: Some("Pod".into()),
                        name: Some(pod.to_string()),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
            ports: None,
        }
    }

    #[test]
    fn a_pod_leads_to_the_services_whose_slices_name_it_in_its_namespace() {
        let (store, mut writer) = reflector::store::<CachedSlice>();
        for slice in [
            slice("shop", "web", &["web-1", "web-2"]),
            slice("shop", "web-canary", &["web-1"]),
            slice("shop", "api", &["api-1"]),
            slice("other", "web", &["web-1"]),
        ] {
            writer.apply_watcher_event(&Event::Apply(CachedSlice(CompactSlice::from(&slice))));
        }
        let found = services_of(&[("shop".to_string(), "web-1".to_string())], &store);
        assert_eq!(found, [ObjectRef::new("web").within("shop"), ObjectRef::new("web-canary").within("shop")]);
        assert!(services_of(&[], &store).is_empty());
    }
}
