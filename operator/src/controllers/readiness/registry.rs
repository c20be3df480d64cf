//! The ip target groups Elbow has deployed, by name, with their ARNs: what a gate's target group
//! name is looked up in before its health is asked for. The Service and Ingress controllers
//! record each stack after every successful deploy (the deployer's index holds the ARNs, so this
//! costs no cloud call); a stack deployed empty (its owner deleted) or without a group it had is
//! how a target group's deletion is learnt, and the gates naming it are then let go.
//!
//! Only what this process deployed is known: after a restart a group is known again once its
//! stack has been reconciled (every one is, as the controllers start).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use elbow_cloud::Arn;
use elbow_model::StackId;

#[derive(Debug, Default)]
pub struct Registry {
    stacks: Mutex<HashMap<StackId, BTreeMap<String, Arn>>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StackId, BTreeMap<String, Arn>>> {
        self.stacks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `stack` now has exactly `groups` (name to ARN). Returns what changed: the names it no
    /// longer has (deleted), and whether it has one it did not have (or under another ARN).
    pub fn record(&self, stack: &StackId, groups: BTreeMap<String, Arn>) -> Recorded {
        let mut stacks = self.lock();
        let before = stacks.remove(stack).unwrap_or_default();
        let deleted = before.keys().filter(|name| !groups.contains_key(*name)).cloned().collect();
        let added = groups.iter().any(|(name, arn)| before.get(name) != Some(arn));
        if !groups.is_empty() {
            stacks.insert(stack.clone(), groups);
        }
        Recorded { deleted, added }
    }

    /// The ARN of the ip target group called `name`, when a deployed stack has it.
    pub fn arn_of(&self, name: &str) -> Option<Arn> {
        self.lock().values().find_map(|groups| groups.get(name).cloned())
    }
}

/// What [`Registry::record`] changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recorded {
    pub deleted: Vec<String>,
    pub added: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(pairs: &[(&str, &str)]) -> BTreeMap<String, Arn> {
        pairs.iter().map(|(n, a)| (n.to_string(), a.to_string())).collect()
    }

    #[test]
    fn a_stack_s_groups_are_known_until_it_is_deployed_without_them() {
        let registry = Registry::new();
        let web = StackId::new("shop/web");
        let api = StackId::new("shop/api");
        let recorded = registry.record(&web, groups(&[("k8s-shop-web-a", "arn:a"), ("k8s-shop-web-b", "arn:b")]));
        assert_eq!(recorded, Recorded { deleted: vec![], added: true });
        registry.record(&api, groups(&[("k8s-shop-api-c", "arn:c")]));
        assert_eq!(registry.arn_of("k8s-shop-web-b").as_deref(), Some("arn:b"));
        assert_eq!(registry.arn_of("k8s-shop-api-c").as_deref(), Some("arn:c"));
        assert_eq!(registry.arn_of("k8s-shop-web-x"), None);

        let same = registry.record(&web, groups(&[("k8s-shop-web-a", "arn:a"), ("k8s-shop-web-b", "arn:b")]));
        assert_eq!(same, Recorded::default(), "a redeploy changes nothing");
        let replaced = registry.record(&web, groups(&[("k8s-shop-web-a", "arn:a2")]));
        assert_eq!(replaced, Recorded { deleted: vec!["k8s-shop-web-b".into()], added: true });
        assert_eq!(registry.arn_of("k8s-shop-web-a").as_deref(), Some("arn:a2"));

        let gone = registry.record(&web, BTreeMap::new());
        assert_eq!(gone, Recorded { deleted: vec!["k8s-shop-web-a".into()], added: false });
        assert_eq!(registry.arn_of("k8s-shop-web-a"), None);
        assert_eq!(registry.arn_of("k8s-shop-api-c").as_deref(), Some("arn:c"), "other stacks keep theirs");
    }
}
