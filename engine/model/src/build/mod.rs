//! The pure builders: Kubernetes objects (a Service, or an Ingress group) plus the cluster's
//! inventory in, a desired [`Stack`] or a user error out. No I/O, so every rule is an ordinary
//! table test.
//!
//! [`Stack`]: crate::Stack

pub mod annotations;
pub mod config;
pub mod error;
pub mod ingress;
pub mod names;
pub mod nodes;
pub mod security;
pub mod service;
pub mod subnets;

pub use config::BuildConfig;
pub use error::BuildError;
