//! `elbow inventory` against an AWS-compatible endpoint (moto, or `AWS_ENDPOINT_URL`) through the
//! real SDK: a seeded VPC is dumped as the inventory file, the file holds the subnets, zones, role
//! tags, instances and node security group that were seeded, only describe calls were sent, and
//! `elbow plan` reads the file and plans a load balancer on it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use elbow::inventory::command::{InventoryArgs, write_inventory};
use elbow::plan::{Output, PlanArgs};
use elbow_cloud::Api;
use elbow_localstack_tests::{Network, cloud, endpoint, unique};
use elbow_model::CloudInventory;
use serde_json::{Value, json};

/// A folder of its own under the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(unique("elbow-inventory"));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sorted(mut inventory: CloudInventory) -> CloudInventory {
    inventory.subnets.sort_by(|a, b| a.id.cmp(&b.id));
    inventory.instances.sort_by(|a, b| a.id.cmp(&b.id));
    inventory.security_groups.sort_by(|a, b| a.id.cmp(&b.id));
    inventory
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seeded_vpc_dumps_to_an_inventory_that_plan_reads_with_describe_calls_only() {
    let net = Network::seed("inventory", 3).await;
    let scratch = Scratch::new();
    // As `kubectl get nodes -o yaml` prints them: a List (JSON is YAML).
    let nodes = json!({"apiVersion": "v1", "kind": "List", "items": net.ready_nodes(3)});
    let nodes_file = scratch.write("nodes.yaml", &nodes.to_string());

    let sdk = Arc::new(cloud().await);
    let args = InventoryArgs {
        vpc_id: net.inventory.vpc_id.clone(),
        region: None,
        aws_endpoint: endpoint(),
        files: vec![nodes_file.clone()],
    };
    let (mut out, mut notes) = (Vec::new(), Vec::new());
    let dumped = write_inventory(sdk.clone(), &args, &mut out, &mut notes).await.expect("the inventory is read");
    let notes = String::from_utf8(notes).unwrap();

    // Only describe calls: one for the subnets, one for the three instances, one for their group.
    let calls = sdk.calls().snapshot();
    assert_eq!(sdk.calls().mutating(), 0, "{calls:?}");
    assert!(calls.keys().all(|api| !api.is_mutating()), "{calls:?}");
    assert_eq!(
        (calls.get(&Api::DescribeSubnets), calls.get(&Api::DescribeInstances), calls.get(&Api::DescribeSecurityGroups)),
        (Some(&1), Some(&1), Some(&1)),
        "{calls:?}"
    );

    // What was seeded, and nothing else: six subnets in three zones with their role and cluster
    // tags, the three instances in their zones, the node group with its cluster tag.
    assert_eq!(sorted(dumped.clone()), sorted(net.inventory.clone()), "notes: {notes}");
    assert_eq!(dumped.subnets.iter().map(|s| s.availability_zone.as_str()).collect::<BTreeSet<_>>().len(), 3);
    let public: Vec<&str> = dumped
        .subnets
        .iter()
        .filter(|s| s.tags.contains_key("kubernetes.io/role/elb"))
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(public.len(), 3, "{dumped:#?}");
    assert!(dumped.instances.iter().all(|i| i.security_groups == [net.node_group.clone()]), "{dumped:#?}");
    assert_eq!(
        dumped.security_groups[0].tags.get(&format!("kubernetes.io/cluster/{}", net.cluster)).map(String::as_str),
        Some("owned")
    );
    assert!(!notes.contains("not found"), "{notes}");

    // `elbow plan` reads the file as it was printed and plans an internet-facing NLB on it: in the
    // public subnets, the three instances as targets, a rule in the node group.
    let inventory_file = scratch.write("inventory.yaml", std::str::from_utf8(&out).unwrap());
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "0e2b6c1a-9d3f-4a57-8b61-2c4d5e6f7a80",
            "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}
        },
        "spec": {
            "type": "LoadBalancer",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 31080}]
        }
    });
    let service_file = scratch.write("service.yaml", &service.to_string());
    let build = elbow::config::BuildArgs {
        cluster_name: net.cluster.clone(),
        load_balancer_class: elbow_builder::config::DEFAULT_LOAD_BALANCER_CLASS.into(),
        default_load_balancer: true,
        take_over_lbc_services: false,
        default_scheme: elbow_model::Scheme::Internal,
        default_tags: Vec::new(),
    };
    let plan_args =
        PlanArgs { files: vec![service_file, nodes_file], inventory: inventory_file, build, output: Output::Json };
    let mut printed = Vec::new();
    let clean = elbow::plan::run(&plan_args, &mut printed, &mut std::io::sink()).expect("plan reads the inventory");
    let plan: Value = serde_json::from_slice(&printed).unwrap();
    assert!(clean, "{plan:#}");
    let stack = &plan["stacks"][0];
    let mut subnets: Vec<&str> = public.clone();
    subnets.sort();
    assert_eq!(stack["loadBalancers"][0]["subnets"], json!(subnets), "{plan:#}");
    let targets: BTreeSet<&str> =
        stack["targetGroups"][0]["targets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(targets, net.instances.iter().map(String::as_str).collect(), "{plan:#}");
    assert_eq!(stack["nodeSecurityGroupRules"][0]["groupId"], json!(net.node_group), "{plan:#}");
}
