//! The WAF and Shield rules of the fake: what AWS refuses is refused, counted like any request.

use elbow_model::{LoadBalancerType, Tags};

use super::{lb_input, network};
use crate::WebAclScope;
use elbow_cloud::Cloud;
use elbow_cloud::api::Api;
use elbow_cloud::error::CloudErrorKind;
use elbow_cloud::types::*;

fn alb_input(name: &str) -> CreateLoadBalancer {
    CreateLoadBalancer { lb_type: LoadBalancerType::Application, ..lb_input(name) }
}

#[tokio::test]
async fn web_acls_protect_application_load_balancers_of_their_region_and_scope_only() {
    let cloud = network();
    let alb = cloud.create_load_balancer(alb_input("web")).await.unwrap();
    let nlb = cloud.create_load_balancer(lb_input("tcp")).await.unwrap();
    let regional = cloud.seed_wafv2_web_acl("shop", WebAclScope::Regional);
    let global = cloud.seed_wafv2_web_acl("cdn", WebAclScope::CloudFront);
    assert!(regional.arn.contains(":regional/webacl/shop/") && global.arn.contains(":global/webacl/cdn/"));

    let kind = |result: Result<(), elbow_cloud::CloudError>| result.expect_err("refused").kind;
    assert_eq!(kind(cloud.wafv2_associate_web_acl(&global.arn, &alb.arn).await), CloudErrorKind::InvalidRequest);
    assert_eq!(kind(cloud.wafv2_associate_web_acl(&regional.arn, &nlb.arn).await), CloudErrorKind::InvalidRequest);
    let elsewhere = regional.arn.replace("us-east-1", "eu-west-1");
    assert_eq!(kind(cloud.wafv2_associate_web_acl(&elsewhere, &alb.arn).await), CloudErrorKind::NotFound);
    let gone = alb.arn.replace("/web/", "/gone/");
    assert_eq!(kind(cloud.wafv2_associate_web_acl(&regional.arn, &gone).await), CloudErrorKind::NotFound);
    assert_eq!(cloud.wafv2_web_acl_of(&alb.arn), None, "nothing refused took effect");

    let listed = cloud.wafv2_list_web_acls().await.unwrap();
    assert_eq!(
        listed.iter().map(|acl| &acl.arn).collect::<Vec<_>>(),
        [&regional.arn],
        "ListWebACLs with the REGIONAL scope"
    );

    cloud.wafv2_associate_web_acl(&regional.arn, &alb.arn).await.unwrap();
    assert_eq!(cloud.wafv2_get_web_acl_for_resource(&alb.arn).await.unwrap(), Some(regional.arn.clone()));
    let other = cloud.seed_wafv2_web_acl("other", WebAclScope::Regional);
    cloud.wafv2_associate_web_acl(&other.arn, &alb.arn).await.unwrap();
    assert_eq!(cloud.wafv2_web_acl_of(&alb.arn), Some(other.arn), "a second association replaces the first");
    cloud.delete_load_balancer(&alb.arn).await.unwrap();
    assert_eq!(cloud.wafv2_web_acl_of(&alb.arn), None, "the association goes with the load balancer");
    assert_eq!(cloud.counter().count(Api::AssociateWebACL), 6, "refused requests are counted too");
}

#[tokio::test]
async fn shield_needs_a_subscription_and_protects_a_resource_once() {
    let cloud = network();
    let alb = cloud.create_load_balancer(alb_input("web")).await.unwrap();
    assert!(!cloud.shield_subscription_active().await.unwrap(), "a new account does not subscribe");
    let refused = cloud.shield_create_protection("p", &alb.arn, &Tags::new()).await.expect_err("no subscription");
    assert_eq!(refused.code, "ResourceNotFoundException");

    cloud.set_shield_subscription(true);
    let id = cloud.shield_create_protection("p", &alb.arn, &Tags::new()).await.unwrap();
    let again = cloud.shield_create_protection("p", &alb.arn, &Tags::new()).await.expect_err("one per resource");
    assert_eq!(again.kind, CloudErrorKind::Duplicate);
    assert_eq!(cloud.shield_describe_protection(&alb.arn).await.unwrap().map(|p| p.id), Some(id.clone()));
    cloud.shield_delete_protection(&id).await.unwrap();
    assert_eq!(cloud.shield_describe_protection(&alb.arn).await.unwrap(), None);
    assert_eq!(cloud.shield_delete_protection(&id).await.expect_err("gone").kind, CloudErrorKind::NotFound);
}

#[tokio::test]
async fn waf_classic_takes_known_web_acl_ids_only() {
    let cloud = network();
    let alb = cloud.create_load_balancer(alb_input("web")).await.unwrap();
    let id = cloud.seed_waf_regional_web_acl("classic");
    let unknown = cloud.waf_regional_associate_web_acl("499e8b99", &alb.arn).await.expect_err("unknown id");
    assert_eq!((unknown.kind, unknown.code.as_str()), (CloudErrorKind::NotFound, "WAFNonexistentItemException"));
    cloud.waf_regional_associate_web_acl(&id, &alb.arn).await.unwrap();
    assert_eq!(cloud.waf_regional_get_web_acl_for_resource(&alb.arn).await.unwrap(), Some(id));
    cloud.waf_regional_disassociate_web_acl(&alb.arn).await.unwrap();
    assert_eq!(cloud.waf_regional_web_acl_of(&alb.arn), None);
}
