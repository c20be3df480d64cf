//! Service -> Stack: one network load balancer per Service of ours, a listener and a target
//! group per Service port (instance mode: on its NodePort, the nodes as targets; ip mode: on its
//! target port, the ready pods of its EndpointSlices as targets), a managed frontend security
//! group (or the groups `security-groups` names, or none with `disable-nlb-sg`), and the
//! node-group rules that let the load balancer reach the NodePorts or the pods.
//!
//! Resource ids inside the stack: `LoadBalancer`, `Listener/<port>`, `TargetGroup/<port>`,
//! `SecurityGroup/frontend`, `NodeRule/<group>/<tcp|udp>/<node port>` (from the backend group),
//! `NodeRule/<group>/<tcp|udp>/<port>/<cidr>` (from addresses, without security groups).

mod addresses;
mod attributes;
mod frontend;
mod health;
mod listeners;
mod quic;
mod settings;
mod target_groups;

use std::collections::{BTreeMap, BTreeSet};

use crate::endpoints::CompactSlice;
use k8s_openapi::api::core::v1::{Node, Service, ServiceSpec};

use crate::annotations::{Annotations, Object, check};
use crate::config::BuildConfig;
use crate::endpoints::{self, PodFacts};
use crate::error::BuildError;
use crate::names::load_balancer_name;
use crate::security::{OpenSources, node_rules, open_node_rules, resolve_security_groups, security_group_names};
use crate::subnets;
use elbow_model::inventory::CloudInventory;
use elbow_model::stack::*;
use elbow_model::tags::{CAPACITY_UNITS_TAG, SUBNET_ADDRESSES_TAG, ownership_tags};
use settings::Settings;

/// Whether Elbow serves this Service: type LoadBalancer, not being deleted, and our class (or no
/// class while Elbow is the cluster's default implementation). Any other class is never touched.
pub fn is_ours(service: &Service, config: &BuildConfig) -> bool {
    let Some(spec) = service.spec.as_ref() else { return false };
    if service.metadata.deletion_timestamp.is_some() || spec.type_.as_deref() != Some("LoadBalancer") {
        return false;
    }
    match spec.load_balancer_class.as_deref() {
        Some(class) => class == config.load_balancer_class,
        None => config.default_load_balancer && (config.take_over_lbc_services || !carries_lbc_marker(service)),
    }
}

/// The annotation the AWS Load Balancer Controller (LBC) reads its markers from.
const LBC_TYPE_ANNOTATION: &str = "service.beta.kubernetes.io/aws-load-balancer-type";

/// Whether a class-less Service says it is LBC's: `aws-load-balancer-type: external` or `nlb-ip`.
/// LBC serves such Services without a class, and the cloud provider's service controller skips
/// them for that reason, so Elbow taking them too would give them two load balancers.
pub fn carries_lbc_marker(service: &Service) -> bool {
    let Some(annotations) = service.metadata.annotations.as_ref() else { return false };
    annotations.get(LBC_TYPE_ANNOTATION).is_some_and(|value| matches!(value.trim(), "external" | "nlb-ip"))
}

/// Whether the Service asks for ip targets (`type: nlb-ip` or `nlb-target-type: ip`): only then
/// do its EndpointSlices matter to its load balancer. An invalid value counts as no; the build
/// reports it.
pub fn uses_ip_targets(service: &Service) -> bool {
    let Some(annotations) = service.metadata.annotations.as_ref() else { return false };
    let value = |suffix: &str| annotations.get(&format!("{}{suffix}", crate::annotations::SERVICE_PREFIX));
    value("aws-load-balancer-type").is_some_and(|v| v == "nlb-ip")
        || value("aws-load-balancer-nlb-target-type").is_some_and(|v| v == "ip")
}

/// The security group names (not ids) the Service's `security-groups` annotation lists: the
/// groups its controller must add to the inventory before building.
pub fn security_groups_named(service: &Service) -> Vec<String> {
    let Some(annotations) = service.metadata.annotations.as_ref() else { return Vec::new() };
    let key = format!("{}aws-load-balancer-security-groups", crate::annotations::SERVICE_PREFIX);
    annotations.get(&key).map(|value| security_group_names(value)).unwrap_or_default()
}

/// `namespace/name`: the owner recorded in the `elbow.dev/stack` tag.
pub fn stack_id(service: &Service) -> StackId {
    let namespace = service.metadata.namespace.as_deref().unwrap_or("default");
    let name = service.metadata.name.as_deref().unwrap_or_default();
    crate::owner::StackOwner::Service { namespace: namespace.into(), name: name.into() }.stack_id()
}

/// The Service's desired stack, or what the user must fix. `nodes` are every node of the
/// cluster; `slices` EndpointSlices, of which those of this Service are read (ip mode only), and
/// `pods` which of their not-ready pods wait only for their target health (and their QUIC server
/// ids).
pub fn build_service_stack(
    service: &Service,
    nodes: &[&Node],
    slices: &[&CompactSlice],
    pods: &dyn PodFacts,
    inventory: &CloudInventory,
    config: &BuildConfig,
) -> Result<Stack, BuildError> {
    build_service(service, nodes, slices, pods, inventory, config).map(|built| built.stack)
}

/// A Service's stack, and what the build left out that the user should hear of.
#[derive(Debug, Clone)]
pub struct ServiceBuild {
    pub stack: Stack,
    /// The pods (`namespace/name`) a QUIC target group leaves out for want of a server id: they
    /// receive no traffic from the load balancer.
    pub pods_without_quic_server_id: BTreeSet<String>,
}

/// [`build_service_stack`], with what it left out.
pub fn build_service(
    service: &Service,
    nodes: &[&Node],
    slices: &[&CompactSlice],
    pods: &dyn PodFacts,
    inventory: &CloudInventory,
    config: &BuildConfig,
) -> Result<ServiceBuild, BuildError> {
    let Shape { identity, spec, settings, ports, health_check } = Shape::read(service, config)?;
    let empty = BTreeMap::new();
    let annotations = Annotations::service(service.metadata.annotations.as_ref().unwrap_or(&empty));
    let stack_id = stack_id(service);
    // The operator's default tags win over the Service's own, as in LBC; ownership over both.
    let tags_for = |resource: &ResourceId| {
        let mut tags = settings.extra_tags.clone();
        tags.extend(config.default_tags.clone());
        tags.extend(ownership_tags(&config.cluster_name, &stack_id, resource));
        tags
    };

    let all_nodes = nodes;
    let nodes = target_groups::selected_nodes(nodes, settings.node_labels.as_ref());
    let slices = endpoints::slices_of(slices, &identity.namespace, &identity.name);
    let lb_id = ResourceId::new("LoadBalancer");

    let context = target_groups::TargetGroupContext {
        identity: &identity,
        settings: &settings,
        health_check: &health_check,
        nodes: &nodes,
        all_nodes,
        slices: &slices,
        pods,
        inventory,
        config,
        tags_for: &tags_for,
    };
    let mut stack = Stack::empty(stack_id.clone());
    let mut pod_nodes = BTreeSet::new();
    let mut pods_without_quic_server_id = BTreeSet::new();
    for port in &ports {
        let (target_group, pods) = target_groups::target_group(port, &context);
        pod_nodes.extend(pods.nodes);
        pods_without_quic_server_id.extend(pods.without_server_id);
        stack.listeners.push(listeners::listener(port, &settings, &lb_id, &target_group.resource_id, &tags_for));
        stack.target_groups.push(target_group);
    }

    let names: Vec<String> = stack.listeners.iter().map(|l| listeners::listener_name(l.protocol, l.port)).collect();
    if let Some(unknown) = settings.listener_attributes.keys().find(|k| !names.contains(k)) {
        return Err(settings::unknown_listener(&annotations, unknown, &names));
    }
    if settings.alpn_policy.is_some() && !stack.listeners.iter().any(|l| l.protocol == Protocol::Tls) {
        const ALPN: &str = "aws-load-balancer-alpn-policy";
        let value = annotations.get(ALPN).unwrap_or_default();
        return Err(annotations.invalid(
            ALPN,
            value,
            "a policy for TLS listeners, and the Service has none; set aws-load-balancer-ssl-cert (and ssl-ports), or remove the annotation",
        ));
    }

    let subnets = match &settings.subnets {
        Some(requested) => subnets::resolve(requested, inventory)?,
        None => subnets::discover(inventory, &config.cluster_name, settings.scheme)?,
    };
    // Pods are reached through the groups of the nodes they run on (the VPC CNI gives a pod's
    // network interface its node's groups).
    let reached: Vec<&Node> = match settings.target_type {
        TargetType::Instance => nodes.clone(),
        TargetType::Ip => all_nodes
            .iter()
            .copied()
            .filter(|n| n.metadata.name.as_ref().is_some_and(|name| pod_nodes.contains(name)))
            .collect(),
    };
    let mut security_groups = Vec::new();
    if settings.without_security_groups {
        if settings.manage_backend_rules {
            let sources = frontend::client_ranges(spec, &settings)?;
            let own: Vec<String> = subnets
                .iter()
                .filter_map(|id| inventory.subnets.iter().find(|s| &s.id == id).map(|s| s.cidr_block.clone()))
                .collect();
            let default_ranges: Vec<String> = match settings.scheme {
                Scheme::InternetFacing => vec!["0.0.0.0/0".to_string()],
                Scheme::Internal => inventory.subnets.iter().map(|s| s.cidr_block.clone()).collect(),
            };
            let sources =
                OpenSources { load_balancer_subnets: &own, client_ranges: &sources, default_ranges: &default_ranges };
            stack.node_security_group_rules =
                open_node_rules(&stack.target_groups, &sources, &reached, inventory, &config.cluster_name)?;
        }
    } else {
        match &settings.security_groups {
            Some(entries) => security_groups
                .extend(resolve_security_groups(entries, inventory)?.into_iter().map(SecurityGroupRef::Existing)),
            None => {
                let frontend =
                    frontend::frontend_group(&identity, spec, &settings, &ports, inventory, config, &tags_for)?;
                security_groups.push(SecurityGroupRef::Managed(frontend.resource_id.clone()));
                stack.security_groups.push(frontend);
            }
        }
        if settings.manage_backend_rules {
            security_groups.push(SecurityGroupRef::SharedBackend);
            stack.node_security_group_rules =
                node_rules(&stack.target_groups, &reached, inventory, &config.cluster_name)?;
        }
    }

    let subnet_addresses = settings.addresses.per_subnet(&annotations, &subnets, inventory)?;
    let mut tags = tags_for(&lb_id);
    if let Some(record) = addresses::record(&subnet_addresses) {
        tags.insert(SUBNET_ADDRESSES_TAG.to_string(), record);
    }
    if let Some(units) = settings.capacity_units {
        tags.insert(CAPACITY_UNITS_TAG.to_string(), units.to_string());
    }
    let name = match &settings.name {
        Some(name) => name.clone(),
        None => load_balancer_name(
            &config.cluster_name,
            &identity.namespace,
            &identity.name,
            &identity.uid,
            settings.scheme.as_str(),
        ),
    };
    stack.load_balancers.push(LoadBalancerSpec {
        resource_id: lb_id.clone(),
        name,
        lb_type: LoadBalancerType::Network,
        scheme: settings.scheme,
        ip_address_type: settings.ip_address_type,
        subnets,
        subnet_addresses,
        security_groups,
        attributes: settings.load_balancer_attributes.clone(),
        tags,
        protection: Default::default(),
        capacity_units: settings.capacity_units,
    });
    Ok(ServiceBuild { stack, pods_without_quic_server_id })
}

/// The names of the Service's ip target groups, one per listener port, exactly as
/// [`build_service_stack`] names them; none for a Service with instance targets. What the
/// readiness-gate webhook names a new pod's gates after. Whether the Service is Elbow's at all
/// ([`is_ours`]) is the caller's question.
pub fn ip_target_group_names(service: &Service, config: &BuildConfig) -> Result<Vec<String>, BuildError> {
    if !uses_ip_targets(service) {
        return Ok(Vec::new());
    }
    let shape = Shape::read(service, config)?;
    if shape.settings.target_type != TargetType::Ip {
        return Ok(Vec::new());
    }
    Ok(shape
        .ports
        .iter()
        .map(|port| {
            let tg_port = endpoints::target_group_port(&port.service_port);
            target_groups::name(port, tg_port, &shape.identity, &shape.settings, &shape.health_check, config)
        })
        .collect())
}

/// What the Service's annotations and ports make of its load balancer, before any node, pod or
/// cloud resource is looked at.
struct Shape<'a> {
    identity: Identity,
    spec: &'a ServiceSpec,
    settings: Settings,
    ports: Vec<listeners::ListenerPort>,
    /// The one health check of every target group.
    health_check: HealthCheck,
}

impl<'a> Shape<'a> {
    fn read(service: &'a Service, config: &BuildConfig) -> Result<Self, BuildError> {
        let identity = Identity::of(service)?;
        let spec = service.spec.as_ref().ok_or(BuildError::MissingField("spec"))?;
        let empty = BTreeMap::new();
        let values = service.metadata.annotations.as_ref().unwrap_or(&empty);
        check(values, Object::LoadBalancerService)?;
        let annotations = Annotations::service(values);
        let service_ports = spec.ports.as_deref().unwrap_or_default();
        let settings = Settings::read(&annotations, service_ports, config)?;
        let mut ports = listeners::listener_ports(service_ports, &settings)?;
        quic::upgrade(&annotations, &settings, service_ports, &mut ports)?;
        // kube-proxy's health-check NodePort speaks for nodes; pods are checked directly.
        let local =
            spec.external_traffic_policy.as_deref() == Some("Local") && settings.target_type == TargetType::Instance;
        let health_check_node_port = spec.health_check_node_port.and_then(|p| u16::try_from(p).ok());
        let health_check = settings.health.resolve(local, health_check_node_port)?;
        Ok(Self { identity, spec, settings, ports, health_check })
    }
}

/// What names a Service's resources: its namespace, name and uid.
struct Identity {
    namespace: String,
    name: String,
    uid: String,
}

impl Identity {
    fn of(service: &Service) -> Result<Self, BuildError> {
        Ok(Self {
            namespace: service.metadata.namespace.clone().unwrap_or_else(|| "default".to_string()),
            name: service.metadata.name.clone().ok_or(BuildError::MissingField("metadata.name"))?,
            uid: service.metadata.uid.clone().ok_or(BuildError::MissingField("metadata.uid"))?,
        })
    }
}

#[cfg(test)]
mod tests;
