//! The one tag diff every kind of resource goes through. Elbow adds the tags it asks for and
//! removes only the keys an earlier deploy of the stack set and this one no longer asks for: other
//! tools (cost allocation, AWS itself) tag the same resources, and their tags are not Elbow's to
//! remove. Ownership tags are never removed, because they are how the next deploy finds the
//! resource.

use std::collections::BTreeMap;

use elbow_cloud::Arn;
use elbow_model::tags::{CLUSTER_TAG, RESOURCE_TAG, STACK_TAG};
use elbow_model::{ResourceId, Stack, Tags};

use super::{Planner, Step, changed_entries};
use crate::node_groups::record::is_record_key;

/// Where a resource's tags are set: ELBv2 (load balancers, target groups) and EC2 (security
/// groups) tag through different calls, naming the resource by ARN and by id.
#[derive(Clone, Copy)]
pub(super) enum TagApi<'a> {
    Elbv2(&'a Arn),
    Ec2(&'a str),
}

impl Planner<'_> {
    /// Brings the tags of a resource that exists to the desired ones: missing or differing tags are
    /// added first, then keys no longer wanted are removed.
    pub(super) fn retag(&mut self, resource_id: &ResourceId, api: TagApi<'_>, desired: &Tags, actual: &Tags) {
        let tags = changed_entries(desired, actual);
        if !tags.is_empty() {
            self.push(match api {
                TagApi::Elbv2(arn) => Step::AddTags { resource_id: resource_id.clone(), arn: arn.clone(), tags },
                TagApi::Ec2(id) => Step::CreateTags { resource_id: resource_id.clone(), id: id.to_string(), tags },
            });
        }
        let keys = self.dropped_tags(resource_id, desired, actual);
        if !keys.is_empty() {
            self.push(match api {
                TagApi::Elbv2(arn) => Step::RemoveTags { resource_id: resource_id.clone(), arn: arn.clone(), keys },
                TagApi::Ec2(id) => Step::DeleteTags { resource_id: resource_id.clone(), id: id.to_string(), keys },
            });
        }
    }

    /// Keys Elbow set on the resource earlier and no longer wants, that the resource still has.
    /// Keys it never set are someone else's and stay, but for the node-ports record: a part of it
    /// no longer desired goes whoever is thought to have set it, since a stale record would keep
    /// a node port range wider than needed (and this process may not have set it: a restart).
    fn dropped_tags(&self, resource: &ResourceId, desired: &Tags, actual: &Tags) -> Vec<String> {
        let previous = self.ctx.previous_tags.get(resource);
        let mut keys: Vec<String> = actual
            .keys()
            .filter(|key| !desired.contains_key(*key) && !is_ownership_tag(key))
            .filter(|key| is_record_key(key) || previous.is_some_and(|p| p.contains_key(*key)))
            .cloned()
            .collect();
        keys.sort();
        keys
    }
}

/// The ownership tags among `tags`: what marks the rules of a group Elbow owns.
pub(super) fn ownership_subset(tags: &Tags) -> Tags {
    tags.iter().filter(|(k, _)| is_ownership_tag(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn is_ownership_tag(key: &str) -> bool {
    [CLUSTER_TAG, STACK_TAG, RESOURCE_TAG].contains(&key)
}

/// The tags a stack asks for, by resource: what the next deploy's
/// [`PlanContext::previous_tags`](super::PlanContext::previous_tags) is made of.
pub fn desired_tags(stack: &Stack) -> BTreeMap<ResourceId, Tags> {
    let lbs = stack.load_balancers.iter().map(|lb| (lb.resource_id.clone(), lb.tags.clone()));
    let tgs = stack.target_groups.iter().map(|tg| (tg.resource_id.clone(), tg.tags.clone()));
    let sgs = stack.security_groups.iter().map(|sg| (sg.resource_id.clone(), sg.tags.clone()));
    lbs.chain(tgs).chain(sgs).collect()
}

#[cfg(test)]
mod tests {
    use elbow_model::*;

    use crate::plan::fixtures::*;
    use crate::plan::*;

    #[test]
    fn only_tags_set_by_an_earlier_deploy_are_removed() {
        let mut before = stack(Scheme::InternetFacing, 31000);
        before.load_balancers[0].tags.insert("team".into(), "a".into());
        let mut actual = applied(&before);
        actual.load_balancers[0].tags =
            Tags::from([("team".to_string(), "a".to_string()), ("billing".to_string(), "x".to_string())]);
        let after = stack(Scheme::InternetFacing, 31000);
        let lb = ResourceId::new("LoadBalancer");

        let forgetful = plan(&after, &actual, &ctx());
        assert_eq!(forgetful.steps, [], "without a record of what Elbow set, every tag is someone else's");

        let mut ctx = ctx();
        ctx.previous_tags.insert(lb.clone(), before.load_balancers[0].tags.clone());
        let plan = plan(&after, &actual, &ctx);
        let arn = actual.load_balancers[0].lb.arn.clone();
        assert_eq!(plan.steps, [Step::RemoveTags { resource_id: lb, arn, keys: vec!["team".into()] }]);
    }
}
