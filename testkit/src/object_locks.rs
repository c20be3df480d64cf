//! One writer at a time per object, for writes that leave the store's lock while admission
//! webhooks are called: without it, a second write landing between an update's webhook calls and
//! its commit would fail the first with a 409 that kube-apiserver (which retries such updates)
//! does not give.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Gate = Arc<tokio::sync::Mutex<()>>;

#[derive(Debug, Default)]
pub struct ObjectLocks {
    gates: Mutex<HashMap<String, Gate>>,
}

/// Held while one object is written; the next writer of it waits.
pub struct ObjectGuard<'a> {
    locks: &'a ObjectLocks,
    key: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl ObjectLocks {
    pub async fn lock(&self, key: String) -> ObjectGuard<'_> {
        let gate = self.gates.lock().unwrap_or_else(|p| p.into_inner()).entry(key.clone()).or_default().clone();
        let guard = gate.lock_owned().await;
        ObjectGuard { locks: self, key, guard: Some(guard) }
    }
}

impl Drop for ObjectGuard<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut gates = self.locks.gates.lock().unwrap_or_else(|p| p.into_inner());
        // Nobody else holds or waits for it: forget it, so the map holds only objects in use.
        if gates.get(&self.key).is_some_and(|gate| Arc::strong_count(gate) == 1) {
            gates.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_second_writer_of_the_same_object_waits_and_others_do_not() {
        let locks = Arc::new(ObjectLocks::default());
        let first = locks.lock("a".into()).await;
        let _other = tokio::time::timeout(Duration::from_secs(1), locks.lock("b".into())).await.expect("b is free");
        let waiting = tokio::time::timeout(Duration::from_millis(50), locks.lock("a".into())).await;
        assert!(waiting.is_err(), "a is held");
        drop(first);
        let _again =
            tokio::time::timeout(Duration::from_secs(1), locks.lock("a".into())).await.expect("a is free again");
    }

    #[tokio::test]
    async fn gates_are_forgotten_once_unused() {
        let locks = ObjectLocks::default();
        drop(locks.lock("a".into()).await);
        assert!(locks.gates.lock().unwrap().is_empty());
    }
}
