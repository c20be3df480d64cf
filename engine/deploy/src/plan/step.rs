//! The steps a plan is made of, as the applier walks them. Steps name this stack's resources by
//! [`ResourceId`] rather than by ARN, because a step may refer to a resource an earlier step of the
//! same plan creates; the applier binds ids to ARNs as it goes.

use elbow_cloud::{Arn, NewIngressRule};

pub use crate::node_groups::record::NodePorts;
use elbow_model::{
    Attributes, HealthCheck, IngressRule, IpAddressType, ListenerSpec, LoadBalancerSpec, ResourceId, RuleSource,
    RuleSpec, SecurityGroupRef, SecurityGroupSpec, Tags, Target, TargetGroupSpec,
};

/// A security group as a step needs it: one of this stack's (bound at apply time) or a known id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Managed(ResourceId),
    Id(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    CreateSecurityGroup {
        spec: SecurityGroupSpec,
    },
    /// Rules of one of the stack's own groups.
    AuthorizeIngress {
        group: GroupRef,
        rules: Vec<PlannedRule>,
    },
    RevokeIngress {
        group_id: String,
        rule_ids: Vec<String>,
    },
    /// Node rules the stack needs on a node group it does not own: its claim on Elbow's rule where
    /// one exists, the rule (with the claim among `tags`) where none grants the permission.
    ClaimNodeRules {
        group_id: String,
        rules: Vec<PlannedRule>,
    },
    /// The node groups' port ranges brought to what every stack needs, this stack's need being
    /// `ports` (recorded on its load balancer): see `crate::node_groups`.
    SpanNodePorts {
        ports: NodePorts,
    },
    /// The stack's claims on node rules it no longer needs; a rule losing its last claim is revoked.
    ReleaseNodeRules {
        group_id: String,
        rule_ids: Vec<String>,
    },
    CreateTargetGroup {
        spec: TargetGroupSpec,
    },
    ModifyTargetGroup {
        resource_id: ResourceId,
        health_check: HealthCheck,
        /// The group's protocol version is gRPC: its success codes are gRPC codes.
        grpc: bool,
    },
    ModifyTargetGroupAttributes {
        resource_id: ResourceId,
        attributes: Attributes,
    },
    RegisterTargets {
        resource_id: ResourceId,
        targets: Vec<Target>,
    },
    DeregisterTargets {
        resource_id: ResourceId,
        targets: Vec<Target>,
    },
    CreateLoadBalancer {
        spec: LoadBalancerSpec,
        security_groups: Vec<GroupRef>,
    },
    SetSubnets {
        resource_id: ResourceId,
        subnets: Vec<String>,
    },
    SetSecurityGroups {
        resource_id: ResourceId,
        security_groups: Vec<GroupRef>,
    },
    SetIpAddressType {
        resource_id: ResourceId,
        ip_address_type: IpAddressType,
    },
    ModifyLoadBalancerAttributes {
        resource_id: ResourceId,
        attributes: Attributes,
    },
    /// On the load balancer `load_balancer`.
    CreateListener {
        load_balancer: ResourceId,
        spec: ListenerSpec,
    },
    ModifyListener {
        load_balancer: ResourceId,
        arn: Arn,
        spec: ListenerSpec,
    },
    /// On the listener of `listener_port` (which may be created earlier in the plan).
    ModifyListenerAttributes {
        load_balancer: ResourceId,
        listener_port: u16,
        attributes: Attributes,
    },
    DeleteListener {
        load_balancer: ResourceId,
        arn: Arn,
    },
    /// Certificates for the certificate list of the listener at `listener_port` of
    /// `load_balancer` (which may be created earlier in the same plan): the ones it serves besides
    /// its default certificate. One request each, as AWS takes one certificate per call.
    AddListenerCertificates {
        load_balancer: ResourceId,
        listener_port: u16,
        certificates: Vec<String>,
    },
    /// Certificates to take off the certificate list of an existing listener, one request each.
    RemoveListenerCertificates {
        load_balancer: ResourceId,
        arn: Arn,
        certificates: Vec<String>,
    },
    /// A rule at `priority` on the listener at `listener_port` of `load_balancer` (which may be
    /// created earlier in the same plan).
    CreateRule {
        load_balancer: ResourceId,
        listener_port: u16,
        priority: u32,
        rule: RuleSpec,
        tags: Tags,
    },
    /// New conditions and actions for the rule at that priority.
    ModifyRule {
        load_balancer: ResourceId,
        arn: Arn,
        rule: RuleSpec,
    },
    DeleteRule {
        load_balancer: ResourceId,
        arn: Arn,
    },
    /// ELBv2 tags (load balancers, target groups): only keys that are missing or differ.
    AddTags {
        resource_id: ResourceId,
        arn: Arn,
        tags: Tags,
    },
    /// EC2 tags (security groups).
    CreateTags {
        resource_id: ResourceId,
        id: String,
        tags: Tags,
    },
    /// ELBv2 tag keys Elbow set before and no longer wants.
    RemoveTags {
        resource_id: ResourceId,
        arn: Arn,
        keys: Vec<String>,
    },
    /// EC2 tag keys Elbow set before and no longer wants.
    DeleteTags {
        resource_id: ResourceId,
        id: String,
        keys: Vec<String>,
    },
    DeleteLoadBalancer {
        arn: Arn,
    },
    DeleteTargetGroup {
        arn: Arn,
    },
    DeleteSecurityGroup {
        id: String,
    },
}

/// An ingress rule with its source resolved as far as planning can, and the tags that mark it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRule {
    pub rule: IngressRule,
    pub tags: Tags,
}

impl PlannedRule {
    pub fn into_new(self, source_group: Option<String>) -> NewIngressRule {
        let mut rule = self.rule;
        if let Some(id) = source_group {
            rule.source = RuleSource::SecurityGroup(SecurityGroupRef::Existing(id));
        }
        NewIngressRule { rule, tags: self.tags }
    }
}

impl Step {
    /// A short description for events, logs and errors ("failed to <this>").
    pub fn describe(&self) -> String {
        match self {
            Step::CreateSecurityGroup { spec } => format!("create security group {}", spec.group_name),
            Step::AuthorizeIngress { group, rules } => {
                format!("authorize {} ingress rule(s) on {}", rules.len(), group_name(group))
            }
            Step::RevokeIngress { group_id, rule_ids } => {
                format!("revoke {} ingress rule(s) on {group_id}", rule_ids.len())
            }
            Step::ClaimNodeRules { group_id, rules } => format!("claim {} node rule(s) on {group_id}", rules.len()),
            Step::ReleaseNodeRules { group_id, rule_ids } => {
                format!("release {} node rule(s) on {group_id}", rule_ids.len())
            }
            Step::SpanNodePorts { .. } => "span the node port ranges of the node security groups".to_string(),
            Step::CreateTargetGroup { spec } => format!("create target group {}", spec.name),
            Step::ModifyTargetGroup { resource_id, .. } => format!("modify the health check of {resource_id}"),
            Step::ModifyTargetGroupAttributes { resource_id, .. } => format!("modify the attributes of {resource_id}"),
            Step::RegisterTargets { resource_id, targets } => {
                format!("register {} target(s) with {resource_id}", targets.len())
            }
            Step::DeregisterTargets { resource_id, targets } => {
                format!("deregister {} target(s) from {resource_id}", targets.len())
            }
            Step::CreateLoadBalancer { spec, .. } => format!("create load balancer {}", spec.name),
            Step::SetSubnets { resource_id, .. } => format!("set the subnets of {resource_id}"),
            Step::SetSecurityGroups { resource_id, .. } => format!("set the security groups of {resource_id}"),
            Step::SetIpAddressType { resource_id, .. } => format!("set the IP address type of {resource_id}"),
            Step::ModifyLoadBalancerAttributes { resource_id, .. } => format!("modify the attributes of {resource_id}"),
            Step::CreateListener { spec, .. } => format!("create listener {}", spec.port),
            Step::ModifyListener { spec, .. } => format!("modify listener {}", spec.port),
            Step::ModifyListenerAttributes { listener_port, .. } => {
                format!("modify the attributes of listener {listener_port}")
            }
            Step::DeleteListener { arn, .. } => format!("delete listener {arn}"),
            Step::AddListenerCertificates { listener_port, certificates, .. } => {
                format!("add {} certificate(s) to listener {listener_port}", certificates.len())
            }
            Step::RemoveListenerCertificates { arn, certificates, .. } => {
                format!("remove {} certificate(s) from listener {arn}", certificates.len())
            }
            Step::CreateRule { listener_port, priority, .. } => {
                format!("create rule {priority} of listener {listener_port}")
            }
            Step::ModifyRule { arn, .. } => format!("modify rule {arn}"),
            Step::DeleteRule { arn, .. } => format!("delete rule {arn}"),
            Step::AddTags { resource_id, .. } | Step::CreateTags { resource_id, .. } => format!("tag {resource_id}"),
            Step::RemoveTags { resource_id, keys, .. } | Step::DeleteTags { resource_id, keys, .. } => {
                format!("remove tag(s) {} from {resource_id}", keys.join(", "))
            }
            Step::DeleteLoadBalancer { arn } => format!("delete load balancer {arn}"),
            Step::DeleteTargetGroup { arn } => format!("delete target group {arn}"),
            Step::DeleteSecurityGroup { id } => format!("delete security group {id}"),
        }
    }
}

fn group_name(group: &GroupRef) -> String {
    match group {
        GroupRef::Managed(id) => id.to_string(),
        GroupRef::Id(id) => id.clone(),
    }
}
