//! `elbow plan` as a user runs it: the real binary on the documented example.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn plan(files: &[PathBuf], extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_elbow"));
    command.arg("plan");
    for file in files {
        command.arg("-f").arg(file);
    }
    command.arg("--inventory").arg(docs().join("examples/inventory.yaml")).args(["--cluster-name", "demo"]).args(extra);
    command.output().expect("the elbow binary runs")
}

fn example_plan() -> Value {
    let output = plan(&[docs().join("examples/services.yaml")], &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn the_example_plans_one_nlb_per_service_on_the_node_ports() {
    let plan = example_plan();
    let stacks = plan["stacks"].as_array().expect("stacks");
    assert_eq!(stacks.len(), 2);
    let web = stacks.iter().find(|s| s["id"] == "shop/web").expect("shop/web");
    let lb = &web["loadBalancers"][0];
    assert_eq!(lb["scheme"], "internet-facing");
    assert_eq!(lb["type"], "network");
    assert!(lb["name"].as_str().expect("name").starts_with("k8s-shop-web-"));
    assert_eq!(lb["subnets"], serde_json::json!(["subnet-0public-a", "subnet-0public-b"]));
    let tg = &web["targetGroups"][0];
    assert_eq!(tg["port"], 31080, "the NodePort");
    assert_eq!(tg["targetType"], "instance");
    let targets: Vec<&str> =
        tg["targets"].as_array().expect("targets").iter().map(|t| t["id"].as_str().expect("id")).collect();
    assert_eq!(targets, ["i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"], "the excluded node is left out");
    assert_eq!(web["listeners"][0]["port"], 80);
    assert_eq!(web["securityGroups"][0]["ingress"][0]["source"]["value"], "203.0.113.0/24");

    let dns = stacks.iter().find(|s| s["id"] == "kube-system/dns").expect("kube-system/dns");
    assert_eq!(dns["loadBalancers"][0]["scheme"], "internal");
    assert_eq!(dns["listeners"][0]["protocol"], "TCP_UDP");
    let hc = &dns["targetGroups"][0]["healthCheck"];
    assert_eq!(
        (hc["protocol"].as_str(), hc["port"].as_str(), hc["path"].as_str()),
        (Some("HTTP"), Some("32053"), Some("/healthz"))
    );
    assert_eq!(hc["intervalSeconds"], 30);
    assert_eq!(plan["errors"], serde_json::json!([]));
}

#[test]
fn a_bad_annotation_is_reported_and_exits_1_while_the_rest_is_planned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\n  namespace: shop\n  uid: u-1\n  annotations:\n    \
         service.beta.kubernetes.io/aws-load-balancer-scheme: public\nspec:\n  type: LoadBalancer\n  ports:\n  - port: 80\n    nodePort: 31999\n",
    )
    .expect("written");
    let output = plan(&[docs().join("examples/services.yaml"), bad], &[]);
    assert_eq!(output.status.code(), Some(1));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(plan["stacks"].as_array().map(Vec::len), Some(2));
    assert_eq!(plan["errors"][0]["service"], "shop/broken");
    assert!(plan["errors"][0]["error"].as_str().expect("message").contains("aws-load-balancer-scheme"));
}

#[test]
fn the_table_output_names_every_resource() {
    let output = plan(&[docs().join("examples/services.yaml")], &["-o", "table"]);
    let text = String::from_utf8(output.stdout).expect("utf-8");
    for expected in [
        "STACK shop/web",
        "load balancer   k8s-shop-web-",
        "listener        53/TCP_UDP",
        "node rule       sg-0nodes tcp 31080",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
}

/// Every field the example prints is documented in docs/plan-format.md.
#[test]
fn the_plan_format_doc_covers_every_field() {
    let doc = std::fs::read_to_string(docs().join("plan-format.md")).expect("plan-format.md");
    let mut paths = BTreeSet::new();
    collect_paths(&example_plan(), "", &mut paths);
    let missing: Vec<&String> = paths.iter().filter(|p| !doc.contains(&format!("`{p}`"))).collect();
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}

fn collect_paths(value: &Value, path: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                out.insert(child_path.clone());
                // Tag and attribute keys are data, not format.
                if key != "tags" && key != "attributes" {
                    collect_paths(child, &child_path, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_paths(item, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}
