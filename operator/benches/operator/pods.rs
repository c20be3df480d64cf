//! Part `pods`: ip targets. The benchmark writes the EndpointSlices a cluster's EndpointSlice
//! controller would (see `slices.rs`) and reads the registered targets from the fake cloud's
//! inspection side, which counts no call.
//!
//! 1. 100 ip-mode Services of 10 ready pods each, created at once with their slices: the time to
//!    every Service showing its hostname and every target group holding its 10 pods, and the AWS calls per Service (the target: one
//!    RegisterTargets per target group, all 10 pods in it).
//! 2. A rolling update of a 100-pod Deployment behind one ip-mode Service, as the Deployment
//!    controller runs it with its defaults (maxSurge 25%, maxUnavailable 25%): 25 new pods become
//!    Ready, then 25 old ones start terminating and go, four times. Measured: the time from each
//!    slice write to the target group showing it, and the Register/DeregisterTargets calls.

use std::collections::BTreeSet;
use std::time::Duration;

use elbow_cloud::Api;
use tokio::time::Instant;

use crate::calls::Calls;
use crate::cluster::{create_services, ip_service, operator_settings};
use crate::environment::Environment;
use crate::hostnames::HostnameWatch;
use crate::report::{Report, print_table};
use crate::slices::{self, Pod, PodState};

const NODES: usize = 3;
const SERVICES: usize = 100;
const PODS_PER_SERVICE: usize = 10;
const DEPLOYMENT_PODS: usize = 100;
/// The Deployment controller's default maxSurge and maxUnavailable (25% each) of 100 pods.
const SURGE: usize = 25;
const TIMEOUT: Duration = Duration::from_secs(180);
/// `elbow run`'s defaults, long enough that no periodic work falls into a measurement.
const RESYNC_PERIOD: Duration = Duration::from_secs(300);
const DRIFT_PERIOD: Duration = Duration::from_secs(600);

pub async fn pods(report: &mut Report) {
    println!();
    println!("== {SERVICES} ip-mode Services x {PODS_PER_SERVICE} pods, {NODES} nodes ==");
    let env = Environment::start(NODES, operator_settings(RESYNC_PERIOD, DRIFT_PERIOD)).await;
    services_of_pods(&env, report).await;
    env.stop().await;

    println!();
    println!("== rolling update of a {DEPLOYMENT_PODS}-pod Deployment behind an ip-mode Service ==");
    let env = Environment::start(NODES, operator_settings(RESYNC_PERIOD, DRIFT_PERIOD)).await;
    rolling_update(&env, report).await;
    env.stop().await;
}

/// Figure 1: 100 Services created with their slices, until every target group holds its pods.
async fn services_of_pods(env: &Environment, report: &mut Report) {
    let mut hostnames = HostnameWatch::start(env.services(), Default::default()).await;
    env.settle().await;
    Calls::take(&env.cloud);
    let names: Vec<String> = (0..SERVICES).map(|i| format!("ip-{i:03}")).collect();
    let started = Instant::now();
    create_services(&env.client, names.iter().map(|name| ip_service(name))).await;
    let pods_of =
        |i: usize| -> Vec<Pod> { (0..PODS_PER_SERVICE).map(|p| Pod::ready(i * PODS_PER_SERVICE + p, NODES)).collect() };
    slices::create_all(&env.client, names.iter().enumerate().map(|(i, name)| (name.clone(), pods_of(i)))).await;
    // Done when every Service shows its hostname (its whole stack deployed) and every target
    // group holds its pods.
    let provisioned = hostnames.wait_for(SERVICES, TIMEOUT).await;
    let filled = provisioned && wait_until(TIMEOUT, || filled_target_groups(env) == SERVICES).await;
    let elapsed = started.elapsed();
    env.settle().await;
    let calls = Calls::take(&env.cloud);

    let groups = env.cloud.target_groups().len();
    let registers = calls.count(Api::RegisterTargets);
    let rows: Vec<Vec<String>> = calls
        .apis()
        .map(|api| vec![api.to_string(), format!("{:.2}", calls.count(api) as f64 / SERVICES as f64)])
        .collect();
    print_table(&["API", "calls per Service"], &rows);
    let what = format!("{SERVICES} ip Services x {PODS_PER_SERVICE} pods -> every target registered");
    let value = if filled {
        format!("{:.2} s, {} calls ({:.1} per Service)", elapsed.as_secs_f64(), calls.total(), per(calls.total()))
    } else {
        format!(
            "not done after {} s: {} of {SERVICES} Services with a hostname, {} target groups filled",
            TIMEOUT.as_secs(),
            hostnames.with_hostname(),
            filled_target_groups(env)
        )
    };
    report.info(&what, value);
    report.judged(
        "RegisterTargets per target group, ip Services created with their pods",
        format!("{registers} for {groups} target groups"),
        "<= 1",
        filled && groups == SERVICES && registers <= groups as u64,
    );
}

/// Figure 2: the rolling update, step by step.
async fn rolling_update(env: &Environment, report: &mut Report) {
    let service = "web";
    let mut pods: Vec<Pod> = (0..DEPLOYMENT_PODS).map(|n| Pod::ready(n, NODES)).collect();
    create_services(&env.client, std::iter::once(ip_service(service))).await;
    let mut slice_count = slices::write(&env.client, service, &pods, 0).await;
    assert!(
        wait_until(TIMEOUT, || registered(env) == ips(&pods, PodState::Ready)).await,
        "the first {DEPLOYMENT_PODS} pods were not registered within {} s",
        TIMEOUT.as_secs()
    );
    env.settle().await;
    Calls::take(&env.cloud);

    let mut to_registered = Vec::new();
    let mut to_deregistered = Vec::new();
    let mut next_pod = DEPLOYMENT_PODS;
    let started = Instant::now();
    for step in 0..DEPLOYMENT_PODS / SURGE {
        // 25 pods of the new ReplicaSet become Ready: the controller adds them to the slices.
        pods.extend((next_pod..next_pod + SURGE).map(|n| Pod::ready(n, NODES)));
        next_pod += SURGE;
        let written = Instant::now();
        slice_count = slices::write(&env.client, service, &pods, slice_count).await;
        let done = wait_until(TIMEOUT, || registered(env) == ips(&pods, PodState::Ready)).await;
        assert!(done, "step {step}: the new pods were not registered");
        to_registered.push(written.elapsed());

        // Then 25 old pods are deleted: terminating first, gone once their grace period ends.
        let old: Vec<usize> = (step * SURGE..(step + 1) * SURGE).collect();
        for pod in pods.iter_mut().filter(|p| old.contains(&p.number)) {
            pod.state = PodState::Terminating;
        }
        let written = Instant::now();
        slice_count = slices::write(&env.client, service, &pods, slice_count).await;
        let done = wait_until(TIMEOUT, || registered(env) == ips(&pods, PodState::Ready)).await;
        assert!(done, "step {step}: the terminating pods were not deregistered");
        to_deregistered.push(written.elapsed());
        pods.retain(|p| !old.contains(&p.number));
        slice_count = slices::write(&env.client, service, &pods, slice_count).await;
    }
    let elapsed = started.elapsed();
    env.settle().await;
    let calls = Calls::take(&env.cloud);

    let (registers, deregisters) = (calls.count(Api::RegisterTargets), calls.count(Api::DeregisterTargets));
    let others = calls.without(Api::RegisterTargets).without(Api::DeregisterTargets);
    println!(
        "  {} pods replaced in {} steps in {:.2} s; every AWS call: {}",
        DEPLOYMENT_PODS,
        DEPLOYMENT_PODS / SURGE,
        elapsed.as_secs_f64(),
        calls.listing()
    );
    report.info("rolling update of 100 pods: pod Ready -> registered", spread(&to_registered));
    report.info("rolling update of 100 pods: pod terminating -> deregistered", spread(&to_deregistered));
    let steps = (DEPLOYMENT_PODS / SURGE) as u64;
    report.judged(
        "rolling update of 100 pods: Register/DeregisterTargets calls",
        format!("{registers} Register, {deregisters} Deregister, {} other calls", others.total()),
        "one of each per step (4 + 4)",
        registers <= steps && deregisters <= steps,
    );
}

/// `mean 12 ms, max 30 ms over 4 steps`.
fn spread(times: &[Duration]) -> String {
    let mean = times.iter().sum::<Duration>() / u32::try_from(times.len().max(1)).unwrap_or(1);
    let max = times.iter().max().copied().unwrap_or_default();
    format!("mean {} ms, max {} ms over {} steps", mean.as_millis(), max.as_millis(), times.len())
}

fn per(total: u64) -> f64 {
    total as f64 / SERVICES as f64
}

/// The addresses of `pods` in `state`.
fn ips(pods: &[Pod], state: PodState) -> BTreeSet<String> {
    pods.iter().filter(|p| p.state == state).map(Pod::ip).collect()
}

/// The addresses registered in the one target group there is.
fn registered(env: &Environment) -> BTreeSet<String> {
    env.cloud.target_groups().iter().flat_map(|tg| env.cloud.targets(&tg.arn)).map(|t| t.id).collect()
}

/// Target groups holding exactly `PODS_PER_SERVICE` targets.
fn filled_target_groups(env: &Environment) -> usize {
    env.cloud.target_groups().iter().filter(|tg| env.cloud.targets(&tg.arn).len() == PODS_PER_SERVICE).count()
}

/// Polls `check` every 5 ms until it holds or `timeout` passes; whether it held.
async fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !check() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}
