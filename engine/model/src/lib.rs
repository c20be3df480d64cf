//! Elbow's model: the desired state of a stack of cloud resources, the ownership tags that tie
//! resources to their owners, and the cluster's network inventory. Pure values, no I/O: nothing
//! here imports a Kubernetes client or an AWS SDK, so the compiler keeps it that way.

pub mod build;
pub mod crd;
pub mod inventory;
pub mod stack;
pub mod tags;

pub use inventory::CloudInventory;
pub use stack::*;
pub use tags::{Ownership, Tags};
