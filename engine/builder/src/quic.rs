//! QUIC server ids, the pod side. A QUIC (or TCP_QUIC) target group routes each packet by the
//! server id that the server wrote into its connection ids, so every target is registered with
//! the id its server uses (`QuicServerId`: `0x` and 16 lowercase hex digits, unique in the group).
//!
//! The ids come from the pods, as the AWS Load Balancer Controller (LBC) has it, so a QUIC
//! server configured for LBC runs unchanged:
//!
//! ```text
//! pod annotation quic-enabled-containers: envoy        (the containers that serve QUIC)
//!   └─ pod webhook, at creation (namespace labelled elbow.dev/quic-server-id-inject=enabled):
//!        env AWS_LBC_QUIC_SERVER_ID=<8 random bytes, base64>   in each named container
//!   └─ the server reads its id from that variable (Envoy: server_id_base64_encoded)
//!   └─ Elbow reads it back from the pod spec: the id of the container that declares the target
//!        port, else the pod's first id, as 0x<hex>
//! ```
//!
//! A pod without an id cannot be a QUIC target: it is left out and the Service shows a Warning.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::{Container, Pod};

/// The pod annotation naming (comma-separated) the containers that serve QUIC: LBC's key, so
/// pods written for LBC keep their ids.
pub const CONTAINERS_ANNOTATION: &str = "service.beta.kubernetes.io/aws-load-balancer-quic-enabled-containers";

/// The environment variable that carries a container's server id (LBC's default name).
pub const SERVER_ID_ENV: &str = "AWS_LBC_QUIC_SERVER_ID";

/// The namespace label that sends its pods' creation to the QUIC webhook, and its one value.
pub const INJECT_LABEL: &str = "elbow.dev/quic-server-id-inject";
pub const INJECT_ENABLED: &str = "enabled";

/// A server id is 8 bytes: 16 hex digits in ELBv2's spelling.
const SERVER_ID_BYTES: usize = 8;

/// The server ids of one pod's QUIC containers, in ELBv2's spelling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodServerIds {
    /// The first id found: for a target port no container declares.
    pub default: Option<String>,
    /// By container port: the id of the container that declares it.
    pub by_port: BTreeMap<u16, String>,
}

impl PodServerIds {
    /// The ids of `pod`'s containers (and sidecars: init containers that keep running), when it
    /// carries the annotation and at least one container a valid id. A value that is not 8
    /// bytes of base64 is no id.
    pub fn of(pod: &Pod) -> Option<Self> {
        pod.metadata.annotations.as_ref()?.get(CONTAINERS_ANNOTATION)?;
        let spec = pod.spec.as_ref()?;
        let sidecars = spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
        let mut ids = Self::default();
        for container in spec.containers.iter().chain(sidecars) {
            let Some(id) = container_id(container) else { continue };
            for port in container.ports.iter().flatten() {
                if let Ok(number) = u16::try_from(port.container_port) {
                    ids.by_port.insert(number, id.clone());
                }
            }
            ids.default.get_or_insert(id);
        }
        ids.default.is_some().then_some(ids)
    }

    /// The id to register the pod's target on `port` with.
    pub fn for_port(&self, port: u16) -> Option<&str> {
        self.by_port.get(&port).or(self.default.as_ref()).map(String::as_str)
    }
}

fn container_id(container: &Container) -> Option<String> {
    let env = container.env.iter().flatten().find(|e| e.name == SERVER_ID_ENV)?;
    elb_server_id(env.value.as_deref()?)
}

/// `0x` and the lowercase hex of the 8 bytes that `base64` encodes.
pub fn elb_server_id(base64: &str) -> Option<String> {
    let bytes = STANDARD.decode(base64.trim()).ok()?;
    (bytes.len() == SERVER_ID_BYTES).then(|| format!("0x{}", hex::encode(bytes)))
}

/// The value the webhook gives a new container: `random`'s 8 bytes in base64. Random ids need no
/// coordination between webhook replicas; two of a million pods share one with a chance of about
/// 3 in 100 million.
pub fn new_server_id(random: u64) -> String {
    STANDARD.encode(random.to_be_bytes())
}

/// The containers `pod`'s annotation names that have no server id yet (init containers
/// included, as LBC injects them too); none without the annotation.
pub fn containers_to_inject(pod: &Pod) -> Vec<ContainerRef> {
    let Some(listed) = pod.metadata.annotations.as_ref().and_then(|a| a.get(CONTAINERS_ANNOTATION)) else {
        return Vec::new();
    };
    let named: Vec<&str> = listed.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    let Some(spec) = pod.spec.as_ref() else { return Vec::new() };
    let wanted =
        |c: &Container| named.contains(&c.name.as_str()) && !c.env.iter().flatten().any(|e| e.name == SERVER_ID_ENV);
    let mut found = Vec::new();
    for (list, containers) in
        [("containers", Some(&spec.containers)), ("initContainers", spec.init_containers.as_ref())]
    {
        for (index, container) in containers.into_iter().flatten().enumerate() {
            if wanted(container) {
                found.push(ContainerRef { list, index, has_env: container.env.is_some() });
            }
        }
    }
    found
}

/// A container of a pod spec, as a JSON patch addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// `containers` or `initContainers`.
    pub list: &'static str,
    pub index: usize,
    /// Whether it has an `env` list to append to (a missing one is added whole).
    pub has_env: bool,
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{ContainerPort, EnvVar, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn container(name: &str, ports: &[i32], id: Option<&str>) -> Container {
        Container {
            name: name.into(),
            ports: Some(ports.iter().map(|p| ContainerPort { container_port: *p, ..Default::default() }).collect()),
            env: id.map(|v| vec![EnvVar { name: SERVER_ID_ENV.into(), value: Some(v.into()), ..Default::default() }]),
            ..Default::default()
        }
    }

    fn pod(annotated: Option<&str>, containers: Vec<Container>, init: Vec<Container>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                annotations: annotated.map(|v| [(CONTAINERS_ANNOTATION.to_string(), v.to_string())].into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers,
                init_containers: (!init.is_empty()).then_some(init),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn an_id_is_read_back_in_elbv2_spelling_by_the_container_that_declares_the_port() {
        let (a, b) = (new_server_id(0x0123_4567_89ab_cdef), new_server_id(0xfedc_ba98_7654_3210));
        assert_eq!(a, "ASNFZ4mrze8=", "8 bytes, big-endian, standard base64 as Envoy decodes it");
        let ids = PodServerIds::of(&pod(
            Some("quic,admin"),
            vec![
                container("app", &[8080], None),
                container("quic", &[443], Some(&a)),
                container("admin", &[9443], Some(&b)),
            ],
            vec![],
        ))
        .expect("ids");
        assert_eq!(ids.for_port(443), Some("0x0123456789abcdef"));
        assert_eq!(ids.for_port(9443), Some("0xfedcba9876543210"));
        assert_eq!(ids.for_port(8080), Some("0x0123456789abcdef"), "a port of a container without an id: the first id");
        assert_eq!(ids.for_port(1), Some("0x0123456789abcdef"), "a port no container declares: the first id");
    }

    #[test]
    fn no_annotation_no_valid_id_no_ids() {
        let id = new_server_id(7);
        assert_eq!(
            PodServerIds::of(&pod(None, vec![container("quic", &[443], Some(&id))], vec![])),
            None,
            "not annotated"
        );
        assert_eq!(PodServerIds::of(&pod(Some("quic"), vec![container("quic", &[443], None)], vec![])), None, "no env");
        for bad in ["not base64!", "AAAA", "AAAAAAAAAAAAAA=="] {
            assert_eq!(
                PodServerIds::of(&pod(Some("quic"), vec![container("quic", &[443], Some(bad))], vec![])),
                None,
                "{bad}: not 8 bytes of base64"
            );
        }
        let sidecar = Container { restart_policy: Some("Always".into()), ..container("quic", &[443], Some(&id)) };
        let ids =
            PodServerIds::of(&pod(Some("quic"), vec![container("app", &[80], None)], vec![sidecar])).expect("sidecar");
        assert_eq!(ids.for_port(443), Some("0x0000000000000007"), "a sidecar serves QUIC too");
        let plain_init = container("quic", &[443], Some(&id));
        assert_eq!(
            PodServerIds::of(&pod(Some("quic"), vec![container("app", &[80], None)], vec![plain_init])),
            None,
            "an init container that exits serves nothing"
        );
    }

    #[test]
    fn the_webhook_injects_each_named_container_without_an_id_once() {
        let id = new_server_id(1);
        let given = pod(
            Some("quic, init ,gone"),
            vec![container("app", &[80], None), container("quic", &[443], None), container("gone", &[444], Some(&id))],
            vec![Container { name: "init".into(), env: Some(vec![]), ..Default::default() }],
        );
        assert_eq!(
            containers_to_inject(&given),
            [
                ContainerRef { list: "containers", index: 1, has_env: false },
                ContainerRef { list: "initContainers", index: 0, has_env: true },
            ]
        );
        let mut injected = given.clone();
        injected.spec.as_mut().unwrap().containers[1].env =
            Some(vec![EnvVar { name: SERVER_ID_ENV.into(), value: Some(id), ..Default::default() }]);
        injected.spec.as_mut().unwrap().init_containers.as_mut().unwrap()[0].env =
            Some(vec![EnvVar { name: SERVER_ID_ENV.into(), value: Some("x".into()), ..Default::default() }]);
        assert!(containers_to_inject(&injected).is_empty(), "a container with the variable keeps its value");
        assert!(containers_to_inject(&pod(None, vec![container("quic", &[443], None)], vec![])).is_empty());
    }
}
