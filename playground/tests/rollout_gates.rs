//! A rollout that waits for the load balancer, driven with the real kubectl as a user would: in a
//! namespace labelled `elbow.dev/pod-readiness-gate-inject=enabled`, Elbow's pod webhook gives the
//! pods of an ip-mode LoadBalancer Service their target-health gate; the playground's workload
//! controllers (ReplicaSets, the kubelet, the EndpointSlice controller) run the pods; Elbow
//! registers each pod while its gate holds it and turns the gate True once the fake cloud says the
//! target is healthy. So `kubectl rollout status` waits for the load balancer, and a rolling update
//! registers each new pod and deregisters each old one, leaving exactly the new pods registered.
//!
//! The fake cloud plays the health checks: new targets start `initial` (as on AWS) until the test
//! says they pass. (moto reports every target healthy at once, so the same path against moto is
//! in `localstack-tests/tests/readiness_gates.rs`, with less to see.)

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use elbow_fake::{FakeCloud, Health};
use elbow_model::{Target, TargetType};
use elbow_playground::workloads::PodTiming;
use elbow_playground::{Aws, Sandbox, SandboxOptions};
use elbow_testkit::eventually;
use elbow_testkit::tools::{Kubectl, Run};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

const NAMESPACE: &str = "shop";

async fn kubectl(kubectl: &Arc<Kubectl>, args: &[&str]) -> Run {
    let (kubectl, args): (_, Vec<String>) = (kubectl.clone(), args.iter().map(|a| a.to_string()).collect());
    tokio::task::spawn_blocking(move || kubectl.run(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap()
}

async fn ok(runner: &Arc<Kubectl>, args: &[&str]) -> String {
    let run = kubectl(runner, args).await;
    assert!(run.success(), "kubectl {args:?}: {}{}", run.stdout, run.stderr);
    run.stdout
}

fn initial() -> Health {
    Health {
        state: "initial".into(),
        reason: Some("Elb.InitialHealthChecking".into()),
        description: Some("Initial health checks in progress".into()),
    }
}

/// The pods of the Deployment that are not being deleted.
async fn live_pods(pods: &Api<Pod>) -> Vec<Pod> {
    let listed = pods.list(&ListParams::default().labels("app=web")).await.unwrap().items;
    listed.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
}

fn ip(pod: &Pod) -> Option<String> {
    pod.status.as_ref()?.pod_ip.clone()
}

fn condition(pod: &Pod, kind: &str) -> Option<(String, Option<String>)> {
    let found = pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == kind)?;
    Some((found.status.clone(), found.reason.clone()))
}

fn registered(cloud: &FakeCloud, arn: &str) -> BTreeSet<String> {
    cloud.targets(arn).into_iter().map(|t| t.id).collect()
}

/// The ip addresses of `pods`, once every one has one.
fn addresses(pods: &[Pod]) -> Option<BTreeSet<String>> {
    pods.iter().map(ip).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_rollouts_wait_for_the_load_balancer_and_leave_exactly_the_new_pods_registered() {
    let timing = PodTiming { container_start: Duration::from_millis(100), container_stop: Duration::from_millis(300) };
    let options =
        SandboxOptions { webhook: true, workloads: Some(timing), ..SandboxOptions::new("rollout-gates", Aws::Fake) };
    let sandbox = Sandbox::start(options).await.unwrap();
    let cloud = sandbox.fake().unwrap();
    let runner = Arc::new(Kubectl::new(sandbox.server.kubeconfig()));
    let pods: Api<Pod> = Api::namespaced(sandbox.client(), NAMESPACE);

    ok(&runner, &["create", "namespace", NAMESPACE]).await;
    ok(&runner, &["label", "namespace", NAMESPACE, "elbow.dev/pod-readiness-gate-inject=enabled"]).await;
    ok(&runner, &["-n", NAMESPACE, "create", "service", "loadbalancer", "web", "--tcp=80:8080"]).await;
    let annotation = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type=ip";
    ok(&runner, &["-n", NAMESPACE, "annotate", "service", "web", annotation]).await;
    let group = eventually("the Service's ip target group", async || {
        cloud.target_groups().into_iter().find(|tg| tg.target_type == TargetType::Ip)
    })
    .await;
    let gate = format!("target-health.elbow.dev/{}", group.name);

    // Health checks that have not passed: the pods are registered, their gates hold them.
    cloud.set_new_target_health(Some(initial()));
    ok(&runner, &["-n", NAMESPACE, "create", "deployment", "web", "--image=nginx", "--replicas=2", "--port=8080"])
        .await;
    let first = eventually("two pods registered", async || {
        let live = live_pods(&pods).await;
        let addresses = addresses(&live).filter(|a| a.len() == 2)?;
        (registered(cloud, &group.arn) == addresses).then_some(live)
    })
    .await;
    for pod in &first {
        let gates: Vec<String> =
            pod.spec.as_ref().unwrap().readiness_gates.iter().flatten().map(|g| g.condition_type.clone()).collect();
        assert_eq!(gates, std::slice::from_ref(&gate), "the webhook's gate");
    }
    let name = |pod: &Pod| pod.metadata.name.clone().unwrap();
    for pod in &first {
        eventually("the gate says why it waits", async || {
            let pod = pods.get(&name(pod)).await.ok()?;
            (condition(&pod, &gate)? == ("False".into(), Some("Elb.InitialHealthChecking".into()))).then_some(())
        })
        .await;
        let pod = pods.get(&name(pod)).await.unwrap();
        assert_eq!(condition(&pod, "ContainersReady").map(|c| c.0).as_deref(), Some("True"));
        assert_eq!(condition(&pod, "Ready").map(|c| c.0).as_deref(), Some("False"), "held by its gate");
    }
    let waiting = kubectl(&runner, &["-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=2s"]).await;
    assert!(!waiting.success(), "the rollout waits for the load balancer: {}", waiting.stdout);

    // The health checks pass: the gates open, the pods become Ready, the rollout completes.
    for address in registered(cloud, &group.arn) {
        assert!(cloud.set_target_health(&group.arn, &Target::new(address, 8080), Health::healthy()));
    }
    let rolled = ok(&runner, &["-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=60s"]).await;
    assert!(rolled.trim_end().ends_with("successfully rolled out"), "{rolled}");

    // A rolling update: each new pod (maxSurge 1, maxUnavailable 0 of 2) waits for its health
    // checks before an old pod goes.
    ok(&runner, &["-n", NAMESPACE, "set", "image", "deployment/web", "nginx=nginx:1.27"]).await;
    let old: BTreeSet<String> = addresses(&first).unwrap();
    let surge = eventually("the surge pod registered beside the old ones", async || {
        let now = registered(cloud, &group.arn);
        let new: Vec<String> = now.difference(&old).cloned().collect();
        (now.is_superset(&old) && new.len() == 1).then(|| new[0].clone())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(registered(cloud, &group.arn).is_superset(&old), "no old pod leaves while the new one is not healthy");
    assert_eq!(live_pods(&pods).await.len(), 3, "the surge waits: no second new pod");
    cloud.set_new_target_health(None);
    assert!(cloud.set_target_health(&group.arn, &Target::new(surge, 8080), Health::healthy()));
    let rolled = ok(&runner, &["-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=60s"]).await;
    assert!(rolled.trim_end().ends_with("successfully rolled out"), "{rolled}");

    let new_pods = eventually("only the new pods left", async || {
        let live = live_pods(&pods).await;
        let updated =
            live.iter().all(|p| p.spec.as_ref().unwrap().containers[0].image.as_deref() == Some("nginx:1.27"));
        (live.len() == 2 && updated).then_some(live)
    })
    .await;
    let expected = addresses(&new_pods).unwrap();
    assert!(expected.is_disjoint(&old));
    eventually("exactly the new pods registered", async || (registered(cloud, &group.arn) == expected).then_some(()))
        .await;
    sandbox.stop().await;
}
