//! Listener rules from hosts and paths, in the AWS Load Balancer Controller's order: per Ingress rule, Exact paths first, then
//! Prefix paths longest first, then ImplementationSpecific ones as written; members in group
//! order; priorities 1..N in that order. Exact `p` matches `[p]`, Prefix `p` matches `[p, p/*]`
//! (`/` matches `/*`), ImplementationSpecific is an ELBv2 pattern as written. The
//! `conditions.<name>` annotation adds conditions to the paths whose backend is Service `<name>`,
//! with values or (`regexValues`) regular expressions; `use-regex-path-match: "true"` makes the
//! ImplementationSpecific paths regular expressions (the path after its leading `/`), as in LBC;
//! `transforms.<name>` (see `transforms`) gives the same paths' rules their rewrites.

use k8s_openapi::api::networking::v1::HTTPIngressPath;
use serde::Deserialize;

use crate::error::BuildError;
use crate::ingress::actions::{backend_action, backend_service};
use crate::ingress::auth::AuthSources;
use crate::ingress::group::Member;
use crate::ingress::target_groups::TargetGroups;
use crate::ingress::transforms::annotated_transforms;
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

/// The Ingress annotation that makes ImplementationSpecific paths regular expressions.
const USE_REGEX_PATH_MATCH: &str = "use-regex-path-match";

/// An ImplementationSpecific path under `use-regex-path-match`: a regular expression, written
/// after the `/` Kubernetes requires (LBC drops that first character, as ELBv2's regular
/// expressions need none).
fn path_regex(path: &str) -> Result<String, BuildError> {
    match path.strip_prefix('/') {
        Some(regex) if !regex.is_empty() => Ok(regex.to_string()),
        _ => Err(BuildError::InvalidPath {
            path: path.into(),
            path_type: PathType::ImplementationSpecific.as_str().into(),
            reason: "with use-regex-path-match it is / followed by a regular expression".into(),
        }),
    }
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
    let regex_paths = member.annotations().bool(USE_REGEX_PATH_MATCH)?.unwrap_or(false);
    for ingress_rule in ingress_rules {
        let Some(http) = ingress_rule.http.as_ref() else { continue };
        let host = ingress_rule.host.as_deref().filter(|h| !h.is_empty());
        for (path, path_type) in ordered_paths(&http.paths)? {
            let mut hosts: Vec<String> = host.map(str::to_string).into_iter().collect();
            let mut host_regexes = Vec::new();
            let (mut patterns, mut path_regexes) = match path.path.as_deref().filter(|p| !p.is_empty()) {
                Some(text) if regex_paths && path_type == PathType::ImplementationSpecific => {
                    (Vec::new(), vec![path_regex(text)?])
                }
                Some(text) => (path_patterns(text, path_type)?, Vec::new()),
                None => (Vec::new(), Vec::new()),
            };
            let service = backend_service(&path.backend)?;
            let mut conditions = Vec::new();
            for extra in annotated_conditions(member, &service.name)? {
                match extra {
                    RuleCondition::HostHeader(values) => hosts.extend(values),
                    RuleCondition::HostHeaderRegex(values) => host_regexes.extend(values),
                    RuleCondition::PathPattern(values) => patterns.extend(values),
                    RuleCondition::PathPatternRegex(values) => path_regexes.extend(values),
                    other => conditions.push(other),
                }
            }
            // ELBv2 matches a host or a path by values or by regular expressions, never both
            // in one rule; say which annotation mixes them rather than let AWS refuse the rule.
            for (what, values, regexes) in [("host", &hosts, &host_regexes), ("path", &patterns, &path_regexes)] {
                if !values.is_empty() && !regexes.is_empty() {
                    let suffix = format!("conditions.{}", service.name);
                    let a = member.annotations();
                    let expected = format!(
                        "conditions that match the {what} either by values ({}) or by regexValues ({}), not both",
                        values.join(", "),
                        regexes.join(", ")
                    );
                    return Err(match a.get(&suffix) {
                        Some(raw) => a.invalid(&suffix, raw, &expected),
                        None => a.invalid(USE_REGEX_PATH_MATCH, "true", &expected),
                    });
                }
            }
            if !hosts.is_empty() {
                conditions.push(RuleCondition::HostHeader(hosts));
            }
            if !host_regexes.is_empty() {
                conditions.push(RuleCondition::HostHeaderRegex(host_regexes));
            }
            if !patterns.is_empty() {
                conditions.push(RuleCondition::PathPattern(patterns));
            }
            if !path_regexes.is_empty() {
                conditions.push(RuleCondition::PathPatternRegex(path_regexes));
            }
            if conditions.is_empty() {
                conditions.push(RuleCondition::PathPattern(vec!["/*".into()]));
            }
            // Authentication (HTTPS listeners only) first, then the backend's action.
            let mut actions = auth.pre_actions(member, &path.backend, protocol)?;
            actions.push(backend_action(member, &path.backend, target_groups)?);
            let transforms = annotated_transforms(member, &service.name)?;
            rules.push(RuleSpec { conditions, actions, transforms });
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

/// A condition's values, or its regular expressions.
enum Matched {
    Values(Vec<String>),
    Regexes(Vec<String>),
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
    // Values or regular expressions, exactly one of them (as LBC and ELBv2 take them).
    let values = |config: Option<Values>, name: &str| -> Result<Matched, BuildError> {
        let config = config.unwrap_or(Values { values: Vec::new(), regex_values: Vec::new() });
        match (config.values.is_empty(), config.regex_values.is_empty()) {
            (false, true) => Ok(Matched::Values(config.values)),
            (true, false) => Ok(Matched::Regexes(config.regex_values)),
            (true, true) => Err(invalid(format!("{name} needs {name}Config.values or regexValues"))),
            (false, false) => Err(invalid(format!("{name}Config has either values or regexValues, not both"))),
        }
    };
    let plain = |config: Option<Values>, name: &str| match values(config, name)? {
        Matched::Values(values) => Ok(values),
        Matched::Regexes(_) => Err(invalid(format!("{name} takes values, not regexValues"))),
    };
    let mut conditions = Vec::with_capacity(items.len());
    for item in items {
        conditions.push(match item.field.as_str() {
            "host-header" => match values(item.host_header_config, "hostHeader")? {
                Matched::Values(values) => RuleCondition::HostHeader(values),
                Matched::Regexes(regexes) => RuleCondition::HostHeaderRegex(regexes),
            },
            "path-pattern" => match values(item.path_pattern_config, "pathPattern")? {
                Matched::Values(values) => RuleCondition::PathPattern(values),
                Matched::Regexes(regexes) => RuleCondition::PathPatternRegex(regexes),
            },
            "http-request-method" => {
                RuleCondition::HttpRequestMethod(plain(item.http_request_method_config, "httpRequestMethod")?)
            }
            "source-ip" => {
                let cidrs = plain(item.source_ip_config, "sourceIP")?;
                if let Some(bad) = cidrs.iter().find(|c| !is_cidr(c)) {
                    return Err(invalid(format!("source-ip value {bad:?} is not a CIDR block")));
                }
                RuleCondition::SourceIp(cidrs)
            }
            "http-header" => {
                let config =
                    item.http_header_config.ok_or_else(|| invalid("http-header needs httpHeaderConfig".into()))?;
                if config.http_header_name.is_empty() {
                    return Err(invalid("httpHeaderConfig needs httpHeaderName".into()));
                }
                let name = config.http_header_name;
                match (config.values.is_empty(), config.regex_values.is_empty()) {
                    (false, true) => RuleCondition::HttpHeader { name, values: config.values },
                    (true, false) => RuleCondition::HttpHeaderRegex { name, values: config.regex_values },
                    (true, true) => return Err(invalid("httpHeaderConfig needs values or regexValues".into())),
                    (false, false) => {
                        return Err(invalid("httpHeaderConfig has either values or regexValues, not both".into()));
                    }
                }
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
