//! `/metrics`, `/healthz` and `/readyz` over HTTP: AWS calls made through `Metered` (inside
//! `Resilient`, as `elbow run` stacks them) on the fake cloud, with injected throttling, show up
//! as counted requests, latencies and managed load balancers; readiness follows its state.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use elbow::metrics::cloud::Metered;
use elbow::metrics::{Metrics, MetricsServer, Readiness, ReadyState};
use elbow_cloud::resilient::{RateLimits, Resilient, RetryPolicy};
use elbow_cloud::{Api, Cloud, CloudErrorKind, CreateLoadBalancer, LoadBalancerFilter, Subnet};
use elbow_fake::{Failure, FakeCloud};
use elbow_model::tags::CLUSTER_TAG;
use elbow_model::{IpAddressType, LoadBalancerType, Scheme, Tags};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Response {
    status: u16,
    head: String,
    body: String,
}

/// One plain HTTP/1.1 GET, the way a probe or a scraper sends it.
async fn get(addr: SocketAddr, path: &str) -> Response {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Response { status, head: head.to_ascii_lowercase(), body: body.to_string() }
}

/// The value of one series (`name{labels}` exactly as exported), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn cloud_with_network() -> FakeCloud {
    let cloud = FakeCloud::new();
    cloud.seed_vpc("vpc-1");
    for (id, zone) in [("subnet-a", "us-east-1a"), ("subnet-b", "us-east-1b")] {
        cloud.seed_subnet(Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: zone.into(),
            cidr_block: "10.0.0.0/24".into(),
            ipv6_cidr_blocks: Vec::new(),
            tags: Tags::new(),
        });
    }
    cloud
}

fn nlb(name: &str, cluster: &str) -> CreateLoadBalancer {
    CreateLoadBalancer {
        name: name.into(),
        lb_type: LoadBalancerType::Network,
        scheme: Scheme::InternetFacing,
        ip_address_type: IpAddressType::Ipv4,
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        subnet_addresses: Vec::new(),
        security_groups: vec![],
        tags: Tags::from([(CLUSTER_TAG.to_string(), cluster.to_string())]),
    }
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy { max_attempts: 4, min_delay: Duration::from_millis(5), max_delay: Duration::from_millis(20) }
}

#[tokio::test]
async fn throttled_requests_latencies_and_managed_load_balancers_are_served_on_metrics() {
    let metrics = Metrics::new();
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), metrics.clone(), Readiness::new()).await.unwrap();
    let fake = cloud_with_network();
    fake.seed_load_balancer(nlb("other-cluster", "staging")).unwrap();
    fake.inject(Failure::on(Api::CreateLoadBalancer, CloudErrorKind::Throttled).times(2));
    let cloud = Resilient::new(Metered::new(fake, metrics.clone(), "prod"), RateLimits::unlimited(), quick_retries());

    let ours = cloud.create_load_balancer(nlb("ours", "prod")).await.expect("the third attempt passes");
    // What the deployer's index build does: list everything, read the tags.
    let all = cloud.describe_load_balancers(LoadBalancerFilter::All).await.unwrap();
    cloud.describe_tags(&all.iter().map(|lb| lb.arn.clone()).collect::<Vec<_>>()).await.unwrap();

    let response = get(server.local_addr(), "/metrics").await;
    assert_eq!(response.status, 200);
    assert!(response.head.contains("content-type: text/plain; version=0.0.4"), "{}", response.head);
    let text = &response.body;
    let create = r#"service="elasticloadbalancing",api="CreateLoadBalancer""#;
    assert_eq!(value(text, &format!("elbow_aws_api_calls_total{{{create},outcome=\"throttled\"}}")), Some(2.0));
    assert_eq!(value(text, &format!("elbow_aws_api_calls_total{{{create},outcome=\"success\"}}")), Some(1.0));
    assert_eq!(value(text, &format!("elbow_aws_api_call_duration_seconds_count{{{create}}}")), Some(3.0));
    let describe = r#"service="elasticloadbalancing",api="DescribeTags",outcome="success""#;
    assert_eq!(value(text, &format!("elbow_aws_api_calls_total{{{describe}}}")), Some(1.0));
    assert_eq!(value(text, "elbow_managed_load_balancers"), Some(1.0), "ours, not the other cluster's:\n{text}");

    cloud.delete_load_balancer(&ours.arn).await.unwrap();
    let text = get(server.local_addr(), "/metrics").await.body;
    assert_eq!(value(&text, "elbow_managed_load_balancers"), Some(0.0));
}

#[tokio::test]
async fn reconciles_recorded_by_the_controllers_api_are_served() {
    let metrics = Metrics::new();
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), metrics.clone(), Readiness::new()).await.unwrap();
    let running = metrics.reconcile_started("service");
    metrics.record_reconcile("ingress", "error", Duration::from_millis(250));
    let text = get(server.local_addr(), "/metrics").await.body;
    assert_eq!(value(&text, r#"elbow_reconciles_in_flight{controller="service"}"#), Some(1.0));
    assert_eq!(value(&text, r#"elbow_reconciles_total{controller="ingress",result="error"}"#), Some(1.0));
    let bucket = |le: &str| {
        value(&text, &format!(r#"elbow_reconcile_duration_seconds_bucket{{controller="ingress",le="{le}"}}"#))
    };
    assert_eq!((bucket("0.16"), bucket("0.32")), (Some(0.0), Some(1.0)), "250 ms falls between:\n{text}");

    running.finish("success");
    let text = get(server.local_addr(), "/metrics").await.body;
    assert_eq!(value(&text, r#"elbow_reconciles_in_flight{controller="service"}"#), Some(0.0));
    assert_eq!(value(&text, r#"elbow_reconciles_total{controller="service",result="success"}"#), Some(1.0));
}

#[tokio::test]
async fn readyz_answers_503_until_standing_by_or_synced_and_healthz_always_200() {
    let readiness = Readiness::new();
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), Metrics::new(), readiness.clone()).await.unwrap();
    let addr = server.local_addr();
    let expected = [
        (ReadyState::Starting, 503),
        (ReadyState::StandingBy, 200),
        (ReadyState::Syncing, 503),
        (ReadyState::Ready, 200),
    ];
    for (state, status) in expected {
        readiness.set(state);
        let response = get(addr, "/readyz").await;
        assert_eq!(response.status, status, "{state:?}: {}", response.body);
        assert_eq!(get(addr, "/healthz").await.status, 200, "{state:?}");
    }
    assert_eq!(get(addr, "/nothing").await.status, 404);
}
