//! The TargetGroupBinding custom resource (`elbow.dev/v1beta1`): a target group made outside
//! Kubernetes (Terraform, the console), kept filled with a Service's nodes or pods. The fields
//! and their meaning are those of the AWS Load Balancer Controller's `elbv2.k8s.aws/v1beta1`
//! TargetGroupBinding, so a binding moves over by changing its `apiVersion`.
//!
//! What identifies the target group and what it is (its ARN or name, target type, IP address
//! type, VPC) cannot change once set: the API server refuses such an update, through the CEL
//! rules below (`x-kubernetes-validations` in the generated CRD), rather than Elbow finding out
//! later that a binding now names another group.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use elbow_model::TargetType;

/// Keeps an existing ELBv2 target group filled with the nodes (target type `instance`: each
/// node on the Service port's NodePort) or the ready pods (`ip`) of a Service port, and opens the
/// node or pod security groups to the sources in `networking`. Elbow never creates, changes or
/// deletes the target group itself; deleting the binding deregisters the targets it registered.
#[derive(CustomResource, KubeSchema, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "elbow.dev",
    version = "v1beta1",
    kind = "TargetGroupBinding",
    doc = "Binds a Service's nodes or pods to an existing ELBv2 target group.",
    plural = "targetgroupbindings",
    shortname = "tgb",
    namespaced,
    status = "TargetGroupBindingStatus",
    printcolumn = r#"{"name":"Service-Name","type":"string","jsonPath":".spec.serviceRef.name","description":"The Kubernetes Service's name"}"#,
    printcolumn = r#"{"name":"Service-Port","type":"string","jsonPath":".spec.serviceRef.port","description":"The Kubernetes Service's port"}"#,
    printcolumn = r#"{"name":"Target-Type","type":"string","jsonPath":".status.targetType","description":"The target group's target type"}"#,
    printcolumn = r#"{"name":"ARN","type":"string","jsonPath":".status.targetGroupARN","description":"The target group's ARN","priority":1}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("has(self.targetGroupARN) != has(self.targetGroupName)")
    .message("exactly one of targetGroupARN and targetGroupName must be set"))]
#[x_kube(validation = Rule::new("has(self.targetGroupARN) == has(oldSelf.targetGroupARN)")
    .message("a binding cannot switch between targetGroupARN and targetGroupName"))]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupBindingSpec {
    /// The target group's ARN. Exactly one of this and `targetGroupName`.
    #[serde(rename = "targetGroupARN", default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("targetGroupARN is immutable"))]
    pub target_group_arn: Option<String>,
    /// The target group's name (unique per account and region), looked up with
    /// DescribeTargetGroups. Exactly one of this and `targetGroupARN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("targetGroupName is immutable"))]
    pub target_group_name: Option<String>,
    /// `instance` (nodes on the NodePort) or `ip` (pods on their ports). Unset: the target
    /// group's own; set, it must be the target group's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("targetType is immutable"))]
    pub target_type: Option<TargetType>,
    /// The Service and the port of it whose endpoints become targets.
    pub service_ref: ServiceReference,
    /// Which sources may reach the targets: rules added to the nodes' security groups (instance)
    /// or the groups of the nodes the pods run on (ip), and removed again with the binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking: Option<TargetGroupBindingNetworking>,
    /// Of the nodes that may be instance targets at all, only those matching this selector are
    /// registered. Instance targets only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<LabelSelector>,
    /// `ipv4` or `ipv6`. Unset: the target group's own; set, it must be the target group's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("ipAddressType is immutable"))]
    pub ip_address_type: Option<TargetGroupIpAddressType>,
    /// The target group's VPC. Unset: the target group's own; set, it must be the target group's.
    #[serde(rename = "vpcID", default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("vpcID is immutable"))]
    pub vpc_id: Option<String>,
}

/// A Service and one of its ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceReference {
    /// The Service's name, in the binding's namespace.
    pub name: String,
    /// The Service port: its number (`port`) or its name.
    pub port: IntOrString,
}

impl Default for ServiceReference {
    fn default() -> Self {
        Self { name: String::new(), port: IntOrString::Int(0) }
    }
}

/// The IP address type of a target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetGroupIpAddressType {
    Ipv4,
    Ipv6,
}

impl TargetGroupIpAddressType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetGroupBindingNetworking {
    /// Who may reach the targets, and on which ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<NetworkingIngressRule>>,
}

/// Traffic from any of `from` on any of `ports` is admitted to the targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkingIngressRule {
    /// The sources: CIDR blocks or security groups.
    pub from: Vec<NetworkingPeer>,
    /// The ports; an empty list admits every TCP port.
    pub ports: Vec<NetworkingPort>,
}

/// One source: exactly one of `ipBlock` and `securityGroup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkingPeer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_block: Option<IpBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group: Option<SecurityGroupPeer>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IpBlock {
    /// An IPv4 or IPv6 CIDR block.
    pub cidr: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecurityGroupPeer {
    /// The EC2 security group id (`sg-...`).
    #[serde(rename = "groupID")]
    pub group_id: String,
}

/// A port and protocol targets are reached on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkingPort {
    /// `TCP` (the default) or `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<NetworkingProtocol>,
    /// A number, or (ip targets) the name of the pods' port; unset: every port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<IntOrString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NetworkingProtocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
}

impl NetworkingProtocol {
    /// EC2's name for it in a security group rule.
    pub fn ip_protocol(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// What Elbow observed and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupBindingStatus {
    /// The generation of the spec last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The target group's ARN, as found (by name, for a binding that names it).
    #[serde(rename = "targetGroupARN", default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    /// The target type in effect: the spec's, or the target group's when the spec leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<TargetType>,
    /// The targets this binding registered, and deregisters when it is deleted. Targets someone
    /// else registered with the group are never listed here and never deregistered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_targets: Option<Vec<BoundTarget>>,
    /// `Ready`: True once the target group holds the Service's targets; False with the reason
    /// (`BackendNotFound`, `TargetGroupNotFound`, `InvalidConfiguration`, `FailedReconcile`,
    /// `FailedCleanup`) and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

/// A registered target: an instance id or an IP address, a port, and in a QUIC group its server
/// id (a target is deregistered with the id it was registered with).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoundTarget {
    pub id: String,
    // An int32 in the schema: schemars would say `uint16`, a format Kubernetes does not know.
    #[schemars(with = "i32")]
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quic_server_id: Option<String>,
}

impl From<&elbow_model::Target> for BoundTarget {
    fn from(target: &elbow_model::Target) -> Self {
        Self { id: target.id.clone(), port: target.port, quic_server_id: target.quic_server_id.clone() }
    }
}

impl From<&BoundTarget> for elbow_model::Target {
    fn from(target: &BoundTarget) -> Self {
        Self { id: target.id.clone(), port: target.port, quic_server_id: target.quic_server_id.clone() }
    }
}
