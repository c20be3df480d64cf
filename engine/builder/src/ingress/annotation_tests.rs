//! Keys under LBC's prefixes that Elbow does not read fail the group, naming the Ingress (and the
//! backend Service) they sit on.

use super::*;

#[test]
fn a_misspelt_ingress_annotation_fails_the_group_with_a_suggestion() {
    let typo = web(&[("shceme", "internal")]);
    assert_eq!(
        error(&[&typo]),
        "Ingress shop/web: unknown annotation alb.ingress.kubernetes.io/shceme: neither Elbow nor the AWS Load Balancer Controller reads it; did you mean alb.ingress.kubernetes.io/scheme?"
    );
    // In a group, the member carrying the key is named.
    let fine = member("shop", "fine", &[], "fine.example.com");
    let typo = member("shop", "typo", &[("group.ordr", "5")], "typo.example.com");
    let message = error(&[&fine, &typo]);
    assert!(
        message.starts_with("Ingress shop/typo: unknown annotation alb.ingress.kubernetes.io/group.ordr"),
        "{message}"
    );
    assert!(message.ends_with("did you mean alb.ingress.kubernetes.io/group.order?"), "{message}");
}

#[test]
fn lbc_features_elbow_lacks_fail_the_group_instead_of_being_ignored() {
    let frontend = web(&[("enable-frontend-nlb", "true")]);
    let message = error(&[&frontend]);
    assert!(
        message.starts_with("Ingress shop/web: annotation alb.ingress.kubernetes.io/enable-frontend-nlb is the AWS Load Balancer Controller's for a network load balancer in front of the application load balancer, which is not supported by Elbow"),
        "{message}"
    );
    let outposts = web(&[("customer-owned-ipv4-pool", "ipv4pool-coip-0123")]);
    assert!(error(&[&outposts]).contains("customer-owned IPv4 pools"));
}

#[test]
fn backend_services_are_checked_for_the_keys_lbc_reads_from_them() {
    let ingress = web(&[]);
    let with = |annotations: &[(&str, &str)]| {
        let mut services = services();
        services[0] = service("shop", "web", annotations);
        build_with(&[&ingress], &services, None)
    };
    assert!(with(&[("healthcheck-path", "/ready")]).is_ok());
    assert!(with(&[("auth-type", "none")]).is_ok(), "authentication is read from backend Services too");
    let message = with(&[("multi-cluster-target-group", "true")]).expect_err("not supported").to_string();
    assert!(
        message.starts_with("Ingress shop/web: Service web: annotation alb.ingress.kubernetes.io/multi-cluster-target-group is the AWS Load Balancer Controller's for target groups shared between clusters"),
        "{message}"
    );
    assert_eq!(
        with(&[("scheme", "internal")]).expect_err("Ingress only").to_string(),
        "Ingress shop/web: Service web: annotation alb.ingress.kubernetes.io/scheme is read from Ingresses only, not from Services"
    );
    let message = with(&[("healthcheck-pth", "/ready")]).expect_err("typo").to_string();
    assert!(message.ends_with("did you mean alb.ingress.kubernetes.io/healthcheck-path?"), "{message}");

    // The Service's NLB annotations are its own load balancer's business, not the group's.
    let mut services = services();
    services[0]
        .metadata
        .annotations
        .get_or_insert_default()
        .insert("service.beta.kubernetes.io/aws-load-balancer-shceme".into(), "internal".into());
    assert!(build_with(&[&ingress], &services, None).is_ok());
    // A Service no member uses is not read at all.
    services[1] = service("shop", "api", &[("multi-cluster-target-group", "true")]);
    assert!(build_with(&[&ingress], &services, None).is_ok());
}
