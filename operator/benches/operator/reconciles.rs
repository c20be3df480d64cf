//! Sees every reconcile the controllers start, without touching the operator: kube-runtime opens a
//! `reconciling object` span per reconcile, carrying the object's reference, and a tracing layer
//! hears of each new span. That is how a measurement knows a resync has reached every Service.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The span kube-runtime's controller opens around each reconcile.
const RECONCILE_SPAN: &str = "reconciling object";

/// Installs the global subscriber: `on_reconcile` hears the reference of every object a reconcile
/// starts for, and the operator's own warnings and errors go to stderr.
pub fn install(on_reconcile: fn(&str)) {
    let reconciles = ReconcileLayer { on_reconcile }.with_filter(filter_fn(is_reconcile_span));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(EnvFilter::new("warn"));
    tracing_subscriber::registry().with(reconciles).with(logs).init();
}

fn is_reconcile_span(metadata: &Metadata<'_>) -> bool {
    metadata.is_span() && metadata.name() == RECONCILE_SPAN
}

struct ReconcileLayer {
    on_reconcile: fn(&str),
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for ReconcileLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut object = ObjectRefField(None);
        attrs.record(&mut object);
        if let Some(object) = object.0 {
            (self.on_reconcile)(&object);
        }
    }
}

struct ObjectRefField(Option<String>);

impl Visit for ObjectRefField {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "object.ref" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// The reconciles seen since the last [`reset`]: how many, and of how many distinct objects.
static TOTAL: AtomicU64 = AtomicU64::new(0);
static OBJECTS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// The `on_reconcile` of the benchmark's own process.
pub fn record(object: &str) {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    objects().get_or_insert_with(HashSet::new).insert(object.to_string());
}

pub fn reset() {
    TOTAL.store(0, Ordering::Relaxed);
    *objects() = None;
}

pub fn total() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

pub fn distinct_objects() -> usize {
    objects().as_ref().map_or(0, HashSet::len)
}

/// Distinct objects of `kind` reconciled: kube-runtime names an object `Kind.version.group/name`.
pub fn distinct_objects_of(kind: &str) -> usize {
    let prefix = format!("{kind}.");
    objects().as_ref().map_or(0, |objects| objects.iter().filter(|object| object.starts_with(&prefix)).count())
}

fn objects() -> std::sync::MutexGuard<'static, Option<HashSet<String>>> {
    OBJECTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
