//! The harness of the endpoint tests: where the AWS-compatible endpoint is, SDK clients for it,
//! a freshly seeded network (VPC, tagged subnets in three zones, a node security group,
//! running instances) per test, and what a cluster owns there, so tests run in parallel against one endpoint.
//!
//! `AWS_ENDPOINT_URL` set: that endpoint is used as it is (LocalStack, a moto someone started) and
//! nothing is started. `ELBOW_TEST_REAL_AWS=1`: AWS itself, through the standard chain, nothing
//! started. Otherwise moto is installed into the cache (scripts/moto) and started on a free
//! 127.0.0.1 port, once per test binary; it stops when the test process ends.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test harness: failing loudly is the point

pub mod acm;
pub mod aws_limits;
pub mod fault_proxy;
pub mod objects;
pub mod owned;
pub mod snapshot;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use elbow_aws::SdkCloud;
use elbow_model::{CloudInventory, HealthCheck, HealthCheckPort, Protocol};
use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeSpec, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The endpoint under test; `None`: AWS's own endpoints.
pub fn endpoint() -> Option<String> {
    static ENDPOINT: OnceLock<Option<String>> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| match std::env::var("AWS_ENDPOINT_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("ELBOW_TEST_REAL_AWS").is_ok_and(|v| v == "1") => None,
            _ => Some(start_moto()),
        })
        .clone()
}

/// The moto process, kept for the life of the test binary. Its wrapper shell waits on stdin and
/// kills moto when the pipe closes, which happens when this process exits however it exits.
static MOTO: Mutex<Option<Child>> = Mutex::new(None);

fn start_moto() -> String {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/moto");
    let install = Command::new(&script).arg("install").status().expect("scripts/moto runs");
    assert!(install.success(), "scripts/moto install failed");
    let log = std::env::temp_dir().join(format!("elbow-moto-{port}.log"));
    // moto runs in the background of a shell that waits for its stdin to close, then stops it. Its
    // log is kept only when it had died by itself.
    let wrapper = r#""$0" serve "$1" >"$2" 2>&1 & pid=$!; cat >/dev/null; kill $pid 2>/dev/null && rm -f "$2""#;
    let child = Command::new("bash")
        .args(["-c", wrapper])
        .arg(&script)
        .arg(port.to_string())
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("moto starts");
    *MOTO.lock().unwrap() = Some(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not listen on port {port} within 60 s; see {}", log.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// SDK configuration for the endpoint (the playground's: dummy credentials and us-east-1 unless
/// the environment sets them; the SDK's own retries off).
pub async fn sdk_config() -> SdkConfig {
    elbow_playground::sandbox::sdk_config(endpoint().as_deref()).await
}

/// A sandbox cluster named `prefix-<unique>` whose Elbow talks to the endpoint through the SDK.
pub async fn sandbox_options(prefix: &str) -> elbow_playground::SandboxOptions {
    elbow_playground::SandboxOptions::new(&unique(prefix), elbow_playground::Aws::Sdk(Box::new(sdk_config().await)))
}

pub async fn cloud() -> SdkCloud {
    elbow_aws::install_crypto_provider();
    SdkCloud::from_sdk_config(&sdk_config().await)
}

/// A name no other test (or earlier run against a shared endpoint) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
    format!("{prefix}-{:x}{:02}", nanos % 0xfffff, COUNTER.fetch_add(1, Ordering::Relaxed) % 100)
}

/// A seeded network for one test.
pub struct Network {
    pub cluster: String,
    pub inventory: CloudInventory,
    pub node_group: String,
    pub instances: Vec<String>,
}

impl Network {
    /// A VPC with an internet gateway, a public and a private role-tagged subnet in each of the
    /// region's first three zones, a node security group tagged for a new cluster name, and
    /// `instances` running instances spread over the zones: the playground's environment.
    pub async fn seed(cluster_prefix: &str, instances: usize) -> Network {
        let cluster = unique(cluster_prefix);
        let environment =
            elbow_playground::endpoint::seed(&sdk_config().await, &cluster, instances).await.expect("seeded network");
        Network {
            cluster,
            instances: environment.nodes.iter().map(|n| n.instance_id.clone()).collect(),
            inventory: environment.inventory,
            node_group: environment.node_group,
        }
    }
}

impl Network {
    /// Ready Nodes (`node-0`, `node-1`, ...) for the first `count` seeded instances, with the
    /// providerID the AWS cloud provider writes, as the builder reads them.
    pub fn ready_nodes(&self, count: usize) -> Vec<Node> {
        self.inventory.instances[..count]
            .iter()
            .enumerate()
            .map(|(i, instance)| Node {
                metadata: ObjectMeta { name: Some(format!("node-{i}")), ..Default::default() },
                spec: Some(NodeSpec {
                    provider_id: Some(format!("aws:///{}/{}", instance.availability_zone, instance.id)),
                    ..Default::default()
                }),
                status: Some(NodeStatus {
                    conditions: Some(vec![NodeCondition {
                        type_: "Ready".into(),
                        status: "True".into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            })
            .collect()
    }

    /// The subnets tagged for internet-facing load balancers.
    pub fn public_subnets(&self) -> Vec<String> {
        self.inventory
            .subnets
            .iter()
            .filter(|s| s.tags.contains_key("kubernetes.io/role/elb"))
            .map(|s| s.id.clone())
            .collect()
    }
}

/// The NLB's default health check: TCP on the traffic port, 10 s interval and timeout, 3/3.
pub fn tcp_health_check() -> HealthCheck {
    HealthCheck {
        protocol: Protocol::Tcp,
        port: HealthCheckPort::TrafficPort,
        path: None,
        interval_seconds: 10,
        timeout_seconds: 10,
        healthy_threshold_count: 3,
        unhealthy_threshold_count: 3,
        matcher: None,
    }
}

/// An HTTP health check with settings other than AWS's defaults, so a test sees them kept.
pub fn http_health_check() -> HealthCheck {
    HealthCheck {
        protocol: Protocol::Http,
        port: HealthCheckPort::TrafficPort,
        path: Some("/healthz".into()),
        interval_seconds: 15,
        timeout_seconds: 5,
        healthy_threshold_count: 2,
        unhealthy_threshold_count: 2,
        matcher: Some("200-399".into()),
    }
}
