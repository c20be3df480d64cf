//! The Service controller's benchmark, run by hand in release, never in CI:
//!
//! ```sh
//! cargo bench -p elbow --bench operator                # everything (about 6 minutes after the build)
//! cargo bench -p elbow --bench operator -- memory      # or: provisioning, drift, memory, ingress, pods
//! ```
//!
//! It runs the real controllers (`elbow::runtime::run_controllers`) against the in-memory fake cloud
//! and the testkit API server (the `elbow-apiserver` binary, as its own process, built on first use)
//! and prints, each with its target and PASS or MISS:
//! 1. the time from creating 1, 100 and 1,000 LoadBalancer Services to all having a hostname;
//! 2. AWS calls per Service by API for a create, and for a no-op resync (within the drift period,
//!    and after it, when every stack is compared with the cloud);
//! 3. the calls caused by one node joining 1,000 Services;
//! 4. the operator's peak RSS with 10,000 Services and 1,000 Nodes cached (and again with 100,000
//!    endpoints in their EndpointSlices), measured on a child process (this binary again, in
//!    operator mode) that runs nothing but the controllers;
//! 5. (part `ingress`) the time from creating 100 Ingresses in 10 groups to all having a hostname,
//!    AWS calls per Ingress, and the calls of a no-op resync of them;
//! 6. (part `pods`) 100 ip-mode Services of 10 pods each to every target registered, and a rolling
//!    update of a 100-pod Deployment: Register/DeregisterTargets calls, and the time from a pod
//!    turning Ready (or terminating) to the target group showing it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

// The helper modules live in `benches/operator/`, beside this file.
#[path = "operator/apiserver.rs"]
mod apiserver;
#[path = "operator/calls.rs"]
mod calls;
#[path = "operator/cluster.rs"]
mod cluster;
#[path = "operator/environment.rs"]
mod environment;
#[path = "operator/hostnames.rs"]
mod hostnames;
#[path = "operator/ingresses.rs"]
mod ingresses;
#[path = "operator/measurements.rs"]
mod measurements;
#[path = "operator/memory.rs"]
mod memory;
#[path = "operator/pods.rs"]
mod pods;
#[path = "operator/reconciles.rs"]
mod reconciles;
#[path = "operator/report.rs"]
mod report;
#[path = "operator/scenarios.rs"]
mod scenarios;
#[path = "operator/slices.rs"]
mod slices;

use report::Report;

const PARTS: [&str; 5] = ["provisioning", "drift", "memory", "ingress", "pods"];

fn main() {
    if memory::is_child() {
        memory::run_child();
        return;
    }
    // cargo passes `--bench`; any other word picks the parts to run.
    let chosen: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    if let Some(unknown) = chosen.iter().find(|part| !PARTS.contains(&part.as_str())) {
        eprintln!("unknown part {unknown:?}; the parts are {}", PARTS.join(", "));
        std::process::exit(2);
    }
    let wants = |part: &str| chosen.is_empty() || chosen.iter().any(|c| c == part);

    reconciles::install(reconciles::record);
    elbow_testkit::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let mut report = Report::default();
    runtime.block_on(async {
        if wants("provisioning") {
            scenarios::provisioning(&mut report).await;
        }
        if wants("drift") {
            scenarios::resync_after_drift(&mut report).await;
        }
        if wants("memory") {
            scenarios::memory(&mut report).await;
        }
        if wants("ingress") {
            ingresses::ingresses(&mut report).await;
        }
        if wants("pods") {
            pods::pods(&mut report).await;
        }
    });
    report.print_summary();
}
