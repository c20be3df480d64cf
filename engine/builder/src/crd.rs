//! Elbow's custom resources. Their Rust types are the source of the YAML in `crds/` (written by
//! `cargo run -p elbow -- crds`, checked by a test that fails when the YAML is stale); doc comments
//! become the schema descriptions `kubectl explain` shows.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use elbow_model::{IpAddressType, Scheme, TargetType};

pub use crate::binding::spec::{TargetGroupBinding, TargetGroupBindingSpec, TargetGroupBindingStatus};

/// Settings for every Ingress of an IngressClass whose `spec.parameters` names this object
/// (`apiGroup: elbow.dev`, `kind: IngressClassParams`). A value set here overrides the same setting
/// made by an Ingress annotation, so a platform team can fix what application teams cannot change.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "elbow.dev",
    version = "v1beta1",
    kind = "IngressClassParams",
    doc = "Parameters of an IngressClass served by Elbow (controller elbow.dev/alb).",
    plural = "ingressclassparams",
    shortname = "icp",
    printcolumn = r#"{"name":"Group","type":"string","jsonPath":".spec.group.name"}"#,
    printcolumn = r#"{"name":"Scheme","type":"string","jsonPath":".spec.scheme"}"#,
    printcolumn = r#"{"name":"IP-Type","type":"string","jsonPath":".spec.ipAddressType"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct IngressClassParamsSpec {
    /// Which namespaces may use the IngressClass. Ingresses in other namespaces are not served and
    /// get a Warning event. Unset: every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Puts every Ingress of the class in one group, sharing one ALB (overrides the
    /// `group.name` annotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<IngressGroupParams>,
    /// `internal` or `internet-facing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// `ipv4` or `dualstack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<IpAddressType>,
    /// The ALB's subnets, by id or by tags; unset: discovered by the `kubernetes.io/role/*` tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnets: Option<SubnetSelector>,
    /// CIDR blocks allowed to reach the listeners, on the managed frontend security group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "inboundCIDRs")]
    pub inbound_cidrs: Option<Vec<String>>,
    /// The security policy of HTTPS listeners, e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_policy: Option<String>,
    /// ACM certificate ARNs for HTTPS listeners; the first is the default certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<Vec<String>>,
    /// Tags added to every AWS resource made for the class (Elbow's own tags always win).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<KeyValue>>,
    /// ALB attributes, e.g. `idle_timeout.timeout_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_attributes: Option<Vec<KeyValue>>,
    /// How targets are registered: `instance` (nodes on the NodePort) or `ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<TargetType>,
    /// The ALB's name (at most 32 letters, digits and `-`), overriding the `load-balancer-name`
    /// annotation. Changing it replaces the load balancer: ELBv2 names cannot change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    /// The HTTPS listen port every HTTP listener redirects to, as a string (`"443"`), overriding the
    /// `ssl-redirect` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_redirect_port: Option<String>,
    /// Attributes of the listeners by protocol and port, overriding the
    /// `listener-attributes.<protocol>-<port>` annotations key by key. A listener the group does
    /// not have is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listeners: Option<Vec<ListenerParams>>,
    /// Managed prefix list ids (`pl-...`) the frontend group admits on every listen port,
    /// overriding the `security-group-prefix-lists` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "prefixListsIDs")]
    pub prefix_lists_ids: Option<Vec<String>>,
    /// The same as `prefixListsIDs`, under the AWS Load Balancer Controller's older spelling; set
    /// at most one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "PrefixListsIDs")]
    pub prefix_lists_ids_legacy: Option<Vec<String>>,
    /// The regional WAFv2 web ACL to associate, by ARN (`none` removes the association). A
    /// `wafv2-acl-name` annotation wins over it, as in the AWS Load Balancer Controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wafv2_acl_arn: Option<String>,
    /// The regional WAFv2 web ACL to associate, by name (`none` removes the association); wins
    /// over every `wafv2-acl-*` annotation and over `wafv2AclArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wafv2_acl_name: Option<String>,
    /// A capacity reservation for the ALB, overriding the `minimum-load-balancer-capacity`
    /// annotation; `capacityUnits: 0` asks for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_load_balancer_capacity: Option<MinimumCapacityParams>,
    /// Addresses from an IPAM pool. Not supported: a class that sets it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipam_configuration: Option<IpamParams>,
}

/// The attributes of one listener of the class's load balancers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListenerParams {
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    /// The listen port, 1 to 65535.
    pub port: i32,
    /// Listener attributes as ELBv2 names them, e.g. `routing.http.response.server.enabled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listener_attributes: Vec<KeyValue>,
}

/// A load balancer capacity reservation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MinimumCapacityParams {
    /// Load balancer capacity units to reserve.
    pub capacity_units: i32,
}

/// Where the load balancer's IPv4 addresses come from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IpamParams {
    /// The IPAM pool id (`ipam-pool-...`).
    #[serde(default, rename = "ipv4IPAMPoolId", skip_serializing_if = "Option::is_none")]
    pub ipv4_ipam_pool_id: Option<String>,
}

/// An explicit Ingress group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IngressGroupParams {
    /// The group name: lowercase letters, digits, `-` and `.`, at most 63 characters.
    pub name: String,
}

/// Subnets by id, or by tags they all carry (exactly one of the two).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubnetSelector {
    /// Subnet ids (`subnet-...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
    /// Tag keys and the values a subnet's tag may have (any of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}
