//! The fixed addresses of a Service's network load balancer: the AWS Load Balancer Controller's
//! `eip-allocations` (internet-facing), `private-ipv4-addresses` (internal) and `ipv6-addresses`
//! (dualstack) annotations, read and checked against the scheme and IP address type with the other
//! annotations, then paired with the load balancer's subnets once those are resolved.
//!
//! Each list names one address per subnet, as LBC requires. Elastic IPs go to the subnets in the
//! order of their ids (the order LBC pairs them in); a private or IPv6 address goes to the subnet
//! whose CIDR block holds it, so exactly one address must lie in each subnet.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sha2::{Digest, Sha256};

use crate::annotations::Annotations;
use crate::error::BuildError;
use elbow_model::inventory::{CloudInventory, Subnet, cidr_contains};
use elbow_model::stack::{IpAddressType, Scheme, SubnetAddresses};

pub(super) const EIP_ALLOCATIONS: &str = "aws-load-balancer-eip-allocations";
pub(super) const PRIVATE_IPV4_ADDRESSES: &str = "aws-load-balancer-private-ipv4-addresses";
pub(super) const IPV6_ADDRESSES: &str = "aws-load-balancer-ipv6-addresses";

/// What the three annotations ask for, each checked on its own.
#[derive(Debug, Default)]
pub(super) struct StaticAddresses {
    allocations: Option<Vec<String>>,
    ipv4: Option<Vec<Ipv4Addr>>,
    ipv6: Option<Vec<Ipv6Addr>>,
}

impl StaticAddresses {
    pub fn read(a: &Annotations<'_>, scheme: Scheme, ip_address_type: IpAddressType) -> Result<Self, BuildError> {
        let allocations = match a.list(EIP_ALLOCATIONS) {
            None => None,
            Some(ids) => {
                let value = a.get(EIP_ALLOCATIONS).unwrap_or_default();
                if scheme != Scheme::InternetFacing {
                    return Err(a.invalid(
                        EIP_ALLOCATIONS,
                        value,
                        "Elastic IPs are for internet-facing load balancers only, and this one is internal; set aws-load-balancer-scheme: internet-facing, or remove the annotation",
                    ));
                }
                if let Some(bad) = ids.iter().find(|id| !id.starts_with("eipalloc-")) {
                    return Err(a.invalid(
                        EIP_ALLOCATIONS,
                        value,
                        &format!("comma-separated Elastic IP allocation ids like eipalloc-0123456789abcdef0; {bad:?} is not one"),
                    ));
                }
                if let Some(twice) = first_repeated(&ids) {
                    return Err(a.invalid(
                        EIP_ALLOCATIONS,
                        value,
                        &format!("one Elastic IP per subnet; {twice} is listed twice"),
                    ));
                }
                Some(ids)
            }
        };
        let ipv4 = match a.list(PRIVATE_IPV4_ADDRESSES) {
            None => None,
            Some(items) => {
                let value = a.get(PRIVATE_IPV4_ADDRESSES).unwrap_or_default();
                if scheme != Scheme::Internal {
                    return Err(a.invalid(
                        PRIVATE_IPV4_ADDRESSES,
                        value,
                        "private IPv4 addresses are for internal load balancers only, and this one is internet-facing; set aws-load-balancer-scheme: internal, or remove the annotation",
                    ));
                }
                Some(parse_all(a, PRIVATE_IPV4_ADDRESSES, value, &items, "IPv4 addresses like 10.0.1.10")?)
            }
        };
        let ipv6 = match a.list(IPV6_ADDRESSES) {
            None => None,
            Some(items) => {
                let value = a.get(IPV6_ADDRESSES).unwrap_or_default();
                if ip_address_type != IpAddressType::Dualstack {
                    return Err(a.invalid(
                        IPV6_ADDRESSES,
                        value,
                        "IPv6 addresses are for dualstack load balancers only; set aws-load-balancer-ip-address-type: dualstack, or remove the annotation",
                    ));
                }
                Some(parse_all(a, IPV6_ADDRESSES, value, &items, "IPv6 addresses like 2600:1f18::10")?)
            }
        };
        Ok(Self { allocations, ipv4, ipv6 })
    }

    /// The addresses of each of `subnets` (the load balancer's, sorted by id), or none when no
    /// annotation asks for any.
    pub fn per_subnet(
        &self,
        a: &Annotations<'_>,
        subnets: &[String],
        inventory: &CloudInventory,
    ) -> Result<Vec<SubnetAddresses>, BuildError> {
        if self.allocations.is_none() && self.ipv4.is_none() && self.ipv6.is_none() {
            return Ok(Vec::new());
        }
        let wrong_count = |suffix: &str, what: &str, given: usize| {
            let annotation = a.name(suffix);
            let reason = format!(
                "names {given} {what} for {} subnets ({}); it takes exactly one per subnet",
                subnets.len(),
                subnets.join(", ")
            );
            Err(BuildError::SubnetAddresses { annotation, reason })
        };
        if let Some(ids) = &self.allocations
            && ids.len() != subnets.len()
        {
            return wrong_count(EIP_ALLOCATIONS, "Elastic IPs", ids.len());
        }
        if let Some(ips) = &self.ipv4
            && ips.len() != subnets.len()
        {
            return wrong_count(PRIVATE_IPV4_ADDRESSES, "addresses", ips.len());
        }
        if let Some(ips) = &self.ipv6
            && ips.len() != subnets.len()
        {
            return wrong_count(IPV6_ADDRESSES, "addresses", ips.len());
        }
        let mut mappings = Vec::with_capacity(subnets.len());
        for (index, id) in subnets.iter().enumerate() {
            let subnet =
                inventory.subnets.iter().find(|s| &s.id == id).ok_or_else(|| BuildError::UnknownSubnet(id.clone()))?;
            let private_ipv4_address = match &self.ipv4 {
                None => None,
                Some(ips) => {
                    let blocks = std::slice::from_ref(&subnet.cidr_block);
                    Some(one_inside(a, PRIVATE_IPV4_ADDRESSES, subnet, blocks, ips)?)
                }
            };
            let ipv6_address = match &self.ipv6 {
                None => None,
                Some(_) if subnet.ipv6_cidr_blocks.is_empty() => {
                    return Err(BuildError::SubnetAddresses {
                        annotation: a.name(IPV6_ADDRESSES),
                        reason: format!("needs an IPv6 address in subnet {}, which has no IPv6 CIDR block", subnet.id),
                    });
                }
                Some(ips) => Some(one_inside(a, IPV6_ADDRESSES, subnet, &subnet.ipv6_cidr_blocks, ips)?),
            };
            mappings.push(SubnetAddresses {
                subnet: id.clone(),
                allocation_id: self.allocations.as_ref().map(|ids| ids[index].clone()),
                private_ipv4_address,
                ipv6_address,
            });
        }
        Ok(mappings)
    }
}

/// The value of the `elbow.dev/subnet-addresses` tag: a digest of the addresses asked for, so
/// that a changed list is seen even where DescribeLoadBalancers does not tell which address was
/// asked for; none without fixed addresses.
pub(super) fn record(addresses: &[SubnetAddresses]) -> Option<String> {
    if addresses.is_empty() {
        return None;
    }
    let mut hash = Sha256::new();
    for entry in addresses {
        let fields = [
            Some(&entry.subnet),
            entry.allocation_id.as_ref(),
            entry.private_ipv4_address.as_ref(),
            entry.ipv6_address.as_ref(),
        ];
        for field in fields {
            hash.update(field.map(String::as_str).unwrap_or_default());
            hash.update([0]);
        }
    }
    Some(hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect())
}

fn first_repeated(items: &[String]) -> Option<&str> {
    let mut seen = BTreeSet::new();
    items.iter().find(|item| !seen.insert(item.as_str())).map(String::as_str)
}

fn parse_all<T: std::str::FromStr + Ord + Copy + std::fmt::Display>(
    a: &Annotations<'_>,
    suffix: &str,
    value: &str,
    items: &[String],
    what: &str,
) -> Result<Vec<T>, BuildError> {
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        let address = item
            .parse::<T>()
            .map_err(|_| a.invalid(suffix, value, &format!("comma-separated {what}; {item:?} is not one")))?;
        if parsed.contains(&address) {
            return Err(a.invalid(suffix, value, &format!("one address per subnet; {address} is listed twice")));
        }
        parsed.push(address);
    }
    Ok(parsed)
}

/// The one address of `candidates` inside `blocks` (a subnet's CIDR blocks), as text.
fn one_inside<T: Copy + Into<IpAddr> + std::fmt::Display>(
    a: &Annotations<'_>,
    suffix: &str,
    subnet: &Subnet,
    blocks: &[String],
    candidates: &[T],
) -> Result<String, BuildError> {
    let inside: Vec<String> = candidates
        .iter()
        .filter(|ip| blocks.iter().any(|block| cidr_contains(block, (**ip).into())))
        .map(ToString::to_string)
        .collect();
    match inside.as_slice() {
        [one] => Ok(one.clone()),
        found => {
            let held = match found {
                [] => "none of them".to_string(),
                many => format!("{} of them ({})", many.len(), many.join(", ")),
            };
            Err(BuildError::SubnetAddresses {
                annotation: a.name(suffix),
                reason: format!(
                    "needs exactly one address inside each subnet's CIDR block; subnet {} ({}) holds {held}",
                    subnet.id,
                    blocks.join(", ")
                ),
            })
        }
    }
}
