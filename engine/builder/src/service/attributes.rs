//! Load balancer and target group attributes: the `attributes` and `target-group-attributes`
//! annotations and the older single-purpose annotations that set one attribute each.

use crate::annotations::Annotations;
use crate::error::BuildError;
use elbow_model::stack::Attributes;

/// `target-group-attributes`, plus `proxy-protocol: *` as the attribute it stands for.
pub(super) fn target_group_attributes(a: &Annotations<'_>) -> Result<Attributes, BuildError> {
    let mut attributes = a.pairs("aws-load-balancer-target-group-attributes", false)?.unwrap_or_default();
    if let Some(value) = a.get("aws-load-balancer-proxy-protocol") {
        if value != "*" {
            return Err(a.invalid("aws-load-balancer-proxy-protocol", value, "*"));
        }
        attributes.insert("proxy_protocol_v2.enabled".into(), "true".into());
    }
    Ok(attributes)
}

/// `attributes`, overridden by the deprecated single-purpose annotations where both set a key:
/// the AWS Load Balancer Controller merges them that way, and migrated manifests must not change
/// meaning. As there, the bucket annotations count only while `access-log-enabled` is true.
pub(super) fn load_balancer_attributes(a: &Annotations<'_>) -> Result<Attributes, BuildError> {
    let mut attributes = a.pairs("aws-load-balancer-attributes", false)?.unwrap_or_default();
    if a.bool("aws-load-balancer-access-log-enabled")? == Some(true) {
        attributes.insert("access_logs.s3.enabled".into(), "true".into());
        if let Some(bucket) = a.get("aws-load-balancer-access-log-s3-bucket-name") {
            attributes.insert("access_logs.s3.bucket".into(), bucket.into());
        }
        if let Some(prefix) = a.get("aws-load-balancer-access-log-s3-bucket-prefix") {
            attributes.insert("access_logs.s3.prefix".into(), prefix.into());
        }
    }
    if let Some(enabled) = a.bool("aws-load-balancer-cross-zone-load-balancing-enabled")? {
        attributes.insert("load_balancing.cross_zone.enabled".into(), enabled.to_string());
    }
    Ok(attributes)
}
