//! Every request the server answered, as (verb, group, resource, subresource, namespace, user
//! agent): what a test reads to prove an operator's RBAC grants exactly what it uses.
//!
//! A long run makes many requests but few distinct entries (10,000 creates of Services are one
//! entry), so each distinct entry is kept once and the log holds a pointer per request.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuditEntry {
    /// Kubernetes verbs: get, list, watch, create, update, patch, delete.
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub user_agent: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    inner: Arc<Mutex<Log>>,
}

#[derive(Debug, Default)]
struct Log {
    /// One per request, in the order they came.
    requests: Vec<Arc<AuditEntry>>,
    distinct: HashSet<Arc<AuditEntry>>,
}

impl AuditLog {
    pub fn record(&self, entry: AuditEntry) {
        let mut log = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let shared = match log.distinct.get(&entry) {
            Some(known) => known.clone(),
            None => {
                let new = Arc::new(entry);
                log.distinct.insert(new.clone());
                new
            }
        };
        log.requests.push(shared);
    }

    /// Every request so far, in order.
    pub fn entries(&self) -> Vec<AuditEntry> {
        let log = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        log.requests.iter().map(|entry| AuditEntry::clone(entry)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(verb: &str, resource: &str) -> AuditEntry {
        AuditEntry {
            verb: verb.into(),
            group: String::new(),
            resource: resource.into(),
            subresource: String::new(),
            namespace: "default".into(),
            user_agent: "test".into(),
        }
    }

    #[test]
    fn repeated_requests_share_one_entry_and_keep_their_order() {
        let log = AuditLog::default();
        for _ in 0..3 {
            log.record(entry("create", "services"));
            log.record(entry("get", "services"));
        }
        log.record(entry("list", "nodes"));
        let verbs: Vec<String> = log.entries().into_iter().map(|e| e.verb).collect();
        assert_eq!(verbs, ["create", "get", "create", "get", "create", "get", "list"]);
        let inner = log.inner.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(inner.distinct.len(), 3);
        assert!(Arc::ptr_eq(&inner.requests[0], &inner.requests[2]));
    }
}
