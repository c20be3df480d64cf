//! The actions an application load balancer runs before a rule's final action (forward, redirect,
//! fixed response): authenticate the user with an OpenID Connect provider or an Amazon Cognito
//! user pool, or validate a JSON Web Token the client sends. ELBv2 runs them only on HTTPS
//! listeners, in their `Order`, and refuses them elsewhere.
//!
//! An OIDC action carries the client secret, which AWS needs on create but never reports back on
//! describe. [`ClientSecret`] keeps it out of every printout: its `Debug` and `Serialize` write a
//! placeholder, so plans, logs and events built from a stack never show it; the deployer reads
//! the value with [`ClientSecret::expose`] where it calls AWS, and nowhere else.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a load balancer does with a request that carries no valid session (ELBv2's
/// `OnUnauthenticatedRequest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnUnauthenticated {
    /// Send the user to the identity provider to sign in.
    #[default]
    Authenticate,
    /// Forward the request without a session.
    Allow,
    /// Answer 401 Unauthorized.
    Deny,
}

impl OnUnauthenticated {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticate => "authenticate",
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "authenticate" => Self::Authenticate,
            "allow" => Self::Allow,
            "deny" => Self::Deny,
            _ => return None,
        })
    }
}

/// An OAuth 2.0 client secret. Compared by value, shown as [`ClientSecret::REDACTED`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// What `Debug` and `Serialize` write instead of the secret.
    pub const REDACTED: &'static str = "<redacted>";

    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the call that sends it to AWS and for the fingerprint the deployer
    /// keeps in memory; never for anything a person reads.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

impl Serialize for ClientSecret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(Self::REDACTED)
    }
}

impl<'de> Deserialize<'de> for ClientSecret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// ELBv2's `AuthenticateOidcConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateOidc {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub user_info_endpoint: String,
    pub client_id: String,
    /// Always set in a desired stack; `None` in what the cloud reports, since AWS never returns it.
    pub client_secret: Option<ClientSecret>,
    /// At most 10 query parameters for the redirect to the authorization endpoint.
    pub authentication_request_extra_params: BTreeMap<String, String>,
    pub on_unauthenticated_request: OnUnauthenticated,
    /// Space-separated claims to request, `openid` by default.
    pub scope: String,
    pub session_cookie_name: String,
    pub session_timeout: u64,
}

/// ELBv2's `AuthenticateCognitoConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateCognito {
    pub user_pool_arn: String,
    pub user_pool_client_id: String,
    /// The domain prefix of the user pool, or its full custom domain.
    pub user_pool_domain: String,
    pub authentication_request_extra_params: BTreeMap<String, String>,
    pub on_unauthenticated_request: OnUnauthenticated,
    pub scope: String,
    pub session_cookie_name: String,
    pub session_timeout: u64,
}

/// ELBv2's `JwtValidationConfig`: the token in the request's `Authorization` header must be
/// signed by a key of `jwks_endpoint`, issued by `issuer` and not expired, and carry the
/// additional claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtValidation {
    pub jwks_endpoint: String,
    pub issuer: String,
    pub additional_claims: Vec<JwtClaim>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtClaim {
    pub format: JwtClaimFormat,
    pub name: String,
    pub values: Vec<String>,
}

/// How a claim's value is written in the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JwtClaimFormat {
    SingleString,
    StringArray,
    SpaceSeparatedValues,
}

impl JwtClaimFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleString => "single-string",
            Self::StringArray => "string-array",
            Self::SpaceSeparatedValues => "space-separated-values",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "single-string" => Self::SingleString,
            "string-array" => Self::StringArray,
            "space-separated-values" => Self::SpaceSeparatedValues,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_secret_is_never_printed_but_compares_by_value() {
        let secret = ClientSecret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"<redacted>\"");
        assert_eq!(secret.expose(), "hunter2");
        assert_ne!(secret, ClientSecret::new("hunter3"));
    }

    #[test]
    fn enums_take_elbv2_spellings() {
        for value in [OnUnauthenticated::Authenticate, OnUnauthenticated::Allow, OnUnauthenticated::Deny] {
            assert_eq!(OnUnauthenticated::parse(value.as_str()), Some(value));
        }
        assert_eq!(OnUnauthenticated::parse("Deny"), None);
        for format in [JwtClaimFormat::SingleString, JwtClaimFormat::StringArray, JwtClaimFormat::SpaceSeparatedValues]
        {
            assert_eq!(JwtClaimFormat::parse(format.as_str()), Some(format));
            assert_eq!(serde_json::to_value(format).unwrap(), format.as_str());
        }
    }
}
