//! Authenticate and JWT-validation actions: accepted before a final action on HTTPS listeners,
//! refused elsewhere with ELBv2's `InvalidLoadBalancerAction`, and the OIDC client secret kept
//! but never reported, as on AWS.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: failing loudly is the point

use elbow_model::{
    AuthenticateOidc, ClientSecret, JwtValidation, LoadBalancerType, OnUnauthenticated, Protocol, RuleCondition,
};

use super::*;

const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/1";

fn oidc(secret: Option<&str>) -> Action<String> {
    Action::AuthenticateOidc(AuthenticateOidc {
        issuer: "https://idp.example.com".into(),
        authorization_endpoint: "https://idp.example.com/auth".into(),
        token_endpoint: "https://idp.example.com/token".into(),
        user_info_endpoint: "https://idp.example.com/userinfo".into(),
        client_id: "client".into(),
        client_secret: secret.map(ClientSecret::new),
        authentication_request_extra_params: Default::default(),
        on_unauthenticated_request: OnUnauthenticated::Authenticate,
        scope: "openid".into(),
        session_cookie_name: "AWSELBAuthSessionCookie".into(),
        session_timeout: 604_800,
    })
}

fn jwt() -> Action<String> {
    Action::JwtValidation(JwtValidation {
        jwks_endpoint: "https://issuer.example.com/jwks".into(),
        issuer: "https://issuer.example.com".into(),
        additional_claims: Vec::new(),
    })
}

/// An application load balancer with an HTTP listener on 80 and an HTTPS one on 443; their ARNs
/// and the target group's.
async fn listeners(cloud: &FakeCloud) -> (String, String, String) {
    let lb = cloud
        .create_load_balancer(CreateLoadBalancer { lb_type: LoadBalancerType::Application, ..lb_input("shop") })
        .await
        .expect("alb");
    let tg = cloud.create_target_group(tg_input("shop-80", 80)).await.expect("tg");
    let http = cloud
        .create_listener(CreateListener { protocol: Protocol::Http, ..listener_input(&lb.arn, 80, &tg.arn) })
        .await
        .expect("http");
    let https = cloud
        .create_listener(CreateListener {
            protocol: Protocol::Https,
            certificates: vec![CERT.into()],
            ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
            alpn_policy: None,
            mutual_authentication: None,
            ..listener_input(&lb.arn, 443, &tg.arn)
        })
        .await
        .expect("https");
    (http.arn, https.arn, tg.arn)
}

fn rule(listener: &str, priority: u32, actions: Vec<Action<String>>) -> CreateRule {
    CreateRule {
        listener_arn: listener.into(),
        priority,
        conditions: vec![RuleCondition::PathPattern(vec!["/*".into()])],
        actions,
        transforms: vec![],
        tags: Tags::new(),
    }
}

#[tokio::test]
async fn an_https_rule_authenticates_and_its_secret_is_kept_but_never_reported() {
    let cloud = network();
    let (_, https, tg) = listeners(&cloud).await;
    let created =
        cloud.create_rule(rule(&https, 1, vec![oidc(Some("s1")), Action::forward(tg.clone())])).await.expect("created");
    assert_eq!(created.actions[0], oidc(None), "the create answer leaves the secret out");
    let described = cloud.describe_rules(&https).await.expect("described");
    assert_eq!(described[0].actions, [oidc(None), Action::forward(tg.clone())]);
    assert_eq!(cloud.rules(&https)[0].actions[0], oidc(None));
    assert_eq!(cloud.client_secrets(&created.arn), ["s1"], "AWS keeps what was sent");

    // A modify needs the secret again (Elbow never asks AWS to keep the old one).
    let modify = ModifyRule {
        arn: created.arn.clone(),
        conditions: created.conditions.clone(),
        actions: vec![oidc(None), Action::forward(tg.clone())],
        transforms: vec![],
    };
    let error = cloud.modify_rule(modify.clone()).await.expect_err("no secret");
    assert_eq!(error.code, "InvalidLoadBalancerAction", "{error}");
    cloud
        .modify_rule(ModifyRule { actions: vec![oidc(Some("s2")), Action::forward(tg)], ..modify })
        .await
        .expect("rotated");
    assert_eq!(cloud.client_secrets(&created.arn), ["s2"]);

    // A listener's default actions alike.
    let listener = cloud.listeners().into_iter().find(|l| l.arn == https).unwrap();
    let default = ModifyListener {
        arn: https.clone(),
        port: 443,
        protocol: Protocol::Https,
        certificates: vec![CERT.into()],
        ssl_policy: listener.ssl_policy.clone(),
        alpn_policy: None,
        mutual_authentication: None,
        default_actions: vec![jwt(), listener.default_actions[0].clone()],
    };
    cloud.modify_listener(default).await.expect("jwt-validation on the default rule");
    let described = cloud.describe_listeners(&listener.load_balancer_arn).await.expect("described");
    let https_listener = described.iter().find(|l| l.port == 443).unwrap();
    assert_eq!(https_listener.default_actions[0], jwt());
}

#[tokio::test]
async fn what_elbv2_refuses_is_refused() {
    let cloud = network();
    let (http, https, tg) = listeners(&cloud).await;
    let forward = Action::forward(tg.clone());
    let refusals: Vec<(&str, CreateRule)> = vec![
        ("authenticate on HTTP", rule(&http, 1, vec![oidc(Some("s")), forward.clone()])),
        ("jwt-validation on HTTP", rule(&http, 1, vec![jwt(), forward.clone()])),
        ("authenticate last", rule(&https, 1, vec![forward.clone(), oidc(Some("s"))])),
        ("authenticate alone", rule(&https, 1, vec![oidc(Some("s"))])),
        ("two final actions", rule(&https, 1, vec![forward.clone(), forward.clone()])),
        ("two authentications", rule(&https, 1, vec![oidc(Some("s")), oidc(Some("s")), forward.clone()])),
        ("no client secret", rule(&https, 1, vec![oidc(None), forward.clone()])),
    ];
    for (what, input) in refusals {
        let error = cloud.create_rule(input).await.expect_err(what);
        assert_eq!(
            (error.kind, error.code.as_str()),
            (CloudErrorKind::InvalidRequest, "InvalidLoadBalancerAction"),
            "{what}: {error}"
        );
    }
    assert!(cloud.rules(&https).is_empty() && cloud.rules(&http).is_empty(), "nothing was created");

    // An HTTP listener's default action may not authenticate either.
    let lb = cloud.listeners().into_iter().find(|l| l.arn == http).unwrap().load_balancer_arn;
    let input = CreateListener {
        protocol: Protocol::Http,
        default_actions: vec![oidc(Some("s")), forward],
        ..listener_input(&lb, 8080, &tg)
    };
    let error = cloud.create_listener(input).await.expect_err("authenticate on an HTTP listener");
    assert_eq!(error.code, "InvalidLoadBalancerAction", "{error}");
}
