//! What the cloud reports and what Elbow asks it to create: plain values shaped like the ELBv2 and
//! EC2 API, shared by every implementation of [`crate::Cloud`]. Value types that mean the same in the
//! desired model (protocols, health checks, actions) are reused from `elbow_model`.

use std::time::SystemTime;

use elbow_model::{
    Action, AlpnPolicy, Attributes, HealthCheck, IngressRule, IpAddressType, LoadBalancerType, MutualAuthentication,
    Protocol, ProtocolVersion, RuleCondition, RuleTransform, Scheme, SubnetAddresses, Tags, Target, TargetType,
};

/// An ELBv2 ARN.
pub type Arn = String;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    pub arn: Arn,
    pub name: String,
    /// Lower case.
    pub dns_name: String,
    pub lb_type: LoadBalancerType,
    pub scheme: Scheme,
    pub ip_address_type: IpAddressType,
    pub vpc_id: String,
    /// `provisioning`, `active`, `active_impaired` or `failed`.
    pub state: String,
    /// Sorted.
    pub subnets: Vec<String>,
    /// Sorted.
    pub security_groups: Vec<String>,
    /// When the load balancer was created, as DescribeLoadBalancers reports it (`CreatedTime`);
    /// `None` from an endpoint that leaves it out. The orphan sweep's evidence that a stack is not
    /// one being created right now. (Target groups and security groups have no such field.)
    pub created_time: Option<SystemTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    pub arn: Arn,
    pub name: String,
    pub target_type: TargetType,
    pub protocol: Protocol,
    pub port: u16,
    /// As reported: AWS names one for every HTTP and HTTPS group, none for the others.
    pub protocol_version: Option<ProtocolVersion>,
    pub vpc_id: String,
    pub ip_address_type: IpAddressType,
    /// The success codes are gRPC codes when `protocol_version` is gRPC.
    pub health_check: HealthCheck,
    pub load_balancer_arns: Vec<Arn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub arn: Arn,
    pub load_balancer_arn: Arn,
    pub port: u16,
    pub protocol: Protocol,
    /// As DescribeListeners reports them: AWS lists the default certificate only (the rest of
    /// the listener's certificates are in DescribeListenerCertificates); moto lists the whole
    /// certificate list, default first. Only the first one is the default certificate.
    pub certificates: Vec<String>,
    pub ssl_policy: Option<String>,
    /// TLS listeners only; AWS reports none for a listener that never had one.
    pub alpn_policy: Option<AlpnPolicy>,
    /// HTTPS listeners only, the trust store by ARN; AWS reports none (or mode `off`) for a
    /// listener that never had mutual TLS.
    pub mutual_authentication: Option<MutualAuthentication>,
    pub default_actions: Vec<Action<Arn>>,
}

impl Listener {
    /// The default certificate, whatever else the endpoint lists with it.
    pub fn default_certificate(&self) -> Option<&str> {
        self.certificates.first().map(String::as_str)
    }
}

/// One entry of DescribeListenerCertificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerCertificate {
    pub arn: String,
    /// The listener's default certificate; `false` for the entries of its certificate list.
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub arn: Arn,
    /// `None` for the listener's default rule.
    pub priority: Option<u32>,
    pub conditions: Vec<RuleCondition>,
    pub actions: Vec<Action<Arn>>,
    pub transforms: Vec<RuleTransform>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    pub target: Target,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining`, `unavailable`.
    pub state: String,
    /// Why the target is not healthy (`Elb.RegistrationInProgress`, `Target.ResponseCodeMismatch`,
    /// ...); AWS leaves it out for a healthy target.
    pub reason: Option<String>,
    /// The same in words (`Health checks failed with these codes: [503]`).
    pub description: Option<String>,
}

/// Which load balancers to describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadBalancerFilter {
    /// Every load balancer in the account and region (paged).
    All,
    /// By name. Names that do not exist are left out of the answer, not an error.
    Names(Vec<String>),
    Arns(Vec<Arn>),
}

/// Which target groups to describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetGroupFilter {
    All,
    /// By name. Names that do not exist are left out of the answer, not an error.
    Names(Vec<String>),
    Arns(Vec<Arn>),
    LoadBalancer(Arn),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateLoadBalancer {
    pub name: String,
    pub lb_type: LoadBalancerType,
    pub scheme: Scheme,
    pub ip_address_type: IpAddressType,
    pub subnets: Vec<String>,
    /// Fixed addresses, one entry per subnet of `subnets`, or none (AWS picks them). Sent as
    /// `SubnetMappings` in place of `Subnets` when there are any.
    pub subnet_addresses: Vec<SubnetAddresses>,
    pub security_groups: Vec<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTargetGroup {
    pub name: String,
    pub target_type: TargetType,
    pub protocol: Protocol,
    pub port: u16,
    /// HTTP and HTTPS only; `None` leaves AWS's default (HTTP1).
    pub protocol_version: Option<ProtocolVersion>,
    pub vpc_id: String,
    pub ip_address_type: IpAddressType,
    /// Its success codes are sent as gRPC codes with `protocol_version` gRPC, else as HTTP codes.
    pub health_check: HealthCheck,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateListener {
    pub load_balancer_arn: Arn,
    pub port: u16,
    pub protocol: Protocol,
    /// The default certificate: AWS takes exactly one on a TLS or HTTPS listener (and refuses
    /// more); the others go to the certificate list with AddListenerCertificates.
    pub certificates: Vec<String>,
    pub ssl_policy: Option<String>,
    /// TLS listeners only; AWS reports none for a listener that never had one.
    pub alpn_policy: Option<AlpnPolicy>,
    /// HTTPS listeners only, the trust store by ARN; `None` sends none.
    pub mutual_authentication: Option<MutualAuthentication>,
    pub default_actions: Vec<Action<Arn>>,
    pub tags: Tags,
}

/// A listener's new settings; everything is sent, so the listener ends up exactly so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifyListener {
    pub arn: Arn,
    pub port: u16,
    pub protocol: Protocol,
    /// The default certificate, as for [`CreateListener`]; the certificate list is left as it is.
    pub certificates: Vec<String>,
    pub ssl_policy: Option<String>,
    /// TLS listeners only; AWS reports none for a listener that never had one.
    pub alpn_policy: Option<AlpnPolicy>,
    /// HTTPS listeners only, the trust store by ARN; `None` leaves the listener's as it is.
    pub mutual_authentication: Option<MutualAuthentication>,
    pub default_actions: Vec<Action<Arn>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRule {
    pub listener_arn: Arn,
    pub priority: u32,
    pub conditions: Vec<RuleCondition>,
    pub actions: Vec<Action<Arn>>,
    pub transforms: Vec<RuleTransform>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifyRule {
    pub arn: Arn,
    pub conditions: Vec<RuleCondition>,
    pub actions: Vec<Action<Arn>>,
    pub transforms: Vec<RuleTransform>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub cidr_block: String,
    /// The IPv6 blocks associated with the subnet (state `associated`).
    pub ipv6_cidr_blocks: Vec<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    /// `pending`, `running`, `stopping`, ...
    pub state: String,
    pub security_groups: Vec<String>,
}

/// An Elastic IP address of the account, as DescribeAddresses reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElasticIp {
    /// `eipalloc-...`
    pub allocation_id: String,
    pub public_ip: String,
    /// Set while the address is associated with an instance or a network interface (a network
    /// load balancer's interface included).
    pub association_id: Option<String>,
    /// The instance it is associated with, if any.
    pub instance_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub group_name: String,
    pub description: String,
    pub vpc_id: String,
    pub tags: Tags,
}

/// Which security groups to describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityGroupFilter {
    Ids(Vec<String>),
    /// Groups carrying tag `key` (with any value when `value` is `None`).
    Tag {
        key: String,
        value: Option<String>,
    },
    /// Groups of one VPC.
    Vpc(String),
    /// Groups of one VPC whose `Name` tag is one of `names` (EC2's `tag:Name` and `vpc-id`
    /// filters): how a group given by name in an annotation is found.
    NamedInVpc {
        vpc_id: String,
        names: Vec<String>,
    },
}

/// Which security group rules to describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityGroupRuleFilter {
    /// Every ingress rule of one group.
    Group(String),
    /// Ingress rules carrying tag `key` = `value`, in any group: how Elbow finds the rules it added
    /// to groups it does not own.
    Tag { key: String, value: String },
}

/// One ingress rule as EC2 reports it, with its id and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupRule {
    /// `sgr-...`
    pub rule_id: String,
    pub group_id: String,
    /// The rule, with a security-group source as `SecurityGroupRef::Existing(id)`.
    pub rule: IngressRule,
    pub tags: Tags,
}

/// A rule to authorize, with the tags that mark it (EC2 TagSpecifications of type
/// `security-group-rule`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIngressRule {
    /// A security-group source must be `SecurityGroupRef::Existing(id)` by now.
    pub rule: IngressRule,
    pub tags: Tags,
}

/// Attributes as AWS reports them (every key, not only the ones Elbow set).
pub type AttributeMap = Attributes;

/// A WAFv2 web ACL, as ListWebACLs reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAclSummary {
    pub name: String,
    pub id: String,
    pub arn: Arn,
}

/// A Shield Advanced protection of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShieldProtection {
    pub id: String,
    /// Who made it: Elbow names its own (see the deployer's `addons`), and deletes no other.
    pub name: String,
    pub resource_arn: Arn,
}

/// An ELBv2 trust store (mutual TLS), as DescribeTrustStores reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustStore {
    pub name: String,
    pub arn: Arn,
}

/// Who issued an ACM certificate, as DescribeCertificate's `Type` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateType {
    /// Issued by ACM (validated by DNS or email).
    AmazonIssued,
    /// Brought by its owner (ImportCertificate); may be re-imported with other names.
    Imported,
    /// Issued by a private certificate authority.
    Private,
}

/// An ACM certificate, as DescribeCertificate reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateDetail {
    pub arn: Arn,
    pub domain_name: String,
    /// The names the certificate is for; ACM lists the domain name among them.
    pub subject_alternative_names: Vec<String>,
    pub certificate_type: CertificateType,
    /// `ISSUED`, `PENDING_VALIDATION`, `EXPIRED`, ...
    pub status: String,
}
