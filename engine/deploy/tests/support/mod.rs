//! Shared by the deployer's integration tests: a seeded fake cloud, a Service-shaped stack
//! builder (the real builder lives elsewhere; these tests must not depend on it) and a compact
//! inventory of what the fake holds for the test cluster.
#![allow(dead_code)] // each test binary uses a different part of it
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: failing loudly is the point

use std::sync::{Arc, Mutex};
use std::time::Duration;

use elbow_cloud::{Attempt, Call, Cloud, CloudErrorKind, CloudResult, Instance, Layer, SecurityGroup, Subnet};
use elbow_deploy::{DeploySettings, Deployer};
use elbow_fake::{Failure, FakeCloud};
use elbow_model::tags::{CLUSTER_TAG, ownership_tags};
use elbow_model::*;

pub const CLUSTER: &str = "test-cluster";
pub const NODE_GROUP: &str = "sg-nodes";

pub fn cloud() -> Arc<FakeCloud> {
    Arc::new(seeded())
}

pub fn seeded() -> FakeCloud {
    let cloud = FakeCloud::new();
    cloud.seed_vpc("vpc-1");
    for (id, az) in [("subnet-a", "us-east-1a"), ("subnet-b", "us-east-1b")] {
        cloud.seed_subnet(Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: az.into(),
            cidr_block: "10.0.0.0/24".into(),
            ipv6_cidr_blocks: Vec::new(),
            tags: Tags::new(),
        });
    }
    for id in ["i-1", "i-2", "i-3"] {
        cloud.seed_instance(Instance {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: "us-east-1a".into(),
            state: "running".into(),
            security_groups: vec![NODE_GROUP.into()],
        });
    }
    cloud.seed_security_group(SecurityGroup {
        id: NODE_GROUP.into(),
        group_name: "nodes".into(),
        description: "the cluster's nodes".into(),
        vpc_id: "vpc-1".into(),
        tags: Tags::from([(format!("kubernetes.io/cluster/{CLUSTER}"), "owned".to_string())]),
    });
    cloud
}

/// A crash at mutating call `crash_at` (counted from 0): the request fails with `kind`, or, when
/// `landed`, takes effect and its answer is lost.
pub fn crash_at(kind: CloudErrorKind, crash_at: u64, landed: bool) -> Failure {
    let failure = Failure::any(kind).mutating_only().after(crash_at as u32);
    if landed { failure.landed() } else { failure }
}

/// Changes `before` into `after`, crashing at each mutating call in turn (failed, then landed),
/// and checks that a re-run after a restart leaves what `observe` saw after an uninterrupted run,
/// and that a further run makes no call. Returns how many calls the change makes.
pub async fn crash_at_every_call<T: PartialEq + std::fmt::Debug>(
    before: &Stack,
    after: &Stack,
    observe: impl Fn(&FakeCloud) -> T,
) -> u64 {
    let (expected, calls) = {
        let cloud = cloud();
        deployer(&cloud).deploy(before).await.expect("before");
        cloud.counter().reset();
        deployer(&cloud).deploy(after).await.expect("after");
        (observe(&cloud), cloud.counter().mutating())
    };
    for landed in [false, true] {
        for at in 0..calls {
            let context = format!("crash at call {at} of {calls}, landed {landed}");
            let cloud = cloud();
            deployer(&cloud).deploy(before).await.expect("before");
            cloud.inject(crash_at(CloudErrorKind::ServerError, at, landed));
            deployer(&cloud).deploy(after).await.expect_err(&context);
            cloud.clear_failures();
            deployer(&cloud).deploy(after).await.unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(observe(&cloud), expected, "{context}");
            cloud.counter().reset();
            deployer(&cloud).deploy(after).await.unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(cloud.counter().mutating(), 0, "{context}: settled");
        }
    }
    calls
}

pub fn deployer<C: Cloud + 'static>(cloud: &Arc<C>) -> Deployer {
    Deployer::new(
        cloud.clone(),
        DeploySettings {
            cluster_name: CLUSTER.into(),
            vpc_id: "vpc-1".into(),
            drift_period: Duration::from_secs(3600),
            integrations: elbow_deploy::Integrations::all(),
        },
    )
}

/// A Service's stack, shaped as the builder makes it.
#[derive(Clone)]
pub struct Svc {
    pub name: &'static str,
    pub scheme: Scheme,
    /// (listener port, node port)
    pub ports: Vec<(u16, u16)>,
    pub nodes: Vec<&'static str>,
    pub source_ranges: Vec<&'static str>,
    pub health_interval: u32,
    /// The `name` annotation: a fixed load balancer name, whatever the scheme.
    pub lb_name: Option<&'static str>,
    /// The `additional-resource-tags` annotation: on every resource Elbow creates.
    pub extra_tags: Vec<(&'static str, &'static str)>,
    /// ip mode: these pod addresses, on [`POD_PORT`], instead of the nodes on the NodePort.
    pub pods: Option<Vec<String>>,
}

/// Where the pods of an ip-mode [`Svc`] listen.
pub const POD_PORT: u16 = 8080;

/// A /16 of the test VPC from which pods get their addresses, as the VPC CNI gives them.
pub fn seed_pod_subnet(cloud: &FakeCloud) {
    cloud.seed_subnet(Subnet {
        id: "subnet-pods".into(),
        vpc_id: "vpc-1".into(),
        availability_zone: "us-east-1c".into(),
        cidr_block: "10.1.0.0/16".into(),
        ipv6_cidr_blocks: Vec::new(),
        tags: Tags::new(),
    });
}

/// `count` pod addresses of the pod subnet, from `first` on.
pub fn pods(first: u32, count: u32) -> Vec<String> {
    (first..first + count).map(|i| format!("10.1.{}.{}", i / 250, i % 250 + 1)).collect()
}

impl Svc {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            scheme: Scheme::InternetFacing,
            ports: vec![(80, 31000)],
            nodes: vec!["i-1", "i-2"],
            source_ranges: vec!["0.0.0.0/0"],
            health_interval: 10,
            lb_name: None,
            extra_tags: Vec::new(),
            pods: None,
        }
    }

    pub fn id(&self) -> StackId {
        StackId::new(format!("default/{}", self.name))
    }

    pub fn tags(&self, resource: &ResourceId) -> Tags {
        let mut tags = ownership_tags(CLUSTER, &self.id(), resource);
        tags.extend(self.extra_tags.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        tags
    }

    pub fn stack(&self) -> Stack {
        let lb_id = ResourceId::new("LoadBalancer");
        let sg_id = ResourceId::new("SecurityGroup/frontend");
        let suffix = if self.scheme == Scheme::Internal { "i" } else { "e" };
        let mut stack = Stack::empty(self.id());
        stack.load_balancers.push(LoadBalancerSpec {
            resource_id: lb_id.clone(),
            name: self.lb_name.map_or_else(|| format!("k8s-default-{}-{suffix}", self.name), str::to_string),
            lb_type: LoadBalancerType::Network,
            scheme: self.scheme,
            ip_address_type: IpAddressType::Ipv4,
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            subnet_addresses: Vec::new(),
            security_groups: vec![SecurityGroupRef::Managed(sg_id.clone()), SecurityGroupRef::SharedBackend],
            attributes: Attributes::new(),
            tags: self.tags(&lb_id),
            protection: Default::default(),
            capacity_units: None,
        });
        let mut ingress = Vec::new();
        for &(port, node_port) in &self.ports {
            let tg_id = ResourceId::new(format!("TargetGroup/TCP-{port}"));
            // In ip mode the target group is on the pods' port, which the node rule opens.
            let (target_type, node_port, targets) = match &self.pods {
                None => (
                    TargetType::Instance,
                    node_port,
                    self.nodes.iter().map(|id| Target::new(id.to_string(), node_port)).collect::<Vec<_>>(),
                ),
                Some(pods) => {
                    let mut targets: Vec<Target> = pods.iter().map(|ip| Target::new(ip.clone(), POD_PORT)).collect();
                    targets.sort();
                    (TargetType::Ip, POD_PORT, targets)
                }
            };
            let kind = if target_type == TargetType::Ip { "ip-" } else { "" };
            stack.target_groups.push(TargetGroupSpec {
                resource_id: tg_id.clone(),
                name: format!("k8s-default-{}-{kind}{node_port}", self.name),
                target_type,
                protocol: Protocol::Tcp,
                port: node_port,
                protocol_version: None,
                vpc_id: "vpc-1".into(),
                ip_address_type: IpAddressType::Ipv4,
                health_check: HealthCheck {
                    protocol: Protocol::Tcp,
                    port: HealthCheckPort::TrafficPort,
                    path: None,
                    interval_seconds: self.health_interval,
                    timeout_seconds: 10,
                    healthy_threshold_count: 3,
                    unhealthy_threshold_count: 3,
                    matcher: None,
                },
                attributes: Attributes::new(),
                tags: self.tags(&tg_id),
                targets,
            });
            let listener_id = ResourceId::new(format!("Listener/TCP-{port}"));
            stack.listeners.push(ListenerSpec {
                resource_id: listener_id.clone(),
                load_balancer: lb_id.clone(),
                port,
                protocol: Protocol::Tcp,
                certificates: vec![],
                ssl_policy: None,
                alpn_policy: None,
                mutual_authentication: None,
                default_actions: vec![Action::forward(tg_id)],
                rules: vec![],
                attributes: Attributes::new(),
                tags: self.tags(&listener_id),
            });
            for cidr in &self.source_ranges {
                ingress.push(IngressRule {
                    ip_protocol: "tcp".into(),
                    from_port: port,
                    to_port: port,
                    source: RuleSource::CidrIpv4(cidr.to_string()),
                    description: None,
                });
            }
            let rule_id = ResourceId::new(format!("NodeRule/{NODE_GROUP}/tcp/{node_port}"));
            stack.node_security_group_rules.push(NodeSecurityGroupRule {
                resource_id: rule_id,
                group_id: NODE_GROUP.into(),
                rule: IngressRule {
                    ip_protocol: "tcp".into(),
                    from_port: node_port,
                    to_port: node_port,
                    source: RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend),
                    description: None,
                },
            });
        }
        ingress.sort();
        stack.security_groups.push(SecurityGroupSpec {
            resource_id: sg_id.clone(),
            group_name: format!("k8s-default-{}-fe", self.name),
            description: "frontend".into(),
            vpc_id: "vpc-1".into(),
            ingress,
            tags: self.tags(&sg_id),
        });
        stack
    }
}

/// What the fake holds for our cluster, in a form that is easy to compare.
#[derive(Debug, PartialEq, Eq)]
pub struct Inventory {
    pub load_balancers: Vec<String>,
    pub target_groups: Vec<(String, Vec<String>)>,
    pub listeners: Vec<(String, u16)>,
    pub groups: Vec<String>,
    /// The port ranges (from, to) of our rules on the node group.
    pub node_rules: Vec<(u16, u16)>,
}

/// Whether the node group admits the cluster's backend group on `port`, by any rule (ours or
/// not): the data path of every Elbow load balancer to that port.
pub fn admitted(cloud: &FakeCloud, port: u16) -> bool {
    let Some(backend) = cloud.security_groups().into_iter().find(|g| g.group_name == backend()) else {
        return false;
    };
    cloud.security_group_rules(NODE_GROUP).iter().any(|r| {
        r.rule.from_port <= port
            && port <= r.rule.to_port
            && r.rule.source == RuleSource::SecurityGroup(SecurityGroupRef::Existing(backend.id.clone()))
    })
}

pub fn inventory(cloud: &FakeCloud) -> Inventory {
    let ours = |tags: &Tags| tags.get(CLUSTER_TAG).is_some_and(|c| c == CLUSTER);
    let lbs: Vec<_> = cloud.load_balancers().into_iter().filter(|lb| ours(&cloud.tags(&lb.arn))).collect();
    let mut load_balancers: Vec<String> = lbs.iter().map(|lb| lb.name.clone()).collect();
    load_balancers.sort();
    let mut target_groups: Vec<(String, Vec<String>)> = cloud
        .target_groups()
        .into_iter()
        .filter(|tg| ours(&cloud.tags(&tg.arn)))
        .map(|tg| (tg.name.clone(), cloud.targets(&tg.arn).into_iter().map(|t| t.id).collect()))
        .collect();
    target_groups.sort();
    let mut listeners: Vec<(String, u16)> = cloud
        .listeners()
        .into_iter()
        .filter_map(|l| lbs.iter().find(|lb| lb.arn == l.load_balancer_arn).map(|lb| (lb.name.clone(), l.port)))
        .collect();
    listeners.sort();
    let mut groups: Vec<String> =
        cloud.security_groups().into_iter().filter(|g| ours(&g.tags)).map(|g| g.group_name).collect();
    groups.sort();
    let mut node_rules: Vec<(u16, u16)> = cloud
        .security_group_rules(NODE_GROUP)
        .into_iter()
        .filter(|r| ours(&r.tags))
        .map(|r| (r.rule.from_port, r.rule.to_port))
        .collect();
    node_rules.sort();
    Inventory { load_balancers, target_groups, listeners, groups, node_rules }
}

pub fn backend() -> String {
    elbow_deploy::shared::backend_group_name(CLUSTER)
}

/// An Ingress-shaped stack: an application load balancer with one HTTP listener on port 80 whose
/// default action forwards to the first of `backends` (NodePorts), and one rule per entry of
/// `rules` (path pattern, index into `backends`), in priority order.
pub fn alb_stack(name: &str, backends: &[u16], rules: &[(&str, usize)]) -> Stack {
    let id = StackId::new(format!("ingress/{name}"));
    let tags = |resource: &ResourceId| ownership_tags(CLUSTER, &id, resource);
    let lb_id = ResourceId::new("LoadBalancer");
    let sg_id = ResourceId::new("SecurityGroup/frontend");
    let tg_id = |port: u16| ResourceId::new(format!("TargetGroup/{port}"));
    let mut stack = Stack::empty(id.clone());
    stack.load_balancers.push(LoadBalancerSpec {
        resource_id: lb_id.clone(),
        name: format!("k8s-{name}-alb"),
        lb_type: LoadBalancerType::Application,
        scheme: Scheme::InternetFacing,
        ip_address_type: IpAddressType::Ipv4,
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        subnet_addresses: Vec::new(),
        security_groups: vec![SecurityGroupRef::Managed(sg_id.clone()), SecurityGroupRef::SharedBackend],
        attributes: Attributes::new(),
        tags: tags(&lb_id),
        protection: Default::default(),
        capacity_units: None,
    });
    for &port in backends {
        stack.target_groups.push(TargetGroupSpec {
            resource_id: tg_id(port),
            name: format!("k8s-{name}-{port}"),
            target_type: TargetType::Instance,
            protocol: Protocol::Http,
            port,
            protocol_version: None,
            vpc_id: "vpc-1".into(),
            ip_address_type: IpAddressType::Ipv4,
            health_check: HealthCheck {
                protocol: Protocol::Http,
                port: HealthCheckPort::TrafficPort,
                path: Some("/".into()),
                interval_seconds: 15,
                timeout_seconds: 5,
                healthy_threshold_count: 2,
                unhealthy_threshold_count: 2,
                matcher: Some("200".into()),
            },
            attributes: Attributes::new(),
            tags: tags(&tg_id(port)),
            targets: vec![Target::new("i-1", port), Target::new("i-2", port)],
        });
        stack.node_security_group_rules.push(NodeSecurityGroupRule {
            resource_id: ResourceId::new(format!("NodeRule/{NODE_GROUP}/tcp/{port}")),
            group_id: NODE_GROUP.into(),
            rule: IngressRule {
                ip_protocol: "tcp".into(),
                from_port: port,
                to_port: port,
                source: RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend),
                description: None,
            },
        });
    }
    let listener_id = ResourceId::new("Listener/HTTP-80");
    stack.listeners.push(ListenerSpec {
        resource_id: listener_id.clone(),
        load_balancer: lb_id,
        port: 80,
        protocol: Protocol::Http,
        certificates: vec![],
        ssl_policy: None,
        alpn_policy: None,
        mutual_authentication: None,
        default_actions: vec![Action::forward(tg_id(backends[0]))],
        rules: rules
            .iter()
            .map(|(path, backend)| RuleSpec {
                conditions: vec![RuleCondition::PathPattern(vec![path.to_string()])],
                actions: vec![Action::forward(tg_id(backends[*backend]))],
                transforms: vec![],
            })
            .collect(),
        attributes: Attributes::new(),
        tags: tags(&listener_id),
    });
    stack.security_groups.push(SecurityGroupSpec {
        resource_id: sg_id.clone(),
        group_name: format!("k8s-{name}-fe"),
        description: "frontend".into(),
        vpc_id: "vpc-1".into(),
        ingress: vec![IngressRule {
            ip_protocol: "tcp".into(),
            from_port: 80,
            to_port: 80,
            source: RuleSource::CidrIpv4("0.0.0.0/0".into()),
            description: None,
        }],
        tags: tags(&sg_id),
    });
    stack
}

/// The listener rules the fake holds for our load balancers: (priority, path patterns, target
/// group name), default rules left out.
pub fn listener_rules(cloud: &FakeCloud) -> Vec<(u32, Vec<String>, String)> {
    let tg_names: std::collections::BTreeMap<String, String> =
        cloud.target_groups().into_iter().map(|tg| (tg.arn, tg.name)).collect();
    let mut rules = Vec::new();
    for listener in cloud.listeners() {
        for rule in cloud.rules(&listener.arn) {
            let Some(priority) = rule.priority else { continue };
            let paths = rule
                .conditions
                .iter()
                .flat_map(|c| match c {
                    RuleCondition::PathPattern(paths) => paths.clone(),
                    _ => Vec::new(),
                })
                .collect();
            let target = match rule.actions.first() {
                Some(Action::Forward { target_groups, .. }) => {
                    tg_names.get(&target_groups[0].target_group).cloned().unwrap_or_default()
                }
                _ => String::new(),
            };
            rules.push((priority, paths, target));
        }
    }
    rules.sort();
    rules
}

/// The fake behind a layer that checks, after every mutating call, that each listener's default
/// action and rules forward to target groups that exist and hold at least one target: what "no
/// downtime" means to a client of the load balancer. `broken` names each call after which one did
/// not.
pub struct WatchedListeners {
    pub inner: FakeCloud,
    pub broken: Mutex<Vec<String>>,
}

impl WatchedListeners {
    pub fn new(inner: FakeCloud) -> Arc<Self> {
        Arc::new(Self { inner, broken: Mutex::new(Vec::new()) })
    }
}

impl Layer for WatchedListeners {
    type Inner = FakeCloud;

    fn inner(&self) -> &FakeCloud {
        &self.inner
    }

    async fn around<T: Send>(&self, call: Call, mut attempt: impl Attempt<T>) -> CloudResult<T> {
        let result = attempt.run().await;
        if call.api.is_mutating() {
            // A panic elsewhere cannot tear a list of strings.
            let mut broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
            let groups = self.inner.target_groups();
            for listener in self.inner.listeners() {
                let rules = self.inner.rules(&listener.arn);
                let actions = listener.default_actions.iter().chain(rules.iter().flat_map(|r| r.actions.iter()));
                for action in actions {
                    let Action::Forward { target_groups, .. } = action else { continue };
                    for tg in target_groups {
                        let exists = groups.iter().any(|g| g.arn == tg.target_group);
                        if !exists || self.inner.targets(&tg.target_group).is_empty() {
                            broken.push(format!("after {:?}: {}", call.api, tg.target_group));
                        }
                    }
                }
            }
        }
        result
    }
}
