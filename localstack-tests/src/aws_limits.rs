//! The request-rate token buckets AWS documents for the ELBv2 and EC2 APIs, as the fault proxy
//! enforces them (`FaultPlan::aws_rate_limits`).
//!
//! EC2, "Request throttling for the Amazon EC2 API": each API action has a bucket of its own
//! ("each API is evaluated individually"), sized by its category: non-mutating actions 100 tokens
//! refilled at 20/s; `DescribeInstances`, `DescribeSecurityGroups` and a few others asked without
//! a filter and without pagination 50 at 10/s; mutating actions 50 at 5/s; the resource-intensive
//! `AuthorizeSecurityGroupIngress` and `RevokeSecurityGroupIngress` 50 at 5/s, throttled
//! separately; `CreateTags` and `DeleteTags` (uncategorized) 100 at 10/s.
//!
//! ELBv2, "Request throttling for the Elastic Load Balancing API": categories with their own
//! limits, resource-intensive (`CreateLoadBalancer`, `SetSubnets`) 10 tokens refilled at 0.2/s,
//! registration (`RegisterTargets`, `DeregisterTargets`) 20 at 4/s, non-mutating (`Describe*`) 40
//! at 10/s, mutating (the rest Elbow calls) 20 at 3/s; and an account-level bucket shared by every
//! ELBv2 action, 40 at 10/s. The page does not say whether a category is one bucket for all its
//! actions or one per action; like EC2's page, the proxy gives each action its own bucket of the
//! category's size, and the account-level bucket caps their sum.
//!
//! A request takes one token from each of its buckets; when one is empty it is refused
//! (`Throttling` / `RequestLimitExceeded`) and takes nothing.

use std::collections::BTreeMap;
use std::fmt;

use tokio::time::Instant;

use crate::fault_proxy::Service;

/// Capacity and refill rate (tokens per second) of a bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSpec {
    pub capacity: f64,
    pub refill: f64,
    /// A bucket of mutating calls: what the floor of a campaign is computed from.
    pub mutating: bool,
}

/// One bucket: an action's (`CreateLoadBalancer`), an action's smaller unfiltered one
/// (`DescribeSecurityGroups (unfiltered)`) or ELBv2's account-level one (`account`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketId {
    pub service: Service,
    pub name: String,
}

impl fmt::Display for BucketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.service, self.name)
    }
}

const ELBV2_ACCOUNT: BucketSpec = BucketSpec { capacity: 40.0, refill: 10.0, mutating: false };

/// The EC2 actions with a smaller bucket when asked without a filter and without pagination.
const EC2_UNFILTERED: [&str; 7] = [
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DescribeNetworkInterfaces",
    "DescribeSecurityGroups",
    "DescribeSnapshots",
    "DescribeSpotInstanceRequests",
    "DescribeVolumes",
];

fn non_mutating(action: &str) -> bool {
    ["Describe", "List", "Search", "Get"].iter().any(|p| action.starts_with(p))
}

/// The buckets a request draws from: its action's, and for ELBv2 the account's. `body` is the
/// query-protocol body (`Action=...&Filter.1.Name=...`), for EC2's filter and pagination rule.
pub fn buckets(service: Service, action: &str, body: &str) -> Vec<(BucketId, BucketSpec)> {
    let id = |name: String| BucketId { service, name };
    match service {
        Service::Elbv2 => {
            let spec = match action {
                "CreateLoadBalancer" | "SetSubnets" => BucketSpec { capacity: 10.0, refill: 0.2, mutating: true },
                "RegisterTargets" | "DeregisterTargets" => BucketSpec { capacity: 20.0, refill: 4.0, mutating: true },
                a if non_mutating(a) => BucketSpec { capacity: 40.0, refill: 10.0, mutating: false },
                _ => BucketSpec { capacity: 20.0, refill: 3.0, mutating: true },
            };
            vec![(id(action.to_string()), spec), (id("account".to_string()), ELBV2_ACCOUNT)]
        }
        Service::Ec2 => {
            let filtered_or_paged = ["Filter.", "MaxResults=", "NextToken="].iter().any(|p| body.contains(p));
            let (name, spec) = match action {
                a if EC2_UNFILTERED.contains(&a) && !filtered_or_paged => {
                    (format!("{a} (unfiltered)"), BucketSpec { capacity: 50.0, refill: 10.0, mutating: false })
                }
                a if non_mutating(a) => (a.to_string(), BucketSpec { capacity: 100.0, refill: 20.0, mutating: false }),
                "CreateTags" | "DeleteTags" => {
                    (action.to_string(), BucketSpec { capacity: 100.0, refill: 10.0, mutating: true })
                }
                // Resource-intensive (Authorize/RevokeSecurityGroupIngress) and mutating actions
                // have the same size: 50 at 5/s.
                _ => (action.to_string(), BucketSpec { capacity: 50.0, refill: 5.0, mutating: true }),
            };
            vec![(id(name), spec)]
        }
        Service::Other => Vec::new(),
    }
}

/// Every bucket's tokens, and what each admitted.
#[derive(Debug, Default)]
pub struct Buckets {
    tokens: BTreeMap<BucketId, (f64, Instant)>,
}

impl Buckets {
    /// Takes a token from each of `buckets` if every one has one; `false` (and nothing taken)
    /// otherwise.
    pub fn take(&mut self, buckets: &[(BucketId, BucketSpec)], now: Instant) -> bool {
        let mut available = true;
        for (id, spec) in buckets {
            let (tokens, at) = self.tokens.entry(id.clone()).or_insert((spec.capacity, now));
            *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * spec.refill).min(spec.capacity);
            *at = now;
            available &= *tokens >= 1.0;
        }
        if available {
            for (id, _) in buckets {
                if let Some((tokens, _)) = self.tokens.get_mut(id) {
                    *tokens -= 1.0;
                }
            }
        }
        available
    }
}

/// The least time `admitted` calls take through `spec`'s bucket, starting full: what is beyond
/// its capacity arrives at its refill rate.
pub fn floor_seconds(admitted: u64, spec: BucketSpec) -> f64 {
    (admitted as f64 - spec.capacity).max(0.0) / spec.refill
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn actions_draw_from_the_buckets_aws_documents() {
        let names = |service, action, body| {
            buckets(service, action, body)
                .into_iter()
                .map(|(id, s)| (id.name, s.capacity, s.refill))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(Service::Elbv2, "CreateLoadBalancer", ""),
            [("CreateLoadBalancer".to_string(), 10.0, 0.2), ("account".to_string(), 40.0, 10.0)]
        );
        assert_eq!(names(Service::Elbv2, "CreateListener", "")[0], ("CreateListener".to_string(), 20.0, 3.0));
        assert_eq!(names(Service::Elbv2, "RegisterTargets", "")[0], ("RegisterTargets".to_string(), 20.0, 4.0));
        assert_eq!(names(Service::Elbv2, "DescribeTags", "")[0], ("DescribeTags".to_string(), 40.0, 10.0));
        assert_eq!(
            names(Service::Ec2, "DescribeSecurityGroups", "Action=DescribeSecurityGroups&GroupId.1=sg-1"),
            [("DescribeSecurityGroups (unfiltered)".to_string(), 50.0, 10.0)]
        );
        assert_eq!(
            names(Service::Ec2, "DescribeSecurityGroups", "Action=DescribeSecurityGroups&Filter.1.Name=tag:a"),
            [("DescribeSecurityGroups".to_string(), 100.0, 20.0)]
        );
        assert_eq!(
            names(Service::Ec2, "AuthorizeSecurityGroupIngress", ""),
            [("AuthorizeSecurityGroupIngress".to_string(), 50.0, 5.0)]
        );
        assert_eq!(names(Service::Ec2, "CreateTags", ""), [("CreateTags".to_string(), 100.0, 10.0)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_admits_its_capacity_at_once_then_its_refill_rate_and_an_empty_one_takes_nothing() {
        let mut state = Buckets::default();
        let create = buckets(Service::Elbv2, "CreateLoadBalancer", "");
        let start = Instant::now();
        let admitted = (0..20).filter(|_| state.take(&create, start)).count();
        assert_eq!(admitted, 10, "the capacity");
        // The account-level bucket lost only the admitted calls: 30 of its 40 tokens are left.
        let describe = buckets(Service::Elbv2, "DescribeTags", "");
        assert_eq!((0..40).filter(|_| state.take(&describe, start)).count(), 30);
        assert!(!state.take(&create, start + Duration::from_secs(4)), "0.8 of a token");
        assert!(state.take(&create, start + Duration::from_secs(5)), "one token after five seconds");
        assert_eq!(floor_seconds(300, create[0].1), 1450.0);
        assert_eq!(floor_seconds(5, create[0].1), 0.0);
    }
}
