//! The in-memory fake against the endpoint (moto by default), through the same deployer: each
//! scenario is deployed to both, from the same stacks over the same seeded network, and the
//! resulting cloud states must be equal once normalized (names instead of ARNs and ids; see
//! `snapshot`). The fake is what most of Elbow's tests run against, so a difference here is the
//! fake accepting or doing what the real API does not (or the other way round).
//!
//! Bad requests are sent to both as well. Where moto accepts what AWS refuses (it does for several
//! certificates in one request), the test says so and holds the fake to AWS's documented answer.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use elbow_builder::BuildConfig;
use elbow_builder::service::build_service_stack;
use elbow_cloud::*;
use elbow_deploy::{DeploySettings, Deployer};
use elbow_fake::FakeCloud;
use elbow_localstack_tests::snapshot::{Snapshot, snapshot};
use elbow_localstack_tests::{Network, cloud, endpoint, http_health_check, sdk_config, unique};
use elbow_model::tags::ownership_tags;
use elbow_model::*;
use k8s_openapi::api::core::v1::{Node, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

const SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

/// IAM server-certificate ARNs: moto checks ACM certificate ARNs against its ACM on
/// CreateListener, and these against nothing, so the scenarios need no certificate import.
fn cert(name: &str) -> String {
    format!("arn:aws:iam::123456789012:server-certificate/{name}")
}

/// One seeded network at the endpoint, the same network in a fake, and a deployer for each.
struct Twins {
    net: Network,
    endpoint: Arc<elbow_aws::SdkCloud>,
    fake: Arc<FakeCloud>,
    on_endpoint: Deployer,
    on_fake: Deployer,
}

impl Twins {
    async fn new(prefix: &str) -> Self {
        let net = Network::seed(prefix, 3).await;
        let endpoint = Arc::new(cloud().await);
        let fake = Arc::new(mirror(&net));
        let settings = DeploySettings {
            cluster_name: net.cluster.clone(),
            vpc_id: net.inventory.vpc_id.clone(),
            drift_period: Duration::from_secs(3600),
            integrations: elbow_deploy::Integrations::all(),
        };
        let on_endpoint = Deployer::new(endpoint.clone(), settings.clone());
        let on_fake = Deployer::new(fake.clone(), settings);
        Self { net, endpoint, fake, on_endpoint, on_fake }
    }

    /// Deploys `stack` to both; both must take it.
    async fn deploy(&self, stack: &Stack) {
        self.on_endpoint.deploy(stack).await.unwrap_or_else(|e| panic!("endpoint refused {}: {e}", stack.id));
        self.on_fake.deploy(stack).await.unwrap_or_else(|e| panic!("fake refused {}: {e}", stack.id));
    }

    /// Both clouds' states, which must be equal; returned for further checks.
    async fn same_state(&self, after: &str) -> Snapshot {
        let endpoint = snapshot(self.endpoint.as_ref(), &self.net.cluster, &self.net.node_group).await;
        let fake = snapshot(self.fake.as_ref(), &self.net.cluster, &self.net.node_group).await;
        assert_eq!(endpoint, fake, "after {after}: the endpoint's state (left) differs from the fake's (right)");
        endpoint
    }

    /// A Service's stack from the real builder: two TCP ports, source ranges.
    fn service_stack(&self, name: &str) -> Stack {
        self.service_stack_with(name, &[], &["10.0.0.0/8", "192.168.0.0/16"])
    }

    /// A Service's stack with `annotations` (without their prefix) and `source_ranges`.
    fn service_stack_with(&self, name: &str, annotations: &[(&str, &str)], source_ranges: &[&str]) -> Stack {
        let service = Service {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
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
                    [(80, 31080), (8080, 31081)]
                        .into_iter()
                        .map(|(port, node_port)| ServicePort {
                            port,
                            node_port: Some(node_port),
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
        };
        let nodes = self.net.ready_nodes(self.net.inventory.instances.len());
        let nodes: Vec<&Node> = nodes.iter().collect();
        build_service_stack(
            &service,
            &nodes,
            &[],
            &elbow_builder::endpoints::NoPodFacts,
            &self.net.inventory,
            &BuildConfig::new(self.net.cluster.clone()),
        )
        .expect("a valid Service")
    }

    /// An Ingress-shaped stack: an application load balancer in the public subnets with an HTTPS
    /// listener serving `certificates` (default first), forwarding to one target group of every
    /// instance on NodePort 30480, with one path rule; its frontend group admits the world on 443.
    fn alb_stack(&self, name: &str, certificates: &[&str]) -> Stack {
        let id = StackId::new(format!("ingress/{name}"));
        let tags = |resource: &ResourceId| ownership_tags(&self.net.cluster, &id, resource);
        let lb_id = ResourceId::new("LoadBalancer");
        let sg_id = ResourceId::new("SecurityGroup/frontend");
        let tg_id = ResourceId::new("TargetGroup/30480");
        let listener_id = ResourceId::new("Listener/HTTPS-443");
        let node_port = 30480;
        let mut stack = Stack::empty(id.clone());
        let subnets = self.net.public_subnets();
        stack.load_balancers.push(LoadBalancerSpec {
            resource_id: lb_id.clone(),
            name: name.to_string(),
            lb_type: LoadBalancerType::Application,
            scheme: Scheme::InternetFacing,
            ip_address_type: IpAddressType::Ipv4,
            subnets,
            subnet_addresses: Vec::new(),
            security_groups: vec![SecurityGroupRef::Managed(sg_id.clone()), SecurityGroupRef::SharedBackend],
            attributes: Attributes::new(),
            tags: tags(&lb_id),
            protection: Default::default(),
            capacity_units: None,
        });
        stack.target_groups.push(TargetGroupSpec {
            resource_id: tg_id.clone(),
            name: format!("{name}-tg"),
            target_type: TargetType::Instance,
            protocol: Protocol::Http,
            port: node_port,
            protocol_version: None,
            vpc_id: self.net.inventory.vpc_id.clone(),
            ip_address_type: IpAddressType::Ipv4,
            health_check: http_health_check(),
            attributes: Attributes::new(),
            tags: tags(&tg_id),
            targets: self.net.instances.iter().map(|id| Target::new(id.clone(), node_port)).collect(),
        });
        stack.listeners.push(ListenerSpec {
            resource_id: listener_id.clone(),
            load_balancer: lb_id,
            port: 443,
            protocol: Protocol::Https,
            certificates: certificates.iter().map(|c| cert(c)).collect(),
            ssl_policy: Some(SSL_POLICY.into()),
            alpn_policy: None,
            mutual_authentication: None,
            default_actions: vec![Action::forward(tg_id.clone())],
            rules: vec![RuleSpec {
                conditions: vec![RuleCondition::PathPattern(vec!["/api/*".into()])],
                actions: vec![Action::forward(tg_id.clone())],
                transforms: vec![],
            }],
            attributes: Attributes::new(),
            tags: tags(&listener_id),
        });
        stack.security_groups.push(SecurityGroupSpec {
            resource_id: sg_id.clone(),
            group_name: format!("{name}-fe"),
            description: "frontend".into(),
            vpc_id: self.net.inventory.vpc_id.clone(),
            ingress: vec![IngressRule {
                ip_protocol: "tcp".into(),
                from_port: 443,
                to_port: 443,
                source: RuleSource::CidrIpv4("0.0.0.0/0".into()),
                description: None,
            }],
            tags: tags(&sg_id),
        });
        stack.node_security_group_rules.push(NodeSecurityGroupRule {
            resource_id: ResourceId::new(format!("NodeRule/{}/tcp/{node_port}", self.net.node_group)),
            group_id: self.net.node_group.clone(),
            rule: IngressRule {
                ip_protocol: "tcp".into(),
                from_port: node_port,
                to_port: node_port,
                source: RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend),
                description: None,
            },
        });
        stack
    }
}

/// A fake holding the endpoint's seeded network under the same ids: the VPC, its subnets with
/// their role tags, the running instances and the node group.
fn mirror(net: &Network) -> FakeCloud {
    let fake = FakeCloud::new();
    let vpc = &net.inventory.vpc_id;
    fake.seed_vpc(vpc);
    for subnet in &net.inventory.subnets {
        fake.seed_subnet(Subnet {
            id: subnet.id.clone(),
            vpc_id: vpc.clone(),
            availability_zone: subnet.availability_zone.clone(),
            cidr_block: subnet.cidr_block.clone(),
            ipv6_cidr_blocks: subnet.ipv6_cidr_blocks.clone(),
            tags: subnet.tags.clone(),
        });
    }
    for group in &net.inventory.security_groups {
        fake.seed_security_group(SecurityGroup {
            id: group.id.clone(),
            group_name: group.group_name.clone(),
            description: "the cluster's nodes".into(),
            vpc_id: vpc.clone(),
            tags: group.tags.clone(),
        });
    }
    for instance in &net.inventory.instances {
        fake.seed_instance(Instance {
            id: instance.id.clone(),
            vpc_id: vpc.clone(),
            availability_zone: instance.availability_zone.clone(),
            state: "running".into(),
            security_groups: instance.security_groups.clone(),
        });
    }
    fake
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fake_ends_where_the_endpoint_ends_for_the_same_deploys() {
    let twins = Twins::new("diff-life").await;
    let service = twins.service_stack(&unique("web"));
    let alb_name = unique("shop");

    twins.deploy(&service).await;
    let state = twins.same_state("creating a Service's network load balancer").await;
    assert_eq!(state.load_balancers.len(), 1);
    assert_eq!(state.node_rules.len(), 1, "one range for both NodePorts: {:?}", state.node_rules);

    twins.deploy(&twins.alb_stack(&alb_name, &["a", "b", "c"])).await;
    let state = twins.same_state("creating an HTTPS listener with three certificates").await;
    let listener = &state.load_balancers[&alb_name].listeners[&443];
    assert_eq!(listener.default_certificate, Some(cert("a")));
    assert_eq!(listener.certificate_list, [cert("b"), cert("c")].into());

    // A member of the group left: its certificate goes, the default stays. (A new default goes
    // through ModifyListener, which moto turns into a different state than AWS: see the README.)
    twins.deploy(&twins.alb_stack(&alb_name, &["a", "c"])).await;
    let state = twins.same_state("removing one certificate").await;
    let listener = &state.load_balancers[&alb_name].listeners[&443];
    assert_eq!(listener.certificate_list, [cert("c")].into());

    twins.deploy(&Stack::empty(service.id.clone())).await;
    twins.deploy(&Stack::empty(StackId::new(format!("ingress/{alb_name}")))).await;
    let state = twins.same_state("deleting both stacks").await;
    assert!(state.is_empty(), "{state:?}");
}

/// An application load balancer and a target group for the refusal checks, on `cloud`.
async fn alb_with_target_group(cloud: &dyn Cloud, twins: &Twins, name: &str) -> (LoadBalancer, TargetGroup) {
    let group = cloud
        .create_security_group(&format!("{name}-sg"), "bad requests", &twins.net.inventory.vpc_id, &Tags::new())
        .await
        .expect("group");
    let subnets = twins.net.public_subnets();
    let lb = cloud
        .create_load_balancer(CreateLoadBalancer {
            name: name.to_string(),
            lb_type: LoadBalancerType::Application,
            scheme: Scheme::InternetFacing,
            ip_address_type: IpAddressType::Ipv4,
            subnets,
            subnet_addresses: Vec::new(),
            security_groups: vec![group],
            tags: Tags::new(),
        })
        .await
        .expect("alb");
    let tg = cloud
        .create_target_group(CreateTargetGroup {
            name: format!("{name}-tg"),
            target_type: TargetType::Instance,
            protocol: Protocol::Http,
            port: 30480,
            protocol_version: None,
            vpc_id: twins.net.inventory.vpc_id.clone(),
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
            tags: Tags::new(),
        })
        .await
        .expect("target group");
    (lb, tg)
}

fn https(lb: &LoadBalancer, tg: &TargetGroup, certificates: &[&str]) -> CreateListener {
    CreateListener {
        load_balancer_arn: lb.arn.clone(),
        port: 443,
        protocol: Protocol::Https,
        certificates: certificates.iter().map(|c| cert(c)).collect(),
        ssl_policy: Some(SSL_POLICY.into()),
        alpn_policy: None,
        mutual_authentication: None,
        default_actions: vec![Action::forward(tg.arn.clone())],
        tags: Tags::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn both_refuse_several_certificates_where_aws_takes_one_or_moto_is_known_to_differ() {
    let twins = Twins::new("diff-bad").await;
    let name = unique("bad");
    let (fake_lb, fake_tg) = alb_with_target_group(twins.fake.as_ref(), &twins, &name).await;
    let (lb, tg) = alb_with_target_group(twins.endpoint.as_ref(), &twins, &name).await;
    // AWS itself refuses each of these; an emulator (moto, LocalStack) is allowed its documented
    // difference, and the fake is held to AWS's answer on its own.
    let emulated = endpoint().is_some();

    // CreateListener with two certificates: AWS answers TooManyCertificates.
    let refused = twins.fake.create_listener(https(&fake_lb, &fake_tg, &["a", "b"])).await.expect_err("fake");
    assert_eq!((refused.kind, refused.code.as_str()), (CloudErrorKind::LimitExceeded, "TooManyCertificates"));
    assert_eq!(refused.message, "Up to '1' certificate ARNs can be specified, but '2' were specified");
    let fake_listener = twins.fake.create_listener(https(&fake_lb, &fake_tg, &["a"])).await.expect("one is fine");
    let listener = match twins.endpoint.create_listener(https(&lb, &tg, &["a", "b"])).await {
        Err(error) => {
            assert_eq!(error.code, refused.code, "{error}");
            twins.endpoint.create_listener(https(&lb, &tg, &["a"])).await.expect("one is fine")
        }
        Ok(listener) => {
            // moto 5 takes the first certificate as the default and drops the second silently.
            assert!(emulated, "AWS must refuse two certificates in CreateListener: {listener:?}");
            let described = twins.endpoint.describe_listener_certificates(&listener.arn).await.expect("described");
            assert_eq!(described, [ListenerCertificate { arn: cert("a"), is_default: true }]);
            listener
        }
    };

    // AddListenerCertificates: one certificate per request, as the API reference says.
    let two = [cert("b"), cert("c")];
    let refused = twins.fake.add_listener_certificates(&fake_listener.arn, &two).await.expect_err("fake");
    assert_eq!((refused.kind, refused.code.as_str()), (CloudErrorKind::LimitExceeded, "TooManyCertificates"));
    match twins.endpoint.add_listener_certificates(&listener.arn, &two).await {
        Err(error) => assert_eq!(error.code, refused.code, "{error}"),
        // moto 5 adds both.
        Ok(()) => assert!(emulated, "AWS must refuse two certificates in AddListenerCertificates"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_with_prefix_lists_and_no_source_ranges_admits_only_the_prefix_lists_on_both() {
    let twins = Twins::new("diff-pl").await;
    // A managed prefix list at the endpoint, and the same one in the fake.
    let prefix_list = elbow_localstack_tests::objects::prefix_list(&unique("office"), "203.0.113.0/24").await;
    twins.fake.seed_prefix_list(&prefix_list, 5);

    let name = unique("web");
    let service = twins.service_stack_with(&name, &[("security-group-prefix-lists", &prefix_list)], &[]);
    twins.deploy(&service).await;
    let state = twins.same_state("a Service with a prefix list and no source ranges").await;
    let frontend = state
        .security_groups
        .values()
        .find(|g| g.tags.get("elbow.dev/resource").map(String::as_str) == Some("SecurityGroup/frontend"))
        .expect("the frontend group");
    let sources: Vec<(&str, u16)> = frontend.ingress.iter().map(|r| (r.source.as_str(), r.from_port)).collect();
    assert_eq!(sources, [(prefix_list.as_str(), 80), (prefix_list.as_str(), 8080)], "nothing but the prefix list");

    // Adding a source range keeps the prefix list and admits the range next to it.
    let both = twins.service_stack_with(&name, &[("security-group-prefix-lists", &prefix_list)], &["10.0.0.0/8"]);
    twins.deploy(&both).await;
    let state = twins.same_state("adding a source range").await;
    let frontend = state
        .security_groups
        .values()
        .find(|g| g.tags.get("elbow.dev/resource").map(String::as_str) == Some("SecurityGroup/frontend"))
        .expect("the frontend group");
    assert_eq!(frontend.ingress.len(), 4, "{:?}", frontend.ingress);

    twins.deploy(&Stack::empty(service.id.clone())).await;
    assert!(twins.same_state("deleting the Service").await.is_empty());
}

fn oidc(secret: &str) -> Action<ResourceId> {
    Action::AuthenticateOidc(AuthenticateOidc {
        issuer: "https://idp.example.com".into(),
        authorization_endpoint: "https://idp.example.com/auth".into(),
        token_endpoint: "https://idp.example.com/token".into(),
        user_info_endpoint: "https://idp.example.com/userinfo".into(),
        client_id: "web-client".into(),
        client_secret: Some(ClientSecret::new(secret)),
        authentication_request_extra_params: [("prompt".to_string(), "login".to_string())].into(),
        on_unauthenticated_request: OnUnauthenticated::Authenticate,
        scope: "openid email".into(),
        session_cookie_name: "AWSELBAuthSessionCookie".into(),
        session_timeout: 3600,
    })
}

fn cognito() -> Action<ResourceId> {
    Action::AuthenticateCognito(AuthenticateCognito {
        user_pool_arn: "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc".into(),
        user_pool_client_id: "pool-client".into(),
        user_pool_domain: "shop-auth".into(),
        authentication_request_extra_params: Default::default(),
        on_unauthenticated_request: OnUnauthenticated::Deny,
        scope: "openid".into(),
        session_cookie_name: "shop-session".into(),
        session_timeout: 604_800,
    })
}

/// The client secrets the endpoint holds for the rules of the load balancer `name`, read with the
/// SDK itself: AWS never returns them (and the adapter drops them), but moto echoes what it was
/// sent, which shows what went over the wire.
async fn secrets_on_the_wire(name: &str) -> Vec<String> {
    let client = aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config().await);
    let lbs = client.describe_load_balancers().names(name).send().await.expect("load balancer");
    let lb = lbs.load_balancers()[0].load_balancer_arn().unwrap().to_string();
    let listeners = client.describe_listeners().load_balancer_arn(lb).send().await.expect("listeners");
    let mut secrets = Vec::new();
    for listener in listeners.listeners() {
        let rules = client.describe_rules().listener_arn(listener.listener_arn().unwrap()).send().await.expect("rules");
        for rule in rules.rules() {
            for action in rule.actions() {
                if let Some(secret) = action.authenticate_oidc_config().and_then(|c| c.client_secret()) {
                    secrets.push(secret.to_string());
                }
            }
        }
    }
    secrets
}

#[tokio::test(flavor = "multi_thread")]
async fn authenticated_rules_end_alike_and_a_rotated_secret_is_sent() {
    let twins = Twins::new("diff-auth").await;
    let name = unique("auth");
    let authenticated = |secret: &str| {
        let mut stack = twins.alb_stack(&name, &["a"]);
        let listener = &mut stack.listeners[0];
        listener.rules[0].actions.insert(0, oidc(secret));
        listener.default_actions.insert(0, cognito());
        stack
    };
    twins.deploy(&authenticated("s1")).await;
    let state = twins.same_state("creating authenticated rules").await;
    let listener = &state.load_balancers[&name].listeners[&443];
    // Read back through the adapter: every setting, and no secret.
    let Action::AuthenticateOidc(read) = &listener.rules[&1].1[0] else { panic!("{listener:?}") };
    let Action::AuthenticateOidc(sent) = oidc("s1") else { unreachable!() };
    assert_eq!(read, &AuthenticateOidc { client_secret: None, ..sent });
    assert!(matches!(listener.rules[&1].1[1], Action::Forward { .. }));
    let Action::AuthenticateCognito(sent) = cognito() else { unreachable!() };
    assert_eq!(listener.default_actions[0], Action::AuthenticateCognito(sent));
    if endpoint().is_some() {
        assert_eq!(secrets_on_the_wire(&name).await, ["s1"], "moto holds the secret it was sent");
    }

    twins.deploy(&authenticated("s2")).await;
    twins.same_state("rotating the client secret").await;
    if endpoint().is_some() {
        assert_eq!(secrets_on_the_wire(&name).await, ["s2"], "the rotated secret went over the wire");
    }

    twins.deploy(&Stack::empty(StackId::new(format!("ingress/{name}")))).await;
    assert!(twins.same_state("deleting the stack").await.is_empty());
}
