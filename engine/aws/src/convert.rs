//! Conversions between the SDK's types and Elbow's. Unknown enum values the SDK may report (AWS
//! adds them over time) fall back to the nearest meaning rather than failing a whole describe.

use crate::convert_auth;
use aws_sdk_ec2::types as ec2;
use aws_sdk_elasticloadbalancingv2::types as elb;
use elbow_cloud::{Arn, Listener, LoadBalancer, Rule, SecurityGroupRule, TargetGroup};
use elbow_model::{
    Action, ForwardStickiness, HealthCheck, HealthCheckPort, IngressRule, IpAddressType, LoadBalancerType,
    MutualAuthentication, MutualTlsMode, Protocol, ProtocolVersion, QueryStringPair, Rewrite, RuleCondition,
    RuleSource, RuleTransform, Scheme, SecurityGroupRef, Tags, Target, TargetType, TransformKind, WeightedTargetGroup,
};

// ---- ELBv2 out ----

pub(crate) fn elb_tags(tags: &Tags) -> Vec<elb::Tag> {
    tags.iter().map(|(k, v)| elb::Tag::builder().key(k).value(v).build()).collect()
}

/// CreateLoadBalancer's `SubnetMappings`: one per subnet with its fixed addresses; none at all
/// without fixed addresses (the subnets are sent as `Subnets` then).
pub(crate) fn subnet_mappings(addresses: &[elbow_model::SubnetAddresses]) -> Option<Vec<elb::SubnetMapping>> {
    if addresses.is_empty() {
        return None;
    }
    let mappings = addresses
        .iter()
        .map(|a| {
            elb::SubnetMapping::builder()
                .subnet_id(&a.subnet)
                .set_allocation_id(a.allocation_id.clone())
                .set_private_ipv4_address(a.private_ipv4_address.clone())
                .set_ipv6_address(a.ipv6_address.clone())
                .build()
        })
        .collect();
    Some(mappings)
}

/// Tags for a create call: none at all rather than an empty list, which ELBv2 rejects (its `Tags`
/// parameter holds at least one tag).
pub(crate) fn elb_tags_on_create(tags: &Tags) -> Option<Vec<elb::Tag>> {
    (!tags.is_empty()).then(|| elb_tags(tags))
}

pub(crate) fn protocol(p: Protocol) -> elb::ProtocolEnum {
    elb::ProtocolEnum::from(p.as_str())
}

pub(crate) fn lb_type(t: LoadBalancerType) -> elb::LoadBalancerTypeEnum {
    elb::LoadBalancerTypeEnum::from(t.as_str())
}

pub(crate) fn scheme(s: Scheme) -> elb::LoadBalancerSchemeEnum {
    elb::LoadBalancerSchemeEnum::from(s.as_str())
}

pub(crate) fn ip_address_type(t: IpAddressType) -> elb::IpAddressType {
    elb::IpAddressType::from(t.as_str())
}

pub(crate) fn target_type(t: TargetType) -> elb::TargetTypeEnum {
    elb::TargetTypeEnum::from(t.as_str())
}

pub(crate) fn target(t: &Target) -> elb::TargetDescription {
    elb::TargetDescription::builder()
        .id(&t.id)
        .port(i32::from(t.port))
        .set_quic_server_id(t.quic_server_id.clone())
        .build()
}

/// A listener's `Certificates` parameter: none at all when empty. Sent as given, so that AWS
/// judges the count (it takes exactly one default certificate).
pub(crate) fn certificates(arns: &[String]) -> Option<Vec<elb::Certificate>> {
    (!arns.is_empty()).then(|| certificate_list(arns))
}

/// Certificates by ARN, `IsDefault` unset (AWS refuses it on input).
pub(crate) fn certificate_list(arns: &[String]) -> Vec<elb::Certificate> {
    arns.iter().map(|arn| elb::Certificate::builder().certificate_arn(arn).build()).collect()
}

pub(crate) fn action(action: &Action<Arn>, order: usize) -> elb::Action {
    let builder = elb::Action::builder().order(i32::try_from(order + 1).unwrap_or(i32::MAX));
    match action {
        Action::Forward { target_groups, stickiness } => {
            let tuples: Vec<elb::TargetGroupTuple> = target_groups
                .iter()
                .map(|w| {
                    elb::TargetGroupTuple::builder()
                        .target_group_arn(&w.target_group)
                        .set_weight(w.weight.and_then(|x| i32::try_from(x).ok()))
                        .build()
                })
                .collect();
            builder
                .r#type(elb::ActionTypeEnum::Forward)
                .forward_config(
                    elb::ForwardActionConfig::builder()
                        .set_target_groups(Some(tuples))
                        .set_target_group_stickiness_config(stickiness.map(|s| {
                            elb::TargetGroupStickinessConfig::builder()
                                .enabled(s.enabled)
                                .set_duration_seconds(s.duration_seconds.and_then(|d| i32::try_from(d).ok()))
                                .build()
                        }))
                        .build(),
                )
                .build()
        }
        Action::Redirect { protocol, port, host, path, query, status_code } => builder
            .r#type(elb::ActionTypeEnum::Redirect)
            .redirect_config(
                elb::RedirectActionConfig::builder()
                    .set_protocol(protocol.clone())
                    .set_port(port.clone())
                    .set_host(host.clone())
                    .set_path(path.clone())
                    .set_query(query.clone())
                    .status_code(elb::RedirectActionStatusCodeEnum::from(status_code.as_str()))
                    .build(),
            )
            .build(),
        Action::FixedResponse { status_code, content_type, message_body } => builder
            .r#type(elb::ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                elb::FixedResponseActionConfig::builder()
                    .status_code(status_code)
                    .set_content_type(content_type.clone())
                    .set_message_body(message_body.clone())
                    .build(),
            )
            .build(),
        Action::AuthenticateOidc(config) => builder
            .r#type(elb::ActionTypeEnum::AuthenticateOidc)
            .authenticate_oidc_config(convert_auth::oidc_config(config))
            .build(),
        Action::AuthenticateCognito(config) => builder
            .r#type(elb::ActionTypeEnum::AuthenticateCognito)
            .authenticate_cognito_config(convert_auth::cognito_config(config))
            .build(),
        Action::JwtValidation(config) => builder
            .r#type(elb::ActionTypeEnum::JwtValidation)
            .jwt_validation_config(convert_auth::jwt_config(config))
            .build(),
    }
}

/// A rule's transforms as ELBv2 takes them: the rewrites in the config its type names.
pub(crate) fn transforms(transforms: &[RuleTransform]) -> Vec<elb::RuleTransform> {
    transforms
        .iter()
        .map(|t| {
            let rewrites: Vec<elb::RewriteConfig> = t
                .rewrites
                .iter()
                .map(|r| elb::RewriteConfig::builder().regex(&r.regex).replace(&r.replace).build())
                .collect();
            let builder = elb::RuleTransform::builder();
            match t.kind {
                TransformKind::HostHeaderRewrite => {
                    builder.r#type(elb::TransformTypeEnum::HostHeaderRewrite).host_header_rewrite_config(
                        elb::HostHeaderRewriteConfig::builder().set_rewrites(Some(rewrites)).build(),
                    )
                }
                TransformKind::UrlRewrite => builder
                    .r#type(elb::TransformTypeEnum::UrlRewrite)
                    .url_rewrite_config(elb::UrlRewriteConfig::builder().set_rewrites(Some(rewrites)).build()),
            }
            .build()
        })
        .collect()
}

/// A reported transform; `None` for a type this build does not know.
pub(crate) fn from_transform(t: &elb::RuleTransform) -> Option<RuleTransform> {
    let rewrites = |r: &[elb::RewriteConfig]| {
        r.iter()
            .map(|r| Rewrite {
                regex: r.regex().unwrap_or_default().to_string(),
                replace: r.replace().unwrap_or_default().to_string(),
            })
            .collect()
    };
    Some(match t.r#type()? {
        elb::TransformTypeEnum::HostHeaderRewrite => RuleTransform {
            kind: TransformKind::HostHeaderRewrite,
            rewrites: rewrites(t.host_header_rewrite_config().map(|c| c.rewrites()).unwrap_or_default()),
        },
        elb::TransformTypeEnum::UrlRewrite => RuleTransform {
            kind: TransformKind::UrlRewrite,
            rewrites: rewrites(t.url_rewrite_config().map(|c| c.rewrites()).unwrap_or_default()),
        },
        _ => return None,
    })
}

pub(crate) fn actions(actions: &[Action<Arn>]) -> Vec<elb::Action> {
    actions.iter().enumerate().map(|(i, a)| action(a, i)).collect()
}

pub(crate) fn condition(condition: &RuleCondition) -> elb::RuleCondition {
    let builder = elb::RuleCondition::builder();
    match condition {
        RuleCondition::HostHeader(values) => builder
            .field("host-header")
            .host_header_config(elb::HostHeaderConditionConfig::builder().set_values(Some(values.clone())).build())
            .build(),
        RuleCondition::PathPattern(values) => builder
            .field("path-pattern")
            .path_pattern_config(elb::PathPatternConditionConfig::builder().set_values(Some(values.clone())).build())
            .build(),
        RuleCondition::HttpRequestMethod(values) => builder
            .field("http-request-method")
            .http_request_method_config(
                elb::HttpRequestMethodConditionConfig::builder().set_values(Some(values.clone())).build(),
            )
            .build(),
        RuleCondition::SourceIp(values) => builder
            .field("source-ip")
            .source_ip_config(elb::SourceIpConditionConfig::builder().set_values(Some(values.clone())).build())
            .build(),
        RuleCondition::HttpHeader { name, values } => builder
            .field("http-header")
            .http_header_config(
                elb::HttpHeaderConditionConfig::builder()
                    .http_header_name(name)
                    .set_values(Some(values.clone()))
                    .build(),
            )
            .build(),
        RuleCondition::HostHeaderRegex(regexes) => builder
            .field("host-header")
            .host_header_config(
                elb::HostHeaderConditionConfig::builder().set_regex_values(Some(regexes.clone())).build(),
            )
            .build(),
        RuleCondition::PathPatternRegex(regexes) => builder
            .field("path-pattern")
            .path_pattern_config(
                elb::PathPatternConditionConfig::builder().set_regex_values(Some(regexes.clone())).build(),
            )
            .build(),
        RuleCondition::HttpHeaderRegex { name, values } => builder
            .field("http-header")
            .http_header_config(
                elb::HttpHeaderConditionConfig::builder()
                    .http_header_name(name)
                    .set_regex_values(Some(values.clone()))
                    .build(),
            )
            .build(),
        RuleCondition::QueryString(pairs) => builder
            .field("query-string")
            .query_string_config(
                elb::QueryStringConditionConfig::builder()
                    .set_values(Some(
                        pairs
                            .iter()
                            .map(|p| {
                                elb::QueryStringKeyValuePair::builder().set_key(p.key.clone()).value(&p.value).build()
                            })
                            .collect(),
                    ))
                    .build(),
            )
            .build(),
    }
}

// ---- ELBv2 in ----

pub(crate) fn from_protocol(p: Option<&elb::ProtocolEnum>) -> Protocol {
    p.and_then(|p| Protocol::parse(p.as_str())).unwrap_or(Protocol::Tcp)
}

pub(crate) fn load_balancer(lb: &elb::LoadBalancer) -> LoadBalancer {
    let mut subnets: Vec<String> =
        lb.availability_zones().iter().filter_map(|az| az.subnet_id().map(str::to_string)).collect();
    subnets.sort();
    let mut security_groups = lb.security_groups().to_vec();
    security_groups.sort();
    LoadBalancer {
        arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
        name: lb.load_balancer_name().unwrap_or_default().to_string(),
        dns_name: lb.dns_name().unwrap_or_default().to_lowercase(),
        lb_type: match lb.r#type() {
            Some(elb::LoadBalancerTypeEnum::Application) => LoadBalancerType::Application,
            _ => LoadBalancerType::Network,
        },
        scheme: match lb.scheme() {
            Some(elb::LoadBalancerSchemeEnum::Internal) => Scheme::Internal,
            _ => Scheme::InternetFacing,
        },
        ip_address_type: match lb.ip_address_type() {
            Some(elb::IpAddressType::Ipv4) | None => IpAddressType::Ipv4,
            Some(_) => IpAddressType::Dualstack,
        },
        vpc_id: lb.vpc_id().unwrap_or_default().to_string(),
        state: lb.state().and_then(|s| s.code()).map(|c| c.as_str().to_string()).unwrap_or_default(),
        subnets,
        security_groups,
        created_time: lb.created_time().and_then(|t| std::time::SystemTime::try_from(*t).ok()),
    }
}

pub(crate) fn health_check(tg: &elb::TargetGroup) -> HealthCheck {
    let protocol = tg.health_check_protocol().and_then(|p| Protocol::parse(p.as_str())).unwrap_or(Protocol::Tcp);
    let http = matches!(protocol, Protocol::Http | Protocol::Https);
    HealthCheck {
        protocol,
        port: tg.health_check_port().and_then(HealthCheckPort::parse).unwrap_or(HealthCheckPort::TrafficPort),
        path: if http { tg.health_check_path().map(str::to_string) } else { None },
        interval_seconds: non_negative(tg.health_check_interval_seconds()),
        timeout_seconds: non_negative(tg.health_check_timeout_seconds()),
        healthy_threshold_count: non_negative(tg.healthy_threshold_count()),
        unhealthy_threshold_count: non_negative(tg.unhealthy_threshold_count()),
        // A gRPC group reports its codes as `GrpcCode`, the others as `HttpCode`.
        matcher: if http {
            tg.matcher().and_then(|m| m.http_code().or(m.grpc_code())).map(str::to_string)
        } else {
            None
        },
    }
}

fn non_negative(value: Option<i32>) -> u32 {
    value.and_then(|v| u32::try_from(v).ok()).unwrap_or_default()
}

pub(crate) fn target_group(tg: &elb::TargetGroup) -> TargetGroup {
    TargetGroup {
        arn: tg.target_group_arn().unwrap_or_default().to_string(),
        name: tg.target_group_name().unwrap_or_default().to_string(),
        target_type: match tg.target_type() {
            Some(elb::TargetTypeEnum::Ip) => TargetType::Ip,
            _ => TargetType::Instance,
        },
        protocol: from_protocol(tg.protocol()),
        port: tg.port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
        protocol_version: tg.protocol_version().and_then(ProtocolVersion::parse),
        vpc_id: tg.vpc_id().unwrap_or_default().to_string(),
        ip_address_type: match tg.ip_address_type() {
            Some(elb::TargetGroupIpAddressTypeEnum::Ipv6) => IpAddressType::Dualstack,
            _ => IpAddressType::Ipv4,
        },
        health_check: health_check(tg),
        load_balancer_arns: tg.load_balancer_arns().to_vec(),
    }
}

/// A forward's stickiness as desired states carry it: AWS reports `Enabled: false` for a forward
/// made without any, which is the same as none.
fn stickiness(action: &elb::Action) -> Option<ForwardStickiness> {
    let config = action.forward_config()?.target_group_stickiness_config()?;
    config.enabled().unwrap_or_default().then(|| ForwardStickiness {
        enabled: true,
        duration_seconds: config.duration_seconds().and_then(|d| u32::try_from(d).ok()),
    })
}

pub(crate) fn from_action(action: &elb::Action) -> Option<Action<Arn>> {
    Some(match action.r#type()? {
        elb::ActionTypeEnum::Forward => {
            let from_config: Vec<WeightedTargetGroup<Arn>> = action
                .forward_config()
                .map(|c| c.target_groups())
                .unwrap_or_default()
                .iter()
                .filter_map(|t| {
                    Some(WeightedTargetGroup {
                        target_group: t.target_group_arn()?.to_string(),
                        weight: t.weight().and_then(|w| u32::try_from(w).ok()),
                    })
                })
                .collect();
            let target_groups = if from_config.is_empty() {
                vec![WeightedTargetGroup { target_group: action.target_group_arn()?.to_string(), weight: None }]
            } else if from_config.len() == 1 {
                // AWS reports a single forward with weight 1; Elbow's desired state leaves it unset.
                vec![WeightedTargetGroup { target_group: from_config[0].target_group.clone(), weight: None }]
            } else {
                from_config
            };
            Action::Forward { target_groups, stickiness: stickiness(action) }
        }
        elb::ActionTypeEnum::Redirect => {
            let c = action.redirect_config()?;
            Action::Redirect {
                protocol: c.protocol().map(str::to_string),
                port: c.port().map(str::to_string),
                host: c.host().map(str::to_string),
                path: c.path().map(str::to_string),
                query: c.query().map(str::to_string),
                status_code: c.status_code().map(|s| s.as_str().to_string()).unwrap_or_default(),
            }
        }
        elb::ActionTypeEnum::FixedResponse => {
            let c = action.fixed_response_config()?;
            Action::FixedResponse {
                status_code: c.status_code().unwrap_or_default().to_string(),
                content_type: c.content_type().map(str::to_string),
                message_body: c.message_body().map(str::to_string),
            }
        }
        elb::ActionTypeEnum::AuthenticateOidc => {
            Action::AuthenticateOidc(convert_auth::from_oidc_config(action.authenticate_oidc_config()?))
        }
        elb::ActionTypeEnum::AuthenticateCognito => {
            Action::AuthenticateCognito(convert_auth::from_cognito_config(action.authenticate_cognito_config()?))
        }
        elb::ActionTypeEnum::JwtValidation => {
            Action::JwtValidation(convert_auth::from_jwt_config(action.jwt_validation_config()?))
        }
        _ => return None,
    })
}

pub(crate) fn listener(l: &elb::Listener) -> Listener {
    Listener {
        arn: l.listener_arn().unwrap_or_default().to_string(),
        load_balancer_arn: l.load_balancer_arn().unwrap_or_default().to_string(),
        port: l.port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
        protocol: from_protocol(l.protocol()),
        certificates: l.certificates().iter().filter_map(|c| c.certificate_arn().map(str::to_string)).collect(),
        ssl_policy: l.ssl_policy().map(str::to_string),
        alpn_policy: l.alpn_policy().first().and_then(|p| elbow_model::AlpnPolicy::parse(p)),
        mutual_authentication: l.mutual_authentication().and_then(from_mutual_authentication),
        default_actions: sorted_actions(l.default_actions()),
    }
}

fn sorted_actions(actions: &[elb::Action]) -> Vec<Action<Arn>> {
    let mut ordered: Vec<&elb::Action> = actions.iter().collect();
    ordered.sort_by_key(|a| a.order().unwrap_or(i32::MAX));
    ordered.into_iter().filter_map(from_action).collect()
}

pub(crate) fn from_condition(c: &elb::RuleCondition) -> Option<RuleCondition> {
    let values = |v: Option<&[String]>| v.map(<[String]>::to_vec).unwrap_or_default();
    // A condition matches either values or regular expressions (AWS takes one or the other).
    let regexes = |v: Option<&[String]>| v.filter(|v| !v.is_empty()).map(<[String]>::to_vec);
    Some(match c.field()? {
        "host-header" => match regexes(c.host_header_config().map(|x| x.regex_values())) {
            Some(regexes) => RuleCondition::HostHeaderRegex(regexes),
            None => RuleCondition::HostHeader(values(c.host_header_config().map(|x| x.values()))),
        },
        "path-pattern" => match regexes(c.path_pattern_config().map(|x| x.regex_values())) {
            Some(regexes) => RuleCondition::PathPatternRegex(regexes),
            None => RuleCondition::PathPattern(values(c.path_pattern_config().map(|x| x.values()))),
        },
        "http-request-method" => {
            RuleCondition::HttpRequestMethod(values(c.http_request_method_config().map(|x| x.values())))
        }
        "source-ip" => RuleCondition::SourceIp(values(c.source_ip_config().map(|x| x.values()))),
        "http-header" => {
            let config = c.http_header_config()?;
            let name = config.http_header_name().unwrap_or_default().to_string();
            match regexes(Some(config.regex_values())) {
                Some(values) => RuleCondition::HttpHeaderRegex { name, values },
                None => RuleCondition::HttpHeader { name, values: config.values().to_vec() },
            }
        }
        "query-string" => RuleCondition::QueryString(
            c.query_string_config()?
                .values()
                .iter()
                .map(|p| QueryStringPair {
                    key: p.key().map(str::to_string),
                    value: p.value().unwrap_or_default().to_string(),
                })
                .collect(),
        ),
        _ => return None,
    })
}

pub(crate) fn rule(r: &elb::Rule) -> Rule {
    Rule {
        arn: r.rule_arn().unwrap_or_default().to_string(),
        priority: r.priority().and_then(|p| p.parse().ok()),
        conditions: r.conditions().iter().filter_map(from_condition).collect(),
        actions: sorted_actions(r.actions()),
        transforms: r.transforms().iter().filter_map(from_transform).collect(),
    }
}

pub(crate) fn from_elb_tags(tags: &[elb::Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

// ---- EC2 ----

pub(crate) fn ec2_tags(tags: &[ec2::Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

/// The tags of a created EC2 resource, or none: EC2 rejects a tag specification without tags.
pub(crate) fn tag_specifications(resource: ec2::ResourceType, tags: &Tags) -> Option<Vec<ec2::TagSpecification>> {
    (!tags.is_empty()).then(|| {
        vec![
            ec2::TagSpecification::builder()
                .resource_type(resource)
                .set_tags(Some(tags.iter().map(|(k, v)| ec2::Tag::builder().key(k).value(v).build()).collect()))
                .build(),
        ]
    })
}

pub(crate) fn filter(name: &str, values: Vec<String>) -> ec2::Filter {
    ec2::Filter::builder().name(name).set_values(Some(values)).build()
}

/// One EC2 IP permission for one of Elbow's rules (one source per permission).
pub(crate) fn ip_permission(rule: &IngressRule) -> ec2::IpPermission {
    let description = rule.description.clone();
    let builder = ec2::IpPermission::builder()
        .ip_protocol(&rule.ip_protocol)
        .from_port(i32::from(rule.from_port))
        .to_port(i32::from(rule.to_port));
    match &rule.source {
        RuleSource::CidrIpv4(cidr) => {
            builder.ip_ranges(ec2::IpRange::builder().cidr_ip(cidr).set_description(description).build()).build()
        }
        RuleSource::CidrIpv6(cidr) => {
            builder.ipv6_ranges(ec2::Ipv6Range::builder().cidr_ipv6(cidr).set_description(description).build()).build()
        }
        RuleSource::PrefixList(id) => builder
            .prefix_list_ids(ec2::PrefixListId::builder().prefix_list_id(id).set_description(description).build())
            .build(),
        RuleSource::SecurityGroup(group) => {
            let id = match group {
                SecurityGroupRef::Existing(id) => id.clone(),
                // The deployer resolves references before calling the cloud; an unresolved one is
                // sent as written and rejected by EC2 with a clear error.
                SecurityGroupRef::Managed(id) => id.to_string(),
                SecurityGroupRef::SharedBackend => "shared-backend".to_string(),
            };
            builder
                .user_id_group_pairs(ec2::UserIdGroupPair::builder().group_id(id).set_description(description).build())
                .build()
        }
    }
}

pub(crate) fn security_group_rule(rule: &ec2::SecurityGroupRule) -> Option<SecurityGroupRule> {
    if rule.is_egress().unwrap_or(false) {
        return None;
    }
    let source = if let Some(cidr) = rule.cidr_ipv4() {
        RuleSource::CidrIpv4(cidr.to_string())
    } else if let Some(cidr) = rule.cidr_ipv6() {
        RuleSource::CidrIpv6(cidr.to_string())
    } else if let Some(id) = rule.prefix_list_id() {
        RuleSource::PrefixList(id.to_string())
    } else {
        RuleSource::SecurityGroup(SecurityGroupRef::Existing(rule.referenced_group_info()?.group_id()?.to_string()))
    };
    let port = |p: Option<i32>| p.and_then(|p| u16::try_from(p).ok()).unwrap_or_default();
    Some(SecurityGroupRule {
        rule_id: rule.security_group_rule_id()?.to_string(),
        group_id: rule.group_id()?.to_string(),
        rule: IngressRule {
            ip_protocol: rule.ip_protocol().unwrap_or_default().to_string(),
            from_port: port(rule.from_port()),
            to_port: port(rule.to_port()),
            source,
            description: rule.description().filter(|d| !d.is_empty()).map(str::to_string),
        },
        tags: ec2_tags(rule.tags()),
    })
}

/// What CreateListener and ModifyListener send: the trust store and its options in `verify` mode
/// only (ELBv2 refuses them in the others).
pub(crate) fn mutual_authentication(m: &MutualAuthentication) -> elb::MutualAuthenticationAttributes {
    let verify = m.mode == MutualTlsMode::Verify;
    elb::MutualAuthenticationAttributes::builder()
        .mode(m.mode.as_str())
        .set_trust_store_arn(m.trust_store.clone().filter(|_| verify))
        .set_ignore_client_certificate_expiry(verify.then_some(m.ignore_client_certificate_expiry))
        .set_advertise_trust_store_ca_names(verify.then_some(if m.advertise_trust_store_ca_names {
            elb::AdvertiseTrustStoreCaNamesEnum::On
        } else {
            elb::AdvertiseTrustStoreCaNamesEnum::Off
        }))
        .build()
}

/// What DescribeListeners reports; an unknown mode is left out (the planner then sets the
/// desired one).
fn from_mutual_authentication(m: &elb::MutualAuthenticationAttributes) -> Option<MutualAuthentication> {
    let mode = MutualTlsMode::parse(m.mode()?)?;
    let verify = mode == MutualTlsMode::Verify;
    Some(MutualAuthentication {
        mode,
        trust_store: m.trust_store_arn().filter(|_| verify).map(str::to_string),
        ignore_client_certificate_expiry: verify && m.ignore_client_certificate_expiry().unwrap_or(false),
        advertise_trust_store_ca_names: verify
            && m.advertise_trust_store_ca_names() == Some(&elb::AdvertiseTrustStoreCaNamesEnum::On),
    })
}
