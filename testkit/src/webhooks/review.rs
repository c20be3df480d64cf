//! The AdmissionReview a webhook is sent (admission.k8s.io/v1, or v1beta1 for a webhook that
//! accepts only that), the checks kube-apiserver makes of the one it answers with, and how a
//! denial becomes the Status the client gets.

use serde_json::{Value, json};

use super::config::{Hook, REVIEW_VERSIONS, decode_base64};
use super::matching::Operation;
use crate::errors::ApiError;
use crate::registry::ResourceInfo;

/// What a request's AdmissionReviews share, whichever webhook they go to.
#[derive(Debug, Clone)]
pub struct Request {
    /// The resource the request came through (`requestKind`, `requestResource`).
    pub info: ResourceInfo,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub operation: Operation,
    pub user: Value,
    /// CreateOptions, UpdateOptions or DeleteOptions.
    pub options: Value,
}

/// The first version in the webhook's `admissionReviewVersions` kube-apiserver speaks.
pub fn version(hook: &Hook) -> Option<&'static str> {
    hook.review_versions.iter().find_map(|v| REVIEW_VERSIONS.iter().find(|known| *known == v)).copied()
}

fn group_version_kind(info: &ResourceInfo) -> Value {
    json!({ "group": info.group, "version": info.version, "kind": info.kind })
}

fn group_version_resource(info: &ResourceInfo) -> Value {
    json!({ "group": info.group, "version": info.version, "resource": info.resource })
}

/// The AdmissionReview for one call: `called_as` is the resource the webhook's rules matched
/// (the request's own, or an equivalent), and `object`/`old` are in its form.
pub fn review(
    version: &str,
    uid: &str,
    request: &Request,
    called_as: &ResourceInfo,
    object: Option<&Value>,
    old: Option<&Value>,
) -> Value {
    let mut body = json!({
        "uid": uid,
        "kind": group_version_kind(called_as),
        "resource": group_version_resource(called_as),
        "requestKind": group_version_kind(&request.info),
        "requestResource": group_version_resource(&request.info),
        "operation": request.operation.as_str(),
        "userInfo": request.user,
        "object": object,
        "oldObject": old,
        // The server has no dry run: every request it admits is written.
        "dryRun": false,
        "options": request.options,
    });
    // Go's omitempty.
    for (field, value) in [
        ("subResource", &request.subresource),
        ("requestSubResource", &request.subresource),
        ("name", &request.name),
        ("namespace", &request.namespace),
    ] {
        if !value.is_empty() {
            body[field] = json!(value);
        }
    }
    json!({ "apiVersion": format!("admission.k8s.io/{version}"), "kind": "AdmissionReview", "request": body })
}

/// What kube-apiserver takes from a webhook's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub allowed: bool,
    /// The decoded patch (JSON text), empty when none.
    pub patch: Vec<u8>,
    pub patch_type: Option<String>,
    /// The `status` (a metav1.Status) that explains a denial.
    pub result: Option<Value>,
    pub warnings: Vec<String>,
}

/// Why an answer is not used; `Undecodable` is worded as the client's decoding error, `Invalid`
/// as `VerifyAdmissionResponse`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadAnswer {
    Undecodable(String),
    Invalid(String),
}

/// Decodes and checks a webhook's answer to the review sent with `uid` in `version`.
pub fn answer(body: &[u8], version: &str, uid: &str, mutating: bool) -> Result<Answer, BadAnswer> {
    let review: Value = serde_json::from_slice(body)
        .map_err(|e| BadAnswer::Undecodable(format!("couldn't get version/kind; json parse error: {e}")))?;
    let kind = review["kind"].as_str().unwrap_or_default();
    let api_version = review["apiVersion"].as_str().unwrap_or_default();
    if kind.is_empty() {
        return Err(BadAnswer::Undecodable(format!("Object 'Kind' is missing in '{}'", String::from_utf8_lossy(body))));
    }
    let response = &review["response"];
    if !response.is_object() {
        return Err(BadAnswer::Invalid("webhook response was absent".into()));
    }
    let field = |name: &str| response.get(name).filter(|v| !v.is_null());
    let allowed = match field("allowed") {
        None => false,
        Some(Value::Bool(allowed)) => *allowed,
        Some(other) => return Err(undecodable_field("allowed", "bool", other)),
    };
    let patch = match field("patch") {
        None => Vec::new(),
        Some(Value::String(text)) => decode_base64(text).map_err(BadAnswer::Undecodable)?,
        Some(other) => return Err(undecodable_field("patch", "[]uint8", other)),
    };
    let patch_type = match field("patchType") {
        None => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => return Err(undecodable_field("patchType", "v1.PatchType", other)),
    };
    let warnings = match field("warnings") {
        None => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(|w| w.as_str().map(str::to_string)).collect()
        }
        Some(other) => return Err(undecodable_field("warnings", "[]string", other)),
    };
    let result = field("status").cloned();
    if version == "v1beta1" {
        // v1beta1 answers were never checked for their uid and kind, and a patch is a JSON patch.
        let patch_type = (mutating && !patch.is_empty()).then(|| "JSONPatch".to_string());
        let patch = if mutating { patch } else { Vec::new() };
        return Ok(Answer { allowed, patch, patch_type, result, warnings });
    }
    let answered_uid = response["uid"].as_str().unwrap_or_default();
    if answered_uid != uid {
        return Err(BadAnswer::Invalid(format!("expected response.uid={uid:?}, got {answered_uid:?}")));
    }
    if (api_version, kind) != ("admission.k8s.io/v1", "AdmissionReview") {
        return Err(BadAnswer::Invalid(format!(
            "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {api_version}, Kind={kind}"
        )));
    }
    if mutating {
        if !patch.is_empty() && patch_type.is_none() {
            return Err(BadAnswer::Invalid("webhook returned response.patch but not response.patchType".into()));
        }
        if patch.is_empty() && patch_type.is_some() {
            return Err(BadAnswer::Invalid("webhook returned response.patchType but not response.patch".into()));
        }
        if patch_type.as_deref() == Some("") {
            return Err(BadAnswer::Invalid("webhook returned invalid response.patchType of \"\"".into()));
        }
    } else {
        if !patch.is_empty() {
            return Err(BadAnswer::Invalid("validating webhook may not return response.patch".into()));
        }
        if patch_type.is_some() {
            return Err(BadAnswer::Invalid("validating webhook may not return response.patchType".into()));
        }
    }
    Ok(Answer { allowed, patch, patch_type, result, warnings })
}

fn undecodable_field(field: &str, go_type: &str, value: &Value) -> BadAnswer {
    BadAnswer::Undecodable(format!(
        "json: cannot unmarshal {} into Go struct field AdmissionResponse.response.{field} of type {go_type}",
        match value {
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            _ => "object",
        }
    ))
}

/// kube-apiserver's `ToStatusErr`: the webhook's Status, at least a 400 and a Failure, its
/// message prefixed with who denied the request.
pub fn denial(hook_name: &str, result: Option<&Value>) -> ApiError {
    let result = result.cloned().unwrap_or(Value::Null);
    let denied_by = format!("admission webhook \"{hook_name}\" denied the request");
    let code = result["code"].as_u64().and_then(|c| u16::try_from(c).ok()).filter(|c| *c >= 400).unwrap_or(400);
    let reason = result["reason"].as_str().unwrap_or_default().to_string();
    let message = match result["message"].as_str().filter(|m| !m.is_empty()) {
        Some(message) => format!("{denied_by}: {message}"),
        None if !reason.is_empty() => format!("{denied_by}: {reason}"),
        None => format!("{denied_by} without explanation"),
    };
    let details = result.get("details").filter(|d| !d.is_null()).cloned();
    ApiError::with_status(code, reason, message, details)
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    fn encoded(patch: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(patch)
    }

    fn v1(response: Value) -> Vec<u8> {
        json!({ "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn v1_answers_must_carry_the_uid_and_both_patch_fields() {
        let patch = encoded(r#"[{"op":"add","path":"/metadata/labels","value":{}}]"#);
        let ok = answer(
            &v1(json!({ "uid": "u", "allowed": true, "patchType": "JSONPatch", "patch": patch })),
            "v1",
            "u",
            true,
        );
        assert_eq!(ok.map(|a| a.patch_type), Ok(Some("JSONPatch".to_string())));
        assert_eq!(
            answer(&v1(json!({ "uid": "x", "allowed": true })), "v1", "u", true),
            Err(BadAnswer::Invalid(r#"expected response.uid="u", got "x""#.into()))
        );
        assert_eq!(
            answer(&v1(json!({ "uid": "u", "allowed": true, "patch": patch })), "v1", "u", true),
            Err(BadAnswer::Invalid("webhook returned response.patch but not response.patchType".into()))
        );
        assert_eq!(
            answer(
                &v1(json!({ "uid": "u", "allowed": true, "patchType": "JSONPatch", "patch": patch })),
                "v1",
                "u",
                false
            ),
            Err(BadAnswer::Invalid("validating webhook may not return response.patch".into()))
        );
        assert_eq!(
            answer(b"{}", "v1", "u", true),
            Err(BadAnswer::Undecodable("Object 'Kind' is missing in '{}'".into()))
        );
        let wrong_kind =
            json!({ "apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "response": { "uid": "u" } });
        assert!(
            matches!(answer(wrong_kind.to_string().as_bytes(), "v1", "u", true), Err(BadAnswer::Invalid(m)) if m.contains("got admission.k8s.io/v1beta1"))
        );
    }

    #[test]
    fn denials_read_as_kube_apiservers() {
        let error = denial("w.example.com", Some(&json!({ "code": 403, "reason": "Forbidden", "message": "no" })));
        assert_eq!((error.code, error.reason.as_ref()), (403, "Forbidden"));
        assert_eq!(error.message, r#"admission webhook "w.example.com" denied the request: no"#);
        let error = denial("w.example.com", None);
        assert_eq!(
            (error.code, error.message.as_str()),
            (400, r#"admission webhook "w.example.com" denied the request without explanation"#)
        );
        let error = denial("w.example.com", Some(&json!({ "code": 200, "reason": "Nope" })));
        assert_eq!(
            (error.code, error.message.as_str()),
            (400, r#"admission webhook "w.example.com" denied the request: Nope"#)
        );
    }
}
