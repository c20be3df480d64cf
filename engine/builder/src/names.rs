//! Deterministic names, identical to the AWS Load Balancer Controller's so that a load balancer is
//! found again after a restart and a migration keeps its names: `k8s-<ns>-<name>-<hash>`, where
//! namespace and name lose every non-alphanumeric character and keep their first 8 characters, and
//! the hash is the first 10 hex digits of SHA-256 over the plain concatenation of the inputs.
//! An explicit Ingress group has no namespace: `k8s-<group>-<hash>`, the group name cut to 17.

use sha2::{Digest, Sha256};

use crate::ingress::GroupId;

/// The name of a Service's network load balancer.
pub fn load_balancer_name(cluster: &str, namespace: &str, name: &str, uid: &str, scheme: &str) -> String {
    hashed_name(namespace, name, &[cluster, uid, scheme])
}

/// The name of a Service port's target group.
#[allow(clippy::too_many_arguments)] // each input is one field of LBC's hash, in its order
pub fn target_group_name(
    cluster: &str,
    namespace: &str,
    name: &str,
    uid: &str,
    target_group_port: u16,
    service_port: &str,
    target_type: &str,
    protocol: &str,
    health_check_protocol: &str,
    health_check_interval: u32,
) -> String {
    let tg_port = target_group_port.to_string();
    let interval = health_check_interval.to_string();
    hashed_name(
        namespace,
        name,
        &[cluster, uid, &tg_port, service_port, target_type, protocol, health_check_protocol, &interval],
    )
}

/// The name of a Service's managed frontend security group.
pub fn frontend_group_name(cluster: &str, namespace: &str, name: &str, uid: &str) -> String {
    hashed_name(namespace, name, &[cluster, uid, "frontend"])
}

/// The name of an Ingress group's application load balancer. LBC hashes the group's id as it
/// writes it (`name` for an explicit group, `namespace/name` for an Ingress on its own).
pub fn group_load_balancer_name(cluster: &str, group: &GroupId, scheme: &str) -> String {
    group_hashed_name(group, &[cluster, &group.to_string(), scheme])
}

/// The name of an Ingress group's managed frontend security group.
pub fn group_frontend_group_name(cluster: &str, group: &GroupId) -> String {
    group_hashed_name(group, &[cluster, &group.to_string()])
}

/// Where an Ingress group's target group comes from: one per Ingress, Service and Service port,
/// as LBC makes them.
pub struct IngressTargetGroupKey<'a> {
    pub group: &'a GroupId,
    pub ingress_namespace: &'a str,
    pub ingress_name: &'a str,
    pub service_namespace: &'a str,
    pub service_name: &'a str,
    pub service_uid: &'a str,
    /// The backend's port as the Ingress writes it: a number or a port name.
    pub service_port: &'a str,
}

/// The name of an Ingress backend's target group: named after the Service, hashed over the
/// group, the Ingress, the Service and the target group's shape (LBC's order).
pub fn ingress_target_group_name(
    cluster: &str,
    key: &IngressTargetGroupKey<'_>,
    target_group_port: u16,
    target_type: &str,
    protocol: &str,
    protocol_version: &str,
) -> String {
    let group = key.group.to_string();
    let port = target_group_port.to_string();
    hashed_name(
        key.service_namespace,
        key.service_name,
        &[
            cluster,
            &group,
            key.ingress_namespace,
            key.ingress_name,
            key.service_uid,
            key.service_port,
            &port,
            target_type,
            protocol,
            protocol_version,
        ],
    )
}

fn hashed_name(namespace: &str, name: &str, parts: &[&str]) -> String {
    format!("k8s-{}-{}-{}", short(namespace, 8), short(name, 8), digest(parts))
}

/// An explicit group has no namespace: its name keeps up to 17 characters, which fills the same
/// 32 as `<ns 8>-<name 8>`.
fn group_hashed_name(group: &GroupId, parts: &[&str]) -> String {
    match group {
        GroupId::Explicit(name) => format!("k8s-{}-{}", short(name, 17), digest(parts)),
        GroupId::Implicit { namespace, name } => hashed_name(namespace, name, parts),
    }
}

fn digest(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())[..10].to_string()
}

fn short(text: &str, length: usize) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).take(length).collect()
}

/// ELBv2's rules for load balancer and target group names.
pub fn is_valid_elb_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with("internal-")
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "bdca2bd0-bfc6-449a-88a3-03451f05f18c";

    /// The AWS Load Balancer Controller's own test fixture.
    #[test]
    fn load_balancer_names_equal_the_aws_load_balancer_controllers() {
        assert_eq!(
            load_balancer_name("my-cluster", "default", "nlb-ip-svc-tls", UID, "internal"),
            "k8s-default-nlbipsvc-6b0ba8ff70"
        );
    }

    /// The AWS Load Balancer Controller's model-builder fixtures (cluster `my-cluster`): the hash
    /// takes the target group port (the NodePort in instance mode, the targetPort in IP mode) and,
    /// separately, the Service port; `83` -> `8883` tells the two apart.
    #[test]
    fn target_group_names_equal_the_aws_load_balancer_controllers() {
        const IP_UID: &str = "7ab4be33-11c2-4a7b-b655-7add8affab36";
        const INSTANCE_UID: &str = "2dc098f0-ae33-4378-af7b-83e2a0424495";
        #[rustfmt::skip]
        let cases = [
            // namespace, name, uid, tg port, service port, target type, hc protocol, expected
            ("default", "nlb-ip-svc-tls", UID, 80, "80", "ip", "TCP", "k8s-default-nlbipsvc-d4818dcd51"),
            ("default", "nlb-ip-svc", IP_UID, 80, "80", "ip", "HTTP", "k8s-default-nlbipsvc-62f81639fc"),
            ("default", "nlb-ip-svc", IP_UID, 80, "83", "ip", "HTTP", "k8s-default-nlbipsvc-3ede6b28b6"),
            ("default", "nlb-ip-svc-tls", IP_UID, 8883, "83", "ip", "HTTP", "k8s-default-nlbipsvc-77ea0c7734"),
            ("default", "instance-mode", INSTANCE_UID, 31223, "80", "instance", "TCP", "k8s-default-instance-0c68c79423"),
            ("default", "instance-mode", INSTANCE_UID, 32323, "83", "instance", "TCP", "k8s-default-instance-c200165858"),
            ("app", "traffic-local", INSTANCE_UID, 31223, "80", "instance", "HTTP", "k8s-app-trafficl-d2b8571b2f"),
            ("app", "traffic-local", INSTANCE_UID, 32323, "83", "instance", "HTTP", "k8s-app-trafficl-4be0ac1fb8"),
        ];
        for (namespace, name, uid, tg_port, service_port, target_type, hc_protocol, expected) in cases {
            let actual = target_group_name(
                "my-cluster",
                namespace,
                name,
                uid,
                tg_port,
                service_port,
                target_type,
                "TCP",
                hc_protocol,
                10,
            );
            assert_eq!(actual, expected, "{namespace}/{name} port {service_port}");
        }
    }

    #[test]
    fn load_balancer_names_of_more_fixtures() {
        const IP_UID: &str = "7ab4be33-11c2-4a7b-b655-7add8affab36";
        const INSTANCE_UID: &str = "2dc098f0-ae33-4378-af7b-83e2a0424495";
        let cases = [
            ("default", "nlb-ip-svc-tls", IP_UID, "internet-facing", "k8s-default-nlbipsvc-33e41aa671"),
            ("default", "instance-mode", INSTANCE_UID, "internal", "k8s-default-instance-7ca1de7e6c"),
            ("app", "traffic-local", INSTANCE_UID, "internet-facing", "k8s-app-trafficl-2af705447d"),
        ];
        for (namespace, name, uid, scheme, expected) in cases {
            assert_eq!(load_balancer_name("my-cluster", namespace, name, uid, scheme), expected);
        }
    }

    /// LBC's own fixtures: its load balancer name tests run without a cluster name; its model
    /// builder test uses cluster `cluster-dummy` and a Service without a UID.
    #[test]
    fn ingress_group_names_equal_the_aws_load_balancer_controllers() {
        let implicit = GroupId::Implicit { namespace: "awesome-ns".into(), name: "ing-1".into() };
        assert_eq!(group_load_balancer_name("", &implicit, "internet-facing"), "k8s-awesomen-ing1-43b698093c");
        let explicit = GroupId::Explicit("explicit-group".into());
        assert_eq!(group_load_balancer_name("", &explicit, "internal"), "k8s-explicitgroup-5bf9e53c23");

        let group = GroupId::Implicit { namespace: "ns-1".into(), name: "ing-1".into() };
        assert_eq!(group_load_balancer_name("cluster-dummy", &group, "internal"), "k8s-ns1-ing1-b7e914000d");
        assert_eq!(group_frontend_group_name("cluster-dummy", &group), "k8s-ns1-ing1-bd83176788");
        let key = |service_name, service_port| IngressTargetGroupKey {
            group: &group,
            ingress_namespace: "ns-1",
            ingress_name: "ing-1",
            service_namespace: "ns-1",
            service_name,
            service_uid: "",
            service_port,
        };
        let instance =
            ingress_target_group_name("cluster-dummy", &key("svc-1", "http"), 32768, "instance", "HTTP", "HTTP1");
        assert_eq!(instance, "k8s-ns1-svc1-9889425938");
        let ip = ingress_target_group_name("cluster-dummy", &key("svc-3", "https"), 8443, "ip", "HTTPS", "HTTP1");
        assert_eq!(ip, "k8s-ns1-svc3-bf42870fba");
    }

    #[test]
    fn explicit_group_names_keep_17_characters_and_fit_elbv2_limits() {
        let group = GroupId::Explicit("a.very-long.group-name-that-goes-on".into());
        let name = group_load_balancer_name("c", &group, "internal");
        assert!(name.starts_with("k8s-averylonggroupnam-"), "{name}");
        assert_eq!(name.len(), 32);
        assert!(is_valid_elb_name(&name), "{name}");
    }

    #[test]
    fn names_fit_elbv2_limits_whatever_the_input() {
        let name =
            load_balancer_name("c", "a-very-long-namespace.x", "svc_with.odd-chars-and-length", UID, "internet-facing");
        assert!(name.starts_with("k8s-averylon-svcwitho-"), "{name}");
        assert!(is_valid_elb_name(&name), "{name}");
        assert!(name.len() <= 32);
    }

    #[test]
    fn elb_name_rules() {
        for good in ["a", "k8s-default-web-0123456789", &"x".repeat(32)] {
            assert!(is_valid_elb_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", "internal-a", "a_b", &"x".repeat(33)] {
            assert!(!is_valid_elb_name(bad), "{bad}");
        }
    }
}
