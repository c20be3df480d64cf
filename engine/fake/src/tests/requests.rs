//! How calls become requests (pages, batches) and how injected failures hit them.

use elbow_model::{Tags, Target, TargetType};

use super::{lb_input, network, pod_subnet, tg_input};
use crate::{Failure, FakeCloud};
use elbow_cloud::Cloud;
use elbow_cloud::api::Api;
use elbow_cloud::error::CloudErrorKind;
use elbow_cloud::types::*;

async fn load_balancers(cloud: &FakeCloud, n: usize) -> Vec<Arn> {
    let mut arns = Vec::with_capacity(n);
    for i in 0..n {
        arns.push(cloud.create_load_balancer(lb_input(&format!("lb-{i}"))).await.expect("lb").arn);
    }
    arns
}

fn ip_targets(n: usize) -> Vec<Target> {
    (0..n).map(|i| Target::new(format!("10.0.{}.{}", i / 250, i % 250 + 1), 8080)).collect()
}

#[tokio::test]
async fn a_thousand_load_balancers_are_three_pages_of_400() {
    let cloud = network();
    load_balancers(&cloud, 1000).await;
    cloud.counter().reset();
    let all = cloud.describe_load_balancers(LoadBalancerFilter::All).await.expect("all");
    assert_eq!(all.len(), 1000);
    assert_eq!(cloud.counter().count(Api::DescribeLoadBalancers), 3);
    assert_eq!(cloud.counter().total(), 3);
}

#[tokio::test]
async fn describe_calls_count_requests_as_the_sdk_adapter_sends_them() {
    let cloud = network().with_page_size(10);
    let arns = load_balancers(&cloud, 45).await;
    cloud.counter().reset();

    let tags = cloud.describe_tags(&arns).await.expect("tags");
    assert_eq!(tags.len(), 45);
    assert_eq!(cloud.counter().count(Api::DescribeTags), 3, "batches of 20 ARNs");
    cloud.describe_tags(&[]).await.expect("no ARNs");
    assert_eq!(cloud.counter().count(Api::DescribeTags), 3, "no ARNs, no request");

    cloud.describe_load_balancers(LoadBalancerFilter::Arns(arns[..21].to_vec())).await.expect("by ARN");
    assert_eq!(cloud.counter().count(Api::DescribeLoadBalancers), 2, "20 ARNs, then 1");
    let names = vec!["lb-1".to_string(), "lb-2".to_string(), "nope".to_string()];
    let found = cloud.describe_load_balancers(LoadBalancerFilter::Names(names)).await.expect("by name");
    assert_eq!(found.len(), 2);
    assert_eq!(cloud.counter().count(Api::DescribeLoadBalancers), 5, "one request per name");

    let instances: Vec<String> = (0..401).map(|i| format!("i-{i}")).collect();
    let found = cloud.describe_instances(&instances).await.expect("instances");
    assert_eq!(found.len(), 1, "only i-1 exists");
    assert_eq!(cloud.counter().count(Api::DescribeInstances), 3, "200 ids per request");
    assert_eq!(cloud.counter().mutating(), 0);
}

#[tokio::test]
async fn target_batches_are_separate_requests_and_a_failed_batch_stops_the_call() {
    let cloud = network();
    cloud.seed_subnet(pod_subnet());
    let tg = cloud.create_target_group(CreateTargetGroup { target_type: TargetType::Ip, ..tg_input("pods", 80) });
    let tg = tg.await.expect("tg");
    cloud.counter().reset();
    cloud.inject(Failure::on(Api::RegisterTargets, CloudErrorKind::Throttled).after(1));
    let error = cloud.register_targets(&tg.arn, &ip_targets(450)).await.expect_err("second batch throttled");
    assert_eq!(error.kind, CloudErrorKind::Throttled);
    assert_eq!(cloud.counter().count(Api::RegisterTargets), 2, "the third batch was never sent");
    assert_eq!(cloud.targets(&tg.arn).len(), 200, "the first batch landed");

    cloud.register_targets(&tg.arn, &ip_targets(450)).await.expect("registered");
    assert_eq!(cloud.counter().count(Api::RegisterTargets), 5);
    cloud.deregister_targets(&tg.arn, &ip_targets(450)).await.expect("deregistered");
    assert_eq!(cloud.counter().count(Api::DeregisterTargets), 3);
    cloud.register_targets(&tg.arn, &[]).await.expect("nothing to do");
    assert_eq!(cloud.counter().count(Api::RegisterTargets), 5, "no targets, no request");
    assert!(cloud.targets(&tg.arn).is_empty());
}

#[tokio::test]
async fn a_later_page_can_fail_on_its_own() {
    let cloud = network().with_page_size(2);
    load_balancers(&cloud, 5).await;
    cloud.inject(Failure::on(Api::DescribeLoadBalancers, CloudErrorKind::ServerError).after(2));
    let error = cloud.describe_load_balancers(LoadBalancerFilter::All).await.expect_err("third page fails");
    assert_eq!(error.kind, CloudErrorKind::ServerError);
    assert_eq!(cloud.describe_load_balancers(LoadBalancerFilter::All).await.expect("all").len(), 5);
}

#[tokio::test]
async fn a_failure_skips_then_fails_the_given_number_of_requests() {
    let cloud = network();
    cloud.inject(Failure::on(Api::CreateSecurityGroup, CloudErrorKind::Throttled).after(1).times(2));
    let mut outcomes = Vec::new();
    for i in 0..4 {
        outcomes.push(cloud.create_security_group(&format!("g{i}"), "d", "vpc-1", &Tags::new()).await.is_ok());
    }
    assert_eq!(outcomes, [true, false, false, true]);
    assert_eq!(cloud.security_groups().len(), 2);
    assert_eq!(cloud.counter().count(Api::CreateSecurityGroup), 4, "failed requests are requests too");
}

#[tokio::test]
async fn a_mutating_only_failure_lets_reads_through_and_crashes_between_changes() {
    let cloud = network();
    cloud.inject(Failure::any(CloudErrorKind::Timeout).mutating_only().after(1));
    cloud.create_target_group(tg_input("first", 80)).await.expect("first change passes");
    cloud.describe_target_groups(TargetGroupFilter::All).await.expect("reads are not matched");
    cloud.describe_tags(&[]).await.expect("reads are not matched");
    let error = cloud.create_load_balancer(lb_input("web")).await.expect_err("second change fails");
    assert_eq!(error.kind, CloudErrorKind::Timeout);
    assert!(cloud.load_balancers().is_empty());
    cloud.create_load_balancer(lb_input("web")).await.expect("the failure is used up");
}

#[tokio::test]
async fn a_landed_failure_applies_the_change_and_still_reports_the_error() {
    let cloud = network();
    cloud.inject(Failure::on(Api::CreateLoadBalancer, CloudErrorKind::Timeout).landed());
    let error = cloud.create_load_balancer(lb_input("web")).await.expect_err("timed out");
    assert!(error.is_retryable());
    assert_eq!(cloud.load_balancers().len(), 1, "but it landed, with its tags");
    assert_eq!(cloud.tags(&cloud.load_balancers()[0].arn).get("owner").map(String::as_str), Some("me"));
    let retried = cloud.create_load_balancer(lb_input("web")).await.expect("the retry finds it");
    assert_eq!(retried.arn, cloud.load_balancers()[0].arn);

    cloud.inject(Failure::on(Api::CreateSecurityGroup, CloudErrorKind::Timeout).landed());
    cloud.create_security_group("g", "d", "vpc-1", &Tags::new()).await.expect_err("timed out");
    let error = cloud.create_security_group("g", "d", "vpc-1", &Tags::new()).await.expect_err("landed");
    assert_eq!(error.kind, CloudErrorKind::Duplicate, "EC2 groups are not idempotent: the retry must look first");
}

#[tokio::test]
async fn always_failing_until_cleared() {
    let cloud = network();
    cloud.inject(Failure::any(CloudErrorKind::Throttled).always());
    for _ in 0..5 {
        let error = cloud.describe_subnets("vpc-1").await.expect_err("throttled");
        assert_eq!((error.kind, error.code.as_str()), (CloudErrorKind::Throttled, "Throttling"));
        assert_eq!(error.api, Api::DescribeSubnets);
    }
    cloud.clear_failures();
    cloud.describe_subnets("vpc-1").await.expect("cleared");
    assert_eq!(cloud.counter().count(Api::DescribeSubnets), 6);
}

#[tokio::test]
async fn seeding_and_inspection_are_not_requests() {
    let cloud = network();
    cloud.inject(Failure::any(CloudErrorKind::ServerError).always());
    let lb = cloud.seed_load_balancer(lb_input("foreign")).expect("seeded despite the failure rule");
    cloud.seed_target_group(tg_input("foreign-tg", 80)).expect("seeded");
    assert_eq!(cloud.load_balancers().len(), 1);
    assert_eq!(cloud.tags(&lb.arn).get("owner").map(String::as_str), Some("me"));
    assert_eq!(cloud.attributes(&lb.arn).get("deletion_protection.enabled").map(String::as_str), Some("false"));
    assert_eq!(cloud.counter().total(), 0);
}
