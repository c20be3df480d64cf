//! The webhook's certificate Secret against the testkit API server through a real `kube::Client`:
//! mode `self` creates it, reuses it on a restart, renews it in place (with the resourceVersion it
//! read) before it expires, lets one of two racing replicas win, and serves a replaced Secret
//! without a restart; mode `external` only ever reads it. Mode `self` also writes the CA into the
//! `caBundle` of every webhook of the configuration.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use elbow::webhook::material::{self, CA_CRT, CA_KEY, SecretData, TLS_CRT, TLS_KEY};
use elbow::webhook::review::ClassPolicy;
use elbow::webhook::secret::{self, SecretRef};
use elbow::webhook::{CertificateMode, CertificateSettings, WebhookSettings, pem};
use elbow_testkit::{TestServer, eventually};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;
use tokio::sync::Notify;

const NAMESPACE: &str = "elbow-system";
const SECRET: &str = "elbow-webhook-tls";

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
            secret_name: SECRET.into(),
            configuration_name: "elbow".into(),
            check_period: Duration::from_millis(200),
            retry_delay: Duration::from_millis(100),
            startup_timeout: Duration::from_secs(2),
        },
    }
}

fn names() -> Vec<String> {
    settings(CertificateMode::SelfManaged).certificate.dns_names()
}

fn secret_ref() -> SecretRef {
    SecretRef { namespace: NAMESPACE.into(), name: SECRET.into() }
}

async fn server() -> TestServer {
    let server = TestServer::start().await.unwrap();
    let namespaces: Api<Namespace> = Api::all(server.client.clone());
    let namespace = serde_json::from_value(json!({ "metadata": { "name": NAMESPACE } })).unwrap();
    namespaces.create(&PostParams::default(), &namespace).await.unwrap();
    server
}

fn secrets(server: &TestServer) -> Api<Secret> {
    Api::namespaced(server.client.clone(), NAMESPACE)
}

fn data(secret: &Secret) -> SecretData {
    secret.data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect()
}

/// Writes a Secret as cert-manager (or an earlier operator) would have left it.
async fn put_secret(server: &TestServer, data: SecretData) -> Secret {
    let secret = Secret {
        metadata: kube::api::ObjectMeta { name: Some(SECRET.into()), ..Default::default() },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
        ..Default::default()
    };
    secrets(server).create(&PostParams::default(), &secret).await.unwrap()
}

/// The verbs used on Secrets, in order.
fn secret_verbs(server: &TestServer) -> Vec<String> {
    server.audit.entries().into_iter().filter(|e| e.resource == "secrets").map(|e| e.verb).collect()
}

/// POSTs a review of a new class-less LoadBalancer Service over HTTPS, trusting only `ca_bundle`;
/// the answer's `allowed`, or the error.
async fn call(webhook: &elbow::webhook::Webhook, ca_bundle: &[u8]) -> Result<bool, kube::Error> {
    let mut config = kube::Config::new(format!("https://{}", webhook.local_addr()).parse().unwrap());
    config.root_cert = Some(pem::certificates(ca_bundle).unwrap().into_iter().map(|c| c.to_vec()).collect());
    config.tls_server_name = Some(names()[0].clone());
    let client = kube::Client::try_from(config).unwrap();
    let body = json!({ "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "1", "resource": { "group": "", "version": "v1", "resource": "services" }, "operation": "CREATE",
        "object": { "metadata": { "name": "web" }, "spec": { "type": "LoadBalancer" } } } });
    let request = http::Request::post("/mutate-v1-service").body(serde_json::to_vec(&body).unwrap()).unwrap();
    let answer: serde_json::Value = client.request(request).await?;
    Ok(answer["response"]["allowed"] == true && answer["response"]["patch"].is_string())
}

#[tokio::test]
async fn self_mode_creates_the_secret_at_start_up_and_reuses_it_on_a_restart() {
    let server = server().await;
    let webhook = elbow::webhook::start(server.client.clone(), settings(CertificateMode::SelfManaged)).await.unwrap();
    let stored = secrets(&server).get(SECRET).await.unwrap();
    assert_eq!(stored.type_.as_deref(), Some("kubernetes.io/tls"));
    let first = data(&stored);
    assert_eq!(first.keys().collect::<Vec<_>>(), [CA_CRT, CA_KEY, TLS_CRT, TLS_KEY]);
    material::assess(&first, &names(), Utc::now()).unwrap();
    assert!(call(&webhook, &first[CA_CRT]).await.unwrap(), "the Secret's certificate is served");
    drop(webhook);

    // A restart (or a second replica) finds it usable and writes nothing.
    let before = secret_verbs(&server).len();
    let webhook = elbow::webhook::start(server.client.clone(), settings(CertificateMode::SelfManaged)).await.unwrap();
    let again = secrets(&server).get(SECRET).await.unwrap();
    assert_eq!(again.metadata.resource_version, stored.metadata.resource_version);
    assert_eq!(data(&again), first);
    assert!(call(&webhook, &first[CA_CRT]).await.unwrap());
    let verbs = secret_verbs(&server);
    assert!(verbs[before..].iter().all(|v| v == "get"), "{verbs:?}");
    assert_eq!(verbs[..before].iter().filter(|v| *v == "create").count(), 1, "{verbs:?}");
}

#[tokio::test]
async fn a_certificate_expiring_within_thirty_days_is_renewed_in_place_by_the_same_ca() {
    let server = server().await;
    // Issued 350 days ago: 15 days left.
    let old = material::renew(None, &names(), Utc::now() - chrono::TimeDelta::days(350)).unwrap();
    let written = put_secret(&server, old.clone()).await;
    let serving = secret::ensure_self_managed(&server.client, &secret_ref(), &names()).await.unwrap();
    let renewed = secrets(&server).get(SECRET).await.unwrap();
    assert_ne!(renewed.metadata.resource_version, written.metadata.resource_version);
    let new = data(&renewed);
    assert_ne!(new[TLS_CRT], old[TLS_CRT]);
    assert_eq!(new[CA_CRT], old[CA_CRT], "same CA, so the caBundle stays");
    assert_eq!(serving.certificate_pem, new[TLS_CRT]);
    material::assess(&new, &names(), Utc::now()).unwrap();
    assert_eq!(secret_verbs(&server).iter().filter(|v| *v == "update").count(), 1);
}

#[tokio::test]
async fn a_secret_for_another_service_name_is_renewed() {
    let server = server().await;
    let elsewhere = material::renew(None, &["elbow-webhook.other.svc".to_string()], Utc::now()).unwrap();
    put_secret(&server, elsewhere.clone()).await;
    secret::ensure_self_managed(&server.client, &secret_ref(), &names()).await.unwrap();
    let new = data(&secrets(&server).get(SECRET).await.unwrap());
    assert_ne!(new[TLS_CRT], elsewhere[TLS_CRT]);
    material::assess(&new, &names(), Utc::now()).unwrap();
}

/// A client whose first PUT waits until `release` is notified, after announcing it on `held`: the
/// replica that read the Secret, then lost the race to write it.
fn delayed_writer(inner: kube::Client, held: Arc<Notify>, release: Arc<Notify>) -> kube::Client {
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        let (inner, held, release, first) = (inner.clone(), held.clone(), release.clone(), first.clone());
        async move {
            if request.method() == http::Method::PUT && first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                held.notify_one();
                release.notified().await;
            }
            inner.send(request).await
        }
    });
    kube::Client::new(service, "default")
}

#[tokio::test]
async fn of_two_replicas_renewing_at_once_the_loser_rereads_and_serves_the_winners_certificate() {
    let server = server().await;
    let old = material::renew(None, &names(), Utc::now() - chrono::TimeDelta::days(350)).unwrap();
    put_secret(&server, old).await;
    let (held, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let slow_client = delayed_writer(server.client.clone(), held.clone(), release.clone());
    let slow = tokio::spawn(async move { secret::ensure_self_managed(&slow_client, &secret_ref(), &names()).await });
    // The slow replica has read the old Secret and is about to replace it.
    held.notified().await;
    let fast = secret::ensure_self_managed(&server.client, &secret_ref(), &names()).await.unwrap();
    release.notify_one();
    let slow = slow.await.unwrap().unwrap();

    let stored = data(&secrets(&server).get(SECRET).await.unwrap());
    assert_eq!(fast.certificate_pem, stored[TLS_CRT]);
    assert_eq!(slow.certificate_pem, stored[TLS_CRT], "the loser serves what the winner wrote");
    let verbs = secret_verbs(&server);
    assert_eq!(verbs.iter().filter(|v| *v == "update").count(), 2, "both tried; one was refused: {verbs:?}");
}

#[tokio::test]
async fn a_deleted_secret_is_made_again_at_the_next_check_and_served_without_a_restart() {
    let server = server().await;
    let webhook = elbow::webhook::start(server.client.clone(), settings(CertificateMode::SelfManaged)).await.unwrap();
    let first = data(&secrets(&server).get(SECRET).await.unwrap());
    secrets(&server).delete(SECRET, &DeleteParams::default()).await.unwrap();
    let second = eventually("the Secret to be made again", async || {
        secrets(&server).get_opt(SECRET).await.ok().flatten().map(|s| data(&s))
    })
    .await;
    assert_ne!(second[CA_CRT], first[CA_CRT], "a new CA: the old key went with the Secret");
    eventually("the new certificate to be served", async || call(&webhook, &second[CA_CRT]).await.ok()).await;
    assert!(call(&webhook, &first[CA_CRT]).await.is_err(), "the old certificate is no longer served");
}

#[tokio::test]
async fn external_mode_only_reads_the_secret_and_serves_what_cert_manager_renews() {
    let server = server().await;
    // Nothing issued yet: start-up waits, then fails saying what is missing.
    let error = elbow::webhook::start(server.client.clone(), settings(CertificateMode::External)).await.unwrap_err();
    assert!(format!("{error:#}").contains("has cert-manager issued it?"), "{error:#}");
    assert!(secrets(&server).get_opt(SECRET).await.unwrap().is_none(), "nothing was created");

    // cert-manager writes tls.crt, tls.key and ca.crt (no CA key).
    let issued = material::renew(None, &names(), Utc::now()).unwrap();
    let mut external: SecretData = issued.clone();
    external.remove(CA_KEY);
    let written = put_secret(&server, external.clone()).await;
    let webhook = elbow::webhook::start(server.client.clone(), settings(CertificateMode::External)).await.unwrap();
    assert!(call(&webhook, &external[CA_CRT]).await.unwrap());

    // cert-manager renews: the new certificate is served from the next check on.
    let renewed = material::renew(None, &names(), Utc::now()).unwrap();
    let mut replaced = written.clone();
    replaced.data =
        Some(renewed.iter().filter(|(k, _)| *k != CA_KEY).map(|(k, v)| (k.clone(), ByteString(v.clone()))).collect());
    secrets(&server).replace(SECRET, &PostParams::default(), &replaced).await.unwrap();
    eventually("the renewed certificate to be served", async || call(&webhook, &renewed[CA_CRT]).await.ok()).await;
    drop(webhook);

    let verbs = secret_verbs(&server);
    let by_test = ["create", "update", "patch", "delete"];
    let writes = verbs.iter().filter(|v| by_test.contains(&v.as_str())).count();
    assert_eq!(writes, 2, "only the test's own create and update: {verbs:?}");
}

#[tokio::test]
async fn self_mode_writes_the_ca_into_every_webhook_of_the_configuration() {
    use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
    let server = server().await;
    let configurations: Api<MutatingWebhookConfiguration> = Api::all(server.client.clone());
    let webhook = |name: &str| {
        json!({ "name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
            "clientConfig": { "service": { "name": "elbow-webhook", "namespace": NAMESPACE, "path": "/mutate-v1-service" } },
            "rules": [{ "operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["services"] }] })
    };
    let configuration = serde_json::from_value(json!({ "metadata": { "name": "elbow" },
        "webhooks": [webhook("mservice.elbow.dev"), webhook("mservice-b.elbow.dev")] }))
    .unwrap();
    configurations.create(&PostParams::default(), &configuration).await.unwrap();

    let running = elbow::webhook::start(server.client.clone(), settings(CertificateMode::SelfManaged)).await.unwrap();
    let bundle = data(&secrets(&server).get(SECRET).await.unwrap())[CA_CRT].clone();
    eventually("every caBundle to be the Secret's CA", async || {
        let stored = configurations.get("elbow").await.ok()?;
        stored.webhooks?.iter().all(|w| w.client_config.ca_bundle.as_ref().is_some_and(|b| b.0 == bundle)).then_some(())
    })
    .await;
    assert!(call(&running, &bundle).await.unwrap());
    // Unchanged afterwards: later checks read the configuration and patch nothing.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let patches = server
        .audit
        .entries()
        .into_iter()
        .filter(|e| e.resource == "mutatingwebhookconfigurations" && e.verb == "patch")
        .count();
    assert_eq!(patches, 1);
}
