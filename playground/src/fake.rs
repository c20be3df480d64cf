//! The playground's default cloud: Elbow's in-memory fake, seeded with the environment.

use elbow_cloud::{Instance, SecurityGroup, Subnet};
use elbow_fake::FakeCloud;
use elbow_model::inventory::CloudInventory;

use crate::environment::{self, Environment, NodeSeed, SUBNET_ROLES, ZONES};

// Hexadecimal, as AWS ids are and as the chart's schema and `elbow run` require.
const VPC: &str = "vpc-0e1b0e1b0e1b0e1b0";

/// A fake cloud holding `nodes` running instances, and the environment it was seeded with.
pub fn seeded(cluster: &str, nodes: usize) -> (FakeCloud, Environment) {
    let cloud = FakeCloud::new();
    cloud.seed_vpc(VPC);
    let mut inventory = CloudInventory { vpc_id: VPC.to_string(), ..CloudInventory::default() };
    for (z, zone) in ZONES.iter().enumerate() {
        for (role, offset) in SUBNET_ROLES {
            let id = format!("subnet-0{}{z}", if offset == 0 { "public" } else { "private" });
            let cidr = format!("10.0.{}.0/24", usize::from(offset) + z);
            let tags = environment::subnet_tags(cluster, role);
            cloud.seed_subnet(Subnet {
                id: id.clone(),
                vpc_id: VPC.to_string(),
                availability_zone: zone.to_string(),
                cidr_block: cidr.clone(),
                ipv6_cidr_blocks: Vec::new(),
                tags: tags.clone(),
            });
            inventory.subnets.push(environment::subnet(&id, zone, &cidr, tags));
        }
    }
    let group = environment::node_group("sg-0nodes", cluster);
    cloud.seed_security_group(SecurityGroup {
        id: group.id.clone(),
        group_name: group.group_name.clone(),
        description: format!("nodes of {cluster}"),
        vpc_id: VPC.to_string(),
        tags: group.tags.clone(),
    });
    let mut environment =
        Environment { cluster: cluster.to_string(), node_group: group.id.clone(), inventory, nodes: Vec::new() };
    environment.inventory.security_groups.push(group);
    for _ in 0..nodes {
        add_instance(&cloud, &mut environment);
    }
    (cloud, environment)
}

/// Adds one more running instance (for a node joining later) and returns its seed.
pub fn add_instance(cloud: &FakeCloud, environment: &mut Environment) -> NodeSeed {
    let index = environment.nodes.len();
    let (name, zone) = environment::node_placement(index);
    let instance_id = format!("i-0{index:016x}");
    cloud.seed_instance(Instance {
        id: instance_id.clone(),
        vpc_id: VPC.to_string(),
        availability_zone: zone.to_string(),
        state: "running".into(),
        security_groups: vec![environment.node_group.clone()],
    });
    environment.inventory.instances.push(environment::instance(&instance_id, zone, &environment.node_group));
    // Node addresses count down from the top of the zone's private subnet, pod addresses up from
    // its bottom, so a node that joins late never takes a pod's.
    let subnet = environment
        .inventory
        .subnets
        .iter()
        .find(|s| s.availability_zone == zone && s.tags.contains_key(SUBNET_ROLES[1].0));
    let address = subnet.and_then(|s| s.cidr_block.split('/').next()?.parse::<std::net::Ipv4Addr>().ok()).map(|base| {
        let [a, b, c, _] = base.octets();
        format!("{a}.{b}.{c}.{}", 254 - index / ZONES.len())
    });
    let seed = NodeSeed { name, instance_id, zone: zone.to_string(), address };
    environment.nodes.push(seed.clone());
    seed
}
