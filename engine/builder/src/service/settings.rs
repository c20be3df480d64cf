//! What a Service's annotations ask for, read and validated once, before anything is built: a
//! bad value is a user error naming the annotation.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ServicePort;

use super::addresses::StaticAddresses;
use super::attributes::{load_balancer_attributes, proxy_protocol_ports, target_group_attributes};
use super::health::HealthSettings;
use crate::annotations::{Annotations, split_list};
use crate::config::BuildConfig;
use crate::error::BuildError;
use crate::names::is_valid_elb_name;
use crate::security::{is_cidr, parse_prefix_lists};
use elbow_model::stack::{AlpnPolicy, Attributes, IpAddressType, Scheme, TargetType};
use elbow_model::tags::Tags;

const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

/// What the annotations ask for, validated.
pub(super) struct Settings {
    /// `instance` (nodes on the NodePort) or `ip` (pods, from the Service's EndpointSlices).
    pub target_type: TargetType,
    pub scheme: Scheme,
    pub name: Option<String>,
    pub ip_address_type: IpAddressType,
    pub subnets: Option<Vec<String>>,
    /// `eip-allocations`, `private-ipv4-addresses`, `ipv6-addresses`.
    pub addresses: StaticAddresses,
    pub certificates: Vec<String>,
    /// Port numbers or names; `None`: every port.
    pub ssl_ports: Option<Vec<String>>,
    pub ssl_policy: String,
    /// `alpn-policy`, for the TLS listeners.
    pub alpn_policy: Option<AlpnPolicy>,
    /// `listener-attributes.<protocol>-<port>`, by `<protocol>-<port>` as written.
    pub listener_attributes: BTreeMap<String, Attributes>,
    pub backend_tls: bool,
    pub health: HealthSettings,
    pub target_group_attributes: Attributes,
    /// `proxy-protocol-per-target-group`: the Service ports whose target groups get proxy protocol
    /// v2, the others none.
    pub proxy_protocol_ports: Option<BTreeSet<u16>>,
    pub load_balancer_attributes: Attributes,
    pub extra_tags: Tags,
    /// `security-groups`: ids (`sg-...`) or names, as written.
    pub security_groups: Option<Vec<String>>,
    pub manage_backend_rules: bool,
    pub source_ranges: Option<Vec<String>>,
    /// `security-group-prefix-lists`: managed prefix lists the frontend group admits.
    pub prefix_lists: Option<Vec<String>>,
    pub node_labels: Option<BTreeMap<String, String>>,
    /// `disable-nlb-sg`: a load balancer without security groups (no frontend group, no backend
    /// group; the nodes admit addresses instead).
    pub without_security_groups: bool,
    /// `minimum-load-balancer-capacity`: the capacity units to reserve.
    pub capacity_units: Option<u32>,
    /// `enable-tcp-udp-listener`: whether TCP and UDP on one port number are served by one
    /// TCP_UDP listener (the default) or refused.
    pub tcp_udp_listener: bool,
    /// `quic-enabled-ports`: numbers or names of the Service's ports whose UDP (or TCP_UDP)
    /// listener is QUIC (or TCP_QUIC).
    pub quic_ports: Option<Vec<String>>,
}

impl Settings {
    pub fn read(a: &Annotations<'_>, ports: &[ServicePort], config: &BuildConfig) -> Result<Self, BuildError> {
        // `type: nlb-ip` means ip targets whatever `nlb-target-type` says, as in LBC.
        let nlb_ip = match a.get("aws-load-balancer-type") {
            None | Some("external" | "nlb") => false,
            Some("nlb-ip") => true,
            Some(other) => return Err(a.invalid("aws-load-balancer-type", other, "external, nlb or nlb-ip")),
        };
        let target_type = match a.get("aws-load-balancer-nlb-target-type") {
            _ if nlb_ip => TargetType::Ip,
            None | Some("instance") => TargetType::Instance,
            Some("ip") => TargetType::Ip,
            Some(other) => return Err(a.invalid("aws-load-balancer-nlb-target-type", other, "instance or ip")),
        };
        let scheme = match a.parse("aws-load-balancer-scheme", "internal or internet-facing", |v| match v {
            "internal" => Some(Scheme::Internal),
            "internet-facing" => Some(Scheme::InternetFacing),
            _ => None,
        })? {
            Some(scheme) => scheme,
            None => match a.bool("aws-load-balancer-internal")? {
                Some(true) => Scheme::Internal,
                Some(false) => Scheme::InternetFacing,
                None => config.default_scheme,
            },
        };
        let name = a.get("aws-load-balancer-name").map(str::to_string);
        if let Some(name) = &name
            && !is_valid_elb_name(name)
        {
            return Err(BuildError::InvalidName(name.clone()));
        }
        let ip_address_type = a
            .parse("aws-load-balancer-ip-address-type", "ipv4 or dualstack", |v| match v {
                "ipv4" => Some(IpAddressType::Ipv4),
                "dualstack" => Some(IpAddressType::Dualstack),
                _ => None,
            })?
            .unwrap_or(IpAddressType::Ipv4);
        let ssl_ports = ssl_ports(a, ports)?;
        let backend_tls = a
            .parse("aws-load-balancer-backend-protocol", "tcp or ssl", |v| match v.to_ascii_lowercase().as_str() {
                "tcp" => Some(false),
                "ssl" => Some(true),
                _ => None,
            })?
            .unwrap_or(false);
        let target_group_attributes = target_group_attributes(a)?;
        // Ids or names, resolved against the inventory when the stack is built.
        let security_groups = a.parse(
            "aws-load-balancer-security-groups",
            "comma-separated security group ids (sg-...) or names (their Name tag)",
            |v| Some(split_list(v)).filter(|entries| !entries.is_empty()),
        )?;
        let without_security_groups = a.bool("aws-load-balancer-disable-nlb-sg")?.unwrap_or(false);
        // LBC ignores the groups asked for when they are disabled; saying so beats attaching none
        // without a word.
        for asks_for_groups in ["aws-load-balancer-security-groups", "aws-load-balancer-security-group-prefix-lists"] {
            if without_security_groups && a.get(asks_for_groups).is_some() {
                return Err(a.invalid(
                    "aws-load-balancer-disable-nlb-sg",
                    "true",
                    &format!("false or unset while {} is set: a load balancer without security groups has none to attach or to admit prefix lists; remove one of the two", a.name(asks_for_groups)),
                ));
            }
        }
        let manage_backend_rules =
            a.bool("aws-load-balancer-manage-backend-security-group-rules")?.unwrap_or(security_groups.is_none());
        Ok(Self {
            target_type,
            scheme,
            name,
            ip_address_type,
            subnets: a.list("aws-load-balancer-subnets"),
            addresses: StaticAddresses::read(a, scheme, ip_address_type)?,
            certificates: a.list("aws-load-balancer-ssl-cert").unwrap_or_default(),
            ssl_ports,
            ssl_policy: a.get("aws-load-balancer-ssl-negotiation-policy").unwrap_or(DEFAULT_SSL_POLICY).to_string(),
            alpn_policy: a.parse(
                "aws-load-balancer-alpn-policy",
                "HTTP1Only, HTTP2Only, HTTP2Optional, HTTP2Preferred or None",
                AlpnPolicy::parse,
            )?,
            listener_attributes: listener_attributes(a)?,
            backend_tls,
            health: HealthSettings::read(a, ports, target_type)?,
            target_group_attributes,
            proxy_protocol_ports: proxy_protocol_ports(a, ports)?,
            load_balancer_attributes: load_balancer_attributes(a)?,
            extra_tags: a.pairs("aws-load-balancer-additional-resource-tags", false)?.unwrap_or_default(),
            security_groups,
            without_security_groups,
            manage_backend_rules,
            source_ranges: a.parse(
                "load-balancer-source-ranges",
                "comma-separated CIDR blocks like 10.0.0.0/8",
                |v| {
                    let cidrs = split_list(v);
                    cidrs.iter().all(|c| is_cidr(c)).then_some(cidrs)
                },
            )?,
            prefix_lists: a.parse(
                "aws-load-balancer-security-group-prefix-lists",
                "comma-separated managed prefix list ids like pl-0123456789abcdef0",
                parse_prefix_lists,
            )?,
            node_labels: a.pairs("aws-load-balancer-target-node-labels", true)?,
            // On by default, where LBC has it off unless its EnableTCPUDPListener feature gate is
            // set: without it, LBC builds two listeners on one port, which AWS refuses.
            capacity_units: a.capacity_units("aws-load-balancer-minimum-load-balancer-capacity")?.flatten(),
            tcp_udp_listener: a.bool("aws-load-balancer-enable-tcp-udp-listener")?.unwrap_or(true),
            quic_ports: named_ports(a, super::quic::PORTS, ports, "")?,
        })
    }
}

/// `ssl-ports`: numbers or names of the Service's ports, or `*` for all of them (the in-tree
/// provider's spelling; `None` stands for every port). One the Service lacks is an error, whether
/// or not `ssl-cert` is set, as in the AWS Load Balancer Controller: a typo must not leave a port
/// in plain TCP unnoticed.
fn ssl_ports(a: &Annotations<'_>, ports: &[ServicePort]) -> Result<Option<Vec<String>>, BuildError> {
    const SUFFIX: &str = "aws-load-balancer-ssl-ports";
    if a.list(SUFFIX).is_some_and(|listed| listed.iter().any(|p| p == "*")) {
        return Ok(None);
    }
    named_ports(a, SUFFIX, ports, ", or *")
}

/// The numbers or names of the Service's ports that annotation `suffix` lists; one the Service
/// lacks is an error naming the ports it has (`or` ends the description of what is expected).
fn named_ports(
    a: &Annotations<'_>,
    suffix: &str,
    ports: &[ServicePort],
    or: &str,
) -> Result<Option<Vec<String>>, BuildError> {
    let Some(listed) = a.list(suffix) else { return Ok(None) };
    let known = |p: &String| ports.iter().any(|port| port.name.as_ref() == Some(p) || port.port.to_string() == *p);
    let unknown: Vec<&str> = listed.iter().filter(|p| !known(p)).map(String::as_str).collect();
    if unknown.is_empty() {
        return Ok(Some(listed));
    }
    let have: Vec<String> = ports
        .iter()
        .map(|p| match p.name.as_deref().filter(|n| !n.is_empty()) {
            Some(name) => format!("{} ({name})", p.port),
            None => p.port.to_string(),
        })
        .collect();
    let expected = format!(
        "numbers or names of the Service's ports{or}; the Service has no port {} (its ports: {})",
        unknown.join(", "),
        have.join(", ")
    );
    Err(a.invalid(suffix, a.get(suffix).unwrap_or_default(), &expected))
}

const LISTENER_ATTRIBUTES: &str = "aws-load-balancer-listener-attributes.";

/// Every `listener-attributes.<protocol>-<port>` annotation, by `<protocol>-<port>`. Whether the
/// Service has such a listener is checked once the listeners are known.
fn listener_attributes(a: &Annotations<'_>) -> Result<BTreeMap<String, Attributes>, BuildError> {
    let mut all = BTreeMap::new();
    for (listener, _) in a.under(LISTENER_ATTRIBUTES) {
        let suffix = format!("{LISTENER_ATTRIBUTES}{listener}");
        if let Some(attributes) = a.pairs(&suffix, false)? {
            all.insert(listener.to_string(), attributes);
        }
    }
    Ok(all)
}

/// The `listener-attributes.` annotation of a listener that is not there, naming the ones that are.
pub(super) fn unknown_listener(a: &Annotations<'_>, listener: &str, known: &[String]) -> BuildError {
    let suffix = format!("{LISTENER_ATTRIBUTES}{listener}");
    let value = a.get(&suffix).unwrap_or_default();
    a.invalid(
        &suffix,
        value,
        &format!(
            "attributes of a listener of the Service, named <protocol>-<port> as ELBv2 names the protocol; it has no listener {listener} (its listeners: {})",
            known.join(", ")
        ),
    )
}
