//! Pod addresses, given as the AWS VPC CNI gives them: from the subnet of the pod's node (here the
//! private subnet of the node's zone), each address to one pod at a time, never one AWS reserves
//! (the network address, the next three, and the broadcast address) nor one a node holds.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

/// The subnet pods of one zone's nodes get addresses from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSubnet {
    pub zone: String,
    /// An IPv4 CIDR block, `10.0.100.0/24`.
    pub cidr: String,
}

/// The addresses handed out in every subnet, by pod uid.
#[derive(Debug, Default)]
pub struct Addresses {
    by_subnet: BTreeMap<String, BTreeMap<u32, String>>,
}

impl Addresses {
    /// The address of pod `uid` in `cidr`: the one it already has, else the lowest free one.
    /// `reserved` are addresses held outside (the nodes'); `None` when the subnet is full or the
    /// block does not parse.
    pub fn allocate(&mut self, cidr: &str, uid: &str, reserved: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
        let (network, size) = parse(cidr)?;
        let held = self.by_subnet.entry(cidr.to_string()).or_default();
        if let Some((address, _)) = held.iter().find(|(_, owner)| owner.as_str() == uid) {
            return Some(Ipv4Addr::from(*address));
        }
        // AWS keeps the first four addresses of a subnet and its last.
        let free = (network + 4..network + size - 1)
            .find(|a| !held.contains_key(a) && !reserved.contains(&Ipv4Addr::from(*a)))?;
        held.insert(free, uid.to_string());
        Some(Ipv4Addr::from(free))
    }

    /// Records that pod `uid` holds `address` (a pod that had one before this process saw it).
    pub fn claim(&mut self, cidr: &str, uid: &str, address: Ipv4Addr) {
        if contains(cidr, address) {
            self.by_subnet.entry(cidr.to_string()).or_default().entry(u32::from(address)).or_insert(uid.to_string());
        }
    }

    pub fn release(&mut self, uid: &str) {
        for held in self.by_subnet.values_mut() {
            held.retain(|_, owner| owner != uid);
        }
    }

    /// Gives back the addresses of pods that are gone (deleted without this kubelet's knowledge,
    /// as `kubectl delete --force` does).
    pub fn keep_only(&mut self, live: &HashSet<String>) {
        for held in self.by_subnet.values_mut() {
            held.retain(|_, owner| live.contains(owner));
        }
    }
}

/// The network address and the number of addresses of an IPv4 CIDR block.
fn parse(cidr: &str) -> Option<(u32, u32)> {
    let (base, prefix) = cidr.split_once('/')?;
    let base: Ipv4Addr = base.parse().ok()?;
    let prefix: u32 = prefix.parse().ok().filter(|p| (16..=28).contains(p))?;
    let size = 1u32 << (32 - prefix);
    Some((u32::from(base) & !(size - 1), size))
}

/// Whether `address` is inside `cidr`.
pub fn contains(cidr: &str, address: Ipv4Addr) -> bool {
    parse(cidr).is_some_and(|(network, size)| (network..network + size).contains(&u32::from(address)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_unique_skip_what_aws_and_nodes_hold_and_come_back() {
        let mut addresses = Addresses::default();
        let nodes = HashSet::from([Ipv4Addr::new(10, 0, 100, 5)]);
        let a = addresses.allocate("10.0.100.0/24", "a", &nodes).unwrap();
        let b = addresses.allocate("10.0.100.0/24", "b", &nodes).unwrap();
        assert_eq!((a, b), (Ipv4Addr::new(10, 0, 100, 4), Ipv4Addr::new(10, 0, 100, 6)), "the node's .5 is skipped");
        assert_eq!(addresses.allocate("10.0.100.0/24", "a", &nodes), Some(a), "a pod keeps its address");
        let other = addresses.allocate("10.0.101.0/24", "c", &nodes).unwrap();
        assert_eq!(other, Ipv4Addr::new(10, 0, 101, 4), "subnets are apart");
        addresses.release("a");
        assert_eq!(addresses.allocate("10.0.100.0/24", "d", &nodes), Some(a));
        addresses.keep_only(&HashSet::from(["d".to_string()]));
        assert_eq!(addresses.allocate("10.0.100.0/24", "e", &nodes), Some(b), "b's pod is gone");
        assert!(contains("10.0.100.0/24", b) && !contains("10.0.100.0/24", other));
    }

    #[test]
    fn a_full_subnet_gives_no_address() {
        let mut addresses = Addresses::default();
        let none = HashSet::new();
        // A /28 holds 16 addresses, of which AWS keeps 5.
        let given: Vec<_> = (0..12).map(|i| addresses.allocate("10.0.0.16/28", &i.to_string(), &none)).collect();
        assert_eq!(given.iter().flatten().count(), 11);
        assert_eq!(given[0], Some(Ipv4Addr::new(10, 0, 0, 20)));
        assert_eq!(given[10], Some(Ipv4Addr::new(10, 0, 0, 30)));
        assert!(given[11].is_none());
    }
}
