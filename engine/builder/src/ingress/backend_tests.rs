//! How an Ingress reaches its backends: the target groups' protocol version (HTTP/1.1, HTTP/2,
//! gRPC) and the health checks that go with it.

use super::*;
use elbow_model::ProtocolVersion;

fn web_key(group: &GroupId) -> IngressTargetGroupKey<'_> {
    IngressTargetGroupKey {
        group,
        ingress_namespace: "shop",
        ingress_name: "web",
        service_namespace: "shop",
        service_name: "web",
        service_uid: "uid-web",
        service_port: "http",
    }
}

#[test]
fn backend_protocol_versions_set_the_target_group_and_grpc_health_check_defaults() {
    // (annotations on the Ingress, on the Service) -> version, health-check path, success codes
    let cases: [(&[(&str, &str)], &[(&str, &str)], ProtocolVersion, &str, &str); 7] = [
        (&[], &[], ProtocolVersion::Http1, "/", "200"),
        (&[("backend-protocol-version", "HTTP1")], &[], ProtocolVersion::Http1, "/", "200"),
        (&[("backend-protocol-version", "HTTP2")], &[], ProtocolVersion::Http2, "/", "200"),
        (&[("backend-protocol-version", "GRPC")], &[], ProtocolVersion::Grpc, "/AWS.ALB/healthcheck", "12"),
        // The Service's value wins over the Ingress's.
        (
            &[("backend-protocol-version", "HTTP2")],
            &[("backend-protocol-version", "GRPC")],
            ProtocolVersion::Grpc,
            "/AWS.ALB/healthcheck",
            "12",
        ),
        (
            &[
                ("backend-protocol-version", "GRPC"),
                ("success-codes", "0-99"),
                ("healthcheck-path", "/grpc.health.v1.Health/Check"),
            ],
            &[],
            ProtocolVersion::Grpc,
            "/grpc.health.v1.Health/Check",
            "0-99",
        ),
        (
            &[("backend-protocol-version", "HTTP2"), ("success-codes", "200-299")],
            &[],
            ProtocolVersion::Http2,
            "/",
            "200-299",
        ),
    ];
    for (on_ingress, on_service, version, path, codes) in cases {
        let stack = build_with(&[&web(on_ingress)], &[service("shop", "web", on_service)], None)
            .unwrap_or_else(|e| panic!("{on_ingress:?} {on_service:?}: {e}"));
        let tg = &stack.target_groups[0];
        let group = group_of(&web(on_ingress), None).expect("a group");
        assert_eq!(tg.protocol_version, Some(version), "{on_ingress:?} {on_service:?}");
        // LBC's name hash covers the version, so each version has its own target group name.
        assert_eq!(
            tg.name,
            ingress_target_group_name(CLUSTER, &web_key(&group), 30080, "instance", "HTTP", version.as_str())
        );
        assert_eq!(tg.health_check.path.as_deref(), Some(path), "{on_ingress:?}");
        assert_eq!(tg.health_check.matcher.as_deref(), Some(codes), "{on_ingress:?}");
    }
}

#[test]
fn backend_protocol_versions_and_their_success_codes_are_checked() {
    for (annotations, expected) in [
        (&[("backend-protocol-version", "HTTP3")][..], "HTTP1, HTTP2 or GRPC"),
        (&[("backend-protocol-version", "grpc")][..], "HTTP1, HTTP2 or GRPC"),
        // gRPC status codes are 0 to 99; HTTP codes mean nothing to a gRPC health check.
        (&[("backend-protocol-version", "GRPC"), ("success-codes", "200")][..], "gRPC codes from 0 to 99"),
        (&[("backend-protocol-version", "GRPC"), ("success-codes", "0-100")][..], "gRPC codes from 0 to 99"),
        (&[("backend-protocol-version", "HTTP2"), ("success-codes", "12")][..], "codes like 200"),
    ] {
        let message = error(&[&web(annotations)]);
        assert!(message.contains("has an invalid value") && message.contains(expected), "{annotations:?}: {message}");
    }
}
