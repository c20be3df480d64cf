//! What kube-apiserver's registries and admission plugins do to objects on the way in, as far as
//! controllers rely on it: Service defaults, clusterIP and unique nodePort allocation (30000-32767,
//! requested ports kept, taken ones refused), healthCheckNodePort for `externalTrafficPolicy:
//! Local`, the `loadBalancerClass` rules, releasing ports when the type changes, the
//! DefaultIngressClass plugin, a namespace's `Active` phase, and the status kube-apiserver's CRD
//! controllers give a CustomResourceDefinition once its resources are served (see `crd_status`).

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::registry::ResourceInfo;

/// kube-apiserver's default `--service-node-port-range`.
pub const DEFAULT_NODE_PORT_RANGE: RangeInclusive<u16> = 30000..=32767;

#[derive(Debug)]
pub struct AdmissionState {
    /// `--service-node-port-range`.
    node_port_range: RangeInclusive<u16>,
    /// Node ports in use, by owning Service (`namespace/name`).
    node_ports: BTreeMap<u16, String>,
    next_node_port: u16,
    next_cluster_ip: u32,
}

impl AdmissionState {
    pub fn new(node_port_range: RangeInclusive<u16>) -> Self {
        Self { node_port_range, node_ports: BTreeMap::new(), next_node_port: 0, next_cluster_ip: 0 }
    }
}

impl Default for AdmissionState {
    fn default() -> Self {
        Self::new(DEFAULT_NODE_PORT_RANGE)
    }
}

type Objects = HashMap<String, BTreeMap<(String, String), Value>>;

pub fn admit(
    state: &mut AdmissionState,
    objects: &Objects,
    info: &ResourceInfo,
    old: Option<&Value>,
    new: &mut Value,
) -> Result<(), ApiError> {
    match (info.group.as_str(), info.resource.as_str()) {
        ("", "services") => admit_service(state, old, new),
        ("networking.k8s.io", "ingresses") if old.is_none() => {
            default_ingress_class(objects, new);
            Ok(())
        }
        ("", "namespaces") if old.is_none() => {
            new_namespace(new);
            Ok(())
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            crd_status(old, new);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Gives back what a deleted object held.
pub fn released(state: &mut AdmissionState, info: &ResourceInfo, removed: &Value) {
    if info.group.is_empty() && info.resource == "services" {
        let owner = owner(removed);
        state.node_ports.retain(|_, o| *o != owner);
    }
}

fn owner(service: &Value) -> String {
    format!(
        "{}/{}",
        service["metadata"]["namespace"].as_str().unwrap_or_default(),
        service["metadata"]["name"].as_str().unwrap_or_default()
    )
}

fn admit_service(state: &mut AdmissionState, old: Option<&Value>, new: &mut Value) -> Result<(), ApiError> {
    let name = new["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let invalid = |detail: String| ApiError::invalid("Service", &name, detail);
    let owner = owner(new);
    let spec = &mut new["spec"];
    if !spec.is_object() {
        *spec = json!({});
    }
    let kind = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    spec["type"] = json!(kind);
    let old_spec = old.map(|o| &o["spec"]);
    let old_kind = old_spec.and_then(|s| s["type"].as_str()).unwrap_or("ClusterIP");

    // loadBalancerClass: only on LoadBalancer Services, immutable, wiped when the type changes.
    if kind != "LoadBalancer" {
        if old_kind == "LoadBalancer" {
            if let Some(s) = spec.as_object_mut() {
                s.remove("loadBalancerClass");
                s.remove("allocateLoadBalancerNodePorts");
            }
        } else if spec["loadBalancerClass"].is_string() {
            return Err(invalid(
                "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'".into(),
            ));
        }
    } else if let Some(old_spec) = old_spec
        && old_kind == "LoadBalancer"
        && old_spec["loadBalancerClass"] != spec["loadBalancerClass"]
    {
        return Err(invalid("spec.loadBalancerClass: Invalid value: field is immutable".into()));
    }

    // Defaults.
    if spec["sessionAffinity"].is_null() {
        spec["sessionAffinity"] = json!("None");
    }
    if spec["internalTrafficPolicy"].is_null() {
        spec["internalTrafficPolicy"] = json!("Cluster");
    }
    let external = matches!(kind.as_str(), "NodePort" | "LoadBalancer");
    if external && spec["externalTrafficPolicy"].is_null() {
        spec["externalTrafficPolicy"] = json!("Cluster");
    }
    if !external && let Some(s) = spec.as_object_mut() {
        s.remove("externalTrafficPolicy");
    }
    if kind == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"].is_null() {
        spec["allocateLoadBalancerNodePorts"] = json!(true);
    }
    let cluster_ip = match old_spec
        .map(|s| s["clusterIP"].clone())
        .filter(Value::is_string)
        .or_else(|| spec["clusterIP"].as_str().map(|s| json!(s)))
    {
        Some(ip) => ip,
        None if kind == "ExternalName" => Value::Null,
        None => {
            state.next_cluster_ip += 1;
            json!(format!("10.96.{}.{}", (state.next_cluster_ip / 250) % 250, state.next_cluster_ip % 250 + 1))
        }
    };
    if !cluster_ip.is_null() {
        spec["clusterIP"] = cluster_ip.clone();
        spec["clusterIPs"] = json!([cluster_ip]);
        spec["ipFamilies"] = json!(["IPv4"]);
        spec["ipFamilyPolicy"] = json!("SingleStack");
    }

    // Ports: protocol and targetPort defaults, node ports.
    let wants_node_ports =
        kind == "NodePort" || (kind == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"] != json!(false));
    let old_ports: Vec<Value> = old_spec.and_then(|s| s["ports"].as_array().cloned()).unwrap_or_default();
    let mut held: BTreeMap<u16, ()> = BTreeMap::new();
    let mut ports = spec["ports"].as_array().cloned().unwrap_or_default();
    let mut by_number: BTreeMap<i64, u16> = BTreeMap::new();
    for port in &mut ports {
        if port["protocol"].is_null() {
            port["protocol"] = json!("TCP");
        }
        if port["targetPort"].is_null() {
            port["targetPort"] = port["port"].clone();
        }
        if !wants_node_ports && (kind == "ClusterIP" || kind == "ExternalName" || port["nodePort"].is_null()) {
            if let Some(p) = port.as_object_mut() {
                p.remove("nodePort");
            }
            continue;
        }
        let number = port["port"].as_i64().unwrap_or_default();
        let requested = port["nodePort"].as_u64().and_then(|p| u16::try_from(p).ok());
        let node_port = match requested {
            Some(p) => {
                let range = &state.node_port_range;
                if !range.contains(&p) {
                    return Err(invalid(format!(
                        "spec.ports.nodePort: Invalid value: {p}: provided port is not in the valid range. The range of valid ports is {}-{}",
                        range.start(),
                        range.end()
                    )));
                }
                if state.node_ports.get(&p).is_some_and(|o| *o != owner) {
                    return Err(invalid(format!(
                        "spec.ports.nodePort: Invalid value: {p}: provided port is already allocated"
                    )));
                }
                p
            }
            None => {
                let protocol = port["protocol"].clone();
                let kept = old_ports
                    .iter()
                    .find(|o| o["port"] == port["port"] && o["protocol"] == protocol)
                    .and_then(|o| o["nodePort"].as_u64())
                    .and_then(|p| u16::try_from(p).ok());
                match kept.or_else(|| by_number.get(&number).copied()) {
                    Some(p) => p,
                    None => allocate(state, &owner)
                        .ok_or_else(|| invalid("spec.ports.nodePort: no free node port".into()))?,
                }
            }
        };
        by_number.insert(number, node_port);
        port["nodePort"] = json!(node_port);
        held.insert(node_port, ());
    }
    spec["ports"] = json!(ports);

    // The health-check node port of a LoadBalancer Service with externalTrafficPolicy: Local.
    let local = kind == "LoadBalancer" && spec["externalTrafficPolicy"] == json!("Local");
    if local {
        let port = match spec["healthCheckNodePort"].as_u64().and_then(|p| u16::try_from(p).ok()) {
            Some(p) if state.node_ports.get(&p).is_some_and(|o| *o != owner) => {
                return Err(invalid(format!(
                    "spec.healthCheckNodePort: Invalid value: {p}: provided port is already allocated"
                )));
            }
            Some(p) => p,
            None => {
                allocate(state, &owner).ok_or_else(|| invalid("spec.healthCheckNodePort: no free node port".into()))?
            }
        };
        spec["healthCheckNodePort"] = json!(port);
        held.insert(port, ());
    } else if let Some(s) = spec.as_object_mut() {
        s.remove("healthCheckNodePort");
    }

    // Hold exactly the ports this Service now uses.
    state.node_ports.retain(|port, o| *o != owner || held.contains_key(port));
    for port in held.keys() {
        state.node_ports.insert(*port, owner.clone());
    }
    if new["status"].is_null() {
        new["status"] = json!({ "loadBalancer": {} });
    }
    Ok(())
}

fn allocate(state: &mut AdmissionState, owner: &str) -> Option<u16> {
    let (start, end) = (*state.node_port_range.start(), *state.node_port_range.end());
    let size = u32::from(end - start) + 1;
    for _ in 0..size {
        let candidate = start + (u32::from(state.next_node_port) % size) as u16;
        state.next_node_port = ((u32::from(state.next_node_port) + 1) % size) as u16;
        if let std::collections::btree_map::Entry::Vacant(slot) = state.node_ports.entry(candidate) {
            slot.insert(owner.to_string());
            return Some(candidate);
        }
    }
    None
}

/// DefaultIngressClass: an Ingress created without a class (field or legacy annotation) gets the
/// one IngressClass annotated as default, if exactly one is.
fn default_ingress_class(objects: &Objects, ingress: &mut Value) {
    if ingress["spec"]["ingressClassName"].is_string()
        || ingress["metadata"]["annotations"]["kubernetes.io/ingress.class"].is_string()
    {
        return;
    }
    let defaults: Vec<&str> = objects
        .get("networking.k8s.io/ingressclasses")
        .map(|classes| {
            classes
                .values()
                .filter(|c| {
                    c["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == json!("true")
                })
                .filter_map(|c| c["metadata"]["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    if let [only] = defaults.as_slice() {
        if !ingress["spec"].is_object() {
            ingress["spec"] = json!({});
        }
        ingress["spec"]["ingressClassName"] = json!(only);
    }
}

/// The namespace registry's create rules: a new namespace is `Active` whatever status the client
/// sent, and carries the `kubernetes` finalizer (spec.finalizers) of the namespace controller.
fn new_namespace(namespace: &mut Value) {
    namespace["status"] = json!({ "phase": "Active" });
    if !namespace["spec"].is_object() {
        namespace["spec"] = json!({});
    }
    let mut finalizers = namespace["spec"]["finalizers"].as_array().cloned().unwrap_or_default();
    if !finalizers.contains(&json!("kubernetes")) {
        finalizers.push(json!("kubernetes"));
    }
    namespace["spec"]["finalizers"] = json!(finalizers);
}

/// What kube-apiserver does to a CRD on every write, done at once because this server serves a
/// CRD's resources as soon as it is written: the registry defaults `singular` and `listKind` and
/// records the storage version in `status.storedVersions`; the naming controller accepts the names
/// (`acceptedNames`, condition `NamesAccepted`) and the establishing controller marks the CRD
/// `Established`, which `kubectl wait --for=condition=Established` and clients waiting for the new
/// resource look for. Name conflicts between CRDs are not detected: names are always accepted.
fn crd_status(old: Option<&Value>, crd: &mut Value) {
    let names = &mut crd["spec"]["names"];
    let kind = names["kind"].as_str().unwrap_or_default().to_string();
    if names["singular"].as_str().is_none_or(str::is_empty) {
        names["singular"] = json!(kind.to_lowercase());
    }
    if names["listKind"].as_str().is_none_or(str::is_empty) && !kind.is_empty() {
        names["listKind"] = json!(format!("{kind}List"));
    }
    let accepted = names.clone();

    // A new CRD's status is the server's alone; later, status writes may change storedVersions
    // (that is how a migration drops a version) and other writes keep the stored status.
    if old.is_none() || !crd["status"].is_object() {
        crd["status"] = json!({});
    }
    let mut stored: Vec<Value> = crd["status"]["storedVersions"].as_array().cloned().unwrap_or_default();
    let storage = crd["spec"]["versions"]
        .as_array()
        .and_then(|versions| versions.iter().find(|v| v["storage"] == json!(true)))
        .map(|v| v["name"].clone());
    if let Some(storage) = storage
        && !stored.contains(&storage)
    {
        stored.push(storage);
    }
    let status = &mut crd["status"];
    status["acceptedNames"] = accepted;
    status["storedVersions"] = json!(stored);
    let mut conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    set_condition(&mut conditions, "NamesAccepted", "NoConflicts", "no conflicts found");
    set_condition(&mut conditions, "Established", "InitialNamesAccepted", "the initial names have been accepted");
    status["conditions"] = json!(conditions);
}

/// Sets condition `kind` to True, keeping its lastTransitionTime when it already was True.
fn set_condition(conditions: &mut Vec<Value>, kind: &str, reason: &str, message: &str) {
    let since = conditions
        .iter()
        .find(|c| c["type"] == json!(kind) && c["status"] == json!("True"))
        .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string))
        .unwrap_or_else(crate::store::now);
    let condition = json!({
        "type": kind, "status": "True", "reason": reason, "message": message, "lastTransitionTime": since,
    });
    match conditions.iter_mut().find(|c| c["type"] == json!(kind)) {
        Some(existing) => *existing = condition,
        None => conditions.push(condition),
    }
}
