//! The cluster's shared backend security group: attached to every Elbow load balancer and admitted
//! by the node groups on the NodePorts, so one node rule per port serves every load balancer. It
//! belongs to the cluster, not to a stack: the first stack that needs it creates it, and the
//! deployer deletes it when the last stack is gone (`Deployer::release_backend_group`).

use elbow_cloud::{Cloud, CloudErrorKind, SecurityGroupFilter};
use elbow_model::tags::ownership_tags;
use elbow_model::{Ownership, ResourceId, StackId};
use sha2::{Digest, Sha256};

use crate::error::DeployError;

/// The `elbow.dev/stack` value of cluster-wide resources (not a valid namespace/name, nor an
/// Ingress group name, so it never collides with a real stack).
pub const SHARED_STACK: &str = "_shared";
/// The `elbow.dev/resource` value of the backend group.
pub const BACKEND_GROUP_RESOURCE: &str = "BackendSecurityGroup";

pub(crate) fn is_backend_group(owner: &Ownership) -> bool {
    owner.stack.as_str() == SHARED_STACK && owner.resource.as_str() == BACKEND_GROUP_RESOURCE
}

/// `elbow-traffic-<cluster>-<hash>`. Never LBC's `k8s-traffic-<cluster>-<hash>`: LBC strips every
/// character but letters and digits from the cluster name, so for a cluster named only with those
/// the two names would be equal, and next to LBC Elbow could create no load balancer at all
/// (security group names are unique per VPC). A group made under an earlier name is still found,
/// by its tags.
pub fn backend_group_name(cluster: &str) -> String {
    let sanitized: String = cluster.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(230).collect();
    let hash = hex::encode(Sha256::digest(cluster.as_bytes()));
    format!("elbow-traffic-{sanitized}-{}", &hash[..10])
}

/// Creates the backend group, or finds it when it exists already (created by an earlier run
/// whose answer was lost).
pub(crate) async fn create_backend_group(
    cloud: &dyn Cloud,
    cluster: &str,
    vpc_id: &str,
) -> Result<String, DeployError> {
    let name = backend_group_name(cluster);
    let tags = ownership_tags(cluster, &StackId::new(SHARED_STACK), &ResourceId::new(BACKEND_GROUP_RESOURCE));
    let description = "[elbow] shared backend security group of the cluster's load balancers";
    let step = || format!("create the shared backend security group {name}");
    match cloud.create_security_group(&name, description, vpc_id, &tags).await {
        Ok(id) => Ok(id),
        Err(error) if error.kind == CloudErrorKind::Duplicate => {
            let groups = cloud
                .describe_security_groups(SecurityGroupFilter::Vpc(vpc_id.to_string()))
                .await
                .map_err(DeployError::Discover)?;
            let existing = groups.into_iter().find(|g| g.group_name == name);
            match existing {
                Some(group)
                    if Ownership::from_tags(&group.tags)
                        .is_some_and(|o| o.cluster == cluster && is_backend_group(&o)) =>
                {
                    Ok(group.id)
                }
                _ => Err(DeployError::NameConflict { kind: "security group", name }),
            }
        }
        Err(source) => Err(DeployError::Apply { step: step(), source }),
    }
}

#[cfg(test)]
mod tests {
    use elbow_cloud::SecurityGroup;
    use elbow_fake::FakeCloud;
    use elbow_model::Tags;

    use super::*;

    /// The name the AWS Load Balancer Controller gives its backend group.
    fn lbc_backend_group_name(cluster: &str) -> String {
        let sanitized: String = cluster.chars().filter(char::is_ascii_alphanumeric).collect();
        let hash = hex::encode(Sha256::digest(cluster.as_bytes()));
        format!("k8s-traffic-{sanitized}-{}", &hash[..10])
    }

    #[test]
    fn the_backend_group_name_is_stable_and_sanitized() {
        let name = backend_group_name("prod_eu.1");
        assert!(name.starts_with("elbow-traffic-prodeu1-"), "{name}");
        assert_eq!(name, backend_group_name("prod_eu.1"));
        assert_ne!(name, backend_group_name("prod-eu-1"));
        assert!(backend_group_name(&"c".repeat(300)).len() <= 255, "EC2's limit on group names");
    }

    #[test]
    fn the_backend_group_name_is_never_lbcs() {
        for cluster in ["prod1", "demo", "prod-eu-1", "Prod_EU.1"] {
            assert_ne!(backend_group_name(cluster), lbc_backend_group_name(cluster), "{cluster}");
        }
    }

    #[tokio::test]
    async fn the_backend_group_is_created_next_to_lbcs_in_the_same_vpc() {
        let cloud = FakeCloud::new();
        cloud.seed_vpc("vpc-1");
        let lbc_group = SecurityGroup {
            id: "sg-lbc".into(),
            group_name: lbc_backend_group_name("prod1"),
            description: "[k8s] Shared Backend SecurityGroup for LoadBalancer".into(),
            vpc_id: "vpc-1".into(),
            tags: Tags::from([
                ("elbv2.k8s.aws/cluster".to_string(), "prod1".to_string()),
                ("elbv2.k8s.aws/resource".to_string(), "backend-sg".to_string()),
            ]),
        };
        cloud.seed_security_group(lbc_group.clone());

        let id = create_backend_group(&cloud, "prod1", "vpc-1").await.expect("created beside LBC's group");

        let groups = cloud.security_groups();
        assert_ne!(id, lbc_group.id);
        assert!(groups.contains(&lbc_group), "LBC's group is untouched: {groups:?}");
    }
}
