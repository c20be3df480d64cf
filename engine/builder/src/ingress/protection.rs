//! The group's web ACLs and Shield Advanced protection, from the members' annotations, with the
//! AWS Load Balancer Controller's meaning: each one absent leaves the load balancer's setting as
//! it is, `none` (or `false` for Shield) removes it, members that set one must agree, and a
//! `wafv2-acl-name` anywhere in the group wins over every `wafv2-acl-arn`. The IngressClassParams
//! `wafv2AclName` and `wafv2AclArn` take part too (see [`wafv2`]).

use crate::crd::IngressClassParamsSpec;
use crate::error::BuildError;
use crate::ingress::group::Member;
use crate::ingress::settings::{Shown, agreed};
use elbow_model::{Protection, WafClassicWebAcl, Wafv2WebAcl};

/// The value that removes an association.
const NONE: &str = "none";

const NAME_EXPECTED: &str = "a WAFv2 web ACL name (letters, digits, _ and -) or none";
const ARN_EXPECTED: &str =
    "the ARN of a regional WAFv2 web ACL (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>) or none";

/// The group's WAFv2 web ACL, in the AWS Load Balancer Controller's order: the class's
/// `wafv2AclName`, the members' `wafv2-acl-name`, the class's `wafv2AclArn`, the members'
/// `wafv2-acl-arn`. (A name annotation beats the class's ARN: LBC reads names before ARNs.)
fn wafv2(members: &[Member<'_>], params: Option<&IngressClassParamsSpec>) -> Result<Option<Wafv2WebAcl>, BuildError> {
    let field =
        |field: &str, value: Option<&String>, parse: fn(&str) -> Option<Wafv2WebAcl>, expected: &str| match value
            .filter(|v| !v.is_empty())
        {
            None => Ok(None),
            Some(value) => parse(value).map(Some).ok_or_else(|| BuildError::InvalidParameter {
                field: field.into(),
                value: value.clone(),
                expected: expected.into(),
            }),
        };
    if let Some(acl) =
        field("wafv2AclName", params.and_then(|p| p.wafv2_acl_name.as_ref()), web_acl_by_name, NAME_EXPECTED)?
    {
        return Ok(Some(acl));
    }
    let by_name =
        agreed(members, "wafv2-acl-name", |m| m.annotations().parse("wafv2-acl-name", NAME_EXPECTED, web_acl_by_name))?;
    if by_name.is_some() {
        return Ok(by_name);
    }
    if let Some(acl) =
        field("wafv2AclArn", params.and_then(|p| p.wafv2_acl_arn.as_ref()), web_acl_by_arn, ARN_EXPECTED)?
    {
        return Ok(Some(acl));
    }
    agreed(members, "wafv2-acl-arn", |m| m.annotations().parse("wafv2-acl-arn", ARN_EXPECTED, web_acl_by_arn))
}

fn web_acl_by_name(value: &str) -> Option<Wafv2WebAcl> {
    if value == NONE {
        Some(Wafv2WebAcl::None)
    } else {
        is_web_acl_name(value).then(|| Wafv2WebAcl::Name(value.to_string()))
    }
}

fn web_acl_by_arn(value: &str) -> Option<Wafv2WebAcl> {
    if value == NONE {
        Some(Wafv2WebAcl::None)
    } else {
        is_regional_web_acl_arn(value).then(|| Wafv2WebAcl::Arn(value.to_string()))
    }
}

pub(crate) fn read(members: &[Member<'_>], params: Option<&IngressClassParamsSpec>) -> Result<Protection, BuildError> {
    let wafv2 = wafv2(members, params)?;
    let waf_classic = agreed(members, "waf-acl-id", |m| {
        let annotations = m.annotations();
        let id = annotations.get("waf-acl-id").or_else(|| annotations.get("web-acl-id"));
        Ok(id.map(|id| if id == NONE { WafClassicWebAcl::None } else { WafClassicWebAcl::Id(id.to_string()) }))
    })?;
    let shield_advanced =
        agreed(members, "shield-advanced-protection", |m| m.annotations().bool("shield-advanced-protection"))?;
    Ok(Protection { wafv2, waf_classic, shield_advanced })
}

/// WAFv2's rule for names: 1 to 128 letters, digits, `_` and `-`.
fn is_web_acl_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `arn:<partition>:wafv2:<region>:<account>:regional/webacl/<name>/<id>`. A CloudFront web ACL
/// (`global/webacl/...`) cannot protect a load balancer, so it is refused here rather than by AWS.
fn is_regional_web_acl_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else { return false };
    let path: Vec<&str> = resource.split('/').collect();
    *prefix == "arn"
        && partition.starts_with("aws")
        && *service == "wafv2"
        && !region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && matches!(path.as_slice(), ["regional", "webacl", name, id] if is_web_acl_name(name) && !id.is_empty())
}

impl Shown for Wafv2WebAcl {
    fn shown(&self) -> String {
        match self {
            Self::Arn(value) | Self::Name(value) => value.clone(),
            Self::None => NONE.to_string(),
        }
    }
}

impl Shown for WafClassicWebAcl {
    fn shown(&self) -> String {
        match self {
            Self::Id(id) => id.clone(),
            Self::None => NONE.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regional_wafv2_web_acl_arns_are_taken() {
        for good in [
            "arn:aws:wafv2:us-west-2:123456789012:regional/webacl/shop-acl/3ab78708-85b0-49d3-b4e1-7a9615a6613b",
            "arn:aws-cn:wafv2:cn-north-1:123456789012:regional/webacl/a_b/x",
        ] {
            assert!(is_regional_web_acl_arn(good), "{good}");
        }
        for bad in [
            "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn/3ab78708",
            "arn:aws:waf-regional:us-west-2:123456789012:webacl/3ab78708",
            "arn:aws:wafv2:us-west-2:1234:regional/webacl/shop/3ab78708",
            "arn:aws:wafv2:us-west-2:123456789012:regional/ipset/shop/3ab78708",
            "arn:aws:wafv2::123456789012:regional/webacl/shop/3ab78708",
            "shop-acl",
        ] {
            assert!(!is_regional_web_acl_arn(bad), "{bad}");
        }
        assert!(is_web_acl_name(&"a".repeat(128)) && !is_web_acl_name(&"a".repeat(129)) && !is_web_acl_name("a b"));
    }
}
