//! The WAF and Shield annotations, through the whole Ingress builder.

use super::*;
use elbow_model::{Protection, WafClassicWebAcl, Wafv2WebAcl};

const ACL: &str = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shop/3ab78708-85b0-49d3-b4e1-7a9615a6613b";
const OTHER_ACL: &str = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/other/5e5e5e5e";

fn protection_of(annotations: &[(&str, &str)]) -> Protection {
    built(&[&web(annotations)]).load_balancers[0].protection.clone()
}

#[test]
fn without_annotations_nothing_is_asked_and_the_plan_says_nothing() {
    let stack = built(&[&web(&[])]);
    assert!(stack.load_balancers[0].protection.is_unset());
    let json = serde_json::to_string(&stack).expect("serializes");
    assert!(!json.contains("protection"), "{json}");
}

#[test]
fn web_acls_and_shield_are_read_with_lbcs_meaning() {
    assert_eq!(protection_of(&[("wafv2-acl-arn", ACL)]).wafv2, Some(Wafv2WebAcl::Arn(ACL.into())));
    assert_eq!(protection_of(&[("wafv2-acl-arn", "none")]).wafv2, Some(Wafv2WebAcl::None));
    // Empty is absent: the association is left as it is, as LBC documents.
    assert_eq!(protection_of(&[("wafv2-acl-arn", "")]).wafv2, None);
    assert_eq!(protection_of(&[("wafv2-acl-name", "shop-acl")]).wafv2, Some(Wafv2WebAcl::Name("shop-acl".into())));
    assert_eq!(
        protection_of(&[("wafv2-acl-name", "shop-acl"), ("wafv2-acl-arn", ACL)]).wafv2,
        Some(Wafv2WebAcl::Name("shop-acl".into())),
        "a name wins over an ARN"
    );
    assert_eq!(protection_of(&[("wafv2-acl-name", "none")]).wafv2, Some(Wafv2WebAcl::None));

    assert_eq!(protection_of(&[("waf-acl-id", "499e8b99")]).waf_classic, Some(WafClassicWebAcl::Id("499e8b99".into())));
    assert_eq!(protection_of(&[("web-acl-id", "499e8b99")]).waf_classic, Some(WafClassicWebAcl::Id("499e8b99".into())));
    assert_eq!(
        protection_of(&[("waf-acl-id", "aaaa"), ("web-acl-id", "bbbb")]).waf_classic,
        Some(WafClassicWebAcl::Id("aaaa".into())),
        "waf-acl-id wins over the older web-acl-id"
    );
    assert_eq!(protection_of(&[("waf-acl-id", "none")]).waf_classic, Some(WafClassicWebAcl::None));

    assert_eq!(protection_of(&[("shield-advanced-protection", "true")]).shield_advanced, Some(true));
    assert_eq!(protection_of(&[("shield-advanced-protection", "false")]).shield_advanced, Some(false));
}

#[test]
fn bad_values_are_user_errors_naming_the_annotation() {
    let message = error(&[&web(&[("wafv2-acl-arn", "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn/1")])]);
    assert!(
        message.contains("alb.ingress.kubernetes.io/wafv2-acl-arn") && message.contains("regional WAFv2 web ACL"),
        "{message}"
    );
    let message = error(&[&web(&[("wafv2-acl-name", "shop acl")])]);
    assert!(message.contains("alb.ingress.kubernetes.io/wafv2-acl-name"), "{message}");
    let message = error(&[&web(&[("shield-advanced-protection", "yes")])]);
    assert!(message.contains("alb.ingress.kubernetes.io/shield-advanced-protection"), "{message}");
}

#[test]
fn members_of_a_group_must_agree_and_those_that_say_nothing_do_not_count() {
    let services = vec![service("a", "web", &[]), service("b", "web", &[])];
    let group = |first: &[(&str, &str)], second: &[(&str, &str)]| {
        let one = member("a", "one", first, "one.example.com");
        let two = member("b", "two", second, "two.example.com");
        build_with(&[&one, &two], &services, None)
    };
    let stack = group(&[("wafv2-acl-arn", ACL)], &[]).expect("one member sets it");
    assert_eq!(stack.load_balancers[0].protection.wafv2, Some(Wafv2WebAcl::Arn(ACL.into())));
    assert_eq!(
        group(&[("wafv2-acl-arn", ACL)], &[("wafv2-acl-arn", OTHER_ACL)]).expect_err("conflict").to_string(),
        format!("conflicting wafv2-acl-arn in the Ingress group: a/one sets {ACL}, b/two sets {OTHER_ACL}")
    );
    assert_eq!(
        group(&[("wafv2-acl-name", "x")], &[("wafv2-acl-name", "none")]).expect_err("conflict").to_string(),
        "conflicting wafv2-acl-name in the Ingress group: a/one sets x, b/two sets none"
    );
    assert!(group(&[("waf-acl-id", "a")], &[("web-acl-id", "b")]).is_err(), "the two classic keys are one setting");
    assert!(group(&[("shield-advanced-protection", "true")], &[("shield-advanced-protection", "false")]).is_err());
}
