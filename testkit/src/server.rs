//! The HTTP side: routes Kubernetes REST paths to the store, answers discovery, streams watches,
//! applies patches, and records every request in the audit log.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

use crate::apps;
use crate::audit::{AuditEntry, AuditLog};
use crate::deletion::DeleteOptions;
use crate::errors::ApiError;
use crate::object_locks::ObjectLocks;
use crate::patch;
use crate::pods;
use crate::protobuf;
use crate::registry::{Registry, ResourceInfo};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Part, Store};
use crate::table::TableOptions;
use crate::watch::{self, WatchRequest};
use crate::webhooks::client::ServiceRoutes;
use crate::webhooks::writes::{self, Write};
use crate::webhooks::{self, Webhooks};

pub struct ServerState {
    pub store: Arc<Store>,
    pub watches: watch::WatchControl,
    pub registry: RwLock<Registry>,
    pub audit: AuditLog,
    /// Where Services' ports lead, for webhooks configured with a Service.
    pub service_routes: ServiceRoutes,
    /// Per-object write locks, for writes that call webhooks between their read and their write.
    pub object_locks: ObjectLocks,
}

/// A parsed resource path.
struct Target {
    info: ResourceInfo,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (status, [("content-type", "application/json")], value.to_string()).into_response()
}

pub async fn handle(state: Arc<ServerState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let query: HashMap<String, String> = uri.query().map(url_decode_pairs).unwrap_or_default();
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    match discovery(&state, &segments) {
        Some(Ok(value)) => return json_response(StatusCode::OK, &value),
        Some(Err(error)) => return error.into_response(),
        None => {}
    }
    let target = match parse_target(&state, &segments) {
        Ok(target) => target,
        Err(error) => return error.into_response(),
    };
    let watching = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = match (&method, target.name.is_some(), watching) {
        (&Method::GET, _, true) => "watch",
        (&Method::GET, true, _) => "get",
        (&Method::GET, false, _) => "list",
        (&Method::POST, _, _) => "create",
        (&Method::PUT, _, _) => "update",
        (&Method::PATCH, _, _) => "patch",
        (&Method::DELETE, true, _) => "delete",
        (&Method::DELETE, false, _) => "deletecollection",
        _ => "unknown",
    };
    state.audit.record(AuditEntry {
        verb: verb.to_string(),
        group: target.info.group.clone(),
        resource: target.info.resource.clone(),
        subresource: target.subresource.clone().unwrap_or_default(),
        namespace: target.namespace.clone().unwrap_or_default(),
        user_agent: headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
    });
    let mut warnings = Vec::new();
    let request = WriteRequest { state: &state, target: &target, query: &query, headers: &headers, body: &body };
    let result = match verb {
        "watch" => return start_watch(&state, &target, &query, &headers),
        "get" => get(&state, &target, &query, &headers),
        "list" => return list(&state, &target, &query, &headers).unwrap_or_else(IntoResponse::into_response),
        "create" => create(&request, &mut warnings).await,
        "update" => update(&request, &mut warnings).await,
        "patch" => patch_object(&request, &mut warnings).await,
        "delete" => delete(&request, &mut warnings).await,
        _ => Err(ApiError::method_not_allowed(format!("{method} is not supported on this path"))),
    };
    let mut response = match result {
        Ok((status, value)) => json_response(status, &value),
        Err(error) => error.into_response(),
    };
    for warning in warnings {
        // apiserver's warning recorder: code 299, no agent, the text quoted.
        if let Ok(value) = format!("299 - {warning:?}").parse() {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

/// A write request and what admission needs of it.
struct WriteRequest<'a> {
    state: &'a ServerState,
    target: &'a Target,
    query: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

impl WriteRequest<'_> {
    /// The configured admission webhooks, unless there are none or the resource is exempt.
    fn webhooks(&self) -> Option<Webhooks<'_>> {
        if webhooks::exempt(&self.target.info) {
            return None;
        }
        Webhooks::load(&self.state.store, &self.state.service_routes)
    }

    fn write(&self) -> Write<'_> {
        Write {
            state: self.state,
            info: &self.target.info,
            namespace: namespace_of(self.target),
            name: name_of(self.target),
            subresource: self.target.subresource.as_deref().unwrap_or_default(),
            user: user_info(self.headers),
            field_manager: self.query.get("fieldManager").cloned(),
            field_validation: self.query.get("fieldValidation").cloned(),
        }
    }
}

/// Who the request is from, as webhooks are told: the user it impersonates, else anonymous (the
/// server does not authenticate; kube-apiserver calls a request without credentials
/// `system:anonymous`).
fn user_info(headers: &HeaderMap) -> Value {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let Some(username) = text("impersonate-user") else {
        return json!({ "username": "system:anonymous", "groups": ["system:unauthenticated"] });
    };
    let mut groups: Vec<String> =
        headers.get_all("impersonate-group").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
    if username != "system:anonymous" && !groups.iter().any(|g| g == "system:authenticated") {
        groups.push("system:authenticated".to_string());
    }
    let mut user = json!({ "username": username, "groups": groups });
    if let Some(uid) = text("impersonate-uid") {
        user["uid"] = json!(uid);
    }
    user
}

/// Runs an admitted write and passes on the webhooks' warnings, whatever the outcome.
async fn admitted<T>(
    webhooks: &Webhooks<'_>,
    warnings: &mut Vec<String>,
    write: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let result = write.await;
    warnings.extend(webhooks.warnings());
    result
}

/// An answer: an object shared with the store, or one made for this request (a Table).
type Reply = (StatusCode, Arc<Value>);

fn discovery(state: &ServerState, segments: &[&str]) -> Option<Result<Value, ApiError>> {
    let registry = state.registry.read().unwrap_or_else(|p| p.into_inner());
    let not_found = || ApiError::not_found("path", &segments.join("/"));
    Some(match segments {
        ["version"] => Ok(json!({
            "major": "1", "minor": "35", "gitVersion": "v1.35.0-elbow-testkit", "gitCommit": "", "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "", "compiler": "", "platform": "linux/amd64"
        })),
        ["api"] => Ok(registry.core_versions()),
        ["apis"] => Ok(registry.groups()),
        ["api", version] => registry.resource_list("", version).ok_or_else(not_found),
        ["apis", group, version] => registry.resource_list(group, version).ok_or_else(not_found),
        ["openapi", rest @ ..] => crate::openapi::document(&registry, rest).ok_or_else(not_found),
        ["healthz"] | ["readyz"] | ["livez"] => Ok(json!("ok")),
        _ => return None,
    })
}

fn parse_target(state: &ServerState, segments: &[&str]) -> Result<Target, ApiError> {
    let (group, version, rest) = match segments {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::not_found("path", &segments.join("/"))),
    };
    let registry = state.registry.read().unwrap_or_else(|p| p.into_inner());
    let lookup = |resource: &str| registry.get(group, version, resource);
    let namespaced_path = rest.len() >= 3 && rest[0] == "namespaces" && lookup(rest[2]).is_some_and(|i| i.namespaced);
    let (namespace, rest) = if namespaced_path { (Some(rest[1].to_string()), &rest[2..]) } else { (None, rest) };
    let Some(resource) = rest.first() else { return Err(ApiError::not_found("path", &segments.join("/"))) };
    let info = lookup(resource)
        .cloned()
        .ok_or_else(|| ApiError::not_found("the server could not find the requested resource", resource))?;
    if info.namespaced && namespace.is_none() && rest.len() > 1 {
        return Err(ApiError::not_found("the server could not find the requested resource", resource));
    }
    Ok(Target {
        namespace: if info.namespaced { namespace } else { None },
        name: rest.get(1).map(|s| s.to_string()),
        subresource: rest.get(2).map(|s| s.to_string()),
        info,
    })
}

fn namespace_of(target: &Target) -> &str {
    target.namespace.as_deref().unwrap_or_default()
}

fn name_of(target: &Target) -> &str {
    target.name.as_deref().unwrap_or_default()
}

fn get(
    state: &ServerState,
    target: &Target,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Reply, ApiError> {
    let table = table_options(query, headers)?;
    let object = state.store.get(&target.info, namespace_of(target), name_of(target))?;
    match target.subresource.as_deref() {
        Some("scale") if target.info.has_scale() => return Ok((StatusCode::OK, Arc::new(apps::scale_of(&object)))),
        None | Some("status") => {}
        Some(other) => return Err(ApiError::not_found("subresource", other)),
    }
    match table {
        Some(options) => Ok((StatusCode::OK, Arc::new(crate::table::render_object(&target.info, &object, &options)))),
        None => Ok((StatusCode::OK, object)),
    }
}

/// The Table the request asks for (Accept header and `includeObject`), if it asks for one.
fn table_options(query: &HashMap<String, String>, headers: &HeaderMap) -> Result<Option<TableOptions>, ApiError> {
    let accept = headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or_default();
    crate::table::requested(accept, query.get("includeObject").map(String::as_str))
        .map_err(|e| ApiError::bad_request(format!("Unable to convert to Table as requested: {e}")))
}

fn selectors(info: &ResourceInfo, query: &HashMap<String, String>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(info, query.get("fieldSelector").map(String::as_str).unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

fn list(
    state: &ServerState,
    target: &Target,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(&target.info, query)?;
    let table = table_options(query, headers)?;
    let (items, rv) = state.store.list(&target.info, target.namespace.as_deref());
    let mut items: Vec<Arc<Value>> = items.into_iter().filter(|o| labels.matches(o) && fields.matches(o)).collect();
    // Continue tokens name the last key served; the list stays in key order.
    if let Some(token) = query.get("continue").filter(|t| !t.is_empty()) {
        let after = decode_continue(token)?;
        items.retain(|o| object_key(o) > after);
    }
    let limit = query.get("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
    let mut metadata = json!({ "resourceVersion": rv.to_string() });
    if let Some(limit) = limit
        && items.len() > limit
    {
        let remaining = items.len() - limit;
        items.truncate(limit);
        metadata["continue"] = json!(encode_continue(&object_key(&items[limit - 1])));
        metadata["remainingItemCount"] = json!(remaining);
    }
    if let Some(options) = table {
        let table = crate::table::render_with(&target.info, &items, metadata, &options);
        return Ok(json_response(StatusCode::OK, &table));
    }
    let head = json!({ "kind": format!("{}List", target.info.kind), "apiVersion": target.info.api_version(), "metadata": metadata });
    Ok(json_list(&head, &items))
}

/// A list's JSON, written from the shared objects: a `json!` list would first copy every item.
fn json_list(head: &Value, items: &[Arc<Value>]) -> Response {
    use std::fmt::Write;
    let mut text = head.to_string();
    // `head` is an object: its closing brace gives way to the items.
    text.pop();
    text.push_str(",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(text, "{item}");
    }
    text.push_str("]}");
    (StatusCode::OK, [("content-type", "application/json")], text).into_response()
}

fn object_key(object: &Value) -> String {
    format!(
        "{}\u{0}{}",
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

fn encode_continue(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_continue(token: &str) -> Result<String, ApiError> {
    let bytes: Option<Vec<u8>> =
        (0..token.len()).step_by(2).map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    bytes.and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| ApiError::bad_request("invalid continue token"))
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    if protobuf::is_protobuf(body) {
        return protobuf::decode(body).map_err(|e| match e {
            protobuf::DecodeError::Malformed(_) => ApiError::bad_request(e.to_string()),
            _ => ApiError::unsupported_media_type(e.to_string()),
        });
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))
}

async fn create(request: &WriteRequest<'_>, warnings: &mut Vec<String>) -> Result<Reply, ApiError> {
    let (state, target) = (request.state, request.target);
    if target.subresource.as_deref() == Some("binding") && target.info.has_binding() {
        return bind(request);
    }
    if target.name.is_some() {
        return Err(ApiError::method_not_allowed("POST to a named object"));
    }
    let object = parse_body(request.body)?;
    let created = match request.webhooks() {
        None => state.store.create(&target.info, namespace_of(target), object)?,
        Some(hooks) => admitted(&hooks, warnings, writes::create(&request.write(), &hooks, object)).await?,
    };
    after_write(state, &target.info, &created);
    Ok((StatusCode::CREATED, created))
}

fn part(target: &Target) -> Result<Part, ApiError> {
    match target.subresource.as_deref() {
        None => Ok(Part::Main),
        Some("status") if target.info.has_status => Ok(Part::Status),
        Some(other) => Err(ApiError::not_found("subresource", other)),
    }
}

async fn update(request: &WriteRequest<'_>, warnings: &mut Vec<String>) -> Result<Reply, ApiError> {
    let (state, target) = (request.state, request.target);
    let object = parse_body(request.body)?;
    if target.subresource.as_deref() == Some("scale") && target.info.has_scale() {
        return write_scale(request, |_| Ok(object));
    }
    let part = part(target)?;
    let updated = match request.webhooks() {
        None => state.store.update(&target.info, namespace_of(target), name_of(target), object, part)?,
        Some(hooks) => {
            admitted(&hooks, warnings, writes::update(&request.write(), &hooks, part, |_| Ok(object.clone()))).await?
        }
    };
    after_write(state, &target.info, &updated);
    Ok((StatusCode::OK, updated))
}

async fn patch_object(request: &WriteRequest<'_>, warnings: &mut Vec<String>) -> Result<Reply, ApiError> {
    let (state, target, body) = (request.state, request.target, request.body);
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let apply = content_type == "application/apply-patch+yaml";
    let patch_value: Value = if apply {
        let text = std::str::from_utf8(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
        serde_saphyr::from_str(text).map_err(|e| ApiError::bad_request(format!("invalid apply body: {e}")))?
    } else {
        parse_body(body)?
    };
    if target.subresource.as_deref() == Some("scale") && target.info.has_scale() {
        return write_scale(request, |scale| {
            let mut scale = scale.clone();
            apply_patch(&content_type, &mut scale, &patch_value, "Scale", name_of(target), "")?;
            Ok(scale)
        });
    }
    let part = part(target)?;
    let (namespace, name) = (namespace_of(target), name_of(target));
    let field_manager = request.query.get("fieldManager").cloned().unwrap_or_else(|| "unknown".to_string());
    let exists = state.store.get(&target.info, namespace, name).is_ok();
    let hooks = request.webhooks();
    if apply && !exists && part == Part::Main {
        // Server-side apply of a new object is a create.
        let mut object = patch_value;
        record_manager(&mut object, &field_manager, "Apply");
        object["metadata"]["name"] = json!(name);
        let created = match &hooks {
            None => state.store.create(&target.info, namespace, object)?,
            Some(hooks) => admitted(hooks, warnings, writes::create(&request.write(), hooks, object)).await?,
        };
        after_write(state, &target.info, &created);
        return Ok((StatusCode::CREATED, created));
    }
    let change = |current: &Value| {
        let mut object = current.clone();
        apply_patch(&content_type, &mut object, &patch_value, &target.info.kind, name, &field_manager)?;
        Ok(object)
    };
    let updated = match &hooks {
        None => state.store.modify(&target.info, namespace, name, part, change)?,
        Some(hooks) => admitted(hooks, warnings, writes::update(&request.write(), hooks, part, change)).await?,
    };
    after_write(state, &target.info, &updated);
    Ok((StatusCode::OK, updated))
}

/// Applies a PATCH body of `content_type` to `object` (of `kind`, named `name`). A patch never
/// carries a precondition unless it says so in the body, so the object's resourceVersion goes
/// unless the patch names one.
fn apply_patch(
    content_type: &str,
    object: &mut Value,
    patch_value: &Value,
    kind: &str,
    name: &str,
    field_manager: &str,
) -> Result<(), ApiError> {
    // The uid is immutable: a patch naming another one (a client's precondition that this is
    // still the object it read) is refused as kube-apiserver's object-meta validation does.
    if let Some(uid) = patch_value["metadata"]["uid"].as_str().filter(|uid| !uid.is_empty())
        && object["metadata"]["uid"].as_str() != Some(uid)
    {
        return Err(ApiError::invalid(
            kind,
            name,
            format!("metadata.uid: Invalid value: \"{uid}\": field is immutable"),
        ));
    }
    match content_type {
        "application/merge-patch+json" => patch::merge(object, patch_value),
        "application/json-patch+json" => {
            patch::json_patch(object, patch_value).map_err(|e| ApiError::invalid(kind, name, e))?
        }
        "application/strategic-merge-patch+json" => patch::strategic(object, patch_value),
        "application/apply-patch+yaml" => {
            patch::merge(object, patch_value);
            record_manager(object, field_manager, "Apply");
        }
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format: {other}"
            )));
        }
    }
    if patch_value["metadata"]["resourceVersion"].is_null()
        && let Some(m) = object["metadata"].as_object_mut()
    {
        m.remove("resourceVersion");
    }
    Ok(())
}

/// A write of a Deployment's or ReplicaSet's `scale` subresource: `change` makes the new Scale
/// from the current one, whose replicas the object then takes; the answer is the new Scale.
/// Admission webhooks are not called for it (see docs/testkit.md).
fn write_scale(
    request: &WriteRequest<'_>,
    change: impl FnOnce(&Value) -> Result<Value, ApiError>,
) -> Result<Reply, ApiError> {
    let (state, target) = (request.state, request.target);
    let updated = state.store.modify(&target.info, namespace_of(target), name_of(target), Part::Main, |current| {
        let scale = change(&apps::scale_of(current))?;
        apps::apply_scale(&target.info, current, &scale)
    })?;
    Ok((StatusCode::OK, Arc::new(apps::scale_of(&updated))))
}

/// `POST .../pods/<name>/binding`: the scheduler assigns the pod a node (see `pods::bind`).
/// Admission webhooks are not called for it (see docs/testkit.md).
fn bind(request: &WriteRequest<'_>) -> Result<Reply, ApiError> {
    let (state, target) = (request.state, request.target);
    let binding = parse_body(request.body)?;
    let name = name_of(target);
    if let Some(named) = binding["metadata"]["name"].as_str().filter(|n| *n != name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({named}) does not match the name on the URL ({name})"
        )));
    }
    state.store.modify(&target.info, namespace_of(target), name, Part::All, |pod| pods::bind(pod, &binding))?;
    Ok((StatusCode::CREATED, Arc::new(pods::bound_status())))
}

/// Server-side apply without field ownership: the manager is recorded, conflicts are not.
fn record_manager(object: &mut Value, manager: &str, operation: &str) {
    let entry = json!({ "manager": manager, "operation": operation, "apiVersion": object["apiVersion"].clone(), "time": crate::store::now(), "fieldsType": "FieldsV1", "fieldsV1": {} });
    let fields = object["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    let mut fields: Vec<Value> = fields.into_iter().filter(|f| f["manager"] != json!(manager)).collect();
    fields.push(entry);
    object["metadata"]["managedFields"] = json!(fields);
}

async fn delete(request: &WriteRequest<'_>, warnings: &mut Vec<String>) -> Result<Reply, ApiError> {
    let (state, target) = (request.state, request.target);
    let options = delete_options(request);
    let deleted = match request.webhooks() {
        None => {
            let parsed = DeleteOptions::from_json(&options);
            state.store.delete_with(&target.info, namespace_of(target), name_of(target), &parsed)?
        }
        Some(hooks) => admitted(&hooks, warnings, writes::delete(&request.write(), &hooks, options)).await?,
    };
    if target.info.resource == "customresourcedefinitions" && deleted["metadata"]["deletionTimestamp"].is_null() {
        let group = deleted["spec"]["group"].as_str().unwrap_or_default();
        let plural = deleted["spec"]["names"]["plural"].as_str().unwrap_or_default();
        state.registry.write().unwrap_or_else(|p| p.into_inner()).remove_group_resource(group, plural);
    }
    Ok((StatusCode::OK, deleted))
}

/// The DeleteOptions of a request: its body's (kubectl sends one), then the query's.
fn delete_options(request: &WriteRequest<'_>) -> Value {
    let mut options = serde_json::from_slice::<Value>(request.body).ok().filter(Value::is_object).unwrap_or(json!({}));
    for field in ["propagationPolicy", "gracePeriodSeconds", "dryRun"] {
        if let Some(value) = request.query.get(field) {
            options[field] = match field {
                "gracePeriodSeconds" => value.parse::<i64>().map(|v| json!(v)).unwrap_or(json!(value)),
                "dryRun" => json!([value]),
                _ => json!(value),
            };
        }
    }
    options["kind"] = json!("DeleteOptions");
    options["apiVersion"] = json!("meta.k8s.io/v1");
    options
}

/// Side effects of writes: a CRD starts serving its resources.
fn after_write(state: &ServerState, info: &ResourceInfo, object: &Value) {
    if info.group == "apiextensions.k8s.io" && info.resource == "customresourcedefinitions" {
        let mut registry = state.registry.write().unwrap_or_else(|p| p.into_inner());
        for served in Registry::from_crd(object) {
            registry.add(served);
        }
    }
}

fn start_watch(state: &ServerState, target: &Target, query: &HashMap<String, String>, headers: &HeaderMap) -> Response {
    let parsed = selectors(&target.info, query).and_then(|(l, f)| Ok((l, f, table_options(query, headers)?)));
    let (labels, fields, table) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return error.into_response(),
    };
    let fields = match &target.name {
        Some(name) => FieldSelector::named(name),
        None => fields,
    };
    let since = query.get("resourceVersion").filter(|v| !v.is_empty()).and_then(|v| v.parse::<u64>().ok());
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let request = WatchRequest {
        info: target.info.clone(),
        namespace: target.namespace.clone(),
        labels,
        fields,
        since,
        send_initial_events: query.get("sendInitialEvents").is_some_and(|v| v == "true"),
        bookmarks: query.get("allowWatchBookmarks").is_some_and(|v| v == "true" || v == "1"),
        timeout,
        table,
    };
    let events = watch::start(state.store.clone(), state.watches.clone(), request);
    (StatusCode::OK, [("content-type", "application/json")], Body::from_stream(ReceiverStream::new(events)))
        .into_response()
}

fn url_decode_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}
