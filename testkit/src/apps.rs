//! The registry rules of apps/v1 Deployments and ReplicaSets that controllers and kubectl rely on:
//! their defaults (`SetDefaults_Deployment`: one replica, RollingUpdate with 25% surge and 25%
//! unavailable, ten old ReplicaSets kept, a 600 s progress deadline; the pod template defaulted
//! as a pod is), the validation that keeps a selector and its template together, a fresh status on
//! create, and the `scale` subresource (`autoscaling/v1` Scale) that `kubectl scale` and the
//! HorizontalPodAutoscaler write replicas through.

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::registry::ResourceInfo;
use crate::selectors::LabelSelector;
use crate::validation::{invalid, invalid_object, required};

/// Whether `info` is a workload resource of apps/v1 this module knows.
pub fn is_workload(info: &ResourceInfo) -> bool {
    info.group == "apps" && matches!(info.resource.as_str(), "deployments" | "replicasets") && info.is_builtin()
}

/// The defaults of a Deployment or ReplicaSet.
pub fn defaults(info: &ResourceInfo, object: &mut Value) {
    if !object["spec"].is_object() {
        object["spec"] = json!({});
    }
    let spec = &mut object["spec"];
    if spec["replicas"].is_null() {
        spec["replicas"] = json!(1);
    }
    if info.resource == "deployments" {
        if spec["strategy"]["type"].is_null() {
            spec["strategy"]["type"] = json!("RollingUpdate");
        }
        if spec["strategy"]["type"] == "RollingUpdate" {
            let rolling = &mut spec["strategy"]["rollingUpdate"];
            for field in ["maxUnavailable", "maxSurge"] {
                if rolling[field].is_null() {
                    rolling[field] = json!("25%");
                }
            }
        }
        if spec["revisionHistoryLimit"].is_null() {
            spec["revisionHistoryLimit"] = json!(10);
        }
        if spec["progressDeadlineSeconds"].is_null() {
            spec["progressDeadlineSeconds"] = json!(600);
        }
    }
    if spec["template"]["spec"].is_object() {
        crate::pods::spec_defaults(&mut spec["template"]["spec"]);
    }
}

/// Defaults, validation and, on create, an empty status (the strategy's `PrepareForCreate`).
pub fn admit(info: &ResourceInfo, old: Option<&Value>, object: &mut Value) -> Result<(), ApiError> {
    defaults(info, object);
    let errors = validate(info, old, object);
    if !errors.is_empty() {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        return Err(invalid_object("apps", &info.kind, name, &errors));
    }
    if old.is_none() {
        object["status"] = json!({});
    }
    Ok(())
}

fn validate(info: &ResourceInfo, old: Option<&Value>, object: &Value) -> Vec<String> {
    let spec = &object["spec"];
    let mut errors = Vec::new();
    if let Some(replicas) = spec["replicas"].as_i64().filter(|r| *r < 0) {
        errors.push(invalid("spec.replicas", &replicas.to_string(), "must be greater than or equal to 0"));
    }
    let selector = &spec["selector"];
    if !selector.is_object() {
        errors.push(required("spec.selector", ""));
    } else {
        match LabelSelector::from_object(selector, "spec.selector") {
            Err(selector_errors) => errors.extend(selector_errors),
            Ok(parsed) if parsed.is_empty() => errors.push(invalid(
                "spec.selector",
                &go_selector(selector),
                &format!("empty selector is invalid for {}", info.singular),
            )),
            Ok(parsed) => {
                let labels = &spec["template"]["metadata"]["labels"];
                if !parsed.matches_labels(labels) {
                    errors.push(invalid(
                        "spec.template.metadata.labels",
                        &go_string_map(labels),
                        "`selector` does not match template `labels`",
                    ));
                }
            }
        }
        if let Some(old) = old
            && old["spec"]["selector"] != *selector
        {
            errors.push(invalid("spec.selector", &go_selector(selector), "field is immutable"));
        }
    }
    if spec["template"]["spec"]["containers"].as_array().is_none_or(Vec::is_empty) {
        errors.push(required("spec.template.spec.containers", ""));
    }
    if let Some(policy) = spec["template"]["spec"]["restartPolicy"].as_str().filter(|p| *p != "Always") {
        errors.push(crate::validation::not_supported("spec.template.spec.restartPolicy", &json!(policy), &["Always"]));
    }
    if info.resource == "deployments" {
        errors.extend(strategy_errors(&spec["strategy"]));
    }
    errors
}

/// The rolling-update parameters: each a count or a percentage, not over 100%, not both 0.
fn strategy_errors(strategy: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let kind = strategy["type"].as_str().unwrap_or_default();
    if !matches!(kind, "RollingUpdate" | "Recreate") {
        errors.push(crate::validation::not_supported(
            "spec.strategy.type",
            &json!(kind),
            &["Recreate", "RollingUpdate"],
        ));
    }
    if kind == "Recreate" && !strategy["rollingUpdate"].is_null() {
        errors.push(crate::validation::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
    if kind != "RollingUpdate" {
        return errors;
    }
    let mut zero = [false, false];
    for (i, field) in ["maxUnavailable", "maxSurge"].into_iter().enumerate() {
        let value = &strategy["rollingUpdate"][field];
        let path = format!("spec.strategy.rollingUpdate.{field}");
        match value {
            Value::Number(n) if n.as_i64().is_some_and(|n| n < 0) => {
                errors.push(invalid(&path, &n.to_string(), "must be greater than or equal to 0"));
            }
            Value::Number(n) => zero[i] = n.as_i64() == Some(0),
            Value::String(text) => match text.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
                None => errors.push(invalid(&path, &format!("{text:?}"), "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")),
                Some(p) if i == 0 && p > 100 => errors.push(invalid(&path, &format!("{text:?}"), "must not be greater than 100%")),
                Some(p) => zero[i] = p == 0,
            },
            _ => {}
        }
    }
    if zero == [true, true] {
        let value = crate::validation::go_value(&strategy["rollingUpdate"]["maxUnavailable"]);
        errors.push(invalid("spec.strategy.rollingUpdate.maxUnavailable", &value, "may not be 0 when `maxSurge` is 0"));
    }
    errors
}

/// A label map as Go prints it in field errors: `map[string]string{"app":"web"}`.
fn go_string_map(labels: &Value) -> String {
    let entries: Vec<String> = labels
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    format!("map[string]string{{{}}}", entries.join(", "))
}

/// A selector in a field error, as `%#v` names its matchLabels.
fn go_selector(selector: &Value) -> String {
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}",
        go_string_map(&selector["matchLabels"])
    )
}

/// A `metav1.LabelSelector` as the string form labels.Selector prints (`app=web,tier in (a,b)`),
/// which a Scale carries in `status.selector` for autoscalers to list pods with.
pub fn selector_string(selector: &Value) -> String {
    let mut parts: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector["matchLabels"].as_object() {
        parts.extend(labels.iter().map(|(k, v)| (k.clone(), format!("{k}={}", v.as_str().unwrap_or_default()))));
    }
    for expression in selector["matchExpressions"].as_array().into_iter().flatten() {
        let key = expression["key"].as_str().unwrap_or_default().to_string();
        let mut values: Vec<&str> =
            expression["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        values.sort_unstable();
        let text = match expression["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.clone(),
            _ => format!("!{key}"),
        };
        parts.push((key, text));
    }
    // labels.Selector sorts its requirements by key.
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    parts.into_iter().map(|(_, text)| text).collect::<Vec<_>>().join(",")
}

/// The `autoscaling/v1` Scale of a Deployment or ReplicaSet: its identity, desired replicas, and
/// the replicas and selector its controller last reported.
pub fn scale_of(object: &Value) -> Value {
    let metadata = &object["metadata"];
    let mut scale_metadata = json!({});
    for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if !metadata[field].is_null() {
            scale_metadata[field] = metadata[field].clone();
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_metadata,
        "spec": { "replicas": object["spec"]["replicas"].as_i64().unwrap_or(0) },
        "status": {
            "replicas": object["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector_string(&object["spec"]["selector"]),
        },
    })
}

/// `object` with the replicas a written Scale asks for. The Scale's resourceVersion, when it
/// carries one, must be the object's (409 otherwise); replicas must be a count of at least 0.
pub fn apply_scale(info: &ResourceInfo, object: &Value, scale: &Value) -> Result<Value, ApiError> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    if let Some(version) = scale["metadata"]["resourceVersion"].as_str().filter(|v| !v.is_empty())
        && object["metadata"]["resourceVersion"].as_str() != Some(version)
    {
        return Err(ApiError::conflict(&format!("{}.apps", info.resource), name));
    }
    let replicas = &scale["spec"]["replicas"];
    let replicas = match replicas.as_i64() {
        Some(r) if r >= 0 => r,
        Some(r) => {
            let error = invalid("spec.replicas", &r.to_string(), "must be greater than or equal to 0");
            return Err(invalid_object("autoscaling", "Scale", name, &[error]));
        }
        None if replicas.is_null() => 0,
        None => return Err(ApiError::bad_request(format!("spec.replicas must be an integer, not {replicas}"))),
    };
    let mut scaled = object.clone();
    scaled["spec"]["replicas"] = json!(replicas);
    Ok(scaled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn apps(resource: &str) -> ResourceInfo {
        Registry::default().get("apps", "v1", resource).cloned().unwrap()
    }

    fn deployment() -> Value {
        json!({
            "metadata": { "name": "web", "namespace": "default", "resourceVersion": "7", "uid": "u" },
            "spec": {
                "selector": { "matchLabels": { "app": "web" } },
                "template": { "metadata": { "labels": { "app": "web" } },
                    "spec": { "containers": [{ "name": "nginx", "image": "nginx" }] } },
            },
        })
    }

    #[test]
    fn a_deployment_gets_the_rolling_update_defaults_and_an_empty_status() {
        let mut created = deployment();
        created["status"] = json!({ "replicas": 3 });
        admit(&apps("deployments"), None, &mut created).unwrap();
        let spec = &created["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(
            spec["strategy"],
            json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": "25%", "maxUnavailable": "25%" } })
        );
        assert_eq!((&spec["revisionHistoryLimit"], &spec["progressDeadlineSeconds"]), (&json!(10), &json!(600)));
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
        assert_eq!(created["status"], json!({}));

        let mut recreate = deployment();
        recreate["spec"]["strategy"] = json!({ "type": "Recreate" });
        admit(&apps("deployments"), None, &mut recreate).unwrap();
        assert!(recreate["spec"]["strategy"]["rollingUpdate"].is_null());
    }

    #[test]
    fn a_selector_must_match_its_template_and_stays_as_created() {
        let mut mismatched = deployment();
        mismatched["spec"]["template"]["metadata"]["labels"] = json!({ "app": "other" });
        let refused = admit(&apps("deployments"), None, &mut mismatched).unwrap_err();
        assert_eq!(refused.code, 422);
        assert_eq!(
            refused.message,
            "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`"
        );
        let mut none = deployment();
        none["spec"]["selector"] = Value::Null;
        assert!(
            admit(&apps("replicasets"), None, &mut none).unwrap_err().message.contains("spec.selector: Required value")
        );

        let old = deployment();
        let mut changed = deployment();
        changed["spec"]["selector"]["matchLabels"]["tier"] = json!("x");
        changed["spec"]["template"]["metadata"]["labels"]["tier"] = json!("x");
        assert!(
            admit(&apps("deployments"), Some(&old), &mut changed).unwrap_err().message.contains("field is immutable")
        );

        let mut stalled = deployment();
        stalled["spec"]["strategy"] =
            json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 0, "maxUnavailable": "0%" } });
        assert!(
            admit(&apps("deployments"), None, &mut stalled)
                .unwrap_err()
                .message
                .contains("may not be 0 when `maxSurge` is 0")
        );
    }

    #[test]
    fn the_scale_reads_and_writes_replicas() {
        let mut object = deployment();
        object["spec"]["replicas"] = json!(3);
        object["status"] = json!({ "replicas": 2 });
        let scale = scale_of(&object);
        assert_eq!(scale["spec"]["replicas"], 3);
        assert_eq!(scale["status"], json!({ "replicas": 2, "selector": "app=web" }));
        assert_eq!(scale["metadata"]["resourceVersion"], "7");

        let info = apps("deployments");
        let scaled = apply_scale(&info, &object, &json!({ "spec": { "replicas": 5 } })).unwrap();
        assert_eq!(scaled["spec"]["replicas"], 5);
        let stale = json!({ "metadata": { "resourceVersion": "6" }, "spec": { "replicas": 5 } });
        assert_eq!(apply_scale(&info, &object, &stale).unwrap_err().code, 409);
        assert_eq!(apply_scale(&info, &object, &json!({ "spec": { "replicas": -1 } })).unwrap_err().code, 422);
    }

    #[test]
    fn selectors_print_as_label_selector_strings() {
        let selector = json!({ "matchLabels": { "b": "2", "a": "1" },
            "matchExpressions": [{ "key": "c", "operator": "In", "values": ["y", "x"] }, { "key": "d", "operator": "DoesNotExist" }] });
        assert_eq!(selector_string(&selector), "a=1,b=2,c in (x,y),!d");
    }
}
