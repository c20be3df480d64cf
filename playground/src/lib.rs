//! Elbow in one process, for people trying it and for end-to-end tests: see [`sandbox`].

pub mod endpoint;
pub mod environment;
pub mod fake;
pub mod nodes;
pub mod sandbox;
pub mod webhook;
pub mod workloads;

pub use environment::{Environment, NodeSeed};
pub use sandbox::{Aws, Prepared, Sandbox, SandboxOptions};
