//! The Deployment controller's arithmetic, as kube-controller-manager does it (its
//! `deployment/util` and `rolling.go`): how far `maxSurge` and `maxUnavailable` let a rolling
//! update go, how many replicas the new ReplicaSet gets and how many the old ones give up, how a
//! change of `spec.replicas` is shared out among ReplicaSets mid-rollout, and the counts of the
//! Deployment's status. Pure: `deployments.rs` reads the objects and applies the answers.
//!
//! The old ReplicaSets give up pods only as the new one's pods become available, so a pod that
//! is not Ready (a readiness gate not yet True) holds the rollout, as on a cluster.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Annotations the Deployment controller keeps on each ReplicaSet it scales.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const REVISION: &str = "deployment.kubernetes.io/revision";

/// What a Deployment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub replicas: i32,
    pub rolling: bool,
    /// Resolved against `replicas`: pods above it allowed during a rolling update.
    pub max_surge: i32,
    /// Resolved against `replicas`: pods below it allowed during a rolling update.
    pub max_unavailable: i32,
}

impl Spec {
    pub fn of(deployment: &Deployment) -> Spec {
        let spec = deployment.spec.clone().unwrap_or_default();
        let replicas = spec.replicas.unwrap_or(1);
        let strategy = spec.strategy.unwrap_or_default();
        let rolling = strategy.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate";
        let update = strategy.rolling_update.unwrap_or_default();
        let quarter = IntOrString::String("25%".into());
        let (surge, unavailable) = fenceposts(
            update.max_surge.as_ref().unwrap_or(&quarter),
            update.max_unavailable.as_ref().unwrap_or(&quarter),
            replicas,
        );
        Spec {
            replicas,
            rolling,
            max_surge: if rolling { surge } else { 0 },
            max_unavailable: if rolling && replicas > 0 { unavailable.min(replicas) } else { 0 },
        }
    }
}

/// `ResolveFenceposts`: surge rounds up, unavailability down, and both 0 would stall a rollout,
/// so unavailability becomes 1.
pub fn fenceposts(surge: &IntOrString, unavailable: &IntOrString, replicas: i32) -> (i32, i32) {
    let surge = scaled(surge, replicas, true);
    let unavailable = scaled(unavailable, replicas, false);
    if surge == 0 && unavailable == 0 { (0, 1) } else { (surge, unavailable) }
}

/// A count, or a percentage of `total` rounded up or down.
fn scaled(value: &IntOrString, total: i32, round_up: bool) -> i32 {
    match value {
        IntOrString::Int(n) => *n,
        IntOrString::String(text) => {
            let percent: f64 = text.trim_end_matches('%').parse().unwrap_or(0.0);
            let exact = percent * f64::from(total) / 100.0;
            (if round_up { exact.ceil() } else { exact.floor() }) as i32
        }
    }
}

/// What the controller needs of one ReplicaSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub name: String,
    /// `spec.replicas`
    pub replicas: i32,
    /// `status.replicas` (active pods), `readyReplicas`, `availableReplicas`, `terminatingReplicas`.
    pub current: i32,
    pub ready: i32,
    pub available: i32,
    pub terminating: i32,
    /// `creationTimestamp` as written (RFC 3339 in UTC, so it sorts as time does).
    pub created: String,
    pub desired_annotation: Option<i32>,
    pub max_annotation: Option<i32>,
}

impl Set {
    pub fn of(rs: &ReplicaSet) -> Set {
        let status = rs.status.clone().unwrap_or_default();
        let annotation =
            |key: &str| rs.metadata.annotations.as_ref().and_then(|a| a.get(key)).and_then(|v| v.parse::<i32>().ok());
        Set {
            name: rs.metadata.name.clone().unwrap_or_default(),
            replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
            current: status.replicas,
            ready: status.ready_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
            terminating: status.terminating_replicas.unwrap_or(0),
            created: rs
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| format!("{:020}", t.0.as_second()))
                .unwrap_or_default(),
            desired_annotation: annotation(DESIRED_REPLICAS),
            max_annotation: annotation(MAX_REPLICAS),
        }
    }
}

/// A ReplicaSet to bring to a number of replicas.
pub type Scaling = (String, i32);

fn total(sets: &[&Set]) -> i32 {
    sets.iter().map(|s| s.replicas).sum()
}

/// `ReplicaSetsByCreationTimestamp`: oldest first, then by name.
fn oldest_first(sets: &mut [&Set]) {
    sets.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
}

/// The replicas of the new ReplicaSet at this step of a rolling update (`NewRSNewReplicas`): up to
/// `replicas + maxSurge` pods in all, never above `replicas` for the new set itself.
pub fn new_replicas(spec: &Spec, all: &[&Set], new_current: i32) -> i32 {
    if !spec.rolling {
        return spec.replicas;
    }
    let most = spec.replicas + spec.max_surge;
    let pods = total(all);
    if pods >= most {
        return new_current;
    }
    new_current + (most - pods).min(spec.replicas - new_current)
}

/// `reconcileNewReplicaSet`: the new ReplicaSet's next size, if it changes.
pub fn scale_new(spec: &Spec, all: &[&Set], new: &Set) -> Option<i32> {
    let next = match new.replicas.cmp(&spec.replicas) {
        std::cmp::Ordering::Equal => return None,
        std::cmp::Ordering::Greater => spec.replicas,
        std::cmp::Ordering::Less => new_replicas(spec, all, new.replicas),
    };
    (next != new.replicas).then_some(next)
}

/// `reconcileOldReplicaSets`: how far the old ReplicaSets shrink at this step, keeping at least
/// `replicas - maxUnavailable` pods available, counting the new set's unavailable pods against
/// that; unhealthy old pods go first.
pub fn scale_down_old(spec: &Spec, new: Option<&Set>, old: &[&Set]) -> Vec<Scaling> {
    if total(old) == 0 {
        return Vec::new();
    }
    let mut old: Vec<Set> = old.iter().map(|s| (*s).clone()).collect();
    let all_pods = total(&old.iter().collect::<Vec<_>>()) + new.map_or(0, |n| n.replicas);
    let min_available = spec.replicas - spec.max_unavailable;
    let new_unavailable = new.map_or(0, |n| n.replicas - n.available);
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    let mut changed: Vec<Scaling> = Vec::new();
    let record = |set: &mut Set, replicas: i32, changed: &mut Vec<Scaling>| {
        set.replicas = replicas;
        changed.retain(|(name, _)| *name != set.name);
        changed.push((set.name.clone(), replicas));
    };

    // cleanupUnhealthyReplicas: scale down old pods that are not available, oldest sets first.
    let mut order: Vec<usize> = (0..old.len()).collect();
    order.sort_by(|a, b| (&old[*a].created, &old[*a].name).cmp(&(&old[*b].created, &old[*b].name)));
    let mut cleaned = 0;
    for &i in &order {
        if cleaned >= max_scaled_down {
            break;
        }
        let set = &old[i];
        if set.replicas == 0 || set.available == set.replicas {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(set.replicas - set.available);
        let replicas = set.replicas - down;
        cleaned += down;
        record(&mut old[i], replicas, &mut changed);
    }

    // scaleDownOldReplicaSetsForRollingUpdate: then available old pods, down to the minimum.
    let available: i32 = old.iter().map(|s| s.available).sum::<i32>() + new.map_or(0, |n| n.available);
    if available > min_available {
        let to_scale = available - min_available;
        let mut scaled = 0;
        for &i in &order {
            if scaled >= to_scale {
                break;
            }
            if old[i].replicas == 0 {
                continue;
            }
            let down = old[i].replicas.min(to_scale - scaled);
            let replicas = old[i].replicas - down;
            scaled += down;
            record(&mut old[i], replicas, &mut changed);
        }
    }
    changed
}

/// Whether `spec.replicas` changed since the active ReplicaSets were last scaled (their
/// desired-replicas annotation differs): then the replicas are shared out before anything else.
pub fn is_scaling_event(spec: &Spec, sets: &[&Set]) -> bool {
    sets.iter().filter(|s| s.replicas > 0).any(|s| s.desired_annotation.is_some_and(|d| d != spec.replicas))
}

/// The controller's `scale`: one active ReplicaSet (or none: the newest) takes all the replicas;
/// a saturated new set lets the old ones go; otherwise, mid rolling update, every active set
/// grows or shrinks in proportion to its size, the largest taking what rounding leaves.
/// `previous_replicas` is the Deployment's `status.replicas`, for sets without annotations.
pub fn scale(spec: &Spec, new: Option<&Set>, old: &[&Set], previous_replicas: i32) -> Vec<Scaling> {
    let active: Vec<&Set> = new.into_iter().chain(old.iter().copied()).filter(|s| s.replicas > 0).collect();
    let target = match active.as_slice() {
        [] => new.or_else(|| {
            let mut newest: Vec<&Set> = old.to_vec();
            oldest_first(&mut newest);
            newest.last().copied()
        }),
        [only] => Some(*only),
        _ => None,
    };
    if let Some(target) = target {
        return if target.replicas == spec.replicas { Vec::new() } else { vec![(target.name.clone(), spec.replicas)] };
    }
    if let Some(new) = new
        && new.desired_annotation == Some(spec.replicas)
        && new.available == spec.replicas
    {
        return active.iter().filter(|s| s.name != new.name).map(|s| (s.name.clone(), 0)).collect();
    }
    if !spec.rolling {
        return Vec::new();
    }
    let allowed = if spec.replicas > 0 { spec.replicas + spec.max_surge } else { 0 };
    let to_add = allowed - total(&active);
    let mut sets = active;
    // Larger sets first; among equals the newer first when growing, the older when shrinking
    // (ReplicaSetsBySizeNewer, ReplicaSetsBySizeOlder).
    sets.sort_by(|a, b| {
        b.replicas.cmp(&a.replicas).then_with(|| {
            if to_add > 0 {
                (&b.created, &b.name).cmp(&(&a.created, &a.name))
            } else {
                (&a.created, &a.name).cmp(&(&b.created, &b.name))
            }
        })
    });
    let mut added = 0;
    let mut sizes: Vec<i32> = Vec::with_capacity(sets.len());
    for set in &sets {
        let share = if to_add == 0 { 0 } else { proportion(set, spec, to_add, added, previous_replicas) };
        sizes.push(set.replicas + share);
        added += share;
    }
    if let Some(first) = sizes.first_mut()
        && to_add != 0
    {
        *first = (*first + to_add - added).max(0);
    }
    sets.iter()
        .zip(sizes)
        .filter(|(set, size)| set.replicas != *size)
        .map(|(set, size)| (set.name.clone(), size))
        .collect()
}

/// `GetProportion`: a set's share of the replicas added (or removed), from the size it was last
/// scaled for (its max-replicas annotation), capped by what is left to share.
fn proportion(set: &Set, spec: &Spec, to_add: i32, added: i32, previous_replicas: i32) -> i32 {
    if set.replicas == 0 || to_add == added {
        return 0;
    }
    let fraction = if spec.replicas == 0 {
        -set.replicas
    } else {
        let allowed = spec.replicas + spec.max_surge;
        let annotated = set.max_annotation.unwrap_or(previous_replicas).max(1);
        (f64::from(set.replicas) * f64::from(allowed) / f64::from(annotated)).round() as i32 - set.replicas
    };
    let left = to_add - added;
    if to_add > 0 { fraction.min(left) } else { fraction.max(left) }
}

/// The counts of a Deployment's status, summed over its ReplicaSets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub replicas: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    pub unavailable: i32,
    pub terminating: i32,
}

pub fn counts(new: Option<&Set>, all: &[&Set]) -> Counts {
    let sum = |field: fn(&Set) -> i32| all.iter().map(|s| field(s)).sum::<i32>();
    let available = sum(|s| s.available);
    Counts {
        replicas: sum(|s| s.current),
        updated: new.map_or(0, |n| n.current),
        ready: sum(|s| s.ready),
        available,
        unavailable: (total(all) - available).max(0),
        terminating: sum(|s| s.terminating),
    }
}

/// Every replica updated, none more, all available: the rollout is done.
pub fn is_complete(spec: &Spec, counts: &Counts) -> bool {
    counts.updated == spec.replicas && counts.replicas == spec.replicas && counts.available == spec.replicas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, replicas: i32, available: i32, created: i64) -> Set {
        Set {
            name: name.into(),
            replicas,
            current: replicas,
            ready: available,
            available,
            terminating: 0,
            created: format!("{created:020}"),
            desired_annotation: None,
            max_annotation: None,
        }
    }

    fn rolling(replicas: i32) -> Spec {
        let quarter = IntOrString::String("25%".into());
        let (max_surge, max_unavailable) = fenceposts(&quarter, &quarter, replicas);
        Spec { replicas, rolling: true, max_surge, max_unavailable: max_unavailable.min(replicas) }
    }

    #[test]
    fn the_default_quarter_rounds_surge_up_and_unavailability_down() {
        let quarter = IntOrString::String("25%".into());
        assert_eq!(fenceposts(&quarter, &quarter, 3), (1, 0));
        assert_eq!(fenceposts(&quarter, &quarter, 10), (3, 2));
        assert_eq!(fenceposts(&IntOrString::Int(0), &IntOrString::String("0%".into()), 5), (0, 1), "never both 0");
        let deployment: Deployment = serde_json::from_value(serde_json::json!({
            "spec": { "replicas": 4, "strategy": { "type": "Recreate" }, "selector": {}, "template": {} }
        }))
        .unwrap();
        let spec = Spec::of(&deployment);
        assert_eq!((spec.rolling, spec.max_surge, spec.max_unavailable), (false, 0, 0));
    }

    /// A rolling update of three replicas, step by step, as the controller and the ReplicaSets'
    /// pods take turns: one surge pod at a time, each old pod let go only once a new one is available.
    #[test]
    fn a_rolling_update_of_three_moves_one_pod_at_a_time_and_waits_for_availability() {
        let spec = rolling(3);
        let old = set("web-old", 3, 3, 1);
        let new = set("web-new", 0, 0, 2);
        let all = [&old, &new];
        assert_eq!(scale_new(&spec, &all, &new), Some(1), "one pod above the three");
        let new = set("web-new", 1, 0, 2);
        assert_eq!(scale_new(&spec, &[&old, &new], &new), None, "four pods: no more surge");
        assert_eq!(scale_down_old(&spec, Some(&new), &[&old]), [], "the new pod is not available: nothing goes");
        let new = set("web-new", 1, 1, 2);
        assert_eq!(scale_down_old(&spec, Some(&new), &[&old]), [("web-old".to_string(), 2)]);
        let old = set("web-old", 2, 2, 1);
        assert_eq!(scale_new(&spec, &[&old, &new], &new), Some(2));
        let new = set("web-new", 3, 3, 2);
        let old = set("web-old", 1, 1, 1);
        assert_eq!(scale_down_old(&spec, Some(&new), &[&old]), [("web-old".to_string(), 0)]);
    }

    #[test]
    fn unhealthy_old_pods_are_scaled_down_first() {
        let spec = rolling(10);
        let old = set("web-old", 10, 6, 1);
        let new = set("web-new", 3, 0, 2);
        // 13 pods, at least 8 available, 3 new unavailable: 2 can go, both unhealthy ones.
        assert_eq!(scale_down_old(&spec, Some(&new), &[&old]), [("web-old".to_string(), 8)]);
    }

    #[test]
    fn scaling_a_single_set_gives_it_everything() {
        let spec = rolling(5);
        let only = Set { desired_annotation: Some(3), ..set("web-a", 3, 3, 1) };
        assert!(is_scaling_event(&spec, &[&only]));
        assert_eq!(scale(&spec, Some(&only), &[], 3), [("web-a".to_string(), 5)]);
        let idle_old = set("web-0", 0, 0, 0);
        assert_eq!(scale(&spec, Some(&only), &[&idle_old], 3), [("web-a".to_string(), 5)]);
    }

    #[test]
    fn scaling_mid_rollout_is_proportional() {
        // 10 replicas mid rollout (surge 3): old 8, new 5, scaled to 20 (surge 5): 25 allowed.
        let spec = rolling(20);
        let old = Set { desired_annotation: Some(10), max_annotation: Some(13), ..set("web-old", 8, 8, 1) };
        let new = Set { desired_annotation: Some(10), max_annotation: Some(13), ..set("web-new", 5, 0, 2) };
        let changes = scale(&spec, Some(&new), &[&old], 13);
        let size = |name: &str| changes.iter().find(|(n, _)| n == name).map(|(_, r)| *r);
        // 8 * 25 / 13 = 15.4 -> 15; 5 * 25 / 13 = 9.6 -> 10; 25 in all.
        assert_eq!((size("web-old"), size("web-new")), (Some(15), Some(10)));
        let down = scale(&rolling(0), Some(&new), &[&old], 13);
        assert_eq!(down.iter().map(|(_, r)| *r).sum::<i32>(), 0, "scaled to zero, every set goes");
    }

    #[test]
    fn status_counts_sum_the_sets() {
        let old = Set { terminating: 1, ..set("web-old", 1, 1, 1) };
        let new = set("web-new", 3, 2, 2);
        let counts = counts(Some(&new), &[&old, &new]);
        assert_eq!(counts, Counts { replicas: 4, updated: 3, ready: 3, available: 3, unavailable: 1, terminating: 1 });
        assert!(!is_complete(&rolling(3), &counts));
        let done = super::counts(Some(&set("web-new", 3, 3, 2)), &[&set("web-new", 3, 3, 2)]);
        assert!(is_complete(&rolling(3), &done));
    }
}
