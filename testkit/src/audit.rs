//! Every request the server answered, as (verb, group, resource, subresource, namespace, user
//! agent): what a test reads to prove an operator's RBAC grants exactly what it uses.

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
    entries: Arc<Mutex<Vec<AuditEntry>>>,
}

impl AuditLog {
    pub fn record(&self, entry: AuditEntry) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
    }

    pub fn entries(&self) -> Vec<AuditEntry> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
