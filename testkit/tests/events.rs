//! Events are one resource served in two versions, as on kube-apiserver: what kube-runtime's
//! `Recorder` publishes through events.k8s.io/v1 is what `kubectl describe` finds through core/v1
//! by the object it is about, and writes and watches through either version meet.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use elbow_testkit::TestServer;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Service};
use k8s_openapi::api::events::v1::Event as EventsV1;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Resource, ResourceExt};
use serde_json::json;

fn reporter() -> Reporter {
    Reporter { controller: "elbow".into(), instance: Some("elbow-0".into()) }
}

async fn service(server: &TestServer, name: &str) -> Service {
    let services: Api<Service> = Api::default_namespaced(server.client.clone());
    let service = serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "type": "LoadBalancer", "ports": [{ "port": 80 }] },
    }))
    .unwrap();
    services.create(&PostParams::default(), &service).await.unwrap()
}

fn provisioned(note: &str) -> Event {
    Event {
        type_: EventType::Normal,
        reason: "Provisioned".into(),
        note: Some(note.into()),
        action: "Reconcile".into(),
        secondary: None,
    }
}

/// The field selector `kubectl describe` lists an object's events with.
fn describe_selector(object: &Service) -> String {
    format!(
        "involvedObject.name={},involvedObject.namespace={},involvedObject.kind=Service,involvedObject.uid={}",
        object.name_any(),
        object.namespace().unwrap(),
        object.uid().unwrap()
    )
}

fn bad_request(error: kube::Error) -> String {
    match error {
        kube::Error::Api(status) if status.code == 400 && status.reason == "BadRequest" => status.message,
        other => panic!("expected 400 BadRequest, got {other:?}"),
    }
}

async fn next_event<K>(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<K>>> + Unpin),
) -> WatchEvent<K> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a watch event within 10 s")
        .expect("the watch is open")
        .expect("a decodable watch event")
}

#[tokio::test]
async fn a_recorded_event_is_found_through_core_v1_by_the_object_it_is_about() {
    let server = TestServer::start().await.unwrap();
    let web = service(&server, "web").await;
    let other = service(&server, "other").await;
    let recorder = Recorder::new(server.client.clone(), reporter());
    recorder.publish(&provisioned("load balancer ready"), &web.object_ref(&())).await.unwrap();
    recorder.publish(&provisioned("not this one"), &other.object_ref(&())).await.unwrap();

    let core: Api<CoreEvent> = Api::default_namespaced(server.client.clone());
    let found = core.list(&ListParams::default().fields(&describe_selector(&web))).await.unwrap();
    assert_eq!(found.items.len(), 1, "{:?}", found.items);
    let event = &found.items[0];
    assert_eq!(event.involved_object.uid, web.uid());
    assert_eq!(event.involved_object.kind.as_deref(), Some("Service"));
    assert_eq!(event.message.as_deref(), Some("load balancer ready"));
    assert_eq!((event.reason.as_deref(), event.type_.as_deref()), (Some("Provisioned"), Some("Normal")));
    assert_eq!(event.reporting_component.as_deref(), Some("elbow"));
    assert_eq!(event.reporting_instance.as_deref(), Some("elbow-0"));
    assert_eq!(event.action.as_deref(), Some("Reconcile"));
    assert!(event.event_time.is_some(), "{event:?}");
    assert!(event.first_timestamp.is_none() && event.count.is_none(), "{event:?}");

    // The other labels core/v1 selects on; `source` falls back to the reporting controller.
    for selector in ["reportingComponent=elbow", "source=elbow", "reason=Provisioned,type=Normal"] {
        let items = core.list(&ListParams::default().fields(selector)).await.unwrap().items;
        assert_eq!(items.len(), 2, "{selector}");
    }
    let warnings = core.list(&ListParams::default().fields("type=Warning")).await.unwrap();
    assert!(warnings.items.is_empty());

    // The same event through the API it was written to, selected by that API's names.
    let events: Api<EventsV1> = Api::default_namespaced(server.client.clone());
    let selector = format!("regarding.name=web,regarding.uid={},reportingController=elbow", web.uid().unwrap());
    let same = events.list(&ListParams::default().fields(&selector)).await.unwrap();
    assert_eq!(same.items.len(), 1);
    assert_eq!(same.items[0].metadata.uid, event.metadata.uid);
    assert_eq!(same.items[0].metadata.resource_version, event.metadata.resource_version);
}

#[tokio::test]
async fn a_repeated_event_is_one_object_whose_series_both_versions_show() {
    let server = TestServer::start().await.unwrap();
    let web = service(&server, "web").await;
    let recorder = Recorder::new(server.client.clone(), reporter());
    for _ in 0..3 {
        // The first publish creates the event; the next ones merge-patch its series.
        recorder.publish(&provisioned("load balancer ready"), &web.object_ref(&())).await.unwrap();
    }

    let core: Api<CoreEvent> = Api::default_namespaced(server.client.clone());
    let items = core.list(&ListParams::default().fields(&describe_selector(&web))).await.unwrap().items;
    assert_eq!(items.len(), 1);
    let series = items[0].series.as_ref().expect("a series");
    assert_eq!(series.count, Some(3));
    let events: Api<EventsV1> = Api::default_namespaced(server.client.clone());
    let through_events = events.get(&items[0].name_any()).await.unwrap();
    assert_eq!(through_events.series.map(|s| s.count), Some(3));
    assert_eq!(through_events.note.as_deref(), Some("load balancer ready"));
    assert_eq!(through_events.metadata.resource_version, items[0].metadata.resource_version);
}

#[tokio::test]
async fn both_versions_share_one_storage_and_one_resource_version_sequence() {
    let server = TestServer::start().await.unwrap();
    let core: Api<CoreEvent> = Api::default_namespaced(server.client.clone());
    let events: Api<EventsV1> = Api::default_namespaced(server.client.clone());
    let configmaps: Api<ConfigMap> = Api::default_namespaced(server.client.clone());

    let legacy: CoreEvent = serde_json::from_value(json!({
        "metadata": { "name": "legacy" },
        "involvedObject": { "kind": "Service", "name": "web", "namespace": "default" },
        "reason": "Created", "message": "written the old way", "type": "Normal",
        "source": { "component": "kubectl" }, "count": 2,
        "firstTimestamp": "2026-01-10T11:00:00Z", "lastTimestamp": "2026-01-10T11:05:00Z",
    }))
    .unwrap();
    let legacy = core.create(&PostParams::default(), &legacy).await.unwrap();
    let between = configmaps
        .create(&PostParams::default(), &serde_json::from_value(json!({ "metadata": { "name": "c" } })).unwrap())
        .await
        .unwrap();
    let modern: EventsV1 = serde_json::from_value(json!({
        "metadata": { "name": "modern" },
        "regarding": { "kind": "Service", "name": "web", "namespace": "default" },
        "reason": "Provisioned", "note": "written the new way", "type": "Normal", "action": "Reconcile",
        "eventTime": "2026-01-10T11:06:00.000000Z", "reportingController": "elbow", "reportingInstance": "elbow-0",
    }))
    .unwrap();
    let modern = events.create(&PostParams::default(), &modern).await.unwrap();
    let version = |rv: &Option<String>| rv.as_deref().unwrap().parse::<u64>().unwrap();
    let versions = [&legacy.metadata, &between.metadata, &modern.metadata].map(|m| version(&m.resource_version));
    assert!(versions.is_sorted() && versions[0] < versions[2], "{versions:?}");

    // Each reads through the other version, renamed.
    let legacy_as_new = events.get("legacy").await.unwrap();
    assert_eq!(legacy_as_new.note.as_deref(), Some("written the old way"));
    assert_eq!(legacy_as_new.deprecated_count, Some(2));
    assert_eq!(legacy_as_new.deprecated_source.as_ref().and_then(|s| s.component.as_deref()), Some("kubectl"));
    assert_eq!(legacy_as_new.regarding.as_ref().and_then(|r| r.name.as_deref()), Some("web"));
    let modern_as_old = core.get("modern").await.unwrap();
    assert_eq!(modern_as_old.message.as_deref(), Some("written the new way"));
    assert_eq!(modern_as_old.reporting_component.as_deref(), Some("elbow"));
    assert_eq!(modern_as_old.involved_object.name.as_deref(), Some("web"));

    // One list, seen through both versions at the same resourceVersion.
    let old_list = core.list(&ListParams::default()).await.unwrap();
    let new_list = events.list(&ListParams::default()).await.unwrap();
    let old_names: Vec<String> = old_list.items.iter().map(ResourceExt::name_any).collect();
    let new_names: Vec<String> = new_list.items.iter().map(ResourceExt::name_any).collect();
    assert_eq!(old_names, ["legacy", "modern"]);
    assert_eq!(old_names, new_names);
    assert_eq!(old_list.metadata.resource_version, new_list.metadata.resource_version);

    // A name taken in one version is taken in the other; an update through one needs the
    // resourceVersion the other shows.
    let mut clash: EventsV1 = serde_json::from_value(json!({ "metadata": { "name": "legacy" } })).unwrap();
    let error = events.create(&PostParams::default(), &clash).await.unwrap_err();
    assert!(matches!(&error, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists"), "{error:?}");
    clash = legacy_as_new;
    clash.note = Some("updated through events.k8s.io".into());
    let updated = events.replace("legacy", &PostParams::default(), &clash).await.unwrap();
    assert!(version(&updated.metadata.resource_version) > versions[2]);
    let error = events.replace("legacy", &PostParams::default(), &clash).await.unwrap_err();
    assert!(matches!(&error, kube::Error::Api(s) if s.code == 409 && s.reason == "Conflict"), "{error:?}");
    assert_eq!(core.get("legacy").await.unwrap().message.as_deref(), Some("updated through events.k8s.io"));

    core.delete("modern", &DeleteParams::default()).await.unwrap();
    let gone = events.get("modern").await.unwrap_err();
    assert!(matches!(&gone, kube::Error::Api(s) if s.code == 404), "{gone:?}");
}

#[tokio::test]
async fn a_watch_through_one_version_sees_writes_through_the_other() {
    let server = TestServer::start().await.unwrap();
    let web = service(&server, "web").await;
    let other = service(&server, "other").await;
    let core: Api<CoreEvent> = Api::default_namespaced(server.client.clone());
    let events: Api<EventsV1> = Api::default_namespaced(server.client.clone());
    let start = events.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();

    let selector = format!("regarding.name=web,regarding.uid={}", web.uid().unwrap());
    let mut new_watch = events.watch(&WatchParams::default().fields(&selector), &start).await.unwrap().boxed();
    let mut old_watch =
        core.watch(&WatchParams::default().fields(&describe_selector(&web)), &start).await.unwrap().boxed();

    let recorder = Recorder::new(server.client.clone(), reporter());
    recorder.publish(&provisioned("about other"), &other.object_ref(&())).await.unwrap();
    recorder.publish(&provisioned("about web"), &web.object_ref(&())).await.unwrap();

    let WatchEvent::Added(added) = next_event(&mut old_watch).await else { panic!("expected ADDED") };
    assert_eq!(added.message.as_deref(), Some("about web"), "the event about other is filtered out");
    assert_eq!(added.involved_object.uid, web.uid());
    let WatchEvent::Added(added_new) = next_event(&mut new_watch).await else { panic!("expected ADDED") };
    assert_eq!(added_new.note.as_deref(), Some("about web"));
    assert_eq!(added_new.metadata.resource_version, added.metadata.resource_version);

    // A merge patch through core/v1 reaches the events.k8s.io/v1 watch under the new names.
    let patch = json!({ "message": "patched through core/v1", "count": 5 });
    core.patch(&added.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let WatchEvent::Modified(modified) = next_event(&mut new_watch).await else { panic!("expected MODIFIED") };
    assert_eq!((modified.note.as_deref(), modified.deprecated_count), (Some("patched through core/v1"), Some(5)));

    events.delete(&added.name_any(), &DeleteParams::default()).await.unwrap();
    let WatchEvent::Modified(seen) = next_event(&mut old_watch).await else { panic!("expected MODIFIED") };
    assert_eq!(seen.message.as_deref(), Some("patched through core/v1"));
    let WatchEvent::Deleted(deleted) = next_event(&mut old_watch).await else { panic!("expected DELETED") };
    assert_eq!(deleted.involved_object.name.as_deref(), Some("web"));
}

#[tokio::test]
async fn field_labels_a_resource_does_not_support_are_refused() {
    let server = TestServer::start().await.unwrap();
    let core: Api<CoreEvent> = Api::default_namespaced(server.client.clone());
    let events: Api<EventsV1> = Api::default_namespaced(server.client.clone());
    let configmaps: Api<ConfigMap> = Api::default_namespaced(server.client.clone());

    let error = core.list(&ListParams::default().fields("regarding.name=web")).await.unwrap_err();
    assert_eq!(bad_request(error), "field label not supported: regarding.name");
    let error = events.list(&ListParams::default().fields("involvedObject.name=web")).await.unwrap_err();
    assert_eq!(bad_request(error), "field label not supported: involvedObject.name");
    let error = configmaps.list(&ListParams::default().fields("data.key=x")).await.unwrap_err();
    assert_eq!(
        bad_request(error),
        r#""data.key" is not a known field selector: only "metadata.name", "metadata.namespace""#
    );
    // A watch is refused before it starts, as kube-apiserver refuses it.
    let Err(error) = events.watch(&WatchParams::default().fields("message=x"), "0").await else {
        panic!("the watch started")
    };
    assert_eq!(bad_request(error), "field label not supported: message");
    // A controller's watcher gets the refusal instead of every object.
    let config = kube::runtime::watcher::Config::default().fields("spec.x=1");
    let mut watcher = kube::runtime::watcher(configmaps, config).boxed();
    let refused = loop {
        match tokio::time::timeout(Duration::from_secs(10), watcher.next()).await.expect("the watcher reports") {
            Some(Ok(kube::runtime::watcher::Event::Init)) => continue,
            Some(Ok(other)) => panic!("the watcher got {other:?}"),
            Some(Err(error)) => break error,
            None => panic!("the watcher ended without an error"),
        }
    };
    assert!(refused.to_string().contains("spec.x"), "{refused}");
}
