//! The `transforms.<name>` annotation: rewrites of the host header or the URL that ELBv2 applies
//! to a request matching a rule whose path's backend is Service `<name>`, before the rule's
//! actions, read as the AWS Load Balancer Controller reads it (a JSON list, keys in any case).
//! ELBv2 takes at most one transform of each type per rule and exactly one rewrite in each; the
//! build says so instead of letting CreateRule fail.

use serde::Deserialize;

use crate::error::BuildError;
use crate::ingress::group::Member;
use elbow_model::stack::{Rewrite, RuleTransform, TransformKind};

/// The longest regular expression or replacement ELBv2 takes in a rewrite.
const MAX_REWRITE_LENGTH: usize = 1024;

/// A transform as LBC's Go type spells it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnnotatedTransform {
    #[serde(rename = "type", default)]
    kind: String,
    host_header_rewrite_config: Option<Rewrites>,
    url_rewrite_config: Option<Rewrites>,
}

#[derive(Debug, Deserialize)]
struct Rewrites {
    #[serde(default)]
    rewrites: Vec<AnnotatedRewrite>,
}

#[derive(Debug, Deserialize)]
struct AnnotatedRewrite {
    #[serde(default)]
    regex: String,
    #[serde(default)]
    replace: String,
}

/// LBC's field names; keys match them ignoring case, as Go's `encoding/json` matches them.
const TRANSFORM_FIELDS: &[&str] =
    &["type", "hostHeaderRewriteConfig", "urlRewriteConfig", "rewrites", "regex", "replace"];

const TRANSFORMS_SHAPE: &str = "a JSON list of transforms, each {\"type\": \"host-header-rewrite\", \"hostHeaderRewriteConfig\": {\"rewrites\": [{\"regex\", \"replace\"}]}} or {\"type\": \"url-rewrite\", \"urlRewriteConfig\": {\"rewrites\": [{\"regex\", \"replace\"}]}}";

/// The transforms of the rules whose backend is Service `service`; none without the annotation.
pub(crate) fn annotated_transforms(member: &Member<'_>, service: &str) -> Result<Vec<RuleTransform>, BuildError> {
    let a = member.annotations();
    let suffix = format!("transforms.{service}");
    let Some(items) = a.go_json::<Vec<AnnotatedTransform>>(&suffix, TRANSFORMS_SHAPE, TRANSFORM_FIELDS)? else {
        return Ok(Vec::new());
    };
    let raw = a.get(&suffix).unwrap_or_default();
    let invalid = |why: String| a.invalid(&suffix, raw, &format!("{TRANSFORMS_SHAPE}; {why}"));
    let mut transforms: Vec<RuleTransform> = Vec::with_capacity(items.len());
    for item in items {
        let (kind, config, config_name) = match item.kind.as_str() {
            "host-header-rewrite" => {
                (TransformKind::HostHeaderRewrite, item.host_header_rewrite_config, "hostHeaderRewriteConfig")
            }
            "url-rewrite" => (TransformKind::UrlRewrite, item.url_rewrite_config, "urlRewriteConfig"),
            other => {
                return Err(invalid(format!(
                    "transform type {other:?} is not supported (host-header-rewrite or url-rewrite)"
                )));
            }
        };
        let config = config.ok_or_else(|| invalid(format!("a {} transform needs {config_name}", kind.as_str())))?;
        // LBC passes any number along; ELBv2 takes exactly one.
        let [rewrite] = <[AnnotatedRewrite; 1]>::try_from(config.rewrites).map_err(|rewrites| {
            invalid(format!("{config_name}.rewrites takes exactly one rewrite, not {}", rewrites.len()))
        })?;
        if rewrite.regex.is_empty() || rewrite.regex.len() > MAX_REWRITE_LENGTH {
            return Err(invalid(format!("a rewrite's regex is 1 to {MAX_REWRITE_LENGTH} characters")));
        }
        if rewrite.replace.len() > MAX_REWRITE_LENGTH {
            return Err(invalid(format!("a rewrite's replace is at most {MAX_REWRITE_LENGTH} characters")));
        }
        if transforms.iter().any(|t| t.kind == kind) {
            return Err(invalid(format!("a rule takes one {} transform; merge them into one", kind.as_str())));
        }
        transforms
            .push(RuleTransform { kind, rewrites: vec![Rewrite { regex: rewrite.regex, replace: rewrite.replace }] });
    }
    Ok(transforms)
}
