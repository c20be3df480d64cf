//! The HTTPS server kube-apiserver calls: TLS from a [`ReloadableCertificate`] (so a renewed
//! certificate is served without a restart), HTTP/1.1, three routes: `/mutate-v1-service`
//! (Elbow's class on class-less LoadBalancer Services), `/mutate-v1-pod` (readiness gates) and
//! `/mutate-v1-pod-quic` (QUIC server ids).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use super::material::provider;
use super::pods::{self, PodGatePolicy};
use super::quic;
use super::resolver::ReloadableCertificate;
use super::review::{self, ClassPolicy};

/// What each route does.
#[derive(Clone)]
pub struct Handlers {
    pub class: ClassPolicy,
    /// The pod route reads the cluster through the client; without it every pod passes
    /// unchanged.
    pub pods: Option<(kube::Client, PodGatePolicy)>,
    /// Whether the QUIC route gives pods their server ids; off, every pod passes unchanged.
    pub quic_server_ids: bool,
}

impl From<ClassPolicy> for Handlers {
    fn from(class: ClassPolicy) -> Self {
        Self { class, pods: None, quic_server_ids: false }
    }
}

/// A client that has not finished its TLS handshake, or sent a request's headers, by then is
/// dropped, so that idle sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Room for the largest object kube-apiserver stores (about 1.5 MiB in etcd) inside a review.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The running server; dropping it stops it and every connection it serves.
#[derive(Debug)]
pub struct WebhookServer {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl WebhookServer {
    /// Binds `address` (port 0: any free port) and serves in the background.
    pub async fn start(
        address: SocketAddr,
        certificate: Arc<ReloadableCertificate>,
        handlers: impl Into<Handlers>,
    ) -> Result<Self, StartError> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(StartError::Tls)?
            .with_no_client_auth()
            .with_cert_resolver(certificate);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(address).await.map_err(StartError::Bind)?;
        let local_addr = listener.local_addr().map_err(StartError::Bind)?;
        let app = Router::new()
            .route(review::PATH, post(mutate))
            .route(pods::PATH, post(mutate_pod))
            .route(quic::PATH, post(mutate_pod_quic))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(Arc::new(handlers.into()));
        let task = tokio::spawn(accept_loop(listener, acceptor, app));
        Ok(Self { local_addr, task })
    }

    /// The address bound, with the port chosen when 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("failed to bind: {0}")]
    Bind(#[source] std::io::Error),
    #[error("the TLS configuration is refused: {0}")]
    Tls(#[source] rustls::Error),
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, app: Router) {
    // Owned here, so that aborting this task ends every connection too.
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, usually: wait rather than spin.
                    warn!(%error, "the webhook server failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            // Reap finished connections as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        connections.spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => return debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => return debug!(%peer, "TLS handshake timed out"),
            };
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                .await;
            if let Err(error) = served {
                debug!(%peer, %error, "webhook connection ended with an error");
            }
        });
    }
}

async fn mutate(State(handlers): State<Arc<Handlers>>, body: Bytes) -> Response {
    let policy = &handlers.class;
    match review::answer(&body, policy) {
        Ok(answer) => {
            if let Some(service) = &answer.patched {
                info!(%service, class = %policy.load_balancer_class, "set spec.loadBalancerClass on a new Service");
            }
            axum::Json(answer.response).into_response()
        }
        Err(reason) => {
            warn!(%reason, "refused a webhook request that is not an AdmissionReview");
            (StatusCode::BAD_REQUEST, reason).into_response()
        }
    }
}

/// A pod being created: its readiness gates. The cluster unreadable is a 503, and
/// kube-apiserver applies the webhook's failurePolicy (by default Ignore: the pod is created
/// without its gates); a pod is never refused by Elbow itself.
async fn mutate_pod(State(handlers): State<Arc<Handlers>>, body: Bytes) -> Response {
    let request = match parse(&body) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let patch = match &handlers.pods {
        None => None,
        Some((client, policy)) => match pods::patch_for(&request, client, policy).await {
            Ok(patch) => patch,
            Err(error) => {
                let pod = review::object_name(&request);
                warn!(%pod, %error, "could not read the pod's Services to name its readiness gates");
                let reason = format!("failed to read the Services of pod {pod}: {error}");
                return (StatusCode::SERVICE_UNAVAILABLE, reason).into_response();
            }
        },
    };
    allow(&request, patch, "added readiness gates to a new pod")
}

/// A pod being created: the QUIC server ids of the containers it names. Reads nothing, so it
/// fails only on a request that is not an AdmissionReview.
async fn mutate_pod_quic(State(handlers): State<Arc<Handlers>>, body: Bytes) -> Response {
    let request = match parse(&body) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let patch = if handlers.quic_server_ids { quic::patch_for(&request, &mut || fastrand::u64(..)) } else { None };
    allow(&request, patch, "gave a new pod's QUIC containers their server ids")
}

/// The review in `body`, or the 400 that refuses a request that is not one.
fn parse(body: &Bytes) -> Result<review::AdmissionRequest, (StatusCode, String)> {
    review::parse(body).map_err(|reason| {
        warn!(%reason, "refused a webhook request that is not an AdmissionReview");
        (StatusCode::BAD_REQUEST, reason)
    })
}

/// The pod allowed, with `patch` if any (logged as `patched`).
fn allow(request: &review::AdmissionRequest, patch: Option<json_patch::Patch>, patched: &str) -> Response {
    match review::allowed(request, patch.as_ref()) {
        Ok(response) => {
            if patch.is_some() {
                info!(pod = %review::object_name(request), "{patched}");
            }
            axum::Json(response).into_response()
        }
        Err(reason) => (StatusCode::INTERNAL_SERVER_ERROR, reason).into_response(),
    }
}
