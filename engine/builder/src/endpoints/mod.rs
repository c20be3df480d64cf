//! Which pods receive traffic in `ip` mode, as the AWS Load Balancer Controller (LBC) picks them
//! from a Service's `discovery.k8s.io/v1` EndpointSlices (those labelled
//! `kubernetes.io/service-name=<service>` in its namespace):
//!
//! ```text
//! slice ports ── named like the Service port ──> the endpoint's port (a named targetPort, resolved)
//! endpoints   ── backed by a Pod, IPv4 ──────────> first address
//!     ready (or ready unset)                         registered
//!     terminating                                    never registered
//!     not ready, waiting for its target-health gate:
//!         node Ready                                 registered
//!         node Ready=Unknown                         registered only while no endpoint is ready
//!     not ready otherwise, node Ready=Unknown        registered only while no endpoint is ready
//!                                                    (fail-open)
//! ```
//!
//! A pod with a readiness gate of Elbow's (`target-health.elbow.dev/<target group>`) is not
//! Ready, and so not a ready endpoint, until Elbow reports its target healthy, which it can only
//! be once registered. LBC breaks that circle by registering a not-ready endpoint whose pod's
//! containers are ready (the pod waits only for its gates) on a node that is Ready; Elbow does the
//! same for pods that wait for one of its own gates ([`PodFacts`], answered from the
//! operator's cache of such pods). For other not-ready pods it keeps no pod cache and lets the
//! node's Unknown readiness stand for "the control plane lost touch, the pod may be fine", where
//! LBC also asks whether the containers are ready.
//!
//! The builders read slices as the operator caches them, [`CompactSlice`]s (`slice.rs`): only
//! what these rules need, small enough to hold every endpoint of a large cluster.

mod slice;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::nodes::{Readiness, readiness};
use elbow_model::stack::Target;
pub use slice::{AddressType, CompactEndpoint, CompactSlice, Conditions, NodeNames, SlicePort};

/// The label the EndpointSlice controller puts on every slice of a Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Of `slices`, those of Service `namespace`/`service`.
pub fn slices_of<'a>(slices: &[&'a CompactSlice], namespace: &str, service: &str) -> Vec<&'a CompactSlice> {
    slices.iter().copied().filter(|slice| belongs_to(slice, namespace, service)).collect()
}

/// Whether `slice` is one of Service `namespace`/`service`'s.
pub fn belongs_to(slice: &CompactSlice, namespace: &str, service: &str) -> bool {
    slice.is_of(namespace, service)
}

/// The port an `ip` target group is created with: the numeric target port, or 1 for a named one
/// (each pod may resolve the name differently; every target is registered with its own port, so
/// the group's port carries no traffic). An unset targetPort is the Service port, as the API
/// server defaults it.
pub fn target_group_port(port: &ServicePort) -> u16 {
    match &port.target_port {
        Some(IntOrString::Int(number)) => u16::try_from(*number).ok().filter(|n| *n > 0).unwrap_or(1),
        Some(IntOrString::String(_)) => 1,
        None => u16::try_from(port.port).ok().filter(|n| *n > 0).unwrap_or(1),
    }
}

/// The pods a target group of `service_port` sends traffic to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodTargets {
    /// Sorted, each (address, port) once.
    pub targets: Vec<Target>,
    /// The nodes the registered pods run on, as the slices name them: whose security groups
    /// must admit the load balancer.
    pub nodes: BTreeSet<String>,
    /// QUIC only: the pods (`namespace/name`) left out for want of a server id.
    pub without_server_id: BTreeSet<String>,
}

/// What the EndpointSlices do not say about a Pod, asked of whoever watches Pods.
pub trait PodFacts {
    /// Whether pod `namespace`/`name` has ready containers and carries a readiness gate of
    /// Elbow's that is not True yet: not Ready only because its target is not healthy (yet).
    fn waits_for_target_health(&self, namespace: &str, name: &str) -> bool;

    /// The QUIC server id (ELBv2's spelling) pod `namespace`/`name` serves container port `port`
    /// with (`crate::quic`); `None` when it has none.
    fn quic_server_id(&self, namespace: &str, name: &str, port: u16) -> Option<String>;
}

/// No pod waits for a gate and none has a QUIC server id: what a caller without a Pod watch
/// (`elbow plan`, tests) knows.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPodFacts;

impl PodFacts for NoPodFacts {
    fn waits_for_target_health(&self, _namespace: &str, _name: &str) -> bool {
        false
    }

    fn quic_server_id(&self, _namespace: &str, _name: &str, _port: u16) -> Option<String> {
        None
    }
}

/// The pods named, by (namespace, name), wait for their target health.
impl PodFacts for BTreeSet<(String, String)> {
    fn waits_for_target_health(&self, namespace: &str, name: &str) -> bool {
        self.contains(&(namespace.to_string(), name.to_string()))
    }

    fn quic_server_id(&self, _namespace: &str, _name: &str, _port: u16) -> Option<String> {
        None
    }
}

/// Each pod's QUIC server id by (namespace, name), whatever the port.
impl PodFacts for BTreeMap<(String, String), String> {
    fn waits_for_target_health(&self, _namespace: &str, _name: &str) -> bool {
        false
    }

    fn quic_server_id(&self, namespace: &str, name: &str, _port: u16) -> Option<String> {
        self.get(&(namespace.to_string(), name.to_string())).cloned()
    }
}

/// The registered pods of `service_port` among `slices` (the Service's own), judged by the rules
/// in the module docs; `nodes` are every node of the cluster, whose readiness decides fail-open;
/// `pods` says which not-ready pods wait only for their target health, and (`quic`: for a QUIC
/// target group) each pod's server id: a pod without one is left out.
pub fn pod_targets(
    slices: &[&CompactSlice],
    service_port: &ServicePort,
    nodes: &[&Node],
    pods: &dyn PodFacts,
    quic: bool,
) -> PodTargets {
    let name = service_port.name.as_deref().unwrap_or_default();
    let mut ready: BTreeMap<Target, Option<Arc<str>>> = BTreeMap::new();
    let mut unknown: BTreeMap<Target, Option<Arc<str>>> = BTreeMap::new();
    let mut without_server_id = BTreeSet::new();
    for slice in slices.iter().filter(|s| s.address_type == AddressType::Ipv4) {
        let namespace = &*slice.namespace;
        for port in &slice.ports {
            // A Service with one unnamed port has slices with one unnamed port; with several
            // ports, every port is named and the slice port carries the Service port's name.
            if !name.is_empty() && port.name.as_deref() != Some(name) {
                continue;
            }
            let Some(number) = port.port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0) else { continue };
            for endpoint in &slice.endpoints {
                let Some(address) = pod_address(endpoint) else { continue };
                let mut target = Target::new(address.to_string(), number);
                if quic {
                    let pod = endpoint.pod_name.as_deref().unwrap_or_default();
                    match pods.quic_server_id(namespace, pod, number) {
                        Some(id) => target.quic_server_id = Some(id),
                        None => {
                            without_server_id.insert(format!("{namespace}/{pod}"));
                            continue;
                        }
                    }
                }
                match judge(endpoint, namespace, nodes, pods) {
                    Verdict::Ready => ready.insert(target, endpoint.node.clone()),
                    Verdict::Unknown => unknown.insert(target, endpoint.node.clone()),
                    Verdict::No => None,
                };
            }
        }
    }
    let chosen = if ready.is_empty() { unknown } else { ready };
    PodTargets {
        nodes: chosen.values().flatten().map(|node| node.to_string()).collect(),
        targets: chosen.into_keys().collect(),
        without_server_id,
    }
}

/// The address of an endpoint backed by a pod: LBC registers only those, and only their first
/// address (the API says all addresses of an endpoint are the same pod's, and one is enough).
fn pod_address(endpoint: &CompactEndpoint) -> Option<std::net::Ipv4Addr> {
    match endpoint.address {
        Some(std::net::IpAddr::V4(address)) if endpoint.pod => Some(address),
        _ => None,
    }
}

enum Verdict {
    Ready,
    /// Not ready, but its node's readiness is unknown: registered only when nothing is ready.
    Unknown,
    No,
}

fn judge(endpoint: &CompactEndpoint, namespace: &str, nodes: &[&Node], pods: &dyn PodFacts) -> Verdict {
    let conditions = endpoint.conditions;
    if conditions.terminating == Some(true) {
        return Verdict::No;
    }
    // "A nil value should be interpreted as true" (the EndpointSlice API).
    if conditions.ready != Some(false) {
        return Verdict::Ready;
    }
    let node =
        endpoint.node.as_deref().and_then(|name| nodes.iter().find(|n| n.metadata.name.as_deref() == Some(name)));
    let pod = endpoint.pod_name.as_deref();
    let gated = pod.is_some_and(|pod| pods.waits_for_target_health(namespace, pod));
    match node.map(|n| readiness(n)) {
        Some(Readiness::Ready) if gated => Verdict::Ready,
        Some(Readiness::Unknown) => Verdict::Unknown,
        _ => Verdict::No,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::nodes::tests::node;

    /// An endpoint of a pod at `address` on `node`; `ready` and `terminating` as given (`None`:
    /// unset).
    pub(crate) fn endpoint(address: &str, node: &str, ready: Option<bool>, terminating: Option<bool>) -> Endpoint {
        Endpoint {
            addresses: vec![address.into()],
            conditions: Some(EndpointConditions { ready, serving: ready, terminating }),
            node_name: Some(node.into()),
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                name: Some(format!("pod-{address}")),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A slice of Service `namespace`/`service` with `ports` (name, number) and `endpoints`.
    pub(crate) fn slice(
        namespace: &str,
        service: &str,
        ports: &[(&str, i32)],
        endpoints: Vec<Endpoint>,
    ) -> EndpointSlice {
        EndpointSlice {
            metadata: ObjectMeta {
                name: Some(format!("{service}-{}", endpoints.len())),
                namespace: Some(namespace.into()),
                labels: Some(BTreeMap::from([(SERVICE_NAME_LABEL.to_string(), service.to_string())])),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints,
            ports: Some(
                ports
                    .iter()
                    .map(|(name, port)| EndpointPort {
                        name: (!name.is_empty()).then(|| name.to_string()),
                        port: Some(*port),
                        protocol: Some("TCP".into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
        }
    }

    /// `slices` as the cache holds them.
    pub(crate) fn compact(slices: &[EndpointSlice]) -> Vec<CompactSlice> {
        slices.iter().map(CompactSlice::from).collect()
    }

    fn service_port(name: &str, target: IntOrString) -> ServicePort {
        ServicePort {
            name: (!name.is_empty()).then(|| name.to_string()),
            port: 80,
            target_port: Some(target),
            ..Default::default()
        }
    }

    fn ids(targets: &PodTargets) -> Vec<String> {
        targets.targets.iter().map(|t| format!("{}:{}", t.id, t.port)).collect()
    }

    #[test]
    fn which_endpoints_are_registered() {
        let nodes = [node("up", "i-1", "True"), node("lost", "i-2", "Unknown"), node("down", "i-3", "False")];
        let nodes: Vec<&Node> = nodes.iter().collect();
        #[rustfmt::skip]
        let cases: [(&str, Vec<Endpoint>, &[&str]); 7] = [
            ("ready", vec![endpoint("10.0.0.1", "up", Some(true), None)], &["10.0.0.1:8080"]),
            ("ready unset counts as ready", vec![endpoint("10.0.0.1", "up", None, None)], &["10.0.0.1:8080"]),
            ("not ready", vec![endpoint("10.0.0.1", "up", Some(false), None)], &[]),
            ("terminating, even while ready", vec![endpoint("10.0.0.1", "up", Some(true), Some(true))], &[]),
            (
                "fail-open: not ready on a node of unknown readiness, nothing else ready",
                vec![endpoint("10.0.0.1", "lost", Some(false), None), endpoint("10.0.0.2", "down", Some(false), None)],
                &["10.0.0.1:8080"],
            ),
            (
                "no fail-open while something is ready",
                vec![endpoint("10.0.0.1", "lost", Some(false), None), endpoint("10.0.0.2", "up", Some(true), None)],
                &["10.0.0.2:8080"],
            ),
            (
                "terminating on a lost node stays out",
                vec![endpoint("10.0.0.1", "lost", Some(false), Some(true))],
                &[],
            ),
        ];
        for (what, endpoints, expected) in cases {
            let slices = [slice("shop", "web", &[("http", 8080)], endpoints)];
            let slices = compact(&slices);
            let slices: Vec<&CompactSlice> = slices.iter().collect();
            let found = pod_targets(
                &slices,
                &service_port("http", IntOrString::String("web".into())),
                &nodes,
                &NoPodFacts,
                false,
            );
            assert_eq!(ids(&found), expected, "{what}");
        }
    }

    #[test]
    fn a_pod_waiting_for_its_target_health_gate_is_registered_on_a_ready_node() {
        let nodes = [node("up", "i-1", "True"), node("lost", "i-2", "Unknown"), node("down", "i-3", "False")];
        let nodes: Vec<&Node> = nodes.iter().collect();
        // `endpoint` names the pod behind 10.0.0.1 `pod-10.0.0.1`.
        let waiting = BTreeSet::from([("shop".to_string(), "pod-10.0.0.1".to_string())]);
        let elsewhere = BTreeSet::from([("other".to_string(), "pod-10.0.0.1".to_string())]);
        let port = service_port("http", IntOrString::Int(8080));
        #[rustfmt::skip]
        let cases: [(&str, Endpoint, &dyn PodFacts, &[&str]); 7] = [
            ("waiting, node Ready", endpoint("10.0.0.1", "up", Some(false), None), &waiting, &["10.0.0.1:8080"]),
            ("not waiting: not registered", endpoint("10.0.0.1", "up", Some(false), None), &NoPodFacts, &[]),
            ("a pod of that name in another namespace", endpoint("10.0.0.1", "up", Some(false), None), &elsewhere, &[]),
            ("waiting but terminating", endpoint("10.0.0.1", "up", Some(false), Some(true)), &waiting, &[]),
            ("waiting on a node that is not Ready", endpoint("10.0.0.1", "down", Some(false), None), &waiting, &[]),
            ("waiting on a node of unknown readiness: fail-open", endpoint("10.0.0.1", "lost", Some(false), None), &waiting, &["10.0.0.1:8080"]),
            ("ready anyway", endpoint("10.0.0.1", "down", Some(true), None), &waiting, &["10.0.0.1:8080"]),
        ];
        for (what, endpoint, pods, expected) in cases {
            let slices = [slice("shop", "web", &[("http", 8080)], vec![endpoint])];
            let slices = compact(&slices);
            let slices: Vec<&CompactSlice> = slices.iter().collect();
            assert_eq!(ids(&pod_targets(&slices, &port, &nodes, pods, false)), expected, "{what}");
        }
        // A waiting pod counts as ready: the fail-open candidates stay out beside it.
        let slices = [slice(
            "shop",
            "web",
            &[("http", 8080)],
            vec![endpoint("10.0.0.1", "up", Some(false), None), endpoint("10.0.0.2", "lost", Some(false), None)],
        )];
        let slices = compact(&slices);
        let slices: Vec<&CompactSlice> = slices.iter().collect();
        assert_eq!(ids(&pod_targets(&slices, &port, &nodes, &waiting, false)), ["10.0.0.1:8080"]);
    }

    #[test]
    fn a_named_target_port_is_resolved_per_endpoint_from_its_slice() {
        // Two generations of a Deployment name the port differently: each slice says where.
        let slices = [
            slice("shop", "web", &[("http", 8080), ("metrics", 9090)], vec![endpoint("10.0.0.1", "n", None, None)]),
            slice("shop", "web", &[("http", 8081)], vec![endpoint("10.0.0.2", "n", None, None)]),
        ];
        let slices = compact(&slices);
        let slices: Vec<&CompactSlice> = slices.iter().collect();
        let found =
            pod_targets(&slices, &service_port("http", IntOrString::String("web".into())), &[], &NoPodFacts, false);
        assert_eq!(ids(&found), ["10.0.0.1:8080", "10.0.0.2:8081"]);
        assert_eq!(found.nodes, BTreeSet::from(["n".to_string()]));
    }

    #[test]
    fn an_unnamed_service_port_takes_the_slices_only_port() {
        let slices = [slice("shop", "web", &[("", 8080)], vec![endpoint("10.0.0.1", "n", Some(true), None)])];
        let slices = compact(&slices);
        let slices: Vec<&CompactSlice> = slices.iter().collect();
        assert_eq!(
            ids(&pod_targets(&slices, &service_port("", IntOrString::Int(8080)), &[], &NoPodFacts, false)),
            ["10.0.0.1:8080"]
        );
    }

    #[test]
    fn endpoints_not_of_pods_or_not_ipv4_and_duplicates_are_left_out() {
        let mut not_a_pod = endpoint("10.0.0.3", "n", Some(true), None);
        not_a_pod.target_ref = None;
        let mut ipv6 = slice("shop", "web", &[("http", 8080)], vec![endpoint("fd00::1", "n", Some(true), None)]);
        ipv6.address_type = "IPv6".into();
        let slices = [
            slice("shop", "web", &[("http", 8080)], vec![endpoint("10.0.0.1", "n", Some(true), None), not_a_pod]),
            // The same endpoint in two slices while the controller moves it.
            slice("shop", "web", &[("http", 8080)], vec![endpoint("10.0.0.1", "n", Some(true), None)]),
            ipv6,
        ];
        let slices = compact(&slices);
        let slices: Vec<&CompactSlice> = slices.iter().collect();
        assert_eq!(
            ids(&pod_targets(&slices, &service_port("http", IntOrString::Int(8080)), &[], &NoPodFacts, false)),
            ["10.0.0.1:8080"]
        );
    }

    #[test]
    fn a_quic_target_carries_its_pods_server_id_and_a_pod_without_one_is_left_out_and_named() {
        let slices = [slice(
            "shop",
            "web",
            &[("http", 8080)],
            vec![endpoint("10.0.0.1", "up", Some(true), None), endpoint("10.0.0.2", "up", Some(true), None)],
        )];
        let slices = compact(&slices);
        let slices: Vec<&CompactSlice> = slices.iter().collect();
        let ids =
            BTreeMap::from([(("shop".to_string(), "pod-10.0.0.1".to_string()), "0x0000000000000001".to_string())]);
        let port = service_port("http", IntOrString::Int(8080));
        let found = pod_targets(&slices, &port, &[], &ids, true);
        assert_eq!(found.targets, [Target::quic("10.0.0.1", 8080, "0x0000000000000001")]);
        assert_eq!(found.without_server_id, BTreeSet::from(["shop/pod-10.0.0.2".to_string()]));
        let plain = pod_targets(&slices, &port, &[], &ids, false);
        assert_eq!(plain.targets, [Target::new("10.0.0.1", 8080), Target::new("10.0.0.2", 8080)], "no ids elsewhere");
        assert!(plain.without_server_id.is_empty());
    }

    #[test]
    fn slices_are_found_by_namespace_and_service_name_label() {
        let slices =
            [slice("shop", "web", &[], vec![]), slice("other", "web", &[], vec![]), slice("shop", "api", &[], vec![])];
        let slices = compact(&slices);
        let all: Vec<&CompactSlice> = slices.iter().collect();
        let found = slices_of(&all, "shop", "web");
        assert_eq!(found.len(), 1);
        assert_eq!(&*found[0].namespace, "shop");
    }

    #[test]
    fn the_target_group_port_is_the_numeric_target_port_else_1() {
        assert_eq!(target_group_port(&service_port("http", IntOrString::Int(8080))), 8080);
        assert_eq!(target_group_port(&service_port("http", IntOrString::String("web".into()))), 1);
        assert_eq!(target_group_port(&ServicePort { port: 443, ..Default::default() }), 443);
    }
}
