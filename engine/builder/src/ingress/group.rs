//! Ingress groups, with the AWS Load Balancer Controller's semantics: Ingresses naming one group share one application load
//! balancer, even across namespaces; an Ingress without a group is a group of its own. The
//! group's members are ordered by `group.order`, then namespace/name, which is the order of their
//! listener rules.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::networking::v1::Ingress;

use crate::annotations::Annotations;
use crate::crd::IngressClassParamsSpec;
use crate::error::BuildError;
use elbow_model::stack::StackId;

/// The finalizer of an Ingress that is its own group.
pub const IMPLICIT_GROUP_FINALIZER: &str = "ingress.elbow.dev/resources";
/// The prefix of an explicit group's finalizer: `group.ingress.elbow.dev/<group>`.
pub const GROUP_FINALIZER_PREFIX: &str = "group.ingress.elbow.dev/";

const MAX_GROUP_NAME: usize = 63;
const ORDER_RANGE: std::ops::RangeInclusive<i32> = -1000..=1000;

/// The group an Ingress belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupId {
    /// Named by IngressClassParams `group.name` or the `group.name` annotation.
    Explicit(String),
    /// An Ingress on its own.
    Implicit { namespace: String, name: String },
}

/// As the AWS Load Balancer Controller writes a group id (it feeds the names' hashes): the name of
/// an explicit group, `namespace/name` of an implicit one.
impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Explicit(name) => f.write_str(name),
            Self::Implicit { namespace, name } => write!(f, "{namespace}/{name}"),
        }
    }
}

/// The group of `ingress`: the IngressClassParams group, else the `group.name` annotation, else the
/// Ingress itself.
pub fn group_of(ingress: &Ingress, params: Option<&IngressClassParamsSpec>) -> Result<GroupId, BuildError> {
    if let Some(group) = params.and_then(|p| p.group.as_ref()) {
        if !is_valid_group_name(&group.name) {
            return Err(BuildError::InvalidParameter {
                field: "group.name".into(),
                value: group.name.clone(),
                expected: GROUP_NAME_RULES.into(),
            });
        }
        return Ok(GroupId::Explicit(group.name.clone()));
    }
    let values = annotations_of(ingress);
    let annotations = Annotations::ingress(values);
    if let Some(name) =
        annotations.parse("group.name", GROUP_NAME_RULES, |v| is_valid_group_name(v).then(|| v.to_string()))?
    {
        return Ok(GroupId::Explicit(name));
    }
    Ok(GroupId::Implicit {
        namespace: ingress.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
        name: ingress.metadata.name.clone().ok_or(BuildError::MissingIngressField("metadata.name"))?,
    })
}

/// The owner recorded in the `elbow.dev/stack` tag. A colon cannot appear in a namespace, so no
/// group's id can equal a Service's `namespace/name`.
pub fn group_stack_id(group: &GroupId) -> StackId {
    crate::owner::StackOwner::IngressGroup(group.clone()).stack_id()
}

/// The finalizer every member of `group` carries while the group's load balancer serves it.
pub fn group_finalizer(group: &GroupId) -> String {
    match group {
        GroupId::Explicit(name) => format!("{GROUP_FINALIZER_PREFIX}{name}"),
        GroupId::Implicit { .. } => IMPLICIT_GROUP_FINALIZER.to_string(),
    }
}

/// The `group.order` annotation: -1000 to 1000, 0 when unset.
pub fn group_order(ingress: &Ingress) -> Result<i32, BuildError> {
    let annotations = Annotations::ingress(annotations_of(ingress));
    let expected = "a whole number from -1000 to 1000";
    Ok(annotations
        .parse("group.order", expected, |v| v.parse::<i32>().ok().filter(|n| ORDER_RANGE.contains(n)))?
        .unwrap_or(0))
}

const GROUP_NAME_RULES: &str =
    "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 63 characters";

/// `^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$`, at most 63 characters (LBC's rule; it also keeps the
/// finalizer `group.ingress.elbow.dev/<name>` a valid qualified name).
pub fn is_valid_group_name(name: &str) -> bool {
    let edge = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !name.is_empty()
        && name.len() <= MAX_GROUP_NAME
        && name.starts_with(edge)
        && name.ends_with(edge)
        && name.chars().all(|c| edge(c) || c == '-' || c == '.')
}

static NO_ANNOTATIONS: BTreeMap<String, String> = BTreeMap::new();

pub(crate) fn annotations_of(ingress: &Ingress) -> &BTreeMap<String, String> {
    ingress.metadata.annotations.as_ref().unwrap_or(&NO_ANNOTATIONS)
}

/// One member of the group being built.
pub(crate) struct Member<'a> {
    pub ingress: &'a Ingress,
    pub namespace: String,
    pub name: String,
    /// `namespace/name`, as errors name the Ingress.
    pub key: String,
    pub order: i32,
}

impl<'a> Member<'a> {
    pub fn annotations(&self) -> Annotations<'a> {
        Annotations::ingress(annotations_of(self.ingress))
    }

    /// Says which Ingress an error is about.
    pub fn blame(&self, error: BuildError) -> BuildError {
        match error {
            BuildError::InIngress { .. } | BuildError::GroupConflict { .. } => error,
            other => BuildError::InIngress { ingress: self.key.clone(), source: Box::new(other) },
        }
    }
}

/// The members in rule order: `group.order`, then namespace, then name.
pub(crate) fn ordered_members<'a>(ingresses: &[&'a Ingress]) -> Result<Vec<Member<'a>>, BuildError> {
    let mut members = Vec::with_capacity(ingresses.len());
    for ingress in ingresses {
        let namespace = ingress.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let name = ingress.metadata.name.clone().ok_or(BuildError::MissingIngressField("metadata.name"))?;
        let key = format!("{namespace}/{name}");
        let order =
            group_order(ingress).map_err(|e| BuildError::InIngress { ingress: key.clone(), source: Box::new(e) })?;
        members.push(Member { ingress, namespace, name, key, order });
    }
    members.sort_by(|a, b| (a.order, &a.namespace, &a.name).cmp(&(b.order, &b.namespace, &b.name)));
    members.dedup_by(|a, b| a.key == b.key);
    Ok(members)
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
