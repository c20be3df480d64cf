//! [`Api`], every AWS API action Elbow can call, and what is derived from it beyond the action list
//! in the crate root (which makes the enum itself): IAM names, rate-limit families, read or write.
//! Shared by the SDK implementation, the in-memory fake, the call counters, the rate limiter and
//! the IAM policy test.

use serde::Serialize;

pub use crate::Api;

/// Which client-side rate-limit bucket an action draws from (the AWS Load Balancer Controller's
/// client-side defaults; see `RateLimits::aws_defaults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ApiFamily {
    /// ELBv2 Describe* calls.
    Elbv2Describe,
    /// ELBv2 Register/DeregisterTargets.
    Elbv2Targets,
    /// Every other mutating ELBv2 call.
    Elbv2Modify,
    /// EC2 Describe* calls.
    Ec2Describe,
    /// Mutating EC2 calls.
    Ec2Modify,
    /// ACM ListCertificates, DescribeCertificate.
    AcmRead,
    /// WAFv2 reads (GetWebACLForResource, ListWebACLs).
    Wafv2Read,
    /// WAFv2 Associate/DisassociateWebACL.
    Wafv2Modify,
    /// WAF Classic Regional GetWebACLForResource.
    WafRegionalRead,
    /// WAF Classic Regional Associate/DisassociateWebACL.
    WafRegionalModify,
    /// Shield GetSubscriptionState, DescribeProtection.
    ShieldRead,
    /// Shield Create/DeleteProtection.
    ShieldModify,
}

impl Api {
    /// `elasticloadbalancing:CreateLoadBalancer`, as an IAM policy names it.
    pub fn iam_action(self) -> String {
        format!("{}:{}", self.service(), self.name())
    }

    /// Whether the call changes anything in the cloud.
    pub fn is_mutating(self) -> bool {
        !matches!(
            self.family(),
            ApiFamily::Elbv2Describe
                | ApiFamily::Ec2Describe
                | ApiFamily::AcmRead
                | ApiFamily::Wafv2Read
                | ApiFamily::WafRegionalRead
                | ApiFamily::ShieldRead
        )
    }
}

/// A permission AWS checks with Elbow's credentials on its behalf, though Elbow never calls the
/// action itself: the IAM policy must grant it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelegatedPermission {
    /// As an IAM policy names it.
    pub iam_action: &'static str,
    /// The calls that need it.
    pub needed_by: &'static [Api],
    pub why: &'static str,
}

/// Every [`DelegatedPermission`].
pub const DELEGATED_PERMISSIONS: &[DelegatedPermission] = &[
    DelegatedPermission {
        iam_action: "cognito-idp:DescribeUserPoolClient",
        needed_by: &[Api::CreateListener, Api::ModifyListener, Api::CreateRule, Api::ModifyRule],
        why: "ELBv2 reads the user pool client of an authenticate-cognito action with the caller's permissions \
              (the AWS Load Balancer Controller's reference policy grants it for this)",
    },
    DelegatedPermission {
        iam_action: "elasticloadbalancing:SetWebAcl",
        needed_by: &[
            Api::AssociateWebACL,
            Api::DisassociateWebACL,
            Api::WafRegionalAssociateWebACL,
            Api::WafRegionalDisassociateWebACL,
        ],
        why: "WAF sets the web ACL on the load balancer with the caller's permissions: associating a web ACL \
              with an Application Load Balancer (WAFv2 and WAF Classic alike) needs this ELBv2 permission too",
    },
];

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_describe_get_and_list_calls_are_read_only() {
        for api in Api::ALL {
            let reads = ["Describe", "Get", "List"].iter().any(|verb| api.name().starts_with(verb));
            assert_eq!(api.is_mutating(), !reads, "{api}");
        }
    }

    #[test]
    fn iam_actions_carry_the_service_prefix() {
        assert_eq!(Api::CreateLoadBalancer.iam_action(), "elasticloadbalancing:CreateLoadBalancer");
        assert_eq!(Api::AuthorizeSecurityGroupIngress.iam_action(), "ec2:AuthorizeSecurityGroupIngress");
        assert_eq!(Api::AssociateWebACL.iam_action(), "wafv2:AssociateWebACL");
        assert_eq!(Api::WafRegionalAssociateWebACL.iam_action(), "waf-regional:AssociateWebACL");
        assert_eq!(Api::GetSubscriptionState.iam_action(), "shield:GetSubscriptionState");
    }

    #[test]
    fn no_two_actions_share_a_service_and_name() {
        let mut seen = std::collections::BTreeSet::new();
        for api in Api::ALL {
            assert!(seen.insert(api.iam_action()), "{api:?} repeats {}", api.iam_action());
        }
    }
}
