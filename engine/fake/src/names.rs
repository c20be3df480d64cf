//! ELBv2's naming rules and AWS-shaped identifiers for the fake.

use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudError, CloudErrorKind, CloudResult};

pub(crate) const REGION: &str = "us-east-1";
pub(crate) const ACCOUNT: &str = "123456789012";

/// Load balancer and target group names: at most 32 characters, letters, digits and hyphens, no
/// hyphen at either end, not starting with `internal-`.
pub(crate) fn validate_elb_name(api: Api, name: &str) -> CloudResult<()> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with("internal-");
    if valid {
        Ok(())
    } else {
        Err(CloudError::new(
            api,
            CloudErrorKind::InvalidRequest,
            "ValidationError",
            format!("name '{name}' must be 1-32 letters, digits or hyphens, not starting or ending with a hyphen"),
        ))
    }
}

/// A 16-hex-digit id from a counter: deterministic, and unique within one fake (multiplying by an
/// odd constant is a bijection on u64), yet not obviously sequential.
pub(crate) fn hex_id(n: u64) -> String {
    format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// A 17-hex-digit EC2 id suffix (`sg-0...`, like AWS's newer ids), unique within one fake.
pub(crate) fn ec2_suffix(n: u64) -> String {
    format!("{:017x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

pub(crate) fn arn(resource: &str) -> String {
    format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:{resource}")
}
