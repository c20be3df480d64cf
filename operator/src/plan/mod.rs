//! `elbow plan`: what `elbow run` would create for some manifests, offline and read-only. Reads
//! Services, Ingresses (with their IngressClasses and IngressClassParams), Nodes and EndpointSlices
//! (the pods of ip-mode Services) from YAML files, the cluster's network from an inventory file, and prints
//! the desired stacks as JSON (the format of docs/plan-format.md) or as a table.

mod ingresses;
pub(crate) mod manifests;
mod table;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use elbow_builder::endpoints::CompactSlice;
use elbow_builder::service::{build_service_stack, is_ours, stack_id};
use elbow_model::{CloudInventory, Stack};
use k8s_openapi::api::core::v1::Node;
use serde::Serialize;

use crate::config::BuildArgs;

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// A YAML file of Kubernetes objects (several documents, or a List); repeatable.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,

    /// A YAML file describing the cluster's VPC, subnets, instances and security groups.
    #[arg(long)]
    pub inventory: PathBuf,

    #[command(flatten)]
    pub build: BuildArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Json)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
    Table,
}

/// The whole answer of `elbow plan`.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub stacks: Vec<Stack>,
    pub errors: Vec<PlanError>,
}

/// An object (or Ingress group) whose stack cannot be built, and why.
#[derive(Debug, Serialize)]
pub struct PlanError {
    /// `Service <namespace>/<name>`, `Ingress <namespace>/<name>` or `IngressGroup <group>`.
    pub object: String,
    pub error: String,
}

/// Prints the plan; `Ok(false)` when an object had a user error (the others are still printed).
pub fn run(args: &PlanArgs, out: &mut dyn Write, notes: &mut dyn Write) -> anyhow::Result<bool> {
    let mut objects = manifests::Objects::default();
    for file in &args.files {
        let text = std::fs::read_to_string(file).with_context(|| format!("failed to read {}", file.display()))?;
        objects.add_yaml(&text, notes).with_context(|| format!("failed to parse {}", file.display()))?;
    }
    let text = std::fs::read_to_string(&args.inventory)
        .with_context(|| format!("failed to read {}", args.inventory.display()))?;
    let inventory: CloudInventory =
        serde_saphyr::from_str(&text).with_context(|| format!("failed to parse {}", args.inventory.display()))?;
    let report = plan(&objects, &inventory, &args.build, notes)?;
    match args.output {
        Output::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        Output::Table => table::write(&report, out)?,
    }
    Ok(report.errors.is_empty())
}

fn plan(
    objects: &manifests::Objects,
    inventory: &CloudInventory,
    build: &BuildArgs,
    notes: &mut dyn Write,
) -> anyhow::Result<PlanReport> {
    let config = build.to_config();
    let mut report = PlanReport { stacks: Vec::new(), errors: Vec::new() };
    let nodes: Vec<&Node> = objects.nodes.iter().collect();
    let slices: Vec<CompactSlice> = objects.endpoint_slices.iter().map(CompactSlice::from).collect();
    let slices: Vec<&CompactSlice> = slices.iter().collect();
    for service in &objects.services {
        if !is_ours(service, &config) {
            // Say why, so that a Service missing from the plan is not a mystery.
            let spec = service.spec.as_ref();
            let kind = spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
            let class = spec.and_then(|s| s.load_balancer_class.as_deref()).unwrap_or("(none)");
            writeln!(
                notes,
                "note: skipping Service {}: not served by Elbow (type {kind}, loadBalancerClass {class})",
                stack_id(service)
            )?;
            continue;
        }
        match build_service_stack(service, &nodes, &slices, &elbow_builder::endpoints::NoPodFacts, inventory, &config) {
            Ok(stack) => report.stacks.push(stack),
            Err(error) => report
                .errors
                .push(PlanError { object: format!("Service {}", stack_id(service)), error: error.to_string() }),
        }
    }
    ingresses::plan(objects, inventory, &config, &mut report, notes)?;
    Ok(report)
}
