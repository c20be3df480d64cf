//! Two operator replicas with leader election against one API server and one (fake) cloud, as the
//! Helm chart runs them: only the leader reconciles; when it stops, the standby takes over and
//! finishes a Service created meanwhile; nothing is created twice.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use elbow::leader::{ElectionConfig, Ended, LeaderElection, Timing, run_while_leading};
use elbow::metrics::Metrics;
use elbow::runtime::run_controllers;
use elbow_cloud::api::Api as CloudApi;
use elbow_playground::Prepared;
use elbow_testkit::eventually;
use futures::FutureExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Replica {
    name: String,
    metrics: Metrics,
    stop: Option<oneshot::Sender<()>>,
    run: JoinHandle<Ended>,
}

impl Replica {
    fn start(prepared: &Prepared, name: &str) -> Replica {
        let client = prepared.operator_client().unwrap();
        let timing = Timing {
            lease_duration: Duration::from_secs(3),
            renew_deadline: Duration::from_secs(2),
            retry_period: Duration::from_millis(250),
        };
        let config = ElectionConfig {
            namespace: "default".into(),
            lease_name: "elbow-leader".into(),
            identity: name.into(),
            timing,
        };
        let election = LeaderElection::new(client.clone(), config).unwrap();
        let metrics = Metrics::new();
        let settings = prepared.operator_settings(metrics.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        }
        .shared();
        let work = run_controllers(client, prepared.cloud.clone(), settings, shutdown.clone());
        let run = tokio::spawn(run_while_leading(election, shutdown, work));
        Replica { name: name.into(), metrics, stop: Some(stop), run }
    }

    fn reconciles(&self) -> u64 {
        self.metrics
            .encode()
            .lines()
            .filter(|l| l.starts_with("elbow_reconciles_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    async fn stop(mut self) -> Ended {
        let _ = self.stop.take().unwrap().send(());
        self.run.await.unwrap()
    }
}

fn service(name: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "type": "LoadBalancer", "selector": { "app": name }, "ports": [{ "port": 80, "targetPort": 8080 }] }
    }))
    .unwrap()
}

async fn hostname(services: &Api<Service>, name: &str) -> Option<String> {
    services.get(name).await.ok()?.status?.load_balancer?.ingress?.first()?.hostname.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_standby_takes_over_and_finishes_a_pending_service() {
    let prepared = Prepared::fake("replicas", 3).await.unwrap();
    let client = prepared.server.client.clone();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let mut replicas = vec![Replica::start(&prepared, "replica-a"), Replica::start(&prepared, "replica-b")];

    services.create(&PostParams::default(), &service("first")).await.unwrap();
    eventually("the first Service's hostname", async || hostname(&services, "first").await).await;
    let holder = leases.get("elbow-leader").await.unwrap().spec.unwrap().holder_identity.unwrap();
    let leader = replicas.iter().position(|r| r.name == holder).expect("the lease names a replica");
    let standby = 1 - leader;
    assert!(replicas[leader].reconciles() > 0, "the leader reconciles");
    assert_eq!(replicas[standby].reconciles(), 0, "the standby never reconciles");

    // The leader stops (as on a rolling update); a Service created meanwhile is pending.
    let leader = replicas.remove(leader);
    let stopped_at = Instant::now();
    assert_eq!(leader.stop().await, Ended::WorkEnded { released: true }, "a stopping leader hands the lease back");
    services.create(&PostParams::default(), &service("second")).await.unwrap();
    eventually("the second Service's hostname", async || hostname(&services, "second").await).await;
    let took = stopped_at.elapsed();
    assert!(took < Duration::from_secs(30), "the standby finished the pending Service {took:?} after the stop");
    let new_holder = leases.get("elbow-leader").await.unwrap().spec.unwrap().holder_identity.unwrap();
    assert_eq!(new_holder, replicas[0].name);
    assert!(replicas[0].reconciles() > 0);

    let calls = prepared.cloud.counter().snapshot();
    let created = calls.get(&CloudApi::CreateLoadBalancer).copied().unwrap_or_default();
    assert_eq!(created, 2, "one load balancer per Service, none created twice (calls: {calls:?})");
    assert_eq!(prepared.cloud.load_balancers().len(), 2);
    let remaining = replicas.remove(0);
    remaining.stop().await;
    println!("took over and finished the pending Service in {took:?}");
}
