//! Listener certificates: one default certificate per listener, a certificate list changed one
//! certificate per request, and the refusals AWS answers with.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: failing loudly is the point

use elbow_model::{AlpnPolicy, LoadBalancerType, Protocol};

use super::*;

fn cert(n: u32) -> String {
    format!("arn:aws:acm:us-east-1:123456789012:certificate/{n}")
}

/// An application load balancer with an HTTPS listener on `port` whose default certificate is
/// `cert(1)`; returns the load balancer's and the listener's ARNs.
async fn https_listener(cloud: &FakeCloud, port: u16) -> (String, String) {
    let lb = match cloud.describe_load_balancers(LoadBalancerFilter::Names(vec!["shop".into()])).await {
        Ok(found) if !found.is_empty() => found[0].clone(),
        _ => cloud
            .create_load_balancer(CreateLoadBalancer { lb_type: LoadBalancerType::Application, ..lb_input("shop") })
            .await
            .expect("alb"),
    };
    let tg = match cloud.describe_target_groups(TargetGroupFilter::Names(vec!["shop-80".into()])).await {
        Ok(found) if !found.is_empty() => found[0].clone(),
        _ => cloud.create_target_group(tg_input("shop-80", 80)).await.expect("tg"),
    };
    let listener = cloud
        .create_listener(CreateListener {
            protocol: Protocol::Https,
            certificates: vec![cert(1)],
            ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
            alpn_policy: None,
            mutual_authentication: None,
            ..listener_input(&lb.arn, port, &tg.arn)
        })
        .await
        .expect("an HTTPS listener with one certificate");
    (lb.arn, listener.arn)
}

async fn described(cloud: &FakeCloud, listener: &str) -> Vec<(String, bool)> {
    let certificates = cloud.describe_listener_certificates(listener).await.expect("described");
    certificates.into_iter().map(|c| (c.arn, c.is_default)).collect()
}

#[tokio::test]
async fn create_and_modify_listener_take_exactly_one_default_certificate() {
    let cloud = network();
    let (lb, listener) = https_listener(&cloud, 443).await;
    let listeners = cloud.describe_listeners(&lb).await.expect("listeners");
    let tg = match &listeners[0].default_actions[0] {
        Action::Forward { target_groups, .. } => target_groups[0].target_group.clone(),
        other => panic!("{other:?}"),
    };
    let two = CreateListener {
        protocol: Protocol::Https,
        certificates: vec![cert(1), cert(2)],
        ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
        alpn_policy: None,
        mutual_authentication: None,
        ..listener_input(&lb, 8443, &tg)
    };
    let error = cloud.create_listener(two).await.expect_err("two certificates in CreateListener");
    assert_eq!(error.kind, CloudErrorKind::LimitExceeded);
    assert_eq!(error.code, "TooManyCertificates");
    assert_eq!(error.message, "Up to '1' certificate ARNs can be specified, but '2' were specified");
    assert_eq!(cloud.describe_listeners(&lb).await.expect("listeners").len(), 1, "nothing created");

    let modify = ModifyListener {
        arn: listener.clone(),
        port: 443,
        protocol: Protocol::Https,
        certificates: vec![cert(2), cert(3), cert(4)],
        ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
        alpn_policy: None,
        mutual_authentication: None,
        default_actions: vec![Action::forward(tg.clone())],
    };
    let error = cloud.modify_listener(modify.clone()).await.expect_err("three certificates in ModifyListener");
    assert_eq!(
        (error.code.as_str(), error.message.as_str()),
        ("TooManyCertificates", "Up to '1' certificate ARNs can be specified, but '3' were specified")
    );
    cloud
        .modify_listener(ModifyListener { certificates: vec![cert(2)], ..modify })
        .await
        .expect("a new default certificate");
    assert_eq!(described(&cloud, &listener).await, [(cert(2), true)]);

    let http = CreateListener { protocol: Protocol::Http, certificates: vec![cert(1)], ..listener_input(&lb, 80, &tg) };
    let error = cloud.create_listener(http).await.expect_err("a certificate on an HTTP listener");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::InvalidRequest, "ValidationError"));
}

#[tokio::test]
async fn the_certificate_list_changes_one_certificate_per_request() {
    let cloud = network();
    let (_, listener) = https_listener(&cloud, 443).await;
    let error = cloud.add_listener_certificates(&listener, &[cert(2), cert(3)]).await.expect_err("two at once");
    assert_eq!(error.code, "TooManyCertificates");
    let error = cloud.add_listener_certificates(&listener, &[]).await.expect_err("none");
    assert_eq!(error.kind, CloudErrorKind::InvalidRequest);
    assert_eq!(cloud.certificate_list(&listener), Vec::<String>::new(), "nothing added");

    cloud.add_listener_certificates(&listener, &[cert(2)]).await.expect("added");
    cloud.add_listener_certificates(&listener, &[cert(3)]).await.expect("added");
    cloud.add_listener_certificates(&listener, &[cert(2)]).await.expect("already there: success, not added again");
    assert_eq!(described(&cloud, &listener).await, [(cert(1), true), (cert(2), false), (cert(3), false)]);
    let listed = cloud.describe_listeners(&cloud.listeners()[0].load_balancer_arn).await.expect("listeners");
    assert_eq!(listed[0].certificates, [cert(1)], "DescribeListeners names the default certificate only");

    // The default certificate may be in the list too; then it is described twice.
    cloud.add_listener_certificates(&listener, &[cert(1)]).await.expect("the default into the list");
    assert_eq!(
        described(&cloud, &listener).await,
        [(cert(1), true), (cert(2), false), (cert(3), false), (cert(1), false)]
    );
    cloud.remove_listener_certificates(&listener, &[cert(1)]).await.expect("off the list");
    let error = cloud.remove_listener_certificates(&listener, &[cert(1)]).await.expect_err("the default itself");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::InUse, "OperationNotPermitted"));
    let error = cloud.remove_listener_certificates(&listener, &[cert(2), cert(3)]).await.expect_err("two at once");
    assert_eq!(error.code, "TooManyCertificates");
    cloud.remove_listener_certificates(&listener, &[cert(2)]).await.expect("removed");
    assert_eq!(described(&cloud, &listener).await, [(cert(1), true), (cert(3), false)]);

    cloud.delete_listener(&listener).await.expect("deleted");
    let error = cloud.describe_listener_certificates(&listener).await.expect_err("gone");
    assert_eq!(error.kind, CloudErrorKind::NotFound);
    let error = cloud.add_listener_certificates(&listener, &[cert(4)]).await.expect_err("gone");
    assert_eq!(error.kind, CloudErrorKind::NotFound);
}

#[tokio::test]
async fn a_load_balancer_lists_at_most_25_certificates_besides_its_defaults() {
    let cloud = network();
    let (lb, first) = https_listener(&cloud, 443).await;
    let (_, second) = https_listener(&cloud, 8443).await;
    for n in 0..20 {
        cloud.add_listener_certificates(&first, &[cert(100 + n)]).await.expect("within the quota");
    }
    for n in 0..5 {
        cloud.add_listener_certificates(&second, &[cert(200 + n)]).await.expect("within the quota");
    }
    let error = cloud.add_listener_certificates(&second, &[cert(300)]).await.expect_err("26th on the load balancer");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::LimitExceeded, "TooManyCertificates"));
    cloud.add_listener_certificates(&first, &[cert(100)]).await.expect("one already listed costs nothing");
    cloud.remove_listener_certificates(&first, &[cert(100)]).await.expect("removed");
    cloud.add_listener_certificates(&second, &[cert(300)]).await.expect("room again");
    assert_eq!(cloud.describe_listeners(&lb).await.expect("listeners").len(), 2);
}

#[tokio::test]
async fn an_alpn_policy_is_for_tls_listeners_and_stays_until_changed() {
    let cloud = network();
    let lb = cloud.create_load_balancer(lb_input("edge")).await.expect("nlb");
    let tg = cloud.create_target_group(tg_input("edge-443", 31443)).await.expect("tg");
    let tls = CreateListener {
        protocol: Protocol::Tls,
        certificates: vec![cert(1)],
        ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
        alpn_policy: Some(AlpnPolicy::Http2Preferred),
        ..listener_input(&lb.arn, 443, &tg.arn)
    };
    let listener = cloud.create_listener(tls).await.expect("TLS takes one");
    assert_eq!(listener.alpn_policy, Some(AlpnPolicy::Http2Preferred));
    let plain = CreateListener { alpn_policy: Some(AlpnPolicy::Http1Only), ..listener_input(&lb.arn, 80, &tg.arn) };
    let error = cloud.create_listener(plain).await.expect_err("TCP takes none");
    assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::InvalidRequest, "ValidationError"));

    let modify = |alpn_policy| ModifyListener {
        arn: listener.arn.clone(),
        port: 443,
        protocol: Protocol::Tls,
        certificates: vec![cert(1)],
        ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
        alpn_policy,
        mutual_authentication: None,
        default_actions: vec![Action::forward(tg.arn.clone())],
    };
    let reported =
        |cloud: &FakeCloud| cloud.listeners().into_iter().find(|l| l.port == 443).and_then(|l| l.alpn_policy);
    cloud.modify_listener(modify(None)).await.expect("left out");
    assert_eq!(reported(&cloud), Some(AlpnPolicy::Http2Preferred), "kept");
    cloud.modify_listener(modify(Some(AlpnPolicy::None))).await.expect("taken off");
    assert_eq!(reported(&cloud), Some(AlpnPolicy::None));
}
