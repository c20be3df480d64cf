//! The target synchroniser against the in-memory fake cloud: ip targets registered and
//! deregistered exactly as they change, in batches of 200, with no call when nothing changed and
//! no full comparison of the stack; and a switch between instance and ip targets that never
//! leaves a listener without a target group to forward to.

use std::sync::Arc;

use elbow_cloud::Api;
use elbow_deploy::changes::{Kind, Verb};
use elbow_deploy::targets::BATCH_SIZE;
use elbow_fake::FakeCloud;
use elbow_model::*;

mod support;

use support::*;

fn ip_service(pods: Vec<String>) -> Svc {
    Svc { pods: Some(pods), ..Svc::new("web") }
}

fn ip_cloud() -> Arc<FakeCloud> {
    let cloud = cloud();
    seed_pod_subnet(&cloud);
    cloud
}

fn registered(cloud: &FakeCloud) -> Vec<String> {
    let tg = &cloud.target_groups()[0];
    assert_eq!(tg.target_type, TargetType::Ip);
    let mut ips: Vec<String> = cloud.targets(&tg.arn).into_iter().map(|t| format!("{}:{}", t.id, t.port)).collect();
    ips.sort();
    ips
}

fn on_pod_port(pods: &[String]) -> Vec<String> {
    let mut ips: Vec<String> = pods.iter().map(|ip| format!("{ip}:{POD_PORT}")).collect();
    ips.sort();
    ips
}

#[tokio::test]
async fn an_ip_mode_stack_registers_its_pods_on_their_port() {
    let cloud = ip_cloud();
    let outcome = deployer(&cloud).deploy(&ip_service(pods(0, 3)).stack()).await.expect("deployed");
    assert_eq!(registered(&cloud), on_pod_port(&pods(0, 3)));
    assert_eq!(outcome.changes.count(Verb::Registered, Kind::Target), 3);
    assert_eq!(
        inventory(&cloud).node_rules,
        [(POD_PORT, POD_PORT)],
        "the node group admits the load balancer on the pods' port"
    );
}

#[tokio::test]
async fn an_endpoint_change_registers_and_deregisters_exactly_the_changed_pods_and_nothing_else() {
    let cloud = ip_cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&ip_service(pods(0, 3)).stack()).await.expect("deployed");
    cloud.counter().reset();

    // One pod replaced by a rolling update: pods 1 and 2 stay, 0 goes, 3 comes.
    let outcome = deployer.deploy(&ip_service(pods(1, 3)).stack()).await.expect("synced");
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&Api::RegisterTargets), Some(&1), "{calls:?}");
    assert_eq!(calls.get(&Api::DeregisterTargets), Some(&1), "{calls:?}");
    assert_eq!(cloud.counter().total(), 2, "no describe call, no other change: {calls:?}");
    assert_eq!(registered(&cloud), on_pod_port(&pods(1, 3)));
    assert!(outcome.changed);
    assert_eq!(outcome.changes.to_string(), "registered 1 target; deregistered 1 target");
    assert!(outcome.dns_name.is_some(), "the load balancer is still reported");
}

#[tokio::test]
async fn unchanged_targets_make_no_call_at_all() {
    let cloud = ip_cloud();
    let deployer = deployer(&cloud);
    let stack = ip_service(pods(0, 3)).stack();
    deployer.deploy(&stack).await.expect("deployed");
    cloud.counter().reset();
    let outcome = deployer.deploy(&stack).await.expect("again");
    assert_eq!(cloud.counter().total(), 0, "{:?}", cloud.counter().snapshot());
    assert!(!outcome.changed);
}

#[tokio::test]
async fn many_changed_pods_are_sent_in_batches_of_200() {
    let cloud = ip_cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&ip_service(pods(0, 450)).stack()).await.expect("deployed");
    assert_eq!(cloud.counter().snapshot().get(&Api::RegisterTargets), Some(&3), "450 = 200 + 200 + 50");
    assert_eq!(registered(&cloud).len(), 450);
    cloud.counter().reset();

    // 250 pods replaced at once: 250 new ones in two batches, 250 old ones in two.
    let outcome = deployer.deploy(&ip_service(pods(250, 450)).stack()).await.expect("synced");
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&Api::RegisterTargets), Some(&2), "{calls:?}");
    assert_eq!(calls.get(&Api::DeregisterTargets), Some(&2), "{calls:?}");
    assert_eq!(cloud.counter().total(), 4, "{calls:?}");
    assert_eq!(registered(&cloud), on_pod_port(&pods(250, 450)));
    assert_eq!(outcome.changes.count(Verb::Registered, Kind::Target), 250);
    assert_eq!(outcome.changes.count(Verb::Deregistered, Kind::Target), 250);
    assert_eq!(BATCH_SIZE, 200);
}

#[tokio::test]
async fn a_sync_that_failed_half_way_sends_only_the_rest_next_time() {
    use elbow_cloud::CloudErrorKind;
    let cloud = ip_cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&ip_service(pods(0, 10)).stack()).await.expect("deployed");
    // The second batch of registrations fails.
    cloud.inject(crash_at(CloudErrorKind::ServerError, 1, false));
    deployer.deploy(&ip_service(pods(0, 410)).stack()).await.expect_err("the second batch fails");
    cloud.clear_failures();
    assert_eq!(registered(&cloud).len(), 210, "the first batch took effect");
    cloud.counter().reset();
    deployer.deploy(&ip_service(pods(0, 410)).stack()).await.expect("finished");
    assert_eq!(registered(&cloud), on_pod_port(&pods(0, 410)));
    let calls = cloud.counter().snapshot();
    assert_eq!(calls.get(&Api::RegisterTargets), Some(&1), "only the 200 missing: {calls:?}");
}

#[tokio::test]
async fn targets_registered_by_the_quick_path_are_known_to_the_next_full_deploy() {
    let cloud = ip_cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&ip_service(pods(0, 2)).stack()).await.expect("deployed");
    deployer.deploy(&ip_service(pods(0, 3)).stack()).await.expect("a pod more, quick path");
    // Something else changes too, and pod 2 goes: the full deploy must deregister it.
    let mut changed = ip_service(pods(0, 2));
    changed.health_interval = 30;
    deployer.deploy(&changed.stack()).await.expect("full deploy");
    assert_eq!(registered(&cloud), on_pod_port(&pods(0, 2)));
}

#[tokio::test]
async fn a_restarted_deployer_compares_with_the_cloud_and_changes_only_the_targets() {
    let cloud = ip_cloud();
    deployer(&cloud).deploy(&ip_service(pods(0, 3)).stack()).await.expect("deployed");
    cloud.counter().reset();
    deployer(&cloud).deploy(&ip_service(pods(1, 3)).stack()).await.expect("after a restart");
    assert_eq!(registered(&cloud), on_pod_port(&pods(1, 3)));
    let calls = cloud.counter().snapshot();
    assert_eq!(cloud.counter().mutating(), 2, "one register, one deregister: {calls:?}");
}

#[tokio::test]
async fn the_fake_refuses_pod_addresses_outside_the_vpc_as_aws_does() {
    let cloud = cloud();
    // No pod subnet: 10.1.0.0/16 is outside the VPC's subnets.
    let error = deployer(&cloud).deploy(&ip_service(pods(0, 1)).stack()).await.expect_err("outside the VPC");
    assert!(error.to_string().contains("register 1 target"), "{error}");
    let source = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
    assert!(source.contains("outside the VPC"), "{source}");
}

#[tokio::test]
async fn switching_between_instance_and_ip_targets_keeps_a_listener_forwarding_throughout() {
    let watched = WatchedListeners::new(seeded());
    seed_pod_subnet(&watched.inner);
    let deployer = deployer(&watched);
    let instance = Svc::new("web");
    let ip = ip_service(pods(0, 3));
    deployer.deploy(&instance.stack()).await.expect("instance mode");
    watched.broken.lock().expect("lock").clear(); // the listener comes last on creation
    let names = |cloud: &FakeCloud| cloud.target_groups().into_iter().map(|tg| tg.name).collect::<Vec<_>>();

    let to_ip = deployer.deploy(&ip.stack()).await.expect("to ip");
    assert_eq!(names(&watched.inner), ["k8s-default-web-ip-8080"], "the instance group is gone");
    assert_eq!(to_ip.changes.count(Verb::Created, Kind::TargetGroup), 1);
    assert_eq!(to_ip.changes.count(Verb::Deleted, Kind::TargetGroup), 1);
    let tg = watched.inner.target_groups()[0].arn.clone();
    assert_eq!(watched.inner.listeners()[0].default_actions, [Action::forward(tg)]);

    deployer.deploy(&instance.stack()).await.expect("back to instance");
    assert_eq!(names(&watched.inner), ["k8s-default-web-31000"]);
    assert_eq!(*watched.broken.lock().expect("lock"), Vec::<String>::new(), "a listener lost its targets");
    assert_eq!(
        inventory(&watched.inner).node_rules,
        [(31000, 31000)],
        "the range follows the pods' port back to the NodePort"
    );
}
