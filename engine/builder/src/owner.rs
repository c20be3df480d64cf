//! Stack keys, both ways: the owner a stack is built for becomes the `elbow.dev/stack` tag value,
//! and a tag value read back from the cloud names its owner again. The one place that knows the
//! formats:
//!
//! ```text
//!   Service shop/web                  <->  shop/web
//!   Ingress shop/web, no group        <->  ingress:shop/web
//!   Ingress group "public"            <->  ingress-group:public
//!   TargetGroupBinding shop/web       <->  targetgroupbinding:shop/web   (its security-group rules)
//! ```
//!
//! A colon cannot appear in a namespace or a Service name, so no Ingress key reads as a Service's.

use elbow_model::StackId;

use crate::ingress::{GroupId, is_valid_group_name};

const IMPLICIT_GROUP_PREFIX: &str = "ingress:";
const EXPLICIT_GROUP_PREFIX: &str = "ingress-group:";
const BINDING_PREFIX: &str = "targetgroupbinding:";

/// The Kubernetes object (or group of objects) a stack belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StackOwner {
    Service { namespace: String, name: String },
    IngressGroup(GroupId),
    TargetGroupBinding { namespace: String, name: String },
}

impl StackOwner {
    /// The `elbow.dev/stack` tag value.
    pub fn stack_id(&self) -> StackId {
        match self {
            Self::Service { namespace, name } => StackId::new(format!("{namespace}/{name}")),
            Self::IngressGroup(GroupId::Explicit(name)) => StackId::new(format!("{EXPLICIT_GROUP_PREFIX}{name}")),
            Self::IngressGroup(GroupId::Implicit { namespace, name }) => {
                StackId::new(format!("{IMPLICIT_GROUP_PREFIX}{namespace}/{name}"))
            }
            Self::TargetGroupBinding { namespace, name } => StackId::new(format!("{BINDING_PREFIX}{namespace}/{name}")),
        }
    }

    /// The owner a tag value names; `None` for a value no version of Elbow writes this way
    /// (such a stack is never treated as orphaned).
    pub fn parse(stack: &StackId) -> Option<Self> {
        let key = stack.as_str();
        if let Some(name) = key.strip_prefix(EXPLICIT_GROUP_PREFIX) {
            return is_valid_group_name(name).then(|| Self::IngressGroup(GroupId::Explicit(name.to_string())));
        }
        if let Some(rest) = key.strip_prefix(BINDING_PREFIX) {
            let (namespace, name) = namespaced(rest)?;
            return Some(Self::TargetGroupBinding { namespace, name });
        }
        if let Some(rest) = key.strip_prefix(IMPLICIT_GROUP_PREFIX) {
            let (namespace, name) = namespaced(rest)?;
            return Some(Self::IngressGroup(GroupId::Implicit { namespace, name }));
        }
        let (namespace, name) = namespaced(key)?;
        Some(Self::Service { namespace, name })
    }
}

/// `namespace/name`, both parts non-empty and free of `/` and `:`.
fn namespaced(key: &str) -> Option<(String, String)> {
    let (namespace, name) = key.split_once('/')?;
    let valid = |part: &str| !part.is_empty() && !part.contains(['/', ':']);
    (valid(namespace) && valid(name)).then(|| (namespace.to_string(), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_owner_reads_back_from_its_key() {
        let owners = [
            StackOwner::Service { namespace: "shop".into(), name: "web".into() },
            StackOwner::IngressGroup(GroupId::Implicit { namespace: "shop".into(), name: "web".into() }),
            StackOwner::IngressGroup(GroupId::Explicit("public.v2".into())),
            StackOwner::TargetGroupBinding { namespace: "shop".into(), name: "web".into() },
        ];
        let keys: Vec<String> = owners.iter().map(|o| o.stack_id().as_str().to_string()).collect();
        assert_eq!(keys, ["shop/web", "ingress:shop/web", "ingress-group:public.v2", "targetgroupbinding:shop/web"]);
        for owner in owners {
            assert_eq!(StackOwner::parse(&owner.stack_id()), Some(owner));
        }
    }

    #[test]
    fn keys_elbow_never_writes_name_no_owner() {
        for key in [
            "_shared",
            "web",
            "/web",
            "shop/",
            "a/b/c",
            "ingress:web",
            "ingress-group:",
            "ingress-group:Bad_Name",
            "targetgroupbinding:web",
            "",
        ] {
            assert_eq!(StackOwner::parse(&StackId::new(key)), None, "{key:?}");
        }
    }
}
