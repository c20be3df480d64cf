//! How often the target health of pending gates is asked for: 1 s, doubling to 15 s, and back
//! to 1 s whenever a gate becomes pending (a new pod) or a pending gate's target group becomes
//! known.
//!
//! Why these figures: the first answer after a pod is registered is `initial`
//! (`Elb.RegistrationInProgress` or `Elb.InitialHealthChecking`), and turning healthy takes a
//! target at least its healthy threshold times the health-check interval (an NLB's default is
//! 3 × 10 s, an ALB's 2 × 15 s), often longer for an NLB's registration. Asking every second
//! early on shows the pod's progress within a second and catches the fast cases (short
//! intervals, an emulator), and costs four calls per target group before the delay reaches its
//! ceiling. The ceiling is the AWS Load Balancer Controller's fixed 15 s requeue while a gate is
//! pending, so a long wait costs what it costs there, one DescribeTargetHealth per target group
//! every 15 s, and a gate turns True at most 15 s after its target does. One call per target
//! group answers for all its pods. With no gate pending nothing is asked at all.

use std::time::Duration;

pub const FIRST_DELAY: Duration = Duration::from_secs(1);
pub const MAX_DELAY: Duration = Duration::from_secs(15);

/// The delays between polls, doubling from `first` to at most `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self { first, max: max.max(first), next: first }
    }

    /// The delay before the next poll; the one after it doubles, up to the ceiling.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// Back to the first delay.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(FIRST_DELAY, MAX_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_one_second_to_fifteen_and_start_over_on_reset() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..7).map(|_| backoff.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 15, 15, 15]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_secs(1));
        let mut odd = Backoff::new(Duration::from_millis(300), Duration::from_millis(100));
        assert_eq!((odd.next_delay(), odd.next_delay()), (Duration::from_millis(300), Duration::from_millis(300)));
    }
}
