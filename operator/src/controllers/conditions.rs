//! The `elbow.dev/LoadBalancerReady` condition and the `status.loadBalancer` entries Elbow owns on
//! the objects it serves. Pure: computes the new status from the old one, so "patch only when it
//! differs" is a plain comparison and the rules are tested without a server.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// The condition type Elbow sets on every Service and Ingress it serves.
pub const READY_CONDITION: &str = "elbow.dev/LoadBalancerReady";

/// Why the load balancer is (not) ready; the condition's `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyReason {
    /// Provisioned and up to date, and AWS reports the load balancer `active`.
    Provisioned,
    /// Created (the hostname is known), but AWS still reports it `provisioning`: it does not
    /// route traffic yet. Checked again shortly.
    Provisioning,
    /// The object asks for something Elbow cannot build; the user must change it.
    InvalidConfiguration,
    /// A cloud or API call failed; Elbow retries with backoff.
    ProvisioningFailed,
}

impl ReadyReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioned => "Provisioned",
            Self::Provisioning => "Provisioning",
            Self::InvalidConfiguration => "InvalidConfiguration",
            Self::ProvisioningFailed => "ProvisioningFailed",
        }
    }

    fn status(self) -> &'static str {
        match self {
            Self::Provisioned => "True",
            Self::Provisioning | Self::InvalidConfiguration | Self::ProvisioningFailed => "False",
        }
    }
}

/// `conditions` with Elbow's condition set to `reason`/`message`; other controllers' conditions
/// are kept as they are. `lastTransitionTime` moves only when the status flips, as the API
/// conventions ask; `None` when nothing would change (so the caller skips the patch).
pub fn with_ready_condition(
    conditions: &[Condition],
    reason: ReadyReason,
    message: &str,
    observed_generation: Option<i64>,
    now: Timestamp,
) -> Option<Vec<Condition>> {
    let wanted = Wanted { type_: READY_CONDITION, status: reason.status(), reason: reason.as_str(), message };
    with_condition(conditions, &wanted, observed_generation, now)
}

/// A condition as a controller wants it to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted<'a> {
    pub type_: &'a str,
    /// `True`, `False` or `Unknown`.
    pub status: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

/// `conditions` with the condition of `wanted.type_` set as `wanted` says, by the rules of
/// [`with_ready_condition`]; `None` when it already reads so.
pub fn with_condition(
    conditions: &[Condition],
    wanted: &Wanted<'_>,
    observed_generation: Option<i64>,
    now: Timestamp,
) -> Option<Vec<Condition>> {
    let existing = conditions.iter().find(|c| c.type_ == wanted.type_);
    if let Some(current) = existing
        && current.status == wanted.status
        && current.reason == wanted.reason
        && current.message == wanted.message
        && current.observed_generation == observed_generation
    {
        return None;
    }
    let last_transition_time = match existing {
        Some(current) if current.status == wanted.status => current.last_transition_time.clone(),
        _ => Time(now),
    };
    let updated = Condition {
        type_: wanted.type_.to_string(),
        status: wanted.status.to_string(),
        reason: wanted.reason.to_string(),
        message: wanted.message.to_string(),
        observed_generation,
        last_transition_time,
    };
    let mut result: Vec<Condition> = conditions.iter().filter(|c| c.type_ != wanted.type_).cloned().collect();
    result.push(updated);
    Some(result)
}

/// `conditions` without Elbow's condition; `None` when it was not there.
pub fn without_ready_condition(conditions: &[Condition]) -> Option<Vec<Condition>> {
    conditions
        .iter()
        .any(|c| c.type_ == READY_CONDITION)
        .then(|| conditions.iter().filter(|c| c.type_ != READY_CONDITION).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("a small positive number of seconds is a valid timestamp")
    }

    fn foreign() -> Condition {
        Condition {
            type_: "example.com/Other".into(),
            status: "True".into(),
            reason: "Fine".into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(at(1)),
        }
    }

    #[test]
    fn sets_the_condition_and_keeps_other_controllers_conditions() {
        let updated = with_ready_condition(&[foreign()], ReadyReason::Provisioned, "ok", Some(3), at(10))
            .expect("the condition was missing");
        assert_eq!(updated.len(), 2);
        assert_eq!(updated[0], foreign());
        assert_eq!(updated[1].status, "True");
        assert_eq!(updated[1].reason, "Provisioned");
        assert_eq!(updated[1].observed_generation, Some(3));
        assert_eq!(updated[1].last_transition_time, Time(at(10)));
    }

    #[test]
    fn an_unchanged_condition_needs_no_patch() {
        let first = with_ready_condition(&[], ReadyReason::Provisioned, "ok", Some(1), at(10)).expect("new");
        assert_eq!(with_ready_condition(&first, ReadyReason::Provisioned, "ok", Some(1), at(20)), None);
    }

    #[test]
    fn the_transition_time_moves_only_when_the_status_flips() {
        let failed =
            with_ready_condition(&[], ReadyReason::ProvisioningFailed, "throttled", None, at(10)).expect("new");
        let still_failing =
            with_ready_condition(&failed, ReadyReason::InvalidConfiguration, "bad scheme", None, at(20))
                .expect("reason changed");
        assert_eq!(still_failing[0].last_transition_time, Time(at(10)));
        let recovered =
            with_ready_condition(&still_failing, ReadyReason::Provisioned, "ok", None, at(30)).expect("status flipped");
        assert_eq!(recovered[0].last_transition_time, Time(at(30)));
        assert_eq!(recovered[0].status, "True");
    }

    #[test]
    fn removing_the_condition_leaves_the_others() {
        let with_ours = with_ready_condition(&[foreign()], ReadyReason::Provisioned, "ok", None, at(10)).expect("new");
        assert_eq!(without_ready_condition(&with_ours), Some(vec![foreign()]));
        assert_eq!(without_ready_condition(&[foreign()]), None);
    }
}
