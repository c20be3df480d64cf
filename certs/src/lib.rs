//! Just enough X.509 for Elbow's own certificates, written in DER over aws-lc-rs keys (no
//! certificate tooling needed at run time or in tests): a CA and the serving certificates it
//! signs ([`x509`]), their DER encoding and the few fields read back ([`der`]), and PEM as
//! Kubernetes Secrets and `caBundle`s hold it ([`pem`]). The operator's webhook issues its
//! certificates with it; the testkit's throwaway test CA is the same authority.

pub mod der;
pub mod pem;
pub mod x509;
