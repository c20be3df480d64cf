//! Where one Ingress stands: a member of one of Elbow's groups, outside Elbow's reach, or meant for
//! Elbow but unusable as written. The controller and `elbow plan` both decide with [`standing`],
//! so what `plan` predicts is what the controller does.
//!
//! The groups an Ingress was part of are read back from its finalizers ([`joined_groups`]): after a
//! class or group change the old settings are gone, and the finalizer is the only record left of
//! which load balancer still serves the Ingress.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{Ingress, IngressClass};

use super::class::{ClassResolution, resolve_class};
use super::group::{GROUP_FINALIZER_PREFIX, GroupId, IMPLICIT_GROUP_FINALIZER, group_of};
use crate::crd::IngressClassParamsSpec;
use crate::error::BuildError;

/// Where an Ingress stands now.
// One value per Ingress and reconcile, matched once: boxing the parameters would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    /// Ours, in this group, with its class's parameters.
    Member { group: GroupId, params: Option<IngressClassParamsSpec> },
    /// Another controller's class, no class at all, or being deleted: a member of no group.
    Outside,
    /// Meant to be ours, but its class or group cannot be resolved: the user must fix it.
    Invalid(BuildError),
}

/// Resolves `ingress`'s class against the cluster's IngressClasses and IngressClassParams (by
/// name), then its group. `controller` is the IngressClass controller name Elbow serves. An
/// Ingress being deleted belongs to no group any more: its group is rebuilt without it.
pub fn standing(
    ingress: &Ingress,
    classes: &[IngressClass],
    params: &BTreeMap<String, IngressClassParamsSpec>,
    controller: &str,
) -> Standing {
    if ingress.metadata.deletion_timestamp.is_some() {
        return Standing::Outside;
    }
    match resolve_class(ingress, classes, params, controller) {
        ClassResolution::NotOurs => Standing::Outside,
        ClassResolution::Invalid(message) => Standing::Invalid(BuildError::IngressClass(message)),
        ClassResolution::Ours { params, .. } => match group_of(ingress, params.as_ref()) {
            Ok(group) => Standing::Member { group, params },
            Err(error) => Standing::Invalid(error),
        },
    }
}

/// The groups `ingress` joined, by the group finalizers it carries.
pub fn joined_groups(ingress: &Ingress) -> Vec<GroupId> {
    let Some(finalizers) = ingress.metadata.finalizers.as_ref() else { return Vec::new() };
    finalizers
        .iter()
        .filter_map(|finalizer| {
            if finalizer == IMPLICIT_GROUP_FINALIZER {
                Some(GroupId::Implicit {
                    namespace: ingress.metadata.namespace.clone().unwrap_or_default(),
                    name: ingress.metadata.name.clone().unwrap_or_default(),
                })
            } else {
                finalizer.strip_prefix(GROUP_FINALIZER_PREFIX).map(|name| GroupId::Explicit(name.to_string()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::networking::v1::{IngressClassSpec, IngressSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    use super::*;

    const CONTROLLER: &str = "elbow.dev/alb";

    fn class(name: &str, controller: &str) -> IngressClass {
        IngressClass {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            spec: Some(IngressClassSpec { controller: Some(controller.into()), ..Default::default() }),
        }
    }

    fn ingress(class: &str, annotations: &[(&str, &str)]) -> Ingress {
        Ingress {
            metadata: ObjectMeta {
                namespace: Some("shop".into()),
                name: Some("web".into()),
                annotations: Some(annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                ..Default::default()
            },
            spec: Some(IngressSpec { ingress_class_name: Some(class.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    fn classes() -> Vec<IngressClass> {
        vec![class("elbow", CONTROLLER), class("nginx", "k8s.io/ingress-nginx")]
    }

    #[test]
    fn an_ingress_of_our_class_is_a_member_of_its_own_group_or_the_one_it_names() {
        let alone = standing(&ingress("elbow", &[]), &classes(), &BTreeMap::new(), CONTROLLER);
        let implicit = GroupId::Implicit { namespace: "shop".into(), name: "web".into() };
        assert_eq!(alone, Standing::Member { group: implicit, params: None });

        let grouped = ingress("elbow", &[("alb.ingress.kubernetes.io/group.name", "storefront")]);
        let named = standing(&grouped, &classes(), &BTreeMap::new(), CONTROLLER);
        assert_eq!(named, Standing::Member { group: GroupId::Explicit("storefront".into()), params: None });
    }

    #[test]
    fn another_controllers_class_and_an_ingress_being_deleted_are_outside() {
        assert_eq!(standing(&ingress("nginx", &[]), &classes(), &BTreeMap::new(), CONTROLLER), Standing::Outside);
        let mut leaving = ingress("elbow", &[]);
        leaving.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(standing(&leaving, &classes(), &BTreeMap::new(), CONTROLLER), Standing::Outside);
    }

    #[test]
    fn a_bad_group_name_is_the_users_to_fix() {
        let bad = ingress("elbow", &[("alb.ingress.kubernetes.io/group.name", "Not_A_Name")]);
        let Standing::Invalid(error) = standing(&bad, &classes(), &BTreeMap::new(), CONTROLLER) else {
            panic!("expected a user error");
        };
        assert!(error.to_string().contains("group.name"), "{error}");
    }

    #[test]
    fn joined_groups_are_read_back_from_the_finalizers() {
        let mut member = ingress("elbow", &[]);
        member.metadata.finalizers = Some(vec![
            IMPLICIT_GROUP_FINALIZER.into(),
            format!("{GROUP_FINALIZER_PREFIX}storefront"),
            "example.com/unrelated".into(),
        ]);
        assert_eq!(
            joined_groups(&member),
            [
                GroupId::Implicit { namespace: "shop".into(), name: "web".into() },
                GroupId::Explicit("storefront".into())
            ]
        );
    }
}
