//! `elbow inventory`: the cluster's network read from EC2 with describe calls only, written as the
//! inventory file that `elbow plan --inventory` reads (docs/plan-format.md), so that a plan can be
//! made for a real cluster.
//!
//! The reading is the operator's own ([`InventoryCache`]), so the file holds what `elbow run`
//! would see: the VPC's subnets (DescribeSubnets; DescribeVpcs only when there are none, to tell a
//! wrong VPC id), then the instances behind the given Nodes (DescribeInstances) and their security
//! groups (DescribeSecurityGroups). Instances are found through Nodes because that is how the
//! builders find them: a node's `spec.providerID` names its instance.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use elbow_aws::{AwsSettings, SdkCloud};
use elbow_cloud::Cloud;
use elbow_cloud::resilient::{RateLimits, Resilient, RetryPolicy};
use elbow_model::CloudInventory;
use k8s_openapi::api::core::v1::Node;

use super::{InventoryCache, instance_id};
use crate::flag_values;
use crate::plan::manifests::Objects;

#[derive(Debug, Clone, Args)]
pub struct InventoryArgs {
    /// The cluster's VPC, as given to `elbow run`.
    #[arg(long, env = "ELBOW_VPC_ID", value_parser = flag_values::vpc_id)]
    pub vpc_id: String,

    /// AWS region; default from the standard chain (AWS_REGION, profile, instance metadata).
    #[arg(long, env = "AWS_REGION", value_parser = flag_values::region)]
    pub region: Option<String>,

    /// An AWS-compatible endpoint (LocalStack, moto) instead of AWS.
    #[arg(long = "aws-endpoint", env = "AWS_ENDPOINT_URL", value_parser = flag_values::endpoint)]
    pub aws_endpoint: Option<String>,

    /// A YAML file with the cluster's Nodes (`kubectl get nodes -o yaml`); repeatable. Their
    /// instances and security groups are read too. Other kinds are skipped, so the files given to
    /// `elbow plan -f` can be passed as they are.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<PathBuf>,
}

/// Reads the network from AWS (or `--aws-endpoint`) and prints the inventory file on `out`; notes
/// (what was left out, and why) go to `notes`.
pub async fn run(args: &InventoryArgs, out: &mut dyn Write, notes: &mut dyn Write) -> anyhow::Result<()> {
    let sdk = SdkCloud::new(&AwsSettings { region: args.region.clone(), endpoint: args.aws_endpoint.clone() }).await;
    let problems = sdk.configuration_problems().await;
    if !problems.is_empty() {
        anyhow::bail!("cannot reach AWS: {}", problems.join("; "));
    }
    // Rate-limited and retried as `elbow run` is: a dump of a large account must not be the
    // request that throttles the operator running in it.
    let cloud = Arc::new(Resilient::new(sdk, RateLimits::aws_defaults(), RetryPolicy::default()));
    write_inventory(cloud.clone(), args, out, notes).await?;
    let calls = cloud.inner().calls();
    writeln!(notes, "note: {} requests, {} of them mutating", calls.total(), calls.mutating())?;
    Ok(())
}

/// [`run`] on a given cloud: reads the Nodes of `args.files`, the network through `cloud` (with
/// the security groups the files' Services and Ingresses name by their `Name` tag), and prints the
/// inventory. Returns what it printed.
pub async fn write_inventory(
    cloud: Arc<dyn Cloud>,
    args: &InventoryArgs,
    out: &mut dyn Write,
    notes: &mut dyn Write,
) -> anyhow::Result<CloudInventory> {
    let mut objects = Objects::default();
    for file in &args.files {
        let text = std::fs::read_to_string(file).with_context(|| format!("failed to read {}", file.display()))?;
        objects.add_yaml(&text, &mut std::io::sink()).with_context(|| format!("failed to parse {}", file.display()))?;
    }
    let mut group_names: Vec<String> =
        objects.services.iter().flat_map(elbow_builder::service::security_groups_named).collect();
    let ingresses: Vec<&k8s_openapi::api::networking::v1::Ingress> = objects.ingresses.iter().collect();
    group_names.extend(elbow_builder::ingress::security_groups_named(&ingresses));
    group_names.sort();
    group_names.dedup();
    let inventory = read(cloud, &args.vpc_id, &objects.nodes, &group_names, notes).await?;
    out.write_all(to_yaml(&inventory)?.as_bytes())?;
    Ok(inventory)
}

/// The network of `vpc_id` with the instances behind `nodes` and the security groups carrying one
/// of `group_names` as their `Name` tag, sorted by id so that two dumps of one network are the
/// same file.
pub async fn read(
    cloud: Arc<dyn Cloud>,
    vpc_id: &str,
    nodes: &[Node],
    group_names: &[String],
    notes: &mut dyn Write,
) -> anyhow::Result<CloudInventory> {
    if nodes.is_empty() {
        writeln!(
            notes,
            "note: no Nodes given (-f nodes.yaml, from `kubectl get nodes -o yaml`): the inventory lists no \
             instances, so `elbow plan` can register no instance targets"
        )?;
    }
    for node in nodes.iter().filter(|node| instance_id(node).is_none()) {
        writeln!(
            notes,
            "note: Node {} has no EC2 instance in spec.providerID (aws:///<zone>/i-...); it is left out",
            node.metadata.name.as_deref().unwrap_or("?")
        )?;
    }
    // Read once: the cache is only the operator's way of reading, nothing is kept.
    let cache = InventoryCache::new(cloud, vpc_id.to_string(), Duration::MAX);
    let nodes: Vec<&Node> = nodes.iter().collect();
    let inventory = cache
        .get_with_groups(&nodes, group_names)
        .await
        .with_context(|| format!("failed to read the network of {vpc_id}"))?;
    let mut inventory = (*inventory).clone();
    inventory.subnets.sort_by(|a, b| a.id.cmp(&b.id));
    if inventory.subnets.is_empty() {
        writeln!(notes, "note: VPC {vpc_id} has no subnets: `elbow plan` will find none to put load balancers in")?;
    }
    let found: std::collections::BTreeSet<&str> = inventory.instances.iter().map(|i| i.id.as_str()).collect();
    for node in &nodes {
        if let Some(id) = instance_id(node).filter(|id| !found.contains(id.as_str())) {
            writeln!(
                notes,
                "note: instance {id} of Node {} was not found (terminated, or in another account or region)",
                node.metadata.name.as_deref().unwrap_or("?")
            )?;
        }
    }
    Ok(inventory)
}

/// The inventory file: a header saying where it came from, then the YAML `elbow plan` reads.
pub fn to_yaml(inventory: &CloudInventory) -> anyhow::Result<String> {
    let body = serde_saphyr::to_string(inventory).context("failed to write the inventory as YAML")?;
    Ok(format!(
        "# The network of {}, read from EC2 by `elbow inventory` (describe calls only),\n\
         # for `elbow plan --inventory`.\n{body}",
        inventory.vpc_id
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use elbow_cloud::types as cloud;
    use elbow_fake::FakeCloud;

    use super::*;
    use crate::plan::{Output, PlanArgs};

    fn examples() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples")
    }

    fn example_inventory() -> CloudInventory {
        let text = std::fs::read_to_string(examples().join("inventory.yaml")).unwrap();
        serde_saphyr::from_str(&text).unwrap()
    }

    /// A fake account holding the example network, plus what a dump must leave out: a subnet of
    /// another VPC and an instance no Node names.
    fn account_with(network: &CloudInventory) -> Arc<FakeCloud> {
        let fake = Arc::new(FakeCloud::new());
        for subnet in &network.subnets {
            fake.seed_subnet(cloud::Subnet {
                id: subnet.id.clone(),
                vpc_id: network.vpc_id.clone(),
                availability_zone: subnet.availability_zone.clone(),
                cidr_block: subnet.cidr_block.clone(),
                ipv6_cidr_blocks: subnet.ipv6_cidr_blocks.clone(),
                tags: subnet.tags.clone(),
            });
        }
        fake.seed_subnet(cloud::Subnet {
            id: "subnet-0elsewhere".into(),
            vpc_id: "vpc-0other".into(),
            availability_zone: "us-east-1a".into(),
            cidr_block: "10.9.0.0/16".into(),
            ipv6_cidr_blocks: Vec::new(),
            tags: Default::default(),
        });
        for group in &network.security_groups {
            fake.seed_security_group(cloud::SecurityGroup {
                id: group.id.clone(),
                group_name: group.group_name.clone(),
                description: "nodes".into(),
                vpc_id: network.vpc_id.clone(),
                tags: group.tags.clone(),
            });
        }
        let unnamed = cloud::Instance {
            id: "i-0ffffffffffffffff".into(),
            vpc_id: network.vpc_id.clone(),
            availability_zone: "us-east-1a".into(),
            state: "running".into(),
            security_groups: vec!["sg-0nodes".into()],
        };
        for instance in network.instances.iter().map(|i| cloud::Instance {
            id: i.id.clone(),
            vpc_id: network.vpc_id.clone(),
            availability_zone: i.availability_zone.clone(),
            state: "running".into(),
            security_groups: i.security_groups.clone(),
        }) {
            fake.seed_instance(instance);
        }
        fake.seed_instance(unnamed);
        fake
    }

    fn args(vpc_id: &str, files: Vec<PathBuf>) -> InventoryArgs {
        InventoryArgs { vpc_id: vpc_id.into(), region: None, aws_endpoint: None, files }
    }

    fn sorted(mut inventory: CloudInventory) -> CloudInventory {
        inventory.subnets.sort_by(|a, b| a.id.cmp(&b.id));
        inventory
    }

    #[tokio::test]
    async fn the_example_network_dumps_to_the_example_inventory_with_describe_calls_only() {
        let expected = example_inventory();
        let fake = account_with(&expected);
        let (mut out, mut notes) = (Vec::new(), Vec::new());
        let dumped = write_inventory(
            fake.clone(),
            &args(&expected.vpc_id, vec![examples().join("services.yaml")]),
            &mut out,
            &mut notes,
        )
        .await
        .unwrap();
        assert_eq!(dumped, sorted(expected.clone()), "the VPC's subnets, the Nodes' instances and their group");
        let printed: CloudInventory = serde_saphyr::from_str(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(printed, dumped, "what is printed reads back as what was read");
        assert!(std::str::from_utf8(&out).unwrap().starts_with("# The network of vpc-0example"));
        assert_eq!(fake.counter().mutating(), 0, "{:?}", fake.counter().snapshot());
        assert_eq!(fake.counter().count(elbow_cloud::Api::DescribeSubnets), 1);
        assert_eq!(fake.counter().count(elbow_cloud::Api::DescribeInstances), 1);
        assert_eq!(fake.counter().count(elbow_cloud::Api::DescribeSecurityGroups), 1);
        assert_eq!(String::from_utf8(notes).unwrap(), "", "nothing was left out");
    }

    #[tokio::test]
    async fn plan_reads_the_dump_and_plans_what_it_plans_from_the_example() {
        let expected = example_inventory();
        let fake = account_with(&expected);
        let services = examples().join("services.yaml");
        let dir = tempfile::tempdir().unwrap();
        let dumped = dir.path().join("inventory.yaml");
        let mut out = Vec::new();
        write_inventory(fake, &args(&expected.vpc_id, vec![services.clone()]), &mut out, &mut std::io::sink())
            .await
            .unwrap();
        std::fs::write(&dumped, &out).unwrap();

        let plan = |inventory: PathBuf| {
            let build = crate::config::BuildArgs {
                cluster_name: "demo".into(),
                load_balancer_class: elbow_builder::config::DEFAULT_LOAD_BALANCER_CLASS.into(),
                default_load_balancer: true,
                take_over_lbc_services: false,
                default_scheme: elbow_model::Scheme::Internal,
                default_tags: Vec::new(),
            };
            let files = vec![services.clone(), examples().join("ingresses.yaml")];
            let args = PlanArgs { files, inventory, build, output: Output::Json };
            let mut printed = Vec::new();
            let clean = crate::plan::run(&args, &mut printed, &mut std::io::sink()).unwrap();
            assert!(clean, "{}", String::from_utf8_lossy(&printed));
            serde_json::from_slice::<serde_json::Value>(&printed).unwrap()
        };
        let from_dump = plan(dumped);
        assert_eq!(from_dump, plan(examples().join("inventory.yaml")));
        let stacks = from_dump["stacks"].as_array().unwrap();
        assert!(stacks.len() >= 3, "the Services' NLBs and the Ingresses' ALBs: {stacks:#?}");
        let targets = &stacks.iter().find(|s| s["id"] == "shop/web").unwrap()["targetGroups"][0]["targets"];
        assert_eq!(targets.as_array().map(Vec::len), Some(2), "{targets}");
    }

    #[tokio::test]
    async fn the_dump_holds_the_security_groups_the_manifests_name() {
        let expected = example_inventory();
        let fake = account_with(&expected);
        fake.seed_security_group(cloud::SecurityGroup {
            id: "sg-0clients".into(),
            group_name: "clients".into(),
            description: "clients".into(),
            vpc_id: expected.vpc_id.clone(),
            tags: [("Name".to_string(), "web-clients".to_string())].into_iter().collect(),
        });
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("service.yaml");
        std::fs::write(
            &manifest,
            r#"apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  uid: "1"
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-security-groups: web-clients, sg-0other
spec:
  type: LoadBalancer
  ports:
  - port: 80
    nodePort: 31000
"#,
        )
        .unwrap();
        let dumped =
            write_inventory(fake, &args(&expected.vpc_id, vec![manifest]), &mut Vec::new(), &mut std::io::sink())
                .await
                .unwrap();
        let ids: Vec<&str> = dumped.security_groups.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["sg-0clients"], "the group named web-clients (no Nodes were given, so no node group)");
    }

    #[tokio::test]
    async fn what_cannot_be_found_is_noted_and_a_wrong_vpc_is_an_error() {
        let expected = example_inventory();
        let fake = account_with(&expected);
        let nodes: Vec<Node> = serde_json::from_value(serde_json::json!([
            {"metadata": {"name": "gone"}, "spec": {"providerID": "aws:///us-east-1a/i-0123456789abcdef0"}},
            {"metadata": {"name": "bare-metal"}, "spec": {}}
        ]))
        .unwrap();
        let mut notes = Vec::new();
        let inventory = read(fake.clone(), &expected.vpc_id, &nodes, &[], &mut notes).await.unwrap();
        assert!(inventory.instances.is_empty(), "{inventory:?}");
        assert_eq!(inventory.subnets.len(), 4);
        let notes = String::from_utf8(notes).unwrap();
        assert!(notes.contains("instance i-0123456789abcdef0 of Node gone was not found"), "{notes}");
        assert!(notes.contains("Node bare-metal has no EC2 instance"), "{notes}");

        let mut notes = Vec::new();
        let inventory = read(fake.clone(), &expected.vpc_id, &[], &[], &mut notes).await.unwrap();
        assert!(inventory.instances.is_empty() && inventory.security_groups.is_empty());
        assert!(String::from_utf8(notes).unwrap().contains("no Nodes given"));

        let error = read(fake.clone(), "vpc-0123456789abcdef0", &[], &[], &mut std::io::sink()).await.unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("failed to read the network of vpc-0123456789abcdef0"), "{message}");
        assert!(message.contains("does not exist"), "{message}");
        assert_eq!(fake.counter().mutating(), 0);
    }
}
