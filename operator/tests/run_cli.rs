//! The `elbow run` binary as a pod runs it: its exit code tells how it ended (usage error,
//! start-up failure, lost leadership), and its log on standard error carries no terminal colour
//! codes when standard error is not a terminal.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};

use elbow::exit_codes;
use elbow_testkit::TestServer;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;

/// `elbow run` with the required flags, no ambient Kubernetes or AWS configuration, and nothing
/// inherited that could change its behaviour.
fn elbow_run(home: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_elbow"));
    command
        .args(["run", "--cluster-name=cli", "--vpc-id=vpc-1", "--metrics-bind-address=127.0.0.1:0"])
        .args(["--region=us-east-1", "--aws-endpoint=http://127.0.0.1:9"])
        .args(extra)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_refused_flag_value_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let output = elbow_run(home.path(), &["--concurrency=0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(i32::from(exit_codes::USAGE)), "{}", stderr(&output));
    assert!(stderr(&output).contains("--concurrency"), "{}", stderr(&output));
}

#[test]
fn no_kubernetes_configuration_is_a_start_up_error_logged_without_colour_codes() {
    let home = tempfile::tempdir().unwrap();
    let output =
        elbow_run(home.path(), &[]).env("KUBECONFIG", home.path().join("missing")).output().expect("elbow runs");
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(i32::from(exit_codes::CONFIGURATION)), "{log}");
    assert!(log.contains("failed to find a Kubernetes configuration"), "{log}");
    assert!(log.contains("serving /metrics"), "the info log is on standard error: {log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a log that is not a terminal: {log:?}");
    assert!(output.stdout.is_empty(), "nothing on standard output: {:?}", String::from_utf8_lossy(&output.stdout));
}

#[tokio::test]
async fn a_lost_lease_exits_with_its_own_code() {
    let server = TestServer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let timings = [
        "--leader-elect",
        "--leader-election-namespace=default",
        "--leader-election-lease-duration=3s",
        "--leader-election-renew-deadline=2s",
        "--leader-election-retry-period=1s",
        "--instance=cli-test",
    ];
    let child = elbow_run(home.path(), &timings)
        .env("KUBECONFIG", server.kubeconfig())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let leases = Api::<Lease>::namespaced(server.client.clone(), "default");
    let mut stolen = elbow_testkit::eventually("elbow to take the lease", async || {
        let lease = leases.get_opt("elbow-leader").await.ok().flatten()?;
        lease.spec.as_ref()?.holder_identity.as_ref()?.starts_with("cli-test").then_some(lease)
    })
    .await;
    stolen.spec = Some(LeaseSpec {
        holder_identity: Some("thief".into()),
        renew_time: Some(MicroTime(Timestamp::now())),
        lease_duration_seconds: Some(60),
        ..stolen.spec.unwrap()
    });
    leases.replace("elbow-leader", &PostParams::default(), &stolen).await.unwrap();

    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(i32::from(exit_codes::LOST_LEADERSHIP)), "{log}");
    assert!(log.contains("lost leadership"), "{log}");
}
