//! The cloud a playground or an end-to-end test runs in: a VPC with public and private subnets
//! tagged for load-balancer discovery in three zones, a node security group tagged for the cluster,
//! and running instances spread over the zones, each to be registered as a Kubernetes Node.

use elbow_model::Tags;
use elbow_model::inventory::{CloudInventory, Instance, SecurityGroup, Subnet};

/// The zones everything is spread over (the emulators' default region is us-east-1).
pub const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

/// What was seeded, with the ids the cloud gave it.
#[derive(Debug, Clone)]
pub struct Environment {
    pub cluster: String,
    pub inventory: CloudInventory,
    /// The security group every node instance is in.
    pub node_group: String,
    pub nodes: Vec<NodeSeed>,
}

/// A node to register: the Kubernetes Node name and the instance behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSeed {
    pub name: String,
    pub instance_id: String,
    pub zone: String,
    /// The instance's private address, the Node's InternalIP.
    pub address: Option<String>,
}

impl NodeSeed {
    /// `spec.providerID` as the AWS cloud provider writes it.
    pub fn provider_id(&self) -> String {
        format!("aws:///{}/{}", self.zone, self.instance_id)
    }
}

impl Environment {
    pub fn vpc_id(&self) -> &str {
        &self.inventory.vpc_id
    }

    /// An address for pod `pod` (0-based, up to 240) on node `node`: in the private subnet of
    /// the node's zone, as the VPC CNI gives pods addresses from their node's subnets, so that
    /// the cloud takes it as an ip target.
    pub fn pod_address(&self, node: usize, pod: u8) -> String {
        let (_, zone) = node_placement(node);
        let private = SUBNET_ROLES[1].0;
        let subnet =
            self.inventory.subnets.iter().find(|s| s.availability_zone == zone && s.tags.contains_key(private));
        let base = subnet
            .and_then(|s| s.cidr_block.split('/').next())
            .and_then(|b| b.parse::<std::net::Ipv4Addr>().ok())
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        let [a, b, c, _] = base.octets();
        format!("{a}.{b}.{c}.{}", u16::from(pod) + 10)
    }
}

impl Environment {
    /// The subnets pods get addresses from: each zone's private subnet, where the nodes are (the
    /// playground's kubelets hand out pod addresses from them; [`Environment::pod_address`] is
    /// for tests that write EndpointSlices themselves).
    pub fn pod_subnets(&self) -> Vec<crate::workloads::PodSubnet> {
        let private = SUBNET_ROLES[1].0;
        self.inventory
            .subnets
            .iter()
            .filter(|s| s.tags.contains_key(private))
            .map(|s| crate::workloads::PodSubnet { zone: s.availability_zone.clone(), cidr: s.cidr_block.clone() })
            .collect()
    }
}

/// The tags of a subnet with `role` (`kubernetes.io/role/elb` or `.../internal-elb`).
pub fn subnet_tags(cluster: &str, role: &str) -> Tags {
    Tags::from([
        (role.to_string(), "1".to_string()),
        (format!("kubernetes.io/cluster/{cluster}"), "shared".to_string()),
    ])
}

/// The tags of the node security group: `owned` by the cluster, which is how the deployer finds
/// the group to open NodePorts on.
pub fn node_group_tags(cluster: &str) -> Tags {
    Tags::from([(format!("kubernetes.io/cluster/{cluster}"), "owned".to_string())])
}

/// The two subnet roles, with the third octet offset of their CIDR blocks.
pub const SUBNET_ROLES: [(&str, u8); 2] = [("kubernetes.io/role/elb", 0), ("kubernetes.io/role/internal-elb", 100)];

/// Node `index` (0-based): its name and zone.
pub fn node_placement(index: usize) -> (String, &'static str) {
    (format!("node-{}", index + 1), ZONES[index % ZONES.len()])
}

/// An inventory entry for an instance in `zone` and `group`.
pub fn instance(id: &str, zone: &str, group: &str) -> Instance {
    Instance { id: id.to_string(), availability_zone: zone.to_string(), security_groups: vec![group.to_string()] }
}

/// An inventory entry for a subnet.
pub fn subnet(id: &str, zone: &str, cidr: &str, tags: Tags) -> Subnet {
    Subnet {
        id: id.to_string(),
        availability_zone: zone.to_string(),
        cidr_block: cidr.to_string(),
        ipv6_cidr_blocks: Vec::new(),
        tags,
    }
}

/// An inventory entry for the node group.
pub fn node_group(id: &str, cluster: &str) -> SecurityGroup {
    SecurityGroup { id: id.to_string(), group_name: format!("{cluster}-nodes"), tags: node_group_tags(cluster) }
}
