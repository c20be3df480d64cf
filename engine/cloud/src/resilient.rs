//! Client-side politeness for any [`Cloud`]: a token bucket per API family (so Elbow stays under
//! the account's shared ELBv2 and EC2 limits instead of discovering them through throttling), and
//! retries with exponential backoff and jitter for errors worth retrying (throttling, 5xx,
//! timeouts, resources still in use).
//!
//! The delay schedule comes from the `backon` crate: maintained, small, and tokio-friendly, where
//! the `backoff` crate is unmaintained. The loop around it is ours, so that each attempt takes a
//! token and logs why it waits. It is a [`Layer`]: one loop around every call, whatever the action.
//! A batched call (DescribeTags, Register/DeregisterTargets) takes one token per batch the trait
//! contract promises to send ([`Call::requests`]), before its first request; a paged call takes one
//! token (how many pages there will be is not known in advance). Either is retried whole, which is
//! safe: describes have no effect, and registering or deregistering a target twice is a no-op.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::debug;

use crate::{Api, ApiFamily, Attempt, Call, Cloud, CloudResult, Layer};

/// Requests per second and burst size of one family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// Client-side limits by API family; a family without a rate is not limited.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateLimits {
    pub rates: BTreeMap<ApiFamily, Rate>,
}

impl RateLimits {
    /// ELBv2: the AWS Load Balancer Controller's defaults (Describe 50/s burst 200, Modify 3/s
    /// burst 20, Register/Deregister 4/s burst 20). EC2: below EC2's own request-rate buckets for
    /// describe and mutating calls (20/s burst 100, 5/s burst 50), since the account shares them
    /// with everything else running in it. WAFv2 and WAF Classic Regional: LBC's defaults for each
    /// (Associate/DisassociateWebACL 0.5/s burst 1, the reads 1/s burst 1), well under WAF's own
    /// low per-account rates. ACM reads (certificate discovery): 5/s burst 10, half of ACM's own
    /// per-account rate for DescribeCertificate, since a cold cache describes every certificate of
    /// the region in one go. Shield calls are few (one protection per load balancer) and not limited.
    pub fn aws_defaults() -> Self {
        Self {
            rates: BTreeMap::from([
                (ApiFamily::Elbv2Describe, Rate { per_second: 50.0, burst: 200 }),
                (ApiFamily::Elbv2Modify, Rate { per_second: 3.0, burst: 20 }),
                (ApiFamily::Elbv2Targets, Rate { per_second: 4.0, burst: 20 }),
                (ApiFamily::Ec2Describe, Rate { per_second: 20.0, burst: 100 }),
                (ApiFamily::Ec2Modify, Rate { per_second: 5.0, burst: 50 }),
                (ApiFamily::AcmRead, Rate { per_second: 5.0, burst: 10 }),
                (ApiFamily::Wafv2Read, Rate { per_second: 1.0, burst: 1 }),
                (ApiFamily::Wafv2Modify, Rate { per_second: 0.5, burst: 1 }),
                (ApiFamily::WafRegionalRead, Rate { per_second: 1.0, burst: 1 }),
                (ApiFamily::WafRegionalModify, Rate { per_second: 0.5, burst: 1 }),
            ]),
        }
    }

    /// No client-side limit (benchmarks against the in-memory fake).
    pub fn unlimited() -> Self {
        Self::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: usize,
    /// The first pause; each later one doubles, up to `max_delay`. Jitter then adds a random part
    /// of up to the same again, so that clients throttled together do not retry together.
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 6, min_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    fn delays(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_jitter()
            .build()
    }
}

/// A [`Cloud`] that waits for a token before each call and retries what is worth retrying.
pub struct Resilient<C> {
    inner: C,
    buckets: HashMap<ApiFamily, Mutex<Bucket>>,
    retry: RetryPolicy,
}

#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    refilled_at: Instant,
}

impl<C: Cloud> Resilient<C> {
    pub fn new(inner: C, limits: RateLimits, retry: RetryPolicy) -> Self {
        let buckets = limits
            .rates
            .into_iter()
            .map(|(family, rate)| {
                (family, Mutex::new(Bucket { rate, tokens: f64::from(rate.burst), refilled_at: Instant::now() }))
            })
            .collect();
        Self { inner, buckets, retry }
    }

    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Waits until `api`'s family has a token, and takes it.
    async fn take_token(&self, api: Api) {
        let Some(bucket) = self.buckets.get(&api.family()) else { return };
        loop {
            let wait = {
                let mut bucket = bucket.lock().await;
                let now = Instant::now();
                let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
                bucket.tokens = (bucket.tokens + elapsed * bucket.rate.per_second).min(f64::from(bucket.rate.burst));
                bucket.refilled_at = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / bucket.rate.per_second)
            };
            debug!(%api, ?wait, "waiting for the client-side rate limit");
            tokio::time::sleep(wait).await;
        }
    }
}

impl<C: Cloud> Layer for Resilient<C> {
    type Inner = C;

    fn inner(&self) -> &C {
        &self.inner
    }

    /// Each attempt takes one token per request it sends, so a batched call is paced like the
    /// requests it really makes.
    async fn around<T: Send>(&self, call: Call, mut attempt: impl Attempt<T>) -> CloudResult<T> {
        let api = call.api;
        let mut delays = self.retry.delays();
        loop {
            for _ in 0..call.requests {
                self.take_token(api).await;
            }
            match attempt.run().await {
                Ok(value) => return Ok(value),
                Err(error) if error.is_retryable() => match delays.next() {
                    Some(delay) => {
                        debug!(%api, %error, ?delay, "retrying");
                        tokio::time::sleep(delay).await;
                    }
                    None => return Err(error),
                },
                Err(error) => return Err(error),
            }
        }
    }
}
