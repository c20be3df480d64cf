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
    let asked = client_ranges(spec, settings)?;
    let prefix_lists = settings.prefix_lists.clone().unwrap_or_default();
    // Prefix lists without source ranges admit only the prefix lists, as the AWS Load Balancer
    // Controller has it; the world is let in only when neither is given.
    let cidrs = match asked {
        ranges if !ranges.is_empty() => ranges,
        _ if !prefix_lists.is_empty() => Vec::new(),
        _ if settings.ip_address_type == IpAddressType::Dualstack => vec!["0.0.0.0/0".into(), "::/0".into()],
        _ => vec!["0.0.0.0/0".into()],
    };
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

/// The clients' ranges the Service asks for: `spec.loadBalancerSourceRanges`, else the
/// `load-balancer-source-ranges` annotation; empty when neither is set.
pub(super) fn client_ranges(spec: &ServiceSpec, settings: &Settings) -> Result<Vec<String>, BuildError> {
    let from_spec = spec.load_balancer_source_ranges.clone().filter(|r| !r.is_empty());
    let ranges = from_spec.or_else(|| settings.source_ranges.clone()).unwrap_or_default();
    // The annotation was checked when read; the API server does not check the spec's list.
    if let Some(bad) = ranges.iter().find(|cidr| !is_cidr(cidr)) {
        return Err(BuildError::InvalidSourceRange(bad.clone()));
    }
    Ok(ranges)
}
