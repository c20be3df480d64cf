//! Which webhooks a request goes to, as kube-apiserver decides (`ShouldCallHook`): the
//! namespaceSelector, the objectSelector, then the rules (operations, API groups and versions,
//! resources with subresources and `*`, scope), and with `matchPolicy: Equivalent` the same
//! resource served through another group or version.

use serde_json::Value;

use super::cel;
use super::config::{Hook, Rule};
use crate::errors::ApiError;
use crate::registry::ResourceInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        }
    }
}

/// What kube-apiserver's admission attributes hold of a request, as far as matching needs.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    /// The resource the request came through.
    pub info: &'a ResourceInfo,
    pub subresource: &'a str,
    /// The request's namespace: for a Namespace named in the path, its own name.
    pub namespace: &'a str,
    pub operation: Operation,
    pub object: Option<&'a Value>,
    pub old: Option<&'a Value>,
}

fn is_namespaces(info: &ResourceInfo) -> bool {
    info.group.is_empty() && info.version == "v1" && info.resource == "namespaces"
}

/// Whether `hook` is called for the request, and through which resource: the request's own, or
/// an equivalent one (`equivalents`: the other resources of the same storage) the rules name.
/// `namespace` reads a namespace's object, for the namespaceSelector; a namespace that does not
/// exist is a 404, returned only when the rules would call the webhook, as kube-apiserver does.
pub fn should_call(
    hook: &Hook,
    attributes: &Attributes<'_>,
    equivalents: &[ResourceInfo],
    namespace: impl FnOnce(&str) -> Option<Value>,
) -> Result<Option<ResourceInfo>, ApiError> {
    let namespace_match = namespace_selector_matches(hook, attributes, namespace);
    if matches!(namespace_match, Ok(false)) {
        return Ok(None);
    }
    if !object_selector_matches(hook, attributes) {
        return Ok(None);
    }
    let mut called_as =
        hook.rules.iter().any(|r| rule_matches(r, attributes.info, attributes)).then(|| attributes.info.clone());
    if called_as.is_none() && hook.match_equivalent {
        // Earlier rules first, then each equivalent resource in turn.
        called_as = hook.rules.iter().find_map(|rule| {
            equivalents.iter().find(|e| *e != attributes.info && rule_matches(rule, e, attributes)).cloned()
        });
    }
    match (called_as, namespace_match) {
        (None, _) => Ok(None),
        (Some(_), Err(error)) => Err(error),
        (Some(info), Ok(_)) => Ok(conditions_hold(hook, attributes)?.then_some(info)),
    }
}

/// The match conditions, last, as kube-apiserver evaluates them: any condition false skips the
/// webhook (whatever the others did); otherwise an evaluation error fails the request under
/// `failurePolicy: Fail` and skips the webhook under `Ignore`.
fn conditions_hold(hook: &Hook, attributes: &Attributes<'_>) -> Result<bool, ApiError> {
    if hook.match_conditions.is_empty() {
        return Ok(true);
    }
    let request = serde_json::json!({
        "operation": attributes.operation.as_str(),
        "namespace": attributes.namespace,
        "subResource": attributes.subresource,
        "resource": {
            "group": attributes.info.group,
            "version": attributes.info.version,
            "resource": attributes.info.resource,
        },
    });
    let vars = cel::Variables {
        object: attributes.object.unwrap_or(&Value::Null),
        old_object: attributes.old.unwrap_or(&Value::Null),
        request: &request,
    };
    let mut errors = Vec::new();
    for condition in &hook.match_conditions {
        match cel::evaluate_condition(&condition.expression, &vars) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(error) => errors.push(format!("{}: {error}", condition.name)),
        }
    }
    if errors.is_empty() {
        return Ok(true);
    }
    if hook.ignore_failures {
        return Ok(false);
    }
    let name = [attributes.object, attributes.old].into_iter().flatten().find_map(|o| o["metadata"]["name"].as_str());
    Err(ApiError::forbidden(
        &attributes.info.resource,
        name.unwrap_or_default(),
        format!("failed evaluating match conditions of webhook {}: {}", hook.name, errors.join(", ")),
    ))
}

fn namespace_selector_matches(
    hook: &Hook,
    attributes: &Attributes<'_>,
    namespace: impl FnOnce(&str) -> Option<Value>,
) -> Result<bool, ApiError> {
    // Cluster-scoped objects other than namespaces are never skipped by it.
    if attributes.namespace.is_empty() && !is_namespaces(attributes.info) {
        return Ok(true);
    }
    if hook.namespace_selector.is_empty() {
        return Ok(true);
    }
    // A namespace being created or updated is matched by the labels it is being given.
    let writing_namespace = is_namespaces(attributes.info)
        && attributes.subresource.is_empty()
        && matches!(attributes.operation, Operation::Create | Operation::Update);
    if writing_namespace {
        let labels = attributes.object.map(|o| &o["metadata"]["labels"]).unwrap_or(&Value::Null);
        return Ok(hook.namespace_selector.matches_labels(labels));
    }
    match namespace(attributes.namespace) {
        Some(object) => Ok(hook.namespace_selector.matches(&object)),
        None => Err(ApiError::not_found("namespaces", attributes.namespace)),
    }
}

/// Either the new or the old object matches; a missing one (the old on create, the new on
/// delete) never does.
fn object_selector_matches(hook: &Hook, attributes: &Attributes<'_>) -> bool {
    let selector = &hook.object_selector;
    selector.is_empty()
        || [attributes.object, attributes.old].into_iter().flatten().any(|object| selector.matches(object))
}

fn exact_or_wildcard(items: &[String], requested: &str) -> bool {
    items.iter().any(|item| item == "*" || item == requested)
}

/// One rule against the request, with `info` standing for its resource.
fn rule_matches(rule: &Rule, info: &ResourceInfo, attributes: &Attributes<'_>) -> bool {
    let scope = match rule.scope.as_str() {
        "*" => true,
        // Namespaces are cluster-scoped, although their requests carry a namespace.
        "Namespaced" => !is_namespaces(info) && !attributes.namespace.is_empty(),
        "Cluster" => is_namespaces(info) || attributes.namespace.is_empty(),
        _ => false,
    };
    let resource = rule.resources.iter().any(|entry| {
        let (resource, subresource) = entry.split_once('/').unwrap_or((entry, ""));
        (resource == "*" || resource == info.resource) && (subresource == "*" || subresource == attributes.subresource)
    });
    scope
        && exact_or_wildcard(&rule.operations, attributes.operation.as_str())
        && exact_or_wildcard(&rule.api_groups, &info.group)
        && exact_or_wildcard(&rule.api_versions, &info.version)
        && resource
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::Registry;
    use crate::webhooks::config;

    fn info(group: &str, resource: &str) -> ResourceInfo {
        Registry::default().get(group, "v1", resource).cloned().unwrap_or_else(|| panic!("{resource} served"))
    }

    fn hook(webhook: serde_json::Value) -> Hook {
        let mut webhook = webhook;
        webhook["name"] = json!("w.example.com");
        webhook["sideEffects"] = json!("None");
        webhook["admissionReviewVersions"] = json!(["v1"]);
        webhook["clientConfig"] = json!({ "url": "https://127.0.0.1:1/" });
        let mut configuration = json!({ "metadata": { "name": "c" }, "webhooks": [webhook] });
        let mutating = info("admissionregistration.k8s.io", "mutatingwebhookconfigurations");
        config::admit_configuration(&mutating, &mut configuration).unwrap_or_else(|e| panic!("{}", e.message));
        config::hooks(&configuration).remove(0)
    }

    fn rule(operations: &[&str], groups: &[&str], resources: &[&str], scope: &str) -> serde_json::Value {
        json!({ "operations": operations, "apiGroups": groups, "apiVersions": ["*"], "resources": resources, "scope": scope })
    }

    fn attributes<'a>(
        info: &'a ResourceInfo,
        subresource: &'a str,
        namespace: &'a str,
        object: &'a Value,
    ) -> Attributes<'a> {
        Attributes { info, subresource, namespace, operation: Operation::Create, object: Some(object), old: None }
    }

    fn called(hook: &Hook, attributes: &Attributes<'_>) -> bool {
        should_call(hook, attributes, &[], |_| Some(json!({ "metadata": { "labels": { "team": "web" } } })))
            .unwrap_or_else(|e| panic!("{}", e.message))
            .is_some()
    }

    #[test]
    fn rules_match_operations_groups_resources_and_subresources() {
        let services = info("", "services");
        let object = json!({ "metadata": { "name": "s" } });
        let create = attributes(&services, "", "demo", &object);
        let status = attributes(&services, "status", "demo", &object);
        let only_services = hook(json!({ "rules": [rule(&["CREATE"], &[""], &["services"], "*")] }));
        assert!(called(&only_services, &create));
        assert!(!called(&only_services, &status), "services does not name services/status");
        assert!(!called(&only_services, &Attributes { operation: Operation::Update, ..create }));
        let status_only = hook(json!({ "rules": [rule(&["*"], &["*"], &["*/status"], "*")] }));
        assert!(called(&status_only, &status));
        assert!(!called(&status_only, &create));
        let everything = hook(json!({ "rules": [rule(&["*"], &["*"], &["*"], "*")] }));
        assert!(called(&everything, &create));
        assert!(!called(&everything, &status), "* is every resource, not its subresources");
        let apps = hook(json!({ "rules": [rule(&["*"], &["apps"], &["*"], "*")] }));
        assert!(!called(&apps, &create));
    }

    #[test]
    fn scopes_treat_namespaces_as_cluster_scoped() {
        let namespaces = info("", "namespaces");
        let services = info("", "services");
        let object = json!({ "metadata": { "name": "x" } });
        let cluster = hook(json!({ "rules": [rule(&["*"], &[""], &["*"], "Cluster")] }));
        let namespaced = hook(json!({ "rules": [rule(&["*"], &[""], &["*"], "Namespaced")] }));
        let update_namespace = Attributes { operation: Operation::Update, ..attributes(&namespaces, "", "x", &object) };
        assert!(called(&cluster, &update_namespace));
        assert!(!called(&namespaced, &update_namespace));
        assert!(called(&namespaced, &attributes(&services, "", "demo", &object)));
        assert!(!called(&cluster, &attributes(&services, "", "demo", &object)));
    }

    #[test]
    fn selectors_filter_by_namespace_and_object_labels() {
        let services = info("", "services");
        let labelled = json!({ "metadata": { "name": "s", "labels": { "elbow": "yes" } } });
        let plain = json!({ "metadata": { "name": "s" } });
        let by_object = hook(json!({
            "rules": [rule(&["*"], &[""], &["services"], "*")],
            "objectSelector": { "matchLabels": { "elbow": "yes" } },
        }));
        assert!(called(&by_object, &attributes(&services, "", "demo", &labelled)));
        assert!(!called(&by_object, &attributes(&services, "", "demo", &plain)));
        let update = Attributes {
            operation: Operation::Update,
            old: Some(&labelled),
            ..attributes(&services, "", "demo", &plain)
        };
        assert!(called(&by_object, &update), "the old object matching is enough");

        let by_namespace = hook(json!({
            "rules": [rule(&["*"], &[""], &["services"], "*")],
            "namespaceSelector": { "matchExpressions": [{ "key": "team", "operator": "In", "values": ["web"] }] },
        }));
        let other_team = |_: &str| Some(json!({ "metadata": { "labels": { "team": "data" } } }));
        let in_demo = attributes(&services, "", "demo", &plain);
        assert!(called(&by_namespace, &in_demo));
        assert!(should_call(&by_namespace, &in_demo, &[], other_team).unwrap().is_none());
        let missing = should_call(&by_namespace, &in_demo, &[], |_| None).unwrap_err();
        assert_eq!(missing.code, 404);
    }

    #[test]
    fn equivalent_resources_match_unless_the_policy_is_exact() {
        let core = info("", "events");
        let events_v1 = info("events.k8s.io", "events");
        let object = json!({ "metadata": { "name": "e" } });
        let request = attributes(&events_v1, "", "demo", &object);
        let equivalents = [core.clone(), events_v1.clone()];
        let core_rule = json!({ "rules": [rule(&["CREATE"], &[""], &["events"], "*")] });
        let equivalent = hook(core_rule.clone());
        let called_as = should_call(&equivalent, &request, &equivalents, |_| None).unwrap();
        assert_eq!(called_as, Some(core));
        let mut exact = core_rule;
        exact["matchPolicy"] = json!("Exact");
        assert_eq!(should_call(&hook(exact), &request, &equivalents, |_| None).unwrap(), None);
    }
}
