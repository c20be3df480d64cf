//! The range step: makes every node group Elbow knows hold, per ip protocol, exactly one rule of
//! Elbow's from the backend group spanning the ports the cluster's stacks need there (or none
//! when none are needed). The reasons, and why each order of calls is safe, are in the module
//! documentation of `node_groups`.

use std::collections::{BTreeMap, BTreeSet};

use elbow_cloud::{Cloud, CloudErrorKind, CloudResult, NewIngressRule, SecurityGroupRule};
use elbow_model::tags::ownership_tags;
use elbow_model::{IngressRule, Ownership, ResourceId, RuleSource, SecurityGroupRef, StackId, Tags};
use tracing::info;

use super::record::{self, NodePorts, Span};
use super::{GroupView, NodeRules};
use crate::shared::SHARED_STACK;

/// The `elbow.dev/resource` of a range rule starts so: `NodePortRange/<group>/<protocol>`.
const RANGE_RESOURCE_PREFIX: &str = "NodePortRange/";

/// Whether a rule with these tags is one of `cluster`'s range rules (rather than an earlier
/// version's per-port rule, or anyone else's).
pub(crate) fn is_range_rule(tags: &Tags, cluster: &str) -> bool {
    Ownership::from_tags(tags).is_some_and(|o| {
        o.cluster == cluster
            && o.stack.as_str() == SHARED_STACK
            && o.resource.as_str().starts_with(RANGE_RESOURCE_PREFIX)
    })
}

fn range_tags(cluster: &str, group_id: &str, protocol: &str) -> Tags {
    let resource = ResourceId::new(format!("{RANGE_RESOURCE_PREFIX}{group_id}/{protocol}"));
    ownership_tags(cluster, &StackId::new(SHARED_STACK), &resource)
}

/// Whether `rule` grants exactly `span` of `protocol` to the backend group: what EC2 would call a
/// duplicate of the range rule.
fn grants(rule: &SecurityGroupRule, protocol: &str, span: Span, backend: &str) -> bool {
    rule.rule.ip_protocol == protocol
        && rule.rule.from_port == span.from
        && rule.rule.to_port == span.to
        && from_backend(rule, backend)
}

fn from_backend(rule: &SecurityGroupRule, backend: &str) -> bool {
    rule.rule.source == RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend.to_string()))
}

fn span_of(rule: &SecurityGroupRule) -> Span {
    Span { from: rule.rule.from_port, to: rule.rule.to_port }
}

/// `span`, widened one port at a time while another rule already grants it exactly (an earlier
/// version's rule for that one port, or someone else's): EC2 refuses a duplicate, and Elbow keeps
/// a rule of its own rather than rely on one it does not control.
fn pad(mut span: Span, taken: impl Fn(Span) -> bool) -> Span {
    while taken(span) {
        if span.to < u16::MAX {
            span.to += 1;
        } else if span.from > 0 {
            span.from -= 1;
        } else {
            break;
        }
    }
    span
}

/// What a range step changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Spanned {
    pub(crate) authorized: usize,
    pub(crate) revoked: usize,
}

impl NodeRules<'_> {
    /// Records that the stack now needs `own` (empty: nothing), and brings every node group Elbow
    /// knows to the rules the cluster's needs call for.
    pub(crate) async fn span(&self, cloud: &dyn Cloud, own: &NodePorts) -> CloudResult<Spanned> {
        self.groups.set_need(self.stack, own);
        let groups: Vec<String> = self.groups.lock_needs().groups.iter().cloned().collect();
        let mut step = Step { own, fresh_read: false, done: Spanned::default() };
        for group_id in groups {
            let view = self.groups.view(&group_id);
            let mut view = view.lock().await;
            let epoch = self.groups.epoch();
            let result = self.span_group(&mut view, cloud, &group_id, epoch, &mut step).await;
            if result.is_err() {
                view.read = None;
            }
            result?;
        }
        if step.done != Spanned::default() {
            info!(stack = %self.stack, authorized = step.done.authorized, revoked = step.done.revoked, "changed node port ranges");
        }
        Ok(step.done)
    }

    /// The hull of every stack's need in the group, per protocol, the stack's own as `own`.
    fn needs_in(&self, group_id: &str, own: &NodePorts) -> BTreeMap<String, Span> {
        let needs = self.groups.lock_needs();
        let mut spans: BTreeMap<String, Span> = BTreeMap::new();
        let others = needs.by_stack.iter().filter(|(stack, _)| *stack != self.stack).map(|(_, ports)| ports);
        for ports in others.chain(std::iter::once(own)) {
            for (key, span) in ports.iter().filter(|(key, _)| key.group_id == group_id) {
                spans.entry(key.protocol.clone()).and_modify(|s| *s = s.hull(*span)).or_insert(*span);
            }
        }
        spans
    }

    async fn span_group(
        &self,
        view: &mut GroupView,
        cloud: &dyn Cloud,
        group_id: &str,
        epoch: u64,
        step: &mut Step<'_>,
    ) -> CloudResult<()> {
        // Without the backend group no range can be granted, and the rules that name an older
        // one are left for a deploy that knows the current one.
        let Some(backend) = self.backend_group else { return Ok(()) };
        let mut read_again = false;
        'decide: loop {
            let needs = self.needs_in(group_id, step.own);
            let rules = view.rules(cloud, group_id, epoch).await?;
            let mut protocols: BTreeSet<String> = needs.keys().cloned().collect();
            protocols.extend(
                rules.iter().filter(|r| is_range_rule(&r.tags, self.cluster)).map(|r| r.rule.ip_protocol.clone()),
            );
            for protocol in protocols {
                let current: Vec<SecurityGroupRule> = rules
                    .iter()
                    .filter(|r| is_range_rule(&r.tags, self.cluster) && r.rule.ip_protocol == protocol)
                    .cloned()
                    .collect();
                let target = needs.get(&protocol).map(|span| {
                    pad(*span, |s| {
                        rules.iter().any(|r| {
                            !current.iter().any(|c| c.rule_id == r.rule_id) && grants(r, &protocol, s, backend)
                        })
                    })
                });
                let kept = target.and_then(|t| current.iter().find(|r| grants(r, &protocol, t, backend)));
                if kept.is_some() && current.len() == 1 {
                    continue;
                }
                let narrowing =
                    current.iter().any(|r| !(from_backend(r, backend) && target.is_some_and(|t| t.covers(span_of(r)))));
                if narrowing && !step.fresh_read {
                    // Narrowing decides from every load balancer's record as it is now, not from
                    // what this process has seen.
                    step.fresh_read = true;
                    let fresh = record::read_all(cloud, self.cluster).await?;
                    self.groups.replace_needs(fresh);
                    continue 'decide;
                }
                let mut kept_id = kept.map(|r| r.rule_id.clone());
                if let (Some(span), None) = (target, &kept_id) {
                    let new = NewIngressRule {
                        rule: IngressRule {
                            ip_protocol: protocol.clone(),
                            from_port: span.from,
                            to_port: span.to,
                            source: RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend.to_string())),
                            description: None,
                        },
                        tags: range_tags(self.cluster, group_id, &protocol),
                    };
                    match cloud.authorize_security_group_ingress(group_id, std::slice::from_ref(&new)).await {
                        Ok(created) => {
                            step.done.authorized += created.len();
                            kept_id = created.first().map(|r| r.rule_id.clone());
                            rules.extend(created);
                        }
                        // The copy missed a rule granting it (added since it was read, or by a
                        // request whose answer was lost): read the group and decide again, once.
                        Err(error) if error.kind == CloudErrorKind::Duplicate && !read_again => {
                            read_again = true;
                            view.read = None;
                            continue 'decide;
                        }
                        Err(error) => return Err(error),
                    }
                }
                let revoke: Vec<String> =
                    current.iter().map(|r| r.rule_id.clone()).filter(|id| Some(id) != kept_id.as_ref()).collect();
                if !revoke.is_empty() {
                    match cloud.revoke_security_group_ingress(group_id, &revoke).await {
                        Ok(()) => {
                            step.done.revoked += revoke.len();
                            rules.retain(|r| !revoke.contains(&r.rule_id));
                        }
                        // One of them is gone already (revoked by hand, or by another process).
                        Err(error) if error.is_not_found() && !read_again => {
                            read_again = true;
                            view.read = None;
                            continue 'decide;
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
            return Ok(());
        }
    }
}

/// One range step across the groups: the stack's need, whether the records have been read
/// afresh (once per step is enough), and what it changed.
struct Step<'a> {
    own: &'a NodePorts,
    fresh_read: bool,
    done: Spanned,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_another_rule_grants_exactly_is_widened_until_it_is_distinct() {
        let taken = [Span { from: 31000, to: 31000 }, Span { from: 31000, to: 31001 }];
        assert_eq!(pad(Span { from: 31000, to: 31000 }, |s| taken.contains(&s)), Span { from: 31000, to: 31002 });
        assert_eq!(pad(Span { from: 30000, to: 31000 }, |s| taken.contains(&s)), Span { from: 30000, to: 31000 });
        let top = Span { from: 65535, to: 65535 };
        assert_eq!(pad(top, |s| s == top), Span { from: 65534, to: 65535 });
    }

    #[test]
    fn range_rules_are_told_by_their_resource_id_and_cluster() {
        let tags = range_tags("prod", "sg-nodes", "tcp");
        assert!(is_range_rule(&tags, "prod"));
        assert!(!is_range_rule(&tags, "staging"), "another cluster's");
        let per_port =
            ownership_tags("prod", &StackId::new(SHARED_STACK), &ResourceId::new("NodeRule/sg-nodes/tcp/31000"));
        assert!(!is_range_rule(&per_port, "prod"), "an earlier version's per-port rule");
        let owned =
            ownership_tags("prod", &StackId::new("default/web"), &ResourceId::new("NodePortRange/sg-nodes/tcp"));
        assert!(!is_range_rule(&owned, "prod"), "a range belongs to the cluster, not to a stack");
    }
}
