//! The deployer and the real builder through the SDK against an AWS-compatible endpoint: what a
//! Service's life does to the cloud.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use elbow_aws::SdkCloud;
use elbow_builder::BuildConfig;
use elbow_builder::service::build_service_stack;
use elbow_cloud::resilient::{RateLimits, Resilient, RetryPolicy};
use elbow_cloud::*;
use elbow_deploy::{DeployError, DeployOutcome, DeploySettings, Deployer};
use elbow_localstack_tests::owned::{Owned, owned};
use elbow_localstack_tests::{Network, cloud, sdk_config, unique};
use elbow_model::{HealthCheckPort, IpAddressType, LoadBalancerType, RuleSource, Scheme, Stack, StackId, Tags};
use k8s_openapi::api::core::v1::{Node, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

struct Fixture {
    net: Network,
    cloud: Arc<SdkCloud>,
    name: String,
}

impl Fixture {
    async fn new(prefix: &str) -> Self {
        Self { net: Network::seed(prefix, 3).await, cloud: Arc::new(cloud().await), name: unique("web") }
    }

    fn deployer(&self) -> Deployer {
        Deployer::new(self.cloud.clone(), self.settings())
    }

    fn settings(&self) -> DeploySettings {
        DeploySettings {
            cluster_name: self.net.cluster.clone(),
            vpc_id: self.net.inventory.vpc_id.clone(),
            drift_period: Duration::from_secs(3600),
            integrations: elbow_deploy::Integrations::all(),
        }
    }

    fn service(&self, ports: &[(i32, i32)], annotations: &[(&str, &str)], source_ranges: &[&str]) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{}", self.name)),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (format!("service.beta.kubernetes.io/aws-load-balancer-{k}"), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("LoadBalancer".into()),
                ports: Some(
                    ports
                        .iter()
                        .map(|(port, node_port)| ServicePort {
                            port: *port,
                            node_port: Some(*node_port),
                            protocol: Some("TCP".into()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                load_balancer_source_ranges: (!source_ranges.is_empty())
                    .then(|| source_ranges.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn stack(&self, service: &Service, nodes: &[Node]) -> Stack {
        let nodes: Vec<&Node> = nodes.iter().collect();
        // Public, as the fixture's subnets and assertions expect (the default is internal).
        let config =
            BuildConfig { default_scheme: Scheme::InternetFacing, ..BuildConfig::new(self.net.cluster.clone()) };
        build_service_stack(service, &nodes, &[], &elbow_builder::endpoints::NoPodFacts, &self.net.inventory, &config)
            .expect("a valid Service")
    }

    async fn deploy(&self, deployer: &Deployer, service: &Service, nodes: &[Node]) -> DeployOutcome {
        deployer.deploy(&self.stack(service, nodes)).await.expect("deployed")
    }

    /// Everything tagged with this test's cluster, as the endpoint reports it.
    async fn owned(&self) -> Owned {
        owned(self.cloud.as_ref(), &self.net.cluster, &self.net.node_group).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_lifecycle_creates_updates_and_deletes_everything() {
    let f = Fixture::new("deploy-life").await;
    let deployer = f.deployer();
    let three = f.net.ready_nodes(3);

    let created = f.deploy(&deployer, &f.service(&[(80, 31080)], &[], &[]), &three).await;
    assert!(created.dns_name.as_deref().is_some_and(|d| !d.is_empty()));
    let owned = f.owned().await;
    assert_eq!(owned.lbs.len(), 1);
    assert_eq!(owned.lbs[0].lb_type, LoadBalancerType::Network);
    assert_eq!(owned.lbs[0].scheme, Scheme::InternetFacing);
    assert_eq!(owned.listeners.iter().map(|l| l.1).collect::<Vec<_>>(), [80]);
    let mut instances = f.net.instances.clone();
    instances.sort();
    assert_eq!(owned.targets[&31080].1, instances, "every node on the NodePort");
    assert_eq!(owned.node_rules, [(31080, 31080)]);
    assert_eq!(owned.groups.len(), 2, "frontend and shared backend");

    // A restarted operator finds it all by tags and changes nothing.
    f.cloud.calls().reset();
    let again = f.deploy(&f.deployer(), &f.service(&[(80, 31080)], &[], &[]), &three).await;
    assert!(!again.changed, "{:?}", again.changes);
    assert_eq!(f.cloud.calls().mutating(), 0, "{:?}", f.cloud.calls().snapshot());
    assert_eq!(again.dns_name, created.dns_name);

    // Ports, health check, source ranges and nodes change in place.
    let updated = f.service(&[(80, 31080), (443, 31443)], &[("healthcheck-interval", "30")], &["10.0.0.0/8"]);
    let two = f.net.ready_nodes(2);
    f.deploy(&deployer, &updated, &two).await;
    let owned = f.owned().await;
    assert_eq!(owned.lbs.len(), 1, "same load balancer");
    let mut ports: Vec<u16> = owned.listeners.iter().map(|l| l.1).collect();
    ports.sort();
    assert_eq!(ports, [80, 443]);
    let mut two_ids = f.net.instances[..2].to_vec();
    two_ids.sort();
    for port in [31080, 31443] {
        let (tg, ids) = &owned.targets[&port];
        assert_eq!(ids, &two_ids, "port {port}");
        assert_eq!(tg.health_check.interval_seconds, 30);
        assert_eq!(tg.health_check.port, HealthCheckPort::TrafficPort);
    }
    assert_eq!(owned.node_rules, [(31080, 31443)], "one range for both NodePorts");
    let frontend = owned
        .groups
        .iter()
        .find(|g| g.tags.get("elbow.dev/resource").map(String::as_str) == Some("SecurityGroup/frontend"))
        .expect("frontend");
    let sources: Vec<RuleSource> = f
        .cloud
        .describe_security_group_rules(SecurityGroupRuleFilter::Group(frontend.id.clone()))
        .await
        .expect("rules")
        .into_iter()
        .map(|r| r.rule.source)
        .collect();
    assert!(sources.iter().all(|s| *s == RuleSource::CidrIpv4("10.0.0.0/8".into())), "{sources:?}");
    assert_eq!(sources.len(), 2, "one per listener port");

    // Delete: nothing is left, the cluster's shared backend group included (this was the last stack).
    let stack_id = StackId::new(format!("default/{}", f.name));
    deployer.deploy(&Stack::empty(stack_id)).await.expect("deleted");
    let owned = f.owned().await;
    let left: Vec<String> = owned.groups.iter().map(|g| g.group_name.clone()).collect();
    assert!(owned.is_empty(), "left: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheme_change_replaces_the_load_balancer_and_keeps_the_targets() {
    let f = Fixture::new("deploy-scheme").await;
    let deployer = f.deployer();
    let nodes = f.net.ready_nodes(2);
    let before = f.deploy(&deployer, &f.service(&[(80, 31081)], &[], &[]), &nodes).await;
    let after = f.deploy(&deployer, &f.service(&[(80, 31081)], &[("scheme", "internal")], &[]), &nodes).await;
    assert_ne!(before.load_balancer_arn, after.load_balancer_arn);
    let owned = f.owned().await;
    assert_eq!(owned.lbs.len(), 1, "the old one is gone");
    assert_eq!(owned.lbs[0].scheme, Scheme::Internal);
    assert_eq!(owned.listeners.len(), 1);
    assert_eq!(owned.targets[&31081].1.len(), 2);
}

/// Elastic IPs from the endpoint's EC2, by allocation id.
async fn allocate_elastic_ips(count: usize) -> Vec<String> {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let mut ids = Vec::new();
    for _ in 0..count {
        let answer =
            ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send().await.expect("AllocateAddress");
        ids.push(answer.allocation_id().expect("an allocation id").to_string());
    }
    ids
}

/// Fixed addresses go through the SDK as `SubnetMappings` and the endpoint makes the load balancer
/// in those subnets. moto takes the mappings without checking or keeping the addresses (its
/// DescribeLoadBalancers reports none), so what is checked here is that the request is accepted,
/// the record tag comes back, and a change replaces the load balancer; the fake cloud's tests
/// cover what AWS refuses.
#[tokio::test(flavor = "multi_thread")]
async fn fixed_addresses_make_the_load_balancer_and_a_change_replaces_it() {
    let f = Fixture::new("deploy-eip").await;
    let deployer = f.deployer();
    let nodes = f.net.ready_nodes(1);
    let eips = allocate_elastic_ips(3).await;
    let service = |ids: &str| f.service(&[(80, 31083)], &[("eip-allocations", ids)], &[]);
    let first = service(&eips.join(","));
    let stack = f.stack(&first, &nodes);
    let subnets = stack.load_balancers[0].subnets.clone();
    assert_eq!(subnets.len(), 3, "one public subnet per zone");
    let before = f.deploy(&deployer, &first, &nodes).await;
    let arn = before.load_balancer_arn.clone().expect("an arn");
    let owned = f.owned().await;
    assert_eq!(owned.lbs.len(), 1);
    assert_eq!(owned.lbs[0].subnets, subnets, "the mapped subnets");
    let tags = f.cloud.describe_tags(std::slice::from_ref(&arn)).await.expect("tags");
    let record = tags[&arn].get("elbow.dev/subnet-addresses").cloned().expect("the record tag");
    assert_eq!(Some(&record), stack.load_balancers[0].tags.get("elbow.dev/subnet-addresses"));

    // A restarted operator reads the record and changes nothing.
    f.cloud.calls().reset();
    let again = f.deploy(&f.deployer(), &first, &nodes).await;
    assert!(!again.changed, "{:?}", again.changes);
    assert_eq!(f.cloud.calls().mutating(), 0, "{:?}", f.cloud.calls().snapshot());

    // Other Elastic IPs: a new load balancer of the same name, the old one gone.
    let rotated = service(&[&eips[1], &eips[2], &eips[0]].map(String::as_str).join(","));
    let after = f.deploy(&deployer, &rotated, &nodes).await;
    assert_ne!(after.load_balancer_arn, before.load_balancer_arn);
    let owned = f.owned().await;
    assert_eq!(owned.lbs.len(), 1, "the old one is gone");
    assert_eq!(owned.lbs[0].name, stack.load_balancers[0].name);
    assert_eq!(owned.listeners.len(), 1);
    assert_eq!(owned.targets[&31083].1.len(), 1, "the target group is kept");

    // A mistyped allocation id is found through DescribeAddresses before the load balancer is
    // deleted for its successor: the deploy fails and the load balancer keeps serving.
    f.cloud.calls().reset();
    let typo = service(&[eips[0].as_str(), eips[1].as_str(), "eipalloc-0123456789abcdef0"].join(","));
    let error = deployer.deploy(&f.stack(&typo, &nodes)).await.expect_err("an unknown allocation");
    assert!(
        matches!(&error, DeployError::ElasticIpsNotFound { ids } if ids == &["eipalloc-0123456789abcdef0"]),
        "{error}"
    );
    assert_eq!(f.cloud.calls().mutating(), 0, "{:?}", f.cloud.calls().snapshot());
    let owned = f.owned().await;
    assert_eq!(owned.lbs.iter().map(|lb| &lb.arn).collect::<Vec<_>>(), [after.load_balancer_arn.as_ref().unwrap()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn private_addresses_make_an_internal_load_balancer_in_their_subnets() {
    let f = Fixture::new("deploy-private").await;
    let nodes = f.net.ready_nodes(1);
    let internal = f.service(&[(80, 31084)], &[("scheme", "internal")], &[]);
    let subnets = f.stack(&internal, &nodes).load_balancers[0].subnets.clone();
    // The tenth address of each subnet's block, listed in reverse: each goes to its own subnet.
    let addresses: Vec<String> = subnets
        .iter()
        .rev()
        .map(|id| {
            let subnet = f.net.inventory.subnets.iter().find(|s| &s.id == id).expect("known subnet");
            let base: std::net::Ipv4Addr = subnet.cidr_block.split('/').next().unwrap().parse().unwrap();
            std::net::Ipv4Addr::from(u32::from(base) + 10).to_string()
        })
        .collect();
    let annotations = [("scheme", "internal"), ("private-ipv4-addresses", &addresses.join(",")[..])];
    let service = f.service(&[(80, 31084)], &annotations, &[]);
    let stack = f.stack(&service, &nodes);
    let mapped: Vec<(String, Option<String>)> = stack.load_balancers[0]
        .subnet_addresses
        .iter()
        .map(|a| (a.subnet.clone(), a.private_ipv4_address.clone()))
        .collect();
    let expected: Vec<(String, Option<String>)> =
        subnets.iter().cloned().zip(addresses.iter().rev().cloned().map(Some)).collect();
    assert_eq!(mapped, expected);
    f.deploy(&f.deployer(), &service, &nodes).await;
    let owned = f.owned().await;
    assert_eq!(owned.lbs.len(), 1);
    assert_eq!(owned.lbs[0].scheme, Scheme::Internal);
    assert_eq!(owned.lbs[0].subnets, subnets);
}

#[tokio::test(flavor = "multi_thread")]
async fn listener_attributes_are_set_and_changed_in_place() {
    let f = Fixture::new("deploy-listener-attrs").await;
    let deployer = f.deployer();
    let nodes = f.net.ready_nodes(1);
    let service = |seconds: &str| {
        let value = format!("tcp.idle_timeout.seconds={seconds}");
        f.service(&[(80, 31085)], &[("listener-attributes.TCP-80", &value[..])], &[])
    };
    let created = f.deploy(&deployer, &service("600"), &nodes).await;
    let listeners =
        f.cloud.describe_listeners(created.load_balancer_arn.as_deref().expect("an arn")).await.expect("listeners");
    let arn = listeners[0].arn.clone();
    let idle = |attributes: AttributeMap| attributes.get("tcp.idle_timeout.seconds").cloned();
    assert_eq!(idle(f.cloud.describe_listener_attributes(&arn).await.expect("attributes")).as_deref(), Some("600"));

    f.cloud.calls().reset();
    let again = f.deploy(&f.deployer(), &service("600"), &nodes).await;
    assert!(!again.changed, "{:?}", again.changes);
    assert_eq!(f.cloud.calls().mutating(), 0, "{:?}", f.cloud.calls().snapshot());

    f.cloud.calls().reset();
    f.deploy(&deployer, &service("900"), &nodes).await;
    assert_eq!(f.cloud.calls().count(Api::ModifyListenerAttributes), 1, "{:?}", f.cloud.calls().snapshot());
    assert_eq!(f.cloud.calls().mutating(), 1, "{:?}", f.cloud.calls().snapshot());
    assert_eq!(idle(f.cloud.describe_listener_attributes(&arn).await.expect("attributes")).as_deref(), Some("900"));
}

/// moto keeps and reports a TLS listener's ALPN policy from CreateListener, but refuses
/// ModifyListener on TLS listeners ("Protocol TLS is not supported"), so changing the policy is
/// covered by the fake cloud's deployer test only.
#[tokio::test(flavor = "multi_thread")]
async fn an_alpn_policy_reaches_the_tls_listener() {
    let f = Fixture::new("deploy-alpn").await;
    let nodes = f.net.ready_nodes(1);
    let certificate = elbow_localstack_tests::acm::certificate("alpn.example.com").await;
    let annotations = [("ssl-cert", &certificate[..]), ("alpn-policy", "HTTP2Preferred")];
    let service = f.service(&[(443, 31086)], &annotations, &[]);
    let created = f.deploy(&f.deployer(), &service, &nodes).await;
    let lb = created.load_balancer_arn.expect("an arn");
    let listeners = f.cloud.describe_listeners(&lb).await.expect("listeners");
    assert_eq!(listeners[0].protocol, elbow_model::Protocol::Tls);
    assert_eq!(listeners[0].alpn_policy, Some(elbow_model::AlpnPolicy::Http2Preferred));

    f.cloud.calls().reset();
    let again = f.deploy(&f.deployer(), &service, &nodes).await;
    assert!(!again.changed, "{:?}", again.changes);
    assert_eq!(f.cloud.calls().mutating(), 0, "{:?}", f.cloud.calls().snapshot());
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_protocol_per_target_group_reaches_the_listed_ports_target_groups() {
    let f = Fixture::new("deploy-proxy").await;
    let nodes = f.net.ready_nodes(1);
    let service = f.service(&[(80, 31087), (443, 31088)], &[("proxy-protocol-per-target-group", "443")], &[]);
    f.deploy(&f.deployer(), &service, &nodes).await;
    let owned = f.owned().await;
    for (node_port, enabled) in [(31087, "false"), (31088, "true")] {
        let (tg, _) = &owned.targets[&node_port];
        let attributes = f.cloud.describe_target_group_attributes(&tg.arn).await.expect("attributes");
        assert_eq!(attributes.get("proxy_protocol_v2.enabled").map(String::as_str), Some(enabled), "{node_port}");
    }
    f.cloud.calls().reset();
    let again = f.deploy(&f.deployer(), &service, &nodes).await;
    assert!(!again.changed, "{:?}", again.changes);
    assert_eq!(f.cloud.calls().mutating(), 0, "{:?}", f.cloud.calls().snapshot());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_load_balancer_with_a_similar_name_is_left_untouched() {
    let f = Fixture::new("deploy-foreign").await;
    let deployer = f.deployer();
    let stack = f.stack(&f.service(&[(80, 31082)], &[], &[]), &f.net.ready_nodes(1));
    let our_name = stack.load_balancers[0].name.clone();
    let similar = format!("{}x", &our_name[..our_name.len() - 1]);
    let foreign_tags = Tags::from([("team".to_string(), "someone-else".to_string())]);
    let foreign = f
        .cloud
        .create_load_balancer(CreateLoadBalancer {
            name: similar.clone(),
            lb_type: LoadBalancerType::Network,
            scheme: Scheme::InternetFacing,
            ip_address_type: IpAddressType::Ipv4,
            subnets: vec![f.net.inventory.subnets[0].id.clone()],
            subnet_addresses: Vec::new(),
            security_groups: vec![],
            tags: foreign_tags.clone(),
        })
        .await
        .expect("foreign load balancer");

    deployer.deploy(&stack).await.expect("deployed");
    deployer.deploy(&Stack::empty(stack.id.clone())).await.expect("deleted");

    let still = f.cloud.describe_load_balancers(LoadBalancerFilter::Names(vec![similar])).await.expect("described");
    assert_eq!(still.len(), 1);
    assert_eq!(still[0].arn, foreign.arn);
    let tags = f.cloud.describe_tags(std::slice::from_ref(&foreign.arn)).await.expect("tags");
    assert_eq!(tags[&foreign.arn], foreign_tags, "its tags are untouched");
    assert!(f.cloud.describe_load_balancers(LoadBalancerFilter::Names(vec![our_name])).await.expect("ours").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_services_deploy_at_once_through_rate_limits_and_retries() {
    let f = Fixture::new("deploy-prod").await;
    // As `elbow run` wires it: the SDK behind the client-side rate limits and retries.
    let production = Arc::new(Resilient::new(cloud().await, RateLimits::aws_defaults(), RetryPolicy::default()));
    let deployer = Deployer::new(production.clone(), f.settings());
    let nodes = f.net.ready_nodes(2);
    let web = f.service(&[(80, 31090)], &[], &[]);
    let mut api = f.service(&[(8080, 31091)], &[], &[]);
    let api_name = unique("api");
    api.metadata.uid = Some(format!("uid-{api_name}"));
    api.metadata.name = Some(api_name.clone());
    let (web_stack, api_stack) = (f.stack(&web, &nodes), f.stack(&api, &nodes));

    // Both need the cluster's shared backend group and race to create it.
    let (a, b) = tokio::join!(deployer.deploy(&web_stack), deployer.deploy(&api_stack));
    let (a, b) = (a.expect("web deployed"), b.expect("api deployed"));
    assert_ne!(a.load_balancer_arn, b.load_balancer_arn);
    let owned = f.owned().await;
    assert_eq!(owned.lbs.len(), 2);
    let backend_name = elbow_deploy::shared::backend_group_name(&f.net.cluster);
    let backends: Vec<&SecurityGroup> = owned.groups.iter().filter(|g| g.group_name == backend_name).collect();
    assert_eq!(backends.len(), 1, "one shared backend group: {:?}", owned.groups);
    assert!(owned.lbs.iter().all(|lb| lb.security_groups.contains(&backends[0].id)), "{:?}", owned.lbs);
    assert_eq!(owned.node_rules, [(31090, 31091)], "one range for both, however they raced");
    assert!(production.inner().calls().count(Api::CreateLoadBalancer) == 2);

    let (web_gone, api_gone) = (Stack::empty(web_stack.id.clone()), Stack::empty(api_stack.id.clone()));
    let (a, b) = tokio::join!(deployer.deploy(&web_gone), deployer.deploy(&api_gone));
    a.expect("web deleted");
    b.expect("api deleted");
    let owned = f.owned().await;
    let left: Vec<String> = owned.groups.iter().map(|g| g.group_name.clone()).collect();
    assert!(owned.is_empty(), "two last stacks deleted at once take the backend group with them: {left:?}");
}

/// The ingress rules of the node group admitting `source` on `port`, with their tags, as moto's
/// EC2 API answers DescribeSecurityGroupRules (the SDK itself, not Elbow's adapter).
async fn node_rules_admitting(net: &Network, source: &str, port: i32) -> Vec<aws_sdk_ec2::types::SecurityGroupRule> {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let answer = ec2
        .describe_security_group_rules()
        .filters(aws_sdk_ec2::types::Filter::builder().name("group-id").values(&net.node_group).build())
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    answer
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false) && r.from_port() == Some(port) && r.to_port() == Some(port))
        .filter(|r| r.referenced_group_info().and_then(|g| g.group_id()) == Some(source))
        .cloned()
        .collect()
}

/// Two stacks whose target groups use one NodePort need one node rule: here two Services given the
/// same NodePort (an Ingress routing to a LoadBalancer Service is the everyday case; the rule is
/// the same). Deleting the stack that created the rule must not revoke it under the other.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_rule_two_stacks_share_outlives_the_deletion_of_the_one_that_made_it() {
    let f = Fixture::new("deploy-shared").await;
    let deployer = f.deployer();
    let nodes = f.net.ready_nodes(2);
    let web = f.service(&[(80, 31095)], &[], &[]);
    let mut api = f.service(&[(8080, 31095)], &[], &[]);
    let api_name = unique("api");
    api.metadata.uid = Some(format!("uid-{api_name}"));
    api.metadata.name = Some(api_name);
    let (web_stack, api_stack) = (f.stack(&web, &nodes), f.stack(&api, &nodes));
    deployer.deploy(&web_stack).await.expect("web deployed");
    let api_lb = deployer.deploy(&api_stack).await.expect("api deployed").load_balancer_arn.expect("api's LB");

    let backend_name = elbow_deploy::shared::backend_group_name(&f.net.cluster);
    let owned = f.owned().await;
    let backend = owned.groups.iter().find(|g| g.group_name == backend_name).expect("the backend group").id.clone();
    let rules = node_rules_admitting(&f.net, &backend, 31095).await;
    assert_eq!(rules.len(), 1, "one rule serves both: {rules:?}");

    // Deleted by a restarted deployer: what api needs is read back from the cloud, not remembered.
    f.deployer().deploy(&Stack::empty(web_stack.id.clone())).await.expect("web deleted");
    let still = node_rules_admitting(&f.net, &backend, 31095).await;
    assert_eq!(
        still.iter().map(|r| r.security_group_rule_id()).collect::<Vec<_>>(),
        rules.iter().map(|r| r.security_group_rule_id()).collect::<Vec<_>>(),
        "api's path to the nodes is still open"
    );
    let api_lbs = f.cloud.describe_load_balancers(LoadBalancerFilter::Arns(vec![api_lb])).await.expect("api's LB");
    assert!(api_lbs[0].security_groups.contains(&backend), "{:?}", api_lbs[0].security_groups);

    // Another restart: a deployer that still counted web would keep the backend group for it.
    f.deployer().deploy(&Stack::empty(api_stack.id.clone())).await.expect("api deleted");
    assert!(node_rules_admitting(&f.net, &backend, 31095).await.is_empty(), "the last user revokes it");
    let owned = f.owned().await;
    let left: Vec<String> = owned.groups.iter().map(|g| g.group_name.clone()).collect();
    assert!(owned.is_empty(), "left: {left:?}");
}

/// EC2 allows 60 inbound rules per security group by default, and moto enforces that quota too:
/// 65 Services on NodePorts of their own all get their load balancer, since the node group holds
/// one rule spanning every port rather than one rule per port; deleting them in turn narrows it,
/// and the last one takes it.
#[tokio::test(flavor = "multi_thread")]
async fn more_services_than_a_security_group_holds_rules_share_one_node_port_range() {
    let f = Fixture::new("deploy-quota").await;
    let deployer = f.deployer();
    let nodes = f.net.ready_nodes(2);
    let mut stacks = Vec::new();
    for i in 0..65 {
        let mut service = f.service(&[(80, 30100 + i)], &[], &[]);
        let name = unique(&format!("q{i}"));
        service.metadata.uid = Some(format!("uid-{name}"));
        service.metadata.name = Some(name);
        let stack = f.stack(&service, &nodes);
        deployer.deploy(&stack).await.unwrap_or_else(|e| panic!("Service {i}: {e}"));
        stacks.push(stack);
    }
    let owned = f.owned().await;
    assert_eq!(owned.lbs.len(), 65);
    assert_eq!(owned.node_rules, [(30100, 30164)], "one rule for 65 NodePorts");

    for stack in stacks.iter().rev() {
        deployer.deploy(&Stack::empty(stack.id.clone())).await.expect("deleted");
    }
    let owned = f.owned().await;
    let left: Vec<String> = owned.groups.iter().map(|g| g.group_name.clone()).collect();
    assert!(owned.is_empty(), "left: {left:?} {:?}", owned.node_rules);
}
