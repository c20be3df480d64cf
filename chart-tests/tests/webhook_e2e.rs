//! The webhook end to end, as on a cluster: the chart's MutatingWebhookConfiguration and webhook
//! Service in the testkit API server (which calls admission webhooks as kube-apiserver does), the
//! operator's webhook started with the flags the chart renders, and Services created through the
//! API: a class-less LoadBalancer Service is stored with Elbow's class, others as they were sent,
//! and while no replica answers such a Service is refused (failurePolicy Fail).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use clap::{Args, Command, FromArgMatches};
use elbow::run::RunArgs;
use elbow_chart_tests::{NAMESPACE, operator_args, render, values_file};
use elbow_testkit::{TestServer, eventually};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::Api;
use kube::api::{DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

async fn create<K>(api: &Api<K>, object: Value) -> Result<K, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), &serde_json::from_value(object).unwrap()).await
}

fn service(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    spec["ports"] = json!([{ "port": 80, "targetPort": 8080 }]);
    json!({ "metadata": { "name": name }, "spec": spec })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_class_less_load_balancer_service_is_stored_with_elbows_class() {
    let server = TestServer::start().await.unwrap();
    let namespaces: Api<Namespace> = Api::all(server.client.clone());
    create(&namespaces, json!({ "metadata": { "name": NAMESPACE } })).await.unwrap();

    // The chart's webhook Service and configuration, as helm would apply them.
    let manifests = render(&[&values_file("required.yaml")], &[]);
    let system_services: Api<Service> = Api::namespaced(server.client.clone(), NAMESPACE);
    create(&system_services, manifests.get("Service", "elbow-webhook").clone()).await.unwrap();
    let configuration = manifests.get("MutatingWebhookConfiguration", "elbow").clone();
    let kind = GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration");
    let dynamic: Api<DynamicObject> = Api::all_with(server.client.clone(), &ApiResource::from_gvk(&kind));
    dynamic.create(&PostParams::default(), &serde_json::from_value(configuration).unwrap()).await.unwrap();

    // The operator's webhook with the rendered flags; only the address is the test's.
    let args = operator_args(manifests.get("Deployment", "elbow"));
    let matches = RunArgs::augment_args(Command::new("run")).try_get_matches_from(&args).unwrap();
    let run = RunArgs::from_arg_matches(&matches).unwrap();
    let mut settings = run.webhook.settings(&run.build.to_config());
    settings.bind_address = "127.0.0.1:0".parse().unwrap();
    settings.certificate.retry_delay = Duration::from_millis(100);
    let operator = kube::Client::try_from(elbow::runtime::identify(kube::Config::new(
        format!("http://{}", server.addr).parse().unwrap(),
    )))
    .unwrap();
    let webhook = elbow::webhook::start(operator, settings).await.unwrap();
    // kube-proxy's part: the Service's port leads to the webhook.
    server.route_service(NAMESPACE, "elbow-webhook", 443, webhook.local_addr());

    let configurations: Api<MutatingWebhookConfiguration> = Api::all(server.client.clone());
    eventually("the operator to write the caBundle", async || {
        configurations.get("elbow").await.ok()?.webhooks?[0].client_config.ca_bundle.as_ref().map(|_| ())
    })
    .await;

    let services: Api<Service> = Api::namespaced(server.client.clone(), "default");
    let class = |s: &Service| s.spec.as_ref().and_then(|spec| spec.load_balancer_class.clone());
    let web = create(&services, service("web", json!({ "type": "LoadBalancer" }))).await.unwrap();
    assert_eq!(class(&web).as_deref(), Some("elbow.dev/nlb"));
    assert_eq!(class(&services.get("web").await.unwrap()).as_deref(), Some("elbow.dev/nlb"), "as stored");
    let other = json!({ "type": "LoadBalancer", "loadBalancerClass": "service.k8s.aws/nlb" });
    let lbc = create(&services, service("lbc", other)).await.unwrap();
    assert_eq!(class(&lbc).as_deref(), Some("service.k8s.aws/nlb"), "another class is kept");
    let internal = create(&services, service("internal", json!({ "type": "ClusterIP" }))).await.unwrap();
    assert_eq!(class(&internal), None);

    // No replica answers: the Service is refused, not created without a class.
    drop(webhook);
    let error = create(&services, service("later", json!({ "type": "LoadBalancer" }))).await.unwrap_err();
    assert!(error.to_string().contains("mservice.elbow.dev"), "{error}");
    assert!(services.get_opt("later").await.unwrap().is_none());
}
