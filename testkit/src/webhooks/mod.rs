//! Admission webhooks, called as kube-apiserver's MutatingAdmissionWebhook and
//! ValidatingAdmissionWebhook plugins call them: the configurations in name order, each one's
//! webhooks in their order; mutating webhooks one after another, each seeing the last one's
//! patch, the built-in mutating plugins and the webhooks asking for it (`reinvocationPolicy:
//! IfNeeded`) run once more when a webhook changed the object; validating webhooks all at once,
//! on the object as it would be stored. `failurePolicy` decides what a failed call does.
//!
//! The server calls [`Webhooks::mutate`] after its defaulting and before its own registry rules,
//! and [`Webhooks::validate`] on the object the store has worked out and not yet written (see
//! `store::Pending`), as kube-apiserver calls validating admission inside its storage layer.

pub mod cel;
pub mod client;
pub mod config;
pub mod matching;
pub mod review;
pub mod writes;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::registry::{Registry, ResourceInfo};
use crate::store::Store;
use client::ServiceRoutes;
use config::Hook;
use matching::Attributes;
pub use matching::Operation;
pub use review::Request;

/// The configuration resources, whose own writes no webhook sees (kube-apiserver exempts them so
/// a broken webhook cannot lock its own configuration).
pub fn exempt(info: &ResourceInfo) -> bool {
    info.group == "admissionregistration.k8s.io"
}

/// What became of one webhook call that did not succeed.
enum Failure {
    /// The call itself failed (connection, TLS, timeout, a bad answer): `failurePolicy` decides.
    Calling(String),
    /// The webhook said no, or the server could not use what it said: the request fails.
    Refused(ApiError),
}

/// The webhooks configured when a request came, and what calling them needs.
pub struct Webhooks<'a> {
    store: &'a Store,
    routes: &'a ServiceRoutes,
    mutating: Vec<Hook>,
    validating: Vec<Hook>,
    /// The warnings webhooks answered with, which the response carries whatever its outcome.
    warnings: std::sync::Mutex<Vec<String>>,
}

impl<'a> Webhooks<'a> {
    /// The webhooks of the stored configurations; `None` when there are none, so requests go the
    /// way they go without webhooks.
    pub fn load(store: &'a Store, routes: &'a ServiceRoutes) -> Option<Self> {
        // Every write asks, so the resources are looked up once.
        static CONFIGURATIONS: LazyLock<[Option<ResourceInfo>; 2]> = LazyLock::new(|| {
            let registry = Registry::default();
            let info = |resource| registry.get("admissionregistration.k8s.io", "v1", resource).cloned();
            [info("mutatingwebhookconfigurations"), info("validatingwebhookconfigurations")]
        });
        let read = |info: &Option<ResourceInfo>| -> Vec<Hook> {
            let Some(info) = info else { return Vec::new() };
            // Listed in key order, which is name order for cluster-scoped objects.
            store.list(info, None).0.iter().flat_map(|c| config::hooks(c)).collect()
        };
        let [mutating, validating] = &*CONFIGURATIONS;
        let (mutating, validating) = (read(mutating), read(validating));
        (!mutating.is_empty() || !validating.is_empty()).then(|| Self {
            store,
            routes,
            mutating,
            validating,
            warnings: Default::default(),
        })
    }

    /// Every warning the webhooks called so far answered with.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn warn(&self, warnings: &[String]) {
        self.warnings.lock().unwrap_or_else(|p| p.into_inner()).extend(warnings.iter().cloned());
    }

    fn namespace(&self, name: &str) -> Option<Value> {
        let info = Registry::default().get("", "v1", "namespaces").cloned()?;
        self.store.get(&info, "", name).ok().map(|o| Value::clone(&o))
    }

    /// The mutating phase. `builtin` re-runs the server's defaulting and built-in mutating
    /// plugins, for the second round kube-apiserver makes when a webhook changed the object.
    pub async fn mutate(
        &self,
        request: &Request,
        equivalents: &[ResourceInfo],
        old: Option<&Value>,
        mut object: Option<Value>,
        builtin: impl Fn(&mut Value),
    ) -> Result<Option<Value>, ApiError> {
        // Webhooks with `reinvocationPolicy: IfNeeded` called so far, and those to call again.
        let mut reinvocable: BTreeSet<usize> = BTreeSet::new();
        let mut reinvoke: BTreeSet<usize> = BTreeSet::new();
        let mut changed_any = false;
        for round in 0..2 {
            if round == 1 {
                if !changed_any {
                    break;
                }
                let last_webhook_output = object.clone();
                if let Some(object) = object.as_mut() {
                    builtin(object);
                }
                if object != last_webhook_output {
                    reinvoke.extend(&reinvocable);
                }
            }
            for (i, hook) in self.mutating.iter().enumerate() {
                let attributes = attributes(request, object.as_ref(), old);
                let Some(called_as) = matching::should_call(hook, &attributes, equivalents, |ns| self.namespace(ns))?
                else {
                    continue;
                };
                // A webhook is never called for the first time in the second round.
                if round == 1 && !reinvoke.contains(&i) {
                    continue;
                }
                let outcome = self.call_mutating(hook, request, &called_as, &mut object, old).await;
                if matches!(outcome, Ok(true)) {
                    reinvoke.extend(&reinvocable);
                    changed_any = true;
                }
                if hook.reinvoke_if_needed {
                    reinvocable.insert(i);
                }
                match outcome {
                    Ok(_) => {}
                    Err(Failure::Calling(reason)) if hook.ignore_failures => {
                        tracing::warn!(webhook = %hook.name, %reason, "failed calling webhook, failing open");
                    }
                    Err(Failure::Calling(reason)) => return Err(calling_error(hook, &reason)),
                    Err(Failure::Refused(error)) => return Err(error),
                }
            }
        }
        Ok(object)
    }

    /// Calls one mutating webhook and applies its patch; `Ok(true)` when the patch changed the
    /// object.
    async fn call_mutating(
        &self,
        hook: &Hook,
        request: &Request,
        called_as: &ResourceInfo,
        object: &mut Option<Value>,
        old: Option<&Value>,
    ) -> Result<bool, Failure> {
        let sent = object.as_ref().map(|o| convert(o, &request.info, called_as));
        let answer = self.call(hook, request, called_as, sent.as_ref(), old, true).await?;
        if !answer.allowed {
            return Err(Failure::Refused(review::denial(&hook.name, answer.result.as_ref())));
        }
        if answer.patch.is_empty() {
            return Ok(false);
        }
        let patch: Value = serde_json::from_slice(&answer.patch)
            .map_err(|e| Failure::Calling(format!("received undecodable patch in webhook response: {e}")))?;
        let Some(operations) = patch.as_array() else {
            return Err(Failure::Calling(
                "received undecodable patch in webhook response: json: cannot unmarshal object into Go value of type jsonpatch.Patch".into(),
            ));
        };
        if operations.is_empty() {
            return Ok(false);
        }
        let (Some(current), Some(mut patched)) = (object.as_ref(), sent) else {
            return Err(Failure::Refused(ApiError::internal(format!(
                "admission webhook \"{}\" attempted to modify the object, which is not supported for this operation",
                hook.name
            ))));
        };
        if answer.patch_type.as_deref() != Some("JSONPatch") {
            return Err(Failure::Calling(format!(
                "unsupported patch type {:?}",
                answer.patch_type.unwrap_or_default()
            )));
        }
        crate::patch::json_patch(&mut patched, &patch).map_err(|e| Failure::Refused(ApiError::internal(e)))?;
        let mut patched = convert(&patched, called_as, &request.info);
        crate::admission::defaults(&request.info, &mut patched);
        let changed = patched != *current;
        *object = Some(patched);
        Ok(changed)
    }

    /// The validating phase, on the object as it would be stored: every webhook that applies is
    /// called at once; the first refusal (in configuration order) fails the request.
    pub async fn validate(
        &self,
        request: &Request,
        equivalents: &[ResourceInfo],
        old: Option<&Value>,
        object: Option<&Value>,
    ) -> Result<(), ApiError> {
        let attributes = attributes(request, object, old);
        let mut calls = Vec::new();
        for hook in &self.validating {
            if let Some(called_as) = matching::should_call(hook, &attributes, equivalents, |ns| self.namespace(ns))? {
                calls.push(async move {
                    let sent = object.map(|o| convert(o, &request.info, &called_as));
                    (hook, self.call(hook, request, &called_as, sent.as_ref(), old, false).await)
                });
            }
        }
        let mut refusal = None;
        for (hook, outcome) in futures::future::join_all(calls).await {
            let error = match outcome {
                Ok(answer) => {
                    if answer.allowed {
                        continue;
                    }
                    review::denial(&hook.name, answer.result.as_ref())
                }
                Err(Failure::Calling(reason)) if hook.ignore_failures => {
                    tracing::warn!(webhook = %hook.name, %reason, "failed calling webhook, failing open");
                    continue;
                }
                Err(Failure::Calling(reason)) => calling_error(hook, &reason),
                Err(Failure::Refused(error)) => error,
            };
            refusal.get_or_insert(error);
        }
        refusal.map_or(Ok(()), Err)
    }

    /// Sends the review (`object` already in the form of `called_as`, `old` still in the
    /// request's) and checks the answer.
    async fn call(
        &self,
        hook: &Hook,
        request: &Request,
        called_as: &ResourceInfo,
        object: Option<&Value>,
        old: Option<&Value>,
        mutating: bool,
    ) -> Result<review::Answer, Failure> {
        let version = review::version(hook).ok_or_else(|| {
            Failure::Calling(
                "could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)"
                    .into(),
            )
        })?;
        let uid = uuid::Uuid::new_v4().to_string();
        let old = old.map(|o| convert(o, &request.info, called_as));
        let body = review::review(version, &uid, request, called_as, object, old.as_ref());
        let reply = client::call(hook, body.to_string().into_bytes(), self.store, self.routes)
            .await
            .map_err(Failure::Calling)?;
        let answer = review::answer(&reply.body, version, &uid, mutating).map_err(|bad| {
            Failure::Calling(match bad {
                review::BadAnswer::Undecodable(reason) => format!("failed to call webhook: {reason}"),
                review::BadAnswer::Invalid(reason) => format!("received invalid webhook response: {reason}"),
            })
        })?;
        self.warn(&answer.warnings);
        Ok(answer)
    }
}

fn attributes<'a>(request: &'a Request, object: Option<&'a Value>, old: Option<&'a Value>) -> Attributes<'a> {
    Attributes {
        info: &request.info,
        subresource: &request.subresource,
        namespace: &request.namespace,
        operation: request.operation,
        object,
        old,
    }
}

/// `failurePolicy: Fail` on a failed call: a 500 naming the webhook and why.
fn calling_error(hook: &Hook, reason: &str) -> ApiError {
    ApiError::internal(format!("failed calling webhook \"{}\": {reason}", hook.name))
}

/// An object of resource `from` in the form of `to`, an equivalent resource (the same storage).
fn convert(object: &Value, from: &ResourceInfo, to: &ResourceInfo) -> Value {
    if from == to {
        return object.clone();
    }
    let mut converted = to.served(&from.to_storage(object.clone())).into_owned();
    if converted.is_object() {
        converted["apiVersion"] = json!(to.api_version());
        converted["kind"] = json!(to.kind);
    }
    converted
}

/// The resources stored with `info` (its other versions, the other Event API), for
/// `matchPolicy: Equivalent`.
pub fn equivalents(registry: &Registry, info: &ResourceInfo) -> Vec<ResourceInfo> {
    registry.all().filter(|other| other.key() == info.key()).cloned().collect()
}
