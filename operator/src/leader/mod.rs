//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas exactly one
//! reconciles and a standby takes over when it goes away.
//!
//! Our own, small, with client-go's semantics: kube-runtime 5 has no leader election, and of the
//! crates built for it, kube-leader-election targets kube 4, and kube-lease-manager (kube 5) keeps
//! whole-second timings, hides renewal errors (a leader cut off from the API server goes on
//! believing it leads past the lease's expiry) and has a standby sleep until expiry instead of
//! noticing a release.
//!
//! - A candidate tries to acquire every retry period (with jitter); it takes a lease that is free,
//!   released, or unchanged for the holder's promised duration on its own clock.
//! - The leader renews every retry period. A renewal that has not succeeded within the renew
//!   deadline of the last successful one, or a Lease found naming another holder, ends leadership
//!   at once: the work is dropped on the spot. The renew deadline is shorter than the lease
//!   duration, so the old leader has stopped before any standby can think the lease expired.
//! - On a clean end the leader releases the lease, and a standby takes over within one retry period.

mod decision;
mod identity;
mod lease;

use std::future::Future;
use std::time::Duration;

use kube::Client;
use tokio::time::{Instant, sleep, timeout, timeout_at};
use tracing::{debug, info, warn};

pub use identity::holder_identity;

use lease::{Attempt, LeaseLock};

/// Extra random wait on top of a candidate's retry period, as a fraction of it: candidates that
/// started together do not keep hitting the API server together.
const JITTER: f64 = 0.2;

/// How the election is timed. The defaults are client-go's (and kube-controller-manager's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long a lease stays valid without renewal, as promised to the other candidates.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading.
    pub renew_deadline: Duration,
    /// How often the leader renews and a standby tries to acquire.
    pub retry_period: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl Timing {
    /// The rules that make the election safe: the leader must give up before the lease can look
    /// expired to anyone else, and must get more than one renewal attempt before it does.
    pub fn validate(&self) -> Result<(), String> {
        if self.retry_period.is_zero() {
            return Err("the retry period must be positive".into());
        }
        if self.renew_deadline >= self.lease_duration {
            return Err(format!(
                "the renew deadline ({:?}) must be shorter than the lease duration ({:?})",
                self.renew_deadline, self.lease_duration
            ));
        }
        if self.renew_deadline <= self.retry_period.mul_f64(1.0 + JITTER) {
            return Err(format!(
                "the renew deadline ({:?}) must be longer than the retry period with jitter ({:?})",
                self.renew_deadline,
                self.retry_period.mul_f64(1.0 + JITTER)
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionConfig {
    pub namespace: String,
    pub lease_name: String,
    /// This candidate's `holderIdentity`; unique per process (see [`holder_identity`]).
    pub identity: String,
    pub timing: Timing,
}

/// Why a leader stopped leading without being asked to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Loss {
    #[error("the lease could not be renewed within the renew deadline")]
    RenewDeadline,
    #[error("the lease is now held by {0}")]
    TakenOver(String),
}

/// How [`run_while_leading`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Shutdown came before this candidate ever led.
    ShutDownWhileStandingBy,
    /// The work ended (after shutdown, or on its own) while we led; the lease was handed back
    /// if the API server took the release.
    WorkEnded { released: bool },
    /// Leadership was lost and the work dropped.
    Lost(Loss),
}

/// One candidate in the election.
pub struct LeaderElection {
    lock: LeaseLock,
    identity: String,
    lease: String,
    timing: Timing,
}

impl LeaderElection {
    pub fn new(client: Client, config: ElectionConfig) -> Result<Self, String> {
        config.timing.validate()?;
        Ok(Self {
            lock: LeaseLock::new(
                client,
                &config.namespace,
                &config.lease_name,
                &config.identity,
                config.timing.lease_duration,
            ),
            lease: format!("{}/{}", config.namespace, config.lease_name),
            identity: config.identity,
            timing: config.timing,
        })
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Tries until this candidate holds the lease; returns when the winning request was sent
    /// (the start of its first term). API errors are logged and retried: a standby waits out an
    /// API server outage.
    async fn acquire(&mut self) -> Instant {
        let mut last_holder = None;
        loop {
            let sent = Instant::now();
            // Bounded, so that an API server that accepts and never answers cannot park a standby.
            // A write that landed after the timeout names us; the next attempt renews it.
            match timeout(self.timing.renew_deadline, self.lock.try_acquire_or_renew()).await {
                Ok(Ok(Attempt::Holding)) => return sent,
                Ok(Ok(Attempt::HeldBy(holder))) => {
                    if last_holder.as_ref() != Some(&holder) {
                        info!(lease = %self.lease, %holder, "standing by: another replica leads");
                        last_holder = Some(holder);
                    }
                }
                Ok(Err(error)) => warn!(lease = %self.lease, %error, "could not read or take the lease; retrying"),
                Err(_) => warn!(lease = %self.lease, "reading or taking the lease timed out; retrying"),
            }
            sleep(self.timing.retry_period.mul_f64(1.0 + JITTER * fastrand::f64())).await;
        }
    }

    /// Renews every retry period while we lead; returns why leadership ended. `renewed_at` is
    /// when the last successful acquire or renew was sent: the deadline counts from the request,
    /// not its answer, so a slow answer cannot stretch the term.
    async fn hold(&mut self, mut renewed_at: Instant) -> Loss {
        loop {
            sleep(self.timing.retry_period).await;
            let deadline = renewed_at + self.timing.renew_deadline;
            loop {
                let sent = Instant::now();
                match timeout_at(deadline, self.lock.try_acquire_or_renew()).await {
                    Err(_) => return Loss::RenewDeadline,
                    Ok(Ok(Attempt::Holding)) => {
                        debug!(lease = %self.lease, "renewed");
                        renewed_at = sent;
                        break;
                    }
                    Ok(Ok(Attempt::HeldBy(holder))) => return Loss::TakenOver(holder),
                    Ok(Err(error)) => {
                        warn!(lease = %self.lease, %error, "could not renew the lease; retrying until the deadline");
                        if timeout_at(deadline, sleep(self.timing.retry_period)).await.is_err() {
                            return Loss::RenewDeadline;
                        }
                    }
                }
            }
        }
    }

    /// Hands the lease back, bounded by the renew deadline so that a hung API server cannot hold
    /// up the process's exit (the lease then simply expires).
    async fn release(&mut self) -> bool {
        match timeout(self.timing.renew_deadline, self.lock.release()).await {
            Ok(Ok(released)) => released,
            Ok(Err(error)) => {
                warn!(lease = %self.lease, %error, "could not release the lease; it will expire instead");
                false
            }
            Err(_) => {
                warn!(lease = %self.lease, "releasing the lease timed out; it will expire instead");
                false
            }
        }
    }
}

/// Stands by until this candidate leads (or `shutdown` resolves first), then runs `work` while
/// renewing the lease.
///
/// `work` is not polled before leadership is won, so creating it costs nothing. It must end by
/// itself once `shutdown` resolves (pass it a clone of the same signal); the lease keeps being
/// renewed until it has, and is released after.
///
/// When leadership is lost, `work` is dropped at whatever await point it has reached. That is
/// safe for Elbow's controllers because every reconcile is idempotent and starts from what
/// Kubernetes and the cloud say, never from memory of an earlier pass: a reconcile cut off
/// between two cloud calls leaves resources that carry their ownership tags from the create call
/// on, and the next leader's reconcile of the same object finds and finishes them. What must not
/// happen is a second replica changing the cloud while this one still does; dropping at once is
/// what prevents it. Background tasks the work spawned are not stopped by the drop, which is why
/// `elbow run` exits after a loss instead of standing by again in the same process.
pub async fn run_while_leading<W>(mut election: LeaderElection, shutdown: impl Future<Output = ()>, work: W) -> Ended
where
    W: Future<Output = ()>,
{
    let renewed_at = tokio::select! {
        biased;
        () = shutdown => return Ended::ShutDownWhileStandingBy,
        at = election.acquire() => at,
    };
    info!(lease = %election.lease, identity = %election.identity, "became the leader");
    let loss = tokio::select! {
        () = work => None,
        loss = election.hold(renewed_at) => Some(loss),
    };
    match loss {
        Some(loss) => {
            warn!(lease = %election.lease, %loss, "lost leadership; stopped reconciling");
            Ended::Lost(loss)
        }
        None => {
            let released = election.release().await;
            info!(lease = %election.lease, released, "stopped leading");
            Ended::WorkEnded { released }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_timing_is_valid() {
        assert_eq!(Timing::default().validate(), Ok(()));
    }

    #[test]
    fn a_renew_deadline_that_outlives_the_lease_is_refused() {
        let timing = Timing { renew_deadline: Duration::from_secs(15), ..Timing::default() };
        assert!(timing.validate().is_err());
    }

    #[test]
    fn a_renew_deadline_without_room_for_a_retry_is_refused() {
        let timing = Timing {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(2),
            retry_period: Duration::from_secs(2),
        };
        assert!(timing.validate().is_err());
        assert!(Timing { retry_period: Duration::ZERO, ..Timing::default() }.validate().is_err());
    }
}
