//! PEM (RFC 7468) as Kubernetes TLS Secrets and `caBundle` hold it: written here, read with
//! rustls's own parser.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub const CERTIFICATE: &str = "CERTIFICATE";
pub const PRIVATE_KEY: &str = "PRIVATE KEY";

/// One PEM block, base64 in lines of 64 characters.
pub fn encode(label: &str, der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every certificate in `pem`, in order; an error when there is none or one does not parse.
pub fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("unreadable PEM certificate: {e}"))?;
    if certificates.is_empty() {
        return Err("no PEM certificate".to_string());
    }
    Ok(certificates)
}

/// The first private key in `pem`: PKCS#8, SEC1 (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`),
/// the forms cert-manager writes.
pub fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("no readable PEM private key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_in_order() {
        let (first, second) = (vec![0x30, 0x03, 0x02, 0x01, 0x01], vec![0x30; 100]);
        let pem = format!("{}{}", encode(CERTIFICATE, &first), encode(CERTIFICATE, &second));
        assert!(pem.lines().all(|line| line.len() <= 64), "{pem}");
        let read = certificates(pem.as_bytes()).unwrap();
        assert_eq!(read.iter().map(|c| c.as_ref().to_vec()).collect::<Vec<_>>(), [first, second]);
        assert!(certificates(b"").is_err());
        assert!(certificates(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").is_err());
        assert!(private_key(pem.as_bytes()).is_err(), "certificates are no key");
    }
}
