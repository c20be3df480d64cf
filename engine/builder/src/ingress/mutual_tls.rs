//! `mutual-authentication`: mutual TLS of a member's HTTPS listeners, a JSON list of
//! `{"port", "mode", "trustStore", "ignoreClientCertificateExpiry", "advertiseTrustStoreCaNames"}`
//! read and checked as the AWS Load Balancer Controller reads it (keys in any case, as Go's JSON
//! decoder matches them): `mode` is `off`, `passthrough` or `verify`; `verify` needs a trust store
//! (an ARN, or a name looked up when deploying) and alone takes the two options;
//! `advertiseTrustStoreCaNames` is `on` or `off`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::annotations::Annotations;
use crate::error::BuildError;
use elbow_model::{MutualAuthentication, MutualTlsMode};

pub(crate) const ANNOTATION: &str = "mutual-authentication";

const EXPECTED: &str = r#"a JSON list like [{"port": 443, "mode": "verify", "trustStore": "<name or ARN>"}]"#;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    port: i64,
    #[serde(default)]
    mode: String,
    trust_store: Option<String>,
    ignore_client_certificate_expiry: Option<bool>,
    advertise_trust_store_ca_names: Option<String>,
}

const FIELDS: &[&str] = &["port", "mode", "trustStore", "ignoreClientCertificateExpiry", "advertiseTrustStoreCaNames"];

impl crate::ingress::settings::Shown for MutualAuthentication {
    fn shown(&self) -> String {
        let mut shown = self.mode.as_str().to_string();
        if let Some(store) = &self.trust_store {
            shown.push_str(&format!(" with trust store {store}"));
        }
        if self.ignore_client_certificate_expiry {
            shown.push_str(", ignoring expiry");
        }
        if self.advertise_trust_store_ca_names {
            shown.push_str(", advertising CA names");
        }
        shown
    }
}

/// The member's mutual TLS settings by listen port; none without the annotation.
pub(crate) fn read(a: &Annotations<'_>) -> Result<BTreeMap<u16, MutualAuthentication>, BuildError> {
    let Some(entries) = a.go_json::<Vec<Entry>>(ANNOTATION, EXPECTED, FIELDS)? else { return Ok(BTreeMap::new()) };
    let raw = a.get(ANNOTATION).unwrap_or_default();
    let invalid = |why: String| a.invalid(ANNOTATION, raw, &format!("{EXPECTED}; {why}"));
    if entries.is_empty() {
        return Err(invalid("the list is empty".into()));
    }
    let mut by_port = BTreeMap::new();
    for entry in entries {
        let port = u16::try_from(entry.port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| invalid(format!("port {} is not within 1 to 65535", entry.port)))?;
        if entry.mode.is_empty() {
            return Err(invalid(format!("port {port} has no mode")));
        }
        let mode = MutualTlsMode::parse(&entry.mode).ok_or_else(|| {
            invalid(format!("mode {:?} of port {port} is none of off, passthrough, verify", entry.mode))
        })?;
        let trust_store = entry.trust_store.filter(|s| !s.is_empty());
        let advertise = match entry.advertise_trust_store_ca_names.as_deref() {
            None => None,
            Some("on") => Some(true),
            Some("off") => Some(false),
            Some(other) => {
                return Err(invalid(format!("advertiseTrustStoreCaNames of port {port} is {other:?}, not on or off")));
            }
        };
        if mode == MutualTlsMode::Verify {
            if trust_store.is_none() {
                return Err(invalid(format!("mode verify of port {port} needs a trustStore")));
            }
        } else {
            let extra = [
                trust_store.as_ref().map(|_| "trustStore"),
                entry.ignore_client_certificate_expiry.map(|_| "ignoreClientCertificateExpiry"),
                advertise.map(|_| "advertiseTrustStoreCaNames"),
            ];
            if let Some(field) = extra.into_iter().flatten().next() {
                return Err(invalid(format!("mode {} of port {port} takes no {field} (verify only)", mode.as_str())));
            }
        }
        // A port listed twice: the later entry wins, as in LBC.
        by_port.insert(
            port,
            MutualAuthentication {
                mode,
                trust_store,
                ignore_client_certificate_expiry: entry.ignore_client_certificate_expiry.unwrap_or(false),
                advertise_trust_store_ca_names: advertise.unwrap_or(false),
            },
        );
    }
    Ok(by_port)
}
