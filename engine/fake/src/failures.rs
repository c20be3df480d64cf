//! Injected failures: which request fails, how, and whether it took effect first.

use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudError, CloudErrorKind};

/// One failure rule. Built with [`Failure::on`] / [`Failure::any`] and the chained setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The action to fail; `None` matches every action.
    pub api: Option<Api>,
    /// Match only actions that change something (to simulate a crash between two changes).
    pub only_mutating: bool,
    /// Let this many matching requests through first.
    pub skip: u32,
    /// Then fail this many (`u32::MAX`: for ever).
    pub times: u32,
    pub kind: CloudErrorKind,
    /// The request takes effect and the caller still sees the error: a timeout whose request
    /// landed, the hardest case for idempotency.
    pub after_apply: bool,
}

impl Failure {
    /// Fails the next request of `api` once.
    pub fn on(api: Api, kind: CloudErrorKind) -> Self {
        Self { api: Some(api), only_mutating: false, skip: 0, times: 1, kind, after_apply: false }
    }

    /// Fails the next request of any action once.
    pub fn any(kind: CloudErrorKind) -> Self {
        Self { api: None, only_mutating: false, skip: 0, times: 1, kind, after_apply: false }
    }

    pub fn mutating_only(mut self) -> Self {
        self.only_mutating = true;
        self
    }

    pub fn after(mut self, skip: u32) -> Self {
        self.skip = skip;
        self
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    pub fn always(self) -> Self {
        self.times(u32::MAX)
    }

    pub fn landed(mut self) -> Self {
        self.after_apply = true;
        self
    }

    fn matches(&self, api: Api) -> bool {
        self.api.is_none_or(|wanted| wanted == api) && (!self.only_mutating || api.is_mutating())
    }

    pub(crate) fn error(&self, api: Api) -> CloudError {
        let code = match self.kind {
            CloudErrorKind::Throttled => "Throttling",
            CloudErrorKind::ServerError => "InternalFailure",
            CloudErrorKind::Timeout => "",
            CloudErrorKind::NotFound => "NotFound",
            CloudErrorKind::Duplicate => "Duplicate",
            CloudErrorKind::InUse => "ResourceInUse",
            CloudErrorKind::LimitExceeded => "LimitExceeded",
            CloudErrorKind::InvalidRequest => "ValidationError",
            CloudErrorKind::AccessDenied => "AccessDenied",
            CloudErrorKind::Other => "Unknown",
        };
        CloudError::new(api, self.kind, code, "injected failure")
    }
}

/// The active rules, consulted once per request.
#[derive(Debug, Default)]
pub(crate) struct Failures {
    rules: Vec<Failure>,
}

impl Failures {
    pub(crate) fn add(&mut self, failure: Failure) {
        self.rules.push(failure);
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// The rule that fails this request of `api`, if any. Every matching rule counts the request
    /// against its `skip`; the first one with nothing left to skip fires.
    pub(crate) fn next(&mut self, api: Api) -> Option<Failure> {
        let mut fired = None;
        for rule in self.rules.iter_mut().filter(|rule| rule.matches(api)) {
            if rule.skip > 0 {
                rule.skip -= 1;
            } else if fired.is_none() && rule.times > 0 {
                if rule.times != u32::MAX {
                    rule.times -= 1;
                }
                fired = Some(rule.clone());
            }
        }
        self.rules.retain(|rule| rule.times > 0);
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_then_fails_the_given_number_of_times() {
        let mut failures = Failures::default();
        failures.add(Failure::on(Api::CreateListener, CloudErrorKind::Throttled).after(1).times(2));
        let fired: Vec<bool> = (0..5).map(|_| failures.next(Api::CreateListener).is_some()).collect();
        assert_eq!(fired, [false, true, true, false, false]);
    }

    #[test]
    fn other_actions_are_not_affected() {
        let mut failures = Failures::default();
        failures.add(Failure::on(Api::CreateListener, CloudErrorKind::Throttled));
        assert!(failures.next(Api::CreateLoadBalancer).is_none());
        assert!(failures.next(Api::CreateListener).is_some());
    }

    #[test]
    fn mutating_only_rules_let_reads_through_and_count_only_changes() {
        let mut failures = Failures::default();
        failures.add(Failure::any(CloudErrorKind::ServerError).mutating_only().after(1));
        assert!(failures.next(Api::DescribeTags).is_none());
        assert!(failures.next(Api::CreateTargetGroup).is_none(), "first change is skipped");
        assert!(failures.next(Api::DescribeListeners).is_none());
        assert!(failures.next(Api::CreateLoadBalancer).is_some());
    }

    #[test]
    fn always_never_runs_out() {
        let mut failures = Failures::default();
        failures.add(Failure::any(CloudErrorKind::Throttled).always());
        assert!((0..100).all(|_| failures.next(Api::DescribeTags).is_some()));
    }
}
