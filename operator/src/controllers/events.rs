//! Kubernetes events for the objects Elbow serves. A failure to publish is logged and otherwise
//! ignored: an event is a courtesy to the user and must never fail or retry a reconcile.

use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};
use tracing::warn;

/// The API server rejects event notes over 1 kB.
const MAX_NOTE_BYTES: usize = 1024;

/// Elbow's own reason for pods a QUIC target group leaves out for want of a server id (LBC only
/// logs and counts them), on the Service or TargetGroupBinding they belong to.
pub const QUIC_SERVER_ID_MISSING: &str = "QUICServerIDMissing";

/// At most this many pods are named in one [`QUIC_SERVER_ID_MISSING`] event; the rest are counted.
const NAMED_PODS: usize = 5;

pub struct EventPublisher {
    recorder: Recorder,
}

impl EventPublisher {
    pub fn new(recorder: Recorder) -> Self {
        Self { recorder }
    }

    pub async fn publish<K>(&self, object: &K, type_: EventType, reason: &str, note: &str)
    where
        K: Resource<DynamicType = ()>,
    {
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(note, MAX_NOTE_BYTES).to_string()),
            action: reason.to_string(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &object.object_ref(&())).await {
            warn!(%error, reason, "failed to publish an event");
        }
    }
}

/// The note of a [`QUIC_SERVER_ID_MISSING`] event: "2 pod(s) get no QUIC traffic: ... quic/a, quic/b".
pub fn quic_server_id_missing(pods: &std::collections::BTreeSet<String>) -> String {
    let mut named: Vec<&str> = pods.iter().take(NAMED_PODS).map(String::as_str).collect();
    let more = pods.len().saturating_sub(NAMED_PODS);
    let rest = if more > 0 { format!(" and {more} more") } else { String::new() };
    named.sort();
    format!(
        "{} pod(s) get no QUIC traffic: they have no server id ({} in a container that {} names; the pod webhook adds it to pods created in a namespace labelled {}=enabled): {}{rest}",
        pods.len(),
        elbow_builder::quic::SERVER_ID_ENV,
        elbow_builder::quic::CONTAINERS_ANNOTATION,
        elbow_builder::quic::INJECT_LABEL,
        named.join(", ")
    )
}

/// The longest prefix of `text` within `max` bytes that ends on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn a_quic_note_names_five_pods_and_counts_the_rest() {
        let pods: std::collections::BTreeSet<String> = (1..=7).map(|i| format!("quic/p{i}")).collect();
        let note = super::quic_server_id_missing(&pods);
        assert!(note.starts_with("7 pod(s) get no QUIC traffic"), "{note}");
        assert!(note.ends_with("quic/p1, quic/p2, quic/p3, quic/p4, quic/p5 and 2 more"), "{note}");
        assert!(note.contains("elbow.dev/quic-server-id-inject=enabled"), "{note}");
    }

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short", 1024), "short");
        let long = "é".repeat(600); // 1,200 bytes
        let cut = truncate(&long, 1024);
        assert_eq!(cut.len(), 1024);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
