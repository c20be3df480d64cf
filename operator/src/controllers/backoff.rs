//! Per-object retry delays: each object that keeps failing waits longer before its next attempt
//! (5 s doubling to 5 min, in the spirit of the cloud provider's service controller), without slowing the objects that succeed.
//!
//! kube-runtime's own backoff types pace watch re-connections, not per-object requeues, and the
//! `backon` crate (used for cloud-call retries) iterates delays inside one call; a requeue delay
//! must survive between reconciles, so this is a small table of failure counts keyed by object.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct BackoffPolicy {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self { initial: Duration::from_secs(5), max: Duration::from_secs(300) }
    }
}

impl BackoffPolicy {
    /// The delay after the `failures`-th consecutive failure (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }
}

/// Consecutive failures per object.
#[derive(Debug)]
pub struct ObjectBackoff<K> {
    policy: BackoffPolicy,
    failures: Mutex<HashMap<K, u32>>,
}

impl<K: Eq + Hash + Clone> ObjectBackoff<K> {
    pub fn new(policy: BackoffPolicy) -> Self {
        Self { policy, failures: Mutex::new(HashMap::new()) }
    }

    /// Records a failure of `key` and returns how long it should wait.
    pub fn failed(&self, key: &K) -> Duration {
        let mut failures = self.lock();
        let count = failures.entry(key.clone()).or_default();
        *count = count.saturating_add(1);
        self.policy.delay(*count)
    }

    /// Forgets `key`'s failures after it succeeded (or went away).
    pub fn succeeded(&self, key: &K) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, u32>> {
        // Each update is a single insert or remove, so a poisoned map is still consistent.
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_five_seconds_up_to_five_minutes() {
        let policy = BackoffPolicy::default();
        let delays: Vec<u64> = (1..=9).map(|n| policy.delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn each_object_backs_off_on_its_own_and_success_resets_it() {
        let backoff = ObjectBackoff::new(BackoffPolicy::default());
        assert_eq!(backoff.failed(&"a"), Duration::from_secs(5));
        assert_eq!(backoff.failed(&"a"), Duration::from_secs(10));
        assert_eq!(backoff.failed(&"b"), Duration::from_secs(5));
        backoff.succeeded(&"a");
        assert_eq!(backoff.failed(&"a"), Duration::from_secs(5));
    }
}
