//! Service -> Stack: one network load balancer per Service of ours, a listener and an
//! instance-mode target group per Service port (on its NodePort), a managed frontend security
//! group, and the node-group rules that let the load balancer reach the NodePorts.
//!
//! Resource ids inside the stack: `LoadBalancer`, `Listener/<port>`, `TargetGroup/<port>`,
//! `SecurityGroup/frontend`, `NodeRule/<group>/<tcp|udp>/<node port>`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, Service, ServicePort};

use crate::annotations::{Annotations, split_list, valid_success_codes};
use crate::config::BuildConfig;
use crate::error::BuildError;
use crate::names::{frontend_group_name, is_valid_elb_name, load_balancer_name, target_group_name};
use crate::nodes::{target_nodes, targets};
use crate::security::{client_rules, is_cidr, node_rules, parse_prefix_lists, prefix_list_rules};
use crate::subnets;
use elbow_model::inventory::CloudInventory;
use elbow_model::stack::*;
use elbow_model::tags::{Tags, ownership_tags};

const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

/// Whether Elbow serves this Service: type LoadBalancer, not being deleted, and our class (or no
/// class while Elbow is the cluster's default implementation). Any other class is never touched.
pub fn is_ours(service: &Service, config: &BuildConfig) -> bool {
    let Some(spec) = service.spec.as_ref() else { return false };
    if service.metadata.deletion_timestamp.is_some() || spec.type_.as_deref() != Some("LoadBalancer") {
        return false;
    }
    match spec.load_balancer_class.as_deref() {
        Some(class) => class == config.load_balancer_class,
        None => config.default_load_balancer,
    }
}

/// `namespace/name`: the owner recorded in the `elbow.dev/stack` tag.
pub fn stack_id(service: &Service) -> StackId {
    let namespace = service.metadata.namespace.as_deref().unwrap_or("default");
    let name = service.metadata.name.as_deref().unwrap_or_default();
    StackId::new(format!("{namespace}/{name}"))
}

/// The Service's desired stack, or what the user must fix.
pub fn build_service_stack(
    service: &Service,
    nodes: &[&Node],
    inventory: &CloudInventory,
    config: &BuildConfig,
) -> Result<Stack, BuildError> {
    let identity = Identity::of(service)?;
    let spec = service.spec.as_ref().ok_or(BuildError::MissingField("spec"))?;
    let empty = BTreeMap::new();
    let annotations = Annotations::service(service.metadata.annotations.as_ref().unwrap_or(&empty));
    let service_ports = spec.ports.as_deref().unwrap_or_default();
    let settings = Settings::read(&annotations, service_ports, config)?;
    let stack_id = stack_id(service);
    let tags_for = |resource: &ResourceId| {
        let mut tags = config.default_tags.clone();
        tags.extend(settings.extra_tags.clone());
        tags.extend(ownership_tags(&config.cluster_name, &stack_id, resource));
        tags
    };

    let ports = listener_ports(service_ports, &settings)?;
    let local = spec.external_traffic_policy.as_deref() == Some("Local");
    let health_check_node_port = spec.health_check_node_port.and_then(|p| u16::try_from(p).ok());
    let nodes = selected_nodes(nodes, settings.node_labels.as_ref());
    let lb_id = ResourceId::new("LoadBalancer");

    // One health check for every target group, as the annotations are per Service.
    let health_check = settings.health.resolve(local, health_check_node_port)?;
    let mut stack = Stack::empty(stack_id.clone());
    for port in &ports {
        let health_check = health_check.clone();
        let tg_protocol = match port.protocol {
            Protocol::Tls if !settings.backend_tls => Protocol::Tcp,
            other => other,
        };
        let tg_id = ResourceId::new(format!("TargetGroup/{}", port.port));
        let listener_id = ResourceId::new(format!("Listener/{}", port.port));
        stack.target_groups.push(TargetGroupSpec {
            resource_id: tg_id.clone(),
            name: target_group_name(
                &config.cluster_name,
                &identity.namespace,
                &identity.name,
                &identity.uid,
                port.node_port,
                &port.port.to_string(),
                TargetType::Instance.as_str(),
                tg_protocol.as_str(),
                health_check.protocol.as_str(),
                health_check.interval_seconds,
            ),
            target_type: TargetType::Instance,
            protocol: tg_protocol,
            port: port.node_port,
            vpc_id: inventory.vpc_id.clone(),
            ip_address_type: IpAddressType::Ipv4,
            health_check,
            attributes: settings.target_group_attributes.clone(),
            tags: tags_for(&tg_id),
            targets: targets(&nodes, port.node_port),
        });
        let tls = port.protocol == Protocol::Tls;
        stack.listeners.push(ListenerSpec {
            resource_id: listener_id.clone(),
            load_balancer: lb_id.clone(),
            port: port.port,
            protocol: port.protocol,
            certificates: if tls { settings.certificates.clone() } else { Vec::new() },
            ssl_policy: tls.then(|| settings.ssl_policy.clone()),
            default_actions: vec![Action::forward(tg_id)],
            rules: Vec::new(),
            tags: tags_for(&listener_id),
        });
    }

    let mut security_groups = Vec::new();
    match &settings.security_groups {
        Some(groups) => security_groups.extend(groups.iter().cloned().map(SecurityGroupRef::Existing)),
        None => {
            let frontend = frontend_group(&identity, spec, &settings, &ports, inventory, config, &tags_for)?;
            security_groups.push(SecurityGroupRef::Managed(frontend.resource_id.clone()));
            stack.security_groups.push(frontend);
        }
    }
    if settings.manage_backend_rules {
        security_groups.push(SecurityGroupRef::SharedBackend);
        stack.node_security_group_rules = node_rules(&stack.target_groups, &nodes, inventory, &config.cluster_name)?;
    }

    let subnets = match &settings.subnets {
        Some(requested) => subnets::resolve(requested, inventory)?,
        None => subnets::discover(inventory, &config.cluster_name, settings.scheme)?,
    };
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
        security_groups,
        attributes: settings.load_balancer_attributes.clone(),
        tags: tags_for(&lb_id),
    });
    Ok(stack)
}

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

/// What the annotations ask for, validated.
struct Settings {
    scheme: Scheme,
    name: Option<String>,
    ip_address_type: IpAddressType,
    subnets: Option<Vec<String>>,
    certificates: Vec<String>,
    /// Port numbers or names; `None`: every port.
    ssl_ports: Option<Vec<String>>,
    ssl_policy: String,
    backend_tls: bool,
    health: HealthSettings,
    target_group_attributes: Attributes,
    load_balancer_attributes: Attributes,
    extra_tags: Tags,
    security_groups: Option<Vec<String>>,
    manage_backend_rules: bool,
    source_ranges: Option<Vec<String>>,
    /// `security-group-prefix-lists`: managed prefix lists the frontend group admits.
    prefix_lists: Option<Vec<String>>,
    node_labels: Option<BTreeMap<String, String>>,
}

impl Settings {
    fn read(a: &Annotations<'_>, ports: &[ServicePort], config: &BuildConfig) -> Result<Self, BuildError> {
        if let Some(kind) = a.get("type") {
            match kind {
                "external" | "nlb" => {}
                "nlb-ip" => return Err(unsupported("IP targets", "type", kind)),
                other => return Err(a.invalid("type", other, "external or nlb")),
            }
        }
        match a.get("nlb-target-type") {
            None | Some("instance") => {}
            Some("ip") => return Err(unsupported("IP targets", "nlb-target-type", "ip")),
            Some(other) => return Err(a.invalid("nlb-target-type", other, "instance or ip")),
        }
        let scheme = match a.parse("scheme", "internal or internet-facing", |v| match v {
            "internal" => Some(Scheme::Internal),
            "internet-facing" => Some(Scheme::InternetFacing),
            _ => None,
        })? {
            Some(scheme) => scheme,
            None => match a.bool("internal")? {
                Some(true) => Scheme::Internal,
                Some(false) => Scheme::InternetFacing,
                None => config.default_scheme,
            },
        };
        let name = a.get("name").map(str::to_string);
        if let Some(name) = &name
            && !is_valid_elb_name(name)
        {
            return Err(BuildError::InvalidName(name.clone()));
        }
        let ip_address_type = a
            .parse("ip-address-type", "ipv4 or dualstack", |v| match v {
                "ipv4" => Some(IpAddressType::Ipv4),
                "dualstack" => Some(IpAddressType::Dualstack),
                _ => None,
            })?
            .unwrap_or(IpAddressType::Ipv4);
        let ssl_ports = a.list("ssl-ports").filter(|ports| !ports.iter().any(|p| p == "*"));
        let backend_tls = a
            .parse("backend-protocol", "tcp or ssl", |v| match v.to_ascii_lowercase().as_str() {
                "tcp" => Some(false),
                "ssl" => Some(true),
                _ => None,
            })?
            .unwrap_or(false);
        let mut target_group_attributes = a.pairs("target-group-attributes", false)?.unwrap_or_default();
        if let Some(value) = a.get("proxy-protocol") {
            if value != "*" {
                return Err(a.invalid("proxy-protocol", value, "*"));
            }
            target_group_attributes.insert("proxy_protocol_v2.enabled".into(), "true".into());
        }
        // Only ids: the inventory knows the nodes' groups, not every group a name could mean, and
        // passing a name on as an id would fail later, in the cloud, far from the annotation.
        let security_groups = a.parse("security-groups", "comma-separated security group ids (sg-...)", |v| {
            let ids = split_list(v);
            ids.iter().all(|id| id.starts_with("sg-")).then_some(ids)
        })?;
        let manage_backend_rules = a.bool("manage-backend-security-group-rules")?.unwrap_or(security_groups.is_none());
        Ok(Self {
            scheme,
            name,
            ip_address_type,
            subnets: a.list("subnets"),
            certificates: a.list("ssl-cert").unwrap_or_default(),
            ssl_ports,
            ssl_policy: a.get("ssl-negotiation-policy").unwrap_or(DEFAULT_SSL_POLICY).to_string(),
            backend_tls,
            health: HealthSettings::read(a, ports)?,
            target_group_attributes,
            load_balancer_attributes: load_balancer_attributes(a)?,
            extra_tags: a.pairs("additional-resource-tags", false)?.unwrap_or_default(),
            security_groups,
            manage_backend_rules,
            source_ranges: a.parse(
                "load-balancer-source-ranges",
                "comma-separated CIDR blocks like 10.0.0.0/8",
                |v| {
                    let cidrs = split_list(v);
                    cidrs.iter().all(|c| is_cidr(c)).then_some(cidrs)
                },
            )?,
            prefix_lists: a.parse(
                "security-group-prefix-lists",
                "comma-separated managed prefix list ids like pl-0123456789abcdef0",
                parse_prefix_lists,
            )?,
            node_labels: a.pairs("target-node-labels", true)?,
        })
    }
}

fn unsupported(feature: &str, annotation: &str, value: &str) -> BuildError {
    BuildError::Unsupported {
        feature: feature.to_string(),
        annotation: format!("{}{annotation}", crate::annotations::SERVICE_PREFIX),
        value: value.to_string(),
    }
}

/// `attributes`, overridden by the deprecated single-purpose annotations where both set a key:
/// the AWS Load Balancer Controller merges them that way, and migrated manifests must not change
/// meaning. As there, the bucket annotations count only while `access-log-enabled` is true.
fn load_balancer_attributes(a: &Annotations<'_>) -> Result<Attributes, BuildError> {
    let mut attributes = a.pairs("attributes", false)?.unwrap_or_default();
    if a.bool("access-log-enabled")? == Some(true) {
        attributes.insert("access_logs.s3.enabled".into(), "true".into());
        if let Some(bucket) = a.get("access-log-s3-bucket-name") {
            attributes.insert("access_logs.s3.bucket".into(), bucket.into());
        }
        if let Some(prefix) = a.get("access-log-s3-bucket-prefix") {
            attributes.insert("access_logs.s3.prefix".into(), prefix.into());
        }
    }
    if let Some(enabled) = a.bool("cross-zone-load-balancing-enabled")? {
        attributes.insert("load_balancing.cross_zone.enabled".into(), enabled.to_string());
    }
    Ok(attributes)
}

/// Health-check annotations; unset fields take the defaults of the traffic policy.
struct HealthSettings {
    protocol: Option<Protocol>,
    port: Option<HealthCheckPort>,
    path: Option<String>,
    interval: Option<u32>,
    timeout: Option<u32>,
    healthy: Option<u32>,
    unhealthy: Option<u32>,
    matcher: Option<String>,
}

impl HealthSettings {
    fn read(a: &Annotations<'_>, ports: &[ServicePort]) -> Result<Self, BuildError> {
        Ok(Self {
            protocol: a.parse("healthcheck-protocol", "tcp, http or https", |v| {
                match v.to_ascii_lowercase().as_str() {
                    "tcp" => Some(Protocol::Tcp),
                    "http" => Some(Protocol::Http),
                    "https" => Some(Protocol::Https),
                    _ => None,
                }
            })?,
            port: a.parse(
                "healthcheck-port",
                "traffic-port, a port number, or the name of a Service port that has a nodePort",
                |v| HealthCheckPort::parse(v).or_else(|| named_node_port(ports, v).map(HealthCheckPort::Port)),
            )?,
            path: a
                .parse("healthcheck-path", "a path starting with /", |v| v.starts_with('/').then(|| v.to_string()))?,
            interval: a.number("healthcheck-interval", 5, 300)?,
            timeout: a.number("healthcheck-timeout", 2, 120)?,
            healthy: a.number("healthcheck-healthy-threshold", 2, 10)?,
            unhealthy: a.number("healthcheck-unhealthy-threshold", 2, 10)?,
            matcher: a.parse("healthcheck-success-codes", "codes like 200, 200-399 or 200,204", valid_success_codes)?,
        })
    }

    /// With `externalTrafficPolicy: Local`, kube-proxy answers `/healthz` on the health-check
    /// NodePort with 200 only on nodes holding a ready endpoint: the check must ask it there.
    fn resolve(&self, local: bool, health_check_node_port: Option<u16>) -> Result<HealthCheck, BuildError> {
        let protocol = self.protocol.unwrap_or(if local { Protocol::Http } else { Protocol::Tcp });
        let port = match (self.port, local) {
            (Some(port), _) => port,
            (None, true) => HealthCheckPort::Port(
                health_check_node_port.ok_or(BuildError::MissingField("spec.healthCheckNodePort"))?,
            ),
            (None, false) => HealthCheckPort::TrafficPort,
        };
        let http = matches!(protocol, Protocol::Http | Protocol::Https);
        let default_path = if local { "/healthz" } else { "/" };
        Ok(HealthCheck {
            protocol,
            port,
            path: http.then(|| self.path.clone().unwrap_or_else(|| default_path.to_string())),
            interval_seconds: self.interval.unwrap_or(10),
            timeout_seconds: self.timeout.unwrap_or(if local { 6 } else { 10 }),
            healthy_threshold_count: self.healthy.unwrap_or(if local { 2 } else { 3 }),
            unhealthy_threshold_count: self.unhealthy.unwrap_or(if local { 2 } else { 3 }),
            matcher: http.then(|| self.matcher.clone().unwrap_or_else(|| "200-399".to_string())),
        })
    }
}

/// A named Service port stands for its NodePort: that is where instance targets answer.
fn named_node_port(ports: &[ServicePort], name: &str) -> Option<u16> {
    let port = ports.iter().find(|p| p.name.as_deref() == Some(name))?;
    port.node_port.and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0)
}

/// One listener: a port, its protocol, and where its traffic goes on the nodes.
struct ListenerPort {
    port: u16,
    protocol: Protocol,
    node_port: u16,
}

fn listener_ports(ports: &[ServicePort], settings: &Settings) -> Result<Vec<ListenerPort>, BuildError> {
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
            p.node_port
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| BuildError::MissingNodePort { port: p.port, protocol: protocol_of(p) })
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
            ["TCP", "UDP"] => {
                let node_ports: BTreeSet<u16> = same.iter().map(|p| node_port_of(p)).collect::<Result<_, _>>()?;
                if node_ports.len() > 1 {
                    return Err(BuildError::MixedProtocolNodePorts { port: i32::from(number) });
                }
                Protocol::TcpUdp
            }
            _ => {
                let bad = protocols.iter().find(|p| *p != "TCP" && *p != "UDP").cloned().unwrap_or_default();
                return Err(BuildError::UnsupportedProtocol { port: i32::from(number), protocol: bad });
            }
        };
        listeners.push(ListenerPort { port: number, protocol, node_port: node_port_of(first)? });
    }
    Ok(listeners)
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

/// Target nodes, narrowed by `target-node-labels` (`key=value` must match, `key` must exist).
fn selected_nodes<'a>(nodes: &[&'a Node], labels: Option<&BTreeMap<String, String>>) -> Vec<&'a Node> {
    target_nodes(nodes)
        .into_iter()
        .filter(|node| {
            let Some(wanted) = labels else { return true };
            let have = node.metadata.labels.as_ref();
            wanted.iter().all(|(k, v)| have.and_then(|l| l.get(k)).is_some_and(|actual| v.is_empty() || actual == v))
        })
        .collect()
}

fn frontend_group(
    identity: &Identity,
    spec: &k8s_openapi::api::core::v1::ServiceSpec,
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

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
