//! What a cluster owns at the endpoint, read back through the cloud trait: the load balancers,
//! target groups with their registered targets, listeners, security groups and node rules tagged
//! `elbow.dev/cluster=<cluster>`. Tests compare it with what a Service should have produced.

use std::collections::BTreeMap;

use elbow_cloud::{
    Cloud, CloudError, CloudErrorKind, LoadBalancer, LoadBalancerFilter, SecurityGroup, SecurityGroupFilter,
    SecurityGroupRuleFilter, TargetGroup, TargetGroupFilter,
};
use elbow_model::Tags;

pub struct Owned {
    pub lbs: Vec<LoadBalancer>,
    /// By target group port (the NodePort): the group and its registered instance ids, sorted.
    pub targets: BTreeMap<u16, (TargetGroup, Vec<String>)>,
    /// (load balancer name, listener port)
    pub listeners: Vec<(String, u16)>,
    pub groups: Vec<SecurityGroup>,
    /// The port ranges (from, to) of the node group's rules that are ours, sorted.
    pub node_rules: Vec<(u16, u16)>,
}

impl Owned {
    pub fn is_empty(&self) -> bool {
        // Security groups included: the frontend groups and, once the last stack is gone, the
        // cluster's shared backend group.
        self.lbs.is_empty()
            && self.targets.is_empty()
            && self.listeners.is_empty()
            && self.groups.is_empty()
            && self.node_rules.is_empty()
    }
}

/// Everything tagged with `cluster`, as the endpoint reports it now. Read while the controllers
/// work: a load balancer or target group deleted between two of these calls is left out, as gone.
pub async fn owned(cloud: &dyn Cloud, cluster: &str, node_group: &str) -> Owned {
    let ours = |tags: &Tags| tags.get("elbow.dev/cluster").map(String::as_str) == Some(cluster);
    let lbs = cloud.describe_load_balancers(LoadBalancerFilter::All).await.expect("lbs");
    let lb_tags = cloud.describe_tags(&lbs.iter().map(|l| l.arn.clone()).collect::<Vec<_>>()).await.expect("tags");
    let lbs: Vec<LoadBalancer> = lbs.into_iter().filter(|l| lb_tags.get(&l.arn).is_some_and(ours)).collect();
    let tgs = cloud.describe_target_groups(TargetGroupFilter::All).await.expect("tgs");
    let tg_tags = cloud.describe_tags(&tgs.iter().map(|t| t.arn.clone()).collect::<Vec<_>>()).await.expect("tags");
    let mut targets = BTreeMap::new();
    for tg in tgs.iter().filter(|t| tg_tags.get(&t.arn).is_some_and(ours)) {
        let Some(health) = unless_gone(cloud.describe_target_health(&tg.arn).await, "health") else { continue };
        let mut ids: Vec<String> = health.into_iter().map(|h| h.target.id).collect();
        ids.sort();
        targets.insert(tg.port, (tg.clone(), ids));
    }
    let mut listeners = Vec::new();
    let mut lbs = lbs;
    let mut gone = Vec::new();
    for lb in &lbs {
        let Some(on_lb) = unless_gone(cloud.describe_listeners(&lb.arn).await, "listeners") else {
            gone.push(lb.arn.clone());
            continue;
        };
        listeners.extend(on_lb.into_iter().map(|l| (lb.name.clone(), l.port)));
    }
    lbs.retain(|lb| !gone.contains(&lb.arn));
    let groups = cloud
        .describe_security_groups(SecurityGroupFilter::Tag {
            key: "elbow.dev/cluster".into(),
            value: Some(cluster.to_string()),
        })
        .await
        .expect("groups");
    let node_rules = cloud
        .describe_security_group_rules(SecurityGroupRuleFilter::Group(node_group.to_string()))
        .await
        .expect("rules")
        .into_iter()
        .filter(|r| ours(&r.tags))
        .map(|r| (r.rule.from_port, r.rule.to_port))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Owned { lbs, targets, listeners, groups, node_rules }
}

/// The ARN of the cluster's load balancer, once there is one (the stacks of these tests make one).
pub async fn load_balancer_arn(cloud: &dyn Cloud, cluster: &str, node_group: &str) -> String {
    elbow_testkit::eventually("the load balancer", async || {
        owned(cloud, cluster, node_group).await.lbs.first().map(|lb| lb.arn.clone())
    })
    .await
}

/// The answer, or `None` when what was asked about is gone (deleted since it was listed).
fn unless_gone<T>(answer: Result<T, CloudError>, what: &str) -> Option<T> {
    match answer {
        Ok(value) => Some(value),
        Err(error) if error.kind == CloudErrorKind::NotFound => None,
        Err(error) => panic!("{what}: {error:?}"),
    }
}
