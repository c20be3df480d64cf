//! The difference between a desired stack and what exists, as an ordered list of steps. Pure: no
//! I/O, so every rule below is a table test.
//!
//! Order (dependencies first, so each step finds what it refers to): security groups and their rules, target groups (+ attributes, targets), the
//! load balancer (+ attributes), listeners and their rules, the rules Elbow adds to node groups;
//! then deletions: load balancers, target groups, node rules, security groups (listeners and
//! listener rules no longer desired are deleted with the other changes of their load balancer).
//! Mutable differences are modifications; tags Elbow set earlier and no longer wants are removed,
//! tags it never set are left alone. Immutable differences (load balancer name, type or scheme;
//! target group name, protocol, port, target type or VPC) replace the resource: the new one is
//! created, listeners move to it, the old one is deleted. A replaced network load balancer is
//! deleted before the new one gets its listeners, because a target group serves only one network
//! load balancer at a time; one that keeps its name is deleted before its replacement is created.
//! Of several actual resources with one resource id (an interrupted replacement), the one that
//! matches is kept and the others are deleted.
//!
//! Steps name resources by [`ResourceId`]; the applier binds ids to ARNs (from `Plan::bindings` for
//! resources that exist, from the create calls for the rest).

use std::collections::{BTreeMap, BTreeSet};

use elbow_cloud::{Arn, NewIngressRule, Rule};
use elbow_model::tags::ownership_tags;
use elbow_model::{
    Action, Attributes, HealthCheck, IngressRule, IpAddressType, ListenerSpec, LoadBalancerSpec, LoadBalancerType,
    Protocol, ResourceId, RuleSource, RuleSpec, SecurityGroupRef, SecurityGroupSpec, Stack, Tags, Target,
    TargetGroupSpec,
};

use crate::actual::{ActualLoadBalancer, ActualSecurityGroup, ActualStack, ActualTargetGroup};

/// What the planner needs besides the two stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanContext {
    pub cluster: String,
    /// The cluster's shared backend security group, if the desired stack uses it.
    pub backend_group: Option<String>,
    /// The tags earlier deploys of this stack asked for, by resource: keys among them that are no
    /// longer desired are removed. Tags Elbow never asked for belong to someone else and stay.
    pub previous_tags: BTreeMap<ResourceId, Tags>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// ARNs or ids of the resources that exist and are kept, by resource id.
    pub bindings: BTreeMap<ResourceId, String>,
    pub steps: Vec<Step>,
}

/// A security group as a step needs it: one of this stack's (bound at apply time) or a known id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Managed(ResourceId),
    Id(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    CreateSecurityGroup {
        spec: SecurityGroupSpec,
    },
    /// `node` rules go to a group Elbow does not own.
    AuthorizeIngress {
        group: GroupRef,
        rules: Vec<PlannedRule>,
        node: bool,
    },
    RevokeIngress {
        group_id: String,
        rule_ids: Vec<String>,
        node: bool,
    },
    CreateTargetGroup {
        spec: TargetGroupSpec,
    },
    ModifyTargetGroup {
        resource_id: ResourceId,
        health_check: HealthCheck,
    },
    ModifyTargetGroupAttributes {
        resource_id: ResourceId,
        attributes: Attributes,
    },
    RegisterTargets {
        resource_id: ResourceId,
        targets: Vec<Target>,
    },
    DeregisterTargets {
        resource_id: ResourceId,
        targets: Vec<Target>,
    },
    CreateLoadBalancer {
        spec: LoadBalancerSpec,
        security_groups: Vec<GroupRef>,
    },
    SetSubnets {
        resource_id: ResourceId,
        subnets: Vec<String>,
    },
    SetSecurityGroups {
        resource_id: ResourceId,
        security_groups: Vec<GroupRef>,
    },
    SetIpAddressType {
        resource_id: ResourceId,
        ip_address_type: IpAddressType,
    },
    ModifyLoadBalancerAttributes {
        resource_id: ResourceId,
        attributes: Attributes,
    },
    /// On the load balancer `load_balancer`.
    CreateListener {
        load_balancer: ResourceId,
        spec: ListenerSpec,
    },
    ModifyListener {
        load_balancer: ResourceId,
        arn: Arn,
        spec: ListenerSpec,
    },
    DeleteListener {
        load_balancer: ResourceId,
        arn: Arn,
    },
    /// A rule at `priority` on the listener at `listener_port` of `load_balancer` (which may be
    /// created earlier in the same plan).
    CreateRule {
        load_balancer: ResourceId,
        listener_port: u16,
        priority: u32,
        rule: RuleSpec,
        tags: Tags,
    },
    /// New conditions and actions for the rule at that priority.
    ModifyRule {
        load_balancer: ResourceId,
        arn: Arn,
        rule: RuleSpec,
    },
    DeleteRule {
        load_balancer: ResourceId,
        arn: Arn,
    },
    /// ELBv2 tags (load balancers, target groups): only keys that are missing or differ.
    AddTags {
        resource_id: ResourceId,
        arn: Arn,
        tags: Tags,
    },
    /// EC2 tags (security groups).
    CreateTags {
        resource_id: ResourceId,
        id: String,
        tags: Tags,
    },
    /// ELBv2 tag keys Elbow set before and no longer wants.
    RemoveTags {
        resource_id: ResourceId,
        arn: Arn,
        keys: Vec<String>,
    },
    /// EC2 tag keys Elbow set before and no longer wants.
    DeleteTags {
        resource_id: ResourceId,
        id: String,
        keys: Vec<String>,
    },
    DeleteLoadBalancer {
        arn: Arn,
    },
    DeleteTargetGroup {
        arn: Arn,
    },
    DeleteSecurityGroup {
        id: String,
    },
}

/// An ingress rule with its source resolved as far as planning can, and the tags that mark it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRule {
    pub rule: IngressRule,
    pub tags: Tags,
}

impl PlannedRule {
    pub fn into_new(self, source_group: Option<String>) -> NewIngressRule {
        let mut rule = self.rule;
        if let Some(id) = source_group {
            rule.source = RuleSource::SecurityGroup(SecurityGroupRef::Existing(id));
        }
        NewIngressRule { rule, tags: self.tags }
    }
}

impl Step {
    /// A short description for events, logs and errors ("failed to <this>").
    pub fn describe(&self) -> String {
        match self {
            Step::CreateSecurityGroup { spec } => format!("create security group {}", spec.group_name),
            Step::AuthorizeIngress { group, rules, .. } => {
                format!("authorize {} ingress rule(s) on {}", rules.len(), group_name(group))
            }
            Step::RevokeIngress { group_id, rule_ids, .. } => {
                format!("revoke {} ingress rule(s) on {group_id}", rule_ids.len())
            }
            Step::CreateTargetGroup { spec } => format!("create target group {}", spec.name),
            Step::ModifyTargetGroup { resource_id, .. } => format!("modify the health check of {resource_id}"),
            Step::ModifyTargetGroupAttributes { resource_id, .. } => format!("modify the attributes of {resource_id}"),
            Step::RegisterTargets { resource_id, targets } => {
                format!("register {} target(s) with {resource_id}", targets.len())
            }
            Step::DeregisterTargets { resource_id, targets } => {
                format!("deregister {} target(s) from {resource_id}", targets.len())
            }
            Step::CreateLoadBalancer { spec, .. } => format!("create load balancer {}", spec.name),
            Step::SetSubnets { resource_id, .. } => format!("set the subnets of {resource_id}"),
            Step::SetSecurityGroups { resource_id, .. } => format!("set the security groups of {resource_id}"),
            Step::SetIpAddressType { resource_id, .. } => format!("set the IP address type of {resource_id}"),
            Step::ModifyLoadBalancerAttributes { resource_id, .. } => format!("modify the attributes of {resource_id}"),
            Step::CreateListener { spec, .. } => format!("create listener {}", spec.port),
            Step::ModifyListener { spec, .. } => format!("modify listener {}", spec.port),
            Step::DeleteListener { arn, .. } => format!("delete listener {arn}"),
            Step::CreateRule { listener_port, priority, .. } => {
                format!("create rule {priority} of listener {listener_port}")
            }
            Step::ModifyRule { arn, .. } => format!("modify rule {arn}"),
            Step::DeleteRule { arn, .. } => format!("delete rule {arn}"),
            Step::AddTags { resource_id, .. } | Step::CreateTags { resource_id, .. } => format!("tag {resource_id}"),
            Step::RemoveTags { resource_id, keys, .. } | Step::DeleteTags { resource_id, keys, .. } => {
                format!("remove tag(s) {} from {resource_id}", keys.join(", "))
            }
            Step::DeleteLoadBalancer { arn } => format!("delete load balancer {arn}"),
            Step::DeleteTargetGroup { arn } => format!("delete target group {arn}"),
            Step::DeleteSecurityGroup { id } => format!("delete security group {id}"),
        }
    }
}

fn group_name(group: &GroupRef) -> String {
    match group {
        GroupRef::Managed(id) => id.to_string(),
        GroupRef::Id(id) => id.clone(),
    }
}

/// Everything needed to turn `actual` into `desired`.
pub fn plan(desired: &Stack, actual: &ActualStack, ctx: &PlanContext) -> Plan {
    let mut planner = Planner { desired, actual, ctx, plan: Plan::default(), doomed: Doomed::default() };
    planner.security_groups();
    planner.target_groups();
    planner.load_balancers();
    planner.node_rules();
    planner.deletions();
    planner.plan
}

/// Actual resources that are not kept, by ARN or id.
#[derive(Default)]
struct Doomed {
    load_balancers: BTreeSet<Arn>,
    already_deleted_load_balancers: BTreeSet<Arn>,
    target_groups: BTreeSet<Arn>,
    security_groups: BTreeSet<String>,
    /// Node rules to revoke, by group.
    rules: BTreeMap<String, Vec<String>>,
}

struct Planner<'a> {
    desired: &'a Stack,
    actual: &'a ActualStack,
    ctx: &'a PlanContext,
    plan: Plan,
    doomed: Doomed,
}

impl Planner<'_> {
    fn push(&mut self, step: Step) {
        self.plan.steps.push(step);
    }

    fn security_groups(&mut self) {
        let mut kept = BTreeSet::new();
        // Bind every kept group first, so that a rule naming another of the stack's groups as its
        // source compares equal to what EC2 reports (the group's id).
        let existing_groups: Vec<Option<&ActualSecurityGroup>> = self
            .desired
            .security_groups
            .iter()
            .map(|desired| {
                self.actual.security_groups.iter().find(|a| {
                    a.resource_id == desired.resource_id
                        && a.group.group_name == desired.group_name
                        && a.group.vpc_id == desired.vpc_id
                })
            })
            .collect();
        for (desired, existing) in self.desired.security_groups.iter().zip(&existing_groups) {
            if let Some(actual) = existing {
                self.plan.bindings.insert(desired.resource_id.clone(), actual.group.id.clone());
            }
        }
        for (desired, existing) in self.desired.security_groups.iter().zip(existing_groups) {
            let rule_tags = ownership_subset(&desired.tags);
            let wanted: Vec<PlannedRule> = desired
                .ingress
                .iter()
                .map(|rule| PlannedRule { rule: self.resolve_rule(rule), tags: rule_tags.clone() })
                .collect();
            match existing {
                Some(actual) => {
                    kept.insert(actual.group.id.clone());
                    let have: Vec<&IngressRule> = actual.rules.iter().map(|r| &r.rule).collect();
                    let missing: Vec<PlannedRule> =
                        wanted.iter().filter(|w| !have.contains(&&w.rule)).cloned().collect();
                    let extra: Vec<String> = actual
                        .rules
                        .iter()
                        .filter(|r| !wanted.iter().any(|w| w.rule == r.rule))
                        .map(|r| r.rule_id.clone())
                        .collect();
                    // Authorize before revoking: a changed source range never leaves a gap.
                    if !missing.is_empty() {
                        self.push(Step::AuthorizeIngress {
                            group: GroupRef::Id(actual.group.id.clone()),
                            rules: missing,
                            node: false,
                        });
                    }
                    if !extra.is_empty() {
                        self.push(Step::RevokeIngress {
                            group_id: actual.group.id.clone(),
                            rule_ids: extra,
                            node: false,
                        });
                    }
                    let tags = missing_tags(&desired.tags, &actual.group.tags);
                    if !tags.is_empty() {
                        self.push(Step::CreateTags {
                            resource_id: desired.resource_id.clone(),
                            id: actual.group.id.clone(),
                            tags,
                        });
                    }
                    let keys = self.dropped_tags(desired.resource_id.clone(), &desired.tags, &actual.group.tags);
                    if !keys.is_empty() {
                        self.push(Step::DeleteTags {
                            resource_id: desired.resource_id.clone(),
                            id: actual.group.id.clone(),
                            keys,
                        });
                    }
                }
                None => {
                    self.push(Step::CreateSecurityGroup { spec: desired.clone() });
                    if !wanted.is_empty() {
                        self.push(Step::AuthorizeIngress {
                            group: GroupRef::Managed(desired.resource_id.clone()),
                            rules: wanted,
                            node: false,
                        });
                    }
                }
            }
        }
        for actual in &self.actual.security_groups {
            if !kept.contains(&actual.group.id) {
                self.doomed.security_groups.insert(actual.group.id.clone());
            }
        }
    }

    fn target_groups(&mut self) {
        let mut kept = BTreeSet::new();
        for desired in &self.desired.target_groups {
            let existing = self
                .actual
                .target_groups
                .iter()
                .find(|a| a.resource_id == desired.resource_id && same_immutable_tg(a, desired));
            match existing {
                Some(actual) => {
                    kept.insert(actual.tg.arn.clone());
                    self.plan.bindings.insert(desired.resource_id.clone(), actual.tg.arn.clone());
                    let id = &desired.resource_id;
                    if actual.tg.health_check != desired.health_check {
                        self.push(Step::ModifyTargetGroup {
                            resource_id: id.clone(),
                            health_check: desired.health_check.clone(),
                        });
                    }
                    let attributes = changed_attributes(&desired.attributes, &actual.attributes);
                    if !attributes.is_empty() {
                        self.push(Step::ModifyTargetGroupAttributes { resource_id: id.clone(), attributes });
                    }
                    let register: Vec<Target> =
                        desired.targets.iter().filter(|t| !actual.targets.contains(t)).cloned().collect();
                    let deregister: Vec<Target> =
                        actual.targets.iter().filter(|t| !desired.targets.contains(t)).cloned().collect();
                    if !register.is_empty() {
                        self.push(Step::RegisterTargets { resource_id: id.clone(), targets: register });
                    }
                    if !deregister.is_empty() {
                        self.push(Step::DeregisterTargets { resource_id: id.clone(), targets: deregister });
                    }
                    let tags = missing_tags(&desired.tags, &actual.tags);
                    if !tags.is_empty() {
                        self.push(Step::AddTags { resource_id: id.clone(), arn: actual.tg.arn.clone(), tags });
                    }
                    let keys = self.dropped_tags(id.clone(), &desired.tags, &actual.tags);
                    if !keys.is_empty() {
                        self.push(Step::RemoveTags { resource_id: id.clone(), arn: actual.tg.arn.clone(), keys });
                    }
                }
                None => {
                    self.push(Step::CreateTargetGroup { spec: desired.clone() });
                    if !desired.attributes.is_empty() {
                        self.push(Step::ModifyTargetGroupAttributes {
                            resource_id: desired.resource_id.clone(),
                            attributes: desired.attributes.clone(),
                        });
                    }
                    if !desired.targets.is_empty() {
                        self.push(Step::RegisterTargets {
                            resource_id: desired.resource_id.clone(),
                            targets: desired.targets.clone(),
                        });
                    }
                }
            }
        }
        for actual in &self.actual.target_groups {
            if !kept.contains(&actual.tg.arn) {
                self.doomed.target_groups.insert(actual.tg.arn.clone());
            }
        }
    }

    fn load_balancers(&mut self) {
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
                        self.push(Step::CreateListener {
                            load_balancer: desired.resource_id.clone(),
                            spec: listener.clone(),
                        });
                        self.listener_rules(&desired.resource_id, listener, None, &[]);
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
        let attributes = changed_attributes(&desired.attributes, &actual.attributes);
        if !attributes.is_empty() {
            self.push(Step::ModifyLoadBalancerAttributes { resource_id: id.clone(), attributes });
        }
        let tags = missing_tags(&desired.tags, &actual.tags);
        if !tags.is_empty() {
            self.push(Step::AddTags { resource_id: id.clone(), arn: actual.lb.arn.clone(), tags });
        }
        let keys = self.dropped_tags(id.clone(), &desired.tags, &actual.tags);
        if !keys.is_empty() {
            self.push(Step::RemoveTags { resource_id: id.clone(), arn: actual.lb.arn.clone(), keys });
        }
    }

    /// Keys Elbow set on the resource earlier and no longer wants, that the resource still has.
    /// Keys it never set are someone else's and stay.
    fn dropped_tags(&self, resource: ResourceId, desired: &Tags, actual: &Tags) -> Vec<String> {
        let Some(previous) = self.ctx.previous_tags.get(&resource) else { return Vec::new() };
        previous
            .keys()
            .filter(|key| !desired.contains_key(*key) && actual.contains_key(*key) && !is_ownership_tag(key))
            .cloned()
            .collect()
    }

    fn listeners(&mut self, lb: &ResourceId, desired: &[&ListenerSpec], actual_lb: &ActualLoadBalancer) {
        let actual = &actual_lb.listeners;
        for listener in desired {
            match actual.iter().find(|a| a.port == listener.port) {
                None => {
                    self.push(Step::CreateListener { load_balancer: lb.clone(), spec: (*listener).clone() });
                    self.listener_rules(lb, listener, None, &[]);
                }
                Some(existing) => {
                    if !self.same_listener(listener, existing) {
                        self.push(Step::ModifyListener {
                            load_balancer: lb.clone(),
                            arn: existing.arn.clone(),
                            spec: (*listener).clone(),
                        });
                    }
                    let rules = actual_lb.rules.get(&existing.arn).map(Vec::as_slice).unwrap_or_default();
                    self.listener_rules(lb, listener, Some(&existing.arn), rules);
                }
            }
        }
        for existing in actual {
            if !desired.iter().any(|l| l.port == existing.port) {
                // Its rules go with it.
                self.push(Step::DeleteListener { load_balancer: lb.clone(), arn: existing.arn.clone() });
            }
        }
    }

    /// Rules are matched by priority (the position in the desired list, from 1): a rule that
    /// differs is modified in place, a missing one created, one beyond the desired list deleted.
    /// Matching by priority keeps a re-run after a crash from creating a second rule at a taken
    /// priority, and never needs two rules to swap priorities.
    fn listener_rules(&mut self, lb: &ResourceId, listener: &ListenerSpec, arn: Option<&Arn>, actual: &[Rule]) {
        for (index, desired) in listener.rules.iter().enumerate() {
            let priority = u32::try_from(index + 1).unwrap_or(u32::MAX);
            match actual.iter().find(|a| a.priority == Some(priority)) {
                None => self.push(Step::CreateRule {
                    load_balancer: lb.clone(),
                    listener_port: listener.port,
                    priority,
                    rule: desired.clone(),
                    tags: listener.tags.clone(),
                }),
                Some(existing) if !self.same_rule(desired, existing) => self.push(Step::ModifyRule {
                    load_balancer: lb.clone(),
                    arn: existing.arn.clone(),
                    rule: desired.clone(),
                }),
                Some(_) => {}
            }
        }
        if arn.is_none() {
            return;
        }
        let wanted = u32::try_from(listener.rules.len()).unwrap_or(u32::MAX);
        for extra in actual.iter().filter(|a| a.priority.is_none_or(|p| p > wanted)) {
            self.push(Step::DeleteRule { load_balancer: lb.clone(), arn: extra.arn.clone() });
        }
    }

    fn same_rule(&self, desired: &RuleSpec, actual: &Rule) -> bool {
        let actions: Option<Vec<Action<Arn>>> =
            desired.actions.iter().map(|a| bind_action(a, &self.plan.bindings)).collect();
        desired.conditions == actual.conditions && actions.is_some_and(|a| a == actual.actions)
    }

    /// Compares settings; target groups are compared through their bindings, so a listener whose
    /// target group is being created or replaced differs.
    fn same_listener(&self, desired: &ListenerSpec, actual: &elbow_cloud::Listener) -> bool {
        let actions: Option<Vec<Action<Arn>>> =
            desired.default_actions.iter().map(|a| bind_action(a, &self.plan.bindings)).collect();
        // Certificates and policy mean something only on TLS and HTTPS listeners; some endpoints
        // (moto) report a default policy on plain ones too.
        let secure = matches!(desired.protocol, Protocol::Tls | Protocol::Https);
        desired.protocol == actual.protocol
            && (!secure || (desired.certificates == actual.certificates && desired.ssl_policy == actual.ssl_policy))
            && actions.is_some_and(|a| a == actual.default_actions)
    }

    fn node_rules(&mut self) {
        let mut authorize: BTreeMap<String, Vec<PlannedRule>> = BTreeMap::new();
        let mut revoke: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for desired in &self.desired.node_security_group_rules {
            let rule = self.resolve_rule(&desired.rule);
            let present =
                self.actual.node_rules.iter().any(|a| {
                    a.resource_id == desired.resource_id && a.rule.group_id == desired.group_id && a.rule.rule == rule
                }) || self.actual.satisfied_node_rules.iter().any(|s| s.group_id == desired.group_id && s.rule == rule);
            if !present {
                let tags = ownership_tags(&self.ctx.cluster, &self.desired.id, &desired.resource_id);
                authorize.entry(desired.group_id.clone()).or_default().push(PlannedRule { rule, tags });
            }
        }
        for actual in &self.actual.node_rules {
            let wanted = self.desired.node_security_group_rules.iter().any(|d| {
                d.resource_id == actual.resource_id
                    && d.group_id == actual.rule.group_id
                    && self.resolve_rule(&d.rule) == actual.rule.rule
            });
            if !wanted {
                revoke.entry(actual.rule.group_id.clone()).or_default().push(actual.rule.rule_id.clone());
            }
        }
        for (group, rules) in authorize {
            self.push(Step::AuthorizeIngress { group: GroupRef::Id(group), rules, node: true });
        }
        // Revoked with the other deletions, once nothing depends on them.
        self.doomed.rules = revoke;
    }

    fn deletions(&mut self) {
        let lbs: Vec<Arn> =
            self.doomed.load_balancers.difference(&self.doomed.already_deleted_load_balancers).cloned().collect();
        for arn in lbs {
            self.push(Step::DeleteLoadBalancer { arn });
        }
        for arn in std::mem::take(&mut self.doomed.target_groups) {
            self.push(Step::DeleteTargetGroup { arn });
        }
        for (group_id, rule_ids) in std::mem::take(&mut self.doomed.rules) {
            self.push(Step::RevokeIngress { group_id, rule_ids, node: true });
        }
        for id in std::mem::take(&mut self.doomed.security_groups) {
            self.push(Step::DeleteSecurityGroup { id });
        }
    }

    fn resolve_group(&self, group: &SecurityGroupRef) -> GroupRef {
        match group {
            SecurityGroupRef::Managed(rid) => GroupRef::Managed(rid.clone()),
            SecurityGroupRef::SharedBackend => GroupRef::Id(self.ctx.backend_group.clone().unwrap_or_default()),
            SecurityGroupRef::Existing(id) => GroupRef::Id(id.clone()),
        }
    }

    /// The shared backend group and the stack's existing groups become their ids; a group still
    /// to be created stays a reference until applied.
    fn resolve_rule(&self, rule: &IngressRule) -> IngressRule {
        let mut rule = rule.clone();
        let id = match &rule.source {
            RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend) => {
                Some(self.ctx.backend_group.clone().unwrap_or_default())
            }
            RuleSource::SecurityGroup(SecurityGroupRef::Managed(rid)) => self.plan.bindings.get(rid).cloned(),
            _ => None,
        };
        if let Some(id) = id {
            rule.source = RuleSource::SecurityGroup(SecurityGroupRef::Existing(id));
        }
        rule
    }
}

fn same_immutable_tg(actual: &ActualTargetGroup, desired: &TargetGroupSpec) -> bool {
    actual.tg.name == desired.name
        && actual.tg.protocol == desired.protocol
        && actual.tg.port == desired.port
        && actual.tg.target_type == desired.target_type
        && actual.tg.vpc_id == desired.vpc_id
}

fn same_immutable_lb(actual: &ActualLoadBalancer, desired: &LoadBalancerSpec) -> bool {
    actual.lb.name == desired.name && actual.lb.lb_type == desired.lb_type && actual.lb.scheme == desired.scheme
}

/// An action with target-group resource ids replaced by bound ARNs; `None` if one is unbound.
pub(crate) fn bind_action(action: &Action<ResourceId>, bindings: &BTreeMap<ResourceId, String>) -> Option<Action<Arn>> {
    Some(match action {
        Action::Forward { target_groups } => Action::Forward {
            target_groups: target_groups
                .iter()
                .map(|w| {
                    Some(elbow_model::WeightedTargetGroup {
                        target_group: bindings.get(&w.target_group)?.clone(),
                        weight: w.weight,
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        },
        Action::Redirect { protocol, port, host, path, query, status_code } => Action::Redirect {
            protocol: protocol.clone(),
            port: port.clone(),
            host: host.clone(),
            path: path.clone(),
            query: query.clone(),
            status_code: status_code.clone(),
        },
        Action::FixedResponse { status_code, content_type, message_body } => Action::FixedResponse {
            status_code: status_code.clone(),
            content_type: content_type.clone(),
            message_body: message_body.clone(),
        },
    })
}

/// Desired attributes whose actual value differs (keys the desired state does not set are AWS's).
fn changed_attributes(desired: &Attributes, actual: &Attributes) -> Attributes {
    desired.iter().filter(|(k, v)| actual.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Desired tags that are missing or differ. Tags Elbow did not ask for are left alone: other tools
/// (cost allocation, AWS itself) add their own.
fn missing_tags(desired: &Tags, actual: &Tags) -> Tags {
    desired.iter().filter(|(k, v)| actual.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The ownership tags among `tags`: what marks the rules of a group Elbow owns.
fn ownership_subset(tags: &Tags) -> Tags {
    tags.iter().filter(|(k, _)| is_ownership_tag(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn is_ownership_tag(key: &str) -> bool {
    [elbow_model::tags::CLUSTER_TAG, elbow_model::tags::STACK_TAG, elbow_model::tags::RESOURCE_TAG].contains(&key)
}

/// The tags a stack asks for, by resource: what the next deploy's [`PlanContext::previous_tags`]
/// is made of.
pub fn desired_tags(stack: &Stack) -> BTreeMap<ResourceId, Tags> {
    let lbs = stack.load_balancers.iter().map(|lb| (lb.resource_id.clone(), lb.tags.clone()));
    let tgs = stack.target_groups.iter().map(|tg| (tg.resource_id.clone(), tg.tags.clone()));
    let sgs = stack.security_groups.iter().map(|sg| (sg.resource_id.clone(), sg.tags.clone()));
    lbs.chain(tgs).chain(sgs).collect()
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
