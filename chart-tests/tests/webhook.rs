//! The admission webhook as the chart renders it: the MutatingWebhookConfiguration sends only the
//! CREATE of class-less LoadBalancer Services to the webhook Service, which leads to the pods'
//! webhook port; the names the operator is given (Service, Secret, configuration) are the rendered
//! objects' names; the RBAC reaches only that Secret and that configuration; cert-manager mode
//! renders its Certificates and the CA injection annotation; bad values are refused.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use elbow_chart_tests::{Manifests, NAMESPACE, operator_args, operator_container, render, template, values_file};
use serde_json::{Value, json};

fn required(sets: &[&str]) -> Manifests {
    render(&[&values_file("required.yaml")], sets)
}

/// The operator's `--webhook-*` flags, by name.
fn webhook_flags(manifests: &Manifests) -> BTreeMap<String, String> {
    let args = operator_args(manifests.get("Deployment", "elbow"));
    args.iter()
        .filter_map(|a| a.strip_prefix("--webhook-")?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

#[test]
fn the_configuration_sends_only_class_less_load_balancer_creates_to_the_webhook_service() {
    let manifests = required(&[]);
    let configuration = manifests.get("MutatingWebhookConfiguration", "elbow");
    assert_eq!(configuration["apiVersion"], "admissionregistration.k8s.io/v1");
    assert!(configuration["metadata"].get("annotations").is_none(), "mode self: no CA injection");
    let webhooks = configuration["webhooks"].as_array().unwrap();
    assert_eq!(webhooks.len(), 3, "the Service webhook and the two pod webhooks");
    let webhook = &webhooks[0];
    assert_eq!(webhook["name"], "mservice.elbow.dev");
    assert_eq!(webhook["admissionReviewVersions"], json!(["v1"]));
    assert_eq!(webhook["sideEffects"], "None");
    assert_eq!(webhook["failurePolicy"], "Fail");
    assert_eq!(webhook["timeoutSeconds"], 10);
    assert_eq!(webhook["reinvocationPolicy"], "Never");
    assert_eq!(
        webhook["rules"],
        json!([{ "operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["services"], "scope": "Namespaced" }])
    );
    assert_eq!(
        webhook["clientConfig"],
        json!({ "service": { "name": "elbow-webhook", "namespace": NAMESPACE, "path": "/mutate-v1-service", "port": 443 } }),
        "no caBundle in the template: the operator writes it, and helm upgrades leave it"
    );
    let conditions = webhook["matchConditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 1);
    let expression = conditions[0]["expression"].as_str().unwrap();
    for part in [
        "object.spec.type == 'LoadBalancer'",
        "!has(object.spec.loadBalancerClass)",
        "object.spec.loadBalancerClass == ''",
    ] {
        assert!(expression.contains(part), "{part} missing from {expression}");
    }
    assert!(webhook.get("namespaceSelector").is_none() && webhook.get("objectSelector").is_none(), "{webhook}");
}

/// The pod webhook as LBC's chart has its own: only pod CREATEs in namespaces labelled for
/// injection, never Elbow's own pods (so Elbow starts while no replica answers), and Ignore, so
/// that a pod is created without its gates rather than not at all while Elbow is down.
#[test]
fn the_pod_webhook_sends_only_new_pods_of_labelled_namespaces_and_never_elbows_own() {
    let manifests = required(&[]);
    let webhook = &manifests.get("MutatingWebhookConfiguration", "elbow")["webhooks"][1];
    assert_eq!(webhook["name"], "mpod.elbow.dev");
    assert_eq!(
        webhook["clientConfig"],
        json!({ "service": { "name": "elbow-webhook", "namespace": NAMESPACE, "path": "/mutate-v1-pod", "port": 443 } })
    );
    assert_eq!(
        webhook["rules"],
        json!([{ "operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced" }])
    );
    assert_eq!(
        webhook["namespaceSelector"],
        json!({ "matchExpressions": [{ "key": "elbow.dev/pod-readiness-gate-inject", "operator": "In", "values": ["enabled"] }] })
    );
    assert_eq!(
        webhook["objectSelector"],
        json!({ "matchExpressions": [{ "key": "app.kubernetes.io/name", "operator": "NotIn", "values": ["elbow"] }] })
    );
    // Elbow's own pods carry the name the selector leaves out.
    let deployment = manifests.get("Deployment", "elbow");
    assert_eq!(deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"], "elbow");
    assert_eq!(webhook["failurePolicy"], "Ignore");
    assert_eq!((&webhook["sideEffects"], &webhook["timeoutSeconds"]), (&json!("None"), &json!(10)));
    assert!(operator_args(deployment).contains(&"--webhook-inject-pod-readiness-gates=true".to_string()));

    // Narrowed, Fail, or off.
    let narrowed = required(&[
        "webhook.podReadinessGates.failurePolicy=Fail",
        "webhook.podReadinessGates.objectSelector.matchLabels.elbow\\.dev/gated=yes",
        "webhook.podReadinessGates.objectSelector.matchExpressions[0].key=tier",
        "webhook.podReadinessGates.objectSelector.matchExpressions[0].operator=Exists",
    ]);
    let webhook = &narrowed.get("MutatingWebhookConfiguration", "elbow")["webhooks"][1];
    assert_eq!(webhook["failurePolicy"], "Fail");
    assert_eq!(
        webhook["objectSelector"],
        json!({
            "matchExpressions": [
                { "key": "app.kubernetes.io/name", "operator": "NotIn", "values": ["elbow"] },
                { "key": "tier", "operator": "Exists" }
            ],
            "matchLabels": { "elbow.dev/gated": "yes" }
        })
    );
    let off = required(&["webhook.podReadinessGates.enabled=false"]);
    let names: Vec<&str> = off.get("MutatingWebhookConfiguration", "elbow")["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["name"].as_str())
        .collect();
    assert_eq!(names, ["mservice.elbow.dev", "mquic.elbow.dev"]);
    assert!(
        operator_args(off.get("Deployment", "elbow"))
            .contains(&"--webhook-inject-pod-readiness-gates=false".to_string())
    );
}

/// The QUIC webhook as LBC's chart has its own: only pod CREATEs in namespaces labelled for QUIC
/// server ids, never Elbow's own pods, and Fail (a pod created without its server id could never
/// be a QUIC target); Ignore and off on request.
#[test]
fn the_quic_webhook_sends_only_new_pods_of_namespaces_labelled_for_quic() {
    let manifests = required(&[]);
    let webhook = &manifests.get("MutatingWebhookConfiguration", "elbow")["webhooks"][2];
    assert_eq!(webhook["name"], "mquic.elbow.dev");
    assert_eq!(
        webhook["clientConfig"],
        json!({ "service": { "name": "elbow-webhook", "namespace": NAMESPACE, "path": "/mutate-v1-pod-quic", "port": 443 } })
    );
    assert_eq!(
        webhook["rules"],
        json!([{ "operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced" }])
    );
    assert_eq!(
        webhook["namespaceSelector"],
        json!({ "matchExpressions": [{ "key": "elbow.dev/quic-server-id-inject", "operator": "In", "values": ["enabled"] }] })
    );
    assert_eq!(
        webhook["objectSelector"],
        json!({ "matchExpressions": [{ "key": "app.kubernetes.io/name", "operator": "NotIn", "values": ["elbow"] }] })
    );
    assert_eq!(webhook["failurePolicy"], "Fail");
    let deployment = manifests.get("Deployment", "elbow");
    assert!(operator_args(deployment).contains(&"--webhook-inject-quic-server-ids=true".to_string()));

    let ignore = required(&["webhook.quicServerIds.failurePolicy=Ignore"]);
    assert_eq!(ignore.get("MutatingWebhookConfiguration", "elbow")["webhooks"][2]["failurePolicy"], "Ignore");
    let off = required(&["webhook.quicServerIds.enabled=false"]);
    assert_eq!(off.get("MutatingWebhookConfiguration", "elbow")["webhooks"].as_array().unwrap().len(), 2);
    assert!(
        operator_args(off.get("Deployment", "elbow")).contains(&"--webhook-inject-quic-server-ids=false".to_string())
    );
}

/// The playground installs the operator's own copy of the configuration; with the chart's
/// defaults the two are the same, so the playground routes requests as a cluster does.
#[test]
fn the_rendered_configuration_is_the_one_the_operator_describes() {
    let manifests = required(&[]);
    let rendered = manifests.get("MutatingWebhookConfiguration", "elbow");
    let described = elbow::webhook::configuration::mutating_webhook_configuration("elbow", NAMESPACE, "elbow-webhook");
    assert_eq!(rendered["webhooks"], described["webhooks"]);
    assert_eq!((&rendered["apiVersion"], &rendered["kind"]), (&described["apiVersion"], &described["kind"]));
}

#[test]
fn the_webhook_service_leads_to_the_pods_webhook_port_and_the_operator_is_told_every_name() {
    let manifests = required(&[]);
    let deployment = manifests.get("Deployment", "elbow");
    let service = manifests.get("Service", "elbow-webhook");
    assert_eq!(service["spec"]["selector"], deployment["spec"]["selector"]["matchLabels"]);
    assert_eq!(
        service["spec"]["ports"],
        json!([{ "name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP" }])
    );
    let ports = operator_container(deployment)["ports"].as_array().unwrap();
    let port = ports.iter().find(|p| p["name"] == "webhook").expect("a webhook port");
    let flags = webhook_flags(&manifests);
    assert_eq!(flags["bind-address"], format!("0.0.0.0:{}", port["containerPort"]));

    let webhook = &manifests.get("MutatingWebhookConfiguration", "elbow")["webhooks"][0];
    assert_eq!(flags["service-name"], webhook["clientConfig"]["service"]["name"].as_str().unwrap());
    assert_eq!(flags["namespace"], webhook["clientConfig"]["service"]["namespace"].as_str().unwrap());
    assert_eq!(flags["configuration-name"], "elbow");
    assert_eq!(flags["certificate-mode"], "self");
    let role = manifests.get("Role", "elbow-webhook");
    assert_eq!(role["rules"][1]["resourceNames"], json!([flags["secret-name"]]));
    let cluster_role = manifests.get("ClusterRole", "elbow-webhook");
    assert_eq!(cluster_role["rules"][0]["resourceNames"], json!([flags["configuration-name"]]));
}

#[test]
fn in_mode_self_the_operator_may_write_only_its_secret_and_its_configuration() {
    let manifests = required(&[]);
    let role = manifests.get("Role", "elbow-webhook");
    assert_eq!(role["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        role["rules"],
        json!([
            { "apiGroups": [""], "resources": ["secrets"], "verbs": ["create"] },
            { "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["elbow-webhook-tls"], "verbs": ["get", "update"] }
        ])
    );
    assert_eq!(
        manifests.get("ClusterRole", "elbow-webhook")["rules"],
        json!([{
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["mutatingwebhookconfigurations"],
            "resourceNames": ["elbow"],
            "verbs": ["get", "patch"]
        }])
    );
    for (binding, role_kind) in [("RoleBinding", "Role"), ("ClusterRoleBinding", "ClusterRole")] {
        let binding = manifests.get(binding, "elbow-webhook");
        assert_eq!(
            binding["roleRef"],
            json!({ "apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": "elbow-webhook" })
        );
        assert_eq!(binding["subjects"], json!([{ "kind": "ServiceAccount", "name": "elbow", "namespace": NAMESPACE }]));
    }
}

#[test]
fn in_mode_cert_manager_cert_manager_issues_and_injects_and_the_operator_only_reads() {
    let manifests = required(&["webhook.certificate.mode=cert-manager"]);
    let flags = webhook_flags(&manifests);
    assert_eq!(flags["certificate-mode"], "external");
    assert_eq!(
        manifests.get("Role", "elbow-webhook")["rules"],
        json!([{ "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["elbow-webhook-tls"], "verbs": ["get"] }])
    );
    assert!(manifests.find("ClusterRole", "elbow-webhook").is_none(), "the CA injector writes the caBundle");

    let configuration = manifests.get("MutatingWebhookConfiguration", "elbow");
    assert_eq!(
        configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "elbow-system/elbow-webhook"
    );
    let certificate = manifests.get("Certificate", "elbow-webhook");
    assert_eq!(certificate["apiVersion"], "cert-manager.io/v1");
    assert_eq!(certificate["metadata"]["namespace"], NAMESPACE);
    assert_eq!(certificate["spec"]["secretName"], flags["secret-name"].as_str());
    assert_eq!(
        certificate["spec"]["dnsNames"],
        json!(["elbow-webhook.elbow-system.svc", "elbow-webhook.elbow-system.svc.cluster.local"])
    );
    assert!(certificate["spec"]["usages"].as_array().unwrap().contains(&json!("server auth")));
    // The chain: a self-signed Issuer makes the CA, a CA Issuer signs the serving certificate.
    assert_eq!(
        certificate["spec"]["issuerRef"],
        json!({ "group": "cert-manager.io", "kind": "Issuer", "name": "elbow-webhook-ca" })
    );
    let ca_issuer = manifests.get("Issuer", "elbow-webhook-ca");
    let ca = manifests.get("Certificate", "elbow-webhook-ca");
    assert_eq!(ca_issuer["spec"]["ca"]["secretName"], ca["spec"]["secretName"]);
    assert_eq!(ca["spec"]["isCA"], true);
    assert_eq!(ca["spec"]["issuerRef"]["name"], "elbow-webhook-selfsigned");
    assert_eq!(manifests.get("Issuer", "elbow-webhook-selfsigned")["spec"], json!({ "selfSigned": {} }));
}

#[test]
fn selectors_and_the_failure_policy_are_rendered_as_given() {
    let manifests = required(&[
        "webhook.failurePolicy=Ignore",
        "webhook.timeoutSeconds=3",
        "webhook.namespaceSelector.matchLabels.team=shop",
        "webhook.objectSelector.matchExpressions[0].key=elbow.dev/skip",
        "webhook.objectSelector.matchExpressions[0].operator=DoesNotExist",
    ]);
    let webhook: &Value = &manifests.get("MutatingWebhookConfiguration", "elbow")["webhooks"][0];
    assert_eq!(webhook["failurePolicy"], "Ignore");
    assert_eq!(webhook["timeoutSeconds"], 3);
    assert_eq!(webhook["namespaceSelector"], json!({ "matchLabels": { "team": "shop" } }));
    assert_eq!(
        webhook["objectSelector"],
        json!({ "matchExpressions": [{ "key": "elbow.dev/skip", "operator": "DoesNotExist" }] })
    );
}

#[test]
fn bad_webhook_values_fail_with_the_schema_error() {
    let cases = [
        ("webhook.failurePolicy=Sometimes", "at '/webhook/failurePolicy'"),
        ("webhook.timeoutSeconds=31", "at '/webhook/timeoutSeconds'"),
        ("webhook.timeoutSeconds=0", "at '/webhook/timeoutSeconds'"),
        ("webhook.port=0", "at '/webhook/port'"),
        ("webhook.certificate.mode=vault", "at '/webhook/certificate/mode'"),
        ("webhook.certificate.checkPeriod=ten", "at '/webhook/certificate/checkPeriod'"),
        ("webhook.certificate.secretName=Not_A_Name", "at '/webhook/certificate/secretName'"),
        (
            "webhook.certificate.certManager.issuerRef.kind=ClusterIssuer",
            "at '/webhook/certificate/certManager/issuerRef'",
        ),
        (
            "webhook.namespaceSelector.matchExpressions[0].operator=Near",
            "at '/webhook/namespaceSelector/matchExpressions/0",
        ),
        ("webhook.objectSelector.matchLabel.team=shop", "additional properties 'matchLabel' not allowed"),
        ("webhook.enable=true", "additional properties 'enable' not allowed"),
        ("webhook.podReadinessGates.failurePolicy=Never", "at '/webhook/podReadinessGates/failurePolicy'"),
        ("webhook.podReadinessGates.label=x", "additional properties 'label' not allowed"),
    ];
    for (set, expected) in cases {
        let error = template(&[&values_file("required.yaml")], &[set]).map(|m| m.text).expect_err(set);
        assert!(error.contains("values don't meet the specifications of the schema"), "{set}: {error}");
        assert!(error.contains(expected), "{set}: expected {expected:?} in:\n{error}");
    }
}
