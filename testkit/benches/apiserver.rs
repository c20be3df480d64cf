//! The API server's own benchmark, run by hand in release (`cargo bench -p elbow-testkit --bench
//! apiserver`), never in CI: creates/s for 10,000 Services, the time to list them, and the server's
//! peak memory (VmHWM) while 5 watchers follow every Service.
//!
//! The server runs as its own process (the `elbow-apiserver` binary), so the peak memory printed is
//! the server's alone, not the client's decoding of 10,000 objects.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

const SERVICES: usize = 10_000;
const WATCHERS: usize = 5;
const IN_FLIGHT: usize = 64;

fn service(i: usize) -> Service {
    serde_json::from_value(json!({
        "metadata": { "name": format!("svc-{i:05}"), "labels": { "app": format!("app-{}", i % 100) },
                      "annotations": { "service.beta.kubernetes.io/aws-load-balancer-type": "external" } },
        "spec": { "type": "LoadBalancer", "selector": { "app": format!("app-{}", i % 100) },
                  "ports": [{ "name": "http", "port": 80, "targetPort": 8080 }, { "name": "https", "port": 443, "targetPort": 8443 }] }
    }))
    .unwrap()
}

/// The server process, killed if the benchmark panics before stopping it with SIGTERM.
struct ServerProcess(std::process::Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`: shows how the two
/// cores were shared between the server and this client (5 watchers decoding every event).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    ticks as f64 / 100.0
}

/// The server's peak resident set, in KiB.
fn peak_memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::main]
async fn main() {
    elbow_testkit::install_crypto_provider();
    let kubeconfig = tempfile::NamedTempFile::new().unwrap();
    let mut server = ServerProcess(
        Command::new(env!("CARGO_BIN_EXE_elbow-apiserver"))
            .args(["--port", "0", "--kubeconfig"])
            .arg(kubeconfig.path())
            // Two node ports per Service, as a cluster of this size would be configured.
            .args(["--service-node-port-range", "30000-52000"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let server = &mut server.0;
    let mut url = String::new();
    for line in BufReader::new(server.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(served) = line.strip_prefix("serving on ") {
            url = served.to_string();
        }
        if line == "ready" {
            break;
        }
    }
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let all: Api<Service> = Api::all(client.clone());
    let seen = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(AtomicUsize::new(0));
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let (all, seen, ready) = (all.clone(), seen.clone(), ready.clone());
        watchers.push(tokio::spawn(async move {
            let events = watcher(all, watcher::Config::default());
            futures::pin_mut!(events);
            while let Some(event) = events.next().await {
                match event {
                    Ok(watcher::Event::Apply(_)) => {
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(watcher::Event::InitDone) => {
                        ready.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        }));
    }
    // Creates start once every watcher has listed: a Service created before a watcher's initial
    // list reaches it in that list, not as a watch event, and would be missing from the count.
    while ready.load(Ordering::Relaxed) < WATCHERS {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    let started = Instant::now();
    futures::stream::iter(0..SERVICES)
        .map(|i| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &service(i)).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_for_each(|_| async { Ok(()) })
        .await
        .unwrap();
    let creating = started.elapsed();
    println!(
        "created {SERVICES} Services in {:.2} s: {:.0} creates/s ({IN_FLIGHT} in flight, {WATCHERS} watchers)",
        creating.as_secs_f64(),
        SERVICES as f64 / creating.as_secs_f64()
    );

    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.load(Ordering::Relaxed) < SERVICES * WATCHERS {
        assert!(Instant::now() < deadline, "watchers saw only {} events", seen.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "all {WATCHERS} watchers saw every Service {:.2} s after the first create",
        started.elapsed().as_secs_f64()
    );

    let listing = Instant::now();
    let listed = all.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), SERVICES);
    println!("listed {} Services in {} ms", listed.items.len(), listing.elapsed().as_millis());

    let peak = peak_memory_kib(server.id());
    println!("server peak memory (VmHWM): {:.1} MiB", peak as f64 / 1024.0);
    println!(
        "CPU used: server {:.2} s, this client {:.2} s (machine: {} cores)",
        cpu_seconds(&server.id().to_string()),
        cpu_seconds("self"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // Watchers stop before the server does: a watcher whose server is gone retries at once, and
    // its retry loop would keep this process from exiting.
    for watcher in watchers {
        watcher.abort();
    }
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let exit = server.wait().unwrap();
    println!("server exited on SIGTERM: {exit}");
}
