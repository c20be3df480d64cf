//! What the builders need to know about the installation, set once by flags.

use elbow_model::stack::Scheme;
use elbow_model::tags::Tags;

/// The load balancer class Elbow serves unless told otherwise.
pub const DEFAULT_LOAD_BALANCER_CLASS: &str = "elbow.dev/nlb";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildConfig {
    /// Names the cluster in ownership tags and load balancer names.
    pub cluster_name: String,
    /// Services with this `spec.loadBalancerClass` are ours.
    pub load_balancer_class: String,
    /// Whether Services without a class are ours (Elbow as the cluster's default implementation).
    pub default_load_balancer: bool,
    /// Whether class-less Services carrying the AWS Load Balancer Controller's own markers are
    /// ours too. Off by default: next to that controller they are its Services (see
    /// [`crate::service::carries_lbc_marker`]); turn it on once it is uninstalled.
    pub take_over_lbc_services: bool,
    /// The scheme when neither annotation (nor IngressClassParams) sets one: `internal` unless
    /// configured otherwise, as the AWS Load Balancer Controller's `--default-load-balancer-scheme`,
    /// so a migrated manifest that sets none stays private.
    pub default_scheme: Scheme,
    /// Tags on every resource, over the user's own (`additional-resource-tags`, `tags`,
    /// IngressClassParams `tags`), as the AWS Load Balancer Controller's `--default-tags`.
    pub default_tags: Tags,
}

impl BuildConfig {
    pub fn new(cluster_name: impl Into<String>) -> Self {
        Self {
            cluster_name: cluster_name.into(),
            load_balancer_class: DEFAULT_LOAD_BALANCER_CLASS.to_string(),
            default_load_balancer: true,
            take_over_lbc_services: false,
            default_scheme: Scheme::Internal,
            default_tags: Tags::new(),
        }
    }
}
