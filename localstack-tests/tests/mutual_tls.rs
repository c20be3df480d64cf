//! Mutual TLS against an AWS-compatible endpoint: the SDK adapter's DescribeTrustStores and the
//! listener's `MutualAuthentication`, and the `mutual-authentication` annotation of an Ingress end
//! to end (testkit API server, the real controllers, the endpoint through the SDK). The trust
//! store is made on the endpoint directly, as a user makes it; every check reads the endpoint back.
//!
//! moto 5 has neither trust stores nor listeners' mutual TLS; scripts/moto_server.py gives it
//! AWS's (without reading the CA bundle from S3).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_sdk_elasticloadbalancingv2::types::AdvertiseTrustStoreCaNamesEnum;
use elbow_cloud::*;
use elbow_localstack_tests::owned::load_balancer_arn;
use elbow_localstack_tests::{acm, cloud, sandbox_options, sdk_config, unique};
use elbow_playground::Sandbox;
use elbow_testkit::eventually;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

fn elbv2(config: &aws_config::SdkConfig) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(config)
}

/// A trust store made on the endpoint; returns its ARN.
async fn trust_store(name: &str) -> String {
    let answer = elbv2(&sdk_config().await)
        .create_trust_store()
        .name(name)
        .ca_certificates_bundle_s3_bucket("elbow-test-ca")
        .ca_certificates_bundle_s3_key("bundle.pem")
        .send()
        .await
        .expect("a trust store");
    answer.trust_stores()[0].trust_store_arn().expect("an ARN").to_string()
}

async fn delete_trust_store(arn: &str) {
    elbv2(&sdk_config().await).delete_trust_store().trust_store_arn(arn).send().await.expect("deleted");
}

/// The listener on 443's mutual TLS, read from the endpoint: (mode, trust store, ignore expiry,
/// advertise CA names).
async fn mutual_tls(lb: &str) -> Option<(String, Option<String>, Option<bool>, Option<bool>)> {
    let answer = elbv2(&sdk_config().await).describe_listeners().load_balancer_arn(lb).send().await.ok()?;
    let listener = answer.listeners().iter().find(|l| l.port() == Some(443))?;
    let m = listener.mutual_authentication()?;
    Some((
        m.mode()?.to_string(),
        m.trust_store_arn().map(str::to_string),
        m.ignore_client_certificate_expiry(),
        m.advertise_trust_store_ca_names().map(|a| *a == AdvertiseTrustStoreCaNamesEnum::On),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_adapter_finds_trust_stores_by_name() {
    let name = unique("ts");
    let arn = trust_store(&name).await;
    let cloud = cloud().await;
    let found = cloud.describe_trust_stores(std::slice::from_ref(&name)).await.expect("found");
    assert_eq!(found, [TrustStore { name: name.clone(), arn: arn.clone() }]);
    let error = cloud.describe_trust_stores(&[unique("nobody")]).await.expect_err("unknown");
    assert_eq!(error.kind, CloudErrorKind::NotFound, "{error}");
    delete_trust_store(&arn).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mutual_authentication_annotation_sets_changes_and_turns_off_mutual_tls() {
    let store_name = unique("clients");
    let store = trust_store(&store_name).await;
    let certificate = acm::certificate(&format!("{}.example.com", unique("mtls"))).await;
    let options = sandbox_options("ing-mtls").await;
    let sandbox = Sandbox::start(options).await.expect("sandbox");
    let ingresses = sandbox.web_service_and_class().await;
    let verify = json!([{ "port": 443, "mode": "verify", "trustStore": store_name }]).to_string();
    sandbox
        .web_ingress(json!({
            "alb.ingress.kubernetes.io/listen-ports": r#"[{"HTTPS": 443}]"#,
            "alb.ingress.kubernetes.io/certificate-arn": certificate,
            "alb.ingress.kubernetes.io/mutual-authentication": verify,
        }))
        .await;
    let cloud = cloud().await;
    let environment = &sandbox.environment;
    let lb = load_balancer_arn(&cloud, &environment.cluster, &environment.node_group).await;
    let reaches = async |wanted: (&str, Option<&str>, Option<bool>, Option<bool>), what: &str| {
        eventually(what, async || {
            let found = mutual_tls(&lb).await?;
            (found.0 == wanted.0 && found.1.as_deref() == wanted.1 && found.2 == wanted.2 && found.3 == wanted.3)
                .then_some(())
        })
        .await
    };
    reaches(("verify", Some(&store), Some(false), Some(false)), "verify with the named trust store's ARN").await;

    let annotate = |value: serde_json::Value| {
        Patch::Merge(
            json!({ "metadata": { "annotations": { "alb.ingress.kubernetes.io/mutual-authentication": value } } }),
        )
    };
    let options = json!([{ "port": 443, "mode": "verify", "trustStore": store, "ignoreClientCertificateExpiry": true,
        "advertiseTrustStoreCaNames": "on" }]);
    ingresses.patch("web", &PatchParams::default(), &annotate(json!(options.to_string()))).await.unwrap();
    reaches(("verify", Some(&store), Some(true), Some(true)), "the options, the trust store by ARN").await;

    let passthrough = json!([{ "port": 443, "mode": "passthrough" }]).to_string();
    ingresses.patch("web", &PatchParams::default(), &annotate(json!(passthrough))).await.unwrap();
    reaches(("passthrough", None, None, None), "passthrough").await;

    ingresses.patch("web", &PatchParams::default(), &annotate(serde_json::Value::Null)).await.unwrap();
    reaches(("off", None, None, None), "off once the annotation is gone").await;

    ingresses.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Ingress to be gone", async || ingresses.get_opt("web").await.ok()?.is_none().then_some(())).await;
    sandbox.stop().await;
    delete_trust_store(&store).await;
}
