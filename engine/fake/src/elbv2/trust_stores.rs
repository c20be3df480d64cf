//! Trust stores (mutual TLS) and the `MutualAuthentication` of HTTPS listeners, with ELBv2's
//! rules: only HTTPS listeners have it; `verify` needs a trust store that exists, the other modes
//! take none, nor its options.

use elbow_model::{MutualAuthentication, MutualTlsMode, Protocol};

use super::{Elbv2, fail};
use crate::names::arn;
use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudErrorKind, CloudResult};
use elbow_cloud::types::*;

impl Elbv2 {
    pub(crate) fn seed_trust_store(&mut self, name: &str) -> TrustStore {
        if let Some(arn) = self.trust_stores.get(name) {
            return TrustStore { name: name.to_string(), arn: arn.clone() };
        }
        let id = self.next_id();
        let store = TrustStore { name: name.to_string(), arn: arn(&format!("truststore/{name}/{id}")) };
        self.trust_stores.insert(name.to_string(), store.arn.clone());
        store
    }

    /// As AWS: every name must be known, or the whole request fails.
    pub(crate) fn describe_trust_stores(&self, api: Api, names: &[String]) -> CloudResult<Vec<TrustStore>> {
        names
            .iter()
            .map(|name| {
                let arn = self.trust_stores.get(name).ok_or_else(|| {
                    fail(api, CloudErrorKind::NotFound, "TrustStoreNotFound", format!("trust store '{name}' not found"))
                })?;
                Ok(TrustStore { name: name.clone(), arn: arn.clone() })
            })
            .collect()
    }

    pub(super) fn check_mutual_authentication(
        &self,
        api: Api,
        protocol: Protocol,
        mutual: Option<&MutualAuthentication>,
    ) -> CloudResult<()> {
        let Some(mutual) = mutual else { return Ok(()) };
        let invalid = |message: String| Err(fail(api, CloudErrorKind::InvalidRequest, "ValidationError", message));
        if protocol != Protocol::Https {
            return invalid(format!("mutual authentication is for HTTPS listeners only, not {}", protocol.as_str()));
        }
        match (mutual.mode, &mutual.trust_store) {
            (MutualTlsMode::Verify, None) => invalid("a trust store must be specified in verify mode".into()),
            (MutualTlsMode::Verify, Some(store)) if !self.trust_stores.values().any(|a| a == store) => Err(fail(
                api,
                CloudErrorKind::NotFound,
                "TrustStoreNotFound",
                format!("trust store '{store}' not found"),
            )),
            (MutualTlsMode::Verify, Some(_)) => Ok(()),
            (mode, Some(_)) => invalid(format!("a trust store cannot be specified in {} mode", mode.as_str())),
            (mode, None) if mutual.ignore_client_certificate_expiry || mutual.advertise_trust_store_ca_names => {
                invalid(format!("trust store options cannot be specified in {} mode", mode.as_str()))
            }
            (_, None) => Ok(()),
        }
    }
}
