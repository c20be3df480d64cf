//! [`Layer`]: the one way to wrap a [`Cloud`]. A wrapper says what it does around a single call
//! ([`Layer::around`]) and, if it needs them, which typed answers it watches
//! ([`Layer::observer`]); the forwarding `impl<L: Layer> Cloud for L`, generated from the action
//! list, turns that into all of the trait's methods. The wrappers: client-side rate limits and
//! retries ([`Resilient`](crate::resilient::Resilient)) and the operator's metrics (`Metered`).
//!
//! ```text
//! caller ── describe_tags(45 arns) ──> per batch of 20: L::around(Call { DescribeTags, requests: 1 }, attempt)
//!                                        │ attempt() ── inner.describe_tags(batch) ──> inner Cloud
//!                                        │ (again, if the layer retries)
//!                                   L::observer()?.describe_tags(45 arns, &merged result)
//! ```

use std::future::Future;

use crate::{Api, Cloud, CloudResult, Observe};

/// One call of a [`Cloud`] method, as a layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub api: Api,
    /// Requests one attempt sends: 1. A batched method (DescribeTags, Register/DeregisterTargets)
    /// reaches a layer one batch per call, and a paged method counts 1: how many pages there will
    /// be is not known in advance.
    pub requests: u32,
}

/// The answers of a batched method, merged batch by batch (see the `actions!` macro).
pub trait Batched: Default {
    fn absorb(&mut self, part: Self);
}

impl Batched for () {
    fn absorb(&mut self, _: Self) {}
}

impl<K: Ord, V> Batched for std::collections::BTreeMap<K, V> {
    fn absorb(&mut self, part: Self) {
        self.extend(part);
    }
}

impl Call {
    pub(crate) fn new(api: Api) -> Self {
        Self { api, requests: 1 }
    }
}

/// Sends a call's request(s) to the inner cloud, each time it runs. (A closure returning the inner
/// method's future; a trait of its own so that layers need not spell out its bounds.)
pub trait Attempt<T>: Send {
    fn run(&mut self) -> impl Future<Output = CloudResult<T>> + Send;
}

impl<T, F, Fut> Attempt<T> for F
where
    F: FnMut() -> Fut + Send,
    Fut: Future<Output = CloudResult<T>> + Send,
{
    fn run(&mut self) -> impl Future<Output = CloudResult<T>> + Send {
        self()
    }
}

/// A [`Cloud`] made of another one plus something done around each call. Implementing this is
/// all a wrapper writes: it gets [`Cloud`] from the forwarding impl, so it never lists the actions.
pub trait Layer: Send + Sync {
    type Inner: Cloud;

    fn inner(&self) -> &Self::Inner;

    /// Runs one call: a layer runs `attempt` once, or again to retry, and returns the answer it
    /// settles on.
    fn around<T: Send>(&self, call: Call, attempt: impl Attempt<T>) -> impl Future<Output = CloudResult<T>> + Send;

    /// Who sees each call's arguments and final result, typed; none by default. For a layer that
    /// learns from the answers (the operator's managed load balancer count), not only times them.
    fn observer(&self) -> Option<&dyn Observe> {
        None
    }
}
