//! Client-side politeness for any [`Cloud`]: a token bucket per API family (so Elbow stays under
//! the account's shared ELBv2 and EC2 limits instead of discovering them through throttling), and
//! retries with exponential backoff and jitter for errors worth retrying (throttling, 5xx,
//! timeouts, resources still in use).
//!
//! The delay schedule comes from the `backon` crate: maintained, small, and tokio-friendly, where
//! the `backoff` crate is unmaintained. The loop around it is ours, so that each attempt takes a
//! token and logs why it waits. A batched call (DescribeTags, Register/DeregisterTargets) takes one
//! token per batch the trait contract promises to send, before its first request; a paged call takes
//! one token (how many pages there will be is not known in advance). Either is retried whole, which
//! is safe: describes have no effect, and registering or deregistering a target twice is a no-op.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use elbow_model::{Attributes, HealthCheck, IpAddressType, Tags, Target};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::debug;

use crate::types::*;
use crate::{Api, ApiFamily, Cloud, CloudResult};

/// ARNs per DescribeTags request and targets per Register/DeregisterTargets request, as the
/// [`Cloud`] trait's contract fixes them.
const TAGS_PER_REQUEST: usize = 20;
const TARGETS_PER_REQUEST: usize = 200;

/// Requests a batched call of `items` items sends, `per_request` at a time (at least one).
fn batches(items: usize, per_request: usize) -> u32 {
    u32::try_from(items.div_ceil(per_request).max(1)).unwrap_or(u32::MAX)
}

/// Requests per second and burst size of one family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// Client-side limits by API family; a family without a rate is not limited.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateLimits {
    pub rates: BTreeMap<ApiFamily, Rate>,
}

impl RateLimits {
    /// ELBv2: the AWS Load Balancer Controller's defaults (Describe 50/s burst 200, Modify 3/s
    /// burst 20, Register/Deregister 4/s burst 20). EC2: below EC2's own request-rate buckets for
    /// describe and mutating calls (20/s burst 100, 5/s burst 50), since the account shares them
    /// with everything else running in it.
    pub fn aws_defaults() -> Self {
        Self {
            rates: BTreeMap::from([
                (ApiFamily::Elbv2Describe, Rate { per_second: 50.0, burst: 200 }),
                (ApiFamily::Elbv2Modify, Rate { per_second: 3.0, burst: 20 }),
                (ApiFamily::Elbv2Targets, Rate { per_second: 4.0, burst: 20 }),
                (ApiFamily::Ec2Describe, Rate { per_second: 20.0, burst: 100 }),
                (ApiFamily::Ec2Modify, Rate { per_second: 5.0, burst: 50 }),
            ]),
        }
    }

    /// No client-side limit (benchmarks against the in-memory fake).
    pub fn unlimited() -> Self {
        Self::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: usize,
    /// The first pause; each later one doubles, up to `max_delay`. Jitter then adds a random part
    /// of up to the same again, so that clients throttled together do not retry together.
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 6, min_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    fn delays(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_jitter()
            .build()
    }
}

/// A [`Cloud`] that waits for a token before each call and retries what is worth retrying.
pub struct Resilient<C> {
    inner: C,
    buckets: HashMap<ApiFamily, Mutex<Bucket>>,
    retry: RetryPolicy,
}

#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    refilled_at: Instant,
}

impl<C: Cloud> Resilient<C> {
    pub fn new(inner: C, limits: RateLimits, retry: RetryPolicy) -> Self {
        let buckets = limits
            .rates
            .into_iter()
            .map(|(family, rate)| {
                (family, Mutex::new(Bucket { rate, tokens: f64::from(rate.burst), refilled_at: Instant::now() }))
            })
            .collect();
        Self { inner, buckets, retry }
    }

    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Waits until `api`'s family has a token, and takes it.
    async fn take_token(&self, api: Api) {
        let Some(bucket) = self.buckets.get(&api.family()) else { return };
        loop {
            let wait = {
                let mut bucket = bucket.lock().await;
                let now = Instant::now();
                let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
                bucket.tokens = (bucket.tokens + elapsed * bucket.rate.per_second).min(f64::from(bucket.rate.burst));
                bucket.refilled_at = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / bucket.rate.per_second)
            };
            debug!(%api, ?wait, "waiting for the client-side rate limit");
            tokio::time::sleep(wait).await;
        }
    }

    async fn call<T, Fut>(&self, api: Api, attempt: impl FnMut() -> Fut) -> CloudResult<T>
    where
        Fut: Future<Output = CloudResult<T>>,
    {
        self.call_batched(api, 1, attempt).await
    }

    /// Like [`Self::call`] for a call that sends `requests` requests: each attempt takes that many
    /// tokens.
    async fn call_batched<T, Fut>(&self, api: Api, requests: u32, mut attempt: impl FnMut() -> Fut) -> CloudResult<T>
    where
        Fut: Future<Output = CloudResult<T>>,
    {
        let mut delays = self.retry.delays();
        loop {
            for _ in 0..requests {
                self.take_token(api).await;
            }
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) if error.is_retryable() => match delays.next() {
                    Some(delay) => {
                        debug!(%api, %error, ?delay, "retrying");
                        tokio::time::sleep(delay).await;
                    }
                    None => return Err(error),
                },
                Err(error) => return Err(error),
            }
        }
    }
}

#[async_trait]
impl<C: Cloud> Cloud for Resilient<C> {
    async fn describe_load_balancers(&self, filter: LoadBalancerFilter) -> CloudResult<Vec<LoadBalancer>> {
        self.call(Api::DescribeLoadBalancers, || self.inner.describe_load_balancers(filter.clone())).await
    }
    async fn describe_load_balancer_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        self.call(Api::DescribeLoadBalancerAttributes, || self.inner.describe_load_balancer_attributes(arn)).await
    }
    async fn describe_target_groups(&self, filter: TargetGroupFilter) -> CloudResult<Vec<TargetGroup>> {
        self.call(Api::DescribeTargetGroups, || self.inner.describe_target_groups(filter.clone())).await
    }
    async fn describe_target_group_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        self.call(Api::DescribeTargetGroupAttributes, || self.inner.describe_target_group_attributes(arn)).await
    }
    async fn describe_target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>> {
        self.call(Api::DescribeTargetHealth, || self.inner.describe_target_health(target_group_arn)).await
    }
    async fn describe_listeners(&self, load_balancer_arn: &str) -> CloudResult<Vec<Listener>> {
        self.call(Api::DescribeListeners, || self.inner.describe_listeners(load_balancer_arn)).await
    }
    async fn describe_rules(&self, listener_arn: &str) -> CloudResult<Vec<Rule>> {
        self.call(Api::DescribeRules, || self.inner.describe_rules(listener_arn)).await
    }
    async fn describe_tags(&self, arns: &[Arn]) -> CloudResult<BTreeMap<Arn, Tags>> {
        self.call_batched(Api::DescribeTags, batches(arns.len(), TAGS_PER_REQUEST), || self.inner.describe_tags(arns))
            .await
    }
    async fn create_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer> {
        self.call(Api::CreateLoadBalancer, || self.inner.create_load_balancer(input.clone())).await
    }
    async fn delete_load_balancer(&self, arn: &str) -> CloudResult<()> {
        self.call(Api::DeleteLoadBalancer, || self.inner.delete_load_balancer(arn)).await
    }
    async fn set_security_groups(&self, load_balancer_arn: &str, security_groups: &[String]) -> CloudResult<()> {
        self.call(Api::SetSecurityGroups, || self.inner.set_security_groups(load_balancer_arn, security_groups)).await
    }
    async fn set_subnets(&self, load_balancer_arn: &str, subnets: &[String]) -> CloudResult<()> {
        self.call(Api::SetSubnets, || self.inner.set_subnets(load_balancer_arn, subnets)).await
    }
    async fn set_ip_address_type(&self, load_balancer_arn: &str, ip_address_type: IpAddressType) -> CloudResult<()> {
        self.call(Api::SetIpAddressType, || self.inner.set_ip_address_type(load_balancer_arn, ip_address_type)).await
    }
    async fn modify_load_balancer_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        self.call(Api::ModifyLoadBalancerAttributes, || self.inner.modify_load_balancer_attributes(arn, attributes))
            .await
    }
    async fn create_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        self.call(Api::CreateTargetGroup, || self.inner.create_target_group(input.clone())).await
    }
    async fn modify_target_group(&self, arn: &str, health_check: &HealthCheck) -> CloudResult<()> {
        self.call(Api::ModifyTargetGroup, || self.inner.modify_target_group(arn, health_check)).await
    }
    async fn modify_target_group_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        self.call(Api::ModifyTargetGroupAttributes, || self.inner.modify_target_group_attributes(arn, attributes)).await
    }
    async fn delete_target_group(&self, arn: &str) -> CloudResult<()> {
        self.call(Api::DeleteTargetGroup, || self.inner.delete_target_group(arn)).await
    }
    async fn register_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        let requests = batches(targets.len(), TARGETS_PER_REQUEST);
        self.call_batched(Api::RegisterTargets, requests, || self.inner.register_targets(target_group_arn, targets))
            .await
    }
    async fn deregister_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        let requests = batches(targets.len(), TARGETS_PER_REQUEST);
        self.call_batched(Api::DeregisterTargets, requests, || self.inner.deregister_targets(target_group_arn, targets))
            .await
    }
    async fn create_listener(&self, input: CreateListener) -> CloudResult<Listener> {
        self.call(Api::CreateListener, || self.inner.create_listener(input.clone())).await
    }
    async fn modify_listener(&self, input: ModifyListener) -> CloudResult<()> {
        self.call(Api::ModifyListener, || self.inner.modify_listener(input.clone())).await
    }
    async fn delete_listener(&self, arn: &str) -> CloudResult<()> {
        self.call(Api::DeleteListener, || self.inner.delete_listener(arn)).await
    }
    async fn create_rule(&self, input: CreateRule) -> CloudResult<Rule> {
        self.call(Api::CreateRule, || self.inner.create_rule(input.clone())).await
    }
    async fn modify_rule(&self, input: ModifyRule) -> CloudResult<()> {
        self.call(Api::ModifyRule, || self.inner.modify_rule(input.clone())).await
    }
    async fn set_rule_priorities(&self, priorities: &[(Arn, u32)]) -> CloudResult<()> {
        self.call(Api::SetRulePriorities, || self.inner.set_rule_priorities(priorities)).await
    }
    async fn delete_rule(&self, arn: &str) -> CloudResult<()> {
        self.call(Api::DeleteRule, || self.inner.delete_rule(arn)).await
    }
    async fn add_tags(&self, arns: &[Arn], tags: &Tags) -> CloudResult<()> {
        self.call(Api::AddTags, || self.inner.add_tags(arns, tags)).await
    }
    async fn remove_tags(&self, arns: &[Arn], keys: &[String]) -> CloudResult<()> {
        self.call(Api::RemoveTags, || self.inner.remove_tags(arns, keys)).await
    }
    async fn describe_subnets(&self, vpc_id: &str) -> CloudResult<Vec<Subnet>> {
        self.call(Api::DescribeSubnets, || self.inner.describe_subnets(vpc_id)).await
    }
    async fn describe_instances(&self, ids: &[String]) -> CloudResult<Vec<Instance>> {
        self.call(Api::DescribeInstances, || self.inner.describe_instances(ids)).await
    }
    async fn describe_security_groups(&self, filter: SecurityGroupFilter) -> CloudResult<Vec<SecurityGroup>> {
        self.call(Api::DescribeSecurityGroups, || self.inner.describe_security_groups(filter.clone())).await
    }
    async fn describe_security_group_rules(
        &self,
        filter: SecurityGroupRuleFilter,
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        self.call(Api::DescribeSecurityGroupRules, || self.inner.describe_security_group_rules(filter.clone())).await
    }
    async fn create_security_group(
        &self,
        group_name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.call(Api::CreateSecurityGroup, || self.inner.create_security_group(group_name, description, vpc_id, tags))
            .await
    }
    async fn delete_security_group(&self, group_id: &str) -> CloudResult<()> {
        self.call(Api::DeleteSecurityGroup, || self.inner.delete_security_group(group_id)).await
    }
    async fn authorize_security_group_ingress(
        &self,
        group_id: &str,
        rules: &[NewIngressRule],
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        self.call(Api::AuthorizeSecurityGroupIngress, || self.inner.authorize_security_group_ingress(group_id, rules))
            .await
    }
    async fn revoke_security_group_ingress(&self, group_id: &str, rule_ids: &[String]) -> CloudResult<()> {
        self.call(Api::RevokeSecurityGroupIngress, || self.inner.revoke_security_group_ingress(group_id, rule_ids))
            .await
    }
    async fn create_tags(&self, resource_ids: &[String], tags: &Tags) -> CloudResult<()> {
        self.call(Api::CreateTags, || self.inner.create_tags(resource_ids, tags)).await
    }
    async fn delete_tags(&self, resource_ids: &[String], keys: &[String]) -> CloudResult<()> {
        self.call(Api::DeleteTags, || self.inner.delete_tags(resource_ids, keys)).await
    }
}
