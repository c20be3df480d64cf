//! [`Metered`]: a [`Cloud`] that records every call in the [`Metrics`]: count by action and
//! outcome, latency by action, and the load balancers it sees tagged with the cluster.
//!
//! Where it goes: *inside* [`Resilient`](elbow_cloud::resilient::Resilient), directly around the
//! SDK (`Resilient::new(Metered::new(sdk, ..), ..)`). Throttling is an answer AWS gives to one
//! request; `Resilient` retries it, and the SDK's own retries are off (elbow-aws), so only a
//! wrapper on the inside sees each throttled request and each retry as what it is, a request
//! of its own, and times each one alone. Outside `Resilient`, a call throttled twice and then
//! accepted would count as one success, throttling would show only when retries ran out, and the
//! latency would include the client-side rate-limit waits and backoff pauses.
//!
//! A paged or batched method counts once per call, however many pages or batches it sent (the
//! SDK adapter's own `CallCounter` counts those).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use elbow_cloud::types::*;
use elbow_cloud::{Api, Cloud, CloudResult};
use elbow_model::{Attributes, HealthCheck, IpAddressType, Tags, Target};

use super::{ManagedLoadBalancers, Metrics};

pub struct Metered<C> {
    inner: C,
    metrics: Metrics,
    managed: ManagedLoadBalancers,
}

impl<C: Cloud> Metered<C> {
    /// `cluster_name` tells this cluster's load balancers (by their `elbow.dev/cluster` tag) from
    /// those of other clusters in the same account.
    pub fn new(inner: C, metrics: Metrics, cluster_name: &str) -> Self {
        let managed = metrics.managed_load_balancers(cluster_name);
        Self { inner, metrics, managed }
    }

    pub fn inner(&self) -> &C {
        &self.inner
    }

    async fn call<T>(&self, api: Api, request: impl Future<Output = CloudResult<T>>) -> CloudResult<T> {
        let started = Instant::now();
        let result = request.await;
        let outcome = result.as_ref().map(|_| ()).map_err(|error| error.kind);
        self.metrics.record_cloud_call(api, outcome, started.elapsed());
        result
    }
}

#[async_trait]
impl<C: Cloud> Cloud for Metered<C> {
    async fn describe_load_balancers(&self, filter: LoadBalancerFilter) -> CloudResult<Vec<LoadBalancer>> {
        let all = filter == LoadBalancerFilter::All;
        let result = self.call(Api::DescribeLoadBalancers, self.inner.describe_load_balancers(filter)).await;
        if let (true, Ok(load_balancers)) = (all, &result) {
            self.managed.all_listed(load_balancers);
        }
        result
    }
    async fn describe_load_balancer_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        self.call(Api::DescribeLoadBalancerAttributes, self.inner.describe_load_balancer_attributes(arn)).await
    }
    async fn describe_target_groups(&self, filter: TargetGroupFilter) -> CloudResult<Vec<TargetGroup>> {
        self.call(Api::DescribeTargetGroups, self.inner.describe_target_groups(filter)).await
    }
    async fn describe_target_group_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        self.call(Api::DescribeTargetGroupAttributes, self.inner.describe_target_group_attributes(arn)).await
    }
    async fn describe_target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>> {
        self.call(Api::DescribeTargetHealth, self.inner.describe_target_health(target_group_arn)).await
    }
    async fn describe_listeners(&self, load_balancer_arn: &str) -> CloudResult<Vec<Listener>> {
        self.call(Api::DescribeListeners, self.inner.describe_listeners(load_balancer_arn)).await
    }
    async fn describe_rules(&self, listener_arn: &str) -> CloudResult<Vec<Rule>> {
        self.call(Api::DescribeRules, self.inner.describe_rules(listener_arn)).await
    }
    async fn describe_tags(&self, arns: &[Arn]) -> CloudResult<BTreeMap<Arn, Tags>> {
        let result = self.call(Api::DescribeTags, self.inner.describe_tags(arns)).await;
        if let Ok(tags) = &result {
            self.managed.tags_read(arns, tags);
        }
        result
    }
    async fn create_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer> {
        let tags = input.tags.clone();
        let result = self.call(Api::CreateLoadBalancer, self.inner.create_load_balancer(input)).await;
        if let Ok(load_balancer) = &result {
            self.managed.created(load_balancer, &tags);
        }
        result
    }
    async fn delete_load_balancer(&self, arn: &str) -> CloudResult<()> {
        let result = self.call(Api::DeleteLoadBalancer, self.inner.delete_load_balancer(arn)).await;
        // A delete that found nothing to delete leaves nothing behind either.
        let gone = match &result {
            Ok(()) => true,
            Err(error) => error.is_not_found(),
        };
        if gone {
            self.managed.deleted(arn);
        }
        result
    }
    async fn set_security_groups(&self, load_balancer_arn: &str, security_groups: &[String]) -> CloudResult<()> {
        self.call(Api::SetSecurityGroups, self.inner.set_security_groups(load_balancer_arn, security_groups)).await
    }
    async fn set_subnets(&self, load_balancer_arn: &str, subnets: &[String]) -> CloudResult<()> {
        self.call(Api::SetSubnets, self.inner.set_subnets(load_balancer_arn, subnets)).await
    }
    async fn set_ip_address_type(&self, load_balancer_arn: &str, ip_address_type: IpAddressType) -> CloudResult<()> {
        self.call(Api::SetIpAddressType, self.inner.set_ip_address_type(load_balancer_arn, ip_address_type)).await
    }
    async fn modify_load_balancer_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        self.call(Api::ModifyLoadBalancerAttributes, self.inner.modify_load_balancer_attributes(arn, attributes)).await
    }
    async fn create_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        self.call(Api::CreateTargetGroup, self.inner.create_target_group(input)).await
    }
    async fn modify_target_group(&self, arn: &str, health_check: &HealthCheck) -> CloudResult<()> {
        self.call(Api::ModifyTargetGroup, self.inner.modify_target_group(arn, health_check)).await
    }
    async fn modify_target_group_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        self.call(Api::ModifyTargetGroupAttributes, self.inner.modify_target_group_attributes(arn, attributes)).await
    }
    async fn delete_target_group(&self, arn: &str) -> CloudResult<()> {
        self.call(Api::DeleteTargetGroup, self.inner.delete_target_group(arn)).await
    }
    async fn register_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        self.call(Api::RegisterTargets, self.inner.register_targets(target_group_arn, targets)).await
    }
    async fn deregister_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        self.call(Api::DeregisterTargets, self.inner.deregister_targets(target_group_arn, targets)).await
    }
    async fn create_listener(&self, input: CreateListener) -> CloudResult<Listener> {
        self.call(Api::CreateListener, self.inner.create_listener(input)).await
    }
    async fn modify_listener(&self, input: ModifyListener) -> CloudResult<()> {
        self.call(Api::ModifyListener, self.inner.modify_listener(input)).await
    }
    async fn delete_listener(&self, arn: &str) -> CloudResult<()> {
        self.call(Api::DeleteListener, self.inner.delete_listener(arn)).await
    }
    async fn create_rule(&self, input: CreateRule) -> CloudResult<Rule> {
        self.call(Api::CreateRule, self.inner.create_rule(input)).await
    }
    async fn modify_rule(&self, input: ModifyRule) -> CloudResult<()> {
        self.call(Api::ModifyRule, self.inner.modify_rule(input)).await
    }
    async fn set_rule_priorities(&self, priorities: &[(Arn, u32)]) -> CloudResult<()> {
        self.call(Api::SetRulePriorities, self.inner.set_rule_priorities(priorities)).await
    }
    async fn delete_rule(&self, arn: &str) -> CloudResult<()> {
        self.call(Api::DeleteRule, self.inner.delete_rule(arn)).await
    }
    async fn add_tags(&self, arns: &[Arn], tags: &Tags) -> CloudResult<()> {
        self.call(Api::AddTags, self.inner.add_tags(arns, tags)).await
    }
    async fn remove_tags(&self, arns: &[Arn], keys: &[String]) -> CloudResult<()> {
        self.call(Api::RemoveTags, self.inner.remove_tags(arns, keys)).await
    }
    async fn describe_subnets(&self, vpc_id: &str) -> CloudResult<Vec<Subnet>> {
        self.call(Api::DescribeSubnets, self.inner.describe_subnets(vpc_id)).await
    }
    async fn describe_instances(&self, ids: &[String]) -> CloudResult<Vec<Instance>> {
        self.call(Api::DescribeInstances, self.inner.describe_instances(ids)).await
    }
    async fn describe_security_groups(&self, filter: SecurityGroupFilter) -> CloudResult<Vec<SecurityGroup>> {
        self.call(Api::DescribeSecurityGroups, self.inner.describe_security_groups(filter)).await
    }
    async fn describe_security_group_rules(
        &self,
        filter: SecurityGroupRuleFilter,
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        self.call(Api::DescribeSecurityGroupRules, self.inner.describe_security_group_rules(filter)).await
    }
    async fn create_security_group(
        &self,
        group_name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.call(Api::CreateSecurityGroup, self.inner.create_security_group(group_name, description, vpc_id, tags))
            .await
    }
    async fn delete_security_group(&self, group_id: &str) -> CloudResult<()> {
        self.call(Api::DeleteSecurityGroup, self.inner.delete_security_group(group_id)).await
    }
    async fn authorize_security_group_ingress(
        &self,
        group_id: &str,
        rules: &[NewIngressRule],
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        self.call(Api::AuthorizeSecurityGroupIngress, self.inner.authorize_security_group_ingress(group_id, rules))
            .await
    }
    async fn revoke_security_group_ingress(&self, group_id: &str, rule_ids: &[String]) -> CloudResult<()> {
        self.call(Api::RevokeSecurityGroupIngress, self.inner.revoke_security_group_ingress(group_id, rule_ids)).await
    }
    async fn create_tags(&self, resource_ids: &[String], tags: &Tags) -> CloudResult<()> {
        self.call(Api::CreateTags, self.inner.create_tags(resource_ids, tags)).await
    }
    async fn delete_tags(&self, resource_ids: &[String], keys: &[String]) -> CloudResult<()> {
        self.call(Api::DeleteTags, self.inner.delete_tags(resource_ids, keys)).await
    }
}
