//! Pod readiness gates, as the AWS Load Balancer Controller (LBC) has them, under Elbow's names:
//! a pod created in a namespace labelled `elbow.dev/pod-readiness-gate-inject=enabled` that backs
//! an ip target group gets the gate `target-health.elbow.dev/<target group name>`, and the
//! kubelet counts the pod Ready only once the pod condition of that type is True, which Elbow
//! sets when the load balancer reports the pod's target healthy. (LBC's label and prefix are
//! `elbv2.k8s.aws/pod-readiness-gate-inject` and `target-health.elbv2.k8s.aws`, so the two
//! controllers' gates never mix.)

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;

/// The namespace label that turns injection on, and its one value that does.
pub const INJECT_LABEL: &str = "elbow.dev/pod-readiness-gate-inject";
pub const INJECT_ENABLED: &str = "enabled";

/// The prefix of every gate's condition type; the target group's name follows a `/`.
pub const CONDITION_PREFIX: &str = "target-health.elbow.dev";

/// The condition type of the gate for `target_group`.
pub fn condition_type(target_group: &str) -> String {
    format!("{CONDITION_PREFIX}/{target_group}")
}

/// The target group a condition type is the gate for; `None` for any other condition.
pub fn target_group_of(condition_type: &str) -> Option<&str> {
    condition_type.strip_prefix(CONDITION_PREFIX)?.strip_prefix('/').filter(|name| !name.is_empty())
}

/// Whether `labels` turn injection on (a namespace's labels).
pub fn injection_enabled(labels: Option<&BTreeMap<String, String>>) -> bool {
    labels.and_then(|l| l.get(INJECT_LABEL)).is_some_and(|value| value == INJECT_ENABLED)
}

/// Whether `service` sends traffic to a pod with `labels`: every key of its selector matches. A
/// Service without a selector selects nothing (its endpoints are managed by hand), as LBC reads
/// it.
pub fn selects(service: &Service, labels: Option<&BTreeMap<String, String>>) -> bool {
    let selector = service.spec.as_ref().and_then(|s| s.selector.as_ref()).filter(|s| !s.is_empty());
    let Some(selector) = selector else { return false };
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    selector.iter().all(|(key, value)| labels.get(key) == Some(value))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ServiceSpec;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_gate_names_its_target_group_and_is_told_from_other_conditions() {
        let gate = condition_type("k8s-shop-web-0123456789");
        assert_eq!(gate, "target-health.elbow.dev/k8s-shop-web-0123456789");
        assert_eq!(target_group_of(&gate), Some("k8s-shop-web-0123456789"));
        for other in [
            "Ready",
            "ContainersReady",
            "target-health.elbv2.k8s.aws/k8s-shop-web-0123456789",
            "target-health.elbow.dev",
            "target-health.elbow.dev/",
            "target-health.elbow.devx/k8s-shop-web",
        ] {
            assert_eq!(target_group_of(other), None, "{other}");
        }
    }

    #[test]
    fn only_the_label_set_to_enabled_turns_injection_on() {
        assert!(injection_enabled(Some(&labels(&[(INJECT_LABEL, "enabled")]))));
        for set in [labels(&[]), labels(&[(INJECT_LABEL, "disabled")]), labels(&[(INJECT_LABEL, "Enabled")])] {
            assert!(!injection_enabled(Some(&set)), "{set:?}");
        }
        assert!(!injection_enabled(None));
        // LBC's own label does not turn Elbow's injection on.
        assert!(!injection_enabled(Some(&labels(&[("elbv2.k8s.aws/pod-readiness-gate-inject", "enabled")]))));
    }

    #[test]
    fn a_service_selects_pods_carrying_every_label_of_its_selector() {
        let service = |selector: Option<&[(&str, &str)]>| Service {
            spec: Some(ServiceSpec { selector: selector.map(labels), ..ServiceSpec::default() }),
            ..Service::default()
        };
        let pod = labels(&[("app", "web"), ("tier", "front")]);
        assert!(selects(&service(Some(&[("app", "web")])), Some(&pod)));
        assert!(selects(&service(Some(&[("app", "web"), ("tier", "front")])), Some(&pod)));
        assert!(!selects(&service(Some(&[("app", "web"), ("tier", "back")])), Some(&pod)));
        assert!(!selects(&service(Some(&[("app", "api")])), Some(&pod)));
        assert!(!selects(&service(Some(&[])), Some(&pod)), "an empty selector selects nothing");
        assert!(!selects(&service(None), Some(&pod)), "no selector: endpoints managed by hand");
        assert!(!selects(&service(Some(&[("app", "web")])), None), "a pod without labels");
    }
}
