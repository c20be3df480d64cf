//! Seeding an AWS-compatible endpoint (moto, LocalStack, or an AWS account) through the EC2 API:
//! what a cluster's infrastructure code would have created before Elbow is installed.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, bail};
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{Filter, InstanceType, ResourceType, Tag, TagSpecification};
use elbow_model::Tags;
use elbow_model::inventory::CloudInventory;

use crate::environment::{self, Environment, NodeSeed, SUBNET_ROLES};

/// Creates a VPC with an internet gateway (AWS refuses internet-facing load balancers without
/// one), a public and a private subnet in each of the region's first three zones, the node
/// security group, and `nodes` running instances spread over the zones.
pub async fn seed(sdk: &SdkConfig, cluster: &str, nodes: usize) -> anyhow::Result<Environment> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let octet = next_octet();
    let vpc = ec2.create_vpc().cidr_block(format!("10.{octet}.0.0/16")).send().await.context("CreateVpc")?;
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).context("CreateVpc returned no id")?.to_string();
    let gateway = ec2.create_internet_gateway().send().await.context("CreateInternetGateway")?;
    let gateway_id = gateway.internet_gateway().and_then(|g| g.internet_gateway_id()).context("no gateway id")?;
    ec2.attach_internet_gateway()
        .internet_gateway_id(gateway_id)
        .vpc_id(&vpc_id)
        .send()
        .await
        .context("AttachInternetGateway")?;

    let zones = three_zones(&ec2).await?;
    let mut inventory = CloudInventory { vpc_id: vpc_id.clone(), ..CloudInventory::default() };
    for (z, zone) in zones.iter().enumerate() {
        for (role, offset) in SUBNET_ROLES {
            let cidr = format!("10.{octet}.{}.0/24", usize::from(offset) + z);
            let tags = environment::subnet_tags(cluster, role);
            let created = ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(&cidr)
                .availability_zone(zone)
                .tag_specifications(tag_spec(ResourceType::Subnet, &tags))
                .send()
                .await
                .context("CreateSubnet")?;
            let id = created.subnet().and_then(|s| s.subnet_id()).context("CreateSubnet returned no id")?;
            inventory.subnets.push(environment::subnet(id, zone, &cidr, tags));
        }
    }

    let group_name = format!("{cluster}-nodes");
    let group = ec2
        .create_security_group()
        .group_name(&group_name)
        .description("nodes")
        .vpc_id(&vpc_id)
        .tag_specifications(tag_spec(ResourceType::SecurityGroup, &environment::node_group_tags(cluster)))
        .send()
        .await
        .context("CreateSecurityGroup")?;
    let node_group = group.group_id().context("CreateSecurityGroup returned no id")?.to_string();
    inventory.security_groups.push(environment::node_group(&node_group, cluster));

    let mut environment = Environment { cluster: cluster.to_string(), inventory, node_group, nodes: Vec::new() };
    for _ in 0..nodes {
        add_instance(sdk, &mut environment).await?;
    }
    Ok(environment)
}

/// Runs one more instance in the node group, in the next zone's private subnet, for a node that
/// joins later; returns the node to register.
pub async fn add_instance(sdk: &SdkConfig, environment: &mut Environment) -> anyhow::Result<NodeSeed> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let (name, _) = environment::node_placement(environment.nodes.len());
    let private: Vec<_> =
        environment.inventory.subnets.iter().filter(|s| s.tags.contains_key(SUBNET_ROLES[1].0)).collect();
    let subnet = private.get(environment.nodes.len() % private.len().max(1)).context("no private subnet seeded")?;
    let run = ec2
        .run_instances()
        .image_id(any_image(&ec2).await?)
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet.id)
        .security_group_ids(&environment.node_group)
        .send()
        .await
        .context("RunInstances")?;
    let instance = run.instances().first().context("RunInstances returned no instance")?;
    let instance_id = instance.instance_id().context("RunInstances returned no instance id")?;
    let address = instance.private_ip_address().map(str::to_string);
    let zone = subnet.availability_zone.clone();
    environment.inventory.instances.push(environment::instance(instance_id, &zone, &environment.node_group));
    let seed = NodeSeed { name, instance_id: instance_id.to_string(), zone, address };
    environment.nodes.push(seed.clone());
    Ok(seed)
}

/// A second octet for the VPC's CIDR block, different for each environment seeded by this process
/// (and likely different between processes sharing one endpoint).
fn next_octet() -> u64 {
    static SEEDED: AtomicU64 = AtomicU64::new(0);
    (u64::from(std::process::id()) + SEEDED.fetch_add(1, Ordering::Relaxed)) % 200 + 20
}

async fn three_zones(ec2: &aws_sdk_ec2::Client) -> anyhow::Result<Vec<String>> {
    let zones = ec2.describe_availability_zones().send().await.context("DescribeAvailabilityZones")?;
    let mut names: Vec<String> =
        zones.availability_zones().iter().filter_map(|z| z.zone_name().map(str::to_string)).collect();
    names.sort();
    if names.len() < 3 {
        bail!("the region needs three availability zones, it has {names:?}");
    }
    names.truncate(3);
    Ok(names)
}

/// An Amazon Linux 2023 image: AWS has one in every region, and moto serves images of that name.
async fn any_image(ec2: &aws_sdk_ec2::Client) -> anyhow::Result<String> {
    let images = ec2
        .describe_images()
        .owners("amazon")
        .filters(Filter::builder().name("name").values("al2023-ami-2023*-x86_64").build())
        .filters(Filter::builder().name("architecture").values("x86_64").build())
        .send()
        .await
        .context("DescribeImages")?;
    images.images().iter().find_map(|i| i.image_id().map(str::to_string)).context("no Amazon Linux 2023 image found")
}

fn tag_spec(resource: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .build()
}
