//! Watches: replay from a resourceVersion (or a 410 when it is older than the history kept),
//! initial events (for an unset version, or `sendInitialEvents=true` closed by the bookmark
//! kubectl 1.35 waits for), live events, periodic bookmarks, and `timeoutSeconds`. A client that
//! asks for Tables (`kubectl get -w`) gets every event's object, bookmarks included, as a one-row
//! Table, with the column definitions in the first event only, as kube-apiserver sends them.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::errors::ApiError;
use crate::registry::ResourceInfo;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Event, Store, watch_line};
use crate::table::{self, TableOptions};

pub struct WatchRequest {
    pub info: ResourceInfo,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// `None` or `Some(0)`: start from the current state.
    pub since: Option<u64>,
    pub send_initial_events: bool,
    pub bookmarks: bool,
    pub timeout: Duration,
    /// Set when the client asked for Tables.
    pub table: Option<TableOptions>,
}

impl WatchRequest {
    fn wants(&self, object: &Value) -> bool {
        let namespace_ok =
            self.namespace.as_deref().is_none_or(|ns| object["metadata"]["namespace"].as_str() == Some(ns));
        namespace_ok && self.labels.matches(object) && self.fields.matches(object)
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    watch_line(kind, object)
}

fn bookmark(info: &ResourceInfo, rv: u64, initial_end: bool) -> Value {
    let mut metadata = json!({ "resourceVersion": rv.to_string() });
    if initial_end {
        metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
    }
    json!({ "kind": info.kind, "apiVersion": info.api_version(), "metadata": metadata })
}

/// Writes events in the form the client asked for: the object, or a one-row Table of it.
struct Encoder {
    info: ResourceInfo,
    table: Option<TableOptions>,
}

impl Encoder {
    fn event(&mut self, kind: &str, object: &Value) -> Bytes {
        let Some(options) = &mut self.table else { return line(kind, object) };
        // Ages count to when the event is sent, not to when the watch began.
        options.now = chrono::Utc::now();
        let table = table::render_object(&self.info, object, options);
        // kube-apiserver sends the column definitions once; kubectl keeps the first ones it saw.
        options.no_headers = true;
        line(kind, &table)
    }
}

/// Starts the watch; its events arrive on the returned channel, one JSON line each.
pub fn start(
    store: Arc<Store>,
    control: WatchControl,
    request: WatchRequest,
) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        // A held server answers watches only once released (tests use it to let history expire
        // while a client is away).
        // The gate is only passed, not held: a watch that held it would keep `hold_watches` waiting
        // for as long as the watch lasts.
        drop(control.gate.read().await);
        let mut epoch = control.epoch.subscribe();
        tokio::select! {
            _ = tokio::time::timeout(request.timeout, run(store, request, tx)) => {}
            _ = epoch.changed() => {}
        }
    });
    rx
}

/// Test controls over running watches.
#[derive(Clone)]
pub struct WatchControl {
    pub(crate) gate: Arc<tokio::sync::RwLock<()>>,
    pub(crate) epoch: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for WatchControl {
    fn default() -> Self {
        Self { gate: Arc::new(tokio::sync::RwLock::new(())), epoch: Arc::new(tokio::sync::watch::channel(0).0) }
    }
}

/// Events sent together: one chunk, one write to the socket and one wake-up of the client for all
/// the events ready at once, rather than one each. Nothing waits for a batch to fill: a batch is
/// what is already there, capped at `BATCH_BYTES`.
#[derive(Default)]
struct Batch {
    lines: Vec<Bytes>,
    size: usize,
}

const BATCH_BYTES: usize = 64 * 1024;

impl Batch {
    fn push(&mut self, line: Bytes) {
        self.size += line.len();
        self.lines.push(line);
    }

    fn is_full(&self) -> bool {
        self.size >= BATCH_BYTES
    }

    /// Sends the lines gathered, if any; false once the client is gone.
    async fn flush(&mut self, tx: &mpsc::Sender<Result<Bytes, std::io::Error>>) -> bool {
        let chunk = match self.lines.len() {
            0 => return true,
            // A single event is sent as it is, shared with the other watches.
            1 => self.lines.pop().unwrap_or_default(),
            _ => {
                let mut chunk = BytesMut::with_capacity(self.size);
                for line in self.lines.drain(..) {
                    chunk.extend_from_slice(&line);
                }
                chunk.freeze()
            }
        };
        self.size = 0;
        tx.send(Ok(chunk)).await.is_ok()
    }
}

async fn run(store: Arc<Store>, request: WatchRequest, tx: mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let resource = request.info.key();
    let mut encoder = Encoder { info: request.info.clone(), table: request.table };
    let send = |bytes: Bytes| {
        let tx = tx.clone();
        async move { tx.send(Ok(bytes)).await.is_ok() }
    };
    let mut batch = Batch::default();
    let from_current_state = request.send_initial_events || request.since.is_none_or(|rv| rv == 0);
    let (start_rv, mut receiver, replay) = if from_current_state {
        // Subscribe before listing, so that nothing written in between is lost (duplicates are
        // dropped by the resourceVersion check below).
        let (_, receiver) = match store.watch_from(&resource, store.current_resource_version()) {
            Ok(pair) => pair,
            Err(error) => {
                let _ = send(line("ERROR", &error.status())).await;
                return;
            }
        };
        let (items, rv) = store.list(&request.info, request.namespace.as_deref());
        for item in items.iter().filter(|o| request.wants(o)) {
            batch.push(encoder.event("ADDED", item));
            if batch.is_full() && !batch.flush(&tx).await {
                return;
            }
        }
        if request.send_initial_events {
            batch.push(encoder.event("BOOKMARK", &bookmark(&request.info, rv, true)));
        }
        (rv, receiver, Vec::new())
    } else {
        let since = request.since.unwrap_or_default();
        match store.watch_from(&resource, since) {
            Ok((replay, receiver)) => (since, receiver, replay),
            Err(error) => {
                let _ = send(line("ERROR", &error.status())).await;
                return;
            }
        }
    };
    let mut last = start_rv;
    for event in replay {
        if let Some(line) = forward(&request, &mut encoder, &event, &mut last) {
            batch.push(line);
            if batch.is_full() && !batch.flush(&tx).await {
                return;
            }
        }
    }
    if !batch.flush(&tx).await {
        return;
    }
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    ticker.tick().await;
    loop {
        tokio::select! {
            received = receiver.recv() => {
                let mut received = received;
                // This event, and those already waiting behind it.
                loop {
                    match received {
                        Ok(event) => {
                            if event.resource != resource {
                                // Other resources' writes still move this watch's bookmark forward.
                                last = last.max(event.resource_version);
                            } else if let Some(line) = forward(&request, &mut encoder, &event, &mut last) {
                                batch.push(line);
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            // This watcher fell too far behind: like kube-apiserver, end it with
                            // 410 so the client re-lists.
                            batch.push(line("ERROR", &ApiError::gone("the watch fell behind; re-list").status()));
                            let _ = batch.flush(&tx).await;
                            return;
                        }
                        Err(broadcast::error::RecvError::Closed) => {
                            let _ = batch.flush(&tx).await;
                            return;
                        }
                    }
                    if batch.is_full() {
                        break;
                    }
                    received = match receiver.try_recv() {
                        Ok(event) => Ok(event),
                        Err(broadcast::error::TryRecvError::Empty) => break,
                        Err(broadcast::error::TryRecvError::Lagged(n)) => Err(broadcast::error::RecvError::Lagged(n)),
                        Err(broadcast::error::TryRecvError::Closed) => Err(broadcast::error::RecvError::Closed),
                    };
                }
                if !batch.flush(&tx).await {
                    return;
                }
            }
            _ = ticker.tick(), if request.bookmarks => {
                if !send(encoder.event("BOOKMARK", &bookmark(&request.info, last, false))).await {
                    return;
                }
            }
            _ = tx.closed() => return,
        }
    }
}

/// The line `event` makes on this watch, if the watch wants it.
fn forward(request: &WatchRequest, encoder: &mut Encoder, event: &Event, last: &mut u64) -> Option<Bytes> {
    if event.resource_version <= *last {
        return None;
    }
    *last = event.resource_version;
    // History holds objects in their storage form; the watch serves its resource's form.
    let object = request.info.served(&event.object);
    if !request.wants(&object) {
        return None;
    }
    Some(match (&encoder.table, &object) {
        // The common case: the event as stored, serialized once for every watch.
        (None, Cow::Borrowed(_)) => event.line(),
        _ => encoder.event(event.kind.as_str(), &object),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    #[tokio::test]
    async fn events_ready_together_go_out_in_one_chunk_every_one_once_and_in_order() {
        let store = Arc::new(Store::new(1_000));
        let info = Registry::default().get("", "v1", "configmaps").cloned().unwrap_or_else(|| panic!("served"));
        let create = |i: usize| {
            let object = json!({ "metadata": { "name": format!("cm-{i:03}") }, "data": { "k": "v".repeat(200) } });
            store.create(&info, "default", object).unwrap_or_else(|e| panic!("{e:?}"));
        };
        let since = store.current_resource_version();
        // 300 to replay from the history, then 300 written while the watch runs.
        (0..300).for_each(create);
        let request = WatchRequest {
            info: info.clone(),
            namespace: None,
            labels: LabelSelector::default(),
            fields: FieldSelector::default(),
            since: Some(since),
            send_initial_events: false,
            bookmarks: false,
            timeout: Duration::from_secs(30),
            table: None,
        };
        let mut chunks = start(store.clone(), WatchControl::default(), request);
        (300..600).for_each(create);

        let (mut lines, mut received) = (Vec::new(), 0);
        while lines.len() < 600 {
            let chunk = tokio::time::timeout(Duration::from_secs(10), chunks.recv()).await;
            let chunk = chunk.ok().flatten().and_then(Result::ok).unwrap_or_else(|| panic!("after {}", lines.len()));
            received += 1;
            let text = String::from_utf8(chunk.to_vec()).unwrap_or_default();
            assert!(text.ends_with('\n'), "a chunk holds whole lines");
            lines.extend(text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap_or_default()));
        }
        let names: Vec<String> =
            lines.iter().map(|l| l["object"]["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect();
        let expected: Vec<String> = (0..600).map(|i| format!("cm-{i:03}")).collect();
        assert_eq!(names, expected);
        assert!(lines.iter().all(|l| l["type"] == json!("ADDED")));
        // The replay alone (300 events of ~300 bytes) fits in two 64 KiB chunks.
        assert!(received <= 302, "{received} chunks for 600 events");
    }
}
