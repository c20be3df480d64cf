//! What `/metrics` exports, in the Prometheus text format (the `prometheus-client` crate, the
//! Prometheus project's own Rust client), and the HTTP endpoints that serve it with `/healthz`
//! and `/readyz` ([`server`]).
//!
//! Series (all prefixed `elbow_`):
//! - `reconciles_total{controller, result}` and `reconcile_duration_seconds{controller}`
//! - `reconciles_in_flight{controller}`: kube-runtime does not expose its queue, so this stands in
//!   for queue depth: a value stuck at the concurrency limit means work is waiting.
//! - `aws_api_calls_total{service, api, outcome}` and `aws_api_call_duration_seconds{service, api}`,
//!   recorded by [`cloud::Metered`]
//! - `managed_load_balancers`, from what [`cloud::Metered`] sees of load balancers tagged with the
//!   cluster
//! - `leader`: 1 while this replica holds the leader-election lease (or runs without election)
//! - `cached_objects{kind}`: how many Services and Nodes the operator's caches hold, the main
//!   driver of its memory (docs/operations.md, "Benchmark")
//! - `build_info{version, commit}`: always 1, labelled with what is running
//! - `orphan_resources_found_total{kind}`, `orphan_resources_deleted_total{kind}` and
//!   `orphan_resources{kind}`: what the orphan sweep found (counted once per stack, the first
//!   time this process finds it orphaned), what it deleted, and what the last sweep left in place;
//!   `orphan_sweeps_total{result}` ([`crate::sweep`])
//!
//! And, unprefixed as every Prometheus client names them, the process series of [`process`]:
//! `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//! `process_open_fds`, `process_max_fds`, `process_start_time_seconds`.

pub mod cloud;
mod managed;
pub mod process;
mod reconcile;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use elbow_cloud::{Api, CloudErrorKind};
use elbow_deploy::sweep::{OrphanAction, ResourceKind, SweepReport};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use managed::ManagedLoadBalancers;
pub use reconcile::ReconcileTimer;
pub use server::{MetricsServer, Readiness, ReadyState};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    controller: String,
    result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CloudCallLabels {
    service: &'static str,
    api: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    service: &'static str,
    api: &'static str,
}

/// 5 ms to about 41 s: a no-op reconcile is milliseconds, a first deploy with its waits is tens
/// of seconds.
fn reconcile_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// 5 ms to about 10 s: one AWS request.
fn cloud_call_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The operator's metrics. Cheap to clone: every clone records into the same registry.
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    reconciles: Family<ReconcileLabels, Counter>,
    reconcile_duration: HistogramFamily<ControllerLabels>,
    reconciles_in_flight: Family<ControllerLabels, Gauge>,
    cloud_calls: Family<CloudCallLabels, Counter>,
    cloud_call_duration: HistogramFamily<ApiLabels>,
    managed_load_balancers: Gauge,
    leader: Gauge,
    cached_objects: Family<KindLabels, Gauge>,
    orphans_found: Family<KindLabels, Counter>,
    orphans_deleted: Family<KindLabels, Counter>,
    orphans_left: Family<KindLabels, Gauge>,
    sweeps: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut root = Registry::default();
        root.register_collector(Box::new(process::ProcessCollector));
        let registry = root.sub_registry_with_prefix("elbow");
        let build_info = Family::<BuildLabels, Gauge>::default();
        registry.register("build_info", "Always 1; the labels say which Elbow runs", build_info.clone());
        build_info
            .get_or_create(&BuildLabels { version: crate::version::VERSION, commit: crate::version::COMMIT })
            .set(1);
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        registry.register("reconciles", "Reconciles by controller and result", reconciles.clone());
        let reconcile_duration = HistogramFamily::<ControllerLabels>::new_with_constructor(reconcile_histogram as _);
        registry.register("reconcile_duration_seconds", "How long reconciles took", reconcile_duration.clone());
        let reconciles_in_flight = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "reconciles_in_flight",
            "Reconciles running now (kube-runtime does not expose its queue depth)",
            reconciles_in_flight.clone(),
        );
        let cloud_calls = Family::<CloudCallLabels, Counter>::default();
        registry.register(
            "aws_api_calls",
            "AWS API requests by action and outcome (throttled included); each retry is a request of its own",
            cloud_calls.clone(),
        );
        let cloud_call_duration = HistogramFamily::<ApiLabels>::new_with_constructor(cloud_call_histogram as _);
        registry.register("aws_api_call_duration_seconds", "AWS API request latency", cloud_call_duration.clone());
        let managed_load_balancers = Gauge::default();
        registry.register(
            "managed_load_balancers",
            "Load balancers tagged with this cluster, as last seen by this replica's AWS calls",
            managed_load_balancers.clone(),
        );
        let leader = Gauge::default();
        registry.register("leader", "1 while this replica leads and runs the controllers", leader.clone());
        let cached_objects = Family::<KindLabels, Gauge>::default();
        registry.register("cached_objects", "Objects held in the operator's caches, by kind", cached_objects.clone());
        let orphans_found = Family::<KindLabels, Counter>::default();
        registry.register(
            "orphan_resources_found",
            "Resources of orphaned stacks, counted when the sweep first finds their stack orphaned",
            orphans_found.clone(),
        );
        let orphans_deleted = Family::<KindLabels, Counter>::default();
        registry.register(
            "orphan_resources_deleted",
            "Resources of orphaned stacks the sweep deleted",
            orphans_deleted.clone(),
        );
        let orphans_left = Family::<KindLabels, Gauge>::default();
        registry.register(
            "orphan_resources",
            "Resources of orphaned stacks the last sweep left in place (report mode, grace period, failures)",
            orphans_left.clone(),
        );
        let sweeps = Family::<ResultLabels, Counter>::default();
        registry.register("orphan_sweeps", "Orphan sweeps by result", sweeps.clone());
        Self {
            inner: Arc::new(Inner {
                registry: root,
                reconciles,
                reconcile_duration,
                reconciles_in_flight,
                cloud_calls,
                cloud_call_duration,
                managed_load_balancers,
                leader,
                cached_objects,
                orphans_found,
                orphans_deleted,
                orphans_left,
                sweeps,
            }),
        }
    }

    /// One finished reconcile: `result` is e.g. `success` or `error`.
    pub fn record_reconcile(&self, controller: &str, result: &str, duration: Duration) {
        let inner = &self.inner;
        inner.reconciles.get_or_create(&ReconcileLabels { controller: controller.into(), result: result.into() }).inc();
        inner
            .reconcile_duration
            .get_or_create(&ControllerLabels { controller: controller.into() })
            .observe(duration.as_secs_f64());
    }

    /// Starts timing a reconcile and counts it in flight until the timer is finished or dropped.
    pub fn reconcile_started(&self, controller: &str) -> ReconcileTimer {
        ReconcileTimer::start(self.clone(), controller)
    }

    fn in_flight(&self, controller: &str) -> Gauge {
        self.inner.reconciles_in_flight.get_or_create_owned(&ControllerLabels { controller: controller.into() })
    }

    /// One AWS request and how it ended.
    pub fn record_cloud_call(&self, api: Api, outcome: Result<(), CloudErrorKind>, duration: Duration) {
        let (service, name) = (api.service(), api.name());
        let outcome = outcome.err().map_or("success", outcome_label);
        self.inner.cloud_calls.get_or_create(&CloudCallLabels { service, api: name, outcome }).inc();
        self.inner.cloud_call_duration.get_or_create(&ApiLabels { service, api: name }).observe(duration.as_secs_f64());
    }

    pub fn set_leader(&self, leading: bool) {
        self.inner.leader.set(i64::from(leading));
    }

    /// The `cached_objects` gauge of one kind (`Service`, `Node`), for its watch to keep.
    pub fn cached_objects(&self, kind: &'static str) -> Gauge {
        self.inner.cached_objects.get_or_create_owned(&KindLabels { kind })
    }

    /// One orphan sweep's report.
    pub fn record_sweep(&self, report: &SweepReport) {
        let inner = &self.inner;
        inner.sweeps.get_or_create(&ResultLabels { result: "success" }).inc();
        for kind in ResourceKind::ALL {
            let labels = KindLabels { kind: kind.as_str() };
            let count = |orphans: &mut dyn Iterator<Item = &elbow_deploy::sweep::Orphan>| -> u64 {
                orphans.map(|o| o.resources.count(kind) as u64).sum()
            };
            inner
                .orphans_found
                .get_or_create(&labels)
                .inc_by(count(&mut report.orphans.iter().filter(|o| o.newly_found)));
            let deleted =
                count(&mut report.orphans.iter().filter(|o| matches!(o.action, OrphanAction::Deleted { .. })));
            inner.orphans_deleted.get_or_create(&labels).inc_by(deleted);
            inner.orphans_left.get_or_create(&labels).set(i64::try_from(count(&mut report.left())).unwrap_or(i64::MAX));
        }
    }

    /// An orphan sweep that could not list the cloud or read the owners.
    pub fn record_sweep_failed(&self) {
        self.inner.sweeps.get_or_create(&ResultLabels { result: "error" }).inc();
    }

    /// A tracker of this cluster's load balancers that keeps the `managed_load_balancers` gauge.
    pub fn managed_load_balancers(&self, cluster_name: &str) -> ManagedLoadBalancers {
        ManagedLoadBalancers::new(cluster_name, self.inner.managed_load_balancers.clone())
    }

    /// Everything, in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry);
        text
    }
}

/// The `outcome` label of a failed call. Exhaustive on purpose: a new error kind must choose a name.
fn outcome_label(kind: CloudErrorKind) -> &'static str {
    match kind {
        CloudErrorKind::Throttled => "throttled",
        CloudErrorKind::ServerError => "server_error",
        CloudErrorKind::Timeout => "timeout",
        CloudErrorKind::NotFound => "not_found",
        CloudErrorKind::Duplicate => "duplicate",
        CloudErrorKind::InUse => "in_use",
        CloudErrorKind::LimitExceeded => "limit_exceeded",
        CloudErrorKind::InvalidRequest => "invalid_request",
        CloudErrorKind::AccessDenied => "access_denied",
        CloudErrorKind::Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciles_are_counted_by_controller_and_result_and_timed() {
        let metrics = Metrics::new();
        metrics.record_reconcile("service", "success", Duration::from_millis(20));
        metrics.record_reconcile("service", "success", Duration::from_millis(30));
        metrics.record_reconcile("ingress", "error", Duration::from_secs(3));
        let text = metrics.encode();
        assert!(text.contains("elbow_reconciles_total{controller=\"service\",result=\"success\"} 2\n"), "{text}");
        assert!(text.contains("elbow_reconciles_total{controller=\"ingress\",result=\"error\"} 1\n"), "{text}");
        assert!(text.contains("elbow_reconcile_duration_seconds_count{controller=\"service\"} 2\n"), "{text}");
        assert!(text.contains("elbow_reconcile_duration_seconds_sum{controller=\"ingress\"} 3.0\n"), "{text}");
    }

    #[test]
    fn cloud_calls_carry_service_action_and_outcome() {
        let metrics = Metrics::new();
        metrics.record_cloud_call(Api::CreateLoadBalancer, Err(CloudErrorKind::Throttled), Duration::from_millis(5));
        metrics.record_cloud_call(Api::CreateLoadBalancer, Ok(()), Duration::from_millis(5));
        metrics.record_cloud_call(Api::DescribeSubnets, Ok(()), Duration::from_millis(5));
        let text = metrics.encode();
        let throttled = "elbow_aws_api_calls_total{service=\"elasticloadbalancing\",api=\"CreateLoadBalancer\",outcome=\"throttled\"} 1\n";
        assert!(text.contains(throttled), "{text}");
        assert!(text.contains("api=\"DescribeSubnets\",outcome=\"success\"} 1\n"), "{text}");
        assert!(text.contains("elbow_aws_api_call_duration_seconds_count{service=\"ec2\",api=\"DescribeSubnets\"} 1"));
    }

    #[test]
    fn orphans_are_counted_once_when_found_and_again_when_deleted() {
        use elbow_deploy::sweep::{Orphan, StackResources};
        let orphan = |newly_found, action| Orphan {
            stack: elbow_model::StackId::new("shop/web"),
            resources: StackResources {
                load_balancers: vec!["lb".into()],
                target_groups: vec!["tg-1".into(), "tg-2".into()],
                ..Default::default()
            },
            age: Duration::from_secs(7200),
            newly_found,
            action,
        };
        let metrics = Metrics::new();
        metrics
            .record_sweep(&SweepReport { orphans: vec![orphan(true, OrphanAction::Reported)], ..Default::default() });
        metrics
            .record_sweep(&SweepReport { orphans: vec![orphan(false, OrphanAction::Reported)], ..Default::default() });
        let text = metrics.encode();
        assert!(text.contains("elbow_orphan_resources_found_total{kind=\"target_group\"} 2\n"), "{text}");
        assert!(text.contains("elbow_orphan_resources{kind=\"load_balancer\"} 1\n"), "{text}");
        assert!(text.contains("elbow_orphan_resources_deleted_total{kind=\"load_balancer\"} 0\n"), "{text}");
        let deleted = OrphanAction::Deleted { changes: Default::default() };
        metrics.record_sweep(&SweepReport { orphans: vec![orphan(false, deleted)], ..Default::default() });
        metrics.record_sweep_failed();
        let text = metrics.encode();
        assert!(text.contains("elbow_orphan_resources_deleted_total{kind=\"target_group\"} 2\n"), "{text}");
        assert!(text.contains("elbow_orphan_resources{kind=\"load_balancer\"} 0\n"), "{text}");
        assert!(text.contains("elbow_orphan_resources_found_total{kind=\"target_group\"} 2\n"), "found once: {text}");
        assert!(text.contains("elbow_orphan_sweeps_total{result=\"success\"} 3\n"), "{text}");
        assert!(text.contains("elbow_orphan_sweeps_total{result=\"error\"} 1\n"), "{text}");
    }

    #[test]
    fn gauges_are_served_from_the_start_and_labelled_series_once_recorded() {
        let metrics = Metrics::new();
        let text = metrics.encode();
        assert!(text.contains("elbow_leader 0\n") && text.contains("elbow_managed_load_balancers 0\n"), "{text}");
        let build_info = format!(
            "elbow_build_info{{version=\"{}\",commit=\"{}\"}} 1\n",
            crate::version::VERSION,
            crate::version::COMMIT
        );
        assert!(text.contains(&build_info), "{text}");
        #[cfg(target_os = "linux")]
        for series in ["process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds "] {
            assert!(text.lines().any(|line| line.starts_with(series)), "{series} in {text}");
        }
        // The client leaves out families without a single series; a scrape before the first
        // reconcile or AWS call has none of them, which queries treat as no data.
        assert!(!text.contains("elbow_aws_api_calls_total"), "{text}");
        metrics.set_leader(true);
        metrics.record_cloud_call(Api::DescribeTags, Ok(()), Duration::from_millis(1));
        let text = metrics.encode();
        assert!(text.contains("elbow_leader 1\n"), "{text}");
        assert!(text.contains("# TYPE elbow_aws_api_calls_total counter\n"), "{text}");
    }
}
