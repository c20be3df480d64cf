//! How a failing watch is reported: once when it starts failing and once when it recovers, not
//! on every retry. A resource the API server does not serve (Elbow's CRD not applied) is named
//! with the file that defines it, since that is the fix.

use kube::runtime::watcher;

/// The CRD manifest of each Elbow kind, as shipped in the repository and the chart.
fn crd_file(kind: &str) -> Option<&'static str> {
    match kind {
        "IngressClassParams" => Some("crds/ingressclassparams.yaml"),
        "TargetGroupBinding" => Some("crds/targetgroupbindings.yaml"),
        _ => None,
    }
}

/// One watch's failure streak.
#[derive(Debug, Default)]
pub struct WatchHealth {
    failing: bool,
}

impl WatchHealth {
    /// The line to log for this failure, or `None` while the streak it belongs to was reported.
    pub fn failed(&mut self, kind: &str, error: &watcher::Error) -> Option<String> {
        if std::mem::replace(&mut self.failing, true) {
            return None;
        }
        let not_served = matches!(
            error,
            watcher::Error::InitialListFailed(kube::Error::Api(status))
                | watcher::Error::WatchStartFailed(kube::Error::Api(status))
                if status.is_not_found()
        );
        Some(match (not_served, crd_file(kind)) {
            (true, Some(file)) => format!(
                "the API server does not serve {kind}: apply its CustomResourceDefinition ({file}, `kubectl apply -f {file}`); retrying quietly until it is there"
            ),
            _ => format!("watching {kind} failed: {error}; retrying quietly until it works again"),
        })
    }

    /// Whether this success ends a failure streak (worth one line saying so).
    pub fn succeeded(&mut self) -> bool {
        std::mem::replace(&mut self.failing, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found() -> watcher::Error {
        let status =
            kube::core::Status::failure("the server could not find the requested resource", "NotFound").with_code(404);
        watcher::Error::InitialListFailed(kube::Error::Api(Box::new(status)))
    }

    #[test]
    fn a_missing_crd_is_reported_once_per_streak_naming_its_file() {
        let mut health = WatchHealth::default();
        let first = health.failed("IngressClassParams", &not_found()).expect("the first failure is reported");
        assert!(first.contains("kubectl apply -f crds/ingressclassparams.yaml"), "{first}");
        assert_eq!(health.failed("IngressClassParams", &not_found()), None, "retries are quiet");
        assert_eq!(health.failed("IngressClassParams", &not_found()), None);
        assert!(health.succeeded(), "the recovery is worth a line");
        assert!(!health.succeeded(), "later successes are not");
        assert!(health.failed("IngressClassParams", &not_found()).is_some(), "a new streak is reported again");
    }

    #[test]
    fn other_failures_say_what_failed() {
        let mut health = WatchHealth::default();
        let line = health.failed("IngressClass", &not_found()).expect("reported");
        assert!(line.starts_with("watching IngressClass failed"), "{line}");
    }
}
