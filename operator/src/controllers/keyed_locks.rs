//! One async lock per key: reconciles of different Ingresses in the same group take turns, so a
//! group's ALB is never deployed by two reconciles at once, while other groups go on in parallel.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

pub struct KeyedLocks<K> {
    locks: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K: Eq + Hash + Clone> KeyedLocks<K> {
    pub fn new() -> Self {
        Self { locks: Mutex::new(HashMap::new()) }
    }

    /// Waits for `key`'s lock. Locks nobody holds or waits for are dropped on the way, so the map
    /// holds only groups in use.
    pub async fn lock(&self, key: &K) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            locks.entry(key.clone()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

impl<K: Eq + Hash + Clone> Default for KeyedLocks<K> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_same_key_waits_and_other_keys_do_not() {
        let locks = Arc::new(KeyedLocks::new());
        let held = locks.lock(&"a").await;
        let other = tokio::time::timeout(Duration::from_millis(100), locks.lock(&"b")).await;
        assert!(other.is_ok(), "another key is free");
        let same = tokio::time::timeout(Duration::from_millis(100), locks.lock(&"a")).await;
        assert!(same.is_err(), "the same key waits");
        drop(held);
        let same = tokio::time::timeout(Duration::from_millis(100), locks.lock(&"a")).await;
        assert!(same.is_ok(), "and gets it once released");
    }
}
