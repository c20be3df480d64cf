//! What a rule or listener does with a request: forward to a backend's target group, or what the
//! `actions.<name>` annotation says for a backend whose port name is `use-annotation` (forward,
//! weighted over several Services; redirect; fixed response). The AWS Load Balancer Controller's
//! JSON shapes are accepted as they are, keys in any case (`Type`, `ForwardConfig`, ...), as LBC
//! decodes them with Go's case-insensitive `encoding/json`. A backend Service that does not exist yet, or an
//! `actions.<name>` that is missing, answers 503 rather than failing the group, as there. A forward
//! may also name target groups made outside Kubernetes (`targetGroupARN`, `targetGroupName`): the
//! stack lists them as foreign, so the deployer forwards to them and never changes them.

use std::collections::BTreeSet;

use k8s_openapi::api::networking::v1::{Ingress, IngressBackend};
use serde::Deserialize;

use crate::annotations::Annotations;
use crate::error::BuildError;
use crate::ingress::group::{Member, annotations_of};
use crate::ingress::target_groups::{BackendPort, TargetGroups};
use elbow_model::stack::{Action, ForwardStickiness, ResourceId, TargetGroupReference, WeightedTargetGroup};

/// The backend port name that defers to the `actions.<service name>` annotation.
pub const USE_ANNOTATION: &str = "use-annotation";
/// ELBv2's limit on target groups in one forward action.
const MAX_FORWARD_TARGET_GROUPS: usize = 5;

/// The names of the Services (in its own namespace) that `ingress` sends traffic to: those its
/// rules and default backend name, and, for a `use-annotation` backend, those its
/// `actions.<name>` forward action names. The controller routes Service changes with this and
/// copies only these Services out of its cache for the build, so it reads the annotations exactly
/// as the build does: an action that does not parse names no Service (the build reports it).
pub fn referenced_service_names(ingress: &Ingress) -> BTreeSet<String> {
    let annotations = Annotations::ingress(annotations_of(ingress));
    let spec = ingress.spec.as_ref();
    let default_backend = spec.and_then(|s| s.default_backend.as_ref());
    let rules = spec.and_then(|s| s.rules.as_ref()).into_iter().flatten();
    let path_backends = rules.flat_map(|rule| rule.http.iter().flat_map(|http| &http.paths)).map(|path| &path.backend);
    let mut names = BTreeSet::new();
    for service in default_backend.into_iter().chain(path_backends).filter_map(|b| b.service.as_ref()) {
        if service.port.as_ref().and_then(|p| p.name.as_deref()) != Some(USE_ANNOTATION) {
            names.insert(service.name.clone());
            continue;
        }
        let suffix = format!("actions.{}", service.name);
        if let Ok(Some(action)) = annotations.go_json::<AnnotatedAction>(&suffix, ACTION_SHAPE, ACTION_FIELDS) {
            let tuples = action.forward_config.map(|config| config.target_groups).unwrap_or_default();
            names.extend(tuples.into_iter().filter_map(|tuple| tuple.service_name));
        }
    }
    names
}

/// The action for one Ingress backend (a path's or the default backend).
pub(crate) fn backend_action(
    member: &Member<'_>,
    backend: &IngressBackend,
    target_groups: &mut TargetGroups<'_>,
) -> Result<Action<ResourceId>, BuildError> {
    let service = backend_service(backend)?;
    let port = service.port.as_ref();
    match (port.and_then(|p| p.name.as_deref()), port.and_then(|p| p.number)) {
        (Some(USE_ANNOTATION), _) => annotated_action(member, &service.name, target_groups),
        (Some(name), _) if !name.is_empty() => {
            forward_one(member, &service.name, &BackendPort::Name(name.into()), target_groups)
        }
        (_, Some(number)) => forward_one(member, &service.name, &BackendPort::Number(number), target_groups),
        _ => Err(BuildError::InvalidBackend(format!("the backend Service {} names no port", service.name))),
    }
}

/// The Service a backend names; resource backends are not supported.
pub(crate) fn backend_service(
    backend: &IngressBackend,
) -> Result<&k8s_openapi::api::networking::v1::IngressServiceBackend, BuildError> {
    backend.service.as_ref().ok_or_else(|| {
        BuildError::InvalidBackend("a backend must name a Service; resource backends are not supported".into())
    })
}

/// The one Service a backend forwards to, by name: the Service it names, or the one target group
/// of its `actions.<name>` forward. `None` for other actions and weighted forwards. (LBC reads
/// the auth annotations of that Service for the backend's rule.)
pub(crate) fn single_service(member: &Member<'_>, backend: &IngressBackend) -> Option<String> {
    let service = backend.service.as_ref()?;
    if service.port.as_ref().and_then(|p| p.name.as_deref()) != Some(USE_ANNOTATION) {
        return Some(service.name.clone());
    }
    let suffix = format!("actions.{}", service.name);
    let action = member.annotations().go_json::<AnnotatedAction>(&suffix, ACTION_SHAPE, ACTION_FIELDS).ok()??;
    let mut tuples = action.forward_config?.target_groups;
    match (action.kind.as_str(), tuples.len()) {
        ("forward", 1) => tuples.pop()?.service_name,
        _ => None,
    }
}

/// A fixed 404: the default action when no member has a default backend.
pub(crate) fn not_found() -> Action<ResourceId> {
    Action::FixedResponse { status_code: "404".into(), content_type: Some("text/plain".into()), message_body: None }
}

/// The `ssl-redirect` answer of HTTP listeners.
pub(crate) fn redirect_to_https(port: u16) -> Action<ResourceId> {
    redirect(Some("HTTPS".into()), Some(port.to_string()), None, None, None, "HTTP_301".into())
}

/// A redirect with ELBv2's defaults spelt out (`#{host}` and so on): AWS reports them back that
/// way, so the desired action compares equal to the deployed one.
fn redirect(
    protocol: Option<String>,
    port: Option<String>,
    host: Option<String>,
    path: Option<String>,
    query: Option<String>,
    status_code: String,
) -> Action<ResourceId> {
    Action::Redirect {
        protocol: Some(protocol.unwrap_or_else(|| "#{protocol}".into())),
        port: Some(port.unwrap_or_else(|| "#{port}".into())),
        host: Some(host.unwrap_or_else(|| "#{host}".into())),
        path: Some(path.unwrap_or_else(|| "/#{path}".into())),
        query: Some(query.unwrap_or_else(|| "#{query}".into())),
        status_code,
    }
}

fn service_unavailable(body: &str) -> Action<ResourceId> {
    Action::FixedResponse {
        status_code: "503".into(),
        content_type: Some("text/plain".into()),
        message_body: Some(body.into()),
    }
}

fn forward_one(
    member: &Member<'_>,
    service: &str,
    port: &BackendPort,
    target_groups: &mut TargetGroups<'_>,
) -> Result<Action<ResourceId>, BuildError> {
    Ok(match target_groups.resolve(member, service, port)? {
        Some(target_group) => Action::forward(target_group),
        None => service_unavailable("Backend service does not exist"),
    })
}

/// `actions.<name>` as the AWS Load Balancer Controller writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnnotatedAction {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "targetGroupARN")]
    target_group_arn: Option<String>,
    target_group_name: Option<String>,
    forward_config: Option<ForwardConfig>,
    redirect_config: Option<RedirectConfig>,
    fixed_response_config: Option<FixedResponseConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ForwardConfig {
    #[serde(default)]
    target_groups: Vec<TargetGroupTuple>,
    target_group_stickiness_config: Option<Stickiness>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetGroupTuple {
    #[serde(rename = "targetGroupARN")]
    target_group_arn: Option<String>,
    target_group_name: Option<String>,
    service_name: Option<String>,
    /// A number, or a port name; LBC also takes a number written as a string.
    service_port: Option<serde_json::Value>,
    weight: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stickiness {
    enabled: Option<bool>,
    duration_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedirectConfig {
    host: Option<String>,
    path: Option<String>,
    port: Option<String>,
    protocol: Option<String>,
    query: Option<String>,
    status_code: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FixedResponseConfig {
    content_type: Option<String>,
    message_body: Option<String>,
    status_code: String,
}

const ACTION_SHAPE: &str = "a JSON action of type forward, redirect or fixed-response";

/// The fields of LBC's action, as its Go types name them; keys match them ignoring case, as Go's
/// `encoding/json` matches them for LBC.
const ACTION_FIELDS: &[&str] = &[
    "type",
    "targetGroupARN",
    "targetGroupName",
    "forwardConfig",
    "redirectConfig",
    "fixedResponseConfig",
    "targetGroups",
    "targetGroupStickinessConfig",
    "serviceName",
    "servicePort",
    "weight",
    "enabled",
    "durationSeconds",
    "host",
    "path",
    "port",
    "protocol",
    "query",
    "statusCode",
    "contentType",
    "messageBody",
];

fn annotated_action(
    member: &Member<'_>,
    service: &str,
    target_groups: &mut TargetGroups<'_>,
) -> Result<Action<ResourceId>, BuildError> {
    let a = member.annotations();
    let suffix = format!("actions.{service}");
    let Some(action) = a.go_json::<AnnotatedAction>(&suffix, ACTION_SHAPE, ACTION_FIELDS)? else {
        return Ok(service_unavailable("Backend action does not exist"));
    };
    let raw = a.get(&suffix).unwrap_or_default();
    let invalid = |why: &str| a.invalid(&suffix, raw, &format!("{ACTION_SHAPE}; {why}"));
    match action.kind.as_str() {
        "forward" => {
            let single = foreign_reference(action.target_group_arn, action.target_group_name, &invalid)?;
            match (single, action.forward_config) {
                // LBC's older shape: one target group made outside Kubernetes, by ARN or name.
                (Some(reference), None) => Ok(Action::forward(target_groups.foreign(reference))),
                (Some(_), Some(_)) => Err(invalid("either forwardConfig or targetGroupARN/targetGroupName, not both")),
                (None, None) => Err(invalid("forward needs forwardConfig, targetGroupARN or targetGroupName")),
                (None, Some(config)) => {
                    let stickiness = stickiness(config.target_group_stickiness_config, &invalid)?;
                    let mut forward =
                        forward_many(member, config.target_groups, target_groups, &invalid, &a.name(&suffix))?;
                    if let Action::Forward { stickiness: sticky, .. } = &mut forward {
                        *sticky = stickiness;
                    }
                    Ok(forward)
                }
            }
        }
        "redirect" => {
            let c = action.redirect_config.ok_or_else(|| invalid("redirect needs redirectConfig"))?;
            if !matches!(c.status_code.as_str(), "HTTP_301" | "HTTP_302") {
                return Err(invalid("redirectConfig.statusCode is HTTP_301 or HTTP_302"));
            }
            Ok(redirect(c.protocol, c.port, c.host, c.path, c.query, c.status_code))
        }
        "fixed-response" => {
            let c = action.fixed_response_config.ok_or_else(|| invalid("fixed-response needs fixedResponseConfig"))?;
            let status_ok = c.status_code.len() == 3
                && c.status_code.parse::<u16>().is_ok_and(|code| matches!(code / 100, 2 | 4 | 5));
            if !status_ok {
                return Err(invalid("fixedResponseConfig.statusCode is a 2XX, 4XX or 5XX code"));
            }
            if c.message_body.as_ref().is_some_and(|body| body.len() > 1024) {
                return Err(invalid("fixedResponseConfig.messageBody is at most 1024 characters"));
            }
            Ok(Action::FixedResponse {
                status_code: c.status_code,
                content_type: Some(c.content_type.unwrap_or_else(|| "text/plain".into())),
                message_body: c.message_body,
            })
        }
        other => Err(invalid(&format!("type {other:?} is not supported"))),
    }
}

fn forward_many(
    member: &Member<'_>,
    tuples: Vec<TargetGroupTuple>,
    target_groups: &mut TargetGroups<'_>,
    invalid: &dyn Fn(&str) -> BuildError,
    annotation: &str,
) -> Result<Action<ResourceId>, BuildError> {
    if tuples.is_empty() {
        return Err(invalid("forwardConfig.targetGroups is empty"));
    }
    if tuples.len() > MAX_FORWARD_TARGET_GROUPS {
        return Err(invalid("forwardConfig.targetGroups has more than 5 entries"));
    }
    let several = tuples.len() > 1;
    let mut weighted = Vec::with_capacity(tuples.len());
    for tuple in tuples {
        let weight = match tuple.weight {
            Some(w) => Some(u32::try_from(w).ok().filter(|w| *w <= 999).ok_or_else(|| invalid("weight is 0 to 999"))?),
            None if several => return Err(invalid("weight must be set when forwarding to several target groups")),
            None => None,
        };
        let foreign = foreign_reference(tuple.target_group_arn, tuple.target_group_name, invalid)?;
        let service = match (foreign, tuple.service_name) {
            (Some(reference), None) => {
                weighted.push(WeightedTargetGroup { target_group: target_groups.foreign(reference), weight });
                continue;
            }
            (Some(_), Some(_)) => {
                return Err(invalid("a target group has either serviceName or targetGroupARN/targetGroupName"));
            }
            (None, None) => {
                return Err(invalid("every target group needs serviceName, targetGroupARN or targetGroupName"));
            }
            (None, Some(service)) => service,
        };
        let port = match tuple.service_port {
            Some(serde_json::Value::Number(n)) => {
                n.as_i64().and_then(|n| i32::try_from(n).ok()).map(BackendPort::Number)
            }
            Some(serde_json::Value::String(s)) => {
                Some(s.parse::<i32>().map(BackendPort::Number).unwrap_or(BackendPort::Name(s)))
            }
            _ => None,
        }
        .ok_or_else(|| invalid("every target group needs servicePort, a number or a port name"))?;
        let Some(target_group) = target_groups.resolve(member, &service, &port)? else {
            if several {
                return Err(BuildError::InvalidBackend(format!(
                    "{annotation} forwards to Service {service}, which does not exist"
                )));
            }
            return Ok(service_unavailable("Backend service does not exist"));
        };
        weighted.push(WeightedTargetGroup { target_group, weight });
    }
    Ok(Action::Forward { target_groups: weighted, stickiness: None })
}

/// A target group made outside Kubernetes, by `targetGroupARN` or `targetGroupName` (at most one
/// of them): an ELBv2 target group ARN, or a target group name (at most 32 letters, digits and
/// hyphens), which the deployer looks up.
fn foreign_reference(
    arn: Option<String>,
    name: Option<String>,
    invalid: &dyn Fn(&str) -> BuildError,
) -> Result<Option<TargetGroupReference>, BuildError> {
    match (arn, name) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(invalid("either targetGroupARN or targetGroupName, not both")),
        (Some(arn), None) => {
            let resource = arn.split(':').nth(5).unwrap_or_default();
            let valid = arn.starts_with("arn:")
                && arn.split(':').nth(2) == Some("elasticloadbalancing")
                && resource.strip_prefix("targetgroup/").is_some_and(|rest| rest.split('/').count() == 2);
            if !valid {
                return Err(invalid(&format!(
                    "targetGroupARN {arn:?} is not a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)"
                )));
            }
            Ok(Some(TargetGroupReference::Arn(arn)))
        }
        (None, Some(name)) => {
            let valid = !name.is_empty()
                && name.len() <= 32
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !name.starts_with('-')
                && !name.ends_with('-');
            if !valid {
                return Err(invalid(&format!(
                    "targetGroupName {name:?} is not a target group name (1 to 32 letters, digits and hyphens)"
                )));
            }
            Ok(Some(TargetGroupReference::Name(name)))
        }
    }
}

/// `targetGroupStickinessConfig`: on with a duration of 1 to 604800 seconds (AWS needs one), or
/// off, which is what a forward without it has.
fn stickiness(
    config: Option<Stickiness>,
    invalid: &dyn Fn(&str) -> BuildError,
) -> Result<Option<ForwardStickiness>, BuildError> {
    let Some(config) = config else { return Ok(None) };
    if config.enabled != Some(true) {
        return Ok(None);
    }
    match config.duration_seconds {
        Some(seconds @ 1..=604_800) => {
            Ok(Some(ForwardStickiness { enabled: true, duration_seconds: u32::try_from(seconds).ok() }))
        }
        _ => Err(invalid("targetGroupStickinessConfig.durationSeconds is 1 to 604800 when stickiness is enabled")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rules_default_backend_and_the_forward_actions_in_use_name_services() {
        let ingress: Ingress = serde_json::from_value(json!({
            "metadata": { "name": "web", "annotations": {
                "alb.ingress.kubernetes.io/actions.split": r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"blue","servicePort":"80","weight":80},{"serviceName":"green","servicePort":"80","weight":20}]}}"#,
                "alb.ingress.kubernetes.io/actions.broken": "{not json",
                "alb.ingress.kubernetes.io/actions.unused": r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"idle","servicePort":"80"}]}}"#,
                "example.com/other": r#"{"serviceName":"ignored"}"#
            } },
            "spec": {
                "defaultBackend": { "service": { "name": "fallback", "port": { "number": 80 } } },
                "rules": [{ "http": { "paths": [
                    { "path": "/", "pathType": "Prefix", "backend": { "service": { "name": "web", "port": { "number": 80 } } } },
                    { "path": "/split", "pathType": "Prefix", "backend": { "service": { "name": "split", "port": { "name": USE_ANNOTATION } } } },
                    { "path": "/broken", "pathType": "Prefix", "backend": { "service": { "name": "broken", "port": { "name": USE_ANNOTATION } } } }
                ] } }]
            }
        }))
        .unwrap();
        let names: Vec<String> = referenced_service_names(&ingress).into_iter().collect();
        // Not "split" or "broken" (action names, not Services), nor "idle" (no backend uses that action).
        assert_eq!(names, ["blue", "fallback", "green", "web"]);
    }
}
