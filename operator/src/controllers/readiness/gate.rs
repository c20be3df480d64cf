//! One gate's state machine: what the pod condition `target-health.elbow.dev/<target group>`
//! should say, from what the load balancer reports of the pod's target, and whether the pod
//! condition must be written for it.
//!
//! ```text
//! no such target group (yet)          False  Elbow.TargetGroupNotFound
//! pod's address not among its targets False  Elb.RegistrationInProgress   (registering)
//! a target of the pod not healthy     False  its reason (Elb.InitialHealthChecking,
//!                                            Target.ResponseCodeMismatch, ...) and description
//! every target of the pod healthy     True   (AWS gives no reason)
//! target group deleted with its stack True   Elbow.TargetGroupDeleted     (the gate lets go)
//! ```
//!
//! The AWS Load Balancer Controller writes the same states (its reasons are AWS's own), and
//! does not write again while status, reason and message are unchanged; the transition time
//! moves only when the status does.

use elbow_cloud::TargetHealth;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use super::pods::GateCondition;

/// What is known of the gate's target group.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    /// Elbow deployed no target group of that name, or not yet.
    NoTargetGroup,
    /// DescribeTargetHealth's answer for the group: every registered target.
    Targets(&'a [TargetHealth]),
    /// Deleted with its stack (the Service or Ingress is gone, or no longer has it): the gate
    /// must not hold the pod for ever, as LBC lets go when its TargetGroupBinding is deleted.
    Deleted,
}

/// The condition a gate should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ready: bool,
    pub reason: Option<String>,
    pub message: Option<String>,
}

impl Verdict {
    fn not_ready(reason: &str, message: String) -> Self {
        Self { ready: false, reason: Some(reason.to_string()), message: Some(message) }
    }

    fn status(&self) -> &'static str {
        if self.ready { "True" } else { "False" }
    }
}

/// The verdict for the pod at `ip` on target group `target_group`.
pub fn judge(target_group: &str, ip: &str, seen: Seen<'_>) -> Verdict {
    match seen {
        Seen::NoTargetGroup => Verdict::not_ready(
            "Elbow.TargetGroupNotFound",
            format!("Elbow has not made target group {target_group} (yet); it does with the load balancer"),
        ),
        Seen::Deleted => Verdict {
            ready: true,
            reason: Some("Elbow.TargetGroupDeleted".into()),
            message: Some(format!("target group {target_group} was deleted; the gate no longer holds the pod")),
        },
        Seen::Targets(targets) => {
            // One target per target group in practice (a group serves one Service port); if the
            // pod were registered on several ports, every one must be healthy.
            let mine: Vec<&TargetHealth> = targets.iter().filter(|t| t.target.id == ip).collect();
            let Some(first_unhealthy) = mine.iter().find(|t| t.state != "healthy") else {
                if mine.is_empty() {
                    return Verdict::not_ready(
                        "Elb.RegistrationInProgress",
                        "Target registration is in progress".into(),
                    );
                }
                return Verdict { ready: true, reason: None, message: None };
            };
            Verdict {
                ready: false,
                reason: first_unhealthy.reason.clone(),
                message: first_unhealthy
                    .description
                    .clone()
                    .or_else(|| Some(format!("the target is {}", first_unhealthy.state))),
            }
        }
    }
}

/// The pod condition to write for gate `condition_type` when `verdict` differs from `current`
/// (status, reason or message), as one entry of a strategic merge patch of `status.conditions`
/// (merged by `type`, so the pod's other conditions stay). None when nothing changed.
pub fn condition_patch(
    condition_type: &str,
    current: Option<&GateCondition>,
    verdict: &Verdict,
    now: Time,
) -> Option<Value> {
    if let Some(current) = current
        && current.status == verdict.status()
        && current.reason == verdict.reason
        && current.message == verdict.message
    {
        return None;
    }
    let since = match current {
        Some(current) if current.status == verdict.status() => current.last_transition_time.clone(),
        _ => Some(now),
    };
    Some(json!({
        "type": condition_type,
        "status": verdict.status(),
        "reason": verdict.reason,
        "message": verdict.message,
        "lastProbeTime": null,
        "lastTransitionTime": since,
    }))
}

#[cfg(test)]
mod tests {
    use elbow_model::Target;
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    const TG: &str = "k8s-shop-web-0123456789";

    fn health(id: &str, port: u16, state: &str, reason: Option<&str>, description: Option<&str>) -> TargetHealth {
        TargetHealth {
            target: Target::new(id, port),
            state: state.into(),
            reason: reason.map(str::to_string),
            description: description.map(str::to_string),
        }
    }

    fn verdict(ready: bool, reason: Option<&str>, message: Option<&str>) -> Verdict {
        Verdict { ready, reason: reason.map(str::to_string), message: message.map(str::to_string) }
    }

    #[test]
    fn the_verdict_follows_the_pods_target_health() {
        let others = [health("10.0.1.9", 8080, "healthy", None, None)];
        let initial = [
            health(
                "10.0.1.5",
                8080,
                "initial",
                Some("Elb.InitialHealthChecking"),
                Some("Initial health checks in progress"),
            ),
            health("10.0.1.9", 8080, "healthy", None, None),
        ];
        let failing = [health(
            "10.0.1.5",
            8080,
            "unhealthy",
            Some("Target.ResponseCodeMismatch"),
            Some("Health checks failed with these codes: [503]"),
        )];
        let healthy = [health("10.0.1.5", 8080, "healthy", None, None)];
        let draining = [health("10.0.1.5", 8080, "draining", Some("Target.DeregistrationInProgress"), None)];
        let two_ports = [
            health("10.0.1.5", 8080, "healthy", None, None),
            health("10.0.1.5", 9090, "unhealthy", Some("Target.Timeout"), None),
        ];
        #[rustfmt::skip]
        let cases: [(&str, Seen<'_>, Verdict); 8] = [
            ("no target group", Seen::NoTargetGroup, verdict(false, Some("Elbow.TargetGroupNotFound"), Some(&format!("Elbow has not made target group {TG} (yet); it does with the load balancer")))),
            ("not registered yet", Seen::Targets(&others), verdict(false, Some("Elb.RegistrationInProgress"), Some("Target registration is in progress"))),
            ("initial", Seen::Targets(&initial), verdict(false, Some("Elb.InitialHealthChecking"), Some("Initial health checks in progress"))),
            ("unhealthy", Seen::Targets(&failing), verdict(false, Some("Target.ResponseCodeMismatch"), Some("Health checks failed with these codes: [503]"))),
            ("healthy", Seen::Targets(&healthy), verdict(true, None, None)),
            ("draining, no description", Seen::Targets(&draining), verdict(false, Some("Target.DeregistrationInProgress"), Some("the target is draining"))),
            ("one of two ports unhealthy", Seen::Targets(&two_ports), verdict(false, Some("Target.Timeout"), Some("the target is unhealthy"))),
            ("deleted", Seen::Deleted, verdict(true, Some("Elbow.TargetGroupDeleted"), Some(&format!("target group {TG} was deleted; the gate no longer holds the pod")))),
        ];
        for (what, seen, expected) in cases {
            assert_eq!(judge(TG, "10.0.1.5", seen), expected, "{what}");
        }
    }

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    fn current(status: &str, reason: Option<&str>, message: Option<&str>, since: i64) -> GateCondition {
        GateCondition {
            status: status.into(),
            reason: reason.map(str::to_string),
            message: message.map(str::to_string),
            last_transition_time: Some(at(since)),
        }
    }

    #[test]
    fn a_condition_is_written_only_when_it_changes_and_its_time_moves_with_its_status() {
        let gate = format!("target-health.elbow.dev/{TG}");
        let registering =
            verdict(false, Some("Elb.RegistrationInProgress"), Some("Target registration is in progress"));
        let first = condition_patch(&gate, None, &registering, at(100)).expect("a first condition");
        assert_eq!(
            first,
            json!({ "type": gate, "status": "False", "reason": "Elb.RegistrationInProgress",
                "message": "Target registration is in progress", "lastProbeTime": null,
                "lastTransitionTime": "1970-01-01T00:01:40Z" })
        );
        let written =
            current("False", Some("Elb.RegistrationInProgress"), Some("Target registration is in progress"), 100);
        assert_eq!(condition_patch(&gate, Some(&written), &registering, at(200)), None, "unchanged: no write");

        let initial = verdict(false, Some("Elb.InitialHealthChecking"), Some("Initial health checks in progress"));
        let moved = condition_patch(&gate, Some(&written), &initial, at(200)).expect("the reason changed");
        assert_eq!(moved["lastTransitionTime"], "1970-01-01T00:01:40Z", "still False: the time stays");

        let healthy = verdict(true, None, None);
        let ready = condition_patch(&gate, Some(&written), &healthy, at(300)).expect("True");
        assert_eq!(
            (&ready["status"], &ready["reason"], &ready["message"]),
            (&json!("True"), &Value::Null, &Value::Null)
        );
        assert_eq!(ready["lastTransitionTime"], "1970-01-01T00:05:00Z", "the status changed: the time moves");
        assert_eq!(condition_patch(&gate, Some(&current("True", None, None, 300)), &healthy, at(400)), None);
    }
}
