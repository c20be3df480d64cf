//! Target groups: one per Ingress, Service and Service port (as the AWS Load Balancer Controller
//! makes them, so that removing one Ingress from a group removes only its own): in instance mode
//! on the Service's NodePort with the nodes as targets, in ip mode on the numeric target port (1
//! for a named one) with the Service's ready pods as targets. The target type is the
//! IngressClassParams `targetType`, else the `target-type` annotation. Health checks follow LBC's ALB defaults (the backend protocol on the
//! traffic port, path `/`, 15 s interval, 5 s timeout, thresholds 2 and 2, success code 200; for a
//! `backend-protocol-version` of GRPC path `/AWS.ALB/healthcheck` and gRPC code 12); the
//! health-check and target-group annotations are read from the Ingress, then from the Service,
//! whose values win.

use std::collections::{BTreeMap, BTreeSet};

use crate::endpoints::CompactSlice;
use k8s_openapi::api::core::v1::{Node, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::annotations::{Annotations, Object, check, valid_grpc_success_codes, valid_success_codes};
use crate::endpoints::{PodFacts, pod_targets, slices_of, target_group_port};
use crate::error::BuildError;
use crate::ingress::group::{GroupId, Member};
use crate::ingress::tags::GroupTags;
use crate::names::{IngressTargetGroupKey, ingress_target_group_name};
use crate::nodes::{targets, with_labels};
use elbow_model::stack::{
    Attributes, ForeignTargetGroup, HealthCheck, HealthCheckPort, IpAddressType, Protocol, ProtocolVersion, ResourceId,
    TargetGroupReference, TargetGroupSpec, TargetType,
};

/// LBC's health check of a gRPC target group: AWS's own health-check service path, and gRPC
/// status 12 (UNIMPLEMENTED), which a server without that service answers.
const GRPC_HEALTH_CHECK_PATH: &str = "/AWS.ALB/healthcheck";
const GRPC_SUCCESS_CODES: &str = "12";

/// A backend's Service port as the Ingress writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BackendPort {
    Number(i32),
    Name(String),
}

impl std::fmt::Display for BackendPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(number) => write!(f, "{number}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

/// What every target group of the group shares.
pub(crate) struct TargetGroupContext<'a> {
    pub cluster: &'a str,
    pub group: &'a GroupId,
    pub services: &'a [Service],
    /// The target nodes (instance mode).
    pub nodes: &'a [&'a Node],
    /// Every node of the cluster, whose readiness decides fail-open for pods (ip mode).
    pub all_nodes: &'a [&'a Node],
    /// EndpointSlices; each Service's own are picked out (ip mode).
    pub slices: &'a [&'a CompactSlice],
    /// Which of their not-ready pods wait only for their target health.
    pub pods: &'a dyn PodFacts,
    /// IngressClassParams `targetType`, which wins over the annotations.
    pub target_type: Option<TargetType>,
    pub vpc_id: &'a str,
    pub tags: &'a GroupTags<'a>,
}

/// The target groups the listeners refer to, made once each.
pub(crate) struct TargetGroups<'a> {
    context: TargetGroupContext<'a>,
    built: BTreeMap<ResourceId, TargetGroupSpec>,
    /// The Service each target group sends to.
    service_of: BTreeMap<ResourceId, String>,
    /// The nodes the registered pods of ip target groups run on.
    pod_nodes: BTreeSet<String>,
    /// Target groups made outside Elbow that actions forward to, by ARN or name.
    foreign: BTreeMap<ResourceId, TargetGroupReference>,
}

impl<'a> TargetGroups<'a> {
    pub fn new(context: TargetGroupContext<'a>) -> Self {
        Self {
            context,
            built: BTreeMap::new(),
            service_of: BTreeMap::new(),
            pod_nodes: BTreeSet::new(),
            foreign: BTreeMap::new(),
        }
    }

    /// The target group for `member`'s backend `service`:`port`; `None` when the Service does not
    /// exist (yet), which the caller answers with a 503 as the AWS Load Balancer Controller does.
    pub fn resolve(
        &mut self,
        member: &Member<'_>,
        service: &str,
        port: &BackendPort,
    ) -> Result<Option<ResourceId>, BuildError> {
        let resource_id = ResourceId::new(format!("TargetGroup/{}/{}/{service}:{port}", member.namespace, member.name));
        if self.built.contains_key(&resource_id) {
            return Ok(Some(resource_id));
        }
        let found = self.context.services.iter().find(|s| {
            s.metadata.namespace.as_deref().unwrap_or("default") == member.namespace
                && s.metadata.name.as_deref() == Some(service)
        });
        let Some(found) = found else { return Ok(None) };
        let (spec, pod_nodes) = self.build(member, found, port, resource_id.clone())?;
        self.pod_nodes.extend(pod_nodes);
        self.built.insert(resource_id.clone(), spec);
        self.service_of.insert(resource_id.clone(), service.to_string());
        Ok(Some(resource_id))
    }

    /// The resource id under which actions name a target group made outside Elbow; the same
    /// reference gets the same id, however many actions use it.
    pub fn foreign(&mut self, reference: TargetGroupReference) -> ResourceId {
        let resource_id = ResourceId::new(match &reference {
            TargetGroupReference::Arn(arn) => format!("ForeignTargetGroup/arn/{arn}"),
            TargetGroupReference::Name(name) => format!("ForeignTargetGroup/name/{name}"),
        });
        self.foreign.insert(resource_id.clone(), reference);
        resource_id
    }

    /// The target groups, the nodes their pods run on (ip mode), and the foreign target groups.
    pub fn into_specs(self) -> (Vec<TargetGroupSpec>, BTreeSet<String>, Vec<ForeignTargetGroup>) {
        let foreign =
            self.foreign.into_iter().map(|(resource_id, reference)| ForeignTargetGroup { resource_id, reference });
        (self.built.into_values().collect(), self.pod_nodes, foreign.collect())
    }

    /// The names of the ip target groups that send to one of `services`.
    pub fn ip_names_for(self, services: &BTreeSet<String>) -> Vec<String> {
        let service_of = self.service_of;
        self.built
            .into_iter()
            .filter(|(id, tg)| {
                tg.target_type == TargetType::Ip && service_of.get(id).is_some_and(|s| services.contains(s))
            })
            .map(|(_, tg)| tg.name)
            .collect()
    }

    /// Every target group the actions forward to, foreign ones included (ELBv2's limit per load
    /// balancer counts them all).
    pub fn len(&self) -> usize {
        self.built.len() + self.foreign.len()
    }

    fn build(
        &self,
        member: &Member<'_>,
        service: &Service,
        port: &BackendPort,
        resource_id: ResourceId,
    ) -> Result<(TargetGroupSpec, BTreeSet<String>), BuildError> {
        let service_name = service.metadata.name.clone().unwrap_or_default();
        let spec = service.spec.as_ref();
        let own = service.metadata.annotations.clone().unwrap_or_default();
        check(&own, Object::BackendService)
            .map_err(|e| BuildError::InService { service: service_name.clone(), source: Box::new(e) })?;
        // The Service's own annotations win over the Ingress's (LBC merges them that way).
        let mut merged = member.ingress.metadata.annotations.clone().unwrap_or_default();
        merged.extend(own.clone());
        let a = Annotations::ingress(&merged);
        let target_type = match (self.context.target_type, a.get("target-type")) {
            (Some(target_type), _) => target_type,
            (None, None | Some("instance")) => TargetType::Instance,
            (None, Some("ip")) => TargetType::Ip,
            (None, Some(other)) => return Err(a.invalid("target-type", other, "instance or ip")),
        };
        let service_type = spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
        // Pods are reached directly: any Service type that has endpoints will do.
        if target_type == TargetType::Instance && !matches!(service_type, "NodePort" | "LoadBalancer") {
            return Err(BuildError::ServiceNotExposed {
                service: service_name,
                service_type: service_type.to_string(),
            });
        }
        let ports = spec.and_then(|s| s.ports.as_deref()).unwrap_or_default();
        let service_port = ports
            .iter()
            .find(|p| match port {
                BackendPort::Number(number) => p.port == *number,
                BackendPort::Name(name) => p.name.as_deref() == Some(name),
            })
            .ok_or_else(|| BuildError::MissingServicePort { service: service_name.clone(), port: port.to_string() })?;
        let tags = self.context.tags.target_group(&Annotations::ingress(&own), &resource_id)?;
        // Per target group, as in LBC: the Service's labels win over the Ingress's.
        let nodes = with_labels(self.context.nodes, a.pairs("target-node-labels", true)?.as_ref());
        let (tg_port, targets, pod_nodes) = match target_type {
            TargetType::Instance => {
                let node_port = node_port_of(service_port)?;
                (node_port, targets(&nodes, node_port), BTreeSet::new())
            }
            TargetType::Ip => {
                let slices = slices_of(self.context.slices, &member.namespace, &service_name);
                let pods = pod_targets(&slices, service_port, self.context.all_nodes, self.context.pods, false);
                (target_group_port(service_port), pods.targets, pods.nodes)
            }
        };
        let protocol = a
            .parse("backend-protocol", "HTTP or HTTPS", |v| match v {
                "HTTP" => Some(Protocol::Http),
                "HTTPS" => Some(Protocol::Https),
                _ => None,
            })?
            .unwrap_or(Protocol::Http);
        let protocol_version =
            a.parse("backend-protocol-version", "HTTP1, HTTP2 or GRPC", ProtocolVersion::parse)?.unwrap_or_default();
        let health_check = health_check(&a, protocol, protocol_version, ports, target_type)?;
        let attributes: Attributes = a.pairs("target-group-attributes", false)?.unwrap_or_default();
        let key = IngressTargetGroupKey {
            group: self.context.group,
            ingress_namespace: &member.namespace,
            ingress_name: &member.name,
            service_namespace: &member.namespace,
            service_name: &service_name,
            service_uid: service.metadata.uid.as_deref().unwrap_or_default(),
            service_port: &port.to_string(),
        };
        let spec = TargetGroupSpec {
            name: ingress_target_group_name(
                self.context.cluster,
                &key,
                tg_port,
                target_type.as_str(),
                protocol.as_str(),
                protocol_version.as_str(),
            ),
            target_type,
            protocol,
            port: tg_port,
            protocol_version: Some(protocol_version),
            vpc_id: self.context.vpc_id.to_string(),
            ip_address_type: IpAddressType::Ipv4,
            health_check,
            attributes,
            tags,
            targets,
            resource_id,
        };
        Ok((spec, pod_nodes))
    }
}

fn node_port_of(port: &ServicePort) -> Result<u16, BuildError> {
    port.node_port.and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0).ok_or_else(|| BuildError::MissingNodePort {
        port: port.port,
        protocol: port.protocol.clone().unwrap_or_else(|| "TCP".into()),
    })
}

/// The ALB health check: HTTP(S) like the backend, on the traffic port, `/`, every 15 s, 5 s
/// timeout, 2 and 2 thresholds, `200`; for gRPC backends path `/AWS.ALB/healthcheck` and gRPC
/// code `12`, as in LBC. Each part may be annotated.
fn health_check(
    a: &Annotations<'_>,
    protocol: Protocol,
    protocol_version: ProtocolVersion,
    ports: &[ServicePort],
    target_type: TargetType,
) -> Result<HealthCheck, BuildError> {
    let protocol = a
        .parse("healthcheck-protocol", "HTTP or HTTPS", |v| match v {
            "HTTP" => Some(Protocol::Http),
            "HTTPS" => Some(Protocol::Https),
            _ => None,
        })?
        .unwrap_or(protocol);
    let port = a
        .parse(
            "healthcheck-port",
            match target_type {
                TargetType::Instance => {
                    "traffic-port, a port number, or the name of a Service port that has a nodePort"
                }
                TargetType::Ip => {
                    "traffic-port, a port number, or the name of a Service port whose targetPort is a number"
                }
            },
            |v| {
                HealthCheckPort::parse(v).or_else(|| {
                    let named = ports.iter().find(|p| p.name.as_deref() == Some(v))?;
                    match target_type {
                        TargetType::Instance => node_port_of(named).ok().map(HealthCheckPort::Port),
                        // A named targetPort may differ from pod to pod: LBC refuses it too.
                        TargetType::Ip => match &named.target_port {
                            Some(IntOrString::String(_)) => None,
                            _ => Some(HealthCheckPort::Port(target_group_port(named))),
                        },
                    }
                })
            },
        )?
        .unwrap_or(HealthCheckPort::TrafficPort);
    let interval_seconds = a.number("healthcheck-interval-seconds", 5, 300)?.unwrap_or(15);
    let timeout_seconds = a.number("healthcheck-timeout-seconds", 2, 120)?.unwrap_or(5);
    // ELBv2 refuses a timeout that is not shorter than the interval; say so here, by name.
    if timeout_seconds >= interval_seconds {
        let expected = format!("fewer seconds than the health-check interval ({interval_seconds})");
        return Err(a.invalid("healthcheck-timeout-seconds", &timeout_seconds.to_string(), &expected));
    }
    let grpc = protocol_version == ProtocolVersion::Grpc;
    let (default_path, default_codes) = if grpc { (GRPC_HEALTH_CHECK_PATH, GRPC_SUCCESS_CODES) } else { ("/", "200") };
    let matcher = if grpc {
        a.parse("success-codes", "gRPC codes from 0 to 99 like 12, 0-99 or 0,12", valid_grpc_success_codes)?
    } else {
        a.parse("success-codes", "codes like 200, 200-399 or 200,204", valid_success_codes)?
    };
    Ok(HealthCheck {
        protocol,
        port,
        path: Some(
            a.parse("healthcheck-path", "a path starting with /", |v| v.starts_with('/').then(|| v.to_string()))?
                .unwrap_or_else(|| default_path.into()),
        ),
        interval_seconds,
        timeout_seconds,
        healthy_threshold_count: a.number("healthy-threshold-count", 2, 10)?.unwrap_or(2),
        unhealthy_threshold_count: a.number("unhealthy-threshold-count", 2, 10)?.unwrap_or(2),
        matcher: Some(matcher.unwrap_or_else(|| default_codes.into())),
    })
}
