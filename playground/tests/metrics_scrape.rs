//! `curl /metrics` while Elbow works: the sandbox's operator, with the metrics server `elbow run`
//! starts, scraped over HTTP after a Service and an Ingress got their load balancers. Every series
//! of the operations guide is there with a non-zero value.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use elbow::metrics::{MetricsServer, Readiness, ReadyState};
use elbow_playground::{Aws, Sandbox, SandboxOptions};
use elbow_testkit::eventually;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, PostParams};
use serde_json::json;

/// `GET path` over plain HTTP/1.1, as curl does: (status code, body).
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// The sum of every sample of `name` whose labels contain all of `labels`.
fn total(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_reconciles_aws_calls_and_load_balancers() {
    let sandbox = Sandbox::start(SandboxOptions::new("scrape", Aws::Fake)).await.unwrap();
    let readiness = Readiness::new();
    readiness.set(ReadyState::Ready);
    let server =
        MetricsServer::start("127.0.0.1:0".parse().unwrap(), sandbox.metrics.clone(), readiness).await.unwrap();
    let client = sandbox.client();

    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service = json!({ "metadata": { "name": "web" }, "spec": { "type": "LoadBalancer",
        "selector": { "app": "web" }, "ports": [{ "port": 80, "targetPort": 8080 }] } });
    services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    let classes: Api<IngressClass> = Api::all(client.clone());
    let class = json!({ "metadata": { "name": "elbow" }, "spec": { "controller": "elbow.dev/alb" } });
    classes.create(&PostParams::default(), &serde_json::from_value(class).unwrap()).await.unwrap();
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "default");
    let ingress = json!({ "metadata": { "name": "web" }, "spec": { "ingressClassName": "elbow", "rules": [{ "http": {
        "paths": [{ "path": "/", "pathType": "Prefix", "backend": { "service": { "name": "web", "port": { "number": 80 } } } }] } }] } });
    ingresses.create(&PostParams::default(), &serde_json::from_value(ingress).unwrap()).await.unwrap();
    eventually("both load balancers", async || (sandbox.fake().unwrap().load_balancers().len() == 2).then_some(()))
        .await;
    eventually("the Ingress's hostname", async || {
        ingresses.get("web").await.ok()?.status?.load_balancer?.ingress?.first()?.hostname.clone()
    })
    .await;

    let address = server.local_addr();
    // A reconcile is counted when it returns, which is after it wrote the status the wait above
    // saw; so scrape until both controllers' first successful reconciles are in.
    let text = eventually("both controllers' reconciles counted", async || {
        let (status, text) = tokio::task::spawn_blocking(move || get(address, "/metrics")).await.unwrap();
        assert_eq!(status, 200);
        let counted = ["service", "ingress"].iter().all(|controller| {
            let label = format!(r#"controller="{controller}""#);
            total(&text, "elbow_reconciles_total", &[&label, r#"result="success""#]) > 0.0
        });
        counted.then_some(text)
    })
    .await;
    for controller in ["service", "ingress"] {
        let label = format!(r#"controller="{controller}""#);
        assert!(
            total(&text, "elbow_reconciles_total", &[&label, r#"result="success""#]) > 0.0,
            "{controller}:\n{text}"
        );
        assert!(total(&text, "elbow_reconcile_duration_seconds_count", &[&label]) > 0.0, "{text}");
    }
    for api in ["CreateLoadBalancer", "RegisterTargets", "AuthorizeSecurityGroupIngress", "DescribeLoadBalancers"] {
        let label = format!(r#"api="{api}""#);
        assert!(total(&text, "elbow_aws_api_calls_total", &[&label]) > 0.0, "{api} calls:\n{text}");
        assert!(total(&text, "elbow_aws_api_call_duration_seconds_count", &[&label]) > 0.0, "{api} latency:\n{text}");
    }
    assert_eq!(total(&text, "elbow_managed_load_balancers", &[]), 2.0, "an NLB and an ALB:\n{text}");
    for series in ["elbow_reconciles_in_flight", "elbow_leader"] {
        assert!(text.lines().any(|l| l.starts_with(series)), "{series} is exported:\n{text}");
    }
    let (ready, _) = tokio::task::spawn_blocking(move || get(address, "/readyz")).await.unwrap();
    assert_eq!(ready, 200);
    sandbox.stop().await;
}
