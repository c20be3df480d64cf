//! The Deployment controller: a ReplicaSet per pod template (named `<deployment>-<hash>`, its pods
//! labelled `pod-template-hash`), the rolling update or the recreation from the old ReplicaSets to
//! the new one (the arithmetic is in `rollout.rs`), `spec.replicas` shared out when it changes,
//! revisions and the old ReplicaSets kept up to `revisionHistoryLimit`, and the status
//! `kubectl rollout status` reads: observedGeneration, the replica counts, and the `Available`
//! and `Progressing` conditions (including `ProgressDeadlineExceeded`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ObjectReference, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource};
use serde_json::json;

use super::deployment_status::{self, Observed};
use super::events::Events;
use super::objects::{self, controller_ref, matches, name, namespace, uid};
use super::rollout::{self, Counts, DESIRED_REPLICAS, MAX_REPLICAS, REVISION, Set, Spec};

/// The label that ties a ReplicaSet and its pods to one pod template.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Annotations of a Deployment that its ReplicaSets do not copy.
const NOT_COPIED: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

struct Context {
    client: Client,
    events: Events,
}

pub async fn run(client: Client) {
    let context =
        Arc::new(Context { client: client.clone(), events: Events::new(client.clone(), "deployment-controller") });
    Controller::new(Api::<Deployment>::all(client.clone()), watcher::Config::default())
        .owns(Api::<ReplicaSet>::all(client), watcher::Config::default())
        .run(reconcile, |_, _, _| Action::requeue(super::RETRY), context)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// One reconcile's view: the Deployment, its ReplicaSets, and what it has done to them.
struct Sync<'a> {
    deployment: &'a Deployment,
    sets: Api<ReplicaSet>,
    ctx: &'a Context,
    spec: Spec,
    new: Option<ReplicaSet>,
    old: Vec<ReplicaSet>,
    /// The new ReplicaSet was created in this reconcile.
    created: bool,
}

async fn reconcile(deployment: Arc<Deployment>, ctx: Arc<Context>) -> Result<Action, kube::Error> {
    let d = deployment.as_ref();
    let spec = d.spec.clone().unwrap_or_default();
    let Some(selector) = objects::selector(Some(&spec.selector)) else { return Ok(Action::await_change()) };
    let sets: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), namespace(&d.metadata));
    let owned = claim(d, &sets, &selector).await?;
    let (new, old) = split(d, owned);
    let mut sync = Sync { deployment: d, sets, ctx: &ctx, spec: Spec::of(d), new, old, created: false };

    if d.metadata.deletion_timestamp.is_some() {
        sync.write_status(false).await?;
        return Ok(Action::await_change());
    }
    let paused = spec.paused == Some(true);
    let all: Vec<Set> = sync.sets_now();
    let refs: Vec<&Set> = all.iter().collect();
    if paused || rollout::is_scaling_event(&sync.spec, &refs) {
        sync.scale().await?;
        if paused {
            sync.clean_up().await?;
        }
        sync.write_status(false).await?;
        return Ok(Action::await_change());
    }
    let recreate = !sync.spec.rolling;
    let settled = if recreate { sync.recreate().await? } else { sync.roll().await? };
    if settled && rollout::is_complete(&sync.spec, &sync.counts()) {
        sync.clean_up().await?;
    }
    let progressing = sync.write_status(true).await?;
    Ok(match progressing {
        Some(left) => Action::requeue(left),
        None => Action::await_change(),
    })
}

/// The ReplicaSets the Deployment controls, after adopting orphans its selector matches and
/// releasing those it no longer selects.
async fn claim(
    d: &Deployment,
    sets: &Api<ReplicaSet>,
    selector: &kube::core::Selector,
) -> Result<Vec<ReplicaSet>, kube::Error> {
    let mut owned = Vec::new();
    for rs in sets.list(&ListParams::default()).await?.items {
        let selected = matches(selector, &rs.metadata);
        match controller_ref(&rs.metadata) {
            Some(owner) if owner.uid == uid(&d.metadata) => {
                if selected {
                    owned.push(rs);
                } else {
                    let owners: Vec<OwnerReference> =
                        rs.metadata.owner_references.iter().flatten().filter(|r| r.uid != owner.uid).cloned().collect();
                    set_owners(sets, &rs, owners).await?;
                }
            }
            None if selected && d.metadata.deletion_timestamp.is_none() && rs.metadata.deletion_timestamp.is_none() => {
                let mut owners = rs.metadata.owner_references.clone().unwrap_or_default();
                owners.push(objects::owner_reference("apps/v1", "Deployment", &d.metadata));
                owned.push(set_owners(sets, &rs, owners).await?);
            }
            _ => {}
        }
    }
    Ok(owned)
}

async fn set_owners(
    sets: &Api<ReplicaSet>,
    rs: &ReplicaSet,
    owners: Vec<OwnerReference>,
) -> Result<ReplicaSet, kube::Error> {
    let patch = json!({ "metadata": {
        "ownerReferences": owners, "resourceVersion": rs.metadata.resource_version, "uid": rs.metadata.uid,
    } });
    sets.patch(name(&rs.metadata), &PatchParams::default(), &Patch::Merge(patch)).await
}

/// The new ReplicaSet (the oldest whose template is the Deployment's, but for the hash label)
/// and the old ones.
fn split(d: &Deployment, mut owned: Vec<ReplicaSet>) -> (Option<ReplicaSet>, Vec<ReplicaSet>) {
    owned.sort_by(|a, b| {
        (&a.metadata.creation_timestamp, name(&a.metadata)).cmp(&(&b.metadata.creation_timestamp, name(&b.metadata)))
    });
    let template = d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let position = owned
        .iter()
        .position(|rs| rs.spec.as_ref().and_then(|s| s.template.as_ref()).is_some_and(|t| same_template(t, &template)));
    let new = position.map(|i| owned.remove(i));
    (new, owned)
}

/// `EqualIgnoreHash`: two pod templates are the same but for the pod-template-hash label.
pub fn same_template(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove(POD_TEMPLATE_HASH);
        }
        serde_json::to_value(t).unwrap_or_default()
    };
    strip(a) == strip(b)
}

/// `ComputeHash`: FNV-1a of the template (here its JSON; kube-controller-manager hashes its Go
/// value, so names differ from a real cluster's) and the collision count, as the safe alphabet.
pub fn template_hash(template: &PodTemplateSpec, collisions: Option<i32>) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u32::from(*byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    };
    feed(serde_json::to_string(template).unwrap_or_default().as_bytes());
    if let Some(count) = collisions {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(count as u32).to_le_bytes());
        feed(&bytes);
    }
    const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    hash.to_string().bytes().map(|b| SAFE[usize::from(b) % SAFE.len()] as char).collect()
}

fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata.annotations.as_ref().and_then(|a| a.get(REVISION)).and_then(|r| r.parse().ok()).unwrap_or(0)
}

impl Sync<'_> {
    fn name(&self) -> &str {
        name(&self.deployment.metadata)
    }

    fn sets_now(&self) -> Vec<Set> {
        self.new.iter().chain(&self.old).map(Set::of).collect()
    }

    fn new_set(&self) -> Option<Set> {
        self.new.as_ref().map(Set::of)
    }

    fn old_sets(&self) -> Vec<Set> {
        self.old.iter().map(Set::of).collect()
    }

    fn counts(&self) -> Counts {
        let all = self.sets_now();
        rollout::counts(self.new_set().as_ref(), &all.iter().collect::<Vec<_>>())
    }

    /// `rolloutRolling`: the new ReplicaSet grows as far as the surge allows, else the old ones
    /// shrink as far as availability allows. Returns whether this step changed nothing.
    async fn roll(&mut self) -> Result<bool, kube::Error> {
        self.ensure_new().await?;
        let (new, old) = (self.new_set(), self.old_sets());
        let all: Vec<&Set> = new.iter().chain(&old).collect();
        if let Some(new) = &new
            && let Some(replicas) = rollout::scale_new(&self.spec, &all, new)
        {
            self.scale_set(&new.name, replicas).await?;
            return Ok(false);
        }
        let active_old: Vec<&Set> = old.iter().filter(|s| s.replicas > 0).collect();
        let changes = rollout::scale_down_old(&self.spec, new.as_ref(), &active_old);
        for (set, replicas) in &changes {
            self.scale_set(set, *replicas).await?;
        }
        Ok(changes.is_empty())
    }

    /// `rolloutRecreate`: every old pod goes, and only once none runs does the new ReplicaSet
    /// come up with every replica.
    async fn recreate(&mut self) -> Result<bool, kube::Error> {
        let active: Vec<String> = self.old_sets().into_iter().filter(|s| s.replicas > 0).map(|s| s.name).collect();
        for set in &active {
            self.scale_set(set, 0).await?;
        }
        if !active.is_empty() || self.old_pods_running().await? {
            return Ok(false);
        }
        self.ensure_new().await?;
        if let Some(new) = self.new_set()
            && new.replicas != self.spec.replicas
        {
            self.scale_set(&new.name, self.spec.replicas).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Whether a pod of an old ReplicaSet has not finished yet (terminating ones included).
    async fn old_pods_running(&self) -> Result<bool, kube::Error> {
        if self.old_sets().iter().any(|s| s.current > 0) {
            return Ok(true);
        }
        let old: Vec<&str> = self.old.iter().map(|rs| uid(&rs.metadata)).collect();
        let pods: Api<Pod> = Api::namespaced(self.ctx.client.clone(), namespace(&self.deployment.metadata));
        let listed = pods.list(&ListParams::default()).await?.items;
        Ok(listed.iter().any(|p| {
            controller_ref(&p.metadata).is_some_and(|r| old.contains(&r.uid.as_str())) && !objects::is_terminal(p)
        }))
    }

    /// The controller's `scale` (a change of `spec.replicas`, or a paused Deployment).
    async fn scale(&mut self) -> Result<(), kube::Error> {
        let (new, old) = (self.new_set(), self.old_sets());
        let previous = self.deployment.status.as_ref().map_or(0, |s| s.replicas.unwrap_or(0));
        let changes = rollout::scale(&self.spec, new.as_ref(), &old.iter().collect::<Vec<_>>(), previous);
        for (set, replicas) in changes {
            self.scale_set(&set, replicas).await?;
        }
        Ok(())
    }

    /// Creates the new ReplicaSet if there is none; brings the revision annotations of the new
    /// ReplicaSet and of the Deployment up to date.
    async fn ensure_new(&mut self) -> Result<(), kube::Error> {
        let next_revision = self.old.iter().map(revision).max().unwrap_or(0) + 1;
        if let Some(new) = &self.new {
            let stale = revision(new) < next_revision
                || annotation(&new.metadata, DESIRED_REPLICAS) != Some(self.spec.replicas.to_string())
                || new.spec.as_ref().and_then(|s| s.min_ready_seconds) != self.min_ready_seconds();
            if stale {
                let revision = revision(new).max(next_revision);
                let patch = json!({
                    "metadata": { "annotations": self.replica_annotations(revision) },
                    "spec": { "minReadySeconds": self.min_ready_seconds() },
                });
                let updated =
                    self.sets.patch(name(&new.metadata), &PatchParams::default(), &Patch::Merge(patch)).await?;
                self.new = Some(updated);
            }
        } else {
            self.create_new(next_revision).await?;
        }
        let revision = self.new.as_ref().map(revision).unwrap_or(next_revision).to_string();
        if annotation(&self.deployment.metadata, REVISION).as_deref() != Some(revision.as_str()) {
            let deployments: Api<Deployment> =
                Api::namespaced(self.ctx.client.clone(), namespace(&self.deployment.metadata));
            let patch = json!({ "metadata": { "annotations": { REVISION: revision } } });
            deployments.patch(self.name(), &PatchParams::default(), &Patch::Merge(patch)).await?;
        }
        Ok(())
    }

    fn min_ready_seconds(&self) -> Option<i32> {
        self.deployment.spec.as_ref().and_then(|s| s.min_ready_seconds)
    }

    /// The annotations a ReplicaSet of this Deployment carries: the Deployment's own but for the
    /// controller's, the revision, and the sizes it is scaled for.
    fn replica_annotations(&self, revision: i64) -> BTreeMap<String, String> {
        let mut annotations: BTreeMap<String, String> = self
            .deployment
            .metadata
            .annotations
            .iter()
            .flatten()
            .filter(|(k, _)| !NOT_COPIED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        annotations.insert(REVISION.into(), revision.to_string());
        annotations.extend(self.size_annotations());
        annotations
    }

    fn size_annotations(&self) -> [(String, String); 2] {
        [
            (DESIRED_REPLICAS.into(), self.spec.replicas.to_string()),
            (MAX_REPLICAS.into(), (self.spec.replicas + self.spec.max_surge).to_string()),
        ]
    }

    async fn create_new(&mut self, revision: i64) -> Result<(), kube::Error> {
        let d = self.deployment;
        let spec = d.spec.clone().unwrap_or_default();
        let collisions = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = template_hash(&spec.template, collisions);
        let mut template = spec.template.clone();
        let meta = template.metadata.get_or_insert_with(ObjectMeta::default);
        meta.labels.get_or_insert_with(BTreeMap::new).insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = spec.selector.clone();
        selector.match_labels.get_or_insert_with(BTreeMap::new).insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let old: Vec<Set> = self.old_sets();
        let replicas = rollout::new_replicas(&self.spec, &old.iter().collect::<Vec<_>>(), 0);
        let rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(format!("{}-{hash}", self.name())),
                namespace: d.metadata.namespace.clone(),
                labels: meta.labels.clone(),
                annotations: Some(self.replica_annotations(revision)),
                owner_references: Some(vec![objects::owner_reference("apps/v1", "Deployment", &d.metadata)]),
                ..ObjectMeta::default()
            },
            spec: Some(k8s_openapi::api::apps::v1::ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        match self.sets.create(&PostParams::default(), &rs).await {
            Ok(created) => {
                let note = format!("Scaled up replica set {} from 0 to {replicas}", name(&created.metadata));
                self.publish("ScalingReplicaSet", note).await;
                self.new = Some(created);
                self.created = true;
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                // A ReplicaSet of that name exists: ours (made by a reconcile this one did not
                // see), or another template's with the same hash, which a new collision count avoids.
                let existing = self.sets.get(&format!("{}-{hash}", self.name())).await?;
                let ours = objects::controlled_by(&existing.metadata, uid(&d.metadata))
                    && existing
                        .spec
                        .as_ref()
                        .and_then(|s| s.template.as_ref())
                        .is_some_and(|t| same_template(t, &spec.template));
                if ours {
                    self.new = Some(existing);
                    return Ok(());
                }
                let deployments: Api<Deployment> = Api::namespaced(self.ctx.client.clone(), namespace(&d.metadata));
                let patch = json!({ "status": { "collisionCount": collisions.unwrap_or(0) + 1 } });
                deployments.patch_status(self.name(), &PatchParams::default(), &Patch::Merge(patch)).await?;
                Err(kube::Error::Api(status))
            }
            Err(error) => Err(error),
        }
    }

    /// Scales one of the Deployment's ReplicaSets, recording the sizes it is scaled for.
    async fn scale_set(&mut self, set: &str, replicas: i32) -> Result<(), kube::Error> {
        let patch = json!({
            "metadata": { "annotations": BTreeMap::from(self.size_annotations()) },
            "spec": { "replicas": replicas },
        });
        let scaled = self.sets.patch(set, &PatchParams::default(), &Patch::Merge(patch)).await?;
        let before =
            self.new.iter().chain(&self.old).find(|rs| name(&rs.metadata) == set).map(|rs| Set::of(rs).replicas);
        let before = before.unwrap_or(0);
        if before != replicas {
            let direction = if replicas > before { "up" } else { "down" };
            let note = format!("Scaled {direction} replica set {set} from {before} to {replicas}");
            self.publish("ScalingReplicaSet", note).await;
        }
        for rs in self.new.iter_mut().chain(self.old.iter_mut()) {
            if name(&rs.metadata) == set {
                *rs = scaled.clone();
            }
        }
        Ok(())
    }

    async fn publish(&self, reason: &str, note: String) {
        let reference: ObjectReference = self.deployment.object_ref(&());
        self.ctx.events.normal(&reference, reason, note).await;
    }

    /// `cleanupDeployment`: old ReplicaSets beyond `revisionHistoryLimit`, lowest revisions first,
    /// once they hold no pods.
    async fn clean_up(&mut self) -> Result<(), kube::Error> {
        let limit = self.deployment.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(10);
        let mut cleanable: Vec<&ReplicaSet> =
            self.old.iter().filter(|rs| rs.metadata.deletion_timestamp.is_none()).collect();
        let surplus = cleanable.len().saturating_sub(usize::try_from(limit).unwrap_or(0));
        cleanable.sort_by_key(|rs| revision(rs));
        for rs in cleanable.into_iter().take(surplus) {
            let set = Set::of(rs);
            let observed = rs.status.as_ref().and_then(|s| s.observed_generation).unwrap_or(0);
            if set.current != 0 || set.replicas != 0 || rs.metadata.generation.unwrap_or(0) > observed {
                continue;
            }
            let params = DeleteParams {
                preconditions: Some(kube::api::Preconditions { uid: rs.metadata.uid.clone(), resource_version: None }),
                ..DeleteParams::default()
            };
            match self.sets.delete(name(&rs.metadata), &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Writes the status (see `deployment_status`) when it changed; returns how long until the
    /// progress deadline passes, while the rollout is under way.
    async fn write_status(&self, rolling: bool) -> Result<Option<Duration>, kube::Error> {
        let d = self.deployment;
        let current = d.status.clone().unwrap_or_default();
        let observed = Observed {
            deployment: d,
            spec: self.spec,
            counts: self.counts(),
            new_set: self.new.as_ref().map(|rs| name(&rs.metadata)),
            created: self.created,
            rolling,
        };
        let (status, left) = deployment_status::next(&observed, &objects::now());
        if status != current {
            let deployments: Api<Deployment> = Api::namespaced(self.ctx.client.clone(), namespace(&d.metadata));
            let patch = Patch::Merge(json!({ "status": status }));
            deployments.patch_status(self.name(), &PatchParams::default(), &patch).await?;
        }
        Ok(left)
    }
}

fn annotation(meta: &ObjectMeta, key: &str) -> Option<String> {
    meta.annotations.as_ref().and_then(|a| a.get(key)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(image: &str, hash: Option<&str>) -> PodTemplateSpec {
        let mut labels = json!({ "app": "web" });
        if let Some(hash) = hash {
            labels[POD_TEMPLATE_HASH] = json!(hash);
        }
        serde_json::from_value(json!({
            "metadata": { "labels": labels },
            "spec": { "containers": [{ "name": "nginx", "image": image }] },
        }))
        .unwrap()
    }

    #[test]
    fn templates_are_the_same_but_for_the_hash_label_and_hash_to_stable_safe_names() {
        assert!(same_template(&template("nginx", None), &template("nginx", Some("abc"))));
        assert!(!same_template(&template("nginx", None), &template("nginx:1.27", None)));
        let hash = template_hash(&template("nginx", None), None);
        assert_eq!(hash, template_hash(&template("nginx", None), None));
        assert_ne!(hash, template_hash(&template("nginx:1.27", None), None));
        assert_ne!(hash, template_hash(&template("nginx", None), Some(1)), "a collision count moves the name");
        assert!(hash.len() >= 8 && hash.bytes().all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)), "{hash}");
    }
}
