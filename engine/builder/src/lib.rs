//! The pure builders: Kubernetes objects (a Service, or an Ingress group) plus the cluster's
//! inventory in, a desired [`Stack`] or a user error out. Also what decides whether an object is
//! Elbow's at all (load-balancer class, IngressClass and its parameters, group membership), the
//! annotations, the names of cloud resources and the CRD types. No I/O and no Kubernetes client, so
//! every rule is an ordinary table test.
//!
//! [`Stack`]: elbow_model::Stack

pub mod annotations;
pub mod binding;
pub mod config;
pub mod crd;
pub mod endpoints;
pub mod error;
pub mod ingress;
pub mod label_selector;
pub mod names;
pub mod nodes;
pub mod owner;
pub mod quic;
pub mod readiness;
pub mod security;
pub mod service;
pub mod subnets;

pub use config::BuildConfig;
pub use error::BuildError;
