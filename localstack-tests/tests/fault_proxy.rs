//! The fault proxy through the real SDK adapter: each fault reaches Elbow classified as AWS's own
//! would be, a fault after forwarding leaves the change made, the gate turns calls away
//! unforwarded, and AWS's rate limits admit a bucket's capacity at once and then its refill rate.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_aws::SdkCloud;
use elbow_cloud::{Cloud, CloudErrorKind, CreateTargetGroup, TargetGroupFilter};
use elbow_localstack_tests::fault_proxy::{Fault, FaultPlan, FaultProxy, Service};
use elbow_localstack_tests::{Network, endpoint, tcp_health_check, unique};
use elbow_model::{IpAddressType, Protocol, Tags, TargetType};

async fn through(proxy: &FaultProxy) -> SdkCloud {
    elbow_aws::install_crypto_provider();
    SdkCloud::from_sdk_config(&elbow_playground::sandbox::sdk_config(Some(&proxy.url())).await)
}

fn target_group(name: &str, vpc_id: &str) -> CreateTargetGroup {
    CreateTargetGroup {
        name: name.to_string(),
        target_type: TargetType::Instance,
        protocol: Protocol::Tcp,
        port: 30080,
        protocol_version: None,
        vpc_id: vpc_id.to_string(),
        ip_address_type: IpAddressType::Ipv4,
        health_check: tcp_health_check(),
        tags: Tags::new(),
    }
}

fn plan(fault: Fault) -> FaultPlan {
    let mut plan = FaultPlan::none();
    match fault {
        Fault::Throttle => plan.throttle = 1.0,
        Fault::ServerError => plan.server_error = 1.0,
        Fault::DropBefore => plan.drop_before = 1.0,
        Fault::ServerErrorAfter => plan.server_error_after = 1.0,
        Fault::DropAfter => plan.drop_after = 1.0,
        Fault::Hang | Fault::Gated | Fault::RateLimited => unreachable!("not a plan of its own"),
    }
    plan
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_before_forwarding_reach_the_adapter_as_aws_errors_and_change_nothing() {
    let network = Network::seed("proxy-before", 0).await;
    let upstream = endpoint().unwrap();
    let direct = elbow_localstack_tests::cloud().await;
    for (fault, kind) in [
        (Fault::Throttle, CloudErrorKind::Throttled),
        (Fault::ServerError, CloudErrorKind::ServerError),
        (Fault::DropBefore, CloudErrorKind::Timeout),
    ] {
        let proxy = FaultProxy::start(&upstream, plan(fault)).await.unwrap();
        let cloud = through(&proxy).await;
        let name = unique("tg-before");
        let error = cloud.create_target_group(target_group(&name, &network.inventory.vpc_id)).await.unwrap_err();
        assert_eq!(error.kind, kind, "{fault:?}: {error}");
        // EC2 throttles in its own words.
        let ec2 = cloud.describe_vpcs(std::slice::from_ref(&network.inventory.vpc_id)).await.unwrap_err();
        assert_eq!(ec2.kind, kind, "{fault:?} on EC2: {ec2}");
        if fault == Fault::Throttle {
            assert_eq!((error.code.as_str(), ec2.code.as_str()), ("Throttling", "RequestLimitExceeded"));
        }
        let found = direct.describe_target_groups(TargetGroupFilter::Names(vec![name])).await.unwrap();
        assert!(found.is_empty(), "{fault:?} happened before forwarding: nothing was created");
        let census = proxy.census();
        assert_eq!((census.forwarded, census.faults.get(&fault).copied()), (0, Some(2)), "{census:?}");
        assert_eq!(census.calls.get(&(Service::Elbv2, "CreateTargetGroup".to_string())), Some(&1));
        assert_eq!(census.calls.get(&(Service::Ec2, "DescribeVpcs".to_string())), Some(&1));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_after_forwarding_leave_the_change_made_and_the_client_unaware() {
    let network = Network::seed("proxy-after", 0).await;
    let upstream = endpoint().unwrap();
    let direct = elbow_localstack_tests::cloud().await;
    for (fault, kind) in
        [(Fault::ServerErrorAfter, CloudErrorKind::ServerError), (Fault::DropAfter, CloudErrorKind::Timeout)]
    {
        let proxy = FaultProxy::start(&upstream, plan(fault)).await.unwrap();
        let cloud = through(&proxy).await;
        let name = unique("tg-after");
        let error = cloud.create_target_group(target_group(&name, &network.inventory.vpc_id)).await.unwrap_err();
        assert_eq!(error.kind, kind, "{fault:?}: {error}");
        let found = direct.describe_target_groups(TargetGroupFilter::Names(vec![name])).await.unwrap();
        assert_eq!(found.len(), 1, "{fault:?} came after the endpoint created the target group");
        direct.delete_target_group(&found[0].arn).await.unwrap();
        assert_eq!(proxy.census().forwarded, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gate_turns_away_calls_after_the_kth_answer_unforwarded_until_opened() {
    let network = Network::seed("proxy-gate", 0).await;
    let proxy = FaultProxy::start(&endpoint().unwrap(), FaultPlan::none()).await.unwrap();
    let cloud = through(&proxy).await;
    let vpc = std::slice::from_ref(&network.inventory.vpc_id);
    proxy.set_gate(Some(2));
    cloud.describe_vpcs(vpc).await.unwrap();
    cloud.describe_vpcs(vpc).await.unwrap();
    proxy.wait_answered(2).await;
    let error = cloud.describe_vpcs(vpc).await.unwrap_err();
    assert_eq!(error.kind, CloudErrorKind::Timeout, "{error}");
    let census = proxy.census();
    assert_eq!((census.forwarded, census.answered, census.faults.get(&Fault::Gated).copied()), (2, 2, Some(1)));
    proxy.set_gate(None);
    cloud.describe_vpcs(vpc).await.unwrap();
    assert_eq!(proxy.answered(), 3);
}

/// ELBv2's `DescribeLoadBalancers` bucket and the account-level one both hold 40 tokens: of 50
/// calls at once, 40 pass and 10 are throttled as AWS throttles (the SDK's own retries are off);
/// a second later, about 10 more tokens have come. EC2's `DescribeVpcs` draws from a bucket of its own
/// (100), untouched by ELBv2's.
#[tokio::test(flavor = "multi_thread")]
async fn aws_rate_limits_admit_a_buckets_capacity_then_its_refill_rate() {
    let network = Network::seed("proxy-rates", 0).await;
    let proxy = FaultProxy::start(&endpoint().unwrap(), FaultPlan::aws_rate_limits()).await.unwrap();
    let cloud = std::sync::Arc::new(through(&proxy).await);
    let names = vec![unique("nothing-by-this-name")];
    let results = at_once(&cloud, 50, &names).await;
    let throttled: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(throttled.iter().all(|e| e.kind == CloudErrorKind::Throttled && e.code == "Throttling"), "{throttled:?}");
    assert_eq!(throttled.len(), 10, "{:?}", proxy.census());
    let vpc = std::slice::from_ref(&network.inventory.vpc_id);
    cloud.describe_vpcs(vpc).await.expect("EC2's buckets are its own");

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // About 11 tokens came in 1.1 s, and a few more while the 30 calls were being answered.
    let passed = at_once(&cloud, 30, &names).await.iter().filter(|r| r.is_ok()).count();
    assert!((10..=17).contains(&passed), "10 a second refill, of 30 asked: {passed}");
    let census = proxy.census();
    assert_eq!(census.faults.get(&Fault::RateLimited).copied(), Some(10 + 30 - passed as u64));
    assert_eq!(census.total_faults(), 0, "rate limits are not counted as injected faults");
    assert_eq!(census.floor().map(|(_, s)| s), None, "no mutating call was made");
}

/// `n` DescribeLoadBalancers calls at once.
async fn at_once(
    cloud: &std::sync::Arc<SdkCloud>,
    n: usize,
    names: &[String],
) -> Vec<elbow_cloud::CloudResult<Vec<elbow_cloud::LoadBalancer>>> {
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (cloud, names) = (cloud.clone(), names.to_vec());
        calls.spawn(async move { cloud.describe_load_balancers(elbow_cloud::LoadBalancerFilter::Names(names)).await });
    }
    calls.join_all().await
}
