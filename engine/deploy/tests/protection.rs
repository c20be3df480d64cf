//! Web ACLs and Shield Advanced on application load balancers, against the in-memory cloud: what
//! an annotation asks is made so, an unset one leaves what someone else did, `none`/`false`
//! removes only what it should, and each integration turned off makes no call.

use std::sync::Arc;
use std::time::Duration;

use elbow_cloud::{Api, Cloud};
use elbow_deploy::{DeployError, DeploySettings, Deployer, Integrations};
use elbow_fake::{FakeCloud, WebAclScope};
use elbow_model::{Protection, Stack, WafClassicWebAcl, Wafv2WebAcl};

mod support;

use support::*;

fn protected(protection: Protection) -> Stack {
    let mut stack = alb_stack("shop", &[30080], &[]);
    stack.load_balancers[0].protection = protection;
    stack
}

fn wafv2(acl: Wafv2WebAcl) -> Stack {
    protected(Protection { wafv2: Some(acl), ..Protection::default() })
}

fn lb_arn(cloud: &FakeCloud) -> String {
    cloud.load_balancers()[0].arn.clone()
}

/// A deployer whose every deploy compares with the cloud, as one past its drift period does.
fn comparing(cloud: &Arc<FakeCloud>, integrations: Integrations) -> Deployer {
    Deployer::new(
        cloud.clone(),
        DeploySettings {
            cluster_name: CLUSTER.into(),
            vpc_id: "vpc-1".into(),
            drift_period: Duration::ZERO,
            integrations,
        },
    )
}

fn waf_calls(cloud: &FakeCloud) -> u64 {
    let calls = cloud.counter().snapshot();
    calls.iter().filter(|(api, _)| matches!(api.service(), "wafv2" | "waf-regional" | "shield")).map(|(_, n)| n).sum()
}

#[tokio::test]
async fn a_wafv2_web_acl_is_associated_replaced_and_removed_with_none() {
    let cloud = cloud();
    let shop = cloud.seed_wafv2_web_acl("shop", WebAclScope::Regional);
    let other = cloud.seed_wafv2_web_acl("other", WebAclScope::Regional);
    let deployer = deployer(&cloud);

    let outcome = deployer.deploy(&wafv2(Wafv2WebAcl::Arn(shop.arn.clone()))).await.expect("deployed");
    assert_eq!(cloud.wafv2_web_acl_of(&lb_arn(&cloud)), Some(shop.arn.clone()));
    assert!(outcome.changes.to_string().contains("1 web ACL association"), "{}", outcome.changes);

    cloud.counter().reset();
    deployer.deploy(&wafv2(Wafv2WebAcl::Arn(shop.arn.clone()))).await.expect("unchanged");
    assert_eq!(cloud.counter().snapshot().len(), 0, "an unchanged stack makes no call at all");

    deployer.deploy(&wafv2(Wafv2WebAcl::Name("other".into()))).await.expect("by name");
    assert_eq!(cloud.wafv2_web_acl_of(&lb_arn(&cloud)), Some(other.arn.clone()), "moved to the other web ACL");

    deployer.deploy(&wafv2(Wafv2WebAcl::None)).await.expect("removed");
    assert_eq!(cloud.wafv2_web_acl_of(&lb_arn(&cloud)), None);

    let arn = lb_arn(&cloud);
    deployer.deploy(&wafv2(Wafv2WebAcl::Arn(shop.arn.clone()))).await.expect("again");
    deployer.deploy(&Stack::empty(wafv2(Wafv2WebAcl::None).id)).await.expect("deleted");
    assert_eq!(cloud.wafv2_web_acl_of(&arn), None, "the association goes with the load balancer");
}

#[tokio::test]
async fn an_association_made_by_hand_stays_unless_an_annotation_says_otherwise() {
    let cloud = cloud();
    let console = cloud.seed_wafv2_web_acl("console", WebAclScope::Regional);
    let shop = cloud.seed_wafv2_web_acl("shop", WebAclScope::Regional);
    let deployer = comparing(&cloud, Integrations::all());
    deployer.deploy(&protected(Protection::default())).await.expect("deployed");
    let arn = lb_arn(&cloud);
    cloud.wafv2_associate_web_acl(&console.arn, &arn).await.expect("by hand");

    cloud.counter().reset();
    deployer.deploy(&protected(Protection::default())).await.expect("compared again");
    assert_eq!(cloud.wafv2_web_acl_of(&arn), Some(console.arn.clone()), "no annotation: left alone");
    assert_eq!(waf_calls(&cloud), 0, "and not even read");

    deployer.deploy(&wafv2(Wafv2WebAcl::Arn(shop.arn.clone()))).await.expect("annotated");
    cloud.wafv2_associate_web_acl(&console.arn, &arn).await.expect("changed by hand again");
    deployer.deploy(&wafv2(Wafv2WebAcl::Arn(shop.arn.clone()))).await.expect("compared again");
    assert_eq!(cloud.wafv2_web_acl_of(&arn), Some(shop.arn), "with an annotation, put back on comparison");
}

#[tokio::test]
async fn unknown_or_unusable_web_acls_are_user_errors_and_the_load_balancer_stays() {
    let cloud = cloud();
    let cdn = cloud.seed_wafv2_web_acl("cdn", WebAclScope::CloudFront);
    let deployer = deployer(&cloud);

    let foreign = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/1234";
    let error = deployer.deploy(&wafv2(Wafv2WebAcl::Arn(foreign.into()))).await.expect_err("another region");
    assert!(matches!(error, DeployError::Protection { .. }) && !error.is_retryable(), "{error}");
    assert!(error.to_string().contains(foreign), "{error}");
    assert_eq!(cloud.load_balancers().len(), 1, "the load balancer is deployed all the same");

    let error = deployer.deploy(&wafv2(Wafv2WebAcl::Arn(cdn.arn.clone()))).await.expect_err("CloudFront scope");
    assert!(!error.is_retryable(), "{error}");

    let error = deployer.deploy(&wafv2(Wafv2WebAcl::Name("cdn".into()))).await.expect_err("not a regional name");
    assert!(matches!(error, DeployError::WebAclNameNotFound { .. }), "{error}");
    assert!(error.to_string().contains("alb.ingress.kubernetes.io/wafv2-acl-name"), "{error}");
    assert_eq!(cloud.wafv2_web_acl_of(&lb_arn(&cloud)), None);

    // A failed protection step is asked again by the next deploy of the same stack.
    let shop = cloud.seed_wafv2_web_acl("shop", WebAclScope::Regional);
    let stack = wafv2(Wafv2WebAcl::Arn(shop.arn.clone()));
    cloud.inject(elbow_fake::Failure::on(Api::AssociateWebACL, elbow_cloud::CloudErrorKind::Throttled));
    let error = deployer.deploy(&stack).await.expect_err("throttled");
    assert!(error.is_retryable(), "{error}");
    deployer.deploy(&stack).await.expect("retried");
    assert_eq!(cloud.wafv2_web_acl_of(&lb_arn(&cloud)), Some(shop.arn));
}

#[tokio::test]
async fn waf_classic_web_acls_are_associated_and_removed() {
    let cloud = cloud();
    let id = cloud.seed_waf_regional_web_acl("classic");
    let deployer = deployer(&cloud);
    let classic = |acl| protected(Protection { waf_classic: Some(acl), ..Protection::default() });
    deployer.deploy(&classic(WafClassicWebAcl::Id(id.clone()))).await.expect("deployed");
    assert_eq!(cloud.waf_regional_web_acl_of(&lb_arn(&cloud)), Some(id));
    deployer.deploy(&classic(WafClassicWebAcl::None)).await.expect("removed");
    assert_eq!(cloud.waf_regional_web_acl_of(&lb_arn(&cloud)), None);
    let error = deployer.deploy(&classic(WafClassicWebAcl::Id("nope".into()))).await.expect_err("unknown");
    assert!(!error.is_retryable() && error.to_string().contains("nope"), "{error}");
}

// Paused time: the subscription state is kept for minutes, and the test moves the clock on.
#[tokio::test(start_paused = true)]
async fn shield_protects_only_with_a_subscription_and_deletes_only_its_own() {
    let cloud = cloud();
    let shield = |enabled| protected(Protection { shield_advanced: Some(enabled), ..Protection::default() });
    let deployer = comparing(&cloud, Integrations::all());

    deployer.deploy(&shield(true)).await.expect("no subscription is no error");
    assert_eq!(cloud.shield_protection_of(&lb_arn(&cloud)), None);
    assert_eq!(cloud.counter().count(Api::CreateProtection), 0);

    // "Not subscribed" is kept for SHIELD_INACTIVE_TTL: every stack's full deploy in the meantime
    // goes without GetSubscriptionState. Past it, the new subscription is seen.
    cloud.set_shield_subscription(true);
    cloud.counter().reset();
    deployer.deploy(&shield(true)).await.expect("still the kept answer");
    assert_eq!(cloud.counter().count(Api::GetSubscriptionState), 0);
    assert_eq!(cloud.shield_protection_of(&lb_arn(&cloud)), None);
    tokio::time::advance(elbow_deploy::protection::SHIELD_INACTIVE_TTL).await;
    deployer.deploy(&shield(true)).await.expect("protected");
    let protection = cloud.shield_protection_of(&lb_arn(&cloud)).expect("a protection");
    assert_eq!(protection.name, elbow_deploy::protection::SHIELD_PROTECTION_NAME);
    let tags = cloud.shield_protection_tags(&protection.id);
    assert_eq!(tags.get("elbow.dev/cluster").map(String::as_str), Some(CLUSTER), "{tags:?}");
    assert_eq!(tags.get("elbow.dev/stack").map(String::as_str), Some("ingress/shop"), "{tags:?}");

    cloud.counter().reset();
    deployer.deploy(&shield(true)).await.expect("compared again");
    assert_eq!(cloud.counter().count(Api::CreateProtection), 0, "one protection only");
    assert_eq!(cloud.counter().count(Api::GetSubscriptionState), 0, "an active subscription is kept too");

    deployer.deploy(&shield(false)).await.expect("unprotected");
    assert_eq!(cloud.shield_protection_of(&lb_arn(&cloud)), None);

    let arn = lb_arn(&cloud);
    let theirs =
        cloud.shield_create_protection("made in the console", &arn, &Default::default()).await.expect("theirs");
    deployer.deploy(&shield(false)).await.expect("left");
    assert_eq!(cloud.shield_protection_of(&arn).map(|p| p.id), Some(theirs), "someone else's protection stays");
}

#[tokio::test]
async fn a_web_acl_name_is_looked_up_once_and_again_when_its_arn_is_gone() {
    let cloud = cloud();
    let shop = cloud.seed_wafv2_web_acl("shop", WebAclScope::Regional);
    cloud.seed_wafv2_web_acl("other", WebAclScope::Regional);
    let deployer = comparing(&cloud, Integrations::all());
    let by_name = |name: &str| wafv2(Wafv2WebAcl::Name(name.into()));

    deployer.deploy(&by_name("shop")).await.expect("by name");
    deployer.deploy(&by_name("shop")).await.expect("compared again");
    deployer.deploy(&by_name("other")).await.expect("another name of the same listing");
    assert_eq!(cloud.counter().count(Api::ListWebACLs), 1, "{:?}", cloud.counter().snapshot());

    // The owner makes the web ACL again under its name: a new ARN. The kept one fails once as not
    // found, and the name is looked up again.
    deployer.deploy(&wafv2(Wafv2WebAcl::None)).await.expect("removed");
    cloud.delete_wafv2_web_acl(&shop.arn).expect("deleted by its owner");
    let again = cloud.seed_wafv2_web_acl("shop", WebAclScope::Regional);
    let error = deployer.deploy(&by_name("shop")).await.expect_err("the kept ARN is gone");
    assert!(error.to_string().contains(&shop.arn), "{error}");
    deployer.deploy(&by_name("shop")).await.expect("looked up again");
    assert_eq!(cloud.wafv2_web_acl_of(&lb_arn(&cloud)), Some(again.arn));
    assert_eq!(cloud.counter().count(Api::ListWebACLs), 2);
}

#[tokio::test]
async fn an_integration_turned_off_makes_no_call() {
    let cloud = cloud();
    let acl = cloud.seed_wafv2_web_acl("shop", WebAclScope::Regional);
    let classic = cloud.seed_waf_regional_web_acl("classic");
    cloud.set_shield_subscription(true);
    let everything = protected(Protection {
        wafv2: Some(Wafv2WebAcl::Arn(acl.arn.clone())),
        waf_classic: Some(WafClassicWebAcl::Id(classic)),
        shield_advanced: Some(true),
    });
    let off = Integrations { wafv2: false, waf_classic: false, shield: false };
    comparing(&cloud, off).deploy(&everything).await.expect("deployed");
    assert_eq!(waf_calls(&cloud), 0, "{:?}", cloud.counter().snapshot());
    assert_eq!(cloud.wafv2_web_acl_of(&lb_arn(&cloud)), None);

    let wafv2_only = Integrations { wafv2: true, ..off };
    comparing(&cloud, wafv2_only).deploy(&everything).await.expect("deployed");
    assert_eq!(cloud.wafv2_web_acl_of(&lb_arn(&cloud)), Some(acl.arn));
    assert_eq!(cloud.waf_regional_web_acl_of(&lb_arn(&cloud)), None);
    assert_eq!(cloud.shield_protection_of(&lb_arn(&cloud)), None);
}
