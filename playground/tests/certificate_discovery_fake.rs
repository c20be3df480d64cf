//! Certificate discovery through the real controllers and the in-memory cloud, counted: many
//! Ingresses that name no certificate cost ACM one listing and one description per certificate,
//! not one of each per Ingress, and Ingresses that name theirs cost ACM nothing.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_cloud::{Api as CloudApi, CertificateType};
use elbow_playground::{Aws, Sandbox, SandboxOptions};
use elbow_testkit::{create_from_json, eventually};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::Api;
use serde_json::json;

const INGRESSES: usize = 20;

#[tokio::test(flavor = "multi_thread")]
async fn twenty_discovering_ingresses_cost_acm_one_listing_and_one_description_per_certificate() {
    let sandbox = Sandbox::start(SandboxOptions::new("e2e-acm", Aws::Fake)).await.unwrap();
    let cloud = sandbox.fake().unwrap();
    let wildcard = cloud.seed_certificate(&["*.shop.example.com"], CertificateType::AmazonIssued, "ISSUED");
    for other in ["api.example.org", "old.example.net", "*.example.io"] {
        cloud.seed_certificate(&[other], CertificateType::Imported, "ISSUED");
    }
    let client = sandbox.client();
    sandbox.web_service_and_class().await;
    let ingresses = Api::<Ingress>::namespaced(client.clone(), "default");
    for i in 0..INGRESSES {
        create_from_json(
            &ingresses,
            json!({
                "metadata": { "name": format!("web-{i}"),
                    "annotations": { "alb.ingress.kubernetes.io/listen-ports": r#"[{"HTTPS": 443}]"# } },
                "spec": { "ingressClassName": "elbow", "rules": [{ "host": format!("w{i}.shop.example.com"), "http": { "paths": [{
                    "path": "/", "pathType": "Prefix",
                    "backend": { "service": { "name": "web", "port": { "number": 80 } } }
                }] } }] }
            }),
        )
        .await;
    }
    // One Ingress that names its certificate: it needs no discovery.
    create_from_json(
        &ingresses,
        json!({
            "metadata": { "name": "named", "annotations": {
                "alb.ingress.kubernetes.io/listen-ports": r#"[{"HTTPS": 443}]"#,
                "alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:us-east-1:123456789012:certificate/named" } },
            "spec": { "ingressClassName": "elbow", "rules": [{ "host": "named.example.com", "http": { "paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": { "service": { "name": "web", "port": { "number": 80 } } }
            }] } }] }
        }),
    )
    .await;

    eventually("every Ingress's HTTPS listener", async || {
        let https: Vec<_> = cloud.listeners().into_iter().filter(|l| l.port == 443).collect();
        (https.len() == INGRESSES + 1).then_some(https)
    })
    .await;
    let listeners = cloud.listeners();
    let discovered = listeners.iter().filter(|l| l.certificates.first() == Some(&wildcard)).count();
    assert_eq!(discovered, INGRESSES, "each discovering Ingress serves the wildcard certificate");
    let calls = cloud.counter().snapshot();
    let count = |api| calls.get(&api).copied().unwrap_or_default();
    let (lists, describes) = (count(CloudApi::ListCertificates), count(CloudApi::DescribeCertificate));
    println!(
        "ACM calls for {INGRESSES} discovering Ingresses: {lists} ListCertificates, {describes} DescribeCertificate"
    );
    // Without the caches: one listing and four descriptions per Ingress, 100 calls. A reconcile
    // that runs after the minute lists again, but describes nothing it knows.
    assert!(lists <= 2, "{lists} listings");
    assert_eq!(describes, 4, "each certificate described once");
    sandbox.stop().await;
}
