//! Certificate discovery's view of ACM, and the trust stores mutual TLS names, both cached so that
//! a full resync of many Ingresses does not ask AWS once per Ingress.
//!
//! ```text
//!  ListCertificates (issued)  ─ cached 1 min ─┐
//!  DescribeCertificate, per certificate        ├─► [AcmCertificate { arn, domains }] ─► the Ingress builder
//!    imported: cached 5 min (re-importable)    │
//!    ACM-issued or private: cached 10 h        ┘
//!  DescribeTrustStores(names) ─ cached 10 min per name ─► trust store ARNs in the listeners
//! ```
//!
//! The lifetimes are the AWS Load Balancer Controller's: the list changes when certificates are
//! issued or deleted, an imported certificate's names change when it is imported again, and the
//! names of one ACM issues never change. So N Ingresses reconciled within a minute cost one
//! ListCertificates (one per 1,000 certificates) and, once the names are known, no DescribeCertificate.
//! Lookups are single-flight (a tokio mutex held across the calls): Ingresses reconciled together
//! after a start wait for one lookup rather than each making its own.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use elbow_cloud::{Arn, CertificateType, Cloud, CloudErrorKind};
use elbow_model::{AcmCertificate, MutualTlsMode, Stack};
use tokio::sync::Mutex;

use crate::error::DeployError;
use crate::expiring::Expiring;

/// How long the list of issued certificates is trusted.
pub const CERTIFICATE_LIST_TTL: Duration = Duration::from_secs(60);
/// How long the names of an imported certificate are trusted.
pub const IMPORTED_NAMES_TTL: Duration = Duration::from_secs(5 * 60);
/// How long the names of a certificate ACM issued (publicly or privately) are trusted.
pub const ISSUED_NAMES_TTL: Duration = Duration::from_secs(10 * 60 * 60);
/// How long a trust store's ARN is trusted.
pub const TRUST_STORE_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Default)]
pub(crate) struct Caches {
    list: Mutex<Option<Expiring<Vec<Arn>>>>,
    names: Mutex<HashMap<Arn, Expiring<Vec<String>>>>,
    trust_stores: Mutex<HashMap<String, Expiring<Arn>>>,
}

impl Caches {
    /// The region's issued certificates with their names.
    pub(crate) async fn certificates(&self, cloud: &dyn Cloud) -> Result<Vec<AcmCertificate>, DeployError> {
        let mut list = self.list.lock().await;
        let arns = match list.as_ref().and_then(Expiring::fresh) {
            Some(arns) => arns.clone(),
            None => {
                let arns = cloud.acm_list_certificates().await.map_err(DeployError::Certificates)?;
                *list = Some(Expiring::new(arns.clone(), CERTIFICATE_LIST_TTL));
                arns
            }
        };
        // Held with the list: concurrent lookups wait for this one instead of describing too.
        let mut names = self.names.lock().await;
        let mut found = Vec::with_capacity(arns.len());
        for arn in arns {
            let domains = match names.get(&arn).and_then(Expiring::fresh) {
                Some(domains) => domains.clone(),
                None => match cloud.acm_describe_certificate(&arn).await {
                    Ok(detail) => {
                        let ttl = match detail.certificate_type {
                            CertificateType::Imported => IMPORTED_NAMES_TTL,
                            CertificateType::AmazonIssued | CertificateType::Private => ISSUED_NAMES_TTL,
                        };
                        let mut domains = detail.subject_alternative_names;
                        if !detail.domain_name.is_empty() && !domains.contains(&detail.domain_name) {
                            domains.push(detail.domain_name);
                        }
                        names.insert(arn.clone(), Expiring::new(domains.clone(), ttl));
                        domains
                    }
                    // Deleted since it was listed: it serves nothing.
                    Err(error) if error.kind == CloudErrorKind::NotFound => continue,
                    Err(error) => return Err(DeployError::Certificates(error)),
                },
            };
            found.push(AcmCertificate { arn, domains });
        }
        // Certificates no longer listed are forgotten, so the cache never outgrows the region.
        names.retain(|arn, _| found.iter().any(|c| &c.arn == arn));
        Ok(found)
    }

    /// `stack` with every trust store that its listeners name (rather than give by ARN) replaced
    /// by its ARN, or what the user must fix.
    pub(crate) async fn resolve_trust_stores(&self, cloud: &dyn Cloud, stack: &mut Stack) -> Result<(), DeployError> {
        let named = |store: &str| !store.starts_with("arn:");
        let mut wanted: Vec<String> = stack
            .listeners
            .iter()
            .filter_map(|l| l.mutual_authentication.as_ref())
            .filter(|m| m.mode == MutualTlsMode::Verify)
            .filter_map(|m| m.trust_store.clone())
            .filter(|s| named(s))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        wanted.sort();
        wanted.dedup();
        let mut cache = self.trust_stores.lock().await;
        let mut arns: BTreeMap<String, Arn> = BTreeMap::new();
        let mut missing = Vec::new();
        for name in wanted {
            match cache.get(&name).and_then(Expiring::fresh) {
                Some(arn) => {
                    arns.insert(name, arn.clone());
                }
                None => missing.push(name),
            }
        }
        if !missing.is_empty() {
            let found = match cloud.describe_trust_stores(&missing).await {
                Ok(found) => found,
                Err(error) if error.kind == CloudErrorKind::NotFound => {
                    return Err(DeployError::TrustStoreNotFound { names: missing, message: error.message });
                }
                Err(error) => return Err(DeployError::TrustStores(error)),
            };
            for store in found {
                cache.insert(store.name.clone(), Expiring::new(store.arn.clone(), TRUST_STORE_TTL));
                arns.insert(store.name, store.arn);
            }
        }
        for listener in &mut stack.listeners {
            if let Some(store) = listener.mutual_authentication.as_mut().and_then(|m| m.trust_store.as_mut())
                && named(store)
            {
                *store = arns.get(store.as_str()).cloned().ok_or_else(|| DeployError::TrustStoreNotFound {
                    names: vec![store.clone()],
                    message: String::new(),
                })?;
            }
        }
        Ok(())
    }
}
