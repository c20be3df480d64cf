//! Listener rules from hosts and paths, in the AWS Load Balancer Controller's order: per Ingress rule, Exact paths first, then
//! Prefix paths longest first, then ImplementationSpecific ones as written; members in group
//! order; priorities 1..N in that order. Exact `p` matches `[p]`, Prefix `p` matches `[p, p/*]`
//! (`/` matches `/*`), ImplementationSpecific is an ELBv2 pattern as written. The
//! `conditions.<name>` annotation adds conditions to the paths whose backend is Service `<name>`.

use k8s_openapi::api::networking::v1::HTTPIngressPath;
use serde::Deserialize;

use crate::error::BuildError;
use crate::ingress::actions::{backend_action, backend_service};
use crate::ingress::auth::AuthSources;
use crate::ingress::group::Member;
use crate::ingress::target_groups::TargetGroups;
use crate::security::is_cidr;
use elbow_model::stack::{Protocol, QueryStringPair, RuleCondition, RuleSpec};

/// ELBv2's limit of rules per listener, the default rule aside.
pub(crate) const MAX_RULES_PER_LISTENER: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PathType {
    Exact,
    Prefix,
    ImplementationSpecific,
}

impl PathType {
    fn parse(path: &str, path_type: &str) -> Result<Self, BuildError> {
        match path_type {
            "Exact" => Ok(Self::Exact),
            "Prefix" => Ok(Self::Prefix),
            // The API server defaults the field; an object built elsewhere may leave it empty.
            "ImplementationSpecific" | "" => Ok(Self::ImplementationSpecific),
            other => Err(BuildError::UnknownPathType { path: path.into(), path_type: other.into() }),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "Exact",
            Self::Prefix => "Prefix",
            Self::ImplementationSpecific => "ImplementationSpecific",
        }
    }
}

/// The ELBv2 path patterns for an Ingress path.
pub(crate) fn path_patterns(path: &str, path_type: PathType) -> Result<Vec<String>, BuildError> {
    let invalid = |reason: &str| BuildError::InvalidPath {
        path: path.into(),
        path_type: path_type.as_str().into(),
        reason: reason.into(),
    };
    if path_type != PathType::ImplementationSpecific {
        if !path.starts_with('/') {
            return Err(invalid("it must start with /"));
        }
        if path.contains(['*', '?']) {
            return Err(invalid("wildcards * and ? are for ImplementationSpecific paths"));
        }
    }
    Ok(match path_type {
        PathType::Exact | PathType::ImplementationSpecific => vec![path.to_string()],
        PathType::Prefix if path == "/" => vec!["/*".to_string()],
        PathType::Prefix => {
            let base = path.trim_end_matches('/');
            vec![base.to_string(), format!("{base}/*")]
        }
    })
}

/// An Ingress rule's paths in rule order: Exact, Prefix longest first, ImplementationSpecific;
/// the sort is stable, so equal paths keep the order they are written in.
pub(crate) fn ordered_paths(paths: &[HTTPIngressPath]) -> Result<Vec<(&HTTPIngressPath, PathType)>, BuildError> {
    let mut typed = Vec::with_capacity(paths.len());
    for path in paths {
        let text = path.path.as_deref().unwrap_or_default();
        typed.push((path, PathType::parse(text, &path.path_type)?));
    }
    typed.sort_by(|(a, a_type), (b, b_type)| {
        let length = |p: &HTTPIngressPath| p.path.as_deref().unwrap_or_default().len();
        match (a_type, b_type) {
            (PathType::Prefix, PathType::Prefix) => length(b).cmp(&length(a)),
            _ => a_type.cmp(b_type),
        }
    });
    Ok(typed)
}

/// The rules `members` (in group order) give one listener.
pub(crate) fn listener_rules(
    members: &[&Member<'_>],
    protocol: Protocol,
    auth: &AuthSources<'_>,
    target_groups: &mut TargetGroups<'_>,
) -> Result<Vec<RuleSpec>, BuildError> {
    let mut rules = Vec::new();
    for member in members {
        member_rules(member, protocol, auth, target_groups, &mut rules).map_err(|e| member.blame(e))?;
    }
    Ok(rules)
}

fn member_rules(
    member: &Member<'_>,
    protocol: Protocol,
    auth: &AuthSources<'_>,
    target_groups: &mut TargetGroups<'_>,
    rules: &mut Vec<RuleSpec>,
) -> Result<(), BuildError> {
    let ingress_rules = member.ingress.spec.as_ref().and_then(|s| s.rules.as_deref()).unwrap_or_default();
    for ingress_rule in ingress_rules {
        let Some(http) = ingress_rule.http.as_ref() else { continue };
        let host = ingress_rule.host.as_deref().filter(|h| !h.is_empty());
        for (path, path_type) in ordered_paths(&http.paths)? {
            let mut hosts: Vec<String> = host.map(str::to_string).into_iter().collect();
            let mut patterns = match path.path.as_deref().filter(|p| !p.is_empty()) {
                Some(text) => path_patterns(text, path_type)?,
                None => Vec::new(),
            };
            let service = backend_service(&path.backend)?;
            let mut conditions = Vec::new();
            for extra in annotated_conditions(member, &service.name)? {
                match extra {
                    RuleCondition::HostHeader(values) => hosts.extend(values),
                    RuleCondition::PathPattern(values) => patterns.extend(values),
                    other => conditions.push(other),
                }
            }
            if !hosts.is_empty() {
                conditions.push(RuleCondition::HostHeader(hosts));
            }
            if !patterns.is_empty() {
                conditions.push(RuleCondition::PathPattern(patterns));
            }
            if conditions.is_empty() {
                conditions.push(RuleCondition::PathPattern(vec!["/*".into()]));
            }
            // Authentication (HTTPS listeners only) first, then the backend's action.
            let mut actions = auth.pre_actions(member, &path.backend, protocol)?;
            actions.push(backend_action(member, &path.backend, target_groups)?);
            rules.push(RuleSpec { conditions, actions });
        }
    }
    Ok(())
}

/// `conditions.<name>` as the AWS Load Balancer Controller writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnnotatedCondition {
    field: String,
    host_header_config: Option<Values>,
    path_pattern_config: Option<Values>,
    http_request_method_config: Option<Values>,
    #[serde(rename = "sourceIPConfig")]
    source_ip_config: Option<Values>,
    http_header_config: Option<HttpHeaderConfig>,
    query_string_config: Option<QueryStringConfig>,
}

#[derive(Debug, Deserialize)]
struct Values {
    #[serde(default)]
    values: Vec<String>,
    #[serde(default, rename = "regexValues")]
    regex_values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpHeaderConfig {
    http_header_name: String,
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    regex_values: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct QueryStringConfig {
    #[serde(default)]
    values: Vec<QueryStringValue>,
}

#[derive(Debug, Deserialize)]
struct QueryStringValue {
    key: Option<String>,
    value: String,
}

/// The fields of LBC's condition, as its Go types name them; keys match them ignoring case, as
/// Go's `encoding/json` matches them for LBC.
const CONDITION_FIELDS: &[&str] = &[
    "field",
    "hostHeaderConfig",
    "httpHeaderConfig",
    "httpRequestMethodConfig",
    "pathPatternConfig",
    "queryStringConfig",
    "sourceIPConfig",
    "values",
    "regexValues",
    "httpHeaderName",
    "key",
    "value",
];

const CONDITIONS_SHAPE: &str =
    "a JSON list of conditions (host-header, path-pattern, http-header, http-request-method, query-string, source-ip)";

fn annotated_conditions(member: &Member<'_>, service: &str) -> Result<Vec<RuleCondition>, BuildError> {
    let a = member.annotations();
    let suffix = format!("conditions.{service}");
    let Some(items) = a.go_json::<Vec<AnnotatedCondition>>(&suffix, CONDITIONS_SHAPE, CONDITION_FIELDS)? else {
        return Ok(Vec::new());
    };
    let raw = a.get(&suffix).unwrap_or_default();
    let invalid = |why: String| a.invalid(&suffix, raw, &format!("{CONDITIONS_SHAPE}; {why}"));
    // LBC's regexValues need ELBv2's regular-expression conditions, which Elbow does not make;
    // dropping them would match more than the user asked for.
    let no_regex = |regex: &[String]| match regex.is_empty() {
        true => Ok(()),
        false => Err(BuildError::NotSupported {
            feature: "regular-expression conditions".into(),
            annotation: a.name(&suffix),
            value: "regexValues".into(),
        }),
    };
    let values = |config: Option<Values>, name: &str| {
        let config = config.unwrap_or(Values { values: Vec::new(), regex_values: Vec::new() });
        no_regex(&config.regex_values)?;
        let values = config.values;
        if values.is_empty() {
            return Err(invalid(format!("{name} needs {name}Config.values")));
        }
        Ok(values)
    };
    let mut conditions = Vec::with_capacity(items.len());
    for item in items {
        conditions.push(match item.field.as_str() {
            "host-header" => RuleCondition::HostHeader(values(item.host_header_config, "hostHeader")?),
            "path-pattern" => RuleCondition::PathPattern(values(item.path_pattern_config, "pathPattern")?),
            "http-request-method" => {
                RuleCondition::HttpRequestMethod(values(item.http_request_method_config, "httpRequestMethod")?)
            }
            "source-ip" => {
                let cidrs = values(item.source_ip_config, "sourceIP")?;
                if let Some(bad) = cidrs.iter().find(|c| !is_cidr(c)) {
                    return Err(invalid(format!("source-ip value {bad:?} is not a CIDR block")));
                }
                RuleCondition::SourceIp(cidrs)
            }
            "http-header" => {
                let config =
                    item.http_header_config.ok_or_else(|| invalid("http-header needs httpHeaderConfig".into()))?;
                no_regex(&config.regex_values)?;
                if config.http_header_name.is_empty() || config.values.is_empty() {
                    return Err(invalid("httpHeaderConfig needs httpHeaderName and values".into()));
                }
                RuleCondition::HttpHeader { name: config.http_header_name, values: config.values }
            }
            "query-string" => {
                let pairs = item.query_string_config.map(|c| c.values).unwrap_or_default();
                if pairs.is_empty() || pairs.iter().any(|p| p.value.is_empty()) {
                    return Err(invalid("queryStringConfig.values needs pairs with a value".into()));
                }
                RuleCondition::QueryString(
                    pairs.into_iter().map(|p| QueryStringPair { key: p.key, value: p.value }).collect(),
                )
            }
            other => return Err(invalid(format!("field {other:?} is not supported"))),
        });
    }
    Ok(conditions)
}
