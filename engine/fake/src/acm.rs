//! An in-memory ACM, as far as certificate discovery reads it: ListCertificates (issued ones
//! only, as Elbow asks) and DescribeCertificate, with ACM's answers to an unknown or malformed ARN.

use std::collections::BTreeMap;

use crate::names::{ACCOUNT, REGION};
use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudError, CloudErrorKind, CloudResult};
use elbow_cloud::types::*;

#[derive(Debug, Default)]
pub(crate) struct Acm {
    next: u64,
    certificates: BTreeMap<Arn, CertificateDetail>,
}

impl Acm {
    /// The domain name is listed among the subject alternative names, as ACM lists it.
    pub(crate) fn seed(&mut self, domains: &[&str], certificate_type: CertificateType, status: &str) -> Arn {
        self.next += 1;
        let arn =
            format!("arn:aws:acm:{REGION}:{ACCOUNT}:certificate/{:08x}-0000-4000-8000-{:012x}", self.next, self.next);
        let detail = CertificateDetail {
            arn: arn.clone(),
            domain_name: domains.first().map(|d| d.to_string()).unwrap_or_default(),
            subject_alternative_names: domains.iter().map(|d| d.to_string()).collect(),
            certificate_type,
            status: status.to_string(),
        };
        self.certificates.insert(arn.clone(), detail);
        arn
    }

    /// An imported certificate imported again with other names (ImportCertificate with its ARN).
    pub(crate) fn reimport(&mut self, arn: &str, domains: &[&str]) -> bool {
        let Some(detail) = self.certificates.get_mut(arn) else { return false };
        detail.domain_name = domains.first().map(|d| d.to_string()).unwrap_or_default();
        detail.subject_alternative_names = domains.iter().map(|d| d.to_string()).collect();
        true
    }

    pub(crate) fn delete(&mut self, arn: &str) -> bool {
        self.certificates.remove(arn).is_some()
    }

    pub(crate) fn issued(&self) -> Vec<Arn> {
        self.certificates.values().filter(|c| c.status == "ISSUED").map(|c| c.arn.clone()).collect()
    }

    pub(crate) fn describe(&self, api: Api, arn: &str) -> CloudResult<CertificateDetail> {
        if !arn.starts_with("arn:aws:acm:") || !arn.contains(":certificate/") {
            return Err(CloudError::new(
                api,
                CloudErrorKind::InvalidRequest,
                "InvalidArnException",
                format!("{arn} is not a valid ACM certificate ARN"),
            ));
        }
        self.certificates.get(arn).cloned().ok_or_else(|| {
            CloudError::new(
                api,
                CloudErrorKind::NotFound,
                "ResourceNotFoundException",
                format!("Could not find certificate {arn}"),
            )
        })
    }
}
