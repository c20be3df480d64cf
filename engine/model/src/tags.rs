//! Ownership tags: how Elbow finds its resources again and how it knows a resource is its own.

use std::collections::BTreeMap;

use crate::stack::{ResourceId, StackId};

/// Tags by key. Sorted, so that two equal tag sets compare and hash equal.
pub type Tags = BTreeMap<String, String>;

/// The cluster that owns a resource. Elbow never modifies or deletes a resource without it.
pub const CLUSTER_TAG: &str = "elbow.dev/cluster";
/// The owning object inside the cluster (`namespace/name`, or the Ingress group).
pub const STACK_TAG: &str = "elbow.dev/stack";
/// The resource's id inside its stack.
pub const RESOURCE_TAG: &str = "elbow.dev/resource";
/// How a stack claims a per-permission rule on a node security group that several stacks may
/// need (the per-port rules of earlier versions, and node rules whose source is not the backend
/// group): one tag per claiming stack, `elbow.dev/claim/<hash of the stack id>` = the stack id.
/// Such a rule carries the stack tag `_shared`, since it belongs to whoever claims it; the stack
/// dropping the last claim revokes it.
pub const CLAIM_TAG_PREFIX: &str = "elbow.dev/claim/";
/// The node ports a load balancer's stack needs opened to the cluster's backend security group,
/// on the load balancer itself: `<node group>:<ip protocol>:<from>-<to>` entries separated by
/// spaces, continued under `elbow.dev/node-ports.2`, `.3`, ... when one value (256 characters)
/// cannot hold them. What the node groups' port-range rules must span is read from these.
pub const NODE_PORTS_TAG: &str = "elbow.dev/node-ports";
/// On a network load balancer created with fixed addresses (`SubnetMappings`): a digest of the
/// addresses asked for. DescribeLoadBalancers cannot tell an address asked for from one AWS
/// picked (an internal load balancer reports a private address either way), and AWS cannot change
/// a served subnet's address, so this record is what tells the planner that the addresses asked
/// for changed and the load balancer must be replaced.
pub const SUBNET_ADDRESSES_TAG: &str = "elbow.dev/subnet-addresses";
/// On a load balancer whose minimum capacity Elbow reserved: the capacity units. It tells a later
/// deploy that a reservation is Elbow's to reset once the annotation goes, without asking every
/// load balancer for its reservation.
pub const CAPACITY_UNITS_TAG: &str = "elbow.dev/capacity-units";

/// The three ownership tags of one resource.
pub fn ownership_tags(cluster: &str, stack: &StackId, resource: &ResourceId) -> Tags {
    Tags::from([
        (CLUSTER_TAG.to_string(), cluster.to_string()),
        (STACK_TAG.to_string(), stack.as_str().to_string()),
        (RESOURCE_TAG.to_string(), resource.as_str().to_string()),
    ])
}

/// Where an owned resource belongs, read back from its tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ownership {
    pub cluster: String,
    pub stack: StackId,
    pub resource: ResourceId,
}

impl Ownership {
    /// `None` unless all three ownership tags are present.
    pub fn from_tags(tags: &Tags) -> Option<Self> {
        Some(Self {
            cluster: tags.get(CLUSTER_TAG)?.clone(),
            stack: StackId::new(tags.get(STACK_TAG)?.clone()),
            resource: ResourceId::new(tags.get(RESOURCE_TAG)?.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_round_trips_through_tags() {
        let stack = StackId::new("default/web");
        let resource = ResourceId::new("LoadBalancer");
        let tags = ownership_tags("prod", &stack, &resource);
        let owner = Ownership::from_tags(&tags).expect("all three tags were written");
        assert_eq!(owner, Ownership { cluster: "prod".into(), stack, resource });
    }

    #[test]
    fn a_resource_missing_any_ownership_tag_has_no_owner() {
        for missing in [CLUSTER_TAG, STACK_TAG, RESOURCE_TAG] {
            let mut tags = ownership_tags("prod", &StackId::new("a/b"), &ResourceId::new("x"));
            tags.remove(missing);
            assert_eq!(Ownership::from_tags(&tags), None, "without {missing}");
        }
    }
}
