//! Checks of the Terraform module in `terraform/`, which `terraform validate` cannot check here (the
//! provider registry cannot be reached, and the one terraform binary at hand, run through
//! `scripts/terraform` for `terraform fmt -check`, is older than the module needs): every `.tf`
//! file is read with a real HCL parser (python-hcl2, through `scripts/hcl2json`) and held to the
//! conventions of a reviewed module and to the code, above all the IAM policy (and its JSON copy,
//! `terraform/iam-policy.json`) to `elbow_cloud::api::Api`. The tests are in `tests/terraform.rs`.

pub mod hcl;
pub mod module;
pub mod policy;
