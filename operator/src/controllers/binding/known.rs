//! What the binding controller knows of each binding's target group between reconciles: the
//! group as DescribeTargetGroups found it, the targets registered with it (DescribeTargetHealth,
//! kept up to date by every batch since) and which of them the binding registered itself. A
//! reconcile that finds the desired targets equal to the known ones makes no AWS call; the copy is
//! read again once the drift period has passed, or after a failed call (whose effect is unknown).
//!
//! The binding's own targets outlive the process in its status (`status.registeredTargets`,
//! written before each registration, so a crash after it leaves them recorded); the copy here is
//! the one a reconcile trusts, since the object a reconcile is handed may not show the status it
//! wrote a moment before.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use elbow_builder::binding::BoundGroup;
use elbow_model::Target;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Known {
    pub group: BoundGroup,
    /// Registered with the group, draining ones left out. Sorted.
    pub registered: Vec<Target>,
    /// Registered by this binding, sorted: the only targets it ever deregisters.
    pub owned: Vec<Target>,
    /// When `group` and `registered` were read; `None` once a call failed.
    pub read_at: Option<Instant>,
}

/// [`Known`] by binding uid.
#[derive(Debug, Default)]
pub struct KnownGroups {
    by_uid: Mutex<HashMap<String, Known>>,
}

impl KnownGroups {
    /// What is known of the binding `uid`, when read within `drift`.
    pub fn fresh(&self, uid: &str, drift: Duration) -> Option<Known> {
        let known = self.lock();
        known.get(uid).filter(|k| k.read_at.is_some_and(|at| at.elapsed() < drift)).cloned()
    }

    /// The binding's own targets as last known in this process, fresh or not.
    pub fn owned(&self, uid: &str) -> Option<Vec<Target>> {
        self.lock().get(uid).map(|k| k.owned.clone())
    }

    pub fn keep(&self, uid: &str, known: Known) {
        self.lock().insert(uid.to_string(), known);
    }

    pub fn forget(&self, uid: &str) {
        self.lock().remove(uid);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        // Each access inserts, clones or removes one entry: a panic elsewhere cannot tear it.
        self.by_uid.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use elbow_builder::binding::TargetGroupIpAddressType;
    use elbow_model::TargetType;

    use super::*;

    fn known(read_at: Option<Instant>) -> Known {
        Known {
            group: BoundGroup {
                arn: "arn:tg".into(),
                target_type: TargetType::Ip,
                ip_address_type: TargetGroupIpAddressType::Ipv4,
                vpc_id: "vpc-1".into(),
                protocol: elbow_model::Protocol::Tcp,
            },
            registered: vec![],
            owned: vec![Target::new("10.0.0.1", 80)],
            read_at,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_copy_is_trusted_within_the_drift_period_and_owned_targets_always() {
        let groups = KnownGroups::default();
        groups.keep("u1", known(Some(Instant::now())));
        assert!(groups.fresh("u1", Duration::from_secs(60)).is_some());
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(groups.fresh("u1", Duration::from_secs(60)).is_none(), "read again after the drift period");
        groups.keep("u2", known(None));
        assert!(groups.fresh("u2", Duration::from_secs(60)).is_none(), "read again after a failure");
        assert_eq!(groups.owned("u2").map(|o| o.len()), Some(1), "but its own targets are remembered");
        groups.forget("u2");
        assert_eq!(groups.owned("u2"), None);
    }
}
