//! Which Ingresses make up a group, read from the controller's caches: an Ingress is a member
//! when its class resolves to Elbow, it resolves to that group, it is not being deleted, and it
//! carries the group's finalizer (so no cloud resource exists for an Ingress Elbow could forget).
//! The groups an Ingress was part of are read back from its finalizers, which is how a class or
//! group change is cleaned up even though the old settings are gone.

use std::collections::BTreeMap;
use std::sync::Arc;

use elbow_builder::crd::{IngressClassParams, IngressClassParamsSpec};
use elbow_builder::ingress::{
    ClassResolution, GROUP_FINALIZER_PREFIX, GroupId, IMPLICIT_GROUP_FINALIZER, group_finalizer, group_of,
    resolve_class,
};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::ResourceExt;
use kube::runtime::reflector::Store;

/// A snapshot of the IngressClasses and their parameters, to resolve Ingresses against.
pub struct ClassView {
    classes: Vec<IngressClass>,
    params: BTreeMap<String, IngressClassParamsSpec>,
    controller: String,
}

/// Where an Ingress stands now.
#[allow(clippy::large_enum_variant)] // one per reconcile, moved once: boxing would buy nothing
pub enum Standing {
    /// Ours, in this group, with these parameters.
    Member { group: GroupId, params: Option<IngressClassParamsSpec> },
    /// Not ours (another controller's class, no class) or being deleted.
    Outside,
    /// Meant to be ours but its class or group cannot be resolved; the message says why.
    Invalid(String),
}

impl ClassView {
    pub fn new(classes: &Store<IngressClass>, params: &Store<IngressClassParams>, controller: &str) -> Self {
        ClassView {
            classes: classes.state().iter().map(|c| c.as_ref().clone()).collect(),
            params: params.state().iter().map(|p| (p.name_any(), p.spec.clone())).collect(),
            controller: controller.to_string(),
        }
    }

    pub fn standing(&self, ingress: &Ingress) -> Standing {
        if ingress.metadata.deletion_timestamp.is_some() {
            return Standing::Outside;
        }
        match resolve_class(ingress, &self.classes, &self.params, &self.controller) {
            ClassResolution::NotOurs => Standing::Outside,
            ClassResolution::Invalid(message) => Standing::Invalid(message),
            ClassResolution::Ours { params, .. } => match group_of(ingress, params.as_ref()) {
                Ok(group) => Standing::Member { group, params },
                Err(error) => Standing::Invalid(error.to_string()),
            },
        }
    }

    /// The group's current members: ours, resolving to `group`, and holding its finalizer.
    pub fn members(&self, ingresses: &Store<Ingress>, group: &GroupId) -> Vec<Arc<Ingress>> {
        self.roster(ingresses, group).members
    }

    /// The group's members and its new arrivals, in one pass over the cache (each Ingress's class
    /// is resolved once).
    pub fn roster(&self, ingresses: &Store<Ingress>, group: &GroupId) -> Roster {
        let finalizer = group_finalizer(group);
        let mut roster = Roster { members: Vec::new(), arrivals: Vec::new() };
        for ingress in ingresses.state() {
            let Standing::Member { group: resolved, params } = self.standing(&ingress) else { continue };
            if &resolved != group {
                continue;
            }
            if ingress.finalizers().contains(&finalizer) {
                roster.members.push(ingress);
            } else if joined_groups(&ingress).is_empty() {
                roster.arrivals.push((ingress, params));
            }
        }
        roster
    }
}

/// A group as the Ingress cache has it.
pub struct Roster {
    /// Ours, resolving to the group, and holding its finalizer.
    pub members: Vec<Arc<Ingress>>,
    /// Resolving to the group but joined to no group yet: new arrivals whose own reconcile has not
    /// run, with their class parameters. Adopted by whichever member's reconcile comes first.
    pub arrivals: Vec<(Arc<Ingress>, Option<IngressClassParamsSpec>)>,
}

/// The groups `ingress` joined, by the finalizers it carries.
pub fn joined_groups(ingress: &Ingress) -> Vec<GroupId> {
    ingress
        .finalizers()
        .iter()
        .filter_map(|finalizer| {
            if finalizer == IMPLICIT_GROUP_FINALIZER {
                Some(GroupId::Implicit { namespace: ingress.namespace().unwrap_or_default(), name: ingress.name_any() })
            } else {
                finalizer.strip_prefix(GROUP_FINALIZER_PREFIX).map(|name| GroupId::Explicit(name.to_string()))
            }
        })
        .collect()
}
