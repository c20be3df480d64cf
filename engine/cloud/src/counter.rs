//! Counts of API requests by action: what the benchmarks print, what tests assert ("no mutating
//! call on a no-op resync"), and what metrics export. Every implementation of the cloud trait
//! records each request it sends, one per page or batch.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::api::Api;

#[derive(Debug, Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<Api, u64>>,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self, api: Api) {
        *self.lock().entry(api).or_default() += 1;
    }

    /// Requests per action since the last reset; actions never called are absent.
    pub fn snapshot(&self) -> BTreeMap<Api, u64> {
        self.lock().clone()
    }

    pub fn count(&self, api: Api) -> u64 {
        self.lock().get(&api).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    pub fn mutating(&self) -> u64 {
        self.lock().iter().filter(|(api, _)| api.is_mutating()).map(|(_, n)| n).sum()
    }

    pub fn reset(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Api, u64>> {
        // A panic while holding this lock cannot leave the map half-updated (each update is one
        // insert), so a poisoned lock is still a valid count.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_by_action_and_splits_out_mutations() {
        let counter = CallCounter::new();
        counter.record(Api::DescribeTags);
        counter.record(Api::DescribeTags);
        counter.record(Api::CreateLoadBalancer);
        assert_eq!(counter.count(Api::DescribeTags), 2);
        assert_eq!(counter.total(), 3);
        assert_eq!(counter.mutating(), 1);
        counter.reset();
        assert_eq!(counter.total(), 0);
    }
}
