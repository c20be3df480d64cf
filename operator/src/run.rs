//! `elbow run`: the production entry point. Builds the Kubernetes client (in-cluster or
//! kubeconfig), the AWS client (standard chain, optional endpoint) behind the rate limits and
//! retries, and runs the controllers until SIGINT or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use elbow_aws::{AwsSettings, SdkCloud};
use elbow_cloud::resilient::{RateLimits, Resilient, RetryPolicy};
use elbow_deploy::DeploySettings;
use tracing::info;

use crate::config::BuildArgs;
use crate::runtime::{OperatorSettings, run_controllers};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    /// The cluster's VPC: where security groups are created and subnets discovered.
    #[arg(long, env = "ELBOW_VPC_ID")]
    pub vpc_id: String,

    /// AWS region; default from the standard chain (AWS_REGION, profile, instance metadata).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,

    /// An AWS-compatible endpoint (LocalStack, moto) instead of AWS.
    #[arg(long = "aws-endpoint", env = "AWS_ENDPOINT_URL")]
    pub aws_endpoint: Option<String>,

    /// Reconciles running at once.
    /// The IngressClass `spec.controller` value Elbow serves.
    #[arg(long, env = "ELBOW_INGRESS_CONTROLLER", default_value = elbow_model::build::ingress::DEFAULT_CONTROLLER)]
    pub ingress_controller: String,

    #[arg(long, env = "ELBOW_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,

    /// How long known cloud state is trusted before a full comparison (e.g. 30s, 10m, 1h).
    #[arg(long, env = "ELBOW_DRIFT_PERIOD", default_value = "10m", value_parser = parse_duration)]
    pub drift_period: Duration,

    /// How often every Service is looked at again (cheap while nothing changed).
    #[arg(long, env = "ELBOW_RESYNC_PERIOD", default_value = "5m", value_parser = parse_duration)]
    pub resync_period: Duration,

    /// How long subnets and instances read from EC2 are trusted.
    #[arg(long, env = "ELBOW_INVENTORY_TTL", default_value = "5m", value_parser = parse_duration)]
    pub inventory_ttl: Duration,

    /// Client-side rate limits per AWS API family (the AWS Load Balancer Controller's defaults).
    /// Turn off only against an endpoint without limits.
    #[arg(long, env = "ELBOW_CLIENT_RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set)]
    pub client_rate_limits: bool,

    /// This replica's name in events (the pod name in a cluster).
    #[arg(long, env = "POD_NAME")]
    pub instance: Option<String>,

    /// Log format.
    #[arg(long, env = "ELBOW_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    elbow_aws::install_crypto_provider();
    let client = kube::Client::try_default().await.context("failed to build a Kubernetes client")?;
    let sdk = SdkCloud::new(&AwsSettings { region: args.region.clone(), endpoint: args.aws_endpoint.clone() }).await;
    let limits = if args.client_rate_limits { RateLimits::aws_defaults() } else { RateLimits::unlimited() };
    let cloud = Arc::new(Resilient::new(sdk, limits, RetryPolicy::default()));
    let build = args.build.to_config();
    info!(cluster = %build.cluster_name, vpc = %args.vpc_id, "starting elbow");
    let settings = OperatorSettings {
        ingress_controller_name: args.ingress_controller.clone(),
        deploy: DeploySettings {
            cluster_name: build.cluster_name.clone(),
            vpc_id: args.vpc_id.clone(),
            drift_period: args.drift_period,
        },
        build,
        vpc_id: args.vpc_id,
        concurrency: args.concurrency,
        resync_period: args.resync_period,
        inventory_ttl: args.inventory_ttl,
        instance: args.instance,
    };
    run_controllers(client, cloud, settings, shutdown_signal()).await;
    Ok(())
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // An error only means a subscriber is installed already (tests start several operators).
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// `30s`, `10m`, `1h`, or plain seconds.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (number, unit) = value.split_at(value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len()));
    let n: u64 = number.parse().map_err(|_| format!("expected a duration like 30s, 10m or 1h, got {value:?}"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("expected a duration like 30s, 10m or 1h, got {value:?}")),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kubernetes_flags() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
