//! The `actions!` macro. The list of AWS API actions (in the crate root) is written once, each
//! action as the [`Cloud`](crate::Cloud) method that calls it, and this macro turns it into every
//! piece of code that used to repeat the list by hand:
//!
//! ```text
//!                   ┌─> trait Cloud            one async method per action, as written
//!  actions! { .. } ─┼─> enum Api               name, IAM service, rate-limit family
//!                   ├─> trait Observe          per action: arguments and result, ignored by default
//!                   └─> impl<L: Layer> Cloud   each method: around(Call) -> inner, then observe
//! ```
//!
//! So a wrapper ([`Layer`](crate::layer::Layer)) is written once against [`Call`](crate::layer::Call)
//! and never lists the actions, and an action added to the list reaches every wrapper, the call
//! counters and the IAM policy test without further edits. What is left to write by hand for a new
//! action is what only a person can: its SDK request (elbow-aws), its in-memory behaviour
//! (elbow-fake), and its IAM grant (`terraform/iam.tf`, which terraform-tests compares with
//! [`Api::ALL`](crate::Api::ALL)).
//!
//! One entry:
//!
//! ```text
//! /// Docs of the trait method.
//! async fn describe_tags(&self, arns: &[Arn]) -> CloudResult<BTreeMap<Arn, Tags>>
//!     => DescribeTags in "elasticloadbalancing", Elbv2Describe, batches of 20 arns;
//! ```
//!
//! `named "AssociateWebACL"` gives the action's AWS name where two services have an action of the
//! same name (WAFv2 and WAF Classic Regional), so the variant needs another one
//! (`WafRegionalAssociateWebACL`); the name, with the service, is what IAM and the metrics see.
//!
//! `batches of N arg` says the method sends `arg` in requests of at most N items. The forwarding
//! impl then splits a longer `arg` into batches of N and takes each through the layer as a call
//! of its own (a token each from the rate limiter, retried on its own), merging the answers.
//!
//! The forwarding impl calls the inner method once per attempt, cloning what it takes by value
//! (a layer may retry), and hands the arguments themselves to the observer afterwards.

macro_rules! actions {
    // One call through a layer. A batched method is split into its batches first, each sent and
    // retried through the layer on its own: retrying the whole call would send again the batches
    // that had succeeded, and with many batches under throttling every attempt would have one
    // failing batch, so the call would fail however often it was retried.
    (@forward $self:ident, $method:ident, $variant:ident, [$($arg:ident),*]) => {{
        let call = $crate::layer::Call::new(Api::$variant);
        $self.around(call, || $self.inner().$method($(Clone::clone(&$arg)),*)).await
    }};
    (@forward $self:ident, $method:ident, $variant:ident, [$($arg:ident),*], $per_request:literal, $batched:ident) => {{
        if $batched.len() <= $per_request {
            actions!(@forward $self, $method, $variant, [$($arg),*])
        } else {
            let mut merged = Default::default();
            let mut outcome = Ok(());
            for chunk in $batched.chunks($per_request) {
                let $batched = chunk;
                match actions!(@forward $self, $method, $variant, [$($arg),*]) {
                    Ok(part) => $crate::layer::Batched::absorb(&mut merged, part),
                    Err(error) => {
                        outcome = Err(error);
                        break;
                    }
                }
            }
            outcome.map(|()| merged)
        }
    }};
    // The name AWS gives the action: the variant's own, unless the entry spells it out.
    (@name $variant:ident) => { stringify!($variant) };
    (@name $variant:ident $aws_name:literal) => { $aws_name };
    ($(
        $(#[doc = $doc:literal])*
        async fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty
            => $variant:ident $(named $aws_name:literal)? in $service:literal, $family:ident $(, batches of $per_request:literal $batched:ident)?;
    )*) => {
        /// One method per AWS API action; the crate documentation states the contract every
        /// implementation keeps. Wrappers implement [`Layer`](crate::layer::Layer) instead.
        #[async_trait::async_trait]
        pub trait Cloud: Send + Sync {
            $(
                $(#[doc = $doc])*
                async fn $method(&self $(, $arg: $ty)*) -> $ret;
            )*
        }

        /// One AWS API action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub enum Api {
            $( $variant, )*
        }

        impl Api {
            pub const ALL: &'static [Api] = &[ $( Api::$variant, )* ];

            /// The action's name as AWS spells it, e.g. `CreateLoadBalancer`.
            pub fn name(self) -> &'static str {
                match self {
                    $( Api::$variant => actions!(@name $variant $($aws_name)?), )*
                }
            }

            /// The IAM service prefix: `elasticloadbalancing`, `ec2`, `wafv2`, `waf-regional` or
            /// `shield`.
            pub fn service(self) -> &'static str {
                match self {
                    $( Api::$variant => $service, )*
                }
            }

            pub fn family(self) -> $crate::api::ApiFamily {
                match self {
                    $( Api::$variant => $crate::api::ApiFamily::$family, )*
                }
            }
        }

        /// What a [`Layer`](crate::layer::Layer) that needs typed answers sees: after each call
        /// through the layer, the method named like the [`Cloud`] method gets its arguments and its
        /// final result (after the layer's retries, if any). Every method does nothing unless
        /// overridden, so an observer names only the actions it cares about.
        pub trait Observe {
            $(
                #[doc = concat!("The arguments and result of [`Cloud::", stringify!($method), "`].")]
                fn $method(&self $(, $arg: $ty)*, result: &$ret) {
                    let _ = ($($arg,)* result);
                }
            )*
        }

        #[async_trait::async_trait]
        impl<L: $crate::layer::Layer> Cloud for L {
            $(
                async fn $method(&self $(, $arg: $ty)*) -> $ret {
                    let result = actions!(@forward self, $method, $variant, [$($arg),*] $(, $per_request, $batched)?);
                    if let Some(observer) = self.observer() {
                        observer.$method($($arg,)* &result);
                    }
                    result
                }
            )*
        }
    };
}
