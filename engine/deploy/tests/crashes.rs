//! Every change a deploy makes may be cut short at any mutating call: the request failing, or
//! landing with its answer lost. For each kind of change (update, replacement, deletion) these
//! tests crash the deploy at every call in turn, re-run (after a restart: a fresh deployer that
//! knows nothing but the tags; or with the same deployer), and check that the cloud holds exactly what an uninterrupted run leaves, that
//! a further run changes nothing, and that deleting afterwards leaves nothing of the stack behind.

use std::sync::Arc;

use elbow_cloud::CloudErrorKind;
use elbow_fake::FakeCloud;
use elbow_model::Stack;

mod support;

use support::*;

/// A cloud where `before`, then `bystander` (another stack, left alone by the change), have been
/// deployed, with the counter reset.
async fn cloud_with(before: &Stack, bystander: Option<&Stack>) -> Arc<FakeCloud> {
    let cloud = cloud();
    for stack in std::iter::once(before).chain(bystander) {
        if !stack.is_empty()
            && let Err(error) = deployer(&cloud).deploy(stack).await
        {
            panic!("deploying the starting stack {}: {error}", stack.id);
        }
    }
    cloud.counter().reset();
    cloud
}

/// Crashes the change from `before` to `after` at each of its mutating calls and checks recovery.
async fn crash_everywhere(before: Stack, after: Stack) {
    crash_everywhere_beside(None, before, after).await;
}

/// As [`crash_everywhere`], with `bystander` deployed beside: its node rules (which `before` and
/// `after` may share) must stay in place at every point, and the change must leave it as it was.
async fn crash_everywhere_beside(bystander: Option<Stack>, before: Stack, after: Stack) {
    let bystander = bystander.as_ref();
    let (expected, calls) = {
        let cloud = cloud_with(&before, bystander).await;
        if let Err(error) = deployer(&cloud).deploy(&after).await {
            panic!("uninterrupted run: {error}");
        }
        (inventory(&cloud), cloud.counter().mutating())
    };
    // What the bystander alone leaves, and the node ports it needs throughout.
    let (bystander_alone, bystander_ports) = match bystander {
        Some(stack) => {
            let cloud = cloud_with(stack, None).await;
            let alone = inventory(&cloud);
            // Its ranges' ends are ports it needs (a range spans from its lowest to its highest).
            let ports: Vec<u16> = alone.node_rules.iter().flat_map(|(from, to)| [*from, *to]).collect();
            (alone, ports)
        }
        None => (inventory(&cloud()), Vec::new()),
    };
    let needed_by_bystander = |cloud: &FakeCloud| bystander_ports.iter().all(|port| admitted(cloud, *port));
    assert!(calls > 0, "the change must make calls to be worth crashing");
    for (landed, restart) in [(false, true), (true, true), (false, false), (true, false)] {
        for crash_at in 0..calls {
            let kind = [CloudErrorKind::ServerError, CloudErrorKind::Timeout, CloudErrorKind::Throttled]
                [crash_at as usize % 3];
            let context = format!("crash at call {crash_at} of {calls} ({kind:?}, landed {landed}, restart {restart})");
            let cloud = cloud_with(&before, bystander).await;
            let crashing = deployer(&cloud);
            cloud.inject(support::crash_at(kind, crash_at, landed));
            let Err(crashed) = crashing.deploy(&after).await else { panic!("{context}: the crash must surface") };
            assert!(crashed.is_retryable(), "{context}: {crashed}");
            cloud.clear_failures();
            assert!(needed_by_bystander(&cloud), "{context}: the bystander lost a node rule: {:?}", inventory(&cloud));

            // Without a restart the same deployer re-runs, finding what the crashed run left by tags.
            let rerun = if restart { deployer(&cloud) } else { crashing };
            rerun.deploy(&after).await.unwrap_or_else(|e| panic!("{context}: re-run failed: {e}"));
            assert_eq!(inventory(&cloud), expected, "{context}");
            cloud.counter().reset();
            deployer(&cloud).deploy(&after).await.unwrap_or_else(|e| panic!("{context}: third run failed: {e}"));
            assert_eq!(cloud.counter().mutating(), 0, "{context}: converged {:?}", cloud.counter().snapshot());

            deployer(&cloud).deploy(&Stack::empty(after.id.clone())).await.unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(inventory(&cloud), bystander_alone, "{context}: nothing of the stack is left");
            if let Some(stack) = bystander {
                deployer(&cloud)
                    .deploy(&Stack::empty(stack.id.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{context}: {e}"));
            }
            let left = inventory(&cloud);
            assert_eq!(left.node_rules, [], "{context}");
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

#[tokio::test]
async fn deleting_a_stack_that_shares_its_node_port_with_another() {
    let web = Svc::new("web");
    crash_everywhere_beside(Some(alb_stack("shop", &[31000], &[])), web.stack(), Stack::empty(web.id())).await;
}

/// The change joins a rule the bystander made (32000) and gives up one it shares with it (31000).
#[tokio::test]
async fn moving_to_a_node_port_another_stack_uses_from_one_it_shares() {
    let before = Svc::new("web");
    let mut after = before.clone();
    after.ports = vec![(80, 32000)];
    crash_everywhere_beside(Some(alb_stack("shop", &[31000, 32000], &[])), before.stack(), after.stack()).await;
}
