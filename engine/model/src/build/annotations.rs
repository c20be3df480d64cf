//! The annotations Elbow reads, in one table: their names, defaults and meaning (the source of
//! docs/annotations.md), and typed readers that turn a bad value into a user error naming the
//! annotation, the value and what was expected.
//!
//! The names and meanings are the AWS Load Balancer Controller's, so manifests written for it keep
//! working.

use std::collections::BTreeMap;

use crate::build::error::BuildError;

pub const SERVICE_PREFIX: &str = "service.beta.kubernetes.io/aws-load-balancer-";

/// One annotation, as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnotationInfo {
    /// The name after the prefix.
    pub suffix: &'static str,
    /// The part of the builder that reads it.
    pub reader: Reader,
    pub default: &'static str,
    pub doc: &'static str,
}

const fn a(suffix: &'static str, reader: Reader, default: &'static str, doc: &'static str) -> AnnotationInfo {
    AnnotationInfo { suffix, reader, default, doc }
}

/// The step of the Service builder (`build/service.rs`, `build/subnets.rs`) that reads an
/// annotation, i.e. the resources it shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    LoadBalancer,
    Subnets,
    Listeners,
    TargetGroups,
    HealthChecks,
    Targets,
    SecurityGroups,
    Tags,
}

impl Reader {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoadBalancer => "load balancer",
            Self::Subnets => "subnets",
            Self::Listeners => "listeners",
            Self::TargetGroups => "target groups",
            Self::HealthChecks => "health checks",
            Self::Targets => "targets",
            Self::SecurityGroups => "security groups",
            Self::Tags => "tags",
        }
    }
}

/// Every Service annotation Elbow reads.
pub const SERVICE_ANNOTATIONS: &[AnnotationInfo] = &[
    a(
        "type",
        Reader::TargetGroups,
        "(unset)",
        "`external` or `nlb`: a network load balancer; `nlb-ip` asks for IP targets, which are not supported yet.",
    ),
    a(
        "nlb-target-type",
        Reader::TargetGroups,
        "instance",
        "`instance` (nodes on the Service's NodePort). `ip` is not supported yet and is reported as an error.",
    ),
    a(
        "scheme",
        Reader::LoadBalancer,
        "flag `--default-scheme` (internet-facing)",
        "`internal` or `internet-facing`. Changing it replaces the load balancer.",
    ),
    a(
        "internal",
        Reader::LoadBalancer,
        "false",
        "Legacy form of `scheme`: `true` means internal. Ignored when `scheme` is set.",
    ),
    a(
        "name",
        Reader::LoadBalancer,
        "`k8s-<namespace>-<name>-<hash>`",
        "The load balancer's name, at most 32 characters; the default is the AWS Load Balancer Controller's.",
    ),
    a("ip-address-type", Reader::LoadBalancer, "ipv4", "`ipv4` or `dualstack`."),
    a(
        "subnets",
        Reader::Subnets,
        "discovered by tags",
        "Comma-separated subnet ids or `Name` tags. Without it, subnets tagged `kubernetes.io/role/elb` (internet-facing) or `kubernetes.io/role/internal-elb` (internal) are used, one per zone.",
    ),
    a(
        "ssl-cert",
        Reader::Listeners,
        "(none)",
        "Comma-separated ACM certificate ARNs; the first is the default. Makes the `ssl-ports` listeners TLS.",
    ),
    a(
        "ssl-ports",
        Reader::Listeners,
        "all ports",
        "Comma-separated port numbers or names that get TLS listeners when `ssl-cert` is set, or `*`.",
    ),
    a("ssl-negotiation-policy", Reader::Listeners, "ELBSecurityPolicy-2016-08", "The TLS listeners' security policy."),
    a(
        "backend-protocol",
        Reader::TargetGroups,
        "tcp",
        "`tcp` or `ssl`: whether TLS listeners talk TLS to the targets.",
    ),
    a(
        "healthcheck-protocol",
        Reader::HealthChecks,
        "tcp (http with externalTrafficPolicy: Local)",
        "`tcp`, `http` or `https`.",
    ),
    a(
        "healthcheck-port",
        Reader::HealthChecks,
        "traffic-port (healthCheckNodePort with externalTrafficPolicy: Local)",
        "`traffic-port`, a port number, or the name of a Service port (meaning its NodePort).",
    ),
    a(
        "healthcheck-path",
        Reader::HealthChecks,
        "/ (/healthz with externalTrafficPolicy: Local)",
        "The HTTP(S) health check path.",
    ),
    a("healthcheck-interval", Reader::HealthChecks, "10", "Seconds between health checks, 5 to 300."),
    a(
        "healthcheck-timeout",
        Reader::HealthChecks,
        "10 (6 with externalTrafficPolicy: Local)",
        "Seconds before a health check fails, 2 to 120.",
    ),
    a(
        "healthcheck-healthy-threshold",
        Reader::HealthChecks,
        "3 (2 with externalTrafficPolicy: Local)",
        "Consecutive successes before a target is healthy, 2 to 10.",
    ),
    a(
        "healthcheck-unhealthy-threshold",
        Reader::HealthChecks,
        "3 (2 with externalTrafficPolicy: Local)",
        "Consecutive failures before a target is unhealthy, 2 to 10.",
    ),
    a(
        "healthcheck-success-codes",
        Reader::HealthChecks,
        "200-399",
        "HTTP codes that count as healthy (`200`, `200-299`, `200,204`).",
    ),
    a(
        "target-group-attributes",
        Reader::TargetGroups,
        "(none)",
        "Comma-separated `key=value` target group attributes, e.g. `deregistration_delay.timeout_seconds=30`.",
    ),
    a("proxy-protocol", Reader::TargetGroups, "(none)", "`*` turns on proxy protocol v2 on every target group."),
    a(
        "attributes",
        Reader::LoadBalancer,
        "(none)",
        "Comma-separated `key=value` load balancer attributes, e.g. `load_balancing.cross_zone.enabled=true`. The deprecated annotations below win where both set a key, as in the AWS Load Balancer Controller.",
    ),
    a(
        "access-log-enabled",
        Reader::LoadBalancer,
        "false",
        "Deprecated form of the `access_logs.s3.enabled` attribute.",
    ),
    a(
        "access-log-s3-bucket-name",
        Reader::LoadBalancer,
        "(none)",
        "Deprecated form of the `access_logs.s3.bucket` attribute; read only with `access-log-enabled: true`.",
    ),
    a(
        "access-log-s3-bucket-prefix",
        Reader::LoadBalancer,
        "(none)",
        "Deprecated form of the `access_logs.s3.prefix` attribute; read only with `access-log-enabled: true`.",
    ),
    a(
        "cross-zone-load-balancing-enabled",
        Reader::LoadBalancer,
        "false",
        "Deprecated form of the `load_balancing.cross_zone.enabled` attribute.",
    ),
    a(
        "additional-resource-tags",
        Reader::Tags,
        "(none)",
        "Comma-separated `key=value` tags on every resource. Elbow's ownership tags cannot be overridden.",
    ),
    a(
        "security-groups",
        Reader::SecurityGroups,
        "(a managed frontend group)",
        "Comma-separated security group ids (`sg-...`; names are not supported yet) to attach instead of the managed frontend group.",
    ),
    a(
        "manage-backend-security-group-rules",
        Reader::SecurityGroups,
        "true (false with `security-groups`)",
        "Whether Elbow attaches the shared backend group and opens the NodePorts to it on the nodes' group.",
    ),
    a(
        "load-balancer-source-ranges",
        Reader::SecurityGroups,
        "0.0.0.0/0",
        "Comma-separated CIDRs admitted by the frontend group; `spec.loadBalancerSourceRanges` wins when set.",
    ),
    a(
        "target-node-labels",
        Reader::Targets,
        "(all nodes)",
        "Comma-separated `key=value` (or `key`) labels; only matching nodes become targets.",
    ),
];

/// Reads one object's annotations under one prefix.
pub struct Annotations<'a> {
    values: &'a BTreeMap<String, String>,
    prefix: &'static str,
    table: &'static [AnnotationInfo],
}

impl<'a> Annotations<'a> {
    pub fn service(values: &'a BTreeMap<String, String>) -> Self {
        Self { values, prefix: SERVICE_PREFIX, table: SERVICE_ANNOTATIONS }
    }

    fn name(&self, suffix: &str) -> String {
        debug_assert!(self.table.iter().any(|a| a.suffix == suffix), "annotation {suffix} is missing from the table");
        format!("{}{suffix}", self.prefix)
    }

    /// The trimmed value, `None` when absent or empty.
    pub fn get(&self, suffix: &str) -> Option<&'a str> {
        self.values.get(&self.name(suffix)).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn invalid(&self, suffix: &str, value: &str, expected: &str) -> BuildError {
        BuildError::InvalidAnnotation {
            annotation: self.name(suffix),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    /// Parses the value with `parse`; a value it rejects is an error saying `expected`.
    pub fn parse<T>(
        &self,
        suffix: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, BuildError> {
        match self.get(suffix) {
            None => Ok(None),
            Some(value) => parse(value).map(Some).ok_or_else(|| self.invalid(suffix, value, expected)),
        }
    }

    pub fn bool(&self, suffix: &str) -> Result<Option<bool>, BuildError> {
        self.parse(suffix, "true or false", |v| match v.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    }

    pub fn number(&self, suffix: &str, min: u32, max: u32) -> Result<Option<u32>, BuildError> {
        let expected = format!("a whole number from {min} to {max}");
        self.parse(suffix, &expected, |v| v.parse::<u32>().ok().filter(|n| (min..=max).contains(n)))
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    pub fn list(&self, suffix: &str) -> Option<Vec<String>> {
        self.get(suffix).map(split_list)
    }

    /// `key=value` pairs separated by commas; with `allow_bare_keys`, `key` alone maps to "".
    pub fn pairs(&self, suffix: &str, allow_bare_keys: bool) -> Result<Option<BTreeMap<String, String>>, BuildError> {
        let expected =
            if allow_bare_keys { "comma-separated key=value or key items" } else { "comma-separated key=value pairs" };
        self.parse(suffix, expected, |value| {
            let mut pairs = BTreeMap::new();
            for item in split_list(value) {
                let (key, value) = match item.split_once('=') {
                    Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
                    None if allow_bare_keys => (item.clone(), String::new()),
                    None => return None,
                };
                if key.is_empty() {
                    return None;
                }
                pairs.insert(key, value);
            }
            Some(pairs)
        })
    }
}

pub(crate) fn split_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The Markdown reference of the Service annotations: docs/annotations.md is this text, and a
/// test keeps it so.
pub fn service_annotations_markdown() -> String {
    let mut out = String::from(
        "# Annotations\n\n\
         Elbow reads the AWS Load Balancer Controller's Service annotations with the same names, meanings and \
         defaults, so manifests written for it keep working. A bad value is reported on the Service (a Warning \
         event and the `elbow.dev/LoadBalancerReady` condition) and changes nothing in the cloud.\n\n\
         This page is generated from the table in `engine/model/src/build/annotations.rs`; a test fails when \
         they differ.\n\n\
         ## Services\n\n",
    );
    out.push_str(&format!(
        "Prefix: `{SERVICE_PREFIX}`\n\n| annotation | shapes | default | meaning |\n| --- | --- | --- | --- |\n"
    ));
    for info in SERVICE_ANNOTATIONS {
        out.push_str(&format!("| `{}` | {} | {} | {} |\n", info.suffix, info.reader.as_str(), info.default, info.doc));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (format!("{SERVICE_PREFIX}{k}"), v.to_string())).collect()
    }

    #[test]
    fn the_docs_are_generated_from_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/annotations.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        if on_disk != service_annotations_markdown() {
            // Regenerate with: ELBOW_WRITE_DOCS=1 cargo test -p elbow-model
            if std::env::var_os("ELBOW_WRITE_DOCS").is_some() {
                std::fs::write(path, service_annotations_markdown()).expect("docs/annotations.md is writable");
            } else {
                panic!("docs/annotations.md is stale; regenerate it with ELBOW_WRITE_DOCS=1 cargo test -p elbow-model");
            }
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = SERVICE_ANNOTATIONS.iter().map(|a| a.suffix).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SERVICE_ANNOTATIONS.len());
    }

    #[test]
    fn typed_readers_accept_good_values_and_name_the_annotation_on_bad_ones() {
        let values = annotations(&[
            ("internal", "TRUE"),
            ("healthcheck-interval", "30"),
            ("healthcheck-timeout", "1"),
            ("subnets", " subnet-a, ,subnet-b "),
            ("additional-resource-tags", "team=web, cost=1"),
            ("target-node-labels", "pool=web,gpu"),
            ("attributes", "broken"),
        ]);
        let read = Annotations::service(&values);
        assert_eq!(read.bool("internal"), Ok(Some(true)));
        assert_eq!(read.number("healthcheck-interval", 5, 300), Ok(Some(30)));
        let error = read.number("healthcheck-timeout", 2, 120).expect_err("out of range");
        assert_eq!(
            error.to_string(),
            "annotation service.beta.kubernetes.io/aws-load-balancer-healthcheck-timeout has an invalid value \"1\": a whole number from 2 to 120"
        );
        assert_eq!(read.list("subnets"), Some(vec!["subnet-a".to_string(), "subnet-b".to_string()]));
        let tags = read.pairs("additional-resource-tags", false).expect("valid").expect("present");
        assert_eq!(tags.get("team").map(String::as_str), Some("web"));
        let labels = read.pairs("target-node-labels", true).expect("valid").expect("present");
        assert_eq!(labels.get("gpu").map(String::as_str), Some(""));
        assert!(read.pairs("attributes", false).is_err());
        assert_eq!(read.bool("scheme"), Ok(None), "absent");
    }
}
