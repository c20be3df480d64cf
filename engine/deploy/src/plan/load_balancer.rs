//! The load balancer, its attributes, subnets, security groups and IP address type, then its
//! listeners. Name, type, scheme and fixed addresses cannot be changed in place: a load balancer that differs in one
//! of them is replaced, and most of this module is the order of that replacement. A name is unique,
//! so a replaced load balancer that keeps its name is deleted before its replacement is created. A
//! target group serves one network load balancer at a time, so a replaced network load balancer is
//! deleted before the new one gets its listeners. Of several actual load balancers with one
//! resource id (an interrupted replacement), the one that matches is kept and the others are
//! deleted.

use std::collections::BTreeSet;

use elbow_model::tags::SUBNET_ADDRESSES_TAG;
use elbow_model::{ListenerSpec, LoadBalancerSpec, LoadBalancerType, SecurityGroupRef, Stack};

use super::tags::TagApi;
use super::{GroupRef, Planner, Step, changed_entries};
use crate::DeployError;
use crate::actual::{ActualLoadBalancer, ActualStack};

impl Planner<'_> {
    pub(super) fn load_balancers(&mut self) {
        let mut kept = BTreeSet::new();
        for desired in &self.desired.load_balancers {
            let listeners: Vec<&ListenerSpec> =
                self.desired.listeners.iter().filter(|l| l.load_balancer == desired.resource_id).collect();
            let groups: Vec<GroupRef> = desired.security_groups.iter().map(|g| self.resolve_group(g)).collect();
            let existing = self
                .actual
                .load_balancers
                .iter()
                .find(|a| a.resource_id == desired.resource_id && same_immutable_lb(a, desired));
            // Load balancers of the same resource id that do not match: the one being replaced, or
            // the old one left behind by an interrupted replacement.
            let replaced: Vec<&ActualLoadBalancer> = self
                .actual
                .load_balancers
                .iter()
                .filter(|a| a.resource_id == desired.resource_id && existing.is_none_or(|e| e.lb.arn != a.lb.arn))
                .collect();
            match existing {
                Some(actual) => {
                    kept.insert(actual.lb.arn.clone());
                    self.plan.bindings.insert(desired.resource_id.clone(), actual.lb.arn.clone());
                    self.update_load_balancer(desired, actual, groups);
                    self.delete_replaced_before_listeners(desired, &replaced);
                    self.listeners(&desired.resource_id, &listeners, actual);
                }
                None => {
                    // A name is unique: a replacement that keeps it (the user named the load
                    // balancer) can only be created once the old one is gone.
                    for old in replaced.iter().filter(|old| old.lb.name == desired.name) {
                        self.push(Step::DeleteLoadBalancer { arn: old.lb.arn.clone() });
                        self.doomed.already_deleted_load_balancers.insert(old.lb.arn.clone());
                    }
                    self.push(Step::CreateLoadBalancer { spec: desired.clone(), security_groups: groups });
                    if !desired.attributes.is_empty() {
                        self.push(Step::ModifyLoadBalancerAttributes {
                            resource_id: desired.resource_id.clone(),
                            attributes: desired.attributes.clone(),
                        });
                    }
                    self.delete_replaced_before_listeners(desired, &replaced);
                    for listener in listeners {
                        self.create_listener(&desired.resource_id, listener);
                    }
                }
            }
        }
        for actual in &self.actual.load_balancers {
            if !kept.contains(&actual.lb.arn) {
                self.doomed.load_balancers.insert(actual.lb.arn.clone());
            }
        }
    }

    /// A target group serves one network load balancer at a time, so the listeners of a replacing
    /// network load balancer can forward to the kept target groups only once the replaced one is
    /// gone. An application load balancer shares its target groups and is deleted with the other
    /// deletions, after its replacement listens.
    fn delete_replaced_before_listeners(&mut self, desired: &LoadBalancerSpec, replaced: &[&ActualLoadBalancer]) {
        for old in replaced {
            let network = desired.lb_type == LoadBalancerType::Network || old.lb.lb_type == LoadBalancerType::Network;
            if network && self.doomed.already_deleted_load_balancers.insert(old.lb.arn.clone()) {
                self.push(Step::DeleteLoadBalancer { arn: old.lb.arn.clone() });
            }
        }
    }

    fn update_load_balancer(&mut self, desired: &LoadBalancerSpec, actual: &ActualLoadBalancer, groups: Vec<GroupRef>) {
        let id = &desired.resource_id;
        if sorted(&desired.subnets) != sorted(&actual.lb.subnets) {
            self.push(Step::SetSubnets { resource_id: id.clone(), subnets: desired.subnets.clone() });
        }
        let resolved: Option<Vec<String>> = groups
            .iter()
            .map(|g| match g {
                GroupRef::Id(id) => Some(id.clone()),
                GroupRef::Managed(rid) => self.plan.bindings.get(rid).cloned(),
            })
            .collect();
        if resolved.is_none_or(|ids| sorted(&ids) != sorted(&actual.lb.security_groups)) {
            self.push(Step::SetSecurityGroups { resource_id: id.clone(), security_groups: groups });
        }
        if desired.ip_address_type != actual.lb.ip_address_type {
            self.push(Step::SetIpAddressType { resource_id: id.clone(), ip_address_type: desired.ip_address_type });
        }
        let attributes = changed_entries(&desired.attributes, &actual.attributes);
        if !attributes.is_empty() {
            self.push(Step::ModifyLoadBalancerAttributes { resource_id: id.clone(), attributes });
        }
        self.retag(id, TagApi::Elbv2(&actual.lb.arn), &desired.tags, &actual.tags);
    }

    fn resolve_group(&self, group: &SecurityGroupRef) -> GroupRef {
        match group {
            SecurityGroupRef::Managed(rid) => GroupRef::Managed(rid.clone()),
            SecurityGroupRef::SharedBackend => GroupRef::Id(self.ctx.backend_group.clone().unwrap_or_default()),
            SecurityGroupRef::Existing(id) => GroupRef::Id(id.clone()),
        }
    }
}

/// A network load balancer that is kept (nothing immutable changed) but would gain its first
/// security groups or lose its last: AWS cannot give security groups to a network load balancer
/// created without any, and the switch is refused in both directions as the AWS Load Balancer
/// Controller refuses it (`disable-nlb-sg` is meant to be set once, when the Service is created).
pub(crate) fn security_group_switch(desired: &Stack, actual: &ActualStack) -> Result<(), DeployError> {
    for lb in desired.load_balancers.iter().filter(|lb| lb.lb_type == LoadBalancerType::Network) {
        let kept = actual.load_balancers.iter().find(|a| a.resource_id == lb.resource_id && same_immutable_lb(a, lb));
        if let Some(kept) = kept
            && kept.lb.security_groups.is_empty() != lb.security_groups.is_empty()
        {
            return Err(DeployError::SecurityGroupsFixed {
                name: kept.lb.name.clone(),
                has_groups: !kept.lb.security_groups.is_empty(),
            });
        }
    }
    Ok(())
}

/// The settings a load balancer cannot change in place. The fixed addresses of a network load
/// balancer are among them (AWS's SetSubnets cannot change the address of a subnet the load
/// balancer already serves); they are compared by the record tag the load balancer was created
/// with, since DescribeLoadBalancers cannot tell an address asked for from one AWS picked.
fn same_immutable_lb(actual: &ActualLoadBalancer, desired: &LoadBalancerSpec) -> bool {
    actual.lb.name == desired.name
        && actual.lb.lb_type == desired.lb_type
        && actual.lb.scheme == desired.scheme
        && actual.tags.get(SUBNET_ADDRESSES_TAG) == desired.tags.get(SUBNET_ADDRESSES_TAG)
}

/// Subnets and security groups are sets; AWS reports them in an order of its own.
fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

#[cfg(test)]
mod tests {
    use elbow_model::*;

    use crate::actual::*;
    use crate::plan::fixtures::*;
    use crate::plan::*;

    #[test]
    fn a_scheme_change_deletes_the_old_load_balancer_before_listening_on_the_new_one() {
        let before = stack(Scheme::InternetFacing, 31000);
        let plan = plan(&stack(Scheme::Internal, 31000), &applied(&before), &ctx());
        assert_eq!(kinds(&plan), ["CreateLoadBalancer", "DeleteLoadBalancer", "CreateListener", "SpanNodePorts"]);
    }

    #[test]
    fn a_replacement_that_keeps_the_name_deletes_the_old_load_balancer_first() {
        let mut before = stack(Scheme::InternetFacing, 31000);
        before.load_balancers[0].name = "my-web".into();
        let mut after = stack(Scheme::Internal, 31000);
        after.load_balancers[0].name = "my-web".into();
        let plan = plan(&after, &applied(&before), &ctx());
        assert_eq!(kinds(&plan), ["DeleteLoadBalancer", "CreateLoadBalancer", "CreateListener", "SpanNodePorts"]);
    }

    #[test]
    fn an_interrupted_replacement_keeps_the_matching_load_balancer_and_frees_the_target_group_first() {
        let before = stack(Scheme::InternetFacing, 31000);
        let after = stack(Scheme::Internal, 31000);
        let mut actual = applied(&before);
        let mut new = applied(&after).load_balancers.remove(0);
        new.listeners.clear();
        actual.load_balancers.push(new.clone());
        let plan = plan(&after, &actual, &ctx());
        assert_eq!(kinds(&plan), ["DeleteLoadBalancer", "CreateListener", "SpanNodePorts"]);
        assert_eq!(plan.steps[0], Step::DeleteLoadBalancer { arn: actual.load_balancers[0].lb.arn.clone() });
        assert_eq!(plan.bindings.get(&ResourceId::new("LoadBalancer")), Some(&new.lb.arn));
    }

    #[test]
    fn changed_fixed_addresses_replace_the_load_balancer_and_unchanged_ones_keep_it() {
        let with = |record: Option<&str>| {
            let mut stack = stack(Scheme::InternetFacing, 31000);
            stack.load_balancers[0].name = "my-web".into();
            if let Some(record) = record {
                stack.load_balancers[0].tags.insert(elbow_model::tags::SUBNET_ADDRESSES_TAG.into(), record.into());
            }
            stack
        };
        // The name stays, so the old load balancer (which holds the Elastic IPs) goes first.
        for (before, after) in [(None, Some("aaaa")), (Some("aaaa"), Some("bbbb")), (Some("aaaa"), None)] {
            let plan = plan(&with(after), &applied(&with(before)), &ctx());
            assert_eq!(
                kinds(&plan),
                ["DeleteLoadBalancer", "CreateLoadBalancer", "CreateListener", "SpanNodePorts"],
                "{before:?} -> {after:?}"
            );
        }
        let same = with(Some("aaaa"));
        assert!(plan(&same, &applied(&same), &ctx()).steps.is_empty());
    }

    #[test]
    fn the_shared_backend_group_resolves_to_its_id() {
        let mut desired = stack(Scheme::InternetFacing, 31000);
        desired.load_balancers[0].security_groups = vec![SecurityGroupRef::SharedBackend];
        let ctx = PlanContext {
            cluster: "c".into(),
            backend_group: Some("sg-backend".into()),
            previous_tags: BTreeMap::new(),
            sent_secrets: Default::default(),
            foreign_target_groups: BTreeMap::new(),
        };
        let plan = plan(&desired, &ActualStack::default(), &ctx);
        let groups = plan.steps.iter().find_map(|s| match s {
            Step::CreateLoadBalancer { security_groups, .. } => Some(security_groups.clone()),
            _ => None,
        });
        assert_eq!(groups, Some(vec![GroupRef::Id("sg-backend".into())]));
    }
}
