use std::collections::BTreeSet;

use super::*;
use crate::annotations::check::catalogue;

/// LBC's keys, as `scope key` lines (see the file's header for where they come from).
const LBC_KEYS: &str = include_str!("lbc_keys.txt");

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Service => "service",
        Scope::Ingress => "ingress",
        Scope::IngressAndBackend => "ingress+service",
        Scope::Pod => "pod",
    }
}

/// Implemented or not, each key once: a key in both lists would be read and refused.
#[test]
fn every_key_is_catalogued_once() {
    let mut seen = BTreeSet::new();
    for known in catalogue() {
        let key = format!("{}{}", known.scope().prefix(), known.suffix());
        assert!(seen.insert(key.clone()), "{key} is catalogued twice");
    }
}

/// Every key LBC reads is classified, as implemented (where it applies included) or not, and the
/// catalogue invents none: a new LBC key makes this fail until it is classified.
#[test]
fn the_catalogue_classifies_exactly_lbcs_keys() {
    let lbc: BTreeSet<(String, String)> = LBC_KEYS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (scope, key) = line.split_once(' ').expect("a scope and a key");
            (scope.to_string(), key.to_string())
        })
        .collect();
    assert!(lbc.len() > 100, "the list is read: {}", lbc.len());
    let ours: BTreeSet<(String, String)> = catalogue()
        .map(|known| (scope_name(known.scope()).to_string(), format!("{}{}", known.scope().prefix(), known.suffix())))
        .collect();
    let unclassified: Vec<_> = lbc.difference(&ours).collect();
    let invented: Vec<_> = ours.difference(&lbc).collect();
    assert!(
        unclassified.is_empty() && invented.is_empty(),
        "LBC keys missing from the catalogue (or in another scope): {unclassified:#?}\ncatalogued keys LBC does not read there: {invented:#?}"
    );
}

#[test]
fn defaults_unlike_lbcs_name_implemented_keys() {
    for (key, _) in DEFAULTS_UNLIKE_LBC {
        let implemented = SERVICE_ANNOTATIONS
            .iter()
            .chain(INGRESS_ANNOTATIONS)
            .any(|info| format!("{}{}", info.scope.prefix(), info.suffix) == *key);
        assert!(implemented, "{key} is not an implemented annotation");
    }
}
