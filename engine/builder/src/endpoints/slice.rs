//! The cache entry of one EndpointSlice: exactly what the builders read of it, laid out small.
//! A cluster's endpoints outnumber its Services tenfold and every one of them is cached, so an
//! endpoint here is a fixed 56 bytes plus its Pod's name, where k8s-openapi's `Endpoint` is
//! about 340 bytes inline (an `ObjectReference` of seven optional strings, hints, hostname,
//! zone, ...) before its strings.
//!
//! ```text
//! EndpointSlice                              CompactSlice
//!   metadata.name, .namespace                  name, namespace     (the cache key)
//!   labels[kubernetes.io/service-name]         service
//!   addressType                                address_type        (an enum)
//!   ports[]: name, port, protocol              ports[]
//!   endpoints[]                                endpoints[]
//!     addresses[0]                               address           (an IpAddr; none for FQDN)
//!     conditions: ready, serving, terminating    conditions        (three Option<bool>)
//!     nodeName                                   node              (one Arc<str> per node name)
//!     targetRef: kind Pod, name                  pod, pod_name
//!   everything else                            dropped
//! ```
//!
//! Only the first address is kept: all addresses of an endpoint belong to the same Pod, and only
//! the first is registered (as the AWS Load Balancer Controller does).

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};

use super::SERVICE_NAME_LABEL;

/// What a cached EndpointSlice says, in the fewest bytes the builders can read it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactSlice {
    /// The slice's own name: with the namespace, its key in the cache.
    pub name: Box<str>,
    /// `default` when unset, as the API server defaults it.
    pub namespace: Box<str>,
    /// The Service whose endpoints these are: the `kubernetes.io/service-name` label.
    pub service: Option<Box<str>>,
    pub address_type: AddressType,
    pub ports: Box<[SlicePort]>,
    pub endpoints: Box<[CompactEndpoint]>,
}

/// A slice's `addressType`: which kind of address all of its endpoints have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressType {
    Ipv4,
    Ipv6,
    Fqdn,
    /// A type this version of Elbow does not know: its endpoints are never targets.
    Other,
}

impl AddressType {
    /// The type named as the EndpointSlice API spells it (`IPv4`, `IPv6`, `FQDN`).
    pub fn from_api(name: &str) -> Self {
        match name {
            "IPv4" => Self::Ipv4,
            "IPv6" => Self::Ipv6,
            "FQDN" => Self::Fqdn,
            _ => Self::Other,
        }
    }
}

/// One of a slice's ports: where each of its endpoints listens for the Service port of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlicePort {
    /// The Service port's name; unset for a Service with one unnamed port.
    pub name: Option<Box<str>>,
    /// As the API gives it; the builders drop an out-of-range one.
    pub port: Option<i32>,
    pub protocol: Option<Box<str>>,
}

/// One endpoint of a slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactEndpoint {
    /// The first address, when it is an IP address (an FQDN slice's hostnames are not kept: they
    /// are never targets).
    pub address: Option<IpAddr>,
    pub conditions: Conditions,
    /// Whether `targetRef` is a Pod: only Pods are registered.
    pub pod: bool,
    /// The Pod's name (`targetRef.name` of a Pod; kept for Pods only): whose readiness gate may
    /// be pending.
    pub pod_name: Option<Box<str>>,
    /// The node it runs on: its readiness and security groups matter. Shared with every other
    /// endpoint on that node (see [`NodeNames`]).
    pub node: Option<Arc<str>>,
}

/// An endpoint's conditions, as the API gives them (unset stays unset: the builders say what it
/// means).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conditions {
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
}

/// The node names the cached endpoints share: a thousand nodes run a hundred thousand endpoints,
/// so each name is kept once, and every endpoint on that node points to it. Names no endpoint
/// points to any more (the node went, its endpoints moved) are dropped now and then.
#[derive(Debug, Default)]
pub struct NodeNames {
    names: HashSet<Arc<str>>,
    /// How many names were in use at the last clean-up: the next one comes once the set has
    /// doubled since, which keeps its cost at a constant per name added.
    in_use: usize,
}

impl NodeNames {
    /// The shared copy of `name`.
    pub fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.names.get(name) {
            return known.clone();
        }
        if self.names.len() >= 2 * self.in_use + 64 {
            self.forget_unused();
        }
        let name: Arc<str> = Arc::from(name);
        self.names.insert(name.clone());
        name
    }

    /// Drops the names only this set still holds.
    pub fn forget_unused(&mut self) {
        self.names.retain(|name| Arc::strong_count(name) > 1);
        self.in_use = self.names.len();
    }

    /// How many names are kept.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl CompactSlice {
    /// What the builders read of `slice`, its node names shared through `nodes`.
    pub fn new(slice: &EndpointSlice, nodes: &mut NodeNames) -> Self {
        let metadata = &slice.metadata;
        CompactSlice {
            name: metadata.name.as_deref().unwrap_or_default().into(),
            namespace: metadata.namespace.as_deref().unwrap_or("default").into(),
            service: metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)).map(|s| s.as_str().into()),
            address_type: AddressType::from_api(&slice.address_type),
            ports: slice.ports.iter().flatten().map(SlicePort::from).collect(),
            endpoints: slice.endpoints.iter().map(|endpoint| CompactEndpoint::new(endpoint, nodes)).collect(),
        }
    }

    /// Whether this is one of Service `namespace`/`service`'s slices.
    pub fn is_of(&self, namespace: &str, service: &str) -> bool {
        &*self.namespace == namespace && self.service.as_deref() == Some(service)
    }
}

/// A slice on its own, its node names shared only among its own endpoints: for tests and
/// one-off builds (`elbow plan`). A cache converts through [`CompactSlice::new`].
impl From<&EndpointSlice> for CompactSlice {
    fn from(slice: &EndpointSlice) -> Self {
        CompactSlice::new(slice, &mut NodeNames::default())
    }
}

impl From<&EndpointPort> for SlicePort {
    fn from(port: &EndpointPort) -> Self {
        SlicePort {
            name: port.name.as_deref().map(Into::into),
            port: port.port,
            protocol: port.protocol.as_deref().map(Into::into),
        }
    }
}

impl CompactEndpoint {
    fn new(endpoint: &Endpoint, nodes: &mut NodeNames) -> Self {
        let pod = endpoint.target_ref.as_ref().filter(|r| r.kind.as_deref() == Some("Pod"));
        let conditions = endpoint.conditions.as_ref();
        CompactEndpoint {
            address: endpoint.addresses.first().and_then(|a| a.parse().ok()),
            conditions: Conditions {
                ready: conditions.and_then(|c| c.ready),
                serving: conditions.and_then(|c| c.serving),
                terminating: conditions.and_then(|c| c.terminating),
            },
            pod: pod.is_some(),
            pod_name: pod.and_then(|r| r.name.as_deref()).map(Into::into),
            node: endpoint.node_name.as_deref().map(|name| nodes.intern(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::discovery::v1::{EndpointConditions, EndpointHints, ForZone};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    use super::*;

    /// A slice as the EndpointSlice controller writes it, everything set.
    fn full_slice() -> EndpointSlice {
        EndpointSlice {
            metadata: ObjectMeta {
                name: Some("web-abcde".into()),
                namespace: Some("shop".into()),
                generate_name: Some("web-".into()),
                resource_version: Some("42".into()),
                labels: Some(BTreeMap::from([
                    (SERVICE_NAME_LABEL.to_string(), "web".to_string()),
                    (
                        "endpointslice.kubernetes.io/managed-by".to_string(),
                        "endpointslice-controller.k8s.io".to_string(),
                    ),
                ])),
                annotations: Some(BTreeMap::from([(
                    "endpoints.kubernetes.io/last-change-trigger-time".to_string(),
                    "x".to_string(),
                )])),
                managed_fields: Some(vec![ManagedFieldsEntry::default()]),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: vec![Endpoint {
                addresses: vec!["10.0.1.10".into(), "10.0.1.11".into()],
                conditions: Some(EndpointConditions {
                    ready: Some(true),
                    serving: Some(true),
                    terminating: Some(false),
                }),
                hints: Some(EndpointHints {
                    for_zones: Some(vec![ForZone { name: "us-east-1a".into() }]),
                    ..Default::default()
                }),
                hostname: Some("web-0".into()),
                node_name: Some("node-1".into()),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".into()),
                    name: Some("web-7d9f-abcde".into()),
                    namespace: Some("shop".into()),
                    uid: Some("u-1".into()),
                    resource_version: Some("99".into()),
                    ..Default::default()
                }),
                zone: Some("us-east-1a".into()),
                ..Default::default()
            }],
            ports: Some(vec![
                EndpointPort {
                    name: Some("http".into()),
                    port: Some(8080),
                    protocol: Some("TCP".into()),
                    app_protocol: Some("kubernetes.io/h2c".into()),
                },
                EndpointPort {
                    name: Some("dns".into()),
                    port: Some(53),
                    protocol: Some("UDP".into()),
                    app_protocol: None,
                },
            ]),
        }
    }

    #[test]
    fn what_the_builders_read_is_kept_and_the_rest_dropped() {
        let compact = CompactSlice::from(&full_slice());
        assert_eq!(
            compact,
            CompactSlice {
                name: "web-abcde".into(),
                namespace: "shop".into(),
                service: Some("web".into()),
                address_type: AddressType::Ipv4,
                ports: Box::new([
                    // appProtocol is dropped.
                    SlicePort { name: Some("http".into()), port: Some(8080), protocol: Some("TCP".into()) },
                    SlicePort { name: Some("dns".into()), port: Some(53), protocol: Some("UDP".into()) },
                ]),
                // Only the first address; hints, hostname, zone and the Pod's uid and namespace
                // are dropped.
                endpoints: Box::new([CompactEndpoint {
                    address: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 10))),
                    conditions: Conditions { ready: Some(true), serving: Some(true), terminating: Some(false) },
                    pod: true,
                    pod_name: Some("web-7d9f-abcde".into()),
                    node: Some("node-1".into()),
                }]),
            }
        );
        assert!(compact.is_of("shop", "web"));
        assert!(!compact.is_of("shop", "api") && !compact.is_of("other", "web"));
    }

    #[test]
    fn unset_fields_stay_unset_and_a_slice_without_namespace_is_in_default() {
        let mut slice = full_slice();
        slice.metadata.namespace = None;
        slice.metadata.labels = None;
        slice.ports = None;
        slice.endpoints[0] = Endpoint { addresses: vec![], ..Default::default() };
        let compact = CompactSlice::from(&slice);
        assert_eq!((&*compact.namespace, &compact.service, compact.ports.len()), ("default", &None, 0));
        assert!(!compact.is_of("default", "web"), "no service label: nobody's slice");
        assert_eq!(
            compact.endpoints[0],
            CompactEndpoint {
                address: None,
                conditions: Conditions::default(),
                pod: false,
                pod_name: None,
                node: None
            }
        );
    }

    #[test]
    fn an_ipv6_slice_keeps_its_addresses_and_an_fqdn_slice_none() {
        let mut ipv6 = full_slice();
        ipv6.address_type = "IPv6".into();
        ipv6.endpoints[0].addresses = vec!["fd00::a".into()];
        let ipv6 = CompactSlice::from(&ipv6);
        assert_eq!(ipv6.address_type, AddressType::Ipv6);
        assert_eq!(ipv6.endpoints[0].address, Some(IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0xa))));

        let mut fqdn = full_slice();
        fqdn.address_type = "FQDN".into();
        fqdn.endpoints[0].addresses = vec!["web.example.com".into()];
        let fqdn = CompactSlice::from(&fqdn);
        assert_eq!(fqdn.address_type, AddressType::Fqdn);
        assert_eq!(fqdn.endpoints[0].address, None);
        assert_eq!(fqdn.endpoints[0].node.as_deref(), Some("node-1"), "the rest of the endpoint stays");

        let mut unknown = full_slice();
        unknown.address_type = "IPv5".into();
        assert_eq!(CompactSlice::from(&unknown).address_type, AddressType::Other);
    }

    #[test]
    fn named_and_unnamed_ports_keep_their_names_and_numbers() {
        let mut slice = full_slice();
        slice.ports = Some(vec![
            EndpointPort { name: Some("metrics".into()), port: Some(9090), ..Default::default() },
            EndpointPort { name: None, port: Some(8080), ..Default::default() },
            EndpointPort { name: Some("".into()), port: None, ..Default::default() },
        ]);
        let ports = CompactSlice::from(&slice).ports;
        assert_eq!(
            ports.iter().map(|p| (p.name.as_deref(), p.port)).collect::<Vec<_>>(),
            [(Some("metrics"), Some(9090)), (None, Some(8080)), (Some(""), None)]
        );
    }

    #[test]
    fn only_a_pod_target_counts_as_a_pod_and_keeps_its_name() {
        let mut slice = full_slice();
        let service_ref =
            ObjectReference { kind: Some("Service".into()), name: Some("web".into()), ..Default::default() };
        let nameless_pod = ObjectReference { kind: Some("Pod".into()), ..Default::default() };
        slice.endpoints[0].target_ref = Some(service_ref);
        slice.endpoints.push(Endpoint { target_ref: Some(nameless_pod), ..Default::default() });
        let compact = CompactSlice::from(&slice);
        assert_eq!((compact.endpoints[0].pod, &compact.endpoints[0].pod_name), (false, &None));
        assert_eq!((compact.endpoints[1].pod, &compact.endpoints[1].pod_name), (true, &None));
    }

    #[test]
    fn endpoints_on_one_node_share_its_name() {
        let mut names = NodeNames::default();
        let mut slice = full_slice();
        slice.endpoints.push(slice.endpoints[0].clone());
        let first = CompactSlice::new(&slice, &mut names);
        let second = CompactSlice::new(&full_slice(), &mut names);
        let nodes = [&first.endpoints[0], &first.endpoints[1], &second.endpoints[0]].map(|e| e.node.clone().unwrap());
        assert!(Arc::ptr_eq(&nodes[0], &nodes[1]) && Arc::ptr_eq(&nodes[0], &nodes[2]));
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn node_names_no_endpoint_uses_are_forgotten() {
        let mut names = NodeNames::default();
        let kept = names.intern("node-1");
        drop(names.intern("node-2"));
        names.forget_unused();
        assert_eq!(names.len(), 1);
        assert!(Arc::ptr_eq(&kept, &names.intern("node-1")));
        // Without an explicit clean-up, the set does not grow past twice what is in use (plus a
        // constant) however many names come and go.
        for i in 0..1_000 {
            drop(names.intern(&format!("gone-{i}")));
        }
        // One in use: a clean-up at 66 names, so at most 66 and the one just added.
        assert!(names.len() <= 67, "{} names kept", names.len());
    }

    #[test]
    fn an_endpoint_is_small() {
        // The point of this type: 100,000 endpoints in a few MiB.
        assert!(std::mem::size_of::<CompactEndpoint>() <= 56, "{} bytes", std::mem::size_of::<CompactEndpoint>());
    }
}
