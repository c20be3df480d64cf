//! The `x-kubernetes-validations` rules of a CustomResourceDefinition's schema, enforced on
//! every write of its objects as kube-apiserver's CEL validation does (in the subset of CEL
//! `webhooks::cel` evaluates):
//!
//! ```text
//! schema node with rules ── self = the object's value there, oldSelf = the stored value there
//!   rule true                                 -> fine
//!   rule false                                -> a field error: `<path>: Invalid value: ...: <message>`
//!   transition rule (oldSelf) and no old value -> not evaluated (a create, or a field just added)
//!   value null or absent                      -> not evaluated (a rule on an optional field
//!                                                holds only where the field is)
//! ```
//!
//! Old values are found where kube-apiserver correlates them: the same property of an object,
//! the same key of a map, the item with the same keys of a `x-kubernetes-list-type: map` list;
//! items of other lists have none. A rule that does not read `oldSelf` and fails on a value equal
//! to its old one is ratcheted (kube-apiserver's CRDValidationRatcheting, on since 1.30): an
//! object stored before the rule existed can still be updated elsewhere.
//!
//! The wording is kube-apiserver 1.35's (which kubectl then prints after `The <Kind> "<name>" is
//! invalid: `): a failed rule on a string, number or boolean shows the value
//! (`spec.targetGroupARN: Invalid value: "arn:...": targetGroupARN is immutable`), on an object or
//! a list it shows none (`spec: Invalid value: exactly one of ...`), a rule without `message`
//! says `failed rule: <rule>`, and `reason` picks `Forbidden`, `Required value` or `Duplicate
//! value` instead. Rules outside the CEL subset are refused when the CRD is written, so no object
//! is ever stored past a rule that was not evaluated.

use serde_json::Value;

use crate::validation::go_value;
use crate::webhooks::cel::{self, Expr, Variables};

/// One rule as the schema states it.
struct Rule<'a> {
    source: &'a str,
    expr: Expr,
    message: Option<&'a str>,
    reason: Option<&'a str>,
    field_path: Option<&'a str>,
}

impl<'a> Rule<'a> {
    fn read(rule: &'a Value) -> Result<Self, String> {
        let source = rule["rule"].as_str().ok_or("a validation rule needs a rule")?;
        let expr = cel::parse_rule(source)?;
        if rule.get("messageExpression").is_some() {
            return Err("messageExpression is outside what elbow-testkit evaluates".into());
        }
        if rule["optionalOldSelf"] == Value::Bool(true) {
            return Err("optionalOldSelf is outside what elbow-testkit evaluates".into());
        }
        let reason = rule["reason"].as_str();
        if let Some(reason) = reason
            && !["FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"]
                .contains(&reason)
        {
            return Err(format!(
                "reason {reason:?} is not one of FieldValueInvalid, FieldValueForbidden, FieldValueRequired, FieldValueDuplicate"
            ));
        }
        let field_path = rule["fieldPath"].as_str();
        if let Some(path) = field_path
            && !is_simple_path(path)
        {
            return Err(format!("fieldPath {path:?} is outside the dotted paths elbow-testkit reads"));
        }
        Ok(Self { source, expr, message: rule["message"].as_str(), reason, field_path })
    }
}

/// `.a.b`: the field paths the test server resolves (no `['...']` or indices).
fn is_simple_path(path: &str) -> bool {
    path.strip_prefix('.').is_some_and(|rest| {
        rest.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    })
}

/// The rules of `schema` (a CRD version's `openAPIV3Schema`) that cannot be evaluated, each with
/// where it is: refused when the CRD is written.
pub fn unevaluable_rules(schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    walk_schema(schema, "openAPIV3Schema", &mut problems);
    problems
}

fn walk_schema(schema: &Value, path: &str, problems: &mut Vec<String>) {
    for (i, rule) in schema["x-kubernetes-validations"].as_array().into_iter().flatten().enumerate() {
        if let Err(problem) = Rule::read(rule) {
            problems.push(format!(
                "{path}.x-kubernetes-validations[{i}].rule: Invalid value: {}: {problem}",
                go_value(&rule["rule"])
            ));
        }
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        walk_schema(property, &format!("{path}.properties[{name}]"), problems);
    }
    if schema["items"].is_object() {
        walk_schema(&schema["items"], &format!("{path}.items"), problems);
    }
    if schema["additionalProperties"].is_object() {
        walk_schema(&schema["additionalProperties"], &format!("{path}.additionalProperties"), problems);
    }
}

/// The field errors of `object` against `schema`'s rules; `old` is the stored object on an
/// update.
pub fn validate(schema: &Value, object: &Value, old: Option<&Value>) -> Vec<String> {
    let mut errors = Vec::new();
    validate_node(schema, object, old, &Path::root(), &mut errors);
    errors
}

/// A field path as apimachinery prints it: `spec.ports[0].name`, `metadata.labels[app]`, and
/// `<nil>` for the object itself.
#[derive(Clone)]
struct Path(Vec<String>);

impl Path {
    fn root() -> Self {
        Self(Vec::new())
    }

    fn child(&self, name: &str) -> Self {
        let mut parts = self.0.clone();
        parts.push(if parts.is_empty() { name.to_string() } else { format!(".{name}") });
        Self(parts)
    }

    fn index(&self, index: usize) -> Self {
        let mut parts = self.0.clone();
        parts.push(format!("[{index}]"));
        Self(parts)
    }

    fn key(&self, key: &str) -> Self {
        let mut parts = self.0.clone();
        parts.push(format!("[{key}]"));
        Self(parts)
    }

    fn text(&self) -> String {
        if self.0.is_empty() { "<nil>".to_string() } else { self.0.concat() }
    }
}

fn validate_node(schema: &Value, value: &Value, old: Option<&Value>, path: &Path, errors: &mut Vec<String>) {
    if value.is_null() {
        return;
    }
    let old = old.filter(|o| !o.is_null());
    let type_ = schema["type"].as_str().unwrap_or_default();
    for rule in schema["x-kubernetes-validations"].as_array().into_iter().flatten() {
        // Unevaluable rules never get this far: the CRD was refused.
        let Ok(rule) = Rule::read(rule) else { continue };
        let transition = cel::reads_old(&rule.expr);
        if transition && old.is_none() {
            continue;
        }
        let vars = Variables { object: value, old_object: old.unwrap_or(&Value::Null), request: &Value::Null };
        match cel::evaluate_condition(&rule.expr, &vars) {
            Ok(true) => {}
            Ok(false) if !transition && old == Some(value) => {}
            Ok(false) => errors.push(failure(&rule, type_, value, path)),
            Err(error) => errors.push(format!(
                "{}: Invalid value: {:?}: {error} evaluating rule: {}",
                path.text(),
                type_,
                rule.message.unwrap_or(rule.source).trim()
            )),
        }
    }
    match value {
        Value::Object(map) => {
            let properties = schema["properties"].as_object();
            let additional = schema["additionalProperties"].is_object().then(|| &schema["additionalProperties"]);
            for (name, child) in map {
                let old_child = old.and_then(|o| o.get(name));
                if let Some(property) = properties.and_then(|p| p.get(name)) {
                    validate_node(property, child, old_child, &path.child(name), errors);
                } else if let Some(additional) = additional {
                    validate_node(additional, child, old_child, &path.key(name), errors);
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            let keys: Vec<&str> = match schema["x-kubernetes-list-type"].as_str() {
                Some("map") => schema["x-kubernetes-list-map-keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect(),
                _ => Vec::new(),
            };
            let old_items = old.and_then(Value::as_array);
            for (i, item) in items.iter().enumerate() {
                let old_item = match (keys.is_empty(), old_items) {
                    (false, Some(olds)) => olds.iter().find(|o| keys.iter().all(|k| o.get(*k) == item.get(*k))),
                    _ => None,
                };
                validate_node(&schema["items"], item, old_item, &path.index(i), errors);
            }
        }
        _ => {}
    }
}

fn failure(rule: &Rule<'_>, type_: &str, value: &Value, path: &Path) -> String {
    let detail = match rule.message {
        Some(message) => message.trim().to_string(),
        None => format!("failed rule: {}", rule.source.trim()),
    };
    let path = match rule.field_path {
        Some(extra) => extra.trim_start_matches('.').split('.').fold(path.clone(), |p, part| p.child(part)),
        None => path.clone(),
    };
    let path = path.text();
    match rule.reason {
        Some("FieldValueForbidden") => format!("{path}: Forbidden: {detail}"),
        Some("FieldValueRequired") => format!("{path}: Required value: {detail}"),
        Some("FieldValueDuplicate") => format!("{path}: Duplicate value: {}", shown(type_, value).unwrap_or_default()),
        _ => match shown(type_, value) {
            Some(shown) => format!("{path}: Invalid value: {shown}: {detail}"),
            None => format!("{path}: Invalid value: {detail}"),
        },
    }
}

/// The value as a failed rule shows it: strings, numbers and booleans; objects and lists not at
/// all.
fn shown(type_: &str, value: &Value) -> Option<String> {
    (!matches!(type_, "object" | "array") && !value.is_object() && !value.is_array()).then(|| go_value(value))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-validations": [
                        { "rule": "has(self.arn) != has(self.name)", "message": "exactly one of arn and name must be set" },
                        { "rule": "has(self.arn) == has(oldSelf.arn)", "message": "cannot switch between arn and name" },
                    ],
                    "properties": {
                        "arn": { "type": "string", "x-kubernetes-validations": [{ "rule": "self == oldSelf", "message": "arn is immutable" }] },
                        "name": { "type": "string", "x-kubernetes-validations": [{ "rule": "self == oldSelf" }] },
                        "port": { "type": "integer", "x-kubernetes-validations": [{ "rule": "self == oldSelf", "reason": "FieldValueForbidden", "message": "port is fixed" }] },
                        "ports": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": { "type": "object", "properties": {
                                "name": { "type": "string" },
                                "number": { "type": "integer", "x-kubernetes-validations": [{ "rule": "self == oldSelf", "message": "number is immutable" }] },
                            } },
                        },
                        "tags": { "type": "array", "items": { "type": "object", "properties": {
                            "value": { "type": "string", "x-kubernetes-validations": [{ "rule": "self == oldSelf" }] },
                        } } },
                    },
                },
            },
        })
    }

    fn object(spec: Value) -> Value {
        json!({ "apiVersion": "x/v1", "kind": "X", "metadata": { "name": "a" }, "spec": spec })
    }

    #[test]
    fn exactly_one_of_two_fields() {
        assert!(validate(&schema(), &object(json!({ "arn": "a" })), None).is_empty());
        assert_eq!(
            validate(&schema(), &object(json!({ "arn": "a", "name": "n" })), None),
            ["spec: Invalid value: exactly one of arn and name must be set"]
        );
        assert_eq!(validate(&schema(), &object(json!({})), None).len(), 1);
    }

    #[test]
    fn immutable_fields_refuse_a_change_and_show_the_new_value() {
        let old = object(json!({ "arn": "arn:1", "port": 80 }));
        assert!(validate(&schema(), &old, Some(&old)).is_empty(), "unchanged");
        assert_eq!(
            validate(&schema(), &object(json!({ "arn": "arn:2", "port": 80 })), Some(&old)),
            ["spec.arn: Invalid value: \"arn:2\": arn is immutable"]
        );
        assert_eq!(
            validate(&schema(), &object(json!({ "arn": "arn:1", "port": 81 })), Some(&old)),
            ["spec.port: Forbidden: port is fixed"]
        );
        // A rule without a message says which rule failed.
        let named = object(json!({ "name": "n1" }));
        assert_eq!(
            validate(&schema(), &object(json!({ "name": "n2" })), Some(&named)),
            ["spec.name: Invalid value: \"n2\": failed rule: self == oldSelf"]
        );
    }

    #[test]
    fn transition_rules_wait_for_an_old_value() {
        // Created with any value; a field added by an update has no old value either.
        assert!(validate(&schema(), &object(json!({ "arn": "arn:1" })), None).is_empty());
        let without_port = object(json!({ "arn": "arn:1" }));
        assert!(validate(&schema(), &object(json!({ "arn": "arn:1", "port": 80 })), Some(&without_port)).is_empty());
        // Switching from one field to the other is what the spec-level rule catches.
        assert_eq!(
            validate(&schema(), &object(json!({ "name": "n" })), Some(&without_port)),
            ["spec: Invalid value: cannot switch between arn and name"]
        );
    }

    #[test]
    fn map_list_items_correlate_by_key_and_other_lists_do_not() {
        let old =
            object(json!({ "arn": "a", "ports": [{ "name": "http", "number": 80 }], "tags": [{ "value": "x" }] }));
        let moved = object(
            json!({ "arn": "a", "ports": [{ "name": "grpc", "number": 90 }, { "name": "http", "number": 81 }], "tags": [{ "value": "y" }] }),
        );
        assert_eq!(
            validate(&schema(), &moved, Some(&old)),
            ["spec.ports[1].number: Invalid value: 81: number is immutable"]
        );
    }

    #[test]
    fn a_failing_rule_on_an_unchanged_value_is_ratcheted() {
        let stored = object(json!({ "arn": "a", "name": "n" }));
        assert!(validate(&schema(), &stored, Some(&stored)).is_empty());
    }

    #[test]
    fn rules_outside_the_subset_are_named_where_they_are() {
        let mut bad = schema();
        bad["properties"]["spec"]["properties"]["arn"]["x-kubernetes-validations"] =
            json!([{ "rule": "self.startsWith('arn:')" }]);
        let problems = unevaluable_rules(&bad);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with(
                "openAPIV3Schema.properties[spec].properties[arn].x-kubernetes-validations[0].rule: Invalid value: \"self.startsWith('arn:')\""
            ),
            "{problems:?}"
        );
        assert!(unevaluable_rules(&schema()).is_empty());
    }
}
