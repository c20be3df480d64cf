//! The rendered chart applied to the testkit API server with the real kubectl, CRDs first, as
//! `helm template | kubectl apply -f -` does on a real cluster: every object is accepted and can be
//! read back as rendered.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_chart_tests::{Manifests, NAMESPACE, render, values_file};
use elbow_testkit::tools::KubectlServer;
use serde_json::Value;

/// The test server with kubectl pointed at it, and this file's kubectl helpers.
struct Cluster(KubectlServer);

impl std::ops::Deref for Cluster {
    type Target = KubectlServer;
    fn deref(&self) -> &KubectlServer {
        &self.0
    }
}

fn cluster() -> Cluster {
    Cluster(KubectlServer::start())
}

fn manifest(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests").join(name)).unwrap()
}

impl Cluster {
    /// `kubectl apply -f -` without client-side validation, which needs OpenAPI documents the
    /// test server only approximates. Misspelt fields are caught before, in render.rs, by a round
    /// trip through the typed Kubernetes API.
    fn apply(&self, stream: &str) -> String {
        let run = self.kubectl.run_with_input(&["apply", "--validate=false", "-f", "-"], stream);
        assert!(
            run.success(),
            "kubectl apply failed ({}):\n{}\n{}\nmanifests:\n{stream}",
            run.status,
            run.stdout,
            run.stderr
        );
        run.stdout
    }

    /// Applies the chart's CRDs, then everything else, into a fresh release namespace.
    fn install(&self, manifests: &Manifests) {
        self.kubectl.ok(&["create", "namespace", NAMESPACE]);
        let crds = manifests.stream(true);
        assert!(!crds.is_empty(), "the chart rendered no CRDs");
        self.apply(&crds);
        let applied = self.apply(&manifests.stream(false));
        let non_crds = manifests.objects.len() - manifests.of_kind("CustomResourceDefinition").count();
        assert_eq!(applied.lines().filter(|l| l.ends_with(" created")).count(), non_crds, "{applied}");
    }

    /// Every rendered object, read back from the server with `kubectl get -f -`.
    fn read_back(&self, manifests: &Manifests) -> Vec<Value> {
        let stream = format!("{}\n{}", manifests.stream(true), manifests.stream(false));
        let run = self.kubectl.run_with_input(&["get", "-f", "-", "-o", "json"], &stream);
        assert!(run.success(), "kubectl get -f - failed:\n{}\n{}", run.stdout, run.stderr);
        let list: Value = serde_json::from_str(&run.stdout).unwrap();
        list["items"].as_array().cloned().unwrap_or_default()
    }
}

/// Asserts that the server holds every rendered object, with the rendered labels and content.
fn assert_installed(cluster: &Cluster, manifests: &Manifests) {
    let stored = cluster.read_back(manifests);
    assert_eq!(stored.len(), manifests.objects.len(), "{:?}", manifests.kinds_and_names());
    for (rendered, stored) in manifests.objects.iter().zip(&stored) {
        let what = format!("{} {}", rendered["kind"], rendered["metadata"]["name"]);
        assert_eq!(stored["kind"], rendered["kind"], "{what}");
        assert_eq!(stored["metadata"]["name"], rendered["metadata"]["name"], "{what}");
        assert_eq!(stored["metadata"]["namespace"], rendered["metadata"]["namespace"], "{what}");
        assert_eq!(stored["metadata"]["labels"], rendered["metadata"]["labels"], "{what}");
        assert!(stored["metadata"]["uid"].is_string(), "{what} was not stored: {stored}");
        // What each kind is about arrived unchanged; the server may add defaults (a CRD's
        // listKind, a Deployment's strategy), as a real one does.
        for field in ["spec", "rules", "subjects", "roleRef"] {
            if let Some(value) = rendered.get(field)
                && let Some(difference) = missing_from(value, &stored[field], field)
            {
                panic!("{what}: the server's copy lacks {difference}");
            }
        }
    }
}

/// The first place where `expected` is not contained in `actual` (every key of an object with a
/// contained value, arrays element by element, scalars equal), named by its path.
fn missing_from(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => expected.iter().find_map(|(key, value)| {
            let path = format!("{path}.{key}");
            match actual.get(key) {
                Some(found) => missing_from(value, found, &path),
                None => Some(format!("{path} (expected {value})")),
            }
        }),
        (Value::Array(expected), Value::Array(actual)) if expected.len() == actual.len() => {
            expected.iter().zip(actual).enumerate().find_map(|(i, (e, a))| missing_from(e, a, &format!("{path}[{i}]")))
        }
        _ if expected == actual => None,
        _ => Some(format!("{path}: expected {expected}, found {actual}")),
    }
}

#[test]
fn the_chart_with_default_values_applies_and_every_object_exists() {
    let cluster = cluster();
    let manifests = render(&[&values_file("required.yaml")], &[]);
    cluster.install(&manifests);
    assert_installed(&cluster, &manifests);
    // kubectl sees the CRDs' kinds once the chart is in.
    let resources = cluster.kubectl.ok(&["api-resources", "--api-group=elbow.dev", "-o", "name"]);
    assert_eq!(resources.trim(), "ingressclassparams.elbow.dev\ntargetgroupbindings.elbow.dev");
}

#[test]
fn the_chart_with_every_option_applies_and_every_object_exists() {
    let cluster = cluster();
    let manifests = render(&[&values_file("every-option.yaml")], &[]);
    // The ServiceMonitor's kind comes from the Prometheus Operator and the Certificate's from
    // cert-manager, which a cluster that turns those options on has installed.
    cluster.apply(&manifest("servicemonitor-crd.yaml"));
    cluster.apply(&manifest("cert-manager-crds.yaml"));
    cluster.install(&manifests);
    assert_installed(&cluster, &manifests);
    for kind in ["ServiceMonitor", "IngressClass", "IngressClassParams"] {
        assert_eq!(manifests.of_kind(kind).count(), 1, "{kind} not rendered");
    }
    let default_class = cluster.kubectl.ok(&["get", "ingressclass", "alb", "-o", "jsonpath={.spec.parameters.name}"]);
    assert_eq!(default_class, "alb-internal");
    let scheme = cluster.kubectl.ok(&["get", "ingressclassparams", "alb-internal", "-o", "jsonpath={.spec.scheme}"]);
    assert_eq!(scheme, "internal");
}

#[test]
fn the_chart_with_cert_manager_issuing_the_webhook_certificate_applies() {
    let cluster = cluster();
    // Installed by cert-manager on a cluster that uses this mode.
    cluster.apply(&manifest("cert-manager-crds.yaml"));
    let manifests = render(&[&values_file("required.yaml")], &["webhook.certificate.mode=cert-manager"]);
    cluster.install(&manifests);
    assert_installed(&cluster, &manifests);
    for (kind, count) in [("MutatingWebhookConfiguration", 1), ("Certificate", 2), ("Issuer", 2)] {
        assert_eq!(manifests.of_kind(kind).count(), count, "{kind}");
    }
}
