//! WAFv2 web ACLs and Shield Advanced protections against an AWS-compatible endpoint: the SDK
//! adapter's calls, and the Ingress annotations end to end (testkit API server, the real
//! controllers, the endpoint through the SDK). The web ACLs are made on the endpoint directly, as
//! a user makes them outside Elbow, and every check reads the endpoint back.
//!
//! moto keeps a resource in its old web ACL when it is associated with another, and knows nothing of
//! load balancer deletions; scripts/moto_server.py gives it AWS's behaviour for both. moto has no
//! WAF Classic Regional and no Shield `GetSubscriptionState`, so WAF Classic and the
//! subscription check are covered against the in-memory cloud (engine/deploy/tests/protection.rs)
//! only; with moto, Elbow finds no subscription answer and leaves Shield alone, as LBC does.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_sdk_wafv2::types::{AllowAction, DefaultAction, Scope, VisibilityConfig};
use elbow_cloud::*;
use elbow_localstack_tests::owned::{load_balancer_arn, owned};
use elbow_localstack_tests::{Network, cloud, sandbox_options, sdk_config, unique};
use elbow_model::{IpAddressType, LoadBalancerType, Scheme, Tags};
use elbow_playground::Sandbox;
use elbow_testkit::eventually;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

/// A regional web ACL made on the endpoint, as in the console: (name, ARN, id, lock token).
async fn web_acl(prefix: &str) -> (String, String, String, String) {
    let client = aws_sdk_wafv2::Client::new(&sdk_config().await);
    let name = unique(prefix);
    let made = client
        .create_web_acl()
        .name(&name)
        .scope(Scope::Regional)
        .default_action(DefaultAction::builder().allow(AllowAction::builder().build()).build())
        .visibility_config(
            VisibilityConfig::builder()
                .sampled_requests_enabled(false)
                .cloud_watch_metrics_enabled(false)
                .metric_name(&name)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("a web ACL");
    let summary = made.summary().expect("a summary");
    let field = |value: Option<&str>| value.expect("a field").to_string();
    (name, field(summary.arn()), field(summary.id()), field(summary.lock_token()))
}

async fn delete_web_acl(name: &str, id: &str, lock_token: &str) {
    let client = aws_sdk_wafv2::Client::new(&sdk_config().await);
    client
        .delete_web_acl()
        .name(name)
        .scope(Scope::Regional)
        .id(id)
        .lock_token(lock_token)
        .send()
        .await
        .expect("web ACL deleted");
}

/// The web ACL associated with `resource`, read from the endpoint (not through Elbow's adapter).
async fn associated(resource: &str) -> Option<String> {
    let client = aws_sdk_wafv2::Client::new(&sdk_config().await);
    let answer = client.get_web_acl_for_resource().resource_arn(resource).send().await.expect("answered");
    answer.web_acl().map(|acl| acl.arn().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_adapter_associates_web_acls_and_manages_shield_protections() {
    let net = Network::seed("adapter-waf", 0).await;
    let cloud = cloud().await;
    let lb = cloud
        .create_load_balancer(CreateLoadBalancer {
            name: unique("waf"),
            lb_type: LoadBalancerType::Application,
            scheme: Scheme::InternetFacing,
            ip_address_type: IpAddressType::Ipv4,
            subnets: net.public_subnets(),
            subnet_addresses: vec![],
            security_groups: vec![],
            tags: Tags::from([("elbow.dev/cluster".to_string(), net.cluster.clone())]),
        })
        .await
        .expect("an application load balancer");
    let (name, arn, id, lock) = web_acl("acl").await;

    let listed = cloud.wafv2_list_web_acls().await.expect("listed");
    let found = listed.iter().find(|acl| acl.name == name).expect("the new web ACL is listed");
    assert_eq!((found.arn.as_str(), found.id.as_str()), (arn.as_str(), id.as_str()));

    assert_eq!(cloud.wafv2_get_web_acl_for_resource(&lb.arn).await.expect("read"), None);
    cloud.wafv2_associate_web_acl(&arn, &lb.arn).await.expect("associated");
    assert_eq!(cloud.wafv2_get_web_acl_for_resource(&lb.arn).await.expect("read"), Some(arn.clone()));
    assert_eq!(associated(&lb.arn).await, Some(arn.clone()));
    cloud.wafv2_disassociate_web_acl(&lb.arn).await.expect("disassociated");
    assert_eq!(associated(&lb.arn).await, None);

    let unknown = format!("{}0000", &arn[..arn.len() - 4]);
    let error = cloud.wafv2_associate_web_acl(&unknown, &lb.arn).await.expect_err("no such web ACL");
    assert_eq!(error.kind, CloudErrorKind::NotFound, "{error}");

    assert_eq!(cloud.shield_describe_protection(&lb.arn).await.expect("described"), None, "no protection is an answer");
    let tags = Tags::from([("elbow.dev/cluster".to_string(), net.cluster.clone())]);
    let protection = cloud.shield_create_protection("managed by elbow", &lb.arn, &tags).await.expect("protected");
    let found = cloud.shield_describe_protection(&lb.arn).await.expect("described").expect("a protection");
    assert_eq!((found.id.as_str(), found.name.as_str()), (protection.as_str(), "managed by elbow"));
    let again = cloud.shield_create_protection("managed by elbow", &lb.arn, &tags).await.expect_err("one per resource");
    assert_eq!(again.kind, CloudErrorKind::Duplicate, "{again}");
    cloud.shield_delete_protection(&protection).await.expect("deleted");
    assert_eq!(cloud.shield_describe_protection(&lb.arn).await.expect("described"), None);

    cloud.delete_load_balancer(&lb.arn).await.expect("load balancer deleted");
    delete_web_acl(&name, &id, &lock).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wafv2_annotations_associate_replace_and_remove_the_web_acl_of_an_ingress() {
    let options = sandbox_options("ing-waf").await;
    let sandbox = Sandbox::start(options).await.expect("sandbox");
    let ingresses = sandbox.web_service_and_class().await;
    let (first_name, first, first_id, first_lock) = web_acl("first").await;
    let (second_name, second, second_id, second_lock) = web_acl("second").await;

    sandbox.web_ingress(json!({ "alb.ingress.kubernetes.io/wafv2-acl-arn": first })).await;
    let cloud = cloud().await;
    let environment = &sandbox.environment;
    let lb = load_balancer_arn(&cloud, &environment.cluster, &environment.node_group).await;
    let association = async |wanted: Option<&str>, what: &str| {
        eventually(what, async || (associated(&lb).await.as_deref() == wanted).then_some(())).await
    };
    association(Some(&first), "the annotated web ACL associated").await;

    let annotate = |annotations: serde_json::Value| Patch::Merge(json!({ "metadata": { "annotations": annotations } }));
    let by_name = annotate(json!({ "alb.ingress.kubernetes.io/wafv2-acl-name": second_name }));
    ingresses.patch("web", &PatchParams::default(), &by_name).await.unwrap();
    association(Some(&second), "the web ACL named by wafv2-acl-name, which wins over the ARN").await;

    let none = annotate(
        json!({ "alb.ingress.kubernetes.io/wafv2-acl-name": null, "alb.ingress.kubernetes.io/wafv2-acl-arn": "none" }),
    );
    ingresses.patch("web", &PatchParams::default(), &none).await.unwrap();
    association(None, "no web ACL after none").await;

    // Deleting the Ingress deletes the load balancer, and its association goes with it.
    let again = annotate(json!({ "alb.ingress.kubernetes.io/wafv2-acl-arn": first }));
    ingresses.patch("web", &PatchParams::default(), &again).await.unwrap();
    association(Some(&first), "the web ACL associated again").await;

    ingresses.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Ingress to be gone", async || ingresses.get_opt("web").await.ok()?.is_none().then_some(())).await;
    let left = owned(&cloud as &dyn Cloud, &environment.cluster, &environment.node_group).await;
    assert!(left.is_empty(), "the load balancer is gone");
    assert_eq!(associated(&lb).await, None, "no association outlives the load balancer");
    sandbox.stop().await;
    delete_web_acl(&first_name, &first_id, &first_lock).await;
    delete_web_acl(&second_name, &second_id, &second_lock).await;
}
