//! The security groups a stack owns and their ingress rules. They come first in a plan because the
//! load balancer and the node rules name them; a group no longer desired is deleted last, because
//! it is in use until the load balancer is gone. A group is matched by resource id, name and VPC;
//! rules are compared whole, and the ones that differ are authorized anew and revoked, never edited.

use std::collections::BTreeSet;

use elbow_model::IngressRule;

use super::tags::{TagApi, ownership_subset};
use super::{GroupRef, PlannedRule, Planner, Step};
use crate::actual::ActualSecurityGroup;

impl Planner<'_> {
    pub(super) fn security_groups(&mut self) {
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
                        });
                    }
                    if !extra.is_empty() {
                        self.push(Step::RevokeIngress { group_id: actual.group.id.clone(), rule_ids: extra });
                    }
                    self.retag(&desired.resource_id, TagApi::Ec2(&actual.group.id), &desired.tags, &actual.group.tags);
                }
                None => {
                    self.push(Step::CreateSecurityGroup { spec: desired.clone() });
                    if !wanted.is_empty() {
                        self.push(Step::AuthorizeIngress {
                            group: GroupRef::Managed(desired.resource_id.clone()),
                            rules: wanted,
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
}

#[cfg(test)]
mod tests {
    use elbow_model::*;

    use crate::actual::*;
    use crate::plan::fixtures::*;
    use crate::plan::*;

    #[test]
    fn a_rule_from_another_of_the_stacks_groups_compares_by_the_groups_id() {
        let group = |rid: &str, ingress: Vec<IngressRule>| SecurityGroupSpec {
            resource_id: ResourceId::new(rid),
            group_name: rid.replace('/', "-"),
            description: String::new(),
            vpc_id: "vpc-1".into(),
            ingress,
            tags: Tags::new(),
        };
        let from_a = IngressRule {
            ip_protocol: "tcp".into(),
            from_port: 80,
            to_port: 80,
            source: RuleSource::SecurityGroup(SecurityGroupRef::Managed(ResourceId::new("SecurityGroup/a"))),
            description: None,
        };
        let mut desired = Stack::empty(StackId::new("default/web"));
        // b names a as its source and comes first: a's id must be known before b's rules compare.
        desired.security_groups =
            vec![group("SecurityGroup/b", vec![from_a.clone()]), group("SecurityGroup/a", vec![])];
        let actual_group = |spec: &SecurityGroupSpec, id: &str, rules| ActualSecurityGroup {
            resource_id: spec.resource_id.clone(),
            group: elbow_cloud::SecurityGroup {
                id: id.into(),
                group_name: spec.group_name.clone(),
                description: String::new(),
                vpc_id: "vpc-1".into(),
                tags: Tags::new(),
            },
            rules,
        };
        let reported = elbow_cloud::SecurityGroupRule {
            rule_id: "sgr-1".into(),
            group_id: "sg-b".into(),
            rule: IngressRule {
                source: RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-a".into())),
                ..from_a
            },
            tags: Tags::new(),
        };
        let actual = ActualStack {
            security_groups: vec![
                actual_group(&desired.security_groups[0], "sg-b", vec![reported]),
                actual_group(&desired.security_groups[1], "sg-a", vec![]),
            ],
            ..ActualStack::default()
        };
        assert_eq!(plan(&desired, &actual, &ctx()).steps, []);
    }
}
