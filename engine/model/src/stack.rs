//! The desired state of one stack: every cloud resource Elbow wants for one owning object (a
//! Service, or an Ingress group), as plain values.
//!
//! A `Stack` is what the builders produce, what `elbow plan` prints as JSON, and what the deployer
//! compares with the resources it finds by ownership tags. Field names follow the ELBv2 and EC2 API
//! (camelCase in JSON) so a user reading a plan recognises them from the AWS console and CLI.
//!
//! Resources refer to each other by [`ResourceId`] (the value of the `elbow.dev/resource` tag), never
//! by ARN: ARNs exist only once the deployer has created the resources.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::auth::{AuthenticateCognito, AuthenticateOidc, JwtValidation};
use crate::protection::Protection;
use crate::tags::Tags;

/// The id of a resource inside its stack, e.g. `LoadBalancer`, `TargetGroup/tcp-80`,
/// `Listener/80`, `SecurityGroup/frontend`. Stored in the `elbow.dev/resource` tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceId(pub String);

impl ResourceId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The owner of a stack: `namespace/name` for a Service, the group id for an Ingress group.
/// Stored in the `elbow.dev/stack` tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StackId(pub String);

impl StackId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StackId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything Elbow wants in the cloud for one owner. An empty stack (no resources) means "delete
/// everything this owner has": deletion is deploying an empty stack.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    pub id: StackId,
    /// At most one today (one NLB per Service, one ALB per Ingress group); a list so that the empty
    /// stack needs no special case.
    pub load_balancers: Vec<LoadBalancerSpec>,
    pub listeners: Vec<ListenerSpec>,
    pub target_groups: Vec<TargetGroupSpec>,
    /// Target groups made outside Elbow that rules forward to (LBC's `targetGroupARN` and
    /// `targetGroupName` in `actions.<name>`). Never created, modified, registered or deleted:
    /// only looked up, by name, and named in forward actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_target_groups: Vec<ForeignTargetGroup>,
    /// Security groups this stack owns (the managed frontend group).
    pub security_groups: Vec<SecurityGroupSpec>,
    /// Ingress rules Elbow adds to security groups it does not own (the nodes' group), so that the
    /// load balancer reaches the NodePorts. Only rules tagged as ours are ever revoked.
    pub node_security_group_rules: Vec<NodeSecurityGroupRule>,
}

impl Stack {
    pub fn empty(id: StackId) -> Self {
        Self { id, ..Self::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.load_balancers.is_empty()
            && self.listeners.is_empty()
            && self.target_groups.is_empty()
            && self.security_groups.is_empty()
            && self.node_security_group_rules.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadBalancerType {
    Network,
    Application,
}

impl LoadBalancerType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Application => "application",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    Internal,
    InternetFacing,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::InternetFacing => "internet-facing",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpAddressType {
    Ipv4,
    Dualstack,
}

impl IpAddressType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Dualstack => "dualstack",
        }
    }
}

/// A security group attached to a load balancer or named as a rule's source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub enum SecurityGroupRef {
    /// A group this stack owns, by resource id.
    Managed(ResourceId),
    /// The cluster's shared backend group, attached to every Elbow load balancer; the node groups
    /// admit it. Created on first use, owned by the cluster rather than by any one stack.
    SharedBackend,
    /// A group the user named (annotation), by id. Never modified.
    Existing(String),
}

/// Load balancer attributes, by their ELBv2 key (e.g. `load_balancing.cross_zone.enabled`).
pub type Attributes = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerSpec {
    pub resource_id: ResourceId,
    /// At most 32 characters; deterministic (LBC-identical) unless the user named it.
    pub name: String,
    #[serde(rename = "type")]
    pub lb_type: LoadBalancerType,
    pub scheme: Scheme,
    pub ip_address_type: IpAddressType,
    /// Subnet ids, sorted.
    pub subnets: Vec<String>,
    /// The fixed addresses asked for, one entry per subnet in `subnets` order, or none (AWS picks
    /// the addresses). A network load balancer gets them at creation only: AWS cannot change the
    /// address of a subnet it already serves, so a change replaces the load balancer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnet_addresses: Vec<SubnetAddresses>,
    pub security_groups: Vec<SecurityGroupRef>,
    /// Only the attributes the user set or Elbow manages; others are left as AWS has them.
    pub attributes: Attributes,
    pub tags: Tags,
    /// Web ACLs and Shield Advanced (application load balancers only); unset leaves them alone.
    #[serde(default, skip_serializing_if = "Protection::is_unset")]
    pub protection: Protection,
    /// The minimum capacity reserved (ModifyCapacityReservation), in capacity units; `None`
    /// resets a reservation Elbow made and leaves the load balancer without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_units: Option<u32>,
}

/// The addresses a network load balancer takes in one subnet (an entry of CreateLoadBalancer's
/// `SubnetMappings`): an Elastic IP (internet-facing), a private IPv4 address (internal), an IPv6
/// address (dualstack), each optional.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetAddresses {
    pub subnet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ipv4_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
}

/// Which protocols a TLS listener of a network load balancer negotiates with clients (ALPN), as
/// ELBv2 names its policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AlpnPolicy {
    #[serde(rename = "HTTP1Only")]
    Http1Only,
    #[serde(rename = "HTTP2Only")]
    Http2Only,
    #[serde(rename = "HTTP2Optional")]
    Http2Optional,
    #[serde(rename = "HTTP2Preferred")]
    Http2Preferred,
    None,
}

impl AlpnPolicy {
    pub const ALL: [Self; 5] =
        [Self::Http1Only, Self::Http2Only, Self::Http2Optional, Self::Http2Preferred, Self::None];

    /// The ELBv2 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http1Only => "HTTP1Only",
            Self::Http2Only => "HTTP2Only",
            Self::Http2Optional => "HTTP2Optional",
            Self::Http2Preferred => "HTTP2Preferred",
            Self::None => "None",
        }
    }

    /// The ELBv2 spelling, exactly (as the AWS Load Balancer Controller takes it).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Mutual TLS of an HTTPS listener (ELBv2's `MutualAuthentication`): whether the load balancer
/// asks clients for a certificate, and checks it against a trust store or passes it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MutualAuthentication {
    pub mode: MutualTlsMode,
    /// `verify` only: the trust store's ARN, or its name, looked up (DescribeTrustStores) when
    /// deploying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_store: Option<String>,
    /// `verify` only: accept client certificates that have expired.
    #[serde(default)]
    pub ignore_client_certificate_expiry: bool,
    /// `verify` only: name the trust store's certificate authorities to clients.
    #[serde(default)]
    pub advertise_trust_store_ca_names: bool,
}

impl MutualAuthentication {
    /// Mutual TLS off, as a listener without any is.
    pub fn off() -> Self {
        Self {
            mode: MutualTlsMode::Off,
            trust_store: None,
            ignore_client_certificate_expiry: false,
            advertise_trust_store_ca_names: false,
        }
    }

    /// Whether two settings mean the same to the load balancer: in modes other than `verify` only
    /// the mode counts (ELBv2 keeps no trust store there).
    pub fn same_as(&self, other: &Self) -> bool {
        match (self.mode, other.mode) {
            (MutualTlsMode::Verify, MutualTlsMode::Verify) => self == other,
            (a, b) => a == b,
        }
    }
}

/// ELBv2's mutual TLS modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MutualTlsMode {
    /// No client certificate is asked for.
    Off,
    /// The client's certificate chain goes to the targets in a header, unchecked.
    Passthrough,
    /// The client's certificate is checked against the trust store.
    Verify,
}

impl MutualTlsMode {
    pub const ALL: [Self; 3] = [Self::Off, Self::Passthrough, Self::Verify];

    /// The ELBv2 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Passthrough => "passthrough",
            Self::Verify => "verify",
        }
    }

    /// The ELBv2 spelling, exactly.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    #[serde(rename = "TCP_UDP")]
    TcpUdp,
    /// UDP carrying QUIC, routed by the server id in each connection id: every target is
    /// registered with its own `QuicServerId`.
    Quic,
    /// TCP and QUIC on one port, as TCP_UDP is TCP and UDP.
    #[serde(rename = "TCP_QUIC")]
    TcpQuic,
    Tls,
    Http,
    Https,
}

impl Protocol {
    /// The ELBv2 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::TcpUdp => "TCP_UDP",
            Self::Quic => "QUIC",
            Self::TcpQuic => "TCP_QUIC",
            Self::Tls => "TLS",
            Self::Http => "HTTP",
            Self::Https => "HTTPS",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "TCP" => Self::Tcp,
            "UDP" => Self::Udp,
            "TCP_UDP" => Self::TcpUdp,
            "QUIC" => Self::Quic,
            "TCP_QUIC" => Self::TcpQuic,
            "TLS" => Self::Tls,
            "HTTP" => Self::Http,
            "HTTPS" => Self::Https,
            _ => return None,
        })
    }

    /// Whether traffic arrives over UDP (alone or beside TCP): such target groups see the
    /// client's address, and their targets must admit UDP.
    pub fn carries_udp(self) -> bool {
        matches!(self, Self::Udp | Self::TcpUdp | Self::Quic | Self::TcpQuic)
    }

    /// Whether every target needs a QUIC server id.
    pub fn is_quic(self) -> bool {
        matches!(self, Self::Quic | Self::TcpQuic)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerSpec {
    pub resource_id: ResourceId,
    /// The load balancer this listener belongs to.
    pub load_balancer: ResourceId,
    pub port: u16,
    pub protocol: Protocol,
    /// Certificate ARNs; the first is the default certificate. TLS/HTTPS only.
    pub certificates: Vec<String>,
    /// TLS/HTTPS only.
    pub ssl_policy: Option<String>,
    /// TLS only; `None` is the same as [`AlpnPolicy::None`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn_policy: Option<AlpnPolicy>,
    /// HTTPS only; `None` is the same as mode `off`: a listener with mutual TLS loses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutual_authentication: Option<MutualAuthentication>,
    pub default_actions: Vec<Action<ResourceId>>,
    /// ALB only; priorities are 1..N in list order.
    pub rules: Vec<RuleSpec>,
    /// Listener attributes (ModifyListenerAttributes), e.g. `tcp.idle_timeout.seconds`; only the
    /// ones the user set, others are left as AWS has them.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
    pub tags: Tags,
}

/// A listener or rule action. `T` names a target group: a [`ResourceId`] in a desired stack, an
/// ARN in what the cloud reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Action<T> {
    #[serde(rename_all = "camelCase")]
    Forward {
        target_groups: Vec<WeightedTargetGroup<T>>,
        /// Whether a client keeps going to the target group it was sent to first (ELBv2's
        /// `TargetGroupStickinessConfig`); `None` is AWS's default, off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stickiness: Option<ForwardStickiness>,
    },
    #[serde(rename_all = "camelCase")]
    Redirect {
        protocol: Option<String>,
        port: Option<String>,
        host: Option<String>,
        path: Option<String>,
        query: Option<String>,
        /// `HTTP_301` or `HTTP_302`.
        status_code: String,
    },
    #[serde(rename_all = "camelCase")]
    FixedResponse { status_code: String, content_type: Option<String>, message_body: Option<String> },
    /// Signs the user in with an OpenID Connect provider before the rule's final action.
    AuthenticateOidc(AuthenticateOidc),
    /// Signs the user in with an Amazon Cognito user pool before the rule's final action.
    AuthenticateCognito(AuthenticateCognito),
    /// Checks the request's JSON Web Token before the rule's final action.
    JwtValidation(JwtValidation),
}

impl<T> Action<T> {
    /// A forward to a single target group, the only action an NLB listener has.
    pub fn forward(target_group: T) -> Self {
        Action::Forward { target_groups: vec![WeightedTargetGroup { target_group, weight: None }], stickiness: None }
    }

    /// ELBv2's name for the action's type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Forward { .. } => "forward",
            Self::Redirect { .. } => "redirect",
            Self::FixedResponse { .. } => "fixed-response",
            Self::AuthenticateOidc(_) => "authenticate-oidc",
            Self::AuthenticateCognito(_) => "authenticate-cognito",
            Self::JwtValidation(_) => "jwt-validation",
        }
    }

    /// Whether the action checks who is asking before a final action runs. ELBv2 allows these
    /// only on HTTPS listeners, before the final action.
    pub fn is_pre_routing(&self) -> bool {
        matches!(self, Self::AuthenticateOidc(_) | Self::AuthenticateCognito(_) | Self::JwtValidation(_))
    }
}

/// A forward action's target group stickiness: with it on, a client's requests go to the target
/// group it was first sent to for `duration_seconds` (1 to 604800).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardStickiness {
    pub enabled: bool,
    /// AWS requires it with stickiness on and leaves it out with stickiness off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
}

/// A target group made outside Elbow that the stack's rules forward to, under a resource id of
/// the stack (`ForeignTargetGroup/...`) so that actions name it as they name the stack's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForeignTargetGroup {
    pub resource_id: ResourceId,
    /// Its ARN, or its name, which the deployer looks up.
    #[serde(flatten)]
    pub reference: TargetGroupReference,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TargetGroupReference {
    Arn(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightedTargetGroup<T> {
    pub target_group: T,
    /// Only meaningful with several target groups in one forward action.
    pub weight: Option<u32>,
}

/// An ALB listener rule. Its priority is its position in [`ListenerSpec::rules`] (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    pub conditions: Vec<RuleCondition>,
    pub actions: Vec<Action<ResourceId>>,
    /// Rewrites ELBv2 applies to a matching request before its actions (the rule's `Transforms`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<RuleTransform>,
}

/// A listener rule transform: ELBv2 rewrites the host header or the URL of a matching request
/// with each regular expression and replacement in turn.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleTransform {
    pub kind: TransformKind,
    pub rewrites: Vec<Rewrite>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransformKind {
    HostHeaderRewrite,
    UrlRewrite,
}

impl TransformKind {
    /// ELBv2's name of the transform type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HostHeaderRewrite => "host-header-rewrite",
            Self::UrlRewrite => "url-rewrite",
        }
    }
}

/// A regular expression and what replaces its match (`$1` and so on name its groups).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rewrite {
    pub regex: String,
    pub replace: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "field", content = "values")]
pub enum RuleCondition {
    HostHeader(Vec<String>),
    PathPattern(Vec<String>),
    HttpRequestMethod(Vec<String>),
    SourceIp(Vec<String>),
    #[serde(rename_all = "camelCase")]
    HttpHeader {
        name: String,
        values: Vec<String>,
    },
    QueryString(Vec<QueryStringPair>),
    /// Host names matched by regular expressions (ELBv2's `HostHeaderConfig.RegexValues`).
    HostHeaderRegex(Vec<String>),
    /// Paths matched by regular expressions (`PathPatternConfig.RegexValues`).
    PathPatternRegex(Vec<String>),
    /// A header's values matched by regular expressions (`HttpHeaderConfig.RegexValues`).
    #[serde(rename_all = "camelCase")]
    HttpHeaderRegex {
        name: String,
        values: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStringPair {
    pub key: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    Instance,
    Ip,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::Ip => "ip",
        }
    }
}

/// How an application load balancer's target group talks to its targets (ELBv2's
/// `ProtocolVersion`): HTTP/1.1, HTTP/2, or gRPC. It is fixed when the group is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub enum ProtocolVersion {
    #[default]
    #[serde(rename = "HTTP1")]
    Http1,
    #[serde(rename = "HTTP2")]
    Http2,
    #[serde(rename = "GRPC")]
    Grpc,
}

impl ProtocolVersion {
    pub const ALL: [Self; 3] = [Self::Http1, Self::Http2, Self::Grpc];

    /// The ELBv2 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http1 => "HTTP1",
            Self::Http2 => "HTTP2",
            Self::Grpc => "GRPC",
        }
    }

    /// The ELBv2 spelling, exactly (as the AWS Load Balancer Controller takes it).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The version a target group of `protocol` has when `reported` is what an endpoint says:
    /// HTTP and HTTPS groups are HTTP/1.1 unless told otherwise, other protocols have none.
    pub fn effective(protocol: Protocol, reported: Option<Self>) -> Option<Self> {
        matches!(protocol, Protocol::Http | Protocol::Https).then(|| reported.unwrap_or_default())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupSpec {
    pub resource_id: ResourceId,
    /// At most 32 characters; deterministic (LBC-identical).
    pub name: String,
    pub target_type: TargetType,
    pub protocol: Protocol,
    /// The port targets receive traffic on: the Service's NodePort in instance mode.
    pub port: u16,
    /// HTTP and HTTPS target groups only (application load balancers); `None` is HTTP/1.1 there.
    /// Fixed at creation: a change replaces the target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<ProtocolVersion>,
    pub vpc_id: String,
    pub ip_address_type: IpAddressType,
    pub health_check: HealthCheck,
    /// Only the attributes the user set or Elbow manages.
    pub attributes: Attributes,
    pub tags: Tags,
    /// Sorted, no duplicates.
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// An instance id (`i-...`) or an IP address.
    pub id: String,
    pub port: u16,
    /// QUIC and TCP_QUIC target groups only, where it is required: `0x` and 16 lowercase hex
    /// digits, unique in the group. ELBv2 cannot change it on a registered target, so a target
    /// with another server id is another target (deregistered, then registered again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quic_server_id: Option<String>,
}

impl Target {
    pub fn new(id: impl Into<String>, port: u16) -> Self {
        Self { id: id.into(), port, quic_server_id: None }
    }

    /// A target of a QUIC or TCP_QUIC group.
    pub fn quic(id: impl Into<String>, port: u16, server_id: impl Into<String>) -> Self {
        Self { id: id.into(), port, quic_server_id: Some(server_id.into()) }
    }

    /// The same address and port, whatever the server id: ELBv2's identity of a registration.
    pub fn same_place(&self, other: &Self) -> bool {
        self.id == other.id && self.port == other.port
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub protocol: Protocol,
    pub port: HealthCheckPort,
    /// HTTP/HTTPS only.
    pub path: Option<String>,
    pub interval_seconds: u32,
    pub timeout_seconds: u32,
    pub healthy_threshold_count: u32,
    pub unhealthy_threshold_count: u32,
    /// Success codes; HTTP/HTTPS only: HTTP codes (`200-399`), or gRPC codes (`12`, `0-99`) on
    /// a target group whose protocol version is [`ProtocolVersion::Grpc`] (ELBv2's `GrpcCode`).
    pub matcher: Option<String>,
}

/// `traffic-port` or a number, as ELBv2 spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthCheckPort {
    TrafficPort,
    Port(u16),
}

impl HealthCheckPort {
    pub fn to_api_string(self) -> String {
        match self {
            Self::TrafficPort => "traffic-port".to_string(),
            Self::Port(port) => port.to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        if s == "traffic-port" {
            return Some(Self::TrafficPort);
        }
        s.parse::<u16>().ok().filter(|p| *p > 0).map(Self::Port)
    }
}

impl Serialize for HealthCheckPort {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_api_string())
    }
}

impl<'de> Deserialize<'de> for HealthCheckPort {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("expected traffic-port or a port number, got {s:?}")))
    }
}

/// A security group this stack owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupSpec {
    pub resource_id: ResourceId,
    /// Group names are unique per VPC; deterministic.
    pub group_name: String,
    pub description: String,
    pub vpc_id: String,
    /// Sorted, no duplicates.
    pub ingress: Vec<IngressRule>,
    pub tags: Tags,
}

/// One ingress permission: a protocol, a port range and one source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    /// `tcp`, `udp` or `-1` (all), as EC2 spells it.
    pub ip_protocol: String,
    pub from_port: u16,
    pub to_port: u16,
    pub source: RuleSource,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "value")]
pub enum RuleSource {
    CidrIpv4(String),
    CidrIpv6(String),
    SecurityGroup(SecurityGroupRef),
    /// An EC2 managed prefix list (`pl-...`): every CIDR it holds, now and after it changes.
    PrefixList(String),
}

/// A rule Elbow adds to a security group it does not own (a node group). Tagged with the stack's
/// ownership tags and this rule's resource id, which is how it is found again and the only way
/// Elbow ever revokes a rule from a group that is not its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSecurityGroupRule {
    pub resource_id: ResourceId,
    /// The node security group's id (`sg-...`).
    pub group_id: String,
    pub rule: IngressRule,
}
