//! The operator's peak memory with a large cluster cached. Three processes, so that the figure is
//! the operator's alone: the API server (`elbow-apiserver`), this benchmark (which fills the API
//! server with Nodes and Services), and a child — this same binary started again in operator mode —
//! that runs the real controllers against the fake cloud and whose VmHWM is read from /proc.
//!
//! The fake cloud lives in the child (the `Cloud` trait is in-process), so the child's figure also
//! holds the fake's copy of every load balancer, target group and target it provisioned.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::runtime::watcher;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::Instant;

use crate::apiserver::{self, ApiServer};
use crate::cluster::{
    LOAD_BALANCER_LABEL, create_nodes, create_services, fake_cloud, install_crds, operator_settings, service,
};
use crate::hostnames::HostnameWatch;
use crate::reconciles;
use crate::slices::{self, Pod};

/// Set (to the API server's URL) in the environment of the child that runs the operator.
const CHILD_URL_ENV: &str = "ELBOW_BENCH_OPERATOR_URL";
const CHILD_SERVICES_ENV: &str = "ELBOW_BENCH_OPERATOR_SERVICES";
const CHILD_LOAD_BALANCERS_ENV: &str = "ELBOW_BENCH_OPERATOR_LOAD_BALANCERS";
const CHILD_NODES_ENV: &str = "ELBOW_BENCH_OPERATOR_NODES";
const CHILD_SLICES_ENV: &str = "ELBOW_BENCH_OPERATOR_SLICES";
/// A command to start the operator child under, for diagnosis (`heaptrack`, say). The figures
/// then describe the wrapper's process, not the operator's.
const WRAPPER_ENV: &str = "ELBOW_BENCH_OPERATOR_WRAPPER";
/// The line the child prints once every Service and EndpointSlice is in its cache and every
/// LoadBalancer Service has been reconciled at least once (the others never wake the Service
/// controller).
const ALL_RECONCILED: &str = "cached every Service and reconciled every LoadBalancer";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(300);

pub struct Cluster {
    pub services: usize,
    /// How many of the Services are of type LoadBalancer (the rest are ClusterIP).
    pub load_balancers: usize,
    pub nodes: usize,
    /// Ready pods behind every Service, in its EndpointSlices (none: no slices at all).
    pub endpoints_per_service: usize,
}

impl Cluster {
    fn slices(&self) -> usize {
        self.services * self.endpoints_per_service.div_ceil(slices::ENDPOINTS_PER_SLICE)
    }
}

pub struct Memory {
    /// VmHWM of the operator process, in KiB.
    pub peak_kib: u64,
    /// VmRSS once everything was reconciled and provisioned, in KiB.
    pub settled_kib: u64,
    /// From the operator's start to every Service reconciled and every load balancer provisioned.
    pub startup: Duration,
}

/// Fills a fresh API server with `cluster`, then starts the operator on it and reads its memory
/// once every Service was reconciled and every LoadBalancer Service shows a hostname.
pub async fn measure(cluster: &Cluster) -> Memory {
    let server = ApiServer::start();
    let client = server.client();
    install_crds(&client).await;
    create_nodes(&client, 0..cluster.nodes).await;
    let every = cluster.services / cluster.load_balancers.max(1);
    let wants_load_balancer =
        |i: usize| cluster.load_balancers > 0 && i.is_multiple_of(every) && i / every < cluster.load_balancers;
    let services = (0..cluster.services)
        .map(|i| service(&format!("svc-{i:05}"), if wants_load_balancer(i) { "LoadBalancer" } else { "ClusterIP" }));
    create_services(&client, services).await;
    if cluster.endpoints_per_service > 0 {
        let per = cluster.endpoints_per_service;
        let pods_of = |i: usize| (0..per).map(|p| Pod::ready(i * per + p, cluster.nodes)).collect::<Vec<_>>();
        slices::create_all(&client, (0..cluster.services).map(|i| (format!("svc-{i:05}"), pods_of(i)))).await;
    }

    let selected = watcher::Config::default().labels(&format!("{LOAD_BALANCER_LABEL}=true"));
    let mut hostnames = HostnameWatch::start(Api::<Service>::namespaced(client.clone(), "default"), selected).await;
    let started = Instant::now();
    let own_path = std::env::current_exe().expect("the benchmark's own path");
    let mut command = match std::env::var_os(WRAPPER_ENV) {
        Some(wrapper) => {
            let mut command = Command::new(wrapper);
            command.arg(own_path);
            command
        }
        None => Command::new(own_path),
    };
    let mut child = command
        .env(CHILD_URL_ENV, server.url())
        .env(CHILD_SERVICES_ENV, cluster.services.to_string())
        .env(CHILD_LOAD_BALANCERS_ENV, cluster.load_balancers.to_string())
        .env(CHILD_NODES_ENV, cluster.nodes.to_string())
        .env(CHILD_SLICES_ENV, cluster.slices().to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting the operator process");
    let pid = child.id().expect("the operator's pid");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let reconciled = async {
        while let Some(line) = lines.next_line().await.expect("the operator's output") {
            if line == ALL_RECONCILED {
                return;
            }
        }
        panic!("the operator process exited before caching every Service");
    };
    tokio::time::timeout(STARTUP_TIMEOUT, reconciled).await.expect("every Service cached in time");
    assert!(
        hostnames.wait_for(cluster.load_balancers, STARTUP_TIMEOUT).await,
        "only {} of {} load balancers provisioned",
        hostnames.with_hostname(),
        cluster.load_balancers
    );
    let startup = started.elapsed();
    // Events, status writes and the last reconciles land shortly after the final hostname.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let memory =
        Memory { peak_kib: proc_status_kib(pid, "VmHWM"), settled_kib: proc_status_kib(pid, "VmRSS"), startup };
    child.kill().await.expect("stopping the operator process");
    memory
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the operator's /proc status");
    let line = status.lines().find(|l| l.starts_with(&format!("{field}:"))).expect("the field in /proc status");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("a size in kB")
}

/// Whether this process was started as the operator child.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_URL_ENV).is_some()
}

/// The child: `elbow run`'s settings and runtime, the fake cloud with one running instance per
/// node, and the real controllers until the parent kills it.
pub fn run_child() {
    let url = std::env::var(CHILD_URL_ENV).expect("the API server's URL");
    let services: usize = env_number(CHILD_SERVICES_ENV);
    let load_balancers: usize = env_number(CHILD_LOAD_BALANCERS_ENV);
    let nodes: usize = env_number(CHILD_NODES_ENV);
    let slices: usize = env_number(CHILD_SLICES_ENV);
    assert!(services <= COVERED.len() * 64, "at most {} Services", COVERED.len() * 64);
    reconciles::install(cover);
    elbow_testkit::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(async move {
        let client = apiserver::client(&url);
        let cloud = fake_cloud(nodes);
        // `elbow run`'s defaults: resync every 5 minutes, compare with the cloud every 10.
        let settings = operator_settings(Duration::from_secs(300), Duration::from_secs(600));
        let cached_services = settings.metrics.cached_objects("Service");
        let cached_slices = settings.metrics.cached_objects("EndpointSlice");
        tokio::spawn(async move {
            let services = i64::try_from(services).expect("a Service count");
            let slices = i64::try_from(slices).expect("a slice count");
            while cached_services.get() < services
                || cached_slices.get() < slices
                || COVERED_COUNT.load(Ordering::Relaxed) < load_balancers
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            println!("{ALL_RECONCILED}");
        });
        elbow::runtime::run_controllers(client, cloud, settings, std::future::pending()).await;
    });
}

fn env_number(name: &str) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} must be a number"))
}

/// Which `svc-NNNNN` Services the child has reconciled, one bit each: a few hundred bytes, so the
/// bookkeeping does not weigh on the figure it serves.
static COVERED: [AtomicU64; 256] = [const { AtomicU64::new(0) }; 256];
static COVERED_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Marks the Service of a reconcile's object reference (`Service.v1./svc-00042.default`).
fn cover(object: &str) {
    let Some(index) = object.split_once("/svc-").and_then(|(_, rest)| rest.get(..5)?.parse::<usize>().ok()) else {
        return;
    };
    let Some(word) = COVERED.get(index / 64) else { return };
    let bit = 1u64 << (index % 64);
    if word.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
        COVERED_COUNT.fetch_add(1, Ordering::Relaxed);
    }
}
