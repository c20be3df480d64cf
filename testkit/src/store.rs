//! Objects in memory as JSON, one global resourceVersion counter, the event history watches
//! replay from, and the API server's write semantics: uid/generation/timestamps on create,
//! optimistic concurrency on update, the status subresource kept apart, finalizers holding
//! deletion, and admission (see `admission`) inside the same lock so checks and writes are atomic.
//!
//! Objects are kept in their resource's storage form (`ResourceInfo::storage`): callers pass the
//! resource they serve, get objects in its form, and the store converts on the way in and out, so
//! events.k8s.io/v1 Events live among core/v1 Events as on kube-apiserver.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::admission::{self, AdmissionState};
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
    pub object: Value,
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Everything but `status` (for resources with a status subresource).
    Main,
    /// Only `status`.
    Status,
}

type Key = (String, String);

/// Events to replay, and the receiver of those still to come.
pub type WatchStart = (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>);

pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
}

struct Inner {
    resource_version: u64,
    objects: HashMap<String, BTreeMap<Key, Value>>,
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

    pub fn get(&self, info: &ResourceInfo, namespace: &str, name: &str) -> Result<Value, ApiError> {
        self.lock()
            .objects
            .get(&info.key())
            .and_then(|objects| objects.get(&(namespace.to_string(), name.to_string())))
            .cloned()
            .map(|object| info.to_served(object))
            .ok_or_else(|| ApiError::not_found(&info.resource, name))
    }

    /// Objects of a resource (one namespace, or all when `namespace` is `None`), in key order,
    /// and the resourceVersion they were read at.
    pub fn list(&self, info: &ResourceInfo, namespace: Option<&str>) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let objects = inner.objects.get(&info.key());
        let served = |object: &Value| info.served(object).into_owned();
        let items = match (objects, namespace) {
            (None, _) => Vec::new(),
            (Some(all), None) => all.values().map(served).collect(),
            (Some(all), Some(ns)) => all
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| served(v))
                .collect(),
        };
        (items, inner.resource_version)
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

    pub fn create(&self, info: &ResourceInfo, namespace: &str, object: Value) -> Result<Value, ApiError> {
        let stored = self.create_stored(&info.storage(), namespace, info.to_storage(object))?;
        Ok(info.to_served(stored))
    }

    /// `create` of an object already in the storage form of `info`, itself a storage resource.
    fn create_stored(&self, info: &ResourceInfo, namespace: &str, mut object: Value) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let name = match object["metadata"]["name"].as_str().filter(|n| !n.is_empty()) {
            Some(name) => name.to_string(),
            None => match object["metadata"]["generateName"].as_str() {
                Some(prefix) => format!("{prefix}{}", random_suffix(inner.resource_version)),
                None => {
                    return Err(ApiError::invalid(
                        &info.kind,
                        "",
                        "metadata.name: Required value: name or generateName is required",
                    ));
                }
            },
        };
        if info.namespaced && !inner.has_namespace(namespace) {
            return Err(ApiError::not_found("namespaces", namespace));
        }
        let key = (namespace.to_string(), name.clone());
        if inner.objects.get(&info.key()).is_some_and(|o| o.contains_key(&key)) {
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
        let Inner { admission, objects, .. } = &mut *inner;
        admission::admit(admission, objects, info, None, &mut object)?;
        let stored = inner.write(info, key, object, EventType::Added);
        self.publish(&mut inner, info, stored.clone(), EventType::Added);
        Ok(stored)
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
    ) -> Result<Value, ApiError> {
        self.modify(info, namespace, name, part, |_| Ok(new.clone()))
    }

    /// Reads the object, lets `change` produce its new form, and writes it with the update rules.
    pub fn modify(
        &self,
        info: &ResourceInfo,
        namespace: &str,
        name: &str,
        part: Part,
        change: impl FnOnce(&Value) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let stored = self.modify_stored(&info.storage(), namespace, name, part, |old| {
            change(&info.served(old)).map(|new| info.to_storage(new))
        })?;
        Ok(info.to_served(stored))
    }

    /// `modify` with `change` working on the storage form of `info`, itself a storage resource.
    fn modify_stored(
        &self,
        info: &ResourceInfo,
        namespace: &str,
        name: &str,
        part: Part,
        change: impl FnOnce(&Value) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let key = (namespace.to_string(), name.to_string());
        let old = inner
            .objects
            .get(&info.key())
            .and_then(|o| o.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&info.resource, name))?;
        let mut new = change(&old)?;
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
                Part::Status => {
                    let status = new.get("status").cloned();
                    new = old.clone();
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
        if spec_of(&old) != spec_of(&new) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            new["metadata"]["generation"] = json!(generation);
        }
        let Inner { admission, objects, .. } = &mut *inner;
        admission::admit(admission, objects, info, Some(&old), &mut new)?;
        // An update that changes nothing writes nothing, as on kube-apiserver: no new
        // resourceVersion, no event.
        if strip_rv(&old) == strip_rv(&new) {
            return Ok(old);
        }
        let deleting = new["metadata"]["deletionTimestamp"].is_string();
        let finalizers_empty = new["metadata"]["finalizers"].as_array().is_none_or(Vec::is_empty);
        if deleting && finalizers_empty {
            return Ok(inner.remove(self, info, key));
        }
        let stored = inner.write(info, key, new, EventType::Modified);
        self.publish(&mut inner, info, stored.clone(), EventType::Modified);
        Ok(stored)
    }

    /// Deletes, or with finalizers marks for deletion. Returns the object as it now is (or was).
    pub fn delete(&self, info: &ResourceInfo, namespace: &str, name: &str) -> Result<Value, ApiError> {
        let deleted = self.delete_stored(&info.storage(), namespace, name)?;
        Ok(info.to_served(deleted))
    }

    /// `delete` in `info`, a storage resource.
    fn delete_stored(&self, info: &ResourceInfo, namespace: &str, name: &str) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let key = (namespace.to_string(), name.to_string());
        let old = inner
            .objects
            .get(&info.key())
            .and_then(|o| o.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&info.resource, name))?;
        let has_finalizers = old["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        // Namespaces carry spec.finalizers for a namespace controller this server does not run.
        if has_finalizers && info.resource != "namespaces" {
            if old["metadata"]["deletionTimestamp"].is_string() {
                return Ok(old);
            }
            let mut marked = old;
            marked["metadata"]["deletionTimestamp"] = json!(now());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            let stored = inner.write(info, key, marked, EventType::Modified);
            self.publish(&mut inner, info, stored.clone(), EventType::Modified);
            return Ok(stored);
        }
        Ok(inner.remove(self, info, key))
    }

    fn publish(&self, inner: &mut Inner, info: &ResourceInfo, object: Value, kind: EventType) {
        let event = Arc::new(Event { resource_version: inner.resource_version, resource: info.key(), kind, object });
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
    fn has_namespace(&self, namespace: &str) -> bool {
        self.objects.get("/namespaces").is_some_and(|ns| ns.contains_key(&(String::new(), namespace.to_string())))
    }

    fn write(&mut self, info: &ResourceInfo, key: Key, mut object: Value, _kind: EventType) -> Value {
        self.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        self.objects.entry(info.key()).or_default().insert(key, object.clone());
        object
    }

    fn remove(&mut self, store: &Store, info: &ResourceInfo, key: Key) -> Value {
        let removed = self.objects.get_mut(&info.key()).and_then(|o| o.remove(&key)).unwrap_or(Value::Null);
        admission::released(&mut self.admission, info, &removed);
        self.resource_version += 1;
        let mut gone = removed;
        gone["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
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

/// Everything but metadata and status: what `metadata.generation` counts changes of.
fn spec_of(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(o) = copy.as_object_mut() {
        o.remove("metadata");
        o.remove("status");
    }
    copy
}

fn strip_rv(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(m) = copy["metadata"].as_object_mut() {
        m.remove("resourceVersion");
        m.remove("managedFields");
    }
    copy
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
