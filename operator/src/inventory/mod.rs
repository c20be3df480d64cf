//! The cluster's network as the builders need it (VPC, subnets, the nodes' instances and their
//! security groups), read from EC2 and shared by every reconcile.
//!
//! Building one Service must not cost EC2 calls: the inventory is read once, kept for `ttl`, and
//! extended only for instances it has not seen (a new node costs one DescribeInstances and, if
//! the node brings a security group not seen before, one DescribeSecurityGroups), and for
//! security group names an annotation gives that it has not looked up yet (one
//! DescribeSecurityGroups by `Name` tag within the VPC, which brings every group carrying one of
//! them, so the builder can tell a unique name from an ambiguous one).
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
    /// Security group names looked up since the last refresh, found or not: a name no group
    /// carries costs one call per refresh, not one per reconcile.
    names_read: BTreeSet<String>,
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
        self.get_with_groups(nodes, &[]).await
    }

    /// The inventory covering every instance behind `nodes` and every security group of the VPC
    /// whose `Name` tag is one of `group_names`.
    pub async fn get_with_groups(&self, nodes: &[&Node], group_names: &[String]) -> CloudResult<Arc<CloudInventory>> {
        let mut cached = self.cached.lock().await;
        let mut entry = match cached.take() {
            Some(entry) if entry.subnets_read_at.elapsed() < self.ttl => entry,
            _ => Cached {
                inventory: Arc::new(self.read_network().await?),
                absent: BTreeSet::new(),
                names_read: BTreeSet::new(),
                subnets_read_at: Instant::now(),
            },
        };
        let unread: Vec<String> = group_names.iter().filter(|n| !entry.names_read.contains(*n)).cloned().collect();
        if !unread.is_empty() {
            let mut extended = (*entry.inventory).clone();
            let added = self.add_named_groups(&mut extended, &unread).await;
            if added.is_ok() {
                entry.names_read.extend(unread);
                entry.inventory = Arc::new(extended);
            }
            if let Err(error) = added {
                *cached = Some(entry);
                return Err(error);
            }
        }
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

    /// Adds the VPC's groups carrying one of `names` as their `Name` tag (all of them: two groups
    /// with one name make the name ambiguous, which the builder reports).
    async fn add_named_groups(&self, inventory: &mut CloudInventory, names: &[String]) -> CloudResult<()> {
        let filter = SecurityGroupFilter::NamedInVpc { vpc_id: self.vpc_id.clone(), names: names.to_vec() };
        let groups = self.cloud.describe_security_groups(filter).await?;
        for group in groups {
            if !inventory.security_groups.iter().any(|g| g.id == group.id) {
                inventory.security_groups.push(SecurityGroup {
                    id: group.id,
                    group_name: group.group_name,
                    tags: group.tags,
                });
            }
        }
        inventory.security_groups.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(())
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

#[cfg(test)]
mod tests {
    use elbow_cloud::types as cloud;
    use elbow_fake::FakeCloud;
    use elbow_model::Tags;

    use super::*;

    fn named(fake: &FakeCloud, id: &str, vpc: &str, name: &str) {
        fake.seed_security_group(cloud::SecurityGroup {
            id: id.into(),
            group_name: format!("{name}-group"),
            description: "d".into(),
            vpc_id: vpc.into(),
            tags: Tags::from([("Name".to_string(), name.to_string())]),
        });
    }

    #[tokio::test]
    async fn security_group_names_are_looked_up_once_per_refresh_found_or_not() {
        let fake = Arc::new(FakeCloud::new());
        fake.seed_vpc("vpc-1");
        fake.seed_subnet(cloud::Subnet {
            id: "subnet-a".into(),
            vpc_id: "vpc-1".into(),
            availability_zone: "us-east-1a".into(),
            cidr_block: "10.0.0.0/24".into(),
            ipv6_cidr_blocks: Vec::new(),
            tags: Tags::new(),
        });
        named(&fake, "sg-web", "vpc-1", "web");
        named(&fake, "sg-twin1", "vpc-1", "twin");
        named(&fake, "sg-twin2", "vpc-1", "twin");
        named(&fake, "sg-elsewhere", "vpc-2", "web");
        let cache = InventoryCache::new(fake.clone(), "vpc-1".into(), Duration::from_secs(3600));
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();

        let inventory = cache.get_with_groups(&[], &names(&["web", "twin", "nobody"])).await.expect("read");
        let ids: Vec<&str> = inventory.security_groups.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["sg-twin1", "sg-twin2", "sg-web"], "every group of the VPC with one of the names");
        assert_eq!(fake.counter().count(Api::DescribeSecurityGroups), 1, "one call for all the names");

        fake.counter().reset();
        cache.get_with_groups(&[], &names(&["nobody", "web"])).await.expect("cached");
        assert_eq!(
            fake.counter().count(Api::DescribeSecurityGroups),
            0,
            "known names, found or not, are not asked again"
        );
        let inventory = cache.get_with_groups(&[], &names(&["web", "api"])).await.expect("one more");
        assert_eq!(fake.counter().count(Api::DescribeSecurityGroups), 1, "only a new name is asked");
        assert_eq!(inventory.security_groups.len(), 3, "nothing carries api; what was found stays");

        // After a refresh (the TTL, or an invalidation) the names are asked again.
        cache.invalidate().await;
        fake.counter().reset();
        cache.get_with_groups(&[], &names(&["web"])).await.expect("refreshed");
        assert_eq!(fake.counter().count(Api::DescribeSecurityGroups), 1);
    }
}
