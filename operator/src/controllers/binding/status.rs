//! A binding's status: the group found, the target type in effect, the targets the binding
//! registered, the generation reconciled and the `Ready` condition (type and reasons as the AWS
//! Load Balancer Controller names them). Written with merge patches of the status subresource,
//! only the fields that differ, and not at all when none does.

use elbow_builder::binding::{BoundTarget, TargetGroupBinding, TargetGroupBindingStatus};
use elbow_model::{Target, TargetType};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Map, Value, json};

use crate::controllers::conditions::{Wanted, with_condition};
use crate::controllers::{Error, object_name};

pub const READY: &str = "Ready";

/// `Ready` condition reasons beside the builder's (`BackendNotFound`, `TargetGroupNotFound`,
/// `InvalidConfiguration`).
pub mod reasons {
    pub const RECONCILED: &str = "SuccessfullyReconciled";
    pub const FAILED: &str = "FailedReconcile";
    pub const CLEANUP_FAILED: &str = "FailedCleanup";
}

/// What a reconcile wants the status to say; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Update<'a> {
    pub target_group_arn: Option<&'a str>,
    pub target_type: Option<TargetType>,
    pub registered: Option<&'a [Target]>,
    /// The spec generation now reconciled.
    pub observed_generation: Option<i64>,
    pub ready: Option<Wanted<'a>>,
}

/// The status as last read or written by this reconcile, and the patches that move it.
pub struct StatusWriter<'a> {
    api: &'a Api<TargetGroupBinding>,
    binding: &'a TargetGroupBinding,
    pub current: TargetGroupBindingStatus,
}

impl<'a> StatusWriter<'a> {
    pub fn new(api: &'a Api<TargetGroupBinding>, binding: &'a TargetGroupBinding) -> Self {
        Self { api, binding, current: binding.status.clone().unwrap_or_default() }
    }

    /// The targets the status says the binding registered.
    pub fn registered(&self) -> Vec<Target> {
        let mut targets: Vec<Target> = self.current.registered_targets.iter().flatten().map(Target::from).collect();
        targets.sort();
        targets.dedup();
        targets
    }

    pub async fn write(&mut self, update: Update<'_>) -> Result<(), Error> {
        let Some(patch) = patch(&self.current, &update, self.binding.metadata.generation, Timestamp::now()) else {
            return Ok(());
        };
        let body = json!({ "status": patch });
        let written = self
            .api
            .patch_status(&self.binding.name_any(), &PatchParams::default(), &Patch::Merge(&body))
            .await
            .map_err(|source| Error::PatchStatus { object: object_name(self.binding), source })?;
        self.current = written.status.unwrap_or_default();
        Ok(())
    }
}

/// The status fields of `update` that differ from `current`, as a merge patch; `None` when none
/// does.
fn patch(
    current: &TargetGroupBindingStatus,
    update: &Update<'_>,
    generation: Option<i64>,
    now: Timestamp,
) -> Option<Map<String, Value>> {
    let mut patch = Map::new();
    if let Some(arn) = update.target_group_arn.filter(|arn| current.target_group_arn.as_deref() != Some(*arn)) {
        patch.insert("targetGroupARN".into(), json!(arn));
    }
    if let Some(target_type) = update.target_type.filter(|t| current.target_type != Some(*t)) {
        patch.insert("targetType".into(), json!(target_type));
    }
    if let Some(registered) = update.registered {
        let wanted: Vec<BoundTarget> = registered.iter().map(BoundTarget::from).collect();
        if current.registered_targets.as_deref().unwrap_or_default() != wanted.as_slice() {
            patch.insert("registeredTargets".into(), json!(wanted));
        }
    }
    if let Some(observed) = update.observed_generation.filter(|g| current.observed_generation != Some(*g)) {
        patch.insert("observedGeneration".into(), json!(observed));
    }
    if let Some(ready) = &update.ready {
        let conditions = current.conditions.clone().unwrap_or_default();
        if let Some(conditions) = with_condition(&conditions, ready, generation, now) {
            patch.insert("conditions".into(), json!(conditions));
        }
    }
    (!patch.is_empty()).then_some(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("a small positive number of seconds is a valid timestamp")
    }

    fn ready<'a>(message: &'a str) -> Wanted<'a> {
        Wanted { type_: READY, status: "True", reason: reasons::RECONCILED, message }
    }

    #[test]
    fn only_what_differs_is_patched() {
        let targets = [Target::new("i-1", 30080)];
        let update = Update {
            target_group_arn: Some("arn:tg"),
            target_type: Some(TargetType::Instance),
            registered: Some(&targets),
            observed_generation: Some(2),
            ready: Some(ready("holds 1 target")),
        };
        let first = patch(&TargetGroupBindingStatus::default(), &update, Some(2), at(10)).expect("all new");
        assert_eq!(
            first.keys().map(String::as_str).collect::<Vec<_>>(),
            ["conditions", "observedGeneration", "registeredTargets", "targetGroupARN", "targetType"]
        );
        assert_eq!(first["registeredTargets"], json!([{ "id": "i-1", "port": 30080 }]));
        let written: TargetGroupBindingStatus = serde_json::from_value(Value::Object(first)).unwrap();
        assert_eq!(patch(&written, &update, Some(2), at(20)), None, "nothing changed, nothing sent");
        let emptied = Update { registered: Some(&[]), ..Update::default() };
        let second = patch(&written, &emptied, Some(2), at(20)).expect("the targets went");
        assert_eq!(Value::Object(second), json!({ "registeredTargets": [] }));
    }
}
