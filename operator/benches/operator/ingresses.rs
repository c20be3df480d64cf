//! The Ingress scenario: 100 Ingresses in 10 groups (10 per `group.name`), each with one host rule
//! to its own NodePort Service, served by the IngressClass `elbow`. Measures the time to every
//! Ingress showing its ALB's hostname, the AWS calls per Ingress, and a no-op resync of them all.

use std::time::Duration;

use elbow_builder::ingress::DEFAULT_CONTROLLER;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use tokio::time::Instant;

use crate::calls::Calls;
use crate::cluster::{create_services, operator_settings, service};
use crate::environment::Environment;
use crate::hostnames::HostnameWatch;
use crate::measurements::PROVISIONING_TIMEOUT;
use crate::reconciles;
use crate::report::{Report, print_table};

const INGRESSES: usize = 100;
const GROUPS: usize = 10;
const CLASS: &str = "elbow";
const NAMESPACE: &str = "default";
/// Nodes: one per zone, as in the Service runs.
const NODES: usize = 3;
const HOSTNAMES_TARGET: Duration = Duration::from_secs(10);
/// As in the Service runs: no periodic resync starts while the Ingresses are provisioned.
const RESYNC_PERIOD: Duration = Duration::from_secs(20);
/// `elbow run`'s default: known state is trusted for 10 minutes, so a resync needs no cloud call.
const DRIFT_PERIOD: Duration = Duration::from_secs(600);
const RESYNC_FIGURE: &str = "no-op resync of 100 Ingresses (within the drift period)";
/// Requests the populating client keeps in flight, as for Services.
const IN_FLIGHT: usize = 64;

pub async fn ingresses(report: &mut Report) {
    println!();
    println!("== {INGRESSES} Ingresses in {GROUPS} groups, {NODES} nodes ==");
    let env = Environment::start(NODES, operator_settings(RESYNC_PERIOD, DRIFT_PERIOD)).await;
    create_class(&env.client).await;
    // The backends exist before the clock starts: the scenario times the Ingresses, not Services.
    create_services(&env.client, (0..INGRESSES).map(|i| service(&backend(i), "NodePort"))).await;

    let ingresses: Api<Ingress> = Api::namespaced(env.client.clone(), NAMESPACE);
    let mut hostnames = HostnameWatch::start(ingresses.clone(), Default::default()).await;
    env.settle().await;
    Calls::take(&env.cloud);
    let started = Instant::now();
    create_ingresses(&ingresses).await;
    let created_in = started.elapsed();
    let finished = hostnames.wait_for(INGRESSES, PROVISIONING_TIMEOUT).await;
    let all_hostnames_in = finished.then(|| started.elapsed());
    let with_hostname = hostnames.with_hostname();
    env.settle().await;
    let created = Calls::take(&env.cloud);
    let load_balancers = env.cloud.load_balancers().len();
    println!("  load balancers in the fake cloud: {load_balancers} (expected {GROUPS}, one ALB per group)");

    let what = format!("{INGRESSES} Ingresses in {GROUPS} groups created -> all hostnames");
    let met = all_hostnames_in.is_some_and(|elapsed| elapsed <= HOSTNAMES_TARGET) && load_balancers == GROUPS;
    let value = match all_hostnames_in {
        Some(elapsed) => format!(
            "{:.2} s (creates answered in {:.2} s; {load_balancers} ALBs)",
            elapsed.as_secs_f64(),
            created_in.as_secs_f64()
        ),
        None => format!("not done after {} s: {with_hostname} of {INGRESSES} have one", PROVISIONING_TIMEOUT.as_secs()),
    };
    report.judged(&what, value, "<= 10 s", met);
    report_create_calls(report, &created);

    if all_hostnames_in.is_none() {
        let why = "not measured: provisioning did not finish".to_string();
        report.judged(RESYNC_FIGURE, why, "0 mutating", false);
    } else {
        let resynced = resync(&env, RESYNC_PERIOD * 2 + Duration::from_secs(30)).await;
        report_resync(report, &resynced);
    }
    drop(hostnames);
    env.stop().await;
}

/// The IngressClass of Elbow's controller, created before any Ingress.
async fn create_class(client: &kube::Client) {
    let class: IngressClass =
        serde_json::from_value(json!({ "metadata": { "name": CLASS }, "spec": { "controller": DEFAULT_CONTROLLER } }))
            .expect("an IngressClass");
    Api::<IngressClass>::all(client.clone()).create(&PostParams::default(), &class).await.expect("creating the class");
}

fn backend(i: usize) -> String {
    format!("web-{i:03}")
}

/// Ingress `i`: group `i % GROUPS`, one host rule to its own Service's port 80.
fn ingress(i: usize) -> Ingress {
    serde_json::from_value(json!({
        "metadata": {
            "name": format!("web-{i:03}"),
            "namespace": NAMESPACE,
            "annotations": { "alb.ingress.kubernetes.io/group.name": format!("group-{:02}", i % GROUPS) }
        },
        "spec": {
            "ingressClassName": CLASS,
            "rules": [{
                "host": format!("web-{i:03}.bench.example"),
                "http": { "paths": [{ "path": "/", "pathType": "Prefix",
                    "backend": { "service": { "name": backend(i), "port": { "number": 80 } } } }] }
            }]
        }
    }))
    .expect("an Ingress")
}

async fn create_ingresses(api: &Api<Ingress>) {
    futures::stream::iter(0..INGRESSES)
        .map(|i| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &ingress(i)).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("creating Ingresses");
}

/// The calls of the create window by API, in total and per Ingress.
fn report_create_calls(report: &mut Report, calls: &Calls) {
    println!();
    println!("AWS calls per Ingress for a create (one-time discovery and the shared backend group included):");
    let per_ingress = |count: u64| format!("{:.2}", count as f64 / INGRESSES as f64);
    let mut rows: Vec<Vec<String>> = calls
        .apis()
        .map(|api| {
            let count = calls.count(api);
            let mutating = if api.is_mutating() { "yes" } else { "no" };
            vec![api.name().to_string(), mutating.to_string(), count.to_string(), per_ingress(count)]
        })
        .collect();
    rows.push(vec!["all".into(), String::new(), calls.total().to_string(), per_ingress(calls.total())]);
    rows.push(vec!["mutating".into(), String::new(), calls.mutating().to_string(), per_ingress(calls.mutating())]);
    print_table(&["API", "mutating", "calls", "per Ingress"], &rows);
    report.info(
        "AWS calls per Ingress (100 Ingresses, 10 ALBs)",
        format!("{} ({} mutating)", per_ingress(calls.total()), per_ingress(calls.mutating())),
    );
}

struct Resynced {
    /// Distinct Ingresses reconciled in the window; all of them unless the wait timed out.
    reconciled: usize,
    reconciles: u64,
    calls: Calls,
}

/// Waits, with nothing changing, until the periodic resync reconciled every Ingress again, and
/// counts the AWS calls of that window. Only Ingress reconciles count towards "every": the
/// backends are Services, reconciled by the other controller.
async fn resync(env: &Environment, timeout: Duration) -> Resynced {
    env.settle().await;
    Calls::take(&env.cloud);
    reconciles::reset();
    let deadline = Instant::now() + timeout;
    while reconciles::distinct_objects_of("Ingress") < INGRESSES && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.settle().await;
    Resynced {
        reconciled: reconciles::distinct_objects_of("Ingress"),
        reconciles: reconciles::total(),
        calls: Calls::take(&env.cloud),
    }
}

fn report_resync(report: &mut Report, resynced: &Resynced) {
    println!(
        "  {} reconciles (all kinds) reaching {} distinct Ingresses in the window; calls: {}",
        resynced.reconciles,
        resynced.reconciled,
        resynced.calls.listing()
    );
    let complete = resynced.reconciled >= INGRESSES;
    let mut value = format!("{} calls, {} mutating", resynced.calls.total(), resynced.calls.mutating());
    if !complete {
        value.push_str(&format!(" (only {} of {INGRESSES} Ingresses resynced in time)", resynced.reconciled));
    }
    report.judged(RESYNC_FIGURE, value, "0 mutating", complete && resynced.calls.mutating() == 0);
}
