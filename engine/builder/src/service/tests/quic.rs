//! `quic-enabled-ports`: UDP becomes QUIC and TCP_UDP becomes TCP_QUIC, every target carries its
//! pod's server id, and what ELBv2 refuses for QUIC is refused before the cloud is touched.

use std::collections::BTreeMap;

use super::*;
use crate::endpoints::tests::{compact, endpoint, slice};
use crate::service::build_service;

const ID_1: &str = "0x0000000000000001";

/// An ip Service without security groups serving port 443 over `protocols` (one Service port
/// each, all to target port 8080), with `annotations` on top.
fn quic_service(protocols: &[&str], annotations: &[(&str, &str)]) -> Service {
    let mut all = vec![("nlb-target-type", "ip"), ("disable-nlb-sg", "true")];
    all.extend_from_slice(annotations);
    let mut svc = service(&all);
    svc.spec.as_mut().expect("spec").ports = Some(protocols.iter().map(|p| port(443, p, Some(31443))).collect());
    svc
}

/// Builds with two ready pods on 8080, of which only `pod-10.0.1.10` has a server id.
fn build_quic(svc: &Service) -> Result<ServiceBuild, BuildError> {
    let ports: Vec<(String, i32)> =
        svc.spec.as_ref().unwrap().ports.iter().flatten().map(|p| (p.name.clone().unwrap(), 8080)).collect();
    let ports: Vec<(&str, i32)> = ports.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    let slices = [slice(
        "default",
        "nlb-ip-svc-tls",
        &ports,
        vec![endpoint("10.0.1.10", "n1", Some(true), None), endpoint("10.0.2.20", "n2", Some(true), None)],
    )];
    let compact = compact(&slices);
    let slices: Vec<&CompactSlice> = compact.iter().collect();
    let ids = BTreeMap::from([(("default".to_string(), "pod-10.0.1.10".to_string()), ID_1.to_string())]);
    build_service(svc, &borrowed(&nodes()), &slices, &ids, &inventory(), &config())
}

#[test]
fn a_listed_udp_port_is_quic_and_its_targets_carry_server_ids() {
    let plain = build_quic(&quic_service(&["UDP"], &[])).expect("built").stack;
    for (listed, protocols) in [("443", ["UDP"].as_slice()), ("p443udp", &["UDP"]), ("443", &["TCP", "UDP"])] {
        let built = build_quic(&quic_service(protocols, &[("quic-enabled-ports", listed)])).expect("built");
        let expected = if protocols.len() == 2 { Protocol::TcpQuic } else { Protocol::Quic };
        let (listener, tg) = (&built.stack.listeners[0], &built.stack.target_groups[0]);
        assert_eq!((listener.protocol, tg.protocol), (expected, expected), "{listed} {protocols:?}");
        assert_eq!(tg.targets, [Target::quic("10.0.1.10", 8080, ID_1)], "only the pod with an id");
        assert_eq!(built.pods_without_quic_server_id, BTreeSet::from(["default/pod-10.0.2.20".to_string()]));
        assert_eq!(tg.health_check.protocol, Protocol::Tcp, "QUIC cannot be health-checked: TCP, as for UDP");
        assert_ne!(tg.name, plain.target_groups[0].name, "another protocol, another target group");
        // The pods admit the load balancer's clients over UDP (and TCP for TCP_QUIC).
        let mut protocols: Vec<&str> =
            built.stack.node_security_group_rules.iter().map(|r| r.rule.ip_protocol.as_str()).collect();
        protocols.dedup();
        assert!(protocols.contains(&"udp"), "{protocols:?}");
    }
    assert!(plain.target_groups[0].targets.iter().all(|t| t.quic_server_id.is_none()), "no ids without QUIC");
    assert_eq!(plain.target_groups[0].targets.len(), 2);
}

#[test]
fn what_elbv2_refuses_for_quic_is_refused_naming_the_annotation() {
    let refused = |protocols: &[&str], annotations: &[(&str, &str)]| {
        let error = build_quic(&quic_service(protocols, annotations)).expect_err("refused").to_string();
        assert!(error.contains("aws-load-balancer-quic-enabled-ports"), "{error}");
        error
    };
    let quic = ("quic-enabled-ports", "443");
    assert!(refused(&["TCP"], &[quic]).contains("port 443 is TCP"));
    assert!(refused(&["UDP"], &[("quic-enabled-ports", "53")]).contains("has no port 53"));
    assert!(refused(&["UDP"], &[quic, ("nlb-target-type", "instance")]).contains("ip targets"));
    assert!(refused(&["UDP"], &[quic, ("disable-nlb-sg", "false")]).contains("disable-nlb-sg: \"true\""));
    assert!(refused(&["UDP"], &[quic, ("ip-address-type", "dualstack")]).contains("dualstack"));

    let mut two = quic_service(&["UDP"], &[("quic-enabled-ports", "443,444")]);
    two.spec.as_mut().unwrap().ports.as_mut().unwrap().push(port(444, "UDP", Some(31444)));
    assert!(build_quic(&two).expect_err("two").to_string().contains("one QUIC or TCP_QUIC listener"));
    let mut beside_udp = quic_service(&["UDP"], &[quic]);
    beside_udp.spec.as_mut().unwrap().ports.as_mut().unwrap().push(port(53, "UDP", Some(31053)));
    assert!(build_quic(&beside_udp).expect_err("UDP beside").to_string().contains("port 53 is UDP"));
}
