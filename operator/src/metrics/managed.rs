//! The `managed_load_balancers` gauge, kept from the answers of the cloud calls Elbow makes anyway
//! (no extra call): the load balancers known to carry this cluster's ownership tag.
//!
//! It learns of a load balancer when Elbow creates one with the tag or reads the tag back
//! (the deployer reads every load balancer's tags when it builds its index, at the first deploy
//! after start and once per drift period), and forgets it when Elbow deletes it or a read shows it
//! gone or no longer tagged. So the count is what this replica has seen: a standby, which makes no
//! calls, reports 0, and a new leader reports its count from its first deploy on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use elbow_cloud::{Arn, LoadBalancer};
use elbow_model::Tags;
use elbow_model::tags::CLUSTER_TAG;
use prometheus_client::metrics::gauge::Gauge;

/// Shared by clones; see the module documentation.
#[derive(Debug, Clone)]
pub struct ManagedLoadBalancers {
    cluster: String,
    known: Arc<Mutex<BTreeSet<Arn>>>,
    gauge: Gauge,
}

impl ManagedLoadBalancers {
    pub(super) fn new(cluster: &str, gauge: Gauge) -> Self {
        Self { cluster: cluster.to_string(), known: Arc::default(), gauge }
    }

    /// A load balancer was created with `tags`.
    pub fn created(&self, load_balancer: &LoadBalancer, tags: &Tags) {
        if self.is_ours(tags) {
            self.update(|known| {
                known.insert(load_balancer.arn.clone());
            });
        }
    }

    pub fn deleted(&self, arn: &str) {
        self.update(|known| {
            known.remove(arn);
        });
    }

    /// The tags read for `asked`: a load balancer ARN left out of the answer no longer exists.
    pub fn tags_read(&self, asked: &[Arn], answer: &BTreeMap<Arn, Tags>) {
        self.update(|known| {
            for arn in asked.iter().filter(|arn| is_load_balancer(arn)) {
                match answer.get(arn) {
                    Some(tags) if self.is_ours(tags) => known.insert(arn.clone()),
                    _ => known.remove(arn),
                };
            }
        });
    }

    /// Every load balancer of the account and region: known ones not among them are gone.
    pub fn all_listed(&self, load_balancers: &[LoadBalancer]) {
        let listed: BTreeSet<&str> = load_balancers.iter().map(|lb| lb.arn.as_str()).collect();
        self.update(|known| known.retain(|arn| listed.contains(arn.as_str())));
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    fn is_ours(&self, tags: &Tags) -> bool {
        tags.get(CLUSTER_TAG) == Some(&self.cluster)
    }

    fn update(&self, change: impl FnOnce(&mut BTreeSet<Arn>)) {
        let mut known = self.lock();
        change(&mut known);
        self.gauge.set(i64::try_from(known.len()).unwrap_or(i64::MAX));
    }

    fn lock(&self) -> MutexGuard<'_, BTreeSet<Arn>> {
        // Each change is one insert, remove or retain: a poisoned set is still a valid set.
        self.known.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/net/<name>/<id>`; target groups,
/// listeners and rules have other resource types.
fn is_load_balancer(arn: &str) -> bool {
    arn.contains(":loadbalancer/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(cluster: &str) -> Tags {
        Tags::from([(CLUSTER_TAG.to_string(), cluster.to_string())])
    }

    fn lb_arn(name: &str) -> Arn {
        format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/{name}/0123456789abcdef")
    }

    #[test]
    fn tags_read_back_add_ours_and_drop_the_gone_and_the_foreign() {
        let gauge = Gauge::default();
        let managed = ManagedLoadBalancers::new("prod", gauge.clone());
        let (a, b, c) = (lb_arn("a"), lb_arn("b"), lb_arn("c"));
        let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/0123".to_string();
        let answer =
            BTreeMap::from([(a.clone(), tags("prod")), (b.clone(), tags("other")), (tg.clone(), tags("prod"))]);
        managed.tags_read(&[a.clone(), b.clone(), c.clone(), tg], &answer);
        assert_eq!(gauge.get(), 1, "only a: b belongs to another cluster, c is gone, tg is no load balancer");

        managed.tags_read(std::slice::from_ref(&a), &BTreeMap::new());
        assert_eq!(gauge.get(), 0, "a no longer exists");
    }

    #[test]
    fn a_full_listing_forgets_load_balancers_deleted_behind_our_back() {
        let gauge = Gauge::default();
        let managed = ManagedLoadBalancers::new("prod", gauge.clone());
        let (a, b) = (lb_arn("a"), lb_arn("b"));
        managed.tags_read(&[a.clone(), b.clone()], &BTreeMap::from([(a, tags("prod")), (b.clone(), tags("prod"))]));
        assert_eq!(managed.count(), 2);
        managed.deleted(&b);
        assert_eq!(gauge.get(), 1);
        managed.all_listed(&[]);
        assert_eq!(gauge.get(), 0);
    }
}
