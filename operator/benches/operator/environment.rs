//! One measured setting: a fresh API server process, a fresh fake cloud, Ready nodes, and the real
//! controllers (`elbow::runtime::run_controllers`) running in this process.

use std::sync::Arc;
use std::time::Duration;

use elbow::runtime::{OperatorSettings, run_controllers_signalling_start};
use elbow_fake::FakeCloud;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::apiserver::ApiServer;
use crate::cluster::{create_nodes, fake_cloud, install_crds};
use crate::reconciles;

/// How long the operator must stay idle (no reconcile started, no AWS call) to count as settled.
const QUIET: Duration = Duration::from_secs(1);

pub struct Environment {
    pub client: kube::Client,
    pub cloud: Arc<FakeCloud>,
    pub nodes: usize,
    stop: oneshot::Sender<()>,
    operator: JoinHandle<()>,
    // Last, so the server outlives the controllers' final requests.
    _server: ApiServer,
}

impl Environment {
    /// Starts everything with `nodes` Ready nodes, each backed by a running instance, and returns
    /// once the controllers run.
    pub async fn start(nodes: usize, settings: OperatorSettings) -> Self {
        let server = ApiServer::start();
        let client = server.client();
        install_crds(&client).await;
        let cloud = fake_cloud(nodes);
        create_nodes(&client, 0..nodes).await;
        let (stop, stopped) = oneshot::channel::<()>();
        let (started, running) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        let operator =
            tokio::spawn(run_controllers_signalling_start(client.clone(), cloud.clone(), settings, shutdown, started));
        tokio::time::timeout(Duration::from_secs(60), running)
            .await
            .expect("the controllers started within 60 s")
            .expect("the controllers started");
        Self { client, cloud, nodes, stop, operator, _server: server }
    }

    pub fn services(&self) -> Api<Service> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// Waits until no reconcile has started and no AWS call was made for a second.
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let activity = || (reconciles::total(), self.cloud.counter().total());
        let mut last = activity();
        let mut quiet_since = Instant::now();
        while quiet_since.elapsed() < QUIET {
            assert!(Instant::now() < deadline, "the operator did not settle within 120 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = activity();
            if now != last {
                last = now;
                quiet_since = Instant::now();
            }
        }
    }

    /// Asks the controllers to stop, and ends them if they have not within 30 s, so that nothing
    /// of this setting runs on into the next.
    pub async fn stop(mut self) {
        let _ = self.stop.send(());
        if tokio::time::timeout(Duration::from_secs(30), &mut self.operator).await.is_err() {
            eprintln!("the controllers did not stop within 30 s of the shutdown signal; aborting them");
            self.operator.abort();
        }
    }
}
