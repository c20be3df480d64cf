//! AWS calls counted by the fake cloud over one measurement window.

use std::collections::BTreeMap;

use elbow_cloud::Api;
use elbow_fake::FakeCloud;

#[derive(Debug, Clone, Default)]
pub struct Calls(BTreeMap<Api, u64>);

impl Calls {
    /// The calls counted since the last take, and a fresh count from here on.
    pub fn take(cloud: &FakeCloud) -> Self {
        let counts = cloud.counter().snapshot();
        cloud.counter().reset();
        Self(counts)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn mutating(&self) -> u64 {
        self.0.iter().filter(|(api, _)| api.is_mutating()).map(|(_, n)| n).sum()
    }

    pub fn count(&self, api: Api) -> u64 {
        self.0.get(&api).copied().unwrap_or(0)
    }

    /// The actions called at least once, in the order of [`Api::ALL`].
    pub fn apis(&self) -> impl Iterator<Item = Api> + '_ {
        self.0.keys().copied()
    }

    /// `CreateLoadBalancer 3, DescribeTags 1`, or `none`.
    pub fn listing(&self) -> String {
        if self.0.is_empty() {
            return "none".to_string();
        }
        self.0.iter().map(|(api, n)| format!("{api} {n}")).collect::<Vec<_>>().join(", ")
    }

    pub fn without(&self, api: Api) -> Self {
        let mut rest = self.0.clone();
        rest.remove(&api);
        Self(rest)
    }
}
