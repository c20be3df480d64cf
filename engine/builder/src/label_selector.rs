//! Whether a set of labels matches a `metav1.LabelSelector`, as the API server evaluates it:
//! every `matchLabels` pair and every `matchExpressions` requirement must hold; an empty selector
//! matches everything.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let pairs = selector.match_labels.iter().flatten().all(|(key, value)| labels.get(key) == Some(value));
    let expressions = selector.match_expressions.iter().flatten().all(|requirement| {
        let values = requirement.values.as_deref().unwrap_or_default();
        let value = labels.get(&requirement.key);
        match requirement.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            // The API server rejects other operators; a selector it never accepted matches nothing.
            _ => false,
        }
    });
    pairs && expressions
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn requirement(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn pairs_and_expressions_must_all_hold() {
        let team = labels(&[("team", "web"), ("env", "prod")]);
        assert!(matches(&LabelSelector::default(), &team), "empty selector matches everything");
        let by_label = LabelSelector { match_labels: Some(labels(&[("team", "web")])), ..Default::default() };
        assert!(matches(&by_label, &team));
        assert!(!matches(&by_label, &labels(&[("team", "data")])));
        let cases = [
            (requirement("env", "In", &["prod", "stage"]), true),
            (requirement("env", "NotIn", &["prod"]), false),
            (requirement("tier", "NotIn", &["db"]), true),
            (requirement("team", "Exists", &[]), true),
            (requirement("team", "DoesNotExist", &[]), false),
            (requirement("team", "Gt", &["1"]), false),
        ];
        for (requirement, expected) in cases {
            let selector = LabelSelector { match_expressions: Some(vec![requirement.clone()]), ..Default::default() };
            assert_eq!(matches(&selector, &team), expected, "{requirement:?}");
        }
    }
}
