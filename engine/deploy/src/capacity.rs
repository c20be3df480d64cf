//! Minimum capacity reservations (`minimum-load-balancer-capacity`): a load balancer's reservation
//! is brought to what its spec asks for, after the plan for a load balancer this deploy creates,
//! before it for one that is kept (so that a failed call leaves the record tag as it was, and the
//! next deploy tries again).
//!
//! Only load balancers that ask for a reservation, or whose record tag
//! (`elbow.dev/capacity-units`) says Elbow made one, cost a call: the others are never asked, so a
//! cluster without reservations pays nothing for the feature. A reservation asked for is read back
//! at every full deploy (DescribeCapacityReservation) and set again if it drifted; one Elbow made
//! is reset (ModifyCapacityReservation with ResetCapacityReservation) once nothing asks for it.

use std::collections::BTreeMap;

use elbow_cloud::Cloud;
use elbow_model::tags::CAPACITY_UNITS_TAG;
use elbow_model::{LoadBalancerSpec, ResourceId, Stack};

use crate::DeployError;
use crate::actual::ActualStack;
use crate::changes::{Changes, Kind, Verb};

/// The kept load balancers' reservations, before the plan is applied. `kept` maps the resource
/// ids of the load balancers the plan keeps to their ARNs.
pub(crate) async fn converge_kept(
    cloud: &dyn Cloud,
    desired: &Stack,
    actual: &ActualStack,
    kept: &BTreeMap<ResourceId, String>,
    changes: &mut Changes,
) -> Result<(), DeployError> {
    for lb in &desired.load_balancers {
        let Some(arn) = kept.get(&lb.resource_id) else { continue };
        let recorded =
            actual.load_balancers.iter().any(|a| &a.lb.arn == arn && a.tags.contains_key(CAPACITY_UNITS_TAG));
        converge(cloud, lb, arn, recorded, changes).await?;
    }
    Ok(())
}

/// The reservations of the load balancers the plan created (those not in `kept`), once they exist.
pub(crate) async fn reserve_created(
    cloud: &dyn Cloud,
    desired: &Stack,
    kept: &BTreeMap<ResourceId, String>,
    created: impl Fn(&ResourceId) -> Option<String>,
    changes: &mut Changes,
) -> Result<(), DeployError> {
    for lb in desired.load_balancers.iter().filter(|lb| lb.capacity_units.is_some()) {
        if kept.contains_key(&lb.resource_id) {
            continue;
        }
        let arn = created(&lb.resource_id).ok_or_else(|| DeployError::Unbound(lb.resource_id.to_string()))?;
        set(cloud, lb, &arn, lb.capacity_units, changes).await?;
    }
    Ok(())
}

async fn converge(
    cloud: &dyn Cloud,
    lb: &LoadBalancerSpec,
    arn: &str,
    recorded: bool,
    changes: &mut Changes,
) -> Result<(), DeployError> {
    match lb.capacity_units {
        Some(units) => {
            let current = cloud.describe_capacity_reservation(arn).await.map_err(|source| DeployError::Apply {
                step: format!("read the capacity reservation of load balancer {}", lb.name),
                source,
            })?;
            if current != Some(units) {
                set(cloud, lb, arn, Some(units), changes).await?;
            }
        }
        // A reservation Elbow did not make is not Elbow's to reset.
        None if recorded => set(cloud, lb, arn, None, changes).await?,
        None => {}
    }
    Ok(())
}

async fn set(
    cloud: &dyn Cloud,
    lb: &LoadBalancerSpec,
    arn: &str,
    units: Option<u32>,
    changes: &mut Changes,
) -> Result<(), DeployError> {
    let step = match units {
        Some(units) => format!("reserve {units} capacity units for load balancer {}", lb.name),
        None => format!("reset the capacity reservation of load balancer {}", lb.name),
    };
    cloud.modify_capacity_reservation(arn, units).await.map_err(|source| DeployError::Apply { step, source })?;
    let verb = if units.is_some() { Verb::Modified } else { Verb::Deleted };
    changes.add((verb, Kind::CapacityReservation, 1));
    Ok(())
}
