//! Server-side printing: the `meta.k8s.io/v1` Table that kubectl asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, so `kubectl get` shows what it shows
//! against kube-apiserver (a LoadBalancer Service's EXTERNAL-IP, an Ingress's ADDRESS, ...).
//!
//! What the module owns:
//! - the columns and cells of kube-apiserver's printers for the resources people look at while
//!   working with Elbow ([`builtin`]: services, ingresses, ingressclasses, nodes, namespaces,
//!   deployments, pods, events of both groups, customresourcedefinitions), all of them in their
//!   wide form, as the server always prints (kubectl hides columns of priority > 0 unless `-o wide`);
//! - a CRD's `additionalPrinterColumns` ([`custom`]), with the JSONPath subset CRDs use;
//! - NAME/AGE for every other resource;
//! - the row's `object` as `includeObject` asks: `PartialObjectMetadata` by default, the whole
//!   object (kubectl `--sort-by` asks for it), or none;
//! - ages as kubectl shows them (`5s`, `3m2s`, `4h`, `2d5h`), against a clock the caller passes so
//!   tests are exact.
//!
//! Rendering is pure: objects in, a Table (JSON) out. [`requested`] reads what a request asks for
//! (the Accept header and `includeObject`); the list metadata (resourceVersion, continue) and when
//! to leave out the column definitions (watch events after the first) are the server's business.

mod accept;
mod builtin;
mod custom;
mod pods;

use std::borrow::Borrow;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::registry::ResourceInfo;

/// What each row carries besides its cells, from the request's `includeObject` parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object at all.
    None,
    /// The object's metadata as a `PartialObjectMetadata`: kube-apiserver's default.
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

/// kube-apiserver's wording, so a client sees the message it would see there.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("includeObject: Invalid value: {0:?}: must be 'Metadata', 'Object', 'None', or empty")]
pub struct InvalidIncludeObject(pub String);

impl IncludeObject {
    /// Reads the `includeObject` query parameter; absent or empty means the default.
    pub fn from_query(value: Option<&str>) -> Result<Self, InvalidIncludeObject> {
        match value.unwrap_or_default() {
            "" | "Metadata" => Ok(Self::Metadata),
            "None" => Ok(Self::None),
            "Object" => Ok(Self::Object),
            other => Err(InvalidIncludeObject(other.to_string())),
        }
    }
}

/// How to render: which object rows carry, the time ages are counted to, the Table's version, and
/// whether to leave out the column definitions.
#[derive(Debug, Clone, Copy)]
pub struct TableOptions {
    pub include_object: IncludeObject,
    pub now: DateTime<Utc>,
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`: the Table's apiVersion and that of the
    /// `PartialObjectMetadata` in its rows, as the Accept header asked.
    pub api_version: &'static str,
    /// No `columnDefinitions` (null, as kube-apiserver serializes them): a watch sends them with
    /// its first event only, and clients keep using those.
    pub no_headers: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            include_object: IncludeObject::default(),
            now: Utc::now(),
            api_version: "meta.k8s.io/v1",
            no_headers: false,
        }
    }
}

/// The Table options a request asks for: `None` when the first media type of its Accept header
/// that the server can produce is the plain object, else the Table version it names and the
/// `includeObject` query parameter (read only then, as kube-apiserver does).
pub fn requested(accept: &str, include_object: Option<&str>) -> Result<Option<TableOptions>, InvalidIncludeObject> {
    let Some(version) = accept::table_version(accept) else { return Ok(None) };
    Ok(Some(TableOptions {
        include_object: IncludeObject::from_query(include_object)?,
        api_version: version.api_version(),
        ..TableOptions::default()
    }))
}

/// One column definition, as `columnDefinitions` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub kind: String,
    /// `name` for the column holding the object's name, else empty.
    pub format: String,
    /// 0: always shown; higher: only with `kubectl get -o wide`.
    pub priority: u32,
}

impl Column {
    fn to_json(&self) -> Value {
        json!({ "name": self.name, "type": self.kind, "format": self.format, "description": "", "priority": self.priority })
    }
}

/// The one-row Table of a single object (a GET, a watch event), whose resourceVersion is the
/// object's, as kube-apiserver's table generator sets it.
pub fn render_object(info: &ResourceInfo, object: &Value, options: &TableOptions) -> Value {
    let metadata = match object["metadata"]["resourceVersion"].as_str() {
        Some(rv) => json!({ "resourceVersion": rv }),
        None => json!({}),
    };
    render_with(info, std::slice::from_ref(object), metadata, options)
}

/// A Table of `items` (all of `info`'s resource, owned or shared with the store) with list
/// metadata `metadata`.
pub fn render_with<T: Borrow<Value>>(
    info: &ResourceInfo,
    items: &[T],
    metadata: Value,
    options: &TableOptions,
) -> Value {
    let items = items.iter().map(Borrow::borrow);
    let (columns, cells): (Vec<Column>, Vec<Vec<Value>>) =
        if let Some(printer) = builtin::printer(&info.group, &info.resource) {
            (printer.columns(), items.clone().map(|o| (printer.cells)(o, options.now)).collect())
        } else if !info.printer_columns.is_empty() {
            let printer = custom::CustomColumns::new(&info.printer_columns);
            (printer.columns(), items.clone().map(|o| printer.cells(o, options.now)).collect())
        } else {
            let columns = vec![name_column(), column("Age", "string", 0)];
            (columns, items.clone().map(|o| vec![json!(name(o)), json!(age(o, options.now))]).collect())
        };
    let rows: Vec<Value> = items
        .zip(cells)
        .map(|(object, cells)| {
            let mut row = Map::new();
            row.insert("cells".into(), Value::Array(cells));
            match options.include_object {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    row.insert(
                        "object".into(),
                        json!({ "kind": "PartialObjectMetadata", "apiVersion": options.api_version, "metadata": object["metadata"] }),
                    );
                }
                IncludeObject::Object => {
                    row.insert("object".into(), object.clone());
                }
            }
            Value::Object(row)
        })
        .collect();
    let column_definitions =
        if options.no_headers { Value::Null } else { columns.iter().map(Column::to_json).collect() };
    json!({
        "kind": "Table",
        "apiVersion": options.api_version,
        "metadata": metadata,
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

fn column(name: &str, kind: &str, priority: u32) -> Column {
    Column { name: name.into(), kind: kind.into(), format: String::new(), priority }
}

fn name_column() -> Column {
    Column { format: "name".into(), ..column("Name", "string", 0) }
}

/// `<field>` of `value` as a string, empty when missing or not a string.
fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap_or_default()
}

fn name(object: &Value) -> &str {
    text(&object["metadata"], "name")
}

/// The object's age, as the AGE column shows it.
fn age(object: &Value, now: DateTime<Utc>) -> String {
    since(&object["metadata"]["creationTimestamp"], now)
}

/// Time from the RFC 3339 timestamp `timestamp` to `now`; `<unknown>` when there is none.
fn since(timestamp: &Value, now: DateTime<Utc>) -> String {
    match timestamp.as_str().filter(|t| !t.is_empty()).map(DateTime::parse_from_rfc3339) {
        None => "<unknown>".into(),
        Some(Err(_)) => "<invalid>".into(),
        Some(Ok(time)) => human_duration((now - time.with_timezone(&Utc)).num_seconds()),
    }
}

/// kubectl's rendering of a duration: precise while short, coarser as it grows.
pub fn human_duration(seconds: i64) -> String {
    // Up to a second in the future is clock skew between client and server, not an error.
    if seconds < -1 {
        return "<invalid>".into();
    }
    let seconds = seconds.max(0);
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    pub(super) fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    /// Options at [`now`] with the default `includeObject`.
    pub(super) fn at_now() -> TableOptions {
        TableOptions { include_object: IncludeObject::Metadata, now: now(), ..TableOptions::default() }
    }

    pub(super) fn info(group: &str, version: &str, resource: &str) -> ResourceInfo {
        Registry::default().get(group, version, resource).unwrap_or_else(|| panic!("{resource} is served")).clone()
    }

    /// The cells of row `row` as kubectl prints them (null cells as kubectl's `<none>`).
    pub(super) fn cells(table: &Value, row: usize) -> Vec<String> {
        table["rows"][row]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| match c {
                Value::String(s) => s.clone(),
                Value::Null => "<none>".into(),
                other => other.to_string(),
            })
            .collect()
    }

    /// Column names shown without `-o wide`.
    pub(super) fn headers(table: &Value) -> Vec<String> {
        table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["priority"] == 0)
            .map(|c| c["name"].as_str().unwrap().to_uppercase())
            .collect()
    }

    /// The cells of the columns shown without `-o wide`.
    pub(super) fn shown(table: &Value, row: usize) -> Vec<String> {
        let priorities: Vec<bool> =
            table["columnDefinitions"].as_array().unwrap().iter().map(|c| c["priority"] == 0).collect();
        cells(table, row).into_iter().zip(priorities).filter(|(_, shown)| *shown).map(|(c, _)| c).collect()
    }

    #[test]
    fn ages_read_like_kubectl() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (4 * 3600 + 30 * 60, "4h30m"),
            (8 * 3600 + 59 * 60, "8h"),
            (47 * 3600, "47h"),
            (2 * 86_400, "2d"),
            (2 * 86_400 + 5 * 3600, "2d5h"),
            (8 * 86_400 + 5 * 3600, "8d"),
            (729 * 86_400, "729d"),
            (2 * 365 * 86_400 + 10 * 86_400, "2y10d"),
            (9 * 365 * 86_400, "9y"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(human_duration(seconds), expected, "{seconds} seconds");
        }
    }

    #[test]
    fn age_is_unknown_without_a_creation_timestamp() {
        assert_eq!(age(&json!({ "metadata": { "name": "x" } }), now()), "<unknown>");
        assert_eq!(age(&json!({ "metadata": { "creationTimestamp": "2026-01-10T11:55:00Z" } }), now()), "5m");
    }

    #[test]
    fn other_resources_show_name_and_age() {
        let table = render_with(
            &info("", "v1", "configmaps"),
            &[json!({ "metadata": { "name": "settings", "creationTimestamp": "2026-01-10T11:59:30Z" } })],
            json!({ "resourceVersion": "7" }),
            &at_now(),
        );
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(table["metadata"]["resourceVersion"], "7");
        assert_eq!(headers(&table), ["NAME", "AGE"]);
        assert_eq!(table["columnDefinitions"][0]["format"], "name");
        assert_eq!(cells(&table, 0), ["settings", "30s"]);
    }

    #[test]
    fn rows_carry_the_object_that_include_object_asks_for() {
        let object = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "settings", "namespace": "default", "resourceVersion": "4" },
            "data": { "a": "b" },
        });
        let configmaps = info("", "v1", "configmaps");
        let render_as = |include_object| {
            render_with(
                &configmaps,
                std::slice::from_ref(&object),
                json!({}),
                &TableOptions { include_object, now: now(), ..TableOptions::default() },
            )
        };

        let partial = &render_as(IncludeObject::Metadata)["rows"][0]["object"];
        assert_eq!(partial["kind"], "PartialObjectMetadata");
        assert_eq!(partial["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(partial["metadata"]["resourceVersion"], "4");
        assert!(partial.get("data").is_none());

        assert_eq!(render_as(IncludeObject::Object)["rows"][0]["object"], object);
        assert!(render_as(IncludeObject::None)["rows"][0].get("object").is_none());
    }

    #[test]
    fn include_object_comes_from_the_query() {
        assert_eq!(IncludeObject::from_query(None), Ok(IncludeObject::Metadata));
        assert_eq!(IncludeObject::from_query(Some("")), Ok(IncludeObject::Metadata));
        assert_eq!(IncludeObject::from_query(Some("Object")), Ok(IncludeObject::Object));
        assert_eq!(IncludeObject::from_query(Some("None")), Ok(IncludeObject::None));
        assert_eq!(IncludeObject::from_query(Some("All")), Err(InvalidIncludeObject("All".into())));
    }

    #[test]
    fn one_object_is_a_one_row_table_at_its_resource_version() {
        let object = json!({ "metadata": { "name": "settings", "resourceVersion": "12", "creationTimestamp": "2026-01-10T11:59:00Z" } });
        let table = render_object(&info("", "v1", "configmaps"), &object, &at_now());
        assert_eq!(table["metadata"], json!({ "resourceVersion": "12" }));
        assert_eq!(table["rows"].as_array().map(Vec::len), Some(1));
        assert_eq!(cells(&table, 0), ["settings", "60s"]);
    }

    #[test]
    fn without_headers_the_column_definitions_are_null() {
        let options = TableOptions { no_headers: true, ..at_now() };
        let table = render_object(&info("", "v1", "configmaps"), &json!({ "metadata": { "name": "a" } }), &options);
        assert_eq!(table["columnDefinitions"], Value::Null);
        assert_eq!(cells(&table, 0), ["a", "<unknown>"]);
    }

    #[test]
    fn a_request_asks_for_a_table_by_its_accept_header() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
        assert!(
            requested("application/json", Some("Bogus")).unwrap().is_none(),
            "includeObject only matters for Tables"
        );
        let options = requested(kubectl, None).unwrap().unwrap();
        assert_eq!(
            (options.include_object, options.api_version, options.no_headers),
            (IncludeObject::Metadata, "meta.k8s.io/v1", false)
        );
        let beta = requested("application/json;as=Table;v=v1beta1;g=meta.k8s.io", Some("None")).unwrap().unwrap();
        assert_eq!((beta.include_object, beta.api_version), (IncludeObject::None, "meta.k8s.io/v1beta1"));
        let error = requested(kubectl, Some("All")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "includeObject: Invalid value: \"All\": must be 'Metadata', 'Object', 'None', or empty"
        );
    }

    #[test]
    fn a_v1beta1_table_carries_v1beta1_partial_objects() {
        let options = TableOptions { api_version: "meta.k8s.io/v1beta1", ..at_now() };
        let table = render_object(&info("", "v1", "configmaps"), &json!({ "metadata": { "name": "a" } }), &options);
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(table["rows"][0]["object"]["apiVersion"], "meta.k8s.io/v1beta1");
    }

    #[test]
    fn an_empty_list_is_a_table_with_columns_and_no_rows() {
        let table = render_with::<Value>(&info("", "v1", "services"), &[], json!({}), &at_now());
        assert_eq!(headers(&table), ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
        assert_eq!(table["rows"], json!([]));
    }
}
