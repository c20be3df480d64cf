//! Keys under LBC's prefixes that Elbow does not read fail the Service's build, naming the key.

use super::*;

#[test]
fn a_misspelt_annotation_is_an_error_with_a_suggestion() {
    assert_eq!(
        error(&[("shceme", "internal")]),
        "unknown annotation service.beta.kubernetes.io/aws-load-balancer-shceme: neither Elbow nor the AWS Load Balancer Controller reads it; did you mean service.beta.kubernetes.io/aws-load-balancer-scheme?"
    );
    assert_eq!(
        build(&service(&[("healthcheck-intervall", "30")])),
        Err(BuildError::UnknownAnnotation {
            annotation: "service.beta.kubernetes.io/aws-load-balancer-healthcheck-intervall".into(),
            suggestion: Some("service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval".into()),
        })
    );
    let message = error(&[("service.kubernetes.io/aws-load-balancer-scheme", "internal")]);
    assert!(message.ends_with("reads service.beta.kubernetes.io/aws-load-balancer-scheme"), "{message}");
}

#[test]
fn lbc_features_elbow_lacks_are_errors_not_silence() {
    let message = error(&[("eip-allocations-discovery-tags", "pool=web")]);
    assert_eq!(
        message,
        "annotation service.beta.kubernetes.io/aws-load-balancer-eip-allocations-discovery-tags is the AWS Load Balancer Controller's for Elastic IP addresses found by tags, which is not supported by Elbow; remove it, or leave this object to that controller"
    );
}

/// A Service behind an Ingress may carry the target-group keys LBC reads from backend Services
/// (and Elbow's Ingress build reads too); its own NLB leaves them alone, as LBC's does.
#[test]
fn ingress_backend_keys_do_not_fail_the_services_own_load_balancer() {
    let backend_keys = [
        ("alb.ingress.kubernetes.io/healthcheck-path", "/ready"),
        ("alb.ingress.kubernetes.io/target-type", "instance"),
        ("alb.ingress.kubernetes.io/auth-type", "cognito"),
    ];
    let stack = built(&backend_keys);
    assert_eq!(stack.target_groups[0].health_check, built(&[]).target_groups[0].health_check, "NLB health check");
    assert_eq!(
        error(&[("alb.ingress.kubernetes.io/scheme", "internal")]),
        "annotation alb.ingress.kubernetes.io/scheme is read from Ingresses only, not from Services"
    );
}
