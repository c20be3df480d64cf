//! The NLB health check: the health-check annotations over the defaults of the Service's traffic
//! policy.

use k8s_openapi::api::core::v1::ServicePort;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::annotations::{Annotations, valid_success_codes};
use crate::error::BuildError;
use elbow_model::stack::{HealthCheck, HealthCheckPort, Protocol, TargetType};

/// Health-check annotations; unset fields take the defaults of the traffic policy.
pub(super) struct HealthSettings {
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
    pub fn read(a: &Annotations<'_>, ports: &[ServicePort], target_type: TargetType) -> Result<Self, BuildError> {
        Ok(Self {
            protocol: a.parse("aws-load-balancer-healthcheck-protocol", "tcp, http or https", |v| {
                match v.to_ascii_lowercase().as_str() {
                    "tcp" => Some(Protocol::Tcp),
                    "http" => Some(Protocol::Http),
                    "https" => Some(Protocol::Https),
                    _ => None,
                }
            })?,
            port: a.parse(
                "aws-load-balancer-healthcheck-port",
                match target_type {
                    TargetType::Instance => {
                        "traffic-port, a port number, or the name of a Service port that has a nodePort"
                    }
                    TargetType::Ip => {
                        "traffic-port, a port number, or the name of a Service port whose targetPort is a number"
                    }
                },
                |v| HealthCheckPort::parse(v).or_else(|| named_port(ports, v, target_type).map(HealthCheckPort::Port)),
            )?,
            path: a.parse("aws-load-balancer-healthcheck-path", "a path starting with /", |v| {
                v.starts_with('/').then(|| v.to_string())
            })?,
            interval: a.number("aws-load-balancer-healthcheck-interval", 5, 300)?,
            timeout: a.number("aws-load-balancer-healthcheck-timeout", 2, 120)?,
            healthy: a.number("aws-load-balancer-healthcheck-healthy-threshold", 2, 10)?,
            unhealthy: a.number("aws-load-balancer-healthcheck-unhealthy-threshold", 2, 10)?,
            matcher: a.parse(
                "aws-load-balancer-healthcheck-success-codes",
                "codes like 200, 200-399 or 200,204",
                valid_success_codes,
            )?,
        })
    }

    /// With `externalTrafficPolicy: Local`, kube-proxy answers `/healthz` on the health-check
    /// NodePort with 200 only on nodes holding a ready endpoint: the check must ask it there.
    /// `local` is false for ip targets: the pods are checked directly, as in LBC.
    pub fn resolve(&self, local: bool, health_check_node_port: Option<u16>) -> Result<HealthCheck, BuildError> {
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

/// A named Service port stands for where the targets answer it: its NodePort for instance
/// targets, its numeric targetPort for ip targets (a named targetPort may differ from pod to pod,
/// so LBC refuses it, as here).
fn named_port(ports: &[ServicePort], name: &str, target_type: TargetType) -> Option<u16> {
    let port = ports.iter().find(|p| p.name.as_deref() == Some(name))?;
    let number = match target_type {
        TargetType::Instance => port.node_port?,
        TargetType::Ip => match &port.target_port {
            Some(IntOrString::Int(number)) => *number,
            Some(IntOrString::String(_)) => return None,
            None => port.port,
        },
    };
    u16::try_from(number).ok().filter(|n| *n > 0)
}
