//! TargetGroupBindings: a target group made outside Kubernetes, kept filled with a Service's
//! nodes or pods. Pure, like the Service and Ingress builders:
//!
//! ```text
//! binding + its group (DescribeTargetGroups) ── check_group ──> target type in effect
//! Service, Nodes, EndpointSlices ── desired_targets ──> targets, and the nodes they are on
//! networking.ingress ── permissions ── × the nodes' security groups ── binding_stack ──> Stack
//! ```
//!
//! The targets go to the one target synchroniser (`elbow_deploy::targets`) with what the binding
//! registered before, so that only its own targets are ever deregistered; the stack, which holds
//! only the security-group rules, goes to the deployer like any other.

pub mod error;
pub mod networking;
pub mod spec;
pub mod targets;

pub use error::BindingError;
pub use networking::{binding_stack, permissions};
pub use spec::*;
pub use targets::{Backends, BoundGroup, DesiredTargets, check_group, desired_targets};

/// Set on every binding Elbow serves; released once its targets are deregistered and its rules
/// removed.
pub const FINALIZER: &str = "targetgroupbinding.elbow.dev/resources";
