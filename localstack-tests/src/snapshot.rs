//! What a cluster owns, read through the cloud trait and normalized so that two endpoints can be
//! compared: everything is keyed and referred to by name (load balancers, target groups, security
//! groups), never by ARN or id, which differ from one endpoint to the next; lists whose order
//! means nothing are sets. Ids that both endpoints were seeded with alike (subnets, instances,
//! the node group) stay as they are.
//!
//! Settings that an endpoint reports beyond what AWS does are left out where AWS would not report
//! them either: an SSL policy on a plain listener (moto reports one), and listener certificates
//! other than from DescribeListenerCertificates (moto's DescribeListeners lists the whole
//! certificate list, AWS the default certificate only).

use std::collections::{BTreeMap, BTreeSet};

use elbow_cloud::{Cloud, LoadBalancerFilter, SecurityGroupFilter, SecurityGroupRuleFilter, TargetGroupFilter};
use elbow_model::tags::CLUSTER_TAG;
use elbow_model::{
    Action, HealthCheck, IpAddressType, LoadBalancerType, Protocol, RuleCondition, RuleSource, Scheme,
    SecurityGroupRef, Tags, TargetType, WeightedTargetGroup,
};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub load_balancers: BTreeMap<String, LoadBalancerState>,
    pub target_groups: BTreeMap<String, TargetGroupState>,
    /// The cluster's own groups (frontend groups, the shared backend group), by name.
    pub security_groups: BTreeMap<String, SecurityGroupState>,
    /// The cluster's rules in the node group.
    pub node_rules: BTreeSet<RuleState>,
}

impl Snapshot {
    pub fn is_empty(&self) -> bool {
        self.load_balancers.is_empty()
            && self.target_groups.is_empty()
            && self.security_groups.is_empty()
            && self.node_rules.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerState {
    pub lb_type: LoadBalancerType,
    pub scheme: Scheme,
    pub ip_address_type: IpAddressType,
    pub subnets: Vec<String>,
    /// By group name.
    pub security_groups: BTreeSet<String>,
    pub tags: Tags,
    pub listeners: BTreeMap<u16, ListenerState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerState {
    pub protocol: Protocol,
    /// TLS and HTTPS listeners only.
    pub ssl_policy: Option<String>,
    /// DescribeListenerCertificates' entry with `IsDefault`.
    pub default_certificate: Option<String>,
    /// DescribeListenerCertificates' other entries.
    pub certificate_list: BTreeSet<String>,
    /// Target groups by name.
    pub default_actions: Vec<Action<String>>,
    /// By priority, the default rule left out.
    pub rules: BTreeMap<u32, (Vec<RuleCondition>, Vec<Action<String>>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupState {
    pub protocol: Protocol,
    pub port: u16,
    pub target_type: TargetType,
    pub health_check: HealthCheck,
    /// (id, port)
    pub targets: BTreeSet<(String, u16)>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupState {
    pub description: String,
    pub tags: Tags,
    pub ingress: BTreeSet<RuleState>,
}

/// One ingress rule, its source a CIDR or a group name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleState {
    pub ip_protocol: String,
    pub from_port: u16,
    pub to_port: u16,
    pub source: String,
    pub description: Option<String>,
    /// Tags of rules in groups that are not the cluster's (node rules); empty otherwise.
    pub tags: Tags,
}

/// Everything tagged `elbow.dev/cluster = cluster` at `cloud`, and the cluster's rules in
/// `node_group`.
pub async fn snapshot(cloud: &dyn Cloud, cluster: &str, node_group: &str) -> Snapshot {
    let ours = |tags: &Tags| tags.get(CLUSTER_TAG).map(String::as_str) == Some(cluster);
    let group_filter = SecurityGroupFilter::Tag { key: CLUSTER_TAG.into(), value: Some(cluster.into()) };
    let groups = cloud.describe_security_groups(group_filter).await.expect("security groups");
    let mut group_ids = vec![node_group.to_string()];
    group_ids.extend(groups.iter().map(|g| g.id.clone()));
    let mut group_names: BTreeMap<String, String> = BTreeMap::new();
    for group in cloud.describe_security_groups(SecurityGroupFilter::Ids(group_ids)).await.expect("groups") {
        group_names.insert(group.id, group.group_name);
    }
    let group_name = |id: &str| group_names.get(id).cloned().unwrap_or_else(|| format!("unknown group {id}"));
    let rule_state = |rule: &elbow_cloud::SecurityGroupRule, keep_tags: bool| RuleState {
        ip_protocol: rule.rule.ip_protocol.clone(),
        from_port: rule.rule.from_port,
        to_port: rule.rule.to_port,
        source: match &rule.rule.source {
            RuleSource::CidrIpv4(cidr) | RuleSource::CidrIpv6(cidr) | RuleSource::PrefixList(cidr) => cidr.clone(),
            RuleSource::SecurityGroup(SecurityGroupRef::Existing(id)) => group_name(id),
            other => format!("{other:?}"),
        },
        description: rule.rule.description.clone(),
        tags: if keep_tags { rule.tags.clone() } else { Tags::new() },
    };

    let mut snapshot = Snapshot::default();
    for group in &groups {
        let rules =
            cloud.describe_security_group_rules(SecurityGroupRuleFilter::Group(group.id.clone())).await.expect("rules");
        snapshot.security_groups.insert(
            group.group_name.clone(),
            SecurityGroupState {
                description: group.description.clone(),
                tags: group.tags.clone(),
                ingress: rules.iter().map(|r| rule_state(r, false)).collect(),
            },
        );
    }
    let node_rules = cloud
        .describe_security_group_rules(SecurityGroupRuleFilter::Group(node_group.to_string()))
        .await
        .expect("node rules");
    snapshot.node_rules = node_rules.iter().filter(|r| ours(&r.tags)).map(|r| rule_state(r, true)).collect();

    let tgs = cloud.describe_target_groups(TargetGroupFilter::All).await.expect("target groups");
    let tg_tags = cloud.describe_tags(&tgs.iter().map(|t| t.arn.clone()).collect::<Vec<_>>()).await.expect("tags");
    let tg_names: BTreeMap<String, String> = tgs.iter().map(|t| (t.arn.clone(), t.name.clone())).collect();
    for tg in tgs.iter().filter(|t| tg_tags.get(&t.arn).is_some_and(ours)) {
        let health = cloud.describe_target_health(&tg.arn).await.expect("targets");
        snapshot.target_groups.insert(
            tg.name.clone(),
            TargetGroupState {
                protocol: tg.protocol,
                port: tg.port,
                target_type: tg.target_type,
                health_check: tg.health_check.clone(),
                targets: health.into_iter().map(|h| (h.target.id, h.target.port)).collect(),
                tags: tg_tags.get(&tg.arn).cloned().unwrap_or_default(),
            },
        );
    }
    let by_name = |actions: &[Action<String>]| -> Vec<Action<String>> {
        actions
            .iter()
            .map(|action| match action {
                Action::Forward { target_groups, stickiness } => Action::Forward {
                    target_groups: target_groups
                        .iter()
                        .map(|w| WeightedTargetGroup {
                            target_group: tg_names.get(&w.target_group).cloned().unwrap_or_default(),
                            weight: w.weight,
                        })
                        .collect(),
                    stickiness: *stickiness,
                },
                other => other.clone(),
            })
            .collect()
    };

    let lbs = cloud.describe_load_balancers(LoadBalancerFilter::All).await.expect("load balancers");
    let lb_tags = cloud.describe_tags(&lbs.iter().map(|l| l.arn.clone()).collect::<Vec<_>>()).await.expect("tags");
    for lb in lbs.iter().filter(|l| lb_tags.get(&l.arn).is_some_and(ours)) {
        let mut listeners = BTreeMap::new();
        for listener in cloud.describe_listeners(&lb.arn).await.expect("listeners") {
            let secure = matches!(listener.protocol, Protocol::Tls | Protocol::Https);
            let certificates = if secure {
                cloud.describe_listener_certificates(&listener.arn).await.expect("listener certificates")
            } else {
                Vec::new()
            };
            let mut rules = BTreeMap::new();
            if lb.lb_type == LoadBalancerType::Application {
                for rule in cloud.describe_rules(&listener.arn).await.expect("rules") {
                    if let Some(priority) = rule.priority {
                        rules.insert(priority, (rule.conditions.clone(), by_name(&rule.actions)));
                    }
                }
            }
            listeners.insert(
                listener.port,
                ListenerState {
                    protocol: listener.protocol,
                    ssl_policy: listener.ssl_policy.clone().filter(|_| secure),
                    default_certificate: certificates.iter().find(|c| c.is_default).map(|c| c.arn.clone()),
                    certificate_list: certificates.iter().filter(|c| !c.is_default).map(|c| c.arn.clone()).collect(),
                    default_actions: by_name(&listener.default_actions),
                    rules,
                },
            );
        }
        snapshot.load_balancers.insert(
            lb.name.clone(),
            LoadBalancerState {
                lb_type: lb.lb_type,
                scheme: lb.scheme,
                ip_address_type: lb.ip_address_type,
                subnets: lb.subnets.clone(),
                security_groups: lb.security_groups.iter().map(|id| group_name(id)).collect(),
                tags: lb_tags.get(&lb.arn).cloned().unwrap_or_default(),
                listeners,
            },
        );
    }
    snapshot
}
