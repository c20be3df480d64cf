//! Target groups, their attributes and their targets. They are planned before the load balancer
//! because listeners forward to them, and deleted after it, because they are in use until it is
//! gone. Name, protocol, port, protocol version, target type and VPC cannot be changed in place: a target group that
//! differs in one of them is replaced (the new one is created, listeners move to it, the old one is
//! deleted); everything else is modified.

use std::collections::BTreeSet;

use elbow_model::{ProtocolVersion, TargetGroupSpec};

use super::tags::TagApi;
use super::{Planner, Step, changed_entries};
use crate::actual::ActualTargetGroup;
use crate::targets::TargetChanges;

impl Planner<'_> {
    pub(super) fn target_groups(&mut self) {
        // Foreign target groups are only forwarded to: bound, never planned. They carry no tag of
        // ours, so they are never among the actual groups either, and never deleted.
        for (resource_id, arn) in &self.ctx.foreign_target_groups {
            self.plan.bindings.insert(resource_id.clone(), arn.clone());
        }
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
                            grpc: desired.protocol_version == Some(ProtocolVersion::Grpc),
                        });
                    }
                    let attributes = changed_entries(&desired.attributes, &actual.attributes);
                    if !attributes.is_empty() {
                        self.push(Step::ModifyTargetGroupAttributes { resource_id: id.clone(), attributes });
                    }
                    let TargetChanges { register, deregister } =
                        TargetChanges::between(&desired.targets, &actual.targets);
                    if !register.is_empty() {
                        self.push(Step::RegisterTargets { resource_id: id.clone(), targets: register });
                    }
                    if !deregister.is_empty() {
                        self.push(Step::DeregisterTargets { resource_id: id.clone(), targets: deregister });
                    }
                    self.retag(id, TagApi::Elbv2(&actual.tg.arn), &desired.tags, &actual.tags);
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
}

/// The settings a target group cannot change in place.
fn same_immutable_tg(actual: &ActualTargetGroup, desired: &TargetGroupSpec) -> bool {
    actual.tg.name == desired.name
        && actual.tg.protocol == desired.protocol
        && actual.tg.port == desired.port
        && ProtocolVersion::effective(actual.tg.protocol, actual.tg.protocol_version)
            == ProtocolVersion::effective(desired.protocol, desired.protocol_version)
        && actual.tg.target_type == desired.target_type
        && actual.tg.vpc_id == desired.vpc_id
}

#[cfg(test)]
mod tests {
    use elbow_model::*;

    use crate::plan::fixtures::*;
    use crate::plan::*;

    #[test]
    fn a_target_group_port_change_creates_moves_then_deletes() {
        let before = stack(Scheme::InternetFacing, 31000);
        let plan = plan(&stack(Scheme::InternetFacing, 32000), &applied(&before), &ctx());
        assert_eq!(
            kinds(&plan),
            ["CreateTargetGroup", "RegisterTargets", "ModifyListener", "DeleteTargetGroup", "SpanNodePorts"]
        );
    }
}
