//! The webhook's own certificate authority and serving certificate (certificate mode `self`):
//! X.509 v3 certificates with ECDSA P-256 keys made by aws-lc-rs, the crypto library behind the
//! process's rustls provider, and the few fields read back from a certificate.
//!
//! kube-apiserver verifies the serving certificate with Go's crypto/x509, which wants: a CA
//! certificate with `basicConstraints cA` and `keyCertSign`, a serving certificate whose
//! subjectAltName holds the name it dials (`<service>.<namespace>.svc`; the common name is
//! ignored), `serverAuth` in its extended key usage, a positive serial number, and UTCTime for
//! dates before 2050 (RFC 5280).

use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::der::{self, DerError, Reader, tag};

/// How long a generated CA is valid: long, because replacing it means a new `caBundle`.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a generated serving certificate is valid; it is renewed well before (see
/// `material::RENEW_BEFORE`), signed by the same CA, so the `caBundle` stays as it is.
pub const SERVING_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// Certificates start this long before they are made, so a peer whose clock is a little behind
/// accepts them at once.
const BACKDATE: Duration = Duration::from_secs(3600);

mod oid {
    pub const ECDSA_WITH_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
    pub const EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
    pub const PRIME256V1: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
    pub const COMMON_NAME: &[u64] = &[2, 5, 4, 3];
    pub const ORGANIZATION: &[u64] = &[2, 5, 4, 10];
    pub const SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];
    pub const KEY_USAGE: &[u64] = &[2, 5, 29, 15];
    pub const SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
    pub const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
    pub const AUTHORITY_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 35];
    pub const EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
    pub const SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
}

/// KeyUsage bit numbers (RFC 5280, 4.2.1.3).
mod key_usage {
    pub const DIGITAL_SIGNATURE: u8 = 0;
    pub const KEY_CERT_SIGN: u8 = 5;
    pub const CRL_SIGN: u8 = 6;
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error(transparent)]
    Der(#[from] DerError),
    #[error("the private key is not an ECDSA P-256 key in PKCS#8 or SEC1 form: {0}")]
    Key(String),
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
    #[error("the crypto library failed to {0}")]
    Crypto(&'static str),
}

/// A certificate and its private key, both DER (the key as PKCS#8).
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub certificate: Vec<u8>,
    pub private_key: Vec<u8>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("certificate", &self.certificate.len()).finish_non_exhaustive()
    }
}

/// A CA that can sign serving certificates.
pub struct Authority {
    issued: Issued,
    key: EcdsaKeyPair,
    /// The CA's subject, byte for byte: a signed certificate's issuer must equal it.
    subject: Vec<u8>,
    key_id: Vec<u8>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

impl Authority {
    /// A new self-signed CA valid from (about) `now` for [`CA_VALIDITY`]. Its name is distinct
    /// per CA: during a CA replacement the bundle holds two, and chain building looks issuers up
    /// by name.
    pub fn generate(now: DateTime<Utc>) -> Result<Self, CertificateError> {
        Self::generate_named(&format!("elbow webhook CA {}", now.format("%Y%m%dT%H%M%SZ")), now)
    }

    /// [`Authority::generate`] with the common name `common_name`.
    pub fn generate_named(common_name: &str, now: DateTime<Utc>) -> Result<Self, CertificateError> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .map_err(|_| CertificateError::Crypto("generate a key"))?;
        let public_key = key.public_key().as_ref().to_vec();
        let key_id = key_identifier(&public_key);
        let subject = name(&[(oid::ORGANIZATION, "elbow"), (oid::COMMON_NAME, common_name)]);
        let extensions = [
            extension(oid::BASIC_CONSTRAINTS, true, &der::sequence(&[&der::boolean(true)])),
            extension(oid::KEY_USAGE, true, &der::named_bits(&[key_usage::KEY_CERT_SIGN, key_usage::CRL_SIGN])),
            extension(oid::SUBJECT_KEY_IDENTIFIER, false, &der::octet_string(&key_id)),
        ];
        let validity = (now - BACKDATE, now + CA_VALIDITY);
        let certificate = sign(&key, &subject, &subject, validity, &public_key, &extensions)?;
        let private_key = pkcs8(&key)?;
        Ok(Self { issued: Issued { certificate, private_key }, key, subject, key_id })
    }

    /// A CA read back: its certificate and private key (PKCS#8 or SEC1), which must match.
    pub fn from_der(certificate: &[u8], private_key: &[u8]) -> Result<Self, CertificateError> {
        let key = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, private_key)
            .map_err(|e| CertificateError::Key(e.to_string()))?;
        let fields = CertificateFields::read(certificate)?;
        if fields.public_key != key.public_key().as_ref() {
            return Err(CertificateError::KeyMismatch);
        }
        let private_key = pkcs8(&key)?;
        Ok(Self {
            key_id: key_identifier(&fields.public_key),
            subject: fields.subject,
            issued: Issued { certificate: certificate.to_vec(), private_key },
            key,
        })
    }

    pub fn issued(&self) -> &Issued {
        &self.issued
    }

    /// A serving certificate for `names` (the first is also the common name), valid from
    /// (about) `now` for [`SERVING_VALIDITY`], never past the CA's own expiry. A name that is an
    /// IP address (a test server dialled as `127.0.0.1`) becomes an iPAddress alternative name,
    /// any other a dNSName.
    pub fn issue_serving(&self, names: &[String], now: DateTime<Utc>) -> Result<Issued, CertificateError> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .map_err(|_| CertificateError::Crypto("generate a key"))?;
        let public_key = key.public_key().as_ref().to_vec();
        let ca_expiry = CertificateFields::read(&self.issued.certificate)?.not_after;
        let not_after = (now + SERVING_VALIDITY).min(ca_expiry);
        let subject = name(&[(oid::COMMON_NAME, names.first().map(String::as_str).unwrap_or("elbow-webhook"))]);
        let alt_names: Vec<Vec<u8>> = names.iter().map(|n| alternative_name(n)).collect();
        let alt_names: Vec<&[u8]> = alt_names.iter().map(Vec::as_slice).collect();
        let extensions = [
            // An empty BasicConstraints: cA defaults to false.
            extension(oid::BASIC_CONSTRAINTS, true, &der::sequence(&[])),
            extension(oid::KEY_USAGE, true, &der::named_bits(&[key_usage::DIGITAL_SIGNATURE])),
            extension(oid::EXT_KEY_USAGE, false, &der::sequence(&[&der::oid(oid::SERVER_AUTH)])),
            extension(oid::SUBJECT_ALT_NAME, false, &der::sequence(&alt_names)),
            extension(oid::SUBJECT_KEY_IDENTIFIER, false, &der::octet_string(&key_identifier(&public_key))),
            extension(
                oid::AUTHORITY_KEY_IDENTIFIER,
                false,
                &der::sequence(&[&der::tlv(tag::context_primitive(0), &self.key_id)]),
            ),
        ];
        let validity = (now - BACKDATE, not_after);
        let certificate = sign(&self.key, &self.subject, &subject, validity, &public_key, &extensions)?;
        Ok(Issued { certificate, private_key: pkcs8(&key)? })
    }
}

/// What is read back from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFields {
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The subject Name, DER.
    pub subject: Vec<u8>,
    /// The subjectPublicKey bits (for EC keys, the uncompressed point).
    pub public_key: Vec<u8>,
}

impl CertificateFields {
    pub fn read(certificate: &[u8]) -> Result<Self, DerError> {
        let mut outer = Reader::new(certificate);
        let certificate = outer.expect(tag::SEQUENCE, "a certificate is a SEQUENCE")?;
        let tbs = certificate.reader().expect(tag::SEQUENCE, "tbsCertificate is a SEQUENCE")?;
        let mut fields = tbs.reader();
        fields.optional(tag::context_constructed(0))?; // version
        fields.expect(tag::INTEGER, "serialNumber is an INTEGER")?;
        fields.expect(tag::SEQUENCE, "signature is an AlgorithmIdentifier")?;
        fields.expect(tag::SEQUENCE, "issuer is a Name")?;
        let validity = fields.expect(tag::SEQUENCE, "validity is a SEQUENCE")?;
        let subject = fields.expect(tag::SEQUENCE, "subject is a Name")?;
        let key_info = fields.expect(tag::SEQUENCE, "subjectPublicKeyInfo is a SEQUENCE")?;
        let mut times = validity.reader();
        let not_before = read_time(&mut times)?;
        let not_after = read_time(&mut times)?;
        let mut key_info = key_info.reader();
        key_info.expect(tag::SEQUENCE, "the key's algorithm is an AlgorithmIdentifier")?;
        let bits = key_info.expect(tag::BIT_STRING, "subjectPublicKey is a BIT STRING")?;
        let (_unused, public_key) = bits.content.split_first().ok_or(DerError("empty BIT STRING"))?;
        Ok(Self { not_before, not_after, subject: subject.raw.to_vec(), public_key: public_key.to_vec() })
    }
}

fn pkcs8(key: &EcdsaKeyPair) -> Result<Vec<u8>, CertificateError> {
    key.to_pkcs8v1().map(|doc| doc.as_ref().to_vec()).map_err(|_| CertificateError::Crypto("encode a key"))
}

/// The key's SEC1 (RFC 5915) encoding, the form cert-manager writes ECDSA keys in by default.
pub fn sec1_private_key(pkcs8: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8)
        .map_err(|e| CertificateError::Key(e.to_string()))?;
    key.private_key().as_der().map(|d| d.as_ref().to_vec()).map_err(|_| CertificateError::Crypto("encode a key"))
}

/// RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the public key.
fn key_identifier(public_key: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, public_key).as_ref()[..20].to_vec()
}

/// A GeneralName (RFC 5280, 4.2.1.6): `[7]` iPAddress with the address's octets, or `[2]` dNSName.
fn alternative_name(name: &str) -> Vec<u8> {
    match name.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => der::tlv(tag::context_primitive(7), &ip.octets()),
        Ok(std::net::IpAddr::V6(ip)) => der::tlv(tag::context_primitive(7), &ip.octets()),
        Err(_) => der::tlv(tag::context_primitive(2), name.as_bytes()),
    }
}

/// A Name of one attribute per RDN, in order.
fn name(attributes: &[(&[u64], &str)]) -> Vec<u8> {
    let rdns: Vec<Vec<u8>> = attributes
        .iter()
        .map(|(oid, value)| der::constructed(tag::SET, &[&der::sequence(&[&der::oid(oid), &der::utf8_string(value)])]))
        .collect();
    let rdns: Vec<&[u8]> = rdns.iter().map(Vec::as_slice).collect();
    der::sequence(&rdns)
}

fn extension(oid: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    // DER leaves out a BOOLEAN that has its DEFAULT value (FALSE).
    match critical {
        true => der::sequence(&[&der::oid(oid), &der::boolean(true), &der::octet_string(value)]),
        false => der::sequence(&[&der::oid(oid), &der::octet_string(value)]),
    }
}

fn algorithm() -> Vec<u8> {
    // ecdsa-with-SHA256 takes no parameters (RFC 5758): the field is absent, not NULL.
    der::sequence(&[&der::oid(oid::ECDSA_WITH_SHA256)])
}

fn sign(
    signer: &EcdsaKeyPair,
    issuer: &[u8],
    subject: &[u8],
    (not_before, not_after): (DateTime<Utc>, DateTime<Utc>),
    public_key: &[u8],
    extensions: &[Vec<u8>],
) -> Result<Vec<u8>, CertificateError> {
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| CertificateError::Crypto("draw a serial number"))?;
    // Positive and non-zero, as RFC 5280 requires and Go checks.
    serial[0] = (serial[0] & 0x7f) | 0x01;
    let key_info = der::sequence(&[
        &der::sequence(&[&der::oid(oid::EC_PUBLIC_KEY), &der::oid(oid::PRIME256V1)]),
        &der::bit_string(public_key),
    ]);
    let extensions: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
    let tbs = der::sequence(&[
        &der::constructed(tag::context_constructed(0), &[&der::small_integer(2)]), // v3
        &der::unsigned_integer(&serial),
        &algorithm(),
        issuer,
        &der::sequence(&[&time(not_before), &time(not_after)]),
        subject,
        &key_info,
        &der::constructed(tag::context_constructed(3), &[&der::sequence(&extensions)]),
    ]);
    let signature =
        signer.sign(&SystemRandom::new(), &tbs).map_err(|_| CertificateError::Crypto("sign a certificate"))?;
    Ok(der::sequence(&[&tbs, &algorithm(), &der::bit_string(signature.as_ref())]))
}

/// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280, 4.1.2.5), whole seconds, UTC.
fn time(at: DateTime<Utc>) -> Vec<u8> {
    match at.year() < 2050 {
        true => der::tlv(tag::UTC_TIME, at.format("%y%m%d%H%M%SZ").to_string().as_bytes()),
        false => der::tlv(tag::GENERALIZED_TIME, at.format("%Y%m%d%H%M%SZ").to_string().as_bytes()),
    }
}

fn read_time(reader: &mut Reader<'_>) -> Result<DateTime<Utc>, DerError> {
    let element = reader.read()?;
    let text = std::str::from_utf8(element.content).map_err(|_| DerError("a time is not ASCII"))?;
    let digits = text.strip_suffix('Z').ok_or(DerError("a time is not in UTC"))?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DerError("a time has non-digits"));
    }
    let number = |range: std::ops::Range<usize>| digits.get(range).and_then(|d| d.parse::<u32>().ok());
    let (year, rest) = match (element.tag, digits.len()) {
        (tag::UTC_TIME, 12) => {
            let yy = number(0..2).ok_or(DerError("bad UTCTime"))?;
            // RFC 5280: YY of 50 and above is 19YY.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (tag::GENERALIZED_TIME, 14) => (number(0..4).ok_or(DerError("bad GeneralizedTime"))?, 4),
        _ => return Err(DerError("a time is neither UTCTime nor GeneralizedTime of whole seconds")),
    };
    let field = |i: usize| number(rest + 2 * i..rest + 2 * i + 2).ok_or(DerError("bad time"));
    let date = i32::try_from(year)
        .ok()
        .and_then(|year| NaiveDate::from_ymd_opt(year, field(0).ok()?, field(1).ok()?))
        .ok_or(DerError("bad date"))?;
    let at = date.and_hms_opt(field(2)?, field(3)?, field(4)?).ok_or(DerError("bad time of day"))?;
    Ok(at.and_utc())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 30, 45).unwrap()
    }

    #[test]
    fn times_round_trip_in_both_encodings() {
        for when in [at(1999, 12, 31), at(2025, 6, 1), at(2049, 12, 31), at(2050, 1, 1), at(2135, 3, 4)] {
            let encoded = time(when);
            assert_eq!(encoded[0], if when.year() < 2050 { tag::UTC_TIME } else { tag::GENERALIZED_TIME });
            assert_eq!(read_time(&mut Reader::new(&encoded)).unwrap(), when);
        }
        assert_eq!(&time(at(2025, 6, 1))[2..], b"250601123045Z");
    }

    #[test]
    fn a_generated_ca_and_serving_certificate_read_back_with_their_validity_and_keys() {
        let now = at(2025, 6, 1);
        let ca = Authority::generate(now).unwrap();
        let ca_fields = CertificateFields::read(&ca.issued().certificate).unwrap();
        assert_eq!(ca_fields.not_before, now - BACKDATE);
        assert_eq!(ca_fields.not_after, now + CA_VALIDITY);
        assert_eq!(ca_fields.public_key.len(), 65, "an uncompressed P-256 point");

        let names = ["svc.ns.svc".to_string(), "svc.ns.svc.cluster.local".to_string()];
        let serving = ca.issue_serving(&names, now).unwrap();
        let fields = CertificateFields::read(&serving.certificate).unwrap();
        assert_eq!(fields.not_after, now + SERVING_VALIDITY);
        assert_ne!(fields.public_key, ca_fields.public_key);

        // Read back, the CA signs as before; another key is refused.
        let again = Authority::from_der(&ca.issued().certificate, &ca.issued().private_key).unwrap();
        assert_eq!(again.subject, ca.subject);
        assert_eq!(again.key_id, ca.key_id);
        let other = Authority::generate(now).unwrap();
        assert!(matches!(
            Authority::from_der(&ca.issued().certificate, &other.issued().private_key),
            Err(CertificateError::KeyMismatch)
        ));
        // A SEC1 key is read as well as PKCS#8.
        let sec1 = sec1_private_key(&ca.issued().private_key).unwrap();
        assert_ne!(sec1, ca.issued().private_key);
        Authority::from_der(&ca.issued().certificate, &sec1).unwrap();
    }

    #[test]
    fn a_serving_certificate_never_outlives_its_ca() {
        let ca = Authority::generate(at(2025, 1, 1)).unwrap();
        let late = at(2025, 1, 1) + CA_VALIDITY - Duration::from_secs(24 * 3600);
        let serving = ca.issue_serving(&["a.b.svc".to_string()], late).unwrap();
        assert_eq!(
            CertificateFields::read(&serving.certificate).unwrap().not_after,
            CertificateFields::read(&ca.issued().certificate).unwrap().not_after
        );
    }

    /// A certificate that OpenSSL 3.0 made (`openssl ca -selfsign` for a P-256 key with
    /// `-startdate 20250102030405Z -enddate 20250109030405Z`: an X.509 v1 certificate, so without
    /// the optional version field), so the reader is checked against another encoder than this
    /// module's.
    const OPENSSL_CERTIFICATE: &str = include_str!("testdata/openssl-p256.pem");

    #[test]
    fn fields_of_a_certificate_made_by_openssl_are_read() {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let der = CertificateDer::from_pem_slice(OPENSSL_CERTIFICATE.as_bytes()).unwrap();
        let fields = CertificateFields::read(&der).unwrap();
        assert_eq!(fields.not_after - fields.not_before, chrono::TimeDelta::days(7));
        assert_eq!(fields.not_before, Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap());
        assert_eq!(fields.public_key.len(), 65);
        assert_eq!(fields.public_key[0], 0x04);
    }
}
