//! The ingress rules Elbow adds to node security groups, which belong to the cluster, not to the
//! stack: Elbow marks each rule it adds with its ownership tags and only ever revokes rules so
//! marked. Rules are authorized in one step per group, after the load balancer exists; revoking
//! waits for the deletions, once nothing that depended on them is left.

use std::collections::BTreeMap;

use elbow_model::tags::ownership_tags;

use super::{GroupRef, PlannedRule, Planner, Step};

impl Planner<'_> {
    pub(super) fn node_rules(&mut self) {
        let mut authorize: BTreeMap<String, Vec<PlannedRule>> = BTreeMap::new();
        let mut revoke: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for desired in &self.desired.node_security_group_rules {
            let rule = self.resolve_rule(&desired.rule);
            // A rule another party already grants was refused as a duplicate and counts as present.
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
}

#[cfg(test)]
mod tests {
    use elbow_model::*;

    use crate::actual::*;
    use crate::plan::fixtures::*;
    use crate::plan::*;

    #[test]
    fn node_rules_are_authorized_per_group_and_only_ours_are_revoked() {
        let rule = |port: u16| NodeSecurityGroupRule {
            resource_id: ResourceId::new(format!("NodeRule/{port}")),
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
            resource_id: ResourceId::new(format!("NodeRule/{port}")),
            rule: elbow_cloud::SecurityGroupRule {
                rule_id: format!("sgr-{port}"),
                group_id: "sg-nodes".into(),
                rule: IngressRule {
                    source: RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-backend".into())),
                    ..rule(port).rule
                },
                tags: Tags::new(),
            },
        };
        let mut desired = Stack::empty(StackId::new("default/web"));
        desired.node_security_group_rules = vec![rule(31000), rule(31001)];
        let actual = ActualStack { node_rules: vec![actual_rule(31000), actual_rule(32000)], ..ActualStack::default() };
        let plan = plan(&desired, &actual, &ctx);
        assert_eq!(kinds(&plan), ["AuthorizeIngress", "RevokeIngress"]);
        let Step::AuthorizeIngress { group, rules, node: true } = &plan.steps[0] else { panic!("{:?}", plan.steps) };
        assert_eq!(group, &GroupRef::Id("sg-nodes".into()));
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].rule.from_port, 31001);
        assert_eq!(
            rules[0].rule.source,
            RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-backend".into())),
            "the backend group is named by id"
        );
        assert_eq!(rules[0].tags.get(elbow_model::tags::RESOURCE_TAG).map(String::as_str), Some("NodeRule/31001"));
        assert_eq!(
            plan.steps[1],
            Step::RevokeIngress { group_id: "sg-nodes".into(), rule_ids: vec!["sgr-32000".into()], node: true }
        );
    }
}
