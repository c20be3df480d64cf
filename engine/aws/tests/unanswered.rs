//! Requests that get no answer (a server that hangs, a port nobody listens on) come back as
//! retryable timeouts, each counted as one request: what the resilient layer relies on to retry
//! them, since the SDK's own retries are off.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_elasticloadbalancingv2::config::Credentials;
use elbow_aws::SdkCloud;
use elbow_cloud::{Api, Cloud, CloudErrorKind, LoadBalancerFilter};

async fn cloud_at(endpoint: &str) -> SdkCloud {
    elbow_aws::install_crypto_provider();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_attempt_timeout(Duration::from_millis(300)).build())
        .load()
        .await;
    SdkCloud::from_sdk_config(&config)
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bound");
    let address = listener.local_addr().expect("address");
    // Accept connections and hold them open without a word.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let cloud = cloud_at(&format!("http://{address}")).await;
    let error = cloud.describe_load_balancers(LoadBalancerFilter::All).await.expect_err("no answer");
    assert_eq!(error.kind, CloudErrorKind::Timeout, "{error}");
    assert!(error.is_retryable());
    assert_eq!(cloud.calls().count(Api::DescribeLoadBalancers), 1, "the SDK did not retry by itself");
    silent.abort();
}

#[tokio::test]
async fn a_refused_connection_is_a_timeout_too() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let cloud = cloud_at(&format!("http://127.0.0.1:{port}")).await;
    let error = cloud.describe_subnets("vpc-1").await.expect_err("refused");
    assert_eq!(error.kind, CloudErrorKind::Timeout, "{error}");
    assert_eq!(cloud.calls().count(Api::DescribeSubnets), 1);
}
