//! Events: one resource served in two versions. kube-apiserver keeps core/v1 and events.k8s.io/v1
//! Events in one storage, whose version is core/v1, so an Event written through either API is
//! read, listed and watched through both, with one resourceVersion sequence. The store keeps them
//! in the core/v1 form; this module converts between the two forms as kube-apiserver does, which
//! amounts to a round trip through its Go types:
//! - the renamed fields move (`involvedObject` ⇄ `regarding`, `message` ⇄ `note`, ...), the shared
//!   ones carry over;
//! - a field the target version does not have is dropped, as decoding into its type drops it;
//! - empty values of `omitempty` fields are left out, and what Go always writes is written: the
//!   struct-valued fields (`{}` when unset), unset times (`null`), and core/v1's two reporting
//!   fields, which have no `omitempty`.

use serde_json::{Map, Value, json};

use crate::registry::ResourceInfo;

/// The two APIs that serve Events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventApi {
    /// core/v1, the form Events are stored in.
    Core,
    /// events.k8s.io/v1, the API event recorders such as kube-runtime's `Recorder` write to.
    EventsV1,
}

/// Fields whose names differ: `(core/v1 name, events.k8s.io/v1 name)`.
const RENAMED: [(&str, &str); 7] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

/// Fields with the same name and meaning in both versions.
const SHARED: [&str; 8] =
    ["metadata", "eventTime", "series", "related", "reportingInstance", "action", "reason", "type"];

impl EventApi {
    /// The API `info` is, if it is one of the two Event APIs.
    pub fn of(info: &ResourceInfo) -> Option<Self> {
        match (info.group.as_str(), info.version.as_str(), info.resource.as_str()) {
            ("", "v1", "events") => Some(Self::Core),
            ("events.k8s.io", "v1", "events") => Some(Self::EventsV1),
            _ => None,
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Self::Core => "v1",
            Self::EventsV1 => "events.k8s.io/v1",
        }
    }

    /// This version's name of a renamed field.
    fn name_in(self, (core, events): (&'static str, &'static str)) -> &'static str {
        match self {
            Self::Core => core,
            Self::EventsV1 => events,
        }
    }

    /// The fields this version's Go type writes even when they are unset, and what it writes.
    fn always_written(self) -> &'static [(&'static str, Unset)] {
        match self {
            Self::Core => &[
                ("involvedObject", Unset::EmptyObject),
                ("source", Unset::EmptyObject),
                ("firstTimestamp", Unset::Null),
                ("lastTimestamp", Unset::Null),
                ("eventTime", Unset::Null),
                ("reportingComponent", Unset::EmptyText),
                ("reportingInstance", Unset::EmptyText),
            ],
            Self::EventsV1 => &[
                ("regarding", Unset::EmptyObject),
                ("deprecatedSource", Unset::EmptyObject),
                ("deprecatedFirstTimestamp", Unset::Null),
                ("deprecatedLastTimestamp", Unset::Null),
                ("eventTime", Unset::Null),
            ],
        }
    }
}

/// How Go's JSON encoding writes an unset field that is not `omitempty`-able.
#[derive(Debug, Clone, Copy)]
enum Unset {
    /// A struct value: `{}`.
    EmptyObject,
    /// A zero time: `null`.
    Null,
    /// A string without `omitempty`: `""`.
    EmptyText,
}

impl Unset {
    fn value(self) -> Value {
        match self {
            Self::EmptyObject => json!({}),
            Self::Null => Value::Null,
            Self::EmptyText => json!(""),
        }
    }
}

/// `event`, in the form of API `from`, converted to the form of API `to`. Converting to the same
/// API normalizes: unknown fields go, the always-written ones come.
pub fn convert(event: &Value, from: EventApi, to: EventApi) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(to.api_version()));
    out.insert("kind".into(), json!("Event"));
    for field in SHARED {
        carry(event, field, &mut out, field);
    }
    for pair in RENAMED {
        carry(event, from.name_in(pair), &mut out, to.name_in(pair));
    }
    for (field, unset) in to.always_written() {
        out.entry(*field).or_insert_with(|| unset.value());
    }
    Value::Object(out)
}

/// Copies `event[from]` to `out[to]` unless it is empty: the scalar fields of both Event types are
/// `omitempty` (the two of core/v1 that are not come back through `always_written`), and a null is
/// what an unset pointer or time reads as.
fn carry(event: &Value, from: &str, out: &mut Map<String, Value>, to: &str) {
    let Some(value) = event.get(from) else { return };
    let empty = match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    };
    if !empty {
        out.insert(to.to_string(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kube-runtime's `Recorder` sends for a first occurrence.
    fn recorded() -> Value {
        json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": { "name": "web.17f3", "namespace": "demo" },
            "eventTime": "2026-01-10T11:59:50.123456Z",
            "regarding": { "apiVersion": "v1", "kind": "Service", "name": "web", "namespace": "demo", "uid": "u-1" },
            "note": "Provisioned the load balancer",
            "reason": "Provisioned",
            "type": "Normal",
            "action": "Reconcile",
            "reportingController": "elbow",
            "reportingInstance": "elbow-7d9f",
        })
    }

    #[test]
    fn an_events_v1_event_reads_in_core_v1_with_the_old_names() {
        let core = convert(&recorded(), EventApi::EventsV1, EventApi::Core);
        assert_eq!(
            core,
            json!({
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": { "name": "web.17f3", "namespace": "demo" },
                "eventTime": "2026-01-10T11:59:50.123456Z",
                "involvedObject": { "apiVersion": "v1", "kind": "Service", "name": "web", "namespace": "demo", "uid": "u-1" },
                "message": "Provisioned the load balancer",
                "reason": "Provisioned",
                "type": "Normal",
                "action": "Reconcile",
                "reportingComponent": "elbow",
                "reportingInstance": "elbow-7d9f",
                "source": {},
                "firstTimestamp": null,
                "lastTimestamp": null,
            })
        );
    }

    #[test]
    fn a_core_event_reads_in_events_v1_with_the_deprecated_fields() {
        let core = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": { "name": "web.1", "namespace": "demo", "resourceVersion": "7" },
            "involvedObject": { "kind": "Service", "name": "web", "fieldPath": "spec.ports" },
            "message": "quota exceeded",
            "reason": "SyncLoadBalancerFailed",
            "type": "Warning",
            "source": { "component": "service-controller", "host": "node-1" },
            "firstTimestamp": "2026-01-10T11:30:00Z",
            "lastTimestamp": "2026-01-10T11:59:00Z",
            "count": 4,
            "series": { "count": 4, "lastObservedTime": "2026-01-10T11:59:00.000000Z" },
            "related": { "kind": "Node", "name": "node-1" },
            "reportingComponent": "",
            "reportingInstance": "",
            "eventTime": null,
        });
        let events = convert(&core, EventApi::Core, EventApi::EventsV1);
        assert_eq!(
            events,
            json!({
                "apiVersion": "events.k8s.io/v1",
                "kind": "Event",
                "metadata": { "name": "web.1", "namespace": "demo", "resourceVersion": "7" },
                "regarding": { "kind": "Service", "name": "web", "fieldPath": "spec.ports" },
                "note": "quota exceeded",
                "reason": "SyncLoadBalancerFailed",
                "type": "Warning",
                "deprecatedSource": { "component": "service-controller", "host": "node-1" },
                "deprecatedFirstTimestamp": "2026-01-10T11:30:00Z",
                "deprecatedLastTimestamp": "2026-01-10T11:59:00Z",
                "deprecatedCount": 4,
                "series": { "count": 4, "lastObservedTime": "2026-01-10T11:59:00.000000Z" },
                "related": { "kind": "Node", "name": "node-1" },
                "eventTime": null,
            })
        );
        assert_eq!(convert(&events, EventApi::EventsV1, EventApi::Core), core, "the round trip loses nothing");
    }

    #[test]
    fn the_round_trip_through_core_keeps_an_events_v1_event() {
        let mut event = recorded();
        event["series"] = json!({ "count": 2, "lastObservedTime": "2026-01-10T11:59:55.000000Z" });
        let back = convert(&convert(&event, EventApi::EventsV1, EventApi::Core), EventApi::Core, EventApi::EventsV1);
        let mut expected = event;
        expected["deprecatedSource"] = json!({});
        expected["deprecatedFirstTimestamp"] = Value::Null;
        expected["deprecatedLastTimestamp"] = Value::Null;
        assert_eq!(back, expected);
    }

    #[test]
    fn fields_of_the_other_version_or_of_neither_are_dropped() {
        let mut event = recorded();
        event["message"] = json!("a core field sent to events.k8s.io");
        event["extra"] = json!(true);
        let core = convert(&event, EventApi::EventsV1, EventApi::Core);
        assert_eq!(core["message"], "Provisioned the load balancer");
        assert!(core.get("extra").is_none());

        let normalized = convert(&json!({ "metadata": { "name": "a" }, "note": "x" }), EventApi::Core, EventApi::Core);
        assert!(normalized.get("note").is_none() && normalized.get("message").is_none(), "{normalized}");
        assert_eq!(normalized["involvedObject"], json!({}), "core/v1 always writes involvedObject");
    }

    #[test]
    fn empty_values_of_omitempty_fields_are_left_out() {
        let core =
            json!({ "metadata": { "name": "a" }, "count": 0, "message": "", "series": null, "reportingComponent": "" });
        let events = convert(&core, EventApi::Core, EventApi::EventsV1);
        for field in ["deprecatedCount", "note", "series", "reportingController"] {
            assert!(events.get(field).is_none(), "{field} in {events}");
        }
    }

    #[test]
    fn only_the_two_event_apis_are_event_apis() {
        let registry = crate::registry::Registry::default();
        let of = |group: &str, resource: &str| EventApi::of(registry.get(group, "v1", resource).unwrap());
        assert_eq!(of("", "events"), Some(EventApi::Core));
        assert_eq!(of("events.k8s.io", "events"), Some(EventApi::EventsV1));
        assert_eq!(of("", "configmaps"), None);
    }
}
