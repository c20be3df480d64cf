//! The webhook's TLS material as a Secret's data holds it: reading the serving certificate for
//! rustls, judging whether a self-managed Secret can be served as it is, and renewing it.
//!
//! The Secret has type `kubernetes.io/tls` with `tls.crt` and `tls.key` (what cert-manager writes
//! too) and `ca.crt`, the PEM bundle that belongs in the webhook configuration's `caBundle`. A
//! self-managed Secret also keeps the CA's key in `ca.key`, so that a renewed serving certificate
//! is signed by the same CA and the `caBundle` does not change.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;

use super::pem;
use super::x509::{Authority, CertificateError, CertificateFields, SERVING_VALIDITY};

/// A self-managed certificate is renewed once it would expire within this long, and so is the
/// CA (then replaced rather than reused).
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

pub const TLS_CRT: &str = "tls.crt";
pub const TLS_KEY: &str = "tls.key";
pub const CA_CRT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";

/// A Secret's data, by key.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// A serving certificate ready for rustls.
#[derive(Clone)]
pub struct Serving {
    pub certified: Arc<CertifiedKey>,
    /// `tls.crt` as read: tells whether a reload changed anything.
    pub certificate_pem: Vec<u8>,
    /// `ca.crt`, when the Secret has one.
    pub ca_bundle: Option<Vec<u8>>,
}

impl std::fmt::Debug for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving").field("certificate_pem", &String::from_utf8_lossy(&self.certificate_pem)).finish()
    }
}

/// The process's rustls provider (`elbow run` installs aws-lc-rs at start-up; installing is a
/// no-op when it is there already).
pub fn provider() -> Arc<CryptoProvider> {
    elbow_aws::install_crypto_provider();
    CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

fn field<'a>(data: &'a SecretData, key: &str) -> Result<&'a [u8], String> {
    data.get(key).map(Vec::as_slice).filter(|v| !v.is_empty()).ok_or_else(|| format!("the Secret has no {key}"))
}

/// `tls.crt` (the serving certificate, then any intermediates) and `tls.key`, which must match.
pub fn load_serving(data: &SecretData) -> Result<Serving, String> {
    let certificate_pem = field(data, TLS_CRT)?;
    let chain = pem::certificates(certificate_pem).map_err(|e| format!("{TLS_CRT}: {e}"))?;
    let key = pem::private_key(field(data, TLS_KEY)?).map_err(|e| format!("{TLS_KEY}: {e}"))?;
    let certified = CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| format!("{TLS_CRT} and {TLS_KEY} cannot serve: {e}"))?;
    Ok(Serving {
        certified: Arc::new(certified),
        certificate_pem: certificate_pem.to_vec(),
        ca_bundle: data.get(CA_CRT).filter(|v| !v.is_empty()).cloned(),
    })
}

/// A self-managed Secret that can be served as it is, or why it must be renewed: a missing or
/// unreadable part, a serving certificate that does not chain to `ca.crt`, is not valid for every
/// one of `dns_names`, or expires within [`RENEW_BEFORE`], or a CA that expires within it.
pub fn assess(data: &SecretData, dns_names: &[String], now: DateTime<Utc>) -> Result<Serving, String> {
    let serving = load_serving(data)?;
    let authorities = pem::certificates(field(data, CA_CRT)?).map_err(|e| format!("{CA_CRT}: {e}"))?;
    let current = CertificateFields::read(&authorities[0]).map_err(|e| format!("{CA_CRT}: {e}"))?;
    if current.not_after <= now + RENEW_BEFORE {
        return Err(format!("the CA expires at {}", current.not_after));
    }
    let mut roots = RootCertStore::empty();
    for authority in &authorities {
        roots.add(authority.clone()).map_err(|e| format!("{CA_CRT} holds an unusable CA: {e}"))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| format!("{CA_CRT}: {e}"))?;
    let (leaf, intermediates) = serving.certified.cert.split_first().ok_or("tls.crt is empty")?;
    // Valid now and still in RENEW_BEFORE: expiry is checked at both ends of that window.
    for at in [now, now + RENEW_BEFORE] {
        let time = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(at.timestamp()).unwrap_or(0)));
        for name in dns_names {
            let server_name = ServerName::try_from(name.as_str()).map_err(|e| format!("{name}: {e}"))?;
            verifier.verify_server_cert(leaf, intermediates, &server_name, &[], time).map_err(|e| {
                let when = if at == now { "now".to_string() } else { format!("at {at}") };
                format!("the serving certificate is not valid for {name} {when}: {e}")
            })?;
        }
    }
    Ok(serving)
}

/// New Secret data for `dns_names`: a serving certificate signed by the CA in `previous` when it
/// can be read and stays valid for a whole serving certificate's life, else by a new CA. A new
/// CA's bundle keeps the previous CA while it is valid, so that replicas still serving a
/// certificate of the old CA are trusted until they reload.
pub fn renew(
    previous: Option<&SecretData>,
    dns_names: &[String],
    now: DateTime<Utc>,
) -> Result<SecretData, CertificateError> {
    let old_authorities: Vec<CertificateDer<'static>> = previous
        .and_then(|data| data.get(CA_CRT))
        .and_then(|bundle| pem::certificates(bundle).ok())
        .unwrap_or_default();
    let reusable = previous.and_then(|data| reusable_authority(data, &old_authorities, now));
    let (authority, bundle) = match reusable {
        Some(authority) => {
            // Expired CAs are dropped from the bundle; the reused one is first and valid.
            let bundle = old_authorities
                .iter()
                .filter(|ca| CertificateFields::read(ca).is_ok_and(|f| f.not_after > now))
                .map(|ca| ca.as_ref().to_vec())
                .collect();
            (authority, bundle)
        }
        None => {
            let authority = Authority::generate(now)?;
            let mut bundle = vec![authority.issued().certificate.clone()];
            if let Some(old) = old_authorities.first()
                && CertificateFields::read(old).is_ok_and(|f| f.not_after > now)
            {
                bundle.push(old.as_ref().to_vec());
            }
            (authority, bundle)
        }
    };
    let serving = authority.issue_serving(dns_names, now)?;
    let bundle: String = bundle.iter().map(|ca| pem::encode(pem::CERTIFICATE, ca)).collect();
    Ok(BTreeMap::from([
        (TLS_CRT.to_string(), pem::encode(pem::CERTIFICATE, &serving.certificate).into_bytes()),
        (TLS_KEY.to_string(), pem::encode(pem::PRIVATE_KEY, &serving.private_key).into_bytes()),
        (CA_CRT.to_string(), bundle.into_bytes()),
        (CA_KEY.to_string(), pem::encode(pem::PRIVATE_KEY, &authority.issued().private_key).into_bytes()),
    ]))
}

fn reusable_authority(data: &SecretData, authorities: &[CertificateDer<'_>], now: DateTime<Utc>) -> Option<Authority> {
    let certificate = authorities.first()?;
    let fields = CertificateFields::read(certificate).ok()?;
    if fields.not_after < now + SERVING_VALIDITY {
        return None;
    }
    let key = pem::private_key(data.get(CA_KEY)?).ok()?;
    Authority::from_der(certificate, key.secret_der()).ok()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::webhook::x509::CA_VALIDITY;

    fn names() -> Vec<String> {
        vec!["elbow-webhook.elbow-system.svc".into(), "elbow-webhook.elbow-system.svc.cluster.local".into()]
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
    }

    fn days(n: u64) -> Duration {
        Duration::from_secs(n * 24 * 3600)
    }

    fn serving_pem(data: &SecretData) -> &[u8] {
        &data[TLS_CRT]
    }

    #[test]
    fn a_fresh_secret_is_served_as_it_is_for_both_names() {
        let data = renew(None, &names(), now()).unwrap();
        assert_eq!(data.keys().collect::<Vec<_>>(), [CA_CRT, CA_KEY, TLS_CRT, TLS_KEY]);
        let serving = assess(&data, &names(), now()).unwrap();
        assert_eq!(serving.certificate_pem, data[TLS_CRT]);
        assert_eq!(serving.ca_bundle.as_deref(), Some(data[CA_CRT].as_slice()));
        assert_eq!(pem::certificates(&data[CA_CRT]).unwrap().len(), 1);
    }

    #[test]
    fn a_certificate_for_other_names_is_renewed() {
        let data = renew(None, &names(), now()).unwrap();
        let moved = vec!["elbow-webhook.other.svc".to_string()];
        let why = assess(&data, &moved, now()).unwrap_err();
        assert!(why.contains("not valid for elbow-webhook.other.svc now"), "{why}");
        // Renewal keeps the CA: the caBundle stays as it is.
        let renewed = renew(Some(&data), &moved, now()).unwrap();
        assert_eq!(renewed[CA_CRT], data[CA_CRT]);
        assert_eq!(renewed[CA_KEY], data[CA_KEY]);
        assert_ne!(renewed[TLS_CRT], data[TLS_CRT]);
        assess(&renewed, &moved, now()).unwrap();
    }

    #[test]
    fn a_certificate_is_renewed_within_thirty_days_of_its_expiry_and_not_before() {
        let data = renew(None, &names(), now()).unwrap();
        let expiry = now() + SERVING_VALIDITY;
        assess(&data, &names(), expiry - RENEW_BEFORE - days(1)).unwrap();
        let why = assess(&data, &names(), expiry - RENEW_BEFORE + days(1)).unwrap_err();
        assert!(why.contains("is not valid for") && why.contains(" at "), "{why}");
        let later = expiry - days(10);
        let renewed = renew(Some(&data), &names(), later).unwrap();
        assert_eq!(renewed[CA_CRT], data[CA_CRT], "the CA has years left");
        assess(&renewed, &names(), later).unwrap();
    }

    #[test]
    fn a_ca_near_its_end_is_replaced_and_the_old_one_stays_trusted_meanwhile() {
        let first = renew(None, &names(), now()).unwrap();
        // Late in the CA's life, with a little more than a serving certificate's life left: the
        // CA still signs the renewed certificate.
        let t1 = now() + CA_VALIDITY - SERVING_VALIDITY - days(10);
        let before = renew(Some(&first), &names(), t1).unwrap();
        assert_eq!(before[CA_KEY], first[CA_KEY]);
        // Twenty days on, too little is left: a new CA, with the old one after it in the bundle.
        let t2 = t1 + days(20);
        let renewed = renew(Some(&before), &names(), t2).unwrap();
        assert_ne!(renewed[CA_KEY], before[CA_KEY]);
        let bundle = pem::certificates(&renewed[CA_CRT]).unwrap();
        assert_eq!(bundle.len(), 2);
        assert_eq!(bundle[1], pem::certificates(&before[CA_CRT]).unwrap()[0], "the previous CA follows the new one");
        assess(&renewed, &names(), t2).unwrap();
        // The certificate other replicas still serve verifies against the new caBundle.
        let mut mixed = before.clone();
        mixed.insert(CA_CRT.into(), renewed[CA_CRT].clone());
        assess(&mixed, &names(), t2).unwrap();

        // Once expired, the old CA leaves the bundle at the next renewal.
        let much_later = now() + CA_VALIDITY + days(1);
        let again = renew(Some(&renewed), &names(), much_later).unwrap();
        assert_eq!(pem::certificates(&again[CA_CRT]).unwrap().len(), 1);
        assess(&again, &names(), much_later).unwrap();
    }

    #[test]
    fn a_ca_that_expires_within_thirty_days_makes_the_secret_unusable() {
        let data = renew(None, &names(), now()).unwrap();
        let why = assess(&data, &names(), now() + CA_VALIDITY - days(10)).unwrap_err();
        assert!(why.contains("the CA expires"), "{why}");
    }

    #[test]
    fn broken_or_mismatched_parts_are_renewed() {
        let data = renew(None, &names(), now()).unwrap();
        let other = renew(None, &names(), now()).unwrap();
        let cases: Vec<(&str, SecretData)> = vec![
            ("no tls.crt", data.iter().filter(|(k, _)| *k != TLS_CRT).map(|(k, v)| (k.clone(), v.clone())).collect()),
            ("empty tls.key", {
                let mut d = data.clone();
                d.insert(TLS_KEY.into(), vec![]);
                d
            }),
            ("another key", {
                let mut d = data.clone();
                d.insert(TLS_KEY.into(), other[TLS_KEY].clone());
                d
            }),
            ("another CA", {
                let mut d = data.clone();
                d.insert(CA_CRT.into(), other[CA_CRT].clone());
                d
            }),
            ("garbage", {
                let mut d = data.clone();
                d.insert(TLS_CRT.into(), b"not a certificate".to_vec());
                d
            }),
        ];
        for (case, broken) in cases {
            assert!(assess(&broken, &names(), now()).is_err(), "{case}");
            let renewed = renew(Some(&broken), &names(), now()).unwrap();
            assess(&renewed, &names(), now()).unwrap_or_else(|e| panic!("{case}: {e}"));
        }
        // A CA whose key is gone cannot sign: a new CA.
        let mut keyless = data.clone();
        keyless.remove(CA_KEY);
        let renewed = renew(Some(&keyless), &names(), now()).unwrap();
        assert_ne!(pem::certificates(&renewed[CA_CRT]).unwrap()[0], pem::certificates(&data[CA_CRT]).unwrap()[0]);
        assert_ne!(serving_pem(&renewed), serving_pem(&data));
    }

    #[test]
    fn what_cert_manager_writes_loads_with_an_ec_key_in_sec1_form() {
        let data = renew(None, &names(), now()).unwrap();
        let pkcs8 = pem::private_key(&data[TLS_KEY]).unwrap();
        let sec1 = crate::webhook::x509::sec1_private_key(pkcs8.secret_der()).unwrap();
        let external = BTreeMap::from([
            (TLS_CRT.to_string(), data[TLS_CRT].clone()),
            (TLS_KEY.to_string(), pem::encode("EC PRIVATE KEY", &sec1).into_bytes()),
        ]);
        let serving = load_serving(&external).unwrap();
        assert!(serving.ca_bundle.is_none());
        assert_eq!(serving.certified.cert.len(), 1);
    }
}
