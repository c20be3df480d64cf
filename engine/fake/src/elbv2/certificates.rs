//! Listener certificates as ELBv2 keeps them: a TLS or HTTPS listener has exactly one default
//! certificate, set by CreateListener and ModifyListener, and a separate certificate list (the
//! further certificates it serves by SNI), changed one certificate per request with
//! AddListenerCertificates and RemoveListenerCertificates and read with
//! DescribeListenerCertificates, which lists the default first with `IsDefault` and then the list.
//!
//! What AWS refuses, the fake refuses alike: more than one certificate in a request that takes
//! one (AWS's answer to CreateListener with two is `TooManyCertificates`, "Up to '1' certificate
//! ARNs can be specified, but '2' were specified"; the API reference states one certificate per
//! call for the other two), more than 25 certificates in the lists of one load balancer (the
//! quota: certificates per load balancer, default certificates not counted), and removing the
//! default certificate (`OperationNotPermitted`: it is replaced with ModifyListener).

use elbow_model::Protocol;

use super::{Elbv2, fail, listener_not_found};
use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudError, CloudErrorKind, CloudResult};
use elbow_cloud::types::*;

/// Certificates per load balancer, not counting the listeners' default certificates.
const MAX_CERTIFICATES_PER_LB: usize = 25;

/// A request that carries certificates may carry one at most.
pub(super) fn check_one_certificate(api: Api, certificates: &[String]) -> CloudResult<()> {
    if certificates.len() > 1 {
        return Err(fail(
            api,
            CloudErrorKind::LimitExceeded,
            "TooManyCertificates",
            format!("Up to '1' certificate ARNs can be specified, but '{}' were specified", certificates.len()),
        ));
    }
    Ok(())
}

/// AddListenerCertificates and RemoveListenerCertificates take exactly one certificate.
fn check_exactly_one(api: Api, certificates: &[String]) -> CloudResult<&str> {
    check_one_certificate(api, certificates)?;
    certificates
        .first()
        .map(String::as_str)
        .ok_or_else(|| fail(api, CloudErrorKind::InvalidRequest, "ValidationError", "a certificate must be specified"))
}

/// Certificates are served by TLS and HTTPS listeners only; AWS refuses one on any other
/// ("A certificate cannot be specified for HTTP listeners").
pub(super) fn check_certificate_allowed(api: Api, protocol: Protocol, certificates: &[String]) -> CloudResult<()> {
    if !certificates.is_empty() && !matches!(protocol, Protocol::Tls | Protocol::Https) {
        return Err(fail(
            api,
            CloudErrorKind::InvalidRequest,
            "ValidationError",
            format!("A certificate cannot be specified for {} listeners", protocol.as_str()),
        ));
    }
    Ok(())
}

impl Elbv2 {
    pub(crate) fn describe_listener_certificates(
        &self,
        api: Api,
        listener_arn: &str,
    ) -> CloudResult<Vec<ListenerCertificate>> {
        let listener = self.listeners.get(listener_arn).ok_or_else(|| listener_not_found(api, listener_arn))?;
        let default =
            listener.certificates.iter().map(|arn| ListenerCertificate { arn: arn.clone(), is_default: true });
        let list = self
            .certificate_list(listener_arn)
            .iter()
            .map(|arn| ListenerCertificate { arn: arn.clone(), is_default: false });
        Ok(default.chain(list).collect())
    }

    /// A listener's certificate list, without its default certificate (unless it was added to the
    /// list as well); empty when unknown.
    pub(crate) fn certificate_list(&self, listener_arn: &str) -> &[String] {
        self.certificate_lists.get(listener_arn).map(Vec::as_slice).unwrap_or_default()
    }

    pub(crate) fn add_listener_certificates(
        &mut self,
        api: Api,
        listener_arn: &str,
        certificates: &[String],
    ) -> CloudResult<()> {
        let listener = self.listeners.get(listener_arn).ok_or_else(|| listener_not_found(api, listener_arn))?;
        let certificate = check_exactly_one(api, certificates)?;
        if self.certificate_list(listener_arn).iter().any(|c| c == certificate) {
            // Already in the list: the call succeeds and nothing is added.
            return Ok(());
        }
        let on_lb: usize = self
            .lb_listeners
            .get(&listener.load_balancer_arn)
            .into_iter()
            .flatten()
            .map(|arn| self.certificate_list(arn).len())
            .sum();
        if on_lb >= MAX_CERTIFICATES_PER_LB {
            return Err(too_many_on_load_balancer(api));
        }
        self.certificate_lists.entry(listener_arn.to_string()).or_default().push(certificate.to_string());
        Ok(())
    }

    pub(crate) fn remove_listener_certificates(
        &mut self,
        api: Api,
        listener_arn: &str,
        certificates: &[String],
    ) -> CloudResult<()> {
        let listener = self.listeners.get(listener_arn).ok_or_else(|| listener_not_found(api, listener_arn))?;
        let certificate = check_exactly_one(api, certificates)?;
        let in_list = self.certificate_list(listener_arn).iter().any(|c| c == certificate);
        if !in_list && listener.default_certificate() == Some(certificate) {
            return Err(fail(
                api,
                CloudErrorKind::InUse,
                "OperationNotPermitted",
                "the default certificate of a listener cannot be removed; replace it with ModifyListener",
            ));
        }
        if let Some(list) = self.certificate_lists.get_mut(listener_arn) {
            list.retain(|c| c != certificate);
        }
        Ok(())
    }
}

fn too_many_on_load_balancer(api: Api) -> CloudError {
    fail(
        api,
        CloudErrorKind::LimitExceeded,
        "TooManyCertificates",
        format!("You've reached the limit of {MAX_CERTIFICATES_PER_LB} certificates per load balancer"),
    )
}
