//! Authentication on an Ingress's rules: LBC's `auth-*` annotations and `jwt-validation` in, the
//! authenticate or JWT-validation action before each rule's final action out, on HTTPS listeners.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;

use super::*;
use elbow_model::{
    AuthenticateCognito, AuthenticateOidc, ClientSecret, JwtClaim, JwtClaimFormat, JwtValidation, OnUnauthenticated,
};

const CERT: &str = "arn:aws:acm:us-east-1:111122223333:certificate/web";
const OIDC: &str = r#"{"issuer":"https://idp.example.com","authorizationEndpoint":"https://idp.example.com/auth","tokenEndpoint":"https://idp.example.com/token","userInfoEndpoint":"https://idp.example.com/userinfo","secretName":"web-oidc"}"#;
const COGNITO: &str = r#"{"userPoolARN":"arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_abc","userPoolClientID":"pool-client","userPoolDomain":"shop-auth"}"#;

fn secret(namespace: &str, name: &str, data: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta { name: Some(name.into()), namespace: Some(namespace.into()), ..Default::default() },
        data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect()),
        ..Default::default()
    }
}

fn client_secret() -> Secret {
    secret("shop", "web-oidc", &[("clientID", "web-client\n"), ("clientSecret", "s3cr3t\n")])
}

/// `web` on HTTPS 443 (and HTTP 80 when `with_http`), with `extra` annotations.
fn secure(extra: &[(&str, &str)], with_http: bool) -> Ingress {
    let ports = if with_http { r#"[{"HTTP":80},{"HTTPS":443}]"# } else { r#"[{"HTTPS":443}]"# };
    let mut annotations = vec![("listen-ports", ports), ("certificate-arn", CERT)];
    annotations.extend_from_slice(extra);
    web(&annotations)
}

fn build_secure(members: &[&Ingress], services: &[Service], secrets: &[Secret]) -> Result<Stack, BuildError> {
    let group = group_of(members[0], None).expect("a valid group");
    let (nodes, inventory, config) = (nodes(), inventory(), config());
    let input = IngressGroupInput {
        group: &group,
        members: members.to_vec(),
        services,
        secrets,
        nodes: &borrowed(&nodes),
        endpoint_slices: &[],
        pods: &crate::endpoints::NoPodFacts,
        inventory: &inventory,
        certificates: &inventory.certificates,
        params: None,
        config: &config,
    };
    build_ingress_stack(&input)
}

fn oidc_action(client_id: &str, secret: &str) -> Action<ResourceId> {
    Action::AuthenticateOidc(AuthenticateOidc {
        issuer: "https://idp.example.com".into(),
        authorization_endpoint: "https://idp.example.com/auth".into(),
        token_endpoint: "https://idp.example.com/token".into(),
        user_info_endpoint: "https://idp.example.com/userinfo".into(),
        client_id: client_id.into(),
        client_secret: Some(ClientSecret::new(secret)),
        authentication_request_extra_params: BTreeMap::new(),
        on_unauthenticated_request: OnUnauthenticated::Authenticate,
        scope: "openid".into(),
        session_cookie_name: "AWSELBAuthSessionCookie".into(),
        session_timeout: 604_800,
    })
}

#[test]
fn oidc_authenticates_every_https_rule_with_lbcs_defaults_and_the_secrets_client() {
    let ingress = secure(&[("auth-type", "oidc"), ("auth-idp-oidc", OIDC)], true);
    let stack = build_secure(&[&ingress], &services(), &[client_secret()]).unwrap_or_else(|e| panic!("{e}"));
    let https = listener(&stack, 443);
    assert_eq!(https.rules.len(), 1);
    let actions = &https.rules[0].actions;
    // Trailing whitespace off the id, trailing control characters off the secret, as LBC trims.
    assert_eq!(actions[0], oidc_action("web-client", "s3cr3t"));
    assert_eq!(forwarded_to(&actions[1]).len(), 1, "then the backend's forward: {actions:?}");
    // LBC adds no authentication on HTTP listeners.
    let http = listener(&stack, 80);
    assert_eq!(http.rules[0].actions.len(), 1);
    assert!(matches!(http.rules[0].actions[0], Action::Forward { .. }));
    // Nothing shown of the secret in the plan's JSON.
    let json = serde_json::to_string(&stack).unwrap();
    assert!(!json.contains("s3cr3t") && json.contains("<redacted>"), "{json}");
}

#[test]
fn every_setting_is_read_and_a_default_backend_authenticates_too() {
    let ingress = secure(
        &[
            ("auth-type", "cognito"),
            (
                "auth-idp-cognito",
                r#"{"UserPoolARN":"arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_abc","userPoolClientId":"pool-client","userPoolDomain":"shop-auth","authenticationRequestExtraParams":{"prompt":"login"}}"#,
            ),
            ("auth-on-unauthenticated-request", "deny"),
            ("auth-scope", "openid email"),
            ("auth-session-cookie", "shop-session"),
            ("auth-session-timeout", "3600"),
        ],
        false,
    );
    let mut ingress = ingress;
    ingress.spec.as_mut().unwrap().default_backend = Some(backend("web", "http"));
    let stack = build_secure(&[&ingress], &services(), &[]).unwrap_or_else(|e| panic!("{e}"));
    let expected = Action::AuthenticateCognito(AuthenticateCognito {
        user_pool_arn: "arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_abc".into(),
        user_pool_client_id: "pool-client".into(),
        user_pool_domain: "shop-auth".into(),
        authentication_request_extra_params: BTreeMap::from([("prompt".to_string(), "login".to_string())]),
        on_unauthenticated_request: OnUnauthenticated::Deny,
        scope: "openid email".into(),
        session_cookie_name: "shop-session".into(),
        session_timeout: 3600,
    });
    let https = listener(&stack, 443);
    assert_eq!(https.rules[0].actions[0], expected);
    assert_eq!(https.default_actions[0], expected, "the default backend's action is authenticated");
    assert!(matches!(https.default_actions[1], Action::Forward { .. }));
}

#[test]
fn the_404_default_and_other_ingresses_of_the_group_are_not_authenticated() {
    let guarded =
        member("shop", "admin", &[("auth-type", "cognito"), ("auth-idp-cognito", COGNITO)], "admin.example.com");
    let open = member("shop", "public", &[], "www.example.com");
    let https = |mut ingress: Ingress| {
        let annotations = ingress.metadata.annotations.as_mut().unwrap();
        annotations.insert(format!("{INGRESS_PREFIX}listen-ports"), r#"[{"HTTPS":443}]"#.into());
        annotations.insert(format!("{INGRESS_PREFIX}certificate-arn"), CERT.into());
        ingress
    };
    let (guarded, open) = (https(guarded), https(open));
    let stack = build_secure(&[&guarded, &open], &services(), &[]).unwrap_or_else(|e| panic!("{e}"));
    let listener = listener(&stack, 443);
    let kinds: Vec<Vec<&str>> =
        listener.rules.iter().map(|r| r.actions.iter().map(Action::type_name).collect()).collect();
    assert_eq!(kinds, [vec!["authenticate-cognito", "forward"], vec!["forward"]]);
    assert_eq!(listener.default_actions.iter().map(Action::type_name).collect::<Vec<_>>(), ["fixed-response"]);
}

#[test]
fn a_service_forwarded_to_alone_sets_its_rules_authentication_over_the_ingresss() {
    let ingress = ingress(
        "shop",
        "web",
        &[
            ("listen-ports", r#"[{"HTTPS":443}]"#),
            ("certificate-arn", CERT),
            ("auth-type", "cognito"),
            ("auth-idp-cognito", COGNITO),
        ],
        vec![rule(None, vec![path("/open", "Prefix", "api", "http"), path("/", "Prefix", "web", "http")])],
    );
    let mut services = services();
    // `api` turns authentication off for its rule; `web` keeps the Ingress's.
    services[1] = service("shop", "api", &[("auth-type", "none")]);
    let stack = build_secure(&[&ingress], &services, &[]).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<Vec<&str>> =
        listener(&stack, 443).rules.iter().map(|r| r.actions.iter().map(Action::type_name).collect()).collect();
    assert_eq!(kinds, [vec!["forward"], vec!["authenticate-cognito", "forward"]]);
}

#[test]
fn jwt_validation_checks_tokens_before_the_action() {
    let jwt = r#"{"jwksEndpoint":"https://issuer.example.com/.well-known/jwks.json","issuer":"https://issuer.example.com","additionalClaims":[{"name":"scope","format":"space-separated-values","values":["read","write"]}]}"#;
    let ingress = secure(&[("jwt-validation", jwt)], false);
    let stack = build_secure(&[&ingress], &services(), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        listener(&stack, 443).rules[0].actions[0],
        Action::JwtValidation(JwtValidation {
            jwks_endpoint: "https://issuer.example.com/.well-known/jwks.json".into(),
            issuer: "https://issuer.example.com".into(),
            additional_claims: vec![JwtClaim {
                format: JwtClaimFormat::SpaceSeparatedValues,
                name: "scope".into(),
                values: strings(&["read", "write"]),
            }],
        })
    );
}

/// What a case is about, extra annotations on an HTTPS Ingress, the Secrets present, and what the
/// error says.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Vec<Secret>, &'a str);

#[test]
fn bad_values_are_errors_that_say_what_is_wrong() {
    let cases: Vec<Case<'_>> = vec![
        (
            "unknown type",
            &[("auth-type", "saml")],
            vec![],
            "auth-type has an invalid value \"saml\": none, oidc or cognito",
        ),
        (
            "oidc without its JSON",
            &[("auth-type", "oidc")],
            vec![],
            "oidc needs the alb.ingress.kubernetes.io/auth-idp-oidc annotation",
        ),
        (
            "broken JSON",
            &[("auth-type", "oidc"), ("auth-idp-oidc", "{issuer")],
            vec![],
            "auth-idp-oidc has an invalid value",
        ),
        (
            "a missing endpoint",
            &[
                ("auth-type", "oidc"),
                (
                    "auth-idp-oidc",
                    r#"{"issuer":"https://idp","authorizationEndpoint":"https://a","tokenEndpoint":"https://t","secretName":"s"}"#,
                ),
            ],
            vec![],
            "userInfoEndpoint is missing",
        ),
        (
            "a plain http endpoint",
            &[
                ("auth-type", "oidc"),
                (
                    "auth-idp-oidc",
                    r#"{"issuer":"http://idp","authorizationEndpoint":"https://a","tokenEndpoint":"https://t","userInfoEndpoint":"https://u","secretName":"s"}"#,
                ),
            ],
            vec![],
            "issuer \"http://idp\" must be a full https:// URL",
        ),
        (
            "no such Secret",
            &[("auth-type", "oidc"), ("auth-idp-oidc", OIDC)],
            vec![],
            "Secret shop/web-oidc, named by alb.ingress.kubernetes.io/auth-idp-oidc, does not exist",
        ),
        (
            "a Secret without the secret",
            &[("auth-type", "oidc"), ("auth-idp-oidc", OIDC)],
            vec![secret("shop", "web-oidc", &[("clientID", "web-client")])],
            "no key clientSecret",
        ),
        ("a bad behaviour", &[("auth-on-unauthenticated-request", "redirect")], vec![], "authenticate, allow or deny"),
        ("a timeout past 7 days", &[("auth-session-timeout", "604801")], vec![], "from 1 to 604800"),
        ("a timeout that is no number", &[("auth-session-timeout", "1h")], vec![], "from 1 to 604800"),
        (
            "a Cognito pool that is no ARN",
            &[
                ("auth-type", "cognito"),
                ("auth-idp-cognito", r#"{"userPoolARN":"us-east-1_abc","userPoolClientID":"c","userPoolDomain":"d"}"#),
            ],
            vec![],
            "userPoolARN is a user pool ARN",
        ),
        ("JWT without issuer", &[("jwt-validation", r#"{"jwksEndpoint":"https://j"}"#)], vec![], "issuer is required"),
        (
            "a claim of no known format",
            &[(
                "jwt-validation",
                r#"{"jwksEndpoint":"https://j","issuer":"https://i","additionalClaims":[{"name":"admin","format":"bool","values":["true"]}]}"#,
            )],
            vec![],
            "claim admin has format \"bool\"",
        ),
        (
            "authentication and JWT validation at once",
            &[
                ("auth-type", "oidc"),
                ("auth-idp-oidc", OIDC),
                ("jwt-validation", r#"{"jwksEndpoint":"https://j","issuer":"https://i"}"#),
            ],
            vec![client_secret()],
            "cannot both apply to a rule",
        ),
    ];
    for (what, annotations, secrets, expected) in cases {
        let ingress = secure(annotations, false);
        let error = build_secure(&[&ingress], &services(), &secrets).expect_err(what).to_string();
        assert!(error.contains(expected), "{what}: {error}");
        assert!(error.starts_with("Ingress shop/web: "), "{what}: the error names the Ingress: {error}");
    }
}

#[test]
fn on_http_only_the_annotations_are_checked_and_no_secret_is_needed() {
    // LBC reads the Secret only for HTTPS listeners.
    let plain = web(&[("auth-type", "oidc"), ("auth-idp-oidc", OIDC)]);
    let stack = build_secure(&[&plain], &services(), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listener(&stack, 80).rules[0].actions.len(), 1);
    let broken = web(&[("auth-type", "oidc"), ("auth-idp-oidc", "not json")]);
    assert!(build_secure(&[&broken], &services(), &[]).is_err(), "a broken annotation is an error on HTTP too");
}

#[test]
fn the_secrets_an_ingress_may_need_are_named_by_it_or_its_services() {
    let ingress = secure(&[("auth-type", "oidc"), ("auth-idp-oidc", OIDC)], false);
    let other_idp = OIDC.replace("web-oidc", "api-oidc");
    let api = service("shop", "api", &[("auth-idp-oidc", other_idp.as_str())]);
    let web_service = service("shop", "web", &[]);
    assert_eq!(referenced_secret_names(&ingress, &[&api, &web_service]), ["api-oidc", "web-oidc"]);
    assert!(referenced_secret_names(&web(&[("auth-idp-oidc", "{broken")]), &[]).is_empty());
}
