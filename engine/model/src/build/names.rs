//! Deterministic names, identical to the AWS Load Balancer Controller's so that a load balancer is
//! found again after a restart and a migration keeps its names: `k8s-<ns>-<name>-<hash>`, where
//! namespace and name lose every non-alphanumeric character and keep their first 8 characters, and
//! the hash is the first 10 hex digits of SHA-256 over the plain concatenation of the inputs.

use sha2::{Digest, Sha256};

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

fn hashed_name(namespace: &str, name: &str, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
    }
    let digest = hex::encode(hash.finalize());
    format!("k8s-{}-{}-{}", short(namespace), short(name), &digest[..10])
}

fn short(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).take(8).collect()
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
