//! Per-permission node rules, shared between stacks through claims: the rules earlier versions
//! made for each port (which stacks deployed by this version give up once their range covers
//! them), and any node rule whose source is not the backend group.
//!
//! A stack holds a claim on such a rule, a tag `elbow.dev/claim/<hash of the stack id>` =
//! `<stack id>` on the rule itself (`CLAIM_TAG_PREFIX`); the rule's stack tag is `_shared`. A
//! stack
//!
//! - that needs a permission no rule grants authorizes the rule with its claim among the tags;
//! - that needs a rule of Elbow's that exists adds its claim (one CreateTags for all such rules);
//! - that no longer needs a rule drops its claim (one DeleteTags), or revokes the rule when its
//!   claim is the last one.
//!
//! A release always reads the group's rules first: whether a claim is the last must not rest on a
//! copy that something else (another process, a hand) may have outdated. A claim decides from the
//! copy kept since the group was last read; EC2 itself refuses what an outdated copy gets wrong
//! (a duplicate rule, a tag on a rule that is gone), and the claim then reads the group and
//! decides again.
//!
//! Crash safety: each change is one call, complete on its own. A rule is created with its claim,
//! never without one; only the stack holding the last claim revokes. A crash between two calls
//! leaves every rule claimed by each stack that claimed it. A rule of ours found without a claim
//! (its tags edited by hand) is revoked by the next release in its group. Range rules are not
//! claimed and never counted here.
//!
//! Earlier versions still tagged a per-port rule with one stack's ownership tags and no claim;
//! that stack tag counts as that stack's claim. When the old owner lets go while others hold on,
//! it re-tags the rule `_shared`; when it lets go last, it revokes.
//!
//! A limit of this scheme, and why ranges do not use it: EC2 allows 50 tags on a rule, three of
//! them ownership tags, so 47 stacks can share one.

use std::collections::BTreeSet;

use elbow_cloud::{Cloud, CloudErrorKind, CloudResult, NewIngressRule, SecurityGroupRule};
use elbow_model::tags::{CLAIM_TAG_PREFIX, RESOURCE_TAG, STACK_TAG, ownership_tags};
use elbow_model::{IngressRule, Ownership, ResourceId, StackId, Tags};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::ranges::is_range_rule;
use super::{GroupView, NodeRules};
use crate::actual::ActualNodeRule;
use crate::shared::SHARED_STACK;

/// The claim tag key of a stack. A hash, because a tag key has at most 128 characters and a
/// stack id may have more; the value is the stack id itself.
pub(crate) fn claim_key(stack: &StackId) -> String {
    let hash = hex::encode(Sha256::digest(stack.as_str().as_bytes()));
    format!("{CLAIM_TAG_PREFIX}{}", &hash[..20])
}

/// The tags of a node rule Elbow authorizes: the cluster's ownership (stack `_shared`) and the
/// claim of the stack that needs it first.
pub(crate) fn new_rule_tags(cluster: &str, stack: &StackId, resource: &ResourceId) -> Tags {
    let mut tags = ownership_tags(cluster, &StackId::new(SHARED_STACK), resource);
    tags.insert(claim_key(stack), stack.as_str().to_string());
    tags
}

/// The stacks claiming a rule of `cluster`'s; `None` for a rule that is not Elbow's (someone
/// else's, or another cluster's), which Elbow never changes, and for a range rule, which nobody
/// claims (`ranges.rs` keeps it).
pub(crate) fn claimants(tags: &Tags, cluster: &str) -> Option<BTreeSet<StackId>> {
    if is_range_rule(tags, cluster) {
        return None;
    }
    let owner = Ownership::from_tags(tags).filter(|o| o.cluster == cluster)?;
    let mut claims = BTreeSet::new();
    if owner.stack.as_str() != SHARED_STACK {
        // A rule of an earlier version: its one owner.
        claims.insert(owner.stack);
    }
    for (key, value) in tags.range(CLAIM_TAG_PREFIX.to_string()..) {
        if !key.starts_with(CLAIM_TAG_PREFIX) {
            break;
        }
        let stack = StackId::new(value.clone());
        // A claim whose key does not match its value was not written by Elbow.
        if *key == claim_key(&stack) {
            claims.insert(stack);
        }
    }
    Some(claims)
}

/// Whether two rules admit the same traffic: what EC2 calls a duplicate, whatever the
/// descriptions say.
pub(crate) fn same_permission(a: &IngressRule, b: &IngressRule) -> bool {
    a.ip_protocol == b.ip_protocol && a.from_port == b.from_port && a.to_port == b.to_port && a.source == b.source
}

fn node_rule(rule: &SecurityGroupRule) -> ActualNodeRule {
    ActualNodeRule {
        resource_id: ResourceId::new(rule.tags.get(RESOURCE_TAG).cloned().unwrap_or_default()),
        rule: rule.clone(),
    }
}

/// What a claim step found and did.
pub(crate) struct Claimed {
    /// The stack's claims on the rules asked for, new or found.
    pub(crate) rules: Vec<ActualNodeRule>,
    /// Permissions granted by a rule that is not Elbow's: satisfied, never claimed or revoked.
    pub(crate) satisfied: Vec<IngressRule>,
}

impl NodeRules<'_> {
    /// Makes sure the stack holds a claim on a rule of ours for each of `wanted` in the group, or
    /// that a rule not of ours grants it.
    pub(crate) async fn claim(
        &self,
        cloud: &dyn Cloud,
        group_id: &str,
        wanted: &[NewIngressRule],
    ) -> CloudResult<Claimed> {
        let view = self.groups.view(group_id);
        let mut view = view.lock().await;
        let epoch = self.groups.epoch();
        let result = self.claim_locked(&mut view, cloud, group_id, wanted, epoch).await;
        if result.is_err() {
            view.read = None;
        }
        result
    }

    async fn claim_locked(
        &self,
        view: &mut GroupView,
        cloud: &dyn Cloud,
        group_id: &str,
        wanted: &[NewIngressRule],
        epoch: u64,
    ) -> CloudResult<Claimed> {
        let mut read_again = false;
        loop {
            let rules = view.rules(cloud, group_id, epoch).await?;
            let mut claimed = Vec::new();
            let mut join = Vec::new();
            let mut create = Vec::new();
            let mut satisfied = Vec::new();
            for new in wanted {
                // EC2 holds a permission once: at most one rule of the group grants it.
                let Some(rule) = rules.iter().find(|r| same_permission(&r.rule, &new.rule)) else {
                    create.push(new.clone());
                    continue;
                };
                match claimants(&rule.tags, self.cluster) {
                    Some(claims) if claims.contains(self.stack) => claimed.push(node_rule(rule)),
                    Some(_) => join.push(rule.rule_id.clone()),
                    None => {
                        warn!(group_id, rule = ?new.rule, "a rule that is not Elbow's already grants this; leaving it as it is");
                        satisfied.push(new.rule.clone());
                    }
                }
            }
            if !create.is_empty() {
                match cloud.authorize_security_group_ingress(group_id, &create).await {
                    Ok(created) => {
                        claimed.extend(created.iter().map(node_rule));
                        rules.extend(created);
                    }
                    // The copy missed a rule added since it was read (or by a request whose
                    // answer was lost): read the group and decide again, once.
                    Err(error) if error.kind == CloudErrorKind::Duplicate && !read_again => {
                        read_again = true;
                        view.read = None;
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            }
            if !join.is_empty() {
                let claim = Tags::from([(claim_key(self.stack), self.stack.as_str().to_string())]);
                match cloud.create_tags(&join, &claim).await {
                    Ok(()) => {}
                    // A rule of the copy is gone (revoked by hand, or by another process).
                    Err(error) if error.is_not_found() && !read_again => {
                        read_again = true;
                        view.read = None;
                        continue;
                    }
                    Err(error) => return Err(error),
                }
                for rule in rules.iter_mut().filter(|r| join.contains(&r.rule_id)) {
                    rule.tags.extend(claim.clone());
                    claimed.push(node_rule(rule));
                }
            }
            return Ok(Claimed { rules: claimed, satisfied });
        }
    }

    /// Drops the stack's claims on the rules `rule_ids` of the group, revoking each rule no
    /// other stack claims; revokes as well any rule of ours in the group that has no claim left.
    pub(crate) async fn release(&self, cloud: &dyn Cloud, group_id: &str, rule_ids: &[String]) -> CloudResult<()> {
        let view = self.groups.view(group_id);
        let mut view = view.lock().await;
        let epoch = self.groups.epoch();
        // Read afresh: that a claim is the last (or that others remain) must not rest on a copy.
        view.read = None;
        let result = self.release_locked(&mut view, cloud, group_id, rule_ids, epoch).await;
        if result.is_err() {
            view.read = None;
        }
        result
    }

    async fn release_locked(
        &self,
        view: &mut GroupView,
        cloud: &dyn Cloud,
        group_id: &str,
        rule_ids: &[String],
        epoch: u64,
    ) -> CloudResult<()> {
        let key = claim_key(self.stack);
        let mut read_again = false;
        loop {
            let rules = view.rules(cloud, group_id, epoch).await?;
            let mut revoke = Vec::new();
            let mut unclaim = Vec::new();
            let mut disown = Vec::new();
            for rule in rules.iter() {
                let Some(mut claims) = claimants(&rule.tags, self.cluster) else { continue };
                let releasing = rule_ids.contains(&rule.rule_id);
                if releasing {
                    claims.remove(self.stack);
                }
                if claims.is_empty() {
                    if !releasing {
                        warn!(group_id, rule_id = %rule.rule_id, "revoking a rule of ours that no stack claims");
                    }
                    revoke.push(rule.rule_id.clone());
                } else if releasing {
                    if rule.tags.contains_key(&key) {
                        unclaim.push(rule.rule_id.clone());
                    }
                    if rule.tags.get(STACK_TAG).map(String::as_str) == Some(self.stack.as_str()) {
                        disown.push(rule.rule_id.clone());
                    }
                }
            }
            if !revoke.is_empty() {
                match cloud.revoke_security_group_ingress(group_id, &revoke).await {
                    Ok(()) => rules.retain(|r| !revoke.contains(&r.rule_id)),
                    // A rule of the copy is gone (revoked by hand): read the group and decide again.
                    Err(error) if error.is_not_found() && !read_again => {
                        read_again = true;
                        view.read = None;
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            }
            if !unclaim.is_empty() {
                cloud.delete_tags(&unclaim, std::slice::from_ref(&key)).await?;
                for rule in rules.iter_mut().filter(|r| unclaim.contains(&r.rule_id)) {
                    rule.tags.remove(&key);
                }
            }
            if !disown.is_empty() {
                // An earlier version's rule that other stacks claim now: it becomes theirs.
                let shared = Tags::from([(STACK_TAG.to_string(), SHARED_STACK.to_string())]);
                cloud.create_tags(&disown, &shared).await?;
                for rule in rules.iter_mut().filter(|r| disown.contains(&r.rule_id)) {
                    rule.tags.extend(shared.clone());
                }
            }
            if !revoke.is_empty() || !unclaim.is_empty() || !disown.is_empty() {
                info!(group_id, stack = %self.stack, revoked = revoke.len(), kept_for_others = unclaim.len() + disown.len(), "released node rules");
            }
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use elbow_model::tags::{CLUSTER_TAG, RESOURCE_TAG, STACK_TAG};

    use super::*;

    #[test]
    fn a_claim_key_fits_ec2s_limit_whatever_the_stack_and_differs_between_stacks() {
        let long = StackId::new(format!("{}/{}", "n".repeat(63), "s".repeat(253)));
        assert!(claim_key(&long).len() <= 128, "EC2's limit on tag keys");
        assert_ne!(claim_key(&StackId::new("default/web")), claim_key(&StackId::new("default/api")));
        assert_eq!(claim_key(&StackId::new("default/web")), claim_key(&StackId::new("default/web")));
    }

    #[test]
    fn a_rule_is_claimed_by_its_claim_tags_and_by_an_earlier_versions_owner() {
        let (web, api) = (StackId::new("default/web"), StackId::new("ingress/api"));
        let resource = ResourceId::new("NodeRule/sg-nodes/tcp/31000");
        let mut tags = new_rule_tags("prod", &web, &resource);
        assert_eq!(claimants(&tags, "prod"), Some(BTreeSet::from([web.clone()])));
        tags.insert(claim_key(&api), api.as_str().into());
        assert_eq!(claimants(&tags, "prod"), Some(BTreeSet::from([web.clone(), api.clone()])));

        let legacy = ownership_tags("prod", &api, &resource);
        assert_eq!(claimants(&legacy, "prod"), Some(BTreeSet::from([api.clone()])), "the single owner");

        assert_eq!(claimants(&tags, "staging"), None, "another cluster's rule");
        let mut forged = ownership_tags("prod", &StackId::new(SHARED_STACK), &resource);
        forged.insert(format!("{CLAIM_TAG_PREFIX}0123"), web.as_str().into());
        assert_eq!(claimants(&forged, "prod"), Some(BTreeSet::new()), "a claim key that is not the stack's");
        let untagged = Tags::from([(CLUSTER_TAG.to_string(), "prod".to_string())]);
        assert_eq!(claimants(&untagged, "prod"), None, "without every ownership tag a rule is not Elbow's");
        assert_eq!(tags.get(STACK_TAG).map(String::as_str), Some(SHARED_STACK), "a new rule is the cluster's");
        assert_eq!(tags.get(RESOURCE_TAG), Some(&resource.as_str().to_string()));
    }
}
