//! Every AWS API action Elbow can call: one list, shared by the SDK implementation, the in-memory
//! fake, the call counters, the rate limiter and (later) the IAM policy test.

use serde::Serialize;

/// Which client-side rate-limit bucket an action draws from (the AWS Load Balancer Controller's client-side defaults; see
/// `RateLimits::aws_defaults`).
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
}

macro_rules! apis {
    ($( $variant:ident => $service:literal, $family:ident; )*) => {
        /// One AWS API action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum Api {
            $( $variant, )*
        }

        impl Api {
            pub const ALL: &'static [Api] = &[ $( Api::$variant, )* ];

            /// The action's name as AWS spells it, e.g. `CreateLoadBalancer`.
            pub fn name(self) -> &'static str {
                match self {
                    $( Api::$variant => stringify!($variant), )*
                }
            }

            /// The IAM service prefix: `elasticloadbalancing` or `ec2`.
            pub fn service(self) -> &'static str {
                match self {
                    $( Api::$variant => $service, )*
                }
            }

            pub fn family(self) -> ApiFamily {
                match self {
                    $( Api::$variant => ApiFamily::$family, )*
                }
            }
        }
    };
}

apis! {
    DescribeLoadBalancers => "elasticloadbalancing", Elbv2Describe;
    DescribeLoadBalancerAttributes => "elasticloadbalancing", Elbv2Describe;
    DescribeTargetGroups => "elasticloadbalancing", Elbv2Describe;
    DescribeTargetGroupAttributes => "elasticloadbalancing", Elbv2Describe;
    DescribeTargetHealth => "elasticloadbalancing", Elbv2Describe;
    DescribeListeners => "elasticloadbalancing", Elbv2Describe;
    DescribeRules => "elasticloadbalancing", Elbv2Describe;
    DescribeTags => "elasticloadbalancing", Elbv2Describe;
    CreateLoadBalancer => "elasticloadbalancing", Elbv2Modify;
    DeleteLoadBalancer => "elasticloadbalancing", Elbv2Modify;
    SetSecurityGroups => "elasticloadbalancing", Elbv2Modify;
    SetSubnets => "elasticloadbalancing", Elbv2Modify;
    SetIpAddressType => "elasticloadbalancing", Elbv2Modify;
    ModifyLoadBalancerAttributes => "elasticloadbalancing", Elbv2Modify;
    CreateTargetGroup => "elasticloadbalancing", Elbv2Modify;
    ModifyTargetGroup => "elasticloadbalancing", Elbv2Modify;
    ModifyTargetGroupAttributes => "elasticloadbalancing", Elbv2Modify;
    DeleteTargetGroup => "elasticloadbalancing", Elbv2Modify;
    RegisterTargets => "elasticloadbalancing", Elbv2Targets;
    DeregisterTargets => "elasticloadbalancing", Elbv2Targets;
    CreateListener => "elasticloadbalancing", Elbv2Modify;
    ModifyListener => "elasticloadbalancing", Elbv2Modify;
    DeleteListener => "elasticloadbalancing", Elbv2Modify;
    CreateRule => "elasticloadbalancing", Elbv2Modify;
    ModifyRule => "elasticloadbalancing", Elbv2Modify;
    SetRulePriorities => "elasticloadbalancing", Elbv2Modify;
    DeleteRule => "elasticloadbalancing", Elbv2Modify;
    AddTags => "elasticloadbalancing", Elbv2Modify;
    RemoveTags => "elasticloadbalancing", Elbv2Modify;
    DescribeSubnets => "ec2", Ec2Describe;
    DescribeInstances => "ec2", Ec2Describe;
    DescribeSecurityGroups => "ec2", Ec2Describe;
    DescribeSecurityGroupRules => "ec2", Ec2Describe;
    CreateSecurityGroup => "ec2", Ec2Modify;
    DeleteSecurityGroup => "ec2", Ec2Modify;
    AuthorizeSecurityGroupIngress => "ec2", Ec2Modify;
    RevokeSecurityGroupIngress => "ec2", Ec2Modify;
    CreateTags => "ec2", Ec2Modify;
    DeleteTags => "ec2", Ec2Modify;
}

impl Api {
    /// `elasticloadbalancing:CreateLoadBalancer`, as an IAM policy names it.
    pub fn iam_action(self) -> String {
        format!("{}:{}", self.service(), self.name())
    }

    /// Whether the call changes anything in the cloud.
    pub fn is_mutating(self) -> bool {
        !matches!(self.family(), ApiFamily::Elbv2Describe | ApiFamily::Ec2Describe)
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_describe_calls_are_read_only() {
        for api in Api::ALL {
            assert_eq!(api.is_mutating(), !api.name().starts_with("Describe"), "{api}");
        }
    }

    #[test]
    fn iam_actions_carry_the_service_prefix() {
        assert_eq!(Api::CreateLoadBalancer.iam_action(), "elasticloadbalancing:CreateLoadBalancer");
        assert_eq!(Api::AuthorizeSecurityGroupIngress.iam_action(), "ec2:AuthorizeSecurityGroupIngress");
    }
}
