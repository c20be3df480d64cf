use super::*;

fn checked(object: Object, pairs: &[(&str, &str)]) -> Result<(), BuildError> {
    let values: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    check(&values, object)
}

fn refused(object: Object, key: &str) -> BuildError {
    checked(object, &[(key, "x")]).expect_err(key)
}

fn suggestion(object: Object, key: &str) -> Option<String> {
    match refused(object, key) {
        BuildError::UnknownAnnotation { annotation, suggestion } => {
            assert_eq!(annotation, key);
            suggestion
        }
        other => panic!("{key}: {other}"),
    }
}

#[test]
fn a_misspelt_service_key_is_refused_with_the_key_it_is_close_to() {
    let error = refused(Object::LoadBalancerService, "service.beta.kubernetes.io/aws-load-balancer-shceme");
    assert_eq!(
        error.to_string(),
        "unknown annotation service.beta.kubernetes.io/aws-load-balancer-shceme: neither Elbow nor the AWS Load Balancer Controller reads it; did you mean service.beta.kubernetes.io/aws-load-balancer-scheme?"
    );
    for (typo, meant) in [
        ("aws-load-balancer-healthcheck-intervall", "aws-load-balancer-healthcheck-interval"),
        ("aws-load-balancer-ssl-cer", "aws-load-balancer-ssl-cert"),
        ("aws-load-balancer-additonal-resource-tags", "aws-load-balancer-additional-resource-tags"),
        ("aws-load-balancer-eip-alocations", "aws-load-balancer-eip-allocations"),
    ] {
        let key = format!("{SERVICE_PREFIX}{typo}");
        assert_eq!(suggestion(Object::LoadBalancerService, &key), Some(format!("{SERVICE_PREFIX}{meant}")), "{typo}");
    }
}

#[test]
fn no_suggestion_when_nothing_is_close_or_two_keys_are_equally_close() {
    assert_eq!(suggestion(Object::LoadBalancerService, "service.beta.kubernetes.io/aws-load-balancer-colour"), None);
    // One edit from both `healthy-threshold-count` and `unhealthy-threshold-count`.
    assert_eq!(suggestion(Object::Ingress, "alb.ingress.kubernetes.io/nhealthy-threshold-count"), None);
    assert_eq!(suggestion(Object::Ingress, "alb.ingress.kubernetes.io/wef-acl-id"), None, "waf- or web-");
    let message = refused(Object::Ingress, "alb.ingress.kubernetes.io/colour").to_string();
    assert!(!message.contains("did you mean"), "{message}");
}

#[test]
fn every_catalogued_key_passes_where_it_applies() {
    for info in SERVICE_ANNOTATIONS {
        let key = format!("{SERVICE_PREFIX}{}", info.suffix.replace("<name>", "web"));
        let on_service = checked(Object::LoadBalancerService, &[(&key, "x")]);
        if info.scope == Scope::Pod {
            // Read from Pods only: on a Service it would do nothing, so it is refused there.
            let error = on_service.expect_err("misplaced").to_string();
            assert!(error.contains("is read from Pods"), "{key}: {error}");
        } else {
            assert_eq!(on_service, Ok(()), "{key}");
        }
    }
    for info in INGRESS_ANNOTATIONS {
        let key = format!("{INGRESS_PREFIX}{}", info.suffix.replace("<name>", "web"));
        assert_eq!(checked(Object::Ingress, &[(&key, "x")]), Ok(()), "{key}");
        let on_backend = checked(Object::BackendService, &[(&key, "x")]);
        assert_eq!(on_backend.is_ok(), info.scope == Scope::IngressAndBackend, "{key}: {on_backend:?}");
    }
}

#[test]
fn lbc_keys_elbow_lacks_are_refused_as_not_supported() {
    for (object, key) in [
        (Object::LoadBalancerService, "service.beta.kubernetes.io/aws-load-balancer-eip-allocations-discovery-tags"),
        (Object::LoadBalancerService, "service.beta.kubernetes.io/actions.TCP-80"),
        (Object::Ingress, "alb.ingress.kubernetes.io/enable-frontend-nlb"),
        (Object::Ingress, "alb.ingress.kubernetes.io/customer-owned-ipv4-pool"),
        (Object::Ingress, "alb.ingress.kubernetes.io/frontend-nlb-scheme"),
        (Object::BackendService, "alb.ingress.kubernetes.io/multi-cluster-target-group"),
        (Object::BackendService, "alb.ingress.kubernetes.io/target-control-port.web.80"),
    ] {
        let error = refused(object, key);
        assert!(matches!(error, BuildError::AnnotationNotSupported { .. }), "{key}: {error}");
        let message = error.to_string();
        assert!(message.contains(key) && message.contains("not supported by Elbow"), "{message}");
    }
    assert_eq!(
        refused(Object::Ingress, "alb.ingress.kubernetes.io/customer-owned-ipv4-pool").to_string(),
        "annotation alb.ingress.kubernetes.io/customer-owned-ipv4-pool is the AWS Load Balancer Controller's for customer-owned IPv4 pools (Outposts), which is not supported by Elbow; remove it, or leave this object to that controller"
    );
}

#[test]
fn templated_keys_need_their_name_and_typos_keep_it() {
    assert_eq!(checked(Object::Ingress, &[("alb.ingress.kubernetes.io/actions.ssl-redirect", "{}")]), Ok(()));
    assert_eq!(checked(Object::Ingress, &[("alb.ingress.kubernetes.io/conditions.web", "[]")]), Ok(()));
    assert_eq!(checked(Object::Ingress, &[("alb.ingress.kubernetes.io/transforms.web", "[]")]), Ok(()));
    assert_eq!(
        suggestion(Object::Ingress, "alb.ingress.kubernetes.io/transform.web"),
        Some("alb.ingress.kubernetes.io/transforms.web".into())
    );
    assert_eq!(
        suggestion(Object::Ingress, "alb.ingress.kubernetes.io/action.web"),
        Some("alb.ingress.kubernetes.io/actions.web".into())
    );
    assert_eq!(
        suggestion(Object::Ingress, "alb.ingress.kubernetes.io/condition.web-app"),
        Some("alb.ingress.kubernetes.io/conditions.web-app".into())
    );
    assert!(matches!(
        refused(Object::Ingress, "alb.ingress.kubernetes.io/actions."),
        BuildError::UnknownAnnotation { .. }
    ));
}

#[test]
fn ingress_keys_on_services() {
    // What LBC reads from backend Services is fine on a Service with its own NLB: the Ingress
    // build judges it, supported or not.
    for key in ["alb.ingress.kubernetes.io/healthcheck-path", "alb.ingress.kubernetes.io/auth-type"] {
        assert_eq!(checked(Object::LoadBalancerService, &[(key, "/ready")]), Ok(()), "{key}");
    }
    for object in [Object::LoadBalancerService, Object::BackendService] {
        let error = refused(object, "alb.ingress.kubernetes.io/scheme");
        assert_eq!(
            error.to_string(),
            "annotation alb.ingress.kubernetes.io/scheme is read from Ingresses only, not from Services"
        );
        // Suggestions are among the keys a Service may carry.
        assert_eq!(
            suggestion(object, "alb.ingress.kubernetes.io/healthcheck-protocl"),
            Some("alb.ingress.kubernetes.io/healthcheck-protocol".into())
        );
    }
    assert_eq!(suggestion(Object::BackendService, "alb.ingress.kubernetes.io/schme"), None);
    // A backend Service's NLB keys are its own load balancer's business.
    assert_eq!(
        checked(Object::BackendService, &[("service.beta.kubernetes.io/aws-load-balancer-shceme", "internal")]),
        Ok(())
    );
}

#[test]
fn the_non_beta_service_prefix_points_at_the_beta_key() {
    assert_eq!(
        refused(Object::LoadBalancerService, "service.kubernetes.io/aws-load-balancer-scheme").to_string(),
        "annotation service.kubernetes.io/aws-load-balancer-scheme is not read: Elbow, like the AWS Load Balancer Controller, reads service.beta.kubernetes.io/aws-load-balancer-scheme"
    );
    assert_eq!(
        suggestion(Object::LoadBalancerService, "service.kubernetes.io/aws-load-balancer-shceme"),
        Some("service.beta.kubernetes.io/aws-load-balancer-scheme".into())
    );
}

#[test]
fn other_keys_are_left_alone() {
    let others = [
        ("service.beta.kubernetes.io/azure-load-balancer-internal", "true"),
        ("service.kubernetes.io/topology-mode", "Auto"),
        ("kubernetes.io/ingress.class", "alb"),
        ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
        ("example.com/owner", "team-web"),
    ];
    for object in [Object::LoadBalancerService, Object::Ingress, Object::BackendService] {
        assert_eq!(checked(object, &others), Ok(()), "{object:?}");
    }
    // Service keys on an Ingress are not the Ingress build's to judge.
    assert_eq!(checked(Object::Ingress, &[("service.beta.kubernetes.io/aws-load-balancer-shceme", "x")]), Ok(()));
}

#[test]
fn the_first_refused_key_in_order_is_reported() {
    let error = checked(
        Object::Ingress,
        &[
            ("alb.ingress.kubernetes.io/zzz", "x"),
            ("alb.ingress.kubernetes.io/aaa", "x"),
            ("alb.ingress.kubernetes.io/scheme", "internal"),
        ],
    )
    .expect_err("two unknown keys");
    assert!(error.to_string().contains("alb.ingress.kubernetes.io/aaa"), "{error}");
}

#[test]
fn edit_distance_counts_a_swap_as_one() {
    assert_eq!(distance("scheme", "scheme"), 0);
    assert_eq!(distance("shceme", "scheme"), 1);
    assert_eq!(distance("schme", "scheme"), 1);
    assert_eq!(distance("scheme", "schemes"), 1);
    assert_eq!(distance("", "abc"), 3);
    assert_eq!(distance("tags", "tag"), 1);
    assert_eq!(distance("ab", "ba"), 1);
}
