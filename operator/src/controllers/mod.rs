//! The kube-runtime controllers and what they share: the finalizer helpers, status conditions,
//! events and per-object backoff.

pub mod backoff;
pub mod binding;
pub mod conditions;
pub mod events;
pub mod finalizers;
pub mod ingress;
pub mod keyed_locks;
pub mod label_selector;
pub mod nodes;
pub mod readiness;
pub mod service;

use std::future::Future;
use std::time::Duration;

use elbow_builder::BuildError;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use tracing::{Instrument, info, info_span, warn};

use crate::metrics::Metrics;
use backoff::ObjectBackoff;

/// Why a reconcile stopped short, named for the step that failed and the object it failed on.
/// A user error ([`Error::Invalid`]) is reported on the object and waits for it to change; every
/// other variant is retried with per-object backoff. Publishing an event is not a step that can
/// fail a reconcile: events are a courtesy, and a failure to publish one is only logged.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{object} asks for something Elbow cannot build")]
    Invalid {
        object: String,
        #[source]
        source: BuildError,
    },
    #[error("failed to add finalizer {finalizer} to {object}")]
    AddFinalizer {
        object: String,
        finalizer: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to remove finalizer {finalizer} from {object}")]
    RemoveFinalizer {
        object: String,
        finalizer: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to write the status of {object}")]
    PatchStatus {
        object: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to read namespace {namespace} for its IngressClass's namespaceSelector")]
    ReadNamespace {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to read the cloud inventory")]
    Inventory(#[source] elbow_cloud::CloudError),
    #[error("failed to deploy load balancer stack {stack}")]
    Deploy {
        stack: String,
        #[source]
        source: elbow_deploy::DeployError,
    },
    #[error("the Service cache stopped before its first list")]
    ServiceCacheClosed,
    #[error("{object} cannot be served as it is")]
    InvalidBinding {
        object: String,
        #[source]
        source: elbow_builder::binding::BindingError,
    },
    #[error("failed to read target group {target_group}")]
    DescribeTargetGroup {
        target_group: String,
        #[source]
        source: elbow_cloud::CloudError,
    },
    /// A Register/DeregisterTargets batch (or the DescribeTargetHealth before it) failed.
    #[error("failed to {step}")]
    Targets {
        step: String,
        #[source]
        source: elbow_cloud::CloudError,
    },
}

impl Error {
    /// The user must change something; retrying as things are cannot help.
    pub fn is_user_error(&self) -> bool {
        matches!(self, Self::Invalid { .. } | Self::InvalidBinding { .. })
    }

    /// The `result` label of the reconcile metrics for a reconcile that ended so.
    pub fn metric_result(&self) -> &'static str {
        if self.is_user_error() { "user_error" } else { "error" }
    }
}

/// Runs one reconcile of `object` inside a `reconcile` span carrying the controller and the
/// object's key (so every log line of the reconcile names its object), records how it ended in
/// the reconcile metrics, and logs a failure once with its whole cause. A user error clears the
/// object's backoff: it is not a failure to retry harder.
pub async fn instrumented<K>(
    controller: &'static str,
    object: &K,
    metrics: &Metrics,
    backoff: &ObjectBackoff<ObjectRef<K>>,
    reconcile: impl Future<Output = Result<Action, Error>>,
) -> Result<Action, Error>
where
    K: kube::Resource<DynamicType = ()>,
{
    let key = ObjectRef::from_obj(object);
    let span = info_span!("reconcile", controller, object = %key);
    async {
        let timer = metrics.reconcile_started(controller);
        let result = reconcile.await;
        match &result {
            Ok(_) => {
                timer.finish("success");
                backoff.succeeded(&key);
            }
            Err(error) if error.is_user_error() => {
                timer.finish(error.metric_result());
                backoff.succeeded(&key);
                info!(error = %error_chain(error), "waiting for the object to be fixed");
            }
            Err(error) => {
                timer.finish(error.metric_result());
                warn!(error = %error_chain(error), "reconcile failed");
            }
        }
        result
    }
    .instrument(span)
    .await
}

/// When a failed reconcile of `object` runs again: a retryable failure after the object's
/// growing backoff; a user error when the object changes, or, if the mistake lies in cloud state
/// (untagged subnets), also once the cloud inventory has been refreshed (`inventory_ttl`).
pub fn retry_after<K>(
    error: &Error,
    object: &K,
    backoff: &ObjectBackoff<ObjectRef<K>>,
    inventory_ttl: Duration,
) -> Action
where
    K: kube::Resource<DynamicType = ()>,
{
    match error {
        Error::Invalid { source, .. } if source.depends_on_cloud() => Action::requeue(inventory_ttl),
        Error::Invalid { .. } => Action::await_change(),
        Error::InvalidBinding { source, .. } if source.depends_on_cloud() => Action::requeue(inventory_ttl),
        Error::InvalidBinding { .. } => Action::await_change(),
        _ => Action::requeue(backoff.failed(&ObjectRef::from_obj(object))),
    }
}

/// `kind namespace/name`, as events, conditions and logs name an object.
pub fn object_name<K: kube::Resource<DynamicType = ()>>(object: &K) -> String {
    let meta = object.meta();
    let namespace = meta.namespace.as_deref().map(|ns| format!("{ns}/")).unwrap_or_default();
    format!("{} {namespace}{}", K::kind(&()), meta.name.as_deref().unwrap_or_default())
}

/// An error and its sources on one line (`a: b: c`), for events, conditions and logs, where the
/// user needs the whole story and no backtrace.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source in their own message; do not say it twice.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
