//! Finding the target group a binding names: DescribeTargetGroups by ARN, or by name (names are
//! unique per account and region). A group that does not exist is the user's to create (or
//! Terraform's, which may run after the binding was applied), not a failure to retry hard.

use elbow_builder::binding::{BindingError, BoundGroup, TargetGroupBindingSpec, TargetGroupIpAddressType};
use elbow_cloud::{Cloud, CloudErrorKind, TargetGroup, TargetGroupFilter};
use elbow_model::IpAddressType;

use crate::controllers::Error;

/// The group `spec` names. [`Error::InvalidBinding`] with
/// [`BindingError::TargetGroupNotFound`] when there is none; `object` names the binding.
pub async fn find(cloud: &dyn Cloud, spec: &TargetGroupBindingSpec, object: &str) -> Result<BoundGroup, Error> {
    let invalid = |source| Error::InvalidBinding { object: object.to_string(), source };
    let (filter, named) = match (&spec.target_group_arn, &spec.target_group_name) {
        (Some(arn), None) => (TargetGroupFilter::Arns(vec![arn.clone()]), arn.clone()),
        (None, Some(name)) => (TargetGroupFilter::Names(vec![name.clone()]), name.clone()),
        _ => return Err(invalid(BindingError::NoTargetGroup)),
    };
    match cloud.describe_target_groups(filter).await {
        Ok(groups) => {
            groups.into_iter().next().map(bound).ok_or_else(|| invalid(BindingError::TargetGroupNotFound(named)))
        }
        Err(error) if error.kind == CloudErrorKind::NotFound => Err(invalid(BindingError::TargetGroupNotFound(named))),
        Err(source) => Err(Error::DescribeTargetGroup { target_group: named, source }),
    }
}

/// The cloud's answer as the builder takes it. The adapters report an ipv6 target group's
/// address type as dual-stack (the load balancers' word for it).
fn bound(group: TargetGroup) -> BoundGroup {
    BoundGroup {
        arn: group.arn,
        target_type: group.target_type,
        ip_address_type: match group.ip_address_type {
            IpAddressType::Ipv4 => TargetGroupIpAddressType::Ipv4,
            IpAddressType::Dualstack => TargetGroupIpAddressType::Ipv6,
        },
        vpc_id: group.vpc_id,
        protocol: group.protocol,
    }
}
