//! Adding and removing Elbow's finalizer with JSON patches guarded by `test` operations, so a
//! concurrent change to the finalizer list fails the patch (and the reconcile retries) instead of
//! silently dropping another controller's finalizer.

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Error, object_name};

/// Adds `finalizer` unless present. Returns the updated object, or `None` if nothing was sent.
pub async fn add<K>(api: &Api<K>, object: &K, finalizer: &str) -> Result<Option<K>, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let finalizers = object.finalizers();
    if finalizers.iter().any(|f| f == finalizer) {
        return Ok(None);
    }
    let ops = if finalizers.is_empty() {
        // `test` for null fails when the list appeared meanwhile; `add` then creates it.
        json!([
            { "op": "test", "path": "/metadata/finalizers", "value": null },
            { "op": "add", "path": "/metadata/finalizers", "value": [finalizer] },
        ])
    } else {
        json!([
            { "op": "test", "path": "/metadata/finalizers", "value": finalizers },
            { "op": "add", "path": "/metadata/finalizers/-", "value": finalizer },
        ])
    };
    match patch(api, object, ops).await {
        Ok(updated) => Ok(Some(updated)),
        Err(source) => {
            Err(Error::AddFinalizer { object: object_name(object), finalizer: finalizer.to_string(), source })
        }
    }
}

/// Removes `finalizer` if present. `Ok(None)` when it was absent or the object is already gone.
pub async fn remove<K>(api: &Api<K>, object: &K, finalizer: &str) -> Result<Option<K>, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let Some(index) = object.finalizers().iter().position(|f| f == finalizer) else {
        return Ok(None);
    };
    let path = format!("/metadata/finalizers/{index}");
    let ops = json!([
        { "op": "test", "path": path, "value": finalizer },
        { "op": "remove", "path": path },
    ]);
    match patch(api, object, ops).await {
        Ok(updated) => Ok(Some(updated)),
        // Removing the last finalizer of a deleted object deletes it; it may be gone already.
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(None),
        Err(source) => {
            Err(Error::RemoveFinalizer { object: object_name(object), finalizer: finalizer.to_string(), source })
        }
    }
}

async fn patch<K>(api: &Api<K>, object: &K, ops: serde_json::Value) -> Result<K, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let patch: json_patch::Patch = serde_json::from_value(ops).map_err(kube::Error::SerdeError)?;
    api.patch(&object.name_any(), &PatchParams::default(), &Patch::<()>::Json(patch)).await
}
