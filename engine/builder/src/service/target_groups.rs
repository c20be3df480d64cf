//! Target groups: one per listener, with the Service's one health check. In instance mode they
//! are on the port's NodePort and the nodes `target-node-labels` selects are the targets; in ip
//! mode they are on the numeric target port (1 for a named one) and the targets are the ready
//! pods of the Service's EndpointSlices, each on the port its slice gives.

use std::collections::BTreeMap;

use crate::endpoints::CompactSlice;
use k8s_openapi::api::core::v1::Node;

use super::Identity;
use super::attributes::PROXY_PROTOCOL_V2;
use super::listeners::ListenerPort;
use super::settings::Settings;
use crate::config::BuildConfig;
use crate::endpoints::{PodFacts, PodTargets, pod_targets, target_group_port};
use crate::names::target_group_name;
use crate::nodes::{target_nodes, targets, with_labels};
use elbow_model::inventory::CloudInventory;
use elbow_model::stack::{Attributes, HealthCheck, IpAddressType, Protocol, ResourceId, TargetGroupSpec, TargetType};
use elbow_model::tags::Tags;

/// What every target group of the Service shares.
pub(super) struct TargetGroupContext<'a> {
    pub identity: &'a Identity,
    pub settings: &'a Settings,
    /// One health check for every target group, as the annotations are per Service.
    pub health_check: &'a HealthCheck,
    /// The target nodes (instance mode).
    pub nodes: &'a [&'a Node],
    /// Every node of the cluster, whose readiness decides fail-open for pods (ip mode).
    pub all_nodes: &'a [&'a Node],
    /// The Service's own EndpointSlices (ip mode).
    pub slices: &'a [&'a CompactSlice],
    /// Which of their not-ready pods wait only for their target health.
    pub pods: &'a dyn PodFacts,
    pub inventory: &'a CloudInventory,
    pub config: &'a BuildConfig,
    pub tags_for: &'a dyn Fn(&ResourceId) -> Tags,
}

/// The target group behind `port`'s listener, and (ip mode) what its pods are: the nodes they
/// run on and those a QUIC group leaves out.
pub(super) fn target_group(port: &ListenerPort, context: &TargetGroupContext<'_>) -> (TargetGroupSpec, PodTargets) {
    let TargetGroupContext {
        identity,
        settings,
        health_check,
        nodes,
        all_nodes,
        slices,
        pods,
        inventory,
        config,
        tags_for,
    } = context;
    let health_check = (*health_check).clone();
    let protocol = backend_protocol(port, settings);
    let target_type = settings.target_type;
    let (tg_port, targets, pods) = match (target_type, port.node_port) {
        (TargetType::Instance, Some(node_port)) => (node_port, targets(nodes, node_port), PodTargets::default()),
        // Instance ports without a NodePort were refused when the listeners were read, and QUIC
        // ports of instance Services.
        (TargetType::Instance, None) | (TargetType::Ip, _) => {
            let mut pods = pod_targets(slices, &port.service_port, all_nodes, *pods, protocol.is_quic());
            let targets = std::mem::take(&mut pods.targets);
            (target_group_port(&port.service_port), targets, pods)
        }
    };
    let resource_id = ResourceId::new(format!("TargetGroup/{}", port.port));
    let spec = TargetGroupSpec {
        name: name(port, tg_port, identity, settings, &health_check, config),
        target_type,
        protocol,
        port: tg_port,
        protocol_version: None,
        vpc_id: inventory.vpc_id.clone(),
        ip_address_type: IpAddressType::Ipv4,
        health_check,
        attributes: attributes(port, settings),
        tags: tags_for(&resource_id),
        targets,
        resource_id,
    };
    (spec, pods)
}

/// A TLS listener talks plain TCP to the targets unless `backend-protocol: ssl`.
fn backend_protocol(port: &ListenerPort, settings: &Settings) -> Protocol {
    match port.protocol {
        Protocol::Tls if !settings.backend_tls => Protocol::Tcp,
        other => other,
    }
}

/// The name of `port`'s target group on `tg_port`: LBC's hash over the Service, the port and the
/// group's shape (target type, protocol, health check).
pub(super) fn name(
    port: &ListenerPort,
    tg_port: u16,
    identity: &Identity,
    settings: &Settings,
    health_check: &HealthCheck,
    config: &BuildConfig,
) -> String {
    target_group_name(
        &config.cluster_name,
        &identity.namespace,
        &identity.name,
        &identity.uid,
        tg_port,
        &port.port.to_string(),
        settings.target_type.as_str(),
        backend_protocol(port, settings).as_str(),
        health_check.protocol.as_str(),
        health_check.interval_seconds,
    )
}

/// Target nodes, narrowed by `target-node-labels` (`key=value` must match, `key` must exist).
pub(super) fn selected_nodes<'a>(nodes: &[&'a Node], labels: Option<&BTreeMap<String, String>>) -> Vec<&'a Node> {
    with_labels(&target_nodes(nodes), labels)
}

/// `target-group-attributes`, with proxy protocol as `proxy-protocol-per-target-group` sets it
/// for this port.
fn attributes(port: &ListenerPort, settings: &Settings) -> Attributes {
    let mut attributes = settings.target_group_attributes.clone();
    if let Some(ports) = &settings.proxy_protocol_ports {
        attributes.insert(PROXY_PROTOCOL_V2.to_string(), ports.contains(&port.port).to_string());
    }
    attributes
}
