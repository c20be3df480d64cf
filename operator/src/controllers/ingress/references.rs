//! The Services an Ingress sends traffic to, so that a Service change (a new NodePort, a port
//! renamed, the Service deleted) re-enqueues exactly the Ingresses it affects.

use std::collections::BTreeSet;

use k8s_openapi::api::networking::v1::{Ingress, IngressBackend};
use serde_json::Value;

const ACTION_ANNOTATION_PREFIX: &str = "alb.ingress.kubernetes.io/actions.";

/// Names of the Services in the Ingress's namespace that its rules, default backend or
/// `actions.*` annotations (forward actions' `serviceName`) name.
pub fn referenced_service_names(ingress: &Ingress) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let spec = ingress.spec.as_ref();
    let mut add_backend = |backend: &IngressBackend| {
        if let Some(service) = &backend.service {
            names.insert(service.name.clone());
        }
    };
    if let Some(backend) = spec.and_then(|s| s.default_backend.as_ref()) {
        add_backend(backend);
    }
    for rule in spec.and_then(|s| s.rules.as_ref()).into_iter().flatten() {
        for path in rule.http.iter().flat_map(|http| &http.paths) {
            add_backend(&path.backend);
        }
    }
    for (key, value) in ingress.metadata.annotations.iter().flatten() {
        if key.starts_with(ACTION_ANNOTATION_PREFIX)
            && let Ok(action) = serde_json::from_str::<Value>(value)
        {
            collect_service_names(&action, &mut names);
        }
    }
    names
}

fn collect_service_names(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(name)) = map.get("serviceName") {
                names.insert(name.clone());
            }
            map.values().for_each(|v| collect_service_names(v, names));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_service_names(v, names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rules_default_backend_and_forward_actions_name_services() {
        let ingress: Ingress = serde_json::from_value(json!({
            "metadata": { "name": "web", "annotations": {
                "alb.ingress.kubernetes.io/actions.split": r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"blue","servicePort":"80","weight":80},{"serviceName":"green","servicePort":"80","weight":20}]}}"#,
                "alb.ingress.kubernetes.io/actions.broken": "{not json",
                "example.com/other": r#"{"serviceName":"ignored"}"#
            } },
            "spec": {
                "defaultBackend": { "service": { "name": "fallback", "port": { "number": 80 } } },
                "rules": [{ "http": { "paths": [
                    { "path": "/", "pathType": "Prefix", "backend": { "service": { "name": "web", "port": { "number": 80 } } } },
                    { "path": "/split", "pathType": "Prefix", "backend": { "service": { "name": "split", "port": { "name": "use-annotation" } } } }
                ] } }]
            }
        }))
        .unwrap();
        let names: Vec<String> = referenced_service_names(&ingress).into_iter().collect();
        assert_eq!(names, ["blue", "fallback", "green", "split", "web"]);
    }
}
