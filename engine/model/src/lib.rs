//! Elbow's model: the desired state of a stack of cloud resources, the ownership tags that tie
//! resources to their owners, and the cluster's network inventory. Pure values, no I/O.
//!
//! This crate depends on no Kubernetes and no AWS crate (see its `Cargo.toml`), so the compiler
//! keeps both out: a `use kube::Client;` here does not compile. The Kubernetes side, turning
//! Services and Ingresses into stacks, lives in `elbow-builder`.

pub mod auth;
pub mod inventory;
pub mod protection;
pub mod stack;
pub mod tags;

pub use auth::{
    AuthenticateCognito, AuthenticateOidc, ClientSecret, JwtClaim, JwtClaimFormat, JwtValidation, OnUnauthenticated,
};
pub use inventory::{AcmCertificate, CloudInventory};
pub use protection::{Protection, WafClassicWebAcl, Wafv2WebAcl};
pub use stack::*;
pub use tags::{Ownership, Tags};
