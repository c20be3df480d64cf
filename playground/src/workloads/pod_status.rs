//! The status a kubelet reports for a pod at each stage of its life, and its Ready condition as
//! the kubelet computes it (`GeneratePodReadyCondition`): Ready only when every container is ready
//! and every readiness gate's condition is present and True; until then `ReadinessGatesNotReady`
//! naming what is missing. Pure: the kubelet (`kubelet.rs`) decides the stage and writes the result.
//!
//! No containers run, so there are no probes and no restarts: a container is ready as soon as it
//! has started, and exits with 0 when its pod is deleted.

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, HostIP,
    Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Where a pod's containers are.
#[derive(Debug, Clone, Copy)]
pub enum Stage<'a> {
    /// Bound to the node; sandbox and images on their way.
    Creating,
    /// Running since `since`, the pod at `ip`.
    Running { ip: &'a str, since: &'a Time },
    /// Stopped at `finished` after the pod was deleted.
    Completed { ip: &'a str, since: &'a Time, finished: &'a Time },
}

/// The status the kubelet reports: every field it owns, and only its own conditions
/// (PodReadyToStartContainers, Initialized, Ready, ContainersReady); the others (PodScheduled,
/// readiness gates) it leaves as they are.
pub fn status(pod: &Pod, stage: Stage<'_>, host_ip: Option<&str>, start_time: &Time, now: &Time) -> PodStatus {
    let spec = pod.spec.clone().unwrap_or_default();
    let containers: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    let (phase, sandbox, containers_ready) = match stage {
        Stage::Creating => ("Pending", false, false),
        Stage::Running { .. } => ("Running", true, true),
        Stage::Completed { .. } => ("Succeeded", false, false),
    };
    let ip = match stage {
        Stage::Creating => None,
        Stage::Running { ip, .. } | Stage::Completed { ip, .. } => Some(ip),
    };
    let unready = match stage {
        Stage::Completed { .. } => Readiness::NotReady { reason: "PodCompleted", message: None },
        _ if containers_ready => Readiness::Ready,
        _ => Readiness::NotReady {
            reason: "ContainersNotReady",
            message: Some(format!("containers with unready status: [{}]", containers.join(" "))),
        },
    };
    let others = pod.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    let ready = ready_condition(&spec.readiness_gates.clone().unwrap_or_default(), &others, &unready);
    let owned = [
        ("PodReadyToStartContainers", Readiness::from(sandbox)),
        ("Initialized", Readiness::Ready),
        ("Ready", ready),
        ("ContainersReady", unready),
    ];
    let conditions = owned.into_iter().map(|(kind, readiness)| condition(&others, kind, &readiness, now)).collect();
    let image = |name: &str| spec.containers.iter().find(|c| c.name == name).and_then(|c| c.image.clone());
    let container_statuses = spec
        .containers
        .iter()
        .map(|c| container_status(&c.name, image(&c.name).as_deref().unwrap_or_default(), stage))
        .collect();
    let init_container_statuses = spec.init_containers.as_ref().map(|inits| {
        inits
            .iter()
            .map(|c| {
                let sidecar = c.restart_policy.as_deref() == Some("Always");
                // Init containers ran to completion before the others started; sidecars run beside them.
                let stage = match stage {
                    Stage::Running { since, .. } if !sidecar => Stage::Completed { ip: "", since, finished: since },
                    other => other,
                };
                container_status(&c.name, c.image.as_deref().unwrap_or_default(), stage)
            })
            .collect()
    });
    PodStatus {
        phase: Some(phase.to_string()),
        host_ip: host_ip.map(str::to_string),
        host_ips: host_ip.map(|ip| vec![HostIP { ip: ip.to_string() }]),
        pod_ip: ip.map(str::to_string),
        pod_ips: ip.map(|ip| vec![PodIP { ip: ip.to_string() }]),
        start_time: Some(start_time.clone()),
        conditions: Some(conditions),
        container_statuses: Some(container_statuses),
        init_container_statuses,
        ..PodStatus::default()
    }
}

/// The status as a strategic merge patch: the kubelet's conditions say `reason` and `message`
/// even when they have none (null), so a reason left from an earlier state is deleted rather
/// than merged into the new one.
pub fn patch(status: &PodStatus) -> serde_json::Value {
    let mut patch = serde_json::to_value(status).unwrap_or_default();
    if let Some(conditions) = patch.get_mut("conditions").and_then(serde_json::Value::as_array_mut) {
        for condition in conditions.iter_mut().filter_map(serde_json::Value::as_object_mut) {
            for field in ["reason", "message"] {
                condition.entry(field).or_insert(serde_json::Value::Null);
            }
        }
    }
    serde_json::json!({ "status": patch })
}

/// Whether `current` already says all that `desired` (from [`status`]) says.
pub fn is_current(current: Option<&PodStatus>, desired: &PodStatus) -> bool {
    let Some(current) = current else { return false };
    let conditions = current.conditions.as_deref().unwrap_or_default();
    let same_conditions = desired
        .conditions
        .iter()
        .flatten()
        .all(|d| conditions.iter().any(|c| c.type_ == d.type_ && same_condition(c, d)));
    same_conditions
        && current.phase == desired.phase
        && current.host_ip == desired.host_ip
        && current.host_ips == desired.host_ips
        && current.pod_ip == desired.pod_ip
        && current.pod_ips == desired.pod_ips
        && current.start_time == desired.start_time
        && current.container_statuses == desired.container_statuses
        && current.init_container_statuses == desired.init_container_statuses
}

fn same_condition(a: &PodCondition, b: &PodCondition) -> bool {
    (&a.status, &a.reason, &a.message, &a.last_transition_time)
        == (&b.status, &b.reason, &b.message, &b.last_transition_time)
}

/// A condition's state before it is dated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady { reason: &'static str, message: Option<String> },
}

impl From<bool> for Readiness {
    fn from(ready: bool) -> Self {
        if ready { Readiness::Ready } else { Readiness::NotReady { reason: "", message: None } }
    }
}

/// The Ready condition: the containers' readiness, then every readiness gate's condition, as the
/// kubelet checks them (`ReadinessGatesNotReady`, one message per gate, joined by `, `).
pub fn ready_condition(
    gates: &[k8s_openapi::api::core::v1::PodReadinessGate],
    conditions: &[PodCondition],
    containers: &Readiness,
) -> Readiness {
    if *containers != Readiness::Ready {
        return containers.clone();
    }
    let unready: Vec<String> = gates
        .iter()
        .filter_map(|gate| match conditions.iter().find(|c| c.type_ == gate.condition_type) {
            None => Some(format!(
                "corresponding condition of pod readiness gate \"{}\" does not exist.",
                gate.condition_type
            )),
            Some(c) if c.status != "True" => Some(format!(
                "the status of pod readiness gate \"{}\" is not \"True\", but {}",
                gate.condition_type, c.status
            )),
            Some(_) => None,
        })
        .collect();
    if unready.is_empty() {
        Readiness::Ready
    } else {
        Readiness::NotReady { reason: "ReadinessGatesNotReady", message: Some(unready.join(", ")) }
    }
}

/// Condition `kind` in state `readiness`, keeping its transition time when its status is unchanged.
fn condition(existing: &[PodCondition], kind: &str, readiness: &Readiness, now: &Time) -> PodCondition {
    let (status, reason, message) = match readiness {
        Readiness::Ready => ("True", None, None),
        Readiness::NotReady { reason, message } => {
            ("False", (!reason.is_empty()).then(|| reason.to_string()), message.clone())
        }
    };
    let since = existing
        .iter()
        .find(|c| c.type_ == kind && c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    PodCondition {
        type_: kind.to_string(),
        status: status.to_string(),
        reason,
        message,
        last_transition_time: Some(since),
        ..PodCondition::default()
    }
}

fn container_status(name: &str, image: &str, stage: Stage<'_>) -> ContainerStatus {
    let (state, ready, started) = match stage {
        Stage::Creating => (
            ContainerState {
                waiting: Some(ContainerStateWaiting { reason: Some("ContainerCreating".into()), message: None }),
                ..ContainerState::default()
            },
            false,
            false,
        ),
        Stage::Running { since, .. } => (
            ContainerState {
                running: Some(ContainerStateRunning { started_at: Some(since.clone()) }),
                ..ContainerState::default()
            },
            true,
            true,
        ),
        Stage::Completed { since, finished, .. } => (
            ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 0,
                    reason: Some("Completed".into()),
                    started_at: Some(since.clone()),
                    finished_at: Some(finished.clone()),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            },
            false,
            false,
        ),
    };
    ContainerStatus {
        name: name.to_string(),
        image: qualified_image(image),
        ready,
        started: Some(started),
        restart_count: 0,
        state: Some(state),
        last_state: Some(ContainerState::default()),
        ..ContainerStatus::default()
    }
}

/// An image reference as a container runtime reports it: `nginx` is
/// `docker.io/library/nginx:latest`.
pub fn qualified_image(image: &str) -> String {
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let has_registry = first.contains('.') || first.contains(':') || first == "localhost";
    let mut qualified = match (has_registry, first.is_empty()) {
        (true, _) => image.to_string(),
        (false, true) => format!("docker.io/library/{image}"),
        (false, false) => format!("docker.io/{first}/{rest}"),
    };
    let last = qualified.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !last.contains('@') {
        qualified.push_str(":latest");
    }
    qualified
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodReadinessGate;
    use serde_json::json;

    fn time(second: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(second).unwrap())
    }

    fn pod(gates: &[&str], conditions: serde_json::Value) -> Pod {
        let gates: Vec<_> = gates.iter().map(|g| json!({ "conditionType": g })).collect();
        serde_json::from_value(json!({
            "metadata": { "name": "web-1" },
            "spec": { "containers": [{ "name": "nginx", "image": "nginx" }], "readinessGates": gates },
            "status": { "phase": "Pending", "conditions": conditions },
        }))
        .unwrap()
    }

    fn ready_of(status: &PodStatus) -> &PodCondition {
        status.conditions.iter().flatten().find(|c| c.type_ == "Ready").unwrap()
    }

    #[test]
    fn a_creating_pod_is_pending_and_not_ready_without_an_address() {
        let status = status(&pod(&[], json!([])), Stage::Creating, Some("10.0.100.250"), &time(100), &time(100));
        assert_eq!(status.phase.as_deref(), Some("Pending"));
        assert_eq!(status.pod_ip, None);
        assert_eq!(status.host_ip.as_deref(), Some("10.0.100.250"));
        let ready = ready_of(&status);
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("False", Some("ContainersNotReady")));
        assert_eq!(ready.message.as_deref(), Some("containers with unready status: [nginx]"));
        let waiting = status.container_statuses.as_ref().unwrap()[0].state.clone().unwrap().waiting.unwrap();
        assert_eq!(waiting.reason.as_deref(), Some("ContainerCreating"));
        assert_eq!(status.container_statuses.unwrap()[0].image, "docker.io/library/nginx:latest");
    }

    #[test]
    fn a_running_pod_is_ready_only_once_every_gate_is_true() {
        let gate = "target-health.elbow.dev/web";
        let running = |conditions| {
            let pod = pod(&[gate], conditions);
            status(&pod, Stage::Running { ip: "10.0.100.4", since: &time(100) }, None, &time(90), &time(110))
        };
        let missing = running(json!([]));
        let ready = ready_of(&missing);
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("False", Some("ReadinessGatesNotReady")));
        assert_eq!(
            ready.message.as_deref(),
            Some("corresponding condition of pod readiness gate \"target-health.elbow.dev/web\" does not exist.")
        );
        let unhealthy = running(json!([{ "type": gate, "status": "False" }]));
        assert_eq!(
            ready_of(&unhealthy).message.as_deref(),
            Some("the status of pod readiness gate \"target-health.elbow.dev/web\" is not \"True\", but False")
        );
        let healthy = running(json!([{ "type": gate, "status": "True" }]));
        assert_eq!(ready_of(&healthy).status, "True");
        assert_eq!(healthy.pod_ip.as_deref(), Some("10.0.100.4"));
        assert!(healthy.conditions.iter().flatten().all(|c| c.type_ != gate), "the gate is not the kubelet's to write");
    }

    #[test]
    fn transition_times_move_only_when_a_condition_changes() {
        let before = pod(
            &[],
            json!([
                { "type": "Ready", "status": "False", "lastTransitionTime": "1970-01-01T00:01:40Z" },
                { "type": "Initialized", "status": "True", "lastTransitionTime": "1970-01-01T00:01:40Z" },
            ]),
        );
        let status =
            status(&before, Stage::Running { ip: "10.0.0.4", since: &time(150) }, None, &time(100), &time(200));
        let since = |kind: &str| {
            status.conditions.iter().flatten().find(|c| c.type_ == kind).and_then(|c| c.last_transition_time.clone())
        };
        assert_eq!(since("Initialized"), Some(time(100)));
        assert_eq!(since("Ready"), Some(time(200)));
        let mut current = status.clone();
        assert!(is_current(Some(&current), &status));
        current.pod_ip = None;
        assert!(!is_current(Some(&current), &status));
    }

    #[test]
    fn a_completed_pod_has_succeeded_and_is_not_ready() {
        let status = status(
            &pod(&[], json!([])),
            Stage::Completed { ip: "10.0.0.4", since: &time(100), finished: &time(120) },
            None,
            &time(90),
            &time(120),
        );
        assert_eq!(status.phase.as_deref(), Some("Succeeded"));
        assert_eq!(ready_of(&status).reason.as_deref(), Some("PodCompleted"));
        let terminated = status.container_statuses.unwrap()[0].state.clone().unwrap().terminated.unwrap();
        assert_eq!((terminated.exit_code, terminated.reason.as_deref()), (0, Some("Completed")));
    }

    #[test]
    fn the_patch_deletes_a_reason_the_condition_no_longer_has() {
        let status =
            status(&pod(&[], json!([])), Stage::Running { ip: "10.0.0.4", since: &time(1) }, None, &time(1), &time(1));
        let patch = patch(&status);
        let ready = patch["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!(
            (&ready["status"], &ready["reason"], &ready["message"]),
            (&json!("True"), &json!(null), &json!(null))
        );
    }

    #[test]
    fn images_are_reported_fully_qualified() {
        assert_eq!(qualified_image("nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(qualified_image("bitnami/nginx"), "docker.io/bitnami/nginx:latest");
        assert_eq!(qualified_image("registry.k8s.io/pause:3.10"), "registry.k8s.io/pause:3.10");
        assert_eq!(qualified_image("localhost:5000/app"), "localhost:5000/app:latest");
        let gates = [PodReadinessGate { condition_type: "x".into() }];
        assert_eq!(ready_condition(&gates, &[], &Readiness::from(false)), Readiness::from(false));
    }
}
