//! What can go wrong while deploying a stack, and whether trying again can help.

use elbow_cloud::{CloudError, CloudErrorKind};
use elbow_model::StackId;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Reading the actual state failed.
    #[error("failed to find the stack's resources")]
    Discover(#[source] CloudError),
    /// One step of the plan failed; the steps before it took effect.
    #[error("failed to {step}")]
    Apply {
        step: String,
        #[source]
        source: CloudError,
    },
    /// A resource Elbow wants to create has the name of one that is not Elbow's (no cluster tag
    /// of ours). Elbow never adopts or touches it; the user must rename one of them.
    #[error(
        "failed to claim the {kind} name {name:?}: a {kind} with that name exists and is not owned by this cluster; \
         delete or rename it, or set another name on the object"
    )]
    NameConflict { kind: &'static str, name: String },
    /// A resource Elbow wants to create has the name of one that another stack of this cluster
    /// owns (two Services given the same `name` annotation, say). Neither takes the other's.
    #[error(
        "failed to claim the {kind} name {name:?}: {owner} in this cluster already uses it; give one of them another name"
    )]
    NameTaken { kind: &'static str, name: String, owner: StackId },
    /// The stack needs ports on so many node groups that their record does not fit the tags a
    /// load balancer can carry.
    #[error(
        "failed to record the node ports the load balancer needs: they take {tags} tags, at most {most} fit; \
         the targets span too many node security groups"
    )]
    NodePortsRecord { tags: usize, most: usize },
    /// Associating a web ACL or changing the Shield protection failed; the load balancer itself
    /// is deployed.
    #[error("failed to {step}")]
    Protection {
        step: String,
        #[source]
        source: CloudError,
    },
    /// `wafv2-acl-name` names no regional web ACL of the load balancer's region.
    #[error(
        "failed to find a WAFv2 web ACL named {name:?} among the REGIONAL web ACLs of the load balancer's region; \
         create it, or correct alb.ingress.kubernetes.io/wafv2-acl-name"
    )]
    WebAclNameNotFound { name: String },
    /// A forward action's `targetGroupName` names no target group of the load balancer's region.
    #[error(
        "failed to find a target group named {name:?} in the load balancer's region; create it, or correct \
         targetGroupName in the alb.ingress.kubernetes.io/actions annotation"
    )]
    TargetGroupNameNotFound { name: String },
    /// A step refers to a resource that was neither found nor created earlier in the plan: a bug
    /// in the planner, reported rather than guessed around.
    #[error("failed to resolve {0}: it was neither found nor created")]
    Unbound(String),
}

impl DeployError {
    /// The cloud contradicted what the deployer knew: a resource it counted on is gone, or a name
    /// it thought free is taken. What it knows about the whole cluster is suspect.
    pub(crate) fn contradicts_known_state(&self) -> bool {
        match self {
            Self::Discover(source) | Self::Apply { source, .. } => {
                matches!(source.kind, CloudErrorKind::NotFound | CloudErrorKind::Duplicate)
            }
            Self::NameConflict { .. }
            | Self::NameTaken { .. }
            | Self::NodePortsRecord { .. }
            | Self::Unbound(_)
            | Self::Protection { .. }
            | Self::WebAclNameNotFound { .. }
            | Self::TargetGroupNameNotFound { .. } => false,
        }
    }

    /// Worth another attempt later without the user changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Discover(source) | Self::Apply { source, .. } => {
                source.is_retryable() || matches!(source.kind, CloudErrorKind::NotFound | CloudErrorKind::Duplicate)
            }
            // An unknown or unusable web ACL needs the user (or the web ACL's owner), not a retry.
            Self::Protection { source, .. } => source.is_retryable(),
            // A target group made outside Kubernetes may well be made after the Ingress (by
            // Terraform, say): look again later.
            Self::TargetGroupNameNotFound { .. } => true,
            Self::NameConflict { .. }
            | Self::NameTaken { .. }
            | Self::NodePortsRecord { .. }
            | Self::Unbound(_)
            | Self::WebAclNameNotFound { .. } => false,
        }
    }
}
