//! A CustomResourceDefinition's `additionalPrinterColumns`: NAME, then each declared column, its
//! cell read by the column's JSONPath and typed as the column says (a `date` shows as an age).
//!
//! JSONPath here is the subset CRDs use: `.a.b.c`, `['key.with.dots']`, `[N]` and one equality
//! filter `[?(@.type=="Ready")]`; a path that finds nothing gives an empty (null) cell, which
//! kubectl prints as an empty column.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Column, column, name, name_column, since};

pub(super) struct CustomColumns<'a> {
    /// `(name, type, jsonPath, priority)` as the registry keeps them.
    declared: &'a [(String, String, String, u32)],
}

impl<'a> CustomColumns<'a> {
    pub(super) fn new(declared: &'a [(String, String, String, u32)]) -> Self {
        Self { declared }
    }

    pub(super) fn columns(&self) -> Vec<Column> {
        std::iter::once(name_column())
            .chain(self.declared.iter().map(|(name, kind, _, priority)| column(name, kind, *priority)))
            .collect()
    }

    pub(super) fn cells(&self, object: &Value, now: DateTime<Utc>) -> Vec<Value> {
        std::iter::once(json!(name(object)))
            .chain(self.declared.iter().map(|(_, kind, path, _)| match find(object, path) {
                Some(value) => cell(kind, value, now),
                None => Value::Null,
            }))
            .collect()
    }
}

/// The cell for `value` in a column of type `kind`; null when the value does not fit the type.
fn cell(kind: &str, value: &Value, now: DateTime<Utc>) -> Value {
    match kind {
        "integer" => value.as_i64().or_else(|| value.as_f64().map(|f| f as i64)).map_or(Value::Null, |i| json!(i)),
        "number" => value.as_f64().map_or(Value::Null, |f| json!(f)),
        "boolean" => value.as_bool().map_or(Value::Null, |b| json!(b)),
        "date" => value.as_str().map_or(Value::Null, |_| json!(since(value, now))),
        // Strings print as they are; anything else as JSONPath prints it.
        _ => match value {
            Value::Null => Value::Null,
            Value::String(s) => json!(s),
            other => json!(other.to_string()),
        },
    }
}

/// One step of a path.
#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    /// Array items whose `field` equals `value`.
    Filter {
        field: String,
        value: String,
    },
}

/// The steps of `path`, or `None` for syntax this subset does not read.
fn parse(path: &str) -> Option<Vec<Step>> {
    let path = path.trim();
    let path = path.strip_prefix('{').and_then(|p| p.strip_suffix('}')).unwrap_or(path);
    let mut steps = Vec::new();
    let mut rest = path.strip_prefix('$').unwrap_or(path);
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Field(after[..end].to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let inside = &after[..end];
            steps.push(bracket(inside)?);
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

fn unquote(text: &str) -> Option<&str> {
    let text = text.trim();
    text.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .or_else(|| text.strip_prefix('"').and_then(|t| t.strip_suffix('"')))
}

fn bracket(inside: &str) -> Option<Step> {
    if let Some(filter) = inside.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
        let (field, value) = filter.split_once("==")?;
        let value = unquote(value).unwrap_or(value.trim());
        return Some(Step::Filter { field: field.trim().to_string(), value: value.to_string() });
    }
    if let Some(key) = unquote(inside) {
        return Some(Step::Field(key.to_string()));
    }
    inside.trim().parse().ok().map(Step::Index)
}

/// The first value `path` finds in `object`.
fn find<'v>(object: &'v Value, path: &str) -> Option<&'v Value> {
    let mut found = vec![object];
    for step in parse(path)? {
        found = found
            .into_iter()
            .flat_map(|value| -> Vec<&'v Value> {
                match &step {
                    Step::Field(field) => value.get(field).into_iter().collect(),
                    Step::Index(index) => value.get(*index).into_iter().collect(),
                    Step::Filter { field, value: wanted } => value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|item| match &item[field] {
                            Value::String(s) => s == wanted,
                            Value::Null => false,
                            // Numbers and booleans compare as the literal the filter wrote.
                            other => serde_json::from_str::<Value>(wanted).is_ok_and(|literal| literal == *other),
                        })
                        .collect(),
                }
            })
            .collect();
    }
    found.into_iter().next()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{at_now, cells, headers};
    use super::super::{ResourceInfo, render_with};
    use super::*;

    fn widgets(columns: &[(&str, &str, &str)]) -> ResourceInfo {
        ResourceInfo {
            group: "example.com".into(),
            version: "v1".into(),
            resource: "widgets".into(),
            kind: "Widget".into(),
            singular: "widget".into(),
            short_names: vec![],
            namespaced: true,
            has_status: true,
            printer_columns: columns
                .iter()
                .map(|(n, t, p)| (n.to_string(), t.to_string(), p.to_string(), u32::from(n.starts_with("Wide"))))
                .collect(),
        }
    }

    fn widget() -> Value {
        json!({
            "metadata": {
                "name": "w1",
                "creationTimestamp": "2026-01-10T11:59:00Z",
                "annotations": { "example.com/owner": "team-a" },
            },
            "spec": { "size": 3, "color": "blue", "ratio": 1.5, "enabled": true, "zones": ["a", "b"] },
            "status": {
                "conditions": [
                    { "type": "Synced", "status": "True" },
                    { "type": "Ready", "status": "False", "lastTransitionTime": "2026-01-10T11:59:50Z" },
                ],
            },
        })
    }

    #[test]
    fn declared_columns_follow_the_name() {
        let info = widgets(&[
            ("Size", "integer", ".spec.size"),
            ("Color", "string", ".spec.color"),
            ("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ]);
        let table = render_with(&info, &[widget()], json!({}), &at_now());
        assert_eq!(headers(&table), ["NAME", "SIZE", "COLOR", "READY", "AGE"]);
        assert_eq!(cells(&table, 0), ["w1", "3", "blue", "False", "60s"]);
        assert_eq!(table["rows"][0]["cells"][1], json!(3), "an integer column holds a number");
        assert_eq!(table["columnDefinitions"][1]["type"], "integer");
        assert_eq!(table["columnDefinitions"][4]["type"], "date");
    }

    #[test]
    fn missing_or_mistyped_values_are_empty_cells() {
        let info = widgets(&[
            ("Missing", "string", ".status.address"),
            ("NotANumber", "integer", ".spec.color"),
            ("Truncated", "integer", ".spec.ratio"),
            ("Number", "number", ".spec.ratio"),
            ("Enabled", "boolean", ".spec.enabled"),
            ("Zones", "string", ".spec.zones"),
            ("Broken", "string", "spec..size"),
        ]);
        let table = render_with(&info, &[widget()], json!({}), &at_now());
        assert_eq!(cells(&table, 0), ["w1", "<none>", "<none>", "1", "1.5", "true", "[\"a\",\"b\"]", "<none>"]);
    }

    #[test]
    fn paths_read_indexes_quoted_keys_and_filters() {
        let object = widget();
        assert_eq!(find(&object, ".spec.zones[1]"), Some(&json!("b")));
        assert_eq!(find(&object, ".metadata.annotations['example.com/owner']"), Some(&json!("team-a")));
        assert_eq!(find(&object, "{.status.conditions[?(@.type=='Synced')].status}"), Some(&json!("True")));
        assert_eq!(find(&object, ".status.conditions[?(@.type==\"Gone\")].status"), None);
        assert_eq!(find(&object, ".spec.zones[7]"), None);
        let ports = json!({ "ports": [{ "port": 80, "name": "http" }, { "port": 443, "name": "https" }] });
        assert_eq!(find(&ports, ".ports[?(@.port==443)].name"), Some(&json!("https")));
        assert_eq!(parse("spec.size"), None);
    }

    #[test]
    fn a_columns_priority_is_declared_for_kubectl_to_hide_it_without_wide() {
        // The test helper gives columns named Wide* priority 1.
        let info = widgets(&[("Color", "string", ".spec.color"), ("WideSize", "integer", ".spec.size")]);
        let table = render_with(&info, &[widget()], json!({}), &at_now());
        assert_eq!(table["columnDefinitions"][1]["priority"], 0);
        assert_eq!(table["columnDefinitions"][2]["priority"], 1);
        assert_eq!(cells(&table, 0), ["w1", "blue", "3"], "the server sends every column, as kube-apiserver does");
    }

    #[test]
    fn a_date_column_is_an_age() {
        let info = widgets(&[("Changed", "date", ".status.conditions[1].lastTransitionTime")]);
        let table = render_with(&info, &[widget()], json!({}), &at_now());
        assert_eq!(cells(&table, 0), ["w1", "10s"]);
    }
}
