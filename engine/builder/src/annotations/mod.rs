//! The annotations: the catalogue of keys (`catalogue.rs`: what Elbow reads, with names, scopes,
//! defaults and meanings, and what the AWS Load Balancer Controller reads that Elbow does not), the
//! check that refuses keys outside it (`check.rs`), the generated reference (`docs.rs`), and here the
//! typed readers that turn a bad value into a user error naming the annotation, the value and what
//! was expected.
//!
//! The names and meanings are the AWS Load Balancer Controller's, so manifests written for it keep
//! working.

mod catalogue;
mod check;
mod docs;

use std::collections::BTreeMap;

pub use catalogue::{
    AnnotationInfo, INGRESS_ANNOTATIONS, NOT_IMPLEMENTED, NotImplemented, Reader, SERVICE_ANNOTATIONS, Scope,
};
pub use check::{Known, Object, catalogue, check, lookup};
pub use docs::annotations_markdown;

use crate::error::BuildError;

/// Service annotations are named after this: LBC's own under `aws-load-balancer-`, and Kubernetes'
/// core `load-balancer-source-ranges`.
pub const SERVICE_PREFIX: &str = "service.beta.kubernetes.io/";
/// Ingress annotations; the health-check and target-group ones may also sit on a backend Service,
/// where they win over the Ingress's.
pub const INGRESS_PREFIX: &str = "alb.ingress.kubernetes.io/";

/// Reads one object's annotations under one prefix.
pub struct Annotations<'a> {
    values: &'a BTreeMap<String, String>,
    prefix: &'static str,
    table: &'static [AnnotationInfo],
}

impl<'a> Annotations<'a> {
    pub fn service(values: &'a BTreeMap<String, String>) -> Self {
        Self { values, prefix: SERVICE_PREFIX, table: SERVICE_ANNOTATIONS }
    }

    /// An Ingress's annotations, or the `alb.ingress.kubernetes.io/` ones of a backend Service.
    pub fn ingress(values: &'a BTreeMap<String, String>) -> Self {
        Self { values, prefix: INGRESS_PREFIX, table: INGRESS_ANNOTATIONS }
    }

    /// The full name; `suffix` is a table entry, or a `<...>` entry with the blank filled in.
    pub fn name(&self, suffix: &str) -> String {
        debug_assert!(
            self.table
                .iter()
                .any(|a| a.suffix == suffix
                    || a.suffix.split_once('<').is_some_and(|(stem, _)| suffix.starts_with(stem))),
            "annotation {suffix} is missing from the table"
        );
        format!("{}{suffix}", self.prefix)
    }

    /// A JSON value; one that does not parse as `T` is an error quoting serde's reason.
    pub fn json<T: serde::de::DeserializeOwned>(&self, suffix: &str, expected: &str) -> Result<Option<T>, BuildError> {
        let Some(value) = self.get(suffix) else { return Ok(None) };
        serde_json::from_str(value)
            .map(Some)
            .map_err(|error| self.invalid(suffix, value, &format!("{expected} ({error})")))
    }

    /// A JSON value read as LBC reads it, with Go's `encoding/json`: an object key names the field
    /// it equals, else the one of `fields` it equals ignoring ASCII case (`Type`, `ForwardConfig`,
    /// `ServiceName` are LBC's documented spellings as much as `type`...). Keys that match no field
    /// are ignored, there as here.
    pub fn go_json<T: serde::de::DeserializeOwned>(
        &self,
        suffix: &str,
        expected: &str,
        fields: &[&str],
    ) -> Result<Option<T>, BuildError> {
        let Some(value) = self.get(suffix) else { return Ok(None) };
        let invalid = |error: serde_json::Error| self.invalid(suffix, value, &format!("{expected} ({error})"));
        let mut parsed: serde_json::Value = serde_json::from_str(value).map_err(invalid)?;
        fold_keys(&mut parsed, fields);
        serde_json::from_value(parsed).map(Some).map_err(invalid)
    }

    /// The keys `<prefix><stem><rest>` with a non-empty `rest`, as (`rest`, trimmed value): the
    /// annotations of a `<stem><...>` table entry.
    pub fn under(&self, stem: &str) -> Vec<(&'a str, &'a str)> {
        let full = format!("{}{stem}", self.prefix);
        self.values
            .iter()
            .filter_map(|(key, value)| Some((key.strip_prefix(&full).filter(|rest| !rest.is_empty())?, value.trim())))
            .collect()
    }

    /// The trimmed value, `None` when absent or empty.
    pub fn get(&self, suffix: &str) -> Option<&'a str> {
        self.values.get(&self.name(suffix)).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn invalid(&self, suffix: &str, value: &str, expected: &str) -> BuildError {
        BuildError::InvalidAnnotation {
            annotation: self.name(suffix),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    /// Parses the value with `parse`; a value it rejects is an error saying `expected`.
    pub fn parse<T>(
        &self,
        suffix: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, BuildError> {
        match self.get(suffix) {
            None => Ok(None),
            Some(value) => parse(value).map(Some).ok_or_else(|| self.invalid(suffix, value, expected)),
        }
    }

    pub fn bool(&self, suffix: &str) -> Result<Option<bool>, BuildError> {
        self.parse(suffix, "true or false", |v| match v.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    }

    pub fn number(&self, suffix: &str, min: u32, max: u32) -> Result<Option<u32>, BuildError> {
        let expected = format!("a whole number from {min} to {max}");
        self.parse(suffix, &expected, |v| v.parse::<u32>().ok().filter(|n| (min..=max).contains(n)))
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    /// A minimum capacity reservation, `CapacityUnits=<n>` as LBC writes it: `Some(Some(n))`
    /// reserves `n` units, `Some(None)` (`CapacityUnits=0`) asks for none.
    pub fn capacity_units(&self, suffix: &str) -> Result<Option<Option<u32>>, BuildError> {
        self.parse(
            suffix,
            "CapacityUnits=<number of capacity units>, like CapacityUnits=1000 (0 for no reservation)",
            |v| {
                let (key, units) = v.split_once('=')?;
                if key.trim() != "CapacityUnits" {
                    return None;
                }
                // LBC reads the number as a 32-bit signed integer.
                let units: u32 = units.trim().parse().ok().filter(|n| *n <= i32::MAX as u32)?;
                Some((units > 0).then_some(units))
            },
        )
    }

    pub fn list(&self, suffix: &str) -> Option<Vec<String>> {
        self.get(suffix).map(split_list)
    }

    /// `key=value` pairs separated by commas; with `allow_bare_keys`, `key` alone maps to "".
    pub fn pairs(&self, suffix: &str, allow_bare_keys: bool) -> Result<Option<BTreeMap<String, String>>, BuildError> {
        let expected =
            if allow_bare_keys { "comma-separated key=value or key items" } else { "comma-separated key=value pairs" };
        self.parse(suffix, expected, |value| {
            let mut pairs = BTreeMap::new();
            for item in split_list(value) {
                let (key, value) = match item.split_once('=') {
                    Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
                    None if allow_bare_keys => (item.clone(), String::new()),
                    None => return None,
                };
                if key.is_empty() {
                    return None;
                }
                pairs.insert(key, value);
            }
            Some(pairs)
        })
    }
}

/// Renames every object key (at any depth) that equals one of `fields` ignoring ASCII case to that
/// field. Where an object has both an exact key and a differently cased one, the exact one wins
/// (Go keeps the last in the document; a map here has no document order to go by).
fn fold_keys(value: &mut serde_json::Value, fields: &[&str]) {
    match value {
        serde_json::Value::Object(map) => {
            let entries = std::mem::take(map);
            let mut folded = Vec::new();
            for (key, mut item) in entries {
                fold_keys(&mut item, fields);
                let exact = fields.contains(&key.as_str());
                match fields.iter().find(|field| !exact && field.eq_ignore_ascii_case(&key)) {
                    Some(field) => folded.push((field.to_string(), item)),
                    None => {
                        map.insert(key, item);
                    }
                }
            }
            for (key, item) in folded {
                map.entry(key).or_insert(item);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| fold_keys(item, fields)),
        _ => {}
    }
}

pub(crate) fn split_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// HTTP success codes as ELBv2 takes them: `200`, `200-399`, `200,204`.
pub(crate) fn valid_success_codes(value: &str) -> Option<String> {
    valid_codes(value, 200..=599)
}

/// gRPC success codes as ELBv2 takes them (`GrpcCode`): codes 0 to 99, `12`, `0-99`, `0,12`.
pub(crate) fn valid_grpc_success_codes(value: &str) -> Option<String> {
    valid_codes(value, 0..=99)
}

fn valid_codes(value: &str, range: std::ops::RangeInclusive<u16>) -> Option<String> {
    // No leading zeros or signs: AWS takes plain decimal codes.
    let code = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0')))
            .then(|| s.parse::<u16>().ok())
            .flatten()
            .filter(|c| range.contains(c))
    };
    let ok = value.split(',').all(|part| match part.split_once('-') {
        Some((from, to)) => matches!((code(from), code(to)), (Some(from), Some(to)) if from <= to),
        None => code(part).is_some(),
    });
    ok.then(|| value.to_string())
}

#[cfg(test)]
mod tests;
