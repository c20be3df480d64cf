//! The three things measured against a running [`Environment`]: provisioning a batch of Services,
//! a resync of all of them, and a node joining the cluster.

use std::time::Duration;

use elbow_cloud::Api;
use tokio::time::Instant;

use crate::calls::Calls;
use crate::cluster::{add_instance, create_nodes, service};
use crate::environment::Environment;
use crate::hostnames::HostnameWatch;
use crate::reconciles;

/// Long enough for any plausible run; a run that needs more is reported as not finished.
pub const PROVISIONING_TIMEOUT: Duration = Duration::from_secs(180);

pub struct Provisioned {
    pub services: usize,
    /// From the first create request to the last create answer.
    pub created_in: Duration,
    /// From the first create request to every Service showing a hostname; `None` on timeout.
    pub all_hostnames_in: Option<Duration>,
    pub with_hostname: usize,
    /// Every AWS call from the first create until the operator settled.
    pub calls: Calls,
}

/// Creates `count` single-port LoadBalancer Services at once and times them to a hostname each.
pub async fn provision(env: &Environment, count: usize) -> Provisioned {
    let mut hostnames = HostnameWatch::start(env.services(), Default::default()).await;
    env.settle().await;
    Calls::take(&env.cloud);
    let started = Instant::now();
    crate::cluster::create_services(&env.client, (0..count).map(|i| service(&format!("lb-{i:04}"), "LoadBalancer")))
        .await;
    let created_in = started.elapsed();
    let finished = hostnames.wait_for(count, PROVISIONING_TIMEOUT).await;
    let all_hostnames_in = finished.then(|| started.elapsed());
    let with_hostname = hostnames.with_hostname();
    env.settle().await;
    let calls = Calls::take(&env.cloud);
    if finished {
        let load_balancers = env.cloud.load_balancers().len();
        assert_eq!(load_balancers, count, "{count} Services with a hostname, but {load_balancers} load balancers");
    }
    Provisioned { services: count, created_in, all_hostnames_in, with_hostname, calls }
}

pub struct Resynced {
    /// Distinct Services reconciled in the window; `expected` unless the wait timed out.
    pub reconciled: usize,
    pub reconciles: u64,
    pub calls: Calls,
}

/// Waits, with nothing changing, until every one of `expected` Services was reconciled again by
/// the controller's periodic resync, and counts the AWS calls of that window.
pub async fn resync(env: &Environment, expected: usize, timeout: Duration) -> Resynced {
    env.settle().await;
    Calls::take(&env.cloud);
    reconciles::reset();
    let deadline = Instant::now() + timeout;
    while reconciles::distinct_objects() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.settle().await;
    Resynced {
        reconciled: reconciles::distinct_objects(),
        reconciles: reconciles::total(),
        calls: Calls::take(&env.cloud),
    }
}

pub struct NodeAdded {
    pub target_groups: usize,
    /// Target groups that list the new node (all of them unless the wait timed out).
    pub registered_in: usize,
    pub elapsed: Duration,
    pub reconciles: u64,
    pub calls: Calls,
}

/// A node joins (its instance running, then the Node created and marked Ready); counts the calls
/// until every target group lists it and the operator settled.
pub async fn add_node(env: &Environment) -> NodeAdded {
    env.settle().await;
    Calls::take(&env.cloud);
    reconciles::reset();
    let started = Instant::now();
    add_instance(&env.cloud, env.nodes);
    create_nodes(&env.client, env.nodes..env.nodes + 1).await;
    let wanted = env.nodes + 1;
    let deadline = Instant::now() + PROVISIONING_TIMEOUT;
    let (mut target_groups, mut complete) = targets_in_place(env, wanted);
    while complete < target_groups && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        (target_groups, complete) = targets_in_place(env, wanted);
    }
    let elapsed = started.elapsed();
    env.settle().await;
    NodeAdded {
        target_groups,
        registered_in: complete,
        elapsed,
        reconciles: reconciles::total(),
        calls: Calls::take(&env.cloud),
    }
}

/// How many target groups there are, and how many have `wanted` targets (read from the fake's
/// inspection side, which counts no call).
fn targets_in_place(env: &Environment, wanted: usize) -> (usize, usize) {
    let groups = env.cloud.target_groups();
    let complete = groups.iter().filter(|tg| env.cloud.targets(&tg.arn).len() == wanted).count();
    (groups.len(), complete)
}

/// What a node joining should cost: one RegisterTargets per target group and nothing else.
pub fn node_added_as_expected(added: &NodeAdded) -> bool {
    added.target_groups > 0
        && added.registered_in == added.target_groups
        && added.calls.count(Api::RegisterTargets) == added.target_groups as u64
        && added.calls.without(Api::RegisterTargets).total() == 0
}
