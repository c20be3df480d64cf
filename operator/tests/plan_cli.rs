//! `elbow plan` as a user runs it: the real binary on the documented example.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use elbow_builder::names::{load_balancer_name, target_group_name};
use serde_json::Value;

/// The UIDs written in docs/examples/services.yaml.
const WEB_UID: &str = "2f1c6a8e-5b7d-4e3a-9c21-0d4f8b6a7e10";
const DNS_UID: &str = "7a3e9d14-6c2b-4f08-b5e1-93c0a2d4f6b8";

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
    assert_eq!(lb["scheme"], "internal", "the default scheme, as LBC's");
    assert_eq!(lb["type"], "network");
    assert_eq!(lb["name"], load_balancer_name("demo", "shop", "web", WEB_UID, "internal"));
    assert_eq!(lb["subnets"], serde_json::json!(["subnet-0private-a", "subnet-0private-b"]));
    let tg = &web["targetGroups"][0];
    assert_eq!(tg["port"], 31080, "the NodePort");
    assert_eq!(
        tg["name"],
        target_group_name("demo", "shop", "web", WEB_UID, 31080, "80", "instance", "TCP", "TCP", 10)
    );
    assert_eq!(tg["targetType"], "instance");
    let targets: Vec<&str> =
        tg["targets"].as_array().expect("targets").iter().map(|t| t["id"].as_str().expect("id")).collect();
    assert_eq!(targets, ["i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"], "the excluded node is left out");
    assert_eq!(web["listeners"][0]["port"], 80);
    assert_eq!(web["listeners"][0]["defaultActions"][0]["targetGroups"][0]["targetGroup"], tg["resourceId"]);
    assert_eq!(web["securityGroups"][0]["ingress"][0]["source"]["value"], "203.0.113.0/24");

    let dns = stacks.iter().find(|s| s["id"] == "kube-system/dns").expect("kube-system/dns");
    assert_eq!(dns["loadBalancers"][0]["scheme"], "internal");
    assert_eq!(dns["loadBalancers"][0]["name"], load_balancer_name("demo", "kube-system", "dns", DNS_UID, "internal"));
    assert_eq!(dns["loadBalancers"][0]["subnets"], serde_json::json!(["subnet-0private-a", "subnet-0private-b"]));
    assert_eq!(dns["listeners"][0]["protocol"], "TCP_UDP");
    let hc = &dns["targetGroups"][0]["healthCheck"];
    assert_eq!(
        (hc["protocol"].as_str(), hc["port"].as_str(), hc["path"].as_str()),
        (Some("HTTP"), Some("32053"), Some("/healthz"))
    );
    assert_eq!(hc["intervalSeconds"], 30);
    assert_eq!(dns["targetGroups"][0]["port"], 30053);
    assert_eq!(
        dns["targetGroups"][0]["name"],
        target_group_name("demo", "kube-system", "dns", DNS_UID, 30053, "53", "instance", "TCP_UDP", "HTTP", 30)
    );
    let node_rules: Vec<String> = dns["nodeSecurityGroupRules"]
        .as_array()
        .expect("node rules")
        .iter()
        .map(|r| format!("{} {}", r["rule"]["ipProtocol"].as_str().expect("protocol"), r["rule"]["fromPort"]))
        .collect();
    assert_eq!(
        node_rules,
        ["tcp 30053", "tcp 32053", "udp 30053"],
        "both NodePort protocols and the health-check port"
    );
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
    assert_eq!(plan["errors"][0]["object"], "Service shop/broken");
    assert!(plan["errors"][0]["error"].as_str().expect("message").contains("aws-load-balancer-scheme"));
}

#[test]
fn services_elbow_does_not_serve_and_other_kinds_are_noted_and_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let others = dir.path().join("others.yaml");
    std::fs::write(
        &others,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n---\n\
         apiVersion: v1\nkind: Service\nmetadata:\n  name: internal-only\n  namespace: shop\n  uid: u-2\n\
         spec:\n  type: ClusterIP\n  ports:\n  - port: 80\n---\n\
         apiVersion: v1\nkind: Service\nmetadata:\n  name: theirs\n  namespace: shop\n  uid: u-3\n\
         spec:\n  type: LoadBalancer\n  loadBalancerClass: service.k8s.aws/nlb\n  ports:\n  - port: 80\n    nodePort: 31998\n",
    )
    .expect("written");
    let output = plan(&[docs().join("examples/services.yaml"), others], &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let ids: Vec<&str> =
        plan["stacks"].as_array().expect("stacks").iter().map(|s| s["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["shop/web", "kube-system/dns"]);
    let notes = String::from_utf8(output.stderr).expect("utf-8");
    for expected in ["skipping a ConfigMap", "skipping Service shop/internal-only", "skipping Service shop/theirs"] {
        assert!(notes.contains(expected), "{expected:?} missing from:\n{notes}");
    }
}

#[test]
fn the_flags_change_the_plan() {
    let output = plan(
        &[docs().join("examples/services.yaml")],
        &[
            "--default-scheme",
            "internet-facing",
            "--load-balancer-class",
            "example.com/lb",
            "--default-tag",
            "team=web",
        ],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let web = plan["stacks"].as_array().expect("stacks").iter().find(|s| s["id"] == "shop/web").expect("shop/web");
    assert_eq!(web["loadBalancers"][0]["scheme"], "internet-facing", "--default-scheme");
    assert_eq!(web["loadBalancers"][0]["tags"]["team"], "web", "--default-tag");

    let not_default = plan_with(&["--default-load-balancer", "false"]);
    assert_eq!(
        not_default["stacks"],
        serde_json::json!([]),
        "class-less Services are left to the default implementation"
    );
}

fn plan_with(extra: &[&str]) -> Value {
    let output = plan(&[docs().join("examples/services.yaml")], extra);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON")
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
    // The Ingress examples: a group of two Ingresses, and one with every kind of action and
    // condition (redirects, a fixed response, header, query-string, source and method matches).
    let examples = ["services.yaml", "ingresses.yaml", "ingress-actions.yaml"];
    let output = plan(&examples.map(|name| docs().join("examples").join(name)), &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let with_ingresses: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    collect_paths(&with_ingresses, "", &mut paths);
    for expected in [
        "stacks[].listeners[].rules[].conditions[].values.name",
        "stacks[].listeners[].rules[].conditions[].values[].key",
        "stacks[].listeners[].defaultActions[].host",
        "stacks[].listeners[].rules[].actions[].messageBody",
    ] {
        assert!(paths.contains(expected), "the examples no longer show {expected}: {paths:#?}");
    }
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

#[test]
fn ingresses_of_our_class_are_planned_as_one_alb_per_group() {
    let output = plan(&[docs().join("examples/services.yaml"), docs().join("examples/ingresses.yaml")], &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let notes = String::from_utf8_lossy(&output.stderr);
    assert!(notes.contains("skipping Ingress shop/legacy: its class is not served by Elbow"), "{notes}");
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let stacks = plan["stacks"].as_array().expect("stacks");
    let group = stacks.iter().find(|s| s["id"] == "ingress-group:shop").expect("the group's stack");
    assert_eq!(group["loadBalancers"][0]["type"], "application");
    assert_eq!(group["loadBalancers"][0]["scheme"], "internet-facing", "the class's parameters set the scheme");
    let rules = group["listeners"][0]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 2, "both members' paths on one listener");
    // group.order -10 puts the search Ingress's rule first.
    assert_eq!(rules[0]["conditions"][1], serde_json::json!({ "field": "path-pattern", "values": ["/search"] }));
}

#[test]
fn lbcs_legacy_class_and_refused_annotations_are_reported() {
    let dir = std::env::temp_dir().join(format!("elbow-plan-legacy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("legacy.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: old\n  namespace: shop\n  annotations:\n    kubernetes.io/ingress.class: alb\nspec:\n  rules:\n  - http:\n      paths:\n      - { path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: typo\n  namespace: shop\n  uid: 0b6c1f7e-1d2a-4c59-9a0e-5d3b7f1e2a44\n  annotations:\n    service.beta.kubernetes.io/aws-load-balancer-shceme: internal\nspec:\n  type: LoadBalancer\n  ports:\n  - { port: 80, nodePort: 31998 }\n",
    )
    .unwrap();
    let output = plan(&[docs().join("examples/services.yaml"), manifest], &[]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!output.status.success(), "the typo is a user error");
    let notes = String::from_utf8_lossy(&output.stderr);
    assert!(
        notes.contains("warning: skipping Ingress shop/old: the Ingress asks for class alb with the legacy annotation"),
        "{notes}"
    );
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(plan["errors"][0]["object"], "Service shop/typo");
    let error = plan["errors"][0]["error"].as_str().expect("message");
    assert!(error.ends_with("did you mean service.beta.kubernetes.io/aws-load-balancer-scheme?"), "{error}");
}
