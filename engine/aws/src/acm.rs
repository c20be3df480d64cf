//! The ACM half of the SDK implementation: the region's issued certificates and the names each is
//! for, which certificate discovery matches Ingress hosts against.

use std::sync::Arc;

use aws_sdk_acm::types::{CertificateStatus, Filters, KeyAlgorithm};
use elbow_cloud::*;

use crate::errors::classify;

/// Certificates per ListCertificates page: the most ACM gives.
const CERTIFICATES_PER_PAGE: i32 = 1000;

pub(crate) struct Acm {
    pub(crate) client: aws_sdk_acm::Client,
    pub(crate) calls: Arc<CallCounter>,
}

impl Acm {
    fn count(&self, api: Api) -> Api {
        self.calls.record(api);
        api
    }

    pub(crate) async fn list_certificates(&self) -> CloudResult<Vec<Arn>> {
        // Without a key-type filter ACM lists RSA 2048-bit certificates only; ECDSA and larger RSA
        // keys serve HTTPS listeners as well.
        let key_types = KeyAlgorithm::values().iter().map(|k| KeyAlgorithm::from(*k)).collect();
        let filters = Filters::builder().set_key_types(Some(key_types)).build();
        let mut token: Option<String> = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::ListCertificates);
            let page = self
                .client
                .list_certificates()
                .certificate_statuses(CertificateStatus::Issued)
                .includes(filters.clone())
                .max_items(CERTIFICATES_PER_PAGE)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            let summaries = page.certificate_summary_list();
            found.extend(summaries.iter().filter_map(|c| c.certificate_arn().map(str::to_string)));
            // An empty page, or the token just sent, ends the loop too, so that an endpoint that
            // keeps answering with a token cannot make it run forever.
            match page.next_token().filter(|t| !t.is_empty()) {
                Some(next) if !summaries.is_empty() && token.as_deref() != Some(next) => token = Some(next.to_string()),
                _ => return Ok(found),
            }
        }
    }

    pub(crate) async fn describe_certificate(&self, arn: &str) -> CloudResult<CertificateDetail> {
        let api = self.count(Api::DescribeCertificate);
        let answer =
            self.client.describe_certificate().certificate_arn(arn).send().await.map_err(|e| classify(api, e))?;
        let detail = answer.certificate().ok_or_else(|| {
            CloudError::new(api, CloudErrorKind::Other, "", "DescribeCertificate answered no certificate")
        })?;
        let certificate_type = match detail.r#type() {
            Some(aws_sdk_acm::types::CertificateType::Imported) => CertificateType::Imported,
            Some(aws_sdk_acm::types::CertificateType::Private) => CertificateType::Private,
            _ => CertificateType::AmazonIssued,
        };
        Ok(CertificateDetail {
            arn: detail.certificate_arn().unwrap_or(arn).to_string(),
            domain_name: detail.domain_name().unwrap_or_default().to_string(),
            subject_alternative_names: detail.subject_alternative_names().to_vec(),
            certificate_type,
            status: detail.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        })
    }
}
