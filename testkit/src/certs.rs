//! Certificates for webhook servers in tests: a throwaway certificate authority that issues
//! serving certificates for the names a test dials (`127.0.0.1`, `<service>.<namespace>.svc`),
//! and the `caBundle` a webhook configuration carries to trust it. Keys are ECDSA P-256 made by
//! aws-lc-rs; the X.509 structures are written here in DER, so no certificate tooling is needed.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use chrono::{DateTime, Datelike, Duration, Utc};

/// A certificate authority that exists only for one test.
pub struct TestCa {
    key: EcdsaKeyPair,
    /// The DER of its Name, the issuer of what it signs.
    name: Vec<u8>,
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
        pem("CERTIFICATE", &self.certificate)
    }

    pub fn key_pem(&self) -> String {
        pem("PRIVATE KEY", &self.key)
    }
}

impl TestCa {
    /// A new authority named `common_name`, valid from an hour ago for ten years.
    pub fn new(common_name: &str) -> Self {
        let key = new_key();
        let name = distinguished_name(common_name);
        let extensions = [
            // basicConstraints: a CA (critical).
            extension(&[2, 5, 29, 19], true, &sequence(&[&[0x01, 0x01, 0xff]])),
            // keyUsage: keyCertSign, cRLSign (critical).
            extension(&[2, 5, 29, 15], true, &bit_string_bits(&[0x06])),
        ];
        let certificate = sign(&key, &name, &name, key.public_key().as_ref(), &extensions);
        Self { key, name, certificate }
    }

    /// The authority's certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        pem("CERTIFICATE", &self.certificate)
    }

    /// What a webhook's `clientConfig.caBundle` holds to trust this authority: its PEM, base64.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.certificate_pem())
    }

    /// A serving certificate for `names`: IP addresses become IP SANs, the rest DNS SANs.
    pub fn issue(&self, names: &[&str]) -> ServingCertificate {
        let key = new_key();
        let subject = distinguished_name(names.first().copied().unwrap_or("webhook"));
        let alternative_names: Vec<Vec<u8>> = names
            .iter()
            .map(|name| match name.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(ip)) => tlv(0x87, &ip.octets()),
                Ok(std::net::IpAddr::V6(ip)) => tlv(0x87, &ip.octets()),
                Err(_) => tlv(0x82, name.as_bytes()),
            })
            .collect();
        let alternative_names: Vec<&[u8]> = alternative_names.iter().map(Vec::as_slice).collect();
        let extensions = [
            extension(&[2, 5, 29, 19], true, &sequence(&[])),
            // keyUsage: digitalSignature (critical).
            extension(&[2, 5, 29, 15], true, &bit_string_bits(&[0x80])),
            // extKeyUsage: serverAuth.
            extension(&[2, 5, 29, 37], false, &sequence(&[&oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1])])),
            extension(&[2, 5, 29, 17], false, &sequence(&alternative_names)),
        ];
        let certificate = sign(&self.key, &self.name, &subject, key.public_key().as_ref(), &extensions);
        let pkcs8 = key.to_pkcs8v1().unwrap_or_else(|_| panic!("an ECDSA key exports as PKCS#8"));
        ServingCertificate { certificate, key: pkcs8.as_ref().to_vec() }
    }
}

fn new_key() -> EcdsaKeyPair {
    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap_or_else(|_| panic!("cannot generate a P-256 key"))
}

/// A v3 certificate for `public_key` (an uncompressed P-256 point), signed by `signer`.
fn sign(signer: &EcdsaKeyPair, issuer: &[u8], subject: &[u8], public_key: &[u8], extensions: &[Vec<u8>]) -> Vec<u8> {
    let ecdsa_with_sha256 = sequence(&[&oid(&[1, 2, 840, 10045, 4, 3, 2])]);
    let now = Utc::now();
    let validity = sequence(&[&time(now - Duration::hours(1)), &time(now + Duration::days(3650))]);
    let key_info = sequence(&[
        &sequence(&[&oid(&[1, 2, 840, 10045, 2, 1]), &oid(&[1, 2, 840, 10045, 3, 1, 7])]),
        &bit_string(public_key),
    ]);
    let extensions: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
    let serial = uuid::Uuid::new_v4().as_bytes().to_vec();
    let to_be_signed = sequence(&[
        &tlv(0xa0, &integer(&[2])),
        &integer(&serial),
        &ecdsa_with_sha256,
        issuer,
        &validity,
        subject,
        &key_info,
        &tlv(0xa3, &sequence(&extensions)),
    ]);
    let signature =
        signer.sign(&SystemRandom::new(), &to_be_signed).unwrap_or_else(|_| panic!("cannot sign a certificate"));
    sequence(&[&to_be_signed, &ecdsa_with_sha256, &bit_string(signature.as_ref())])
}

fn distinguished_name(common_name: &str) -> Vec<u8> {
    let attribute = sequence(&[&oid(&[2, 5, 4, 3]), &tlv(0x0c, common_name.as_bytes())]);
    sequence(&[&tlv(0x31, &attribute)])
}

fn extension(id: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let value = tlv(0x04, value);
    if critical { sequence(&[&oid(id), &[0x01, 0x01, 0xff], &value]) } else { sequence(&[&oid(id), &value]) }
}

/// UTCTime until 2049, GeneralizedTime after, as RFC 5280 asks.
fn time(at: DateTime<Utc>) -> Vec<u8> {
    if at.year() < 2050 {
        tlv(0x17, at.format("%y%m%d%H%M%SZ").to_string().as_bytes())
    } else {
        tlv(0x18, at.format("%Y%m%d%H%M%SZ").to_string().as_bytes())
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes: Vec<u8> = length.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn sequence(items: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &items.concat())
}

/// A positive INTEGER from big-endian bytes.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = if trimmed.is_empty() { vec![0] } else { trimmed };
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

fn bit_string(bytes: &[u8]) -> Vec<u8> {
    tlv(0x03, &[&[0], bytes].concat())
}

/// A BIT STRING of flags (keyUsage), the unused trailing bits counted as DER requires.
fn bit_string_bits(bytes: &[u8]) -> Vec<u8> {
    let unused = bytes.last().map_or(0, |b| if *b == 0 { 0 } else { b.trailing_zeros() as u8 });
    tlv(0x03, &[&[unused], bytes].concat())
}

fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let mut encode = |mut value: u64| {
        let mut chunk = vec![(value & 0x7f) as u8];
        value >>= 7;
        while value > 0 {
            chunk.insert(0, 0x80 | (value & 0x7f) as u8);
            value >>= 7;
        }
        content.extend(chunk);
    };
    encode(arcs[0] * 40 + arcs[1]);
    for arc in &arcs[2..] {
        encode(*arc);
    }
    tlv(0x06, &content)
}

fn pem(label: &str, der: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
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
