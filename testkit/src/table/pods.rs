//! The pod row: READY and STATUS are derived from container states the way kube-apiserver's
//! printer does it, since that STATUS (`Init:0/1`, `CrashLoopBackOff`, `Terminating`, ...) is what
//! people read, and pod readiness gates (READINESS GATES, `-o wide`) are how load balancer
//! controllers hold rollouts.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{age, name, since, text};

/// A container that keeps running beside the main ones (a sidecar): an init container with
/// `restartPolicy: Always`.
fn is_sidecar(spec: &Value, container_name: &str) -> bool {
    spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| text(c, "name") == container_name && text(c, "restartPolicy") == "Always")
}

fn has_condition(status: &Value, kind: &str) -> bool {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| text(c, "type") == kind && text(c, "status") == "True")
}

/// The reason a terminated container shows: its reason, else its signal or exit code.
fn terminated_reason(terminated: &Value) -> String {
    match (text(terminated, "reason"), terminated["signal"].as_i64().filter(|s| *s != 0)) {
        ("", Some(signal)) => format!("Signal:{signal}"),
        ("", None) => format!("ExitCode:{}", terminated["exitCode"].as_i64().unwrap_or(0)),
        (reason, _) => reason.to_string(),
    }
}

/// The later of `latest` and the time container `status` last terminated.
fn last_termination<'a>(latest: Option<&'a str>, status: &'a Value) -> Option<&'a str> {
    let finished = status["lastState"]["terminated"]["finishedAt"].as_str().filter(|t| !t.is_empty());
    // RFC 3339 UTC timestamps as the API writes them compare in time order as text.
    match (latest, finished) {
        (Some(a), Some(b)) => Some(if b > a { b } else { a }),
        (a, b) => a.or(b),
    }
}

pub(super) fn cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (spec, status) = (&pod["spec"], &pod["status"]);
    let phase = text(status, "phase");
    let mut reason = match text(status, "reason") {
        "" => phase.to_string(),
        reason => reason.to_string(),
    };
    if status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| text(c, "type") == "PodScheduled" && text(c, "reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }

    let init_containers = spec["initContainers"].as_array().map(Vec::as_slice).unwrap_or_default();
    let sidecars = init_containers.iter().filter(|c| text(c, "restartPolicy") == "Always").count();
    let total = spec["containers"].as_array().map_or(0, Vec::len) + sidecars;
    let mut ready = 0;
    let mut restarts = 0;
    let mut last_restart: Option<&str> = None;
    let mut sidecar_restarts = 0;
    let mut sidecar_last_restart: Option<&str> = None;

    let mut initializing = false;
    let init_statuses = status["initContainerStatuses"].as_array().map(Vec::as_slice).unwrap_or_default();
    for (index, container) in init_statuses.iter().enumerate() {
        let count = container["restartCount"].as_i64().unwrap_or(0);
        restarts += count;
        last_restart = last_termination(last_restart, container);
        let sidecar = is_sidecar(spec, text(container, "name"));
        if sidecar {
            sidecar_restarts += count;
            sidecar_last_restart = last_termination(sidecar_last_restart, container);
        }
        let state = &container["state"];
        let terminated = &state["terminated"];
        let waiting_reason = text(&state["waiting"], "reason");
        if terminated.is_object() && terminated["exitCode"].as_i64().unwrap_or(0) == 0 {
            continue;
        }
        if sidecar && container["started"] == json!(true) {
            if container["ready"] == json!(true) {
                ready += 1;
            }
            continue;
        }
        reason = if terminated.is_object() {
            format!("Init:{}", terminated_reason(terminated))
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{index}/{}", init_containers.len())
        };
        initializing = true;
        break;
    }

    if !initializing || has_condition(status, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = sidecar_last_restart;
        let mut running = false;
        let statuses = status["containerStatuses"].as_array().map(Vec::as_slice).unwrap_or_default();
        // Backwards, so the first container's state has the last word, as in kube-apiserver.
        for container in statuses.iter().rev() {
            restarts += container["restartCount"].as_i64().unwrap_or(0);
            last_restart = last_termination(last_restart, container);
            let state = &container["state"];
            let waiting_reason = text(&state["waiting"], "reason");
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if state["terminated"].is_object() {
                reason = terminated_reason(&state["terminated"]);
            } else if container["ready"] == json!(true) && state["running"].is_object() {
                running = true;
                ready += 1;
            }
        }
        // A pod whose last container finished while another still runs is not completed.
        if reason == "Completed" && running {
            reason = if has_condition(status, "Ready") { "Running".into() } else { "NotReady".into() };
        }
    }

    let deleting = pod["metadata"]["deletionTimestamp"].as_str().is_some_and(|t| !t.is_empty());
    if deleting && text(status, "reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }

    let restarts = match last_restart {
        Some(when) if restarts != 0 => format!("{restarts} ({} ago)", since(&json!(when), now)),
        _ => restarts.to_string(),
    };
    let or_none = |value: &str| if value.is_empty() { "<none>".to_string() } else { value.to_string() };
    let gates = spec["readinessGates"].as_array().map(Vec::as_slice).unwrap_or_default();
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let passed = gates.iter().filter(|g| has_condition(status, text(g, "conditionType"))).count();
        format!("{passed}/{}", gates.len())
    };
    vec![
        json!(name(pod)),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts),
        json!(age(pod, now)),
        json!(or_none(text(&status["podIPs"][0], "ip"))),
        json!(or_none(text(spec, "nodeName"))),
        json!(or_none(text(status, "nominatedNodeName"))),
        json!(readiness_gates),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::render_with;
    use super::super::tests::{at_now, cells, headers, info};
    use super::*;

    fn pod(spec: Value, status: Value) -> Value {
        json!({ "metadata": { "name": "web-5d9c", "creationTimestamp": "2026-01-10T11:58:00Z" }, "spec": spec, "status": status })
    }

    fn rows(pods: &[Value]) -> Vec<Vec<String>> {
        let table = render_with(&info("", "v1", "pods"), pods, json!({}), &at_now());
        (0..pods.len()).map(|row| cells(&table, row)).collect()
    }

    fn two_containers() -> Value {
        json!({ "containers": [{ "name": "app" }, { "name": "log" }] })
    }

    #[test]
    fn a_running_pod_shows_ready_containers_and_placement() {
        let spec = json!({
            "nodeName": "ip-10-0-1-5",
            "containers": [{ "name": "app" }, { "name": "log" }],
            "readinessGates": [{ "conditionType": "target-health.elbv2.k8s.aws/k8s-demo-web" }],
        });
        let status = json!({
            "phase": "Running",
            "podIPs": [{ "ip": "10.0.1.77" }],
            "conditions": [{ "type": "Ready", "status": "False" }, { "type": "target-health.elbv2.k8s.aws/k8s-demo-web", "status": "True" }],
            "containerStatuses": [
                { "name": "app", "ready": true, "restartCount": 0, "state": { "running": {} } },
                { "name": "log", "ready": false, "restartCount": 0, "state": { "running": {} } },
            ],
        });
        let table = render_with(&info("", "v1", "pods"), &[pod(spec, status)], json!({}), &at_now());
        assert_eq!(headers(&table), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
        assert_eq!(
            cells(&table, 0),
            ["web-5d9c", "1/2", "Running", "0", "2m", "10.0.1.77", "ip-10-0-1-5", "<none>", "1/1"]
        );
    }

    #[test]
    fn a_pending_pod_shows_its_phase_and_nothing_placed() {
        let row = &rows(&[pod(two_containers(), json!({ "phase": "Pending" }))])[0];
        assert_eq!(row, &["web-5d9c", "0/2", "Pending", "0", "2m", "<none>", "<none>", "<none>", "<none>"]);
    }

    #[test]
    fn a_waiting_container_gives_the_status_and_restarts_say_when() {
        let status = json!({
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "app", "ready": false, "restartCount": 4,
                    "state": { "waiting": { "reason": "CrashLoopBackOff" } },
                    "lastState": { "terminated": { "exitCode": 1, "finishedAt": "2026-01-10T11:59:30Z" } },
                },
                { "name": "log", "ready": true, "restartCount": 0, "state": { "running": {} } },
            ],
        });
        let row = &rows(&[pod(two_containers(), status)])[0];
        assert_eq!(row[1..4], ["1/2", "CrashLoopBackOff", "4 (30s ago)"]);
    }

    #[test]
    fn terminated_containers_show_reason_signal_or_exit_code() {
        let terminated = |state: Value| {
            pod(
                json!({ "containers": [{ "name": "app" }] }),
                json!({ "phase": "Failed", "containerStatuses": [{ "name": "app", "state": { "terminated": state } }] }),
            )
        };
        let rows = rows(&[
            terminated(json!({ "reason": "OOMKilled", "exitCode": 137 })),
            terminated(json!({ "signal": 9, "exitCode": 137 })),
            terminated(json!({ "exitCode": 2 })),
        ]);
        assert_eq!([&rows[0][2], &rows[1][2], &rows[2][2]], ["OOMKilled", "Signal:9", "ExitCode:2"]);
    }

    #[test]
    fn a_completed_container_beside_a_running_one_is_not_completion() {
        let status = |ready: &str| {
            json!({
                "phase": "Running",
                "conditions": [{ "type": "Ready", "status": ready }],
                "containerStatuses": [
                    { "name": "app", "ready": false, "state": { "terminated": { "reason": "Completed", "exitCode": 0 } } },
                    { "name": "log", "ready": true, "state": { "running": {} } },
                ],
            })
        };
        let rows = rows(&[pod(two_containers(), status("True")), pod(two_containers(), status("False"))]);
        assert_eq!((rows[0][2].as_str(), rows[1][2].as_str()), ("Running", "NotReady"));
    }

    #[test]
    fn init_containers_show_progress_and_failures() {
        let spec =
            json!({ "initContainers": [{ "name": "migrate" }, { "name": "warm" }], "containers": [{ "name": "app" }] });
        let init =
            |statuses: Value| pod(spec.clone(), json!({ "phase": "Pending", "initContainerStatuses": statuses }));
        let rows = rows(&[
            init(json!([
                { "name": "migrate", "state": { "terminated": { "exitCode": 0, "reason": "Completed" } } },
                { "name": "warm", "state": { "running": {} } },
            ])),
            init(
                json!([{ "name": "migrate", "restartCount": 2, "state": { "waiting": { "reason": "CrashLoopBackOff" } } }]),
            ),
            init(json!([{ "name": "migrate", "state": { "terminated": { "exitCode": 3 } } }])),
        ]);
        assert_eq!(rows[0][1..4], ["0/1", "Init:1/2", "0"]);
        assert_eq!(rows[1][2..4], ["Init:CrashLoopBackOff", "2"]);
        assert_eq!(rows[2][2], "Init:ExitCode:3");
    }

    #[test]
    fn started_sidecars_count_as_containers() {
        let spec = json!({
            "initContainers": [{ "name": "proxy", "restartPolicy": "Always" }],
            "containers": [{ "name": "app" }],
        });
        let status = json!({
            "phase": "Running",
            "conditions": [{ "type": "Initialized", "status": "True" }],
            "initContainerStatuses": [{ "name": "proxy", "started": true, "ready": true, "restartCount": 1, "state": { "running": {} } }],
            "containerStatuses": [{ "name": "app", "ready": true, "restartCount": 0, "state": { "running": {} } }],
        });
        let row = &rows(&[pod(spec, status)])[0];
        assert_eq!(row[1..4], ["2/2", "Running", "1"]);
    }

    #[test]
    fn a_deleted_pod_is_terminating_until_gone() {
        let mut deleted = pod(two_containers(), json!({ "phase": "Running" }));
        deleted["metadata"]["deletionTimestamp"] = json!("2026-01-10T11:59:59Z");
        let mut finished = deleted.clone();
        finished["status"]["phase"] = json!("Succeeded");
        let mut lost = deleted.clone();
        lost["status"]["reason"] = json!("NodeLost");
        let rows = rows(&[deleted, finished, lost]);
        assert_eq!([&rows[0][2], &rows[1][2], &rows[2][2]], ["Terminating", "Succeeded", "Unknown"]);
    }

    #[test]
    fn a_scheduling_gated_pod_says_so() {
        let status = json!({ "phase": "Pending", "conditions": [{ "type": "PodScheduled", "status": "False", "reason": "SchedulingGated" }] });
        assert_eq!(rows(&[pod(two_containers(), status)])[0][2], "SchedulingGated");
    }
}
