//! Several certificates on one HTTPS listener: the first is the listener's default certificate,
//! sent with CreateListener and ModifyListener (AWS takes exactly one there, and the fake refuses
//! more as AWS does); the rest are its certificate list, changed one certificate per
//! AddListenerCertificates and RemoveListenerCertificates request and only where it differs.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: failing loudly is the point

use elbow_cloud::{Api, Cloud};
use elbow_fake::FakeCloud;
use elbow_model::{Protocol, Stack};

mod support;

use support::*;

fn cert(name: &str) -> String {
    format!("arn:aws:acm:us-east-1:123456789012:certificate/{name}")
}

/// The Ingress-shaped stack with its one listener on HTTPS 443 serving `certificates`, default
/// first: a group whose members bring one certificate each.
fn https_stack(certificates: &[&str]) -> Stack {
    let mut stack = alb_stack("shop", &[30080], &[("/api/*", 0)]);
    let listener = &mut stack.listeners[0];
    listener.port = 443;
    listener.protocol = Protocol::Https;
    listener.ssl_policy = Some("ELBSecurityPolicy-2016-08".into());
    listener.certificates = certificates.iter().map(|c| cert(c)).collect();
    stack
}

/// The HTTPS listener's default certificate and its sorted certificate list, as the fake holds
/// them.
fn certificates(cloud: &FakeCloud) -> (Vec<String>, Vec<String>) {
    let listener = cloud.listeners().into_iter().find(|l| l.port == 443).expect("an HTTPS listener");
    let mut list = cloud.certificate_list(&listener.arn);
    list.sort();
    (listener.certificates, list)
}

fn calls(cloud: &FakeCloud, api: Api) -> u64 {
    cloud.counter().snapshot().get(&api).copied().unwrap_or_default()
}

#[tokio::test]
async fn the_default_certificate_goes_with_the_listener_and_the_rest_to_its_certificate_list() {
    let cloud = cloud();
    deployer(&cloud).deploy(&https_stack(&["a", "b", "c"])).await.expect("created");
    assert_eq!(certificates(&cloud), (vec![cert("a")], vec![cert("b"), cert("c")]));
    assert_eq!(calls(&cloud, Api::CreateListener), 1);
    assert_eq!(calls(&cloud, Api::AddListenerCertificates), 2, "one request per certificate");

    // A restarted deployer reads the certificate list back and finds nothing to change.
    cloud.counter().reset();
    deployer(&cloud).deploy(&https_stack(&["a", "b", "c"])).await.expect("unchanged");
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());
    assert_eq!(calls(&cloud, Api::DescribeListenerCertificates), 1);
}

#[tokio::test]
async fn a_member_adding_or_dropping_a_certificate_changes_only_the_certificate_list() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&https_stack(&["a", "b"])).await.expect("created");

    cloud.counter().reset();
    deployer.deploy(&https_stack(&["a", "b", "c"])).await.expect("a second team's certificate");
    assert_eq!(certificates(&cloud), (vec![cert("a")], vec![cert("b"), cert("c")]));
    assert_eq!((calls(&cloud, Api::AddListenerCertificates), cloud.counter().mutating()), (1, 1));

    cloud.counter().reset();
    deployer.deploy(&https_stack(&["a", "c"])).await.expect("one certificate less");
    assert_eq!(certificates(&cloud), (vec![cert("a")], vec![cert("c")]));
    assert_eq!((calls(&cloud, Api::RemoveListenerCertificates), cloud.counter().mutating()), (1, 1));
}

#[tokio::test]
async fn a_new_default_certificate_is_set_by_modify_listener_and_leaves_the_list() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&https_stack(&["a", "b", "c"])).await.expect("created");

    // The first member left: b becomes the default, and is taken off the list before that.
    cloud.counter().reset();
    deployer.deploy(&https_stack(&["b", "c"])).await.expect("the default changed");
    assert_eq!(certificates(&cloud), (vec![cert("b")], vec![cert("c")]));
    let snapshot = cloud.counter().snapshot();
    assert_eq!(
        (
            calls(&cloud, Api::RemoveListenerCertificates),
            calls(&cloud, Api::ModifyListener),
            cloud.counter().mutating()
        ),
        (1, 1, 2),
        "{snapshot:?}"
    );

    // Swapping default and list entry: c leaves the list, becomes the default, b joins the list.
    deployer.deploy(&https_stack(&["c", "b"])).await.expect("swapped");
    assert_eq!(certificates(&cloud), (vec![cert("c")], vec![cert("b")]));

    // Back to plain HTTP: the list is emptied before the listener stops being HTTPS.
    let mut http = https_stack(&[]);
    http.listeners[0].protocol = Protocol::Http;
    http.listeners[0].ssl_policy = None;
    deployer.deploy(&http).await.expect("HTTP again");
    let listener = cloud.listeners().into_iter().find(|l| l.port == 443).expect("the listener");
    assert_eq!((listener.protocol, listener.certificates), (Protocol::Http, vec![]));
    assert_eq!(cloud.certificate_list(&listener.arn), Vec::<String>::new());
}

#[tokio::test]
async fn deleting_the_stack_needs_no_certificate_call() {
    let cloud = cloud();
    let stack = https_stack(&["a", "b", "c"]);
    deployer(&cloud).deploy(&stack).await.expect("created");
    cloud.counter().reset();
    deployer(&cloud).deploy(&Stack::empty(stack.id.clone())).await.expect("deleted");
    assert_eq!(calls(&cloud, Api::RemoveListenerCertificates), 0, "{:?}", cloud.counter().snapshot());
    assert_eq!(calls(&cloud, Api::DeleteListener), 0, "the listener goes with its load balancer");
    assert!(cloud.listeners().is_empty());
}

#[tokio::test]
async fn the_fake_refuses_a_listener_created_with_several_certificates_as_aws_does() {
    let cloud = cloud();
    deployer(&cloud).deploy(&alb_stack("shop", &[30080], &[])).await.expect("created");
    let listener = cloud.listeners().into_iter().next().expect("listener");
    let error = cloud
        .create_listener(elbow_cloud::CreateListener {
            load_balancer_arn: listener.load_balancer_arn,
            port: 443,
            protocol: Protocol::Https,
            certificates: vec![cert("a"), cert("b")],
            ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
            alpn_policy: None,
            mutual_authentication: None,
            default_actions: listener.default_actions,
            tags: Default::default(),
        })
        .await
        .expect_err("what the deployer used to send");
    assert_eq!(error.code, "TooManyCertificates");
}

#[tokio::test]
async fn a_crash_at_any_call_while_adding_certificates_is_repaired_by_a_rerun() {
    let calls = crash_at_every_call(&https_stack(&["a"]), &https_stack(&["b", "c", "d"]), certificates).await;
    assert_eq!(calls, 3, "a new default and two list entries");
}
