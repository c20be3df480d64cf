//! `quic-enabled-ports`: the listed ports' UDP listener becomes QUIC, and a TCP_UDP one TCP_QUIC,
//! with a target group of the same protocol, as in the AWS Load Balancer Controller (LBC).
//!
//! ELBv2 allows a QUIC listener only on a load balancer that has no security groups, is not
//! dualstack, has no other QUIC listener and no UDP or TCP_UDP listener. LBC leaves those to
//! CreateListener to refuse; Elbow refuses them here, naming the annotation, before the cloud is
//! touched. It also refuses instance targets, where LBC registers none: a node has no server id.

use k8s_openapi::api::core::v1::ServicePort;

use super::listeners::ListenerPort;
use super::settings::Settings;
use crate::annotations::Annotations;
use crate::error::BuildError;
use elbow_model::stack::{IpAddressType, Protocol, TargetType};

/// The annotation (after the prefix).
pub(super) const PORTS: &str = "aws-load-balancer-quic-enabled-ports";

/// Upgrades the listed ports of `listeners` to QUIC, and checks that the load balancer can have
/// them.
pub(super) fn upgrade(
    a: &Annotations<'_>,
    settings: &Settings,
    service_ports: &[ServicePort],
    listeners: &mut [ListenerPort],
) -> Result<(), BuildError> {
    let Some(listed) = &settings.quic_ports else { return Ok(()) };
    let value = a.get(PORTS).unwrap_or_default();
    let refuse = |why: &str| Err(a.invalid(PORTS, value, why));
    let is_listed = |number: u16| {
        listed.iter().any(|entry| {
            *entry == number.to_string()
                || service_ports.iter().any(|p| p.port == i32::from(number) && p.name.as_ref() == Some(entry))
        })
    };
    for listener in listeners.iter_mut().filter(|l| is_listed(l.port)) {
        listener.protocol = match listener.protocol {
            Protocol::Udp => Protocol::Quic,
            Protocol::TcpUdp => Protocol::TcpQuic,
            other => {
                return refuse(&format!(
                    "ports whose listener is UDP or TCP_UDP (QUIC runs over UDP); port {} is {}",
                    listener.port,
                    other.as_str()
                ));
            }
        };
    }
    let quic: Vec<u16> = listeners.iter().filter(|l| l.protocol.is_quic()).map(|l| l.port).collect();
    if quic.len() > 1 {
        return refuse(&format!(
            "one port: ELBv2 allows one QUIC or TCP_QUIC listener per load balancer ({quic:?} given)"
        ));
    }
    if let Some(udp) = listeners.iter().find(|l| matches!(l.protocol, Protocol::Udp | Protocol::TcpUdp)) {
        return refuse(&format!(
            "the load balancer's only UDP port: ELBv2 allows no UDP or TCP_UDP listener beside a QUIC one (port {} is {}); list it too, or move it to another Service",
            udp.port,
            udp.protocol.as_str()
        ));
    }
    if settings.target_type != TargetType::Ip {
        return refuse(
            "a port of a Service with ip targets (nlb-target-type: ip): every QUIC target is registered with its pod's server id, and a node has none",
        );
    }
    if !settings.without_security_groups {
        return refuse(&format!(
            "a port of a load balancer without security groups: ELBv2 allows no QUIC listener on one that has them; set {}: \"true\" (it cannot change on an existing network load balancer, so the Service must be created with it)",
            a.name("aws-load-balancer-disable-nlb-sg")
        ));
    }
    if settings.ip_address_type == IpAddressType::Dualstack {
        return refuse("a port of an ipv4 load balancer: ELBv2 allows no QUIC listener on a dualstack one");
    }
    Ok(())
}
