//! An answer kept until a deadline: how the deployer remembers what the cloud says of the whole
//! account (certificates, trust stores, web ACLs, the Shield subscription) instead of asking it
//! once per stack. Time is tokio's, so tests can move it on.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub(crate) struct Expiring<V> {
    value: V,
    until: Instant,
}

impl<V> Expiring<V> {
    /// `value`, trusted for `ttl` from now.
    pub(crate) fn new(value: V, ttl: Duration) -> Self {
        Self { value, until: Instant::now() + ttl }
    }

    /// The value while it is trusted.
    pub(crate) fn fresh(&self) -> Option<&V> {
        (Instant::now() < self.until).then_some(&self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_value_is_fresh_until_its_ttl_has_passed() {
        let kept = Expiring::new(7, Duration::from_secs(60));
        assert_eq!(kept.fresh(), Some(&7));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(kept.fresh(), Some(&7));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(kept.fresh(), None);
    }
}
