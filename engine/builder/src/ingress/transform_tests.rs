//! `transforms.<name>`: the rewrites of the rules whose backend is Service `<name>`, in LBC's
//! shapes (keys in any case), and the transforms ELBv2 would refuse, refused at build time.

use super::*;
use elbow_model::{Rewrite, RuleTransform, TransformKind};

/// An Ingress routing `/` to `web` and `/api` to `api`, with `annotations`.
fn routed(annotations: &[(&str, &str)]) -> Ingress {
    ingress(
        "shop",
        "web",
        annotations,
        vec![rule(None, vec![path("/api", "Prefix", "api", "http"), path("/", "Prefix", "web", "http")])],
    )
}

fn rewrite(kind: TransformKind, regex: &str, replace: &str) -> RuleTransform {
    RuleTransform { kind, rewrites: vec![Rewrite { regex: regex.into(), replace: replace.into() }] }
}

#[test]
fn transforms_annotations_rewrite_the_rules_of_their_service() {
    use TransformKind::{HostHeaderRewrite, UrlRewrite};
    let host = r#"[{"type":"host-header-rewrite","hostHeaderRewriteConfig":{"rewrites":[{"regex":"^shop\\.example\\.com$","replace":"backend.internal"}]}}]"#;
    let url = r#"[{"type":"url-rewrite","urlRewriteConfig":{"rewrites":[{"regex":"^/api/(.*)$","replace":"/$1"}]}}]"#;
    let both = r#"[
        {"type":"url-rewrite","urlRewriteConfig":{"rewrites":[{"regex":"^/old/(.*)$","replace":"/new/$1"}]}},
        {"type":"host-header-rewrite","hostHeaderRewriteConfig":{"rewrites":[{"regex":".*","replace":"example.org"}]}}
    ]"#;
    // Go's encoding/json matches keys ignoring case, so LBC takes these too.
    let cased = r#"[{"Type":"url-rewrite","UrlRewriteConfig":{"Rewrites":[{"Regex":"^/v1/(.*)$","Replace":"/$1"}]}}]"#;
    let cases: [(&str, Vec<RuleTransform>); 4] = [
        (host, vec![rewrite(HostHeaderRewrite, r"^shop\.example\.com$", "backend.internal")]),
        (url, vec![rewrite(UrlRewrite, "^/api/(.*)$", "/$1")]),
        (both, vec![rewrite(UrlRewrite, "^/old/(.*)$", "/new/$1"), rewrite(HostHeaderRewrite, ".*", "example.org")]),
        (cased, vec![rewrite(UrlRewrite, "^/v1/(.*)$", "/$1")]),
    ];
    for (value, expected) in cases {
        let stack = built(&[&routed(&[("transforms.web", value)])]);
        let rules = &listener(&stack, 80).rules;
        assert_eq!(rules[0].conditions, [RuleCondition::PathPattern(strings(&["/api", "/api/*"]))]);
        assert_eq!(rules[0].transforms, [], "Service api's rule keeps none: {value}");
        assert_eq!(rules[1].conditions, [RuleCondition::PathPattern(strings(&["/*"]))]);
        assert_eq!(rules[1].transforms, expected, "{value}");
    }
    let plain = built(&[&routed(&[])]);
    assert!(listener(&plain, 80).rules.iter().all(|r| r.transforms.is_empty()), "no annotation, no transforms");
}

#[test]
fn transforms_lbc_or_elbv2_would_refuse_fail_the_group() {
    let bad = |value: &str| error(&[&routed(&[("transforms.web", value)])]);
    let one = |kind: &str, config: &str| {
        format!(r#"[{{"type":"{kind}","{config}":{{"rewrites":[{{"regex":"^a$","replace":"b"}}]}}}}]"#)
    };
    let cases: [(String, &str); 9] = [
        (r#"[{"type":"header-rewrite"}]"#.into(), "transform type \"header-rewrite\" is not supported"),
        (r#"[{"type":"url-rewrite"}]"#.into(), "a url-rewrite transform needs urlRewriteConfig"),
        // The config of the other type does not count.
        (one("host-header-rewrite", "urlRewriteConfig"), "a host-header-rewrite transform needs hostHeaderRewriteConfig"),
        (
            r#"[{"type":"url-rewrite","urlRewriteConfig":{"rewrites":[]}}]"#.into(),
            "urlRewriteConfig.rewrites takes exactly one rewrite, not 0",
        ),
        (
            r#"[{"type":"url-rewrite","urlRewriteConfig":{"rewrites":[{"regex":"a","replace":"b"},{"regex":"c","replace":"d"}]}}]"#
                .into(),
            "urlRewriteConfig.rewrites takes exactly one rewrite, not 2",
        ),
        (
            r#"[{"type":"url-rewrite","urlRewriteConfig":{"rewrites":[{"replace":"b"}]}}]"#.into(),
            "a rewrite's regex is 1 to 1024 characters",
        ),
        (
            format!(
                r#"[{{"type":"url-rewrite","urlRewriteConfig":{{"rewrites":[{{"regex":"a","replace":"{}"}}]}}}}]"#,
                "x".repeat(1025)
            ),
            "a rewrite's replace is at most 1024 characters",
        ),
        (
            r#"[{"type":"url-rewrite","urlRewriteConfig":{"rewrites":[{"regex":"a","replace":"b"}]}},
                {"type":"url-rewrite","urlRewriteConfig":{"rewrites":[{"regex":"c","replace":"d"}]}}]"#
                .into(),
            "a rule takes one url-rewrite transform; merge them into one",
        ),
        (r#"{"type":"url-rewrite"}"#.into(), "transforms.web has an invalid value"),
    ];
    for (value, expected) in cases {
        let message = bad(&value);
        assert!(message.contains(expected), "{value}: {message}");
        assert!(message.starts_with("Ingress shop/web: "), "the member is named: {message}");
    }
    assert!(bad("[{not json").contains("alb.ingress.kubernetes.io/transforms.web has an invalid value"));
}

#[test]
fn transforms_and_conditions_for_a_service_no_path_uses_are_not_read() {
    // LBC reads `<kind>.<name>` only for the Services its paths name; so does Elbow, for
    // transforms as for conditions: an annotation for another Service changes no rule.
    let idle = r#"[{"type":"url-rewrite","urlRewriteConfig":{"rewrites":[{"regex":"^/(.*)$","replace":"/idle/$1"}]}}]"#;
    let stack = built(&[&routed(&[("transforms.idle", idle), ("conditions.idle", "[{not json")])]);
    assert!(listener(&stack, 80).rules.iter().all(|r| r.transforms.is_empty()));
}
