//! What the builders need to know about the cluster's network: its VPC, subnets, instances and
//! security groups. Read from EC2 by the controllers, from a YAML file by `elbow plan`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::tags::Tags;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudInventory {
    pub vpc_id: String,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    #[serde(default)]
    pub instances: Vec<Instance>,
    #[serde(default)]
    pub security_groups: Vec<SecurityGroup>,
    /// Issued ACM certificates, for Ingresses that name none (certificate discovery). The
    /// controllers read them from ACM when an Ingress needs them; `elbow plan` from its file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<AcmCertificate>,
}

/// An issued ACM certificate and the names it is for (its subject alternative names, the domain
/// name among them), `*.example.com` standing for any one label under `example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcmCertificate {
    pub arn: String,
    pub domains: Vec<String>,
}

impl AcmCertificate {
    /// Whether the certificate serves `host`: a name equal to it, or a wildcard name
    /// (`*.example.com`) whose parent is the host's parent, so that the wildcard stands for
    /// exactly one label (`a.example.com`, not `a.b.example.com` nor `example.com`), as TLS
    /// clients match them. Names compare without regard to case, as DNS names do.
    pub fn serves(&self, host: &str) -> bool {
        self.domains.iter().any(|domain| domain_matches(domain, host))
    }
}

fn domain_matches(domain: &str, host: &str) -> bool {
    match domain.strip_prefix("*.") {
        Some(parent) => {
            host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(parent))
        }
        None => domain.eq_ignore_ascii_case(host),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    pub id: String,
    pub availability_zone: String,
    pub cidr_block: String,
    /// The subnet's IPv6 blocks (associated ones only); none in an IPv4-only subnet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6_cidr_blocks: Vec<String>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: String,
    #[serde(default)]
    pub availability_zone: String,
    /// Ids of the security groups attached to the instance's primary interface.
    #[serde(default)]
    pub security_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    pub id: String,
    #[serde(default)]
    pub group_name: String,
    #[serde(default)]
    pub tags: Tags,
}

/// Whether `block` (`10.0.1.0/24`, `2600:1f18::/64`) holds `ip`; a malformed block holds nothing.
pub fn cidr_contains(block: &str, ip: IpAddr) -> bool {
    let Some((base, bits)) = block.split_once('/') else { return false };
    let (Ok(base), Ok(bits)) = (base.parse::<IpAddr>(), bits.parse::<u32>()) else { return false };
    match (base, ip) {
        (IpAddr::V4(base), IpAddr::V4(ip)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(base) & mask
        }
        (IpAddr::V6(base), IpAddr::V6(ip)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(base) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_serve_their_names_and_one_label_under_a_wildcard() {
        let certificate = |domains: &[&str]| AcmCertificate {
            arn: "arn:aws:acm:us-east-1:111122223333:certificate/x".into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
        };
        for (domains, host, serves) in [
            (&["example.com"][..], "example.com", true),
            (&["example.com"], "www.example.com", false),
            (&["Shop.Example.com"], "shop.example.com", true),
            (&["*.example.com"], "a.example.com", true),
            (&["*.example.com"], "a.b.example.com", false),
            (&["*.example.com"], "example.com", false),
            (&["*.example.com"], ".example.com", false),
            (&["*.example.com"], "a.example.org", false),
            (&["*.example.com", "example.com"], "example.com", true),
            (&["*.b.example.com"], "a.b.example.com", true),
            (&[], "example.com", false),
        ] {
            assert_eq!(certificate(domains).serves(host), serves, "{domains:?} for {host}");
        }
    }

    #[test]
    fn cidr_blocks_hold_the_addresses_of_their_family_only() {
        for (block, ip, holds) in [
            ("10.0.1.0/24", "10.0.1.200", true),
            ("10.0.1.0/24", "10.0.2.1", false),
            ("10.0.0.0/16", "10.0.255.255", true),
            ("0.0.0.0/0", "192.168.1.1", true),
            ("10.0.1.5/32", "10.0.1.5", true),
            ("2600:1f18:1::/64", "2600:1f18:1::10", true),
            ("2600:1f18:1::/64", "2600:1f18:2::10", false),
            ("10.0.1.0/24", "::ffff:10.0.1.1", false),
            ("not-a-cidr", "10.0.1.1", false),
        ] {
            assert_eq!(cidr_contains(block, ip.parse().expect("ip")), holds, "{block} {ip}");
        }
    }
}
