//! Waiting for eventual consistency in tests: controllers act on their own time, so a test polls
//! for the state it expects and fails, naming what it waited for, when a deadline passes.

use std::time::Duration;

/// How long [`eventually`] waits: generous, because CI machines are slow and a passing test
/// returns as soon as the state is reached.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `check` every 50 ms until it returns `Some`, and returns that; panics after [`DEADLINE`].
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {DEADLINE:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
