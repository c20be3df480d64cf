//! Load balancer and target group attributes: the `attributes` and `target-group-attributes`
//! annotations, the older single-purpose annotations that set one attribute each, and
//! `proxy-protocol-per-target-group`.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ServicePort;

use crate::annotations::{Annotations, split_list};
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

pub(super) const PROXY_PROTOCOL_V2: &str = "proxy_protocol_v2.enabled";
const PER_TARGET_GROUP: &str = "aws-load-balancer-proxy-protocol-per-target-group";

/// `proxy-protocol-per-target-group`: the Service ports (numbers) whose target groups speak proxy
/// protocol v2; the others' is turned off, over `target-group-attributes`, as in the AWS Load
/// Balancer Controller. `None` when the annotation is not set, or `proxy-protocol: *` turns it on
/// everywhere anyway (that one wins there too). A number that is no port of the Service is an
/// error, as a typo would otherwise leave proxy protocol off unnoticed.
pub(super) fn proxy_protocol_ports(
    a: &Annotations<'_>,
    ports: &[ServicePort],
) -> Result<Option<BTreeSet<u16>>, BuildError> {
    let Some(value) = a.get(PER_TARGET_GROUP) else { return Ok(None) };
    let mut listed = BTreeSet::new();
    for item in split_list(value) {
        let port = item.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            a.invalid(PER_TARGET_GROUP, value, &format!("comma-separated Service port numbers; {item:?} is not one"))
        })?;
        if !ports.iter().any(|p| p.port == i32::from(port)) {
            let have: Vec<String> = ports.iter().map(|p| p.port.to_string()).collect();
            return Err(a.invalid(
                PER_TARGET_GROUP,
                value,
                &format!(
                    "comma-separated Service port numbers; the Service has no port {port} (its ports: {})",
                    have.join(", ")
                ),
            ));
        }
        listed.insert(port);
    }
    Ok(a.get("aws-load-balancer-proxy-protocol").is_none().then_some(listed))
}
