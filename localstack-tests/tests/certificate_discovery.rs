//! Certificate discovery against an AWS-compatible endpoint: the SDK adapter's ListCertificates
//! and DescribeCertificate, and an Ingress that names no certificate getting the ones ACM holds for
//! its hosts, end to end (testkit API server, the real controllers, the endpoint through the SDK).
//! The certificates are imported into ACM on the endpoint directly, as a user imports them; they
//! are ECDSA P-256 ones, which ACM lists only when asked for key types other than RSA 2048.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_sdk_acm::primitives::Blob;
use elbow_cloud::*;
use elbow_localstack_tests::owned::load_balancer_arn;
use elbow_localstack_tests::{cloud, sandbox_options, sdk_config, unique};
use elbow_playground::Sandbox;
use elbow_testkit::eventually;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

/// Imports a certificate for `names` (the first is its common name) into ACM on the endpoint;
/// returns its ARN.
async fn import(names: &[&str]) -> String {
    let now = chrono::Utc::now();
    let authority = elbow_certs::x509::Authority::generate(now).expect("a CA");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let issued = authority.issue_serving(&names, now).expect("a certificate");
    let client = aws_sdk_acm::Client::new(&sdk_config().await);
    let answer = client
        .import_certificate()
        .certificate(Blob::new(elbow_certs::pem::encode("CERTIFICATE", &issued.certificate)))
        .private_key(Blob::new(elbow_certs::pem::encode("PRIVATE KEY", &issued.private_key)))
        .send()
        .await
        .expect("imported");
    answer.certificate_arn().expect("an ARN").to_string()
}

async fn delete(arn: &str) {
    let client = aws_sdk_acm::Client::new(&sdk_config().await);
    client.delete_certificate().certificate_arn(arn).send().await.expect("deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_adapter_lists_issued_certificates_of_every_key_type_and_describes_their_names() {
    let domain = format!("{}.example.com", unique("acm"));
    let wildcard = import(&[&format!("*.{domain}"), &domain]).await;
    let exact = import(&[&format!("shop.{domain}")]).await;
    // Requested, not imported: pending validation, so not listed.
    let client = aws_sdk_acm::Client::new(&sdk_config().await);
    let pending = client
        .request_certificate()
        .domain_name(format!("pending.{domain}"))
        .send()
        .await
        .expect("requested")
        .certificate_arn()
        .expect("an ARN")
        .to_string();

    let cloud = cloud().await;
    let listed = cloud.acm_list_certificates().await.expect("listed");
    assert!(listed.contains(&wildcard) && listed.contains(&exact), "{listed:?}");
    assert!(!listed.contains(&pending), "only issued certificates: {listed:?}");

    let detail = cloud.acm_describe_certificate(&wildcard).await.expect("described");
    assert_eq!(detail.certificate_type, CertificateType::Imported);
    assert_eq!(detail.status, "ISSUED");
    let mut names = detail.subject_alternative_names.clone();
    names.sort();
    assert_eq!(names, [format!("*.{domain}"), domain.clone()]);

    let unknown = wildcard.replace(|c: char| c.is_ascii_hexdigit() && !c.is_ascii_alphabetic(), "0");
    let error = cloud.acm_describe_certificate(&unknown).await.expect_err("no such certificate");
    assert_eq!(error.kind, CloudErrorKind::NotFound, "{error}");
    for arn in [&wildcard, &exact, &pending] {
        delete(arn).await;
    }
}

fn ingress(host: &str, tls_host: &str) -> Ingress {
    serde_json::from_value(json!({
        "metadata": { "name": "web", "annotations": { "alb.ingress.kubernetes.io/listen-ports": r#"[{"HTTPS": 443}]"# } },
        "spec": {
            "ingressClassName": "elbow",
            "tls": [{ "hosts": [tls_host] }],
            "rules": [{ "host": host, "http": { "paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": { "service": { "name": "web", "port": { "number": 80 } } }
            }] } }]
        }
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ingress_without_certificate_arn_gets_the_certificates_acm_holds_for_its_hosts() {
    let domain = format!("{}.example.com", unique("disc"));
    let wildcard = import(&[&format!("*.{domain}")]).await;
    let api = import(&[&format!("api.{domain}")]).await;
    let options = sandbox_options("ing-acm").await;
    let sandbox = Sandbox::start(options).await.expect("sandbox");
    let ingresses = sandbox.web_service_and_class().await;
    // The rule's host matches the wildcard; the TLS host matches both.
    ingresses
        .create(&PostParams::default(), &ingress(&format!("www.{domain}"), &format!("api.{domain}")))
        .await
        .unwrap();

    let cloud = cloud().await;
    let environment = &sandbox.environment;
    let lb = load_balancer_arn(&cloud, &environment.cluster, &environment.node_group).await;
    let listener_certificates = async || {
        let listeners = cloud.describe_listeners(&lb).await.ok()?;
        let https = listeners.into_iter().find(|l| l.port == 443 && l.protocol == elbow_model::Protocol::Https)?;
        let mut all: Vec<String> = cloud
            .describe_listener_certificates(&https.arn)
            .await
            .ok()?
            .into_iter()
            .map(|c| c.arn)
            .chain(https.default_certificate().map(str::to_string))
            .collect();
        all.sort();
        all.dedup();
        Some((https.default_certificate().map(str::to_string), all))
    };
    let mut both = vec![wildcard.clone(), api.clone()];
    both.sort();
    let (default, all) = eventually("an HTTPS listener with both certificates", async || {
        listener_certificates().await.filter(|(_, all)| *all == both)
    })
    .await;
    assert_eq!(default.as_ref(), both.first(), "the first ARN is the default, as in LBC");
    assert_eq!(all, both);

    // A host no certificate serves (a wildcard stands for one label only): a Warning naming it,
    // and the load balancer keeps what it had.
    let deeper = format!("a.b.{domain}");
    let patch = Patch::Merge(json!({ "spec": { "tls": [{ "hosts": [deeper.clone()] }] } }));
    ingresses.patch("web", &PatchParams::default(), &patch).await.unwrap();
    let events: Api<Event> = Api::namespaced(sandbox.client(), "default");
    let note = eventually("a Warning naming the host", async || {
        let listed = events.list(&Default::default()).await.ok()?;
        listed
            .items
            .into_iter()
            .filter(|e| e.type_.as_deref() == Some("Warning"))
            .filter_map(|e| e.note)
            .find(|note| note.contains(&deeper))
    })
    .await;
    assert!(note.contains("certificate-arn"), "says what to do: {note}");
    assert_eq!(listener_certificates().await.map(|(_, all)| all), Some(both), "unchanged");

    ingresses.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Ingress to be gone", async || ingresses.get_opt("web").await.ok()?.is_none().then_some(())).await;
    sandbox.stop().await;
    delete(&wildcard).await;
    delete(&api).await;
}
