//! Target groups: one per listener, in instance mode on the port's NodePort, with the Service's
//! one health check and the nodes `target-node-labels` selects as targets.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;

use super::Identity;
use super::listeners::ListenerPort;
use super::settings::Settings;
use crate::config::BuildConfig;
use crate::names::target_group_name;
use crate::nodes::{target_nodes, targets, with_labels};
use elbow_model::inventory::CloudInventory;
use elbow_model::stack::{HealthCheck, IpAddressType, Protocol, ResourceId, TargetGroupSpec, TargetType};
use elbow_model::tags::Tags;

/// What every target group of the Service shares.
pub(super) struct TargetGroupContext<'a> {
    pub identity: &'a Identity,
    pub settings: &'a Settings,
    /// One health check for every target group, as the annotations are per Service.
    pub health_check: &'a HealthCheck,
    pub nodes: &'a [&'a Node],
    pub inventory: &'a CloudInventory,
    pub config: &'a BuildConfig,
    pub tags_for: &'a dyn Fn(&ResourceId) -> Tags,
}

/// The target group behind `port`'s listener. A TLS listener talks plain TCP to the targets
/// unless `backend-protocol: ssl`.
pub(super) fn target_group(port: &ListenerPort, context: &TargetGroupContext<'_>) -> TargetGroupSpec {
    let TargetGroupContext { identity, settings, health_check, nodes, inventory, config, tags_for } = context;
    let health_check = (*health_check).clone();
    let protocol = match port.protocol {
        Protocol::Tls if !settings.backend_tls => Protocol::Tcp,
        other => other,
    };
    let resource_id = ResourceId::new(format!("TargetGroup/{}", port.port));
    TargetGroupSpec {
        name: target_group_name(
            &config.cluster_name,
            &identity.namespace,
            &identity.name,
            &identity.uid,
            port.node_port,
            &port.port.to_string(),
            TargetType::Instance.as_str(),
            protocol.as_str(),
            health_check.protocol.as_str(),
            health_check.interval_seconds,
        ),
        target_type: TargetType::Instance,
        protocol,
        port: port.node_port,
        vpc_id: inventory.vpc_id.clone(),
        ip_address_type: IpAddressType::Ipv4,
        health_check,
        attributes: settings.target_group_attributes.clone(),
        tags: tags_for(&resource_id),
        targets: targets(nodes, port.node_port),
        resource_id,
    }
}

/// Target nodes, narrowed by `target-node-labels` (`key=value` must match, `key` must exist).
pub(super) fn selected_nodes<'a>(nodes: &[&'a Node], labels: Option<&BTreeMap<String, String>>) -> Vec<&'a Node> {
    with_labels(&target_nodes(nodes), labels)
}
