//! Field errors worded as apimachinery words them (`<path>: Required value: ...`, `Invalid value:
//! "x": ...`, `Unsupported value: ...`), aggregated into a 422 Invalid as kube-apiserver does, and
//! the name checks (DNS-1123 subdomains, qualified names, label values) API validation uses.

use serde_json::{Value, json};

use crate::errors::ApiError;

/// `field.Required`.
pub fn required(path: &str, detail: &str) -> String {
    with_detail(format!("{path}: Required value"), detail)
}

/// `field.Forbidden`.
pub fn forbidden(path: &str, detail: &str) -> String {
    with_detail(format!("{path}: Forbidden"), detail)
}

/// `field.Invalid`; `value` is the bad value as Go prints it (see [`go_value`]).
pub fn invalid(path: &str, value: &str, detail: &str) -> String {
    with_detail(format!("{path}: Invalid value: {value}"), detail)
}

/// `field.NotSupported`: the value is not one of `supported`.
pub fn not_supported(path: &str, value: &Value, supported: &[&str]) -> String {
    let supported: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    format!("{path}: Unsupported value: {}: supported values: {}", go_value(value), supported.join(", "))
}

/// `field.Duplicate`.
pub fn duplicate(path: &str, value: &Value) -> String {
    format!("{path}: Duplicate value: {}", go_value(value))
}

fn with_detail(head: String, detail: &str) -> String {
    if detail.is_empty() { head } else { format!("{head}: {detail}") }
}

/// A value as apimachinery's field errors print it: strings quoted, numbers and booleans bare,
/// string lists as Go's `%#v` (`[]string{"a", "b"}`).
pub fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".to_string(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let items: Vec<String> = items.iter().map(go_value).collect();
            format!("[]string{{{}}}", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// The 422 kube-apiserver answers with for `errors` on object `name` of `kind` in `group`:
/// `Kind.group "name" is invalid: <error>`, or `[<error>, <error>]` for several.
pub fn invalid_object(group: &str, kind: &str, name: &str, errors: &[String]) -> ApiError {
    let qualified = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
    let detail = match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let mut error = ApiError::invalid(&qualified, name, detail);
    let causes: Vec<Value> = errors.iter().map(|e| cause(e)).collect();
    error.details = Some(json!({ "name": name, "group": group, "kind": kind, "causes": causes }));
    error
}

/// One field error as a Status cause (`field`, `reason`, and the message after the field), which
/// kubectl prints after `The <Kind> "<name>" is invalid: `.
fn cause(error: &str) -> Value {
    let (field, message) = error.split_once(": ").unwrap_or(("", error));
    let reason = [
        ("Required value", "FieldValueRequired"),
        ("Invalid value", "FieldValueInvalid"),
        ("Forbidden", "FieldValueForbidden"),
        ("Unsupported value", "FieldValueNotSupported"),
        ("Duplicate value", "FieldValueDuplicate"),
    ]
    .iter()
    .find(|(head, _)| message.starts_with(head))
    .map_or("FieldValueInvalid", |(_, reason)| reason);
    json!({ "reason": reason, "message": message, "field": field })
}

const DNS1123_LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MESSAGE: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MESSAGE: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MESSAGE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

fn is_dns1123_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.iter().all(|b| edge(b) || *b == b'-')
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
}

/// `IsDNS1123Label`'s failures.
pub fn dns1123_label_errors(text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if text.len() > 63 {
        errors.push("must be no more than 63 characters".to_string());
    }
    if !is_dns1123_label(text) {
        errors.push(DNS1123_LABEL_MESSAGE.to_string());
    }
    errors
}

/// `IsDNS1123Subdomain`'s failures.
pub fn dns1123_subdomain_errors(text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if text.len() > 253 {
        errors.push("must be no more than 253 characters".to_string());
    }
    if !text.split('.').all(is_dns1123_label) {
        errors.push(DNS1123_SUBDOMAIN_MESSAGE.to_string());
    }
    errors
}

/// `IsDNS1035Label`'s failures.
pub fn dns1035_label_errors(text: &str) -> Vec<String> {
    let mut errors = dns1123_label_errors(text);
    let starts_with_letter = text.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
    if !errors.is_empty() || !starts_with_letter {
        errors.retain(|e| e.starts_with("must be no more"));
        errors.push(DNS1035_LABEL_MESSAGE.to_string());
    }
    errors
}

fn is_name_part(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// `IsQualifiedName`'s failures: `[prefix/]name`, the prefix a DNS-1123 subdomain.
pub fn qualified_name_errors(text: &str) -> Vec<String> {
    let (prefix, name) = match text.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, text),
    };
    let mut errors = Vec::new();
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            errors.push("prefix part must be non-empty".to_string());
        } else {
            errors.extend(dns1123_subdomain_errors(prefix).into_iter().map(|e| format!("prefix part {e}")));
        }
    }
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else {
        if name.len() > 63 {
            errors.push("name part must be no more than 63 characters".to_string());
        }
        if !is_name_part(name) {
            errors.push(QUALIFIED_NAME_MESSAGE.to_string());
        }
    }
    errors
}

/// `IsValidLabelValue`'s failures.
pub fn label_value_errors(text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if text.len() > 63 {
        errors.push("must be no more than 63 characters".to_string());
    }
    if !text.is_empty() && !is_name_part(text) {
        errors.push(LABEL_VALUE_MESSAGE.to_string());
    }
    errors
}

/// `IsFullyQualifiedName`, as a webhook's name must be: a DNS-1123 subdomain of at least three
/// segments.
pub fn fully_qualified_name_errors(path: &str, name: &str) -> Vec<String> {
    if name.is_empty() {
        return vec![required(path, "")];
    }
    let subdomain = dns1123_subdomain_errors(name);
    if !subdomain.is_empty() {
        return vec![invalid(path, &go_value(&json!(name)), &subdomain.join(","))];
    }
    if name.split('.').count() < 3 {
        return vec![invalid(
            path,
            &go_value(&json!(name)),
            "should be a domain with at least three segments separated by dots",
        )];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(dns1123_subdomain_errors("web.demo.svc").is_empty());
        assert_eq!(dns1123_subdomain_errors("Web").len(), 1);
        assert!(dns1035_label_errors("v1").is_empty());
        assert_eq!(dns1035_label_errors("1v").len(), 1);
        assert!(qualified_name_errors("example.com/tier").is_empty());
        assert!(!qualified_name_errors("/tier").is_empty());
        assert!(label_value_errors("").is_empty());
        assert!(!label_value_errors("-x").is_empty());
        assert!(fully_qualified_name_errors("w", "a.b.c").is_empty());
        assert_eq!(
            fully_qualified_name_errors("webhooks[0].name", "a.b"),
            [
                "webhooks[0].name: Invalid value: \"a.b\": should be a domain with at least three segments separated by dots"
            ]
        );
        assert_eq!(fully_qualified_name_errors("webhooks[0].name", ""), ["webhooks[0].name: Required value"]);
    }

    #[test]
    fn field_errors_print_values_as_go_does() {
        assert_eq!(go_value(&json!(["v2"])), r#"[]string{"v2"}"#);
        assert_eq!(
            not_supported("x", &json!("Some"), &["None", "NoneOnDryRun"]),
            r#"x: Unsupported value: "Some": supported values: "None", "NoneOnDryRun""#
        );
        let error = invalid_object(
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration",
            "m",
            &["a".into(), "b".into()],
        );
        assert_eq!(
            error.message,
            r#"MutatingWebhookConfiguration.admissionregistration.k8s.io "m" is invalid: [a, b]"#
        );
    }
}
