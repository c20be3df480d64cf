//! The MutatingWebhookConfiguration that sends Elbow its requests, as the chart renders it with
//! its default values (a chart test holds the two equal). The playground installs this one, so
//! it routes `kubectl expose` and pod creation through the webhook exactly as a cluster with the
//! chart does.

use elbow_builder::quic;
use elbow_builder::readiness::{INJECT_ENABLED, INJECT_LABEL};
use serde_json::{Value, json};

use super::{pods, quic as quic_route, review};

/// The webhooks' names in the configuration.
pub const WEBHOOK_NAME: &str = "mservice.elbow.dev";
pub const POD_WEBHOOK_NAME: &str = "mpod.elbow.dev";
pub const QUIC_WEBHOOK_NAME: &str = "mquic.elbow.dev";

/// The `app.kubernetes.io/name` label of Elbow's own pods (the chart's default name): they are
/// never sent to the pod webhook, so that Elbow can always start, even while no replica of it
/// answers (the AWS Load Balancer Controller's chart excludes its own pods the same way).
pub const OWN_PODS_NAME: &str = "elbow";

/// Only class-less LoadBalancer Services are sent, so creating any other Service never waits
/// for (or fails with) Elbow. The webhook makes the same decision itself for servers that do
/// not evaluate match conditions.
pub const CLASS_LESS_LOAD_BALANCER: &str = "has(object.spec.type) && object.spec.type == 'LoadBalancer' && (!has(object.spec.loadBalancerClass) || object.spec.loadBalancerClass == '')";

/// The configuration `name`, calling the webhook through Service `service_name` in `namespace`
/// on port 443. No `caBundle`: the operator (mode self) or cert-manager writes it.
pub fn mutating_webhook_configuration(name: &str, namespace: &str, service_name: &str) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": { "name": name },
        "webhooks": [{
            "name": WEBHOOK_NAME,
            "admissionReviewVersions": ["v1"],
            "clientConfig": {
                "service": { "name": service_name, "namespace": namespace, "path": review::PATH, "port": 443 },
            },
            // The class is immutable once the Service exists, so only CREATE matters.
            "rules": [{
                "operations": ["CREATE"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["services"],
                "scope": "Namespaced",
            }],
            "matchConditions": [{ "name": "class-less-load-balancer", "expression": CLASS_LESS_LOAD_BALANCER }],
            // Fail: while no replica answers, such a Service cannot be created, and the error says
            // why. Ignore would create it without a class, for the cloud provider to serve too.
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            "sideEffects": "None",
            "timeoutSeconds": 10,
            "reinvocationPolicy": "Never",
        },
        // Readiness gates can only be added as a pod is created (they are immutable after).
        // Ignore (LBC's default since v2.11): while no replica answers, pods are created without
        // their gates rather than not at all. Fail makes rollouts wait for Elbow.
        pod_webhook(POD_WEBHOOK_NAME, pods::PATH, (INJECT_LABEL, INJECT_ENABLED), "Ignore", namespace, service_name),
        // A container's environment is fixed once the pod exists. Fail (LBC's): a QUIC pod
        // created without its server id could never be a target; the route reads nothing, so it
        // answers whenever a replica runs.
        pod_webhook(
            QUIC_WEBHOOK_NAME,
            quic_route::PATH,
            (quic::INJECT_LABEL, quic::INJECT_ENABLED),
            "Fail",
            namespace,
            service_name,
        ),
    ]})
}

/// A webhook for pod creations at `path`, sent only for pods of namespaces labelled
/// `namespace_label` (key, value), so that every other pod's creation never waits for (or fails
/// with) Elbow; and never for Elbow's own pods, so that Elbow can always start.
fn pod_webhook(
    name: &str,
    path: &str,
    namespace_label: (&str, &str),
    failure_policy: &str,
    namespace: &str,
    service_name: &str,
) -> Value {
    let (key, value) = namespace_label;
    json!({
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": { "service": { "name": service_name, "namespace": namespace, "path": path, "port": 443 } },
        "rules": [{
            "operations": ["CREATE"],
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["pods"],
            "scope": "Namespaced",
        }],
        "namespaceSelector": { "matchExpressions": [{ "key": key, "operator": "In", "values": [value] }] },
        "objectSelector": {
            "matchExpressions": [{ "key": "app.kubernetes.io/name", "operator": "NotIn", "values": [OWN_PODS_NAME] }],
        },
        "failurePolicy": failure_policy,
        "matchPolicy": "Equivalent",
        "sideEffects": "None",
        "timeoutSeconds": 10,
        "reinvocationPolicy": "Never",
    })
}
