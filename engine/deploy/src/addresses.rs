//! The Elastic IPs a plan's new network load balancers are to take (`eip-allocations`), checked
//! before the plan runs. AWS checks them only at CreateLoadBalancer, and a load balancer replaced
//! for new addresses is deleted before its successor is created (it holds the old addresses): a
//! mistyped allocation id would leave the Service with no load balancer at all. Checked first, the
//! deploy fails with nothing changed and the old load balancer keeps serving.

use elbow_cloud::Cloud;

use crate::error::DeployError;
use crate::plan::{Plan, Step};

/// Fails when an allocation id the plan's CreateLoadBalancer steps name does not exist, or, for a
/// load balancer created without one being deleted first, when the address is already associated.
/// (During a replacement the old load balancer may hold an address the new one keeps; AWS judges
/// those.) A plan creating no load balancer with Elastic IPs makes no call.
pub(crate) async fn check_elastic_ips(cloud: &dyn Cloud, plan: &Plan) -> Result<(), DeployError> {
    let mut wanted: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::CreateLoadBalancer { spec, .. } => Some(spec),
            _ => None,
        })
        .flat_map(|spec| spec.subnet_addresses.iter().filter_map(|a| a.allocation_id.clone()))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    wanted.sort();
    wanted.dedup();
    let found = cloud.describe_elastic_ips(&wanted).await.map_err(|source| DeployError::Apply {
        step: format!("look up the Elastic IP allocations {}", wanted.join(", ")),
        source,
    })?;
    let missing: Vec<String> =
        wanted.iter().filter(|id| !found.iter().any(|ip| &ip.allocation_id == *id)).cloned().collect();
    if !missing.is_empty() {
        return Err(DeployError::ElasticIpsNotFound { ids: missing });
    }
    let replacing = plan.steps.iter().any(|step| matches!(step, Step::DeleteLoadBalancer { .. }));
    for ip in &found {
        let holder = match (&ip.instance_id, &ip.association_id) {
            (Some(instance), _) => format!("instance {instance}"),
            (None, Some(association)) if !replacing => format!("another network interface ({association})"),
            _ => continue,
        };
        return Err(DeployError::ElasticIpInUse { id: ip.allocation_id.clone(), holder });
    }
    Ok(())
}
