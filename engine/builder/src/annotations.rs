//! The annotations Elbow reads, in one table: their names, defaults and meaning (the source of
//! docs/annotations.md), and typed readers that turn a bad value into a user error naming the
//! annotation, the value and what was expected.
//!
//! The names and meanings are the AWS Load Balancer Controller's, so manifests written for it keep
//! working.

use std::collections::BTreeMap;

use crate::error::BuildError;

pub const SERVICE_PREFIX: &str = "service.beta.kubernetes.io/aws-load-balancer-";
/// Ingress annotations; the health-check and target-group ones may also sit on a backend Service,
/// where they win over the Ingress's.
pub const INGRESS_PREFIX: &str = "alb.ingress.kubernetes.io/";

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

/// The step of a builder (`build/service.rs`, `build/ingress/`, `build/subnets.rs`) that reads an
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
    Groups,
    Rules,
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
            Self::Groups => "groups",
            Self::Rules => "listener rules",
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
        "security-group-prefix-lists",
        Reader::SecurityGroups,
        "(none)",
        "Comma-separated managed prefix list ids (`pl-...`) the frontend group admits on every listener port, next to the source ranges; with prefix lists and no source ranges, only the prefix lists are admitted.",
    ),
    a(
        "target-node-labels",
        Reader::Targets,
        "(all nodes)",
        "Comma-separated `key=value` (or `key`) labels; only matching nodes become targets.",
    ),
];

/// Every Ingress annotation Elbow reads. `<name>` stands for the backend Service name an Ingress
/// path refers to.
pub const INGRESS_ANNOTATIONS: &[AnnotationInfo] = &[
    a(
        "group.name",
        Reader::Groups,
        "(the Ingress is its own group)",
        "Puts the Ingress on the shared load balancer of this group, across namespaces: lowercase letters, digits, `-` and `.`, at most 63 characters. The IngressClassParams `group.name` wins.",
    ),
    a(
        "group.order",
        Reader::Groups,
        "0",
        "The Ingress's place in its group's rules, -1000 to 1000; lower comes first, ties by namespace/name.",
    ),
    a(
        "scheme",
        Reader::LoadBalancer,
        "flag `--default-scheme` (internet-facing)",
        "`internal` or `internet-facing`; every member of a group must agree. The IngressClassParams `scheme` wins. The AWS Load Balancer Controller defaults to internal.",
    ),
    a(
        "ip-address-type",
        Reader::LoadBalancer,
        "ipv4",
        "`ipv4` or `dualstack`; members must agree. The IngressClassParams `ipAddressType` wins.",
    ),
    a(
        "load-balancer-name",
        Reader::LoadBalancer,
        "`k8s-<namespace>-<name>-<hash>` or `k8s-<group>-<hash>`",
        "The load balancer's name, at most 32 characters; the default is the AWS Load Balancer Controller's.",
    ),
    a(
        "load-balancer-attributes",
        Reader::LoadBalancer,
        "(none)",
        "Comma-separated `key=value` attributes, e.g. `idle_timeout.timeout_seconds=120`; members may not set one key to two values. The IngressClassParams `loadBalancerAttributes` win.",
    ),
    a(
        "subnets",
        Reader::Subnets,
        "discovered by tags",
        "Comma-separated subnet ids or `Name` tags, at least two zones; members must agree. The IngressClassParams `subnets` win.",
    ),
    a(
        "security-groups",
        Reader::SecurityGroups,
        "(a managed frontend group)",
        "Comma-separated security group ids (`sg-...`) to attach instead of the managed frontend group; members must agree.",
    ),
    a(
        "manage-backend-security-group-rules",
        Reader::SecurityGroups,
        "true (false with `security-groups`)",
        "Whether Elbow attaches the shared backend group and opens the NodePorts to it on the nodes' group.",
    ),
    a(
        "inbound-cidrs",
        Reader::SecurityGroups,
        "0.0.0.0/0 (and ::/0 for dualstack)",
        "Comma-separated CIDRs the frontend group admits on the Ingress's listen ports. The IngressClassParams `inboundCIDRs` win.",
    ),
    a(
        "security-group-prefix-lists",
        Reader::SecurityGroups,
        "(none)",
        "Comma-separated managed prefix list ids (`pl-...`) the frontend group admits on the Ingress's listen ports, next to `inbound-cidrs`; members sharing a port must agree. With prefix lists and no CIDRs, only the prefix lists are admitted.",
    ),
    a(
        "tags",
        Reader::Tags,
        "(none)",
        "Comma-separated `key=value` tags on every resource of the group; the IngressClassParams `tags` win, Elbow's ownership tags cannot be overridden.",
    ),
    a(
        "listen-ports",
        Reader::Listeners,
        "`[{\"HTTP\": 80}]`, or `[{\"HTTPS\": 443}]` with certificates",
        "JSON list of `{\"HTTP\": port}` / `{\"HTTPS\": port}`; members sharing a port must agree on its protocol.",
    ),
    a(
        "certificate-arn",
        Reader::Listeners,
        "(none)",
        "Comma-separated ACM certificate ARNs for the HTTPS listeners; the first is the default. The IngressClassParams `certificateArn` wins.",
    ),
    a(
        "ssl-policy",
        Reader::Listeners,
        "ELBSecurityPolicy-2016-08",
        "The HTTPS listeners' security policy. The IngressClassParams `sslPolicy` wins.",
    ),
    a(
        "ssl-redirect",
        Reader::Listeners,
        "(none)",
        "An HTTPS listen port: every HTTP listener then answers with a 301 redirect to it and has no other rules.",
    ),
    a(
        "actions.<name>",
        Reader::Rules,
        "(none)",
        "JSON action for paths whose backend is Service `<name>` with port name `use-annotation`: `forward` (`forwardConfig.targetGroups` of `serviceName`/`servicePort`/`weight`), `redirect` (`redirectConfig`) or `fixed-response` (`fixedResponseConfig`).",
    ),
    a(
        "conditions.<name>",
        Reader::Rules,
        "(none)",
        "JSON list of extra rule conditions for paths whose backend is Service `<name>`: `host-header`, `path-pattern`, `http-header`, `http-request-method`, `query-string`, `source-ip`.",
    ),
    a(
        "target-type",
        Reader::TargetGroups,
        "instance",
        "`instance` (nodes on the Service's NodePort; the Service must be NodePort or LoadBalancer). `ip` is not supported yet. Also read from the Service.",
    ),
    a(
        "backend-protocol",
        Reader::TargetGroups,
        "HTTP",
        "`HTTP` or `HTTPS`: how the load balancer talks to the targets. Also read from the Service, which wins.",
    ),
    a(
        "backend-protocol-version",
        Reader::TargetGroups,
        "HTTP1",
        "Only `HTTP1` is supported yet. Also read from the Service, which wins.",
    ),
    a(
        "target-group-attributes",
        Reader::TargetGroups,
        "(none)",
        "Comma-separated `key=value` target group attributes. Also read from the Service, which wins.",
    ),
    a(
        "healthcheck-protocol",
        Reader::HealthChecks,
        "the backend protocol",
        "`HTTP` or `HTTPS`. This and the other health-check annotations are also read from the Service, which wins.",
    ),
    a(
        "healthcheck-port",
        Reader::HealthChecks,
        "traffic-port",
        "`traffic-port`, a port number, or the name of a Service port (meaning its NodePort).",
    ),
    a("healthcheck-path", Reader::HealthChecks, "/", "The health check path."),
    a("healthcheck-interval-seconds", Reader::HealthChecks, "15", "Seconds between health checks, 5 to 300."),
    a("healthcheck-timeout-seconds", Reader::HealthChecks, "5", "Seconds before a health check fails, 2 to 120."),
    a(
        "healthy-threshold-count",
        Reader::HealthChecks,
        "2",
        "Consecutive successes before a target is healthy, 2 to 10.",
    ),
    a(
        "unhealthy-threshold-count",
        Reader::HealthChecks,
        "2",
        "Consecutive failures before a target is unhealthy, 2 to 10.",
    ),
    a("success-codes", Reader::HealthChecks, "200", "HTTP codes that count as healthy (`200`, `200-299`, `200,204`)."),
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

    /// An Ingress's annotations, or the `alb.ingress.kubernetes.io/` ones of a backend Service.
    pub fn ingress(values: &'a BTreeMap<String, String>) -> Self {
        Self { values, prefix: INGRESS_PREFIX, table: INGRESS_ANNOTATIONS }
    }

    /// The full name; `suffix` is a table entry, or a `<name>` entry with the name filled in.
    pub fn name(&self, suffix: &str) -> String {
        debug_assert!(
            self.table
                .iter()
                .any(|a| a.suffix == suffix
                    || a.suffix.strip_suffix("<name>").is_some_and(|stem| suffix.starts_with(stem))),
            "annotation {suffix} is missing from the table"
        );
        format!("{}{suffix}", self.prefix)
    }

    /// A JSON value; one that does not parse as `T` is an error quoting serde's reason.
    pub fn json<T: serde::de::DeserializeOwned>(&self, suffix: &str, expected: &str) -> Result<Option<T>, BuildError> {
        let Some(value) = self.get(suffix) else { return Ok(None) };
        serde_json::from_str(value)
            .map(Some)
            .map_err(|error| self.invalid(suffix, value, &format!("{expected} ({error})")))
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

/// HTTP success codes as ELBv2 takes them: `200`, `200-399`, `200,204`.
pub(crate) fn valid_success_codes(value: &str) -> Option<String> {
    let code = |s: &str| s.len() == 3 && s.parse::<u16>().is_ok_and(|c| (200..600).contains(&c));
    let ok = value.split(',').all(|part| match part.split_once('-') {
        Some((from, to)) => code(from) && code(to) && from <= to,
        None => code(part),
    });
    ok.then(|| value.to_string())
}

/// The Markdown reference of the annotations: docs/annotations.md is this text, and a test keeps
/// it so.
pub fn annotations_markdown() -> String {
    let mut out = String::from(
        "# Annotations\n\n\
         Elbow reads the AWS Load Balancer Controller's Service and Ingress annotations with the same names, \
         meanings and defaults, so manifests written for it keep working. A bad value is reported on the object (a \
         Warning event, and on Services the `elbow.dev/LoadBalancerReady` condition) and changes nothing in the \
         cloud.\n\n\
         This page is generated from the tables in `engine/builder/src/annotations.rs`; a test fails when \
         they differ.\n\n\
         ## Services\n\n",
    );
    table_markdown(&mut out, SERVICE_PREFIX, SERVICE_ANNOTATIONS);
    out.push_str(
        "\n## Ingresses\n\n\
         An Ingress group shares one application load balancer; group-wide settings must agree across its members, \
         and a value in the IngressClass's IngressClassParams overrides the annotation.\n\n",
    );
    table_markdown(&mut out, INGRESS_PREFIX, INGRESS_ANNOTATIONS);
    out
}

fn table_markdown(out: &mut String, prefix: &str, table: &[AnnotationInfo]) {
    out.push_str(&format!(
        "Prefix: `{prefix}`\n\n| annotation | shapes | default | meaning |\n| --- | --- | --- | --- |\n"
    ));
    for info in table {
        out.push_str(&format!("| `{}` | {} | {} | {} |\n", info.suffix, info.reader.as_str(), info.default, info.doc));
    }
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
        if on_disk != annotations_markdown() {
            // Regenerate with: ELBOW_WRITE_DOCS=1 cargo test -p elbow-model
            if std::env::var_os("ELBOW_WRITE_DOCS").is_some() {
                std::fs::write(path, annotations_markdown()).expect("docs/annotations.md is writable");
            } else {
                panic!("docs/annotations.md is stale; regenerate it with ELBOW_WRITE_DOCS=1 cargo test -p elbow-model");
            }
        }
    }

    #[test]
    fn names_are_unique() {
        for table in [SERVICE_ANNOTATIONS, INGRESS_ANNOTATIONS] {
            let mut names: Vec<_> = table.iter().map(|a| a.suffix).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), table.len());
        }
    }

    #[test]
    fn templated_names_and_json_values() {
        let values: BTreeMap<String, String> = [
            ("alb.ingress.kubernetes.io/actions.web", r#"{"type":"redirect"}"#),
            ("alb.ingress.kubernetes.io/listen-ports", "[{\"HTTP\": 80"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let read = Annotations::ingress(&values);
        let action: Option<serde_json::Value> = read.json("actions.web", "an action").expect("valid JSON");
        assert_eq!(action.and_then(|a| a["type"].as_str().map(str::to_string)).as_deref(), Some("redirect"));
        let error = read.json::<serde_json::Value>("listen-ports", "a JSON list").expect_err("cut short");
        assert!(
            error.to_string().starts_with("annotation alb.ingress.kubernetes.io/listen-ports has an invalid value"),
            "{error}"
        );
        assert_eq!(read.json::<serde_json::Value>("actions.other", "an action"), Ok(None));
    }

    #[test]
    fn success_codes() {
        for good in ["200", "200-399", "200,204", "200-299,404"] {
            assert_eq!(valid_success_codes(good).as_deref(), Some(good));
        }
        for bad in ["", "20", "199", "600", "300-200", "ok", "200,"] {
            assert_eq!(valid_success_codes(bad), None, "{bad}");
        }
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
