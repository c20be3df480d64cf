//! Listeners: one per Service port number, TCP, UDP or TCP_UDP as the Service's ports say, TLS
//! where `ssl-cert` is set and `ssl-ports` names the port.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ServicePort;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::settings::Settings;
use crate::error::BuildError;
use elbow_model::stack::{Action, ListenerSpec, Protocol, ResourceId, TargetType};
use elbow_model::tags::Tags;

/// One listener: a port, its protocol, and where its traffic goes.
pub(super) struct ListenerPort {
    pub port: u16,
    pub protocol: Protocol,
    /// Where instance targets receive it; `None` only for ip targets, which need no NodePort.
    pub node_port: Option<u16>,
    /// The Service port (the first, for TCP_UDP): its targetPort and name say where pods receive
    /// the traffic.
    pub service_port: ServicePort,
}

pub(super) fn listener_ports(ports: &[ServicePort], settings: &Settings) -> Result<Vec<ListenerPort>, BuildError> {
    if ports.is_empty() {
        return Err(BuildError::NoPorts);
    }
    let mut by_number: BTreeMap<u16, Vec<&ServicePort>> = BTreeMap::new();
    for port in ports {
        let number = u16::try_from(port.port).ok().filter(|n| *n > 0).ok_or(BuildError::InvalidPort(port.port))?;
        by_number.entry(number).or_default().push(port);
    }
    let mut listeners = Vec::new();
    for (number, same) in by_number {
        let protocol_of = |p: &ServicePort| p.protocol.clone().unwrap_or_else(|| "TCP".to_string());
        let node_port_of = |p: &ServicePort| {
            let node_port = p.node_port.and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0);
            match (node_port, settings.target_type) {
                (Some(node_port), _) => Ok(Some(node_port)),
                (None, TargetType::Ip) => Ok(None),
                (None, TargetType::Instance) => {
                    Err(BuildError::MissingNodePort { port: p.port, protocol: protocol_of(p) })
                }
            }
        };
        let protocols: BTreeSet<String> = same.iter().map(|p| protocol_of(p)).collect();
        if protocols.len() != same.len() {
            return Err(BuildError::DuplicatePort { port: i32::from(number), protocol: protocol_of(same[0]) });
        }
        let first = same[0];
        let protocol = match protocols.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["TCP"] if tls_port(settings, number, first.name.as_deref()) => Protocol::Tls,
            ["TCP"] => Protocol::Tcp,
            ["UDP"] => Protocol::Udp,
            ["TCP", "UDP"] if !settings.tcp_udp_listener => {
                return Err(BuildError::TcpUdpListenerDisabled { port: i32::from(number) });
            }
            ["TCP", "UDP"] => {
                // One target group serves both: its targets must take both on one port.
                match settings.target_type {
                    TargetType::Instance => {
                        let node_ports: BTreeSet<Option<u16>> =
                            same.iter().map(|p| node_port_of(p)).collect::<Result<_, _>>()?;
                        if node_ports.len() > 1 {
                            return Err(BuildError::MixedProtocolNodePorts { port: i32::from(number) });
                        }
                    }
                    TargetType::Ip => {
                        let target_ports: BTreeSet<String> = same.iter().map(|p| target_port_of(p)).collect();
                        if target_ports.len() > 1 {
                            return Err(BuildError::MixedProtocolTargetPorts { port: i32::from(number) });
                        }
                    }
                }
                Protocol::TcpUdp
            }
            _ => {
                let bad = protocols.iter().find(|p| *p != "TCP" && *p != "UDP").cloned().unwrap_or_default();
                return Err(BuildError::UnsupportedProtocol { port: i32::from(number), protocol: bad });
            }
        };
        listeners.push(ListenerPort {
            port: number,
            protocol,
            node_port: node_port_of(first)?,
            service_port: first.clone(),
        });
    }
    Ok(listeners)
}

/// A port's targetPort as written (a number or a name); unset is the port itself.
fn target_port_of(port: &ServicePort) -> String {
    match &port.target_port {
        Some(IntOrString::Int(number)) => number.to_string(),
        Some(IntOrString::String(name)) => name.clone(),
        None => port.port.to_string(),
    }
}

fn tls_port(settings: &Settings, number: u16, name: Option<&str>) -> bool {
    if settings.certificates.is_empty() {
        return false;
    }
    match &settings.ssl_ports {
        None => true,
        Some(ports) => ports.iter().any(|p| p == &number.to_string() || Some(p.as_str()) == name),
    }
}

/// The listener of `port`, forwarding everything to its target group.
pub(super) fn listener(
    port: &ListenerPort,
    settings: &Settings,
    load_balancer: &ResourceId,
    target_group: &ResourceId,
    tags_for: &dyn Fn(&ResourceId) -> Tags,
) -> ListenerSpec {
    let resource_id = ResourceId::new(format!("Listener/{}", port.port));
    let tls = port.protocol == Protocol::Tls;
    ListenerSpec {
        load_balancer: load_balancer.clone(),
        port: port.port,
        protocol: port.protocol,
        certificates: if tls { settings.certificates.clone() } else { Vec::new() },
        ssl_policy: tls.then(|| settings.ssl_policy.clone()),
        alpn_policy: settings.alpn_policy.filter(|_| tls),
        mutual_authentication: None,
        default_actions: vec![Action::forward(target_group.clone())],
        rules: Vec::new(),
        attributes: settings
            .listener_attributes
            .get(&listener_name(port.protocol, port.port))
            .cloned()
            .unwrap_or_default(),
        tags: tags_for(&resource_id),
        resource_id,
    }
}

/// `TCP-80`: how the `listener-attributes.` annotation names a listener.
pub(super) fn listener_name(protocol: Protocol, port: u16) -> String {
    format!("{}-{port}", protocol.as_str())
}
