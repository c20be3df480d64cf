//! Test and playground infrastructure for Elbow: an in-memory Kubernetes API server that speaks
//! the REST API well enough for a real `kube::Client`, kube-runtime's watchers and controllers,
//! and real kubectl. See docs/testkit.md for what is faithful and what is simplified.

pub mod admission;
pub mod apps;
pub mod audit;
pub mod certs;
pub mod crd_rules;
pub mod deletion;
pub mod errors;
pub mod events;
pub mod object_locks;
pub mod objects;
pub mod openapi;
pub mod patch;
pub mod pods;
pub mod protobuf;
pub mod registry;
pub mod selectors;
pub mod server;
pub mod store;
pub mod table;
pub mod tools;
pub mod validation;
pub mod wait;
pub mod watch;
pub mod webhooks;

pub use objects::create_from_json;
pub use wait::eventually;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use audit::{AuditEntry, AuditLog};

/// How many events watches can replay from; older resourceVersions get 410 Gone.
pub const DEFAULT_HISTORY: usize = 100_000;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// 0: any free port.
    pub port: u16,
    pub history: usize,
    /// kube-apiserver's `--service-node-port-range`. The default (30000-32767) holds 2,768
    /// ports; a benchmark with more LoadBalancer Services needs a wider one, as a real cluster would.
    pub node_port_range: std::ops::RangeInclusive<u16>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self { port: 0, history: DEFAULT_HISTORY, node_port_range: admission::DEFAULT_NODE_PORT_RANGE }
    }
}

/// A running server. Dropping it stops the server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub client: kube::Client,
    pub audit: AuditLog,
    kubeconfig: tempfile::TempPath,
    state: Arc<server::ServerState>,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts a server on a free 127.0.0.1 port, with a ready client and a kubeconfig file.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(ServerOptions::default()).await
    }

    pub async fn start_with(options: ServerOptions) -> anyhow::Result<Self> {
        install_crypto_provider();
        let state = Arc::new(server::ServerState {
            store: Arc::new(store::Store::with_node_ports(options.history, options.node_port_range.clone())),
            watches: watch::WatchControl::default(),
            registry: RwLock::new(registry::Registry::default()),
            audit: AuditLog::default(),
            service_routes: webhooks::client::ServiceRoutes::default(),
            object_locks: object_locks::ObjectLocks::default(),
        });
        let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(dispatch).with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        let url = format!("http://{addr}");
        let kubeconfig =
            tempfile::Builder::new().prefix("elbow-kubeconfig-").suffix(".yaml").tempfile()?.into_temp_path();
        write_kubeconfig(&kubeconfig, &url)?;
        let config = kube::Config::new(url.parse()?);
        let client = kube::Client::try_from(config)?;
        Ok(Self { addr, client, audit: state.audit.clone(), kubeconfig, state, stop: Some(stop) })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn store(&self) -> &store::Store {
        &self.state.store
    }

    /// Makes port `port` of Service `namespace/name` lead to `address`, for admission webhooks
    /// configured with that Service: kube-apiserver dials a Service's cluster IP, which a test
    /// has no network for. The Service must still exist and declare the port, and the webhook's
    /// certificate must be valid for `<name>.<namespace>.svc`, as on a cluster.
    pub fn route_service(&self, namespace: &str, name: &str, port: u16, address: SocketAddr) {
        self.state.service_routes.add(namespace, name, port, address);
    }

    /// Ends every open watch, as an API server restart does; clients reconnect.
    pub fn disconnect_watches(&self) {
        self.state.watches.epoch.send_modify(|epoch| *epoch += 1);
    }

    /// Holds new watches until the guard is dropped.
    pub async fn hold_watches(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.state.watches.gate.write().await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn dispatch(
    State(state): State<Arc<server::ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    server::handle(state, method, uri, headers, body).await
}

/// A kubeconfig for `url`, without credentials (the server does not authenticate).
pub fn write_kubeconfig(path: &Path, url: &str) -> std::io::Result<()> {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: elbow-testkit\n  cluster:\n    server: {url}\nusers:\n- name: elbow-testkit\n  user: {{}}\ncontexts:\n- name: elbow-testkit\n  context:\n    cluster: elbow-testkit\n    user: elbow-testkit\n    namespace: default\ncurrent-context: elbow-testkit\n"
    );
    std::fs::write(path, text)
}

/// kube and the AWS SDK bring rustls with different providers; one must be installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The path of a file next to the workspace root.
pub fn workspace_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}
