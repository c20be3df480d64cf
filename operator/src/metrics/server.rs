//! The HTTP endpoints next to the controllers: `/metrics` for Prometheus, `/healthz` for the
//! liveness probe (200 while the process serves at all) and `/readyz` for the readiness probe
//! (200 only in a [`ReadyState`] that is ready).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::warn;

use super::Metrics;

/// Where the process stands, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadyState {
    /// Not yet standing by or syncing.
    #[default]
    Starting,
    /// Running the leader election without the lease: ready, so that a rollout proceeds and the
    /// replica counts as available to take over.
    StandingBy,
    /// Leading (or running without election), with caches still filling.
    Syncing,
    /// Leading, caches filled, controllers running.
    Ready,
}

impl ReadyState {
    pub fn is_ready(self) -> bool {
        matches!(self, ReadyState::StandingBy | ReadyState::Ready)
    }

    fn describe(self) -> &'static str {
        match self {
            ReadyState::Starting => "starting",
            ReadyState::StandingBy => "standing by for the leader-election lease",
            ReadyState::Syncing => "leading; caches are still syncing",
            ReadyState::Ready => "leading; caches synced, controllers running",
        }
    }
}

/// Shared readiness, set by `elbow run` and read by `/readyz`. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    state: Arc<Mutex<ReadyState>>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&self, state: ReadyState) {
        *self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = state;
    }

    pub fn get(&self) -> ReadyState {
        *self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Clone)]
struct Shared {
    metrics: Metrics,
    readiness: Readiness,
}

/// The running endpoints; dropping this stops them.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `address` (port 0: any free port) and serves in the background.
    pub async fn start(address: SocketAddr, metrics: Metrics, readiness: Readiness) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let local_addr = listener.local_addr()?;
        let app = Router::new()
            .route("/metrics", get(metrics_text))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .with_state(Shared { metrics, readiness });
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                warn!(%error, "the metrics and health endpoints stopped");
            }
        });
        Ok(Self { local_addr, task })
    }

    /// The address bound, with the port chosen when 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn metrics_text(State(shared): State<Shared>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], shared.metrics.encode())
}

async fn readyz(State(shared): State<Shared>) -> impl IntoResponse {
    let state = shared.readiness.get();
    let status = if state.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, format!("{}\n", state.describe()))
}
