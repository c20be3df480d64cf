//! An in-memory ELBv2 and EC2 for tests, the playground and benchmarks.
//!
//! It keeps the rules of the real services that shape Elbow's code: unique names and AWS's
//! idempotent repeated creates, resources in use that cannot be deleted, a target group serving
//! one network load balancer, quotas, tagged security-group rules, "not found" answers. It counts
//! every request (pages and batches included) in a [`CallCounter`] and fails chosen requests on
//! demand ([`Failure`]), before or after they take effect. Like moto, every target is healthy and a
//! new load balancer is `provisioning` until first described.

mod ec2;
mod elbv2;
mod failures;
mod names;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use elbow_model::{Attributes, HealthCheck, IpAddressType, Tags, Target};

pub use failures::Failure;

use crate::Cloud;
use crate::api::Api;
use crate::counter::CallCounter;
use crate::error::CloudResult;
use crate::types::*;
use ec2::Ec2;
use elbv2::Elbv2;
use failures::Failures;

const DESCRIBE_TAGS_BATCH: usize = 20;
const TARGETS_BATCH: usize = 200;

#[derive(Debug, Default)]
struct State {
    elbv2: Elbv2,
    ec2: Ec2,
}

#[derive(Debug)]
pub struct FakeCloud {
    state: Mutex<State>,
    failures: Mutex<Failures>,
    counter: CallCounter,
    page_size: usize,
}

impl Default for FakeCloud {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeCloud {
    /// An empty region (`us-east-1`, account `123456789012`).
    pub fn new() -> Self {
        Self { state: Mutex::default(), failures: Mutex::default(), counter: CallCounter::new(), page_size: 400 }
    }

    /// Describe calls page after `page_size` items (400 on AWS), so paging can be tested small.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    pub fn counter(&self) -> &CallCounter {
        &self.counter
    }

    // ---- seeding: not counted, never failed ----

    pub fn seed_vpc(&self, vpc_id: &str) {
        self.lock().ec2.vpcs.insert(vpc_id.to_string());
    }

    pub fn seed_subnet(&self, subnet: Subnet) {
        self.lock().ec2.subnets.insert(subnet.id.clone(), subnet);
    }

    pub fn seed_instance(&self, instance: Instance) {
        self.lock().ec2.instances.insert(instance.id.clone(), instance);
    }

    pub fn remove_instance(&self, instance_id: &str) {
        self.lock().ec2.instances.remove(instance_id);
    }

    pub fn seed_security_group(&self, group: SecurityGroup) {
        self.lock().ec2.groups.insert(group.id.clone(), group);
    }

    /// A load balancer made by someone else (or by an earlier test step).
    pub fn seed_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer> {
        let mut state = self.lock();
        let vpc = state.vpc_of_subnets(&input.subnets);
        state.elbv2.create_load_balancer(Api::CreateLoadBalancer, input, vpc)
    }

    pub fn seed_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        self.lock().elbv2.create_target_group(Api::CreateTargetGroup, input)
    }

    /// A rule added to a group by someone else (e.g. a human, or another controller).
    pub fn seed_security_group_rule(&self, group_id: &str, rule: NewIngressRule) -> CloudResult<SecurityGroupRule> {
        let mut created = self.lock().ec2.authorize_ingress(Api::AuthorizeSecurityGroupIngress, group_id, &[rule])?;
        Ok(created.remove(0))
    }

    // ---- failures ----

    pub fn inject(&self, failure: Failure) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).add(failure);
    }

    pub fn clear_failures(&self) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    // ---- inspection: not counted ----

    pub fn load_balancers(&self) -> Vec<LoadBalancer> {
        self.lock().elbv2.load_balancers()
    }

    pub fn target_groups(&self) -> Vec<TargetGroup> {
        self.lock().elbv2.target_groups()
    }

    pub fn listeners(&self) -> Vec<Listener> {
        self.lock().elbv2.listeners()
    }

    pub fn rules(&self, listener_arn: &str) -> Vec<Rule> {
        self.lock().elbv2.rules_of(listener_arn)
    }

    pub fn targets(&self, target_group_arn: &str) -> Vec<Target> {
        self.lock().elbv2.targets_of(target_group_arn)
    }

    /// Tags of an ELBv2 resource (by ARN) or an EC2 one (by id); empty when unknown.
    pub fn tags(&self, arn_or_id: &str) -> Tags {
        let state = self.lock();
        state.elbv2.tags_of_one(arn_or_id).or_else(|| state.ec2.tags_of(arn_or_id)).unwrap_or_default()
    }

    pub fn attributes(&self, arn: &str) -> AttributeMap {
        self.lock().elbv2.attributes_of(arn)
    }

    pub fn security_groups(&self) -> Vec<SecurityGroup> {
        self.lock().ec2.groups.values().cloned().collect()
    }

    pub fn security_group_rules(&self, group_id: &str) -> Vec<SecurityGroupRule> {
        self.lock().ec2.describe_security_group_rules(&SecurityGroupRuleFilter::Group(group_id.to_string()))
    }

    // ---- plumbing ----

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every operation validates before it changes anything, so a panic cannot leave the state
        // half-changed; a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One request: counted, then failed if a rule says so (before or after taking effect).
    fn request<T>(&self, api: Api, op: impl FnOnce(&mut State) -> CloudResult<T>) -> CloudResult<T> {
        self.counter.record(api);
        let failure = self.failures.lock().unwrap_or_else(|p| p.into_inner()).next(api);
        match failure {
            Some(failure) if !failure.after_apply => Err(failure.error(api)),
            Some(failure) => {
                let _ = op(&mut self.lock());
                Err(failure.error(api))
            }
            None => op(&mut self.lock()),
        }
    }

    /// Counts the extra requests of a paged or batched call (the first is counted by `request`).
    fn count_more(&self, api: Api, items: usize, per_request: usize) {
        for _ in 1..items.div_ceil(per_request).max(1) {
            self.counter.record(api);
        }
    }
}

impl State {
    fn vpc_of_subnets(&self, subnets: &[String]) -> String {
        subnets.iter().find_map(|s| self.ec2.subnets.get(s)).map(|s| s.vpc_id.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Cloud for FakeCloud {
    async fn describe_load_balancers(&self, filter: LoadBalancerFilter) -> CloudResult<Vec<LoadBalancer>> {
        let api = Api::DescribeLoadBalancers;
        let found = self.request(api, |s| s.elbv2.describe_load_balancers(api, &filter))?;
        self.count_more(api, found.len(), self.page_size);
        Ok(found)
    }

    async fn describe_load_balancer_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        let api = Api::DescribeLoadBalancerAttributes;
        self.request(api, |s| s.elbv2.load_balancer_attributes(api, arn))
    }

    async fn describe_target_groups(&self, filter: TargetGroupFilter) -> CloudResult<Vec<TargetGroup>> {
        let api = Api::DescribeTargetGroups;
        let found = self.request(api, |s| s.elbv2.describe_target_groups(api, &filter))?;
        self.count_more(api, found.len(), self.page_size);
        Ok(found)
    }

    async fn describe_target_group_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        let api = Api::DescribeTargetGroupAttributes;
        self.request(api, |s| s.elbv2.target_group_attributes(api, arn))
    }

    async fn describe_target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>> {
        let api = Api::DescribeTargetHealth;
        self.request(api, |s| s.elbv2.target_health(api, target_group_arn))
    }

    async fn describe_listeners(&self, load_balancer_arn: &str) -> CloudResult<Vec<Listener>> {
        let api = Api::DescribeListeners;
        self.request(api, |s| s.elbv2.describe_listeners(api, load_balancer_arn))
    }

    async fn describe_rules(&self, listener_arn: &str) -> CloudResult<Vec<Rule>> {
        let api = Api::DescribeRules;
        self.request(api, |s| s.elbv2.describe_rules(api, listener_arn))
    }

    async fn describe_tags(&self, arns: &[Arn]) -> CloudResult<BTreeMap<Arn, Tags>> {
        let api = Api::DescribeTags;
        if arns.is_empty() {
            return Ok(BTreeMap::new());
        }
        let found = self.request(api, |s| Ok(s.elbv2.tags_of(arns)))?;
        self.count_more(api, arns.len(), DESCRIBE_TAGS_BATCH);
        Ok(found)
    }

    async fn create_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer> {
        let api = Api::CreateLoadBalancer;
        self.request(api, |s| {
            let vpc = s.vpc_of_subnets(&input.subnets);
            s.elbv2.create_load_balancer(api, input, vpc)
        })
    }

    async fn delete_load_balancer(&self, arn: &str) -> CloudResult<()> {
        self.request(Api::DeleteLoadBalancer, |s| {
            s.elbv2.delete_load_balancer(arn);
            Ok(())
        })
    }

    async fn set_security_groups(&self, load_balancer_arn: &str, security_groups: &[String]) -> CloudResult<()> {
        let api = Api::SetSecurityGroups;
        self.request(api, |s| {
            let mut groups = security_groups.to_vec();
            groups.sort();
            s.elbv2.load_balancer_mut(api, load_balancer_arn)?.security_groups = groups;
            Ok(())
        })
    }

    async fn set_subnets(&self, load_balancer_arn: &str, subnets: &[String]) -> CloudResult<()> {
        let api = Api::SetSubnets;
        self.request(api, |s| {
            let mut subnets = subnets.to_vec();
            subnets.sort();
            s.elbv2.load_balancer_mut(api, load_balancer_arn)?.subnets = subnets;
            Ok(())
        })
    }

    async fn set_ip_address_type(&self, load_balancer_arn: &str, ip_address_type: IpAddressType) -> CloudResult<()> {
        let api = Api::SetIpAddressType;
        self.request(api, |s| {
            s.elbv2.load_balancer_mut(api, load_balancer_arn)?.ip_address_type = ip_address_type;
            Ok(())
        })
    }

    async fn modify_load_balancer_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        let api = Api::ModifyLoadBalancerAttributes;
        self.request(api, |s| s.elbv2.modify_load_balancer_attributes(api, arn, attributes))
    }

    async fn create_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        let api = Api::CreateTargetGroup;
        self.request(api, |s| s.elbv2.create_target_group(api, input))
    }

    async fn modify_target_group(&self, arn: &str, health_check: &HealthCheck) -> CloudResult<()> {
        let api = Api::ModifyTargetGroup;
        self.request(api, |s| s.elbv2.modify_target_group(api, arn, health_check))
    }

    async fn modify_target_group_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        let api = Api::ModifyTargetGroupAttributes;
        self.request(api, |s| s.elbv2.modify_target_group_attributes(api, arn, attributes))
    }

    async fn delete_target_group(&self, arn: &str) -> CloudResult<()> {
        let api = Api::DeleteTargetGroup;
        self.request(api, |s| s.elbv2.delete_target_group(api, arn))
    }

    async fn register_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        let api = Api::RegisterTargets;
        self.request(api, |s| {
            let instances = &s.ec2.instances;
            s.elbv2.register_targets(api, target_group_arn, targets, |id| instances.contains_key(id))
        })?;
        self.count_more(api, targets.len(), TARGETS_BATCH);
        Ok(())
    }

    async fn deregister_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        let api = Api::DeregisterTargets;
        self.request(api, |s| s.elbv2.deregister_targets(api, target_group_arn, targets))?;
        self.count_more(api, targets.len(), TARGETS_BATCH);
        Ok(())
    }

    async fn create_listener(&self, input: CreateListener) -> CloudResult<Listener> {
        let api = Api::CreateListener;
        self.request(api, |s| s.elbv2.create_listener(api, input))
    }

    async fn modify_listener(&self, input: ModifyListener) -> CloudResult<()> {
        let api = Api::ModifyListener;
        self.request(api, |s| s.elbv2.modify_listener(api, input))
    }

    async fn delete_listener(&self, arn: &str) -> CloudResult<()> {
        let api = Api::DeleteListener;
        self.request(api, |s| s.elbv2.delete_listener(api, arn))
    }

    async fn create_rule(&self, input: CreateRule) -> CloudResult<Rule> {
        let api = Api::CreateRule;
        self.request(api, |s| s.elbv2.create_rule(api, input))
    }

    async fn modify_rule(&self, input: ModifyRule) -> CloudResult<()> {
        let api = Api::ModifyRule;
        self.request(api, |s| s.elbv2.modify_rule(api, input))
    }

    async fn set_rule_priorities(&self, priorities: &[(Arn, u32)]) -> CloudResult<()> {
        let api = Api::SetRulePriorities;
        self.request(api, |s| s.elbv2.set_rule_priorities(api, priorities))
    }

    async fn delete_rule(&self, arn: &str) -> CloudResult<()> {
        let api = Api::DeleteRule;
        self.request(api, |s| s.elbv2.delete_rule(api, arn))
    }

    async fn add_tags(&self, arns: &[Arn], tags: &Tags) -> CloudResult<()> {
        let api = Api::AddTags;
        self.request(api, |s| s.elbv2.add_tags(api, arns, tags))
    }

    async fn remove_tags(&self, arns: &[Arn], keys: &[String]) -> CloudResult<()> {
        let api = Api::RemoveTags;
        self.request(api, |s| s.elbv2.remove_tags(api, arns, keys))
    }

    async fn describe_subnets(&self, vpc_id: &str) -> CloudResult<Vec<Subnet>> {
        self.request(Api::DescribeSubnets, |s| Ok(s.ec2.describe_subnets(vpc_id)))
    }

    async fn describe_instances(&self, ids: &[String]) -> CloudResult<Vec<Instance>> {
        self.request(Api::DescribeInstances, |s| Ok(s.ec2.describe_instances(ids)))
    }

    async fn describe_security_groups(&self, filter: SecurityGroupFilter) -> CloudResult<Vec<SecurityGroup>> {
        let api = Api::DescribeSecurityGroups;
        self.request(api, |s| s.ec2.describe_security_groups(api, &filter))
    }

    async fn describe_security_group_rules(
        &self,
        filter: SecurityGroupRuleFilter,
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        let api = Api::DescribeSecurityGroupRules;
        let found = self.request(api, |s| Ok(s.ec2.describe_security_group_rules(&filter)))?;
        self.count_more(api, found.len(), 1000);
        Ok(found)
    }

    async fn create_security_group(
        &self,
        group_name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        let api = Api::CreateSecurityGroup;
        self.request(api, |s| s.ec2.create_security_group(api, group_name, description, vpc_id, tags))
    }

    async fn delete_security_group(&self, group_id: &str) -> CloudResult<()> {
        let api = Api::DeleteSecurityGroup;
        self.request(api, |s| {
            let in_use = s.elbv2.load_balancers_using_security_group(group_id);
            s.ec2.delete_security_group(api, group_id, in_use)
        })
    }

    async fn authorize_security_group_ingress(
        &self,
        group_id: &str,
        rules: &[NewIngressRule],
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        let api = Api::AuthorizeSecurityGroupIngress;
        self.request(api, |s| s.ec2.authorize_ingress(api, group_id, rules))
    }

    async fn revoke_security_group_ingress(&self, group_id: &str, rule_ids: &[String]) -> CloudResult<()> {
        let api = Api::RevokeSecurityGroupIngress;
        self.request(api, |s| s.ec2.revoke_ingress(api, group_id, rule_ids))
    }

    async fn create_tags(&self, resource_ids: &[String], tags: &Tags) -> CloudResult<()> {
        let api = Api::CreateTags;
        self.request(api, |s| {
            for id in resource_ids {
                s.ec2.tags_mut(api, id)?;
            }
            for id in resource_ids {
                s.ec2.tags_mut(api, id)?.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Ok(())
        })
    }

    async fn delete_tags(&self, resource_ids: &[String], keys: &[String]) -> CloudResult<()> {
        let api = Api::DeleteTags;
        self.request(api, |s| {
            for id in resource_ids {
                s.ec2.tags_mut(api, id)?;
            }
            for id in resource_ids {
                let tags = s.ec2.tags_mut(api, id)?;
                for key in keys {
                    tags.remove(key);
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
