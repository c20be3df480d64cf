//! What a deploy changed, counted by what was done to which kind of resource: the summary a
//! reconcile logs at info level and puts in its event ("created 1 load balancer, 2 listeners;
//! registered 3 targets"). A step count says that something happened; this says what.

use std::collections::BTreeMap;
use std::fmt;

use crate::plan::Step;

/// What a step did, in the order the summary lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    Created,
    /// A load balancer created in place of one deleted in the same deploy (a changed scheme, name,
    /// type or fixed addresses): said once, rather than as a creation and a deletion.
    Replaced,
    Modified,
    Deleted,
    Registered,
    Deregistered,
    /// A claim on a node security-group rule (the rule itself is made when none grants it).
    Claimed,
    /// A claim given up (the rule goes with its last claim).
    Released,
    Retagged,
}

impl Verb {
    fn word(self) -> &'static str {
        match self {
            Verb::Created => "created",
            Verb::Replaced => "replaced",
            Verb::Modified => "modified",
            Verb::Deleted => "deleted",
            Verb::Registered => "registered",
            Verb::Deregistered => "deregistered",
            Verb::Claimed => "claimed",
            Verb::Released => "released",
            Verb::Retagged => "retagged",
        }
    }
}

/// The kind of resource a step touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    LoadBalancer,
    Listener,
    ListenerCertificate,
    Rule,
    TargetGroup,
    Target,
    SecurityGroup,
    SecurityGroupRule,
    NodeRule,
    /// A load balancer's WAFv2 or WAF Classic web ACL association.
    WebAclAssociation,
    /// A load balancer's Shield Advanced protection.
    ShieldProtection,
    /// A load balancer's minimum capacity reservation.
    CapacityReservation,
    /// Any resource whose tags changed (a load balancer, a target group or a security group).
    Resource,
}

impl Kind {
    fn noun(self, count: usize) -> &'static str {
        let (one, many) = match self {
            Kind::LoadBalancer => ("load balancer", "load balancers"),
            Kind::Listener => ("listener", "listeners"),
            Kind::ListenerCertificate => ("listener certificate", "listener certificates"),
            Kind::Rule => ("rule", "rules"),
            Kind::TargetGroup => ("target group", "target groups"),
            Kind::Target => ("target", "targets"),
            Kind::SecurityGroup => ("security group", "security groups"),
            Kind::SecurityGroupRule => ("security group rule", "security group rules"),
            Kind::NodeRule => ("node rule", "node rules"),
            Kind::WebAclAssociation => ("web ACL association", "web ACL associations"),
            Kind::ShieldProtection => ("Shield protection", "Shield protections"),
            Kind::CapacityReservation => ("capacity reservation", "capacity reservations"),
            Kind::Resource => ("resource", "resources"),
        };
        if count == 1 { one } else { many }
    }
}

/// Counts per (verb, kind); empty when nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes(BTreeMap<(Verb, Kind), usize>);

impl Changes {
    /// Counts one step's effect (see [`effect`]), once the step has been applied.
    pub(crate) fn add(&mut self, (verb, kind, count): Effect) {
        if count > 0 {
            *self.0.entry((verb, kind)).or_default() += count;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every count of `other`.
    pub(crate) fn extend(&mut self, other: Changes) {
        for ((verb, kind), count) in other.0 {
            self.add((verb, kind, count));
        }
    }

    /// How many resources of `kind` had `verb` done to them.
    pub fn count(&self, verb: Verb, kind: Kind) -> usize {
        self.0.get(&(verb, kind)).copied().unwrap_or(0)
    }
}

/// "created 1 load balancer, 1 listener; registered 2 targets", or "no change". A load balancer
/// both created and deleted is "replaced".
impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no change");
        }
        let mut counts = self.0.clone();
        let replaced = self.count(Verb::Created, Kind::LoadBalancer).min(self.count(Verb::Deleted, Kind::LoadBalancer));
        if replaced > 0 {
            for verb in [Verb::Created, Verb::Deleted] {
                let left = self.count(verb, Kind::LoadBalancer) - replaced;
                match left {
                    0 => counts.remove(&(verb, Kind::LoadBalancer)),
                    _ => counts.insert((verb, Kind::LoadBalancer), left),
                };
            }
            counts.insert((Verb::Replaced, Kind::LoadBalancer), replaced);
        }
        let mut current: Option<Verb> = None;
        for (&(verb, kind), &count) in &counts {
            match current {
                Some(previous) if previous == verb => f.write_str(", ")?,
                Some(_) => write!(f, "; {} ", verb.word())?,
                None => write!(f, "{} ", verb.word())?,
            }
            current = Some(verb);
            write!(f, "{count} {}", kind.noun(count))?;
        }
        Ok(())
    }
}

/// What one step does: a verb, a kind and how many resources of that kind.
pub(crate) type Effect = (Verb, Kind, usize);

pub(crate) fn effect(step: &Step) -> Effect {
    match step {
        Step::CreateSecurityGroup { .. } => (Verb::Created, Kind::SecurityGroup, 1),
        Step::AuthorizeIngress { rules, .. } => (Verb::Created, Kind::SecurityGroupRule, rules.len()),
        Step::RevokeIngress { rule_ids, .. } => (Verb::Deleted, Kind::SecurityGroupRule, rule_ids.len()),
        Step::ClaimNodeRules { rules, .. } => (Verb::Claimed, Kind::NodeRule, rules.len()),
        Step::ReleaseNodeRules { rule_ids, .. } => (Verb::Released, Kind::NodeRule, rule_ids.len()),
        // Counted by what the step did (rules authorized and revoked), not planned.
        Step::SpanNodePorts { .. } => (Verb::Modified, Kind::NodeRule, 0),
        Step::CreateTargetGroup { .. } => (Verb::Created, Kind::TargetGroup, 1),
        Step::ModifyTargetGroup { .. } | Step::ModifyTargetGroupAttributes { .. } => {
            (Verb::Modified, Kind::TargetGroup, 1)
        }
        Step::RegisterTargets { targets, .. } => (Verb::Registered, Kind::Target, targets.len()),
        Step::DeregisterTargets { targets, .. } => (Verb::Deregistered, Kind::Target, targets.len()),
        Step::CreateLoadBalancer { .. } => (Verb::Created, Kind::LoadBalancer, 1),
        Step::SetSubnets { .. }
        | Step::SetSecurityGroups { .. }
        | Step::SetIpAddressType { .. }
        | Step::ModifyLoadBalancerAttributes { .. } => (Verb::Modified, Kind::LoadBalancer, 1),
        Step::CreateListener { .. } => (Verb::Created, Kind::Listener, 1),
        Step::ModifyListener { .. } | Step::ModifyListenerAttributes { .. } => (Verb::Modified, Kind::Listener, 1),
        Step::DeleteListener { .. } => (Verb::Deleted, Kind::Listener, 1),
        Step::AddListenerCertificates { certificates, .. } => {
            (Verb::Created, Kind::ListenerCertificate, certificates.len())
        }
        Step::RemoveListenerCertificates { certificates, .. } => {
            (Verb::Deleted, Kind::ListenerCertificate, certificates.len())
        }
        Step::CreateRule { .. } => (Verb::Created, Kind::Rule, 1),
        Step::ModifyRule { .. } => (Verb::Modified, Kind::Rule, 1),
        Step::DeleteRule { .. } => (Verb::Deleted, Kind::Rule, 1),
        Step::AddTags { .. } | Step::CreateTags { .. } | Step::RemoveTags { .. } | Step::DeleteTags { .. } => {
            (Verb::Retagged, Kind::Resource, 1)
        }
        Step::DeleteLoadBalancer { .. } => (Verb::Deleted, Kind::LoadBalancer, 1),
        Step::DeleteTargetGroup { .. } => (Verb::Deleted, Kind::TargetGroup, 1),
        Step::DeleteSecurityGroup { .. } => (Verb::Deleted, Kind::SecurityGroup, 1),
    }
}

#[cfg(test)]
mod tests {
    use elbow_model::{ResourceId, Target};

    use super::*;

    fn register(n: usize) -> Step {
        let targets = (0..n).map(|i| Target::new(format!("i-{i}"), 30080)).collect();
        Step::RegisterTargets { resource_id: ResourceId::new("tg"), targets }
    }

    #[test]
    fn a_summary_groups_counts_by_verb_in_a_fixed_order() {
        let mut changes = Changes::default();
        for step in [
            register(2),
            Step::DeleteListener { load_balancer: ResourceId::new("lb"), arn: "arn:l/1".into() },
            Step::RevokeIngress { group_id: "sg-1".into(), rule_ids: vec!["sgr-1".into(), "sgr-2".into()] },
            Step::DeleteTargetGroup { arn: "arn:tg/1".into() },
            Step::ReleaseNodeRules { group_id: "sg-2".into(), rule_ids: vec!["sgr-3".into()] },
            register(1),
        ] {
            changes.add(effect(&step));
        }
        assert_eq!(
            changes.to_string(),
            "deleted 1 listener, 1 target group, 2 security group rules; registered 3 targets; released 1 node rule"
        );
        assert_eq!(changes.count(Verb::Registered, Kind::Target), 3);
    }

    #[test]
    fn a_load_balancer_created_and_deleted_in_one_deploy_is_said_to_be_replaced() {
        let mut changes = Changes::default();
        for step in [
            Step::DeleteLoadBalancer { arn: "arn:lb/old".into() },
            Step::DeleteListener { load_balancer: ResourceId::new("lb"), arn: "arn:l/1".into() },
            register(1),
        ] {
            changes.add(effect(&step));
        }
        changes.add((Verb::Created, Kind::LoadBalancer, 1));
        changes.add((Verb::Created, Kind::Listener, 1));
        assert_eq!(
            changes.to_string(),
            "created 1 listener; replaced 1 load balancer; deleted 1 listener; registered 1 target"
        );
        assert_eq!(changes.count(Verb::Created, Kind::LoadBalancer), 1, "the counts stay as they were");
        let mut gone = Changes::default();
        gone.add(effect(&Step::DeleteLoadBalancer { arn: "arn:lb/old".into() }));
        assert_eq!(gone.to_string(), "deleted 1 load balancer");
    }

    #[test]
    fn steps_that_touch_nothing_are_not_counted() {
        let mut changes = Changes::default();
        changes.add(effect(&register(0)));
        assert!(changes.is_empty());
        assert_eq!(changes.to_string(), "no change");
    }
}
