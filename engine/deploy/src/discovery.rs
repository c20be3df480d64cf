//! Finding actual state by ownership tags: the cluster-wide index built once per drift period,
//! the re-discovery of one stack after a failed deploy, and the per-stack details (listeners and
//! their rules, targets, attributes, group rules) read the first time a stack is deployed.

use std::collections::{HashMap, HashSet};

use elbow_cloud::{
    Cloud, CloudResult, LoadBalancerFilter, SecurityGroup, SecurityGroupFilter, SecurityGroupRule,
    SecurityGroupRuleFilter, TargetGroupFilter,
};
use elbow_model::tags::{CLUSTER_TAG, RESOURCE_TAG, STACK_TAG};
use elbow_model::{LoadBalancerType, Ownership, Protocol, ResourceId, Stack, StackId, Tags};
use tokio::time::Instant;

use crate::actual::{ActualLoadBalancer, ActualNodeRule, ActualSecurityGroup, ActualStack, ActualTargetGroup};
use crate::node_groups::record::NodePorts;
use crate::node_groups::{claim_key, claimants, is_range_rule};
use crate::shared::{SHARED_STACK, is_backend_group};

/// Everything of ours in the account and region, by stack, plus the names that are taken by
/// resources that are not ours.
#[derive(Debug)]
pub(crate) struct ClusterIndex {
    pub(crate) stacks: HashMap<StackId, StackEntry>,
    pub(crate) foreign_load_balancer_names: HashSet<String>,
    pub(crate) foreign_target_group_names: HashSet<String>,
    pub(crate) backend_group: Option<String>,
    /// The cluster's range rules on node groups (`crate::node_groups`): they belong to no stack.
    pub(crate) range_rules: Vec<SecurityGroupRule>,
    pub(crate) built_at: Instant,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct StackEntry {
    pub(crate) actual: ActualStack,
    /// Listeners, targets, attributes and group rules have been read (or written) since the
    /// index was built.
    pub(crate) detailed: bool,
    /// A deploy failed half-way: resources may exist that the index does not know.
    pub(crate) rediscover: bool,
}

/// Lists every load balancer, target group, security group and security group rule and keeps the
/// ones tagged with our cluster.
pub(crate) async fn discover_cluster(cloud: &dyn Cloud, cluster: &str) -> CloudResult<ClusterIndex> {
    let load_balancers = cloud.describe_load_balancers(LoadBalancerFilter::All).await?;
    let lb_tags = cloud.describe_tags(&load_balancers.iter().map(|lb| lb.arn.clone()).collect::<Vec<_>>()).await?;
    let target_groups = cloud.describe_target_groups(TargetGroupFilter::All).await?;
    let tg_tags = cloud.describe_tags(&target_groups.iter().map(|tg| tg.arn.clone()).collect::<Vec<_>>()).await?;
    let groups = cloud.describe_security_groups(cluster_tag_filter(cluster)).await?;
    let rules = cloud
        .describe_security_group_rules(SecurityGroupRuleFilter::Tag { key: CLUSTER_TAG.into(), value: cluster.into() })
        .await?;

    let mut index = ClusterIndex {
        stacks: HashMap::new(),
        foreign_load_balancer_names: HashSet::new(),
        foreign_target_group_names: HashSet::new(),
        backend_group: None,
        range_rules: Vec::new(),
        built_at: Instant::now(),
    };
    for lb in load_balancers {
        let tags = lb_tags.get(&lb.arn).cloned().unwrap_or_default();
        match owner(&tags, cluster) {
            Some(owner) => index.entry(owner.stack).actual.load_balancers.push(ActualLoadBalancer {
                resource_id: owner.resource,
                lb,
                tags,
                listeners: Vec::new(),
                rules: Default::default(),
                certificate_lists: Default::default(),
                listener_attributes: Default::default(),
                attributes: Default::default(),
            }),
            None => {
                index.foreign_load_balancer_names.insert(lb.name);
            }
        }
    }
    for tg in target_groups {
        let tags = tg_tags.get(&tg.arn).cloned().unwrap_or_default();
        match owner(&tags, cluster) {
            Some(owner) => index.entry(owner.stack).actual.target_groups.push(ActualTargetGroup {
                resource_id: owner.resource,
                tg,
                tags,
                targets: Vec::new(),
                attributes: Default::default(),
            }),
            None => {
                index.foreign_target_group_names.insert(tg.name);
            }
        }
    }
    let own_groups = sort_groups(&mut index, groups, cluster);
    index.range_rules = rules
        .iter()
        .filter(|r| !own_groups.contains(&r.group_id) && is_range_rule(&r.tags, cluster))
        .cloned()
        .collect();
    for (stack, node_rule) in node_rules(rules, &own_groups, cluster) {
        index.entry(stack).actual.node_rules.push(node_rule);
    }
    Ok(index)
}

impl ClusterIndex {
    fn entry(&mut self, stack: StackId) -> &mut StackEntry {
        self.stacks.entry(stack).or_default()
    }

    /// Each stack's need of node ports, as its load balancers record it.
    pub(crate) fn node_port_needs(&self) -> HashMap<StackId, NodePorts> {
        let mut needs = HashMap::new();
        for (stack, entry) in &self.stacks {
            let mut ports = NodePorts::default();
            for lb in &entry.actual.load_balancers {
                ports.extend(&NodePorts::from_tags(&lb.tags));
            }
            if !ports.is_empty() {
                needs.insert(stack.clone(), ports);
            }
        }
        needs
    }

    /// The node groups holding range rules of the cluster's.
    pub(crate) fn range_groups(&self) -> std::collections::BTreeSet<String> {
        self.range_rules.iter().map(|r| r.group_id.clone()).collect()
    }
}

/// Puts our security groups into their stacks; returns their ids.
fn sort_groups(index: &mut ClusterIndex, groups: Vec<SecurityGroup>, cluster: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    for group in groups {
        let Some(owner) = owner(&group.tags, cluster) else { continue };
        ids.insert(group.id.clone());
        if owner.stack.as_str() == SHARED_STACK {
            if is_backend_group(&owner) {
                index.backend_group = Some(group.id.clone());
            }
            continue;
        }
        index.entry(owner.stack).actual.security_groups.push(ActualSecurityGroup {
            resource_id: owner.resource,
            group,
            rules: Vec::new(),
        });
    }
    ids
}

/// Rules of ours in groups that are not ours, under each stack that claims them.
fn node_rules(
    rules: Vec<SecurityGroupRule>,
    own_groups: &HashSet<String>,
    cluster: &str,
) -> Vec<(StackId, ActualNodeRule)> {
    let mut claimed = Vec::new();
    for rule in rules.into_iter().filter(|rule| !own_groups.contains(&rule.group_id)) {
        let resource_id = ResourceId::new(rule.tags.get(RESOURCE_TAG).cloned().unwrap_or_default());
        for stack in claimants(&rule.tags, cluster).unwrap_or_default() {
            claimed.push((stack, ActualNodeRule { resource_id: resource_id.clone(), rule: rule.clone() }));
        }
    }
    claimed
}

/// Finds one stack's resources again after a failed deploy: by the names it wanted and had, and by
/// its stack tag for security groups, by its claims for node rules.
pub(crate) async fn discover_stack(
    cloud: &dyn Cloud,
    cluster: &str,
    stack: &StackId,
    load_balancer_names: Vec<String>,
    target_group_names: Vec<String>,
) -> CloudResult<ActualStack> {
    let mut actual = ActualStack::default();
    let is_ours = |tags: &Tags| owner(tags, cluster).filter(|o| &o.stack == stack);
    if !load_balancer_names.is_empty() {
        let lbs = cloud.describe_load_balancers(LoadBalancerFilter::Names(load_balancer_names)).await?;
        let tags = cloud.describe_tags(&lbs.iter().map(|lb| lb.arn.clone()).collect::<Vec<_>>()).await?;
        for lb in lbs {
            let lb_tags = tags.get(&lb.arn).cloned().unwrap_or_default();
            if let Some(owner) = is_ours(&lb_tags) {
                actual.load_balancers.push(ActualLoadBalancer {
                    resource_id: owner.resource,
                    lb,
                    tags: lb_tags,
                    listeners: Vec::new(),
                    rules: Default::default(),
                    certificate_lists: Default::default(),
                    listener_attributes: Default::default(),
                    attributes: Default::default(),
                });
            }
        }
    }
    if !target_group_names.is_empty() {
        let tgs = cloud.describe_target_groups(TargetGroupFilter::Names(target_group_names)).await?;
        let tags = cloud.describe_tags(&tgs.iter().map(|tg| tg.arn.clone()).collect::<Vec<_>>()).await?;
        for tg in tgs {
            let tg_tags = tags.get(&tg.arn).cloned().unwrap_or_default();
            if let Some(owner) = is_ours(&tg_tags) {
                actual.target_groups.push(ActualTargetGroup {
                    resource_id: owner.resource,
                    tg,
                    tags: tg_tags,
                    targets: Vec::new(),
                    attributes: Default::default(),
                });
            }
        }
    }
    let groups = cloud
        .describe_security_groups(SecurityGroupFilter::Tag {
            key: STACK_TAG.into(),
            value: Some(stack.as_str().into()),
        })
        .await?;
    let mut own_groups = HashSet::new();
    for group in groups {
        if let Some(owner) = is_ours(&group.tags) {
            own_groups.insert(group.id.clone());
            actual.security_groups.push(ActualSecurityGroup { resource_id: owner.resource, group, rules: Vec::new() });
        }
    }
    // The stack's claims, and the rules an earlier version tagged with the stack as their owner.
    let mut rules = cloud
        .describe_security_group_rules(SecurityGroupRuleFilter::Tag {
            key: claim_key(stack),
            value: stack.as_str().into(),
        })
        .await?;
    let owned = cloud
        .describe_security_group_rules(SecurityGroupRuleFilter::Tag {
            key: STACK_TAG.into(),
            value: stack.as_str().into(),
        })
        .await?;
    for rule in owned {
        if !rules.iter().any(|r| r.rule_id == rule.rule_id) {
            rules.push(rule);
        }
    }
    actual.node_rules =
        node_rules(rules, &own_groups, cluster).into_iter().filter(|(s, _)| s == stack).map(|(_, rule)| rule).collect();
    Ok(actual)
}

/// Reads what discovery leaves out: listeners, registered targets, the rules of our own groups,
/// and attributes — only the ones the desired state sets, since the rest are left as AWS has them.
pub(crate) async fn load_details(cloud: &dyn Cloud, actual: &mut ActualStack, desired: &Stack) -> CloudResult<()> {
    let wants_attributes = |kind: &str, id: &ResourceId| match kind {
        "lb" => desired.load_balancers.iter().any(|d| &d.resource_id == id && !d.attributes.is_empty()),
        _ => desired.target_groups.iter().any(|d| &d.resource_id == id && !d.attributes.is_empty()),
    };
    for lb in &mut actual.load_balancers {
        lb.listeners = cloud.describe_listeners(&lb.lb.arn).await?;
        lb.rules.clear();
        lb.certificate_lists.clear();
        for listener in lb.listeners.iter().filter(|l| matches!(l.protocol, Protocol::Tls | Protocol::Https)) {
            lb.certificate_lists.insert(listener.arn.clone(), certificate_list(cloud, &listener.arn).await?);
        }
        if lb.lb.lb_type == LoadBalancerType::Application {
            for listener in &lb.listeners {
                let mut rules: Vec<_> =
                    cloud.describe_rules(&listener.arn).await?.into_iter().filter(|r| r.priority.is_some()).collect();
                rules.sort_by_key(|r| r.priority);
                lb.rules.insert(listener.arn.clone(), rules);
            }
        }
        if wants_attributes("lb", &lb.resource_id) {
            lb.attributes = cloud.describe_load_balancer_attributes(&lb.lb.arn).await?;
        }
        // Listeners are matched by port, so are their desired attributes.
        lb.listener_attributes.clear();
        for listener in &lb.listeners {
            let wanted = desired
                .listeners
                .iter()
                .any(|d| d.load_balancer == lb.resource_id && d.port == listener.port && !d.attributes.is_empty());
            if wanted {
                let attributes = cloud.describe_listener_attributes(&listener.arn).await?;
                lb.listener_attributes.insert(listener.arn.clone(), attributes);
            }
        }
    }
    for tg in &mut actual.target_groups {
        tg.targets = crate::targets::registered_targets(cloud, &tg.tg.arn).await?;
        if wants_attributes("tg", &tg.resource_id) {
            tg.attributes = cloud.describe_target_group_attributes(&tg.tg.arn).await?;
        }
    }
    for group in &mut actual.security_groups {
        group.rules =
            cloud.describe_security_group_rules(SecurityGroupRuleFilter::Group(group.group.id.clone())).await?;
    }
    Ok(())
}

/// A listener's certificate list: the entries AWS marks as not the default. (The default
/// certificate is listed first with `IsDefault`; one that is also in the list appears twice.)
async fn certificate_list(cloud: &dyn Cloud, listener_arn: &str) -> CloudResult<Vec<String>> {
    let mut list: Vec<String> = cloud
        .describe_listener_certificates(listener_arn)
        .await?
        .into_iter()
        .filter(|c| !c.is_default)
        .map(|c| c.arn)
        .collect();
    list.sort();
    list.dedup();
    Ok(list)
}

fn cluster_tag_filter(cluster: &str) -> SecurityGroupFilter {
    SecurityGroupFilter::Tag { key: CLUSTER_TAG.into(), value: Some(cluster.into()) }
}

/// The owner of a resource tagged for `cluster`; `None` for anything else, which Elbow never
/// touches.
fn owner(tags: &Tags, cluster: &str) -> Option<Ownership> {
    Ownership::from_tags(tags).filter(|o| o.cluster == cluster)
}
