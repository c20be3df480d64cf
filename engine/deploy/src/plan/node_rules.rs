//! The rules Elbow adds to node security groups. They belong to the cluster, not to the stack
//! (`crate::node_groups`, where the reasons are). For the rules admitting the shared backend
//! group, the stack only states its need (recorded on its load balancer by the deployer) and the
//! plan ends its deletions with a range step, which brings the node groups' port ranges to what
//! every stack needs; the ranges are then decided under each group's lock. It comes after the
//! load balancer exists and after the deletions, so a widening follows the record it serves and
//! a narrowing follows the deletion of the load balancer that needed the ports. Other node rules
//! are claimed per permission, in one step per group after the load balancer exists; the claims
//! given up (including an earlier version's per-port rules, once the range covers them) wait for
//! the range step.

use std::collections::BTreeMap;

use elbow_model::{RuleSource, SecurityGroupRef};

use super::{PlannedRule, Planner, Step};
use crate::node_groups::record::NodePorts;
use crate::node_groups::{new_rule_tags, same_permission};

fn from_backend(source: &RuleSource) -> bool {
    *source == RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend)
}

impl Planner<'_> {
    pub(super) fn node_rules(&mut self) {
        let claimed_rules = self.desired.node_security_group_rules.iter().filter(|r| !from_backend(&r.rule.source));
        let mut claim: BTreeMap<String, Vec<PlannedRule>> = BTreeMap::new();
        for desired in claimed_rules.clone() {
            let rule = self.resolve_rule(&desired.rule);
            let held = self
                .actual
                .node_rules
                .iter()
                .any(|a| a.rule.group_id == desired.group_id && same_permission(&a.rule.rule, &rule));
            // A rule another party already grants counts as present, and is never Elbow's.
            let satisfied = self
                .actual
                .satisfied_node_rules
                .iter()
                .any(|s| s.group_id == desired.group_id && same_permission(&s.rule, &rule));
            if !held && !satisfied {
                let tags = new_rule_tags(&self.ctx.cluster, &self.desired.id, &desired.resource_id);
                claim.entry(desired.group_id.clone()).or_default().push(PlannedRule { rule, tags });
            }
        }
        let mut release: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for actual in &self.actual.node_rules {
            // A per-port rule admitting the backend group is never wanted as such any more: the
            // range covers its port once the range step has run.
            let wanted = claimed_rules.clone().any(|d| {
                d.group_id == actual.rule.group_id && same_permission(&self.resolve_rule(&d.rule), &actual.rule.rule)
            });
            if !wanted {
                release.entry(actual.rule.group_id.clone()).or_default().push(actual.rule.rule_id.clone());
            }
        }
        for (group_id, rules) in claim {
            self.push(Step::ClaimNodeRules { group_id, rules });
        }
        // Given up with the other deletions, once nothing depends on them.
        self.doomed.rules = release;
        let ports = NodePorts::of(self.desired);
        let recorded = self.actual.load_balancers.iter().any(|lb| !NodePorts::from_tags(&lb.tags).is_empty());
        self.doomed.span = (!ports.is_empty() || recorded).then_some(ports);
    }
}

#[cfg(test)]
mod tests {
    use elbow_model::tags::RESOURCE_TAG;
    use elbow_model::*;

    use crate::actual::*;
    use crate::node_groups::record::NodePorts;
    use crate::node_groups::{claim_key, claimants};
    use crate::plan::fixtures::*;
    use crate::plan::*;

    fn rule(port: u16, source: RuleSource) -> NodeSecurityGroupRule {
        NodeSecurityGroupRule {
            resource_id: ResourceId::new(format!("NodeRule/sg-nodes/tcp/{port}")),
            group_id: "sg-nodes".into(),
            rule: IngressRule { ip_protocol: "tcp".into(), from_port: port, to_port: port, source, description: None },
        }
    }

    fn backend() -> RuleSource {
        RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend)
    }

    /// A per-port rule of an earlier version that the stack claims.
    fn claimed(port: u16, source: RuleSource) -> ActualNodeRule {
        ActualNodeRule {
            resource_id: ResourceId::new(format!("NodeRule/sg-nodes/tcp/{port}")),
            rule: elbow_cloud::SecurityGroupRule {
                rule_id: format!("sgr-{port}"),
                group_id: "sg-nodes".into(),
                rule: IngressRule {
                    source,
                    // EC2 reports a description someone added; the permission is the same.
                    description: Some("edited".into()),
                    ..rule(port, RuleSource::CidrIpv4(String::new())).rule
                },
                tags: Tags::new(),
            },
        }
    }

    fn ctx_with_backend() -> PlanContext {
        PlanContext { backend_group: Some("sg-backend".into()), ..ctx() }
    }

    #[test]
    fn backend_rules_become_the_range_step_after_the_deletions_and_per_port_claims_are_given_up_after_it() {
        let mut desired = stack(Scheme::InternetFacing, 31000);
        desired.node_security_group_rules = vec![rule(31000, backend()), rule(31001, backend())];
        let existing = SecurityGroupRef::Existing("sg-backend".into());
        let mut actual = applied(&stack(Scheme::InternetFacing, 31000));
        actual.node_rules = vec![claimed(31000, RuleSource::SecurityGroup(existing))];
        let planned = plan(&desired, &actual, &ctx_with_backend());
        assert_eq!(kinds(&planned), ["SpanNodePorts", "ReleaseNodeRules"], "{:?}", planned.steps);
        let Step::SpanNodePorts { ports } = &planned.steps[0] else { unreachable!() };
        assert_eq!(*ports, NodePorts::of(&desired));
        assert_eq!(
            planned.steps[1],
            Step::ReleaseNodeRules { group_id: "sg-nodes".into(), rule_ids: vec!["sgr-31000".into()] },
            "the earlier version's rule is given up once the range covers its port"
        );

        let deleted = plan(&Stack::empty(desired.id.clone()), &actual, &ctx_with_backend());
        assert_eq!(kinds(&deleted), ["DeleteLoadBalancer", "DeleteTargetGroup", "SpanNodePorts", "ReleaseNodeRules"]);
        assert_eq!(
            deleted.steps[2],
            Step::SpanNodePorts { ports: NodePorts::default() },
            "the stack needs nothing now"
        );
    }

    #[test]
    fn a_recorded_need_brings_the_range_step_also_when_the_stack_goes() {
        let mut before = stack(Scheme::InternetFacing, 31000);
        before.node_security_group_rules = vec![rule(31000, backend())];
        let (recorded, _) = crate::node_groups::record::with_record(&before);
        let mut actual = applied(&recorded);
        actual.load_balancers[0].tags = recorded.load_balancers[0].tags.clone();
        assert_eq!(
            plan(&recorded, &actual, &ctx_with_backend()).steps,
            [Step::SpanNodePorts { ports: NodePorts::of(&before) }]
        );
        let deleted = plan(&Stack::empty(before.id.clone()), &actual, &ctx_with_backend());
        assert_eq!(kinds(&deleted), ["DeleteLoadBalancer", "DeleteTargetGroup", "SpanNodePorts"]);
        assert_eq!(deleted.steps[2], Step::SpanNodePorts { ports: NodePorts::default() });
    }

    #[test]
    fn other_node_rules_are_claimed_per_group_and_only_claims_no_longer_needed_are_given_up() {
        let cidr = || RuleSource::CidrIpv4("10.0.0.0/8".into());
        let mut desired = Stack::empty(StackId::new("default/web"));
        desired.node_security_group_rules = vec![rule(31000, cidr()), rule(31001, cidr())];
        let actual =
            ActualStack { node_rules: vec![claimed(31000, cidr()), claimed(32000, cidr())], ..ActualStack::default() };
        let plan = plan(&desired, &actual, &ctx_with_backend());
        assert_eq!(kinds(&plan), ["ClaimNodeRules", "SpanNodePorts", "ReleaseNodeRules"]);
        let Step::ClaimNodeRules { group_id, rules } = &plan.steps[0] else { panic!("{:?}", plan.steps) };
        assert_eq!(group_id, "sg-nodes");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].rule.from_port, 31001);
        assert_eq!(rules[0].tags.get(RESOURCE_TAG).map(String::as_str), Some("NodeRule/sg-nodes/tcp/31001"));
        assert_eq!(
            claimants(&rules[0].tags, "c").map(|c| c.into_iter().collect::<Vec<_>>()),
            Some(vec![desired.id.clone()])
        );
        assert!(rules[0].tags.contains_key(&claim_key(&desired.id)));
        assert_eq!(
            plan.steps[2],
            Step::ReleaseNodeRules { group_id: "sg-nodes".into(), rule_ids: vec!["sgr-32000".into()] }
        );
    }
}
