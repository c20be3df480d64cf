//! Which subnets a load balancer lives in: the ones the user named (ids or `Name` tags), or the
//! ones tagged for load balancers (`kubernetes.io/role/elb` or `kubernetes.io/role/internal-elb`,
//! as EKS documents subnet discovery): role tag with value "" or "1", not claimed by
//! another cluster only, one per availability zone (our own cluster's tag first, then the lowest
//! id), sorted by id.

use std::collections::BTreeMap;

use crate::error::BuildError;
use elbow_model::inventory::{CloudInventory, Subnet};
use elbow_model::stack::Scheme;

const CLUSTER_TAG_PREFIX: &str = "kubernetes.io/cluster/";

pub fn role_tag(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::InternetFacing => "kubernetes.io/role/elb",
        Scheme::Internal => "kubernetes.io/role/internal-elb",
    }
}

/// Whether a subnet is tagged for load balancers of `scheme`: the role tag with the value "" or
/// "1", as EKS documents it.
pub fn is_tagged_for(tags: &elbow_model::Tags, scheme: Scheme) -> bool {
    tags.get(role_tag(scheme)).is_some_and(|v| v.is_empty() || v == "1")
}

/// The named subnets (ids or `Name` tags), as ids, sorted. A load balancer takes at most one
/// subnet per availability zone: two in one zone is the user's to fix, said here rather than by a
/// failed CreateLoadBalancer later.
pub fn resolve(requested: &[String], inventory: &CloudInventory) -> Result<Vec<String>, BuildError> {
    let mut by_id: BTreeMap<&str, &Subnet> = BTreeMap::new();
    for wanted in requested {
        let found = inventory
            .subnets
            .iter()
            .find(|s| &s.id == wanted)
            .or_else(|| inventory.subnets.iter().find(|s| s.tags.get("Name") == Some(wanted)))
            .ok_or_else(|| BuildError::UnknownSubnet(wanted.clone()))?;
        by_id.insert(&found.id, found);
    }
    let mut zones: BTreeMap<&str, &str> = BTreeMap::new();
    for subnet in by_id.values() {
        if let Some(other) = zones.insert(&subnet.availability_zone, &subnet.id) {
            return Err(BuildError::SubnetsShareZone {
                zone: subnet.availability_zone.clone(),
                subnets: [other.to_string(), subnet.id.clone()],
            });
        }
    }
    Ok(by_id.into_keys().map(str::to_string).collect())
}

/// The subnets carrying, for every key of `selector`, one of its values (IngressClassParams
/// `subnets.tags`): one per zone, the lowest id, sorted by id.
pub fn select_by_tags(
    selector: &BTreeMap<String, Vec<String>>,
    inventory: &CloudInventory,
) -> Result<Vec<String>, BuildError> {
    let mut by_zone: BTreeMap<&str, &str> = BTreeMap::new();
    let matching = inventory.subnets.iter().filter(|s| {
        selector.iter().all(|(key, values)| s.tags.get(key).is_some_and(|v| values.is_empty() || values.contains(v)))
    });
    for subnet in matching {
        let current = by_zone.entry(&subnet.availability_zone).or_insert(&subnet.id);
        if subnet.id.as_str() < *current {
            *current = &subnet.id;
        }
    }
    if by_zone.is_empty() {
        let wanted: Vec<String> = selector.iter().map(|(k, v)| format!("{k} in [{}]", v.join(", "))).collect();
        return Err(BuildError::NoSubnetsMatchTags(wanted.join(", ")));
    }
    let mut ids: Vec<String> = by_zone.into_values().map(str::to_string).collect();
    ids.sort();
    Ok(ids)
}

/// The subnets tagged for `scheme`, one per zone, sorted by id.
pub fn discover(inventory: &CloudInventory, cluster: &str, scheme: Scheme) -> Result<Vec<String>, BuildError> {
    let role = role_tag(scheme);
    let own_tag = format!("{CLUSTER_TAG_PREFIX}{cluster}");
    let mut by_zone: BTreeMap<&str, &Subnet> = BTreeMap::new();
    let candidates = inventory.subnets.iter().filter(|s| {
        let role_ok = is_tagged_for(&s.tags, scheme);
        let claimed_by_others = s.tags.keys().any(|k| k.starts_with(CLUSTER_TAG_PREFIX) && *k != own_tag);
        let ours = s.tags.contains_key(&own_tag);
        role_ok && (ours || !claimed_by_others)
    });
    for subnet in candidates {
        let better = |current: &Subnet| {
            let rank = |s: &Subnet| (!s.tags.contains_key(&own_tag), s.id.clone());
            rank(subnet) < rank(current)
        };
        match by_zone.get(subnet.availability_zone.as_str()) {
            Some(current) if !better(current) => {}
            _ => {
                by_zone.insert(&subnet.availability_zone, subnet);
            }
        }
    }
    let mut ids: Vec<String> = by_zone.values().map(|s| s.id.clone()).collect();
    ids.sort();
    if ids.is_empty() {
        return Err(BuildError::NoSubnets { role_tag: role.to_string(), scheme: scheme.as_str().to_string() });
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use elbow_model::tags::Tags;

    fn subnet(id: &str, zone: &str, tags: &[(&str, &str)]) -> Subnet {
        Subnet {
            id: id.into(),
            availability_zone: zone.into(),
            cidr_block: "10.0.0.0/24".into(),
            ipv6_cidr_blocks: Vec::new(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Tags>(),
        }
    }

    fn inventory(subnets: Vec<Subnet>) -> CloudInventory {
        CloudInventory { vpc_id: "vpc-1".into(), subnets, ..Default::default() }
    }

    #[test]
    fn discovery_keeps_tagged_subnets_one_per_zone() {
        let inv = inventory(vec![
            subnet("subnet-c", "us-east-1a", &[("kubernetes.io/role/elb", "1")]),
            subnet("subnet-b", "us-east-1a", &[("kubernetes.io/role/elb", "")]),
            subnet(
                "subnet-z",
                "us-east-1b",
                &[("kubernetes.io/role/elb", "1"), ("kubernetes.io/cluster/prod", "shared")],
            ),
            subnet("subnet-y", "us-east-1b", &[("kubernetes.io/role/elb", "1")]),
            subnet(
                "subnet-x",
                "us-east-1c",
                &[("kubernetes.io/role/elb", "1"), ("kubernetes.io/cluster/other", "owned")],
            ),
            subnet("subnet-w", "us-east-1d", &[("kubernetes.io/role/elb", "0")]),
            subnet("subnet-v", "us-east-1e", &[("kubernetes.io/role/internal-elb", "1")]),
        ]);
        // 1a: lowest id; 1b: our cluster's tag beats a lower id; 1c: another cluster's only;
        // 1d: wrong value; 1e: internal only.
        assert_eq!(
            discover(&inv, "prod", Scheme::InternetFacing),
            Ok(vec!["subnet-b".to_string(), "subnet-z".to_string()])
        );
        assert_eq!(discover(&inv, "prod", Scheme::Internal), Ok(vec!["subnet-v".to_string()]));
    }

    #[test]
    fn no_tagged_subnet_is_an_error_naming_the_tag() {
        let error = discover(&inventory(vec![subnet("subnet-a", "us-east-1a", &[])]), "prod", Scheme::Internal)
            .expect_err("none");
        assert!(error.to_string().contains("kubernetes.io/role/internal-elb"), "{error}");
    }

    #[test]
    fn selection_by_tags_keeps_one_subnet_per_zone() {
        let inv = inventory(vec![
            subnet("subnet-c", "us-east-1a", &[("tier", "web")]),
            subnet("subnet-b", "us-east-1a", &[("tier", "web")]),
            subnet("subnet-d", "us-east-1b", &[("tier", "edge")]),
            subnet("subnet-e", "us-east-1c", &[("tier", "db")]),
        ]);
        let selector = BTreeMap::from([("tier".to_string(), vec!["web".to_string(), "edge".to_string()])]);
        assert_eq!(select_by_tags(&selector, &inv), Ok(vec!["subnet-b".to_string(), "subnet-d".to_string()]));
        let nothing = BTreeMap::from([("tier".to_string(), vec!["cache".to_string()])]);
        let error = select_by_tags(&nothing, &inv).expect_err("no match");
        assert!(error.to_string().contains("tier in [cache]"), "{error}");
    }

    #[test]
    fn named_subnets_resolve_by_id_or_name_tag() {
        let inv = inventory(vec![
            subnet("subnet-a", "us-east-1a", &[("Name", "public-a")]),
            subnet("subnet-b", "us-east-1b", &[]),
        ]);
        assert_eq!(
            resolve(&["subnet-b".into(), "public-a".into()], &inv),
            Ok(vec!["subnet-a".to_string(), "subnet-b".to_string()])
        );
        assert_eq!(resolve(&["nope".into()], &inv), Err(BuildError::UnknownSubnet("nope".into())));
        assert_eq!(
            resolve(&["subnet-a".into(), "public-a".into()], &inv),
            Ok(vec!["subnet-a".to_string()]),
            "same one"
        );
        let mut crowded = inv.clone();
        crowded.subnets.push(subnet("subnet-c", "us-east-1a", &[]));
        assert_eq!(
            resolve(&["subnet-c".into(), "subnet-a".into()], &crowded),
            Err(BuildError::SubnetsShareZone {
                zone: "us-east-1a".into(),
                subnets: ["subnet-a".to_string(), "subnet-c".to_string()]
            })
        );
    }
}
