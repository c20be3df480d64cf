//! Elbow's mutating admission webhook, two routes. On EKS the AWS cloud provider's service
//! controller serves every LoadBalancer Service without `spec.loadBalancerClass`; Elbow serves
//! class-less ones too unless `--default-load-balancer=false`, so two load balancers would be made
//! for one Service. The webhook gives such a Service Elbow's class as it is created (the field is
//! immutable afterwards), and the cloud provider, which ignores Services with any class, leaves
//! it alone ([`review`]). And it gives a pod created in a namespace labelled
//! `elbow.dev/pod-readiness-gate-inject=enabled` the readiness gates of the ip target groups that
//! will hold it ([`pods`]; the controllers set the gates' conditions, `controllers::readiness`).
//! And a pod created in a namespace labelled `elbow.dev/quic-server-id-inject=enabled` the QUIC
//! server ids of the containers its `quic-enabled-containers` annotation names ([`quic`]).
//!
//! Every replica serves the webhook, leader or not. The serving certificate comes from a Secret
//! ([`secret`]): made and renewed here (mode `self`, [`material`], [`x509`] from elbow-certs) or by cert-manager
//! (mode `external`); it is read again every check period and swapped in without a restart
//! ([`resolver`]). In mode `self` the CA also goes into the webhook configuration's `caBundle`
//! ([`ca_bundle`]).

pub mod args;
pub mod ca_bundle;
pub mod configuration;
pub mod material;
pub mod pods;
pub mod quic;
pub mod resolver;
pub mod review;
pub mod secret;
pub mod server;

/// The certificates themselves: written and read by elbow-certs, which the testkit shares.
pub use elbow_certs::{der, pem, x509};

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{info, warn};

pub use args::{CertificateMode, CertificateSettings, WebhookArgs, WebhookSettings};
use ca_bundle::Published;
use material::Serving;
use resolver::ReloadableCertificate;
use secret::SecretRef;
use server::{Handlers, WebhookServer};

/// The running webhook: the server and the task that keeps its certificate current. Dropping it
/// stops both.
#[derive(Debug)]
pub struct Webhook {
    server: WebhookServer,
    refresher: JoinHandle<()>,
}

impl Webhook {
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.refresher.abort();
    }
}

/// Binds the server (a taken port fails at once), waits for a first usable certificate (mode
/// `self`: creating it when needed) for at most the start-up timeout, then keeps it current in
/// the background. The `caBundle` is written in the background too, since the chart's webhook
/// configuration may be applied a moment after the Deployment.
pub async fn start(client: kube::Client, settings: WebhookSettings) -> anyhow::Result<Webhook> {
    let certificate = Arc::new(ReloadableCertificate::new());
    let handlers = Handlers {
        class: settings.policy.clone(),
        pods: settings.pods.enabled.then(|| (client.clone(), settings.pods.clone())),
        quic_server_ids: settings.quic_server_ids,
    };
    let server = WebhookServer::start(settings.bind_address, certificate.clone(), handlers)
        .await
        .with_context(|| format!("failed to serve the webhook on {}", settings.bind_address))?;
    info!(address = %server.local_addr(), paths = %format!("{} {} {}", review::PATH, pods::PATH, quic::PATH), "serving the admission webhook");
    let mut keeper = CertificateKeeper::new(client, settings.certificate, certificate);
    let deadline = Instant::now() + keeper.settings.startup_timeout;
    let first = loop {
        match keeper.load().await {
            Ok(serving) => break serving,
            Err(error) if Instant::now() + keeper.settings.retry_delay < deadline => {
                warn!("no webhook certificate yet, trying again: {error:#}");
                tokio::time::sleep(keeper.settings.retry_delay).await;
            }
            Err(error) => return Err(error.context("no usable webhook certificate")),
        }
    };
    let refresher = tokio::spawn(keeper.keep_current(first));
    Ok(Webhook { server, refresher })
}

/// Loads the certificate into the server and, in mode `self`, into the `caBundle`.
struct CertificateKeeper {
    client: kube::Client,
    settings: CertificateSettings,
    certificate: Arc<ReloadableCertificate>,
    /// The `tls.crt` served now.
    loaded: Option<Vec<u8>>,
}

impl CertificateKeeper {
    fn new(client: kube::Client, settings: CertificateSettings, certificate: Arc<ReloadableCertificate>) -> Self {
        Self { client, settings, certificate, loaded: None }
    }

    fn secret(&self) -> SecretRef {
        SecretRef { namespace: self.settings.namespace.clone(), name: self.settings.secret_name.clone() }
    }

    /// Reads (mode `self`: renews when needed) the Secret and serves its certificate when it is
    /// not the one served already.
    async fn load(&mut self) -> anyhow::Result<Serving> {
        let secret = self.secret();
        let serving = match self.settings.mode {
            CertificateMode::SelfManaged => {
                secret::ensure_self_managed(&self.client, &secret, &self.settings.dns_names()).await?
            }
            CertificateMode::External => secret::read_external(&self.client, &secret).await?,
        };
        if self.loaded.as_deref() != Some(serving.certificate_pem.as_slice()) {
            self.certificate.set(serving.certified.clone());
            self.loaded = Some(serving.certificate_pem.clone());
            info!(%secret, "serving the webhook certificate from the Secret");
        }
        Ok(serving)
    }

    /// Mode `self`: the Secret's CA bundle into the webhook configuration. True when it is there.
    async fn publish(&self, serving: &Serving) -> anyhow::Result<bool> {
        if self.settings.mode != CertificateMode::SelfManaged {
            return Ok(true);
        }
        let bundle = serving.ca_bundle.as_deref().context("the self-managed Secret has no ca.crt")?;
        let name = &self.settings.configuration_name;
        match ca_bundle::publish(&self.client, name, bundle).await? {
            Published::Unchanged => Ok(true),
            Published::Patched(count) => {
                info!(configuration = %name, webhooks = count, "wrote the CA into the webhook configuration's caBundle");
                Ok(true)
            }
            Published::Missing => {
                warn!(configuration = %name, "the MutatingWebhookConfiguration does not exist (yet); its caBundle cannot be set");
                Ok(false)
            }
        }
    }

    /// Forever: publish, wait a check period (a retry delay after a failure), load again.
    async fn keep_current(mut self, first: Serving) {
        let mut serving = Some(first);
        loop {
            let healthy = match serving.take() {
                Some(serving) => match self.publish(&serving).await {
                    Ok(done) => done,
                    Err(error) => {
                        warn!("{error:#}");
                        false
                    }
                },
                None => false,
            };
            let wait = if healthy { self.settings.check_period } else { self.settings.retry_delay };
            tokio::time::sleep(wait).await;
            match self.load().await {
                Ok(loaded) => serving = Some(loaded),
                Err(error) => warn!("failed to check the webhook certificate; serving the one loaded: {error:#}"),
            }
        }
    }
}
