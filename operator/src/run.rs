//! `elbow run`: the production entry point. Serves `/metrics`, `/healthz` and `/readyz`, builds
//! the Kubernetes client (in-cluster or kubeconfig) and the AWS client (standard chain, optional
//! endpoint; metered, behind the rate limits and retries), and runs the controllers until SIGINT
//! or SIGTERM: at once, or with `--leader-elect` only while this replica holds the Lease.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use elbow_aws::{AwsSettings, SdkCloud};
use elbow_cloud::Cloud;
use elbow_cloud::resilient::{RateLimits, Resilient, RetryPolicy};
use elbow_deploy::{DeploySettings, Integrations};
use futures::FutureExt;
use tokio::sync::oneshot;
use tracing::{error, info};

use crate::config::BuildArgs;
use crate::exit_codes;
use crate::flag_values;
use crate::leader::{ElectionConfig, Ended, LeaderElection, Timing, holder_identity, run_while_leading};
use crate::metrics::cloud::Metered;
use crate::metrics::{Metrics, MetricsServer, Readiness, ReadyState};
use crate::runtime::{OperatorSettings, identify, run_controllers_signalling_start};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    /// The cluster's VPC: where security groups are created and subnets discovered.
    #[arg(long, env = "ELBOW_VPC_ID", value_parser = flag_values::vpc_id)]
    pub vpc_id: String,

    /// AWS region; default from the standard chain (AWS_REGION, profile, instance metadata).
    #[arg(long, env = "AWS_REGION", value_parser = flag_values::region)]
    pub region: Option<String>,

    /// An AWS-compatible endpoint (LocalStack, moto) instead of AWS.
    #[arg(long = "aws-endpoint", env = "AWS_ENDPOINT_URL", value_parser = flag_values::endpoint)]
    pub aws_endpoint: Option<String>,

    /// The IngressClass `spec.controller` value Elbow serves.
    #[arg(long, env = "ELBOW_INGRESS_CONTROLLER", default_value = elbow_builder::ingress::DEFAULT_CONTROLLER)]
    pub ingress_controller: String,

    /// Reconciles running at once.
    #[arg(long, env = "ELBOW_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,

    /// How long known cloud state is trusted before a full comparison (e.g. 30s, 10m, 1h).
    #[arg(long, env = "ELBOW_DRIFT_PERIOD", default_value = "10m", value_parser = parse_duration)]
    pub drift_period: Duration,

    /// How long after a successful reconcile each Service and Ingress group Elbow serves is
    /// reconciled again (no AWS call while nothing changed, until the drift period has passed).
    /// Objects it does not serve wait for a change; failed reconciles retry with backoff.
    #[arg(long, env = "ELBOW_RESYNC_PERIOD", default_value = "5m", value_parser = parse_duration)]
    pub resync_period: Duration,

    /// How long subnets and instances read from EC2 are trusted.
    #[arg(long, env = "ELBOW_INVENTORY_TTL", default_value = "5m", value_parser = parse_duration)]
    pub inventory_ttl: Duration,

    /// Client-side rate limits per AWS API family (the AWS Load Balancer Controller's defaults).
    /// Turn off only against an endpoint without limits.
    #[arg(long, env = "ELBOW_CLIENT_RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set)]
    pub client_rate_limits: bool,

    /// Associate AWS WAFv2 web ACLs with application load balancers (the wafv2-acl-arn and
    /// wafv2-acl-name annotations). Off: no WAFv2 call is made.
    #[arg(long, env = "ELBOW_ENABLE_WAFV2", default_value_t = true, action = clap::ArgAction::Set)]
    pub enable_wafv2: bool,

    /// Associate AWS WAF Classic (Regional) web ACLs with application load balancers (the
    /// waf-acl-id and web-acl-id annotations). Off: no WAF Classic call is made.
    #[arg(long, env = "ELBOW_ENABLE_WAF", default_value_t = true, action = clap::ArgAction::Set)]
    pub enable_waf: bool,

    /// Protect application load balancers with AWS Shield Advanced (the shield-advanced-protection
    /// annotation). Off: no Shield call is made.
    #[arg(long, env = "ELBOW_ENABLE_SHIELD", default_value_t = true, action = clap::ArgAction::Set)]
    pub enable_shield: bool,

    /// This replica's name in events (the pod name in a cluster).
    #[arg(long, env = "POD_NAME")]
    pub instance: Option<String>,

    /// Log format.
    #[arg(long, env = "ELBOW_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Reconcile only while holding the leader-election Lease: needed with more than one replica.
    /// `--leader-elect` alone means true.
    #[arg(
        long,
        env = "ELBOW_LEADER_ELECT",
        default_value_t = false,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub leader_elect: bool,

    /// Namespace of the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub leader_election_namespace: String,

    /// Name of the leader-election Lease.
    #[arg(long, default_value = "elbow-leader")]
    pub leader_election_lease_name: String,

    /// How long the lease is valid without renewal: a standby takes over this long after the
    /// leader stops renewing (at once when it releases the lease on a clean exit).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,

    /// How long the leader keeps trying to renew before it stops reconciling.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_election_renew_deadline: Duration,

    /// How often the leader renews and a standby tries to take the lease.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    #[arg(long, env = "ELBOW_METRICS_BIND_ADDRESS", default_value = "0.0.0.0:8080")]
    pub metrics_bind_address: SocketAddr,

    #[command(flatten)]
    pub orphan_sweep: crate::sweep::SweepArgs,

    #[command(flatten)]
    pub webhook: crate::webhook::WebhookArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Why `elbow run` ended other than by a signal; each way has its own exit code.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Before the controllers could start.
    #[error(transparent)]
    Startup(#[from] anyhow::Error),
    #[error("lost leadership: {0}; exiting so that a fresh process stands by")]
    LostLeadership(String),
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Startup(_) => exit_codes::CONFIGURATION,
            Self::LostLeadership(_) => exit_codes::LOST_LEADERSHIP,
        }
    }
}

pub async fn run(args: RunArgs) -> Result<(), RunError> {
    init_logging(args.log_format);
    elbow_aws::install_crypto_provider();
    let metrics = Metrics::new();
    let readiness = Readiness::new();
    // First, so that a taken port fails at once and liveness answers while the rest starts.
    let endpoints = MetricsServer::start(args.metrics_bind_address, metrics.clone(), readiness.clone())
        .await
        .with_context(|| format!("failed to serve metrics on {}", args.metrics_bind_address))?;
    info!(address = %endpoints.local_addr(), "serving /metrics, /healthz and /readyz");
    let config = kube::Config::infer().await.context("failed to find a Kubernetes configuration")?;
    // Elbow's user agent, so that audit logs tell its requests apart.
    let client = kube::Client::try_from(identify(config)).context("failed to build a Kubernetes client")?;
    // Every replica, leader or not, serves the webhook; held until `run` returns.
    let _webhook = match args.webhook.enabled {
        true => {
            let settings =
                args.webhook.settings(&args.build.to_config()).with_ingress_controller(&args.ingress_controller);
            Some(crate::webhook::start(client.clone(), settings).await?)
        }
        false => None,
    };
    let election = match args.leader_elect {
        true => Some(
            LeaderElection::new(client.clone(), election_config(&args))
                .map_err(anyhow::Error::msg)
                .context("invalid --leader-election-lease-duration, -renew-deadline or -retry-period")?,
        ),
        false => None,
    };
    let sdk = SdkCloud::new(&AwsSettings { region: args.region.clone(), endpoint: args.aws_endpoint.clone() }).await;
    for problem in sdk.configuration_problems().await {
        error!("start-up check: {problem}");
    }
    let limits = if args.client_rate_limits { RateLimits::aws_defaults() } else { RateLimits::unlimited() };
    let settings = operator_settings(&args, metrics.clone());
    let cluster = settings.build.cluster_name.clone();
    // Metered inside Resilient, around the SDK: each throttled request and each retry is counted
    // and timed as the request it is (see metrics::cloud).
    let metered = Metered::new(sdk, metrics.clone(), &cluster);
    let cloud = Arc::new(Resilient::new(metered, limits, RetryPolicy::default()));
    info!(%cluster, vpc = %args.vpc_id, "starting elbow");
    // In the background: with an unreachable endpoint the checks wait out their retries, and the
    // controllers (and /readyz) must not wait for them.
    tokio::spawn({
        let (cloud, vpc_id) = (cloud.clone(), args.vpc_id.clone());
        async move {
            for problem in crate::preflight::cloud_problems(cloud.as_ref(), &vpc_id).await {
                error!("start-up check: {problem}");
            }
        }
    });
    let shutdown = shutdown_signal().boxed().shared();
    // Not polled, so not started, until this replica leads (or at once without election).
    let controllers = run_controllers_reporting(client, cloud, settings, shutdown.clone(), metrics, readiness.clone());
    let Some(election) = election else {
        controllers.await;
        return Ok(());
    };
    info!(identity = election.identity(), "standing for leader election");
    readiness.set(ReadyState::StandingBy);
    match run_while_leading(election, shutdown, controllers).await {
        Ended::ShutDownWhileStandingBy | Ended::WorkEnded { .. } => Ok(()),
        // The controllers were dropped the moment the lease was lost. Exiting (the pod restarts
        // as a standby) rather than standing by again here: tasks they spawned die with the
        // process, and the next term starts from fresh caches.
        Ended::Lost(loss) => Err(RunError::LostLeadership(loss.to_string())),
    }
}

/// What the controllers run with, from `elbow run`'s flags.
pub fn operator_settings(args: &RunArgs, metrics: Metrics) -> OperatorSettings {
    let build = args.build.to_config();
    OperatorSettings {
        ingress_controller_name: args.ingress_controller.clone(),
        deploy: DeploySettings {
            cluster_name: build.cluster_name.clone(),
            vpc_id: args.vpc_id.clone(),
            drift_period: args.drift_period,
            integrations: Integrations {
                wafv2: args.enable_wafv2,
                waf_classic: args.enable_waf,
                shield: args.enable_shield,
            },
        },
        build,
        vpc_id: args.vpc_id.clone(),
        concurrency: args.concurrency,
        resync_period: args.resync_period,
        inventory_ttl: args.inventory_ttl,
        instance: args.instance.clone(),
        metrics,
        orphan_sweep: args.orphan_sweep.settings(),
    }
}

fn election_config(args: &RunArgs) -> ElectionConfig {
    ElectionConfig {
        namespace: args.leader_election_namespace.clone(),
        lease_name: args.leader_election_lease_name.clone(),
        identity: holder_identity(args.instance.as_deref()),
        timing: Timing {
            lease_duration: args.leader_election_lease_duration,
            renew_deadline: args.leader_election_renew_deadline,
            retry_period: args.leader_election_retry_period,
        },
    }
}

/// [`run_controllers`](crate::runtime::run_controllers) with `/readyz` and the `leader` gauge
/// following it: syncing until the caches are filled, ready once the controllers run.
async fn run_controllers_reporting(
    client: kube::Client,
    cloud: Arc<dyn Cloud>,
    settings: OperatorSettings,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    metrics: Metrics,
    readiness: Readiness,
) {
    metrics.set_leader(true);
    readiness.set(ReadyState::Syncing);
    let (started, on_started) = oneshot::channel();
    let mark_ready = async {
        // An error means the controllers ended before their caches filled.
        if on_started.await.is_ok() {
            readiness.set(ReadyState::Ready);
        }
    };
    tokio::join!(run_controllers_signalling_start(client, cloud, settings, shutdown, started), mark_ready);
    metrics.set_leader(false);
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Standard error, as Kubernetes and systemd expect of a service's log; colour only on a
    // terminal, since escape codes make a collected log line unreadable and ungreppable.
    let stderr = std::io::stderr();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&stderr));
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

    fn parse(extra: &[&str]) -> Result<RunArgs, clap::Error> {
        use clap::FromArgMatches;
        let args = ["run", "--cluster-name=prod", "--vpc-id=vpc-1"].into_iter().chain(extra.iter().copied());
        RunArgs::from_arg_matches(&RunArgs::augment_args(clap::Command::new("run")).try_get_matches_from(args)?)
    }

    #[test]
    fn leader_election_is_off_by_default_and_on_with_the_flag_alone_or_with_a_value() {
        let defaults = parse(&[]).unwrap();
        assert!(!defaults.leader_elect);
        assert_eq!(defaults.leader_election_lease_name, "elbow-leader");
        assert_eq!(defaults.metrics_bind_address, "0.0.0.0:8080".parse().unwrap());
        let timing = election_config(&defaults).timing;
        assert_eq!(timing, Timing::default());
        assert!(parse(&["--leader-elect"]).unwrap().leader_elect);
        assert!(parse(&["--leader-elect=true"]).unwrap().leader_elect);
        assert!(!parse(&["--leader-elect=false"]).unwrap().leader_elect);
        assert!(parse(&["--leader-elect=maybe"]).is_err());
    }

    #[test]
    fn the_orphan_sweep_reports_hourly_with_an_hour_s_grace_unless_told_otherwise() {
        use elbow_deploy::sweep::SweepMode;
        let defaults = parse(&[]).unwrap().orphan_sweep.settings();
        assert_eq!(defaults.interval, Duration::from_secs(3600));
        assert_eq!(defaults.sweep.mode, SweepMode::Report, "deleting is a choice the user makes");
        assert_eq!(defaults.sweep.grace, Duration::from_secs(3600));
        let set = parse(&["--orphan-sweep-interval=10m", "--orphan-sweep-mode=delete", "--orphan-sweep-grace=2h"])
            .unwrap()
            .orphan_sweep
            .settings();
        assert_eq!(
            (set.interval, set.sweep.mode, set.sweep.grace),
            (Duration::from_secs(600), SweepMode::Delete, Duration::from_secs(7200))
        );
        assert!(parse(&["--orphan-sweep-mode=purge"]).is_err());
    }

    #[test]
    fn the_chart_s_election_and_metrics_flags_are_read() {
        let args = parse(&[
            "--leader-elect=true",
            "--leader-election-namespace=elbow-system",
            "--leader-election-lease-name=elbow",
            "--metrics-bind-address=[::]:9090",
            "--instance=elbow-5f7d-xk2p9",
        ])
        .unwrap();
        let config = election_config(&args);
        assert_eq!((config.namespace.as_str(), config.lease_name.as_str()), ("elbow-system", "elbow"));
        assert!(config.identity.starts_with("elbow-5f7d-xk2p9_"), "{}", config.identity);
        assert_eq!(args.metrics_bind_address, "[::]:9090".parse().unwrap());
    }
}
