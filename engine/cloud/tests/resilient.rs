//! `Resilient` over the in-memory fake: which failures are retried, for how long, and how the
//! client-side rate limits space requests (batches included). Paused tokio time, so the waits are
//! exact and instant.

use std::collections::BTreeMap;
use std::time::Duration;

use elbow_cloud::resilient::{Rate, RateLimits, Resilient, RetryPolicy};
use elbow_cloud::{Api, ApiFamily, Cloud, CloudErrorKind, CreateTargetGroup, Subnet, TargetGroupFilter};
use elbow_fake::{Failure, FakeCloud};
use elbow_model::{HealthCheck, HealthCheckPort, IpAddressType, Protocol, Tags, Target, TargetType};
use tokio::time::Instant;

fn fast() -> RetryPolicy {
    RetryPolicy { max_attempts: 4, min_delay: Duration::from_millis(10), max_delay: Duration::from_millis(100) }
}

fn tg(name: &str) -> CreateTargetGroup {
    CreateTargetGroup {
        name: name.into(),
        target_type: TargetType::Instance,
        protocol: Protocol::Tcp,
        port: 31000,
        protocol_version: None,
        vpc_id: "vpc-1".into(),
        ip_address_type: IpAddressType::Ipv4,
        health_check: HealthCheck {
            protocol: Protocol::Tcp,
            port: HealthCheckPort::TrafficPort,
            path: None,
            interval_seconds: 10,
            timeout_seconds: 10,
            healthy_threshold_count: 3,
            unhealthy_threshold_count: 3,
            matcher: None,
        },
        tags: Tags::new(),
    }
}

#[tokio::test(start_paused = true)]
async fn throttling_5xx_and_timeouts_are_retried_until_they_pass() {
    for kind in [CloudErrorKind::Throttled, CloudErrorKind::ServerError, CloudErrorKind::Timeout] {
        let fake = FakeCloud::new();
        fake.inject(Failure::on(Api::CreateTargetGroup, kind).times(3));
        let cloud = Resilient::new(fake, RateLimits::unlimited(), fast());
        cloud.create_target_group(tg("a")).await.expect("the fourth attempt succeeds");
        assert_eq!(cloud.inner().counter().count(Api::CreateTargetGroup), 4, "{kind:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn retries_stop_after_the_last_attempt_with_the_last_error() {
    let fake = FakeCloud::new();
    fake.inject(Failure::on(Api::CreateTargetGroup, CloudErrorKind::Throttled).always());
    let cloud = Resilient::new(fake, RateLimits::unlimited(), fast());
    let error = cloud.create_target_group(tg("a")).await.expect_err("always throttled");
    assert_eq!(error.kind, CloudErrorKind::Throttled);
    assert_eq!(cloud.inner().counter().count(Api::CreateTargetGroup), 4);
}

#[tokio::test(start_paused = true)]
async fn giving_up_reports_the_last_error_not_the_first() {
    let fake = FakeCloud::new();
    fake.inject(Failure::on(Api::CreateTargetGroup, CloudErrorKind::Throttled).times(3));
    fake.inject(Failure::on(Api::CreateTargetGroup, CloudErrorKind::ServerError).after(3).always());
    let cloud = Resilient::new(fake, RateLimits::unlimited(), fast());
    let error = cloud.create_target_group(tg("a")).await.expect_err("fails on every attempt");
    assert_eq!(error.kind, CloudErrorKind::ServerError);
    assert_eq!(cloud.inner().counter().count(Api::CreateTargetGroup), 4);
}

#[tokio::test(start_paused = true)]
async fn backoff_waits_longer_after_each_failure_within_the_bounds() {
    let fake = FakeCloud::new();
    fake.inject(Failure::on(Api::CreateTargetGroup, CloudErrorKind::Throttled).always());
    let policy =
        RetryPolicy { max_attempts: 6, min_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
    let cloud = Resilient::new(fake, RateLimits::unlimited(), policy);
    let start = Instant::now();
    cloud.create_target_group(tg("a")).await.expect_err("always throttled");
    // Five pauses of 100, 200, 400, 800 and (capped) 1000 ms, each plus jitter of at most one
    // more such pause.
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(2500) && waited <= Duration::from_millis(5000), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn errors_that_retrying_cannot_fix_are_returned_at_once() {
    let fake = FakeCloud::new();
    fake.inject(Failure::on(Api::CreateTargetGroup, CloudErrorKind::InvalidRequest).always());
    let cloud = Resilient::new(fake, RateLimits::unlimited(), fast());
    cloud.create_target_group(tg("a")).await.expect_err("invalid");
    assert_eq!(cloud.inner().counter().count(Api::CreateTargetGroup), 1);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_spaces_calls_after_the_burst() {
    let limits = RateLimits { rates: BTreeMap::from([(ApiFamily::Elbv2Modify, Rate { per_second: 2.0, burst: 5 })]) };
    let cloud = Resilient::new(FakeCloud::new(), limits, fast());
    let start = Instant::now();
    for i in 0..5 {
        cloud.create_target_group(tg(&format!("burst-{i}"))).await.expect("created");
    }
    assert!(start.elapsed() < Duration::from_millis(1), "the burst passes at once");
    for i in 0..4 {
        cloud.create_target_group(tg(&format!("paced-{i}"))).await.expect("created");
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(1990) && elapsed < Duration::from_millis(2100), "{elapsed:?}");
    // Other families are not held back.
    let before = Instant::now();
    cloud.describe_target_groups(TargetGroupFilter::All).await.expect("described");
    assert!(before.elapsed() < Duration::from_millis(1));
}

#[tokio::test(start_paused = true)]
async fn a_batched_call_takes_one_token_per_request_it_sends() {
    let limits = RateLimits { rates: BTreeMap::from([(ApiFamily::Elbv2Targets, Rate { per_second: 1.0, burst: 1 })]) };
    let fake = FakeCloud::new();
    // IP targets, so that the fake needs no instances behind them; in a subnet of the group's
    // VPC, as AWS requires of them.
    fake.seed_subnet(Subnet {
        id: "subnet-pods".into(),
        vpc_id: "vpc-1".into(),
        availability_zone: "us-east-1a".into(),
        cidr_block: "10.0.0.0/16".into(),
        ipv6_cidr_blocks: Vec::new(),
        tags: Tags::new(),
    });
    let group = fake.seed_target_group(CreateTargetGroup { target_type: TargetType::Ip, ..tg("batched") });
    let group = group.expect("seeded");
    let cloud = Resilient::new(fake, limits, fast());
    let targets: Vec<Target> =
        (0..450).map(|i| Target::new(format!("10.0.{}.{}", i / 200, i % 200 + 1), 8080)).collect();
    let start = Instant::now();
    cloud.register_targets(&group.arn, &targets).await.expect("registered");
    // Three requests of at most 200 targets: one token from the burst, two more a second apart.
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(1990) && elapsed < Duration::from_millis(2100), "{elapsed:?}");
}
