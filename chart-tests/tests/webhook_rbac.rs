//! Least privilege for the webhook, proven as rbac.rs proves it for the controllers: the webhook's
//! certificate keeping runs against the testkit server (whose audit log records every request's
//! verb and resource, by user agent), and the chart's webhook Role (and, in mode self, its
//! ClusterRole) must grant exactly what it used.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use elbow::webhook::review::ClassPolicy;
use elbow::webhook::secret::SecretRef;
use elbow::webhook::{CertificateMode, CertificateSettings, WebhookSettings};
use elbow_chart_tests::{NAMESPACE, render, values_file};
use elbow_testkit::{TestServer, eventually};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::{DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

/// (api group, resource, verb)
type Permission = (String, String, String);

/// The chart's names, as the operator is given them.
fn settings(mode: CertificateMode) -> WebhookSettings {
    WebhookSettings {
        bind_address: "127.0.0.1:0".parse().unwrap(),
        policy: ClassPolicy {
            load_balancer_class: "elbow.dev/nlb".into(),
            set_class: true,
            take_over_lbc_services: false,
        },
        pods: elbow::webhook::pods::PodGatePolicy::off(),
        quic_server_ids: false,
        certificate: CertificateSettings {
            mode,
            namespace: NAMESPACE.into(),
            service_name: "elbow-webhook".into(),
            secret_name: "elbow-webhook-tls".into(),
            configuration_name: "elbow".into(),
            check_period: Duration::from_millis(100),
            retry_delay: Duration::from_millis(100),
            startup_timeout: Duration::from_secs(5),
        },
    }
}

/// The testkit server with the release namespace, and a client that identifies as the operator.
async fn cluster() -> (TestServer, kube::Client) {
    let server = TestServer::start().await.unwrap();
    let namespaces: Api<Namespace> = Api::all(server.client.clone());
    let namespace = serde_json::from_value(json!({ "metadata": { "name": NAMESPACE } })).unwrap();
    namespaces.create(&PostParams::default(), &namespace).await.unwrap();
    let config = elbow::runtime::identify(kube::Config::new(format!("http://{}", server.addr).parse().unwrap()));
    let operator = kube::Client::try_from(config).unwrap();
    (server, operator)
}

/// What the operator's requests used, each in the release namespace (namespaced) or none.
fn used(server: &TestServer) -> BTreeSet<Permission> {
    let entries: Vec<_> =
        server.audit.entries().into_iter().filter(|e| e.user_agent == elbow::runtime::USER_AGENT).collect();
    for entry in &entries {
        let expected = if entry.resource == "secrets" { NAMESPACE } else { "" };
        assert_eq!(entry.namespace, expected, "{entry:?}");
    }
    entries.into_iter().map(|e| (e.group, e.resource, e.verb)).collect()
}

/// The rules of the rendered `kind` called elbow-webhook, one entry per (group, resource, verb).
fn granted(sets: &[&str], kind: &str) -> BTreeSet<Permission> {
    let manifests = render(&[&values_file("required.yaml")], sets);
    let mut granted = BTreeSet::new();
    let Some(role) = manifests.find(kind, "elbow-webhook") else { return granted };
    let text = |v: &Value| v.as_str().unwrap().to_string();
    for rule in role["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    granted.insert((text(group), text(resource), text(verb)));
                }
            }
        }
    }
    granted
}

fn secrets_only(permissions: &BTreeSet<Permission>) -> BTreeSet<Permission> {
    permissions.iter().filter(|(_, resource, _)| resource == "secrets").cloned().collect()
}

/// Mode self, from an empty namespace: the Secret is created, then (after someone broke it)
/// renewed in place.
async fn exercise_self_mode(server: &TestServer, operator: &kube::Client) {
    let webhook = elbow::webhook::start(operator.clone(), settings(CertificateMode::SelfManaged)).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(server.client.clone(), NAMESPACE);
    let mut broken = secrets.get("elbow-webhook-tls").await.unwrap();
    let good = broken.data.clone().unwrap();
    broken.data.as_mut().unwrap().insert("tls.crt".into(), ByteString(b"garbage".to_vec()));
    secrets.replace("elbow-webhook-tls", &PostParams::default(), &broken).await.unwrap();
    eventually("the operator to renew the broken Secret", async || {
        let data = secrets.get("elbow-webhook-tls").await.ok()?.data?;
        (data["tls.crt"].0 != b"garbage" && data["tls.crt"] != good["tls.crt"]).then_some(())
    })
    .await;
    drop(webhook);
}

#[tokio::test]
async fn in_mode_self_the_webhook_role_grants_exactly_what_the_operator_uses_on_secrets() {
    let (server, operator) = cluster().await;
    exercise_self_mode(&server, &operator).await;
    let used = used(&server);
    let role = granted(&[], "Role");
    assert_eq!(secrets_only(&used), role, "the Role must grant what was used on Secrets, and no more");
    let cluster_role = granted(&[], "ClusterRole");
    let anything_else: BTreeSet<_> = used.difference(&role).cloned().collect();
    assert!(anything_else.is_subset(&cluster_role), "not granted: {:?}", anything_else.difference(&cluster_role));
}

#[tokio::test]
async fn in_mode_self_the_webhook_cluster_role_grants_exactly_what_the_operator_uses() {
    let (server, operator) = cluster().await;
    let manifests = render(&[&values_file("required.yaml")], &[]);
    let configuration = manifests.get("MutatingWebhookConfiguration", "elbow").clone();
    // The test server does not evaluate CEL; the webhook makes the same decision itself.
    let kind = GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration");
    let configurations: Api<DynamicObject> = Api::all_with(server.client.clone(), &ApiResource::from_gvk(&kind));
    configurations.create(&PostParams::default(), &serde_json::from_value(configuration).unwrap()).await.unwrap();
    exercise_self_mode(&server, &operator).await;
    let used = used(&server);
    let mut allowed = granted(&[], "Role");
    allowed.extend(granted(&[], "ClusterRole"));
    assert_eq!(used, allowed);
}

#[tokio::test]
async fn in_mode_cert_manager_the_operator_only_reads_the_secret() {
    let (server, operator) = cluster().await;
    // A Secret as cert-manager writes it (made here by the test's own client, not the operator's).
    let secret = SecretRef { namespace: NAMESPACE.into(), name: "elbow-webhook-tls".into() };
    let names = settings(CertificateMode::External).certificate.dns_names();
    elbow::webhook::secret::ensure_self_managed(&server.client, &secret, &names).await.unwrap();

    let webhook = elbow::webhook::start(operator, settings(CertificateMode::External)).await.unwrap();
    // A few check periods.
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(webhook);
    let sets = ["webhook.certificate.mode=cert-manager"];
    assert_eq!(used(&server), granted(&sets, "Role"));
    assert!(granted(&sets, "ClusterRole").is_empty(), "no cluster-wide access in this mode");
}
