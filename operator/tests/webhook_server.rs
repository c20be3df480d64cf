//! The admission webhook over real HTTPS on 127.0.0.1: a self-issued certificate verified by
//! rustls (kube's own client, trusting only the CA and checking the Service's DNS name) and by Go's
//! crypto/x509 (the real kubectl, as kube-apiserver verifies webhooks), AdmissionReviews answered
//! as kube-apiserver expects, a bad body refused with 400, and a renewed certificate served
//! without a restart.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use elbow::webhook::material::{self, CA_CRT, SecretData};
use elbow::webhook::pem;
use elbow::webhook::resolver::ReloadableCertificate;
use elbow::webhook::review::ClassPolicy;
use elbow::webhook::server::WebhookServer;
use serde_json::{Value, json};

const SERVICE_DNS: &str = "elbow-webhook.elbow-system.svc";

fn names() -> Vec<String> {
    vec![SERVICE_DNS.to_string(), format!("{SERVICE_DNS}.cluster.local")]
}

/// A fresh self-managed Secret's data: a new CA and a serving certificate for the Service.
fn issue() -> SecretData {
    material::renew(None, &names(), Utc::now()).unwrap()
}

async fn serve(data: &SecretData, policy: ClassPolicy) -> (WebhookServer, Arc<ReloadableCertificate>) {
    let certificate = Arc::new(ReloadableCertificate::new());
    certificate.set(material::load_serving(data).unwrap().certified);
    let server = WebhookServer::start("127.0.0.1:0".parse().unwrap(), certificate.clone(), policy).await.unwrap();
    (server, certificate)
}

fn policy() -> ClassPolicy {
    ClassPolicy { load_balancer_class: "elbow.dev/nlb".into(), set_class: true, take_over_lbc_services: false }
}

/// An HTTPS client that trusts only the CAs in `ca_bundle` and expects the certificate to name
/// `server_name` (the connection goes to 127.0.0.1, as kube-apiserver's goes to the Service's
/// cluster IP).
fn https_client(address: SocketAddr, ca_bundle: &[u8], server_name: &str) -> kube::Client {
    let mut config = kube::Config::new(format!("https://{address}").parse().unwrap());
    config.root_cert = Some(pem::certificates(ca_bundle).unwrap().into_iter().map(|c| c.as_ref().to_vec()).collect());
    config.tls_server_name = Some(server_name.to_string());
    kube::Client::try_from(config).unwrap()
}

fn review(spec: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "b0a2e6f1-1c1d-4e55-9a53-2f7d8c1e0a42",
            "kind": { "group": "", "version": "v1", "kind": "Service" },
            "resource": { "group": "", "version": "v1", "resource": "services" },
            "requestKind": { "group": "", "version": "v1", "kind": "Service" },
            "requestResource": { "group": "", "version": "v1", "resource": "services" },
            "name": "web",
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": { "username": "alice", "groups": ["system:authenticated"] },
            "object": {
                "apiVersion": "v1", "kind": "Service",
                "metadata": { "name": "web", "namespace": "shop" },
                "spec": spec
            },
            "oldObject": null,
            "dryRun": false,
            "options": { "apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions" }
        }
    })
}

async fn post(client: &kube::Client, body: Vec<u8>) -> Result<Value, kube::Error> {
    let request =
        http::Request::post("/mutate-v1-service").header("content-type", "application/json").body(body).unwrap();
    client.request::<Value>(request).await
}

/// The JSON patch of an answer, decoded.
fn patch_of(answer: &Value) -> Option<Value> {
    let encoded = answer["response"]["patch"].as_str()?;
    Some(serde_json::from_slice(&STANDARD.decode(encoded).unwrap()).unwrap())
}

#[tokio::test]
async fn a_class_less_load_balancer_service_is_given_the_class_over_https() {
    let data = issue();
    let (server, _certificate) = serve(&data, policy()).await;
    let client = https_client(server.local_addr(), &data[CA_CRT], SERVICE_DNS);

    let answer = post(&client, serde_json::to_vec(&review(json!({ "type": "LoadBalancer" }))).unwrap()).await.unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(answer["response"]["uid"], "b0a2e6f1-1c1d-4e55-9a53-2f7d8c1e0a42");
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(answer["response"]["patchType"], "JSONPatch");
    assert_eq!(
        patch_of(&answer),
        Some(json!([{ "op": "add", "path": "/spec/loadBalancerClass", "value": "elbow.dev/nlb" }]))
    );

    // A Service with a class, and one of another type, pass unchanged.
    for spec in
        [json!({ "type": "LoadBalancer", "loadBalancerClass": "service.k8s.aws/nlb" }), json!({ "type": "ClusterIP" })]
    {
        let answer = post(&client, serde_json::to_vec(&review(spec.clone())).unwrap()).await.unwrap();
        assert_eq!(answer["response"]["allowed"], true, "{spec}");
        assert_eq!(patch_of(&answer), None, "{spec}");
        assert!(answer["response"].get("patchType").is_none(), "{spec}");
    }

    // The longer DNS name is in the certificate too.
    let long = https_client(server.local_addr(), &data[CA_CRT], &format!("{SERVICE_DNS}.cluster.local"));
    let answer = post(&long, serde_json::to_vec(&review(json!({ "type": "LoadBalancer" }))).unwrap()).await.unwrap();
    assert!(patch_of(&answer).is_some());
}

#[tokio::test]
async fn with_the_mutation_off_every_service_passes_unchanged() {
    let data = issue();
    let (server, _certificate) = serve(&data, ClassPolicy { set_class: false, ..policy() }).await;
    let client = https_client(server.local_addr(), &data[CA_CRT], SERVICE_DNS);
    let answer = post(&client, serde_json::to_vec(&review(json!({ "type": "LoadBalancer" }))).unwrap()).await.unwrap();
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(patch_of(&answer), None);
}

#[tokio::test]
async fn a_body_that_is_no_admission_review_is_a_bad_request_and_never_a_denial() {
    let data = issue();
    let (server, _certificate) = serve(&data, policy()).await;
    let client = https_client(server.local_addr(), &data[CA_CRT], SERVICE_DNS);
    for body in [
        b"{ not json".to_vec(),
        br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}"#.to_vec(),
    ] {
        match post(&client, body).await {
            Err(kube::Error::Api(status)) => assert_eq!(status.code, 400, "{status:?}"),
            other => panic!("expected 400, got {other:?}"),
        }
    }
    // Other paths and methods are not the webhook.
    let get = http::Request::get("/mutate-v1-service").body(Vec::new()).unwrap();
    match client.request_text(get).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 405, "{status:?}"),
        other => panic!("expected 405, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_refuses_the_certificate_for_another_name_or_without_the_ca() {
    let data = issue();
    let (server, _certificate) = serve(&data, policy()).await;
    let body = serde_json::to_vec(&review(json!({ "type": "LoadBalancer" }))).unwrap();
    let wrong_name = https_client(server.local_addr(), &data[CA_CRT], "elbow-webhook.other-namespace.svc");
    assert!(post(&wrong_name, body.clone()).await.is_err(), "the certificate names only the Service");
    let other_ca = issue();
    let wrong_ca = https_client(server.local_addr(), &other_ca[CA_CRT], SERVICE_DNS);
    assert!(post(&wrong_ca, body).await.is_err(), "only the CA that signed it is trusted");
}

#[tokio::test]
async fn a_renewed_certificate_is_served_from_the_next_connection_without_a_restart() {
    let data = issue();
    let (server, certificate) = serve(&data, policy()).await;
    let body = serde_json::to_vec(&review(json!({ "type": "LoadBalancer" }))).unwrap();
    let before = https_client(server.local_addr(), &data[CA_CRT], SERVICE_DNS);
    post(&before, body.clone()).await.unwrap();

    // A new CA (as after a CA replacement) makes the difference visible to a client.
    let renewed = issue();
    certificate.set(material::load_serving(&renewed).unwrap().certified);
    let after = https_client(server.local_addr(), &renewed[CA_CRT], SERVICE_DNS);
    post(&after, body.clone()).await.unwrap();
    let stale = https_client(server.local_addr(), &data[CA_CRT], SERVICE_DNS);
    assert!(post(&stale, body).await.is_err(), "the old certificate is no longer served");
}

/// kubectl is a Go program: its TLS is crypto/x509's, the same kube-apiserver verifies webhooks
/// with, and stricter than rustls in places (it wants the CA marked as one, a positive serial,
/// the name in subjectAltName). `kubectl create --raw` POSTs the review as kube-apiserver does.
#[tokio::test]
async fn go_s_tls_stack_accepts_the_self_issued_certificate_and_the_answer() {
    let data = issue();
    let (server, _certificate) = serve(&data, policy()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, &data[CA_CRT]).unwrap();
    // An empty kubeconfig: every connection setting comes from the flags.
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\n").unwrap();
    let review_file = dir.path().join("review.json");
    std::fs::write(&review_file, serde_json::to_vec(&review(json!({ "type": "LoadBalancer" }))).unwrap()).unwrap();
    let kubectl = elbow_testkit::tools::kubectl_path();
    let address = server.local_addr();
    let run = move |server_name: &str| {
        std::process::Command::new(&kubectl)
            // A token, so that kubectl does not prompt for a user name; the webhook ignores it.
            .args(["create", "--raw", "/mutate-v1-service", "--token=unused", "-f"])
            .arg(&review_file)
            .arg(format!("--server=https://{address}"))
            .arg(format!("--certificate-authority={}", ca.display()))
            .arg(format!("--tls-server-name={server_name}"))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .env_remove("KUBECONFIG")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let output =
        tokio::task::spawn_blocking(move || (run(SERVICE_DNS), run("elbow-webhook.elsewhere.svc"))).await.unwrap();
    let (good, bad) = output;
    assert!(good.status.success(), "kubectl refused: {}", String::from_utf8_lossy(&good.stderr));
    let answer: Value = serde_json::from_slice(&good.stdout).unwrap();
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(patch_of(&answer).unwrap()[0]["value"], "elbow.dev/nlb");
    let refused = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && refused.contains("x509"), "another name must fail verification: {refused}");
}
