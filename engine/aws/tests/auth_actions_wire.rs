//! The authenticate and JWT-validation actions as the SDK adapter puts them on the wire and reads
//! them back, against a local server that records the request and answers as ELBv2 does. moto
//! refuses `jwt-validation` (its action types stop at forward, redirect, fixed-response and the two
//! authenticate ones), so this is where that action's request is checked; the authenticate ones
//! also run against moto in localstack-tests/tests/differential.rs.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_elasticloadbalancingv2::config::Credentials;
use elbow_aws::SdkCloud;
use elbow_cloud::{Cloud, CreateRule};
use elbow_model::{
    Action, AuthenticateOidc, ClientSecret, JwtClaim, JwtClaimFormat, JwtValidation, OnUnauthenticated, RuleCondition,
    Tags,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1";

/// A CreateRule answer as ELBv2 writes it, with `actions` (XML members) on the new rule.
fn answer(actions: &str) -> String {
    format!(
        r#"<CreateRuleResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <CreateRuleResult><Rules><member>
    <RuleArn>arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3</RuleArn>
    <Priority>1</Priority><IsDefault>false</IsDefault>
    <Conditions><member><Field>path-pattern</Field><PathPatternConfig><Values><member>/*</member></Values></PathPatternConfig></member></Conditions>
    <Actions>{actions}</Actions>
  </member></Rules></CreateRuleResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</CreateRuleResponse>"#
    )
}

/// Serves one request with `body` and returns the request's form parameters.
async fn serve_once(listener: TcpListener, body: String) -> BTreeMap<String, String> {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let read = socket.read(&mut buffer).await.unwrap();
        request.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&request).to_string();
        if let Some((head, rest)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if rest.len() >= length {
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(reply.as_bytes()).await.unwrap();
                return rest
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (decode(k), decode(v)))
                    .collect();
            }
        }
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

async fn cloud_at(endpoint: &str) -> SdkCloud {
    elbow_aws::install_crypto_provider();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    SdkCloud::from_sdk_config(&config)
}

/// Sends `actions` in a CreateRule and returns what went on the wire and what the adapter read
/// back from `answer_actions`.
async fn create_rule(
    actions: Vec<Action<String>>,
    answer_actions: &str,
) -> (BTreeMap<String, String>, Vec<Action<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_once(listener, answer(answer_actions)));
    let cloud = cloud_at(&endpoint).await;
    let rule = cloud
        .create_rule(CreateRule {
            listener_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2".into(),
            priority: 1,
            conditions: vec![RuleCondition::PathPattern(vec!["/*".into()])],
            actions,
            transforms: vec![],
            tags: Tags::new(),
        })
        .await
        .expect("created");
    (server.await.unwrap(), rule.actions)
}

fn jwt() -> JwtValidation {
    JwtValidation {
        jwks_endpoint: "https://issuer.example.com/jwks".into(),
        issuer: "https://issuer.example.com".into(),
        additional_claims: vec![JwtClaim {
            format: JwtClaimFormat::StringArray,
            name: "groups".into(),
            values: vec!["admins".into(), "ops".into()],
        }],
    }
}

#[tokio::test]
async fn jwt_validation_goes_on_the_wire_in_order_before_the_forward_and_reads_back() {
    let answer_actions = format!(
        "<member><Type>jwt-validation</Type><Order>1</Order><JwtValidationConfig>\
         <JwksEndpoint>https://issuer.example.com/jwks</JwksEndpoint><Issuer>https://issuer.example.com</Issuer>\
         <AdditionalClaims><member><Format>string-array</Format><Name>groups</Name><Values><member>admins</member><member>ops</member></Values></member></AdditionalClaims>\
         </JwtValidationConfig></member>\
         <member><Type>forward</Type><Order>2</Order><TargetGroupArn>{TG}</TargetGroupArn></member>"
    );
    let (sent, read) =
        create_rule(vec![Action::JwtValidation(jwt()), Action::forward(TG.to_string())], &answer_actions).await;
    let expected = [
        ("Actions.member.1.Type", "jwt-validation"),
        ("Actions.member.1.Order", "1"),
        ("Actions.member.1.JwtValidationConfig.JwksEndpoint", "https://issuer.example.com/jwks"),
        ("Actions.member.1.JwtValidationConfig.Issuer", "https://issuer.example.com"),
        ("Actions.member.1.JwtValidationConfig.AdditionalClaims.member.1.Format", "string-array"),
        ("Actions.member.1.JwtValidationConfig.AdditionalClaims.member.1.Name", "groups"),
        ("Actions.member.1.JwtValidationConfig.AdditionalClaims.member.1.Values.member.1", "admins"),
        ("Actions.member.1.JwtValidationConfig.AdditionalClaims.member.1.Values.member.2", "ops"),
        ("Actions.member.2.Type", "forward"),
        ("Actions.member.2.Order", "2"),
    ];
    for (key, value) in expected {
        assert_eq!(sent.get(key).map(String::as_str), Some(value), "{key} in {sent:#?}");
    }
    assert_eq!(read, [Action::JwtValidation(jwt()), Action::forward(TG.to_string())]);
}

#[tokio::test]
async fn the_client_secret_is_sent_but_never_read_back_even_from_an_endpoint_that_echoes_it() {
    let oidc = AuthenticateOidc {
        issuer: "https://idp.example.com".into(),
        authorization_endpoint: "https://idp.example.com/auth".into(),
        token_endpoint: "https://idp.example.com/token".into(),
        user_info_endpoint: "https://idp.example.com/userinfo".into(),
        client_id: "web-client".into(),
        client_secret: Some(ClientSecret::new("s3cr3t")),
        authentication_request_extra_params: BTreeMap::new(),
        on_unauthenticated_request: OnUnauthenticated::Allow,
        scope: "openid email".into(),
        session_cookie_name: "AWSELBAuthSessionCookie".into(),
        session_timeout: 3600,
    };
    // moto echoes the secret; AWS leaves it out. Either way the adapter reports none.
    let answer_actions = format!(
        "<member><Type>authenticate-oidc</Type><Order>1</Order><AuthenticateOidcConfig>\
         <Issuer>https://idp.example.com</Issuer><AuthorizationEndpoint>https://idp.example.com/auth</AuthorizationEndpoint>\
         <TokenEndpoint>https://idp.example.com/token</TokenEndpoint><UserInfoEndpoint>https://idp.example.com/userinfo</UserInfoEndpoint>\
         <ClientId>web-client</ClientId><ClientSecret>s3cr3t</ClientSecret><OnUnauthenticatedRequest>allow</OnUnauthenticatedRequest>\
         <Scope>openid email</Scope><SessionCookieName>AWSELBAuthSessionCookie</SessionCookieName><SessionTimeout>3600</SessionTimeout>\
         </AuthenticateOidcConfig></member>\
         <member><Type>forward</Type><Order>2</Order><TargetGroupArn>{TG}</TargetGroupArn></member>"
    );
    let (sent, read) =
        create_rule(vec![Action::AuthenticateOidc(oidc.clone()), Action::forward(TG.to_string())], &answer_actions)
            .await;
    assert_eq!(sent.get("Actions.member.1.Type").map(String::as_str), Some("authenticate-oidc"));
    assert_eq!(sent.get("Actions.member.1.AuthenticateOidcConfig.ClientSecret").map(String::as_str), Some("s3cr3t"));
    assert_eq!(
        sent.get("Actions.member.1.AuthenticateOidcConfig.OnUnauthenticatedRequest").map(String::as_str),
        Some("allow")
    );
    assert_eq!(sent.get("Actions.member.1.AuthenticateOidcConfig.SessionTimeout").map(String::as_str), Some("3600"));
    assert!(!sent.keys().any(|k| k.contains("UseExistingClientSecret")), "Elbow always sends the secret");
    assert_eq!(read[0], Action::AuthenticateOidc(AuthenticateOidc { client_secret: None, ..oidc }));
}
