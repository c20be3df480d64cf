//! Authenticate actions through the deployer and the fake: the OIDC client secret goes to AWS on
//! create, a rotated one on the next deploy, and an unchanged one costs no call, although AWS
//! never reports a secret back; nothing the deployer prints shows it.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: failing loudly is the point

use std::sync::Arc;
use std::time::Duration;

use elbow_cloud::Api;
use elbow_deploy::{DeploySettings, Deployer};
use elbow_fake::FakeCloud;
use elbow_model::{Action, AuthenticateOidc, ClientSecret, OnUnauthenticated, Protocol, Stack};

mod support;

use support::*;

/// A deployer that compares everything with the cloud on every deploy (no quick path).
fn comparing(cloud: &Arc<FakeCloud>) -> Deployer {
    Deployer::new(
        cloud.clone(),
        DeploySettings {
            cluster_name: CLUSTER.into(),
            vpc_id: "vpc-1".into(),
            drift_period: Duration::ZERO,
            integrations: elbow_deploy::Integrations::all(),
        },
    )
}

fn oidc(secret: &str) -> Action<elbow_model::ResourceId> {
    Action::AuthenticateOidc(AuthenticateOidc {
        issuer: "https://idp.example.com".into(),
        authorization_endpoint: "https://idp.example.com/auth".into(),
        token_endpoint: "https://idp.example.com/token".into(),
        user_info_endpoint: "https://idp.example.com/userinfo".into(),
        client_id: "web-client".into(),
        client_secret: Some(ClientSecret::new(secret)),
        authentication_request_extra_params: Default::default(),
        on_unauthenticated_request: OnUnauthenticated::Authenticate,
        scope: "openid".into(),
        session_cookie_name: "AWSELBAuthSessionCookie".into(),
        session_timeout: 604_800,
    })
}

/// The Ingress-shaped stack on HTTPS 443, its rule and its default action authenticated with
/// client secret `secret`.
fn authenticated(secret: &str) -> Stack {
    let mut stack = alb_stack("shop", &[30080], &[("/api/*", 0)]);
    let listener = &mut stack.listeners[0];
    listener.port = 443;
    listener.protocol = Protocol::Https;
    listener.ssl_policy = Some("ELBSecurityPolicy-2016-08".into());
    listener.certificates = vec!["arn:aws:acm:us-east-1:123456789012:certificate/shop".into()];
    listener.default_actions.insert(0, oidc(secret));
    listener.rules[0].actions.insert(0, oidc(secret));
    stack
}

/// The secrets the fake holds for the HTTPS listener's default actions and for its rule.
fn secrets_held(cloud: &FakeCloud) -> (Vec<String>, Vec<String>) {
    let listener = cloud.listeners().into_iter().find(|l| l.port == 443).expect("the HTTPS listener");
    let rule = cloud.rules(&listener.arn).into_iter().next().expect("its rule");
    (cloud.client_secrets(&listener.arn), cloud.client_secrets(&rule.arn))
}

fn calls(cloud: &FakeCloud, api: Api) -> u64 {
    cloud.counter().snapshot().get(&api).copied().unwrap_or_default()
}

#[tokio::test]
async fn a_secret_is_sent_once_and_again_only_when_it_changes_or_nothing_is_known() {
    let cloud = cloud();
    let deployer = comparing(&cloud);
    deployer.deploy(&authenticated("s1")).await.expect("created");
    assert_eq!(secrets_held(&cloud), (vec!["s1".to_string()], vec!["s1".to_string()]));
    // What AWS reports carries no secret, and the deployer still finds nothing to change.
    cloud.counter().reset();
    deployer.deploy(&authenticated("s1")).await.expect("compared");
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());
    assert!(calls(&cloud, Api::DescribeRules) > 0, "it did compare with the cloud");

    // A rotated secret reaches both the rule and the default action, once.
    cloud.counter().reset();
    deployer.deploy(&authenticated("s2")).await.expect("rotated");
    assert_eq!(secrets_held(&cloud), (vec!["s2".to_string()], vec!["s2".to_string()]));
    assert_eq!((calls(&cloud, Api::ModifyRule), calls(&cloud, Api::ModifyListener)), (1, 1));
    assert_eq!(cloud.counter().mutating(), 2, "{:?}", cloud.counter().snapshot());
    cloud.counter().reset();
    deployer.deploy(&authenticated("s2")).await.expect("unchanged");
    assert_eq!(cloud.counter().mutating(), 0);

    // A restarted deployer cannot know which secret AWS holds: it sends it once, then rests.
    let restarted = comparing(&cloud);
    cloud.counter().reset();
    restarted.deploy(&authenticated("s2")).await.expect("sent again");
    assert_eq!((calls(&cloud, Api::ModifyRule), calls(&cloud, Api::ModifyListener)), (1, 1));
    cloud.counter().reset();
    restarted.deploy(&authenticated("s2")).await.expect("known now");
    assert_eq!(cloud.counter().mutating(), 0);

    // Authentication off: the rule and the default action are plain forwards again.
    let plain = alb_stack("shop", &[30080], &[("/api/*", 0)]);
    let mut plain_https = authenticated("s2");
    plain_https.listeners[0].default_actions = plain.listeners[0].default_actions.clone();
    plain_https.listeners[0].rules = plain.listeners[0].rules.clone();
    restarted.deploy(&plain_https).await.expect("off");
    assert_eq!(secrets_held(&cloud), (vec![], vec![]));
    let listener = cloud.listeners().into_iter().find(|l| l.port == 443).unwrap();
    assert!(matches!(listener.default_actions.as_slice(), [Action::Forward { .. }]));
}

#[tokio::test]
async fn a_rotated_secret_is_not_lost_to_the_quick_path() {
    // The usual deployer, whose unchanged stacks take the quick path for an hour.
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&authenticated("s1")).await.expect("created");
    let outcome = deployer.deploy(&authenticated("s2")).await.expect("rotated");
    assert!(outcome.changed, "a new secret changes the stack, though its JSON shows none");
    assert_eq!(secrets_held(&cloud), (vec!["s2".to_string()], vec!["s2".to_string()]));
}

#[tokio::test]
async fn nothing_the_deployer_prints_shows_the_secret() {
    let cloud = cloud();
    let stack = authenticated("very-secret-value");
    let outcome = deployer(&cloud).deploy(&stack).await.expect("created");
    for printed in [
        format!("{stack:?}"),
        serde_json::to_string(&stack).unwrap(),
        format!("{outcome:?}"),
        outcome.changes.to_string(),
    ] {
        assert!(!printed.contains("very-secret-value"), "{printed}");
    }
    // A failed step's error names the step, never its settings.
    cloud.inject(elbow_fake::Failure::on(Api::ModifyRule, elbow_cloud::CloudErrorKind::InvalidRequest).always());
    let error = comparing(&cloud).deploy(&authenticated("another-secret")).await.expect_err("refused");
    let message = format!("{error} {error:?}");
    assert!(!message.contains("another-secret"), "{message}");
}
