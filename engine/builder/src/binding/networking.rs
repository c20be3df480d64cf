//! A binding's `networking.ingress` rules as security-group rules on the groups of the nodes its
//! targets are (instance) or run on (ip): the binding's stack, which holds nothing but these
//! rules. The deployer adds them with the binding's claim and Elbow's ownership tags, like every
//! rule Elbow adds to a group it does not own, and removes them when the binding's stack is
//! deployed empty.
//!
//! ```text
//! ingress[i].from[j]   ipBlock.cidr ──> a CIDR source      securityGroup.groupID ──> a group source
//! ingress[i].ports[k]  protocol (TCP) × port: a number ──> that port
//!                                             unset    ──> 0-65535
//!                                             a name   ──> the pods' ports for it (ip targets)
//!                      no ports at all ──> every TCP port
//! ```

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::error::BindingError;
use super::spec::{NetworkingProtocol, TargetGroupBindingNetworking};
use super::targets::DesiredTargets;
use crate::security::is_cidr;
use elbow_model::{
    IngressRule, NodeSecurityGroupRule, ResourceId, RuleSource, SecurityGroupRef, Stack, StackId, TargetType,
};

/// The permissions `networking` asks for, each once, checked whether or not any group is known
/// yet (a mistake shows before the first pod is ready).
pub fn permissions(
    networking: Option<&TargetGroupBindingNetworking>,
    target_type: TargetType,
    desired: &DesiredTargets<'_>,
) -> Result<Vec<IngressRule>, BindingError> {
    let mut permissions = BTreeSet::new();
    let rules = networking.and_then(|n| n.ingress.as_deref()).unwrap_or_default();
    for (r, rule) in rules.iter().enumerate() {
        let mut sources = Vec::with_capacity(rule.from.len());
        for (p, peer) in rule.from.iter().enumerate() {
            sources.push(match (&peer.ip_block, &peer.security_group) {
                (Some(block), None) if is_cidr(&block.cidr) => match block.cidr.contains(':') {
                    true => RuleSource::CidrIpv6(block.cidr.clone()),
                    false => RuleSource::CidrIpv4(block.cidr.clone()),
                },
                (Some(block), None) => {
                    return Err(BindingError::InvalidCidr { rule: r, peer: p, cidr: block.cidr.clone() });
                }
                (None, Some(group)) => RuleSource::SecurityGroup(SecurityGroupRef::Existing(group.group_id.clone())),
                _ => return Err(BindingError::InvalidPeer { rule: r, peer: p }),
            });
        }
        let mut ranges: Vec<(&str, u16, u16)> = Vec::new();
        if rule.ports.is_empty() {
            ranges.push(("tcp", 0, u16::MAX));
        }
        for (k, port) in rule.ports.iter().enumerate() {
            let protocol = port.protocol.unwrap_or(NetworkingProtocol::Tcp).ip_protocol();
            match &port.port {
                None => ranges.push((protocol, 0, u16::MAX)),
                Some(IntOrString::Int(number)) => {
                    let number = u16::try_from(*number).map_err(|_| BindingError::InvalidPort {
                        rule: r,
                        port: k,
                        value: number.to_string(),
                    })?;
                    ranges.push((protocol, number, number));
                }
                Some(IntOrString::String(name)) => {
                    for number in named_port(name, target_type, desired, r, k)? {
                        ranges.push((protocol, number, number));
                    }
                }
            }
        }
        for source in &sources {
            for (protocol, from, to) in &ranges {
                permissions.insert(IngressRule {
                    ip_protocol: protocol.to_string(),
                    from_port: *from,
                    to_port: *to,
                    source: source.clone(),
                    description: None,
                });
            }
        }
    }
    Ok(permissions.into_iter().collect())
}

/// A named port is the pods' port of that name. Elbow reads no Pod specs, only the Service and
/// its EndpointSlices, so the one name it can resolve is the bound Service port's targetPort:
/// each pod's port for it is the port the pod is registered on.
fn named_port(
    name: &str,
    target_type: TargetType,
    desired: &DesiredTargets<'_>,
    rule: usize,
    port: usize,
) -> Result<BTreeSet<u16>, BindingError> {
    if target_type == TargetType::Instance {
        return Err(BindingError::NamedPortWithInstanceTargets { rule, port, name: name.to_string() });
    }
    if desired.named_target_port.as_deref() != Some(name) {
        return Err(BindingError::UnknownNamedPort { rule, port, name: name.to_string() });
    }
    Ok(desired.targets.iter().map(|t| t.port).collect())
}

/// The binding's stack: every permission on every one of `groups` (the security groups of the
/// nodes in [`DesiredTargets::nodes`]).
pub fn binding_stack(id: StackId, permissions: &[IngressRule], groups: &BTreeSet<String>) -> Stack {
    let mut rules: BTreeMap<ResourceId, NodeSecurityGroupRule> = BTreeMap::new();
    for group in groups {
        for permission in permissions {
            let resource_id = ResourceId::new(format!(
                "BindingRule/{group}/{}/{}-{}/{}",
                permission.ip_protocol,
                permission.from_port,
                permission.to_port,
                source_text(&permission.source)
            ));
            rules.insert(
                resource_id.clone(),
                NodeSecurityGroupRule { resource_id, group_id: group.clone(), rule: permission.clone() },
            );
        }
    }
    Stack { node_security_group_rules: rules.into_values().collect(), ..Stack::empty(id) }
}

fn source_text(source: &RuleSource) -> &str {
    match source {
        RuleSource::CidrIpv4(cidr) | RuleSource::CidrIpv6(cidr) => cidr,
        RuleSource::SecurityGroup(SecurityGroupRef::Existing(id) | SecurityGroupRef::Managed(ResourceId(id))) => id,
        RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend) => "backend",
        RuleSource::PrefixList(id) => id,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use elbow_model::Target;

    fn networking(value: serde_json::Value) -> TargetGroupBindingNetworking {
        serde_json::from_value(json!({ "ingress": value })).unwrap()
    }

    fn ip_targets(ports: &[u16]) -> DesiredTargets<'static> {
        DesiredTargets {
            targets: ports.iter().enumerate().map(|(i, p)| Target::new(format!("10.0.0.{i}"), *p)).collect(),
            nodes: Vec::new(),
            named_target_port: Some("web".into()),
            ..Default::default()
        }
    }

    fn text(rules: &[IngressRule]) -> Vec<String> {
        rules
            .iter()
            .map(|r| format!("{} {}-{} {}", r.ip_protocol, r.from_port, r.to_port, source_text(&r.source)))
            .collect()
    }

    #[test]
    fn each_source_gets_each_port_and_no_port_means_all() {
        let rules = networking(json!([
            { "from": [{ "ipBlock": { "cidr": "10.0.0.0/16" } }, { "securityGroup": { "groupID": "sg-lb" } }],
              "ports": [{ "port": 8080 }, { "protocol": "UDP", "port": 53 }, { "protocol": "UDP" }] },
            { "from": [{ "ipBlock": { "cidr": "fd00::/8" } }], "ports": [] },
        ]));
        let found = permissions(Some(&rules), TargetType::Instance, &DesiredTargets::default()).unwrap();
        assert_eq!(
            text(&found),
            [
                "tcp 0-65535 fd00::/8",
                "tcp 8080-8080 10.0.0.0/16",
                "tcp 8080-8080 sg-lb",
                "udp 0-65535 10.0.0.0/16",
                "udp 0-65535 sg-lb",
                "udp 53-53 10.0.0.0/16",
                "udp 53-53 sg-lb",
            ]
        );
        assert_eq!(found[0].source, RuleSource::CidrIpv6("fd00::/8".into()));
        assert_eq!(found[2].source, RuleSource::SecurityGroup(SecurityGroupRef::Existing("sg-lb".into())));
        assert_eq!(permissions(None, TargetType::Ip, &DesiredTargets::default()), Ok(vec![]));
    }

    #[test]
    fn a_named_port_is_the_pods_ports_of_the_services_target_port() {
        let rules =
            networking(json!([{ "from": [{ "ipBlock": { "cidr": "10.0.0.0/16" } }], "ports": [{ "port": "web" }] }]));
        let found = permissions(Some(&rules), TargetType::Ip, &ip_targets(&[8080, 8081, 8080])).unwrap();
        assert_eq!(text(&found), ["tcp 8080-8080 10.0.0.0/16", "tcp 8081-8081 10.0.0.0/16"]);
        assert!(matches!(
            permissions(Some(&rules), TargetType::Instance, &ip_targets(&[8080])),
            Err(BindingError::NamedPortWithInstanceTargets { rule: 0, port: 0, .. })
        ));
        let other =
            networking(json!([{ "from": [{ "ipBlock": { "cidr": "10.0.0.0/16" } }], "ports": [{ "port": "admin" }] }]));
        let error = permissions(Some(&other), TargetType::Ip, &ip_targets(&[8080])).unwrap_err();
        assert!(
            error.to_string().starts_with("spec.networking.ingress[0].ports[0].port \"admin\" is not the targetPort")
        );
    }

    #[test]
    fn malformed_sources_and_ports_are_refused_by_position() {
        let both = networking(json!([{ "from": [{ "ipBlock": { "cidr": "10.0.0.0/16" } }, {
            "ipBlock": { "cidr": "10.0.0.0/16" }, "securityGroup": { "groupID": "sg-1" } }], "ports": [] }]));
        assert_eq!(
            permissions(Some(&both), TargetType::Instance, &DesiredTargets::default()),
            Err(BindingError::InvalidPeer { rule: 0, peer: 1 })
        );
        let bad_cidr = networking(json!([{ "from": [{ "ipBlock": { "cidr": "10.0.0.0" } }], "ports": [] }]));
        assert!(matches!(
            permissions(Some(&bad_cidr), TargetType::Instance, &DesiredTargets::default()),
            Err(BindingError::InvalidCidr { .. })
        ));
        let bad_port =
            networking(json!([{ "from": [{ "ipBlock": { "cidr": "10.0.0.0/8" } }], "ports": [{ "port": 70000 }] }]));
        assert!(matches!(
            permissions(Some(&bad_port), TargetType::Instance, &DesiredTargets::default()),
            Err(BindingError::InvalidPort { rule: 0, port: 0, .. })
        ));
    }

    #[test]
    fn the_stack_holds_every_permission_on_every_group_and_nothing_else() {
        let rules = networking(
            json!([{ "from": [{ "securityGroup": { "groupID": "sg-lb" } }], "ports": [{ "port": 30080 }] }]),
        );
        let found = permissions(Some(&rules), TargetType::Instance, &DesiredTargets::default()).unwrap();
        let groups = BTreeSet::from(["sg-a".to_string(), "sg-b".to_string()]);
        let stack = binding_stack(StackId::new("targetgroupbinding:shop/web"), &found, &groups);
        let ids: Vec<&str> = stack.node_security_group_rules.iter().map(|r| r.resource_id.as_str()).collect();
        assert_eq!(ids, ["BindingRule/sg-a/tcp/30080-30080/sg-lb", "BindingRule/sg-b/tcp/30080-30080/sg-lb"]);
        assert!(stack.load_balancers.is_empty() && stack.target_groups.is_empty() && stack.security_groups.is_empty());
        assert!(binding_stack(StackId::new("x"), &found, &BTreeSet::new()).is_empty(), "no group, no rule");
    }
}
