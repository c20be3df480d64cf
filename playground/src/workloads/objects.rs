//! What the emulated controllers ask of the objects they read: owner references, selectors, and a
//! pod's state (active, terminating, ready, available), in the sense kube-controller-manager's
//! `controller` and `podutil` packages give those words.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::core::{Selector, SelectorExt};

/// The owner reference marked as the object's controller.
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.iter().flatten().find(|r| r.controller == Some(true))
}

/// Whether the object's controller is the object with `uid`.
pub fn controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_ref(meta).is_some_and(|r| r.uid == uid)
}

/// The reference a controller puts on what it creates: it controls it, and blocks its deletion
/// in the foreground until it is gone.
pub fn owner_reference(api_version: &str, kind: &str, owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A workload's label selector; `None` when it cannot be parsed (the API server refuses those,
/// so only a hand-edited object gets here) or selects everything, which controllers treat as
/// selecting nothing.
pub fn selector(selector: Option<&LabelSelector>) -> Option<Selector> {
    let parsed = Selector::try_from(selector?.clone()).ok()?;
    (!parsed.selects_all()).then_some(parsed)
}

/// A Service's selector (a plain label map); `None` when it has none.
pub fn map_selector(labels: Option<&BTreeMap<String, String>>) -> Option<Selector> {
    let labels = labels.filter(|l| !l.is_empty())?;
    Some(labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

pub fn matches(selector: &Selector, meta: &ObjectMeta) -> bool {
    selector.matches(meta.labels.as_ref().unwrap_or(&BTreeMap::new()))
}

pub fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

pub fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or_default()
}

pub fn uid(meta: &ObjectMeta) -> &str {
    meta.uid.as_deref().unwrap_or_default()
}

/// Now, to the second, as the API writes times: a time made here compares equal to itself read back.
pub fn now() -> Time {
    let now = Timestamp::now();
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

/// Seconds from `since` to now (negative if `since` is ahead).
pub fn seconds_since(since: &Time) -> i64 {
    Timestamp::now().as_second() - since.0.as_second()
}

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

/// Succeeded or Failed: the pod will not run again.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Counted by its ReplicaSet: neither finished nor being deleted (`controller.IsPodActive`).
pub fn is_active(pod: &Pod) -> bool {
    !is_terminal(pod) && !is_terminating(pod)
}

pub fn condition<'a>(pod: &'a Pod, kind: &str) -> Option<&'a PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == kind)
}

/// The pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

/// Ready for at least `min_ready_seconds` (`podutil.IsPodAvailable`).
pub fn is_available(pod: &Pod, min_ready_seconds: i32) -> bool {
    let Some(ready) = condition(pod, "Ready").filter(|c| c.status == "True") else { return false };
    min_ready_seconds == 0
        || ready.last_transition_time.as_ref().is_some_and(|t| seconds_since(t) >= i64::from(min_ready_seconds))
}

/// Seconds until a ready pod becomes available, when it is not yet.
pub fn until_available(pod: &Pod, min_ready_seconds: i32) -> Option<i64> {
    let ready = condition(pod, "Ready").filter(|c| c.status == "True")?;
    let since = ready.last_transition_time.as_ref()?;
    let left = i64::from(min_ready_seconds) - seconds_since(since);
    (left > 0).then_some(left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_pod_is_active_until_it_finishes_or_is_deleted() {
        let running = pod(json!({ "metadata": { "name": "a" }, "status": { "phase": "Running" } }));
        assert!(is_active(&running));
        let done = pod(json!({ "metadata": { "name": "a" }, "status": { "phase": "Succeeded" } }));
        assert!(!is_active(&done));
        let deleted =
            pod(json!({ "metadata": { "name": "a", "deletionTimestamp": "2026-01-01T00:00:00Z" }, "status": {} }));
        assert!(!is_active(&deleted) && is_terminating(&deleted));
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let since = Timestamp::now().as_second() - 5;
        let stamp = k8s_openapi::jiff::Timestamp::from_second(since).unwrap().to_string();
        let ready = pod(json!({ "metadata": { "name": "a" }, "status": { "phase": "Running",
            "conditions": [{ "type": "Ready", "status": "True", "lastTransitionTime": stamp }] } }));
        assert!(is_ready(&ready));
        assert!(is_available(&ready, 0) && is_available(&ready, 5));
        assert!(!is_available(&ready, 60));
        assert!(until_available(&ready, 60).is_some_and(|left| (54..=55).contains(&left)));
    }

    #[test]
    fn empty_and_missing_selectors_select_nothing() {
        assert!(selector(None).is_none());
        assert!(selector(Some(&LabelSelector::default())).is_none());
        let web = selector(Some(&serde_json::from_value(json!({ "matchLabels": { "app": "web" } })).unwrap())).unwrap();
        let meta: ObjectMeta = serde_json::from_value(json!({ "labels": { "app": "web", "x": "y" } })).unwrap();
        assert!(matches(&web, &meta));
        assert!(map_selector(Some(&BTreeMap::new())).is_none());
    }
}
