//! A kube-runtime `Controller` against the server, as Elbow's controllers use it: it sees objects
//! created after it started, adds a finalizer before doing its work, and on deletion runs its
//! cleanup and releases the finalizer, after which the object is gone.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use elbow_testkit::{TestServer, eventually};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

const FINALIZER: &str = "example.com/cleanup";

struct Ctx {
    client: Client,
    cleanups: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct Error(#[from] Box<kube::runtime::finalizer::Error<kube::Error>>);

/// Marks each ConfigMap as handled (an annotation written through the API, as a real controller
/// records its work) and counts cleanups.
async fn reconcile(object: Arc<ConfigMap>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &object.namespace().unwrap());
    finalizer(&api, FINALIZER, object, |event| async {
        match event {
            Event::Apply(object) => {
                let marked = json!({ "metadata": { "annotations": { "example.com/handled": "true" } } });
                api.patch(&object.name_any(), &PatchParams::default(), &Patch::Merge(marked)).await?;
                Ok(Action::await_change())
            }
            Event::Cleanup(_) => {
                ctx.cleanups.fetch_add(1, Ordering::SeqCst);
                Ok(Action::await_change())
            }
        }
    })
    .await
    .map_err(|e| Error(Box::new(e)))
}

fn error_policy(_: Arc<ConfigMap>, _: &Error, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(100))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_controller_finalizes_objects_created_after_it_started() {
    let server = TestServer::start().await.unwrap();
    let ctx = Arc::new(Ctx { client: server.client.clone(), cleanups: AtomicUsize::new(0) });
    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let early: ConfigMap = serde_json::from_value(json!({ "metadata": { "name": "early" } })).unwrap();
    configmaps.create(&PostParams::default(), &early).await.unwrap();
    let controller = Controller::new(configmaps.clone(), watcher::Config::default())
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});
    let controller = tokio::spawn(controller);
    eventually("the controller to handle the object from its first list", async || {
        let object = configmaps.get("early").await.ok()?;
        object.annotations().contains_key("example.com/handled").then_some(())
    })
    .await;

    // Created once the controller has listed: it can only arrive through the watch.
    let object: ConfigMap = serde_json::from_value(json!({ "metadata": { "name": "late" } })).unwrap();
    configmaps.create(&PostParams::default(), &object).await.unwrap();

    let handled = eventually("the controller to handle the object", async || {
        let object = configmaps.get("late").await.ok()?;
        (object.annotations().get("example.com/handled").map(String::as_str) == Some("true")).then_some(object)
    })
    .await;
    assert_eq!(handled.finalizers(), [FINALIZER]);

    // Deletion waits for the finalizer: the object stays, marked, until the cleanup released it.
    configmaps.delete("late", &DeleteParams::default()).await.unwrap();
    eventually("the object to be gone", async || configmaps.get_opt("late").await.ok()?.is_none().then_some(())).await;
    assert_eq!(ctx.cleanups.load(Ordering::SeqCst), 1, "cleanup ran exactly once before the object went");
    controller.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_object_with_a_foreign_finalizer_leaves_it_terminating() {
    let server = TestServer::start().await.unwrap();
    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let object: ConfigMap =
        serde_json::from_value(json!({ "metadata": { "name": "held", "finalizers": ["example.com/other"] } })).unwrap();
    configmaps.create(&PostParams::default(), &object).await.unwrap();
    configmaps.delete("held", &DeleteParams::default()).await.unwrap();
    let terminating = configmaps.get("held").await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    // A second delete changes nothing; only emptying the finalizers lets it go.
    configmaps.delete("held", &DeleteParams::default()).await.unwrap();
    assert!(configmaps.get_opt("held").await.unwrap().is_some());
    let release = json!({ "metadata": { "finalizers": null } });
    configmaps.patch("held", &PatchParams::default(), &Patch::Merge(release)).await.unwrap();
    assert!(configmaps.get_opt("held").await.unwrap().is_none());
}
