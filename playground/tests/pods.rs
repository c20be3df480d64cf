//! The playground runs pods, with the real kubectl and a real `kube::Client` against its sandbox:
//! a Deployment gets Running, Ready pods with addresses in their nodes' subnets; a Service's
//! EndpointSlice holds exactly the ready pods and follows scaling and deletion (terminating
//! endpoints serve until their pod is gone); `kubectl set image` rolls out within maxSurge and
//! maxUnavailable; and a readiness gate holds a pod, and with it a rollout, until its condition
//! is True.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use elbow_playground::workloads::PodTiming;
use elbow_playground::{Aws, Sandbox, SandboxOptions};
use elbow_testkit::eventually;
use elbow_testkit::tools::Kubectl;
use futures::TryStreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

async fn sandbox(cluster: &str, timing: PodTiming) -> (Sandbox, Arc<Kubectl>) {
    let options = SandboxOptions { workloads: Some(timing), ..SandboxOptions::new(cluster, Aws::Fake) };
    let sandbox = Sandbox::start(options).await.unwrap();
    let kubectl = Arc::new(Kubectl::new(sandbox.server.kubeconfig()));
    (sandbox, kubectl)
}

fn quick() -> PodTiming {
    PodTiming { container_start: Duration::from_millis(100), container_stop: Duration::from_millis(300) }
}

/// `kubectl <args>` on a blocking thread; its stdout.
async fn ok(kubectl: &Arc<Kubectl>, args: &[&str]) -> String {
    let (kubectl, args): (_, Vec<String>) = (kubectl.clone(), args.iter().map(|a| a.to_string()).collect());
    tokio::task::spawn_blocking(move || kubectl.ok(&args.iter().map(String::as_str).collect::<Vec<_>>())).await.unwrap()
}

fn pods_api(sandbox: &Sandbox) -> Api<Pod> {
    Api::default_namespaced(sandbox.client())
}

async fn web_pods(sandbox: &Sandbox) -> Vec<Pod> {
    pods_api(sandbox).list(&ListParams::default().labels("app=web")).await.unwrap().items
}

fn ready(pod: &Pod) -> bool {
    condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

fn condition<'a>(pod: &'a Pod, kind: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == kind)
}

fn ip(pod: &Pod) -> String {
    pod.status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap_or_default()
}

/// The pods once exactly `count` are Running and Ready and no other is left.
async fn ready_pods(sandbox: &Sandbox, count: usize) -> Vec<Pod> {
    eventually(&format!("{count} running, ready pods and no others"), async || {
        let pods = web_pods(sandbox).await;
        let all_ready =
            pods.iter().all(|p| ready(p) && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
        (pods.len() == count && all_ready).then_some(pods)
    })
    .await
}

/// Every endpoint of the Service's slices: address -> (ready, serving, terminating).
async fn endpoints(sandbox: &Sandbox, service: &str) -> BTreeMap<String, (bool, bool, bool)> {
    let slices: Api<EndpointSlice> = Api::default_namespaced(sandbox.client());
    let listed =
        slices.list(&ListParams::default().labels(&format!("kubernetes.io/service-name={service}"))).await.unwrap();
    let mut endpoints = BTreeMap::new();
    for slice in listed.items {
        for endpoint in slice.endpoints {
            let c = endpoint.conditions.unwrap_or_default();
            let state = (c.ready.unwrap_or(false), c.serving.unwrap_or(false), c.terminating.unwrap_or(false));
            endpoints.insert(endpoint.addresses[0].clone(), state);
        }
    }
    endpoints
}

fn serving(addresses: &[String]) -> BTreeMap<String, (bool, bool, bool)> {
    addresses.iter().map(|a| (a.clone(), (true, true, false))).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_gets_running_ready_pods_with_addresses_from_their_nodes_subnets() {
    let (sandbox, kubectl) = sandbox("pods-run", quick()).await;
    let created = ok(&kubectl, &["create", "deployment", "web", "--image=nginx", "--replicas=3"]).await;
    assert_eq!(created.trim(), "deployment.apps/web created");
    let rolled = ok(&kubectl, &["rollout", "status", "deployment/web", "--timeout=30s"]).await;
    assert!(rolled.contains("deployment \"web\" successfully rolled out"), "{rolled}");
    let pods = ready_pods(&sandbox, 3).await;

    let addresses: BTreeSet<String> = pods.iter().map(ip).collect();
    assert_eq!(addresses.len(), 3, "distinct addresses: {addresses:?}");
    let nodes: Vec<Node> = Api::<Node>::all(sandbox.client()).list(&ListParams::default()).await.unwrap().items;
    let subnets = sandbox.environment.pod_subnets();
    let mut used_nodes = BTreeSet::new();
    for pod in &pods {
        let node_name = pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap();
        let node = nodes.iter().find(|n| n.metadata.name.as_deref() == Some(node_name.as_str())).unwrap();
        let zone = &node.metadata.labels.as_ref().unwrap()["topology.kubernetes.io/zone"];
        let subnet = subnets.iter().find(|s| &s.zone == zone).unwrap();
        let prefix = subnet.cidr.trim_end_matches(".0/24");
        assert!(ip(pod).starts_with(&format!("{prefix}.")), "{} is in {} of {zone}", ip(pod), subnet.cidr);
        let host = pod.status.as_ref().and_then(|s| s.host_ip.clone()).unwrap();
        let node_ip = node.status.as_ref().and_then(|s| s.addresses.clone()).unwrap()[0].address.clone();
        assert_eq!(host, node_ip);
        used_nodes.insert(node_name);
        for kind in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
            assert_eq!(condition(pod, kind).map(|c| c.status.as_str()), Some("True"), "{kind}");
        }
    }
    assert_eq!(used_nodes.len(), 3, "three replicas on three nodes");

    // Pods -> ReplicaSet -> Deployment, tied by owner references and the pod-template-hash.
    let sets: Api<ReplicaSet> = Api::default_namespaced(sandbox.client());
    let rs = sets.list(&ListParams::default().labels("app=web")).await.unwrap().items.remove(0);
    let hash = rs.metadata.labels.as_ref().unwrap()["pod-template-hash"].clone();
    assert_eq!(rs.metadata.name.as_deref(), Some(format!("web-{hash}").as_str()));
    let deployment = Api::<Deployment>::default_namespaced(sandbox.client()).get("web").await.unwrap();
    assert_eq!(rs.metadata.owner_references.as_ref().unwrap()[0].uid, deployment.metadata.uid.clone().unwrap());
    for pod in &pods {
        assert_eq!(pod.metadata.labels.as_ref().unwrap()["pod-template-hash"], hash);
        let owner = &pod.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("ReplicaSet", Some(true)));
        assert_eq!(Some(&owner.uid), rs.metadata.uid.as_ref());
    }
    let status = deployment.status.unwrap();
    assert_eq!(
        (status.ready_replicas, status.available_replicas, status.updated_replicas),
        (Some(3), Some(3), Some(3))
    );

    let table = ok(&kubectl, &["get", "pods", "--no-headers"]).await;
    assert!(table.lines().all(|row| row.split_whitespace().collect::<Vec<_>>()[1..3] == ["1/1", "Running"]), "{table}");

    // A deleted pod is replaced; deleting the Deployment takes its ReplicaSet and pods.
    let victim = pods[0].metadata.name.clone().unwrap();
    let deleted = ok(&kubectl, &["delete", "pod", &victim]).await;
    assert!(deleted.contains(&format!("pod \"{victim}\" deleted")), "{deleted}");
    let replaced = ready_pods(&sandbox, 3).await;
    assert!(replaced.iter().all(|p| p.metadata.name.as_deref() != Some(victim.as_str())));
    ok(&kubectl, &["delete", "deployment", "web"]).await;
    eventually("the ReplicaSet and the pods gone with their Deployment", async || {
        let sets = sets.list(&ListParams::default()).await.ok()?.items;
        (sets.is_empty() && web_pods(&sandbox).await.is_empty()).then_some(())
    })
    .await;
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_slice_holds_exactly_the_ready_pods_and_follows_scaling() {
    // Pods take a while to stop, so their terminating endpoints can be seen.
    let timing = PodTiming { container_start: Duration::from_millis(100), container_stop: Duration::from_secs(2) };
    let (sandbox, kubectl) = sandbox("pods-slices", timing).await;
    ok(&kubectl, &["create", "deployment", "web", "--image=nginx", "--replicas=3", "--port=8080"]).await;
    ok(&kubectl, &["expose", "deployment", "web", "--port=80", "--target-port=8080"]).await;
    let slices: Api<EndpointSlice> = Api::default_namespaced(sandbox.client());

    let pods = ready_pods(&sandbox, 3).await;
    let addresses: Vec<String> = pods.iter().map(ip).collect();
    eventually("the three ready pods in the slice", async || {
        (endpoints(&sandbox, "web").await == serving(&addresses)).then_some(())
    })
    .await;
    let slice =
        slices.list(&ListParams::default().labels("kubernetes.io/service-name=web")).await.unwrap().items.remove(0);
    let labels = slice.metadata.labels.clone().unwrap();
    assert_eq!(labels["endpointslice.kubernetes.io/managed-by"], "endpointslice-controller.k8s.io");
    assert_eq!(slice.address_type, "IPv4");
    let port = &slice.ports.clone().unwrap()[0];
    assert_eq!((port.name.as_deref(), port.port, port.protocol.as_deref()), (Some(""), Some(8080), Some("TCP")));
    let endpoint = &slice.endpoints[0];
    let pod = pods.iter().find(|p| ip(p) == endpoint.addresses[0]).unwrap();
    assert_eq!(endpoint.target_ref.as_ref().and_then(|r| r.name.clone()), pod.metadata.name.clone());
    assert_eq!(endpoint.node_name, pod.spec.as_ref().and_then(|s| s.node_name.clone()));
    assert_eq!(slice.metadata.owner_references.as_ref().unwrap()[0].kind, "Service");

    let scaled = ok(&kubectl, &["scale", "deployment", "web", "--replicas=5"]).await;
    assert_eq!(scaled.trim(), "deployment.apps/web scaled");
    let five: Vec<String> = ready_pods(&sandbox, 5).await.iter().map(ip).collect();
    eventually("five ready endpoints", async || (endpoints(&sandbox, "web").await == serving(&five)).then_some(()))
        .await;

    ok(&kubectl, &["scale", "deployment", "web", "--replicas=2"]).await;
    // The three pods let go stop serving new connections only once they are gone: meanwhile
    // their endpoints are terminating, not ready, still serving.
    let during = eventually("three terminating endpoints beside two ready ones", async || {
        let now = endpoints(&sandbox, "web").await;
        let terminating = now.values().filter(|s| **s == (false, true, true)).count();
        let ready = now.values().filter(|s| **s == (true, true, false)).count();
        (terminating == 3 && ready == 2).then_some(now)
    })
    .await;
    assert_eq!(during.len(), 5);
    let two: Vec<String> = ready_pods(&sandbox, 2).await.iter().map(ip).collect();
    eventually("only the two pods left in the slice", async || {
        (endpoints(&sandbox, "web").await == serving(&two)).then_some(())
    })
    .await;

    // To zero: the Service keeps one empty slice.
    ok(&kubectl, &["scale", "deployment", "web", "--replicas=0"]).await;
    eventually("an empty placeholder slice", async || {
        let listed = slices.list(&ListParams::default().labels("kubernetes.io/service-name=web")).await.ok()?.items;
        (listed.len() == 1 && listed[0].endpoints.is_empty()).then_some(())
    })
    .await;
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_set_image_rolls_out_one_surge_pod_at_a_time_keeping_every_replica_available() {
    let (sandbox, kubectl) = sandbox("pods-rollout", quick()).await;
    ok(&kubectl, &["create", "deployment", "web", "--image=nginx", "--replicas=3"]).await;
    ok(&kubectl, &["rollout", "status", "deployment/web", "--timeout=30s"]).await;
    ready_pods(&sandbox, 3).await;

    // Every status the Deployment reports during the rollout.
    let deployments: Api<Deployment> = Api::default_namespaced(sandbox.client());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let watch = tokio::spawn(
        watcher(deployments.clone(), watcher::Config::default().fields("metadata.name=web"))
            .applied_objects()
            .try_for_each(move |d: Deployment| {
                record.lock().unwrap().push(d.status.unwrap_or_default());
                futures::future::ready(Ok(()))
            }),
    );
    // The pods the ReplicaSets are asked for, summed after every change to one of them: what
    // maxSurge bounds. (The Deployment's `status.replicas` sums the sets' status, which may still
    // count a pod its set was just told to drop, on a cluster as here.)
    let replica_sets: Api<ReplicaSet> = Api::default_namespaced(sandbox.client());
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record_asked = asked.clone();
    let mut specs: BTreeMap<String, i32> = BTreeMap::new();
    let set_watch = tokio::spawn(watcher(replica_sets, watcher::Config::default()).applied_objects().try_for_each(
        move |rs: ReplicaSet| {
            specs.insert(rs.metadata.name.clone().unwrap_or_default(), rs.spec.and_then(|s| s.replicas).unwrap_or(0));
            record_asked.lock().unwrap().push(specs.values().sum::<i32>());
            futures::future::ready(Ok(()))
        },
    ));
    let set = ok(&kubectl, &["set", "image", "deployment/web", "nginx=nginx:1.27"]).await;
    assert_eq!(set.trim(), "deployment.apps/web image updated");
    let rolled = ok(&kubectl, &["rollout", "status", "deployment/web", "--timeout=60s"]).await;
    assert!(rolled.trim_end().ends_with("deployment \"web\" successfully rolled out"), "{rolled}");
    let pods = ready_pods(&sandbox, 3).await;
    assert!(pods.iter().all(|p| p.spec.as_ref().unwrap().containers[0].image.as_deref() == Some("nginx:1.27")));
    watch.abort();
    set_watch.abort();

    // 25% of 3: one pod above three at most, none below.
    let asked = asked.lock().unwrap().clone();
    assert!(asked.iter().all(|sum| *sum <= 4), "pods asked of the ReplicaSets over time: {asked:?}");
    assert!(asked.contains(&4), "the rollout surged: {asked:?}");
    for status in seen.lock().unwrap().iter().filter(|s| s.observed_generation == Some(2)) {
        assert!(status.available_replicas.unwrap_or(0) >= 3, "{status:?}");
    }
    let sets: Api<ReplicaSet> = Api::default_namespaced(sandbox.client());
    let listed = sets.list(&ListParams::default()).await.unwrap().items;
    let sizes: BTreeMap<String, (i32, String)> = listed
        .iter()
        .map(|rs| {
            let revision = rs.metadata.annotations.as_ref().unwrap()["deployment.kubernetes.io/revision"].clone();
            (rs.metadata.name.clone().unwrap(), (rs.spec.as_ref().unwrap().replicas.unwrap(), revision))
        })
        .collect();
    let mut by_revision: Vec<(String, i32)> = sizes.values().map(|(r, rev)| (rev.clone(), *r)).collect();
    by_revision.sort();
    assert_eq!(by_revision, [("1".to_string(), 0), ("2".to_string(), 3)], "{sizes:?}");
    // One step at a time, each recorded as kube-controller-manager records it.
    let name_of = |revision: &str| sizes.iter().find(|(_, (_, r))| r == revision).map(|(n, _)| n.clone()).unwrap();
    let (old, new) = (name_of("1"), name_of("2"));
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::default_namespaced(sandbox.client());
    let listed =
        events.list(&ListParams::default().fields("involvedObject.name=web,reason=ScalingReplicaSet")).await.unwrap();
    let messages: BTreeSet<String> = listed.items.into_iter().filter_map(|e| e.message).collect();
    for step in [
        format!("Scaled up replica set {new} from 0 to 1"),
        format!("Scaled down replica set {old} from 3 to 2"),
        format!("Scaled up replica set {new} from 1 to 2"),
        format!("Scaled down replica set {old} from 2 to 1"),
        format!("Scaled up replica set {new} from 2 to 3"),
        format!("Scaled down replica set {old} from 1 to 0"),
    ] {
        assert!(messages.contains(&step), "{step} in {messages:?}");
    }
    let history = ok(&kubectl, &["rollout", "history", "deployment/web"]).await;
    let revisions: Vec<&str> =
        history.lines().filter_map(|l| l.split_whitespace().next()).filter(|r| r.parse::<u32>().is_ok()).collect();
    assert_eq!(revisions, ["1", "2"], "{history}");
    sandbox.stop().await;
}

const GATE: &str = "example.com/load-balancer-ready";

fn gated_deployment() -> Deployment {
    serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": { "app": "web" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": {
                    "readinessGates": [{ "conditionType": GATE }],
                    "containers": [{ "name": "nginx", "image": "nginx", "ports": [{ "name": "http", "containerPort": 8080 }] }],
                },
            },
        },
    }))
    .unwrap()
}

/// The gate's condition set as a load balancer controller sets it: through the status subresource.
async fn open_gate(pods: &Api<Pod>, pod: &str) {
    let patch = json!({ "status": { "conditions": [{ "type": GATE, "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z" }] } });
    pods.patch_status(pod, &PatchParams::default(), &Patch::Strategic(patch)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_readiness_gate_holds_a_pod_and_its_rollout_until_the_condition_is_true() {
    let (sandbox, kubectl) = sandbox("pods-gates", quick()).await;
    let deployments: Api<Deployment> = Api::default_namespaced(sandbox.client());
    deployments.create(&PostParams::default(), &gated_deployment()).await.unwrap();
    ok(&kubectl, &["expose", "deployment", "web", "--port=80", "--target-port=http"]).await;
    let pods = pods_api(&sandbox);

    let held = eventually("a running pod whose containers are ready but the pod is not", async || {
        let pod = web_pods(&sandbox).await.into_iter().next()?;
        let containers = condition(&pod, "ContainersReady")?.status == "True";
        (containers && !ready(&pod)).then_some(pod)
    })
    .await;
    let ready_condition = condition(&held, "Ready").unwrap();
    assert_eq!(ready_condition.reason.as_deref(), Some("ReadinessGatesNotReady"));
    assert_eq!(
        ready_condition.message.as_deref(),
        Some("corresponding condition of pod readiness gate \"example.com/load-balancer-ready\" does not exist.")
    );
    let address = ip(&held);
    eventually("the endpoint is there but not ready", async || {
        (endpoints(&sandbox, "web").await.get(&address) == Some(&(false, false, false))).then_some(())
    })
    .await;
    let wide = ok(&kubectl, &["get", "pods", "-o", "wide", "--no-headers"]).await;
    assert!(wide.contains("0/1") && wide.trim_end().ends_with("0/1"), "READY 0/1 and READINESS GATES 0/1: {wide}");
    assert_eq!(deployments.get("web").await.unwrap().status.and_then(|s| s.available_replicas), Some(0));

    let name = held.metadata.name.clone().unwrap();
    open_gate(&pods, &name).await;
    eventually("the pod Ready once its gate is True", async || ready(&pods.get(&name).await.ok()?).then_some(())).await;
    eventually("its endpoint ready", async || {
        (endpoints(&sandbox, "web").await == serving(std::slice::from_ref(&address))).then_some(())
    })
    .await;
    let port = Api::<EndpointSlice>::default_namespaced(sandbox.client())
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await
        .unwrap()
        .items[0]
        .ports
        .clone()
        .unwrap()[0]
        .port;
    assert_eq!(port, Some(8080), "the named target port resolved from the pod's container");

    // A new template's pod is held by its own gate, and the old pod stays until it is Ready.
    ok(&kubectl, &["set", "image", "deployment/web", "nginx=nginx:1.27"]).await;
    let newcomer = eventually("the new pod running, held by its gate", async || {
        let pods = web_pods(&sandbox).await;
        let new =
            pods.iter().find(|p| p.spec.as_ref().unwrap().containers[0].image.as_deref() == Some("nginx:1.27"))?;
        (condition(new, "ContainersReady")?.status == "True").then(|| new.clone())
    })
    .await;
    // The rollout waits: kubectl gives up on it, and the old pod still serves.
    let stuck = kubectl_run(&kubectl, &["rollout", "status", "deployment/web", "--timeout=2s"]).await;
    assert!(stuck.contains("Waiting for deployment \"web\" rollout to finish"), "{stuck}");
    assert!(stuck.contains("timed out waiting for the condition"), "{stuck}");
    let old = pods.get(&name).await.unwrap();
    assert!(old.metadata.deletion_timestamp.is_none() && ready(&old), "the old pod keeps serving");
    let status = deployments.get("web").await.unwrap().status.unwrap();
    assert_eq!((status.updated_replicas, status.available_replicas), (Some(1), Some(1)), "{status:?}");
    let waiting = tokio::spawn({
        let kubectl = kubectl.clone();
        async move { kubectl_run(&kubectl, &["rollout", "status", "deployment/web", "--timeout=30s"]).await }
    });
    open_gate(&pods, newcomer.metadata.name.as_deref().unwrap()).await;
    let rolled = waiting.await.unwrap();
    assert!(rolled.contains("successfully rolled out"), "{rolled}");
    eventually("the old pod gone", async || pods.get_opt(&name).await.ok()?.is_none().then_some(())).await;
    sandbox.stop().await;
}

async fn kubectl_run(kubectl: &Arc<Kubectl>, args: &[&str]) -> String {
    let (kubectl, args): (_, Vec<String>) = (kubectl.clone(), args.iter().map(|a| a.to_string()).collect());
    tokio::task::spawn_blocking(move || {
        let run = kubectl.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        format!("{}{}", run.stdout, run.stderr)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ip_mode_load_balancer_registers_the_ready_pods_of_a_deployment() {
    let (sandbox, kubectl) = sandbox("pods-ip", quick()).await;
    ok(&kubectl, &["create", "deployment", "web", "--image=nginx", "--replicas=3", "--port=8080"]).await;
    ok(&kubectl, &["expose", "deployment", "web", "--type=LoadBalancer", "--port=80", "--target-port=8080"]).await;
    let annotation = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type=ip";
    ok(&kubectl, &["annotate", "service", "web", annotation]).await;
    let cloud = sandbox.fake().unwrap();
    let registered = || {
        let tg = cloud.target_groups().into_iter().find(|tg| tg.target_type == elbow_model::TargetType::Ip)?;
        let targets: BTreeSet<String> =
            cloud.targets(&tg.arn).into_iter().map(|t| format!("{}:{}", t.id, t.port)).collect();
        Some(targets)
    };
    let expected = |pods: &[Pod]| -> BTreeSet<String> { pods.iter().map(|p| format!("{}:8080", ip(p))).collect() };
    let three = expected(&ready_pods(&sandbox, 3).await);
    eventually("the three pods registered", async || (registered()? == three).then_some(())).await;
    ok(&kubectl, &["scale", "deployment", "web", "--replicas=1"]).await;
    let one = expected(&ready_pods(&sandbox, 1).await);
    eventually("only the pod left registered", async || (registered()? == one).then_some(())).await;
    sandbox.stop().await;
}
