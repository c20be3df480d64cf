//! The README's Ingress walkthrough with the real kubectl against the playground's sandbox:
//! create an IngressClass and an Ingress, see the ALB's DNS name under ADDRESS, delete the
//! Ingress, and find nothing left in the (fake) cloud.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use elbow_playground::{Aws, Sandbox, SandboxOptions};
use elbow_testkit::tools::Kubectl;

const MANIFESTS: &str = r#"
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: elbow
spec:
  controller: elbow.dev/alb
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  ingressClassName: elbow
  rules:
  - host: web.example.com
    http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn an_ingress_applied_with_kubectl_shows_the_alb_address_and_leaves_nothing_behind() {
    let sandbox = Sandbox::start(SandboxOptions::new("walkthrough", Aws::Fake)).await.unwrap();
    let cloud = sandbox.fake().unwrap();
    let kubectl = Kubectl::new(sandbox.server.kubeconfig());

    let row = tokio::task::spawn_blocking(move || {
        let applied = kubectl.run_with_input(&["apply", "-f", "-"], MANIFESTS);
        assert!(applied.success(), "{applied:?}");
        let started = Instant::now();
        loop {
            let row = kubectl.ok(&["get", "ingress", "web", "--no-headers"]);
            // NAME CLASS HOSTS ADDRESS PORTS AGE
            let columns: Vec<String> = row.split_whitespace().map(str::to_string).collect();
            if columns.len() == 6 {
                return (kubectl, columns);
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no ADDRESS after 10 s: {row}");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    let (kubectl, columns) = row;
    assert_eq!(columns[..3], ["web", "elbow", "web.example.com"]);
    let lbs = cloud.load_balancers();
    assert_eq!(lbs.len(), 1);
    assert_eq!(columns[3], lbs[0].dns_name, "ADDRESS is the ALB's DNS name");
    assert_eq!(columns[4], "80");

    let deleted =
        tokio::task::spawn_blocking(move || kubectl.ok(&["delete", "ingress", "web", "--wait"])).await.unwrap();
    assert_eq!(deleted.trim(), "ingress.networking.k8s.io \"web\" deleted from default namespace");
    assert!(cloud.load_balancers().is_empty(), "the ALB is gone before the Ingress is");
    assert!(cloud.target_groups().is_empty());
    assert!(cloud.listeners().is_empty());
    sandbox.stop().await;
}
