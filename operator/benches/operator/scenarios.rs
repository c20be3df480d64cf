//! The measurements of the issue, in the order they are printed, each with its target.

use std::time::Duration;

use elbow_cloud::Api;

use crate::calls::Calls;
use crate::cluster::operator_settings;
use crate::environment::Environment;
use crate::measurements::{
    NodeAdded, PROVISIONING_TIMEOUT, Provisioned, Resynced, add_node, node_added_as_expected, provision, resync,
};
use crate::memory::{self, Cluster};
use crate::report::{Report, counted, print_table};

const SIZES: [usize; 3] = [1, 100, 1_000];
const LARGEST: usize = 1_000;
/// Nodes in the provisioning runs: one per zone.
const NODES: usize = 3;
const HOSTNAMES_TARGET: Duration = Duration::from_secs(10);
const CALLS_PER_NLB_TARGET: f64 = 9.0;
const MEMORY_TARGET_MIB: f64 = 64.0;
/// With every Service's pods cached too (10 per Service).
const MEMORY_WITH_ENDPOINTS_TARGET_MIB: f64 = 96.0;
/// Long enough that no periodic resync starts while 1,000 Services are being provisioned, short
/// enough to wait for.
const RESYNC_PERIOD: Duration = Duration::from_secs(20);
/// `elbow run`'s default: known state is trusted for 10 minutes.
const DRIFT_PERIOD: Duration = Duration::from_secs(600);
/// For the resync that finds the drift period passed: shorter than the resync period, so every
/// periodic reconcile makes the full comparison with the cloud.
const SHORT_DRIFT_PERIOD: Duration = Duration::from_secs(15);
const RESYNC_AFTER_DRIFT_PERIOD: Duration = Duration::from_secs(30);

/// Figures 1 to 3: time to hostnames for 1, 100 and 1,000 Services, AWS calls per create, a no-op
/// resync of 1,000 Services, and a node joining them.
pub async fn provisioning(report: &mut Report) {
    let mut runs = Vec::new();
    for count in SIZES {
        println!();
        println!("== {}, {NODES} nodes ==", counted(count, "LoadBalancer Service"));
        let env = Environment::start(NODES, operator_settings(RESYNC_PERIOD, DRIFT_PERIOD)).await;
        let run = provision(&env, count).await;
        report_provisioning(report, &run);
        if count == LARGEST && run.all_hostnames_in.is_none() {
            let why = "not measured: provisioning did not finish".to_string();
            report.judged("no-op resync of 1,000 Services (within the drift period)", why.clone(), "0 mutating", false);
            report.judged("one node added to 1,000 Services", why, "1 RegisterTargets per TG, nothing else", false);
        } else if count == LARGEST {
            let resynced = resync(&env, count, RESYNC_PERIOD * 2 + Duration::from_secs(30)).await;
            report_resync(report, "no-op resync of 1,000 Services (within the drift period)", count, &resynced);
            report_node_added(report, &add_node(&env).await);
        }
        env.stop().await;
        runs.push(run);
    }
    report_create_calls(report, &runs);
}

fn report_provisioning(report: &mut Report, run: &Provisioned) {
    let what = format!("{} created -> all hostnames", counted(run.services, "Service"));
    let value = match run.all_hostnames_in {
        Some(elapsed) => {
            format!("{:.2} s (creates answered in {:.2} s)", elapsed.as_secs_f64(), run.created_in.as_secs_f64())
        }
        None => format!(
            "not done after {} s: {} of {} have one",
            PROVISIONING_TIMEOUT.as_secs(),
            run.with_hostname,
            run.services
        ),
    };
    if run.services == LARGEST {
        let met = run.all_hostnames_in.is_some_and(|elapsed| elapsed <= HOSTNAMES_TARGET);
        report.judged(&what, value, "<= 10 s", met);
    } else {
        report.info(&what, value);
    }
}

/// The calls per API of each run, per Service, then the verdict on the largest run.
fn report_create_calls(report: &mut Report, runs: &[Provisioned]) {
    println!();
    println!("AWS calls per Service for a create (one-time discovery and the shared backend group included):");
    let mut apis: Vec<Api> = runs.iter().flat_map(|run| run.calls.apis()).collect();
    apis.sort();
    apis.dedup();
    let per_service = |calls: u64, run: &Provisioned| format!("{:.2}", calls as f64 / run.services as f64);
    let mut rows: Vec<Vec<String>> = apis
        .iter()
        .map(|&api| {
            let mut row = vec![api.name().to_string(), if api.is_mutating() { "yes" } else { "no" }.to_string()];
            row.extend(runs.iter().map(|run| per_service(run.calls.count(api), run)));
            row
        })
        .collect();
    for (label, count) in [("all", Calls::total as fn(&Calls) -> u64), ("mutating", Calls::mutating)] {
        let mut row = vec![label.to_string(), String::new()];
        row.extend(runs.iter().map(|run| per_service(count(&run.calls), run)));
        rows.push(row);
    }
    let headers: Vec<String> = runs.iter().map(|run| counted(run.services, "Service")).collect();
    let mut header_refs = vec!["API", "mutating"];
    header_refs.extend(headers.iter().map(String::as_str));
    print_table(&header_refs, &rows);

    for run in runs {
        let total = run.calls.total() as f64 / run.services as f64;
        let mutating = run.calls.mutating() as f64 / run.services as f64;
        let what = format!("AWS calls per new single-port NLB ({})", counted(run.services, "Service"));
        let value = format!("{total:.2} ({mutating:.2} mutating)");
        if run.services == LARGEST {
            report.judged(
                &what,
                value,
                "<= 9 of all APIs",
                run.all_hostnames_in.is_some() && total <= CALLS_PER_NLB_TARGET,
            );
        } else {
            report.info(&what, value);
        }
    }
}

fn report_resync(report: &mut Report, what: &str, expected: usize, resynced: &Resynced) {
    println!(
        "  {} reconciles of {} distinct Services in the window; calls: {}",
        resynced.reconciles,
        resynced.reconciled,
        resynced.calls.listing()
    );
    let complete = resynced.reconciled >= expected;
    let mut value = format!("{} calls, {} mutating", resynced.calls.total(), resynced.calls.mutating());
    if !complete {
        value.push_str(&format!(" (only {} of {expected} Services resynced in time)", resynced.reconciled));
    }
    report.judged(what, value, "0 mutating", complete && resynced.calls.mutating() == 0);
}

fn report_node_added(report: &mut Report, added: &NodeAdded) {
    println!(
        "  target groups listing the new node: {} of {} after {:.2} s; {} reconciles; calls: {}",
        added.registered_in,
        added.target_groups,
        added.elapsed.as_secs_f64(),
        added.reconciles,
        added.calls.listing()
    );
    let others = added.calls.without(Api::RegisterTargets);
    let value = format!(
        "{} RegisterTargets for {} target groups; other calls: {}",
        added.calls.count(Api::RegisterTargets),
        added.target_groups,
        others.listing()
    );
    report.judged(
        "one node added to 1,000 Services",
        value,
        "1 RegisterTargets per TG, nothing else",
        node_added_as_expected(added),
    );
}

/// The no-op resync once the drift period has passed: the deployer compares every stack with the
/// cloud (describe calls), and must still change nothing.
pub async fn resync_after_drift(report: &mut Report) {
    println!();
    println!("== 1,000 LoadBalancer Services, resync after the drift period ({} s) ==", SHORT_DRIFT_PERIOD.as_secs());
    let env = Environment::start(NODES, operator_settings(RESYNC_AFTER_DRIFT_PERIOD, SHORT_DRIFT_PERIOD)).await;
    let run = provision(&env, LARGEST).await;
    assert!(run.all_hostnames_in.is_some(), "only {} of {LARGEST} Services got a hostname", run.with_hostname);
    let resynced = resync(&env, LARGEST, RESYNC_AFTER_DRIFT_PERIOD * 2 + Duration::from_secs(30)).await;
    env.stop().await;
    let rows: Vec<Vec<String>> = resynced
        .calls
        .apis()
        .map(|api| {
            let count = resynced.calls.count(api);
            vec![api.name().to_string(), count.to_string(), format!("{:.2}", count as f64 / LARGEST as f64)]
        })
        .collect();
    print_table(&["API", "calls", "per Service"], &rows);
    report_resync(report, "no-op resync of 1,000 Services after the drift period", LARGEST, &resynced);
    report.info(
        "AWS calls per Service, resync after the drift period",
        format!("{:.2}", resynced.calls.total() as f64 / LARGEST as f64),
    );
}

/// Figure 4: peak RSS of the operator process with 10,000 Services and 1,000 Nodes, of which 100
/// Services are provisioned (the headline); the same with 100,000 endpoints in the Services'
/// EndpointSlices; and with none provisioned (what the caches alone cost).
pub async fn memory(report: &mut Report) {
    let clusters = [
        (
            "10,000 Services (100 LoadBalancer) + 1,000 Nodes",
            Cluster { services: 10_000, load_balancers: 100, nodes: 1_000, endpoints_per_service: 0 },
            MEMORY_TARGET_MIB,
        ),
        (
            "10,000 Services (100 LoadBalancer) + 1,000 Nodes + 100,000 endpoints",
            Cluster { services: 10_000, load_balancers: 100, nodes: 1_000, endpoints_per_service: 10 },
            MEMORY_WITH_ENDPOINTS_TARGET_MIB,
        ),
        (
            "10,000 ClusterIP Services + 1,000 Nodes",
            Cluster { services: 10_000, load_balancers: 0, nodes: 1_000, endpoints_per_service: 0 },
            f64::INFINITY,
        ),
    ];
    for (label, cluster, target_mib) in &clusters {
        println!();
        println!("== operator memory: {label} ==");
        let measured = memory::measure(cluster).await;
        let peak_mib = measured.peak_kib as f64 / 1024.0;
        println!(
            "  started, reconciled everything and provisioned {} load balancers in {:.1} s; RSS afterwards {:.1} MiB",
            cluster.load_balancers,
            measured.startup.as_secs_f64(),
            measured.settled_kib as f64 / 1024.0
        );
        let what = format!("operator peak RSS, {label}");
        let value = format!("{peak_mib:.1} MiB");
        if target_mib.is_finite() {
            report.judged(&what, value, &format!("<= {target_mib} MiB"), peak_mib <= *target_mib);
        } else {
            report.info(&what, value);
        }
    }
}
