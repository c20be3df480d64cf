//! OIDC client secrets, which AWS takes on create and modify but never reports back, so the
//! planner cannot compare them with the cloud.
//!
//! The deployer keeps, in memory only, a fingerprint (SHA-256) of the secrets it last sent with each
//! listener's default actions and each rule, by ARN. A listener or rule whose other settings
//! match counts as up to date only when the fingerprint of its desired secrets is the one
//! remembered for its ARN; otherwise it is modified, with the secret. So a rotated secret reaches
//! AWS on the next deploy, an unchanged one costs no call, and after a restart (nothing
//! remembered) each listener and rule with an OIDC action is modified once, on its first full
//! deploy, since nothing else can tell whether AWS holds the current secret.
//!
//! Neither the secret nor its fingerprint leaves the process: plans, logs, events and tags show
//! neither (the model's `ClientSecret` prints a placeholder).

use std::collections::BTreeMap;

use elbow_cloud::Arn;
use elbow_model::{Action, Stack};
use sha2::{Digest, Sha256};

pub(crate) type Fingerprint = [u8; 32];

/// What was last sent, by listener or rule ARN.
pub(crate) type SentSecrets = BTreeMap<Arn, Fingerprint>;

/// The fingerprint of the client secrets among `actions`, in order; `None` when they have none.
pub(crate) fn fingerprint<T>(actions: &[Action<T>]) -> Option<Fingerprint> {
    let mut hasher = Sha256::new();
    let mut any = false;
    for action in actions {
        if let Action::AuthenticateOidc(config) = action {
            any = true;
            let secret = config.client_secret.as_ref().map(|s| s.expose()).unwrap_or_default();
            // Length-prefixed, so that two secrets cannot run into each other.
            hasher.update((secret.len() as u64).to_be_bytes());
            hasher.update(secret.as_bytes());
        }
    }
    any.then(|| hasher.finalize().into())
}

/// `actions` without their client secrets: what the cloud reports, and what the planner compares.
pub(crate) fn without_secrets<T: Clone>(actions: &[Action<T>]) -> Vec<Action<T>> {
    actions
        .iter()
        .map(|action| match action {
            Action::AuthenticateOidc(config) => {
                let mut config = config.clone();
                config.client_secret = None;
                Action::AuthenticateOidc(config)
            }
            other => other.clone(),
        })
        .collect()
}

/// Whether the cloud's `actual` actions (of the listener or rule `arn`) are the `desired` ones:
/// equal but for the secrets, which must be the ones last sent to `arn`.
pub(crate) fn same_actions(desired: &[Action<Arn>], actual: &[Action<Arn>], arn: &str, sent: &SentSecrets) -> bool {
    without_secrets(desired) == without_secrets(actual)
        && fingerprint(desired).is_none_or(|f| sent.get(arn) == Some(&f))
}

/// Feeds the stack's secrets to `hasher`, which its JSON leaves out: a rotated secret must change
/// the stack's hash, or the deploy would take the quick path and never send it.
pub(crate) fn hash_secrets(stack: &Stack, hasher: &mut Sha256) {
    for listener in &stack.listeners {
        let rules = listener.rules.iter().map(|r| r.actions.as_slice());
        for actions in std::iter::once(listener.default_actions.as_slice()).chain(rules) {
            if let Some(print) = fingerprint(actions) {
                hasher.update(print);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use elbow_model::{AuthenticateOidc, ClientSecret, OnUnauthenticated};

    use super::*;

    fn oidc(secret: Option<&str>) -> Action<Arn> {
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

    #[test]
    fn actions_match_only_with_the_secret_last_sent_to_that_arn() {
        let desired = vec![oidc(Some("s1")), Action::forward("arn:tg".to_string())];
        // What AWS reports: the same, without the secret.
        let actual = vec![oidc(None), Action::forward("arn:tg".to_string())];
        let sent_s1 = SentSecrets::from([("arn:rule".to_string(), fingerprint(&desired).unwrap())]);
        assert!(same_actions(&desired, &actual, "arn:rule", &sent_s1));
        assert!(!same_actions(&desired, &actual, "arn:other-rule", &sent_s1), "another rule's secret says nothing");
        assert!(!same_actions(&desired, &actual, "arn:rule", &SentSecrets::new()), "nothing known: send it");

        let rotated = vec![oidc(Some("s2")), Action::forward("arn:tg".to_string())];
        assert!(!same_actions(&rotated, &actual, "arn:rule", &sent_s1), "a rotated secret is sent");

        let mut other_setting = actual.clone();
        let Action::AuthenticateOidc(config) = &mut other_setting[0] else { unreachable!() };
        config.scope = "openid email".into();
        assert!(!same_actions(&desired, &other_setting, "arn:rule", &sent_s1));

        // Actions without OIDC need no memory at all.
        let plain = vec![Action::forward("arn:tg".to_string())];
        assert!(same_actions(&plain, &plain, "arn:rule", &SentSecrets::new()));
    }

    #[test]
    fn fingerprints_tell_secrets_and_their_boundaries_apart() {
        let one = fingerprint(&[oidc(Some("ab")), oidc(Some("c"))]);
        let other = fingerprint(&[oidc(Some("a")), oidc(Some("bc"))]);
        assert_ne!(one, other);
        assert_eq!(fingerprint::<Arn>(&[Action::forward("arn:tg".into())]), None);
    }
}
