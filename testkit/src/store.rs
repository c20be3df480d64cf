//! Objects in memory as JSON, one global resourceVersion counter, the event history watches
//! replay from, and the API server's write semantics: uid/generation/timestamps on create,
//! optimistic concurrency on update, the status subresource kept apart, finalizers holding
//! deletion, and admission (see `admission`) inside the same lock so checks and writes are atomic.
//!
//! An object is kept once, behind an `Arc` shared by the store, the watch history and the events
//! in flight, and each event's watch line is serialized once for all the watches that send it:
//! with 10,000 objects and 5 watches, copies per watch or per history entry would dominate the
//! server's memory and time.
//!
//! Objects are kept in their resource's storage form (`ResourceInfo::storage`): callers pass the
//! resource they serve, get objects in its form, and the store converts on the way in and out, so
//! events.k8s.io/v1 Events live among core/v1 Events as on kube-apiserver.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::admission::{self, AdmissionState};
use crate::deletion::{self, DeleteOptions, Deletion};
use crate::errors::ApiError;
use crate::registry::ResourceInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct Event {
    pub resource_version: u64,
    /// `ResourceInfo::key()` of the object's resource.
    pub resource: String,
    pub kind: EventType,
    /// The object in its storage form, shared with the store while it is the current version.
    pub object: Arc<Value>,
    /// `line()`, made by the first watch that sends it.
    line: OnceLock<Bytes>,
}

impl Event {
    fn new(resource_version: u64, resource: String, kind: EventType, object: Arc<Value>) -> Self {
        Self { resource_version, resource, kind, object, line: OnceLock::new() }
    }

    /// The event as a watch sends it in JSON, the object in its storage form: serialized once,
    /// and shared by every watch that sends this form.
    pub fn line(&self) -> Bytes {
        self.line.get_or_init(|| watch_line(self.kind.as_str(), &self.object)).clone()
    }
}

/// One watch event in JSON, on its own line: `{"type":...,"object":...}`.
pub fn watch_line(kind: &str, object: &Value) -> Bytes {
    // The object is written in place rather than copied into a `json!` envelope.
    Bytes::from(format!("{{\"type\":\"{kind}\",\"object\":{object}}}\n"))
}

/// A stored object in the form `info` serves, shared when the forms are the same.
fn served_shared(info: &ResourceInfo, object: &Arc<Value>) -> Arc<Value> {
    match info.served(object) {
        Cow::Borrowed(_) => object.clone(),
        Cow::Owned(converted) => Arc::new(converted),
    }
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Everything but `status` (for resources with a status subresource).
    Main,
    /// Only `status`.
    Status,
    /// The whole object, status included: the registry's own writes that change both (a pod's
    /// binding sets its node and its PodScheduled condition).
    All,
}

type Key = (String, String);

/// A write worked out under the store's lock, in storage form, not yet made.
#[derive(Debug)]
struct Prepared {
    key: Key,
    change: Change,
    reservation: admission::Reservation,
}

#[derive(Debug)]
enum Change {
    Create(Value),
    /// `remove`: the update completes a deletion (a deletionTimestamp and no finalizers left).
    Update {
        from: Arc<Value>,
        to: Value,
        remove: bool,
    },
    Unchanged(Arc<Value>),
}

/// A write the store has worked out (metadata, the update rules, the registry's admission:
/// allocated cluster IPs and node ports) and not yet made, so validating admission webhooks can
/// see the object as it would be stored. `commit` makes it, unless the object changed meanwhile
/// (409); dropping it unmade gives back what it reserved (node ports).
pub struct Pending<'a> {
    store: &'a Store,
    /// The resource the write came through, whose form `object` and `commit` return.
    served: ResourceInfo,
    prepared: Option<Prepared>,
}

impl Pending<'_> {
    /// The object as it would be stored, in the form the write came through.
    pub fn object(&self) -> Value {
        let stored = match self.prepared.as_ref().map(|p| &p.change) {
            Some(Change::Create(object) | Change::Update { to: object, .. }) => object,
            Some(Change::Unchanged(old)) => &**old,
            None => return Value::Null,
        };
        self.served.served(stored).into_owned()
    }

    pub fn commit(mut self) -> Result<Arc<Value>, ApiError> {
        let prepared = self.prepared.take().ok_or_else(|| ApiError::internal("a pending write was committed twice"))?;
        let stored = self.store.lock().commit(self.store, &self.served.storage(), prepared)?;
        Ok(served_shared(&self.served, &stored))
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(prepared) = self.prepared.take() {
            admission::settle(&mut self.store.lock().admission, prepared.reservation, false);
        }
    }
}

/// Events to replay, and the receiver of those still to come.
pub type WatchStart = (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>);

pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
}

struct Inner {
    resource_version: u64,
    objects: HashMap<String, BTreeMap<Key, Arc<Value>>>,
    history: VecDeque<Arc<Event>>,
    history_limit: usize,
    admission: AdmissionState,
}

impl Store {
    pub fn new(history_limit: usize) -> Self {
        Self::with_node_ports(history_limit, crate::admission::DEFAULT_NODE_PORT_RANGE)
    }

    /// A store whose Services get node ports from `node_port_range` (kube-apiserver's
    /// `--service-node-port-range`).
    pub fn with_node_ports(history_limit: usize, node_port_range: std::ops::RangeInclusive<u16>) -> Self {
        let (events, _) = broadcast::channel(16_384);
        let store = Self {
            inner: Mutex::new(Inner {
                resource_version: 0,
                objects: HashMap::new(),
                history: VecDeque::new(),
                history_limit,
                admission: AdmissionState::new(node_port_range),
            }),
            events,
        };
        for namespace in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let object = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": namespace }, "spec": { "finalizers": ["kubernetes"] }, "status": { "phase": "Active" } });
            let info = crate::registry::Registry::default().get("", "v1", "namespaces").cloned();
            if let Some(info) = info {
                let _ = store.create(&info, "", object);
            }
        }
        store
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn current_resource_version(&self) -> u64 {
        self.lock().resource_version
    }

    pub fn get(&self, info: &ResourceInfo, namespace: &str, name: &str) -> Result<Arc<Value>, ApiError> {
        let stored = self
            .lock()
            .objects
            .get(&info.key())
            .and_then(|objects| objects.get(&(namespace.to_string(), name.to_string())))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&info.resource, name))?;
        // Converted (events.k8s.io/v1) outside the lock.
        Ok(served_shared(info, &stored))
    }

    /// Objects of a resource (one namespace, or all when `namespace` is `None`), in key order,
    /// and the resourceVersion they were read at.
    pub fn list(&self, info: &ResourceInfo, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let (stored, rv) = {
            let inner = self.lock();
            let objects = inner.objects.get(&info.key());
            let stored: Vec<Arc<Value>> = match (objects, namespace) {
                (None, _) => Vec::new(),
                (Some(all), None) => all.values().cloned().collect(),
                (Some(all), Some(ns)) => all
                    .range((ns.to_string(), String::new())..)
                    .take_while(|((n, _), _)| n == ns)
                    .map(|(_, v)| v.clone())
                    .collect(),
            };
            (stored, inner.resource_version)
        };
        // Only references are taken under the lock; conversions happen outside it.
        (stored.iter().map(|object| served_shared(info, object)).collect(), rv)
    }

    /// Events after `since` for `resource`, and a receiver for the ones to come, taken under one
    /// lock so none falls between them. `Err` (410) when `since` is older than the history kept.
    pub fn watch_from(&self, resource: &str, since: u64) -> Result<WatchStart, ApiError> {
        let inner = self.lock();
        let oldest = inner.history.front().map(|e| e.resource_version).unwrap_or(inner.resource_version + 1);
        if since + 1 < oldest && since < inner.resource_version {
            return Err(ApiError::gone(format!("too old resource version: {since} ({})", oldest - 1)));
        }
        let replay =
            inner.history.iter().filter(|e| e.resource_version > since && e.resource == resource).cloned().collect();
        Ok((replay, self.events.subscribe()))
    }

    pub fn create(&self, info: &ResourceInfo, namespace: &str, object: Value) -> Result<Arc<Value>, ApiError> {
        let storage = info.storage();
        let mut inner = self.lock();
        let prepared = inner.prepare_create(&storage, namespace, info.to_storage(object))?;
        let stored = inner.commit(self, &storage, prepared)?;
        drop(inner);
        Ok(served_shared(info, &stored))
    }

    /// A create worked out (name, uid, timestamps, the registry's admission) but not yet written,
    /// for validating admission webhooks to see first. See [`Pending`].
    pub fn prepare_create(&self, info: &ResourceInfo, namespace: &str, object: Value) -> Result<Pending<'_>, ApiError> {
        let prepared = self.lock().prepare_create(&info.storage(), namespace, info.to_storage(object))?;
        Ok(Pending { store: self, served: info.clone(), prepared: Some(prepared) })
    }

    /// A full replacement (PUT) of one part of the object, or of the whole when the resource has
    /// no status subresource. `resourceVersion`, when given, must match.
    pub fn update(
        &self,
        info: &ResourceInfo,
        namespace: &str,
        name: &str,
        new: Value,
        part: Part,
    ) -> Result<Arc<Value>, ApiError> {
        self.modify(info, namespace, name, part, |_| Ok(new))
    }

    /// Reads the object, lets `change` produce its new form, and writes it with the update rules.
    pub fn modify(
        &self,
        info: &ResourceInfo,
        namespace: &str,
        name: &str,
        part: Part,
        change: impl FnOnce(&Value) -> Result<Value, ApiError>,
    ) -> Result<Arc<Value>, ApiError> {
        let storage = info.storage();
        let mut inner = self.lock();
        let prepared = inner.prepare_modify(&storage, namespace, name, part, |old| {
            change(&info.served(old)).map(|new| info.to_storage(new))
        })?;
        let stored = inner.commit(self, &storage, prepared)?;
        drop(inner);
        Ok(served_shared(info, &stored))
    }

    /// An update of `from` (the object as read, in the form `info` serves) to `new`, worked out
    /// with the update rules but not yet written. 409 Conflict if the object is no longer `from`.
    pub fn prepare_update(
        &self,
        info: &ResourceInfo,
        namespace: &str,
        name: &str,
        part: Part,
        from: &Value,
        new: Value,
    ) -> Result<Pending<'_>, ApiError> {
        let read_at = from["metadata"]["resourceVersion"].clone();
        let prepared = self.lock().prepare_modify(&info.storage(), namespace, name, part, |old| {
            if old["metadata"]["resourceVersion"] != read_at {
                return Err(ApiError::conflict(&info.resource, name));
            }
            Ok(info.to_storage(new))
        })?;
        Ok(Pending { store: self, served: info.clone(), prepared: Some(prepared) })
    }

    /// Whether `namespace` exists (kube-apiserver's NamespaceLifecycle admission refuses writes
    /// into one that does not, before any webhook is called).
    pub fn has_namespace(&self, namespace: &str) -> bool {
        self.lock().has_namespace(namespace)
    }

    /// Runs the built-in mutating admission plugins on `object` (see `admission::plugins`).
    pub fn run_plugins(&self, info: &ResourceInfo, creating: bool, object: &mut Value) {
        let inner = self.lock();
        admission::plugins(&inner.objects, info, creating, object);
    }

    /// Deletes with default options (see [`Store::delete_with`]).
    pub fn delete(&self, info: &ResourceInfo, namespace: &str, name: &str) -> Result<Arc<Value>, ApiError> {
        self.delete_with(info, namespace, name, &DeleteOptions::default())
    }

    /// Deletes, or marks for deletion (a pod's grace period, finalizers): see `deletion`. Returns
    /// the object as it now is (or was).
    pub fn delete_with(
        &self,
        info: &ResourceInfo,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Arc<Value>, ApiError> {
        let deleted = self.delete_stored(&info.storage(), namespace, name, options)?;
        Ok(served_shared(info, &deleted))
    }

    /// `delete_with` in `info`, a storage resource.
    fn delete_stored(
        &self,
        info: &ResourceInfo,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Arc<Value>, ApiError> {
        let mut inner = self.lock();
        let key = (namespace.to_string(), name.to_string());
        let old = inner
            .objects
            .get(&info.key())
            .and_then(|o| o.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&info.resource, name))?;
        match deletion::decide(info, &old, options)? {
            Deletion::Remove => Ok(inner.remove(self, info, key)),
            Deletion::Unchanged => Ok(old),
            Deletion::Mark(marked) => {
                let stored = inner.write(info, key, marked);
                self.publish(&mut inner, info, stored.clone(), EventType::Modified);
                Ok(stored)
            }
        }
    }

    fn publish(&self, inner: &mut Inner, info: &ResourceInfo, object: Arc<Value>, kind: EventType) {
        let event = Arc::new(Event::new(inner.resource_version, info.key(), kind, object));
        inner.history.push_back(event.clone());
        while inner.history.len() > inner.history_limit {
            inner.history.pop_front();
        }
        // No receiver is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    /// Every object of a resource, across namespaces (for CRD clean-up and the like).
    pub fn all(&self, info: &ResourceInfo) -> Vec<Value> {
        let inner = self.lock();
        inner
            .objects
            .get(&info.key())
            .map(|o| o.values().map(|v| info.served(v).into_owned()).collect())
            .unwrap_or_default()
    }
}

impl Inner {
    /// `create`'s rules, on an object in the storage form of `info`, a storage resource.
    fn prepare_create(
        &mut self,
        info: &ResourceInfo,
        namespace: &str,
        mut object: Value,
    ) -> Result<Prepared, ApiError> {
        let name = match object["metadata"]["name"].as_str().filter(|n| !n.is_empty()) {
            Some(name) => name.to_string(),
            None => match object["metadata"]["generateName"].as_str() {
                Some(prefix) => format!("{prefix}{}", random_suffix(self.resource_version)),
                None => {
                    return Err(ApiError::invalid(
                        &info.kind,
                        "",
                        "metadata.name: Required value: name or generateName is required",
                    ));
                }
            },
        };
        if info.namespaced && !self.has_namespace(namespace) {
            return Err(ApiError::not_found("namespaces", namespace));
        }
        let key = (namespace.to_string(), name.clone());
        if self.objects.get(&info.key()).is_some_and(|o| o.contains_key(&key)) {
            return Err(ApiError::already_exists(&info.resource, &name));
        }
        let metadata =
            object["metadata"].as_object_mut().ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        metadata.insert("name".into(), json!(name));
        if info.namespaced {
            metadata.insert("namespace".into(), json!(namespace));
        } else {
            metadata.remove("namespace");
        }
        metadata.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        metadata.insert("creationTimestamp".into(), json!(now()));
        metadata.insert("generation".into(), json!(1));
        metadata.remove("deletionTimestamp");
        object["apiVersion"] = json!(info.api_version());
        object["kind"] = json!(info.kind);
        let reservation = admission::admit_reserving(&mut self.admission, &self.objects, info, None, &mut object)?;
        Ok(Prepared { key, change: Change::Create(object), reservation })
    }

    /// The update rules, on the storage form of `info`, a storage resource: `change` makes the
    /// new form from the stored one.
    fn prepare_modify(
        &mut self,
        info: &ResourceInfo,
        namespace: &str,
        name: &str,
        part: Part,
        change: impl FnOnce(&Value) -> Result<Value, ApiError>,
    ) -> Result<Prepared, ApiError> {
        let key = (namespace.to_string(), name.to_string());
        let old = self
            .objects
            .get(&info.key())
            .and_then(|o| o.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&info.resource, name))?;
        let mut new = change(&old)?;
        if !new.is_object() || (!new["metadata"].is_object() && !new["metadata"].is_null()) {
            return Err(ApiError::bad_request("the object and its metadata must be JSON objects"));
        }
        if let Some(rv) = new["metadata"]["resourceVersion"].as_str().filter(|rv| !rv.is_empty())
            && old["metadata"]["resourceVersion"].as_str() != Some(rv)
        {
            return Err(ApiError::conflict(&info.resource, name));
        }
        if new["metadata"]["name"].as_str().is_some_and(|n| n != name) {
            return Err(ApiError::bad_request("the name of the object does not match the name in the URL"));
        }
        // What no client may change, and what the part being written may not touch.
        for field in ["uid", "creationTimestamp", "deletionTimestamp", "generation", "name", "namespace"] {
            match old["metadata"].get(field) {
                Some(value) => new["metadata"][field] = value.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
            }
        }
        new["apiVersion"] = json!(info.api_version());
        new["kind"] = json!(info.kind);
        if info.has_status {
            match part {
                Part::Main => copy_field(&old, &mut new, "status"),
                Part::All => {}
                Part::Status => {
                    let status = new.get("status").cloned();
                    new = Value::clone(&old);
                    match status {
                        Some(status) => new["status"] = status,
                        None => {
                            if let Some(o) = new.as_object_mut() {
                                o.remove("status");
                            }
                        }
                    }
                }
            }
        }
        // The registry's own writes (a binding) change the spec without a new generation.
        if part != Part::All && !same_except(&old, &new, &["metadata", "status"], &[]) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            new["metadata"]["generation"] = json!(generation);
        }
        let reservation = admission::admit_reserving(&mut self.admission, &self.objects, info, Some(&old), &mut new)?;
        if part == Part::Main
            && info.group.is_empty()
            && info.resource == "pods"
            && let Err(error) = crate::pods::validate_update(&old, &new)
        {
            admission::settle(&mut self.admission, reservation, false);
            return Err(error);
        }
        // An update that changes nothing writes nothing, as on kube-apiserver: no new
        // resourceVersion, no event.
        let change = if same_except(&old, &new, &[], &["resourceVersion", "managedFields"]) {
            Change::Unchanged(old)
        } else {
            let deleting = new["metadata"]["deletionTimestamp"].is_string();
            let finalizers_empty = new["metadata"]["finalizers"].as_array().is_none_or(Vec::is_empty);
            Change::Update { from: old, to: new, remove: deleting && finalizers_empty }
        };
        Ok(Prepared { key, change, reservation })
    }

    /// Makes a prepared write, unless what it was worked out from changed meanwhile (a create
    /// finds the name taken, an update finds a newer version): then it is given up with 409.
    /// `info` is the storage resource it was prepared in.
    fn commit(&mut self, store: &Store, info: &ResourceInfo, prepared: Prepared) -> Result<Arc<Value>, ApiError> {
        let Prepared { key, change, reservation } = prepared;
        let current = self.objects.get(&info.key()).and_then(|o| o.get(&key));
        let stale = match &change {
            Change::Create(_) => current.is_some().then(|| ApiError::already_exists(&info.resource, &key.1)),
            Change::Update { from, .. } | Change::Unchanged(from) => current
                .is_none_or(|c| c["metadata"]["resourceVersion"] != from["metadata"]["resourceVersion"])
                .then(|| ApiError::conflict(&info.resource, &key.1)),
        };
        if let Some(error) = stale {
            admission::settle(&mut self.admission, reservation, false);
            return Err(error);
        }
        admission::settle(&mut self.admission, reservation, true);
        Ok(match change {
            Change::Create(object) => {
                let stored = self.write(info, key, object);
                store.publish(self, info, stored.clone(), EventType::Added);
                stored
            }
            Change::Unchanged(old) => old,
            Change::Update { remove: true, .. } => self.remove(store, info, key),
            Change::Update { to, .. } => {
                let stored = self.write(info, key, to);
                store.publish(self, info, stored.clone(), EventType::Modified);
                stored
            }
        })
    }

    fn has_namespace(&self, namespace: &str) -> bool {
        self.objects.get("/namespaces").is_some_and(|ns| ns.contains_key(&(String::new(), namespace.to_string())))
    }

    fn write(&mut self, info: &ResourceInfo, key: Key, mut object: Value) -> Arc<Value> {
        self.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        let object = Arc::new(object);
        self.objects.entry(info.key()).or_default().insert(key, object.clone());
        object
    }

    fn remove(&mut self, store: &Store, info: &ResourceInfo, key: Key) -> Arc<Value> {
        let removed = self.objects.get_mut(&info.key()).and_then(|o| o.remove(&key)).unwrap_or_default();
        admission::released(&mut self.admission, info, &removed);
        self.resource_version += 1;
        // The history may still share the last version; the DELETED one is a copy of it.
        let mut gone = Arc::unwrap_or_clone(removed);
        gone["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        let gone = Arc::new(gone);
        store.publish(self, info, gone.clone(), EventType::Deleted);
        gone
    }
}

fn copy_field(from: &Value, to: &mut Value, field: &str) {
    match from.get(field) {
        Some(value) => to[field] = value.clone(),
        None => {
            if let Some(o) = to.as_object_mut() {
                o.remove(field);
            }
        }
    }
}

/// Whether two objects are equal but for the top-level fields `ignored` and the metadata fields
/// `ignored_metadata`, compared in place rather than on copies stripped of them. With
/// `["metadata", "status"]` this is what `metadata.generation` counts changes of; with
/// `resourceVersion` and `managedFields` in metadata, whether an update changes anything.
fn same_except(old: &Value, new: &Value, ignored: &[&str], ignored_metadata: &[&str]) -> bool {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else { return old == new };
    let same_field = |field: &String| {
        if ignored.contains(&field.as_str()) {
            return true;
        }
        match (old.get(field), new.get(field)) {
            (Some(a), Some(b)) if field == "metadata" && !ignored_metadata.is_empty() => {
                same_except(a, b, ignored_metadata, &[])
            }
            (a, b) => a == b,
        }
    };
    old.keys().all(same_field) && new.keys().all(same_field)
}

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn random_suffix(seed: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ uuid::Uuid::new_v4().as_u128() as u64;
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn configmaps() -> ResourceInfo {
        Registry::default().get("", "v1", "configmaps").cloned().unwrap_or_else(|| panic!("configmaps are served"))
    }

    #[test]
    fn same_except_ignores_only_the_fields_named() {
        let old =
            json!({ "metadata": { "name": "a", "resourceVersion": "1" }, "spec": { "x": 1 }, "status": { "y": 1 } });
        let mut new = old.clone();
        new["metadata"]["resourceVersion"] = json!("2");
        new["status"]["y"] = json!(2);
        assert!(same_except(&old, &new, &["metadata", "status"], &[]), "the spec is the same");
        assert!(!same_except(&old, &new, &[], &["resourceVersion"]), "the status differs");
        new["status"] = old["status"].clone();
        assert!(same_except(&old, &new, &[], &["resourceVersion"]));

        let mut added = old.clone();
        added["spec"]["z"] = Value::Null;
        assert!(!same_except(&old, &added, &["metadata", "status"], &[]), "a field set to null is a change");
        let mut removed = old.clone();
        if let Some(spec) = removed.as_object_mut() {
            spec.remove("spec");
        }
        assert!(!same_except(&old, &removed, &["metadata", "status"], &[]), "a field removed is a change");
        assert!(!same_except(&old, &removed, &[], &["resourceVersion"]));
    }

    #[test]
    fn the_store_and_the_watch_history_share_one_copy_of_an_object() {
        let store = Store::new(100);
        let info = configmaps();
        let created = store.create(&info, "default", json!({ "metadata": { "name": "a" }, "data": { "k": "v" } }));
        let created = created.unwrap_or_else(|e| panic!("{e:?}"));
        let (history, _) = store.watch_from(&info.key(), 0).unwrap_or_else(|e| panic!("{e:?}"));
        let event = history.last().unwrap_or_else(|| panic!("the create is in the history"));
        assert!(Arc::ptr_eq(&event.object, &created));
        let read = store.get(&info, "default", "a").unwrap_or_else(|e| panic!("{e:?}"));
        assert!(Arc::ptr_eq(&read, &created));
        let (listed, _) = store.list(&info, Some("default"));
        assert!(Arc::ptr_eq(&listed[0], &created));

        let text = String::from_utf8(event.line().to_vec()).unwrap_or_default();
        assert!(text.ends_with('\n'));
        let line: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(line, json!({ "type": "ADDED", "object": *created }));
        let (first, again) = (event.line(), event.line());
        assert_eq!(first.as_ptr(), again.as_ptr(), "serialized once, shared by every watch");
    }

    #[test]
    fn an_update_that_changes_nothing_writes_nothing() {
        let store = Store::new(100);
        let info = configmaps();
        let created = store.create(&info, "default", json!({ "metadata": { "name": "a" }, "data": { "k": "v" } }));
        let created = created.unwrap_or_else(|e| panic!("{e:?}"));
        let before = store.current_resource_version();
        let mut same = Value::clone(&created);
        same["metadata"]["resourceVersion"] = json!("");
        let updated = store.update(&info, "default", "a", same, Part::Main).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(Arc::ptr_eq(&updated, &created));
        assert_eq!(store.current_resource_version(), before);
        let mut changed = Value::clone(&created);
        changed["data"]["k"] = json!("w");
        let updated = store.update(&info, "default", "a", changed, Part::Main).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(store.current_resource_version(), before + 1);
        assert_eq!(updated["metadata"]["resourceVersion"], json!((before + 1).to_string()));
    }
}
