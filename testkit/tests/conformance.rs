//! The server driven by a real `kube::Client` over HTTP: the API semantics controllers rely on.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use elbow_testkit::{ServerOptions, TestServer};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::runtime::wait::conditions;
use kube::runtime::watcher;
use kube::{Discovery, ResourceExt};
use serde_json::json;

fn status(error: kube::Error) -> kube::core::Status {
    match error {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn configmap(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({ "metadata": { "name": name, "labels": labels }, "data": { "k": "v" } })).unwrap()
}

fn lb_service(name: &str, extra: serde_json::Value) -> Service {
    let mut spec =
        json!({ "type": "LoadBalancer", "ports": [{ "port": 80, "targetPort": 8080 }], "selector": { "app": name } });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({ "metadata": { "name": name }, "spec": spec })).unwrap()
}

#[tokio::test]
async fn create_get_list_with_selectors_and_pages() {
    let server = TestServer::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    for i in 0..5 {
        api.create(
            &PostParams::default(),
            &configmap(&format!("cm-{i}"), json!({ "app": if i % 2 == 0 { "a" } else { "b" }, "n": i.to_string() })),
        )
        .await
        .unwrap();
    }
    let created = api.get("cm-0").await.unwrap();
    assert!(created.uid().is_some());
    assert!(created.creation_timestamp().is_some());
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.resource_version().is_some());

    let a = api.list(&ListParams::default().labels("app=a")).await.unwrap();
    assert_eq!(a.items.len(), 3);
    let set = api.list(&ListParams::default().labels("n in (1,2),app!=a")).await.unwrap();
    assert_eq!(set.items.iter().map(|c| c.name_any()).collect::<Vec<_>>(), ["cm-1"]);
    let by_name = api.list(&ListParams::default().fields("metadata.name=cm-3")).await.unwrap();
    assert_eq!(by_name.items.len(), 1);

    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("a continue token");
    let second = api.list(&ListParams::default().limit(10).continue_token(&token)).await.unwrap();
    assert_eq!(second.items.len(), 3);
    assert!(second.metadata.continue_.is_none());

    let other: Api<ConfigMap> = Api::namespaced(server.client.clone(), "kube-system");
    other.create(&PostParams::default(), &configmap("elsewhere", json!({}))).await.unwrap();
    let everywhere: Api<ConfigMap> = Api::all(server.client.clone());
    assert_eq!(everywhere.list(&ListParams::default()).await.unwrap().items.len(), 6);
    let by_namespace = everywhere.list(&ListParams::default().fields("metadata.namespace=kube-system")).await.unwrap();
    assert_eq!(by_namespace.items.len(), 1);
}

#[tokio::test]
async fn errors_carry_kubernetes_reasons() {
    let server = TestServer::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    assert!(status(api.get("missing").await.unwrap_err()).is_not_found());
    api.create(&PostParams::default(), &configmap("x", json!({}))).await.unwrap();
    let exists = status(api.create(&PostParams::default(), &configmap("x", json!({}))).await.unwrap_err());
    assert!(exists.is_already_exists());
    assert_eq!(exists.code, 409);

    let mut stale = api.get("x").await.unwrap();
    let mut fresh = stale.clone();
    fresh.data = Some([("k".to_string(), "new".to_string())].into());
    api.replace("x", &PostParams::default(), &fresh).await.unwrap();
    stale.data = Some([("k".to_string(), "old".to_string())].into());
    let conflict = status(api.replace("x", &PostParams::default(), &stale).await.unwrap_err());
    assert!(conflict.is_conflict());
    assert_eq!(conflict.reason, "Conflict");

    let missing_ns: Api<ConfigMap> = Api::namespaced(server.client.clone(), "nope");
    assert!(
        status(missing_ns.create(&PostParams::default(), &configmap("y", json!({}))).await.unwrap_err()).is_not_found()
    );

    let generated: ConfigMap = serde_json::from_value(json!({ "metadata": { "generateName": "gen-" } })).unwrap();
    let created = api.create(&PostParams::default(), &generated).await.unwrap();
    assert!(created.name_any().starts_with("gen-") && created.name_any().len() > 4);
}

#[tokio::test]
async fn patches_merge_json_strategic_and_apply() {
    let server = TestServer::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(server.client.clone(), "default");
    api.create(&PostParams::default(), &lb_service("web", json!({}))).await.unwrap();
    let pp = PatchParams::default();

    let merged = api.patch("web", &pp, &Patch::Merge(json!({ "metadata": { "labels": { "a": "1" } } }))).await.unwrap();
    assert_eq!(merged.labels().get("a").map(String::as_str), Some("1"));

    let strategic = api
        .patch("web", &pp, &Patch::Strategic(json!({ "spec": { "ports": [{ "port": 443, "targetPort": 8443 }] }, "metadata": { "finalizers": ["a/b"] } })))
        .await
        .unwrap();
    let ports: Vec<i32> = strategic.spec.as_ref().unwrap().ports.as_ref().unwrap().iter().map(|p| p.port).collect();
    assert_eq!(ports, [80, 443], "ports merge by port and protocol");

    let ops: json_patch::Patch = serde_json::from_value(json!([
        { "op": "test", "path": "/metadata/finalizers/0", "value": "a/b" },
        { "op": "remove", "path": "/metadata/finalizers/0" }
    ]))
    .unwrap();
    let patched = api.patch("web", &pp, &Patch::Json::<()>(ops)).await.unwrap();
    assert!(patched.finalizers().is_empty());
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{ "op": "test", "path": "/metadata/labels/a", "value": "2" }])).unwrap();
    assert!(status(api.patch("web", &pp, &Patch::Json::<()>(failing)).await.unwrap_err()).is_invalid());

    let applied = api
        .patch("fresh", &PatchParams::apply("elbow-test"), &Patch::Apply(json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "fresh" }, "spec": { "ports": [{ "port": 81 }] } })))
        .await
        .unwrap();
    assert_eq!(applied.metadata.managed_fields.unwrap()[0].manager.as_deref(), Some("elbow-test"));
}

#[tokio::test]
async fn the_status_subresource_is_kept_apart_and_generation_counts_spec_changes() {
    let server = TestServer::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(server.client.clone(), "default");
    api.create(&PostParams::default(), &lb_service("web", json!({}))).await.unwrap();
    let pp = PatchParams::default();
    let hostname = json!({ "status": { "loadBalancer": { "ingress": [{ "hostname": "lb.example" }] } } });
    let ignored = api.patch("web", &pp, &Patch::Merge(hostname.clone())).await.unwrap();
    assert!(ignored.status.unwrap().load_balancer.unwrap().ingress.is_none(), "main writes ignore status");
    let written = api.patch_status("web", &pp, &Patch::Merge(json!({ "status": { "loadBalancer": { "ingress": [{ "hostname": "lb.example" }] } }, "metadata": { "labels": { "x": "y" } } }))).await.unwrap();
    assert_eq!(
        written.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0].hostname.as_deref(),
        Some("lb.example")
    );
    assert!(written.metadata.labels.unwrap_or_default().is_empty(), "status writes ignore the rest");
    assert_eq!(written.metadata.generation, Some(1), "status is not spec");
    let relabelled =
        api.patch("web", &pp, &Patch::Merge(json!({ "metadata": { "labels": { "x": "y" } } }))).await.unwrap();
    assert_eq!(relabelled.metadata.generation, Some(1), "metadata is not spec");
    let respec =
        api.patch("web", &pp, &Patch::Merge(json!({ "spec": { "sessionAffinity": "ClientIP" } }))).await.unwrap();
    assert_eq!(respec.metadata.generation, Some(2));
}

/// What a readiness-gate controller relies on: a strategic merge patch of a pod's status merges
/// `conditions` by `type` (the kubelet's stay), and a patch naming the uid it read is refused once
/// the pod under that name is another one (kube-apiserver: `metadata.uid ... field is immutable`).
#[tokio::test]
async fn pod_conditions_merge_by_type_and_a_patch_naming_another_uid_is_refused() {
    use k8s_openapi::api::core::v1::Pod;
    let server = TestServer::start().await.unwrap();
    let api: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": "web-1" },
        "spec": { "containers": [{ "name": "app", "image": "nginx" }],
            "readinessGates": [{ "conditionType": "target-health.elbow.dev/k8s-default-web-0123456789" }] }
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &pod).await.unwrap();
    let uid = created.metadata.uid.clone().unwrap();
    let pp = PatchParams::default();
    let kubelet = json!({ "status": { "conditions": [
        { "type": "ContainersReady", "status": "True" }, { "type": "Ready", "status": "False" } ] } });
    api.patch_status("web-1", &pp, &Patch::Strategic(kubelet)).await.unwrap();
    let gate = |status: &str| {
        json!({ "metadata": { "uid": uid }, "status": { "conditions": [
            { "type": "target-health.elbow.dev/k8s-default-web-0123456789", "status": status } ] } })
    };
    let written = api.patch_status("web-1", &pp, &Patch::Strategic(gate("True"))).await.unwrap();
    let conditions: Vec<(String, String)> =
        written.status.unwrap().conditions.unwrap().into_iter().map(|c| (c.type_, c.status)).collect();
    assert_eq!(
        conditions,
        [
            ("ContainersReady".to_string(), "True".to_string()),
            ("Ready".to_string(), "False".to_string()),
            ("target-health.elbow.dev/k8s-default-web-0123456789".to_string(), "True".to_string()),
        ]
    );

    api.delete("web-1", &DeleteParams::default()).await.unwrap();
    api.create(&PostParams::default(), &pod).await.unwrap();
    let error = api.patch_status("web-1", &pp, &Patch::Strategic(gate("True"))).await.unwrap_err();
    let refused = status(error);
    assert!(refused.is_invalid(), "{refused:?}");
    assert!(refused.message.contains("metadata.uid"), "{}", refused.message);
    let fresh = api.get("web-1").await.unwrap();
    assert!(fresh.status.and_then(|s| s.conditions).unwrap_or_default().is_empty(), "nothing written");
}

#[tokio::test]
async fn finalizers_hold_deletion_until_they_are_removed() {
    let server = TestServer::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let mut held = configmap("held", json!({}));
    held.metadata.finalizers = Some(vec!["elbow.dev/test".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    let rv = api.get("held").await.unwrap().resource_version().unwrap();
    api.delete(
        "held",
        &DeleteParams { propagation_policy: Some(kube::api::PropagationPolicy::Foreground), ..Default::default() },
    )
    .await
    .unwrap();
    let marked = api.get("held").await.unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some(), "still there, marked");
    let events = api.watch(&WatchParams::default(), &rv).await.unwrap();
    api.patch("held", &PatchParams::default(), &Patch::Merge(json!({ "metadata": { "finalizers": null } })))
        .await
        .unwrap();
    assert!(status(api.get("held").await.unwrap_err()).is_not_found(), "gone once the finalizers are");
    let kinds: Vec<&str> = events
        .take(2)
        .map(|e| match e.unwrap() {
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Added(_) => "ADDED",
            _ => "OTHER",
        })
        .collect::<Vec<_>>()
        .await;
    assert_eq!(kinds, ["MODIFIED", "DELETED"]);
}

#[tokio::test]
async fn services_get_node_ports_and_the_api_servers_rules() {
    let server = TestServer::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(server.client.clone(), "default");
    let pp = PostParams::default();
    let web = api.create(&pp, &lb_service("web", json!({}))).await.unwrap();
    let spec = web.spec.unwrap();
    let port = &spec.ports.unwrap()[0];
    assert_eq!(port.protocol.as_deref(), Some("TCP"));
    let node_port = port.node_port.expect("a node port");
    assert!((30000..=32767).contains(&node_port));
    assert!(spec.cluster_ip.is_some());
    assert!(spec.health_check_node_port.is_none());

    let taken = lb_service("taken", json!({ "ports": [{ "port": 80, "nodePort": node_port }] }));
    assert!(status(api.create(&pp, &taken).await.unwrap_err()).is_invalid(), "a taken node port is refused");
    let chosen =
        api.create(&pp, &lb_service("chosen", json!({ "ports": [{ "port": 80, "nodePort": 30999 }] }))).await.unwrap();
    assert_eq!(chosen.spec.unwrap().ports.unwrap()[0].node_port, Some(30999));

    let local = api.create(&pp, &lb_service("local", json!({ "externalTrafficPolicy": "Local" }))).await.unwrap();
    assert!(local.spec.unwrap().health_check_node_port.is_some());
    let none =
        api.create(&pp, &lb_service("no-node-ports", json!({ "allocateLoadBalancerNodePorts": false }))).await.unwrap();
    assert_eq!(none.spec.unwrap().ports.unwrap()[0].node_port, None);

    let classy = api.create(&pp, &lb_service("classy", json!({ "loadBalancerClass": "elbow.dev/nlb" }))).await.unwrap();
    let changed = status(
        api.patch(
            "classy",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "loadBalancerClass": "other" } })),
        )
        .await
        .unwrap_err(),
    );
    assert!(changed.is_invalid(), "loadBalancerClass is immutable");
    let to_cluster_ip = api
        .patch("classy", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "type": "ClusterIP" } })))
        .await
        .unwrap();
    let spec = to_cluster_ip.spec.unwrap();
    assert_eq!(spec.load_balancer_class, None, "wiped with the type change");
    assert_eq!(spec.ports.unwrap()[0].node_port, None, "node ports released");
    let freed = classy.spec.unwrap().ports.unwrap()[0].node_port.unwrap();
    api.create(&pp, &lb_service("reuse", json!({ "ports": [{ "port": 80, "nodePort": freed }] }))).await.unwrap();
    let bad = serde_json::from_value::<Service>(json!({ "metadata": { "name": "bad" }, "spec": { "type": "ClusterIP", "loadBalancerClass": "x", "ports": [{ "port": 80 }] } })).unwrap();
    assert!(status(api.create(&pp, &bad).await.unwrap_err()).is_invalid());
}

#[tokio::test]
async fn the_default_ingress_class_is_filled_in() {
    let server = TestServer::start().await.unwrap();
    let classes: Api<IngressClass> = Api::all(server.client.clone());
    let class: IngressClass = serde_json::from_value(json!({
        "metadata": { "name": "elbow", "annotations": { "ingressclass.kubernetes.io/is-default-class": "true" } },
        "spec": { "controller": "elbow.dev/alb" }
    }))
    .unwrap();
    classes.create(&PostParams::default(), &class).await.unwrap();
    let ingresses: Api<Ingress> = Api::namespaced(server.client.clone(), "default");
    let ingress: Ingress = serde_json::from_value(json!({ "metadata": { "name": "web" }, "spec": { "defaultBackend": { "service": { "name": "web", "port": { "number": 80 } } } } })).unwrap();
    let created = ingresses.create(&PostParams::default(), &ingress).await.unwrap();
    assert_eq!(created.spec.unwrap().ingress_class_name.as_deref(), Some("elbow"));
}

#[tokio::test]
async fn a_crd_serves_its_resources() {
    let server = TestServer::start().await.unwrap();
    let crds: Api<DynamicObject> = Api::all_with(
        server.client.clone(),
        &kube::discovery::ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    let crd: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": { "name": "widgets.example.com" },
        "spec": { "group": "example.com", "scope": "Cluster",
                  "names": { "plural": "widgets", "singular": "widget", "kind": "Widget" },
                  "versions": [{ "name": "v1", "served": true, "storage": true, "subresources": { "status": {} },
                                 "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } } }] }
    }))
    .unwrap();
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let discovery = Discovery::new(server.client.clone()).run().await.unwrap();
    let (resource, caps) =
        discovery.resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget")).expect("served");
    assert_eq!(caps.scope, kube::discovery::Scope::Cluster);
    let widgets: Api<DynamicObject> = Api::all_with(server.client.clone(), &resource);
    let widget: DynamicObject = serde_json::from_value(
        json!({ "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "w" }, "spec": { "size": 1 } }),
    )
    .unwrap();
    widgets.create(&PostParams::default(), &widget).await.unwrap();
    let with_status = widgets
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "ok": true }, "spec": { "size": 9 } })),
        )
        .await
        .unwrap();
    assert_eq!(with_status.data["status"]["ok"], json!(true));
    assert_eq!(with_status.data["spec"]["size"], json!(1));
}

#[tokio::test]
async fn watches_replay_from_a_version_and_expire_old_ones() {
    let server = TestServer::start_with(ServerOptions { history: 5, ..ServerOptions::default() }).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let first = api.create(&PostParams::default(), &configmap("a", json!({}))).await.unwrap();
    api.create(&PostParams::default(), &configmap("b", json!({}))).await.unwrap();
    let replayed: Vec<String> = api
        .watch(&WatchParams::default(), &first.resource_version().unwrap())
        .await
        .unwrap()
        .take(1)
        .map(|e| match e.unwrap() {
            WatchEvent::Added(cm) => cm.name_any(),
            other => format!("{other:?}"),
        })
        .collect()
        .await;
    assert_eq!(replayed, ["b"]);
    for i in 0..10 {
        api.create(&PostParams::default(), &configmap(&format!("c-{i}"), json!({}))).await.unwrap();
    }
    let mut expired = api.watch(&WatchParams::default(), &first.resource_version().unwrap()).await.unwrap().boxed();
    match expired.next().await.unwrap().unwrap() {
        WatchEvent::Error(error) => assert_eq!(error.code, 410),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watcher_recovers_from_410_by_relisting() {
    watcher_recovers_from_410().await;
}

async fn watcher_recovers_from_410() {
    let server = TestServer::start_with(ServerOptions { history: 3, ..ServerOptions::default() }).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let stream = watcher(api.clone(), watcher::Config::default()).applied_objects_compat();
    let seen_by_task = seen.clone();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        // Errors (the 410 among them) are the watcher's to recover from; keep reading.
        while let Some(item) = stream.next().await {
            if let Ok(cm) = item {
                seen_by_task.lock().unwrap().insert(cm.name_any());
            }
        }
    });
    api.create(&PostParams::default(), &configmap("first", json!({}))).await.unwrap();
    let wait_for = |count: usize| {
        let seen = seen.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while seen.lock().unwrap().len() < count {
                assert!(tokio::time::Instant::now() < deadline, "saw only {}", seen.lock().unwrap().len());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(1).await;
    // While the watcher is away, more happens than the server remembers: its resourceVersion
    // expires, the reconnecting watch gets 410, and the watcher must re-list to catch up.
    let hold = server.hold_watches().await;
    server.disconnect_watches();
    for i in 0..30 {
        api.create(&PostParams::default(), &configmap(&format!("cm-{i}"), json!({}))).await.unwrap();
    }
    drop(hold);
    wait_for(31).await;
    task.abort();
}

/// `applied_objects` under a name that reads well above.
trait AppliedCompat: futures::Stream {
    fn applied_objects_compat(self) -> impl futures::Stream<Item = Result<ConfigMap, watcher::Error>>;
}

impl<S> AppliedCompat for S
where
    S: futures::Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Send + 'static,
{
    fn applied_objects_compat(self) -> impl futures::Stream<Item = Result<ConfigMap, watcher::Error>> {
        use kube::runtime::WatchStreamExt;
        self.applied_objects()
    }
}

#[tokio::test]
async fn namespaces_and_the_audit_log() {
    let server = TestServer::start().await.unwrap();
    let namespaces: Api<Namespace> = Api::all(server.client.clone());
    let names: Vec<String> =
        namespaces.list(&ListParams::default()).await.unwrap().items.iter().map(|n| n.name_any()).collect();
    assert!(names.contains(&"default".to_string()) && names.contains(&"kube-system".to_string()));
    let api: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    api.get_opt("missing").await.unwrap();
    let entries = server.audit.entries();
    let last = entries.last().unwrap();
    assert_eq!((last.verb.as_str(), last.resource.as_str(), last.namespace.as_str()), ("get", "configmaps", "default"));
    assert!(entries.iter().any(|e| e.verb == "list" && e.resource == "namespaces"));
}

/// kubectl's Accept header for `get`: a v1 Table, else a v1beta1 Table, else the object.
const KUBECTL_ACCEPT: &str =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

fn get_request(path: &str, accept: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).header("accept", accept).body(Vec::new()).unwrap()
}

#[tokio::test]
async fn a_single_get_asking_for_a_table_gets_the_objects_row() {
    let server = TestServer::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(server.client.clone(), "default");
    let web = api.create(&PostParams::default(), &lb_service("web", json!({}))).await.unwrap();
    let spec = web.spec.clone().unwrap();
    let node_port = spec.ports.unwrap()[0].node_port.unwrap();
    let path = "/api/v1/namespaces/default/services/web";

    let table: serde_json::Value = server.client.request(get_request(path, KUBECTL_ACCEPT)).await.unwrap();
    assert_eq!((table["kind"].as_str(), table["apiVersion"].as_str()), (Some("Table"), Some("meta.k8s.io/v1")));
    assert_eq!(table["metadata"]["resourceVersion"].as_str(), web.resource_version().as_deref());
    let columns: Vec<&str> =
        table["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(columns, ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]);
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let cells = rows[0]["cells"].as_array().unwrap();
    assert_eq!(
        cells[..5],
        [
            json!("web"),
            json!("LoadBalancer"),
            json!(spec.cluster_ip.unwrap()),
            json!("<pending>"),
            json!(format!("80:{node_port}/TCP"))
        ]
    );
    assert_eq!(cells[6], "app=web");
    let partial = &rows[0]["object"];
    assert_eq!(
        (partial["kind"].as_str(), partial["metadata"]["name"].as_str()),
        (Some("PartialObjectMetadata"), Some("web"))
    );
    assert!(partial.get("spec").is_none());

    // The whole object when asked, the version asked for, and kube-apiserver's 400 for a bad option.
    let whole: serde_json::Value =
        server.client.request(get_request(&format!("{path}?includeObject=Object"), KUBECTL_ACCEPT)).await.unwrap();
    assert_eq!(whole["rows"][0]["object"]["kind"], "Service");
    assert_eq!(whole["rows"][0]["object"]["spec"]["type"], "LoadBalancer");
    let beta: serde_json::Value =
        server.client.request(get_request(path, "application/json;as=Table;v=v1beta1;g=meta.k8s.io")).await.unwrap();
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(beta["rows"][0]["object"]["apiVersion"], "meta.k8s.io/v1beta1");
    let invalid = server
        .client
        .request::<serde_json::Value>(get_request(&format!("{path}?includeObject=All"), KUBECTL_ACCEPT))
        .await
        .unwrap_err();
    assert_eq!(status(invalid).code, 400);
    // Without the Table media type, the object itself.
    let plain: serde_json::Value = server.client.request(get_request(path, "application/json")).await.unwrap();
    assert_eq!(plain["kind"], "Service");
    // A missing object is still a NotFound Status.
    let missing = server
        .client
        .request::<serde_json::Value>(get_request("/api/v1/namespaces/default/services/nope", KUBECTL_ACCEPT))
        .await
        .unwrap_err();
    assert!(status(missing).is_not_found());
}

#[tokio::test]
async fn a_watch_asking_for_tables_gets_one_row_tables_with_columns_once() {
    use futures::AsyncBufReadExt;

    let server = TestServer::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(server.client.clone(), "default");
    api.create(&PostParams::default(), &lb_service("web", json!({}))).await.unwrap();
    let path = "/api/v1/namespaces/default/services?watch=true&sendInitialEvents=true\
                &resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true";
    let stream = server.client.request_stream(get_request(path, KUBECTL_ACCEPT)).await.unwrap();
    let mut lines = Box::pin(stream).lines();
    let mut next_event = async || -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next()).await.expect("an event in time");
        serde_json::from_str(&line.expect("the stream is open").unwrap()).unwrap()
    };

    // The initial event carries the column definitions, as the first event of a watch does.
    let added = next_event().await;
    assert_eq!(added["type"], "ADDED");
    let table = &added["object"];
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["columnDefinitions"].as_array().map(Vec::len), Some(7));
    assert_eq!(table["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(table["rows"][0]["cells"][0], "web");
    assert_eq!(table["rows"][0]["cells"][3], "<pending>");

    // The end of the initial events: a Table too, its row's object carrying the annotation.
    let bookmark = next_event().await;
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(bookmark["object"]["kind"], "Table");
    assert!(bookmark["object"]["columnDefinitions"].is_null(), "{bookmark}");
    let marked = &bookmark["object"]["rows"][0]["object"]["metadata"];
    assert_eq!(marked["annotations"]["k8s.io/initial-events-end"], "true", "{bookmark}");
    assert_eq!(marked["resourceVersion"], bookmark["object"]["metadata"]["resourceVersion"]);

    let hostname = "lb.example";
    api.patch_status(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": { "loadBalancer": { "ingress": [{ "hostname": hostname }] } } })),
    )
    .await
    .unwrap();
    let modified = next_event().await;
    assert_eq!(modified["type"], "MODIFIED");
    let table = &modified["object"];
    assert!(table["columnDefinitions"].is_null(), "only the first event has columns: {modified}");
    assert_eq!(table["rows"][0]["cells"][3], hostname);
    assert_eq!(table["metadata"]["resourceVersion"], table["rows"][0]["object"]["metadata"]["resourceVersion"]);

    api.delete("web", &DeleteParams::default()).await.unwrap();
    let deleted = next_event().await;
    assert_eq!((deleted["type"].as_str(), deleted["object"]["kind"].as_str()), (Some("DELETED"), Some("Table")));
    assert_eq!(deleted["object"]["rows"][0]["cells"][0], "web");
}

fn widgets_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "metadata": { "name": "widgets.example.com" },
        "spec": { "group": "example.com", "scope": "Namespaced",
                  "names": { "plural": "widgets", "kind": "Widget" },
                  "versions": [{ "name": "v1", "served": true, "storage": true,
                                 "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } } }] },
        "status": { "conditions": [{ "type": "Established", "status": "False", "reason": "FromTheClient" }] }
    }))
    .unwrap()
}

#[tokio::test]
async fn a_new_crd_is_established_with_its_names_accepted() {
    let server = TestServer::start().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(server.client.clone());
    crds.create(&PostParams::default(), &widgets_crd()).await.unwrap();
    let established = tokio::time::timeout(
        Duration::from_secs(10),
        kube::runtime::wait::await_condition(crds.clone(), "widgets.example.com", conditions::is_crd_established()),
    )
    .await
    .expect("established in time")
    .unwrap()
    .unwrap();

    let condition = |crd: &CustomResourceDefinition, kind: &str| {
        let conditions = crd.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
        conditions.into_iter().find(|c| c.type_ == kind).map(|c| (c.status, c.reason, c.last_transition_time))
    };
    let (accepted, reason, _) = condition(&established, "NamesAccepted").expect("NamesAccepted");
    assert_eq!((accepted.as_str(), reason.as_deref()), ("True", Some("NoConflicts")));
    let (status_, reason, since) = condition(&established, "Established").expect("Established");
    assert_eq!((status_.as_str(), reason.as_deref()), ("True", Some("InitialNamesAccepted")));
    let status = established.status.clone().unwrap();
    let names = status.accepted_names.unwrap();
    assert_eq!(
        (names.kind.as_str(), names.plural.as_str(), names.singular.as_deref(), names.list_kind.as_deref()),
        ("Widget", "widgets", Some("widget"), Some("WidgetList"))
    );
    assert_eq!(status.stored_versions, Some(vec!["v1".to_string()]));
    assert_eq!(established.spec.names.list_kind.as_deref(), Some("WidgetList"), "defaulted in the spec too");

    // A new name is accepted at once; the conditions stay as they were, since the same moment
    // (timestamps have whole seconds: let one pass so a reset would show).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let renamed = crds
        .patch(
            "widgets.example.com",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "names": { "shortNames": ["wg"] } } })),
        )
        .await
        .unwrap();
    let accepted_names = renamed.status.clone().unwrap().accepted_names.unwrap();
    assert_eq!(accepted_names.short_names, Some(vec!["wg".to_string()]));
    assert_eq!(condition(&renamed, "Established").unwrap().2, since);
}

#[tokio::test]
async fn a_created_namespace_is_active_with_the_kubernetes_finalizer() {
    let server = TestServer::start().await.unwrap();
    let namespaces: Api<Namespace> = Api::all(server.client.clone());
    // Whatever status a client sends, a new namespace is Active.
    let namespace: Namespace =
        serde_json::from_value(json!({ "metadata": { "name": "demo" }, "status": { "phase": "Terminating" } }))
            .unwrap();
    let created = namespaces.create(&PostParams::default(), &namespace).await.unwrap();
    assert_eq!(created.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    assert_eq!(created.spec.and_then(|s| s.finalizers), Some(vec!["kubernetes".to_string()]));
    let read = namespaces.get("demo").await.unwrap();
    assert_eq!(read.status.and_then(|s| s.phase).as_deref(), Some("Active"));
}

#[tokio::test]
async fn node_ports_come_from_the_configured_range_until_it_is_exhausted() {
    let options = ServerOptions { node_port_range: 31000..=31001, ..ServerOptions::default() };
    let server = TestServer::start_with(options).await.unwrap();
    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
    let mut ports = Vec::new();
    for name in ["a", "b"] {
        let created = services.create(&PostParams::default(), &lb_service(name, json!({}))).await.unwrap();
        ports.push(created.spec.unwrap().ports.unwrap()[0].node_port.unwrap());
    }
    ports.sort();
    assert_eq!(ports, [31000, 31001]);
    let refused = status(services.create(&PostParams::default(), &lb_service("c", json!({}))).await.unwrap_err());
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"), "{}", refused.message);
    let outside = json!({ "ports": [{ "port": 80, "targetPort": 8080, "nodePort": 30000 }] });
    let refused = status(services.create(&PostParams::default(), &lb_service("d", outside)).await.unwrap_err());
    assert!(refused.message.contains("31000-31001"), "{}", refused.message);
}
