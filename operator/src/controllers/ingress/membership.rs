//! Which Ingresses make up a group, read from the controller's caches: an Ingress is a member
//! when it stands in that group (the builder's `standing`: its class is Elbow's, it resolves to
//! the group, it is not being deleted) and carries the group's finalizer, so no cloud resource
//! exists for an Ingress Elbow could forget.

use std::collections::BTreeMap;
use std::sync::Arc;

use elbow_builder::crd::{IngressClassParams, IngressClassParamsSpec};
use elbow_builder::ingress::{GroupId, Standing, group_finalizer, joined_groups, standing, unserved_legacy_class};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::ResourceExt;
use kube::runtime::reflector::Store;

/// A snapshot of the IngressClasses and their parameters, to resolve Ingresses against.
pub struct ClassView {
    classes: Vec<IngressClass>,
    params: BTreeMap<String, IngressClassParamsSpec>,
    controller: String,
}

impl ClassView {
    pub fn new(classes: &Store<IngressClass>, params: &Store<IngressClassParams>, controller: &str) -> Self {
        ClassView {
            classes: classes.state().iter().map(|c| c.as_ref().clone()).collect(),
            params: params.state().iter().map(|p| (p.name_any(), p.spec.clone())).collect(),
            controller: controller.to_string(),
        }
    }

    /// Where `ingress` stands against this snapshot (see [`standing`]).
    pub fn standing(&self, ingress: &Ingress) -> Standing {
        standing(ingress, &self.classes, &self.params, &self.controller)
    }

    /// The Warning for an Ingress outside every group that names LBC's legacy class `alb` when
    /// no IngressClass of that name exists: likely migrated and silently unserved otherwise.
    pub fn unserved_legacy_class(&self, ingress: &Ingress) -> Option<elbow_builder::BuildError> {
        unserved_legacy_class(ingress, &self.classes, &self.controller)
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
