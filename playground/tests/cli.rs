//! The README's first command, as a person runs it: `elbow-playground` starts, prints `ready`, and
//! the kubectl walkthrough it prints gives the Service an NLB's DNS name under EXTERNAL-IP. Ctrl-C
//! stops it cleanly and removes its kubeconfig.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use elbow_testkit::tools::Kubectl;

struct Playground {
    child: Child,
    printed: String,
}

impl Playground {
    /// Starts the binary and reads its stdout up to `ready`.
    fn start(kubeconfig: &std::path::Path) -> Playground {
        let child = Command::new(env!("CARGO_BIN_EXE_elbow-playground"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Owned from here on, so a failure below still kills and reaps the process.
        let mut playground = Playground { child, printed: String::new() };
        for line in BufReader::new(playground.child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            playground.printed.push_str(&line);
            playground.printed.push('\n');
            if line == "ready" {
                return playground;
            }
        }
        panic!("the playground exited before printing ready:\n{}", playground.printed);
    }

    /// Sends SIGINT, as Ctrl-C does, and waits for the exit.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let interrupted = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap();
        assert!(interrupted.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the playground did not stop within 20 s of Ctrl-C");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn kubectl_expose_gets_a_load_balancer_hostname_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("playground.kubeconfig");
    let mut playground = Playground::start(&kubeconfig);
    assert!(playground.printed.contains("kubectl expose deployment web --type=LoadBalancer"), "{}", playground.printed);
    assert!(kubeconfig.exists(), "the kubeconfig is written before ready");

    let kubectl = Kubectl::new(&kubeconfig);
    let nodes = kubectl.ok(&["get", "nodes", "-o", "jsonpath={.items[*].spec.providerID}"]);
    assert_eq!(nodes.split_whitespace().count(), 3, "three nodes backed by instances: {nodes}");
    assert_eq!(
        kubectl.ok(&["create", "deployment", "web", "--image=nginx", "--port=8080"]).trim(),
        "deployment.apps/web created"
    );
    assert_eq!(
        kubectl.ok(&["expose", "deployment", "web", "--type=LoadBalancer", "--port=80", "--target-port=8080"]).trim(),
        "service/web exposed"
    );

    let started = Instant::now();
    let row = loop {
        let printed = kubectl.ok(&["get", "service", "web", "--no-headers"]);
        if !printed.contains("<pending>") {
            break printed;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still pending after 10 s: {printed}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(columns[..2], ["web", "LoadBalancer"], "{row}");
    assert!(columns[3].ends_with(".elb.us-east-1.amazonaws.com"), "EXTERNAL-IP shows the DNS name: {row}");
    assert!(columns[4].starts_with("80:3"), "PORT(S) shows the NodePort: {row}");
    // The playground serves Elbow's admission webhook as the chart does: the Service was stored
    // with Elbow's class, so a cloud provider's service controller would leave it alone.
    let class = kubectl.ok(&["get", "service", "web", "-o", "jsonpath={.spec.loadBalancerClass}"]);
    assert_eq!(class, "elbow.dev/nlb");

    let status = playground.interrupt();
    assert!(status.success(), "Ctrl-C is a clean exit: {status}");
    assert!(!kubeconfig.exists(), "the kubeconfig is removed on exit");
}
