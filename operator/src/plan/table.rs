//! The readable form of a plan: one block per stack, one line per resource.

use std::io::Write;

use elbow_model::{Action, HealthCheckPort, ResourceId, RuleCondition, RuleSource, SecurityGroupRef};

use super::PlanReport;

pub fn write(report: &PlanReport, out: &mut dyn Write) -> std::io::Result<()> {
    for stack in &report.stacks {
        writeln!(out, "STACK {}", stack.id)?;
        for lb in &stack.load_balancers {
            writeln!(
                out,
                "  load balancer   {}  {} {} {}  subnets {}",
                lb.name,
                lb.lb_type.as_str(),
                lb.scheme.as_str(),
                lb.ip_address_type.as_str(),
                lb.subnets.join(",")
            )?;
        }
        for listener in &stack.listeners {
            writeln!(
                out,
                "  listener        {}/{} -> {}",
                listener.port,
                listener.protocol.as_str(),
                actions(&listener.default_actions)
            )?;
            for (priority, rule) in (1..).zip(&listener.rules) {
                let when: Vec<String> = rule.conditions.iter().map(condition).collect();
                writeln!(out, "    rule {priority:<3}      {} -> {}", when.join(" and "), actions(&rule.actions))?;
            }
        }
        for tg in &stack.target_groups {
            let hc = &tg.health_check;
            let port = match hc.port {
                HealthCheckPort::TrafficPort => "traffic-port".to_string(),
                HealthCheckPort::Port(p) => p.to_string(),
            };
            let targets: Vec<&str> = tg.targets.iter().map(|t| t.id.as_str()).collect();
            writeln!(
                out,
                "  target group    {}  {}:{} {}  health {} {}{} every {}s  targets {}",
                tg.name,
                tg.protocol.as_str(),
                tg.port,
                tg.target_type.as_str(),
                hc.protocol.as_str(),
                port,
                hc.path.as_deref().unwrap_or(""),
                hc.interval_seconds,
                if targets.is_empty() { "(none)".to_string() } else { targets.join(",") }
            )?;
        }
        for group in &stack.security_groups {
            let rules: Vec<String> = group
                .ingress
                .iter()
                .map(|r| format!("{} {} from {}", r.ip_protocol, r.from_port, source(&r.source)))
                .collect();
            writeln!(out, "  security group  {}  {}", group.group_name, rules.join("; "))?;
        }
        for rule in &stack.node_security_group_rules {
            writeln!(
                out,
                "  node rule       {} {} {} from {}",
                rule.group_id,
                rule.rule.ip_protocol,
                rule.rule.from_port,
                source(&rule.rule.source)
            )?;
        }
    }
    for error in &report.errors {
        writeln!(out, "ERROR {}: {}", error.object, error.error)?;
    }
    Ok(())
}

fn actions(actions: &[Action<ResourceId>]) -> String {
    let described: Vec<String> = actions
        .iter()
        .map(|action| match action {
            Action::Forward { target_groups, .. } => target_groups
                .iter()
                .map(|t| match t.weight {
                    Some(weight) if target_groups.len() > 1 => format!("{}@{weight}", t.target_group),
                    _ => t.target_group.to_string(),
                })
                .collect::<Vec<_>>()
                .join("+"),
            Action::Redirect { status_code, .. } => format!("redirect {status_code}"),
            Action::FixedResponse { status_code, .. } => format!("fixed {status_code}"),
            // The provider, never the client secret.
            Action::AuthenticateOidc(config) => format!("oidc {}", config.issuer),
            Action::AuthenticateCognito(config) => format!("cognito {}", config.user_pool_domain),
            Action::JwtValidation(config) => format!("jwt {}", config.issuer),
        })
        .collect();
    described.join(", ")
}

fn condition(condition: &RuleCondition) -> String {
    match condition {
        RuleCondition::HostHeader(values) => format!("host {}", values.join("|")),
        RuleCondition::PathPattern(values) => format!("path {}", values.join("|")),
        RuleCondition::HttpRequestMethod(values) => format!("method {}", values.join("|")),
        RuleCondition::SourceIp(values) => format!("source {}", values.join("|")),
        RuleCondition::HttpHeader { name, values } => format!("header {name}={}", values.join("|")),
        RuleCondition::HostHeaderRegex(values) => format!("host ~{}", values.join("|")),
        RuleCondition::PathPatternRegex(values) => format!("path ~{}", values.join("|")),
        RuleCondition::HttpHeaderRegex { name, values } => format!("header {name}~{}", values.join("|")),
        RuleCondition::QueryString(pairs) => {
            let pairs: Vec<String> =
                pairs.iter().map(|p| format!("{}={}", p.key.as_deref().unwrap_or(""), p.value)).collect();
            format!("query {}", pairs.join("&"))
        }
    }
}

fn source(source: &RuleSource) -> String {
    match source {
        RuleSource::CidrIpv4(cidr) | RuleSource::CidrIpv6(cidr) | RuleSource::PrefixList(cidr) => cidr.clone(),
        RuleSource::SecurityGroup(SecurityGroupRef::SharedBackend) => "the shared backend group".into(),
        RuleSource::SecurityGroup(SecurityGroupRef::Managed(id)) => id.to_string(),
        RuleSource::SecurityGroup(SecurityGroupRef::Existing(id)) => id.clone(),
    }
}
