//! The OpenAPI v3 documents kubectl reads before it writes, generated from the registry so they
//! follow CRDs as they come and go.
//!
//! What kubectl v1.35 does with them:
//! - `apply`, `create` and `replace` validate with `--validate=strict` by default. Before sending
//!   an object, kubectl fetches `/openapi/v3` and the document of the object's group-version, and
//!   looks for a PATCH operation tagged with the object's group-version-kind that takes the
//!   `fieldValidation` query parameter. If it finds one, it leaves validation to the server and
//!   sends `fieldValidation=Strict`; otherwise it validates on its side against `/openapi/v2`,
//!   which this server does not serve (kubectl then fails with "failed to download openapi").
//! - Client-side `apply` of an existing object asks the same document whether the kind accepts
//!   strategic merge patches (the PATCH operation's request body types). If it does, kubectl
//!   looks for a component schema tagged with the kind to compute the patch; finding none, it
//!   tries `/openapi/v2` (a 404 it ignores) and falls back to the Go types compiled into it,
//!   which carry the same merge keys. Kinds without strategic merge (CRD-defined ones) get a
//!   JSON merge patch. So the documents carry operations, not object schemas.
//!
//! The server accepts `fieldValidation` but does not reject unknown or duplicate fields: objects
//! are stored as sent, whatever the directive.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use crate::registry::{Registry, ResourceInfo};

/// The request body types the server applies on PATCH, strategic merge aside.
const PATCH_TYPES: [&str; 3] =
    ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"];

/// Only built-in kinds take strategic merge patches, as in Kubernetes: they have Go types with
/// merge keys, custom resources do not.
const STRATEGIC_MERGE: &str = "application/strategic-merge-patch+json";

const PATCH_SCHEMA: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";

/// The answer for `/openapi/<rest>`: the v3 discovery document or one group-version's document;
/// `None` for anything else, `/openapi/v2` included.
pub fn document(registry: &Registry, rest: &[&str]) -> Option<Value> {
    match rest {
        ["v3"] => Some(discovery(registry)),
        ["v3", "api", version] => group_version(registry, "", version),
        ["v3", "apis", group, version] => group_version(registry, group, version),
        _ => None,
    }
}

/// `/openapi/v3`: every served group-version with the URL of its document. The URL carries a
/// hash of the document, so a client caching by URL sees a new one when a CRD changes it.
pub fn discovery(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for ((group, version), resources) in by_group_version(registry) {
        let path = api_path(&group, &version);
        let hash = content_hash(&render(&resources));
        paths.insert(path.clone(), json!({ "serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}") }));
    }
    json!({ "paths": paths })
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`; `None` when nothing is served there.
pub fn group_version(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    by_group_version(registry).remove(&(group.to_string(), version.to_string())).map(|resources| render(&resources))
}

/// `api/v1` or `apis/<group>/<version>`: the key kubectl looks a group-version up by.
fn api_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// Every served resource by group-version, read through the registry's discovery answers.
fn by_group_version(registry: &Registry) -> BTreeMap<(String, String), Vec<ResourceInfo>> {
    let strings = |value: &Value, field: &str| -> Vec<String> {
        value.as_array().into_iter().flatten().filter_map(|v| v[field].as_str().map(str::to_string)).collect()
    };
    let mut group_versions: Vec<(String, String)> = registry.core_versions()["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(|v| (String::new(), v.to_string())))
        .collect();
    for group in registry.groups()["groups"].as_array().into_iter().flatten() {
        let name = group["name"].as_str().unwrap_or_default();
        group_versions.extend(strings(&group["versions"], "version").into_iter().map(|v| (name.to_string(), v)));
    }
    let mut served = BTreeMap::new();
    for (group, version) in group_versions {
        let Some(list) = registry.resource_list(&group, &version) else { continue };
        let resources: Vec<ResourceInfo> = strings(&list["resources"], "name")
            .iter()
            // Subresources ("services/status") come with their resource.
            .filter(|name| !name.contains('/'))
            .filter_map(|name| registry.get(&group, &version, name).cloned())
            .collect();
        if !resources.is_empty() {
            served.insert((group, version), resources);
        }
    }
    served
}

fn content_hash(document: &Value) -> String {
    let mut hasher = DefaultHasher::new();
    document.to_string().hash(&mut hasher);
    format!("{:016X}", hasher.finish())
}

/// One group-version's document: the operations the server answers for each of its resources.
fn render(resources: &[ResourceInfo]) -> Value {
    // Built-in resources are the ones a fresh registry serves.
    static BUILTIN: LazyLock<Registry> = LazyLock::new(Registry::default);
    let mut paths = Map::new();
    for info in resources {
        let strategic = BUILTIN.get(&info.group, &info.version, &info.resource).is_some();
        for (path, item) in resource_paths(info, strategic) {
            paths.insert(path, item);
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": "v1.35.0-elbow-testkit" },
        "paths": paths,
        "components": { "schemas": { PATCH_SCHEMA: {
            "type": "object",
            "description": "The body of a PATCH request, in the format its content type names."
        } } },
    })
}

/// The paths of one resource: its collection, its objects, and their status when it has one.
fn resource_paths(info: &ResourceInfo, strategic: bool) -> Vec<(String, Value)> {
    let prefix = format!("/{}", api_path(&info.group, &info.version));
    let collection = if info.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", info.resource)
    } else {
        format!("{prefix}/{}", info.resource)
    };
    let object = format!("{collection}/{{name}}");
    let op = Operation { info, strategic };
    let scope = if info.namespaced { "Namespaced" } else { "" };
    let mut paths = vec![
        (
            collection.clone(),
            path_item(
                info.namespaced.then(|| path_parameter("namespace")),
                [("get", op.list(scope, "")), ("post", op.create(scope))],
            ),
        ),
        (
            object.clone(),
            path_item(
                Some(path_parameter("name")).into_iter().chain(info.namespaced.then(|| path_parameter("namespace"))),
                [
                    ("get", op.read(scope, "")),
                    ("put", op.replace(scope, "")),
                    ("patch", op.patch(scope, "")),
                    ("delete", op.delete(scope)),
                ],
            ),
        ),
    ];
    if info.namespaced {
        // Namespaced resources are also listed across namespaces.
        paths
            .push((format!("{prefix}/{}", info.resource), path_item(None, [("get", op.list("", "ForAllNamespaces"))])));
    }
    if info.has_status {
        paths.push((
            format!("{object}/status"),
            path_item(
                Some(path_parameter("name")).into_iter().chain(info.namespaced.then(|| path_parameter("namespace"))),
                [
                    ("get", op.read(scope, "Status")),
                    ("put", op.replace(scope, "Status")),
                    ("patch", op.patch(scope, "Status")),
                ],
            ),
        ));
    }
    paths
}

fn path_item<const N: usize>(parameters: impl IntoIterator<Item = Value>, operations: [(&str, Value); N]) -> Value {
    let mut item = Map::new();
    let parameters: Vec<Value> = parameters.into_iter().collect();
    if !parameters.is_empty() {
        item.insert("parameters".into(), json!(parameters));
    }
    for (method, operation) in operations {
        item.insert(method.into(), operation);
    }
    Value::Object(item)
}

fn path_parameter(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string", "uniqueItems": true } })
}

/// The query parameters the server reads, by name.
fn query_parameter(name: &str) -> Value {
    let (kind, description) = match name {
        "fieldManager" => ("string", "The name of the actor making the change, recorded in managedFields."),
        "fieldValidation" => {
            ("string", "Ignore, Warn or Strict. Accepted; this server stores objects as sent whatever the directive.")
        }
        "force" => ("boolean", "Server-side apply: take fields from other managers (no conflicts are detected)."),
        "labelSelector" => ("string", "Only objects whose labels match."),
        "fieldSelector" => ("string", "Only objects whose fields match."),
        "limit" => ("integer", "At most this many objects; the rest by the continue token."),
        "continue" => ("string", "The token of the previous page."),
        "resourceVersion" => ("string", "For watches: the version to start after."),
        "watch" => ("boolean", "Stream changes instead of listing."),
        "allowWatchBookmarks" => ("boolean", "Watches: send BOOKMARK events."),
        "sendInitialEvents" => ("boolean", "Watches: start with the current objects."),
        "timeoutSeconds" => ("integer", "Watches: end after this long."),
        _ => ("string", ""),
    };
    json!({ "name": name, "in": "query", "description": description, "schema": { "type": kind, "uniqueItems": true } })
}

/// Builds the operations of one resource, tagged as Kubernetes tags them.
struct Operation<'a> {
    info: &'a ResourceInfo,
    strategic: bool,
}

impl Operation<'_> {
    fn build(&self, action: &str, id: String, query: &[&str], body: Option<Value>, responses: &[&str]) -> Value {
        let mut operation = json!({
            "operationId": id,
            "tags": [tag(&self.info.group, &self.info.version)],
            "responses": responses
                .iter()
                .map(|code| (code.to_string(), json!({ "description": if *code == "201" { "Created" } else { "OK" } })))
                .collect::<Map<_, _>>(),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": {
                "group": self.info.group, "version": self.info.version, "kind": self.info.kind
            },
        });
        if !query.is_empty() {
            operation["parameters"] = query.iter().map(|name| query_parameter(name)).collect();
        }
        if let Some(body) = body {
            operation["requestBody"] = body;
        }
        operation
    }

    fn id(&self, verb: &str, scope: &str, suffix: &str) -> String {
        format!(
            "{verb}{}{}{scope}{}{suffix}",
            group_word(&self.info.group),
            upper_first(&self.info.version),
            self.info.kind
        )
    }

    fn object_body(&self) -> Value {
        json!({ "required": true, "content": { "application/json": { "schema": {
            "type": "object", "description": format!("A {}.", self.info.kind)
        } } } })
    }

    fn list(&self, scope: &str, suffix: &str) -> Value {
        let query = [
            "labelSelector",
            "fieldSelector",
            "limit",
            "continue",
            "resourceVersion",
            "watch",
            "allowWatchBookmarks",
            "sendInitialEvents",
            "timeoutSeconds",
        ];
        self.build("list", self.id("list", scope, suffix), &query, None, &["200"])
    }

    fn create(&self, scope: &str) -> Value {
        let query = ["fieldManager", "fieldValidation"];
        self.build("post", self.id("create", scope, ""), &query, Some(self.object_body()), &["201"])
    }

    fn read(&self, scope: &str, suffix: &str) -> Value {
        self.build("get", self.id("read", scope, suffix), &[], None, &["200"])
    }

    fn replace(&self, scope: &str, suffix: &str) -> Value {
        let query = ["fieldManager", "fieldValidation"];
        self.build("put", self.id("replace", scope, suffix), &query, Some(self.object_body()), &["200"])
    }

    fn patch(&self, scope: &str, suffix: &str) -> Value {
        let schema = json!({ "$ref": format!("#/components/schemas/{PATCH_SCHEMA}") });
        let mut content: Map<String, Value> =
            PATCH_TYPES.iter().map(|t| (t.to_string(), json!({ "schema": schema.clone() }))).collect();
        if self.strategic {
            content.insert(STRATEGIC_MERGE.to_string(), json!({ "schema": schema }));
        }
        let body = json!({ "required": true, "content": content });
        let query = ["fieldManager", "fieldValidation", "force"];
        self.build("patch", self.id("patch", scope, suffix), &query, Some(body), &["200", "201"])
    }

    fn delete(&self, scope: &str) -> Value {
        self.build("delete", self.id("delete", scope, ""), &[], None, &["200"])
    }
}

/// `core_v1`, `apps_v1`, `networking_v1`, `com_example_v1`: the tag Kubernetes files operations under.
fn tag(group: &str, version: &str) -> String {
    let words = group_words(group);
    format!("{}_{version}", words.join("_"))
}

/// `Core`, `Apps`, `RbacAuthorization`, `ComExample`: the group in operation names, which drops
/// `.k8s.io` and reverses other domains.
fn group_word(group: &str) -> String {
    group_words(group).iter().map(|w| upper_first(w)).collect()
}

fn group_words(group: &str) -> Vec<String> {
    if group.is_empty() {
        return vec!["core".into()];
    }
    match group.strip_suffix(".k8s.io") {
        Some(short) => short.split('.').map(str::to_string).collect(),
        None if group.contains('.') => group.split('.').rev().map(str::to_string).collect(),
        None => vec![group.to_string()],
    }
}

fn upper_first(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widgets_crd(kinds: &[&str]) -> Vec<ResourceInfo> {
        kinds
            .iter()
            .flat_map(|kind| {
                let plural = format!("{}s", kind.to_lowercase());
                Registry::from_crd(&json!({ "spec": {
                    "group": "example.com",
                    "scope": "Namespaced",
                    "names": { "kind": kind, "plural": plural, "singular": kind.to_lowercase() },
                    "versions": [{ "name": "v1", "served": true, "storage": true, "subresources": { "status": {} } }]
                } }))
            })
            .collect()
    }

    /// The PATCH operations of `doc` tagged with the kind, by path.
    fn patch_operations<'a>(doc: &'a Value, group: &str, version: &str, kind: &str) -> Vec<(&'a str, &'a Value)> {
        let gvk = json!({ "group": group, "version": version, "kind": kind });
        doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .filter_map(|(path, item)| item.get("patch").map(|op| (path.as_str(), op)))
            .filter(|(_, op)| op["x-kubernetes-group-version-kind"] == gvk)
            .collect()
    }

    fn has_query_parameter(operation: &Value, name: &str) -> bool {
        operation["parameters"].as_array().unwrap().iter().any(|p| p["name"] == name && p["in"] == "query")
    }

    #[test]
    fn discovery_lists_every_served_group_version_with_its_document_url() {
        let registry = Registry::default();
        let paths = discovery(&registry)["paths"].as_object().unwrap().clone();
        for key in ["api/v1", "apis/apps/v1", "apis/networking.k8s.io/v1", "apis/apiextensions.k8s.io/v1"] {
            let url = paths[key]["serverRelativeURL"].as_str().unwrap();
            assert!(url.starts_with(&format!("/openapi/v3/{key}?hash=")), "{key}: {url}");
        }
        assert!(!paths.contains_key("apis/example.com/v1"));
        let groups = registry.groups()["groups"].as_array().unwrap().len();
        assert_eq!(paths.len(), groups + 1, "{paths:?}");
    }

    #[test]
    fn a_crd_adds_its_group_version_and_a_second_kind_changes_the_hash() {
        let mut registry = Registry::default();
        let before = discovery(&registry);
        for info in widgets_crd(&["Widget"]) {
            registry.add(info);
        }
        let with_widgets = discovery(&registry);
        let url = |d: &Value| d["paths"]["apis/example.com/v1"]["serverRelativeURL"].as_str().map(str::to_string);
        assert_eq!(url(&before), None);
        assert!(url(&with_widgets).is_some());
        // The built-in documents did not change, so neither did their URLs.
        assert_eq!(before["paths"]["apis/apps/v1"], with_widgets["paths"]["apis/apps/v1"]);

        for info in widgets_crd(&["Gadget"]) {
            registry.add(info);
        }
        assert_ne!(url(&discovery(&registry)), url(&with_widgets));
        let doc = group_version(&registry, "example.com", "v1").unwrap();
        assert_eq!(patch_operations(&doc, "example.com", "v1", "Gadget").len(), 2);
    }

    #[test]
    fn every_patch_operation_takes_field_validation_for_its_kind() {
        let mut registry = Registry::default();
        for info in widgets_crd(&["Widget"]) {
            registry.add(info);
        }
        let served = by_group_version(&registry);
        for ((group, version), resources) in &served {
            let doc = group_version(&registry, group, version).unwrap();
            for info in resources {
                let patches = patch_operations(&doc, group, version, &info.kind);
                let expected = if info.has_status { 2 } else { 1 };
                assert_eq!(patches.len(), expected, "{group}/{version} {}", info.kind);
                for (path, op) in patches {
                    assert!(has_query_parameter(op, "fieldValidation"), "{path}");
                    assert_eq!(op["x-kubernetes-action"], "patch", "{path}");
                }
            }
        }
    }

    #[test]
    fn strategic_merge_is_offered_for_built_in_kinds_only() {
        let mut registry = Registry::default();
        for info in widgets_crd(&["Widget"]) {
            registry.add(info);
        }
        let content_types = |group: &str, kind: &str| -> Vec<String> {
            let doc = group_version(&registry, group, "v1").unwrap();
            let (_, op) = patch_operations(&doc, group, "v1", kind)[0];
            op["requestBody"]["content"].as_object().unwrap().keys().cloned().collect()
        };
        let service = content_types("", "Service");
        assert!(service.contains(&STRATEGIC_MERGE.to_string()), "{service:?}");
        assert!(service.contains(&"application/merge-patch+json".to_string()), "{service:?}");
        let widget = content_types("example.com", "Widget");
        assert!(!widget.contains(&STRATEGIC_MERGE.to_string()), "{widget:?}");
        assert!(widget.contains(&"application/apply-patch+yaml".to_string()), "{widget:?}");
    }

    #[test]
    fn paths_are_the_ones_the_server_routes() {
        let registry = Registry::default();
        let core = group_version(&registry, "", "v1").unwrap();
        let paths = core["paths"].as_object().unwrap();
        assert!(paths.contains_key("/api/v1/namespaces/{namespace}/services/{name}"));
        assert!(paths.contains_key("/api/v1/namespaces/{namespace}/services/{name}/status"));
        assert!(paths.contains_key("/api/v1/services"));
        assert!(paths.contains_key("/api/v1/namespaces/{name}"));
        assert!(paths.contains_key("/api/v1/namespaces/{name}/status"));
        assert!(!paths.contains_key("/api/v1/namespaces/{namespace}/configmaps/{name}/status"));
        let apps = group_version(&registry, "apps", "v1").unwrap();
        let patch = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
        assert_eq!(patch["tags"], json!(["apps_v1"]));
        // Patch bodies point at a schema the document holds.
        let reference = patch["requestBody"]["content"]["application/merge-patch+json"]["schema"]["$ref"].as_str();
        let name = reference.unwrap().trim_start_matches("#/components/schemas/");
        assert!(apps["components"]["schemas"][name].is_object(), "{name}");
    }

    #[test]
    fn documents_answer_v3_paths_only() {
        let registry = Registry::default();
        assert!(document(&registry, &["v3"]).is_some_and(|d| d["paths"]["api/v1"].is_object()));
        assert!(document(&registry, &["v3", "api", "v1"]).is_some_and(|d| d["openapi"] == "3.0.0"));
        assert!(document(&registry, &["v3", "apis", "apps", "v1"]).is_some());
        assert_eq!(document(&registry, &["v3", "apis", "example.com", "v1"]), None);
        assert_eq!(document(&registry, &["v3", "api", "v2"]), None);
        assert_eq!(document(&registry, &["v2"]), None);
    }

    #[test]
    fn operation_names_follow_kubernetes() {
        assert_eq!(group_word(""), "Core");
        assert_eq!(group_word("rbac.authorization.k8s.io"), "RbacAuthorization");
        assert_eq!(group_word("example.com"), "ComExample");
        assert_eq!(tag("networking.k8s.io", "v1"), "networking_v1");
    }
}
