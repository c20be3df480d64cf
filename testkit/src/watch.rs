//! Watches: replay from a resourceVersion (or a 410 when it is older than the history kept),
//! initial events (for an unset version, or `sendInitialEvents=true` closed by the bookmark
//! kubectl 1.35 waits for), live events, periodic bookmarks, and `timeoutSeconds`. A client that
//! asks for Tables (`kubectl get -w`) gets every event's object, bookmarks included, as a one-row
//! Table, with the column definitions in the first event only, as kube-apiserver sends them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::errors::ApiError;
use crate::registry::ResourceInfo;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Event, Store};
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
    let mut text = json!({ "type": kind, "object": object }).to_string();
    text.push('\n');
    Bytes::from(text)
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

async fn run(store: Arc<Store>, request: WatchRequest, tx: mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let resource = request.info.key();
    let mut encoder = Encoder { info: request.info.clone(), table: request.table };
    let send = |bytes: Bytes| {
        let tx = tx.clone();
        async move { tx.send(Ok(bytes)).await.is_ok() }
    };
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
            if !send(encoder.event("ADDED", item)).await {
                return;
            }
        }
        if request.send_initial_events && !send(encoder.event("BOOKMARK", &bookmark(&request.info, rv, true))).await {
            return;
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
        if !forward(&request, &mut encoder, &event, &mut last, &tx).await {
            return;
        }
    }
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    ticker.tick().await;
    loop {
        tokio::select! {
            received = receiver.recv() => match received {
                Ok(event) => {
                    if event.resource != resource {
                        // Other resources' writes still move this watch's bookmark forward.
                        last = last.max(event.resource_version);
                    } else if !forward(&request, &mut encoder, &event, &mut last, &tx).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // This watcher fell too far behind: like kube-apiserver, end it with 410 so
                    // the client re-lists.
                    let _ = send(line("ERROR", &ApiError::gone("the watch fell behind; re-list").status())).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = ticker.tick(), if request.bookmarks => {
                if !send(encoder.event("BOOKMARK", &bookmark(&request.info, last, false))).await {
                    return;
                }
            }
            _ = tx.closed() => return,
        }
    }
}

async fn forward(
    request: &WatchRequest,
    encoder: &mut Encoder,
    event: &Event,
    last: &mut u64,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> bool {
    if event.resource_version <= *last {
        return true;
    }
    *last = event.resource_version;
    // History holds objects in their storage form; the watch serves its resource's form.
    let object = request.info.served(&event.object);
    if !request.wants(&object) {
        return true;
    }
    tx.send(Ok(encoder.event(event.kind.as_str(), &object))).await.is_ok()
}
