//! The harness of the endpoint tests: where the AWS-compatible endpoint is, SDK clients for it,
//! and a freshly seeded network (VPC, tagged subnets in three zones, a node security group,
//! running instances) per test, so tests run in parallel against one endpoint.
//!
//! `AWS_ENDPOINT_URL` set: that endpoint is used as it is (LocalStack, a moto someone started) and
//! nothing is started. `ELBOW_TEST_REAL_AWS=1`: AWS itself, through the standard chain, nothing
//! started. Otherwise moto is installed into the cache (scripts/moto) and started on a free
//! 127.0.0.1 port, once per test binary; it stops when the test process ends.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test harness: failing loudly is the point

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use elbow_aws::SdkCloud;
use elbow_model::inventory::{Instance, SecurityGroup, Subnet};
use elbow_model::{CloudInventory, Tags};

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

/// SDK configuration for the endpoint. Against moto any credentials do; against a real endpoint
/// the standard chain's credentials are used.
pub async fn sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = endpoint() {
        loader = loader.endpoint_url(endpoint);
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(Credentials::new("testing", "testing", None, None, "elbow-tests"));
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
        loader = loader.region(Region::new("us-east-1"));
    }
    loader.retry_config(aws_config::retry::RetryConfig::disabled()).load().await
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
    /// VPC with an internet gateway (AWS refuses internet-facing load balancers without one), one
    /// role-tagged public and private subnet per zone in the region's first three zones, a node
    /// security group tagged for `cluster`, and `instances` running instances in the first zone.
    pub async fn seed(cluster_prefix: &str, instances: usize) -> Network {
        let cluster = unique(cluster_prefix);
        let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
        let octet = (u64::from(std::process::id()) + COUNTER_NET.fetch_add(1, Ordering::Relaxed)) % 200 + 20;
        let vpc = ec2.create_vpc().cidr_block(format!("10.{octet}.0.0/16")).send().await.expect("vpc");
        let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("vpc id").to_string();
        let gateway = ec2.create_internet_gateway().send().await.expect("internet gateway");
        let gateway_id = gateway.internet_gateway().and_then(|g| g.internet_gateway_id()).expect("gateway id");
        ec2.attach_internet_gateway().internet_gateway_id(gateway_id).vpc_id(&vpc_id).send().await.expect("attached");
        let zones = three_zones(&ec2).await;
        let mut subnets = Vec::new();
        for (i, zone) in zones.iter().enumerate() {
            for (j, role) in ["kubernetes.io/role/elb", "kubernetes.io/role/internal-elb"].iter().enumerate() {
                let cidr = format!("10.{octet}.{}.0/24", i * 2 + j);
                let tags = Tags::from([
                    (role.to_string(), "1".to_string()),
                    (format!("kubernetes.io/cluster/{cluster}"), "shared".to_string()),
                ]);
                let out = ec2
                    .create_subnet()
                    .vpc_id(&vpc_id)
                    .cidr_block(&cidr)
                    .availability_zone(zone)
                    .tag_specifications(tag_spec(ResourceType::Subnet, &tags))
                    .send()
                    .await
                    .expect("subnet");
                let id = out.subnet().and_then(|s| s.subnet_id()).expect("subnet id").to_string();
                subnets.push(Subnet { id, availability_zone: zone.to_string(), cidr_block: cidr, tags });
            }
        }
        let group_tags = Tags::from([(format!("kubernetes.io/cluster/{cluster}"), "owned".to_string())]);
        let group = ec2
            .create_security_group()
            .group_name(format!("{cluster}-nodes"))
            .description("nodes")
            .vpc_id(&vpc_id)
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, &group_tags))
            .send()
            .await
            .expect("node group");
        let node_group = group.group_id().expect("group id").to_string();
        let image = any_image(&ec2).await;
        let run = ec2
            .run_instances()
            .image_id(image)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .min_count(instances as i32)
            .max_count(instances as i32)
            .subnet_id(&subnets[0].id)
            .security_group_ids(&node_group)
            .send()
            .await
            .expect("instances");
        let ids: Vec<String> = run.instances().iter().filter_map(|i| i.instance_id().map(str::to_string)).collect();
        let inventory = CloudInventory {
            vpc_id,
            subnets,
            instances: ids
                .iter()
                .map(|id| Instance {
                    id: id.clone(),
                    availability_zone: zones[0].clone(),
                    security_groups: vec![node_group.clone()],
                })
                .collect(),
            security_groups: vec![SecurityGroup {
                id: node_group.clone(),
                group_name: format!("{cluster}-nodes"),
                tags: group_tags,
            }],
        };
        Network { cluster, inventory, node_group, instances: ids }
    }
}

static COUNTER_NET: AtomicU64 = AtomicU64::new(0);

async fn three_zones(ec2: &aws_sdk_ec2::Client) -> Vec<String> {
    let zones = ec2.describe_availability_zones().send().await.expect("zones");
    let mut names: Vec<String> =
        zones.availability_zones().iter().filter_map(|z| z.zone_name().map(str::to_string)).collect();
    names.sort();
    assert!(names.len() >= 3, "the region needs three availability zones: {names:?}");
    names.truncate(3);
    names
}

/// An Amazon Linux 2023 image: AWS has it in every region, and moto serves images of that name.
async fn any_image(ec2: &aws_sdk_ec2::Client) -> String {
    let images = ec2
        .describe_images()
        .owners("amazon")
        .filters(Filter::builder().name("name").values("al2023-ami-2023*-x86_64").build())
        .filters(Filter::builder().name("architecture").values("x86_64").build())
        .send()
        .await
        .expect("images");
    images.images().iter().find_map(|i| i.image_id().map(str::to_string)).expect("an Amazon Linux 2023 image")
}

fn tag_spec(resource: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .build()
}
