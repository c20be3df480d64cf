//! The certificate Secret in the API server: read as it is (mode `external`: cert-manager writes
//! it), or made and renewed by the operator (mode `self`). Every replica runs the same check;
//! writes carry the resourceVersion that was read (create: none), so when two replicas renew at
//! once one write wins and the other gets 409 Conflict (or AlreadyExists), reads the winner's
//! Secret and serves it.

use std::collections::BTreeMap;

use anyhow::{Context as _, anyhow};
use chrono::Utc;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use tracing::{debug, info};

use super::material::{self, SecretData, Serving};

/// Rounds of read-then-write before giving up: each lost round means another replica wrote a
/// usable Secret, so the next read normally ends it.
const WRITE_ROUNDS: usize = 5;

/// Where the Secret is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

fn data_of(secret: &Secret) -> SecretData {
    secret.data.iter().flatten().map(|(key, value)| (key.clone(), value.0.clone())).collect()
}

fn byte_strings(data: SecretData) -> BTreeMap<String, ByteString> {
    data.into_iter().map(|(key, value)| (key, ByteString(value))).collect()
}

/// Mode `external`: the Secret's `tls.crt` and `tls.key`, never written.
pub async fn read_external(client: &kube::Client, secret: &SecretRef) -> anyhow::Result<Serving> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &secret.namespace);
    let found = api.get_opt(&secret.name).await.with_context(|| format!("failed to read the Secret {secret}"))?;
    let found =
        found.ok_or_else(|| anyhow!("the Secret {secret} does not exist (yet): has cert-manager issued it?"))?;
    material::load_serving(&data_of(&found)).map_err(|e| anyhow!("the Secret {secret} cannot be served: {e}"))
}

/// Mode `self`: the Secret's certificate when it is usable for `dns_names`, else a renewed one
/// written back (created when there is no Secret).
pub async fn ensure_self_managed(
    client: &kube::Client,
    secret: &SecretRef,
    dns_names: &[String],
) -> anyhow::Result<Serving> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &secret.namespace);
    for _ in 0..WRITE_ROUNDS {
        let now = Utc::now();
        let existing =
            api.get_opt(&secret.name).await.with_context(|| format!("failed to read the Secret {secret}"))?;
        let data = existing.as_ref().map(data_of);
        if let Some(data) = &data {
            match material::assess(data, dns_names, now) {
                Ok(serving) => return Ok(serving),
                Err(reason) => info!(%secret, %reason, "renewing the webhook's certificate"),
            }
        } else {
            info!(%secret, "creating the webhook's certificate");
        }
        let renewed = material::renew(data.as_ref(), dns_names, now).context("failed to issue a certificate")?;
        let written = match existing {
            None => {
                let new = Secret {
                    metadata: ObjectMeta {
                        name: Some(secret.name.clone()),
                        namespace: Some(secret.namespace.clone()),
                        labels: Some(BTreeMap::from([("app.kubernetes.io/part-of".into(), "elbow".into())])),
                        ..ObjectMeta::default()
                    },
                    type_: Some("kubernetes.io/tls".into()),
                    data: Some(byte_strings(renewed)),
                    ..Secret::default()
                };
                api.create(&PostParams::default(), &new).await
            }
            Some(mut current) => {
                // Same object, same resourceVersion, same type (a Secret's type is immutable);
                // only the data is new.
                current.data = Some(byte_strings(renewed));
                current.string_data = None;
                api.replace(&secret.name, &PostParams::default(), &current).await
            }
        };
        match written {
            Ok(stored) => {
                return material::load_serving(&data_of(&stored))
                    .map_err(|e| anyhow!("the Secret {secret} as written cannot be served: {e}"));
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                debug!(%secret, reason = %status.reason, "another replica wrote the Secret first; reading it again");
            }
            Err(error) => return Err(error).with_context(|| format!("failed to write the Secret {secret}")),
        }
    }
    Err(anyhow!("the Secret {secret} kept changing while it was being renewed"))
}
