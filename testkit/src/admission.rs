//! What kube-apiserver's registries and admission plugins do to objects on the way in, as far as
//! controllers rely on it: Service defaults, clusterIP and unique nodePort allocation (30000-32767,
//! requested ports kept, taken ones refused), healthCheckNodePort for `externalTrafficPolicy:
//! Local`, the `loadBalancerClass` rules, releasing ports when the type changes, the
//! DefaultIngressClass plugin, a namespace's `Active` phase, the pod and apps/v1 workload rules
//! (`pods`, `apps`: defaults, a fresh status, validation), and the status kube-apiserver's CRD
//! controllers give a CustomResourceDefinition once its resources are served (see `crd_status`),
//! and the validation and defaults of admission webhook configurations (see `webhooks::config`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::RangeInclusive;
use std::sync::Arc;

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
    /// The same, by owner: what one Service holds is found without scanning every port in use
    /// (20,000 of them in a benchmark of 10,000 Services).
    held_by: HashMap<String, BTreeSet<u16>>,
    next_node_port: u16,
    next_cluster_ip: u32,
}

impl AdmissionState {
    pub fn new(node_port_range: RangeInclusive<u16>) -> Self {
        Self {
            node_port_range,
            node_ports: BTreeMap::new(),
            held_by: HashMap::new(),
            next_node_port: 0,
            next_cluster_ip: 0,
        }
    }

    /// Whether `port` belongs to a Service other than `owner`.
    fn taken_by_other(&self, port: u16, owner: &str) -> bool {
        self.node_ports.get(&port).is_some_and(|o| o != owner)
    }

    /// Makes `held` exactly the ports `owner` holds, giving back the others it held.
    fn hold(&mut self, owner: &str, held: BTreeSet<u16>) {
        for port in self.held_by.remove(owner).unwrap_or_default().difference(&held) {
            self.node_ports.remove(port);
        }
        for port in &held {
            self.node_ports.insert(*port, owner.to_string());
        }
        if !held.is_empty() {
            self.held_by.insert(owner.to_string(), held);
        }
    }
}

impl Default for AdmissionState {
    fn default() -> Self {
        Self::new(DEFAULT_NODE_PORT_RANGE)
    }
}

type Objects = HashMap<String, BTreeMap<(String, String), Arc<Value>>>;

pub fn admit(
    state: &mut AdmissionState,
    objects: &Objects,
    info: &ResourceInfo,
    old: Option<&Value>,
    new: &mut Value,
) -> Result<(), ApiError> {
    match (info.group.as_str(), info.resource.as_str()) {
        ("", "services") => admit_service(state, old, new),
        ("", "pods") => {
            crate::pods::admit(old, new);
            Ok(())
        }
        ("apps", "deployments" | "replicasets") if crate::apps::is_workload(info) => crate::apps::admit(info, old, new),
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
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations" | "validatingwebhookconfigurations") => {
            crate::webhooks::config::admit_configuration(info, new)
        }
        _ => Ok(()),
    }
}

/// The defaults kube-apiserver gives an object as it decodes it (for a Service,
/// `SetDefaults_Service`): what mutating admission webhooks already see, and what is given again
/// after each webhook's patch. Allocation (cluster IP, node ports) comes later, in `admit`.
pub fn defaults(info: &ResourceInfo, object: &mut Value) {
    if !object.is_object() {
        return;
    }
    if info.group.is_empty() && info.resource == "pods" {
        crate::pods::spec_defaults(&mut object["spec"]);
    }
    if crate::apps::is_workload(info) {
        crate::apps::defaults(info, object);
    }
    if info.group.is_empty() && info.resource == "services" {
        let spec = &mut object["spec"];
        if !spec.is_object() {
            *spec = json!({});
        }
        let kind = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
        spec["type"] = json!(kind);
        service_spec_defaults(spec, &kind);
    }
}

fn service_spec_defaults(spec: &mut Value, kind: &str) {
    if spec["sessionAffinity"].is_null() {
        spec["sessionAffinity"] = json!("None");
    }
    if spec["internalTrafficPolicy"].is_null() {
        spec["internalTrafficPolicy"] = json!("Cluster");
    }
    let external = matches!(kind, "NodePort" | "LoadBalancer");
    if external && spec["externalTrafficPolicy"].is_null() {
        spec["externalTrafficPolicy"] = json!("Cluster");
    }
    if kind == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"].is_null() {
        spec["allocateLoadBalancerNodePorts"] = json!(true);
    }
    if let Some(ports) = spec["ports"].as_array_mut() {
        for port in ports.iter_mut().filter(|p| p.is_object()) {
            if port["protocol"].is_null() {
                port["protocol"] = json!("TCP");
            }
            if port["targetPort"].is_null() {
                port["targetPort"] = port["port"].clone();
            }
        }
    }
}

/// The built-in mutating admission plugins, which kube-apiserver runs before mutating webhooks
/// (and once more after them when a webhook changed the object): here DefaultIngressClass.
/// `admit` runs them too, so writes without webhooks get them in one step; they change nothing
/// the second time.
pub fn plugins(objects: &Objects, info: &ResourceInfo, creating: bool, object: &mut Value) {
    if creating && info.group == "networking.k8s.io" && info.resource == "ingresses" && object.is_object() {
        default_ingress_class(objects, object);
    }
}

/// What one write holds of the node ports between being admitted and being written (or given up):
/// the ports its Service held before and those it holds after. Until the write is settled it
/// holds both, so a port it gives up is not handed to another Service before the write is made.
#[derive(Debug, Default)]
pub struct Reservation {
    held: Option<(String, BTreeSet<u16>, BTreeSet<u16>)>,
}

/// `admit` for a write that is not made at once: what the object now holds stays reserved
/// beside what it held before, until `settle`.
pub fn admit_reserving(
    state: &mut AdmissionState,
    objects: &Objects,
    info: &ResourceInfo,
    old: Option<&Value>,
    new: &mut Value,
) -> Result<Reservation, ApiError> {
    if !(info.group.is_empty() && info.resource == "services") {
        admit(state, objects, info, old, new)?;
        return Ok(Reservation::default());
    }
    let owner = owner(new);
    let before = state.held_by.get(&owner).cloned().unwrap_or_default();
    admit(state, objects, info, old, new)?;
    let after = state.held_by.get(&owner).cloned().unwrap_or_default();
    state.hold(&owner, before.union(&after).copied().collect());
    Ok(Reservation { held: Some((owner, before, after)) })
}

/// Ends a reservation: the ports after the write when it was made, else those before it.
pub fn settle(state: &mut AdmissionState, reservation: Reservation, written: bool) {
    if let Some((owner, before, after)) = reservation.held {
        state.hold(&owner, if written { after } else { before });
    }
}

/// Gives back what a deleted object held.
pub fn released(state: &mut AdmissionState, info: &ResourceInfo, removed: &Value) {
    if info.group.is_empty() && info.resource == "services" {
        state.hold(&owner(removed), BTreeSet::new());
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

    service_spec_defaults(spec, &kind);
    let external = matches!(kind.as_str(), "NodePort" | "LoadBalancer");
    if !external && let Some(s) = spec.as_object_mut() {
        s.remove("externalTrafficPolicy");
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
    let old_ports: &[Value] = old_spec.and_then(|s| s["ports"].as_array()).map_or(&[], Vec::as_slice);
    // Ports are held only once the whole Service is admitted: a refused write holds nothing new.
    let mut held: BTreeSet<u16> = BTreeSet::new();
    // Taken out and put back below; a refused Service is dropped whole, so nothing is lost.
    let mut ports = match spec["ports"].take() {
        Value::Array(ports) => ports,
        _ => Vec::new(),
    };
    let mut by_number: BTreeMap<i64, u16> = BTreeMap::new();
    for port in &mut ports {
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
                if state.taken_by_other(p, &owner) {
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
                    None => allocate(state, &held)
                        .ok_or_else(|| invalid("spec.ports.nodePort: no free node port".into()))?,
                }
            }
        };
        by_number.insert(number, node_port);
        port["nodePort"] = json!(node_port);
        held.insert(node_port);
    }
    // Moved back, not `json!`, which would copy every port through serde.
    spec["ports"] = Value::Array(ports);

    // The health-check node port of a LoadBalancer Service with externalTrafficPolicy: Local.
    let local = kind == "LoadBalancer" && spec["externalTrafficPolicy"] == json!("Local");
    if local {
        let port = match spec["healthCheckNodePort"].as_u64().and_then(|p| u16::try_from(p).ok()) {
            Some(p) if state.taken_by_other(p, &owner) => {
                return Err(invalid(format!(
                    "spec.healthCheckNodePort: Invalid value: {p}: provided port is already allocated"
                )));
            }
            Some(p) => p,
            None => {
                allocate(state, &held).ok_or_else(|| invalid("spec.healthCheckNodePort: no free node port".into()))?
            }
        };
        spec["healthCheckNodePort"] = json!(port);
        held.insert(port);
    } else if let Some(s) = spec.as_object_mut() {
        s.remove("healthCheckNodePort");
    }

    // Hold exactly the ports this Service now uses.
    state.hold(&owner, held);
    if new["status"].is_null() {
        new["status"] = json!({ "loadBalancer": {} });
    }
    Ok(())
}

/// The next free node port, skipping those in use and those this admission already picked
/// (`picked`).
fn allocate(state: &mut AdmissionState, picked: &BTreeSet<u16>) -> Option<u16> {
    let (start, end) = (*state.node_port_range.start(), *state.node_port_range.end());
    let size = u32::from(end - start) + 1;
    for _ in 0..size {
        let candidate = start + (u32::from(state.next_node_port) % size) as u16;
        state.next_node_port = ((u32::from(state.next_node_port) + 1) % size) as u16;
        if !state.node_ports.contains_key(&candidate) && !picked.contains(&candidate) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn services() -> ResourceInfo {
        Registry::default().get("", "v1", "services").cloned().unwrap_or_else(|| panic!("services are served"))
    }

    /// A LoadBalancer Service `name` in `default` with one port per entry of `node_ports`
    /// (`None`: let the server pick).
    fn service(name: &str, node_ports: &[Option<u16>]) -> Value {
        let ports: Vec<Value> = node_ports
            .iter()
            .enumerate()
            .map(|(i, node_port)| {
                let mut port = json!({ "port": 80 + i, "targetPort": 8080 });
                if let Some(node_port) = node_port {
                    port["nodePort"] = json!(node_port);
                }
                port
            })
            .collect();
        json!({ "metadata": { "name": name, "namespace": "default" }, "spec": { "type": "LoadBalancer", "ports": ports } })
    }

    fn create(state: &mut AdmissionState, name: &str, node_ports: &[Option<u16>]) -> Result<Vec<u16>, ApiError> {
        let mut object = service(name, node_ports);
        admit(state, &Objects::new(), &services(), None, &mut object)?;
        Ok(node_ports_of(&object))
    }

    fn node_ports_of(object: &Value) -> Vec<u16> {
        object["spec"]["ports"]
            .as_array()
            .map(|ports| ports.iter().filter_map(|p| p["nodePort"].as_u64()).map(|p| p as u16).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_refused_service_holds_none_of_the_ports_picked_for_it() {
        let mut state = AdmissionState::new(31000..=31002);
        assert_eq!(create(&mut state, "a", &[Some(31000)]).unwrap(), [31000]);
        // Its first port would get 31001; its second asks for a taken one, so all is refused.
        let refused = create(&mut state, "b", &[None, Some(31000)]).unwrap_err();
        assert_eq!(refused.code, 422, "{}", refused.message);
        let mut rest = [create(&mut state, "c", &[None]).unwrap(), create(&mut state, "d", &[None]).unwrap()].concat();
        rest.sort();
        assert_eq!(rest, [31001, 31002], "both free ports are still free");
    }

    #[test]
    fn ports_return_when_a_service_is_deleted_or_drops_them() {
        let mut state = AdmissionState::new(31000..=31001);
        let mut both = service("both", &[None, None]);
        admit(&mut state, &Objects::new(), &services(), None, &mut both).unwrap();
        assert_eq!(node_ports_of(&both), [31000, 31001]);
        assert!(create(&mut state, "late", &[None]).is_err(), "the range is full");

        // An update keeping only the first port gives the second back.
        let mut one = both.clone();
        if let Some(ports) = one["spec"]["ports"].as_array_mut() {
            ports.truncate(1);
        }
        admit(&mut state, &Objects::new(), &services(), Some(&both), &mut one).unwrap();
        assert_eq!(node_ports_of(&one), [31000], "the kept port keeps its node port");
        assert_eq!(create(&mut state, "late", &[None]).unwrap(), [31001]);

        released(&mut state, &services(), &one);
        assert_eq!(create(&mut state, "later", &[Some(31000)]).unwrap(), [31000], "deleting frees its ports");
    }
}
