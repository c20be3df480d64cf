//! Label selectors (equality- and set-based, from a query's text or from a `LabelSelector` object
//! with `matchLabels` and `matchExpressions`), and field selectors with the labels kube-apiserver
//! accepts for each resource: `metadata.name` and `metadata.namespace` everywhere they apply, and
//! the resource's own (an Event's `involvedObject.*`, a Pod's `spec.nodeName`, ...). A label the
//! resource does not support is refused with kube-apiserver's message.

use serde_json::{Value, json};

use crate::registry::ResourceInfo;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let requirement = if let Some(key) = part.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_string())
            } else if let Some((key, rest)) = split_word(part, " notin ") {
                Requirement::NotIn(key, set(&rest)?)
            } else if let Some((key, rest)) = split_word(part, " in ") {
                Requirement::In(key, set(&rest)?)
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) = part.split_once("==") {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) = part.split_once('=') {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else {
                Requirement::Exists(part.to_string())
            };
            requirements.push(requirement);
        }
        Ok(Self { requirements })
    }

    /// A `metav1.LabelSelector` object, as admission webhooks carry them (`namespaceSelector`,
    /// `objectSelector`), checked as kube-apiserver checks one: the errors name fields under
    /// `path`. A null selector is the empty one, which matches everything.
    pub fn from_object(selector: &Value, path: &str) -> Result<Self, Vec<String>> {
        use crate::validation::{forbidden, go_value, invalid, label_value_errors, qualified_name_errors, required};
        let mut requirements = Vec::new();
        let mut errors = Vec::new();
        if let Some(labels) = selector["matchLabels"].as_object() {
            for (key, value) in labels {
                let at = format!("{path}.matchLabels");
                errors.extend(qualified_name_errors(key).iter().map(|e| invalid(&at, &go_value(&json!(key)), e)));
                let value = value.as_str().unwrap_or_default();
                errors.extend(label_value_errors(value).iter().map(|e| invalid(&at, &go_value(&json!(value)), e)));
                requirements.push(Requirement::Equals(key.clone(), value.to_string()));
            }
        }
        let expressions = selector["matchExpressions"].as_array().map(Vec::as_slice).unwrap_or_default();
        for (i, expression) in expressions.iter().enumerate() {
            let at = format!("{path}.matchExpressions[{i}]");
            let key = expression["key"].as_str().unwrap_or_default().to_string();
            let values: Vec<String> = expression["values"]
                .as_array()
                .map(|v| v.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect())
                .unwrap_or_default();
            let operator = expression["operator"].as_str().unwrap_or_default();
            let requirement = match operator {
                "In" | "NotIn" if values.is_empty() => {
                    errors.push(required(
                        &format!("{at}.values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                    None
                }
                "In" => Some(Requirement::In(key.clone(), values.clone())),
                "NotIn" => Some(Requirement::NotIn(key.clone(), values.clone())),
                "Exists" | "DoesNotExist" if !values.is_empty() => {
                    errors.push(forbidden(
                        &format!("{at}.values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                    None
                }
                "Exists" => Some(Requirement::Exists(key.clone())),
                "DoesNotExist" => Some(Requirement::NotExists(key.clone())),
                other => {
                    errors.push(invalid(
                        &format!("{at}.operator"),
                        &go_value(&json!(other)),
                        "not a valid selector operator",
                    ));
                    None
                }
            };
            errors.extend(
                qualified_name_errors(&key).iter().map(|e| invalid(&format!("{at}.key"), &go_value(&json!(key)), e)),
            );
            for (j, value) in values.iter().enumerate() {
                let at = format!("{at}.values[{j}]");
                errors.extend(label_value_errors(value).iter().map(|e| invalid(&at, &go_value(&json!(value)), e)));
            }
            requirements.extend(requirement);
        }
        if errors.is_empty() { Ok(Self { requirements }) } else { Err(errors) }
    }

    /// Whether the selector selects everything (kube-apiserver's `selector.Empty()`).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object's labels match.
    pub fn matches(&self, object: &Value) -> bool {
        self.matches_labels(&object["metadata"]["labels"])
    }

    /// Whether a label map matches.
    pub fn matches_labels(&self, labels: &Value) -> bool {
        let get = |key: &str| labels.get(key).and_then(Value::as_str);
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

/// Commas separate requirements, except inside `( )` of a set.
fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

fn split_word(part: &str, word: &str) -> Option<(String, String)> {
    part.split_once(word).map(|(k, rest)| (k.trim().to_string(), rest.trim().to_string()))
}

fn set(text: &str) -> Result<Vec<String>, String> {
    let inner =
        text.strip_prefix('(').and_then(|t| t.strip_suffix(')')).ok_or_else(|| format!("invalid set {text:?}"))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect())
}

/// How a field selector label reads its value from an object, in the form its resource serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// The text at a dotted JSON path (numbers index arrays); "" when missing.
    Path(&'static str),
    /// The text at the first path, or at the second when the first is empty.
    Either(&'static str, &'static str),
    /// A boolean at a path, written `true`/`false`; `false` when missing, Go's zero value.
    Flag(&'static str),
    /// A label kube-apiserver accepts but puts in no field set, so it always reads "".
    Nothing,
}

impl Read {
    fn value(self, object: &Value) -> String {
        match self {
            Self::Path(path) => text_at(object, path),
            Self::Either(first, second) => {
                Some(text_at(object, first)).filter(|v| !v.is_empty()).unwrap_or_else(|| text_at(object, second))
            }
            Self::Flag(path) => at(object, path).and_then(Value::as_bool).unwrap_or(false).to_string(),
            Self::Nothing => String::new(),
        }
    }
}

fn at<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(object, |value, segment| match segment.parse::<usize>() {
        Ok(index) => value.get(index),
        Err(_) => value.get(segment),
    })
}

fn text_at(object: &Value, path: &str) -> String {
    match at(object, path) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

type Labels = &'static [(&'static str, Read)];

const NAME: (&str, Read) = ("metadata.name", Read::Path("metadata.name"));
const NAMESPACE: (&str, Read) = ("metadata.namespace", Read::Path("metadata.namespace"));

/// Every built-in resource without labels of its own, and namespaced custom resources.
const META: Labels = &[NAME, NAMESPACE];

/// pkg/apis/core/v1's field label conversions and pkg/registry's selectable fields, for the
/// resources of both this server serves.
const PODS: Labels = &[
    NAME,
    NAMESPACE,
    ("spec.nodeName", Read::Path("spec.nodeName")),
    // What clients before v1 sent for spec.nodeName.
    ("spec.host", Read::Path("spec.nodeName")),
    ("spec.restartPolicy", Read::Path("spec.restartPolicy")),
    ("spec.schedulerName", Read::Path("spec.schedulerName")),
    ("spec.serviceAccountName", Read::Path("spec.serviceAccountName")),
    ("spec.hostNetwork", Read::Flag("spec.hostNetwork")),
    ("status.phase", Read::Path("status.phase")),
    ("status.podIP", Read::Either("status.podIPs.0.ip", "status.podIP")),
    ("status.podIPs", Read::Nothing),
    ("status.nominatedNodeName", Read::Path("status.nominatedNodeName")),
];
const NODES: Labels = &[NAME, ("spec.unschedulable", Read::Flag("spec.unschedulable"))];
const NAMESPACES: Labels = &[NAME, ("status.phase", Read::Path("status.phase"))];
const SECRETS: Labels = &[NAME, NAMESPACE, ("type", Read::Path("type"))];
const SERVICES: Labels =
    &[NAME, NAMESPACE, ("spec.clusterIP", Read::Path("spec.clusterIP")), ("spec.type", Read::Path("spec.type"))];
const CORE_EVENTS: Labels = &[
    NAME,
    NAMESPACE,
    ("involvedObject.kind", Read::Path("involvedObject.kind")),
    ("involvedObject.namespace", Read::Path("involvedObject.namespace")),
    ("involvedObject.name", Read::Path("involvedObject.name")),
    ("involvedObject.uid", Read::Path("involvedObject.uid")),
    ("involvedObject.apiVersion", Read::Path("involvedObject.apiVersion")),
    ("involvedObject.resourceVersion", Read::Path("involvedObject.resourceVersion")),
    ("involvedObject.fieldPath", Read::Path("involvedObject.fieldPath")),
    ("reason", Read::Path("reason")),
    ("reportingComponent", Read::Path("reportingComponent")),
    // Events of the newer API have no source; kube-apiserver reads their reporting controller.
    ("source", Read::Either("source.component", "reportingComponent")),
    ("type", Read::Path("type")),
];
/// events.k8s.io/v1's labels: core/v1's, by the names of its own fields.
const EVENTS_V1: Labels = &[
    NAME,
    NAMESPACE,
    ("regarding.kind", Read::Path("regarding.kind")),
    ("regarding.namespace", Read::Path("regarding.namespace")),
    ("regarding.name", Read::Path("regarding.name")),
    ("regarding.uid", Read::Path("regarding.uid")),
    ("regarding.apiVersion", Read::Path("regarding.apiVersion")),
    ("regarding.resourceVersion", Read::Path("regarding.resourceVersion")),
    ("regarding.fieldPath", Read::Path("regarding.fieldPath")),
    ("reason", Read::Path("reason")),
    ("reportingController", Read::Path("reportingController")),
    ("source", Read::Either("deprecatedSource.component", "reportingController")),
    ("type", Read::Path("type")),
];

/// What a resource's field selectors accept, and how kube-apiserver words a refusal.
struct Accepted {
    labels: Labels,
    /// Resources with conversions of their own (and custom resources) say "field label not
    /// supported"; the rest fall back to apimachinery's default, which names the two it knows.
    own_conversion: bool,
}

impl Accepted {
    fn of(info: &ResourceInfo) -> Self {
        let own = |labels| Self { labels, own_conversion: true };
        match (info.group.as_str(), info.resource.as_str()) {
            ("", "pods") => own(PODS),
            ("", "nodes") => own(NODES),
            ("", "namespaces") => own(NAMESPACES),
            ("", "secrets") => own(SECRETS),
            ("", "services") => own(SERVICES),
            ("", "events") => own(CORE_EVENTS),
            ("events.k8s.io", "events") => own(EVENTS_V1),
            _ if info.is_builtin() => Self { labels: META, own_conversion: false },
            // The apiextensions server: metadata.namespace only where there are namespaces.
            _ if info.namespaced => own(META),
            _ => own(&[NAME]),
        }
    }

    fn read(&self, label: &str) -> Result<Read, String> {
        match self.labels.iter().find(|(name, _)| *name == label) {
            Some((_, read)) => Ok(*read),
            None if self.own_conversion => Err(format!("field label not supported: {label}")),
            None => {
                Err(format!("{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRequirement {
    read: Read,
    equal: bool,
    value: String,
}

/// A field selector for one resource: the labels kube-apiserver accepts for it, `=`, `==` and
/// `!=`, and values with `\` escapes. An unknown label is an error (a 400), never ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    pub fn parse(info: &ResourceInfo, text: &str) -> Result<Self, String> {
        let accepted = Accepted::of(info);
        let mut requirements = Vec::new();
        for term in split_unescaped_commas(text).into_iter().filter(|t| !t.is_empty()) {
            let (label, equal, value) =
                split_term(&term).ok_or_else(|| format!("invalid selector: '{text}'; can't understand '{term}'"))?;
            requirements.push(FieldRequirement { read: accepted.read(label.trim())?, equal, value: unescape(value)? });
        }
        Ok(Self { requirements })
    }

    /// The selector a request for one object by name implies.
    pub fn named(name: &str) -> Self {
        Self { requirements: vec![FieldRequirement { read: NAME.1, equal: true, value: name.to_string() }] }
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|r| (r.read.value(object) == r.value) == r.equal)
    }
}

/// Terms are separated by commas, except escaped ones (`\,`) inside values.
fn split_unescaped_commas(text: &str) -> Vec<String> {
    let mut terms = vec![String::new()];
    let mut escaped = false;
    for c in text.chars() {
        if c == ',' && !escaped {
            terms.push(String::new());
            continue;
        }
        escaped = c == '\\' && !escaped;
        if let Some(term) = terms.last_mut() {
            term.push(c);
        }
    }
    terms
}

/// A term's label, whether it asks for equality, and its (still escaped) value, cut at the first
/// operator as apimachinery cuts it: `!=`, `==` or `=`.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    (0..term.len()).filter(|&i| term.is_char_boundary(i)).find_map(|i| {
        let rest = &term[i..];
        [("!=", false), ("==", true), ("=", true)]
            .into_iter()
            .find(|(operator, _)| rest.starts_with(operator))
            .map(|(operator, equal)| (&term[..i], equal, &rest[operator.len()..]))
    })
}

/// A value with its escapes (`\\`, `\,`, `\=`) undone.
fn unescape(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(escaped @ ('\\' | ',' | '=')) => out.push(escaped),
            Some(other) => {
                return Err(format!("invalid field selector value {value:?}: invalid escape sequence \\{other}"));
            }
            None => return Err(format!("invalid field selector value {value:?}: unterminated escape sequence")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors() {
        let object = json!({ "metadata": { "labels": { "app": "web", "tier": "front" } } });
        for (selector, expected) in [
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("app in (web, api)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("missing notin (x)", true),
            ("", true),
        ] {
            assert_eq!(LabelSelector::parse(selector).expect(selector).matches(&object), expected, "{selector}");
        }
    }

    #[test]
    fn label_selector_objects() {
        let selector = json!({
            "matchLabels": { "team": "web" },
            "matchExpressions": [
                { "key": "tier", "operator": "In", "values": ["front", "back"] },
                { "key": "legacy", "operator": "DoesNotExist" },
            ],
        });
        let selector = LabelSelector::from_object(&selector, "s").expect("valid");
        assert!(selector.matches_labels(&json!({ "team": "web", "tier": "front" })));
        assert!(!selector.matches_labels(&json!({ "team": "web", "tier": "front", "legacy": "yes" })));
        assert!(!selector.matches_labels(&json!({ "team": "web" })));
        assert!(LabelSelector::from_object(&Value::Null, "s").expect("empty").is_empty());
        let refused = LabelSelector::from_object(
            &json!({ "matchExpressions": [{ "key": "a", "operator": "In" }, { "key": "b", "operator": "Exists", "values": ["x"] }, { "key": "c", "operator": "Has" }] }),
            "s",
        );
        assert_eq!(
            refused,
            Err(vec![
                "s.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'".to_string(),
                "s.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'".to_string(),
                "s.matchExpressions[2].operator: Invalid value: \"Has\": not a valid selector operator".to_string(),
            ])
        );
    }

    fn info(group: &str, resource: &str) -> ResourceInfo {
        crate::registry::Registry::default().get(group, "v1", resource).expect("served").clone()
    }

    #[test]
    fn field_selectors() {
        let configmaps = info("", "configmaps");
        let object = json!({ "metadata": { "name": "a", "namespace": "ns" } });
        let parse = |text| FieldSelector::parse(&configmaps, text);
        assert!(parse("metadata.name=a,metadata.namespace==ns").expect("valid").matches(&object));
        assert!(!parse("metadata.name!=a").expect("valid").matches(&object));
        assert!(parse("").expect("empty").matches(&object));
        assert_eq!(
            parse("spec.x=1"),
            Err(r#""spec.x" is not a known field selector: only "metadata.name", "metadata.namespace""#.into())
        );
        assert_eq!(
            parse("metadata.name"),
            Err("invalid selector: 'metadata.name'; can't understand 'metadata.name'".into())
        );
    }

    #[test]
    fn values_may_escape_commas_and_equals_signs() {
        let object = json!({ "metadata": { "name": "a,b=c\\d" } });
        let selector = FieldSelector::parse(&info("", "configmaps"), r"metadata.name=a\,b\=c\\d").expect("valid");
        assert!(selector.matches(&object));
        assert!(FieldSelector::parse(&info("", "configmaps"), r"metadata.name=a\x").is_err());
    }

    #[test]
    fn core_events_select_by_the_object_they_are_about() {
        let events = info("", "events");
        let event = json!({
            "metadata": { "name": "web.1", "namespace": "demo" },
            "involvedObject": { "kind": "Service", "name": "web", "namespace": "demo", "uid": "u-1", "apiVersion": "v1" },
            "reason": "Provisioned", "type": "Normal", "source": {}, "reportingComponent": "elbow",
        });
        let matches = |text: &str| FieldSelector::parse(&events, text).expect(text).matches(&event);
        // What kubectl describe asks for.
        assert!(matches(
            "involvedObject.name=web,involvedObject.namespace=demo,involvedObject.kind=Service,involvedObject.uid=u-1"
        ));
        assert!(!matches("involvedObject.name=web,involvedObject.uid=u-2"));
        assert!(matches("involvedObject.apiVersion=v1,involvedObject.fieldPath=,involvedObject.resourceVersion="));
        assert!(matches("reason=Provisioned,type=Normal,reportingComponent=elbow"));
        assert!(matches("source=elbow"), "without a source, the reporting controller");
        assert_eq!(
            FieldSelector::parse(&events, "regarding.name=web"),
            Err("field label not supported: regarding.name".into())
        );
    }

    #[test]
    fn events_v1_select_by_their_own_field_names() {
        let events = info("events.k8s.io", "events");
        let event = json!({
            "metadata": { "name": "web.1", "namespace": "demo" },
            "regarding": { "kind": "Service", "name": "web" },
            "reason": "Provisioned", "type": "Warning", "reportingController": "elbow",
            "deprecatedSource": { "component": "legacy" },
        });
        let matches = |text: &str| FieldSelector::parse(&events, text).expect(text).matches(&event);
        assert!(matches("regarding.name=web,regarding.kind=Service,reason=Provisioned,type=Warning"));
        assert!(matches("reportingController=elbow,source=legacy"));
        assert!(!matches("type!=Warning"));
        assert_eq!(
            FieldSelector::parse(&events, "involvedObject.name=web"),
            Err("field label not supported: involvedObject.name".into())
        );
    }

    #[test]
    fn each_resource_accepts_its_own_labels() {
        let pod = json!({ "metadata": { "name": "p" }, "spec": { "nodeName": "n1" }, "status": { "podIPs": [{ "ip": "10.0.0.9" }] } });
        let pods = info("", "pods");
        assert!(
            FieldSelector::parse(&pods, "spec.host=n1,status.podIP=10.0.0.9,spec.hostNetwork=false")
                .unwrap()
                .matches(&pod)
        );
        let node = json!({ "metadata": { "name": "n1" }, "spec": { "unschedulable": true } });
        assert!(FieldSelector::parse(&info("", "nodes"), "spec.unschedulable=true").unwrap().matches(&node));
        assert!(
            FieldSelector::parse(&info("", "nodes"), "metadata.namespace=x").is_err(),
            "nodes have no namespace label"
        );
        let service =
            json!({ "metadata": { "name": "s" }, "spec": { "type": "LoadBalancer", "clusterIP": "10.96.0.5" } });
        assert!(
            FieldSelector::parse(&info("", "services"), "spec.type=LoadBalancer,spec.clusterIP!=None")
                .unwrap()
                .matches(&service)
        );
        assert_eq!(
            FieldSelector::parse(&info("", "services"), "status.x=1"),
            Err("field label not supported: status.x".into())
        );
    }

    #[test]
    fn custom_resources_accept_name_and_namespace_where_they_have_one() {
        let mut widgets = info("", "configmaps");
        (widgets.group, widgets.resource, widgets.kind) = ("example.com".into(), "widgets".into(), "Widget".into());
        assert!(FieldSelector::parse(&widgets, "metadata.namespace=a").is_ok());
        widgets.namespaced = false;
        assert_eq!(
            FieldSelector::parse(&widgets, "metadata.namespace=a"),
            Err("field label not supported: metadata.namespace".into())
        );
        assert!(FieldSelector::parse(&widgets, "metadata.name=a").is_ok());
    }
}
