//! Listener rule transforms (host header and URL rewrites): created with their rule, changed in
//! place by ModifyRule, removed when no longer desired, left alone when unchanged, and refused
//! by the cloud when ELBv2 would refuse them.

#![allow(clippy::expect_used)]

use elbow_cloud::{Api, Rule};
use elbow_model::{Rewrite, RuleTransform, Stack, TransformKind};

mod support;

use support::*;

fn url_rewrite(regex: &str, replace: &str) -> RuleTransform {
    RuleTransform {
        kind: TransformKind::UrlRewrite,
        rewrites: vec![Rewrite { regex: regex.into(), replace: replace.into() }],
    }
}

fn host_rewrite(replace: &str) -> RuleTransform {
    RuleTransform {
        kind: TransformKind::HostHeaderRewrite,
        rewrites: vec![Rewrite { regex: ".*".into(), replace: replace.into() }],
    }
}

/// The shop's ALB with one rule, `/api/*`, carrying `transforms`.
fn with_transforms(transforms: Vec<RuleTransform>) -> Stack {
    let mut stack = alb_stack("shop", &[30080, 30081], &[("/api/*", 1)]);
    stack.listeners[0].rules[0].transforms = transforms;
    stack
}

/// The one rule with a priority, as the cloud has it.
fn the_rule(cloud: &elbow_fake::FakeCloud) -> Rule {
    let listener = &cloud.listeners()[0];
    cloud.rules(&listener.arn).into_iter().find(|r| r.priority.is_some()).expect("the rule")
}

#[tokio::test]
async fn transforms_are_created_modified_in_place_and_removed() {
    let cloud = cloud();
    let first = vec![url_rewrite("^/api/(.*)$", "/$1"), host_rewrite("api.internal")];
    deployer(&cloud).deploy(&with_transforms(first.clone())).await.expect("created");
    let created = the_rule(&cloud);
    assert_eq!(created.transforms, first);

    cloud.counter().reset();
    deployer(&cloud).deploy(&with_transforms(first.clone())).await.expect("again, after a restart");
    assert_eq!(cloud.counter().mutating(), 0, "unchanged transforms: {:?}", cloud.counter().snapshot());
    // One transform of each type at most: their order is no change.
    let reordered: Vec<RuleTransform> = first.iter().rev().cloned().collect();
    deployer(&cloud).deploy(&with_transforms(reordered)).await.expect("reordered");
    assert_eq!(cloud.counter().mutating(), 0, "reordered transforms: {:?}", cloud.counter().snapshot());

    // A changed replacement is the same rule modified, not a new one.
    let changed = vec![url_rewrite("^/api/(.*)$", "/v2/$1")];
    cloud.counter().reset();
    deployer(&cloud).deploy(&with_transforms(changed.clone())).await.expect("modified");
    let calls = cloud.counter().snapshot();
    assert_eq!((calls.get(&Api::ModifyRule), cloud.counter().mutating()), (Some(&1), 1), "{calls:?}");
    let modified = the_rule(&cloud);
    assert_eq!((modified.arn.as_str(), &modified.transforms), (created.arn.as_str(), &changed));

    cloud.counter().reset();
    deployer(&cloud).deploy(&with_transforms(vec![])).await.expect("removed");
    assert_eq!(cloud.counter().count(Api::ModifyRule), 1, "{:?}", cloud.counter().snapshot());
    assert_eq!(the_rule(&cloud).transforms, []);
}

#[tokio::test]
async fn the_fake_refuses_transforms_aws_refuses() {
    let two_rewrites = RuleTransform {
        kind: TransformKind::UrlRewrite,
        rewrites: vec![
            Rewrite { regex: "^/a$".into(), replace: "/b".into() },
            Rewrite { regex: "^/c$".into(), replace: "/d".into() },
        ],
    };
    let cases = [
        (vec![url_rewrite("^/a$", "/b"), url_rewrite("^/c$", "/d")], "at most one 'url-rewrite' transform"),
        (vec![two_rewrites], "takes exactly one rewrite"),
        (vec![url_rewrite("", "/b")], "a regex of 1 to 1024 characters"),
    ];
    for (transforms, expected) in cases {
        let cloud = cloud();
        let error = deployer(&cloud).deploy(&with_transforms(transforms)).await.expect_err("refused");
        let source = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
        assert!(source.contains(expected), "{error}: {source}");
    }
}
