//! The serving certificate as rustls asks for it on each handshake, swappable while the server
//! runs: a renewed certificate is served from the next connection on, without a restart.

use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Holds the current certificate; none until the first one is loaded (handshakes fail meanwhile,
/// which kube-apiserver reports as a webhook call error).
#[derive(Debug, Default)]
pub struct ReloadableCertificate {
    current: RwLock<Option<Arc<CertifiedKey>>>,
}

impl ReloadableCertificate {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&self, certified: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(certified);
    }

    pub fn get(&self) -> Option<Arc<CertifiedKey>> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl ResolvesServerCert for ReloadableCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // One certificate for every name: kube-apiserver dials `<service>.<namespace>.svc`, and
        // the certificate names each form of the Service's DNS name.
        self.get()
    }
}
