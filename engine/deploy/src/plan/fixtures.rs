//! The stack the planner's table tests start from, and what exists once it is applied; each test
//! changes one thing and checks which steps, in which order, the difference takes.

use elbow_cloud::{Listener, LoadBalancer, TargetGroup};
use elbow_model::*;

use crate::actual::*;
use crate::plan::*;

pub(crate) fn lb_spec(scheme: Scheme) -> LoadBalancerSpec {
    LoadBalancerSpec {
        resource_id: ResourceId::new("LoadBalancer"),
        name: format!("lb-{}", scheme.as_str()),
        lb_type: LoadBalancerType::Network,
        scheme,
        ip_address_type: IpAddressType::Ipv4,
        subnets: vec!["subnet-a".into()],
        subnet_addresses: Vec::new(),
        security_groups: vec![SecurityGroupRef::Existing("sg-user".into())],
        attributes: Attributes::new(),
        tags: Tags::new(),
        protection: Default::default(),
        capacity_units: None,
    }
}

pub(crate) fn tg_spec(port: u16) -> TargetGroupSpec {
    TargetGroupSpec {
        resource_id: ResourceId::new("TargetGroup/TCP-80"),
        name: format!("tg-{port}"),
        target_type: TargetType::Instance,
        protocol: Protocol::Tcp,
        port,
        protocol_version: None,
        vpc_id: "vpc-1".into(),
        ip_address_type: IpAddressType::Ipv4,
        health_check: HealthCheck {
            protocol: Protocol::Tcp,
            port: HealthCheckPort::TrafficPort,
            path: None,
            interval_seconds: 10,
            timeout_seconds: 10,
            healthy_threshold_count: 3,
            unhealthy_threshold_count: 3,
            matcher: None,
        },
        attributes: Attributes::new(),
        tags: Tags::new(),
        targets: vec![Target::new("i-1", port)],
    }
}

pub(super) fn stack(scheme: Scheme, port: u16) -> Stack {
    let mut stack = Stack::empty(StackId::new("default/web"));
    stack.load_balancers.push(lb_spec(scheme));
    stack.target_groups.push(tg_spec(port));
    stack.listeners.push(ListenerSpec {
        resource_id: ResourceId::new("Listener/TCP-80"),
        load_balancer: ResourceId::new("LoadBalancer"),
        port: 80,
        protocol: Protocol::Tcp,
        certificates: vec![],
        ssl_policy: None,
        alpn_policy: None,
        mutual_authentication: None,
        default_actions: vec![Action::forward(ResourceId::new("TargetGroup/TCP-80"))],
        rules: vec![],
        attributes: Attributes::new(),
        tags: Tags::new(),
    });
    stack
}

/// What exists after `stack` was applied, with made-up ARNs.
pub(super) fn applied(stack: &Stack) -> ActualStack {
    let lb = &stack.load_balancers[0];
    let tg = &stack.target_groups[0];
    let lb_arn = format!("arn:lb/{}", lb.name);
    let tg_arn = format!("arn:tg/{}", tg.name);
    ActualStack {
        load_balancers: vec![ActualLoadBalancer {
            resource_id: lb.resource_id.clone(),
            lb: LoadBalancer {
                arn: lb_arn.clone(),
                name: lb.name.clone(),
                dns_name: "x".into(),
                lb_type: lb.lb_type,
                scheme: lb.scheme,
                ip_address_type: lb.ip_address_type,
                vpc_id: "vpc-1".into(),
                state: "active".into(),
                subnets: lb.subnets.clone(),
                security_groups: vec!["sg-user".into()],
                created_time: None,
            },
            tags: lb.tags.clone(),
            listeners: vec![Listener {
                arn: "arn:listener/80".into(),
                load_balancer_arn: lb_arn,
                port: 80,
                protocol: Protocol::Tcp,
                certificates: vec![],
                ssl_policy: None,
                alpn_policy: None,
                mutual_authentication: None,
                default_actions: vec![Action::forward(tg_arn.clone())],
            }],
            attributes: Attributes::new(),
            rules: BTreeMap::new(),
            certificate_lists: BTreeMap::new(),
            listener_attributes: Default::default(),
        }],
        target_groups: vec![ActualTargetGroup {
            resource_id: tg.resource_id.clone(),
            tg: TargetGroup {
                arn: tg_arn,
                name: tg.name.clone(),
                target_type: tg.target_type,
                protocol: tg.protocol,
                port: tg.port,
                protocol_version: tg.protocol_version,
                vpc_id: tg.vpc_id.clone(),
                ip_address_type: tg.ip_address_type,
                health_check: tg.health_check.clone(),
                load_balancer_arns: vec![],
            },
            tags: Tags::new(),
            targets: tg.targets.clone(),
            attributes: Attributes::new(),
        }],
        security_groups: vec![],
        node_rules: vec![],
        satisfied_node_rules: vec![],
    }
}

pub(super) fn ctx() -> PlanContext {
    PlanContext {
        cluster: "c".into(),
        backend_group: None,
        previous_tags: BTreeMap::new(),
        sent_secrets: Default::default(),
        foreign_target_groups: BTreeMap::new(),
    }
}

/// Each step's variant name, in order.
pub(super) fn kinds(plan: &Plan) -> Vec<String> {
    plan.steps.iter().map(|step| format!("{step:?}").split([' ', '{']).next().unwrap_or_default().to_string()).collect()
}
