//! The difference between a desired stack and what exists, as an ordered list of steps. Pure: no
//! I/O, so every rule below is a table test.
//!
//! One module per kind of resource plans its creations and changes; this one runs them in
//! dependency order, so that each step finds what it refers to, then appends the deletions:
//!
//! ```text
//! security_groups   the stack's groups and their ingress rules
//! target_groups     + attributes, targets
//! load_balancer     + attributes, subnets, security groups, IP address type
//!   listeners       its listeners and their rules
//! node_rules        the stack's need of node ports, its claims on other node rules
//! deletions         load balancers, target groups, the node port range step, node rule
//!                   claims, security groups
//! ```
//!
//! Deletions run in that order because target groups and security groups are in use until the load
//! balancer is gone; listeners and listener rules no longer desired are deleted with the other
//! changes of their load balancer. Mutable differences are modifications; immutable ones replace
//! the resource (the new one is created, listeners move to it, the old one is deleted). Every kind
//! goes through the one tag diff in `tags`.
//!
//! Steps name resources by [`ResourceId`]; the applier binds ids to ARNs (from `Plan::bindings` for
//! resources that exist, from the create calls for the rest).

mod listeners;
mod load_balancer;
mod node_rules;
mod security_groups;
mod step;
mod tags;
mod target_groups;

use std::collections::{BTreeMap, BTreeSet};

use elbow_cloud::Arn;
use elbow_model::{IngressRule, ResourceId, RuleSource, SecurityGroupRef, Stack, Tags};

pub(crate) use self::listeners::{bind_action, default_certificate};
pub(crate) use self::load_balancer::security_group_switch;
pub use self::step::{GroupRef, NodePorts, PlannedRule, Step};
pub use self::tags::desired_tags;
use crate::actual::ActualStack;
use crate::secrets::SentSecrets;

/// What the planner needs besides the two stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanContext {
    pub cluster: String,
    /// The cluster's shared backend security group, if the desired stack uses it.
    pub backend_group: Option<String>,
    /// The tags earlier deploys of this stack asked for, by resource: keys among them that are no
    /// longer desired are removed. Tags Elbow never asked for belong to someone else and stay.
    pub previous_tags: BTreeMap<ResourceId, Tags>,
    /// Fingerprints of the OIDC client secrets last sent, by listener or rule ARN (AWS never
    /// reports the secrets; see `secrets`).
    pub sent_secrets: SentSecrets,
    /// The ARNs of the stack's foreign target groups (made outside Elbow), by resource id: those
    /// named by ARN as they are, those named by name as DescribeTargetGroups found them.
    pub foreign_target_groups: BTreeMap<ResourceId, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// ARNs or ids of the resources that exist and are kept, by resource id.
    pub bindings: BTreeMap<ResourceId, String>,
    pub steps: Vec<Step>,
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
    /// Claims on node rules to give up, by group.
    rules: BTreeMap<String, Vec<String>>,
    /// The stack's need of node ports for the range step, when it needs any or needed some.
    span: Option<crate::node_groups::record::NodePorts>,
}

/// The state the per-kind modules share: what they read, the plan they append to, and what they
/// found no longer desired, for [`Planner::deletions`].
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

    fn deletions(&mut self) {
        let lbs: Vec<Arn> =
            self.doomed.load_balancers.difference(&self.doomed.already_deleted_load_balancers).cloned().collect();
        for arn in lbs {
            self.push(Step::DeleteLoadBalancer { arn });
        }
        for arn in std::mem::take(&mut self.doomed.target_groups) {
            self.push(Step::DeleteTargetGroup { arn });
        }
        // A deploy that deletes anything may follow one cut short after its load balancer (and
        // record) went and before the range step: it runs the range step too.
        let deletes = !self.doomed.load_balancers.is_empty()
            || self.plan.steps.iter().any(|s| matches!(s, Step::DeleteTargetGroup { .. }))
            || !self.doomed.rules.is_empty()
            || !self.doomed.security_groups.is_empty();
        let span = self.doomed.span.take().or_else(|| deletes.then(|| NodePorts::of(self.desired)));
        if let Some(ports) = span {
            self.push(Step::SpanNodePorts { ports });
        }
        for (group_id, rule_ids) in std::mem::take(&mut self.doomed.rules) {
            self.push(Step::ReleaseNodeRules { group_id, rule_ids });
        }
        for id in std::mem::take(&mut self.doomed.security_groups) {
            self.push(Step::DeleteSecurityGroup { id });
        }
    }

    /// The shared backend group and the stack's existing groups become their ids; a group still
    /// to be created stays a reference until applied. Security groups and node rules both compare
    /// rules this way, because EC2 reports a rule's source by id.
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

/// The desired entries whose actual value is missing or differs, for tags and attributes alike.
/// Keys the desired side does not set are someone else's (AWS's defaults, other tools' tags) and
/// are left alone.
fn changed_entries(desired: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    desired.iter().filter(|(k, v)| actual.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use elbow_model::*;

    use crate::actual::*;
    use crate::plan::fixtures::*;
    use crate::plan::*;

    #[test]
    fn creation_follows_dependency_order() {
        let plan = plan(&stack(Scheme::InternetFacing, 31000), &ActualStack::default(), &ctx());
        assert_eq!(kinds(&plan), ["CreateTargetGroup", "RegisterTargets", "CreateLoadBalancer", "CreateListener"]);
        assert!(plan.bindings.is_empty());
    }

    #[test]
    fn what_exists_as_desired_needs_no_step() {
        let desired = stack(Scheme::InternetFacing, 31000);
        let plan = plan(&desired, &applied(&desired), &ctx());
        assert_eq!(plan.steps, []);
        assert_eq!(plan.bindings.len(), 2);
    }

    #[test]
    fn the_empty_stack_deletes_the_load_balancer_before_its_target_groups() {
        let before = stack(Scheme::InternetFacing, 31000);
        let plan = plan(&Stack::empty(before.id.clone()), &applied(&before), &ctx());
        // A deploy that deletes ends with the node port range step (see node_rules).
        assert_eq!(kinds(&plan), ["DeleteLoadBalancer", "DeleteTargetGroup", "SpanNodePorts"]);
    }

    #[test]
    fn mutable_differences_are_modifications_of_the_existing_resources() {
        type Change = fn(&mut Stack);
        let cases: [(&str, Change, &[&str]); 9] = [
            ("health check", |s| s.target_groups[0].health_check.interval_seconds = 30, &["ModifyTargetGroup"]),
            (
                "target group attributes",
                |s| {
                    s.target_groups[0].attributes.insert("deregistration_delay.timeout_seconds".into(), "10".into());
                },
                &["ModifyTargetGroupAttributes"],
            ),
            (
                "node set",
                |s| s.target_groups[0].targets = vec![Target::new("i-2", 31000)],
                &["RegisterTargets", "DeregisterTargets"],
            ),
            ("subnets", |s| s.load_balancers[0].subnets.push("subnet-b".into()), &["SetSubnets"]),
            (
                "security groups",
                |s| s.load_balancers[0].security_groups = vec![SecurityGroupRef::Existing("sg-other".into())],
                &["SetSecurityGroups"],
            ),
            (
                "IP address type",
                |s| s.load_balancers[0].ip_address_type = IpAddressType::Dualstack,
                &["SetIpAddressType"],
            ),
            (
                "load balancer attributes",
                |s| {
                    s.load_balancers[0].attributes.insert("load_balancing.cross_zone.enabled".into(), "true".into());
                },
                &["ModifyLoadBalancerAttributes"],
            ),
            (
                "tags",
                |s| {
                    s.load_balancers[0].tags.insert("team".into(), "a".into());
                },
                &["AddTags"],
            ),
            ("listener protocol", |s| s.listeners[0].protocol = Protocol::Udp, &["ModifyListener"]),
        ];
        for (what, change, expected) in cases {
            let before = stack(Scheme::InternetFacing, 31000);
            let mut after = before.clone();
            change(&mut after);
            assert_eq!(kinds(&plan(&after, &applied(&before), &ctx())), expected, "{what}");
        }
    }
}
