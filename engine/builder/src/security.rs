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

/// EC2's protocol names for the rules an ELBv2 protocol needs (TCP_UDP and TCP_QUIC need both;
/// QUIC is UDP on the wire).
pub fn ip_protocols(protocol: Protocol) -> &'static [&'static str] {
    match protocol {
        Protocol::Udp | Protocol::Quic => &["udp"],
        Protocol::TcpUdp | Protocol::TcpQuic => &["tcp", "udp"],
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

/// Where the traffic of a network load balancer without security groups comes from, as the
/// nodes see it: nothing carries the backend group, so the nodes' group must admit addresses.
pub struct OpenSources<'a> {
    /// The CIDR blocks of the load balancer's subnets: its own addresses, which health checks and
    /// traffic that does not preserve the client's address come from.
    pub load_balancer_subnets: &'a [String],
    /// The clients' ranges asked for (`spec.loadBalancerSourceRanges`, else the annotation),
    /// empty when none were.
    pub client_ranges: &'a [String],
    /// Who may connect when no range is asked for: everyone for an internet-facing load
    /// balancer, the VPC's addresses (the CIDR blocks of its subnets) for an internal one.
    pub default_ranges: &'a [String],
}

/// The node rules of a network load balancer without security groups, by the rules the AWS Load
/// Balancer Controller applies to one: for each target group, its traffic ports are open to the
/// clients' ranges when the client's address reaches the targets (UDP and TCP_UDP always, else
/// the `preserve_client_ip.enabled` attribute, on by default for instance targets), and to the
/// load balancer's subnets otherwise; health checks come from the load balancer's subnets, which
/// get a tcp rule of their own unless the traffic rule already admits them.
pub fn open_node_rules(
    target_groups: &[TargetGroupSpec],
    sources: &OpenSources<'_>,
    nodes: &[&Node],
    inventory: &CloudInventory,
    cluster: &str,
) -> Result<Vec<NodeSecurityGroupRule>, BuildError> {
    let groups = node_groups(nodes, inventory, cluster)?;
    let mut rules: BTreeMap<ResourceId, NodeSecurityGroupRule> = BTreeMap::new();
    for tg in target_groups {
        let preserves_client_ip = match tg.attributes.get("preserve_client_ip.enabled").map(String::as_str) {
            Some(value) => value.eq_ignore_ascii_case("true"),
            None => tg.target_type == TargetType::Instance,
        };
        let client_facing = tg.protocol.carries_udp() || preserves_client_ip;
        let (traffic_sources, default_used) = match (client_facing, sources.client_ranges.is_empty()) {
            (false, _) => (sources.load_balancer_subnets, false),
            (true, false) => (sources.client_ranges, false),
            (true, true) => (sources.default_ranges, true),
        };
        let traffic: BTreeSet<u16> = match tg.target_type {
            TargetType::Instance => BTreeSet::from([tg.port]),
            TargetType::Ip => tg.targets.iter().map(|t| t.port).collect(),
        };
        let mut wanted: Vec<(&str, u16, &[String])> = Vec::new();
        for port in &traffic {
            wanted.extend(ip_protocols(tg.protocol).iter().map(|p| (*p, *port, traffic_sources)));
        }
        let (health_ports, on_traffic_port) = match tg.health_check.port {
            HealthCheckPort::Port(port) => (BTreeSet::from([port]), port == tg.port),
            HealthCheckPort::TrafficPort => (traffic.clone(), true),
        };
        // The traffic rule already admits the load balancer's own addresses on a tcp port when
        // they are its source, when the source is a default range (the world, or the VPC which
        // holds the subnets), or when it is open to the world.
        let world = traffic_sources.iter().any(|c| c == "0.0.0.0/0" || c == "::/0");
        let covered =
            ip_protocols(tg.protocol).contains(&"tcp") && on_traffic_port && (!client_facing || default_used || world);
        if !covered {
            wanted.extend(health_ports.iter().map(|port| ("tcp", *port, sources.load_balancer_subnets)));
        }
        for group in &groups {
            for (ip_protocol, port, cidrs) in &wanted {
                for rule in client_rules(*port, protocol_of(ip_protocol), cidrs) {
                    let source = match &rule.source {
                        RuleSource::CidrIpv4(cidr) | RuleSource::CidrIpv6(cidr) => cidr.clone(),
                        RuleSource::PrefixList(id) => id.clone(),
                        RuleSource::SecurityGroup(_) => String::new(),
                    };
                    let resource_id = ResourceId::new(format!("NodeRule/{group}/{ip_protocol}/{port}/{source}"));
                    rules.insert(
                        resource_id.clone(),
                        NodeSecurityGroupRule { resource_id, group_id: group.clone(), rule },
                    );
                }
            }
        }
    }
    Ok(rules.into_values().collect())
}

/// The ELBv2 protocol whose one EC2 protocol is `ip_protocol`.
fn protocol_of(ip_protocol: &str) -> Protocol {
    if ip_protocol == "udp" { Protocol::Udp } else { Protocol::Tcp }
}

/// Whether an entry of a `security-groups` annotation is an id (`sg-...`) rather than a name, as
/// the AWS Load Balancer Controller tells them apart.
pub fn is_security_group_id(entry: &str) -> bool {
    entry.starts_with("sg-")
}

/// The names among a `security-groups` annotation's entries (ids left out), sorted, once each:
/// what the controllers ask EC2 for (the groups of the cluster's VPC carrying one of them as
/// their `Name` tag) and add to the inventory before building.
pub fn security_group_names(value: &str) -> Vec<String> {
    let mut names: Vec<String> =
        crate::annotations::split_list(value).into_iter().filter(|entry| !is_security_group_id(entry)).collect();
    names.sort();
    names.dedup();
    names
}

/// The ids of the security groups a `security-groups` annotation lists, in its order, once each.
/// An id is taken as written; a name must be the `Name` tag of exactly one group of the
/// inventory, which holds every group of the VPC carrying one of the names (see
/// [`security_group_names`]). An unknown name is an error naming it, as in the AWS Load Balancer
/// Controller; so is a name two groups carry, where that controller would attach both: a
/// duplicated tag should not open a load balancer to a group nobody meant.
pub fn resolve_security_groups(entries: &[String], inventory: &CloudInventory) -> Result<Vec<String>, BuildError> {
    let mut ids: Vec<String> = Vec::new();
    for entry in entries {
        let id = if is_security_group_id(entry) {
            entry.clone()
        } else {
            let carrying: Vec<String> = inventory
                .security_groups
                .iter()
                .filter(|g| g.tags.get("Name") == Some(entry))
                .map(|g| g.id.clone())
                .collect();
            match <[String; 1]>::try_from(carrying) {
                Ok([id]) => id,
                Err(carrying) if carrying.is_empty() => return Err(BuildError::UnknownSecurityGroup(entry.clone())),
                Err(carrying) => {
                    return Err(BuildError::AmbiguousSecurityGroupName { name: entry.clone(), ids: carrying });
                }
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
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
