//! Objects and cloud resources several end-to-end tests start from.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use elbow_playground::Sandbox;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, PostParams};
use serde_json::json;

/// Elbow's IngressClass `elbow` and a NodePort Service `web` (port 80 to 8080) in `default`:
/// what an Ingress test needs before its Ingress. Returns the Ingresses of `default`.
pub async fn web_service_and_class(sandbox: &Sandbox) -> Api<Ingress> {
    let client = sandbox.client();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "type": "NodePort", "selector": { "app": "web" }, "ports": [{ "port": 80, "targetPort": 8080 }] }
    }))
    .unwrap();
    services.create(&PostParams::default(), &service).await.unwrap();
    let classes: Api<IngressClass> = Api::all(client.clone());
    let class: IngressClass =
        serde_json::from_value(json!({ "metadata": { "name": "elbow" }, "spec": { "controller": "elbow.dev/alb" } }))
            .unwrap();
    classes.create(&PostParams::default(), &class).await.unwrap();
    Api::namespaced(client, "default")
}

/// A managed prefix list of the endpoint's EC2 holding `cidr` (at most 5 entries); returns its id.
pub async fn prefix_list(name: &str, cidr: &str) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&crate::sdk_config().await);
    let created = ec2
        .create_managed_prefix_list()
        .prefix_list_name(name)
        .address_family("IPv4")
        .max_entries(5)
        .entries(aws_sdk_ec2::types::AddPrefixListEntry::builder().cidr(cidr).build())
        .send()
        .await
        .expect("a prefix list");
    created.prefix_list().and_then(|p| p.prefix_list_id()).expect("its id").to_string()
}
