//! The cluster's network as the builders need it (VPC, subnets, the nodes' instances and their
//! security groups), read from EC2 and shared by every reconcile.
//!
//! Building one Service must not cost EC2 calls: the inventory is read once, kept for `ttl`, and
//! extended only for instances it has not seen (a new node costs one DescribeInstances and, if
//! the node brings a security group not seen before, one DescribeSecurityGroups).
//!
//! [`command`] is `elbow inventory`: the same reading, written as the file `elbow plan` takes.

pub mod command;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use elbow_cloud::{Api, Cloud, CloudError, CloudErrorKind, CloudResult, SecurityGroupFilter};
use elbow_model::CloudInventory;
use elbow_model::inventory::{Instance, SecurityGroup, Subnet};
use k8s_openapi::api::core::v1::Node;
use tokio::sync::Mutex;
use tokio::time::Instant;

pub struct InventoryCache {
    cloud: Arc<dyn Cloud>,
    vpc_id: String,
    ttl: Duration,
    /// A tokio mutex on purpose: concurrent reconciles wait for one refresh instead of each
    /// sending the same describe calls.
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    inventory: Arc<CloudInventory>,
    /// Instance ids EC2 did not know when asked (terminated, or another account's): not asked
    /// again until the next refresh, so a stale node costs one call, not one per reconcile.
    absent: BTreeSet<String>,
    subnets_read_at: Instant,
}

impl InventoryCache {
    pub fn new(cloud: Arc<dyn Cloud>, vpc_id: String, ttl: Duration) -> Self {
        Self { cloud, vpc_id, ttl, cached: Mutex::new(None) }
    }

    /// How long a read of the inventory is kept before the next reconcile reads it again.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The inventory covering every instance behind `nodes`.
    pub async fn get(&self, nodes: &[&Node]) -> CloudResult<Arc<CloudInventory>> {
        let mut cached = self.cached.lock().await;
        let mut entry = match cached.take() {
            Some(entry) if entry.subnets_read_at.elapsed() < self.ttl => entry,
            _ => Cached {
                inventory: Arc::new(self.read_network().await?),
                absent: BTreeSet::new(),
                subnets_read_at: Instant::now(),
            },
        };
        let mut known: BTreeSet<&str> = entry.inventory.instances.iter().map(|i| i.id.as_str()).collect();
        known.extend(entry.absent.iter().map(String::as_str));
        let missing: Vec<String> =
            nodes.iter().filter_map(|node| instance_id(node)).filter(|id| !known.contains(id.as_str())).collect();
        if !missing.is_empty() {
            let mut extended = (*entry.inventory).clone();
            let added = self.add_instances(&mut extended, &missing).await;
            if added.is_ok() {
                let found: BTreeSet<&str> = extended.instances.iter().map(|i| i.id.as_str()).collect();
                let absent: Vec<String> = missing.iter().filter(|id| !found.contains(id.as_str())).cloned().collect();
                entry.absent.extend(absent);
                entry.inventory = Arc::new(extended);
            }
            let inventory = entry.inventory.clone();
            *cached = Some(entry);
            added?;
            return Ok(inventory);
        }
        let inventory = entry.inventory.clone();
        *cached = Some(entry);
        Ok(inventory)
    }

    /// Drops everything, so the next `get` reads EC2 again (after a drift period, or when a
    /// build failed for want of a subnet or group that may exist by now).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn read_network(&self) -> CloudResult<CloudInventory> {
        let subnets = self.cloud.describe_subnets(&self.vpc_id).await?;
        // A VPC without subnets is almost always a wrong `--vpc-id` (or region): say that, rather
        // than letting every build report "no subnet tagged". One extra call, only in this case.
        if subnets.is_empty() && self.cloud.describe_vpcs(std::slice::from_ref(&self.vpc_id)).await?.is_empty() {
            return Err(missing_vpc(&self.vpc_id));
        }
        Ok(CloudInventory {
            vpc_id: self.vpc_id.clone(),
            subnets: subnets
                .into_iter()
                .map(|s| Subnet {
                    id: s.id,
                    availability_zone: s.availability_zone,
                    cidr_block: s.cidr_block,
                    ipv6_cidr_blocks: s.ipv6_cidr_blocks,
                    tags: s.tags,
                })
                .collect(),
            instances: Vec::new(),
            security_groups: Vec::new(),
            // Read apart, when an Ingress needs them (certificate discovery), with caches of their own.
            certificates: Vec::new(),
        })
    }

    async fn add_instances(&self, inventory: &mut CloudInventory, ids: &[String]) -> CloudResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let instances = self.cloud.describe_instances(ids).await?;
        let known_groups: BTreeSet<&str> = inventory.security_groups.iter().map(|g| g.id.as_str()).collect();
        let new_groups: BTreeSet<String> = instances
            .iter()
            .flat_map(|i| i.security_groups.iter())
            .filter(|g| !known_groups.contains(g.as_str()))
            .cloned()
            .collect();
        if !new_groups.is_empty() {
            let groups =
                self.cloud.describe_security_groups(SecurityGroupFilter::Ids(new_groups.into_iter().collect())).await?;
            inventory.security_groups.extend(groups.into_iter().map(|g| SecurityGroup {
                id: g.id,
                group_name: g.group_name,
                tags: g.tags,
            }));
        }
        inventory.instances.extend(instances.into_iter().map(|i| Instance {
            id: i.id,
            availability_zone: i.availability_zone,
            security_groups: i.security_groups,
        }));
        inventory.instances.sort_by(|a, b| a.id.cmp(&b.id));
        inventory.security_groups.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(())
    }
}

/// The error for a VPC that does not exist, as EC2 would name it.
pub fn missing_vpc(vpc_id: &str) -> CloudError {
    let message =
        format!("VPC {vpc_id} does not exist in this account and region (check --vpc-id and --region, or AWS_REGION)");
    CloudError::new(Api::DescribeVpcs, CloudErrorKind::NotFound, "InvalidVpcID.NotFound", message)
}

/// `aws:///us-east-1a/i-0abc` -> `i-0abc`: the last path segment of the providerID.
fn instance_id(node: &Node) -> Option<String> {
    let provider_id = node.spec.as_ref()?.provider_id.as_deref()?;
    let id = provider_id.rsplit('/').next()?;
    id.starts_with("i-").then(|| id.to_string())
}
