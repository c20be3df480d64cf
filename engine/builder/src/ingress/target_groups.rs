//! Target groups: one per Ingress, Service and Service port (as the AWS Load Balancer Controller
//! makes them, so that removing one Ingress from a group removes only its own), in instance mode
//! on the Service's NodePort. Health checks follow LBC's ALB defaults (the backend protocol on the
//! traffic port, path `/`, 15 s interval, 5 s timeout, thresholds 2 and 2, success code 200); the
//! health-check and target-group annotations are read from the Ingress, then from the Service,
//! whose values win.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Service, ServicePort};

use crate::annotations::{Annotations, Object, check, valid_success_codes};
use crate::error::BuildError;
use crate::ingress::group::{GroupId, Member};
use crate::ingress::tags::GroupTags;
use crate::names::{IngressTargetGroupKey, ingress_target_group_name};
use crate::nodes::{targets, with_labels};
use elbow_model::stack::{
    Attributes, HealthCheck, HealthCheckPort, IpAddressType, Protocol, ResourceId, TargetGroupSpec, TargetType,
};

/// The only protocol version the model carries; it is part of LBC's target group name hash.
const PROTOCOL_VERSION: &str = "HTTP1";

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
    pub nodes: &'a [&'a Node],
    pub vpc_id: &'a str,
    pub tags: &'a GroupTags<'a>,
}

/// The target groups the listeners refer to, made once each.
pub(crate) struct TargetGroups<'a> {
    context: TargetGroupContext<'a>,
    built: BTreeMap<ResourceId, TargetGroupSpec>,
}

impl<'a> TargetGroups<'a> {
    pub fn new(context: TargetGroupContext<'a>) -> Self {
        Self { context, built: BTreeMap::new() }
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
        let spec = self.build(member, found, port, resource_id.clone())?;
        self.built.insert(resource_id.clone(), spec);
        Ok(Some(resource_id))
    }

    pub fn into_specs(self) -> Vec<TargetGroupSpec> {
        self.built.into_values().collect()
    }

    pub fn len(&self) -> usize {
        self.built.len()
    }

    fn build(
        &self,
        member: &Member<'_>,
        service: &Service,
        port: &BackendPort,
        resource_id: ResourceId,
    ) -> Result<TargetGroupSpec, BuildError> {
        let service_name = service.metadata.name.clone().unwrap_or_default();
        let spec = service.spec.as_ref();
        let service_type = spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
        if !matches!(service_type, "NodePort" | "LoadBalancer") {
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
        let node_port = node_port_of(service_port)?;

        let own = service.metadata.annotations.clone().unwrap_or_default();
        check(&own, Object::BackendService)
            .map_err(|e| BuildError::InService { service: service_name.clone(), source: Box::new(e) })?;
        // The Service's own annotations win over the Ingress's (LBC merges them that way).
        let mut merged = member.ingress.metadata.annotations.clone().unwrap_or_default();
        merged.extend(own.clone());
        let a = Annotations::ingress(&merged);
        let tags = self.context.tags.target_group(&Annotations::ingress(&own), &resource_id)?;
        // Per target group, as in LBC: the Service's labels win over the Ingress's.
        let nodes = with_labels(self.context.nodes, a.pairs("target-node-labels", true)?.as_ref());
        match a.get("target-type") {
            None | Some("instance") => {}
            Some("ip") => {
                return Err(BuildError::Unsupported {
                    feature: "IP targets".into(),
                    annotation: a.name("target-type"),
                    value: "ip".into(),
                });
            }
            Some(other) => return Err(a.invalid("target-type", other, "instance or ip")),
        }
        let protocol = a
            .parse("backend-protocol", "HTTP or HTTPS", |v| match v {
                "HTTP" => Some(Protocol::Http),
                "HTTPS" => Some(Protocol::Https),
                _ => None,
            })?
            .unwrap_or(Protocol::Http);
        match a.get("backend-protocol-version") {
            None | Some(PROTOCOL_VERSION) => {}
            Some(version @ ("HTTP2" | "GRPC")) => {
                return Err(BuildError::NotSupported {
                    feature: format!("backend protocol version {version}"),
                    annotation: a.name("backend-protocol-version"),
                    value: version.into(),
                });
            }
            Some(other) => return Err(a.invalid("backend-protocol-version", other, "HTTP1, HTTP2 or GRPC")),
        }
        let health_check = health_check(&a, protocol, ports)?;
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
        Ok(TargetGroupSpec {
            name: ingress_target_group_name(
                self.context.cluster,
                &key,
                node_port,
                TargetType::Instance.as_str(),
                protocol.as_str(),
                PROTOCOL_VERSION,
            ),
            target_type: TargetType::Instance,
            protocol,
            port: node_port,
            vpc_id: self.context.vpc_id.to_string(),
            ip_address_type: IpAddressType::Ipv4,
            health_check,
            attributes,
            tags,
            targets: targets(&nodes, node_port),
            resource_id,
        })
    }
}

fn node_port_of(port: &ServicePort) -> Result<u16, BuildError> {
    port.node_port.and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0).ok_or_else(|| BuildError::MissingNodePort {
        port: port.port,
        protocol: port.protocol.clone().unwrap_or_else(|| "TCP".into()),
    })
}

/// The ALB health check: HTTP(S) like the backend, on the traffic port, `/`, every 15 s, 5 s
/// timeout, 2 and 2 thresholds, `200`; each part may be annotated.
fn health_check(a: &Annotations<'_>, protocol: Protocol, ports: &[ServicePort]) -> Result<HealthCheck, BuildError> {
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
            "traffic-port, a port number, or the name of a Service port that has a nodePort",
            |v| {
                HealthCheckPort::parse(v).or_else(|| {
                    let named = ports.iter().find(|p| p.name.as_deref() == Some(v))?;
                    node_port_of(named).ok().map(HealthCheckPort::Port)
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
    Ok(HealthCheck {
        protocol,
        port,
        path: Some(
            a.parse("healthcheck-path", "a path starting with /", |v| v.starts_with('/').then(|| v.to_string()))?
                .unwrap_or_else(|| "/".into()),
        ),
        interval_seconds,
        timeout_seconds,
        healthy_threshold_count: a.number("healthy-threshold-count", 2, 10)?.unwrap_or(2),
        unhealthy_threshold_count: a.number("unhealthy-threshold-count", 2, 10)?.unwrap_or(2),
        matcher: Some(
            a.parse("success-codes", "codes like 200, 200-399 or 200,204", valid_success_codes)?
                .unwrap_or_else(|| "200".into()),
        ),
    })
}
