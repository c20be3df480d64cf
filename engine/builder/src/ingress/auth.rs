//! Authentication on an Ingress's rules, as the AWS Load Balancer Controller (LBC) reads it:
//! `auth-type` (`none`, `oidc` or `cognito`), the provider's JSON (`auth-idp-oidc`,
//! `auth-idp-cognito`), `auth-on-unauthenticated-request`, `auth-scope`, `auth-session-cookie`,
//! `auth-session-timeout`, and `jwt-validation`.
//!
//! Every rule of the Ingress, and its default backend's action when it is the listener's default,
//! gets the authenticate (or JWT-validation) action before its final action, on HTTPS listeners
//! only: on an HTTP listener LBC leaves the action out without a word, and so does Elbow (the
//! annotations are still checked). The auth annotations are read from the Ingress and, when the
//! rule forwards to one Service only, from that Service too, whose values win (LBC merges them so;
//! `jwt-validation` is read from the Ingress alone). The OIDC client id and secret come from the
//! Secret `secretName` in the Ingress's namespace, keys `clientID` (or the older `clientId`) and
//! `clientSecret`. An Ingress may not ask for both authentication and JWT validation.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend};
use serde::Deserialize;

use crate::annotations::{Annotations, INGRESS_PREFIX};
use crate::error::BuildError;
use crate::ingress::actions::single_service;
use crate::ingress::group::{Member, annotations_of};
use elbow_model::{
    Action, AuthenticateCognito, AuthenticateOidc, ClientSecret, JwtClaim, JwtClaimFormat, JwtValidation,
    OnUnauthenticated, Protocol, ResourceId,
};

pub(crate) const DEFAULT_SCOPE: &str = "openid";
pub(crate) const DEFAULT_SESSION_COOKIE: &str = "AWSELBAuthSessionCookie";
/// Seconds; also ELBv2's longest session (7 days).
pub(crate) const DEFAULT_SESSION_TIMEOUT: u64 = 604_800;
/// ELBv2 takes up to 10 extra query parameters for the authorization request.
const MAX_EXTRA_PARAMS: usize = 10;

/// The Secret keys LBC reads the OIDC client from; `clientId` is the older controller's spelling.
pub const SECRET_CLIENT_ID: &str = "clientID";
pub const SECRET_CLIENT_ID_LEGACY: &str = "clientId";
pub const SECRET_CLIENT_SECRET: &str = "clientSecret";

/// The auth annotations (what a backend Service may set for the rules that forward to it).
const AUTH_SUFFIXES: &[&str] = &[
    "auth-type",
    "auth-idp-oidc",
    "auth-idp-cognito",
    "auth-on-unauthenticated-request",
    "auth-scope",
    "auth-session-cookie",
    "auth-session-timeout",
];

/// What the rules' authentication is read from besides the Ingresses.
pub(crate) struct AuthSources<'a> {
    pub services: &'a [Service],
    /// The Secrets the members name in `auth-idp-oidc` (others are ignored).
    pub secrets: &'a [Secret],
}

impl AuthSources<'_> {
    /// The actions to run before the final action of `member`'s `backend` on a listener of
    /// `protocol`; none on HTTP listeners. The annotations are checked whatever the protocol.
    pub(crate) fn pre_actions(
        &self,
        member: &Member<'_>,
        backend: &IngressBackend,
        protocol: Protocol,
    ) -> Result<Vec<Action<ResourceId>>, BuildError> {
        let merged = self.merged_annotations(member, backend);
        let settings = AuthSettings::read(&Annotations::ingress(&merged))?;
        let jwt = jwt_validation(&member.annotations())?;
        if protocol != Protocol::Https {
            return Ok(Vec::new());
        }
        let authenticate = match settings.kind {
            AuthKind::None => None,
            AuthKind::Oidc(idp) => Some(Action::AuthenticateOidc(self.oidc(member, idp, &settings.common)?)),
            AuthKind::Cognito(idp) => Some(Action::AuthenticateCognito(cognito(idp, settings.common))),
        };
        match (authenticate, jwt) {
            (Some(_), Some(_)) => Err(BuildError::AuthAndJwt),
            (authenticate, jwt) => Ok(authenticate.into_iter().chain(jwt.map(Action::JwtValidation)).collect()),
        }
    }

    /// The Ingress's annotations with, for a backend forwarding to one Service that exists, that
    /// Service's auth annotations over them.
    fn merged_annotations(&self, member: &Member<'_>, backend: &IngressBackend) -> BTreeMap<String, String> {
        let mut merged = annotations_of(member.ingress).clone();
        let Some(name) = single_service(member, backend) else { return merged };
        let service = self.services.iter().find(|s| {
            s.metadata.namespace.as_deref().unwrap_or("default") == member.namespace
                && s.metadata.name.as_deref() == Some(name.as_str())
        });
        let own = service.and_then(|s| s.metadata.annotations.as_ref());
        for suffix in AUTH_SUFFIXES {
            let key = format!("{INGRESS_PREFIX}{suffix}");
            if let Some(value) = own.and_then(|a| a.get(&key)) {
                merged.insert(key, value.clone());
            }
        }
        merged
    }

    fn oidc(&self, member: &Member<'_>, idp: OidcIdp, common: &Common) -> Result<AuthenticateOidc, BuildError> {
        let (client_id, client_secret) = self.client(&member.namespace, &idp.secret_name)?;
        Ok(AuthenticateOidc {
            issuer: idp.issuer,
            authorization_endpoint: idp.authorization_endpoint,
            token_endpoint: idp.token_endpoint,
            user_info_endpoint: idp.user_info_endpoint,
            client_id,
            client_secret: Some(ClientSecret::new(client_secret)),
            authentication_request_extra_params: idp.authentication_request_extra_params,
            on_unauthenticated_request: common.on_unauthenticated,
            scope: common.scope.clone(),
            session_cookie_name: common.session_cookie.clone(),
            session_timeout: common.session_timeout,
        })
    }

    /// The client id and secret from the Secret, trimmed as LBC trims them: trailing whitespace
    /// off the id (a newline from `echo` into a file), trailing control characters off the secret.
    fn client(&self, namespace: &str, name: &str) -> Result<(String, String), BuildError> {
        let secret = self
            .secrets
            .iter()
            .find(|s| s.metadata.namespace.as_deref() == Some(namespace) && s.metadata.name.as_deref() == Some(name))
            .ok_or_else(|| BuildError::MissingSecret { namespace: namespace.into(), name: name.into() })?;
        let data = secret.data.as_ref();
        let value =
            |key: &str| data.and_then(|d| d.get(key)).map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned());
        let invalid = |reason: &str| BuildError::InvalidSecret {
            namespace: namespace.into(),
            name: name.into(),
            reason: reason.into(),
        };
        let id = value(SECRET_CLIENT_ID)
            .or_else(|| value(SECRET_CLIENT_ID_LEGACY))
            .ok_or_else(|| invalid("it has no key clientID"))?;
        let secret = value(SECRET_CLIENT_SECRET).ok_or_else(|| invalid("it has no key clientSecret"))?;
        let id = id.trim_end().to_string();
        let secret = secret.trim_end_matches(char::is_control).to_string();
        if id.is_empty() || secret.is_empty() {
            return Err(invalid("clientID and clientSecret must not be empty"));
        }
        Ok((id, secret))
    }
}

/// The Secrets `ingress` may need for OIDC: those `auth-idp-oidc` names on the Ingress or on the
/// `services` (of its namespace) its backends may forward to. A superset is harmless (the
/// controller watches them, the build reads only the ones it uses); a bad annotation names none
/// (the build reports it).
pub fn referenced_secret_names(ingress: &Ingress, services: &[&Service]) -> Vec<String> {
    let mut names: Vec<String> = std::iter::once(annotations_of(ingress))
        .chain(services.iter().filter_map(|s| s.metadata.annotations.as_ref()))
        .filter_map(|annotations| {
            let a = Annotations::ingress(annotations);
            a.go_json::<OidcIdp>("auth-idp-oidc", OIDC_SHAPE, OIDC_FIELDS).ok().flatten().map(|idp| idp.secret_name)
        })
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The settings both kinds of authentication share.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Common {
    on_unauthenticated: OnUnauthenticated,
    scope: String,
    session_cookie: String,
    session_timeout: u64,
}

#[derive(Debug)]
enum AuthKind {
    None,
    Oidc(OidcIdp),
    Cognito(CognitoIdp),
}

#[derive(Debug)]
struct AuthSettings {
    kind: AuthKind,
    common: Common,
}

impl AuthSettings {
    fn read(a: &Annotations<'_>) -> Result<Self, BuildError> {
        let on_unauthenticated = a
            .parse("auth-on-unauthenticated-request", "authenticate, allow or deny", OnUnauthenticated::parse)?
            .unwrap_or_default();
        let session_timeout = a
            .parse("auth-session-timeout", "a whole number of seconds from 1 to 604800 (7 days)", |v| {
                v.parse::<u64>().ok().filter(|s| (1..=DEFAULT_SESSION_TIMEOUT).contains(s))
            })?
            .unwrap_or(DEFAULT_SESSION_TIMEOUT);
        let common = Common {
            on_unauthenticated,
            scope: a.get("auth-scope").unwrap_or(DEFAULT_SCOPE).to_string(),
            session_cookie: a.get("auth-session-cookie").unwrap_or(DEFAULT_SESSION_COOKIE).to_string(),
            session_timeout,
        };
        // LBC parses both providers' JSON whatever the type, so a broken one is an error either way.
        let oidc = oidc_idp(a)?;
        let cognito = cognito_idp(a)?;
        let kind = match a.get("auth-type").unwrap_or("none") {
            "none" => AuthKind::None,
            "oidc" => AuthKind::Oidc(oidc.ok_or_else(|| missing(a, "oidc", "auth-idp-oidc"))?),
            "cognito" => AuthKind::Cognito(cognito.ok_or_else(|| missing(a, "cognito", "auth-idp-cognito"))?),
            other => return Err(a.invalid("auth-type", other, "none, oidc or cognito")),
        };
        Ok(Self { kind, common })
    }
}

fn missing(a: &Annotations<'_>, kind: &str, idp: &str) -> BuildError {
    a.invalid("auth-type", kind, &format!("{kind} needs the {} annotation", a.name(idp)))
}

/// `auth-idp-oidc` as LBC writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OidcIdp {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    authorization_endpoint: String,
    #[serde(default)]
    token_endpoint: String,
    #[serde(default)]
    user_info_endpoint: String,
    #[serde(default)]
    secret_name: String,
    #[serde(default)]
    authentication_request_extra_params: BTreeMap<String, String>,
}

const OIDC_SHAPE: &str =
    "a JSON object with issuer, authorizationEndpoint, tokenEndpoint, userInfoEndpoint and secretName";
const OIDC_FIELDS: &[&str] = &[
    "issuer",
    "authorizationEndpoint",
    "tokenEndpoint",
    "userInfoEndpoint",
    "secretName",
    "authenticationRequestExtraParams",
];

fn oidc_idp(a: &Annotations<'_>) -> Result<Option<OidcIdp>, BuildError> {
    let Some(idp) = a.go_json::<OidcIdp>("auth-idp-oidc", OIDC_SHAPE, OIDC_FIELDS)? else { return Ok(None) };
    let raw = a.get("auth-idp-oidc").unwrap_or_default();
    let required = [
        ("issuer", &idp.issuer),
        ("authorizationEndpoint", &idp.authorization_endpoint),
        ("tokenEndpoint", &idp.token_endpoint),
        ("userInfoEndpoint", &idp.user_info_endpoint),
        ("secretName", &idp.secret_name),
    ];
    if let Some((field, _)) = required.iter().find(|(_, value)| value.trim().is_empty()) {
        return Err(a.invalid("auth-idp-oidc", raw, &format!("{OIDC_SHAPE}; {field} is missing")));
    }
    if let Some((field, value)) = required[..4].iter().find(|(_, value)| !value.starts_with("https://")) {
        return Err(a.invalid(
            "auth-idp-oidc",
            raw,
            &format!("{OIDC_SHAPE}; {field} {value:?} must be a full https:// URL, as ELBv2 requires"),
        ));
    }
    check_extra_params(a, "auth-idp-oidc", raw, &idp.authentication_request_extra_params)?;
    Ok(Some(idp))
}

/// `auth-idp-cognito` as LBC writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CognitoIdp {
    #[serde(default, rename = "userPoolARN")]
    user_pool_arn: String,
    #[serde(default, rename = "userPoolClientID")]
    user_pool_client_id: String,
    #[serde(default)]
    user_pool_domain: String,
    #[serde(default)]
    authentication_request_extra_params: BTreeMap<String, String>,
}

const COGNITO_SHAPE: &str = "a JSON object with userPoolARN, userPoolClientID and userPoolDomain";
const COGNITO_FIELDS: &[&str] =
    &["userPoolARN", "userPoolClientID", "userPoolDomain", "authenticationRequestExtraParams"];

fn cognito_idp(a: &Annotations<'_>) -> Result<Option<CognitoIdp>, BuildError> {
    let Some(idp) = a.go_json::<CognitoIdp>("auth-idp-cognito", COGNITO_SHAPE, COGNITO_FIELDS)? else {
        return Ok(None);
    };
    let raw = a.get("auth-idp-cognito").unwrap_or_default();
    let required = [
        ("userPoolARN", &idp.user_pool_arn),
        ("userPoolClientID", &idp.user_pool_client_id),
        ("userPoolDomain", &idp.user_pool_domain),
    ];
    if let Some((field, _)) = required.iter().find(|(_, value)| value.trim().is_empty()) {
        return Err(a.invalid("auth-idp-cognito", raw, &format!("{COGNITO_SHAPE}; {field} is missing")));
    }
    if !idp.user_pool_arn.starts_with("arn:") || !idp.user_pool_arn.contains(":cognito-idp:") {
        return Err(a.invalid(
            "auth-idp-cognito",
            raw,
            &format!("{COGNITO_SHAPE}; userPoolARN is a user pool ARN like arn:aws:cognito-idp:<region>:<account>:userpool/<id>"),
        ));
    }
    check_extra_params(a, "auth-idp-cognito", raw, &idp.authentication_request_extra_params)?;
    Ok(Some(idp))
}

fn check_extra_params(
    a: &Annotations<'_>,
    suffix: &str,
    raw: &str,
    params: &BTreeMap<String, String>,
) -> Result<(), BuildError> {
    if params.len() > MAX_EXTRA_PARAMS {
        return Err(a.invalid(suffix, raw, "at most 10 authenticationRequestExtraParams, as ELBv2 takes"));
    }
    Ok(())
}

fn cognito(idp: CognitoIdp, common: Common) -> AuthenticateCognito {
    AuthenticateCognito {
        user_pool_arn: idp.user_pool_arn,
        user_pool_client_id: idp.user_pool_client_id,
        user_pool_domain: idp.user_pool_domain,
        authentication_request_extra_params: idp.authentication_request_extra_params,
        on_unauthenticated_request: common.on_unauthenticated,
        scope: common.scope,
        session_cookie_name: common.session_cookie,
        session_timeout: common.session_timeout,
    }
}

/// `jwt-validation` as LBC writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JwtConfig {
    #[serde(default)]
    jwks_endpoint: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    additional_claims: Vec<JwtClaimConfig>,
}

#[derive(Debug, Deserialize)]
struct JwtClaimConfig {
    #[serde(default)]
    format: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    values: Vec<String>,
}

const JWT_SHAPE: &str = "a JSON object with jwksEndpoint, issuer and optional additionalClaims";
const JWT_FIELDS: &[&str] = &["jwksEndpoint", "issuer", "additionalClaims", "format", "name", "values"];

/// `jwt-validation`, with LBC's checks (jwksEndpoint and issuer required; each claim needs a
/// format, a name and values) and ELBv2's claim formats.
fn jwt_validation(a: &Annotations<'_>) -> Result<Option<JwtValidation>, BuildError> {
    let Some(config) = a.go_json::<JwtConfig>("jwt-validation", JWT_SHAPE, JWT_FIELDS)? else { return Ok(None) };
    let raw = a.get("jwt-validation").unwrap_or_default();
    let invalid = |why: &str| a.invalid("jwt-validation", raw, &format!("{JWT_SHAPE}; {why}"));
    if config.jwks_endpoint.trim().is_empty() {
        return Err(invalid("jwksEndpoint is required"));
    }
    if config.issuer.trim().is_empty() {
        return Err(invalid("issuer is required"));
    }
    let mut claims = Vec::with_capacity(config.additional_claims.len());
    for claim in config.additional_claims {
        if claim.name.is_empty() {
            return Err(invalid("every additional claim needs a name"));
        }
        let format = JwtClaimFormat::parse(&claim.format).ok_or_else(|| {
            invalid(&format!(
                "claim {} has format {:?}; expected single-string, string-array or space-separated-values",
                claim.name, claim.format
            ))
        })?;
        if claim.values.is_empty() {
            return Err(invalid(&format!("claim {} needs values", claim.name)));
        }
        claims.push(JwtClaim { format, name: claim.name, values: claim.values });
    }
    Ok(Some(JwtValidation { jwks_endpoint: config.jwks_endpoint, issuer: config.issuer, additional_claims: claims }))
}
