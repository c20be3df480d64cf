//! Admission webhooks against the test server with a real `kube::Client` (and real kubectl): a
//! small HTTPS webhook on 127.0.0.1 with a certificate from a test CA, called as kube-apiserver
//! calls webhooks, its answers applied as kube-apiserver applies them.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use elbow_testkit::TestServer;
use elbow_testkit::certs::{ServingCertificate, TestCa};
use elbow_testkit::tools::KubectlServer;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::Status;
use serde_json::{Value, json};

/// One request a webhook received.
#[derive(Debug, Clone)]
struct Call {
    path: String,
    query: String,
    review: Value,
}

impl Call {
    fn request(&self) -> &Value {
        &self.review["request"]
    }
}

/// What a webhook answers: its `response` (the uid is filled in), after `delay`.
#[derive(Debug, Clone)]
struct Answer {
    delay: Duration,
    response: Value,
}

fn allow() -> Answer {
    Answer { delay: Duration::ZERO, response: json!({ "allowed": true }) }
}

fn deny(code: u16, reason: &str, message: &str) -> Answer {
    Answer {
        delay: Duration::ZERO,
        response: json!({ "allowed": false, "status": { "code": code, "reason": reason, "message": message } }),
    }
}

fn patch(operations: Value) -> Answer {
    let patch = base64::engine::general_purpose::STANDARD.encode(operations.to_string());
    Answer { delay: Duration::ZERO, response: json!({ "allowed": true, "patchType": "JSONPatch", "patch": patch }) }
}

/// A JSON patch adding label `key=value` to an object that may have no labels yet.
fn add_label(object: &Value, key: &str, value: &str) -> Value {
    if object["metadata"]["labels"].is_object() {
        json!([{ "op": "add", "path": format!("/metadata/labels/{}", key.replace('~', "~0").replace('/', "~1")), "value": value }])
    } else {
        json!([{ "op": "add", "path": "/metadata/labels", "value": { key: value } }])
    }
}

type Decide = dyn Fn(&Call) -> Answer + Send + Sync;

/// An HTTPS admission webhook on 127.0.0.1 that records what it is sent and answers with `decide`.
struct Webhook {
    address: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Webhook {
    async fn start(certificate: &ServingCertificate, decide: impl Fn(&Call) -> Answer + Send + Sync + 'static) -> Self {
        let (chain, key) = certificate.rustls_parts();
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let decide: Arc<Decide> = Arc::new(decide);
        let recorded = calls.clone();
        let server = tokio::spawn(async move {
            // Connections end with the server: aborting it drops the set, which aborts them.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, decide, recorded) = (acceptor.clone(), decide.clone(), recorded.clone());
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service =
                        hyper::service::service_fn(move |request| answer(request, decide.clone(), recorded.clone()));
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
                });
            }
        });
        Self { address, calls, server }
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.address)
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The operations and names of the objects it was sent, in order.
    fn seen(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| {
                let request = c.request();
                let subresource = request["subResource"].as_str().map(|s| format!("/{s}")).unwrap_or_default();
                format!(
                    "{} {}{subresource} {}",
                    request["operation"].as_str().unwrap(),
                    request["resource"]["resource"].as_str().unwrap(),
                    request["name"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
    decide: Arc<Decide>,
    recorded: Arc<Mutex<Vec<Call>>>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let call = Call { path, query, review };
    recorded.lock().unwrap().push(call.clone());
    let answer = decide(&call);
    tokio::time::sleep(answer.delay).await;
    let mut response = answer.response;
    response["uid"] = call.request()["uid"].clone();
    let body = json!({ "apiVersion": call.review["apiVersion"], "kind": "AdmissionReview", "response": response });
    Ok(hyper::Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap())
}

/// A webhook entry of a configuration.
fn webhook(name: &str, client_config: Value, rules: Value) -> Value {
    json!({
        "name": name,
        "clientConfig": client_config,
        "rules": rules,
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    })
}

fn by_url(webhook: &Webhook, path: &str, ca: &TestCa) -> Value {
    json!({ "url": webhook.url(path), "caBundle": ca.ca_bundle() })
}

fn rule(operations: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!([{ "operations": operations, "apiGroups": groups, "apiVersions": ["v1"], "resources": resources }])
}

async fn mutating(server: &TestServer, name: &str, webhooks: Vec<Value>) -> MutatingWebhookConfiguration {
    let configuration = serde_json::from_value(json!({ "metadata": { "name": name }, "webhooks": webhooks })).unwrap();
    Api::<MutatingWebhookConfiguration>::all(server.client.clone())
        .create(&PostParams::default(), &configuration)
        .await
        .unwrap()
}

async fn validating(server: &TestServer, name: &str, webhooks: Vec<Value>) -> ValidatingWebhookConfiguration {
    let configuration = serde_json::from_value(json!({ "metadata": { "name": name }, "webhooks": webhooks })).unwrap();
    Api::<ValidatingWebhookConfiguration>::all(server.client.clone())
        .create(&PostParams::default(), &configuration)
        .await
        .unwrap()
}

fn service(name: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "type": "LoadBalancer", "ports": [{ "port": 80, "targetPort": 8080 }], "selector": { "app": name } },
    }))
    .unwrap()
}

fn configmap(name: &str, labels: Value) -> ConfigMap {
    serde_json::from_value(json!({ "metadata": { "name": name, "labels": labels }, "data": { "k": "v" } })).unwrap()
}

async fn namespace(server: &TestServer, name: &str, labels: Value) {
    let namespace = serde_json::from_value(json!({ "metadata": { "name": name, "labels": labels } })).unwrap();
    Api::<Namespace>::all(server.client.clone()).create(&PostParams::default(), &namespace).await.unwrap();
}

fn status(error: kube::Error) -> Status {
    match error {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A 127.0.0.1 port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_mutating_webhooks_json_patch_lands_in_the_stored_object() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let hook = Webhook::start(&ca.issue(&["127.0.0.1"]), |call| {
        let object = &call.request()["object"];
        let mut operations = add_label(object, "elbow.example.com/mutated", "yes");
        operations
            .as_array_mut()
            .unwrap()
            .push(json!({ "op": "add", "path": "/spec/loadBalancerClass", "value": "elbow.example.com/nlb" }));
        patch(operations)
    })
    .await;
    mutating(
        &server,
        "elbow",
        vec![webhook(
            "services.elbow.example.com",
            by_url(&hook, "/mutate-v1-service", &ca),
            rule(&["CREATE"], &[""], &["services"]),
        )],
    )
    .await;

    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
    let created = services
        .create(&PostParams { field_manager: Some("elbow-test".into()), ..Default::default() }, &service("web"))
        .await
        .unwrap();
    assert_eq!(created.metadata.labels.unwrap()["elbow.example.com/mutated"], "yes");
    let stored = services.get("web").await.unwrap();
    let spec = stored.spec.unwrap();
    assert_eq!(spec.load_balancer_class.as_deref(), Some("elbow.example.com/nlb"));
    assert!(spec.ports.unwrap()[0].node_port.is_some(), "the registry still allocates after the webhook");

    let calls = hook.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].path.as_str(), calls[0].query.as_str()), ("/mutate-v1-service", "timeout=10s"));
    assert_eq!(calls[0].review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(calls[0].review["kind"], "AdmissionReview");
    let request = calls[0].request();
    assert!(!request["uid"].as_str().unwrap().is_empty());
    assert_eq!(request["kind"], json!({ "group": "", "version": "v1", "kind": "Service" }));
    assert_eq!(request["resource"], json!({ "group": "", "version": "v1", "resource": "services" }));
    assert_eq!(request["requestKind"], request["kind"]);
    assert_eq!(request["requestResource"], request["resource"]);
    assert_eq!(
        (&request["operation"], &request["namespace"], &request["name"]),
        (&json!("CREATE"), &json!("default"), &json!("web"))
    );
    assert_eq!(request["userInfo"], json!({ "username": "system:anonymous", "groups": ["system:unauthenticated"] }));
    assert_eq!(request["dryRun"], false);
    assert_eq!(request["oldObject"], Value::Null);
    assert_eq!(
        request["options"],
        json!({ "kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "elbow-test" })
    );
    // Mutating webhooks see the object after defaulting, before the registry's allocation.
    let object = &request["object"];
    assert_eq!((&object["apiVersion"], &object["kind"]), (&json!("v1"), &json!("Service")));
    assert_eq!(object["spec"]["ports"][0]["protocol"], "TCP");
    assert_eq!(object["spec"]["externalTrafficPolicy"], "Cluster");
    assert!(object["spec"]["clusterIP"].is_null() && object["metadata"]["uid"].is_null(), "{object}");
}

#[tokio::test]
async fn a_validating_webhook_denies_with_kube_apiservers_message_and_nothing_is_stored() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let hook =
        Webhook::start(
            &ca.issue(&["127.0.0.1"]),
            |call| match call.request()["object"]["metadata"]["labels"]["allowed"].as_str() {
                Some("yes") => allow(),
                _ => deny(403, "Forbidden", "configmaps need allowed=yes"),
            },
        )
        .await;
    validating(
        &server,
        "policy",
        vec![webhook(
            "configmaps.elbow.example.com",
            by_url(&hook, "/validate", &ca),
            rule(&["CREATE", "UPDATE"], &[""], &["configmaps"]),
        )],
    )
    .await;

    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let refused = status(configmaps.create(&PostParams::default(), &configmap("plain", json!({}))).await.unwrap_err());
    assert_eq!((refused.code, refused.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        refused.message,
        r#"admission webhook "configmaps.elbow.example.com" denied the request: configmaps need allowed=yes"#
    );
    assert!(configmaps.get_opt("plain").await.unwrap().is_none());

    configmaps.create(&PostParams::default(), &configmap("fine", json!({ "allowed": "yes" }))).await.unwrap();
    let refused = configmaps
        .patch("fine", &PatchParams::default(), &Patch::Merge(json!({ "metadata": { "labels": { "allowed": "no" } } })))
        .await
        .unwrap_err();
    assert_eq!(status(refused).code, 403);
    assert_eq!(
        configmaps.get("fine").await.unwrap().metadata.labels.unwrap()["allowed"],
        "yes",
        "the refused patch was not written"
    );
}

#[tokio::test]
async fn a_refused_write_holds_no_node_port_and_keeps_those_it_had() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let hook =
        Webhook::start(
            &ca.issue(&["127.0.0.1"]),
            |call| match call.request()["object"]["metadata"]["labels"]["refuse"].as_str() {
                Some("yes") => deny(403, "Forbidden", "refused"),
                _ => allow(),
            },
        )
        .await;
    validating(
        &server,
        "ports",
        vec![webhook(
            "ports.elbow.example.com",
            by_url(&hook, "/v", &ca),
            rule(&["CREATE", "UPDATE"], &[""], &["services"]),
        )],
    )
    .await;
    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
    let with_node_port = |name: &str, node_port: i32, refuse: bool| {
        let mut service = service(name);
        service.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].node_port = Some(node_port);
        if refuse {
            service.metadata.labels = Some([("refuse".to_string(), "yes".to_string())].into());
        }
        service
    };

    let refused = services.create(&PostParams::default(), &with_node_port("refused", 30080, true)).await.unwrap_err();
    assert_eq!(status(refused).code, 403);
    services
        .create(&PostParams::default(), &with_node_port("taker", 30080, false))
        .await
        .expect("30080 was not held by the refused Service");

    // A refused update giving up 30080 for 30081 keeps 30080 and never takes 30081.
    let moved = json!({ "metadata": { "labels": { "refuse": "yes" } }, "spec": { "ports": [{ "port": 80, "targetPort": 8080, "nodePort": 30081 }] } });
    let refused = services.patch("taker", &PatchParams::default(), &Patch::Merge(moved)).await.unwrap_err();
    assert_eq!(status(refused).code, 403);
    let taken =
        status(services.create(&PostParams::default(), &with_node_port("other", 30080, false)).await.unwrap_err());
    assert_eq!(taken.code, 422, "{}", taken.message);
    assert!(taken.message.contains("30080: provided port is already allocated"), "{}", taken.message);
    services.create(&PostParams::default(), &with_node_port("other", 30081, false)).await.expect("30081 is free");
}

#[tokio::test]
async fn a_webhook_that_speaks_only_v1beta1_gets_v1beta1_reviews() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let hook = Webhook::start(&ca.issue(&["127.0.0.1"]), |call| {
        let mut answer = patch(add_label(&call.request()["object"], "review", "v1beta1"));
        // v1beta1 answers may leave out the patch type: a patch is a JSON patch.
        answer.response.as_object_mut().unwrap().remove("patchType");
        answer
    })
    .await;
    let mut old = webhook("old.elbow.example.com", by_url(&hook, "/m", &ca), rule(&["CREATE"], &[""], &["configmaps"]));
    old["admissionReviewVersions"] = json!(["v1beta2", "v1beta1"]);
    mutating(&server, "old", vec![old]).await;
    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let created = configmaps.create(&PostParams::default(), &configmap("c", json!({}))).await.unwrap();
    assert_eq!(created.metadata.labels.unwrap()["review"], "v1beta1");
    assert_eq!(hook.calls()[0].review["apiVersion"], "admission.k8s.io/v1beta1");
}

#[tokio::test]
async fn mutating_webhooks_run_before_validating_ones_which_see_the_object_as_stored() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let certificate = ca.issue(&["127.0.0.1"]);
    let mutator =
        Webhook::start(&certificate, |call| patch(add_label(&call.request()["object"], "tier", "front"))).await;
    let validator = Webhook::start(&certificate, |call| {
        if call.request()["object"]["metadata"]["labels"]["tier"] == "front" {
            allow()
        } else {
            deny(400, "", "no tier")
        }
    })
    .await;
    let rules = rule(&["CREATE"], &[""], &["services"]);
    validating(
        &server,
        "a-validating",
        vec![webhook("check.elbow.example.com", by_url(&validator, "/validate", &ca), rules.clone())],
    )
    .await;
    mutating(&server, "z-mutating", vec![webhook("label.elbow.example.com", by_url(&mutator, "/mutate", &ca), rules)])
        .await;

    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
    let mut generated = service("");
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("web-".into());
    let created = services.create(&PostParams::default(), &generated).await.unwrap();
    assert_eq!(created.metadata.labels.unwrap()["tier"], "front");

    let mutated = mutator.calls()[0].request().clone();
    assert_eq!(mutated["name"], Value::Null, "a generated name does not exist yet for mutating webhooks");
    let validated = validator.calls()[0].request().clone();
    let name = created.metadata.name.unwrap();
    assert_eq!(validated["name"], json!(name), "validating webhooks see the generated name");
    let object = &validated["object"];
    assert_eq!(object["metadata"]["name"], json!(name));
    assert_eq!(object["metadata"]["uid"], json!(created.metadata.uid.unwrap()));
    assert_eq!(object["spec"]["clusterIP"], json!(created.spec.unwrap().cluster_ip.unwrap()));
    assert!(object["spec"]["ports"][0]["nodePort"].is_u64());
}

#[tokio::test]
async fn failure_policy_fail_refuses_and_ignore_goes_on_when_the_webhook_is_down() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let port = closed_port().await;
    let down = json!({ "url": format!("https://127.0.0.1:{port}/mutate"), "caBundle": ca.ca_bundle() });
    let mut fail = webhook("fail.elbow.example.com", down.clone(), rule(&["CREATE"], &[""], &["configmaps"]));
    fail["objectSelector"] = json!({ "matchLabels": { "policy": "fail" } });
    let mut ignore = webhook("ignore.elbow.example.com", down, rule(&["CREATE"], &[""], &["configmaps"]));
    ignore["failurePolicy"] = json!("Ignore");
    mutating(&server, "down", vec![fail, ignore]).await;

    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let refused = status(
        configmaps.create(&PostParams::default(), &configmap("a", json!({ "policy": "fail" }))).await.unwrap_err(),
    );
    assert_eq!((refused.code, refused.reason.as_str()), (500, "InternalError"));
    assert_eq!(
        refused.message,
        format!(
            r#"Internal error occurred: failed calling webhook "fail.elbow.example.com": failed to call webhook: Post "https://127.0.0.1:{port}/mutate?timeout=10s": dial tcp 127.0.0.1:{port}: connect: connection refused"#
        )
    );
    configmaps.create(&PostParams::default(), &configmap("b", json!({ "policy": "ignore" }))).await.unwrap();
    assert!(configmaps.get_opt("a").await.unwrap().is_none());
}

/// Services as `kubectl expose --type=LoadBalancer` and friends send them, to a webhook that
/// wants only class-less LoadBalancers and says so in a CEL match condition.
#[tokio::test]
async fn match_conditions_choose_the_requests_and_a_failing_one_follows_the_failure_policy() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let hook = Webhook::start(&ca.issue(&["127.0.0.1"]), |_| allow()).await;
    let mut class_less =
        webhook("lb.elbow.example.com", by_url(&hook, "/lb", &ca), rule(&["CREATE"], &[""], &["services"]));
    class_less["matchConditions"] = json!([{
        "name": "class-less-load-balancer",
        "expression": "has(object.spec.type) && object.spec.type == 'LoadBalancer' && \
            (!has(object.spec.loadBalancerClass) || object.spec.loadBalancerClass == '')",
    }]);
    // Selecting a field the object lacks is an evaluation error, unless another condition is false.
    let mut failing =
        webhook("fail.elbow.example.com", by_url(&hook, "/fail", &ca), rule(&["CREATE"], &[""], &["services"]));
    failing["objectSelector"] = json!({ "matchLabels": { "probe": "fail" } });
    failing["matchConditions"] =
        json!([{ "name": "needs-a-class", "expression": "object.spec.loadBalancerClass == 'x'" }]);
    let mut ignoring = failing.clone();
    ignoring["name"] = json!("ignore.elbow.example.com");
    ignoring["clientConfig"] = by_url(&hook, "/ignore", &ca);
    ignoring["objectSelector"] = json!({ "matchLabels": { "probe": "ignore" } });
    ignoring["failurePolicy"] = json!("Ignore");
    mutating(&server, "conditions", vec![class_less, failing, ignoring]).await;

    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
    let create = |name: &str, change: &dyn Fn(&mut Value)| {
        let mut object = serde_json::to_value(service(name)).unwrap();
        change(&mut object);
        let object: Service = serde_json::from_value(object).unwrap();
        let services = services.clone();
        async move { services.create(&PostParams::default(), &object).await }
    };
    create("plain", &|_| {}).await.unwrap();
    create("classed", &|s| s["spec"]["loadBalancerClass"] = json!("service.k8s.aws/nlb")).await.unwrap();
    create("internal", &|s| s["spec"]["type"] = json!("ClusterIP")).await.unwrap();
    let paths: Vec<String> =
        hook.calls().iter().map(|c| format!("{} {}", c.path, c.request()["name"].as_str().unwrap())).collect();
    assert_eq!(paths, ["/lb plain"], "only the class-less LoadBalancer is sent");

    let labelled = |probe: &'static str| move |s: &mut Value| s["metadata"]["labels"] = json!({ "probe": probe });
    let refused = status(create("probe-fail", &labelled("fail")).await.unwrap_err());
    assert_eq!((refused.code, refused.reason.as_str()), (403, "Forbidden"));
    assert!(refused.message.contains("no such key: loadBalancerClass"), "{}", refused.message);
    assert!(services.get_opt("probe-fail").await.unwrap().is_none());
    create("probe-ignore", &labelled("ignore")).await.unwrap();
    assert!(
        hook.calls().iter().all(|c| c.path != "/fail" && c.path != "/ignore"),
        "neither erroring webhook was called"
    );
}

#[tokio::test]
async fn a_webhook_slower_than_its_timeout_is_given_up_on() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let slow = Webhook::start(&ca.issue(&["127.0.0.1"]), |_| Answer { delay: Duration::from_secs(5), ..allow() }).await;
    let mut fail =
        webhook("slow.elbow.example.com", by_url(&slow, "/validate", &ca), rule(&["CREATE"], &[""], &["configmaps"]));
    fail["timeoutSeconds"] = json!(1);
    fail["objectSelector"] = json!({ "matchLabels": { "policy": "fail" } });
    let mut ignore = webhook(
        "slow-ignored.elbow.example.com",
        by_url(&slow, "/validate", &ca),
        rule(&["CREATE"], &[""], &["configmaps"]),
    );
    ignore["timeoutSeconds"] = json!(1);
    ignore["failurePolicy"] = json!("Ignore");
    ignore["objectSelector"] = json!({ "matchLabels": { "policy": "ignore" } });
    validating(&server, "slow", vec![fail, ignore]).await;

    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let started = Instant::now();
    let refused = status(
        configmaps.create(&PostParams::default(), &configmap("a", json!({ "policy": "fail" }))).await.unwrap_err(),
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(4), "{waited:?}");
    assert_eq!(refused.code, 500);
    let url = slow.url("/validate?timeout=1s");
    assert_eq!(
        refused.message,
        format!(
            r#"Internal error occurred: failed calling webhook "slow.elbow.example.com": failed to call webhook: Post "{url}": context deadline exceeded"#
        )
    );
    assert_eq!(slow.calls()[0].query, "timeout=1s", "the webhook is told its timeout");

    let started = Instant::now();
    configmaps.create(&PostParams::default(), &configmap("b", json!({ "policy": "ignore" }))).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_certificate_the_ca_bundle_does_not_vouch_for_fails_the_call() {
    let server = TestServer::start().await.unwrap();
    let (ca, stranger) = (TestCa::new("webhook ca"), TestCa::new("another ca"));
    let trusted = Webhook::start(&ca.issue(&["127.0.0.1"]), |_| allow()).await;
    let wrong_name = Webhook::start(&ca.issue(&["127.0.0.2", "webhook.example.com"]), |_| allow()).await;
    let hooks = vec![
        webhook(
            "stranger.elbow.example.com",
            by_url(&trusted, "/v", &stranger),
            rule(&["CREATE"], &[""], &["configmaps"]),
        ),
        webhook("name.elbow.example.com", by_url(&wrong_name, "/v", &ca), rule(&["UPDATE"], &[""], &["configmaps"])),
        webhook(
            "garbled.elbow.example.com",
            json!({ "url": trusted.url("/v"), "caBundle": base64::engine::general_purpose::STANDARD.encode("not a certificate") }),
            rule(&["DELETE"], &[""], &["configmaps"]),
        ),
    ];
    validating(&server, "tls", hooks).await;

    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let refused = status(configmaps.create(&PostParams::default(), &configmap("a", json!({}))).await.unwrap_err());
    assert!(
        refused.message.ends_with(&format!(
            r#"failed calling webhook "stranger.elbow.example.com": failed to call webhook: Post "{}": tls: failed to verify certificate: x509: certificate signed by unknown authority"#,
            trusted.url("/v?timeout=10s")
        )),
        "{}",
        refused.message
    );
    assert!(trusted.calls().is_empty(), "no request goes out over a connection that failed verification");

    // Created before the configuration's CREATE rule could see it: through the store.
    server.store().create(&configmap_info(), "default", json!({ "metadata": { "name": "b" } })).unwrap();
    let refused = status(
        configmaps
            .patch("b", &PatchParams::default(), &Patch::Merge(json!({ "data": { "k": "v" } })))
            .await
            .unwrap_err(),
    );
    assert!(
        refused.message.ends_with("tls: failed to verify certificate: x509: certificate is valid for 127.0.0.2, webhook.example.com, not 127.0.0.1"),
        "{}",
        refused.message
    );
    let refused = status(configmaps.delete("b", &DeleteParams::default()).await.unwrap_err());
    assert!(
        refused.message.ends_with(r#"failed calling webhook "garbled.elbow.example.com": could not get REST client: unable to load root certificates: unable to parse bytes as PEM block"#),
        "{}",
        refused.message
    );
}

fn configmap_info() -> elbow_testkit::registry::ResourceInfo {
    elbow_testkit::registry::Registry::default().get("", "v1", "configmaps").unwrap().clone()
}

#[tokio::test]
async fn namespace_and_object_selectors_and_rules_choose_the_requests_a_webhook_sees() {
    let server = TestServer::start().await.unwrap();
    namespace(&server, "web", json!({ "team": "web" })).await;
    namespace(&server, "data", json!({ "team": "data" })).await;
    let ca = TestCa::new("webhook ca");
    let hook = Webhook::start(&ca.issue(&["127.0.0.1"]), |_| allow()).await;
    let mut by_namespace =
        webhook("namespace.elbow.example.com", by_url(&hook, "/ns", &ca), rule(&["CREATE"], &[""], &["configmaps"]));
    by_namespace["namespaceSelector"] =
        json!({ "matchExpressions": [{ "key": "team", "operator": "In", "values": ["web"] }] });
    let mut by_object =
        webhook("object.elbow.example.com", by_url(&hook, "/object", &ca), rule(&["*"], &[""], &["services"]));
    by_object["objectSelector"] = json!({ "matchLabels": { "elbow.example.com/managed": "true" } });
    let status_only = webhook(
        "status.elbow.example.com",
        by_url(&hook, "/status", &ca),
        rule(&["UPDATE"], &[""], &["services/status"]),
    );
    let namespaces = webhook(
        "namespaces.elbow.example.com",
        by_url(&hook, "/namespaces", &ca),
        rule(&["CREATE", "DELETE"], &[""], &["namespaces"]),
    );
    validating(&server, "selectors", vec![by_namespace, by_object, status_only, namespaces]).await;

    for ns in ["web", "data"] {
        Api::<ConfigMap>::namespaced(server.client.clone(), ns)
            .create(&PostParams::default(), &configmap("c", json!({})))
            .await
            .unwrap();
    }
    let services: Api<Service> = Api::namespaced(server.client.clone(), "web");
    let mut managed = service("managed");
    managed.metadata.labels = Some([("elbow.example.com/managed".to_string(), "true".to_string())].into());
    services.create(&PostParams::default(), &managed).await.unwrap();
    services.create(&PostParams::default(), &service("unmanaged")).await.unwrap();
    // Unlabelling is still seen: the old object matched.
    services
        .patch(
            "managed",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "labels": { "elbow.example.com/managed": null } } })),
        )
        .await
        .unwrap();
    services
        .patch("managed", &PatchParams::default(), &Patch::Merge(json!({ "metadata": { "labels": { "other": "x" } } })))
        .await
        .unwrap();
    let status = json!({ "status": { "loadBalancer": { "ingress": [{ "hostname": "web.elb.example.com" }] } } });
    services.patch_status("unmanaged", &PatchParams::default(), &Patch::Merge(status)).await.unwrap();
    namespace(&server, "scratch", json!({})).await;
    Api::<Namespace>::all(server.client.clone()).delete("scratch", &DeleteParams::default()).await.unwrap();

    assert_eq!(
        hook.seen(),
        [
            "CREATE configmaps c",
            "CREATE services managed",
            "UPDATE services managed",
            "UPDATE services/status unmanaged",
            "CREATE namespaces scratch",
            "DELETE namespaces scratch",
        ]
    );
    let paths: Vec<String> = hook.calls().iter().map(|c| c.path.clone()).collect();
    assert_eq!(paths, ["/ns", "/object", "/object", "/status", "/namespaces", "/namespaces"]);
    let calls = hook.calls();
    assert_eq!(calls[0].request()["namespace"], "web");
    let (create_namespace, delete_namespace) = (calls[4].request(), calls[5].request());
    assert_eq!(create_namespace["namespace"], Value::Null, "a namespace being created has none yet");
    assert_eq!(delete_namespace["namespace"], "scratch", "a namespace named in the path is its own");
}

#[tokio::test]
async fn updates_and_deletes_carry_the_old_object_and_their_options() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let hook = Webhook::start(&ca.issue(&["127.0.0.1"]), |_| allow()).await;
    validating(
        &server,
        "all",
        vec![webhook("all.elbow.example.com", by_url(&hook, "/v", &ca), rule(&["*"], &[""], &["configmaps"]))],
    )
    .await;
    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    configmaps.create(&PostParams::default(), &configmap("c", json!({ "v": "1" }))).await.unwrap();
    configmaps
        .patch(
            "c",
            &PatchParams::apply("elbow-test"),
            &Patch::Apply(
                json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c", "labels": { "v": "2" } } }),
            ),
        )
        .await
        .unwrap();
    configmaps.delete("c", &DeleteParams::background()).await.unwrap();

    let calls = hook.calls();
    assert_eq!(hook.seen(), ["CREATE configmaps c", "UPDATE configmaps c", "DELETE configmaps c"]);
    let update = calls[1].request();
    assert_eq!(update["oldObject"]["metadata"]["labels"]["v"], "1");
    assert_eq!(update["object"]["metadata"]["labels"]["v"], "2");
    assert_eq!(
        update["options"],
        json!({ "kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "elbow-test" })
    );
    let delete = calls[2].request();
    assert_eq!(delete["object"], Value::Null);
    assert_eq!(delete["oldObject"]["metadata"]["labels"]["v"], "2");
    assert_eq!(delete["options"]["kind"], "DeleteOptions");
    assert_eq!(delete["options"]["propagationPolicy"], "Background");
}

#[tokio::test]
async fn a_webhook_behind_a_service_is_dialled_through_its_route_and_verified_for_the_service_name() {
    let server = TestServer::start().await.unwrap();
    namespace(&server, "elbow-system", json!({})).await;
    let ca = TestCa::new("webhook ca");
    let hook = Webhook::start(&ca.issue(&["elbow-webhook.elbow-system.svc"]), |call| {
        patch(add_label(&call.request()["object"], "via", "service"))
    })
    .await;
    let ip_only = Webhook::start(&ca.issue(&["127.0.0.1"]), |_| allow()).await;
    let by_service = |name: &str| json!({ "service": { "namespace": "elbow-system", "name": name, "path": "/mutate" }, "caBundle": ca.ca_bundle() });
    let mut hooks = vec![webhook(
        "service.elbow.example.com",
        by_service("elbow-webhook"),
        rule(&["CREATE"], &[""], &["configmaps"]),
    )];
    hooks[0]["objectSelector"] = json!({ "matchLabels": { "to": "service" } });
    let mut wrong_certificate =
        webhook("wrong-name.elbow.example.com", by_service("ip-only"), rule(&["CREATE"], &[""], &["configmaps"]));
    wrong_certificate["objectSelector"] = json!({ "matchLabels": { "to": "ip-only" } });
    let mut missing =
        webhook("missing.elbow.example.com", by_service("missing"), rule(&["CREATE"], &[""], &["configmaps"]));
    missing["objectSelector"] = json!({ "matchLabels": { "to": "missing" } });
    hooks.extend([wrong_certificate, missing]);
    mutating(&server, "services", hooks).await;

    let webhook_service = |name: &str| -> Service {
        serde_json::from_value(
            json!({ "metadata": { "name": name }, "spec": { "ports": [{ "port": 443, "targetPort": 9443 }] } }),
        )
        .unwrap()
    };
    let services: Api<Service> = Api::namespaced(server.client.clone(), "elbow-system");
    services.create(&PostParams::default(), &webhook_service("elbow-webhook")).await.unwrap();
    services.create(&PostParams::default(), &webhook_service("ip-only")).await.unwrap();
    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");

    let unrouted = status(
        configmaps.create(&PostParams::default(), &configmap("a", json!({ "to": "service" }))).await.unwrap_err(),
    );
    assert!(
        unrouted
            .message
            .contains(r#"Post "https://elbow-webhook.elbow-system.svc:443/mutate?timeout=10s": dial tcp 10.96."#),
        "{}",
        unrouted.message
    );
    assert!(unrouted.message.contains(":443: connect: connection refused"), "{}", unrouted.message);

    server.route_service("elbow-system", "elbow-webhook", 443, hook.address);
    server.route_service("elbow-system", "ip-only", 443, ip_only.address);
    let created = configmaps.create(&PostParams::default(), &configmap("a", json!({ "to": "service" }))).await.unwrap();
    assert_eq!(created.metadata.labels.unwrap()["via"], "service");
    assert_eq!(hook.calls()[0].path, "/mutate");

    let refused = status(
        configmaps.create(&PostParams::default(), &configmap("b", json!({ "to": "ip-only" }))).await.unwrap_err(),
    );
    assert!(
        refused.message.ends_with("x509: certificate is valid for 127.0.0.1, not ip-only.elbow-system.svc"),
        "{}",
        refused.message
    );
    let refused = status(
        configmaps.create(&PostParams::default(), &configmap("c", json!({ "to": "missing" }))).await.unwrap_err(),
    );
    assert!(
        refused.message.ends_with(
            r#"Post "https://missing.elbow-system.svc:443/mutate?timeout=10s": service "missing" not found"#
        ),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn a_webhook_asking_for_it_is_called_again_when_a_later_one_changes_the_object() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let certificate = ca.issue(&["127.0.0.1"]);
    // Each adds its label when missing, so a second call changes nothing.
    let labeller = |key: &'static str| {
        move |call: &Call| {
            let object = &call.request()["object"];
            if object["metadata"]["labels"][key].is_string() { allow() } else { patch(add_label(object, key, "yes")) }
        }
    };
    let (first, second, third) = (
        Webhook::start(&certificate, labeller("first")).await,
        Webhook::start(&certificate, labeller("second")).await,
        Webhook::start(&certificate, labeller("third")).await,
    );
    let rules = rule(&["CREATE"], &[""], &["configmaps"]);
    let mut if_needed = webhook("first.elbow.example.com", by_url(&first, "/m", &ca), rules.clone());
    if_needed["reinvocationPolicy"] = json!("IfNeeded");
    let never = webhook("second.elbow.example.com", by_url(&second, "/m", &ca), rules.clone());
    let mut last = webhook("third.elbow.example.com", by_url(&third, "/m", &ca), rules);
    last["reinvocationPolicy"] = json!("IfNeeded");
    // Configurations in name order: "a" before "b".
    mutating(&server, "b", vec![never, last]).await;
    mutating(&server, "a", vec![if_needed]).await;

    let configmaps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let created = configmaps.create(&PostParams::default(), &configmap("c", json!({}))).await.unwrap();
    let labels = created.metadata.labels.unwrap();
    assert_eq!((labels["first"].as_str(), labels["second"].as_str(), labels["third"].as_str()), ("yes", "yes", "yes"));
    assert_eq!(first.calls().len(), 2, "called again after the others changed the object");
    assert!(first.calls()[1].request()["object"]["metadata"]["labels"]["third"].is_string());
    assert_eq!(second.calls().len(), 1, "reinvocationPolicy Never");
    assert_eq!(third.calls().len(), 1, "nothing changed the object after it");
}

#[tokio::test]
async fn bad_answers_fail_the_call_and_validating_webhooks_may_not_patch() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let patcher =
        Webhook::start(&ca.issue(&["127.0.0.1"]), |call| patch(add_label(&call.request()["object"], "x", "y"))).await;
    validating(
        &server,
        "patching",
        vec![webhook(
            "patching.elbow.example.com",
            by_url(&patcher, "/v", &ca),
            rule(&["CREATE"], &[""], &["configmaps"]),
        )],
    )
    .await;
    let refused = status(
        Api::<ConfigMap>::namespaced(server.client.clone(), "default")
            .create(&PostParams::default(), &configmap("c", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        refused.message,
        r#"Internal error occurred: failed calling webhook "patching.elbow.example.com": received invalid webhook response: validating webhook may not return response.patch"#
    );

    let deleting = Webhook::start(&ca.issue(&["127.0.0.1"]), |_| {
        patch(json!([{ "op": "add", "path": "/metadata/labels", "value": {} }]))
    })
    .await;
    let mut on_delete =
        webhook("delete.elbow.example.com", by_url(&deleting, "/m", &ca), rule(&["DELETE"], &[""], &["services"]));
    on_delete["failurePolicy"] = json!("Ignore");
    mutating(&server, "deleting", vec![on_delete]).await;
    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
    services.create(&PostParams::default(), &service("web")).await.unwrap();
    let refused = status(services.delete("web", &DeleteParams::default()).await.unwrap_err());
    assert_eq!(
        (refused.code, refused.message.as_str()),
        (
            500,
            r#"Internal error occurred: admission webhook "delete.elbow.example.com" attempted to modify the object, which is not supported for this operation"#
        ),
        "not a call failure, so failurePolicy Ignore does not apply"
    );
}

#[tokio::test]
async fn configurations_are_validated_and_never_sent_to_webhooks() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let hook = Webhook::start(&ca.issue(&["127.0.0.1"]), |_| deny(403, "Forbidden", "everything is refused")).await;
    mutating(
        &server,
        "everything",
        vec![webhook(
            "everything.elbow.example.com",
            by_url(&hook, "/m", &ca),
            json!([{ "operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"] }]),
        )],
    )
    .await;

    let api = Api::<MutatingWebhookConfiguration>::all(server.client.clone());
    let mut invalid =
        webhook("invalid.elbow.example.com", by_url(&hook, "/m", &ca), rule(&["CREATE"], &[""], &["pods"]));
    invalid["sideEffects"] = json!("Some");
    invalid["timeoutSeconds"] = json!(0);
    let configuration =
        serde_json::from_value(json!({ "metadata": { "name": "invalid" }, "webhooks": [invalid] })).unwrap();
    let refused = status(api.create(&PostParams::default(), &configuration).await.unwrap_err());
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        refused.message,
        r#"MutatingWebhookConfiguration.admissionregistration.k8s.io "invalid" is invalid: [webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun", webhooks[0].timeoutSeconds: Invalid value: 0: the timeout value must be between 1 and 30 seconds]"#
    );

    // Its own configuration stays editable although the webhook refuses everything else.
    api.patch(
        "everything",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "edited": "yes" } } })),
    )
    .await
    .unwrap();
    let refused = status(
        Api::<ConfigMap>::namespaced(server.client.clone(), "default")
            .create(&PostParams::default(), &configmap("c", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 403);
    assert_eq!(hook.seen(), ["CREATE configmaps c"]);
    api.delete("everything", &DeleteParams::default()).await.unwrap();
    Api::<ConfigMap>::namespaced(server.client.clone(), "default")
        .create(&PostParams::default(), &configmap("c", json!({})))
        .await
        .unwrap();
}

/// kubectl's typed `create deployment` and `expose` post protobuf; webhooks get JSON.
#[test]
fn kubectl_create_and_expose_go_through_a_mutating_webhook_and_show_its_warnings() {
    let cluster = KubectlServer::start();
    let ca = TestCa::new("webhook ca");
    let hook = cluster.runtime.block_on(Webhook::start(&ca.issue(&["127.0.0.1"]), |call| {
        let request = call.request();
        let object = &request["object"];
        let mut operations = add_label(object, "elbow.example.com/seen", "yes");
        if request["kind"]["kind"] == "Service" {
            operations
                .as_array_mut()
                .unwrap()
                .push(json!({ "op": "add", "path": "/spec/loadBalancerClass", "value": "elbow.example.com/nlb" }));
        }
        let mut answer = patch(operations);
        answer.response["warnings"] =
            json!([format!("{} labelled by the test webhook", request["kind"]["kind"].as_str().unwrap())]);
        answer
    }));
    let manifest = format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: elbow\nwebhooks:\n- name: label.elbow.example.com\n  clientConfig:\n    url: {}\n    caBundle: {}\n  rules:\n  - operations: [CREATE]\n    apiGroups: [\"\", apps]\n    apiVersions: [v1]\n    resources: [deployments, services]\n  sideEffects: None\n  admissionReviewVersions: [v1]\n",
        hook.url("/mutate"),
        ca.ca_bundle()
    );
    cluster.kubectl.apply(&manifest);
    let listed = cluster.kubectl.ok(&["get", "mutatingwebhookconfigurations"]);
    assert!(listed.lines().nth(1).is_some_and(|row| row.split_whitespace().take(2).eq(["elbow", "1"])), "{listed}");

    let created = cluster.kubectl.run(&["create", "deployment", "web", "--image=nginx", "--port=8080"]);
    assert!(created.success(), "{}\n{}", created.stdout, created.stderr);
    assert!(created.stderr.contains("Warning: Deployment labelled by the test webhook"), "{}", created.stderr);
    let exposed =
        cluster.kubectl.run(&["expose", "deployment", "web", "--port=80", "--target-port=8080", "--type=LoadBalancer"]);
    assert!(exposed.success(), "{}\n{}", exposed.stdout, exposed.stderr);
    assert!(exposed.stderr.contains("Warning: Service labelled by the test webhook"), "{}", exposed.stderr);

    let deployment: Value =
        serde_json::from_str(&cluster.kubectl.ok(&["get", "deployment", "web", "-o", "json"])).unwrap();
    assert_eq!(deployment["metadata"]["labels"]["elbow.example.com/seen"], "yes");
    let service: Value = serde_json::from_str(&cluster.kubectl.ok(&["get", "service", "web", "-o", "json"])).unwrap();
    assert_eq!(service["metadata"]["labels"]["elbow.example.com/seen"], "yes");
    assert_eq!(service["spec"]["loadBalancerClass"], "elbow.example.com/nlb");

    let calls = hook.calls();
    assert_eq!(calls.len(), 2);
    let sent_deployment = &calls[0].request()["object"];
    assert_eq!((&sent_deployment["apiVersion"], &sent_deployment["kind"]), (&json!("apps/v1"), &json!("Deployment")));
    assert_eq!(sent_deployment["spec"]["template"]["spec"]["containers"][0]["image"], "nginx");
    assert_eq!(calls[0].request()["options"]["fieldManager"], "kubectl-create");
    assert_eq!(calls[1].request()["object"]["spec"]["selector"]["app"], "web");
}

/// kube-apiserver's GuaranteedUpdate: a patch that names no resourceVersion and loses a race (here
/// to the scheduler's binding, which calls no webhook, while a slow webhook holds the patch) is
/// worked out again from the newer pod instead of failing with 409; a patch that names the
/// resourceVersion it read is held to it.
#[tokio::test]
async fn a_patch_that_loses_a_race_during_its_webhook_is_applied_to_the_newer_object() {
    let server = TestServer::start().await.unwrap();
    let ca = TestCa::new("webhook ca");
    let slow =
        Webhook::start(&ca.issue(&["127.0.0.1"]), |_| Answer { delay: Duration::from_millis(700), ..allow() }).await;
    let hook = webhook("slow.elbow.example.com", by_url(&slow, "/mutate", &ca), rule(&["UPDATE"], &[""], &["pods"]));
    mutating(&server, "slow", vec![hook]).await;
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": "web-1" },
        "spec": { "containers": [{ "name": "app", "image": "nginx" }] }
    }))
    .unwrap();
    let created = pods.create(&PostParams::default(), &pod).await.unwrap();

    let label = json!({ "metadata": { "labels": { "tier": "web" } } });
    let patching = {
        let pods = pods.clone();
        tokio::spawn(async move { pods.patch("web-1", &PatchParams::default(), &Patch::Merge(label)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let binding = json!({ "apiVersion": "v1", "kind": "Binding", "metadata": { "name": "web-1" },
        "target": { "kind": "Node", "name": "node-1" } });
    let bound: Result<Value, kube::Error> =
        pods.create_subresource("binding", "web-1", &PostParams::default(), &binding).await;
    bound.unwrap();
    let patched = patching.await.unwrap().expect("the patch is applied to the bound pod, not refused");
    assert_eq!(patched.metadata.labels.unwrap()["tier"], "web");
    assert_eq!(patched.spec.unwrap().node_name.as_deref(), Some("node-1"), "the binding is kept");
    assert!(slow.calls().len() >= 2, "the webhook saw the patch again, on the newer pod: {:?}", slow.seen());

    // Naming the resourceVersion it read, a patch is a precondition: the pod has moved on.
    let stale = json!({ "metadata": { "resourceVersion": created.metadata.resource_version.unwrap(),
        "labels": { "tier": "api" } } });
    let refused = status(pods.patch("web-1", &PatchParams::default(), &Patch::Merge(stale)).await.unwrap_err());
    assert_eq!((refused.code, refused.reason.as_str()), (409, "Conflict"));
}
