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
