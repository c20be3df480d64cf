//! The EndpointSlice controller: for each Service with a selector, `discovery.k8s.io/v1`
//! EndpointSlices of the pods it selects, as kube-controller-manager writes them:
//!
//! - labelled `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by:
//!   endpointslice-controller.k8s.io` (and the Service's own labels), controlled by the Service,
//!   named `<service>-<random>`, addressType IPv4;
//! - one slice per set of resolved ports (a named targetPort is looked up in each pod's
//!   containers, so pods that name a port differently land in different slices), at most 100
//!   endpoints each, the ports named as the Service's;
//! - an endpoint per pod with an address: `ready` (Ready and not terminating), `serving` (Ready),
//!   `terminating`, `nodeName`, `zone`, `targetRef` to the pod; pods that finished are left out;
//! - existing slices updated in place as pods come, go or change readiness, and an empty
//!   placeholder slice when the Service selects no pod.
//!
//! Slices that other controllers (or people) write, without the managed-by label, are left alone.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client};

use super::objects::{self, name, namespace, uid};

pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
pub const CONTROLLER: &str = "endpointslice-controller.k8s.io";
const HEADLESS: &str = "service.kubernetes.io/headless";
const MAX_ENDPOINTS: usize = 100;

struct Context {
    client: Client,
    nodes: Store<Node>,
}

pub async fn run(client: Client, nodes: Store<Node>) {
    let controller = Controller::new(Api::<Service>::all(client.clone()), watcher::Config::default())
        .owns(Api::<EndpointSlice>::all(client.clone()), watcher::Config::default());
    let services = controller.store();
    // A pod's change concerns the Services of its namespace that select pods (cheaper to
    // reconcile them all than to know which selected the pod before its labels changed).
    let controller =
        controller.watches(Api::<Pod>::all(client.clone()), watcher::Config::default(), move |pod: Pod| {
            let namespace = pod.metadata.namespace.clone();
            services
                .state()
                .into_iter()
                .filter(|s| s.metadata.namespace == namespace && objects::map_selector(selector_of(s)).is_some())
                .map(|s| ObjectRef::from_obj(s.as_ref()))
                .collect::<Vec<_>>()
        });
    let context = Arc::new(Context { client, nodes });
    controller
        .run(reconcile, |_, _, _| Action::requeue(super::RETRY), context)
        .for_each(|_| futures::future::ready(()))
        .await;
}

fn selector_of(service: &Service) -> Option<&BTreeMap<String, String>> {
    service.spec.as_ref()?.selector.as_ref()
}

async fn reconcile(service: Arc<Service>, ctx: Arc<Context>) -> Result<Action, kube::Error> {
    let external_name = service.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("ExternalName");
    // Services without a selector get their slices from someone else; a deleted one's go with it.
    let Some(selector) = objects::map_selector(selector_of(&service)) else { return Ok(Action::await_change()) };
    if external_name || service.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = namespace(&service.metadata);
    let pods =
        Api::<Pod>::namespaced(ctx.client.clone(), ns).list(&ListParams::default().labels_from(&selector)).await?;
    let slices: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), ns);
    let managed = format!("{SERVICE_NAME}={},{MANAGED_BY}={CONTROLLER}", name(&service.metadata));
    let existing = slices.list(&ListParams::default().labels(&managed)).await?.items;
    let nodes = |node: &str| ctx.nodes.get(&ObjectRef::new(node));
    let desired = desired_endpoints(&service, &pods.items, nodes);
    let plan = plan(&service, &existing, desired);
    for slice in &plan.create {
        slices.create(&PostParams::default(), slice).await?;
    }
    for slice in &plan.update {
        slices.replace(name(&slice.metadata), &PostParams::default(), slice).await?;
    }
    for slice in &plan.delete {
        match slices.delete(slice, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(error) => return Err(error),
        }
    }
    Ok(Action::await_change())
}

/// The endpoints a Service should have, grouped by the ports they resolve to.
type Desired = BTreeMap<String, (Vec<EndpointPort>, Vec<Endpoint>)>;

/// Each pod with an address that has not finished, as an endpoint under the ports its containers
/// resolve the Service's ports to. Pods on a Node that does not exist are left out (unless the
/// Service publishes addresses that are not ready), as kube-controller-manager leaves them out.
fn desired_endpoints(service: &Service, pods: &[Pod], node: impl Fn(&str) -> Option<Arc<Node>>) -> Desired {
    let spec = service.spec.clone().unwrap_or_default();
    let publish_not_ready = spec.publish_not_ready_addresses == Some(true);
    let mut pods: Vec<&Pod> = pods.iter().filter(|p| !objects::is_terminal(p)).collect();
    pods.sort_by_key(|p| name(&p.metadata).to_string());
    let mut desired = Desired::new();
    for pod in pods {
        let status = pod.status.clone().unwrap_or_default();
        let mut addresses: Vec<String> = status.pod_ips.iter().flatten().map(|ip| ip.ip.clone()).collect();
        if addresses.is_empty() {
            addresses.extend(status.pod_ip.clone());
        }
        addresses.retain(|a| a.parse::<std::net::Ipv4Addr>().is_ok());
        if addresses.is_empty() {
            continue;
        }
        let node_name = pod.spec.as_ref().and_then(|s| s.node_name.clone()).filter(|n| !n.is_empty());
        let node = node_name.as_deref().and_then(&node);
        if node.is_none() && !publish_not_ready {
            continue;
        }
        let serving = objects::is_ready(pod);
        let terminating = objects::is_terminating(pod);
        let hostname = pod.spec.as_ref().and_then(|s| {
            let named = s.hostname.as_ref().filter(|h| !h.is_empty())?;
            (s.subdomain.as_deref() == service.metadata.name.as_deref()).then(|| named.clone())
        });
        let endpoint = Endpoint {
            addresses,
            conditions: Some(EndpointConditions {
                ready: Some(publish_not_ready || (serving && !terminating)),
                serving: Some(serving),
                terminating: Some(terminating),
            }),
            hostname,
            node_name,
            zone: node.and_then(|n| n.metadata.labels.as_ref()?.get("topology.kubernetes.io/zone").cloned()),
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                namespace: pod.metadata.namespace.clone(),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
                ..ObjectReference::default()
            }),
            ..Endpoint::default()
        };
        let ports: Vec<EndpointPort> =
            spec.ports.iter().flatten().filter_map(|port| endpoint_port(port, pod)).collect();
        let key = serde_json::to_string(&ports).unwrap_or_default();
        desired.entry(key).or_insert_with(|| (ports, Vec::new())).1.push(endpoint);
    }
    desired
}

/// A Service port as the pod serves it (`FindPort`): a numbered targetPort as it is, a named one
/// from the pod's containers (and sidecars) with that name and protocol; `None` when the pod has
/// no such port.
fn endpoint_port(port: &ServicePort, pod: &Pod) -> Option<EndpointPort> {
    let protocol = port.protocol.clone().unwrap_or_else(|| "TCP".into());
    let number = match port.target_port.clone().unwrap_or(IntOrString::Int(port.port)) {
        IntOrString::Int(n) => n,
        IntOrString::String(wanted) => {
            let spec = pod.spec.as_ref()?;
            let sidecars =
                spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers.iter().chain(sidecars).flat_map(|c| c.ports.iter().flatten()).find_map(|p| {
                (p.name.as_deref() == Some(wanted.as_str()) && p.protocol.as_deref().unwrap_or("TCP") == protocol)
                    .then_some(p.container_port)
            })?
        }
    };
    Some(EndpointPort {
        name: Some(port.name.clone().unwrap_or_default()),
        port: Some(number),
        protocol: Some(protocol),
        app_protocol: port.app_protocol.clone(),
    })
}

/// The writes that bring a Service's slices to the desired endpoints.
#[derive(Debug, Default)]
struct Plan {
    create: Vec<EndpointSlice>,
    update: Vec<EndpointSlice>,
    /// Names.
    delete: Vec<String>,
}

fn plan(service: &Service, existing: &[EndpointSlice], mut desired: Desired) -> Plan {
    let mut plan = Plan::default();
    let labels = slice_labels(service);
    let owned = |slice: &EndpointSlice| {
        slice.metadata.owner_references.iter().flatten().any(|r| r.uid == uid(&service.metadata) && r.kind == "Service")
    };
    let mut by_ports: BTreeMap<String, Vec<EndpointSlice>> = BTreeMap::new();
    for slice in existing {
        if owned(slice) {
            let key = serde_json::to_string(slice.ports.as_deref().unwrap_or_default()).unwrap_or_default();
            by_ports.entry(key).or_default().push(slice.clone());
        } else {
            plan.delete.push(name(&slice.metadata).to_string());
        }
    }
    for (key, slices) in &by_ports {
        if !desired.contains_key(key) {
            plan.delete.extend(slices.iter().map(|s| name(&s.metadata).to_string()));
        }
    }
    let mut kept = 0;
    for (key, (ports, endpoints)) in std::mem::take(&mut desired) {
        let mut slices = by_ports.remove(&key).unwrap_or_default();
        slices.sort_by_key(|s| name(&s.metadata).to_string());
        let identity = |e: &Endpoint| e.target_ref.as_ref().and_then(|r| r.uid.clone()).unwrap_or_default();
        let mut wanted: BTreeMap<String, Endpoint> = endpoints.into_iter().map(|e| (identity(&e), e)).collect();
        let mut changed: Vec<bool> = Vec::new();
        // Endpoints stay in the slice they are in, brought up to date; gone ones leave.
        for slice in &mut slices {
            let before = slice.endpoints.clone();
            slice.endpoints = before.iter().filter_map(|e| wanted.remove(&identity(e))).collect();
            changed.push(slice.endpoints != before || slice.metadata.labels.as_ref() != Some(&labels));
        }
        // New ones fill the slices with room, then new slices.
        for endpoint in wanted.into_values() {
            match slices.iter().position(|s| s.endpoints.len() < MAX_ENDPOINTS) {
                Some(i) => {
                    slices[i].endpoints.push(endpoint);
                    changed[i] = true;
                }
                None => {
                    let mut slice = new_slice(service, &labels, ports.clone());
                    slice.endpoints.push(endpoint);
                    slices.push(slice);
                    changed.push(true);
                }
            }
        }
        for (slice, changed) in slices.into_iter().zip(changed) {
            if slice.endpoints.is_empty() && slice.metadata.name.is_some() {
                plan.delete.push(name(&slice.metadata).to_string());
                continue;
            }
            kept += 1;
            let mut slice = slice;
            slice.metadata.labels = Some(labels.clone());
            match (slice.metadata.name.is_some(), changed) {
                (false, _) => plan.create.push(slice),
                (true, true) => plan.update.push(slice),
                (true, false) => {}
            }
        }
    }
    // A Service that selects no pod has one empty slice, kept rather than made again.
    if kept == 0 {
        let placeholder = new_slice(service, &labels, Vec::new());
        let is_placeholder = |s: &&EndpointSlice| {
            s.endpoints.is_empty() && s.ports.as_deref().unwrap_or_default().is_empty() && owned(s)
        };
        match existing.iter().find(is_placeholder) {
            Some(slice) => plan.delete.retain(|n| Some(n) != slice.metadata.name.as_ref()),
            None => plan.create.push(placeholder),
        }
    }
    let mut seen = HashSet::new();
    plan.delete.retain(|n| seen.insert(n.clone()));
    plan
}

/// The Service's labels but the reserved ones, and the controller's.
fn slice_labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = service
        .metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| ![SERVICE_NAME, MANAGED_BY, HEADLESS].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let cluster_ip = service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()).unwrap_or_default();
    if cluster_ip.is_empty() || cluster_ip == "None" {
        labels.insert(HEADLESS.into(), String::new());
    }
    labels.insert(SERVICE_NAME.into(), name(&service.metadata).to_string());
    labels.insert(MANAGED_BY.into(), CONTROLLER.into());
    labels
}

fn new_slice(service: &Service, labels: &BTreeMap<String, String>, ports: Vec<EndpointPort>) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", name(&service.metadata))),
            namespace: service.metadata.namespace.clone(),
            labels: Some(labels.clone()),
            owner_references: Some(vec![objects::owner_reference("v1", "Service", &service.metadata)]),
            ..ObjectMeta::default()
        },
        address_type: "IPv4".into(),
        endpoints: Vec::new(),
        ports: Some(ports),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn service(target_port: Value) -> Service {
        serde_json::from_value(json!({
            "metadata": { "name": "web", "namespace": "default", "uid": "svc-1", "labels": { "team": "a" } },
            "spec": { "selector": { "app": "web" }, "clusterIP": "10.96.0.10",
                "ports": [{ "name": "http", "port": 80, "protocol": "TCP", "targetPort": target_port }] },
        }))
        .unwrap()
    }

    fn pod(name: &str, ip: Option<&str>, ready: bool, extra: Value) -> Pod {
        let mut pod = json!({
            "metadata": { "name": name, "namespace": "default", "uid": format!("uid-{name}"), "labels": { "app": "web" } },
            "spec": { "nodeName": "node-1", "containers": [{ "name": "nginx", "image": "nginx",
                "ports": [{ "name": "web", "containerPort": 8080, "protocol": "TCP" }] }] },
            "status": { "phase": "Running",
                "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }] },
        });
        if let Some(ip) = ip {
            pod["status"]["podIP"] = json!(ip);
            pod["status"]["podIPs"] = json!([{ "ip": ip }]);
        }
        crate::workloads::tests_support::merge(&mut pod, extra);
        serde_json::from_value(pod).unwrap()
    }

    fn node(_: &str) -> Option<Arc<Node>> {
        Some(Arc::new(
            serde_json::from_value(json!({ "metadata": { "name": "node-1",
            "labels": { "topology.kubernetes.io/zone": "us-east-1a" } } }))
            .unwrap(),
        ))
    }

    fn stored(mut slice: EndpointSlice, name: &str) -> EndpointSlice {
        slice.metadata.name = Some(name.into());
        slice
    }

    #[test]
    fn endpoints_say_ready_serving_and_terminating_with_named_ports_resolved() {
        let svc = service(json!("web"));
        let pods = [
            pod("a", Some("10.0.100.4"), true, json!({})),
            pod("b", Some("10.0.100.5"), false, json!({})),
            pod("c", Some("10.0.100.6"), true, json!({ "metadata": { "deletionTimestamp": "2026-01-01T00:00:00Z" } })),
            pod("d", None, false, json!({})),
            pod("e", Some("10.0.100.7"), true, json!({ "status": { "phase": "Succeeded" } })),
        ];
        let desired = desired_endpoints(&svc, &pods, node);
        assert_eq!(desired.len(), 1);
        let (ports, endpoints) = desired.values().next().unwrap();
        assert_eq!((ports[0].name.as_deref(), ports[0].port), (Some("http"), Some(8080)));
        let state: Vec<(&str, bool, bool, bool)> = endpoints
            .iter()
            .map(|e| {
                let c = e.conditions.clone().unwrap();
                (e.addresses[0].as_str(), c.ready.unwrap(), c.serving.unwrap(), c.terminating.unwrap())
            })
            .collect();
        assert_eq!(
            state,
            [("10.0.100.4", true, true, false), ("10.0.100.5", false, false, false), ("10.0.100.6", false, true, true)]
        );
        assert_eq!(endpoints[0].zone.as_deref(), Some("us-east-1a"));
        assert_eq!(endpoints[0].target_ref.as_ref().and_then(|r| r.name.as_deref()), Some("a"));
    }

    #[test]
    fn pods_that_name_a_port_differently_get_their_own_slice() {
        let svc = service(json!("web"));
        let other = pod(
            "b",
            Some("10.0.100.5"),
            true,
            json!({ "spec": { "containers": [{ "name": "nginx", "image": "nginx",
            "ports": [{ "name": "web", "containerPort": 9090, "protocol": "TCP" }] }] } }),
        );
        let nameless = pod(
            "c",
            Some("10.0.100.6"),
            true,
            json!({ "spec": { "containers": [{ "name": "nginx", "image": "nginx" }] } }),
        );
        let desired = desired_endpoints(&svc, &[pod("a", Some("10.0.100.4"), true, json!({})), other, nameless], node);
        let ports: Vec<Vec<Option<i32>>> = desired.values().map(|(p, _)| p.iter().map(|p| p.port).collect()).collect();
        assert_eq!(ports.len(), 3, "8080, 9090, and none for the pod without the port: {ports:?}");
        assert!(ports.contains(&vec![]));
    }

    #[test]
    fn slices_are_updated_in_place_filled_and_emptied_to_a_placeholder() {
        let svc = service(json!(8080));
        let one = desired_endpoints(&svc, &[pod("a", Some("10.0.100.4"), true, json!({}))], node);
        let first = plan(&svc, &[], one.clone());
        assert_eq!((first.create.len(), first.update.len(), first.delete.len()), (1, 0, 0));
        let created = stored(first.create[0].clone(), "web-abcde");
        let labels = created.metadata.labels.clone().unwrap();
        assert_eq!(labels[SERVICE_NAME], "web");
        assert_eq!(labels[MANAGED_BY], CONTROLLER);
        assert_eq!(labels["team"], "a");
        assert_eq!(created.address_type, "IPv4");

        assert!(plan(&svc, std::slice::from_ref(&created), one).create.is_empty(), "nothing changed, nothing written");
        let two = desired_endpoints(
            &svc,
            &[pod("a", Some("10.0.100.4"), false, json!({})), pod("b", Some("10.0.100.5"), true, json!({}))],
            node,
        );
        let second = plan(&svc, std::slice::from_ref(&created), two);
        assert_eq!((second.create.len(), second.update.len()), (0, 1));
        assert_eq!(second.update[0].endpoints.len(), 2);
        assert_eq!(second.update[0].endpoints[0].conditions.clone().unwrap().ready, Some(false));

        let gone = plan(&svc, std::slice::from_ref(&created), Desired::new());
        assert_eq!(gone.delete, ["web-abcde"]);
        assert_eq!(gone.create.len(), 1, "a placeholder");
        assert!(gone.create[0].endpoints.is_empty() && gone.create[0].ports.as_deref() == Some(&[][..]));
        let placeholder = stored(gone.create[0].clone(), "web-fghij");
        let still = plan(&svc, &[placeholder], Desired::new());
        assert!(still.create.is_empty() && still.delete.is_empty(), "the placeholder stays");
    }

    #[test]
    fn a_hundred_endpoints_fill_a_slice() {
        let svc = service(json!(8080));
        let pods: Vec<Pod> = (0..150)
            .map(|i| pod(&format!("p{i:03}"), Some(&format!("10.0.{}.{}", i / 200, i % 200 + 4)), true, json!({})))
            .collect();
        let planned = plan(&svc, &[], desired_endpoints(&svc, &pods, node));
        let sizes: Vec<usize> = planned.create.iter().map(|s| s.endpoints.len()).collect();
        assert_eq!(sizes, [100, 50]);
    }
}
