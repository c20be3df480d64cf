//! TLS of application load balancers beyond named certificates: certificate discovery's view of
//! ACM, cached so that many Ingresses do not each list and describe every certificate, and mutual
//! TLS on HTTPS listeners, with trust stores given by name looked up before planning.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: failing loudly is the point

use std::time::Duration;

use elbow_cloud::{Api, CertificateType, CloudErrorKind};
use elbow_deploy::DeployError;
use elbow_deploy::certificates::{CERTIFICATE_LIST_TTL, IMPORTED_NAMES_TTL, TRUST_STORE_TTL};
use elbow_fake::{Failure, FakeCloud};
use elbow_model::{MutualAuthentication, MutualTlsMode, Protocol, Stack};

mod support;

use support::*;

fn calls(cloud: &FakeCloud, api: Api) -> u64 {
    cloud.counter().snapshot().get(&api).copied().unwrap_or_default()
}

fn acm_calls(cloud: &FakeCloud) -> (u64, u64) {
    (calls(cloud, Api::ListCertificates), calls(cloud, Api::DescribeCertificate))
}

#[tokio::test(start_paused = true)]
async fn many_ingresses_cost_one_listing_a_minute_and_each_certificate_one_description() {
    let cloud = cloud();
    let shop = cloud.seed_certificate(&["shop.example.com"], CertificateType::AmazonIssued, "ISSUED");
    let wild = cloud.seed_certificate(&["*.example.com", "example.com"], CertificateType::Private, "ISSUED");
    cloud.seed_certificate(&["old.example.com"], CertificateType::AmazonIssued, "EXPIRED");
    let deployer = std::sync::Arc::new(deployer(&cloud));

    // 50 Ingresses reconciled at once (a full resync after a start): one listing, one
    // description per issued certificate, instead of 50 × (1 + 2) calls.
    let mut lookups = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let deployer = deployer.clone();
        lookups.spawn(async move { deployer.acm_certificates().await });
    }
    let found: Vec<_> = lookups.join_all().await;
    assert!(found.iter().all(|f| f.as_ref().is_ok_and(|c| c.len() == 2)), "{found:?}");
    let certificates = found[0].as_ref().unwrap();
    assert!(certificates.iter().any(|c| c.arn == shop && c.domains == ["shop.example.com"]));
    assert!(certificates.iter().any(|c| c.arn == wild && c.serves("www.example.com") && c.serves("example.com")));
    assert_eq!(acm_calls(&cloud), (1, 2), "the expired certificate is not listed, nor described");

    // Within the minute: no call at all.
    tokio::time::advance(CERTIFICATE_LIST_TTL - Duration::from_secs(1)).await;
    deployer.acm_certificates().await.expect("cached");
    assert_eq!(acm_calls(&cloud), (1, 2));

    // After it, the list is read again; the names of ACM-issued and private certificates are kept
    // (10 hours), so a new certificate is the only one described.
    let api = cloud.seed_certificate(&["api.example.org"], CertificateType::AmazonIssued, "ISSUED");
    tokio::time::advance(Duration::from_secs(2)).await;
    let found = deployer.acm_certificates().await.expect("listed again");
    assert!(found.iter().any(|c| c.arn == api));
    assert_eq!(acm_calls(&cloud), (2, 3));
}

#[tokio::test(start_paused = true)]
async fn imported_certificates_are_described_again_after_five_minutes_and_deleted_ones_dropped() {
    let cloud = cloud();
    let imported = cloud.seed_certificate(&["old.example.com"], CertificateType::Imported, "ISSUED");
    let deployer = deployer(&cloud);
    deployer.acm_certificates().await.expect("listed");

    // Imported again with another name: seen once its names expire, not before.
    assert!(cloud.reimport_certificate(&imported, &["new.example.com"]));
    tokio::time::advance(IMPORTED_NAMES_TTL - Duration::from_secs(1)).await;
    let found = deployer.acm_certificates().await.expect("listed");
    assert!(found[0].serves("old.example.com"), "{found:?}");
    tokio::time::advance(Duration::from_secs(2)).await;
    let found = deployer.acm_certificates().await.expect("described again");
    assert!(found[0].serves("new.example.com") && !found[0].serves("old.example.com"), "{found:?}");
    assert_eq!(acm_calls(&cloud), (2, 2), "the second listing was within the minute of the third lookup");

    // Deleted between the listing and its description: left out. (The description fails once,
    // so that the next lookup reads the cached listing, which still has it.)
    let other = cloud.seed_certificate(&["x.example.com"], CertificateType::AmazonIssued, "ISSUED");
    tokio::time::advance(IMPORTED_NAMES_TTL).await;
    cloud.inject(Failure::on(Api::DescribeCertificate, CloudErrorKind::Throttled));
    deployer.acm_certificates().await.expect_err("throttled");
    assert!(cloud.delete_certificate(&imported));
    let found = deployer.acm_certificates().await.expect("the listing without the deleted one");
    assert_eq!(found.iter().map(|c| c.arn.as_str()).collect::<Vec<_>>(), [other.as_str()]);
}

#[tokio::test]
async fn an_acm_failure_is_a_deploy_error_that_is_retried() {
    let cloud = cloud();
    cloud.seed_certificate(&["shop.example.com"], CertificateType::AmazonIssued, "ISSUED");
    cloud.inject(Failure::on(Api::ListCertificates, CloudErrorKind::AccessDenied));
    let error = deployer(&cloud).acm_certificates().await.expect_err("denied");
    assert!(matches!(error, DeployError::Certificates(_)), "{error}");
    assert!(error.to_string().contains("ACM certificates"), "{error}");
}

/// The Ingress-shaped stack with one HTTPS listener on 443 and the given mutual TLS.
fn mtls_stack(mutual: Option<MutualAuthentication>) -> Stack {
    let mut stack = alb_stack("shop", &[30080], &[("/api/*", 0)]);
    let listener = &mut stack.listeners[0];
    listener.port = 443;
    listener.protocol = Protocol::Https;
    listener.ssl_policy = Some("ELBSecurityPolicy-2016-08".into());
    listener.certificates = vec!["arn:aws:acm:us-east-1:123456789012:certificate/a".into()];
    listener.mutual_authentication = mutual;
    stack
}

fn verify(store: &str) -> MutualAuthentication {
    MutualAuthentication { mode: MutualTlsMode::Verify, trust_store: Some(store.into()), ..MutualAuthentication::off() }
}

fn reported(cloud: &FakeCloud) -> Option<MutualAuthentication> {
    cloud.listeners().into_iter().find(|l| l.port == 443).expect("the listener").mutual_authentication
}

#[tokio::test(start_paused = true)]
async fn mutual_tls_is_set_with_the_listener_changed_in_place_and_turned_off_when_dropped() {
    let cloud = cloud();
    let store = cloud.seed_trust_store("clients");
    let deployer = deployer(&cloud);

    // By name: looked up once, sent with CreateListener as its ARN.
    deployer.deploy(&mtls_stack(Some(verify("clients")))).await.expect("created");
    assert_eq!(reported(&cloud), Some(verify(&store.arn)));
    assert_eq!((calls(&cloud, Api::DescribeTrustStores), calls(&cloud, Api::ModifyListener)), (1, 0));

    // A restarted deployer compares with the cloud: the name resolves to the ARN the listener has.
    cloud.counter().reset();
    let restarted = support::deployer(&cloud);
    restarted.deploy(&mtls_stack(Some(verify("clients")))).await.expect("unchanged");
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());

    // Its options and mode change in place, with one ModifyListener each.
    let mut expiring = verify("clients");
    expiring.ignore_client_certificate_expiry = true;
    expiring.advertise_trust_store_ca_names = true;
    cloud.counter().reset();
    restarted.deploy(&mtls_stack(Some(expiring))).await.expect("options");
    let mut wanted = verify(&store.arn);
    wanted.ignore_client_certificate_expiry = true;
    wanted.advertise_trust_store_ca_names = true;
    assert_eq!(reported(&cloud), Some(wanted));
    assert_eq!((calls(&cloud, Api::ModifyListener), cloud.counter().mutating()), (1, 1));
    assert_eq!(calls(&cloud, Api::DescribeTrustStores), 0, "the name's ARN is cached for {TRUST_STORE_TTL:?}");

    let passthrough = MutualAuthentication { mode: MutualTlsMode::Passthrough, ..MutualAuthentication::off() };
    restarted.deploy(&mtls_stack(Some(passthrough.clone()))).await.expect("passthrough");
    assert_eq!(reported(&cloud), Some(passthrough));

    // No longer asked for: turned off, as a listener without mutual TLS is.
    cloud.counter().reset();
    restarted.deploy(&mtls_stack(None)).await.expect("dropped");
    assert_eq!(reported(&cloud).map(|m| m.mode), Some(MutualTlsMode::Off));
    assert_eq!(cloud.counter().mutating(), 1);
    cloud.counter().reset();
    support::deployer(&cloud).deploy(&mtls_stack(None)).await.expect("off stays off");
    assert_eq!(cloud.counter().mutating(), 0, "off and none are the same: {:?}", cloud.counter().snapshot());
}

#[tokio::test]
async fn an_unknown_trust_store_name_is_an_error_that_changes_nothing() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    let error = deployer.deploy(&mtls_stack(Some(verify("nobody")))).await.expect_err("unknown");
    assert!(matches!(error, DeployError::TrustStoreNotFound { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("nobody") && message.contains("mutual-authentication"), "{message}");
    assert!(!error.is_retryable());
    assert_eq!(cloud.counter().mutating(), 0, "nothing was created");
    assert!(cloud.load_balancers().is_empty());

    // Once the trust store exists, the same stack deploys.
    let store = cloud.seed_trust_store("nobody");
    deployer.deploy(&mtls_stack(Some(verify("nobody")))).await.expect("now it exists");
    assert_eq!(reported(&cloud), Some(verify(&store.arn)));
}
