//! The ingress rules Elbow adds to node security groups. They belong to the cluster, not to the
//! stack: one rule serves every stack that needs its permission, and each such stack holds a
//! claim on it (`crate::node_claims`, where the reasons are). The planner says which claims the
//! stack takes and gives up; which calls that makes (authorize, tag, untag, revoke) is decided
//! when the step runs, under the node group's lock, from the claims the rules carry then. Claims
//! are taken in one step per group, after the load balancer exists; giving them up waits for the
//! deletions, once nothing that depended on them is left.

use std::collections::BTreeMap;

use super::{PlannedRule, Planner, Step};
use crate::node_claims::{new_rule_tags, same_permission};

impl Planner<'_> {
    pub(super) fn node_rules(&mut self) {
        let mut claim: BTreeMap<String, Vec<PlannedRule>> = BTreeMap::new();
        for desired in &self.desired.node_security_group_rules {
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
            let wanted = self.desired.node_security_group_rules.iter().any(|d| {
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
    }
}

#[cfg(test)]
mod tests {
    use elbow_model::tags::RESOURCE_TAG;
    use elbow_model::*;

    use crate::actual::*;
    use crate::node_claims::{claim_key, claimants};
    use crate::plan::fixtures::*;
    use crate::plan::*;

    #[test]
    fn node_rules_are_claimed_per_group_and_only_claims_no_longer_needed_are_given_up() {
        let rule = |port: u16| NodeSecurityGroupRule {
            resource_id: ResourceId::new(format!("NodeRule/sg-nodes/tcp/{port}")),
            group_id: "sg-nodes".into(),
            rule: IngressRule {
                ip_protocol: "tcp".into(),
                from_port: port,
                to_port: port,
                source: RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend),
                description: None,
            },
        };
        let ctx = PlanContext { backend_group: Some("sg-backend".into()), ..ctx() };
        let actual_rule = |port: u16| crate::actual::ActualNodeRule {
            resource_id: ResourceId::new(format!("NodeRule/sg-nodes/tcp/{port}")),
            rule: elbow_cloud::SecurityGroupRule {
                rule_id: format!("sgr-{port}"),
                group_id: "sg-nodes".into(),
                rule: IngressRule {
                    source: RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-backend".into())),
                    // EC2 reports a description someone added; the permission is the same.
                    description: Some("edited".into()),
                    ..rule(port).rule
                },
                tags: Tags::new(),
            },
        };
        let mut desired = Stack::empty(StackId::new("default/web"));
        desired.node_security_group_rules = vec![rule(31000), rule(31001)];
        let actual = ActualStack { node_rules: vec![actual_rule(31000), actual_rule(32000)], ..ActualStack::default() };
        let plan = plan(&desired, &actual, &ctx);
        assert_eq!(kinds(&plan), ["ClaimNodeRules", "ReleaseNodeRules"]);
        let Step::ClaimNodeRules { group_id, rules } = &plan.steps[0] else { panic!("{:?}", plan.steps) };
        assert_eq!(group_id, "sg-nodes");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].rule.from_port, 31001);
        assert_eq!(
            rules[0].rule.source,
            RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-backend".into())),
            "the backend group is named by id"
        );
        assert_eq!(rules[0].tags.get(RESOURCE_TAG).map(String::as_str), Some("NodeRule/sg-nodes/tcp/31001"));
        assert_eq!(
            claimants(&rules[0].tags, "c").map(|c| c.into_iter().collect::<Vec<_>>()),
            Some(vec![desired.id.clone()])
        );
        assert!(rules[0].tags.contains_key(&claim_key(&desired.id)));
        assert_eq!(
            plan.steps[1],
            Step::ReleaseNodeRules { group_id: "sg-nodes".into(), rule_ids: vec!["sgr-32000".into()] }
        );
    }
}
