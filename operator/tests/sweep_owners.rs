//! Who owns a stack, as the orphan sweep reads it from an API server (the testkit's): a Service
//! or an Ingress of its own while it holds Elbow's finalizer, an Ingress group while any member
//! holds the group's; keys Elbow never writes are left out of the answer, so kept. And `elbow gc`
//! as a user runs it, where no cluster can be read.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::process::{Command, Stdio};

use elbow::exit_codes;
use elbow::sweep::ClusterOwners;
use elbow_deploy::sweep::{OwnerState, Owners};
use elbow_model::StackId;
use elbow_testkit::TestServer;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, PostParams};
use serde_json::json;

async fn create<K>(client: &kube::Client, namespace: &str, object: serde_json::Value)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.create(&PostParams::default(), &serde_json::from_value(object).unwrap()).await.unwrap();
}

fn service(name: &str, finalizers: &[&str]) -> serde_json::Value {
    json!({ "metadata": { "name": name, "finalizers": finalizers },
            "spec": { "type": "LoadBalancer", "ports": [{ "port": 80 }] } })
}

fn ingress(name: &str, finalizers: &[&str]) -> serde_json::Value {
    json!({ "metadata": { "name": name, "finalizers": finalizers },
            "spec": { "defaultBackend": { "service": { "name": "web", "port": { "number": 80 } } } } })
}

fn keys(keys: &[&str]) -> Vec<StackId> {
    keys.iter().map(|k| StackId::new(*k)).collect()
}

#[tokio::test]
async fn owners_are_read_by_their_finalizers() {
    let server = TestServer::start().await.unwrap();
    let client = server.client.clone();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for name in ["shop", "blog"] {
        namespaces
            .create(&PostParams::default(), &serde_json::from_value(json!({ "metadata": { "name": name } })).unwrap())
            .await
            .unwrap();
    }
    create::<Service>(&client, "default", service("web", &["service.elbow.dev/resources"])).await;
    create::<Service>(&client, "default", service("plain", &["example.com/other"])).await;
    create::<Ingress>(&client, "shop", ingress("solo", &["ingress.elbow.dev/resources"])).await;
    create::<Ingress>(&client, "shop", ingress("bare", &[])).await;
    // The group `public` has members in two namespaces, one of them holding its finalizer.
    create::<Ingress>(&client, "shop", ingress("front", &["group.ingress.elbow.dev/public"])).await;
    create::<Ingress>(&client, "blog", ingress("posts", &[])).await;
    // An Ingress of its own must hold the implicit group's finalizer, not some group's.
    create::<Ingress>(&client, "blog", ingress("moved", &["group.ingress.elbow.dev/public"])).await;

    let owners = ClusterOwners::new(client);
    let asked = keys(&[
        "default/web",
        "default/plain",
        "default/missing",
        "ingress:shop/solo",
        "ingress:shop/bare",
        "ingress:blog/moved",
        "ingress:shop/missing",
        "ingress-group:public",
        "ingress-group:archive",
        "_shared",
        "not-a-key",
    ]);
    let states = owners.owners(&asked).await.unwrap();
    let expected: HashMap<StackId, OwnerState> = [
        ("default/web", OwnerState::Owned),
        ("default/plain", OwnerState::Gone),
        ("default/missing", OwnerState::Gone),
        ("ingress:shop/solo", OwnerState::Owned),
        ("ingress:shop/bare", OwnerState::Gone),
        ("ingress:blog/moved", OwnerState::Gone),
        ("ingress:shop/missing", OwnerState::Gone),
        ("ingress-group:public", OwnerState::Owned),
        ("ingress-group:archive", OwnerState::Gone),
    ]
    .into_iter()
    .map(|(k, v)| (StackId::new(k), v))
    .collect();
    assert_eq!(states, expected, "keys Elbow never writes are left out");

    // One stack at a time, as the look just before a deletion asks: the same answers.
    for key in ["default/web", "default/missing", "ingress:shop/solo", "ingress:shop/bare", "ingress-group:public"] {
        let one = owners.owners(&keys(&[key])).await.unwrap();
        assert_eq!(one.get(&StackId::new(key)), expected.get(&StackId::new(key)), "{key}");
    }
}

#[test]
fn gc_without_a_cluster_to_read_is_a_configuration_error_that_says_so() {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_elbow"))
        .args(["gc", "--cluster-name=cli", "--region=us-east-1", "--aws-endpoint=http://127.0.0.1:9"])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KUBECONFIG", home.path().join("missing"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(i32::from(exit_codes::CONFIGURATION)), "{stderr}");
    assert!(stderr.contains("failed to find a Kubernetes configuration"), "{stderr}");
    assert!(output.stdout.is_empty());
}
