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

    /// Same fixture: port 80, IP targets, TCP, TCP health check every 10 s.
    #[test]
    fn target_group_names_equal_the_aws_load_balancer_controllers() {
        assert_eq!(
            target_group_name("my-cluster", "default", "nlb-ip-svc-tls", UID, 80, "80", "ip", "TCP", "TCP", 10),
            "k8s-default-nlbipsvc-d4818dcd51"
        );
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
