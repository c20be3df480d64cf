//! Why a TargetGroupBinding cannot be served as it is.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// The API server refuses this (the CRD's rules); a binding stored before them may have it.
    #[error("exactly one of spec.targetGroupARN and spec.targetGroupName must be set")]
    NoTargetGroup,
    /// The target group does not exist (yet: Terraform may create it after the binding).
    #[error("target group {0} was not found")]
    TargetGroupNotFound(String),
    #[error(
        "spec.targetType is {spec} but target group {arn} has target type {group}; remove targetType or set it to {group}"
    )]
    TargetTypeMismatch { spec: &'static str, group: &'static str, arn: String },
    #[error(
        "spec.ipAddressType is {spec} but target group {arn} is {group}; remove ipAddressType or set it to {group}"
    )]
    IpAddressTypeMismatch { spec: &'static str, group: &'static str, arn: String },
    #[error("spec.vpcID is {spec} but target group {arn} is in {group}; remove vpcID or set it to {group}")]
    VpcMismatch { spec: String, group: String, arn: String },
    #[error("spec.nodeSelector selects instance targets; target group {arn} has ip targets")]
    NodeSelectorWithIpTargets { arn: String },
    #[error(
        "target group {arn} is an ipv6 group of ip targets; Elbow registers IPv4 pod addresses only (use an ipv4 group, or instance targets)"
    )]
    Ipv6PodTargets { arn: String },
    #[error(
        "target group {arn} is a {protocol} group of instance targets; every QUIC target needs a server id, and Elbow reads them from pods only (use a group of ip targets)"
    )]
    QuicInstanceTargets { arn: String, protocol: &'static str },
    /// The Service is not there: the binding's targets are deregistered until it is.
    #[error("Service {namespace}/{name} was not found")]
    ServiceNotFound { namespace: String, name: String },
    /// The Service has no such port: the binding's targets are deregistered until it has.
    #[error("Service {namespace}/{name} has no port {port}")]
    ServicePortNotFound { namespace: String, name: String, port: String },
    #[error("Service {namespace}/{name} is of type {type_}; instance targets need a NodePort or LoadBalancer Service")]
    NoNodePorts { namespace: String, name: String, type_: String },
    #[error("port {port} of Service {namespace}/{name} has no nodePort; instance targets need one")]
    MissingNodePort { namespace: String, name: String, port: String },
    #[error("spec.networking.ingress[{rule}].from[{peer}] must set exactly one of ipBlock and securityGroup")]
    InvalidPeer { rule: usize, peer: usize },
    #[error("spec.networking.ingress[{rule}].from[{peer}].ipBlock.cidr {cidr:?} is not a CIDR block")]
    InvalidCidr { rule: usize, peer: usize, cidr: String },
    #[error("spec.networking.ingress[{rule}].ports[{port}].port {value:?} is not a port number (0 to 65535)")]
    InvalidPort { rule: usize, port: usize, value: String },
    #[error(
        "spec.networking.ingress[{rule}].ports[{port}].port {name:?} is a named port; instance targets are reached on numbered NodePorts"
    )]
    NamedPortWithInstanceTargets { rule: usize, port: usize, name: String },
    #[error(
        "spec.networking.ingress[{rule}].ports[{port}].port {name:?} is not the targetPort of the bound Service port; name the pods' port the Service sends to, or give a number"
    )]
    UnknownNamedPort { rule: usize, port: usize, name: String },
    /// A node security group cannot be chosen (the builder's error for it).
    #[error(transparent)]
    Build(#[from] crate::BuildError),
}

impl BindingError {
    /// The backend is missing: the target group must hold none of the binding's targets until it
    /// is back (as the AWS Load Balancer Controller does), rather than keep stale ones.
    pub fn backend_missing(&self) -> bool {
        matches!(self, Self::ServiceNotFound { .. } | Self::ServicePortNotFound { .. })
    }

    /// What is wrong lies in the cloud, not in the binding: worth looking again later without the
    /// binding changing (a target group created after its binding, a node group tagged since).
    pub fn depends_on_cloud(&self) -> bool {
        match self {
            Self::TargetGroupNotFound(_) => true,
            Self::Build(error) => error.depends_on_cloud(),
            _ => false,
        }
    }

    /// The `Ready` condition's reason for it.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TargetGroupNotFound(_) => "TargetGroupNotFound",
            _ if self.backend_missing() => "BackendNotFound",
            _ => "InvalidConfiguration",
        }
    }
}
