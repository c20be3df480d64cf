//! What a DELETE does to an object, as kube-apiserver's `rest.BeforeDelete` and its store decide
//! it: preconditions first (a stale uid or resourceVersion is a Conflict), then, for resources
//! deleted gracefully (Pods), a deletionTimestamp the grace period ahead, which a later delete may
//! only bring forward; finalizers hold any object with a deletionTimestamp until they are gone;
//! everything else is removed at once.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::registry::ResourceInfo;

/// The parts of a request's `DeleteOptions` the server acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    /// `preconditions.uid`
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`
    pub resource_version: Option<String>,
}

impl DeleteOptions {
    /// From a `DeleteOptions` object (the request body, with the query's values merged in).
    pub fn from_json(options: &Value) -> Self {
        let text = |value: &Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        Self {
            grace_period_seconds: options["gracePeriodSeconds"].as_i64(),
            uid: text(&options["preconditions"]["uid"]),
            resource_version: text(&options["preconditions"]["resourceVersion"]),
        }
    }

    /// A deletion at once (`gracePeriodSeconds: 0`), as the kubelet sends once a pod has stopped.
    pub fn now() -> Self {
        Self { grace_period_seconds: Some(0), ..Self::default() }
    }
}

/// What a delete request comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Deletion {
    /// The object goes now.
    Remove,
    /// The object stays, written as this (a deletionTimestamp, a shorter grace period).
    Mark(Value),
    /// The object stays as it is: its deletion is already under way.
    Unchanged,
}

/// Whether objects of `info` are deleted gracefully (`RESTGracefulDeleteStrategy`).
fn graceful(info: &ResourceInfo) -> bool {
    info.group.is_empty() && info.resource == "pods" && info.is_builtin()
}

pub fn decide(info: &ResourceInfo, old: &Value, options: &DeleteOptions) -> Result<Deletion, ApiError> {
    let metadata = &old["metadata"];
    let name = metadata["name"].as_str().unwrap_or_default();
    let group_kind = if info.group.is_empty() { info.kind.clone() } else { format!("{}.{}", info.kind, info.group) };
    if let Some(uid) = &options.uid
        && metadata["uid"].as_str() != Some(uid)
    {
        let record = metadata["uid"].as_str().unwrap_or_default();
        return Err(ApiError::conflict_because(
            &group_kind,
            name,
            format!(
                "the UID in the precondition ({uid}) does not match the UID in record ({record}). The object might have been deleted and then recreated"
            ),
        ));
    }
    if let Some(version) = &options.resource_version
        && metadata["resourceVersion"].as_str() != Some(version)
    {
        let record = metadata["resourceVersion"].as_str().unwrap_or_default();
        return Err(ApiError::conflict_because(
            &group_kind,
            name,
            format!(
                "the ResourceVersion in the precondition ({version}) does not match the ResourceVersion in record ({record}). The object might have been modified"
            ),
        ));
    }
    // Namespaces carry spec.finalizers for a namespace controller this server does not run.
    let finalizers = info.resource != "namespaces" && metadata["finalizers"].as_array().is_some_and(|f| !f.is_empty());
    // A negative period counts as 1 s.
    let requested = options.grace_period_seconds.map(|p| if p < 0 { 1 } else { p });

    if let Some(since) = metadata["deletionTimestamp"].as_str() {
        let pending = metadata["deletionGracePeriodSeconds"].as_i64().unwrap_or(0);
        if graceful(info) && pending > 0 {
            // Already being deleted: only a shorter grace period changes anything.
            let Some(period) = requested.filter(|p| *p < pending) else { return Ok(Deletion::Unchanged) };
            if period == 0 && !finalizers {
                return Ok(Deletion::Remove);
            }
            let at = parse(since).map_or_else(Utc::now, |t| t - Duration::seconds(pending) + Duration::seconds(period));
            let mut marked = old.clone();
            marked["metadata"]["deletionTimestamp"] = json!(format_time(at));
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(period);
            return Ok(Deletion::Mark(marked));
        }
        return Ok(if finalizers { Deletion::Unchanged } else { Deletion::Remove });
    }

    let period = if graceful(info) { crate::pods::grace_period(old, requested) } else { 0 };
    if period == 0 && !finalizers {
        return Ok(Deletion::Remove);
    }
    let mut marked = old.clone();
    marked["metadata"]["deletionTimestamp"] = json!(format_time(Utc::now() + Duration::seconds(period)));
    marked["metadata"]["deletionGracePeriodSeconds"] = json!(period);
    if graceful(info) {
        let generation = metadata["generation"].as_i64().unwrap_or(0);
        if generation > 0 {
            marked["metadata"]["generation"] = json!(generation + 1);
        }
    }
    Ok(Deletion::Mark(marked))
}

fn parse(time: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(time).ok().map(|t| t.with_timezone(&Utc))
}

fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn info(resource: &str) -> ResourceInfo {
        Registry::default().get("", "v1", resource).cloned().unwrap()
    }

    fn running_pod() -> Value {
        json!({
            "metadata": { "name": "web-1", "uid": "u-1", "resourceVersion": "5", "generation": 1 },
            "spec": { "nodeName": "node-1", "terminationGracePeriodSeconds": 30 },
            "status": { "phase": "Running" },
        })
    }

    fn marked(deletion: Deletion) -> Value {
        match deletion {
            Deletion::Mark(object) => object,
            other => panic!("expected a mark, got {other:?}"),
        }
    }

    #[test]
    fn a_running_pod_is_marked_for_its_grace_period_and_removed_when_asked_to_hurry() {
        let pods = info("pods");
        let first = marked(decide(&pods, &running_pod(), &DeleteOptions::default()).unwrap());
        assert_eq!(first["metadata"]["deletionGracePeriodSeconds"], 30);
        assert_eq!(first["metadata"]["generation"], 2);
        let at = parse(first["metadata"]["deletionTimestamp"].as_str().unwrap()).unwrap();
        let ahead = (at - Utc::now()).num_seconds();
        assert!((28..=30).contains(&ahead), "{ahead} s ahead");

        assert_eq!(decide(&pods, &first, &DeleteOptions::default()).unwrap(), Deletion::Unchanged);
        let longer = DeleteOptions { grace_period_seconds: Some(60), ..DeleteOptions::default() };
        assert_eq!(decide(&pods, &first, &longer).unwrap(), Deletion::Unchanged, "only shorter");
        let shorter = DeleteOptions { grace_period_seconds: Some(10), ..DeleteOptions::default() };
        let second = marked(decide(&pods, &first, &shorter).unwrap());
        assert_eq!(second["metadata"]["deletionGracePeriodSeconds"], 10);
        let brought_forward = parse(second["metadata"]["deletionTimestamp"].as_str().unwrap()).unwrap();
        assert_eq!((at - brought_forward).num_seconds(), 20);
        assert_eq!(decide(&pods, &second, &DeleteOptions::now()).unwrap(), Deletion::Remove);
    }

    #[test]
    fn pods_no_node_runs_and_other_kinds_go_at_once_unless_finalizers_hold_them() {
        let mut pending = running_pod();
        pending["spec"]["nodeName"] = Value::Null;
        assert_eq!(decide(&info("pods"), &pending, &DeleteOptions::default()).unwrap(), Deletion::Remove);
        let configmap = json!({ "metadata": { "name": "c", "uid": "u" } });
        assert_eq!(decide(&info("configmaps"), &configmap, &DeleteOptions::default()).unwrap(), Deletion::Remove);

        let mut held = running_pod();
        held["metadata"]["finalizers"] = json!(["example.com/hold"]);
        let marked_once = marked(decide(&info("pods"), &held, &DeleteOptions::now()).unwrap());
        assert_eq!(marked_once["metadata"]["deletionGracePeriodSeconds"], 0);
        assert_eq!(decide(&info("pods"), &marked_once, &DeleteOptions::now()).unwrap(), Deletion::Unchanged);
    }

    #[test]
    fn preconditions_that_do_not_hold_are_conflicts() {
        let pods = info("pods");
        let other = DeleteOptions { uid: Some("u-2".into()), ..DeleteOptions::now() };
        let refused = decide(&pods, &running_pod(), &other).unwrap_err();
        assert_eq!(refused.code, 409);
        assert_eq!(
            refused.message,
            "Operation cannot be fulfilled on Pod \"web-1\": the UID in the precondition (u-2) does not match the UID in record (u-1). The object might have been deleted and then recreated"
        );
        let stale = DeleteOptions { resource_version: Some("4".into()), ..DeleteOptions::now() };
        assert_eq!(decide(&pods, &running_pod(), &stale).unwrap_err().code, 409);
        let same = DeleteOptions { uid: Some("u-1".into()), ..DeleteOptions::now() };
        assert_eq!(decide(&pods, &running_pod(), &same).unwrap(), Deletion::Remove);
    }
}
