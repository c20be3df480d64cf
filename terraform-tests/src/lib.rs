//! Checks of the Terraform module in `terraform/`, which no terraform binary can check here: every
//! `.tf` file is read with a real HCL parser (python-hcl2, through `scripts/hcl2json`) and held to
//! the conventions of a reviewed module and to the code, above all the IAM policy to
//! `elbow_cloud::api::Api`. The tests are in `tests/terraform.rs`.

pub mod hcl;
pub mod module;
pub mod policy;
