//! Listener rules of application load balancers: created with their listener, modified in place
//! by priority, deleted when no longer desired, and found again after a crash at any call.

use elbow_cloud::Api;
use elbow_model::Stack;

mod support;

use support::*;

fn rule(priority: u32, path: &str, target_group: &str) -> (u32, Vec<String>, String) {
    (priority, vec![path.to_string()], target_group.to_string())
}

#[tokio::test]
async fn rules_are_created_modified_in_place_and_deleted() {
    let cloud = cloud();
    let deployer = deployer(&cloud);
    deployer.deploy(&alb_stack("shop", &[30080, 30081], &[("/api/*", 1)])).await.expect("created");
    assert_eq!(listener_rules(&cloud), [rule(1, "/api/*", "k8s-shop-30081")]);

    cloud.counter().reset();
    deployer
        .deploy(&alb_stack("shop", &[30080, 30081], &[("/static/*", 0), ("/api/*", 1)]))
        .await
        .expect("a rule inserted first");
    assert_eq!(listener_rules(&cloud), [rule(1, "/static/*", "k8s-shop-30080"), rule(2, "/api/*", "k8s-shop-30081")]);
    let calls = cloud.counter().snapshot();
    assert_eq!((calls.get(&Api::ModifyRule), calls.get(&Api::CreateRule)), (Some(&1), Some(&1)), "{calls:?}");
    assert_eq!(cloud.counter().mutating(), 2, "{calls:?}");

    cloud.counter().reset();
    let stack = alb_stack("shop", &[30080, 30081], &[("/static/*", 0), ("/api/*", 1)]);
    let restarted = self::deployer(&cloud);
    restarted.deploy(&stack).await.expect("found again after a restart");
    assert_eq!(cloud.counter().mutating(), 0, "{:?}", cloud.counter().snapshot());

    restarted.deploy(&alb_stack("shop", &[30080], &[])).await.expect("rules and a backend removed");
    assert_eq!(listener_rules(&cloud), []);
    assert_eq!(inventory(&cloud).target_groups.len(), 1);

    restarted.deploy(&Stack::empty(stack.id.clone())).await.expect("deleted");
    let left = inventory(&cloud);
    assert_eq!((left.load_balancers.len(), left.target_groups.len(), left.listeners.len()), (0, 0, 0));
}

#[tokio::test]
async fn a_crash_at_any_call_while_changing_rules_is_repaired_by_a_rerun() {
    let before = alb_stack("shop", &[30080, 30081], &[("/api/*", 1)]);
    let after = alb_stack("shop", &[30080, 30081, 30082], &[("/static/*", 2), ("/api/*", 1), ("/v2/*", 1)]);
    crash_at_every_call(&before, &after, |cloud| (inventory(cloud), listener_rules(cloud))).await;
}
