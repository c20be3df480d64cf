//! MutatingWebhookConfiguration and ValidatingWebhookConfiguration (admissionregistration.k8s.io/v1):
//! the defaults kube-apiserver gives them and the validation it refuses them with, on every write,
//! and the webhooks they declare as the dispatcher reads them back.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::registry::ResourceInfo;
use crate::selectors::LabelSelector;
use crate::validation::{
    dns1035_label_errors, dns1123_subdomain_errors, duplicate, fully_qualified_name_errors, go_value, invalid,
    invalid_object, not_supported, qualified_name_errors, required,
};

use super::cel;

/// The AdmissionReview versions kube-apiserver speaks, in the order it prefers them.
pub const REVIEW_VERSIONS: [&str; 2] = ["v1", "v1beta1"];

const OPERATIONS: [&str; 5] = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
const SCOPES: [&str; 3] = ["*", "Cluster", "Namespaced"];
const FAILURE_POLICIES: [&str; 2] = ["Fail", "Ignore"];
const MATCH_POLICIES: [&str; 2] = ["Equivalent", "Exact"];
/// v1 allows only webhooks without side effects (`Some` and `Unknown` were v1beta1's).
const SIDE_EFFECTS: [&str; 2] = ["None", "NoneOnDryRun"];
const REINVOCATION_POLICIES: [&str; 2] = ["IfNeeded", "Never"];

/// Defaults a configuration being written and refuses it as kube-apiserver would.
pub fn admit_configuration(info: &ResourceInfo, configuration: &mut Value) -> Result<(), ApiError> {
    let mutating = info.resource == "mutatingwebhookconfigurations";
    let name = configuration["metadata"]["name"].as_str().unwrap_or_default().to_string();
    if let Some(webhooks) = configuration["webhooks"].as_array_mut() {
        for webhook in webhooks.iter_mut().filter(|w| w.is_object()) {
            decode_ca_bundle(&info.kind, webhook)?;
            set_defaults(webhook, mutating);
        }
    }
    let errors = validate(configuration, mutating);
    if errors.is_empty() { Ok(()) } else { Err(invalid_object(&info.group, &info.kind, &name, &errors)) }
}

/// `caBundle` is bytes, base64 in JSON: what does not decode fails the decoding of the whole
/// object (a 400), before validation.
fn decode_ca_bundle(kind: &str, webhook: &Value) -> Result<(), ApiError> {
    match &webhook["clientConfig"]["caBundle"] {
        Value::Null => Ok(()),
        Value::String(text) => decode_base64(text)
            .map(|_| ())
            .map_err(|e| ApiError::bad_request(format!("{kind} in version \"v1\" cannot be handled as a {kind}: {e}"))),
        other => Err(ApiError::bad_request(format!(
            "{kind} in version \"v1\" cannot be handled as a {kind}: json: cannot unmarshal {} into Go struct field WebhookClientConfig.webhooks.clientConfig.caBundle of type []uint8",
            json_type(other)
        ))),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        _ => "string",
    }
}

/// Go's base64 decoding of `[]byte` fields, with its error text.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| match e {
        base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => {
            format!("illegal base64 data at input byte {at}")
        }
        _ => format!("illegal base64 data at input byte {}", text.len()),
    })
}

/// `SetDefaults_MutatingWebhook` / `SetDefaults_ValidatingWebhook`, `SetDefaults_Rule` and
/// `SetDefaults_ServiceReference` of admissionregistration/v1.
fn set_defaults(webhook: &mut Value, mutating: bool) {
    let defaults = [
        ("failurePolicy", json!("Fail")),
        ("matchPolicy", json!("Equivalent")),
        ("namespaceSelector", json!({})),
        ("objectSelector", json!({})),
        ("timeoutSeconds", json!(10)),
    ];
    for (field, value) in defaults {
        if webhook[field].is_null() {
            webhook[field] = value;
        }
    }
    if mutating && webhook["reinvocationPolicy"].is_null() {
        webhook["reinvocationPolicy"] = json!("Never");
    }
    if let Some(rules) = webhook["rules"].as_array_mut() {
        for rule in rules.iter_mut().filter(|r| r.is_object() && r["scope"].is_null()) {
            rule["scope"] = json!("*");
        }
    }
    let service = &mut webhook["clientConfig"]["service"];
    if service.is_object() && service["port"].is_null() {
        service["port"] = json!(443);
    }
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect()).unwrap_or_default()
}

/// `validateMutatingWebhookConfiguration` / `validateValidatingWebhookConfiguration`, in their
/// order, so the messages come out as kube-apiserver's do.
fn validate(configuration: &Value, mutating: bool) -> Vec<String> {
    let mut errors = Vec::new();
    let name = configuration["metadata"]["name"].as_str().unwrap_or_default();
    for e in dns1123_subdomain_errors(name) {
        errors.push(invalid("metadata.name", &go_value(&json!(name)), &e));
    }
    let webhooks = configuration["webhooks"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut names = std::collections::BTreeSet::new();
    for (i, webhook) in webhooks.iter().enumerate() {
        let path = format!("webhooks[{i}]");
        errors.extend(validate_webhook(webhook, mutating, &path));
        errors.extend(validate_review_versions(
            &webhook["admissionReviewVersions"],
            &format!("{path}.admissionReviewVersions"),
        ));
        let hook_name = webhook["name"].as_str().unwrap_or_default();
        if !hook_name.is_empty() && !names.insert(hook_name) {
            errors.push(duplicate(&format!("{path}.name"), &json!(hook_name)));
        }
    }
    errors
}

fn validate_webhook(webhook: &Value, mutating: bool, path: &str) -> Vec<String> {
    let mut errors = fully_qualified_name_errors(&format!("{path}.name"), webhook["name"].as_str().unwrap_or_default());
    let rules = webhook["rules"].as_array().map(Vec::as_slice).unwrap_or_default();
    for (i, rule) in rules.iter().enumerate() {
        errors.extend(validate_rule(rule, &format!("{path}.rules[{i}]")));
    }
    let one_of = |field: &str, allowed: &[&str], errors: &mut Vec<String>| {
        let value = &webhook[field];
        if !value.is_null() && !value.as_str().is_some_and(|v| allowed.contains(&v)) {
            errors.push(not_supported(&format!("{path}.{field}"), value, allowed));
        }
    };
    one_of("failurePolicy", &FAILURE_POLICIES, &mut errors);
    one_of("matchPolicy", &MATCH_POLICIES, &mut errors);
    if webhook["sideEffects"].is_null() {
        errors.push(required(
            &format!("{path}.sideEffects"),
            &format!("must specify one of {}", SIDE_EFFECTS.join(", ")),
        ));
    } else {
        one_of("sideEffects", &SIDE_EFFECTS, &mut errors);
    }
    let timeout = &webhook["timeoutSeconds"];
    if !timeout.as_i64().is_some_and(|t| (1..=30).contains(&t)) {
        errors.push(invalid(
            &format!("{path}.timeoutSeconds"),
            &go_value(timeout),
            "the timeout value must be between 1 and 30 seconds",
        ));
    }
    for selector in ["namespaceSelector", "objectSelector"] {
        if let Err(e) = LabelSelector::from_object(&webhook[selector], &format!("{path}.{selector}")) {
            errors.extend(e);
        }
    }
    if mutating {
        one_of("reinvocationPolicy", &REINVOCATION_POLICIES, &mut errors);
    }
    errors.extend(validate_client_config(&webhook["clientConfig"], &format!("{path}.clientConfig")));
    errors.extend(validate_match_conditions(&webhook["matchConditions"], &format!("{path}.matchConditions")));
    errors
}

/// kube-apiserver's checks of `matchConditions`: at most 64, each with a unique qualified name and
/// an expression that compiles. Here "compiles" means it is in the CEL subset [`cel`] evaluates,
/// so a condition this server would misjudge is refused instead of stored.
fn validate_match_conditions(conditions: &Value, path: &str) -> Vec<String> {
    let Some(conditions) = conditions.as_array() else { return Vec::new() };
    let mut errors = Vec::new();
    if conditions.len() > MAX_MATCH_CONDITIONS {
        errors.push(too_many(path, conditions.len(), MAX_MATCH_CONDITIONS));
    }
    let mut names = BTreeSet::new();
    for (i, condition) in conditions.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match condition["name"].as_str().unwrap_or_default() {
            "" => errors.push(required(&format!("{at}.name"), "")),
            name => {
                let problems = qualified_name_errors(name);
                if !problems.is_empty() {
                    errors.push(invalid(&format!("{at}.name"), &go_value(&json!(name)), &problems.join(", ")));
                } else if !names.insert(name) {
                    errors.push(duplicate(&format!("{at}.name"), &json!(name)));
                }
            }
        }
        match condition["expression"].as_str().unwrap_or_default() {
            "" => errors.push(required(&format!("{at}.expression"), "")),
            expression => {
                if let Err(problem) = cel::parse(expression) {
                    errors.push(invalid(
                        &format!("{at}.expression"),
                        &go_value(&json!(expression)),
                        &format!(
                            "compilation failed: {problem} (see docs/testkit.md for the CEL elbow-testkit evaluates)"
                        ),
                    ));
                }
            }
        }
    }
    errors
}

/// kube-apiserver's limit on match conditions per webhook.
const MAX_MATCH_CONDITIONS: usize = 64;

fn too_many(path: &str, actual: usize, max: usize) -> String {
    format!("{path}: Too many: {actual}: must have at most {max} items")
}

fn validate_rule(rule: &Value, path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let operations = strings(&rule["operations"]);
    if operations.is_empty() {
        errors.push(required(&format!("{path}.operations"), ""));
    }
    if operations.len() > 1 && operations.iter().any(|o| o == "*") {
        errors.push(invalid(
            &format!("{path}.operations"),
            &go_value(&rule["operations"]),
            "if '*' is present, must not specify other operations",
        ));
    }
    for (i, operation) in operations.iter().enumerate() {
        if !OPERATIONS.contains(&operation.as_str()) {
            errors.push(not_supported(&format!("{path}.operations[{i}]"), &json!(operation), &OPERATIONS));
        }
    }
    for (field, what) in [("apiGroups", "API groups"), ("apiVersions", "API versions")] {
        let items = strings(&rule[field]);
        if items.is_empty() {
            errors.push(required(&format!("{path}.{field}"), ""));
        }
        if items.len() > 1 && items.iter().any(|g| g == "*") {
            errors.push(invalid(
                &format!("{path}.{field}"),
                &go_value(&rule[field]),
                &format!("if '*' is present, must not specify other {what}"),
            ));
        }
        if field == "apiVersions" {
            for (i, _) in items.iter().enumerate().filter(|(_, v)| v.is_empty()) {
                errors.push(required(&format!("{path}.apiVersions[{i}]"), ""));
            }
        }
    }
    errors.extend(validate_resources(&rule["resources"], &format!("{path}.resources")));
    let scope = &rule["scope"];
    if !scope.is_null() && !scope.as_str().is_some_and(|s| SCOPES.contains(&s)) {
        errors.push(not_supported(&format!("{path}.scope"), scope, &SCOPES));
    }
    errors
}

/// `validateResources`: `resource`, `resource/subresource`, with `*` for either part.
fn validate_resources(value: &Value, path: &str) -> Vec<String> {
    let resources = strings(value);
    let mut errors = Vec::new();
    if resources.is_empty() {
        errors.push(required(path, ""));
    }
    let (mut wildcard_subresources, mut wildcard_resources) = (Vec::new(), Vec::new());
    let (mut double_wildcard, mut single_wildcard, mut plain) = (false, false, false);
    for (i, resource) in resources.iter().enumerate() {
        if resource.is_empty() {
            errors.push(required(&format!("{path}[{i}]"), ""));
            continue;
        }
        double_wildcard |= resource == "*/*";
        single_wildcard |= resource == "*";
        let Some((res, sub)) = resource.split_once('/') else {
            plain = resource != "*";
            continue;
        };
        if wildcard_subresources.contains(&res) {
            errors.push(invalid(
                &format!("{path}[{i}]"),
                &go_value(&json!(resource)),
                &format!("if '{res}/*' is present, must not specify {resource}"),
            ));
        }
        if wildcard_resources.contains(&sub) {
            errors.push(invalid(
                &format!("{path}[{i}]"),
                &go_value(&json!(resource)),
                &format!("if '*/{sub}' is present, must not specify {resource}"),
            ));
        }
        if sub == "*" {
            wildcard_subresources.push(res);
        }
        if res == "*" {
            wildcard_resources.push(sub);
        }
    }
    if resources.len() > 1 && double_wildcard {
        errors.push(invalid(path, &go_value(value), "if '*/*' is present, must not specify other resources"));
    }
    if single_wildcard && plain {
        errors.push(invalid(
            path,
            &go_value(value),
            "if '*' is present, must not specify other resources without subresources",
        ));
    }
    errors
}

fn validate_review_versions(value: &Value, path: &str) -> Vec<String> {
    let versions = strings(value);
    if versions.is_empty() {
        return vec![required(path, &format!("must specify one of {}", REVIEW_VERSIONS.join(", ")))];
    }
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, version) in versions.iter().enumerate() {
        if !seen.insert(version) {
            errors.push(invalid(&format!("{path}[{i}]"), &go_value(&json!(version)), "duplicate version"));
            continue;
        }
        for e in dns1035_label_errors(version) {
            errors.push(invalid(&format!("{path}[{i}]"), &go_value(&json!(version)), &e));
        }
    }
    if !versions.iter().any(|v| REVIEW_VERSIONS.contains(&v.as_str())) {
        errors.push(invalid(
            path,
            &go_value(value),
            &format!("must include at least one of {}", REVIEW_VERSIONS.join(", ")),
        ));
    }
    errors
}

fn validate_client_config(config: &Value, path: &str) -> Vec<String> {
    let (url, service) = (&config["url"], &config["service"]);
    match (url.as_str(), service.is_object()) {
        (Some(url), false) => validate_url(url, &format!("{path}.url")),
        (None, true) => validate_service(service, &format!("{path}.service")),
        _ => vec![required(path, "exactly one of url or service is required")],
    }
}

/// `ValidateWebhookURL`: https, a host, no user information, query or fragment.
fn validate_url(url: &str, path: &str) -> Vec<String> {
    const FORM: &str = "; desired format: https://host[/path]";
    let parts = WebhookUrl::parse(url);
    let mut errors = Vec::new();
    if parts.scheme != "https" {
        errors.push(invalid(
            path,
            &go_value(&json!(parts.scheme)),
            &format!("'https' is the only allowed URL scheme{FORM}"),
        ));
    }
    if parts.authority.is_empty() {
        errors.push(invalid(path, "\"\"", &format!("host must be provided{FORM}")));
    }
    if let Some(user) = &parts.user {
        errors.push(invalid(path, &go_value(&json!(user)), "user information is not permitted in the URL"));
    }
    if let Some(fragment) = parts.fragment.filter(|f| !f.is_empty()) {
        errors.push(invalid(path, &go_value(&json!(fragment)), "fragments are not permitted in the URL"));
    }
    if let Some(query) = parts.query.filter(|q| !q.is_empty()) {
        errors.push(invalid(path, &go_value(&json!(query)), "query parameters are not permitted in the URL"));
    }
    errors
}

/// `ValidateWebhookService`.
fn validate_service(service: &Value, path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if service["name"].as_str().is_none_or(str::is_empty) {
        errors.push(required(&format!("{path}.name"), "service name is required"));
    }
    if service["namespace"].as_str().is_none_or(str::is_empty) {
        errors.push(required(&format!("{path}.namespace"), "service namespace is required"));
    }
    let port = &service["port"];
    if !port.as_i64().is_some_and(|p| (1..=65535).contains(&p)) {
        errors.push(invalid(
            &format!("{path}.port"),
            &go_value(port),
            "port is not valid: must be between 1 and 65535, inclusive",
        ));
    }
    let Some(url_path) = service["path"].as_str() else { return errors };
    if url_path.is_empty() || url_path == "/" {
        return errors;
    }
    let at = format!("{path}.path");
    let shown = go_value(&json!(url_path));
    if url_path == "//" {
        errors.push(invalid(&at, &shown, "segment[0] may not be empty"));
        return errors;
    }
    if !url_path.starts_with('/') {
        errors.push(invalid(&at, &shown, "must start with a '/'"));
    }
    let trimmed = url_path.get(1..).unwrap_or_default();
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    for (i, segment) in trimmed.split('/').enumerate() {
        if segment.is_empty() {
            errors.push(invalid(&at, &shown, &format!("segment[{i}] may not be empty")));
            continue;
        }
        for e in dns1123_subdomain_errors(segment) {
            errors.push(invalid(&at, &shown, &format!("segment[{i}]: {e}")));
        }
    }
    errors
}

/// A webhook URL cut as Go's `url.Parse` cuts one, as far as validation and dialing need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    pub scheme: String,
    pub user: Option<String>,
    /// `host[:port]`, without user information.
    pub authority: String,
    pub path: String,
    pub query: Option<String>,
    pub fragment: Option<String>,
}

impl WebhookUrl {
    pub fn parse(url: &str) -> Self {
        let (rest, fragment) = match url.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment.to_string())),
            None => (url, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query.to_string())),
            None => (rest, None),
        };
        let (scheme, rest) = match rest.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => (String::new(), ""),
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        let (user, authority) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user.to_string()), host),
            None => (None, authority),
        };
        Self { scheme, user, authority: authority.to_string(), path: path.to_string(), query, fragment }
    }

    /// The host, without brackets around an IPv6 address, and the port (443 when none is given).
    pub fn host_and_port(&self) -> (String, u16) {
        let authority = self.authority.as_str();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse().unwrap_or(443)),
            _ => (authority, 443),
        };
        (host.trim_start_matches('[').trim_end_matches(']').to_string(), port)
    }
}

/// Where a webhook is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Url(WebhookUrl),
    Service { namespace: String, name: String, path: String, port: u16 },
}

/// One webhook of a stored (so defaulted and valid) configuration.
#[derive(Debug, Clone)]
pub struct Hook {
    pub configuration: String,
    /// Its place in the configuration: with the configuration's name, what identifies it for
    /// reinvocation.
    pub index: usize,
    pub name: String,
    pub endpoint: Endpoint,
    /// The decoded `caBundle`: PEM, or `None` for the system's trust roots.
    pub ca_bundle: Option<Vec<u8>>,
    pub rules: Vec<Rule>,
    pub ignore_failures: bool,
    pub match_equivalent: bool,
    pub namespace_selector: LabelSelector,
    pub object_selector: LabelSelector,
    pub timeout: Duration,
    pub review_versions: Vec<String>,
    pub reinvoke_if_needed: bool,
    /// Every one must hold for the webhook to be called.
    pub match_conditions: Vec<MatchCondition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchCondition {
    pub name: String,
    pub expression: cel::Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub operations: Vec<String>,
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    pub scope: String,
}

/// The webhooks of a stored configuration, in their order.
pub fn hooks(configuration: &Value) -> Vec<Hook> {
    let configuration_name = configuration["metadata"]["name"].as_str().unwrap_or_default();
    let webhooks = configuration["webhooks"].as_array().map(Vec::as_slice).unwrap_or_default();
    webhooks.iter().enumerate().map(|(index, webhook)| hook(configuration_name, index, webhook)).collect()
}

fn hook(configuration: &str, index: usize, webhook: &Value) -> Hook {
    let client = &webhook["clientConfig"];
    let service = &client["service"];
    let endpoint = match client["url"].as_str() {
        Some(url) => Endpoint::Url(WebhookUrl::parse(url)),
        None => Endpoint::Service {
            namespace: service["namespace"].as_str().unwrap_or_default().to_string(),
            name: service["name"].as_str().unwrap_or_default().to_string(),
            path: service["path"].as_str().unwrap_or_default().to_string(),
            port: service["port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(443),
        },
    };
    let selector = |field: &str| LabelSelector::from_object(&webhook[field], field).unwrap_or_default();
    let rules = webhook["rules"].as_array().map(Vec::as_slice).unwrap_or_default();
    Hook {
        configuration: configuration.to_string(),
        index,
        name: webhook["name"].as_str().unwrap_or_default().to_string(),
        endpoint,
        ca_bundle: client["caBundle"].as_str().and_then(|b| decode_base64(b).ok()).filter(|b| !b.is_empty()),
        rules: rules
            .iter()
            .map(|rule| Rule {
                operations: strings(&rule["operations"]),
                api_groups: strings(&rule["apiGroups"]),
                api_versions: strings(&rule["apiVersions"]),
                resources: strings(&rule["resources"]),
                scope: rule["scope"].as_str().unwrap_or("*").to_string(),
            })
            .collect(),
        ignore_failures: webhook["failurePolicy"] == json!("Ignore"),
        match_equivalent: webhook["matchPolicy"] != json!("Exact"),
        namespace_selector: selector("namespaceSelector"),
        object_selector: selector("objectSelector"),
        timeout: Duration::from_secs(webhook["timeoutSeconds"].as_u64().unwrap_or(10)),
        review_versions: strings(&webhook["admissionReviewVersions"]),
        reinvoke_if_needed: webhook["reinvocationPolicy"] == json!("IfNeeded"),
        // Stored configurations passed validation, so every expression parses.
        match_conditions: webhook["matchConditions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| {
                let expression = cel::parse(c["expression"].as_str()?).ok()?;
                Some(MatchCondition { name: c["name"].as_str().unwrap_or_default().to_string(), expression })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn mutating() -> ResourceInfo {
        Registry::default()
            .get("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations")
            .cloned()
            .unwrap_or_else(|| panic!("served"))
    }

    fn configuration(webhook: Value) -> Value {
        json!({ "metadata": { "name": "elbow" }, "webhooks": [webhook] })
    }

    fn minimal() -> Value {
        json!({
            "name": "services.elbow.example.com",
            "clientConfig": { "service": { "namespace": "elbow-system", "name": "elbow-webhook", "path": "/mutate-v1-service" } },
            "rules": [{ "operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["services"] }],
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
        })
    }

    #[test]
    fn a_minimal_webhook_gets_kube_apiservers_defaults() {
        let mut object = configuration(minimal());
        admit_configuration(&mutating(), &mut object).unwrap();
        let webhook = &object["webhooks"][0];
        assert_eq!(webhook["failurePolicy"], "Fail");
        assert_eq!(webhook["matchPolicy"], "Equivalent");
        assert_eq!(webhook["timeoutSeconds"], 10);
        assert_eq!(webhook["reinvocationPolicy"], "Never");
        assert_eq!(webhook["namespaceSelector"], json!({}));
        assert_eq!(webhook["objectSelector"], json!({}));
        assert_eq!(webhook["rules"][0]["scope"], "*");
        assert_eq!(webhook["clientConfig"]["service"]["port"], 443);
    }

    #[test]
    fn what_kube_apiserver_refuses_is_refused_with_its_messages() {
        let refused = |change: &dyn Fn(&mut Value)| {
            let mut webhook = minimal();
            change(&mut webhook);
            let error = admit_configuration(&mutating(), &mut configuration(webhook)).unwrap_err();
            assert_eq!(error.code, 422, "{}", error.message);
            error
                .message
                .trim_start_matches("MutatingWebhookConfiguration.admissionregistration.k8s.io \"elbow\" is invalid: ")
                .to_string()
        };
        assert_eq!(
            refused(&|w| w["sideEffects"] = Value::Null),
            "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun"
        );
        assert_eq!(
            refused(&|w| w["sideEffects"] = json!("Some")),
            r#"webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun""#
        );
        assert_eq!(
            refused(&|w| w["admissionReviewVersions"] = json!(["v2"])),
            r#"webhooks[0].admissionReviewVersions: Invalid value: []string{"v2"}: must include at least one of v1, v1beta1"#
        );
        assert_eq!(
            refused(&|w| w["admissionReviewVersions"] = Value::Null),
            "webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1"
        );
        assert_eq!(
            refused(&|w| w["timeoutSeconds"] = json!(31)),
            "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds"
        );
        assert_eq!(
            refused(&|w| w["failurePolicy"] = json!("Retry")),
            r#"webhooks[0].failurePolicy: Unsupported value: "Retry": supported values: "Fail", "Ignore""#
        );
        assert_eq!(
            refused(&|w| w["clientConfig"]["url"] = json!("https://127.0.0.1:8443/mutate")),
            "webhooks[0].clientConfig: Required value: exactly one of url or service is required"
        );
        assert_eq!(
            refused(&|w| w["clientConfig"] = json!({ "url": "http://127.0.0.1/mutate?x=1" })),
            r#"[webhooks[0].clientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme; desired format: https://host[/path], webhooks[0].clientConfig.url: Invalid value: "x=1": query parameters are not permitted in the URL]"#
        );
        assert_eq!(
            refused(&|w| w["name"] = json!("elbow")),
            r#"webhooks[0].name: Invalid value: "elbow": should be a domain with at least three segments separated by dots"#
        );
        assert_eq!(
            refused(&|w| w["rules"][0]["operations"] = json!(["PATCH"])),
            r#"webhooks[0].rules[0].operations[0]: Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE""#
        );
        assert_eq!(
            refused(&|w| w["rules"][0]["resources"] = json!(["*", "services"])),
            r#"webhooks[0].rules[0].resources: Invalid value: []string{"*", "services"}: if '*' is present, must not specify other resources without subresources"#
        );
        assert_eq!(
            refused(&|w| w["clientConfig"]["service"]["path"] = json!("/Mutate")),
            r#"webhooks[0].clientConfig.service.path: Invalid value: "/Mutate": segment[0]: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#
        );
        assert!(
            refused(&|w| w["matchConditions"] = json!([{ "name": "x", "expression": "size(object) > 1" }]))
                .starts_with(r#"webhooks[0].matchConditions[0].expression: Invalid value: "size(object) > 1": compilation failed"#)
        );
        let twice = json!([{ "name": "a", "expression": "true" }, { "name": "a", "expression": "false" }]);
        assert_eq!(
            refused(&|w| w["matchConditions"] = twice.clone()),
            r#"webhooks[0].matchConditions[1].name: Duplicate value: "a""#
        );
        assert_eq!(
            refused(&|w| w["matchConditions"] = json!([{ "name": "a" }])),
            "webhooks[0].matchConditions[0].expression: Required value"
        );
    }

    #[test]
    fn duplicate_names_and_bad_ca_bundles_are_refused() {
        let mut two = json!({ "metadata": { "name": "elbow" }, "webhooks": [minimal(), minimal()] });
        let error = admit_configuration(&mutating(), &mut two).unwrap_err();
        assert!(
            error.message.ends_with(r#"webhooks[1].name: Duplicate value: "services.elbow.example.com""#),
            "{}",
            error.message
        );
        let mut webhook = minimal();
        webhook["clientConfig"]["caBundle"] = json!("not base64!");
        let error = admit_configuration(&mutating(), &mut configuration(webhook)).unwrap_err();
        assert_eq!((error.code, error.reason.as_ref()), (400, "BadRequest"), "{}", error.message);
        assert!(error.message.ends_with("illegal base64 data at input byte 3"), "{}", error.message);
    }

    #[test]
    fn urls_are_cut_as_go_cuts_them() {
        let url = WebhookUrl::parse("https://127.0.0.1:8443/mutate");
        assert_eq!(url.host_and_port(), ("127.0.0.1".to_string(), 8443));
        assert_eq!(url.path, "/mutate");
        assert_eq!(WebhookUrl::parse("https://[::1]/x").host_and_port(), ("::1".to_string(), 443));
        assert_eq!(WebhookUrl::parse("https://u@h/p#f").user.as_deref(), Some("u"));
    }
}
