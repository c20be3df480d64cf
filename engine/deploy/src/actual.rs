//! The resources one stack has in the cloud, as found by their ownership tags.

use std::collections::BTreeMap;

use elbow_cloud::{Arn, Listener, LoadBalancer, Rule, SecurityGroup, SecurityGroupRule, TargetGroup};
use elbow_model::{Attributes, IngressRule, ResourceId, Tags, Target};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActualStack {
    pub load_balancers: Vec<ActualLoadBalancer>,
    pub target_groups: Vec<ActualTargetGroup>,
    pub security_groups: Vec<ActualSecurityGroup>,
    /// Rules of Elbow's in groups it does not own (node groups) that this stack claims; other
    /// stacks may claim them too.
    pub node_rules: Vec<ActualNodeRule>,
    /// Permissions this stack wanted on a node group that a rule not of ours already grants
    /// (EC2 refused the duplicate). Satisfied, remembered so that later deploys do not ask again,
    /// and never revoked. Known only to the deployer that saw the refusal.
    pub satisfied_node_rules: Vec<SatisfiedNodeRule>,
}

impl ActualStack {
    pub fn is_empty(&self) -> bool {
        self.load_balancers.is_empty()
            && self.target_groups.is_empty()
            && self.security_groups.is_empty()
            && self.node_rules.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualLoadBalancer {
    pub resource_id: ResourceId,
    pub lb: LoadBalancer,
    pub tags: Tags,
    /// Listeners are matched by port (unique per load balancer), so they need no tags of their own.
    pub listeners: Vec<Listener>,
    /// The rules of each listener (by listener ARN) other than its default rule, matched by
    /// priority. Application load balancers only: a network load balancer's listeners have none.
    pub rules: BTreeMap<Arn, Vec<Rule>>,
    /// The certificate list of each TLS or HTTPS listener (by listener ARN), sorted: the
    /// certificates it serves besides its default one. DescribeListenerCertificates' entries with
    /// `IsDefault` false; the default certificate is on the listener.
    pub certificate_lists: BTreeMap<Arn, Vec<String>>,
    /// The attributes of each listener (by listener ARN) whose desired spec sets any; only those
    /// keys are compared.
    pub listener_attributes: BTreeMap<Arn, Attributes>,
    /// Only the keys the desired state sets are read and compared.
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualTargetGroup {
    pub resource_id: ResourceId,
    pub tg: TargetGroup,
    pub tags: Tags,
    pub targets: Vec<Target>,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualSecurityGroup {
    pub resource_id: ResourceId,
    pub group: SecurityGroup,
    pub rules: Vec<SecurityGroupRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SatisfiedNodeRule {
    pub group_id: String,
    /// As planned: a security-group source resolved to its id.
    pub rule: IngressRule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualNodeRule {
    pub resource_id: ResourceId,
    pub rule: SecurityGroupRule,
}
