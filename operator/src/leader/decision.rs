//! What a candidate does with the Lease it just read: leave it to a holder whose lease is still
//! valid, or write itself in (acquire) or refresh its own entry (renew). Pure, so the rules can
//! be tested without an API server.
//!
//! Validity is judged as client-go judges it: by when *this* candidate last saw the Lease change
//! on its own monotonic clock, plus the holder's promised `leaseDurationSeconds`, never by the
//! `renewTime` the holder wrote with its own wall clock. Clock skew between nodes then cannot make
//! a valid lease look expired; the price is that a candidate that just started waits one full
//! lease duration before taking over a lease nobody renews.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use tokio::time::Instant;

/// The Lease as this candidate last saw it change, and when.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observation {
    pub(crate) spec: LeaseSpec,
    pub(crate) at: Instant,
}

impl Observation {
    /// `previous` if the Lease has not changed since, else a new observation made `now`.
    pub(crate) fn update(previous: Option<Observation>, spec: &LeaseSpec, now: Instant) -> Observation {
        match previous {
            Some(previous) if previous.spec == *spec => previous,
            _ => Observation { spec: spec.clone(), at: now },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Another candidate holds a lease that has not expired.
    HeldBy(String),
    /// Write this spec: a renewal when we already hold the lease, else a takeover.
    Write(LeaseSpec),
}

/// The holder named in a spec; an empty name (a released lease) is no holder.
pub(crate) fn holder(spec: &LeaseSpec) -> Option<&str> {
    spec.holder_identity.as_deref().filter(|holder| !holder.is_empty())
}

pub(crate) fn decide(
    observed: &Observation,
    me: &str,
    lease_duration: Duration,
    now: Instant,
    wall_now: Timestamp,
) -> Decision {
    let current = &observed.spec;
    match holder(current) {
        Some(other) if other != me && now < observed.at + promised_duration(current, lease_duration) => {
            Decision::HeldBy(other.to_string())
        }
        Some(holder) if holder == me => Decision::Write(LeaseSpec {
            renew_time: Some(MicroTime(wall_now)),
            lease_duration_seconds: Some(whole_seconds(lease_duration)),
            ..current.clone()
        }),
        // Free, released, or expired: take it over.
        _ => Decision::Write(LeaseSpec {
            holder_identity: Some(me.to_string()),
            acquire_time: Some(MicroTime(wall_now)),
            renew_time: Some(MicroTime(wall_now)),
            lease_duration_seconds: Some(whole_seconds(lease_duration)),
            lease_transitions: Some(current.lease_transitions.unwrap_or(0).saturating_add(1)),
            ..current.clone()
        }),
    }
}

/// The spec of a Lease created by `me`.
pub(crate) fn created(me: &str, lease_duration: Duration, wall_now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(me.to_string()),
        acquire_time: Some(MicroTime(wall_now)),
        renew_time: Some(MicroTime(wall_now)),
        lease_duration_seconds: Some(whole_seconds(lease_duration)),
        lease_transitions: Some(0),
        ..LeaseSpec::default()
    }
}

/// The spec that hands the lease back: no holder, and a one-second duration for any reader that
/// goes by the duration rather than the empty holder.
pub(crate) fn released(current: &LeaseSpec, wall_now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        renew_time: Some(MicroTime(wall_now)),
        ..current.clone()
    }
}

/// What the holder promised; our own duration if it promised nothing.
fn promised_duration(spec: &LeaseSpec, ours: Duration) -> Duration {
    spec.lease_duration_seconds.and_then(|s| u64::try_from(s).ok()).map(Duration::from_secs).unwrap_or(ours)
}

/// `leaseDurationSeconds` is whole seconds: round up, so the promise is never shorter than meant.
fn whole_seconds(duration: Duration) -> i32 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(seconds.max(1)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn held_by(holder: &str, transitions: i32) -> LeaseSpec {
        let then = Timestamp::from_second(1_700_000_000).expect("valid");
        LeaseSpec {
            holder_identity: Some(holder.into()),
            acquire_time: Some(MicroTime(then)),
            renew_time: Some(MicroTime(then)),
            lease_duration_seconds: Some(15),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_lease_held_by_another_is_left_alone_until_it_expires_on_our_clock() {
        let seen = Instant::now();
        let observed = Observation { spec: held_by("b", 3), at: seen };
        let wall = Timestamp::now();
        assert_eq!(decide(&observed, "a", LEASE, seen + Duration::from_secs(14), wall), Decision::HeldBy("b".into()));
        let Decision::Write(spec) = decide(&observed, "a", LEASE, seen + Duration::from_secs(15), wall) else {
            panic!("an expired lease is taken over");
        };
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.lease_transitions, Some(4));
        assert_eq!(spec.acquire_time, Some(MicroTime(wall)));
    }

    #[test]
    fn the_holders_promised_duration_counts_not_ours() {
        let seen = Instant::now();
        let spec = LeaseSpec { lease_duration_seconds: Some(60), ..held_by("b", 0) };
        let observed = Observation { spec, at: seen };
        let later = seen + Duration::from_secs(30);
        assert_eq!(decide(&observed, "a", LEASE, later, Timestamp::now()), Decision::HeldBy("b".into()));
    }

    #[test]
    fn renewing_keeps_the_acquire_time_and_transitions() {
        let observed = Observation { spec: held_by("a", 2), at: Instant::now() };
        let wall = Timestamp::now();
        let Decision::Write(spec) = decide(&observed, "a", Duration::from_millis(1500), Instant::now(), wall) else {
            panic!("our own lease is renewed");
        };
        assert_eq!(spec.renew_time, Some(MicroTime(wall)));
        assert_eq!(spec.acquire_time, held_by("a", 2).acquire_time);
        assert_eq!(spec.lease_transitions, Some(2));
        assert_eq!(spec.lease_duration_seconds, Some(2), "rounded up to whole seconds");
    }

    #[test]
    fn a_released_lease_is_taken_at_once() {
        let now = Instant::now();
        let observed = Observation { spec: released(&held_by("b", 5), Timestamp::now()), at: now };
        let Decision::Write(spec) = decide(&observed, "a", LEASE, now, Timestamp::now()) else {
            panic!("a released lease is free");
        };
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.lease_transitions, Some(6));
    }

    #[test]
    fn an_observation_is_renewed_only_when_the_lease_changes() {
        let first = Instant::now();
        let observed = Observation::update(None, &held_by("b", 0), first);
        let later = first + Duration::from_secs(5);
        assert_eq!(Observation::update(Some(observed.clone()), &held_by("b", 0), later).at, first);
        assert_eq!(Observation::update(Some(observed), &held_by("b", 1), later).at, later);
    }
}
