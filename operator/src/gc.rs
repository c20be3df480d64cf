//! `elbow gc`: one orphan sweep on demand, from a laptop or a CI job. Reads the owners from the
//! cluster its kubeconfig points at, lists this cluster's resources in AWS, prints one line per
//! orphaned stack with what it did, and deletes only with `--delete`.
//!
//! Without a sweep before it there is no memory of how long a stack has been orphaned, so the
//! grace period is judged by the load balancer's creation time alone; a stack with no load
//! balancer (target groups or security groups left by an interrupted deletion) is removed only
//! with `--grace 0s`.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use clap::Args;
use elbow_aws::{AwsSettings, SdkCloud};
use elbow_cloud::Cloud;
use elbow_cloud::resilient::{RateLimits, Resilient, RetryPolicy};
use elbow_deploy::sweep::{OrphanAction, OrphanSweeper, SweepMode, SweepReport, SweepSettings};
use elbow_deploy::{DeploySettings, Deployer};

use crate::exit_codes;
use crate::flag_values;
use crate::run::parse_duration;
use crate::sweep::ClusterOwners;

#[derive(Debug, Clone, Args)]
pub struct GcArgs {
    /// The cluster's name, as `elbow run` has it: only resources tagged with it are looked at.
    #[arg(long, env = "ELBOW_CLUSTER_NAME", value_parser = flag_values::cluster_name)]
    pub cluster_name: String,

    /// Delete the orphaned stacks that are older than the grace period. Without it, only report.
    #[arg(long)]
    pub delete: bool,

    /// How old an orphaned stack's load balancer must be before it is deleted. A stack without a
    /// load balancer has no creation time in AWS and is deleted only with 0s.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub grace: Duration,

    /// The kubeconfig context to read owners from; default the current context (or in-cluster).
    #[arg(long)]
    pub context: Option<String>,

    /// AWS region; default from the standard chain (AWS_REGION, profile, instance metadata).
    #[arg(long, env = "AWS_REGION", value_parser = flag_values::region)]
    pub region: Option<String>,

    /// An AWS-compatible endpoint (LocalStack, moto) instead of AWS.
    #[arg(long = "aws-endpoint", env = "AWS_ENDPOINT_URL", value_parser = flag_values::endpoint)]
    pub aws_endpoint: Option<String>,
}

impl GcArgs {
    pub fn settings(&self) -> SweepSettings {
        SweepSettings { mode: if self.delete { SweepMode::Delete } else { SweepMode::Report }, grace: self.grace }
    }
}

/// Runs `elbow gc` and returns its exit code: [`exit_codes::SUCCESS`] when no orphan is left,
/// [`exit_codes::ORPHANS_LEFT`] when some are (reported, inside the grace period, or their
/// deletion failed).
pub async fn run(args: &GcArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    elbow_aws::install_crypto_provider();
    let config = match &args.context {
        Some(context) => {
            let options = kube::config::KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
            kube::Config::from_kubeconfig(&options)
                .await
                .with_context(|| format!("failed to read kubeconfig context {context:?}"))?
        }
        None => kube::Config::infer().await.context("failed to find a Kubernetes configuration")?,
    };
    let client =
        kube::Client::try_from(crate::runtime::identify(config)).context("failed to build a Kubernetes client")?;
    let sdk = SdkCloud::new(&AwsSettings { region: args.region.clone(), endpoint: args.aws_endpoint.clone() }).await;
    let cloud: Arc<dyn Cloud> = Arc::new(Resilient::new(sdk, RateLimits::aws_defaults(), RetryPolicy::default()));
    let report = sweep_once(client, cloud, &args.cluster_name, &args.settings()).await?;
    print_report(&report, &args.settings(), out).context("failed to write the report")?;
    Ok(if report.left().next().is_some() { exit_codes::ORPHANS_LEFT } else { exit_codes::SUCCESS })
}

/// One sweep of `cluster`'s resources in `cloud` against the owners `client` reads.
pub async fn sweep_once(
    client: kube::Client,
    cloud: Arc<dyn Cloud>,
    cluster: &str,
    settings: &SweepSettings,
) -> anyhow::Result<SweepReport> {
    let deployer = Deployer::new(
        cloud,
        DeploySettings {
            cluster_name: cluster.to_string(),
            // Where a deploy would create the shared backend group; deploying an empty stack never
            // creates it, so no VPC is needed to delete.
            vpc_id: String::new(),
            drift_period: Duration::from_secs(600),
            integrations: elbow_deploy::Integrations::all(),
        },
    );
    let owners = ClusterOwners::new(client);
    OrphanSweeper::new().sweep(&deployer, &owners, settings, SystemTime::now()).await.map_err(|error| {
        anyhow::anyhow!("{}", crate::controllers::error_chain(&error)).context(
            "check the kubeconfig (it must reach the cluster that owns these load balancers) and the AWS credentials",
        )
    })
}

/// One line per orphaned stack, then a summary:
///
/// ```text
/// STACK       ACTION    AGE   RESOURCES
/// shop/web    deleted   3h2m  1 load balancer (k8s-shop-web-0a1b2c3d4e), 1 target group (...)
/// ```
pub fn print_report(report: &SweepReport, settings: &SweepSettings, out: &mut dyn Write) -> std::io::Result<()> {
    let width = report.orphans.iter().map(|o| o.stack.as_str().len()).max().unwrap_or(0).max("STACK".len());
    if !report.orphans.is_empty() {
        writeln!(out, "{:width$}  {:8}  {:>7}  RESOURCES", "STACK", "ACTION", "AGE")?;
    }
    for orphan in &report.orphans {
        writeln!(
            out,
            "{:width$}  {:8}  {:>7}  {}",
            orphan.stack.as_str(),
            orphan.action.as_str(),
            short_duration(orphan.age),
            orphan.resources
        )?;
        match &orphan.action {
            OrphanAction::Deleted { .. } | OrphanAction::Failed { .. } | OrphanAction::Waiting { .. } => {
                writeln!(out, "{:width$}  {}", "", orphan.action)?;
            }
            OrphanAction::Reported | OrphanAction::OwnerReturned => {}
        }
    }
    let deleted = report.orphans.iter().filter(|o| matches!(o.action, OrphanAction::Deleted { .. })).count();
    writeln!(
        out,
        "{} orphaned stack(s): {deleted} deleted, {} left; {} owned; {} with a key Elbow does not recognise (kept)",
        report.orphans.len(),
        report.left().count(),
        report.owned,
        report.unrecognised.len(),
    )?;
    if settings.mode == SweepMode::Report && report.orphans.iter().any(|o| o.action == OrphanAction::Reported) {
        writeln!(out, "run again with --delete to delete the stacks marked reported")?;
    }
    Ok(())
}

/// `42s`, `12m`, `3h2m`, `5d3h`.
fn short_duration(duration: Duration) -> String {
    let s = duration.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use elbow_deploy::sweep::{Orphan, StackResources};
    use elbow_model::StackId;

    use super::*;

    #[test]
    fn ages_read_at_a_glance() {
        let cases = [(42, "42s"), (720, "12m"), (3 * 3600 + 120, "3h2m"), (5 * 86400 + 3 * 3600, "5d3h")];
        for (seconds, text) in cases {
            assert_eq!(short_duration(Duration::from_secs(seconds)), text);
        }
    }

    #[test]
    fn the_report_names_each_orphan_and_what_to_do_next() {
        let report = SweepReport {
            orphans: vec![Orphan {
                stack: StackId::new("shop/web"),
                resources: StackResources {
                    load_balancers: vec!["k8s-shop-web-0a1b2c3d4e".into()],
                    ..Default::default()
                },
                age: Duration::from_secs(7200),
                newly_found: true,
                action: OrphanAction::Reported,
            }],
            owned: 3,
            unrecognised: vec![],
        };
        let mut out = Vec::new();
        let settings = SweepSettings { mode: SweepMode::Report, grace: Duration::from_secs(3600) };
        print_report(&report, &settings, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "STACK     ACTION        AGE  RESOURCES\n\
             shop/web  reported     2h0m  1 load balancer (k8s-shop-web-0a1b2c3d4e)\n\
             1 orphaned stack(s): 0 deleted, 1 left; 3 owned; 0 with a key Elbow does not recognise (kept)\n\
             run again with --delete to delete the stacks marked reported\n"
        );
    }
}
