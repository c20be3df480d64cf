//! The `elbow inventory` binary as a user runs it, where it cannot read the account: no
//! credentials, an endpoint that does not answer, a VPC id that is not one. Each ends with its
//! exit code and a message saying what to fix, and prints no inventory. (Reading a real network
//! is tested against moto in localstack-tests/tests/inventory.rs.)

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};

use elbow::exit_codes;

/// `elbow inventory` with nothing inherited: no AWS configuration but what `env` gives, and no
/// instance metadata lookup (that would leave the machine).
fn elbow_inventory(home: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_elbow"))
        .arg("inventory")
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the elbow binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn without_credentials_it_says_so_before_any_call() {
    let home = tempfile::tempdir().unwrap();
    let output = elbow_inventory(home.path(), &["--vpc-id", "vpc-0123456789abcdef0"], &[]);
    assert_eq!(output.status.code(), Some(i32::from(exit_codes::CONFIGURATION)), "{}", stderr(&output));
    assert!(stderr(&output).contains("cannot reach AWS: no AWS credentials"), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "no inventory is printed");
}

#[test]
fn an_endpoint_that_does_not_answer_fails_naming_the_vpc() {
    let home = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let output = elbow_inventory(
        home.path(),
        &["--vpc-id", "vpc-0123456789abcdef0", "--aws-endpoint", &endpoint],
        &[("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")],
    );
    assert_eq!(output.status.code(), Some(i32::from(exit_codes::CONFIGURATION)), "{}", stderr(&output));
    assert!(stderr(&output).contains("failed to read the network of vpc-0123456789abcdef0"), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "no inventory is printed");
}

#[test]
fn a_vpc_id_that_is_not_one_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let output = elbow_inventory(home.path(), &["--vpc-id", "subnet-0abc"], &[]);
    assert_eq!(output.status.code(), Some(i32::from(exit_codes::USAGE)), "{}", stderr(&output));
    assert!(stderr(&output).contains("--vpc-id"), "{}", stderr(&output));
}
