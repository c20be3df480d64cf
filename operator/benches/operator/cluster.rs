//! The simulated cluster: an AWS region in the fake cloud (VPC, one tagged subnet per zone, the
//! nodes' security group and instances) and the Kubernetes objects that go with it. Nodes and
//! Services are shaped like the ones a real cluster holds (kubelet status with images, Helm labels,
//! managedFields as kube-apiserver records them), because their size is what the operator's caches
//! pay for.

use std::sync::Arc;
use std::time::Duration;

use elbow::runtime::OperatorSettings;
use elbow_builder::BuildConfig;
use elbow_builder::crd::IngressClassParams;
use elbow_cloud::{Instance, SecurityGroup, Subnet};
use elbow_deploy::DeploySettings;
use elbow_fake::FakeCloud;
use elbow_model::Tags;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

pub const CLUSTER: &str = "bench";
pub const VPC: &str = "vpc-0bench";
const REGION: &str = "us-east-1";
const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
const NODE_SECURITY_GROUP: &str = "sg-0nodes";
/// Requests the populating client keeps in flight.
const IN_FLIGHT: usize = 64;
/// Marks the Services that ask for a load balancer, so they can be listed apart.
pub const LOAD_BALANCER_LABEL: &str = "bench.elbow.dev/load-balancer";

/// `elbow run`'s defaults, except the two periods each measurement chooses and no orphan sweep.
pub fn operator_settings(resync_period: Duration, drift_period: Duration) -> OperatorSettings {
    OperatorSettings {
        metrics: elbow::metrics::Metrics::new(),
        ingress_controller_name: elbow_builder::ingress::DEFAULT_CONTROLLER.to_string(),
        build: BuildConfig::new(CLUSTER),
        deploy: DeploySettings {
            cluster_name: CLUSTER.into(),
            vpc_id: VPC.into(),
            drift_period,
            integrations: elbow_deploy::Integrations::all(),
        },
        vpc_id: VPC.into(),
        concurrency: 8,
        resync_period,
        inventory_ttl: Duration::from_secs(300),
        instance: Some("bench".into()),
        orphan_sweep: elbow::sweep::PeriodicSweep::off(),
    }
}

/// Elbow's CRDs, as its Helm chart installs them before the operator starts (the Ingress
/// controller's watches wait for them).
pub async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &IngressClassParams::crd())
        .await
        .expect("installing the IngressClassParams CRD");
}

/// A region with the cluster's network and `instances` running nodes, none of it counted as a call.
pub fn fake_cloud(instances: usize) -> Arc<FakeCloud> {
    let cloud = FakeCloud::new();
    cloud.seed_vpc(VPC);
    for (i, zone) in ZONES.iter().enumerate() {
        cloud.seed_subnet(Subnet {
            id: format!("subnet-0{i}"),
            vpc_id: VPC.into(),
            availability_zone: (*zone).into(),
            cidr_block: format!("10.0.{}.0/19", i * 32),
            ipv6_cidr_blocks: Vec::new(),
            // For the default scheme, internal.
            tags: Tags::from([("kubernetes.io/role/internal-elb".to_string(), "1".to_string())]),
        });
    }
    cloud.seed_security_group(SecurityGroup {
        id: NODE_SECURITY_GROUP.into(),
        group_name: format!("{CLUSTER}-nodes"),
        description: "worker nodes".into(),
        vpc_id: VPC.into(),
        tags: Tags::from([(format!("kubernetes.io/cluster/{CLUSTER}"), "owned".to_string())]),
    });
    for i in 0..instances {
        add_instance(&cloud, i);
    }
    Arc::new(cloud)
}

/// The EC2 instance behind node `i`.
pub fn add_instance(cloud: &FakeCloud, i: usize) {
    cloud.seed_instance(Instance {
        id: instance_id(i),
        vpc_id: VPC.into(),
        availability_zone: zone(i).into(),
        state: "running".into(),
        security_groups: vec![NODE_SECURITY_GROUP.into()],
    });
}

fn instance_id(i: usize) -> String {
    format!("i-{:017x}", i + 1)
}

/// The zone of node `i`, and its index in the region's zones (the subnet it lives in).
pub fn zone(i: usize) -> &'static str {
    ZONES[zone_index(i)]
}

pub fn zone_index(i: usize) -> usize {
    i % ZONES.len()
}

fn node_ip(i: usize) -> String {
    format!("10.0.{}.{}", (i % ZONES.len()) * 32 + (i / 250) % 32, i % 250 + 4)
}

pub fn node_name(i: usize) -> String {
    format!("ip-{}.ec2.internal", node_ip(i).replace('.', "-"))
}

/// Node `i` without its status (the status subresource is written apart, as the kubelet does).
fn node(i: usize) -> Node {
    let name = node_name(i);
    let zone = zone(i);
    let labels = json!({
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": "m6i.xlarge",
        "beta.kubernetes.io/os": "linux", "failure-domain.beta.kubernetes.io/region": REGION,
        "failure-domain.beta.kubernetes.io/zone": zone, "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "m6i.xlarge", "topology.kubernetes.io/region": REGION,
        "topology.kubernetes.io/zone": zone, "eks.amazonaws.com/nodegroup": "workers",
        "eks.amazonaws.com/capacityType": "ON_DEMAND", "k8s.io/cloud-provider-aws": "8a3c1e0b7f3d4b6e"
    });
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": node_ip(i),
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true"
            },
            "managedFields": [
                managed_fields("kubelet", json!({ "f:metadata": { "f:annotations": { ".": {},
                    "f:alpha.kubernetes.io/provided-node-ip": {}, "f:volumes.kubernetes.io/controller-managed-attach-detach": {} },
                    "f:labels": fields_of(&labels) } })),
                managed_fields("kube-controller-manager", json!({ "f:metadata": { "f:annotations": {
                    "f:node.alpha.kubernetes.io/ttl": {} } } })),
                managed_fields("aws-cloud-controller-manager", json!({ "f:spec": { "f:providerID": {} } })),
            ]
        },
        "spec": { "providerID": format!("aws:///{zone}/{}", instance_id(i)) }
    }))
    .expect("a node")
}

/// What a kubelet reports: addresses, capacity, the conditions, version info and the images it
/// holds (Elbow drops the images from its cache, but still decodes them).
fn node_status(i: usize) -> Value {
    let now = "2025-01-01T00:00:00Z";
    let condition = |type_: &str, status: &str, reason: &str, message: &str| {
        json!({ "type": type_, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": now, "lastTransitionTime": now })
    };
    let resources = json!({ "cpu": "4", "ephemeral-storage": "83873772Ki", "hugepages-1Gi": "0",
                            "hugepages-2Mi": "0", "memory": "15896644Ki", "pods": "58" });
    let images: Vec<Value> = (0..20)
        .map(|n| {
            json!({ "names": [format!("registry.example.com/team-{n}/service@sha256:{:064x}", n * 7919 + i),
                              format!("registry.example.com/team-{n}/service:v1.{n}.{}", i % 10)],
                    "sizeBytes": 25_000_000 + n * 1_000_000 })
        })
        .collect();
    json!({
        "addresses": [
            { "type": "InternalIP", "address": node_ip(i) },
            { "type": "InternalDNS", "address": node_name(i) },
            { "type": "Hostname", "address": node_name(i) }
        ],
        "allocatable": resources,
        "capacity": resources,
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "daemonEndpoints": { "kubeletEndpoint": { "Port": 10250 } },
        "images": images,
        "nodeInfo": {
            "architecture": "amd64", "bootID": format!("{:032x}", i * 31 + 7), "containerRuntimeVersion": "containerd://1.7.27",
            "kernelVersion": "6.1.132-147.221.amzn2023.x86_64", "kubeProxyVersion": "v1.35.0",
            "kubeletVersion": "v1.35.0", "machineID": format!("ec2{:029x}", i), "operatingSystem": "linux",
            "osImage": "Amazon Linux 2023.7.20250414", "systemUUID": format!("ec2{:029x}", i * 13)
        }
    })
}

/// Creates nodes `range` and marks them Ready with a kubelet-like status.
pub async fn create_nodes(client: &kube::Client, range: std::ops::Range<usize>) {
    let nodes: Api<Node> = Api::all(client.clone());
    futures::stream::iter(range)
        .map(|i| {
            let nodes = nodes.clone();
            async move {
                nodes.create(&PostParams::default(), &node(i)).await?;
                let status = json!({ "status": node_status(i) });
                nodes.patch_status(&node_name(i), &PatchParams::default(), &Patch::Merge(status)).await
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("creating nodes");
}

/// A single-port Service of `type_`, as a Helm chart would create it.
pub fn service(name: &str, type_: &str) -> Service {
    let labels = json!({
        "app.kubernetes.io/name": name, "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "service-1.4.2",
        LOAD_BALANCER_LABEL: (type_ == "LoadBalancer").to_string()
    });
    let spec_fields = json!({ "f:internalTrafficPolicy": {}, "f:ports": { ".": {}, "k:{\"port\":80,\"protocol\":\"TCP\"}": {
        ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {} } },
        "f:selector": {}, "f:sessionAffinity": {}, "f:type": {} });
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": { "meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": "default" },
            "managedFields": [managed_fields("helm", json!({
                "f:metadata": { "f:annotations": { ".": {}, "f:meta.helm.sh/release-name": {}, "f:meta.helm.sh/release-namespace": {} },
                                "f:labels": fields_of(&labels) },
                "f:spec": spec_fields }))]
        },
        "spec": {
            "type": type_,
            "selector": { "app.kubernetes.io/name": name, "app.kubernetes.io/instance": name },
            "ports": [{ "name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080 }],
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster"
        }
    }))
    .expect("a service")
}

/// A single-port LoadBalancer Service whose NLB sends traffic to its pods' IPs (LBC's annotation).
pub fn ip_service(name: &str) -> Service {
    let mut service = service(name, "LoadBalancer");
    service
        .metadata
        .annotations
        .get_or_insert_default()
        .insert("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type".to_string(), "ip".to_string());
    service
}

/// Creates `services` in the default namespace, many at a time.
pub async fn create_services(client: &kube::Client, services: impl Iterator<Item = Service>) {
    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    futures::stream::iter(services)
        .map(|service| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &service).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("creating services");
}

fn managed_fields(manager: &str, fields: Value) -> Value {
    json!({ "manager": manager, "operation": "Update", "apiVersion": "v1", "time": "2025-01-01T00:00:00Z",
            "fieldsType": "FieldsV1", "fieldsV1": fields })
}

/// `{"f:<key>": {}}` for every key of a map, as a FieldsV1 set lists them.
fn fields_of(map: &Value) -> Value {
    let mut fields = json!({ ".": {} });
    for key in map.as_object().into_iter().flat_map(|m| m.keys()) {
        fields[format!("f:{key}")] = json!({});
    }
    fields
}
