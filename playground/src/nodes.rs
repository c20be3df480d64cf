//! Kubernetes Nodes for the seeded instances, as a kubelet and the cloud provider would leave them:
//! a providerID naming the instance, zone labels, an internal address, and Ready.

use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::environment::NodeSeed;

/// Creates the Node and marks it Ready (status is a separate write, as the kubelet makes it).
pub async fn register(client: &Client, seed: &NodeSeed) -> kube::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {
            "name": seed.name,
            "labels": {
                "kubernetes.io/hostname": seed.name,
                "kubernetes.io/os": "linux",
                "topology.kubernetes.io/zone": seed.zone,
                "node.kubernetes.io/instance-type": "t3.micro",
            },
        },
        "spec": { "providerID": seed.provider_id() },
    }))
    .map_err(kube::Error::SerdeError)?;
    nodes.create(&PostParams::default(), &node).await?;
    let mut addresses = vec![json!({ "type": "Hostname", "address": seed.name })];
    if let Some(address) = &seed.address {
        addresses.insert(0, json!({ "type": "InternalIP", "address": address }));
    }
    let ready = json!({ "status": {
        "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady" }],
        "addresses": addresses,
    } });
    nodes.patch_status(&seed.name, &PatchParams::default(), &Patch::Merge(ready)).await?;
    Ok(())
}

pub async fn register_all(client: &Client, seeds: &[NodeSeed]) -> kube::Result<()> {
    for seed in seeds {
        register(client, seed).await?;
    }
    Ok(())
}

/// Removes the Node, as the cloud provider does when its instance is terminated.
pub async fn remove(client: &Client, name: &str) -> kube::Result<()> {
    Api::<Node>::all(client.clone()).delete(name, &DeleteParams::default()).await.map(|_| ())
}
