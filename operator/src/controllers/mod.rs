//! The kube-runtime controllers and what they share: the finalizer helpers, status conditions,
//! events and per-object backoff.

pub mod backoff;
pub mod conditions;
pub mod events;
pub mod finalizers;
pub mod ingress;
pub mod keyed_locks;
pub mod label_selector;
pub mod nodes;
pub mod service;

/// Why a reconcile failed. Every variant is retried with per-object backoff; user errors never
/// get here (they are reported on the object and wait for it to change).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to talk to the Kubernetes API")]
    Kube(#[source] kube::Error),
    #[error("failed to read the cloud inventory")]
    Inventory(#[source] elbow_cloud::CloudError),
    #[error("failed to deploy the load balancer")]
    Deploy(#[source] elbow_deploy::DeployError),
    #[error("the Service cache stopped before its first list")]
    ServiceCacheClosed,
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
