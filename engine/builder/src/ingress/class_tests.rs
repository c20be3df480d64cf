use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    Ingress, IngressClass, IngressClassParametersReference, IngressClassSpec, IngressSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::crd::IngressGroupParams;
use elbow_model::stack::Scheme;

const OURS: &str = "elbow.dev/alb";

fn class(name: &str, controller: &str, default: bool) -> IngressClass {
    let annotations = default.then(|| BTreeMap::from([(DEFAULT_CLASS_ANNOTATION.to_string(), "true".to_string())]));
    IngressClass {
        metadata: ObjectMeta { name: Some(name.into()), annotations, ..Default::default() },
        spec: Some(IngressClassSpec { controller: Some(controller.into()), parameters: None }),
    }
}

fn with_params(mut class: IngressClass, api_group: &str, kind: &str, name: &str, scope: Option<&str>) -> IngressClass {
    class.spec.get_or_insert_default().parameters = Some(IngressClassParametersReference {
        api_group: Some(api_group.into()),
        kind: kind.into(),
        name: name.into(),
        namespace: None,
        scope: scope.map(str::to_string),
    });
    class
}

fn ingress(class_name: Option<&str>, legacy: Option<&str>) -> Ingress {
    Ingress {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("shop".into()),
            annotations: legacy.map(|v| BTreeMap::from([(LEGACY_CLASS_ANNOTATION.to_string(), v.to_string())])),
            ..Default::default()
        },
        spec: Some(IngressSpec { ingress_class_name: class_name.map(str::to_string), ..Default::default() }),
        status: None,
    }
}

fn ours(name: &str) -> ClassResolution {
    ClassResolution::Ours { class_name: name.into(), params: None }
}

#[test]
fn class_resolution_table() {
    let elbow = class("elbow", OURS, false);
    let nginx = class("nginx", "k8s.io/ingress-nginx", false);
    let elbow_default = class("elbow", OURS, true);
    let nginx_default = class("nginx", "k8s.io/ingress-nginx", true);
    let other_elbow_default = class("elbow-internal", OURS, true);
    let none = BTreeMap::new();
    #[rustfmt::skip]
    let cases: Vec<(&str, Ingress, Vec<IngressClass>, ClassResolution)> = vec![
        ("field names our class", ingress(Some("elbow"), None), vec![elbow.clone(), nginx.clone()], ours("elbow")),
        ("field names a foreign class", ingress(Some("nginx"), None), vec![elbow.clone(), nginx.clone()], ClassResolution::NotOurs),
        ("field names a class that does not exist", ingress(Some("gone"), None), vec![elbow.clone()], ClassResolution::NotOurs),
        ("legacy annotation names our class", ingress(None, Some("elbow")), vec![elbow.clone(), nginx.clone()], ours("elbow")),
        ("legacy annotation wins over a foreign field", ingress(Some("nginx"), Some("elbow")), vec![elbow.clone(), nginx.clone()], ours("elbow")),
        ("a foreign legacy annotation wins over our field", ingress(Some("elbow"), Some("nginx")), vec![elbow.clone(), nginx.clone()], ClassResolution::NotOurs),
        ("legacy annotation naming no IngressClass", ingress(None, Some("alb")), vec![elbow.clone()], ClassResolution::NotOurs),
        ("class-less, ours is the default", ingress(None, None), vec![elbow_default.clone(), nginx.clone()], ours("elbow")),
        ("class-less, a foreign default", ingress(None, None), vec![elbow.clone(), nginx_default.clone()], ClassResolution::NotOurs),
        ("class-less, no default", ingress(None, None), vec![elbow.clone(), nginx.clone()], ClassResolution::NotOurs),
        ("class-less, several foreign defaults", ingress(None, None), vec![nginx_default.clone(), class("haproxy", "haproxy.org/ingress", true)], ClassResolution::NotOurs),
        ("a named class ignores several defaults", ingress(Some("elbow"), None), vec![elbow_default.clone(), nginx_default.clone()], ours("elbow")),
    ];
    for (case, ingress, classes, expected) in cases {
        assert_eq!(resolve_class(&ingress, &classes, &none, OURS), expected, "{case}");
    }

    let several =
        resolve_class(&ingress(None, None), &[elbow_default, nginx_default, other_elbow_default], &none, OURS);
    let ClassResolution::Invalid(message) = several else { panic!("several defaults: {several:?}") };
    assert!(message.contains("3 IngressClasses are marked default (elbow, elbow-internal, nginx)"), "{message}");
}

#[test]
fn the_controller_name_is_configurable() {
    let custom = class("edge", "example.com/alb", false);
    let none = BTreeMap::new();
    assert_eq!(
        resolve_class(&ingress(Some("edge"), None), std::slice::from_ref(&custom), &none, "example.com/alb"),
        ours("edge")
    );
    assert_eq!(resolve_class(&ingress(Some("edge"), None), &[custom], &none, OURS), ClassResolution::NotOurs);
}

#[test]
fn parameters_come_from_the_named_ingress_class_params() {
    let spec = IngressClassParamsSpec {
        scheme: Some(Scheme::Internal),
        group: Some(IngressGroupParams { name: "shared".into() }),
        ..Default::default()
    };
    let params = BTreeMap::from([("internal".to_string(), spec.clone())]);
    let resolve = |class: IngressClass| resolve_class(&ingress(Some("elbow"), None), &[class], &params, OURS);

    let good = with_params(class("elbow", OURS, false), "elbow.dev", "IngressClassParams", "internal", None);
    assert_eq!(resolve(good), ClassResolution::Ours { class_name: "elbow".into(), params: Some(spec.clone()) });
    let cluster_scoped =
        with_params(class("elbow", OURS, false), "elbow.dev", "IngressClassParams", "internal", Some("Cluster"));
    assert!(matches!(resolve(cluster_scoped), ClassResolution::Ours { params: Some(_), .. }));

    let invalid = |class: IngressClass| match resolve(class) {
        ClassResolution::Invalid(message) => message,
        other => panic!("expected Invalid, got {other:?}"),
    };
    let missing = invalid(with_params(class("elbow", OURS, false), "elbow.dev", "IngressClassParams", "gone", None));
    assert!(missing.contains("refers to IngressClassParams gone, which does not exist"), "{missing}");
    let lbc =
        invalid(with_params(class("elbow", OURS, false), "elbv2.k8s.aws", "IngressClassParams", "internal", None));
    assert!(lbc.contains("apiGroup elbv2.k8s.aws") && lbc.contains("Elbow reads apiGroup elbow.dev"), "{lbc}");
    let namespaced = invalid(with_params(
        class("elbow", OURS, false),
        "elbow.dev",
        "IngressClassParams",
        "internal",
        Some("Namespace"),
    ));
    assert!(namespaced.contains("scope Namespace"), "{namespaced}");

    // A foreign class's parameters are none of Elbow's business, whatever they name.
    let foreign = with_params(class("nginx", "k8s.io/ingress-nginx", false), "k8s.example", "Config", "x", None);
    assert_eq!(resolve_class(&ingress(Some("nginx"), None), &[foreign], &params, OURS), ClassResolution::NotOurs);
}

/// LBC served `kubernetes.io/ingress.class: alb` without any IngressClass; Elbow does not, but a
/// migrated Ingress must learn why instead of silently getting no load balancer.
#[test]
fn lbcs_legacy_class_without_an_ingress_class_is_told_apart() {
    let legacy = ingress(None, Some("alb"));
    let elbow = [class("elbow", OURS, true)];
    let none = BTreeMap::new();
    assert_eq!(resolve_class(&legacy, &elbow, &none, OURS), ClassResolution::NotOurs);
    let warning = unserved_legacy_class(&legacy, &elbow, OURS).expect("told apart");
    assert_eq!(warning, BuildError::UnservedLegacyClass { class: "alb".into(), controller: OURS.into() });
    let message = warning.to_string();
    assert!(
        message.contains("kubernetes.io/ingress.class") && message.contains("no IngressClass alb exists"),
        "{message}"
    );
    assert!(message.contains("set spec.ingressClassName") && message.contains("controller elbow.dev/alb"), "{message}");

    // An IngressClass alb decides, whoever's it is; other values are other controllers' business.
    assert_eq!(unserved_legacy_class(&legacy, &[class("alb", "ingress.k8s.aws/alb", false)], OURS), None);
    assert_eq!(unserved_legacy_class(&legacy, &[class("alb", OURS, false)], OURS), None);
    assert_eq!(resolve_class(&legacy, &[class("alb", OURS, false)], &none, OURS), ours("alb"));
    assert_eq!(unserved_legacy_class(&ingress(None, Some("nginx")), &elbow, OURS), None);
    assert_eq!(unserved_legacy_class(&ingress(Some("alb"), None), &elbow, OURS), None, "the field is not LBC's legacy");
    assert!(
        unserved_legacy_class(&ingress(None, Some(" alb ")), &[], OURS).is_some(),
        "trimmed, as resolve_class does"
    );
}
