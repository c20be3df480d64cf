//! TLS of an Ingress group's listeners: certificates discovered from ACM for the hosts of members
//! that name none, and `mutual-authentication`.

use k8s_openapi::api::networking::v1::IngressTLS;

use super::*;
use elbow_model::{AcmCertificate, MutualAuthentication, MutualTlsMode};

const HTTPS: &str = r#"[{"HTTPS": 443}]"#;

fn acm() -> Vec<AcmCertificate> {
    let certificate = |id: &str, domains: &[&str]| AcmCertificate {
        arn: format!("arn:aws:acm:us-east-1:111122223333:certificate/{id}"),
        domains: domains.iter().map(|d| d.to_string()).collect(),
    };
    vec![
        certificate("c-wild", &["*.example.com", "example.com"]),
        certificate("a-shop", &["shop.example.com"]),
        certificate("b-api", &["api.example.org", "*.api.example.org"]),
    ]
}

fn arn(id: &str) -> String {
    format!("arn:aws:acm:us-east-1:111122223333:certificate/{id}")
}

/// `shop/web` with rules for `hosts` and TLS entries for `tls_hosts`.
fn web_for(annotations: &[(&str, &str)], hosts: &[&str], tls_hosts: &[&str]) -> Ingress {
    let rules = hosts.iter().map(|h| rule(Some(h), vec![path("/", "Prefix", "web", "http")])).collect();
    let mut ingress = ingress("shop", "web", annotations, rules);
    if !tls_hosts.is_empty() {
        let spec = ingress.spec.as_mut().expect("a spec");
        spec.tls = Some(vec![IngressTLS {
            hosts: Some(tls_hosts.iter().map(|h| h.to_string()).collect()),
            secret_name: None,
        }]);
    }
    ingress
}

fn build_tls(
    members: &[&Ingress],
    certificates: &[AcmCertificate],
    params: Option<&IngressClassParamsSpec>,
) -> Result<Stack, BuildError> {
    let group = group_of(members[0], params).expect("a valid group");
    let (nodes, inventory, config) = (nodes(), inventory(), config());
    let services = services();
    let input = IngressGroupInput {
        group: &group,
        members: members.to_vec(),
        services: &services,
        secrets: &[],
        nodes: &borrowed(&nodes),
        endpoint_slices: &[],
        pods: &crate::endpoints::NoPodFacts,
        inventory: &inventory,
        certificates,
        params,
        config: &config,
    };
    build_ingress_stack(&input)
}

#[test]
fn certificates_are_discovered_for_the_hosts_of_rules_and_tls_entries() {
    for (hosts, tls_hosts, expected) in [
        // An exact name; a wildcard for one label; both when both match (sorted by ARN).
        (&["api.example.org"][..], &[][..], vec![arn("b-api")]),
        (&["www.example.com"], &[], vec![arn("c-wild")]),
        (&["shop.example.com"], &[], vec![arn("a-shop"), arn("c-wild")]),
        (&["example.com"], &[], vec![arn("c-wild")]),
        // TLS hosts count as rule hosts do, once each.
        (&[], &["v1.api.example.org"], vec![arn("b-api")]),
        (&["www.example.com"], &["www.example.com", "api.example.org"], vec![arn("b-api"), arn("c-wild")]),
    ] {
        let member = web_for(&[("listen-ports", HTTPS)], hosts, tls_hosts);
        assert!(discovers_certificates(&[&member], None), "{hosts:?} {tls_hosts:?}");
        let stack = build_tls(&[&member], &acm(), None).unwrap_or_else(|e| panic!("{hosts:?} {tls_hosts:?}: {e}"));
        assert_eq!(listener(&stack, 443).certificates, expected, "{hosts:?} {tls_hosts:?}");
    }
}

#[test]
fn a_host_no_certificate_serves_is_an_error_naming_it_and_the_ingress() {
    for (hosts, missing) in [
        // A wildcard stands for exactly one label.
        (&["a.b.example.com"][..], "a.b.example.com"),
        (&["www.example.com", "shop.example.net"], "shop.example.net"),
        (&["api.example.org", "deep.v1.api.example.org"], "deep.v1.api.example.org"),
    ] {
        let member = web_for(&[("listen-ports", HTTPS)], hosts, &[]);
        let error = build_tls(&[&member], &acm(), None).expect_err("no certificate").to_string();
        assert!(error.contains("shop/web") && error.contains(&format!("host {missing:?}")), "{error}");
        assert!(error.contains("certificate-arn"), "says what to do: {error}");
    }
    // No certificate at all in the region: the same error.
    let member = web_for(&[("listen-ports", HTTPS)], &["www.example.com"], &[]);
    let error = build_tls(&[&member], &[], None).expect_err("none").to_string();
    assert!(error.contains(r#"host "www.example.com""#), "{error}");
}

#[test]
fn named_certificates_and_plain_http_need_no_discovery() {
    let named = web_for(&[("listen-ports", HTTPS), ("certificate-arn", "arn:named")], &["www.example.com"], &[]);
    let plain = web_for(&[], &["www.example.com"], &["www.example.com"]);
    let http = web_for(&[("listen-ports", r#"[{"HTTP": 80}]"#)], &["www.example.com"], &[]);
    for member in [&named, &plain, &http] {
        assert!(!discovers_certificates(&[member], None));
    }
    // The named certificate is used, whatever ACM holds.
    let stack = build_tls(&[&named], &acm(), None).expect("builds");
    assert_eq!(listener(&stack, 443).certificates, ["arn:named"]);
    // Without listen-ports and certificates, the default stays HTTP 80, as in LBC, tls or not.
    let stack = build_tls(&[&plain], &acm(), None).expect("builds");
    assert_eq!(stack.listeners.iter().map(|l| (l.port, l.protocol)).collect::<Vec<_>>(), [(80, Protocol::Http)]);
    // The IngressClassParams certificate counts as named.
    let params = IngressClassParamsSpec { certificate_arn: Some(strings(&["arn:params"])), ..Default::default() };
    let bare = web_for(&[("listen-ports", HTTPS)], &["www.example.com"], &[]);
    assert!(!discovers_certificates(&[&bare], Some(&params)));
    assert_eq!(listener(&build_tls(&[&bare], &[], Some(&params)).expect("builds"), 443).certificates, ["arn:params"]);
}

#[test]
fn group_members_discover_their_own_hosts_and_the_certificates_add_up() {
    let group = |name: &str, extra: &[(&str, &str)], host: &str| {
        let mut annotations = vec![("group.name", "shared"), ("listen-ports", HTTPS)];
        annotations.extend_from_slice(extra);
        ingress("shop", name, &annotations, vec![rule(Some(host), vec![path("/", "Prefix", "web", "http")])])
    };
    let discovering = group("a", &[], "api.example.org");
    let naming = group("b", &[("certificate-arn", "arn:named")], "unknown.example.net");
    assert!(discovers_certificates(&[&discovering, &naming], None));
    let stack = build_tls(&[&discovering, &naming], &acm(), None).expect("builds");
    assert_eq!(listener(&stack, 443).certificates, [arn("b-api"), "arn:named".to_string()]);
}

fn mutual(annotation: &str) -> Result<Option<MutualAuthentication>, String> {
    let member = web(&[
        ("listen-ports", r#"[{"HTTP": 80}, {"HTTPS": 443}]"#),
        ("certificate-arn", "arn:c"),
        ("mutual-authentication", annotation),
    ]);
    build_tls(&[&member], &[], None)
        .map(|stack| listener(&stack, 443).mutual_authentication.clone())
        .map_err(|e| e.to_string())
}

#[test]
fn mutual_authentication_is_read_as_lbc_reads_it() {
    let verify = |store: &str, ignore: bool, advertise: bool| MutualAuthentication {
        mode: MutualTlsMode::Verify,
        trust_store: Some(store.into()),
        ignore_client_certificate_expiry: ignore,
        advertise_trust_store_ca_names: advertise,
    };
    let mode = |mode| MutualAuthentication { mode, ..MutualAuthentication::off() };
    for (annotation, expected) in [
        (r#"[{"port": 443, "mode": "off"}]"#, mode(MutualTlsMode::Off)),
        (r#"[{"port": 443, "mode": "passthrough"}]"#, mode(MutualTlsMode::Passthrough)),
        (r#"[{"port": 443, "mode": "verify", "trustStore": "clients"}]"#, verify("clients", false, false)),
        (
            r#"[{"port": 443, "mode": "verify", "trustStore": "arn:aws:elasticloadbalancing:us-east-1:1:truststore/c/1", "ignoreClientCertificateExpiry": true, "advertiseTrustStoreCaNames": "on"}]"#,
            verify("arn:aws:elasticloadbalancing:us-east-1:1:truststore/c/1", true, true),
        ),
        // Keys in any case, as Go's decoder matches them; the later entry for a port wins.
        (
            r#"[{"Port": 443, "Mode": "verify", "TrustStore": "clients", "AdvertiseTrustStoreCaNames": "off"}]"#,
            verify("clients", false, false),
        ),
        (r#"[{"port": 443, "mode": "passthrough"}, {"port": 443, "mode": "off"}]"#, mode(MutualTlsMode::Off)),
    ] {
        assert_eq!(mutual(annotation), Ok(Some(expected)), "{annotation}");
    }
    let member = web(&[("listen-ports", HTTPS), ("certificate-arn", "arn:c")]);
    let stack = build_tls(&[&member], &[], None).expect("builds");
    assert_eq!(listener(&stack, 443).mutual_authentication, None, "none without the annotation");
}

#[test]
fn mutual_authentication_that_lbc_refuses_is_refused() {
    for (annotation, why) in [
        ("[]", "the list is empty"),
        ("{}", "a JSON list"),
        (r#"[{"port": 0, "mode": "off"}]"#, "port 0 is not within 1 to 65535"),
        (r#"[{"port": 443}]"#, "port 443 has no mode"),
        (r#"[{"port": 443, "mode": "strict"}]"#, r#"mode "strict" of port 443 is none of off, passthrough, verify"#),
        (r#"[{"port": 443, "mode": "verify"}]"#, "mode verify of port 443 needs a trustStore"),
        (r#"[{"port": 443, "mode": "off", "trustStore": "clients"}]"#, "mode off of port 443 takes no trustStore"),
        (
            r#"[{"port": 443, "mode": "passthrough", "ignoreClientCertificateExpiry": false}]"#,
            "mode passthrough of port 443 takes no ignoreClientCertificateExpiry",
        ),
        (
            r#"[{"port": 443, "mode": "off", "advertiseTrustStoreCaNames": "on"}]"#,
            "mode off of port 443 takes no advertiseTrustStoreCaNames",
        ),
        (
            r#"[{"port": 443, "mode": "verify", "trustStore": "c", "advertiseTrustStoreCaNames": "yes"}]"#,
            r#"advertiseTrustStoreCaNames of port 443 is "yes", not on or off"#,
        ),
        // Unlike LBC, which ignores it: a port that is not an HTTPS listen port of the Ingress.
        (r#"[{"port": 80, "mode": "passthrough"}]"#, "port 80 is not one of them (its HTTPS listen ports: 443)"),
        (r#"[{"port": 8443, "mode": "passthrough"}]"#, "port 8443 is not one of them"),
    ] {
        let error = mutual(annotation).expect_err(annotation);
        assert!(
            error.contains("alb.ingress.kubernetes.io/mutual-authentication") && error.contains(why),
            "{annotation}: {error}"
        );
    }
}

#[test]
fn members_sharing_an_https_port_must_agree_on_mutual_tls() {
    let member = |name: &str, annotation: Option<&str>| {
        let mut annotations = vec![("group.name", "shared"), ("listen-ports", HTTPS), ("certificate-arn", "arn:c")];
        annotations.extend(annotation.map(|a| ("mutual-authentication", a)));
        ingress(
            "shop",
            name,
            &annotations,
            vec![rule(Some(&format!("{name}.example.com")), vec![path("/", "Prefix", "web", "http")])],
        )
    };
    let passthrough = r#"[{"port": 443, "mode": "passthrough"}]"#;
    // A member that says nothing goes along with the one that does.
    let (a, b) = (member("a", Some(passthrough)), member("b", None));
    let stack = build_tls(&[&a, &b], &[], None).expect("builds");
    assert_eq!(listener(&stack, 443).mutual_authentication.as_ref().map(|m| m.mode), Some(MutualTlsMode::Passthrough));
    let c = member("c", Some(r#"[{"port": 443, "mode": "verify", "trustStore": "clients"}]"#));
    let error = build_tls(&[&a, &c], &[], None).expect_err("conflict").to_string();
    assert!(
        error.contains("mutual-authentication of listen port 443")
            && error.contains("shop/a")
            && error.contains("shop/c"),
        "{error}"
    );
}
