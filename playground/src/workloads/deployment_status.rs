//! A Deployment's status as kube-controller-manager computes it (`calculateStatus`,
//! `syncRolloutStatus`, `checkPausedConditions`): the counts summed over its ReplicaSets,
//! `Available` (at least `replicas - maxUnavailable` available), and, while a rollout is followed,
//! `Progressing`: NewReplicaSetCreated or FoundNewReplicaSet, ReplicaSetUpdated on each step
//! (which moves its lastUpdateTime), NewReplicaSetAvailable once complete, and
//! ProgressDeadlineExceeded when no step came within `progressDeadlineSeconds`; DeploymentPaused
//! and DeploymentResumed with `spec.paused`. Pure: `deployments.rs` writes the result.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::objects;
use super::rollout::{self, Counts, Spec};

/// What the controller saw and did in one reconcile.
pub struct Observed<'a> {
    pub deployment: &'a Deployment,
    pub spec: Spec,
    pub counts: Counts,
    /// The name of the ReplicaSet of the current template, if there is one.
    pub new_set: Option<&'a str>,
    /// That ReplicaSet was created in this reconcile.
    pub created: bool,
    /// The reconcile followed the rollout (not only a change of replicas).
    pub rolling: bool,
}

/// The status to write, and how long until the progress deadline would pass while a rollout is
/// under way (when to look again).
pub fn next(observed: &Observed<'_>, now: &Time) -> (DeploymentStatus, Option<Duration>) {
    let d = observed.deployment;
    let (spec, counts) = (&observed.spec, &observed.counts);
    let current = d.status.clone().unwrap_or_default();
    let mut conditions = current.conditions.clone().unwrap_or_default();
    let available = counts.available >= spec.replicas - spec.max_unavailable;
    let (status, reason, message) = if available {
        ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    } else {
        ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    };
    set_condition(&mut conditions, condition("Available", status, reason, message.into(), now));

    let paused = d.spec.as_ref().and_then(|s| s.paused) == Some(true);
    let deadline = d.spec.as_ref().and_then(|s| s.progress_deadline_seconds);
    let reason_of =
        |c: &[DeploymentCondition]| c.iter().find(|c| c.type_ == "Progressing").and_then(|c| c.reason.clone());
    let was = reason_of(&conditions);
    if paused && was.as_deref() != Some("DeploymentPaused") {
        let paused = condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused".into(), now);
        set_condition(&mut conditions, paused);
    } else if !paused && was.as_deref() == Some("DeploymentPaused") {
        let resumed = condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed".into(), now);
        set_condition(&mut conditions, resumed);
    }

    let complete = rollout::is_complete(spec, counts);
    let followed = observed.rolling && !paused;
    if let Some(deadline) = deadline.filter(|_| followed) {
        progress(observed, &current, &mut conditions, deadline, now);
    }
    // While the rollout is under way, look again when its deadline would pass.
    let left = deadline.filter(|_| followed && !complete).and_then(|deadline| {
        let progress = conditions.iter().find(|c| c.type_ == "Progressing")?;
        if progress.reason.as_deref() == Some("ProgressDeadlineExceeded") {
            return None;
        }
        let since = progress.last_update_time.as_ref().map_or(0, |t| now.0.as_second() - t.0.as_second());
        Some(Duration::from_secs(u64::try_from(i64::from(deadline) - since).unwrap_or(0) + 1))
    });
    let status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(counts.replicas),
        updated_replicas: Some(counts.updated),
        ready_replicas: Some(counts.ready),
        available_replicas: Some(counts.available),
        unavailable_replicas: Some(counts.unavailable),
        terminating_replicas: Some(counts.terminating),
        conditions: Some(conditions),
        collision_count: current.collision_count,
    };
    (status, left)
}

/// The Progressing condition of a followed rollout.
fn progress(
    observed: &Observed<'_>,
    before: &DeploymentStatus,
    conditions: &mut Vec<DeploymentCondition>,
    deadline: i32,
    now: &Time,
) {
    let counts = &observed.counts;
    let subject = match observed.new_set {
        Some(rs) => format!("ReplicaSet \"{rs}\""),
        None => format!("Deployment \"{}\"", objects::name(&observed.deployment.metadata)),
    };
    let had_progress = conditions.iter().any(|c| c.type_ == "Progressing");
    if let Some(name) = observed.new_set {
        if observed.created {
            let message = format!("Created new replica set \"{name}\"");
            set_condition(conditions, condition("Progressing", "True", "NewReplicaSetCreated", message, now));
        } else if !had_progress {
            let message = format!("Found new replica set \"{name}\"");
            set_condition(conditions, condition("Progressing", "True", "FoundNewReplicaSet", message, now));
        }
    }
    let current = conditions.iter().find(|c| c.type_ == "Progressing").cloned();
    let reason = current.as_ref().and_then(|c| c.reason.clone());
    // A finished rollout stays finished until the template changes.
    if counts.replicas == counts.updated && reason.as_deref() == Some("NewReplicaSetAvailable") {
        return;
    }
    if rollout::is_complete(&observed.spec, counts) {
        let message = format!("{subject} has successfully progressed.");
        set_condition(conditions, condition("Progressing", "True", "NewReplicaSetAvailable", message, now));
    } else if progress_made(before, counts) {
        // Progress moves lastUpdateTime even when the reason stays the same.
        let mut progressing =
            condition("Progressing", "True", "ReplicaSetUpdated", format!("{subject} is progressing."), now);
        if let Some(c) = current.as_ref().filter(|c| c.status == "True") {
            progressing.last_transition_time = c.last_transition_time.clone();
        }
        conditions.retain(|c| c.type_ != "Progressing");
        conditions.push(progressing);
    } else if let Some(c) = &current
        && reason.as_deref() != Some("ProgressDeadlineExceeded")
        && c.last_update_time.as_ref().map_or(0, |t| now.0.as_second() - t.0.as_second()) > i64::from(deadline)
    {
        let message = format!("{subject} has timed out progressing.");
        set_condition(conditions, condition("Progressing", "False", "ProgressDeadlineExceeded", message, now));
    }
}

/// `DeploymentProgressing`: more pods updated, fewer old ones, more ready or available.
fn progress_made(before: &DeploymentStatus, now: &Counts) -> bool {
    let (replicas, updated) = (before.replicas.unwrap_or(0), before.updated_replicas.unwrap_or(0));
    now.updated > updated
        || now.replicas - now.updated < replicas - updated
        || now.ready > before.ready_replicas.unwrap_or(0)
        || now.available > before.available_replicas.unwrap_or(0)
}

fn condition(kind: &str, status: &str, reason: &str, message: String, now: &Time) -> DeploymentCondition {
    DeploymentCondition {
        type_: kind.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

/// `SetDeploymentCondition`: nothing changes when status and reason are the same; the transition
/// time stays when only the reason changes.
fn set_condition(conditions: &mut Vec<DeploymentCondition>, mut condition: DeploymentCondition) {
    if let Some(current) = conditions.iter().find(|c| c.type_ == condition.type_) {
        if current.status == condition.status && current.reason == condition.reason {
            return;
        }
        if current.status == condition.status {
            condition.last_transition_time = current.last_transition_time.clone();
        }
    }
    conditions.retain(|c| c.type_ != condition.type_);
    conditions.push(condition);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn at(second: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(second).unwrap())
    }

    fn deployment(status: Value, paused: bool) -> Deployment {
        serde_json::from_value(json!({
            "metadata": { "name": "web", "generation": 2 },
            "spec": { "replicas": 3, "paused": paused, "progressDeadlineSeconds": 600,
                "selector": { "matchLabels": { "app": "web" } }, "template": {} },
            "status": status,
        }))
        .unwrap()
    }

    fn counts(replicas: i32, updated: i32, available: i32) -> Counts {
        Counts { replicas, updated, ready: available, available, unavailable: replicas - available, terminating: 0 }
    }

    fn progressing(status: &DeploymentStatus) -> (String, String, Option<Time>, Option<Time>) {
        let c = status.conditions.iter().flatten().find(|c| c.type_ == "Progressing").unwrap();
        (
            c.status.clone(),
            c.reason.clone().unwrap_or_default(),
            c.last_update_time.clone(),
            c.last_transition_time.clone(),
        )
    }

    fn observe<'a>(d: &'a Deployment, counts: Counts, created: bool) -> Observed<'a> {
        Observed { deployment: d, spec: Spec::of(d), counts, new_set: Some("web-new"), created, rolling: true }
    }

    #[test]
    fn a_rollout_is_created_progresses_and_completes() {
        let d = deployment(
            json!({ "replicas": 3, "updatedReplicas": 0, "readyReplicas": 3, "availableReplicas": 3 }),
            false,
        );
        let (created, left) = next(&observe(&d, counts(3, 0, 3), true), &at(100));
        assert_eq!(progressing(&created).1, "NewReplicaSetCreated");
        assert_eq!(left, Some(Duration::from_secs(601)), "looked at again when the deadline would pass");
        assert_eq!(created.observed_generation, Some(2));

        let d = deployment(serde_json::to_value(&created).unwrap(), false);
        let (step, _) = next(&observe(&d, counts(4, 1, 3), false), &at(130));
        assert_eq!(progressing(&step), ("True".into(), "ReplicaSetUpdated".into(), Some(at(130)), Some(at(100))));

        let d = deployment(serde_json::to_value(&step).unwrap(), false);
        let (done, left) = next(&observe(&d, counts(3, 3, 3), false), &at(160));
        assert_eq!(progressing(&done).1, "NewReplicaSetAvailable");
        assert_eq!(left, None);
        let available = done.conditions.iter().flatten().find(|c| c.type_ == "Available").unwrap();
        assert_eq!(available.status, "True");
    }

    #[test]
    fn a_rollout_that_stops_moving_exceeds_its_deadline() {
        let status = json!({ "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3, "conditions": [{
            "type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
            "lastUpdateTime": "1970-01-01T00:01:40Z", "lastTransitionTime": "1970-01-01T00:01:40Z" }] });
        let d = deployment(status, false);
        let (waiting, left) = next(&observe(&d, counts(4, 1, 3), false), &at(400));
        assert_eq!(progressing(&waiting).1, "ReplicaSetUpdated");
        assert_eq!(left, Some(Duration::from_secs(301)));
        let (late, left) = next(&observe(&d, counts(4, 1, 3), false), &at(701));
        assert_eq!(progressing(&late).0, "False");
        assert_eq!(progressing(&late).1, "ProgressDeadlineExceeded");
        assert_eq!(left, None);
    }

    #[test]
    fn a_paused_deployment_says_so_and_too_few_available_replicas_are_unavailable() {
        let d = deployment(json!({}), true);
        let (paused, _) = next(&observe(&d, counts(3, 3, 1), false), &at(100));
        assert_eq!(progressing(&paused), ("Unknown".into(), "DeploymentPaused".into(), Some(at(100)), Some(at(100))));
        let available = paused.conditions.iter().flatten().find(|c| c.type_ == "Available").unwrap();
        assert_eq!(
            (available.status.as_str(), available.reason.as_deref()),
            ("False", Some("MinimumReplicasUnavailable"))
        );
        let d = deployment(serde_json::to_value(&paused).unwrap(), false);
        let (resumed, _) = next(&observe(&d, counts(3, 3, 3), false), &at(110));
        assert_eq!(progressing(&resumed).1, "NewReplicaSetAvailable", "resumed, then found complete");
    }

    #[test]
    fn a_condition_keeps_its_transition_time_while_its_status_holds() {
        let mut conditions = vec![condition("Progressing", "True", "NewReplicaSetCreated", "created".into(), &at(1))];
        set_condition(
            &mut conditions,
            condition("Progressing", "True", "NewReplicaSetCreated", "again".into(), &at(2)),
        );
        assert_eq!(conditions[0].message.as_deref(), Some("created"), "same status and reason: unchanged");
        set_condition(
            &mut conditions,
            condition("Progressing", "True", "NewReplicaSetAvailable", "done".into(), &at(3)),
        );
        assert_eq!(
            (conditions[0].last_transition_time.clone(), conditions[0].last_update_time.clone()),
            (Some(at(1)), Some(at(3)))
        );
        set_condition(
            &mut conditions,
            condition("Progressing", "False", "ProgressDeadlineExceeded", "late".into(), &at(4)),
        );
        assert_eq!(conditions[0].last_transition_time, Some(at(4)));
        assert_eq!(conditions.len(), 1);
    }
}
