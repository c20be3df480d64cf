//! ACM as certificate discovery reads it, and mutual TLS on listeners, with the refusals AWS
//! answers with.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: failing loudly is the point

use elbow_model::{LoadBalancerType, MutualAuthentication, MutualTlsMode, Protocol};

use super::*;

#[tokio::test]
async fn acm_lists_issued_certificates_and_refuses_unknown_or_malformed_arns() {
    let cloud = FakeCloud::new();
    let issued =
        cloud.seed_certificate(&["shop.example.com", "www.shop.example.com"], CertificateType::Imported, "ISSUED");
    let pending = cloud.seed_certificate(&["new.example.com"], CertificateType::AmazonIssued, "PENDING_VALIDATION");
    assert_eq!(cloud.acm_list_certificates().await.unwrap(), std::slice::from_ref(&issued), "issued ones only");
    let detail = cloud.acm_describe_certificate(&pending).await.expect("any status is described");
    assert_eq!((detail.domain_name.as_str(), detail.status.as_str()), ("new.example.com", "PENDING_VALIDATION"));
    let detail = cloud.acm_describe_certificate(&issued).await.unwrap();
    assert_eq!(detail.subject_alternative_names, ["shop.example.com", "www.shop.example.com"]);

    assert!(cloud.delete_certificate(&issued));
    let gone = cloud.acm_describe_certificate(&issued).await.expect_err("deleted");
    assert_eq!((gone.kind, gone.code.as_str()), (CloudErrorKind::NotFound, "ResourceNotFoundException"));
    let malformed = cloud.acm_describe_certificate("arn:aws:elasticloadbalancing:x").await.expect_err("not ACM's");
    assert_eq!((malformed.kind, malformed.code.as_str()), (CloudErrorKind::InvalidRequest, "InvalidArnException"));
}

#[tokio::test]
async fn trust_stores_are_described_by_name_and_an_unknown_name_fails_the_request() {
    let cloud = FakeCloud::new();
    let clients = cloud.seed_trust_store("clients");
    assert_eq!(cloud.seed_trust_store("clients"), clients, "one per name");
    let found = cloud.describe_trust_stores(&["clients".into()]).await.unwrap();
    assert_eq!(found, [clients]);
    let error = cloud.describe_trust_stores(&["clients".into(), "nobody".into()]).await.expect_err("unknown");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::NotFound, "TrustStoreNotFound"));
}

#[tokio::test]
async fn mutual_tls_is_for_https_listeners_and_verify_alone_takes_a_known_trust_store() {
    let cloud = network();
    let store = cloud.seed_trust_store("clients");
    let lb = cloud
        .create_load_balancer(CreateLoadBalancer { lb_type: LoadBalancerType::Application, ..lb_input("shop") })
        .await
        .unwrap();
    let tg = cloud.create_target_group(tg_input("shop-80", 80)).await.unwrap();
    let https = |port: u16, mutual: MutualAuthentication| CreateListener {
        protocol: Protocol::Https,
        certificates: vec!["arn:aws:acm:us-east-1:123456789012:certificate/1".into()],
        ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
        mutual_authentication: Some(mutual),
        ..listener_input(&lb.arn, port, &tg.arn)
    };
    let verify = |store: &str| MutualAuthentication {
        mode: MutualTlsMode::Verify,
        trust_store: Some(store.into()),
        ..MutualAuthentication::off()
    };
    let mode = |mode| MutualAuthentication { mode, ..MutualAuthentication::off() };
    for (port, mutual, code) in [
        (1, mode(MutualTlsMode::Verify), "ValidationError"),
        (2, verify("arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/other/1"), "TrustStoreNotFound"),
        (
            3,
            MutualAuthentication { trust_store: Some(store.arn.clone()), ..mode(MutualTlsMode::Off) },
            "ValidationError",
        ),
        (
            4,
            MutualAuthentication { ignore_client_certificate_expiry: true, ..mode(MutualTlsMode::Passthrough) },
            "ValidationError",
        ),
    ] {
        let error = cloud.create_listener(https(port, mutual.clone())).await.expect_err(&format!("{mutual:?}"));
        assert_eq!(error.code, code, "{mutual:?}: {error}");
    }
    let http = CreateListener {
        protocol: Protocol::Http,
        mutual_authentication: Some(mode(MutualTlsMode::Passthrough)),
        ..listener_input(&lb.arn, 80, &tg.arn)
    };
    assert_eq!(cloud.create_listener(http).await.expect_err("HTTP").code, "ValidationError");
    assert!(cloud.listeners().is_empty(), "nothing was created");

    let listener = cloud.create_listener(https(443, verify(&store.arn))).await.expect("verify");
    assert_eq!(listener.mutual_authentication, Some(verify(&store.arn)));
    // Left out of a ModifyListener, mutual TLS stays as it was, as on AWS.
    let modify = ModifyListener {
        arn: listener.arn.clone(),
        port: 443,
        protocol: Protocol::Https,
        certificates: listener.certificates.clone(),
        ssl_policy: listener.ssl_policy.clone(),
        alpn_policy: None,
        mutual_authentication: None,
        default_actions: listener.default_actions.clone(),
    };
    cloud.modify_listener(modify.clone()).await.unwrap();
    assert_eq!(cloud.listeners()[0].mutual_authentication, Some(verify(&store.arn)));
    cloud
        .modify_listener(ModifyListener { mutual_authentication: Some(mode(MutualTlsMode::Off)), ..modify.clone() })
        .await
        .unwrap();
    assert_eq!(cloud.listeners()[0].mutual_authentication, Some(mode(MutualTlsMode::Off)));
    // A listener that turns HTTP has no mutual TLS any more.
    cloud
        .modify_listener(ModifyListener { mutual_authentication: Some(verify(&store.arn)), ..modify.clone() })
        .await
        .unwrap();
    let to_http = ModifyListener { protocol: Protocol::Http, certificates: vec![], ssl_policy: None, ..modify };
    cloud.modify_listener(to_http).await.expect("plain HTTP");
    assert_eq!(cloud.listeners()[0].mutual_authentication, None);
}
