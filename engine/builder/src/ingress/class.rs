//! Which Ingresses are Elbow's: the legacy annotation `kubernetes.io/ingress.class`
//! when set (it wins over the field, as in the AWS Load Balancer Controller), else
//! `spec.ingressClassName`, else the one IngressClass marked default. The class must exist and
//! name Elbow's controller; its `spec.parameters` may point at an IngressClassParams object.
//!
//! An Ingress of a class Elbow cannot see (missing, or another controller's) is simply not ours:
//! another controller may serve it, so Elbow must not so much as warn about it. The one exception
//! is told apart by [`unserved_legacy_class`]: `kubernetes.io/ingress.class: alb` with no
//! IngressClass `alb`, LBC's legacy spelling, which LBC served without any IngressClass and which a
//! migrated manifest still carries; Elbow does not serve it either, but says why.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{Ingress, IngressClass};

use crate::crd::IngressClassParamsSpec;
use crate::error::BuildError;

/// The legacy way to pick a class, still honoured: it names an IngressClass.
pub const LEGACY_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// The class LBC serves through the legacy annotation, with or without an IngressClass of that name.
pub const LBC_LEGACY_CLASS: &str = "alb";
/// Marks the IngressClass that class-less Ingresses belong to.
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";
/// What `IngressClass.spec.parameters` must name for Elbow to read it.
pub const PARAMS_API_GROUP: &str = "elbow.dev";
pub const PARAMS_KIND: &str = "IngressClassParams";

/// How an Ingress's class resolves.
// Boxing the parameters would save a few hundred bytes on a value made once per Ingress and
// reconcile, at the cost of the plain shape callers match on.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ClassResolution {
    /// Served by Elbow, with the class's parameters if it has any.
    Ours { class_name: String, params: Option<IngressClassParamsSpec> },
    /// Another controller's, or no class at all: never touched.
    NotOurs,
    /// Meant for Elbow, but the class cannot be used as it is; the message says what to fix.
    Invalid(String),
}

/// Resolves `ingress` against the cluster's IngressClasses and the IngressClassParams objects (by
/// name); `controller` is Elbow's controller name (`elbow.dev/alb` unless configured otherwise).
pub fn resolve_class(
    ingress: &Ingress,
    classes: &[IngressClass],
    params: &BTreeMap<String, IngressClassParamsSpec>,
    controller: &str,
) -> ClassResolution {
    let annotated = ingress
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(LEGACY_CLASS_ANNOTATION))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    let named = ingress.spec.as_ref().and_then(|s| s.ingress_class_name.as_deref()).filter(|v| !v.is_empty());
    let class = match annotated.or(named) {
        Some(name) => match classes.iter().find(|c| c.metadata.name.as_deref() == Some(name)) {
            Some(class) => class,
            None => return ClassResolution::NotOurs,
        },
        None => match default_class(classes, controller) {
            Ok(Some(class)) => class,
            Ok(None) => return ClassResolution::NotOurs,
            Err(message) => return ClassResolution::Invalid(message),
        },
    };
    if !is_ours(class, controller) {
        return ClassResolution::NotOurs;
    }
    let class_name = class.metadata.name.clone().unwrap_or_default();
    match class_params(class, &class_name, params) {
        Ok(params) => ClassResolution::Ours { class_name, params },
        Err(message) => ClassResolution::Invalid(message),
    }
}

/// The distinct outcome of a [`ClassResolution::NotOurs`] that deserves a Warning: the Ingress
/// says `kubernetes.io/ingress.class: alb`, LBC's legacy class, and no IngressClass `alb` exists,
/// so no IngressClass of any controller claims it. The error says how to hand it to Elbow.
///
/// The controller calls this when [`resolve_class`] answers `NotOurs`, and reports `Some` as a
/// Warning event on the Ingress (reason `FailedBuildModel`, as for other user errors), touching
/// nothing else: the Ingress stays outside every group, no finalizer is added. A cluster still
/// running LBC serves such Ingresses; a controller that must stay silent then can skip the call.
pub fn unserved_legacy_class(ingress: &Ingress, classes: &[IngressClass], controller: &str) -> Option<BuildError> {
    let annotated = ingress.metadata.annotations.as_ref()?.get(LEGACY_CLASS_ANNOTATION)?.trim();
    if annotated != LBC_LEGACY_CLASS || classes.iter().any(|c| c.metadata.name.as_deref() == Some(annotated)) {
        return None;
    }
    Some(BuildError::UnservedLegacyClass { class: annotated.to_string(), controller: controller.to_string() })
}

/// The class a class-less Ingress belongs to. Several defaults are an error only when one of them
/// is Elbow's: otherwise the ambiguity is another controller's to report.
fn default_class<'a>(classes: &'a [IngressClass], controller: &str) -> Result<Option<&'a IngressClass>, String> {
    let defaults: Vec<&IngressClass> = classes.iter().filter(|c| is_default(c)).collect();
    match defaults.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        several if several.iter().any(|c| is_ours(c, controller)) => {
            let mut names: Vec<&str> = several.iter().filter_map(|c| c.metadata.name.as_deref()).collect();
            names.sort_unstable();
            Err(format!(
                "the Ingress names no class and {} IngressClasses are marked default ({}); set spec.ingressClassName or keep one default",
                names.len(),
                names.join(", ")
            ))
        }
        _ => Ok(None),
    }
}

fn is_default(class: &IngressClass) -> bool {
    class.metadata.annotations.as_ref().and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION)).is_some_and(|v| v == "true")
}

fn is_ours(class: &IngressClass, controller: &str) -> bool {
    class.spec.as_ref().and_then(|s| s.controller.as_deref()) == Some(controller)
}

fn class_params(
    class: &IngressClass,
    class_name: &str,
    params: &BTreeMap<String, IngressClassParamsSpec>,
) -> Result<Option<IngressClassParamsSpec>, String> {
    let Some(reference) = class.spec.as_ref().and_then(|s| s.parameters.as_ref()) else { return Ok(None) };
    let group = reference.api_group.as_deref().unwrap_or_default();
    if group != PARAMS_API_GROUP || reference.kind != PARAMS_KIND {
        return Err(format!(
            "IngressClass {class_name} has parameters of kind {}{}{}; Elbow reads apiGroup {PARAMS_API_GROUP}, kind {PARAMS_KIND}",
            reference.kind,
            if group.is_empty() { "" } else { " in apiGroup " },
            group
        ));
    }
    if reference.scope.as_deref().is_some_and(|scope| scope != "Cluster") {
        return Err(format!(
            "IngressClass {class_name} has parameters of scope {}; IngressClassParams are cluster-scoped (scope: Cluster)",
            reference.scope.as_deref().unwrap_or_default()
        ));
    }
    match params.get(&reference.name) {
        Some(spec) => Ok(Some(spec.clone())),
        None => Err(format!(
            "IngressClass {class_name} refers to IngressClassParams {}, which does not exist",
            reference.name
        )),
    }
}

#[cfg(test)]
#[path = "class_tests.rs"]
mod tests;
