//! Which targets a TargetGroupBinding's target group should hold, by the rules the Service
//! stacks follow:
//!
//! ```text
//! instance  Service (NodePort or LoadBalancer) port ── nodePort
//!           nodes ── nodeSelector ── eligible, Ready (Unknown when none is Ready) ──> (instance id, nodePort)
//! ip        the Service's EndpointSlices ── ready pods (endpoints.rs) ──────────────> (pod IP, pod port)
//! ```
//!
//! A Service or Service port that does not exist is reported as such
//! ([`BindingError::backend_missing`]): the caller then empties the group of the binding's
//! targets, as the AWS Load Balancer Controller does.

use std::collections::BTreeSet;

use crate::endpoints::CompactSlice;
use k8s_openapi::api::core::v1::{Node, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::error::BindingError;
use super::spec::{TargetGroupBindingSpec, TargetGroupIpAddressType};
use crate::endpoints::{PodFacts, pod_targets, slices_of};
use crate::label_selector;
use crate::nodes::{target_nodes, targets};
use elbow_model::{Protocol, Target, TargetType};

/// The target group a binding names, as DescribeTargetGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundGroup {
    pub arn: String,
    pub target_type: TargetType,
    pub ip_address_type: TargetGroupIpAddressType,
    pub vpc_id: String,
    /// QUIC and TCP_QUIC groups take each pod with its server id.
    pub protocol: Protocol,
}

/// The target type in effect: the spec's, which must be the group's, or the group's. Also
/// refuses what cannot be served on this group (a spec contradicting it, a node selector for ip
/// targets, pods in an ipv6 group).
pub fn check_group(spec: &TargetGroupBindingSpec, group: &BoundGroup) -> Result<TargetType, BindingError> {
    let arn = || group.arn.clone();
    if let Some(wanted) = spec.target_type.filter(|t| *t != group.target_type) {
        return Err(BindingError::TargetTypeMismatch {
            spec: wanted.as_str(),
            group: group.target_type.as_str(),
            arn: arn(),
        });
    }
    if let Some(wanted) = spec.ip_address_type.filter(|t| *t != group.ip_address_type) {
        return Err(BindingError::IpAddressTypeMismatch {
            spec: wanted.as_str(),
            group: group.ip_address_type.as_str(),
            arn: arn(),
        });
    }
    if let Some(wanted) = spec.vpc_id.as_ref().filter(|v| **v != group.vpc_id) {
        return Err(BindingError::VpcMismatch { spec: wanted.clone(), group: group.vpc_id.clone(), arn: arn() });
    }
    if group.target_type == TargetType::Ip {
        if spec.node_selector.is_some() {
            return Err(BindingError::NodeSelectorWithIpTargets { arn: arn() });
        }
        if group.ip_address_type == TargetGroupIpAddressType::Ipv6 {
            return Err(BindingError::Ipv6PodTargets { arn: arn() });
        }
    } else if group.protocol.is_quic() {
        return Err(BindingError::QuicInstanceTargets { arn: arn(), protocol: group.protocol.as_str() });
    }
    Ok(group.target_type)
}

/// What the group should hold, and where the targets run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredTargets<'a> {
    /// Sorted, each once.
    pub targets: Vec<Target>,
    /// The nodes the targets are (instance) or run on (ip): whose security groups admit the
    /// binding's sources.
    pub nodes: Vec<&'a Node>,
    /// The bound Service port's targetPort when it is a name (ip targets): the one named port a
    /// networking rule may give, resolved to the pods' ports.
    pub named_target_port: Option<String>,
    /// A QUIC group's pods (`namespace/name`) left out for want of a server id.
    pub without_server_id: BTreeSet<String>,
}

/// What a binding's targets depend on beyond the Service: the group's protocol, and what only the
/// pods say (their QUIC server ids).
pub struct Backends<'a, 'n> {
    pub service: Option<&'a Service>,
    pub nodes: &'a [&'n Node],
    pub slices: &'a [&'a CompactSlice],
    pub pods: &'a dyn PodFacts,
    /// Whether the group is QUIC or TCP_QUIC.
    pub quic: bool,
}

/// The targets of the binding's Service port in `namespace`. The backends' `service` is the
/// bound Service if it exists; `nodes` every node of the cluster; `slices` every EndpointSlice
/// (the Service's are picked out).
pub fn desired_targets<'n>(
    namespace: &str,
    spec: &TargetGroupBindingSpec,
    target_type: TargetType,
    backends: &Backends<'_, 'n>,
) -> Result<DesiredTargets<'n>, BindingError> {
    let Backends { service, nodes, slices, pods, quic } = *backends;
    let name = &spec.service_ref.name;
    let service = service
        .ok_or_else(|| BindingError::ServiceNotFound { namespace: namespace.to_string(), name: name.clone() })?;
    let port = service_port(service, &spec.service_ref.port).ok_or_else(|| BindingError::ServicePortNotFound {
        namespace: namespace.to_string(),
        name: name.clone(),
        port: port_text(&spec.service_ref.port),
    })?;
    match target_type {
        TargetType::Instance => {
            let type_ = service.spec.as_ref().and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
            if !matches!(type_, "NodePort" | "LoadBalancer") {
                return Err(BindingError::NoNodePorts {
                    namespace: namespace.to_string(),
                    name: name.clone(),
                    type_: type_.to_string(),
                });
            }
            let node_port = port.node_port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0).ok_or_else(|| {
                BindingError::MissingNodePort {
                    namespace: namespace.to_string(),
                    name: name.clone(),
                    port: port_text(&spec.service_ref.port),
                }
            })?;
            // The selector narrows the candidates before readiness is judged, so the fallback to
            // nodes of Unknown readiness applies among the selected ones.
            let selected: Vec<&Node> = match &spec.node_selector {
                Some(selector) => nodes
                    .iter()
                    .copied()
                    .filter(|n| {
                        label_selector::matches(selector, n.metadata.labels.as_ref().unwrap_or(&Default::default()))
                    })
                    .collect(),
                None => nodes.to_vec(),
            };
            let chosen = target_nodes(&selected);
            Ok(DesiredTargets {
                targets: targets(&chosen, node_port),
                nodes: chosen,
                named_target_port: None,
                without_server_id: BTreeSet::new(),
            })
        }
        TargetType::Ip => {
            let own = slices_of(slices, namespace, name);
            // The pod webhook injects readiness gates for the ip target groups of Elbow's own
            // stacks only, so no pod behind a binding waits for one; their QUIC ids count.
            let pods = pod_targets(&own, port, nodes, &QuicIdsOnly(pods), quic);
            let hosting: BTreeSet<&str> = pods.nodes.iter().map(String::as_str).collect();
            let nodes = nodes
                .iter()
                .copied()
                .filter(|n| n.metadata.name.as_deref().is_some_and(|name| hosting.contains(name)))
                .collect();
            let named_target_port = match &port.target_port {
                Some(IntOrString::String(name)) => Some(name.clone()),
                _ => None,
            };
            Ok(DesiredTargets {
                targets: pods.targets,
                nodes,
                named_target_port,
                without_server_id: pods.without_server_id,
            })
        }
    }
}

/// Of what is known about pods, only their QUIC server ids.
struct QuicIdsOnly<'a>(&'a dyn PodFacts);

impl PodFacts for QuicIdsOnly<'_> {
    fn waits_for_target_health(&self, _namespace: &str, _name: &str) -> bool {
        false
    }

    fn quic_server_id(&self, namespace: &str, name: &str, port: u16) -> Option<String> {
        self.0.quic_server_id(namespace, name, port)
    }
}

/// The Service port a binding names: by number (`port`) or by name.
fn service_port<'s>(service: &'s Service, wanted: &IntOrString) -> Option<&'s ServicePort> {
    let ports = service.spec.as_ref()?.ports.as_deref()?;
    ports.iter().find(|p| match wanted {
        IntOrString::Int(number) => p.port == *number,
        IntOrString::String(name) => p.name.as_deref() == Some(name.as_str()),
    })
}

fn port_text(port: &IntOrString) -> String {
    match port {
        IntOrString::Int(number) => number.to_string(),
        IntOrString::String(name) => format!("{name:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::ServiceSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    use super::*;
    use crate::binding::spec::ServiceReference;
    use crate::endpoints::tests::{compact, endpoint, slice};
    use crate::nodes::tests::node;

    fn group(target_type: TargetType) -> BoundGroup {
        BoundGroup {
            arn: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tf-web/1".into(),
            target_type,
            ip_address_type: TargetGroupIpAddressType::Ipv4,
            vpc_id: "vpc-1".into(),
            protocol: Protocol::Tcp,
        }
    }

    /// The backends of a group that is not QUIC, without a pod watch.
    fn plain<'a, 'n>(
        service: Option<&'a Service>,
        nodes: &'a [&'n Node],
        slices: &'a [&'a CompactSlice],
    ) -> Backends<'a, 'n> {
        Backends { service, nodes, slices, pods: &crate::endpoints::NoPodFacts, quic: false }
    }

    fn spec(port: IntOrString) -> TargetGroupBindingSpec {
        TargetGroupBindingSpec {
            target_group_name: Some("tf-web".into()),
            service_ref: ServiceReference { name: "web".into(), port },
            ..Default::default()
        }
    }

    fn service(type_: &str, node_port: Option<i32>) -> Service {
        Service {
            metadata: ObjectMeta { name: Some("web".into()), namespace: Some("shop".into()), ..Default::default() },
            spec: Some(ServiceSpec {
                type_: Some(type_.into()),
                ports: Some(vec![
                    ServicePort {
                        name: Some("http".into()),
                        port: 80,
                        node_port,
                        target_port: Some(IntOrString::String("web".into())),
                        ..Default::default()
                    },
                    ServicePort {
                        name: Some("metrics".into()),
                        port: 9090,
                        node_port: node_port.map(|p| p + 1),
                        target_port: Some(IntOrString::Int(9090)),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn labelled(mut node: Node, key: &str, value: &str) -> Node {
        node.metadata.labels.get_or_insert_default().insert(key.into(), value.into());
        node
    }

    fn ids(desired: &DesiredTargets<'_>) -> Vec<String> {
        desired.targets.iter().map(|t| format!("{}:{}", t.id, t.port)).collect()
    }

    fn names(desired: &DesiredTargets<'_>) -> Vec<String> {
        desired.nodes.iter().map(|n| n.metadata.name.clone().unwrap_or_default()).collect()
    }

    #[test]
    fn the_target_type_is_the_groups_and_a_contradiction_is_refused() {
        let mut binding = spec(IntOrString::Int(80));
        assert_eq!(check_group(&binding, &group(TargetType::Ip)), Ok(TargetType::Ip), "taken from the group");
        binding.target_type = Some(TargetType::Ip);
        assert_eq!(check_group(&binding, &group(TargetType::Ip)), Ok(TargetType::Ip));
        let refused = check_group(&binding, &group(TargetType::Instance)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "spec.targetType is ip but target group arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tf-web/1 \
             has target type instance; remove targetType or set it to instance"
        );
        assert_eq!(refused.reason(), "InvalidConfiguration");
    }

    #[test]
    fn the_address_type_the_vpc_and_ip_only_settings_must_fit_the_group() {
        let mut binding = spec(IntOrString::Int(80));
        binding.ip_address_type = Some(TargetGroupIpAddressType::Ipv6);
        assert!(matches!(
            check_group(&binding, &group(TargetType::Instance)),
            Err(BindingError::IpAddressTypeMismatch { spec: "ipv6", group: "ipv4", .. })
        ));
        let mut binding = spec(IntOrString::Int(80));
        binding.vpc_id = Some("vpc-2".into());
        assert!(matches!(check_group(&binding, &group(TargetType::Instance)), Err(BindingError::VpcMismatch { .. })));
        binding.vpc_id = Some("vpc-1".into());
        assert_eq!(check_group(&binding, &group(TargetType::Instance)), Ok(TargetType::Instance));

        let mut binding = spec(IntOrString::Int(80));
        binding.node_selector = Some(LabelSelector::default());
        assert!(matches!(
            check_group(&binding, &group(TargetType::Ip)),
            Err(BindingError::NodeSelectorWithIpTargets { .. })
        ));
        assert_eq!(check_group(&binding, &group(TargetType::Instance)), Ok(TargetType::Instance));
        let ipv6 = BoundGroup { ip_address_type: TargetGroupIpAddressType::Ipv6, ..group(TargetType::Ip) };
        assert!(matches!(check_group(&spec(IntOrString::Int(80)), &ipv6), Err(BindingError::Ipv6PodTargets { .. })));
    }

    #[test]
    fn instance_targets_are_the_selected_ready_nodes_on_the_ports_node_port() {
        let nodes = [
            labelled(node("a", "i-0a", "True"), "pool", "web"),
            labelled(node("b", "i-0b", "True"), "pool", "batch"),
            labelled(node("c", "i-0c", "False"), "pool", "web"),
            labelled(labelled(node("d", "i-0d", "True"), "pool", "web"), crate::nodes::EXCLUDE_LABEL, ""),
        ];
        let nodes: Vec<&Node> = nodes.iter().collect();
        let svc = service("NodePort", Some(30080));
        // By number and by name, the same port.
        for port in [IntOrString::Int(80), IntOrString::String("http".into())] {
            let desired =
                desired_targets("shop", &spec(port), TargetType::Instance, &plain(Some(&svc), &nodes, &[])).unwrap();
            assert_eq!(ids(&desired), ["i-0a:30080", "i-0b:30080"]);
        }
        let mut by_pool = spec(IntOrString::Int(9090));
        by_pool.node_selector = Some(LabelSelector {
            match_labels: Some(BTreeMap::from([("pool".into(), "web".into())])),
            ..Default::default()
        });
        let desired = desired_targets("shop", &by_pool, TargetType::Instance, &plain(Some(&svc), &nodes, &[])).unwrap();
        assert_eq!(ids(&desired), ["i-0a:30081"], "selected, Ready, not excluded");
        assert_eq!(names(&desired), ["a"]);
    }

    #[test]
    fn among_selected_nodes_none_ready_falls_back_to_unknown_ones() {
        let nodes = [
            labelled(node("a", "i-0a", "True"), "pool", "batch"),
            labelled(node("b", "i-0b", "Unknown"), "pool", "web"),
        ];
        let nodes: Vec<&Node> = nodes.iter().collect();
        let mut binding = spec(IntOrString::Int(80));
        binding.node_selector = Some(LabelSelector {
            match_labels: Some(BTreeMap::from([("pool".into(), "web".into())])),
            ..Default::default()
        });
        let svc = service("LoadBalancer", Some(30080));
        let desired = desired_targets("shop", &binding, TargetType::Instance, &plain(Some(&svc), &nodes, &[])).unwrap();
        assert_eq!(ids(&desired), ["i-0b:30080"]);
    }

    #[test]
    fn instance_targets_need_node_ports() {
        let nodes = [node("a", "i-0a", "True")];
        let nodes: Vec<&Node> = nodes.iter().collect();
        let binding = spec(IntOrString::Int(80));
        let cluster_ip = service("ClusterIP", None);
        let error = desired_targets("shop", &binding, TargetType::Instance, &plain(Some(&cluster_ip), &nodes, &[]))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Service shop/web is of type ClusterIP; instance targets need a NodePort or LoadBalancer Service"
        );
        assert!(!error.backend_missing(), "the targets are left as they are");
        let no_port = service("LoadBalancer", None);
        let error =
            desired_targets("shop", &binding, TargetType::Instance, &plain(Some(&no_port), &nodes, &[])).unwrap_err();
        assert!(matches!(error, BindingError::MissingNodePort { .. }), "{error}");
    }

    #[test]
    fn a_missing_service_or_port_means_no_targets() {
        let binding = spec(IntOrString::String("grpc".into()));
        let error = desired_targets("shop", &binding, TargetType::Ip, &plain(None, &[], &[])).unwrap_err();
        assert_eq!(error.to_string(), "Service shop/web was not found");
        assert!(error.backend_missing());
        assert_eq!(error.reason(), "BackendNotFound");
        let svc = service("ClusterIP", None);
        let error = desired_targets("shop", &binding, TargetType::Ip, &plain(Some(&svc), &[], &[])).unwrap_err();
        assert_eq!(error.to_string(), "Service shop/web has no port \"grpc\"");
        assert!(error.backend_missing());
        let error = desired_targets("shop", &spec(IntOrString::Int(81)), TargetType::Ip, &plain(Some(&svc), &[], &[]))
            .unwrap_err();
        assert_eq!(error.to_string(), "Service shop/web has no port 81");
    }

    #[test]
    fn ip_targets_are_the_services_ready_pods_and_the_nodes_they_run_on() {
        let nodes = [node("a", "i-0a", "True"), node("b", "i-0b", "True"), node("c", "i-0c", "True")];
        let nodes: Vec<&Node> = nodes.iter().collect();
        let slices = [
            slice(
                "shop",
                "web",
                &[("http", 8080), ("metrics", 9090)],
                vec![
                    endpoint("10.0.1.5", "a", Some(true), None),
                    endpoint("10.0.2.5", "b", Some(false), None),
                    endpoint("10.0.1.6", "a", Some(true), Some(true)),
                ],
            ),
            slice("shop", "other", &[("http", 8080)], vec![endpoint("10.0.3.5", "c", Some(true), None)]),
            slice("default", "web", &[("http", 8080)], vec![endpoint("10.0.3.6", "c", Some(true), None)]),
        ];
        let compact = compact(&slices);
        let slices: Vec<&CompactSlice> = compact.iter().collect();
        let svc = service("ClusterIP", None);
        let desired =
            desired_targets("shop", &spec(IntOrString::Int(80)), TargetType::Ip, &plain(Some(&svc), &nodes, &slices))
                .unwrap();
        assert_eq!(ids(&desired), ["10.0.1.5:8080"], "ready, not terminating, this Service's own");
        assert_eq!(names(&desired), ["a"]);
        assert_eq!(desired.named_target_port.as_deref(), Some("web"));
        let metrics = desired_targets(
            "shop",
            &spec(IntOrString::String("metrics".into())),
            TargetType::Ip,
            &plain(Some(&svc), &nodes, &slices),
        )
        .unwrap();
        assert_eq!(ids(&metrics), ["10.0.1.5:9090"]);
        assert_eq!(metrics.named_target_port, None);
        assert!(metrics.without_server_id.is_empty());

        // A QUIC group: each pod with its server id, a pod without one left out and named.
        let both = [slice(
            "shop",
            "web",
            &[("http", 8080)],
            vec![endpoint("10.0.1.5", "a", Some(true), None), endpoint("10.0.2.5", "b", Some(true), None)],
        )];
        let quic_slices = crate::endpoints::tests::compact(&both);
        let slices: Vec<&CompactSlice> = quic_slices.iter().collect();
        let ids_of =
            BTreeMap::from([(("shop".to_string(), "pod-10.0.1.5".to_string()), "0x00000000000000aa".to_string())]);
        let quic = Backends { pods: &ids_of, quic: true, ..plain(Some(&svc), &nodes, &slices) };
        let desired = desired_targets("shop", &spec(IntOrString::Int(80)), TargetType::Ip, &quic).unwrap();
        assert_eq!(desired.targets, [Target::quic("10.0.1.5", 8080, "0x00000000000000aa")]);
        assert_eq!(desired.without_server_id, BTreeSet::from(["shop/pod-10.0.2.5".to_string()]));
    }

    #[test]
    fn a_quic_group_of_instance_targets_is_refused() {
        let quic = BoundGroup { protocol: Protocol::TcpQuic, ..group(TargetType::Instance) };
        let error = check_group(&spec(IntOrString::Int(80)), &quic).unwrap_err();
        assert!(matches!(error, BindingError::QuicInstanceTargets { protocol: "TCP_QUIC", .. }), "{error}");
        assert!(error.to_string().contains("use a group of ip targets"), "{error}");
        let ip = BoundGroup { protocol: Protocol::Quic, ..group(TargetType::Ip) };
        assert_eq!(check_group(&spec(IntOrString::Int(80)), &ip), Ok(TargetType::Ip));
    }
}
