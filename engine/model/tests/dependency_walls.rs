//! The walls between the engine crates are dependency edges, so they are checked on the resolved
//! dependency graph: the model and the deployer compile no Kubernetes crate, no engine crate below
//! the operator compiles a Kubernetes client, and the production binary does not contain the fake
//! cloud. A new `use kube::...` in one of these crates fails to compile; a new dependency that
//! drags one in fails here.

#![allow(clippy::expect_used)] // helpers of a test: a failure should stop it

use std::collections::BTreeSet;
use std::process::Command;

/// The crates in `package`'s normal (non-dev, non-build) dependency closure, by name.
fn closure(package: &str) -> BTreeSet<String> {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let output = Command::new(cargo)
        .args(["tree", "--offline", "--edges", "normal", "--prefix", "none", "--format", "{p}", "--package", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo tree -p {package}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn forbidden<'a>(crates: &'a BTreeSet<String>, prefixes: &[&str]) -> Vec<&'a String> {
    crates.iter().filter(|name| prefixes.iter().any(|prefix| name.starts_with(prefix))).collect()
}

#[test]
fn the_model_depends_on_no_kubernetes_and_no_aws_crate() {
    let crates = closure("elbow-model");
    assert_eq!(forbidden(&crates, &["kube", "k8s-openapi", "hyper", "tower", "aws-"]), Vec::<&String>::new());
}

#[test]
fn the_deployer_and_the_cloud_crates_compile_no_kubernetes_crate() {
    for package in ["elbow-deploy", "elbow-cloud", "elbow-aws", "elbow-fake"] {
        let crates = closure(package);
        assert_eq!(forbidden(&crates, &["kube", "k8s-openapi"]), Vec::<&String>::new(), "{package}");
    }
}

#[test]
fn the_builder_reads_kubernetes_objects_without_a_client() {
    let crates = closure("elbow-builder");
    assert!(crates.contains("k8s-openapi"), "the builder reads Kubernetes types");
    assert_eq!(forbidden(&crates, &["kube-client", "kube-runtime", "hyper", "tower", "aws-"]), Vec::<&String>::new());
}

#[test]
fn the_production_binary_does_not_contain_the_fake_cloud() {
    let crates = closure("elbow");
    assert!(crates.contains("elbow-aws"), "the operator links the SDK adapter");
    assert!(!crates.contains("elbow-fake"), "the operator links the fake cloud");
}
