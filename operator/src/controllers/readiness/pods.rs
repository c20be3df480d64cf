//! The pods that carry one of Elbow's readiness gates or QUIC server ids, from one Pod watch.
//! Every pod is decoded as it streams by, but only those with a `target-health.elbow.dev/...`
//! gate or a QUIC server id (`elbow_builder::quic`) are kept, and of each only its identity, its
//! IP, whether its containers are ready, its gates' conditions and its server ids: a cluster's
//! pods outnumber everything else, and the others matter to no load balancer.
//!
//! Two readers: the builders ask whether a not-ready pod waits only for its target health (then
//! it is registered, see `elbow_builder::endpoints`) and which server id a QUIC target gets, and
//! the poller asks which gates are still pending. The watch that fills it is `runtime/pods.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use elbow_builder::endpoints::PodFacts;
use elbow_builder::quic::PodServerIds;
use elbow_builder::readiness::target_group_of;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::sync::Notify;

/// A pod's key in the cache: namespace and name.
pub type PodKey = (String, String);

/// What the poller and the builders read of a pod with a gate of Elbow's or a QUIC server id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPod {
    pub namespace: String,
    pub name: String,
    /// The status patch names it as a precondition: a pod deleted and created again under the
    /// same name is another pod, whose target is another one.
    pub uid: String,
    pub ip: Option<String>,
    /// The `ContainersReady` condition is True: the pod is not Ready only for its gates (or
    /// because the EndpointSlice has not caught up yet).
    pub containers_ready: bool,
    /// Each gate of Elbow's, by target group name, with the pod's condition of that type (none
    /// until Elbow writes one).
    pub gates: BTreeMap<String, Option<GateCondition>>,
    /// The QUIC server ids of its containers (fixed at creation, as a container's environment is).
    pub quic_server_ids: Option<PodServerIds>,
}

/// A gate's pod condition, as the pod carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateCondition {
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition_time: Option<Time>,
}

impl CachedPod {
    /// The pod, when it carries a gate of Elbow's or a QUIC server id.
    pub fn of(pod: &Pod) -> Option<Self> {
        let no_gates = Vec::new();
        let gates = pod.spec.as_ref()?.readiness_gates.as_ref().unwrap_or(&no_gates);
        let status = pod.status.as_ref();
        let conditions = status.and_then(|s| s.conditions.as_ref());
        let condition = |kind: &str| conditions.and_then(|all| all.iter().find(|c| c.type_ == kind));
        let gates: BTreeMap<String, Option<GateCondition>> = gates
            .iter()
            .filter_map(|gate| {
                let target_group = target_group_of(&gate.condition_type)?;
                let current = condition(&gate.condition_type).map(|c| GateCondition {
                    status: c.status.clone(),
                    reason: c.reason.clone().filter(|r| !r.is_empty()),
                    message: c.message.clone().filter(|m| !m.is_empty()),
                    last_transition_time: c.last_transition_time.clone(),
                });
                Some((target_group.to_string(), current))
            })
            .collect();
        let quic_server_ids = PodServerIds::of(pod);
        if gates.is_empty() && quic_server_ids.is_none() {
            return None;
        }
        Some(Self {
            namespace: pod.metadata.namespace.clone()?,
            name: pod.metadata.name.clone()?,
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            ip: status.and_then(|s| s.pod_ip.clone()).filter(|ip| !ip.is_empty()),
            containers_ready: condition("ContainersReady").is_some_and(|c| c.status == "True"),
            gates,
            quic_server_ids,
        })
    }

    pub fn key(&self) -> PodKey {
        (self.namespace.clone(), self.name.clone())
    }

    /// Whether a gate is not True yet.
    pub fn waits(&self) -> bool {
        self.gates.values().any(|c| c.as_ref().is_none_or(|c| c.status != "True"))
    }

    /// The gates worth asking the load balancer about: not True yet, on a pod that has an IP
    /// and ready containers (until then it is not registered, and its target cannot be
    /// healthy; the watch tells the poller when that changes).
    pub fn pending_gates(&self) -> impl Iterator<Item = &str> {
        let candidate = self.containers_ready && self.ip.is_some();
        self.gates
            .iter()
            .filter(move |(_, c)| candidate && c.as_ref().is_none_or(|c| c.status != "True"))
            .map(|(tg, _)| tg.as_str())
    }
}

/// The cache, shared by the watch, the builders and the poller.
#[derive(Debug, Default)]
pub struct PodCache {
    pods: RwLock<HashMap<PodKey, CachedPod>>,
    /// Woken on every change of a kept pod (the poller waits on it).
    pub changed: Notify,
}

impl PodCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PodKey, CachedPod>> {
        self.pods.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<PodKey, CachedPod>> {
        self.pods.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, key: &PodKey) -> Option<CachedPod> {
        self.read().get(key).cloned()
    }

    /// Every kept pod, copied out (the poller works on a snapshot, without the lock).
    pub fn snapshot(&self) -> Vec<CachedPod> {
        self.read().values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts `pod` in (or takes it out, when it carries no gate of Elbow's any more) and says
    /// whether what the builders read of it changed.
    pub(crate) fn apply(&self, key: PodKey, pod: Option<CachedPod>) -> Change {
        let mut pods = self.write();
        let targets = builders_read(pods.get(&key)) != builders_read(pod.as_ref());
        let changed = match pod {
            Some(pod) => {
                let changed = pods.get(&key) != Some(&pod);
                pods.insert(key, pod);
                changed
            }
            None => pods.remove(&key).is_some(),
        };
        Change { any: changed, targets }
    }

    /// Replaces the whole cache after a (re)list: the watch's first list, or a new one after
    /// its resource version expired.
    pub(crate) fn replace(&self, pods: HashMap<PodKey, CachedPod>) -> Vec<PodKey> {
        let mut current = self.write();
        let mut moved: Vec<PodKey> = Vec::new();
        for (key, pod) in &pods {
            if builders_read(current.get(key)) != builders_read(Some(pod)) {
                moved.push(key.clone());
            }
        }
        for (key, pod) in current.iter() {
            if !pods.contains_key(key) && builders_read(Some(pod)) != builders_read(None) {
                moved.push(key.clone());
            }
        }
        *current = pods;
        moved
    }
}

impl CachedPod {
    /// Ready containers, and a gate not True.
    fn waits_with_ready_containers(&self) -> bool {
        self.containers_ready && self.waits()
    }
}

/// What the builders read of a pod, kept or not: whether it waits for its target health, and its
/// server ids. Borrowed, so that comparing a pod event with the cache copies nothing.
fn builders_read(pod: Option<&CachedPod>) -> (bool, Option<&PodServerIds>) {
    pod.map_or((false, None), |pod| (pod.waits_with_ready_containers(), pod.quic_server_ids.as_ref()))
}

impl PodFacts for PodCache {
    fn waits_for_target_health(&self, namespace: &str, name: &str) -> bool {
        self.read().get(&(namespace.to_string(), name.to_string())).is_some_and(CachedPod::waits_with_ready_containers)
    }

    fn quic_server_id(&self, namespace: &str, name: &str, port: u16) -> Option<String> {
        let pods = self.read();
        let ids = pods.get(&(namespace.to_string(), name.to_string()))?.quic_server_ids.as_ref()?;
        ids.for_port(port).map(str::to_string)
    }
}

/// What one pod event changed.
pub(crate) struct Change {
    /// Anything the cache keeps (the poller looks again).
    pub any: bool,
    /// Whether the builders would now register the pod differently (its Services reconcile).
    pub targets: bool,
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{PodCondition, PodReadinessGate, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use std::collections::BTreeSet;

    use super::*;

    pub(crate) fn pod(gates: &[&str], conditions: &[(&str, &str)], ip: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web-1".into()),
                namespace: Some("shop".into()),
                uid: Some("uid-1".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                readiness_gates: Some(
                    gates.iter().map(|g| PodReadinessGate { condition_type: g.to_string() }).collect(),
                ),
                ..Default::default()
            }),
            status: Some(PodStatus {
                pod_ip: ip.map(str::to_string),
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(kind, status)| PodCondition {
                            type_: kind.to_string(),
                            status: status.to_string(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
        }
    }

    const GATE: &str = "target-health.elbow.dev/k8s-shop-web-0123456789";

    #[test]
    fn only_pods_with_a_gate_of_elbows_are_kept_with_their_gates_conditions() {
        assert_eq!(CachedPod::of(&pod(&[], &[], None)), None);
        assert_eq!(CachedPod::of(&pod(&["target-health.elbv2.k8s.aws/k8s-shop-web-0123456789"], &[], None)), None);
        let kept = CachedPod::of(&pod(
            &[GATE, "example.com/other"],
            &[("ContainersReady", "True"), (GATE, "False")],
            Some("10.0.1.5"),
        ))
        .expect("kept");
        assert_eq!((kept.namespace.as_str(), kept.name.as_str(), kept.uid.as_str()), ("shop", "web-1", "uid-1"));
        assert_eq!(kept.ip.as_deref(), Some("10.0.1.5"));
        assert!(kept.containers_ready);
        assert_eq!(kept.gates.keys().collect::<Vec<_>>(), ["k8s-shop-web-0123456789"]);
        assert_eq!(kept.gates["k8s-shop-web-0123456789"].as_ref().map(|c| c.status.as_str()), Some("False"));
    }

    #[test]
    fn a_gate_is_pending_while_not_true_on_a_pod_with_ready_containers_and_an_ip() {
        let cases: [(&str, Pod, bool, bool); 5] = [
            ("no condition yet", pod(&[GATE], &[("ContainersReady", "True")], Some("10.0.1.5")), true, true),
            ("False", pod(&[GATE], &[("ContainersReady", "True"), (GATE, "False")], Some("10.0.1.5")), true, true),
            ("True", pod(&[GATE], &[("ContainersReady", "True"), (GATE, "True")], Some("10.0.1.5")), false, false),
            ("containers not ready", pod(&[GATE], &[("ContainersReady", "False")], Some("10.0.1.5")), false, false),
            ("no IP yet", pod(&[GATE], &[("ContainersReady", "True")], None), false, true),
        ];
        for (what, pod, pending, builders_register) in cases {
            let gated = CachedPod::of(&pod).expect("kept");
            assert_eq!(gated.pending_gates().next().is_some(), pending, "{what}");
            let cache = PodCache::new();
            cache.apply(gated.key(), Some(gated));
            assert_eq!(cache.waits_for_target_health("shop", "web-1"), builders_register, "{what}");
            assert!(!cache.waits_for_target_health("other", "web-1"), "{what}");
        }
    }

    #[test]
    fn a_change_the_builders_read_is_told_apart_from_one_they_do_not() {
        let cache = PodCache::new();
        let waiting = CachedPod::of(&pod(&[GATE], &[("ContainersReady", "True")], Some("10.0.1.5"))).unwrap();
        let key = waiting.key();
        let change = cache.apply(key.clone(), Some(waiting.clone()));
        assert!(change.any && change.targets, "a pod to register");
        let change = cache.apply(key.clone(), Some(waiting.clone()));
        assert!(!change.any && !change.targets, "the same again");
        let mut progressing = waiting.clone();
        progressing.gates.insert(
            "k8s-shop-web-0123456789".into(),
            Some(GateCondition {
                status: "False".into(),
                reason: Some("Elb.InitialHealthChecking".into()),
                message: None,
                last_transition_time: None,
            }),
        );
        let change = cache.apply(key.clone(), Some(progressing));
        assert!(change.any && !change.targets, "the gate's reason is the poller's business only");
        let healthy = CachedPod::of(&pod(&[GATE], &[("ContainersReady", "True"), (GATE, "True")], Some("10.0.1.5")));
        let change = cache.apply(key.clone(), healthy);
        assert!(change.any && change.targets, "True: the pod is Ready now, the slice says so");
        let change = cache.apply(key, None);
        assert!(change.any && !change.targets, "gone, and it was not waiting");
        assert!(cache.is_empty());
    }

    #[test]
    fn a_relist_replaces_the_cache_and_names_the_pods_whose_registration_moved() {
        let cache = PodCache::new();
        let waiting = CachedPod::of(&pod(&[GATE], &[("ContainersReady", "True")], Some("10.0.1.5"))).unwrap();
        cache.apply(waiting.key(), Some(waiting.clone()));
        let mut other = waiting.clone();
        other.name = "web-2".into();
        let moved = cache.replace(HashMap::from([(other.key(), other.clone())]));
        assert_eq!(moved.into_iter().collect::<BTreeSet<_>>(), BTreeSet::from([waiting.key(), other.key()]));
        assert_eq!(cache.snapshot(), [other]);
    }
}
