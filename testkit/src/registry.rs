//! The resources the server serves: the built-in ones Elbow, kubectl and a rendered Helm chart
//! use, and those of CustomResourceDefinitions created at run time.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::{Value, json};

use crate::events::EventApi;

/// One served resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// "" for the core group.
    pub group: String,
    pub version: String,
    /// The plural, as in the URL.
    pub resource: String,
    pub kind: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    pub has_status: bool,
    /// CRD printer columns, `(name, type, jsonPath)`.
    pub printer_columns: Vec<(String, String, String)>,
}

impl ResourceInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The key the store files objects under: one for all versions of a resource, and one for
    /// both Event APIs, which kube-apiserver keeps in one storage.
    pub fn key(&self) -> String {
        let storage = self.storage();
        format!("{}/{}", storage.group, storage.resource)
    }

    /// The resource whose form objects of this one are stored in: core/v1 Events for
    /// events.k8s.io/v1 Events, else this resource itself.
    pub fn storage(&self) -> Cow<'_, ResourceInfo> {
        match EventApi::of(self) {
            Some(EventApi::EventsV1) => Cow::Owned(core_events()),
            _ => Cow::Borrowed(self),
        }
    }

    /// An object as a client sent it to this resource, in the form it is stored in.
    pub fn to_storage(&self, object: Value) -> Value {
        match EventApi::of(self) {
            Some(api) => crate::events::convert(&object, api, EventApi::Core),
            None => object,
        }
    }

    /// A stored object in the form this resource serves, borrowed when the forms are the same.
    pub fn served<'a>(&self, object: &'a Value) -> Cow<'a, Value> {
        match EventApi::of(self) {
            Some(EventApi::EventsV1) => Cow::Owned(crate::events::convert(object, EventApi::Core, EventApi::EventsV1)),
            _ => Cow::Borrowed(object),
        }
    }

    /// Whether this is one of the server's own resources rather than one a CRD declared.
    pub fn is_builtin(&self) -> bool {
        static BUILTIN: LazyLock<Registry> = LazyLock::new(Registry::default);
        BUILTIN.get(&self.group, &self.version, &self.resource).is_some()
    }

    fn discovery_entry(&self) -> Vec<Value> {
        let verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
        let mut entries = vec![json!({
            "name": self.resource,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
            "shortNames": self.short_names,
        })];
        if self.has_status {
            entries.push(json!({
                "name": format!("{}/status", self.resource),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        // Subresources of another kind name its group and version, which is how kubectl's scale
        // client finds the Scale it reads and writes.
        if self.has_scale() {
            entries.push(json!({
                "name": format!("{}/scale", self.resource),
                "singularName": "",
                "namespaced": self.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }));
        }
        if self.has_binding() {
            entries.push(json!({
                "name": format!("{}/binding", self.resource),
                "singularName": "",
                "namespaced": true,
                "kind": "Binding",
                "verbs": ["create"],
            }));
        }
        entries
    }

    /// Whether the resource serves the `scale` subresource (apps/v1 Deployments and ReplicaSets).
    pub fn has_scale(&self) -> bool {
        crate::apps::is_workload(self)
    }

    /// Whether the resource serves the `binding` subresource (Pods, for the scheduler).
    pub fn has_binding(&self) -> bool {
        self.group.is_empty() && self.resource == "pods" && self.is_builtin()
    }
}

fn builtin(
    group: &str,
    version: &str,
    resource: &str,
    kind: &str,
    short: &[&str],
    namespaced: bool,
    has_status: bool,
) -> ResourceInfo {
    ResourceInfo {
        group: group.into(),
        version: version.into(),
        resource: resource.into(),
        kind: kind.into(),
        singular: kind.to_lowercase(),
        short_names: short.iter().map(|s| s.to_string()).collect(),
        namespaced,
        has_status,
        printer_columns: Vec::new(),
    }
}

/// core/v1 Events: served as themselves and as events.k8s.io/v1 Events, and stored in this form.
fn core_events() -> ResourceInfo {
    builtin("", "v1", "events", "Event", &["ev"], true, false)
}

/// Every resource served, by `(group, version, resource)`.
#[derive(Debug, Clone)]
pub struct Registry {
    resources: BTreeMap<(String, String, String), ResourceInfo>,
}

impl Default for Registry {
    fn default() -> Self {
        let all = [
            builtin("", "v1", "namespaces", "Namespace", &["ns"], false, true),
            builtin("", "v1", "services", "Service", &["svc"], true, true),
            builtin("", "v1", "nodes", "Node", &["no"], false, true),
            builtin("", "v1", "endpoints", "Endpoints", &["ep"], true, false),
            core_events(),
            builtin("", "v1", "configmaps", "ConfigMap", &["cm"], true, false),
            builtin("", "v1", "secrets", "Secret", &[], true, false),
            builtin("", "v1", "serviceaccounts", "ServiceAccount", &["sa"], true, false),
            builtin("", "v1", "pods", "Pod", &["po"], true, true),
            builtin("apps", "v1", "deployments", "Deployment", &["deploy"], true, true),
            builtin("apps", "v1", "replicasets", "ReplicaSet", &["rs"], true, true),
            builtin("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", &[], true, false),
            builtin("networking.k8s.io", "v1", "ingresses", "Ingress", &["ing"], true, true),
            builtin("networking.k8s.io", "v1", "ingressclasses", "IngressClass", &[], false, false),
            builtin("coordination.k8s.io", "v1", "leases", "Lease", &[], true, false),
            builtin("events.k8s.io", "v1", "events", "Event", &["ev"], true, false),
            builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", &[], true, false),
            builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", &[], true, false),
            builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", &[], false, false),
            builtin("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", &[], false, false),
            builtin("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", &["pdb"], true, true),
            builtin(
                "admissionregistration.k8s.io",
                "v1",
                "mutatingwebhookconfigurations",
                "MutatingWebhookConfiguration",
                &[],
                false,
                false,
            ),
            builtin(
                "admissionregistration.k8s.io",
                "v1",
                "validatingwebhookconfigurations",
                "ValidatingWebhookConfiguration",
                &[],
                false,
                false,
            ),
            builtin(
                "apiextensions.k8s.io",
                "v1",
                "customresourcedefinitions",
                "CustomResourceDefinition",
                &["crd", "crds"],
                false,
                true,
            ),
        ];
        let mut registry = Self { resources: BTreeMap::new() };
        for info in all {
            registry.add(info);
        }
        registry
    }
}

impl Registry {
    pub fn add(&mut self, info: ResourceInfo) {
        self.resources.insert((info.group.clone(), info.version.clone(), info.resource.clone()), info);
    }

    pub fn remove_group_resource(&mut self, group: &str, resource: &str) {
        self.resources.retain(|(g, _, r), _| !(g == group && r == resource));
    }

    /// Every resource served, by group, version and resource.
    pub fn all(&self) -> impl Iterator<Item = &ResourceInfo> {
        self.resources.values()
    }

    pub fn get(&self, group: &str, version: &str, resource: &str) -> Option<&ResourceInfo> {
        self.resources.get(&(group.to_string(), version.to_string(), resource.to_string()))
    }

    /// The resources a CRD object declares, one per served version.
    pub fn from_crd(crd: &Value) -> Vec<ResourceInfo> {
        let spec = &crd["spec"];
        let names = &spec["names"];
        let group = spec["group"].as_str().unwrap_or_default();
        let mut infos = Vec::new();
        for version in spec["versions"].as_array().cloned().unwrap_or_default() {
            if version["served"] == json!(false) {
                continue;
            }
            let columns = version["additionalPrinterColumns"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_string(),
                        c["type"].as_str().unwrap_or("string").to_string(),
                        c["jsonPath"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let kind = names["kind"].as_str().unwrap_or_default();
            infos.push(ResourceInfo {
                group: group.to_string(),
                version: version["name"].as_str().unwrap_or_default().to_string(),
                resource: names["plural"].as_str().unwrap_or_default().to_string(),
                kind: kind.to_string(),
                singular: names["singular"].as_str().map(str::to_string).unwrap_or_else(|| kind.to_lowercase()),
                short_names: names["shortNames"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                    .unwrap_or_default(),
                namespaced: spec["scope"].as_str() != Some("Cluster"),
                has_status: !version["subresources"]["status"].is_null(),
                printer_columns: columns,
            });
        }
        infos
    }

    /// `/api`
    pub fn core_versions(&self) -> Value {
        json!({ "kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1" }] })
    }

    /// `/apis`
    pub fn groups(&self) -> Value {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (group, version, _) in self.resources.keys() {
            if !group.is_empty() {
                let versions = groups.entry(group).or_default();
                if !versions.contains(&version.as_str()) {
                    versions.push(version);
                }
            }
        }
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|(group, versions)| {
                let versions: Vec<Value> =
                    versions.iter().map(|v| json!({ "groupVersion": format!("{group}/{v}"), "version": v })).collect();
                json!({ "name": group, "versions": versions, "preferredVersion": versions[0] })
            })
            .collect();
        json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
    }

    /// `/api/v1` or `/apis/<group>/<version>`; `None` when nothing is served there.
    pub fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let resources: Vec<Value> = self
            .resources
            .values()
            .filter(|r| r.group == group && r.version == version)
            .flat_map(ResourceInfo::discovery_entry)
            .collect();
        if resources.is_empty() {
            return None;
        }
        let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
        Some(
            json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources }),
        )
    }
}
