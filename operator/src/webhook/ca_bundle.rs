//! Mode `self`: the CA bundle of the self-managed Secret written into the `caBundle` of every
//! webhook of Elbow's MutatingWebhookConfiguration, which is how kube-apiserver learns to trust
//! the serving certificate. (With cert-manager, its CA injector does this instead.)

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

/// What [`publish`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Every webhook had the bundle already.
    Unchanged,
    /// This many webhooks were given it.
    Patched(usize),
    /// No configuration of that name (the chart applies it with the Deployment; it may come a
    /// moment later).
    Missing,
}

/// A JSON patch that gives every webhook of `configuration` the `bundle` (PEM) it lacks, each
/// change guarded by a `test` of the webhook's name at that index, so that a list reordered
/// meanwhile fails the patch instead of changing the wrong entry. None when nothing is missing.
pub fn patch_for(configuration: &MutatingWebhookConfiguration, bundle: &[u8]) -> Option<json_patch::Patch> {
    let encoded = STANDARD.encode(bundle);
    let mut operations: Vec<Value> = Vec::new();
    for (index, webhook) in configuration.webhooks.iter().flatten().enumerate() {
        if webhook.client_config.ca_bundle.as_ref().is_some_and(|current| current.0 == bundle) {
            continue;
        }
        operations.push(json!({ "op": "test", "path": format!("/webhooks/{index}/name"), "value": webhook.name }));
        operations.push(json!({
            "op": "add",
            "path": format!("/webhooks/{index}/clientConfig/caBundle"),
            "value": encoded,
        }));
    }
    if operations.is_empty() {
        return None;
    }
    serde_json::from_value(Value::Array(operations)).ok()
}

/// Writes `bundle` into the configuration called `name` where it is missing.
pub async fn publish(client: &kube::Client, name: &str, bundle: &[u8]) -> anyhow::Result<Published> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let configuration =
        api.get_opt(name).await.with_context(|| format!("failed to read the MutatingWebhookConfiguration {name}"))?;
    let Some(configuration) = configuration else { return Ok(Published::Missing) };
    let Some(patch) = patch_for(&configuration, bundle) else { return Ok(Published::Unchanged) };
    let count = patch.0.len() / 2;
    api.patch(name, &PatchParams::default(), &Patch::<()>::Json(patch))
        .await
        .with_context(|| format!("failed to patch the caBundle of the MutatingWebhookConfiguration {name}"))?;
    Ok(Published::Patched(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration as the chart renders it, with one webhook given the bundle already.
    fn configuration(second_bundle: Option<&str>) -> MutatingWebhookConfiguration {
        let mut second = json!({
            "name": "mservice-b.elbow.dev",
            "clientConfig": { "service": { "name": "elbow-webhook", "namespace": "elbow-system", "path": "/mutate-v1-service" } },
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None"
        });
        if let Some(bundle) = second_bundle {
            second["clientConfig"]["caBundle"] = json!(STANDARD.encode(bundle));
        }
        serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": { "name": "elbow", "resourceVersion": "7" },
            "webhooks": [
                {
                    "name": "mservice.elbow.dev",
                    "clientConfig": { "service": { "name": "elbow-webhook", "namespace": "elbow-system", "path": "/mutate-v1-service", "port": 443 } },
                    "rules": [{ "operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["services"] }],
                    "failurePolicy": "Fail",
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None"
                },
                second
            ]
        }))
        .unwrap()
    }

    fn applied(
        configuration: &MutatingWebhookConfiguration,
        patch: &json_patch::Patch,
    ) -> MutatingWebhookConfiguration {
        let mut value = serde_json::to_value(configuration).unwrap();
        json_patch::patch(&mut value, patch).unwrap();
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn every_webhook_without_the_bundle_gets_it_and_nothing_else_changes() {
        let bundle = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let before = configuration(Some("an old bundle"));
        let patch = patch_for(&before, bundle).unwrap();
        let after = applied(&before, &patch);
        for webhook in after.webhooks.as_ref().unwrap() {
            assert_eq!(webhook.client_config.ca_bundle.as_ref().unwrap().0, bundle, "{}", webhook.name);
        }
        // Everything but the bundles is as it was.
        let strip = |mut c: MutatingWebhookConfiguration| {
            c.webhooks.iter_mut().flatten().for_each(|w| w.client_config.ca_bundle = None);
            serde_json::to_value(c).unwrap()
        };
        assert_eq!(strip(after.clone()), strip(before));
        assert_eq!(patch_for(&after, bundle), None, "nothing left to patch");
    }

    #[test]
    fn a_webhook_that_has_the_bundle_is_not_touched_and_each_change_is_guarded_by_its_name() {
        let bundle = b"bundle";
        let patch = patch_for(&configuration(Some("bundle")), bundle).unwrap();
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!([
                { "op": "test", "path": "/webhooks/0/name", "value": "mservice.elbow.dev" },
                { "op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": STANDARD.encode(bundle) }
            ])
        );
        // Applied to a list whose order changed meanwhile, the patch fails rather than writing
        // into another webhook.
        let mut reordered = serde_json::to_value(configuration(Some("bundle"))).unwrap();
        reordered["webhooks"].as_array_mut().unwrap().reverse();
        assert!(json_patch::patch(&mut reordered, &patch).is_err());
    }

    #[test]
    fn a_configuration_without_webhooks_needs_no_patch() {
        let empty: MutatingWebhookConfiguration =
            serde_json::from_value(json!({ "metadata": { "name": "elbow" } })).unwrap();
        assert_eq!(patch_for(&empty, b"bundle"), None);
    }
}
