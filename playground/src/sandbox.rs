//! A whole Elbow in one process: the in-memory API server, a seeded cloud, Nodes for its
//! instances, the cluster's workload controllers (see [`crate::workloads`]), and the real Elbow
//! controllers. The playground binary runs one for a person; end-to-end
//! tests and benchmarks run one each.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;
use elbow::metrics::cloud::Metered;
use elbow::runtime::{OperatorSettings, run_controllers_signalling_start};
use elbow_aws::SdkCloud;
use elbow_builder::BuildConfig;
use elbow_builder::crd::{IngressClassParams, TargetGroupBinding};
use elbow_cloud::Cloud;
use elbow_cloud::resilient::{RateLimits, Resilient, RetryPolicy};
use elbow_deploy::DeploySettings;
use elbow_fake::FakeCloud;
use elbow_model::Scheme;
use elbow_testkit::{ServerOptions, TestServer};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::environment::Environment;
use crate::workloads::{PodTiming, WorkloadOptions, Workloads};
use crate::{endpoint, fake, nodes, webhook};

/// Where the load balancers are made.
#[derive(Debug, Clone)]
pub enum Aws {
    /// Elbow's in-memory fake: nothing to install, instant, inspectable.
    Fake,
    /// An AWS-compatible endpoint (moto, LocalStack) at this URL, reached through the real SDK.
    Endpoint(String),
    /// The real SDK with this configuration (a test harness's endpoint, or AWS itself).
    Sdk(Box<SdkConfig>),
}

#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The API server's port on 127.0.0.1 (0: any free port).
    pub port: u16,
    pub cluster: String,
    /// Instances seeded and registered as Nodes.
    pub nodes: usize,
    pub aws: Aws,
    /// How often every Service is reconciled again without a change.
    pub resync_period: Duration,
    /// Serve Elbow's admission webhook as the chart does (class-less LoadBalancer Services get
    /// Elbow's class as they are created). The playground binary turns it on; tests that look at
    /// class-less Services themselves leave it off.
    pub webhook: bool,
    /// The operator's orphan sweep; off unless a test turns it on (a sandbox's clusters live for
    /// minutes, and `elbow run`'s hourly sweep would never come round).
    pub orphan_sweep: elbow::sweep::PeriodicSweep,
    /// The cluster's own controllers for workloads (Deployments, ReplicaSets, the scheduler, a
    /// kubelet per node, EndpointSlices, garbage collection; see [`crate::workloads`]), with the
    /// pace of the pods' lives; `None` for an API server where pods stay as they are written.
    pub workloads: Option<PodTiming>,
}

/// A sandbox's pieces before any operator runs: the server with its Nodes and CRDs, and the
/// seeded fake cloud. For tests that run operators their own way (several replicas).
pub struct Prepared {
    pub server: TestServer,
    pub environment: Environment,
    pub cloud: Arc<FakeCloud>,
}

impl Prepared {
    pub async fn fake(cluster: &str, nodes: usize) -> anyhow::Result<Prepared> {
        elbow_testkit::install_crypto_provider();
        let server = TestServer::start().await.context("starting the API server")?;
        let (cloud, environment) = fake::seeded(cluster, nodes);
        populate(&server.client, &environment).await?;
        Ok(Prepared { server, environment, cloud: Arc::new(cloud) })
    }

    /// The settings a sandbox's operator runs with.
    pub fn operator_settings(&self, metrics: elbow::metrics::Metrics) -> OperatorSettings {
        let options = SandboxOptions::new(&self.environment.cluster, Aws::Fake);
        operator_settings(&options, self.environment.vpc_id(), metrics)
    }

    /// A client that identifies itself as the operator.
    pub fn operator_client(&self) -> anyhow::Result<kube::Client> {
        operator_client(&self.server)
    }
}

impl SandboxOptions {
    pub fn new(cluster: &str, aws: Aws) -> Self {
        SandboxOptions {
            port: 0,
            cluster: cluster.to_string(),
            nodes: 3,
            aws,
            resync_period: Duration::from_secs(600),
            webhook: false,
            orphan_sweep: elbow::sweep::PeriodicSweep::off(),
            workloads: Some(PodTiming::default()),
        }
    }
}

pub struct Sandbox {
    pub server: TestServer,
    pub environment: Environment,
    /// The fake (behind the metrics wrapper) when the sandbox runs on it; see [`Sandbox::fake`].
    metered_fake: Option<Arc<Metered<FakeCloud>>>,
    /// The SDK configuration, when the sandbox runs on an endpoint.
    pub sdk: Option<SdkConfig>,
    /// The operator's metrics, as `/metrics` would show them.
    pub metrics: elbow::metrics::Metrics,
    /// The admission webhook, when the options asked for it; stops when dropped.
    webhook: Option<elbow::webhook::Webhook>,
    /// The cluster's workload controllers, when the options asked for them; stop when dropped.
    workloads: Option<Workloads>,
    stop: Option<oneshot::Sender<()>>,
    operator: JoinHandle<()>,
}

impl Sandbox {
    /// Starts everything and returns once the controllers run.
    pub async fn start(options: SandboxOptions) -> anyhow::Result<Sandbox> {
        elbow_testkit::install_crypto_provider();
        let server = TestServer::start_with(ServerOptions { port: options.port, ..ServerOptions::default() })
            .await
            .context("starting the API server")?;
        let sdk = match &options.aws {
            Aws::Fake => None,
            Aws::Endpoint(url) => Some(sdk_config(Some(url)).await),
            Aws::Sdk(sdk) => Some(sdk.as_ref().clone()),
        };
        // Metered as in `elbow run`, so the sandbox's metrics show AWS calls too.
        let metrics = elbow::metrics::Metrics::new();
        let (cloud, environment, fake): (Arc<dyn Cloud>, _, _) = match &sdk {
            None => {
                let (cloud, environment) = fake::seeded(&options.cluster, options.nodes);
                let cloud = Arc::new(Metered::new(cloud, metrics.clone(), &options.cluster));
                (cloud.clone(), environment, Some(cloud))
            }
            Some(sdk) => {
                let where_ = sdk.endpoint_url().unwrap_or("AWS").to_string();
                let environment = endpoint::seed(sdk, &options.cluster, options.nodes)
                    .await
                    .with_context(|| format!("seeding a VPC, subnets and instances at {where_}"))?;
                let cloud = Metered::new(SdkCloud::from_sdk_config(sdk), metrics.clone(), &options.cluster);
                let cloud = Arc::new(Resilient::new(cloud, RateLimits::aws_defaults(), RetryPolicy::default()));
                (cloud, environment, None)
            }
        };
        populate(&server.client, &environment).await?;
        let workloads = match options.workloads {
            Some(timing) => {
                let options = WorkloadOptions { timing, subnets: environment.pod_subnets() };
                Some(Workloads::start(&server.url(), options).context("starting the workload controllers")?)
            }
            None => None,
        };

        let settings = operator_settings(&options, environment.vpc_id(), metrics.clone());
        // Its own client, identified as the operator, so the audit log separates its requests.
        let client = operator_client(&server)?;
        let webhook = match options.webhook {
            true => Some(webhook::install(&server, client.clone(), &settings.build).await?),
            false => None,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let (started, running) = oneshot::channel();
        let shutdown = async {
            let _ = stopped.await;
        };
        let operator = tokio::spawn(run_controllers_signalling_start(client, cloud, settings, shutdown, started));
        running.await.context("the controllers stopped before they started")?;
        Ok(Sandbox {
            server,
            environment,
            metered_fake: fake,
            sdk,
            metrics,
            webhook,
            workloads,
            stop: Some(stop),
            operator,
        })
    }

    /// Where the admission webhook listens, when the sandbox serves it.
    pub fn webhook_address(&self) -> Option<std::net::SocketAddr> {
        self.webhook.as_ref().map(elbow::webhook::Webhook::local_addr)
    }

    /// The fake cloud, for inspection, when the sandbox runs on it.
    pub fn fake(&self) -> Option<&FakeCloud> {
        self.metered_fake.as_deref().map(Metered::inner)
    }

    pub fn client(&self) -> kube::Client {
        self.server.client.clone()
    }

    /// What an Ingress test needs before its Ingress: Elbow's IngressClass `elbow` and a NodePort
    /// Service `web` (port 80 to 8080) in `default`. Returns the Ingresses of `default`.
    pub async fn web_service_and_class(&self) -> kube::Api<k8s_openapi::api::networking::v1::Ingress> {
        use k8s_openapi::api::{core::v1::Service, networking::v1::IngressClass};
        let client = self.client();
        elbow_testkit::create_from_json(
            &kube::Api::<IngressClass>::all(client.clone()),
            serde_json::json!({ "metadata": { "name": "elbow" }, "spec": { "controller": "elbow.dev/alb" } }),
        )
        .await;
        elbow_testkit::create_from_json(
            &kube::Api::<Service>::namespaced(client.clone(), "default"),
            serde_json::json!({ "metadata": { "name": "web" },
                "spec": { "type": "NodePort", "selector": { "app": "web" }, "ports": [{ "port": 80, "targetPort": 8080 }] } }),
        )
        .await;
        kube::Api::namespaced(client, "default")
    }

    /// Ingress `web` of class `elbow` in `default`, with `annotations`: host `web.example.com`, `/`
    /// to Service `web` port 80 (see [`Sandbox::web_service_and_class`]).
    pub async fn web_ingress(&self, annotations: serde_json::Value) -> k8s_openapi::api::networking::v1::Ingress {
        elbow_testkit::create_from_json(
            &kube::Api::namespaced(self.client(), "default"),
            serde_json::json!({
                "metadata": { "name": "web", "annotations": annotations },
                "spec": { "ingressClassName": "elbow", "rules": [{ "host": "web.example.com", "http": { "paths": [{
                    "path": "/", "pathType": "Prefix",
                    "backend": { "service": { "name": "web", "port": { "number": 80 } } }
                }] } }] }
            }),
        )
        .await
    }

    /// Stops the controllers, letting the operator's running reconciles finish, then the server.
    pub async fn stop(mut self) {
        if let Some(workloads) = &mut self.workloads {
            workloads.stop();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.operator).await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.operator.abort();
    }
}

/// A client for `server` that identifies itself as the operator, so the audit log separates its
/// requests from the test's.
fn operator_client(server: &TestServer) -> anyhow::Result<kube::Client> {
    Ok(kube::Client::try_from(elbow::runtime::identify(kube::Config::new(server.url().parse()?)))?)
}

/// What the cluster holds before Elbow runs: a Node per seeded instance, and Elbow's CRDs.
async fn populate(client: &kube::Client, environment: &Environment) -> anyhow::Result<()> {
    nodes::register_all(client, &environment.nodes).await.context("registering the Nodes")?;
    install_crds(client).await.context("installing Elbow's CRDs")
}

/// What `helm install` does first: the CRDs, so the controllers' watches find their resources.
async fn install_crds(client: &kube::Client) -> kube::Result<()> {
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(client.clone());
    for crd in [IngressClassParams::crd(), TargetGroupBinding::crd()] {
        crds.create(&kube::api::PostParams::default(), &crd).await?;
    }
    Ok(())
}

fn operator_settings(options: &SandboxOptions, vpc_id: &str, metrics: elbow::metrics::Metrics) -> OperatorSettings {
    OperatorSettings {
        ingress_controller_name: elbow_builder::ingress::DEFAULT_CONTROLLER.to_string(),
        // Explicitly public, as `elbow run --default-scheme internet-facing` (the operator's default,
        // like LBC's, is internal): the tour's `kubectl get service --watch` shows a hostname a
        // person would reach, and the seeded VPC has an internet gateway for it.
        build: BuildConfig { default_scheme: Scheme::InternetFacing, ..BuildConfig::new(&options.cluster) },
        deploy: DeploySettings {
            cluster_name: options.cluster.clone(),
            vpc_id: vpc_id.to_string(),
            drift_period: Duration::from_secs(600),
            integrations: elbow_deploy::Integrations::all(),
        },
        vpc_id: vpc_id.to_string(),
        concurrency: 8,
        resync_period: options.resync_period,
        inventory_ttl: Duration::from_secs(300),
        instance: Some("playground".into()),
        metrics,
        orphan_sweep: options.orphan_sweep.clone(),
    }
}

/// SDK settings for an emulator at `endpoint` (`None`: AWS's own endpoints): its default region
/// and dummy credentials unless the environment provides real ones.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(Credentials::new("testing", "testing", None, None, "elbow-playground"));
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
        loader = loader.region(Region::new("us-east-1"));
    }
    // Retries are Elbow's own (the Resilient wrapper), as in production.
    loader.retry_config(aws_config::retry::RetryConfig::disabled()).load().await
}
