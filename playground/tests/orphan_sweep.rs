//! The orphan sweep of `elbow run` and `elbow gc --delete`, against the in-memory API server and
//! the fake cloud. While the operator is down, Services are force-deleted (their finalizer removed
//! by hand) and a new one is created; the restarted operator's sweep removes the stack whose owner
//! went long ago, keeps the one that is younger than the grace period, and never touches the new
//! Service's. `elbow gc` then removes the young one once it is old enough.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use elbow::metrics::Metrics;
use elbow::runtime::run_controllers;
use elbow::sweep::PeriodicSweep;
use elbow_deploy::sweep::{OrphanAction, SweepMode, SweepSettings};
use elbow_fake::FakeCloud;
use elbow_model::tags::STACK_TAG;
use elbow_playground::Prepared;
use elbow_testkit::eventually;
use futures::FutureExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const HOUR: Duration = Duration::from_secs(3600);

struct Operator {
    metrics: Metrics,
    stop: oneshot::Sender<()>,
    run: JoinHandle<()>,
}

impl Operator {
    fn start(prepared: &Prepared, sweep: PeriodicSweep) -> Operator {
        let metrics = Metrics::new();
        let mut settings = prepared.operator_settings(metrics.clone());
        settings.orphan_sweep = sweep;
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        }
        .shared();
        let client = prepared.operator_client().unwrap();
        let run = tokio::spawn(run_controllers(client, prepared.cloud.clone(), settings, shutdown));
        Operator { metrics, stop, run }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.run.await.unwrap();
    }
}

fn service(name: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "type": "LoadBalancer", "selector": { "app": name }, "ports": [{ "port": 80, "targetPort": 8080 }] }
    }))
    .unwrap()
}

async fn hostname(services: &Api<Service>, name: &str) -> Option<String> {
    services.get(name).await.ok()?.status?.load_balancer?.ingress?.first()?.hostname.clone()
}

/// The ARN of the load balancer whose stack tag is `stack`, if the fake holds one.
fn load_balancer_of(cloud: &FakeCloud, stack: &str) -> Option<String> {
    cloud
        .load_balancers()
        .into_iter()
        .find(|lb| cloud.tags(&lb.arn).get(STACK_TAG).map(String::as_str) == Some(stack))
        .map(|lb| lb.arn)
}

fn target_groups_of(cloud: &FakeCloud, stack: &str) -> usize {
    cloud
        .target_groups()
        .iter()
        .filter(|tg| cloud.tags(&tg.arn).get(STACK_TAG).map(String::as_str) == Some(stack))
        .count()
}

/// What `kubectl delete` followed by `kubectl patch --type=json -p '[{"op":"remove","path":
/// "/metadata/finalizers"}]'` does while Elbow is not running: the Service is gone, its load
/// balancer is not.
async fn force_delete(services: &Api<Service>, name: &str) {
    services.delete(name, &DeleteParams::default()).await.unwrap();
    let remove = json!([{ "op": "remove", "path": "/metadata/finalizers" }]);
    services
        .patch(name, &PatchParams::default(), &Patch::<()>::Json(serde_json::from_value(remove).unwrap()))
        .await
        .unwrap();
    eventually("the Service to be gone", async || services.get_opt(name).await.unwrap().is_none().then_some(())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_removes_a_force_deleted_service_s_stack_and_leaves_young_and_owned_ones() {
    let prepared = Prepared::fake("orphans", 3).await.unwrap();
    let cloud = prepared.cloud.clone();
    let services: Api<Service> = Api::namespaced(prepared.server.client.clone(), "default");

    let first = Operator::start(&prepared, PeriodicSweep::off());
    for name in ["gone", "recent"] {
        services.create(&PostParams::default(), &service(name)).await.unwrap();
    }
    for name in ["gone", "recent"] {
        eventually("a hostname", async || hostname(&services, name).await).await;
    }
    first.stop().await;

    // Elbow is down: both Services are force-deleted; `gone`'s load balancer was made two hours
    // ago, `recent`'s just now (to a sweep, what a stack being created looks like when its owner
    // is not visible yet). A new Service waits for the operator.
    force_delete(&services, "gone").await;
    force_delete(&services, "recent").await;
    let gone_lb = load_balancer_of(&cloud, "default/gone").expect("gone's load balancer outlived it");
    assert!(cloud.set_load_balancer_created_time(&gone_lb, SystemTime::now() - 2 * HOUR));
    assert!(load_balancer_of(&cloud, "default/recent").is_some());
    services.create(&PostParams::default(), &service("fresh")).await.unwrap();

    let sweep = PeriodicSweep {
        interval: Duration::from_millis(500),
        sweep: SweepSettings { mode: SweepMode::Delete, grace: HOUR },
    };
    let second = Operator::start(&prepared, sweep);
    eventually("gone's stack to be swept", async || load_balancer_of(&cloud, "default/gone").is_none().then_some(()))
        .await;
    assert_eq!(target_groups_of(&cloud, "default/gone"), 0, "its target group went with it");
    eventually("fresh's hostname", async || hostname(&services, "fresh").await).await;
    // A few more sweeps, with fresh served meanwhile.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(load_balancer_of(&cloud, "default/recent").is_some(), "inside the grace period: left");
    assert!(load_balancer_of(&cloud, "default/fresh").is_some(), "owned: left");
    assert!(hostname(&services, "fresh").await.is_some());
    let metrics = second.metrics.encode();
    assert!(metrics.contains("elbow_orphan_resources_deleted_total{kind=\"load_balancer\"} 1\n"), "{metrics}");
    assert!(metrics.contains("elbow_orphan_resources{kind=\"load_balancer\"} 1\n"), "recent's is left: {metrics}");
    assert!(metrics.contains("elbow_orphan_resources_found_total{kind=\"load_balancer\"} 2\n"), "{metrics}");
    second.stop().await;

    // `elbow gc --delete`: an hour's grace keeps recent's stack, until its load balancer is older.
    let client = prepared.server.client.clone();
    let as_cloud: Arc<dyn elbow_cloud::Cloud> = cloud.clone();
    let delete = SweepSettings { mode: SweepMode::Delete, grace: HOUR };
    let report = elbow::gc::sweep_once(client.clone(), as_cloud.clone(), "orphans", &delete).await.unwrap();
    assert_eq!(report.orphans.len(), 1, "{report:?}");
    assert!(matches!(report.orphans[0].action, OrphanAction::Waiting { .. }), "{report:?}");
    assert_eq!(report.owned, 1, "fresh");

    let recent_lb = load_balancer_of(&cloud, "default/recent").unwrap();
    assert!(cloud.set_load_balancer_created_time(&recent_lb, SystemTime::now() - 2 * HOUR));
    let report = elbow::gc::sweep_once(client, as_cloud, "orphans", &delete).await.unwrap();
    assert!(matches!(report.orphans[0].action, OrphanAction::Deleted { .. }), "{report:?}");
    assert!(load_balancer_of(&cloud, "default/recent").is_none());
    assert_eq!(target_groups_of(&cloud, "default/recent"), 0);
    assert!(load_balancer_of(&cloud, "default/fresh").is_some(), "the owned stack is never touched");
}
