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
    /// `eip-allocations` names Elastic IPs the account does not have. Found before anything is
    /// changed: a load balancer being replaced for new addresses is kept rather than deleted for
    /// a successor AWS would refuse.
    #[error(
        "the Elastic IP allocations {} do not exist in the load balancer's region; allocate them, or correct \
         service.beta.kubernetes.io/aws-load-balancer-eip-allocations (nothing was changed)",
        ids.join(", ")
    )]
    ElasticIpsNotFound { ids: Vec<String> },
    /// `eip-allocations` names an Elastic IP that something outside the stack holds.
    #[error(
        "the Elastic IP allocation {id} is associated with {holder}; disassociate it, or name another in \
         service.beta.kubernetes.io/aws-load-balancer-eip-allocations (nothing was changed)"
    )]
    ElasticIpInUse { id: String, holder: String },
    /// A network load balancer would switch between having security groups and having none, which
    /// AWS cannot do to one that exists (SetSecurityGroups is refused on a network load balancer
    /// created without any). Elbow refuses the switch, as the AWS Load Balancer Controller does,
    /// rather than replace the load balancer and its DNS name behind the user's back.
    #[error(
        "failed to {}: load balancer {name} was created {}, and a network load balancer cannot switch between having security groups and having none; set service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg back to {}, or delete the Service and create it again (its load balancer then gets a new DNS name)",
        if *.has_groups { "remove the security groups of the load balancer" } else { "give the load balancer security groups" },
        if *.has_groups { "with security groups" } else { "without security groups" },
        if *.has_groups { "\"false\" (or remove it)" } else { "\"true\"" }
    )]
    SecurityGroupsFixed { name: String, has_groups: bool },
    /// Listing or describing the region's ACM certificates failed (certificate discovery).
    #[error("failed to read the region's ACM certificates for certificate discovery")]
    Certificates(#[source] CloudError),
    /// Looking up the trust stores that `mutual-authentication` names failed.
    #[error("failed to look up the trust stores that mutual-authentication names")]
    TrustStores(#[source] CloudError),
    /// `mutual-authentication` names a trust store that does not exist.
    #[error(
        "failed to find the trust store {names:?} among the ELBv2 trust stores of the load balancer's region ({message}); \
         create it, or correct the trustStore of alb.ingress.kubernetes.io/mutual-authentication"
    )]
    TrustStoreNotFound { names: Vec<String>, message: String },
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
            | Self::SecurityGroupsFixed { .. }
            | Self::WebAclNameNotFound { .. }
            | Self::ElasticIpsNotFound { .. }
            | Self::ElasticIpInUse { .. }
            | Self::Certificates(_)
            | Self::TrustStores(_)
            | Self::TrustStoreNotFound { .. }
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
            Self::Protection { source, .. } | Self::Certificates(source) | Self::TrustStores(source) => {
                source.is_retryable()
            }
            // A target group made outside Kubernetes may well be made after the Ingress (by
            // Terraform, say): look again later.
            Self::TargetGroupNameNotFound { .. } => true,
            Self::NameConflict { .. }
            | Self::NameTaken { .. }
            | Self::NodePortsRecord { .. }
            | Self::Unbound(_)
            | Self::SecurityGroupsFixed { .. }
            | Self::WebAclNameNotFound { .. }
            | Self::ElasticIpsNotFound { .. }
            | Self::ElasticIpInUse { .. }
            | Self::TrustStoreNotFound { .. } => false,
        }
    }
}
