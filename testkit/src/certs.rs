//! Certificates for webhook servers in tests: a throwaway certificate authority that issues
//! serving certificates for the names a test dials (`127.0.0.1`, `<service>.<namespace>.svc`),
//! and the `caBundle` a webhook configuration carries to trust it. It is the authority the
//! operator's webhook issues its own certificates with (elbow-certs), so the tests exercise
//! the same X.509 writer the product ships.

use base64::Engine;
use chrono::Utc;
use elbow_certs::pem;
use elbow_certs::x509::Authority;

/// A certificate authority that exists only for one test.
pub struct TestCa {
    authority: Authority,
    /// Its certificate (DER).
    certificate: Vec<u8>,
}

/// A serving certificate and its private key.
pub struct ServingCertificate {
    /// The leaf certificate (DER).
    pub certificate: Vec<u8>,
    /// The private key (PKCS#8 DER).
    pub key: Vec<u8>,
}

impl ServingCertificate {
    /// The certificate chain and key, as rustls's server configuration takes them.
    pub fn rustls_parts(
        &self,
    ) -> (Vec<rustls::pki_types::CertificateDer<'static>>, rustls::pki_types::PrivateKeyDer<'static>) {
        let key = rustls::pki_types::PrivatePkcs8KeyDer::from(self.key.clone());
        (vec![rustls::pki_types::CertificateDer::from(self.certificate.clone())], key.into())
    }

    pub fn certificate_pem(&self) -> String {
        pem::encode(pem::CERTIFICATE, &self.certificate)
    }

    pub fn key_pem(&self) -> String {
        pem::encode(pem::PRIVATE_KEY, &self.key)
    }
}

impl TestCa {
    /// A new authority named `common_name`, valid from an hour ago for ten years.
    pub fn new(common_name: &str) -> Self {
        let authority = Authority::generate_named(common_name, Utc::now())
            .unwrap_or_else(|e| panic!("cannot make a test certificate authority: {e}"));
        let certificate = authority.issued().certificate.clone();
        Self { authority, certificate }
    }

    /// The authority's certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        pem::encode(pem::CERTIFICATE, &self.certificate)
    }

    /// What a webhook's `clientConfig.caBundle` holds to trust this authority: its PEM, base64.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.certificate_pem())
    }

    /// A serving certificate for `names`: IP addresses become IP SANs, the rest DNS SANs.
    pub fn issue(&self, names: &[&str]) -> ServingCertificate {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let issued = self
            .authority
            .issue_serving(&names, Utc::now())
            .unwrap_or_else(|e| panic!("cannot issue a test serving certificate: {e}"));
        ServingCertificate { certificate: issued.certificate, key: issued.private_key }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    use super::*;

    fn verifier(ca: &TestCa) -> Arc<rustls::client::WebPkiServerVerifier> {
        crate::install_crypto_provider();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(ca.certificate.clone())).unwrap();
        rustls::client::WebPkiServerVerifier::builder(Arc::new(roots)).build().unwrap()
    }

    fn verify(ca: &TestCa, leaf: &ServingCertificate, name: &str) -> Result<(), rustls::Error> {
        use rustls::client::danger::ServerCertVerifier;
        let name = ServerName::try_from(name.to_string()).unwrap();
        verifier(ca)
            .verify_server_cert(&CertificateDer::from(leaf.certificate.clone()), &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn issued_certificates_verify_for_their_names_against_their_authority_only() {
        let ca = TestCa::new("test ca");
        let leaf = ca.issue(&["127.0.0.1", "webhook.elbow-system.svc"]);
        assert_eq!(verify(&ca, &leaf, "127.0.0.1"), Ok(()));
        assert_eq!(verify(&ca, &leaf, "webhook.elbow-system.svc"), Ok(()));
        assert!(verify(&ca, &leaf, "other.elbow-system.svc").is_err());
        assert!(verify(&TestCa::new("another ca"), &leaf, "127.0.0.1").is_err());
    }

    #[test]
    fn the_key_and_pem_forms_load() {
        use rustls::pki_types::pem::PemObject;
        let ca = TestCa::new("test ca");
        let leaf = ca.issue(&["127.0.0.1"]);
        let (chain, key) = leaf.rustls_parts();
        crate::install_crypto_provider();
        rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(chain, key).unwrap();
        let bundle = base64::engine::general_purpose::STANDARD.decode(ca.ca_bundle()).unwrap();
        assert_eq!(CertificateDer::pem_slice_iter(&bundle).count(), 1);
        assert!(leaf.key_pem().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(CertificateDer::from_pem_slice(leaf.certificate_pem().as_bytes()).is_ok());
    }
}
