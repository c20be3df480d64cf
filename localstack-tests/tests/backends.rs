//! How an Ingress reaches its backends, end to end against an AWS-compatible endpoint (the testkit
//! API server, the real controllers, moto through the real SDK): the target group's protocol
//! version and its gRPC health check; rules by regular expressions and with rewrites (transforms).
//! Every check reads the endpoint back.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_cloud::{Cloud, CreateTargetGroup, TargetGroup, TargetGroupFilter};
use elbow_localstack_tests::owned::{Owned, owned};
use elbow_localstack_tests::{cloud, sandbox_options, unique};
use elbow_model::{
    Action, ForwardStickiness, HealthCheck, HealthCheckPort, IpAddressType, Protocol, ProtocolVersion, Rewrite,
    RuleCondition, RuleTransform, Tags, TargetType, TransformKind,
};
use elbow_playground::Sandbox;
use elbow_testkit::eventually;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

struct Fixture {
    sandbox: Sandbox,
    ingresses: Api<Ingress>,
}

impl Fixture {
    /// A sandbox with Elbow's IngressClass and a NodePort Service `web`.
    async fn start(prefix: &str) -> Fixture {
        let options = sandbox_options(prefix).await;
        let sandbox = Sandbox::start(options).await.expect("sandbox");
        let ingresses = sandbox.web_service_and_class().await;
        Fixture { sandbox, ingresses }
    }

    /// Ingress `web`: `/api` to Service `web`, with `annotations`.
    async fn ingress(&self, annotations: Value) {
        self.ingress_to(annotations, json!({ "name": "web", "port": { "number": 80 } })).await;
    }

    /// Ingress `web`: Prefix `/api` to the Service backend `service`, with `annotations`.
    async fn ingress_to(&self, annotations: Value, service: Value) {
        self.ingress_path(
            annotations,
            json!({ "path": "/api", "pathType": "Prefix", "backend": { "service": service } }),
        )
        .await;
    }

    /// Ingress `web` with one `path`, with `annotations`.
    async fn ingress_path(&self, annotations: Value, path: Value) {
        let ingress: Ingress = serde_json::from_value(json!({
            "metadata": { "name": "web", "annotations": annotations },
            "spec": { "ingressClassName": "elbow", "rules": [{ "http": { "paths": [path] } }] }
        }))
        .unwrap();
        self.ingresses.create(&PostParams::default(), &ingress).await.unwrap();
    }

    async fn annotate(&self, annotations: Value) {
        let patch = json!({ "metadata": { "annotations": annotations } });
        self.ingresses.patch("web", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    }

    /// Deletes Ingress `web` and waits until it is gone, which is once its finalizer is: after
    /// the cleanup.
    async fn gone(&self) {
        self.ingresses.delete("web", &DeleteParams::default()).await.unwrap();
        eventually("the Ingress to be gone", async || {
            self.ingresses.get_opt("web").await.ok()?.is_none().then_some(())
        })
        .await;
    }

    async fn owned(&self) -> Owned {
        let cloud = cloud().await;
        let environment = &self.sandbox.environment;
        owned(&cloud as &dyn Cloud, &environment.cluster, &environment.node_group).await
    }

    /// This cluster's target groups with their registered target ids; `None` while one is
    /// being deleted under the reader (the replacement runs while the test watches).
    async fn groups(&self) -> Option<Vec<(TargetGroup, Vec<String>)>> {
        let cloud = cloud().await;
        let cluster = &self.sandbox.environment.cluster;
        let all = cloud.describe_target_groups(TargetGroupFilter::All).await.ok()?;
        let tags = cloud.describe_tags(&all.iter().map(|t| t.arn.clone()).collect::<Vec<_>>()).await.ok()?;
        let mut ours = Vec::new();
        for tg in all {
            if tags.get(&tg.arn).and_then(|t| t.get("elbow.dev/cluster")) != Some(cluster) {
                continue;
            }
            let health = cloud.describe_target_health(&tg.arn).await.ok()?;
            ours.push((tg, health.into_iter().map(|h| h.target.id).collect()));
        }
        Some(ours)
    }

    /// The one target group, once it has `version` and targets, and the listener rules forward to
    /// it and nothing else.
    async fn group_at(&self, version: ProtocolVersion) -> TargetGroup {
        eventually("the target group at its protocol version, with targets, behind the rules", async || {
            let [(tg, targets)] = self.groups().await?.try_into().ok()?;
            if tg.protocol_version != Some(version) || targets.is_empty() {
                return None;
            }
            let cloud = cloud().await;
            let lb = self.owned().await.lbs.into_iter().next()?;
            let listener = cloud.describe_listeners(&lb.arn).await.ok()?.into_iter().next()?;
            let forwarded: Vec<String> = cloud
                .describe_rules(&listener.arn)
                .await
                .ok()?
                .into_iter()
                .filter(|r| r.priority.is_some())
                .flat_map(|r| r.actions)
                .filter_map(|a| match a {
                    Action::Forward { target_groups, .. } => Some(target_groups.into_iter().map(|t| t.target_group)),
                    _ => None,
                })
                .flatten()
                .collect();
            (forwarded == [tg.arn.clone()]).then_some(tg)
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grpc_backend_gets_a_grpc_target_group_and_a_version_change_replaces_it() {
    let fx = Fixture::start("ing-grpc").await;
    fx.ingress(json!({ "alb.ingress.kubernetes.io/backend-protocol-version": "GRPC" })).await;
    let grpc = fx.group_at(ProtocolVersion::Grpc).await;
    assert_eq!(grpc.health_check.path.as_deref(), Some("/AWS.ALB/healthcheck"), "LBC's gRPC default");
    assert_eq!(grpc.health_check.matcher.as_deref(), Some("12"), "gRPC code 12, sent and read as GrpcCode");

    // New gRPC codes are set in place, as GrpcCode.
    fx.annotate(json!({ "alb.ingress.kubernetes.io/success-codes": "0-99" })).await;
    eventually("the new gRPC codes", async || {
        let [(tg, _)] = fx.groups().await?.try_into().ok()?;
        (tg.arn == grpc.arn && tg.health_check.matcher.as_deref() == Some("0-99")).then_some(())
    })
    .await;

    // HTTP/2 cannot be set on the gRPC group: a new group takes over, the old one goes.
    fx.annotate(json!({
        "alb.ingress.kubernetes.io/success-codes": "200-299",
        "alb.ingress.kubernetes.io/backend-protocol-version": "HTTP2",
    }))
    .await;
    let http2 = fx.group_at(ProtocolVersion::Http2).await;
    assert_ne!(http2.arn, grpc.arn, "replaced");
    assert_ne!(http2.name, grpc.name, "LBC's name covers the protocol version");
    assert_eq!(http2.health_check.path.as_deref(), Some("/"));
    assert_eq!(http2.health_check.matcher.as_deref(), Some("200-299"));

    fx.gone().await;
    assert!(fx.owned().await.is_empty(), "nothing left in AWS");
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_to_a_target_group_made_outside_kubernetes_leaves_that_group_alone() {
    let fx = Fixture::start("ing-foreign").await;
    let cloud = cloud().await;
    // Made directly at the endpoint, as Terraform would: no tag of Elbow's.
    let payments = cloud
        .create_target_group(CreateTargetGroup {
            name: unique("payments"),
            target_type: TargetType::Ip,
            protocol: Protocol::Http,
            port: 8080,
            protocol_version: None,
            vpc_id: fx.sandbox.environment.vpc_id().to_string(),
            ip_address_type: IpAddressType::Ipv4,
            health_check: HealthCheck {
                protocol: Protocol::Http,
                port: HealthCheckPort::TrafficPort,
                path: Some("/".into()),
                interval_seconds: 30,
                timeout_seconds: 5,
                healthy_threshold_count: 5,
                unhealthy_threshold_count: 2,
                matcher: Some("200".into()),
            },
            tags: Tags::from([("team".to_string(), "payments".to_string())]),
        })
        .await
        .expect("a target group of someone else's");
    let action = json!({ "type": "forward", "forwardConfig": {
        "targetGroups": [
            { "serviceName": "web", "servicePort": 80, "weight": 80 },
            { "targetGroupName": payments.name, "weight": 20 }
        ],
        "targetGroupStickinessConfig": { "enabled": true, "durationSeconds": 600 }
    } });
    fx.ingress_to(
        json!({ "alb.ingress.kubernetes.io/actions.split": action.to_string() }),
        json!({ "name": "split", "port": { "name": "use-annotation" } }),
    )
    .await;
    let forward = eventually("the rule forwarding to both groups, sticky", async || {
        let lb = fx.owned().await.lbs.into_iter().next()?;
        let listener = cloud.describe_listeners(&lb.arn).await.ok()?.into_iter().next()?;
        let rule = cloud.describe_rules(&listener.arn).await.ok()?.into_iter().find(|r| r.priority.is_some())?;
        match rule.actions.into_iter().next()? {
            Action::Forward { target_groups, stickiness } if target_groups.len() == 2 => {
                Some((target_groups, stickiness))
            }
            _ => None,
        }
    })
    .await;
    let (target_groups, stickiness) = forward;
    assert_eq!(stickiness, Some(ForwardStickiness { enabled: true, duration_seconds: Some(600) }));
    let weights: Vec<(bool, Option<u32>)> =
        target_groups.iter().map(|w| (w.target_group == payments.arn, w.weight)).collect();
    assert_eq!(weights, [(false, Some(80)), (true, Some(20))]);
    let ours = fx.groups().await.expect("groups");
    assert_eq!(ours.len(), 1, "one group of Elbow's, for web:80; the foreign one is not Elbow's");
    assert!(!ours[0].1.is_empty(), "Elbow's group has the nodes");

    fx.gone().await;
    assert!(fx.owned().await.is_empty(), "nothing of Elbow's left in AWS");
    let left = cloud.describe_target_groups(TargetGroupFilter::Arns(vec![payments.arn.clone()])).await.expect("read");
    assert_eq!(left.len(), 1, "the foreign group outlives the Ingress");
    assert!(cloud.describe_target_health(&payments.arn).await.expect("health").is_empty(), "never registered to");
    let tags = cloud.describe_tags(std::slice::from_ref(&payments.arn)).await.expect("tags");
    assert_eq!(tags.get(&payments.arn), Some(&Tags::from([("team".to_string(), "payments".to_string())])));
    cloud.delete_target_group(&payments.arn).await.expect("cleaned up");
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn regular_expression_paths_and_conditions_reach_the_rule() {
    let fx = Fixture::start("ing-regex").await;
    let conditions = json!([
        { "field": "http-header", "httpHeaderConfig": { "httpHeaderName": "X-Version", "regexValues": ["^v[0-9]+$"] } },
        { "field": "host-header", "hostHeaderConfig": { "regexValues": ["^(www\\.)?shop\\.example\\.com$"] } }
    ]);
    fx.ingress_path(
        json!({
            "alb.ingress.kubernetes.io/use-regex-path-match": "true",
            "alb.ingress.kubernetes.io/conditions.web": conditions.to_string(),
        }),
        json!({ "path": "/api/v[0-9]+/.*", "pathType": "ImplementationSpecific",
                "backend": { "service": { "name": "web", "port": { "number": 80 } } } }),
    )
    .await;
    let cloud = cloud().await;
    let mut conditions = eventually("the rule", async || {
        let lb = fx.owned().await.lbs.into_iter().next()?;
        let listener = cloud.describe_listeners(&lb.arn).await.ok()?.into_iter().next()?;
        let rule = cloud.describe_rules(&listener.arn).await.ok()?.into_iter().find(|r| r.priority.is_some())?;
        Some(rule.conditions)
    })
    .await;
    conditions.sort();
    assert_eq!(
        conditions,
        [
            RuleCondition::HostHeaderRegex(vec![r"^(www\.)?shop\.example\.com$".into()]),
            RuleCondition::PathPatternRegex(vec!["api/v[0-9]+/.*".into()]),
            RuleCondition::HttpHeaderRegex { name: "X-Version".into(), values: vec!["^v[0-9]+$".into()] },
        ]
    );
    fx.gone().await;
    assert!(fx.owned().await.is_empty(), "nothing left in AWS");
    fx.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn transforms_reach_the_rule_change_in_place_and_go_away() {
    let fx = Fixture::start("ing-transforms").await;
    let url = |replace: &str| json!([{ "type": "url-rewrite", "urlRewriteConfig": { "rewrites": [{ "regex": "^/api/(.*)$", "replace": replace }] } }]);
    let mut both = url("/$1");
    both.as_array_mut().unwrap().push(json!(
        { "Type": "host-header-rewrite", "HostHeaderRewriteConfig": { "Rewrites": [{ "Regex": ".*", "Replace": "api.internal" }] } }
    ));
    fx.ingress(json!({ "alb.ingress.kubernetes.io/transforms.web": both.to_string() })).await;
    let rewrite = |kind: TransformKind, regex: &str, replace: &str| RuleTransform {
        kind,
        rewrites: vec![Rewrite { regex: regex.into(), replace: replace.into() }],
    };
    let cloud = cloud().await;
    let rule_with = async |transforms: Vec<RuleTransform>| {
        eventually("the rule with its transforms", async || {
            let lb = fx.owned().await.lbs.into_iter().next()?;
            let listener = cloud.describe_listeners(&lb.arn).await.ok()?.into_iter().next()?;
            let rule = cloud.describe_rules(&listener.arn).await.ok()?.into_iter().find(|r| r.priority.is_some())?;
            (rule.transforms == transforms).then_some(rule.arn)
        })
        .await
    };
    let created = rule_with(vec![
        rewrite(TransformKind::UrlRewrite, "^/api/(.*)$", "/$1"),
        rewrite(TransformKind::HostHeaderRewrite, ".*", "api.internal"),
    ])
    .await;

    fx.annotate(json!({ "alb.ingress.kubernetes.io/transforms.web": url("/v2/$1").to_string() })).await;
    let modified = rule_with(vec![rewrite(TransformKind::UrlRewrite, "^/api/(.*)$", "/v2/$1")]).await;
    assert_eq!(modified, created, "the rule is modified, not replaced");

    fx.annotate(json!({ "alb.ingress.kubernetes.io/transforms.web": null })).await;
    assert_eq!(rule_with(vec![]).await, created, "removing the annotation removes the transforms");
    fx.gone().await;
    assert!(fx.owned().await.is_empty(), "nothing left in AWS");
    fx.sandbox.stop().await;
}
