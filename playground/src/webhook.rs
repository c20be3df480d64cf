//! Elbow's admission webhook in the playground, set up as the chart sets it up on a cluster: the
//! MutatingWebhookConfiguration (the operator's own copy, which a chart test holds equal to the
//! chart's), the webhook Service in `elbow-system`, and the operator's webhook server with a
//! certificate it issues itself. `kubectl expose --type=LoadBalancer` then goes through the
//! webhook, and the Service is stored with Elbow's class as on EKS.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Command, FromArgMatches};
use elbow::webhook::{Webhook, WebhookArgs};
use elbow_testkit::TestServer;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

/// Where the chart's default install puts the webhook's Service and Secret.
pub const NAMESPACE: &str = "elbow-system";
const SERVICE: &str = "elbow-webhook";
const CONFIGURATION: &str = "elbow";

/// Installs the configuration and Service, starts the webhook beside controllers built with
/// `build`, and returns once the configuration carries its CA (before that, with `failurePolicy:
/// Fail`, a class-less LoadBalancer Service could not be created). The webhook stops when dropped.
pub async fn install(
    server: &TestServer,
    operator: kube::Client,
    build: &elbow_builder::BuildConfig,
) -> anyhow::Result<Webhook> {
    let client = server.client.clone();
    let namespace = serde_json::from_value(json!({ "metadata": { "name": NAMESPACE } }))?;
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &namespace).await?;
    let service = serde_json::from_value(json!({
        "metadata": { "name": SERVICE },
        "spec": { "type": "ClusterIP", "ports": [{ "name": "webhook", "port": 443, "targetPort": 9443 }] },
    }))?;
    Api::<Service>::namespaced(client.clone(), NAMESPACE).create(&PostParams::default(), &service).await?;
    let configuration =
        elbow::webhook::configuration::mutating_webhook_configuration(CONFIGURATION, NAMESPACE, SERVICE);
    let configurations: Api<MutatingWebhookConfiguration> = Api::all(client);
    configurations.create(&PostParams::default(), &serde_json::from_value(configuration)?).await?;

    let args = webhook_args()?;
    let mut settings = args.settings(build);
    settings.certificate.retry_delay = Duration::from_millis(200);
    let webhook = elbow::webhook::start(operator, settings).await.context("starting the admission webhook")?;
    // kube-proxy's part: the Service's port leads to the webhook.
    server.route_service(NAMESPACE, SERVICE, 443, webhook.local_addr());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let written = configurations
            .get(CONFIGURATION)
            .await?
            .webhooks
            .is_some_and(|hooks| hooks.first().is_some_and(|hook| hook.client_config.ca_bundle.is_some()));
        if written {
            return Ok(webhook);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the webhook's CA never reached its configuration");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `elbow run`'s webhook flags as the chart passes them, on a free loopback port.
fn webhook_args() -> anyhow::Result<WebhookArgs> {
    let argv = [
        "run",
        "--webhook",
        "--webhook-bind-address=127.0.0.1:0",
        "--webhook-namespace",
        NAMESPACE,
        "--webhook-service-name",
        SERVICE,
        "--webhook-configuration-name",
        CONFIGURATION,
    ];
    let matches = WebhookArgs::augment_args(Command::new("run")).try_get_matches_from(argv)?;
    Ok(WebhookArgs::from_arg_matches(&matches)?)
}
