//! How quickly the playground's emulated cluster runs pods, and what that costs its API server.
//! `cargo bench -p elbow-playground --bench pods` (not run in CI) starts a sandbox whose kubelets
//! start and stop containers at once (so the figures are the controllers' own time), then:
//! scales a Deployment behind a Service from 3 to `PODS` replicas and waits until every pod is
//! Ready and in the Service's EndpointSlices; rolls out a new image to every pod; scales back to
//! 3. It prints the time of each step and the API requests each component made per pod.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use elbow_playground::workloads::PodTiming;
use elbow_playground::{Aws, Sandbox, SandboxOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

const PODS: usize = 100;

#[tokio::main]
async fn main() {
    let timing = PodTiming { container_start: Duration::ZERO, container_stop: Duration::ZERO };
    let options = SandboxOptions { workloads: Some(timing), ..SandboxOptions::new("bench-pods", Aws::Fake) };
    let sandbox = Sandbox::start(options).await.unwrap();
    let client = sandbox.client();
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let deployment = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "replicas": 3, "selector": { "matchLabels": { "app": "web" } }, "template": {
            "metadata": { "labels": { "app": "web" } },
            "spec": { "containers": [{ "name": "nginx", "image": "nginx", "ports": [{ "containerPort": 8080 }] }] } } },
    }))
    .unwrap();
    deployments.create(&PostParams::default(), &deployment).await.unwrap();
    let service = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "selector": { "app": "web" }, "ports": [{ "port": 80, "targetPort": 8080 }] },
    }))
    .unwrap();
    Api::<Service>::default_namespaced(client.clone()).create(&PostParams::default(), &service).await.unwrap();
    settle(&client, 3, "nginx").await;
    let before = sandbox.server.audit.entries().len();

    let started = Instant::now();
    scale(&deployments, PODS).await;
    settle(&client, PODS, "nginx").await;
    let up = started.elapsed();
    let started = Instant::now();
    let image =
        json!({ "spec": { "template": { "spec": { "containers": [{ "name": "nginx", "image": "nginx:1.27" }] } } } });
    deployments.patch("web", &PatchParams::default(), &Patch::Strategic(image)).await.unwrap();
    settle(&client, PODS, "nginx:1.27").await;
    let rollout = started.elapsed();
    let started = Instant::now();
    scale(&deployments, 3).await;
    settle(&client, 3, "nginx:1.27").await;
    let down = started.elapsed();

    println!("pods: 3 -> {PODS} ready and in the slices: {:.2} s", up.as_secs_f64());
    println!("pods: rolling update of {PODS} (25% surge, 25% unavailable): {:.2} s", rollout.as_secs_f64());
    println!("pods: {PODS} -> 3, the others gone from the slices: {:.2} s", down.as_secs_f64());
    let mut by_component: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_request: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for entry in sandbox.server.audit.entries().into_iter().skip(before) {
        let component = match entry.user_agent.split('/').next().unwrap_or_default() {
            "" => "this benchmark (polling)".to_string(),
            component => component.to_string(),
        };
        let resource = if entry.subresource.is_empty() {
            entry.resource
        } else {
            format!("{}/{}", entry.resource, entry.subresource)
        };
        *by_request.entry((component.clone(), entry.verb, resource)).or_default() += 1;
        *by_component.entry(component).or_default() += 1;
    }
    if std::env::var_os("BENCH_DETAIL").is_some() {
        for ((component, verb, resource), count) in &by_request {
            println!("  {component:<26} {verb:<7} {resource:<20} {count:>6}");
        }
    }
    // Pods created over the three steps: PODS - 3 scaling up, PODS rolled out.
    let created = 2 * PODS - 3;
    for (component, requests) in by_component {
        println!("requests: {component:<26} {requests:>6}  ({:.1} per pod created)", requests as f64 / created as f64);
    }
    sandbox.stop().await;
}

async fn scale(deployments: &Api<Deployment>, replicas: usize) {
    let patch = Patch::Merge(json!({ "spec": { "replicas": replicas } }));
    deployments.patch_scale("web", &PatchParams::default(), &patch).await.unwrap();
}

/// Waits until exactly `count` pods of `image` exist, all Ready, and the slices hold exactly them.
async fn settle(client: &kube::Client, count: usize, image: &str) {
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let slices: Api<EndpointSlice> = Api::default_namespaced(client.clone());
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let listed = pods.list(&ListParams::default().labels("app=web")).await.unwrap().items;
        let ready = listed.iter().filter(|p| {
            let image_ok = p.spec.as_ref().and_then(|s| s.containers[0].image.as_deref()) == Some(image);
            let conditions = p.status.as_ref().and_then(|s| s.conditions.as_ref());
            image_ok && conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        let endpoints: usize = slices
            .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
            .await
            .unwrap()
            .items
            .iter()
            .map(|s| s.endpoints.len())
            .sum();
        if listed.len() == count && ready.count() == count && endpoints == count {
            return;
        }
        assert!(Instant::now() < deadline, "{count} pods of {image} not settled in 300 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
