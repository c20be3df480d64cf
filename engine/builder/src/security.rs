//! The security-group side of the data path: the managed frontend group admitting the clients on
//! the listener ports (CIDR blocks and managed prefix lists), and what the nodes' group must admit
//! from the shared backend group: the NodePorts (instance targets) or the pods' ports (ip
//! targets) and the health-check ports. The stack states that need port by port; the deployer
//! records it on the load balancer and grants each node group one rule per protocol spanning
//! every stack's ports (`elbow_deploy`'s `node_groups`), so the builder's list is never one rule
//! per port in EC2.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Node;

use crate::error::BuildError;
use crate::nodes::instance_id;
use elbow_model::inventory::CloudInventory;
use elbow_model::stack::{
    HealthCheckPort, IngressRule, NodeSecurityGroupRule, Protocol, ResourceId, RuleSource, SecurityGroupRef,
    TargetGroupSpec, TargetType,
};

/// EC2's protocol names for the rules an ELBv2 protocol needs (TCP_UDP needs both).
pub fn ip_protocols(protocol: Protocol) -> &'static [&'static str] {
    match protocol {
        Protocol::Udp => &["udp"],
        Protocol::TcpUdp => &["tcp", "udp"],
        Protocol::Tcp | Protocol::Tls | Protocol::Http | Protocol::Https => &["tcp"],
    }
}

/// Rules admitting every CIDR on `port` for `protocol`.
pub fn client_rules(port: u16, protocol: Protocol, cidrs: &[String]) -> Vec<IngressRule> {
    let mut rules = Vec::new();
    for ip_protocol in ip_protocols(protocol) {
        for cidr in cidrs {
            let source = if cidr.contains(':') {
                RuleSource::CidrIpv6(cidr.clone())
            } else {
                RuleSource::CidrIpv4(cidr.clone())
            };
            rules.push(IngressRule {
                ip_protocol: ip_protocol.to_string(),
                from_port: port,
                to_port: port,
                source,
                description: None,
            });
        }
    }
    rules
}

/// Rules admitting every managed prefix list on `port` for `protocol`.
pub fn prefix_list_rules(port: u16, protocol: Protocol, prefix_lists: &[String]) -> Vec<IngressRule> {
    let mut rules = Vec::new();
    for ip_protocol in ip_protocols(protocol) {
        for id in prefix_lists {
            rules.push(IngressRule {
                ip_protocol: ip_protocol.to_string(),
                from_port: port,
                to_port: port,
                source: RuleSource::PrefixList(id.clone()),
                description: None,
            });
        }
    }
    rules
}

/// An EC2 managed prefix list id, as EC2 writes them: `pl-` and lower-case hexadecimal digits.
pub fn is_prefix_list_id(id: &str) -> bool {
    id.strip_prefix("pl-")
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// Comma-separated prefix list ids, as the `security-group-prefix-lists` annotations take them:
/// sorted, once each; `None` unless every one is a `pl-` id.
pub fn parse_prefix_lists(value: &str) -> Option<Vec<String>> {
    let mut ids = crate::annotations::split_list(value);
    ids.sort();
    ids.dedup();
    (!ids.is_empty() && ids.iter().all(|id| is_prefix_list_id(id))).then_some(ids)
}

/// A rule admitting the shared backend group on one node port.
pub fn backend_rule(ip_protocol: &str, port: u16) -> IngressRule {
    IngressRule {
        ip_protocol: ip_protocol.to_string(),
        from_port: port,
        to_port: port,
        source: RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend),
        description: None,
    }
}

/// The security groups of the target nodes that must admit the load balancer: per instance, the
/// one tagged `kubernetes.io/cluster/<cluster>`, else its only group.
pub fn node_groups(nodes: &[&Node], inventory: &CloudInventory, cluster: &str) -> Result<BTreeSet<String>, BuildError> {
    let cluster_tag = format!("kubernetes.io/cluster/{cluster}");
    let mut groups = BTreeSet::new();
    for node in nodes {
        // An instance the inventory does not list yet (just launched) contributes no group until
        // the inventory is read again; failing the whole Service for it would stall every port.
        let Some(instance) = instance_id(node).and_then(|id| inventory.instances.iter().find(|i| i.id == id)) else {
            continue;
        };
        let tagged: Vec<&String> = instance
            .security_groups
            .iter()
            .filter(|id| inventory.security_groups.iter().any(|g| &g.id == *id && g.tags.contains_key(&cluster_tag)))
            .collect();
        let chosen = match (tagged.as_slice(), instance.security_groups.as_slice()) {
            ([one], _) => (*one).clone(),
            ([], [only]) => only.clone(),
            _ => {
                return Err(BuildError::AmbiguousNodeSecurityGroup {
                    node: node.metadata.name.clone().unwrap_or_default(),
                    instance: instance.id.clone(),
                    count: instance.security_groups.len(),
                    tag: cluster_tag,
                });
            }
        };
        groups.insert(chosen);
    }
    Ok(groups)
}

/// What the shared backend group must reach on each node group: every target group's traffic
/// ports and its health-check port, once each. An instance target
/// group's traffic port is its NodePort; an ip target group's are the ports its pods were
/// registered on (the numeric target port, or each pod's resolution of a named one).
pub fn node_rules(
    target_groups: &[TargetGroupSpec],
    nodes: &[&Node],
    inventory: &CloudInventory,
    cluster: &str,
) -> Result<Vec<NodeSecurityGroupRule>, BuildError> {
    let groups = node_groups(nodes, inventory, cluster)?;
    let mut rules: BTreeMap<ResourceId, NodeSecurityGroupRule> = BTreeMap::new();
    for group in &groups {
        for tg in target_groups {
            let traffic: BTreeSet<u16> = match tg.target_type {
                TargetType::Instance => BTreeSet::from([tg.port]),
                TargetType::Ip => tg.targets.iter().map(|t| t.port).collect(),
            };
            let mut ports: Vec<(&str, u16)> = Vec::new();
            for port in &traffic {
                ports.extend(ip_protocols(tg.protocol).iter().map(|p| (*p, *port)));
            }
            // Every health check (TCP, HTTP, HTTPS) is a TCP connection: a UDP target group checked
            // on its traffic port needs a tcp rule on that port too.
            match tg.health_check.port {
                HealthCheckPort::Port(port) => ports.push(("tcp", port)),
                HealthCheckPort::TrafficPort => ports.extend(traffic.iter().map(|port| ("tcp", *port))),
            }
            for (ip_protocol, port) in ports {
                let resource_id = ResourceId::new(format!("NodeRule/{group}/{ip_protocol}/{port}"));
                rules.insert(
                    resource_id.clone(),
                    NodeSecurityGroupRule {
                        resource_id,
                        group_id: group.clone(),
                        rule: backend_rule(ip_protocol, port),
                    },
                );
            }
        }
    }
    Ok(rules.into_values().collect())
}

/// An IPv4 or IPv6 CIDR block, as EC2 takes it.
pub fn is_cidr(cidr: &str) -> bool {
    let Some((address, bits)) = cidr.split_once('/') else { return false };
    let Ok(bits) = bits.parse::<u8>() else { return false };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}
