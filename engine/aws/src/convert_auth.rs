//! The authenticate and JWT-validation actions, between the SDK's types and Elbow's. The client
//! secret goes out with CreateRule, ModifyRule, CreateListener and ModifyListener, and is never
//! read back: AWS leaves it out of every describe answer, and an endpoint that does return it
//! (moto echoes it) is read as AWS would answer, so that comparisons and fixtures behave the same
//! against both.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_elasticloadbalancingv2::types as elb;
use elbow_model::{AuthenticateCognito, AuthenticateOidc, JwtClaim, JwtClaimFormat, JwtValidation, OnUnauthenticated};

// ---- out ----

pub(crate) fn oidc_config(config: &AuthenticateOidc) -> elb::AuthenticateOidcActionConfig {
    elb::AuthenticateOidcActionConfig::builder()
        .issuer(&config.issuer)
        .authorization_endpoint(&config.authorization_endpoint)
        .token_endpoint(&config.token_endpoint)
        .user_info_endpoint(&config.user_info_endpoint)
        .client_id(&config.client_id)
        .set_client_secret(config.client_secret.as_ref().map(|s| s.expose().to_string()))
        .set_authentication_request_extra_params(extra_params(&config.authentication_request_extra_params))
        .on_unauthenticated_request(elb::AuthenticateOidcActionConditionalBehaviorEnum::from(
            config.on_unauthenticated_request.as_str(),
        ))
        .scope(&config.scope)
        .session_cookie_name(&config.session_cookie_name)
        .session_timeout(i64::try_from(config.session_timeout).unwrap_or(i64::MAX))
        .build()
}

pub(crate) fn cognito_config(config: &AuthenticateCognito) -> elb::AuthenticateCognitoActionConfig {
    elb::AuthenticateCognitoActionConfig::builder()
        .user_pool_arn(&config.user_pool_arn)
        .user_pool_client_id(&config.user_pool_client_id)
        .user_pool_domain(&config.user_pool_domain)
        .set_authentication_request_extra_params(extra_params(&config.authentication_request_extra_params))
        .on_unauthenticated_request(elb::AuthenticateCognitoActionConditionalBehaviorEnum::from(
            config.on_unauthenticated_request.as_str(),
        ))
        .scope(&config.scope)
        .session_cookie_name(&config.session_cookie_name)
        .session_timeout(i64::try_from(config.session_timeout).unwrap_or(i64::MAX))
        .build()
}

pub(crate) fn jwt_config(config: &JwtValidation) -> elb::JwtValidationActionConfig {
    let claims: Vec<elb::JwtValidationActionAdditionalClaim> = config
        .additional_claims
        .iter()
        .map(|claim| {
            elb::JwtValidationActionAdditionalClaim::builder()
                .format(elb::JwtValidationActionAdditionalClaimFormatEnum::from(claim.format.as_str()))
                .name(&claim.name)
                .set_values(Some(claim.values.clone()))
                .build()
        })
        .collect();
    elb::JwtValidationActionConfig::builder()
        .jwks_endpoint(&config.jwks_endpoint)
        .issuer(&config.issuer)
        .set_additional_claims((!claims.is_empty()).then_some(claims))
        .build()
}

/// None rather than an empty map: the parameter is optional, and AWS reports no map when none
/// was given.
fn extra_params(params: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!params.is_empty()).then(|| params.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

// ---- in ----

pub(crate) fn from_oidc_config(c: &elb::AuthenticateOidcActionConfig) -> AuthenticateOidc {
    AuthenticateOidc {
        issuer: text(c.issuer()),
        authorization_endpoint: text(c.authorization_endpoint()),
        token_endpoint: text(c.token_endpoint()),
        user_info_endpoint: text(c.user_info_endpoint()),
        client_id: text(c.client_id()),
        client_secret: None,
        authentication_request_extra_params: from_extra_params(c.authentication_request_extra_params()),
        on_unauthenticated_request: c
            .on_unauthenticated_request()
            .and_then(|b| OnUnauthenticated::parse(b.as_str()))
            .unwrap_or_default(),
        scope: c.scope().unwrap_or(DEFAULT_SCOPE).to_string(),
        session_cookie_name: c.session_cookie_name().unwrap_or(DEFAULT_COOKIE).to_string(),
        session_timeout: session_timeout(c.session_timeout()),
    }
}

pub(crate) fn from_cognito_config(c: &elb::AuthenticateCognitoActionConfig) -> AuthenticateCognito {
    AuthenticateCognito {
        user_pool_arn: text(c.user_pool_arn()),
        user_pool_client_id: text(c.user_pool_client_id()),
        user_pool_domain: text(c.user_pool_domain()),
        authentication_request_extra_params: from_extra_params(c.authentication_request_extra_params()),
        on_unauthenticated_request: c
            .on_unauthenticated_request()
            .and_then(|b| OnUnauthenticated::parse(b.as_str()))
            .unwrap_or_default(),
        scope: c.scope().unwrap_or(DEFAULT_SCOPE).to_string(),
        session_cookie_name: c.session_cookie_name().unwrap_or(DEFAULT_COOKIE).to_string(),
        session_timeout: session_timeout(c.session_timeout()),
    }
}

pub(crate) fn from_jwt_config(c: &elb::JwtValidationActionConfig) -> JwtValidation {
    JwtValidation {
        jwks_endpoint: text(c.jwks_endpoint()),
        issuer: text(c.issuer()),
        additional_claims: c
            .additional_claims()
            .iter()
            .map(|claim| JwtClaim {
                // A format AWS adds later reads as the plainest one rather than failing the describe.
                format: claim
                    .format()
                    .and_then(|f| JwtClaimFormat::parse(f.as_str()))
                    .unwrap_or(JwtClaimFormat::SingleString),
                name: text(claim.name()),
                values: claim.values().to_vec(),
            })
            .collect(),
    }
}

/// ELBv2's defaults, which AWS reports when a rule was made without them.
const DEFAULT_SCOPE: &str = "openid";
const DEFAULT_COOKIE: &str = "AWSELBAuthSessionCookie";
const DEFAULT_SESSION_TIMEOUT: u64 = 604_800;

fn session_timeout(value: Option<i64>) -> u64 {
    value.and_then(|v| u64::try_from(v).ok()).unwrap_or(DEFAULT_SESSION_TIMEOUT)
}

fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_string()
}

fn from_extra_params(params: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    params.map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}
