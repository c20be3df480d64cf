//! What ELBv2 checks in a listener's default actions and a rule's actions, and how it reports them.
//!
//! - One final action (forward, redirect or fixed response), and it comes last; before it at
//!   most one authenticate (OIDC or Cognito) action and at most one JWT validation. ELBv2
//!   answers `InvalidLoadBalancerAction` ("the requested action is not valid") otherwise.
//! - Authenticate and JWT-validation actions run only on HTTPS listeners (the Application Load
//!   Balancer guide: "you can configure authentication for HTTPS listeners only"); on an HTTP
//!   listener ELBv2 refuses the action, with the same code.
//! - An OIDC action needs its client secret on create and on modify (unless the caller sets
//!   `UseExistingClientSecret`, which Elbow never does: it always sends the secret).
//! - AWS never reports the client secret back: describe answers and create answers leave it out.
//!   The fake keeps what was sent, which tests read with `FakeCloud::client_secrets`.

use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudErrorKind, CloudResult};
use elbow_cloud::types::Arn;
use elbow_model::{Action, Protocol};

use super::fail;

pub(super) fn check_actions(api: Api, protocol: Protocol, actions: &[Action<Arn>]) -> CloudResult<()> {
    let invalid = |message: String| fail(api, CloudErrorKind::InvalidRequest, "InvalidLoadBalancerAction", message);
    let Some((last, before)) = actions.split_last() else {
        return Err(fail(api, CloudErrorKind::InvalidRequest, "ValidationError", "at least one action is required"));
    };
    if last.is_pre_routing() {
        return Err(invalid(format!(
            "the last action must be forward, redirect or fixed-response, not {}",
            last.type_name()
        )));
    }
    if let Some(final_early) = before.iter().find(|a| !a.is_pre_routing()) {
        return Err(invalid(format!("a {} action must be the last action", final_early.type_name())));
    }
    let authenticate = |a: &&Action<Arn>| matches!(a, Action::AuthenticateOidc(_) | Action::AuthenticateCognito(_));
    if before.iter().filter(authenticate).count() > 1 {
        return Err(invalid("at most one authenticate action is allowed".into()));
    }
    if before.iter().filter(|a| matches!(a, Action::JwtValidation(_))).count() > 1 {
        return Err(invalid("at most one jwt-validation action is allowed".into()));
    }
    if let Some(pre) = before.first()
        && protocol != Protocol::Https
    {
        return Err(invalid(format!(
            "{} actions are supported only on HTTPS listeners, not {}",
            pre.type_name(),
            protocol.as_str()
        )));
    }
    for action in before {
        if let Action::AuthenticateOidc(config) = action
            && config.client_secret.as_ref().is_none_or(|s| s.expose().is_empty())
        {
            return Err(invalid("an authenticate-oidc action needs its ClientSecret".into()));
        }
    }
    Ok(())
}

/// Actions as AWS reports them: without the client secret.
pub(super) fn reported(actions: &[Action<Arn>]) -> Vec<Action<Arn>> {
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

/// The client secrets the actions carry, as sent.
pub(super) fn secrets(actions: &[Action<Arn>]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::AuthenticateOidc(config) => config.client_secret.as_ref().map(|s| s.expose().to_string()),
            _ => None,
        })
        .collect()
}
