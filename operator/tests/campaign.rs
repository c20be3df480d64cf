//! Fault campaigns: the real `elbow run` binary against the test API server and the
//! AWS-compatible endpoint (moto in CI) through the fault proxy, each ending with a check read
//! straight from the endpoint, not through Elbow: every object has its hostname, each stack has
//! exactly one load balancer (no duplicates), every target group holds the nodes, and once the
//! objects are deleted nothing tagged with the cluster is left (no orphans).
//!
//! Sizes fit CI; `ELBOW_CAMPAIGN_FULL=1` runs the full ones (100 Services and 20 Ingresses in 4
//! groups). Each campaign prints its figures: faults injected, calls, time to converge.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use elbow_aws::SdkCloud;
use elbow_cloud::{Cloud, LoadBalancerFilter, TargetGroupFilter};
use elbow_localstack_tests::fault_proxy::{FaultPlan, FaultProxy};
use elbow_localstack_tests::owned::owned;
use elbow_localstack_tests::{Network, endpoint};
use elbow_testkit::TestServer;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

fn full_size() -> bool {
    std::env::var("ELBOW_CAMPAIGN_FULL").is_ok_and(|v| v == "1")
}

/// A cluster (the test API server with Nodes, CRDs and Elbow's IngressClass), its seeded network
/// on the endpoint, and the fault proxy in front of the endpoint.
struct World {
    server: TestServer,
    network: Network,
    proxy: FaultProxy,
    direct: SdkCloud,
    nodes: usize,
}

impl World {
    async fn start(prefix: &str, nodes: usize, plan: FaultPlan) -> World {
        let network = Network::seed(prefix, nodes).await;
        let server = TestServer::start().await.unwrap();
        let node_api: Api<Node> = Api::all(server.client.clone());
        for node in network.ready_nodes(nodes) {
            node_api.create(&PostParams::default(), &node).await.unwrap();
        }
        let crds: Api<CustomResourceDefinition> = Api::all(server.client.clone());
        for (_, yaml) in elbow::crds::all() {
            crds.create(&PostParams::default(), &serde_saphyr::from_str(&yaml).unwrap()).await.unwrap();
        }
        let class: IngressClass = serde_json::from_value(
            json!({ "metadata": { "name": "elbow" }, "spec": { "controller": "elbow.dev/alb" } }),
        )
        .unwrap();
        Api::<IngressClass>::all(server.client.clone()).create(&PostParams::default(), &class).await.unwrap();
        let proxy = FaultProxy::start(&endpoint().expect("an endpoint"), plan).await.unwrap();
        let direct = elbow_localstack_tests::cloud().await;
        World { server, network, proxy, direct, nodes }
    }

    fn services(&self) -> Api<Service> {
        Api::namespaced(self.server.client.clone(), "default")
    }

    fn ingresses(&self) -> Api<Ingress> {
        Api::namespaced(self.server.client.clone(), "default")
    }

    /// `elbow run` as the chart runs it, its AWS endpoint the proxy.
    fn operator(&self, instance: &str) -> Operator {
        self.operator_with(instance, &[])
    }

    /// `elbow run` with `extra` flags.
    fn operator_with(&self, instance: &str, extra: &[&str]) -> Operator {
        let log = std::env::temp_dir().join(format!("elbow-campaign-{}-{instance}.log", self.network.cluster));
        let child = Command::new(env!("CARGO_BIN_EXE_elbow"))
            .arg("run")
            .arg(format!("--cluster-name={}", self.network.cluster))
            .arg(format!("--vpc-id={}", self.network.inventory.vpc_id))
            .arg(format!("--aws-endpoint={}", self.proxy.url()))
            .args(["--metrics-bind-address=127.0.0.1:0", "--region=us-east-1", "--concurrency=8"])
            .arg(format!("--instance={instance}"))
            .args(extra)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("KUBECONFIG", self.server.kubeconfig())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Operator { child, log }
    }

    async fn create_service(&self, name: &str, ports: &[u16]) {
        let ports: Vec<_> =
            ports.iter().map(|p| json!({ "name": format!("p{p}"), "port": p, "targetPort": 8080 })).collect();
        let service: Service = serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": { "type": "LoadBalancer", "selector": { "app": name }, "ports": ports },
        }))
        .unwrap();
        self.services().create(&PostParams::default(), &service).await.unwrap();
    }

    /// An Ingress in `group` routing `host` to a NodePort Service of its own.
    async fn create_ingress(&self, name: &str, group: &str) {
        let backend: Service = serde_json::from_value(json!({
            "metadata": { "name": format!("{name}-backend") },
            "spec": { "type": "NodePort", "selector": { "app": name }, "ports": [{ "port": 80, "targetPort": 8080 }] },
        }))
        .unwrap();
        self.services().create(&PostParams::default(), &backend).await.unwrap();
        let ingress: Ingress = serde_json::from_value(json!({
            "metadata": { "name": name, "annotations": { "alb.ingress.kubernetes.io/group.name": group } },
            "spec": { "ingressClassName": "elbow", "rules": [{ "host": format!("{name}.example.com"), "http": { "paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": { "service": { "name": format!("{name}-backend"), "port": { "number": 80 } } }
            }] } }] },
        }))
        .unwrap();
        self.ingresses().create(&PostParams::default(), &ingress).await.unwrap();
    }

    /// Waits until every LoadBalancer Service and every Ingress has a hostname.
    async fn wait_converged(&self, operators: &[&Operator], deadline: Duration) {
        let services = self.services();
        let ingresses = self.ingresses();
        wait(deadline, operators, async || {
            let pending_services = services
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .iter()
                .filter(|s| s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer"))
                .filter(|s| hostname_of(s.status.as_ref().and_then(|s| s.load_balancer.as_ref())).is_none())
                .count();
            let pending_ingresses = ingresses
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .iter()
                .filter(|i| ingress_hostname(i).is_none())
                .count();
            (pending_services + pending_ingresses == 0).then_some(())
        })
        .await;
    }

    /// Deletes every Service and Ingress and waits until all are gone (their finalizers released).
    async fn delete_all(&self, operators: &[&Operator], deadline: Duration) {
        let services = self.services();
        let ingresses = self.ingresses();
        for ingress in ingresses.list(&ListParams::default()).await.unwrap().items {
            ingresses.delete(&ingress.metadata.name.unwrap(), &DeleteParams::default()).await.unwrap();
        }
        for service in services.list(&ListParams::default()).await.unwrap().items {
            let name = service.metadata.name.unwrap();
            if name != "kubernetes" {
                services.delete(&name, &DeleteParams::default()).await.unwrap();
            }
        }
        wait(deadline, operators, async || {
            let left = services.list(&ListParams::default()).await.ok()?.items.len()
                + ingresses.list(&ListParams::default()).await.ok()?.items.len();
            (left == 0).then_some(())
        })
        .await;
    }

    /// What the endpoint holds for the cluster, read without Elbow: load balancers per stack, and
    /// the target groups whose targets are not exactly the nodes.
    async fn check_converged(&self, stacks_expected: usize) -> Report {
        let cluster = self.network.cluster.as_str();
        let lbs = self.direct.describe_load_balancers(LoadBalancerFilter::All).await.unwrap();
        let tags = self.direct.describe_tags(&lbs.iter().map(|l| l.arn.clone()).collect::<Vec<_>>()).await.unwrap();
        let mut per_stack: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for lb in &lbs {
            let Some(tags) = tags.get(&lb.arn) else { continue };
            if tags.get("elbow.dev/cluster").map(String::as_str) == Some(cluster) {
                let stack = tags.get("elbow.dev/stack").cloned().unwrap_or_default();
                per_stack.entry(stack).or_default().push(lb.name.clone());
            }
        }
        let duplicated: BTreeMap<String, Vec<String>> =
            per_stack.iter().filter(|(_, names)| names.len() > 1).map(|(s, n)| (s.clone(), n.clone())).collect();
        let duplicates = duplicated.values().map(|names| names.len() - 1).sum::<usize>();
        let tgs = self.direct.describe_target_groups(TargetGroupFilter::All).await.unwrap();
        let tg_tags = self.direct.describe_tags(&tgs.iter().map(|t| t.arn.clone()).collect::<Vec<_>>()).await.unwrap();
        let mut instances: Vec<String> = self.network.instances[..self.nodes].to_vec();
        instances.sort();
        let mut unfilled = Vec::new();
        for tg in tgs.iter().filter(|t| {
            tg_tags.get(&t.arn).and_then(|t| t.get("elbow.dev/cluster")).map(String::as_str) == Some(cluster)
        }) {
            let mut ids: Vec<String> =
                self.direct.describe_target_health(&tg.arn).await.unwrap().into_iter().map(|h| h.target.id).collect();
            ids.sort();
            if ids != instances {
                unfilled.push(format!("{}: {ids:?}", tg.name));
            }
        }
        assert_eq!(per_stack.len(), stacks_expected, "one load balancer per stack: {per_stack:?}");
        Report { duplicates, duplicated, unfilled, stacks: per_stack.len() }
    }

    /// Resources tagged with the cluster, node rules included, once everything is deleted.
    async fn orphans(&self) -> usize {
        let left = owned(&self.direct as &dyn Cloud, &self.network.cluster, &self.network.node_group).await;
        left.lbs.len() + left.targets.len() + left.listeners.len() + left.groups.len() + left.node_rules.len()
    }
}

#[derive(Debug)]
struct Report {
    duplicates: usize,
    /// The stacks holding more than one load balancer, with their load balancers' names.
    duplicated: BTreeMap<String, Vec<String>>,
    unfilled: Vec<String>,
    stacks: usize,
}

fn ingress_hostname(ingress: &Ingress) -> Option<String> {
    ingress.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?.first()?.hostname.clone()
}

fn hostname_of(status: Option<&k8s_openapi::api::core::v1::LoadBalancerStatus>) -> Option<String> {
    status?.ingress.as_ref()?.first()?.hostname.clone()
}

/// The operator process; killed (SIGKILL) when dropped.
struct Operator {
    child: Child,
    log: PathBuf,
}

impl Operator {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` until it answers or `deadline` passes; a timeout shows the operators' logs' ends.
async fn wait<T>(deadline: Duration, operators: &[&Operator], mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let until = Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() > until {
            let tails: Vec<String> = operators
                .iter()
                .map(|o| {
                    let log = o.log();
                    let lines: Vec<&str> = log.lines().collect();
                    lines[lines.len().saturating_sub(40)..].join("\n")
                })
                .collect();
            panic!("timed out after {deadline:?}; the operators' logs end:\n{}", tails.join("\n----\n"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_percent_of_calls_faulted_everything_converges_then_nothing_is_left() {
    let (services, ingresses, groups) = if full_size() { (100, 20, 4) } else { (12, 8, 4) };
    let world = World::start("campaign-faults", 2, FaultPlan::spread(0.3, 0x5eed)).await;
    let operator = world.operator("faults");

    let started = Instant::now();
    let creates = (0..services).map(|i| {
        let world = &world;
        async move { world.create_service(&format!("svc-{i}"), &[80]).await }
    });
    futures::future::join_all(creates).await;
    for i in 0..ingresses {
        world.create_ingress(&format!("ing-{i}"), &format!("group-{}", i % groups)).await;
    }
    world.wait_converged(&[&operator], Duration::from_secs(600)).await;
    let converged = started.elapsed();
    let report = world.check_converged(services + groups).await;
    let created = world.proxy.census();

    let started = Instant::now();
    world.delete_all(&[&operator], Duration::from_secs(600)).await;
    let deleted = started.elapsed();
    let orphans = world.orphans().await;
    let census = world.proxy.census();
    println!(
        "campaign faults: {services} Services, {ingresses} Ingresses in {groups} groups; create: {}, converged in {:.1} s; \
         delete: {} calls more, done in {:.1} s; duplicates {}, unfilled target groups {}, orphans {orphans}",
        created.summary(),
        converged.as_secs_f64(),
        census.total_calls() - created.total_calls(),
        deleted.as_secs_f64(),
        report.duplicates,
        report.unfilled.len(),
    );
    assert!(census.total_faults() * 5 > census.total_calls(), "about 30% of calls faulted: {}", census.summary());
    assert_eq!(report.duplicates, 0, "load balancers per duplicated stack: {:?}", report.duplicated);
    assert!(report.unfilled.is_empty(), "target groups not holding exactly the nodes: {:?}", report.unfilled);
    assert_eq!(report.stacks, services + groups);
    assert_eq!(orphans, 0, "resources left with the cluster's tag");
    assert!(!operator.log().contains("panicked"), "{}", operator.log());
}

/// The operator's calls settle: none answered for half a second. Start-up makes calls of its own
/// (the start-up checks, the network inventory), which a crash point must not count.
async fn settled(world: &World) -> u64 {
    let mut last = world.proxy.answered();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = world.proxy.answered();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// One object shape the crash campaign provisions and deletes.
#[derive(Clone, Copy)]
enum Shape {
    /// A Service with two ports: one NLB, two listeners, two target groups.
    TwoPortService,
    /// Two Ingresses in one group: one ALB, their rules, two target groups.
    TwoMemberGroup,
}

impl Shape {
    async fn create(self, world: &World, name: &str) {
        match self {
            Shape::TwoPortService => world.create_service(name, &[80, 443]).await,
            Shape::TwoMemberGroup => {
                world.create_ingress(&format!("{name}-a"), name).await;
                world.create_ingress(&format!("{name}-b"), name).await;
            }
        }
    }
}

/// Starts `phase` (the provisioning or the deletion of some objects) with the gate closed after
/// `k` more answered calls, and kills the operator as soon as the k-th is answered; then restarts
/// it. Returns the new operator and whether the crash point was reached: `false` when the phase
/// was `done` before making k calls, that is, every crash point of the phase has been tried.
async fn crash_at(
    world: &World,
    mut operator: Operator,
    k: u64,
    phase: impl AsyncFnOnce(),
    mut done: impl AsyncFnMut() -> bool,
) -> (Operator, bool) {
    let base = settled(world).await;
    world.proxy.set_gate(Some(base + k));
    phase().await;
    let until = Instant::now() + Duration::from_secs(120);
    let reached = loop {
        if world.proxy.answered() >= base + k {
            break true;
        }
        if done().await {
            // Done with fewer calls; the count is read again in case the last call was the k-th.
            break world.proxy.answered() >= base + k;
        }
        assert!(Instant::now() < until, "neither call {k} nor the end of the phase came:\n{}", operator.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    operator.kill();
    world.proxy.set_gate(None);
    (world.operator(&format!("after-{k}")), reached)
}

impl World {
    async fn all_have_hostnames(&self) -> bool {
        let services = self.services().list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
        let ingresses = self.ingresses().list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
        services
            .iter()
            .filter(|s| s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer"))
            .all(|s| hostname_of(s.status.as_ref().and_then(|s| s.load_balancer.as_ref())).is_some())
            && ingresses.iter().all(|i| ingress_hostname(i).is_some())
    }

    async fn all_gone(&self) -> bool {
        let services = self.services().list(&ListParams::default()).await.map(|l| l.items.len()).unwrap_or(1);
        let ingresses = self.ingresses().list(&ListParams::default()).await.map(|l| l.items.len()).unwrap_or(1);
        services + ingresses == 0
    }

    /// Deletes every Service and Ingress without waiting.
    async fn start_deleting_all(&self) {
        let ingresses = self.ingresses();
        for ingress in ingresses.list(&ListParams::default()).await.unwrap().items {
            ingresses.delete(&ingress.metadata.name.unwrap(), &DeleteParams::default()).await.unwrap();
        }
        let services = self.services();
        for service in services.list(&ListParams::default()).await.unwrap().items {
            let name = service.metadata.name.unwrap();
            if name != "kubernetes" {
                services.delete(&name, &DeleteParams::default()).await.unwrap();
            }
        }
    }
}

/// Crash points tried: (while provisioning, while deleting). Each round provisions new objects
/// with a crash after one more call than the round before, converges, checks, then deletes them
/// the same way; a phase is done once it finishes before its crash point.
async fn crash_campaign(shape: Shape, prefix: &str) -> (u64, u64) {
    let world = World::start(prefix, 2, FaultPlan::none()).await;
    let mut operator = world.operator("first");
    let converge = Duration::from_secs(120);
    let (mut provisioning, mut deletion) = (0, 0);
    let (mut provisioning_open, mut deletion_open) = (true, true);
    let mut k = 1;
    while provisioning_open || deletion_open {
        let name = format!("crash-{k}");
        if provisioning_open {
            let reached;
            (operator, reached) = crash_at(
                &world,
                operator,
                k,
                async || shape.create(&world, &name).await,
                async || world.all_have_hostnames().await,
            )
            .await;
            provisioning += u64::from(reached);
            provisioning_open = reached;
        } else {
            shape.create(&world, &name).await;
        }
        world.wait_converged(&[&operator], converge).await;
        let report = world.check_converged(1).await;
        assert_eq!(report.duplicates, 0, "crash after provisioning call {k}: {report:?}");
        assert!(report.unfilled.is_empty(), "crash after provisioning call {k}: {report:?}");
        if deletion_open {
            let reached;
            (operator, reached) = crash_at(
                &world,
                operator,
                k,
                async || world.start_deleting_all().await,
                async || world.all_gone().await,
            )
            .await;
            deletion += u64::from(reached);
            deletion_open = reached;
        }
        world.delete_all(&[&operator], converge).await;
        assert_eq!(world.orphans().await, 0, "crash after call {k}: resources left with the cluster's tag");
        k += 1;
    }
    assert!(provisioning > 3 && deletion > 1, "crash points: {provisioning} provisioning, {deletion} deletion");
    assert!(!operator.log().contains("panicked"), "{}", operator.log());
    (provisioning, deletion)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_every_call_of_a_two_port_service_leaves_no_duplicate_and_no_orphan() {
    let (provisioning, deletion) = crash_campaign(Shape::TwoPortService, "crash-svc").await;
    println!(
        "campaign crash (two-port Service): {provisioning} crash points while provisioning, {deletion} while deleting, \
         {} tried; duplicates 0, orphans 0",
        provisioning + deletion
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_every_call_of_a_two_member_ingress_group_leaves_no_duplicate_and_no_orphan() {
    let (provisioning, deletion) = crash_campaign(Shape::TwoMemberGroup, "crash-ing").await;
    println!(
        "campaign crash (two-member Ingress group): {provisioning} crash points while provisioning, {deletion} while \
         deleting, {} tried; duplicates 0, orphans 0",
        provisioning + deletion
    );
}

/// Leader election as the chart sets it up, with short timings so a failover takes seconds.
const LEADER_ELECTION: [&str; 5] = [
    "--leader-elect",
    "--leader-election-namespace=default",
    "--leader-election-lease-duration=4s",
    "--leader-election-renew-deadline=3s",
    "--leader-election-retry-period=1s",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_leader_killed_in_the_middle_of_a_burst_leaves_no_duplicate_and_no_orphan() {
    let services = if full_size() { 100 } else { 20 };
    let world = World::start("campaign-failover", 2, FaultPlan::none()).await;
    let first = world.operator_with("first", &LEADER_ELECTION);
    // The first holds the Lease before the second starts, so the second stands by.
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(world.server.client.clone(), "default");
    wait(Duration::from_secs(30), &[&first], async || {
        let lease = leases.get_opt("elbow-leader").await.ok().flatten()?;
        lease.spec?.holder_identity?.starts_with("first").then_some(())
    })
    .await;
    let second = world.operator_with("second", &LEADER_ELECTION);
    let mut first = first;

    let started = Instant::now();
    let base = world.proxy.answered();
    let creates = (0..services).map(|i| {
        let world = &world;
        async move { world.create_service(&format!("svc-{i}"), &[80]).await }
    });
    futures::future::join_all(creates).await;
    // Mid-burst: the leader has made a good share of the calls the burst needs, not all.
    let mid_burst = base + 4 * services as u64;
    tokio::time::timeout(Duration::from_secs(120), world.proxy.wait_answered(mid_burst)).await.unwrap();
    let calls_before_failover = world.proxy.answered() - base;
    first.kill();
    let killed_at = started.elapsed();
    world.wait_converged(&[&second], Duration::from_secs(300)).await;
    let converged = started.elapsed();
    let report = world.check_converged(services).await;
    world.delete_all(&[&second], Duration::from_secs(300)).await;
    let orphans = world.orphans().await;
    println!(
        "campaign failover: {services} Services; leader killed after {calls_before_failover} calls at {:.1} s; \
         converged at {:.1} s ({}); duplicates {}, orphans {orphans}",
        killed_at.as_secs_f64(),
        converged.as_secs_f64(),
        world.proxy.census().summary(),
        report.duplicates,
    );
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert!(report.unfilled.is_empty(), "{report:?}");
    assert_eq!(orphans, 0);
    assert!(second.log().contains("standing by"), "the second started as the standby: {}", second.log());
    assert!(second.log().contains("became the leader"), "the standby took over: {}", second.log());
}

/// Services created at once under AWS's own rate limits (the proxy's token buckets, as AWS
/// documents them for each ELBv2 and EC2 action), with Elbow's client-side limits on: they
/// converge within 1.5 times the floor those buckets set, the least time the mutating calls made
/// could take through them (calls beyond a bucket's capacity arrive at its refill rate; the
/// slowest bucket decides). ELBv2 refills `CreateLoadBalancer` at 0.2 per second, so one load
/// balancer per Service makes that bucket the floor: 300 Services need about 24 minutes however
/// they are sent, and the CI size is kept small.
#[tokio::test(flavor = "multi_thread")]
async fn services_created_at_once_converge_near_the_floor_of_aws_rate_limits() {
    let services = if full_size() { 300 } else { 20 };
    let world = World::start("campaign-rates", 2, FaultPlan::aws_rate_limits()).await;
    let operator = world.operator("rates");
    // The start-up calls are reads; the mutating buckets are full when the burst begins.
    let before = {
        settled(&world).await;
        world.proxy.census()
    };

    let started = Instant::now();
    let creates = (0..services).map(|i| {
        let world = &world;
        async move { world.create_service(&format!("svc-{i}"), &[80]).await }
    });
    futures::future::join_all(creates).await;
    // Twice the floor of the CreateLoadBalancer bucket alone, and some: a deadline, not the check.
    let deadline = Duration::from_secs(120 + (services as u64).saturating_sub(10) * 10);
    world.wait_converged(&[&operator], deadline).await;
    let converged = started.elapsed();
    let census = world.proxy.census();
    let admitted = census.admitted_since(&before);
    let floor =
        elbow_localstack_tests::fault_proxy::Census { admitted: admitted.clone(), ..Default::default() }.floor();
    let (bucket, floor) = floor.expect("mutating calls were made");
    let report = world.check_converged(services).await;
    let ratio = converged.as_secs_f64() / floor;
    let load_balancers = admitted.iter().find(|(id, _)| id.name == "CreateLoadBalancer").map_or(0, |(_, (n, _))| *n);
    let account = admitted.iter().find(|(id, _)| id.name == "account").map_or(0, |(_, (n, _))| *n);
    let throttled = census.faults.get(&elbow_localstack_tests::fault_proxy::Fault::RateLimited).copied().unwrap_or(0);

    let started = Instant::now();
    world.delete_all(&[&operator], deadline).await;
    let deleted = started.elapsed();
    let orphans = world.orphans().await;
    println!(
        "campaign rate limits: {services} Services at once; floor {floor:.1} s (set by {bucket}; {load_balancers} \
         CreateLoadBalancer calls), converged in {:.1} s, ratio {ratio:.2}; {account} ELBv2 calls through the \
         account bucket, {throttled} calls throttled by the buckets ({}); deleted in {:.1} s; duplicates {}, orphans \
         {orphans}",
        converged.as_secs_f64(),
        census.summary(),
        deleted.as_secs_f64(),
        report.duplicates,
    );
    assert_eq!(load_balancers, services as u64, "one CreateLoadBalancer per Service");
    assert!(ratio <= 1.5, "converged in {:.1} s, {ratio:.2} times the floor of {floor:.1} s", converged.as_secs_f64());
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert!(report.unfilled.is_empty(), "{report:?}");
    assert_eq!(orphans, 0);
    assert!(!operator.log().contains("panicked"), "{}", operator.log());
}
