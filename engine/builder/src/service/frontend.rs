//! The managed frontend security group: the listener ports open to the Service's source ranges
//! (`spec.loadBalancerSourceRanges`, else the annotation, else everyone) and to the managed prefix
//! lists of `security-group-prefix-lists`.

use k8s_openapi::api::core::v1::ServiceSpec;

use super::Identity;
use super::listeners::ListenerPort;
use super::settings::Settings;
use crate::config::BuildConfig;
use crate::error::BuildError;
use crate::names::frontend_group_name;
use crate::security::{client_rules, is_cidr, prefix_list_rules};
use elbow_model::inventory::CloudInventory;
use elbow_model::stack::{IngressRule, IpAddressType, ResourceId, SecurityGroupSpec};
use elbow_model::tags::Tags;

pub(super) fn frontend_group(
    identity: &Identity,
    spec: &ServiceSpec,
    settings: &Settings,
    ports: &[ListenerPort],
    inventory: &CloudInventory,
    config: &BuildConfig,
    tags_for: &dyn Fn(&ResourceId) -> Tags,
) -> Result<SecurityGroupSpec, BuildError> {
    let from_spec = spec.load_balancer_source_ranges.clone().filter(|r| !r.is_empty());
    let prefix_lists = settings.prefix_lists.clone().unwrap_or_default();
    // Prefix lists without source ranges admit only the prefix lists, as the AWS Load Balancer
    // Controller has it; the world is let in only when neither is given.
    let cidrs = match (from_spec, &settings.source_ranges) {
        (Some(ranges), _) => ranges,
        (None, Some(ranges)) => ranges.clone(),
        (None, None) if !prefix_lists.is_empty() => Vec::new(),
        (None, None) if settings.ip_address_type == IpAddressType::Dualstack => vec!["0.0.0.0/0".into(), "::/0".into()],
        (None, None) => vec!["0.0.0.0/0".into()],
    };
    // The annotation was checked when read; the API server does not check the spec's list.
    if let Some(bad) = cidrs.iter().find(|cidr| !is_cidr(cidr)) {
        return Err(BuildError::InvalidSourceRange(bad.clone()));
    }
    let mut ingress: Vec<IngressRule> = ports.iter().flat_map(|p| client_rules(p.port, p.protocol, &cidrs)).collect();
    ingress.extend(ports.iter().flat_map(|p| prefix_list_rules(p.port, p.protocol, &prefix_lists)));
    ingress.sort();
    ingress.dedup();
    let resource_id = ResourceId::new("SecurityGroup/frontend");
    Ok(SecurityGroupSpec {
        group_name: frontend_group_name(&config.cluster_name, &identity.namespace, &identity.name, &identity.uid),
        description: format!("[elbow] frontend of Service {}/{}", identity.namespace, identity.name),
        vpc_id: inventory.vpc_id.clone(),
        ingress,
        tags: tags_for(&resource_id),
        resource_id,
    })
}
