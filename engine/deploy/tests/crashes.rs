//! Every change a deploy makes may be cut short at any mutating call: the request failing, or
//! landing with its answer lost. For each kind of change (update, replacement, deletion) these
//! tests crash the deploy at every call in turn, re-run (after a restart: a fresh deployer that
//! knows nothing but the tags; or with the same deployer), and check that the cloud holds exactly what an uninterrupted run leaves, that
//! a further run changes nothing, and that deleting afterwards leaves nothing of the stack behind.

use std::sync::Arc;

use elbow_cloud::CloudErrorKind;
use elbow_fake::{Failure, FakeCloud};
use elbow_model::Stack;

mod support;

use support::*;

/// A cloud where `before` has been deployed, with the counter reset.
async fn cloud_with(before: &Stack) -> Arc<FakeCloud> {
    let cloud = cloud();
    if !before.is_empty()
        && let Err(error) = deployer(&cloud).deploy(before).await
    {
        panic!("deploying the starting stack: {error}");
    }
    cloud.counter().reset();
    cloud
}

/// Crashes the change from `before` to `after` at each of its mutating calls and checks recovery.
async fn crash_everywhere(before: Stack, after: Stack) {
    let (expected, calls) = {
        let cloud = cloud_with(&before).await;
        if let Err(error) = deployer(&cloud).deploy(&after).await {
            panic!("uninterrupted run: {error}");
        }
        (inventory(&cloud), cloud.counter().mutating())
    };
    assert!(calls > 0, "the change must make calls to be worth crashing");
    for (landed, restart) in [(false, true), (true, true), (false, false), (true, false)] {
        for crash_at in 0..calls {
            let kind = [CloudErrorKind::ServerError, CloudErrorKind::Timeout, CloudErrorKind::Throttled]
                [crash_at as usize % 3];
            let context = format!("crash at call {crash_at} of {calls} ({kind:?}, landed {landed}, restart {restart})");
            let cloud = cloud_with(&before).await;
            let crashing = deployer(&cloud);
            let mut failure = Failure::any(kind).mutating_only().after(crash_at as u32);
            if landed {
                failure = failure.landed();
            }
            cloud.inject(failure);
            let Err(crashed) = crashing.deploy(&after).await else { panic!("{context}: the crash must surface") };
            assert!(crashed.is_retryable(), "{context}: {crashed}");
            cloud.clear_failures();

            // Without a restart the same deployer re-runs, finding what the crashed run left by tags.
            let rerun = if restart { deployer(&cloud) } else { crashing };
            rerun.deploy(&after).await.unwrap_or_else(|e| panic!("{context}: re-run failed: {e}"));
            assert_eq!(inventory(&cloud), expected, "{context}");
            cloud.counter().reset();
            deployer(&cloud).deploy(&after).await.unwrap_or_else(|e| panic!("{context}: third run failed: {e}"));
            assert_eq!(cloud.counter().mutating(), 0, "{context}: converged {:?}", cloud.counter().snapshot());

            deployer(&cloud).deploy(&Stack::empty(after.id.clone())).await.unwrap_or_else(|e| panic!("{context}: {e}"));
            let left = inventory(&cloud);
            assert_eq!(left.load_balancers, Vec::<String>::new(), "{context}");
            assert_eq!(left.target_groups, Vec::<(String, Vec<String>)>::new(), "{context}");
            assert_eq!(left.listeners, Vec::<(String, u16)>::new(), "{context}");
            assert_eq!(left.node_rules, Vec::<u16>::new(), "{context}");
            assert_eq!(left.groups, Vec::<String>::new(), "{context}: the backend group goes with the last stack");
        }
    }
}

#[tokio::test]
async fn creating() {
    crash_everywhere(Stack::empty(Svc::new("web").id()), Svc::new("web").stack()).await;
}

#[tokio::test]
async fn updating_nodes_health_check_and_source_ranges() {
    let before = Svc::new("web");
    let mut after = before.clone();
    after.nodes = vec!["i-2", "i-3"];
    after.health_interval = 30;
    after.source_ranges = vec!["10.0.0.0/8", "192.168.0.0/16"];
    crash_everywhere(before.stack(), after.stack()).await;
}

#[tokio::test]
async fn adding_and_removing_ports() {
    let mut before = Svc::new("web");
    before.ports = vec![(80, 31000), (443, 31443)];
    let mut after = before.clone();
    after.ports = vec![(80, 31000), (8080, 31080)];
    crash_everywhere(before.stack(), after.stack()).await;
}

#[tokio::test]
async fn replacing_the_load_balancer_for_a_scheme_change() {
    let before = Svc::new("web");
    let mut after = before.clone();
    after.scheme = elbow_model::Scheme::Internal;
    crash_everywhere(before.stack(), after.stack()).await;
}

#[tokio::test]
async fn replacing_a_load_balancer_that_keeps_its_name() {
    let mut before = Svc::new("web");
    before.lb_name = Some("my-web");
    let mut after = before.clone();
    after.scheme = elbow_model::Scheme::Internal;
    crash_everywhere(before.stack(), after.stack()).await;
}

#[tokio::test]
async fn replacing_a_target_group_for_a_node_port_change() {
    let before = Svc::new("web");
    let mut after = before.clone();
    after.ports = vec![(80, 32000)];
    crash_everywhere(before.stack(), after.stack()).await;
}

#[tokio::test]
async fn deleting() {
    let mut before = Svc::new("web");
    before.ports = vec![(80, 31000), (443, 31443)];
    crash_everywhere(before.stack(), Stack::empty(before.id())).await;
}
