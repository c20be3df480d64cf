//! The `elbow` operator: the Kubernetes controllers, `elbow run` and `elbow plan`, on top of the
//! engine crates (model, builders, cloud, deployer).

pub mod config;
pub mod context;
pub mod controllers;
pub mod crds;
pub mod exit_codes;
pub mod flag_values;
pub mod gc;
pub mod inventory;
pub mod leader;
pub mod metrics;
pub mod plan;
pub mod preflight;
pub mod run;
pub mod runtime;
pub mod sweep;
pub mod version;
pub mod webhook;
