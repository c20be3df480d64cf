use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::annotations::INGRESS_PREFIX;
use crate::crd::IngressGroupParams;

fn ingress(namespace: &str, name: &str, annotations: &[(&str, &str)]) -> Ingress {
    Ingress {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            annotations: Some(
                annotations.iter().map(|(k, v)| (format!("{INGRESS_PREFIX}{k}"), v.to_string())).collect(),
            ),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn params(group: &str) -> IngressClassParamsSpec {
    IngressClassParamsSpec { group: Some(IngressGroupParams { name: group.into() }), ..Default::default() }
}

#[test]
fn groups_are_explicit_by_params_or_annotation_else_implicit() {
    let plain = ingress("shop", "web", &[]);
    let implicit = GroupId::Implicit { namespace: "shop".into(), name: "web".into() };
    assert_eq!(group_of(&plain, None), Ok(implicit.clone()));
    assert_eq!(group_stack_id(&implicit).as_str(), "ingress:shop/web");
    assert_eq!(group_finalizer(&implicit), "ingress.elbow.dev/resources");
    assert_eq!(implicit.to_string(), "shop/web");

    let annotated = ingress("shop", "web", &[("group.name", "public")]);
    let explicit = GroupId::Explicit("public".into());
    assert_eq!(group_of(&annotated, None), Ok(explicit.clone()));
    assert_eq!(group_stack_id(&explicit).as_str(), "ingress-group:public");
    assert_eq!(group_finalizer(&explicit), "group.ingress.elbow.dev/public");
    assert_eq!(explicit.to_string(), "public");

    // IngressClassParams win over the annotation.
    assert_eq!(group_of(&annotated, Some(&params("platform"))), Ok(GroupId::Explicit("platform".into())));
    assert_eq!(group_of(&plain, Some(&IngressClassParamsSpec::default())), Ok(implicit));
}

#[test]
fn group_names_follow_the_aws_load_balancer_controllers_rule() {
    for good in ["a", "public", "team-a.web", "0", &"a".repeat(63)] {
        assert!(is_valid_group_name(good), "{good}");
    }
    for bad in ["", "-a", "a-", ".a", "Public", "a_b", "a/b", &"a".repeat(64)] {
        assert!(!is_valid_group_name(bad), "{bad}");
    }
    let error = group_of(&ingress("shop", "web", &[("group.name", "Public")]), None).expect_err("uppercase");
    assert!(
        error.to_string().contains("alb.ingress.kubernetes.io/group.name has an invalid value \"Public\""),
        "{error}"
    );
    let error = group_of(&ingress("shop", "web", &[]), Some(&params("a_b"))).expect_err("underscore");
    assert!(
        error.to_string().starts_with("IngressClassParams field group.name has an invalid value \"a_b\""),
        "{error}"
    );
}

#[test]
fn members_are_ordered_by_group_order_then_namespace_and_name() {
    let late = ingress("a", "late", &[("group.order", "10")]);
    let early = ingress("z", "early", &[("group.order", "-5")]);
    let b2 = ingress("b", "two", &[]);
    let b1 = ingress("b", "one", &[("group.order", "0")]);
    let a9 = ingress("a", "nine", &[]);
    let members = ordered_members(&[&late, &b2, &early, &b1, &a9]).expect("valid orders");
    let keys: Vec<&str> = members.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, ["z/early", "a/nine", "b/one", "b/two", "a/late"]);
}

#[test]
fn group_order_is_a_whole_number_from_minus_1000_to_1000() {
    assert_eq!(group_order(&ingress("a", "b", &[])), Ok(0));
    assert_eq!(group_order(&ingress("a", "b", &[("group.order", "-1000")])), Ok(-1000));
    assert_eq!(group_order(&ingress("a", "b", &[("group.order", "1000")])), Ok(1000));
    for bad in ["1001", "-1001", "first", "1.5"] {
        let error = group_order(&ingress("a", "b", &[("group.order", bad)])).expect_err(bad);
        assert!(error.to_string().contains("a whole number from -1000 to 1000"), "{error}");
    }
    let error = ordered_members(&[&ingress("a", "b", &[("group.order", "2000")])]).err().expect("out of range");
    assert!(error.to_string().starts_with("Ingress a/b: annotation alb.ingress.kubernetes.io/group.order"), "{error}");
}

#[test]
fn the_same_ingress_twice_is_one_member() {
    let one = ingress("a", "b", &[]);
    assert_eq!(ordered_members(&[&one, &one]).expect("valid").len(), 1);
}
