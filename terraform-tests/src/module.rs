//! What a reviewer checks in any Terraform module before reading its logic: every input is
//! described, typed and (unless it is a plain switch) validated; every output is described; the
//! providers are pinned; an example calls the module with inputs it has. Each check returns the
//! problems it found, one line each, empty when there are none.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::hcl::{Block, TfFile, blocks, literal, nested, text};

/// Arguments a `module` block takes that are not the module's variables.
const MODULE_META_ARGUMENTS: &[&str] = &["source", "version", "providers", "count", "for_each", "depends_on"];

/// Every variable has a non-empty description and a type. Every variable that is not a `bool` has
/// at least one validation whose condition reads the variable and whose message is a non-empty
/// literal: a bool has nothing left to validate, anything else can be given a wrong value.
pub fn check_variables(file: &TfFile) -> Vec<String> {
    let mut problems = Vec::new();
    for variable in blocks(&file.json, "variable", 1) {
        let at = format!("{}: variable {:?}", file.path.display(), variable.name());
        if described(&variable).is_none() {
            problems.push(format!("{at} has no description"));
        }
        let Some(kind) = variable.body.get("type").and_then(text) else {
            problems.push(format!("{at} has no type"));
            continue;
        };
        if kind == "bool" {
            continue;
        }
        let validations = nested(variable.body, "validation");
        if validations.is_empty() {
            problems.push(format!("{at} (type {kind}) has no validation block"));
        }
        let reference = format!("var.{}", variable.name());
        for validation in validations {
            match validation.get("condition").and_then(text) {
                Some(condition) if mentions(&condition, &reference) => {}
                Some(condition) => {
                    problems.push(format!("{at}: validation condition {condition} does not read {reference}"))
                }
                None => problems.push(format!("{at}: validation without a condition")),
            }
            if validation.get("error_message").and_then(literal).is_none_or(|m| m.trim().is_empty()) {
                problems.push(format!("{at}: validation without an error_message"));
            }
        }
    }
    problems
}

/// Every output has a non-empty description and a value.
pub fn check_outputs(file: &TfFile) -> Vec<String> {
    let mut problems = Vec::new();
    for output in blocks(&file.json, "output", 1) {
        let at = format!("{}: output {:?}", file.path.display(), output.name());
        if described(&output).is_none() {
            problems.push(format!("{at} has no description"));
        }
        if !output.body.contains_key("value") {
            problems.push(format!("{at} has no value"));
        }
    }
    problems
}

/// The file has a `terraform` block with a `required_version`, and pins each of `providers` to a
/// `hashicorp/<name>` source with a version range bounded below and above (`>= a, < b`, `~> a`, or
/// one exact version).
pub fn check_versions(file: &TfFile, providers: &[&str]) -> Vec<String> {
    let at = file.path.display();
    let terraform = blocks(&file.json, "terraform", 0);
    let Some(block) = terraform.first() else {
        return vec![format!("{at}: no terraform block")];
    };
    let mut problems = Vec::new();
    if block.body.get("required_version").and_then(literal).is_none() {
        problems.push(format!("{at}: no required_version"));
    }
    let required = nested(block.body, "required_providers");
    for provider in providers {
        let Some(pin) = required.iter().find_map(|r| r.get(*provider)).and_then(Value::as_object) else {
            problems.push(format!("{at}: provider {provider} is not in required_providers"));
            continue;
        };
        let source = pin.get("source").and_then(literal);
        if source.as_deref() != Some(&format!("hashicorp/{provider}")) {
            problems.push(format!("{at}: provider {provider} has source {source:?}, expected hashicorp/{provider}"));
        }
        match pin.get("version").and_then(literal) {
            Some(version) if bounded(&version) => {}
            Some(version) => {
                problems.push(format!("{at}: provider {provider} version {version:?} needs a lower and an upper bound"))
            }
            None => problems.push(format!("{at}: provider {provider} has no version constraint")),
        }
    }
    problems
}

/// The example's `module` block that calls the module at `source`: it passes only variables the
/// module declares, and every variable the module requires (declares without a default).
pub fn check_module_call(example: &[TfFile], source: &str, module: &[TfFile]) -> Vec<String> {
    let calls: Vec<(String, Block<'_>)> = example
        .iter()
        .flat_map(|f| blocks(&f.json, "module", 1).into_iter().map(move |b| (f.path.display().to_string(), b)))
        .filter(|(_, b)| b.body.get("source").and_then(literal).as_deref() == Some(source))
        .collect();
    if calls.is_empty() {
        return vec![format!("no example calls the module with source {source:?}")];
    }
    let variables: Vec<Block<'_>> = module.iter().flat_map(|f| blocks(&f.json, "variable", 1)).collect();
    let declared: BTreeSet<&str> = variables.iter().map(Block::name).collect();
    let required: BTreeSet<&str> =
        variables.iter().filter(|v| !v.body.contains_key("default")).map(Block::name).collect();
    let mut problems = Vec::new();
    for (path, call) in calls {
        let given: BTreeSet<&str> = call
            .body
            .keys()
            .map(String::as_str)
            .filter(|k| !k.starts_with("__") && !MODULE_META_ARGUMENTS.contains(k))
            .collect();
        for unknown in given.difference(&declared) {
            problems
                .push(format!("{path}: module {:?} passes {unknown}, which the module does not declare", call.name()));
        }
        for missing in required.difference(&given) {
            problems.push(format!("{path}: module {:?} does not pass the required {missing}", call.name()));
        }
    }
    problems
}

/// Values the module hands the chart, against the chart's `values.schema.json`: every key the
/// module sets is a property there (objects are followed down), and every property the schema
/// requires at the top is set.
pub fn check_chart_values(values: &Map<String, Value>, schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for required in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if !values.contains_key(required) {
            problems.push(format!("the chart requires {required}, which the module does not set"));
        }
    }
    check_properties(values, schema, "", &mut problems);
    problems
}

fn check_properties(values: &Map<String, Value>, schema: &Value, at: &str, problems: &mut Vec<String>) {
    for (key, value) in values.iter().filter(|(k, _)| !k.starts_with("__")) {
        let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
        let Some(property) = schema.get("properties").and_then(|p| p.get(key)) else {
            problems.push(format!("the module sets {path}, which the chart's schema does not have"));
            continue;
        };
        if let Some(inner) = value.as_object() {
            check_properties(inner, property, &path, problems);
        }
    }
}

fn described(block: &Block<'_>) -> Option<String> {
    block.body.get("description").and_then(literal).filter(|d| !d.trim().is_empty())
}

/// Whether `expression` reads `reference` (`var.x`, not `var.xy`).
fn mentions(expression: &str, reference: &str) -> bool {
    expression.match_indices(reference).any(|(at, _)| {
        let next = expression[at + reference.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

fn bounded(constraint: &str) -> bool {
    let parts: Vec<&str> = constraint.split(',').map(str::trim).collect();
    let exact =
        matches!(parts.as_slice(), [one] if one.starts_with('=') || one.starts_with(|c: char| c.is_ascii_digit()));
    let pessimistic = parts.iter().any(|p| p.starts_with("~>"));
    let lower = parts.iter().any(|p| p.starts_with(">=") || p.starts_with("> "));
    let upper = parts.iter().any(|p| p.starts_with('<'));
    exact || pessimistic || (lower && upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_a_whole_name() {
        assert!(mentions("${var.tags == null}", "var.tags"));
        assert!(mentions("${alltrue([for k, v in var.tags : k != \"\"])}", "var.tags"));
        assert!(!mentions("${var.tags_all == null}", "var.tags"));
        assert!(!mentions("${var.region == null}", "var.tags"));
    }

    #[test]
    fn a_version_pin_needs_both_bounds() {
        assert!(bounded(">= 5.40, < 7.0"));
        assert!(bounded("~> 2.12"));
        assert!(!bounded(">= 5.40"));
        assert!(!bounded("< 7.0"));
        assert!(bounded("5.100.0"));
        assert!(!bounded("5.40.0, 6.0.0"));
    }
}
