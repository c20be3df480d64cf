//! The path a platform engineer takes, end to end: `helm install` of the chart into the testkit
//! API server (which calls admission webhooks as kube-apiserver does, match conditions
//! included), the operator started with the flags of the Deployment helm created, then
//! `kubectl create deployment` and `kubectl expose --type=LoadBalancer`. The Service is stored
//! with Elbow's class, so the cloud provider's service controller would leave it alone, and it
//! gets its network load balancer (in the in-memory fake cloud).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Command, FromArgMatches};
use elbow::run::RunArgs;
use elbow_chart_tests::{NAMESPACE, RELEASE, chart_dir, helm, operator_args, values_file};
use elbow_testkit::eventually;
use elbow_testkit::tools::KubectlServer;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use tokio::sync::oneshot;

const CLUSTER: &str = "prod-eu";

#[test]
fn helm_install_then_kubectl_expose_gives_the_service_elbows_class_and_a_load_balancer() {
    let cluster = KubectlServer::start();
    // Clients are made on the server's runtime, as the tasks that use them run there.
    let _entered = cluster.runtime.enter();
    let client = cluster.server.client.clone();
    let (cloud, environment) = elbow_playground::fake::seeded(CLUSTER, 2);
    let cloud = Arc::new(cloud);
    cluster.runtime.block_on(elbow_playground::nodes::register_all(&client, &environment.nodes)).unwrap();

    let kubeconfig = cluster.server.kubeconfig().display().to_string();
    let chart = chart_dir().display().to_string();
    let values = values_file("required.yaml").display().to_string();
    let vpc = format!("vpcId={}", environment.vpc_id());
    let install = helm(&[
        "install",
        RELEASE,
        &chart,
        "--namespace",
        NAMESPACE,
        "--create-namespace",
        "--values",
        &values,
        "--set",
        &vpc,
        "--kubeconfig",
        &kubeconfig,
    ]);
    assert!(install.status.success(), "helm install failed: {}", String::from_utf8_lossy(&install.stderr));

    // The operator with the flags of the Deployment as helm created it; only the webhook's
    // address is the test's, and kube-proxy's part (the webhook Service leads to it) is a route.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let deployment = cluster.runtime.block_on(deployments.get(RELEASE)).unwrap();
    let args = operator_args(&serde_json::to_value(&deployment).unwrap());
    let matches = RunArgs::augment_args(Command::new("run")).try_get_matches_from(&args).unwrap();
    let run = RunArgs::from_arg_matches(&matches).unwrap();
    assert_eq!(run.build.cluster_name, CLUSTER);
    assert!(run.webhook.enabled, "the chart turns the webhook on");
    let mut webhook_settings = run.webhook.settings(&run.build.to_config());
    webhook_settings.bind_address = "127.0.0.1:0".parse().unwrap();
    webhook_settings.certificate.retry_delay = Duration::from_millis(100);
    let operator = kube::Client::try_from(elbow::runtime::identify(kube::Config::new(
        format!("http://{}", cluster.server.addr).parse().unwrap(),
    )))
    .unwrap();
    let webhook = cluster.runtime.block_on(elbow::webhook::start(operator.clone(), webhook_settings)).unwrap();
    cluster.server.route_service(NAMESPACE, &run.webhook.service_name, 443, webhook.local_addr());

    let settings = elbow::run::operator_settings(&run, elbow::metrics::Metrics::new());
    let (stop, stopped) = oneshot::channel::<()>();
    let (started, running) = oneshot::channel();
    let controllers = cluster.runtime.spawn(elbow::runtime::run_controllers_signalling_start(
        operator,
        cloud.clone(),
        settings,
        async {
            let _ = stopped.await;
        },
        started,
    ));
    cluster.runtime.block_on(running).unwrap();

    let configurations: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    cluster.runtime.block_on(eventually("the operator to write the caBundle", async || {
        configurations.get(RELEASE).await.ok()?.webhooks?[0].client_config.ca_bundle.as_ref().map(|_| ())
    }));

    cluster.kubectl.ok(&["create", "deployment", "web", "--image=nginx"]);
    cluster.kubectl.ok(&["expose", "deployment", "web", "--port=80", "--target-port=8080", "--type=LoadBalancer"]);

    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let web = cluster.runtime.block_on(eventually("the Service's hostname", async || {
        let web = services.get("web").await.ok()?;
        web.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?.first()?.hostname.as_ref()?;
        Some(web)
    }));
    let spec = web.spec.unwrap();
    assert_eq!(spec.load_balancer_class.as_deref(), Some("elbow.dev/nlb"), "the webhook gave it Elbow's class");
    let balancers = cloud.load_balancers();
    assert_eq!(balancers.len(), 1, "one network load balancer: {balancers:?}");
    assert_eq!(balancers[0].scheme, elbow_model::Scheme::Internal, "the chart's default scheme");

    // And gone again with the Service.
    cluster.kubectl.ok(&["delete", "service", "web"]);
    cluster.runtime.block_on(eventually("the load balancer to be deleted", async || {
        cloud.load_balancers().is_empty().then_some(())
    }));
    let _ = stop.send(());
    cluster.runtime.block_on(controllers).unwrap();
}
