//! Every key under the AWS Load Balancer Controller's prefixes must be one the catalogue knows:
//! one Elbow reads, on the kind of object it sits on. Anything else is a user error naming the
//! key, because an annotation that is silently ignored (a typo, a feature Elbow lacks) changes
//! what the user gets without telling them.
//!
//! - An unknown key is an error, with "did you mean ...?" when exactly one known key is close.
//! - An LBC key Elbow does not implement is an error saying so.
//! - An `alb.ingress.kubernetes.io/` key LBC reads from backend Services (target group and health
//!   check settings, authentication) is fine on any Service: the Ingress build judges it, and a
//!   Service's own network load balancer ignores it, as in LBC. An Ingress-only key on a Service is
//!   an error, since LBC ignores it there.
//! - `service.kubernetes.io/aws-load-balancer-*` is an error pointing at the
//!   `service.beta.kubernetes.io/` key: LBC's Service parser reads only the `beta` prefix (its
//!   constants mention both, but no lookup uses the other), so reading it would make a migrated
//!   manifest mean something it did not mean under LBC.

use std::collections::BTreeMap;

use super::catalogue::{
    AnnotationInfo, INGRESS_ANNOTATIONS, NOT_IMPLEMENTED, NotImplemented, SERVICE_ANNOTATIONS, Scope,
};
use super::{INGRESS_PREFIX, SERVICE_PREFIX};
use crate::error::BuildError;

/// LBC's Service annotations start so; other `service.beta.kubernetes.io/` keys belong to other
/// controllers unless the catalogue names them.
const LBC_SERVICE_STEM: &str = "aws-load-balancer-";
/// A prefix LBC does not read, though users write it.
const NON_BETA_SERVICE_PREFIX: &str = "service.kubernetes.io/";

/// The object whose annotations are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// A Service Elbow builds a network load balancer for.
    LoadBalancerService,
    /// An Ingress of Elbow's class.
    Ingress,
    /// A Service an Ingress's target group is made for (of any type).
    BackendService,
}

/// A key the catalogue knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Implemented(&'static AnnotationInfo),
    NotImplemented(&'static NotImplemented),
}

impl Known {
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Implemented(info) => info.suffix,
            Self::NotImplemented(info) => info.suffix,
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Self::Implemented(info) => info.scope,
            Self::NotImplemented(info) => info.scope,
        }
    }
}

/// Every key in the catalogue, implemented first.
pub fn catalogue() -> impl Iterator<Item = Known> {
    SERVICE_ANNOTATIONS
        .iter()
        .chain(INGRESS_ANNOTATIONS)
        .map(Known::Implemented)
        .chain(NOT_IMPLEMENTED.iter().map(Known::NotImplemented))
}

/// The catalogue entry for `suffix` under `prefix` (`SERVICE_PREFIX` or `INGRESS_PREFIX`).
pub fn lookup(prefix: &str, suffix: &str) -> Option<Known> {
    catalogue().find(|known| known.scope().prefix() == prefix && matches(known.suffix(), suffix))
}

/// Whether `key` is `pattern`, or fills in the `<...>` that ends it with non-empty text.
fn matches(pattern: &str, key: &str) -> bool {
    match pattern.split_once('<') {
        Some((stem, _)) => key.len() > stem.len() && key.starts_with(stem),
        None => pattern == key,
    }
}

/// The first key of `values` (in order) that the checks refuse, as a user error.
pub fn check(values: &BTreeMap<String, String>, object: Object) -> Result<(), BuildError> {
    values.keys().find_map(|key| refusal(key, object)).map_or(Ok(()), Err)
}

fn refusal(key: &str, object: Object) -> Option<BuildError> {
    if let Some(suffix) = key.strip_prefix(INGRESS_PREFIX) {
        return ingress_key(key, suffix, object);
    }
    if object != Object::LoadBalancerService {
        // Service keys on an Ingress or a backend Service are no concern of the Ingress build.
        return None;
    }
    if let Some(suffix) = key.strip_prefix(SERVICE_PREFIX) {
        return match lookup(SERVICE_PREFIX, suffix) {
            Some(Known::Implemented(info)) if info.scope == Scope::Pod => Some(BuildError::MisplacedAnnotation {
                annotation: key.to_string(),
                reason: "is read from Pods (put it on the pod template), not from Services".to_string(),
            }),
            Some(Known::Implemented(_)) => None,
            Some(Known::NotImplemented(info)) => Some(not_supported(key, info)),
            None if suffix.starts_with(LBC_SERVICE_STEM) => Some(unknown(key, SERVICE_PREFIX, suffix, object)),
            None => None,
        };
    }
    let suffix = key.strip_prefix(NON_BETA_SERVICE_PREFIX).filter(|s| s.starts_with(LBC_SERVICE_STEM))?;
    Some(match lookup(SERVICE_PREFIX, suffix) {
        Some(_) => BuildError::MisplacedAnnotation {
            annotation: key.to_string(),
            reason: format!(
                "is not read: Elbow, like the AWS Load Balancer Controller, reads {SERVICE_PREFIX}{suffix}"
            ),
        },
        None => unknown(key, SERVICE_PREFIX, suffix, object),
    })
}

fn ingress_key(key: &str, suffix: &str, object: Object) -> Option<BuildError> {
    let Some(known) = lookup(INGRESS_PREFIX, suffix) else {
        return Some(unknown(key, INGRESS_PREFIX, suffix, object));
    };
    let on_a_service = matches!(object, Object::LoadBalancerService | Object::BackendService);
    match (known, object) {
        (_, _) if on_a_service && known.scope() == Scope::Ingress => Some(BuildError::MisplacedAnnotation {
            annotation: key.to_string(),
            reason: "is read from Ingresses only, not from Services".to_string(),
        }),
        // The Ingress build reads it from the Service and judges it there.
        (_, Object::LoadBalancerService) => None,
        (Known::Implemented(_), _) => None,
        (Known::NotImplemented(info), _) => Some(not_supported(key, info)),
    }
}

fn not_supported(key: &str, info: &NotImplemented) -> BuildError {
    BuildError::AnnotationNotSupported { annotation: key.to_string(), feature: info.feature.to_string() }
}

fn unknown(key: &str, prefix: &str, suffix: &str, object: Object) -> BuildError {
    let candidates = catalogue().filter(|known| known.scope().prefix() == prefix && applies(known.scope(), object));
    let suggestion = closest(suffix, candidates.map(Known::suffix)).map(|s| format!("{prefix}{s}"));
    BuildError::UnknownAnnotation { annotation: key.to_string(), suggestion }
}

/// Whether keys of `scope` may sit on `object`.
fn applies(scope: Scope, object: Object) -> bool {
    match object {
        Object::LoadBalancerService => !matches!(scope, Scope::Ingress | Scope::Pod),
        Object::Ingress => !matches!(scope, Scope::Service | Scope::Pod),
        Object::BackendService => scope == Scope::IngressAndBackend,
    }
}

/// The one candidate within a small edit distance of `key`, with `key`'s own text in place of a
/// template's `<...>`; `None` when none is close or several are equally close.
fn closest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut close: Vec<(usize, String)> = Vec::new();
    for pattern in candidates {
        let (distance, suggestion) = match pattern.split_once('<') {
            // `action.web` against `actions.<name>`: compare up to the first dot, keep the rest.
            Some((stem, _)) => {
                let Some(dot) = key.find('.') else { continue };
                let (head, rest) = key.split_at(dot + 1);
                (distance(head, stem), format!("{stem}{rest}"))
            }
            None => (distance(key, pattern), pattern.to_string()),
        };
        let allowed = if key.len().min(pattern.len()) <= 4 { 1 } else { 2 };
        if distance <= allowed {
            close.push((distance, suggestion));
        }
    }
    let nearest = close.iter().map(|(d, _)| *d).min()?;
    let mut best: Vec<String> = close.into_iter().filter(|(d, _)| *d == nearest).map(|(_, s)| s).collect();
    best.sort();
    best.dedup();
    match best.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Edit distance counting insertions, deletions, substitutions and swaps of neighbours (optimal
/// string alignment): `shceme` is one edit from `scheme`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
