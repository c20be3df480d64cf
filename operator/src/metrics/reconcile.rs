//! Timing one reconcile from the controller's side: started, then finished with a result, or
//! dropped (the reconcile future was cancelled, e.g. on loss of leadership).

use std::time::Instant;

use prometheus_client::metrics::gauge::Gauge;

use super::Metrics;

/// Result label of a reconcile whose future was dropped before it finished.
pub const CANCELLED: &str = "cancelled";

/// Counts its reconcile in flight while alive; [`ReconcileTimer::finish`] records the result and
/// duration. Dropping it unfinished records the reconcile as `cancelled`.
#[derive(Debug)]
pub struct ReconcileTimer {
    metrics: Metrics,
    controller: String,
    started: Instant,
    in_flight: Gauge,
    finished: bool,
}

impl ReconcileTimer {
    pub(super) fn start(metrics: Metrics, controller: &str) -> Self {
        let in_flight = metrics.in_flight(controller);
        in_flight.inc();
        Self { metrics, controller: controller.to_string(), started: Instant::now(), in_flight, finished: false }
    }

    pub fn finish(mut self, result: &str) {
        self.record(result);
    }

    fn record(&mut self, result: &str) {
        if !self.finished {
            self.finished = true;
            self.in_flight.dec();
            self.metrics.record_reconcile(&self.controller, result, self.started.elapsed());
        }
    }
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.record(CANCELLED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_counts_running_reconciles_and_a_drop_counts_as_cancelled() {
        let metrics = Metrics::new();
        let first = metrics.reconcile_started("service");
        let second = metrics.reconcile_started("service");
        assert!(metrics.encode().contains("elbow_reconciles_in_flight{controller=\"service\"} 2\n"));
        first.finish("success");
        drop(second);
        let text = metrics.encode();
        assert!(text.contains("elbow_reconciles_in_flight{controller=\"service\"} 0\n"), "{text}");
        assert!(text.contains("elbow_reconciles_total{controller=\"service\",result=\"success\"} 1\n"), "{text}");
        assert!(text.contains("elbow_reconciles_total{controller=\"service\",result=\"cancelled\"} 1\n"), "{text}");
    }
}
