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

/// `k8s-traffic-<cluster>-<hash>`, LBC's naming, so a migrated cluster reads familiar names.
pub fn backend_group_name(cluster: &str) -> String {
    let sanitized: String = cluster.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(232).collect();
    let hash = hex::encode(Sha256::digest(cluster.as_bytes()));
    format!("k8s-traffic-{sanitized}-{}", &hash[..10])
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
    use super::*;

    #[test]
    fn the_backend_group_name_is_stable_and_sanitized() {
        let name = backend_group_name("prod_eu.1");
        assert!(name.starts_with("k8s-traffic-prodeu1-"), "{name}");
        assert_eq!(name, backend_group_name("prod_eu.1"));
        assert_ne!(name, backend_group_name("prod-eu-1"));
    }
}
