//! Writes when admission webhooks are configured, in kube-apiserver's order:
//!
//! - create: defaulting, the built-in mutating plugins, mutating webhooks (object as sent, no
//!   name yet when generateName is used), then the store's create rules and registry admission
//!   (name, uid, cluster IP, node ports), then validating webhooks on that object, then the write;
//! - update and patch: the patch applied to the current object (or the PUT body), defaulting,
//!   mutating webhooks, the update rules and registry admission, validating webhooks, the write;
//! - delete: mutating and validating webhooks with the object as `oldObject` and no `object`,
//!   then the delete.
//!
//! Namespaces must exist before any webhook is called, as kube-apiserver's NamespaceLifecycle
//! plugin runs first. Each write holds its object's lock (see `object_locks`) from its read to
//! its write.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Operation, Request, Webhooks, equivalents};
use crate::admission;
use crate::errors::ApiError;
use crate::registry::ResourceInfo;
use crate::server::ServerState;
use crate::store::Part;

/// One write request, as admission sees it.
pub struct Write<'a> {
    pub state: &'a ServerState,
    pub info: &'a ResourceInfo,
    pub namespace: &'a str,
    /// The name in the path; "" for a POST.
    pub name: &'a str,
    pub subresource: &'a str,
    pub user: Value,
    /// The query, for the operation's options.
    pub field_manager: Option<String>,
    pub field_validation: Option<String>,
}

impl Write<'_> {
    fn request(&self, operation: Operation, name: &str, options: Value) -> Request {
        // A request for a Namespace by name carries it as its namespace too.
        let names_a_namespace = self.info.group.is_empty() && self.info.resource == "namespaces";
        let namespace = if names_a_namespace { self.name } else { self.namespace };
        Request {
            info: self.info.clone(),
            subresource: self.subresource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            operation,
            user: self.user.clone(),
            options,
        }
    }

    /// CreateOptions or UpdateOptions, with what the query set.
    fn options(&self, kind: &str) -> Value {
        let mut options = json!({ "kind": kind, "apiVersion": "meta.k8s.io/v1" });
        if let Some(manager) = &self.field_manager {
            options["fieldManager"] = json!(manager);
        }
        if let Some(validation) = &self.field_validation {
            options["fieldValidation"] = json!(validation);
        }
        options
    }

    fn equivalents(&self) -> Vec<ResourceInfo> {
        equivalents(&self.state.registry.read().unwrap_or_else(|p| p.into_inner()), self.info)
    }

    fn lock_key(&self, name: &str) -> String {
        format!("{}\u{0}{}\u{0}{name}", self.info.key(), self.namespace)
    }

    fn check_namespace(&self) -> Result<(), ApiError> {
        if self.info.namespaced && !self.state.store.has_namespace(self.namespace) {
            return Err(ApiError::not_found("namespaces", self.namespace));
        }
        Ok(())
    }
}

fn must_be_object(object: &Value) -> Result<(), ApiError> {
    if object.is_object() && (object["metadata"].is_object() || object["metadata"].is_null()) {
        Ok(())
    } else {
        Err(ApiError::bad_request("the object and its metadata must be JSON objects"))
    }
}

pub async fn create(write: &Write<'_>, webhooks: &Webhooks<'_>, mut object: Value) -> Result<Arc<Value>, ApiError> {
    must_be_object(&object)?;
    let (info, store) = (write.info, &write.state.store);
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
    // Names generated later cannot collide with another writer's.
    let _lock = match name.is_empty() {
        true => None,
        false => Some(write.state.object_locks.lock(write.lock_key(&name)).await),
    };
    write.check_namespace()?;
    object["apiVersion"] = json!(info.api_version());
    object["kind"] = json!(info.kind);
    let builtin = |object: &mut Value| {
        admission::defaults(info, object);
        store.run_plugins(info, true, object);
    };
    builtin(&mut object);
    let equivalents = write.equivalents();
    let request = write.request(Operation::Create, &name, write.options("CreateOptions"));
    let object = webhooks.mutate(&request, &equivalents, None, Some(object), builtin).await?.unwrap_or_default();
    must_be_object(&object)?;
    let pending = store.prepare_create(info, write.namespace, object)?;
    let stored = pending.object();
    // Validating webhooks see the name generated for the object.
    let request = Request { name: stored["metadata"]["name"].as_str().unwrap_or_default().to_string(), ..request };
    webhooks.validate(&request, &equivalents, None, Some(&stored)).await?;
    pending.commit()
}

/// How often kube-apiserver works an unconditional write out again after losing a race.
const MAX_CONFLICT_RETRIES: usize = 5;

/// An update (PUT, or PATCH with `change` applying the patch) of the object named in the path.
///
/// As kube-apiserver's GuaranteedUpdate: a write that names no resourceVersion (every patch that
/// does not put one in its body, and a PUT without one) and finds the object changed by another
/// writer meanwhile (the webhooks are called between the read and the write) is worked out again
/// from the newer object, webhooks included, rather than failing with 409 Conflict. A write that
/// names a resourceVersion is held to it.
pub async fn update(
    write: &Write<'_>,
    webhooks: &Webhooks<'_>,
    part: Part,
    change: impl Fn(&Value) -> Result<Value, ApiError>,
) -> Result<Arc<Value>, ApiError> {
    let mut retries = 0;
    loop {
        match update_once(write, webhooks, part, &change).await {
            Err((error, unconditional)) if unconditional && error.code == 409 && retries < MAX_CONFLICT_RETRIES => {
                retries += 1;
            }
            result => return result.map_err(|(error, _)| error),
        }
    }
}

/// One attempt of [`update`]; an error comes with whether the write named no resourceVersion.
async fn update_once(
    write: &Write<'_>,
    webhooks: &Webhooks<'_>,
    part: Part,
    change: &impl Fn(&Value) -> Result<Value, ApiError>,
) -> Result<Arc<Value>, (ApiError, bool)> {
    let (info, store) = (write.info, &write.state.store);
    let _lock = write.state.object_locks.lock(write.lock_key(write.name)).await;
    let old = store.get(info, write.namespace, write.name).map_err(|e| (e, false))?;
    let new = change(&old).map_err(|e| (e, false))?;
    let unconditional = new["metadata"]["resourceVersion"].as_str().is_none_or(str::is_empty);
    update_from(write, webhooks, part, &old, new).await.map_err(|e| (e, unconditional))
}

async fn update_from(
    write: &Write<'_>,
    webhooks: &Webhooks<'_>,
    part: Part,
    old: &Value,
    mut new: Value,
) -> Result<Arc<Value>, ApiError> {
    let (info, store) = (write.info, &write.state.store);
    must_be_object(&new)?;
    let defaults = |object: &mut Value| admission::defaults(info, object);
    defaults(&mut new);
    let equivalents = write.equivalents();
    let request = write.request(Operation::Update, write.name, write.options("UpdateOptions"));
    let new = webhooks.mutate(&request, &equivalents, Some(old), Some(new), defaults).await?.unwrap_or_default();
    let pending = store.prepare_update(info, write.namespace, write.name, part, old, new)?;
    let stored = pending.object();
    webhooks.validate(&request, &equivalents, Some(old), Some(&stored)).await?;
    pending.commit()
}

/// A delete of the object named in the path; `options` is the request's DeleteOptions.
pub async fn delete(write: &Write<'_>, webhooks: &Webhooks<'_>, options: Value) -> Result<Arc<Value>, ApiError> {
    let (info, store) = (write.info, &write.state.store);
    let _lock = write.state.object_locks.lock(write.lock_key(write.name)).await;
    let old = store.get(info, write.namespace, write.name)?;
    let equivalents = write.equivalents();
    let request = write.request(Operation::Delete, write.name, options);
    webhooks.mutate(&request, &equivalents, Some(&old), None, |_| {}).await?;
    let parsed = crate::deletion::DeleteOptions::from_json(&request.options);
    webhooks.validate(&request, &equivalents, Some(&old), None).await?;
    store.delete_with(info, write.namespace, write.name, &parsed)
}
