//! Events as the cluster's components record them (client-go's legacy recorder, core/v1 Events):
//! one per distinct message, and a repeat of the same message on the same object counted on the
//! first (`count`, `lastTimestamp`), as client-go's correlator does. kube-runtime's `Recorder`
//! would fold every message of one reason into the first, so "Scaled up replica set ... from 0
//! to 1" and "... from 1 to 2" would show as one.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use super::objects;

/// What makes two events the same: the object's uid, the type, the reason and the message.
type Same = (String, String, String, String);

pub struct Events {
    client: Client,
    component: &'static str,
    /// The name and count of each event recorded.
    recorded: Mutex<HashMap<Same, (String, i32)>>,
}

impl Events {
    pub fn new(client: Client, component: &'static str) -> Events {
        Events { client, component, recorded: Mutex::new(HashMap::new()) }
    }

    pub async fn normal(&self, regarding: &ObjectReference, reason: &str, message: String) {
        self.record(regarding, "Normal", reason, message).await;
    }

    pub async fn warning(&self, regarding: &ObjectReference, reason: &str, message: String) {
        self.record(regarding, "Warning", reason, message).await;
    }

    async fn record(&self, regarding: &ObjectReference, kind: &str, reason: &str, message: String) {
        let namespace = regarding.namespace.clone().unwrap_or_else(|| "default".into());
        let events: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let key = (regarding.uid.clone().unwrap_or_default(), kind.to_string(), reason.to_string(), message.clone());
        let now = objects::now();
        let seen = self.recorded.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
        let result = match seen {
            Some((name, count)) => {
                let patch = json!({ "count": count + 1, "lastTimestamp": now });
                let patched = events.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await;
                patched.map(|_| (name, count + 1))
            }
            None => {
                let stamp =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
                let event = Event {
                    metadata: ObjectMeta {
                        name: Some(format!("{}.{stamp:x}", regarding.name.clone().unwrap_or_default())),
                        namespace: Some(namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    involved_object: regarding.clone(),
                    reason: Some(reason.to_string()),
                    message: Some(message),
                    type_: Some(kind.to_string()),
                    source: Some(EventSource { component: Some(self.component.to_string()), host: None }),
                    first_timestamp: Some(now.clone()),
                    last_timestamp: Some(now),
                    count: Some(1),
                    reporting_component: Some(self.component.to_string()),
                    ..Event::default()
                };
                events.create(&PostParams::default(), &event).await.map(|e| (e.metadata.name.unwrap_or_default(), 1))
            }
        };
        match result {
            Ok(recorded) => {
                let mut seen = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
                // Repeats are counted for a while, not forever: a long-lived playground forgets.
                if seen.len() >= 10_000 {
                    seen.clear();
                }
                seen.insert(key, recorded);
            }
            Err(error) => tracing::debug!(%error, reason, "failed to record an event"),
        }
    }
}
