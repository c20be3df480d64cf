//! Listeners and listener rules of the fake ELBv2, and the bookkeeping of which target groups they
//! forward to (a forwarded-to target group is in use, and serves one network load balancer only).

use std::collections::BTreeSet;

use elbow_model::{
    Action, AlpnPolicy, Attributes, IpAddressType, LoadBalancerType, Protocol, RuleCondition, RuleTransform,
    TransformKind,
};

use super::actions::{check_actions, reported, secrets};
use super::certificates::{check_certificate_allowed, check_one_certificate};
use super::{Elbv2, fail, lb_not_found, listener_not_found, rule_not_found, tg_not_found};
use crate::names::arn;
use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudErrorKind, CloudResult};
use elbow_cloud::types::*;

const MAX_LISTENERS_PER_LB: usize = 50;
/// Not counting the default rule.
const MAX_RULES_PER_LISTENER: usize = 100;
const MAX_TARGET_GROUPS_PER_ACTION: usize = 5;
const PRIORITIES: std::ops::RangeInclusive<u32> = 1..=50_000;

impl Elbv2 {
    pub(crate) fn describe_listeners(&self, api: Api, lb: &str) -> CloudResult<Vec<Listener>> {
        if !self.load_balancers.contains_key(lb) {
            return Err(lb_not_found(api, lb));
        }
        let arns = self.lb_listeners.get(lb).into_iter().flatten();
        Ok(arns.filter_map(|arn| self.listeners.get(arn).map(reported_listener)).collect())
    }

    /// The listener's rules by priority, then its default rule, as AWS lists them.
    pub(crate) fn describe_rules(&self, api: Api, listener_arn: &str) -> CloudResult<Vec<Rule>> {
        let listener = self.listeners.get(listener_arn).ok_or_else(|| listener_not_found(api, listener_arn))?;
        let mut rules = self.reported_rules_of(listener_arn);
        rules.push(Rule {
            arn: self.default_rules.get(listener_arn).cloned().unwrap_or_default(),
            priority: None,
            conditions: Vec::new(),
            actions: reported(&listener.default_actions),
            transforms: Vec::new(),
        });
        Ok(rules)
    }

    /// [`Elbv2::rules_of`] as AWS reports them: without client secrets.
    pub(crate) fn reported_rules_of(&self, listener_arn: &str) -> Vec<Rule> {
        let mut rules = self.rules_of(listener_arn);
        for rule in &mut rules {
            rule.actions = reported(&rule.actions);
        }
        rules
    }

    /// The client secrets a listener's default actions or a rule's actions were given, by ARN.
    pub(crate) fn client_secrets(&self, arn: &str) -> Vec<String> {
        match (self.listeners.get(arn), self.rules.get(arn)) {
            (Some(listener), _) => secrets(&listener.default_actions),
            (None, Some((_, rule))) => secrets(&rule.actions),
            (None, None) => Vec::new(),
        }
    }

    /// A listener's rules (not the default one), by priority.
    pub(crate) fn rules_of(&self, listener_arn: &str) -> Vec<Rule> {
        let arns = self.listener_rules.get(listener_arn).into_iter().flatten();
        let mut rules: Vec<Rule> = arns.filter_map(|arn| self.rules.get(arn).map(|(_, rule)| rule.clone())).collect();
        rules.sort_by_key(|r| r.priority);
        rules
    }

    pub(crate) fn listeners(&self) -> Vec<Listener> {
        self.listeners.values().map(reported_listener).collect()
    }

    /// Target groups forwarded to by the load balancer's listeners and rules.
    pub(crate) fn target_groups_of_load_balancer(&self, lb: &str) -> BTreeSet<Arn> {
        let mut found = BTreeSet::new();
        for listener_arn in self.lb_listeners.get(lb).into_iter().flatten() {
            if let Some(listener) = self.listeners.get(listener_arn) {
                found.extend(forwarded(&listener.default_actions).cloned());
            }
            for rule_arn in self.listener_rules.get(listener_arn).into_iter().flatten() {
                if let Some((_, rule)) = self.rules.get(rule_arn) {
                    found.extend(forwarded(&rule.actions).cloned());
                }
            }
        }
        found
    }

    // ---- listeners ----

    /// A listener on a port that is taken returns the existing listener when the settings are the
    /// same (AWS's idempotency) and fails as a duplicate otherwise.
    pub(crate) fn create_listener(&mut self, api: Api, input: CreateListener) -> CloudResult<Listener> {
        check_one_certificate(api, &input.certificates)?;
        let lb = self
            .load_balancers
            .get(&input.load_balancer_arn)
            .ok_or_else(|| lb_not_found(api, &input.load_balancer_arn))?;
        let (lb_arn, lb_type) = (lb.arn.clone(), lb.lb_type);
        let on_lb = self.lb_listeners.get(&lb_arn).cloned().unwrap_or_default();
        if let Some(existing) = on_lb.iter().filter_map(|a| self.listeners.get(a)).find(|l| l.port == input.port) {
            let same = existing.protocol == input.protocol
                && existing.default_actions == input.default_actions
                && existing.certificates == input.certificates
                && existing.ssl_policy == input.ssl_policy
                && existing.alpn_policy == input.alpn_policy
                && existing.mutual_authentication == input.mutual_authentication;
            return if same {
                Ok(reported_listener(existing))
            } else {
                Err(fail(
                    api,
                    CloudErrorKind::Duplicate,
                    "DuplicateListener",
                    format!("a listener already exists on port {}", input.port),
                ))
            };
        }
        if on_lb.len() >= MAX_LISTENERS_PER_LB {
            return Err(fail(
                api,
                CloudErrorKind::LimitExceeded,
                "TooManyListeners",
                format!("you've reached the limit of {MAX_LISTENERS_PER_LB} listeners per load balancer"),
            ));
        }
        check_protocol(api, lb_type, input.protocol, &input.certificates)?;
        self.check_quic(api, &lb_arn, input.protocol, &input.default_actions, None)?;
        check_alpn(api, input.protocol, input.alpn_policy)?;
        self.check_mutual_authentication(api, input.protocol, input.mutual_authentication.as_ref())?;
        check_actions(api, input.protocol, &input.default_actions)?;
        self.check_forwards(api, &lb_arn, &input.default_actions, None)?;
        let id = self.next_id();
        let lb_path = lb_arn.split_once(":loadbalancer/").map(|(_, p)| p.to_string()).unwrap_or_default();
        let arn = arn(&format!("listener/{lb_path}/{id}"));
        let default_rule_id = self.next_id();
        let listener = Listener {
            arn: arn.clone(),
            load_balancer_arn: lb_arn.clone(),
            port: input.port,
            protocol: input.protocol,
            certificates: input.certificates,
            ssl_policy: input.ssl_policy,
            alpn_policy: input.alpn_policy,
            mutual_authentication: input.mutual_authentication,
            default_actions: input.default_actions,
        };
        self.attach(&arn, &lb_arn, &listener.default_actions);
        self.default_rules.insert(arn.clone(), rule_arn(&arn, &default_rule_id));
        self.lb_listeners.entry(lb_arn).or_default().insert(arn.clone());
        self.tags.insert(arn.clone(), input.tags);
        self.listener_attributes.insert(arn.clone(), default_listener_attributes(input.protocol));
        let answer = reported_listener(&listener);
        self.listeners.insert(arn, listener);
        Ok(answer)
    }

    pub(crate) fn modify_listener(&mut self, api: Api, input: ModifyListener) -> CloudResult<()> {
        check_one_certificate(api, &input.certificates)?;
        let listener = self.listeners.get(&input.arn).ok_or_else(|| listener_not_found(api, &input.arn))?;
        let lb_arn = listener.load_balancer_arn.clone();
        let old_actions = listener.default_actions.clone();
        if input.port != listener.port {
            let siblings = self.lb_listeners.get(&lb_arn).into_iter().flatten();
            if siblings.filter_map(|a| self.listeners.get(a)).any(|l| l.port == input.port) {
                return Err(fail(
                    api,
                    CloudErrorKind::Duplicate,
                    "DuplicateListener",
                    format!("a listener already exists on port {}", input.port),
                ));
            }
        }
        if listener.protocol.is_quic() && input.port != listener.port {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "InvalidConfigurationRequest",
                "the port of a QUIC or TCP_QUIC listener cannot be changed",
            ));
        }
        let lb_type = self.load_balancers.get(&lb_arn).map(|lb| lb.lb_type).unwrap_or(LoadBalancerType::Network);
        check_protocol(api, lb_type, input.protocol, &input.certificates)?;
        self.check_quic(api, &lb_arn, input.protocol, &input.default_actions, Some(&input.arn))?;
        check_alpn(api, input.protocol, input.alpn_policy)?;
        self.check_mutual_authentication(api, input.protocol, input.mutual_authentication.as_ref())?;
        check_actions(api, input.protocol, &input.default_actions)?;
        self.check_forwards(api, &lb_arn, &input.default_actions, Some(&input.arn))?;
        self.detach(&input.arn, &old_actions);
        self.attach(&input.arn, &lb_arn, &input.default_actions);
        if let Some(listener) = self.listeners.get_mut(&input.arn) {
            listener.port = input.port;
            listener.protocol = input.protocol;
            listener.certificates = input.certificates;
            listener.ssl_policy = input.ssl_policy;
            // Left out of a ModifyListener, the policy stays as it was, as on AWS.
            if input.alpn_policy.is_some() {
                listener.alpn_policy = input.alpn_policy;
            }
            // Left out, mutual TLS stays as it was; a listener that is no longer HTTPS has none.
            if input.protocol != Protocol::Https {
                listener.mutual_authentication = None;
            } else if input.mutual_authentication.is_some() {
                listener.mutual_authentication = input.mutual_authentication;
            }
            listener.default_actions = input.default_actions;
        }
        Ok(())
    }

    pub(crate) fn listener_attributes(&self, api: Api, arn: &str) -> CloudResult<Attributes> {
        self.listener_attributes.get(arn).cloned().ok_or_else(|| listener_not_found(api, arn))
    }

    /// What ELBv2 takes: `tcp.idle_timeout.seconds` (60 to 6000) on a TCP listener, the
    /// `routing.http.` ones on HTTP and HTTPS listeners; anything else fails the whole request.
    pub(crate) fn modify_listener_attributes(
        &mut self,
        api: Api,
        arn: &str,
        attributes: &Attributes,
    ) -> CloudResult<()> {
        let listener = self.listeners.get(arn).ok_or_else(|| listener_not_found(api, arn))?;
        for (key, value) in attributes {
            let valid = match (listener.protocol, key.as_str()) {
                (Protocol::Tcp, "tcp.idle_timeout.seconds") => {
                    value.parse::<u32>().is_ok_and(|s| (60..=6000).contains(&s))
                }
                (Protocol::Http | Protocol::Https, key) => key.starts_with("routing.http."),
                _ => false,
            };
            if !valid {
                return Err(fail(
                    api,
                    CloudErrorKind::InvalidRequest,
                    "ValidationError",
                    format!(
                        "listener attribute {key}={value} is not valid for a {} listener",
                        listener.protocol.as_str()
                    ),
                ));
            }
        }
        let current = self.listener_attributes.entry(arn.to_string()).or_default();
        current.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }

    pub(crate) fn delete_listener(&mut self, api: Api, arn: &str) -> CloudResult<()> {
        let lb_arn = self.listeners.get(arn).ok_or_else(|| listener_not_found(api, arn))?.load_balancer_arn.clone();
        if let Some(on_lb) = self.lb_listeners.get_mut(&lb_arn) {
            on_lb.remove(arn);
        }
        self.remove_listener(arn);
        Ok(())
    }

    /// Removes a listener with its rules; the caller has already unlinked it from its load balancer.
    pub(super) fn remove_listener(&mut self, arn: &str) {
        for rule in self.listener_rules.remove(arn).unwrap_or_default() {
            if let Some((_, removed)) = self.rules.remove(&rule) {
                self.detach(&rule, &removed.actions);
            }
            self.tags.remove(&rule);
        }
        if let Some(listener) = self.listeners.remove(arn) {
            self.detach(arn, &listener.default_actions);
        }
        self.default_rules.remove(arn);
        self.certificate_lists.remove(arn);
        self.listener_attributes.remove(arn);
        self.tags.remove(arn);
    }

    // ---- rules ----

    pub(crate) fn create_rule(&mut self, api: Api, input: CreateRule) -> CloudResult<Rule> {
        let listener =
            self.listeners.get(&input.listener_arn).ok_or_else(|| listener_not_found(api, &input.listener_arn))?;
        let (lb_arn, protocol) = (listener.load_balancer_arn.clone(), listener.protocol);
        if self.load_balancers.get(&lb_arn).is_some_and(|lb| lb.lb_type != LoadBalancerType::Application) {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "InvalidConfigurationRequest",
                "only listeners of application load balancers have rules",
            ));
        }
        check_priority(api, input.priority)?;
        let siblings = self.rules_of(&input.listener_arn);
        if siblings.iter().any(|r| r.priority == Some(input.priority)) {
            return Err(fail(
                api,
                CloudErrorKind::Duplicate,
                "PriorityInUse",
                format!("priority '{}' is currently in use", input.priority),
            ));
        }
        if siblings.len() >= MAX_RULES_PER_LISTENER {
            return Err(fail(
                api,
                CloudErrorKind::LimitExceeded,
                "TooManyRules",
                format!("you've reached the limit of {MAX_RULES_PER_LISTENER} rules per listener"),
            ));
        }
        check_conditions(api, &input.conditions)?;
        check_transforms(api, &input.transforms)?;
        check_actions(api, protocol, &input.actions)?;
        self.check_forwards(api, &lb_arn, &input.actions, None)?;
        let id = self.next_id();
        let arn = rule_arn(&input.listener_arn, &id);
        let rule = Rule {
            arn: arn.clone(),
            priority: Some(input.priority),
            conditions: input.conditions,
            actions: input.actions,
            transforms: input.transforms,
        };
        self.attach(&arn, &lb_arn, &rule.actions);
        self.listener_rules.entry(input.listener_arn.clone()).or_default().insert(arn.clone());
        self.tags.insert(arn.clone(), input.tags);
        let answer = Rule { actions: reported(&rule.actions), ..rule.clone() };
        self.rules.insert(arn, (input.listener_arn, rule));
        Ok(answer)
    }

    pub(crate) fn modify_rule(&mut self, api: Api, input: ModifyRule) -> CloudResult<()> {
        let (listener, rule) = self.rules.get(&input.arn).ok_or_else(|| rule_not_found(api, &input.arn))?;
        let old_actions = rule.actions.clone();
        let listener = self.listeners.get(listener);
        let lb_arn = listener.map(|l| l.load_balancer_arn.clone()).unwrap_or_default();
        check_conditions(api, &input.conditions)?;
        check_transforms(api, &input.transforms)?;
        check_actions(api, listener.map_or(Protocol::Http, |l| l.protocol), &input.actions)?;
        self.check_forwards(api, &lb_arn, &input.actions, Some(&input.arn))?;
        self.detach(&input.arn, &old_actions);
        self.attach(&input.arn, &lb_arn, &input.actions);
        if let Some((_, rule)) = self.rules.get_mut(&input.arn) {
            rule.conditions = input.conditions;
            rule.actions = input.actions;
            rule.transforms = input.transforms;
        }
        Ok(())
    }

    pub(crate) fn delete_rule(&mut self, api: Api, arn: &str) -> CloudResult<()> {
        let (listener, rule) = self.rules.remove(arn).ok_or_else(|| rule_not_found(api, arn))?;
        if let Some(siblings) = self.listener_rules.get_mut(&listener) {
            siblings.remove(arn);
        }
        self.detach(arn, &rule.actions);
        self.tags.remove(arn);
        Ok(())
    }

    // ---- target group associations ----

    /// Every forwarded-to target group must exist, and a target group of a network load balancer
    /// may not serve a second load balancer. `replacing` is the listener or rule being modified,
    /// whose current forwards do not count against it.
    fn check_forwards(
        &self,
        api: Api,
        lb_arn: &str,
        actions: &[Action<Arn>],
        replacing: Option<&str>,
    ) -> CloudResult<()> {
        for action in actions {
            // AWS takes stickiness durations of 1 s to 7 days, and needs one with stickiness on.
            if let Action::Forward { stickiness: Some(stickiness), .. } = action {
                let duration_ok = match stickiness.duration_seconds {
                    Some(seconds) => (1..=604_800).contains(&seconds),
                    None => !stickiness.enabled,
                };
                if !duration_ok {
                    return Err(fail(
                        api,
                        CloudErrorKind::InvalidRequest,
                        "ValidationError",
                        "target group stickiness needs a duration of 1 to 604800 seconds",
                    ));
                }
            }
            if let Action::Forward { target_groups, .. } = action
                && target_groups.len() > MAX_TARGET_GROUPS_PER_ACTION
            {
                return Err(fail(
                    api,
                    CloudErrorKind::LimitExceeded,
                    "TooManyTargetGroups",
                    format!("a forward action takes at most {MAX_TARGET_GROUPS_PER_ACTION} target groups"),
                ));
            }
        }
        for tg_arn in forwarded(actions) {
            if !self.target_groups.contains_key(tg_arn) {
                return Err(tg_not_found(api, tg_arn));
            }
            let other_lb = self
                .tg_users
                .get(tg_arn)
                .is_some_and(|users| users.iter().any(|(user, lb)| lb != lb_arn && Some(user.as_str()) != replacing));
            if other_lb {
                return Err(fail(
                    api,
                    CloudErrorKind::InvalidRequest,
                    "TargetGroupAssociationLimit",
                    format!("target group '{tg_arn}' is already associated with another load balancer"),
                ));
            }
        }
        Ok(())
    }

    /// ELBv2's rules for QUIC listeners: only on a load balancer without security groups that is
    /// not dualstack, at most one per load balancer, none beside a UDP or TCP_UDP listener, and
    /// forwarding to target groups of its own protocol (a UDP or TCP_UDP listener to none of
    /// QUIC's). `replacing` is the listener being modified, whose old protocol does not count.
    fn check_quic(
        &self,
        api: Api,
        lb_arn: &str,
        protocol: Protocol,
        actions: &[Action<Arn>],
        replacing: Option<&str>,
    ) -> CloudResult<()> {
        let refuse =
            |message: String| Err(fail(api, CloudErrorKind::InvalidRequest, "InvalidConfigurationRequest", message));
        let others: Vec<Protocol> = self
            .lb_listeners
            .get(lb_arn)
            .into_iter()
            .flatten()
            .filter(|arn| Some(arn.as_str()) != replacing)
            .filter_map(|arn| self.listeners.get(arn))
            .map(|l| l.protocol)
            .collect();
        let udp = |p: &Protocol| matches!(p, Protocol::Udp | Protocol::TcpUdp);
        if protocol.is_quic() {
            let lb = self.load_balancers.get(lb_arn);
            if lb.is_some_and(|lb| !lb.security_groups.is_empty()) {
                return refuse(
                    "QUIC and TCP_QUIC listeners are not allowed on load balancers with associated security groups"
                        .into(),
                );
            }
            if lb.is_some_and(|lb| lb.ip_address_type == IpAddressType::Dualstack) {
                return refuse("QUIC and TCP_QUIC listeners are not allowed on dualstack load balancers".into());
            }
            if others.iter().any(|p| p.is_quic()) {
                return refuse("only one QUIC or TCP_QUIC listener is allowed on a load balancer".into());
            }
            if others.iter().any(udp) {
                return refuse(
                    "QUIC and TCP_QUIC listeners are not allowed on a load balancer that has UDP or TCP_UDP listeners"
                        .into(),
                );
            }
        } else if udp(&protocol) && others.iter().any(|p| p.is_quic()) {
            return refuse(
                "UDP and TCP_UDP listeners are not allowed on a load balancer that has a QUIC or TCP_QUIC listener"
                    .into(),
            );
        }
        for tg_arn in forwarded(actions) {
            let Some(tg) = self.target_groups.get(tg_arn) else { continue };
            if (protocol.is_quic() || tg.protocol.is_quic()) && tg.protocol != protocol {
                return refuse(format!(
                    "a {} listener cannot forward to target group '{tg_arn}' of protocol {}",
                    protocol.as_str(),
                    tg.protocol.as_str()
                ));
            }
        }
        Ok(())
    }

    fn attach(&mut self, user: &str, lb_arn: &str, actions: &[Action<Arn>]) {
        for tg_arn in forwarded(actions) {
            self.tg_users.entry(tg_arn.clone()).or_default().insert(user.to_string(), lb_arn.to_string());
            self.refresh_tg_lbs(tg_arn);
        }
    }

    /// `actions` are the user's current actions: only the target groups they name are touched.
    fn detach(&mut self, user: &str, actions: &[Action<Arn>]) {
        for tg_arn in forwarded(actions) {
            if let Some(users) = self.tg_users.get_mut(tg_arn) {
                users.remove(user);
            }
            self.refresh_tg_lbs(tg_arn);
        }
    }

    fn refresh_tg_lbs(&mut self, tg_arn: &str) {
        let lbs: BTreeSet<Arn> = self.tg_users.get(tg_arn).map(|u| u.values().cloned().collect()).unwrap_or_default();
        if let Some(tg) = self.target_groups.get_mut(tg_arn) {
            tg.load_balancer_arns = lbs.into_iter().collect();
        }
    }
}

/// A listener as AWS reports it: its default actions without client secrets.
fn reported_listener(listener: &Listener) -> Listener {
    Listener { default_actions: reported(&listener.default_actions), ..listener.clone() }
}

fn forwarded(actions: &[Action<Arn>]) -> impl Iterator<Item = &Arn> {
    actions.iter().flat_map(|action| match action {
        Action::Forward { target_groups, .. } => target_groups.iter().map(|w| &w.target_group).collect::<Vec<_>>(),
        _ => Vec::new(),
    })
}

/// AWS takes at most one host-header and one path-pattern condition per rule, each matching by
/// values or by regular expressions, so a host (or path) cannot be matched both ways at once.
fn check_conditions(api: Api, conditions: &[RuleCondition]) -> CloudResult<()> {
    let count = |field: fn(&RuleCondition) -> bool| conditions.iter().filter(|c| field(c)).count();
    let hosts = count(|c| matches!(c, RuleCondition::HostHeader(_) | RuleCondition::HostHeaderRegex(_)));
    let paths = count(|c| matches!(c, RuleCondition::PathPattern(_) | RuleCondition::PathPatternRegex(_)));
    for (field, found) in [("host-header", hosts), ("path-pattern", paths)] {
        if found > 1 {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "ValidationError",
                format!("a rule can have at most one '{field}' condition"),
            ));
        }
    }
    Ok(())
}

/// The longest regular expression or replacement AWS takes in a rewrite.
const MAX_REWRITE_LENGTH: usize = 1024;

/// AWS takes one host header rewrite and one URL rewrite transform per rule, each with exactly
/// one rewrite whose regular expression and replacement are at most 1,024 characters.
fn check_transforms(api: Api, transforms: &[RuleTransform]) -> CloudResult<()> {
    let invalid = |message: String| fail(api, CloudErrorKind::InvalidRequest, "ValidationError", message);
    for kind in [TransformKind::HostHeaderRewrite, TransformKind::UrlRewrite] {
        if transforms.iter().filter(|t| t.kind == kind).count() > 1 {
            return Err(invalid(format!("a rule can have at most one '{}' transform", kind.as_str())));
        }
    }
    for transform in transforms {
        if transform.rewrites.len() != 1 {
            return Err(invalid(format!("a '{}' transform takes exactly one rewrite", transform.kind.as_str())));
        }
        for rewrite in &transform.rewrites {
            if rewrite.regex.is_empty()
                || rewrite.regex.len() > MAX_REWRITE_LENGTH
                || rewrite.replace.len() > MAX_REWRITE_LENGTH
            {
                return Err(invalid(format!(
                    "a rewrite takes a regex of 1 to {MAX_REWRITE_LENGTH} characters and a replace of at most {MAX_REWRITE_LENGTH}"
                )));
            }
        }
    }
    Ok(())
}

/// `listener-rule/<lb type>/<lb name>/<lb id>/<listener id>/<rule id>`.
fn rule_arn(listener_arn: &str, id: &str) -> Arn {
    format!("{}/{id}", listener_arn.replacen(":listener/", ":listener-rule/", 1))
}

/// NLB listeners speak TCP, UDP, TCP_UDP, TLS, QUIC or TCP_QUIC; ALB listeners HTTP or HTTPS; TLS and HTTPS need
/// a certificate, and the others take none.
fn check_protocol(api: Api, lb_type: LoadBalancerType, protocol: Protocol, certificates: &[String]) -> CloudResult<()> {
    let allowed = match lb_type {
        LoadBalancerType::Network => {
            matches!(
                protocol,
                Protocol::Tcp | Protocol::Udp | Protocol::TcpUdp | Protocol::Tls | Protocol::Quic | Protocol::TcpQuic
            )
        }
        LoadBalancerType::Application => matches!(protocol, Protocol::Http | Protocol::Https),
    };
    if !allowed {
        return Err(fail(
            api,
            CloudErrorKind::InvalidRequest,
            "InvalidConfigurationRequest",
            format!("protocol {} is not supported by a {} load balancer", protocol.as_str(), lb_type.as_str()),
        ));
    }
    check_certificate_allowed(api, protocol, certificates)?;
    if matches!(protocol, Protocol::Tls | Protocol::Https) && certificates.is_empty() {
        return Err(fail(
            api,
            CloudErrorKind::InvalidRequest,
            "ValidationError",
            "a certificate must be specified for a TLS or HTTPS listener",
        ));
    }
    Ok(())
}

fn check_priority(api: Api, priority: u32) -> CloudResult<()> {
    if PRIORITIES.contains(&priority) {
        Ok(())
    } else {
        Err(fail(
            api,
            CloudErrorKind::InvalidRequest,
            "ValidationError",
            format!("priority {priority} is not between 1 and 50000"),
        ))
    }
}

/// What DescribeListenerAttributes reports for a new listener.
fn default_listener_attributes(protocol: Protocol) -> Attributes {
    let pairs: &[(&str, &str)] = match protocol {
        Protocol::Tcp => &[("tcp.idle_timeout.seconds", "350")],
        Protocol::Http | Protocol::Https => &[("routing.http.response.server.enabled", "true")],
        _ => &[],
    };
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// ELBv2 takes an ALPN policy on TLS listeners only.
fn check_alpn(api: Api, protocol: Protocol, policy: Option<AlpnPolicy>) -> CloudResult<()> {
    match policy {
        Some(policy) if protocol != Protocol::Tls => Err(fail(
            api,
            CloudErrorKind::InvalidRequest,
            "ValidationError",
            format!("ALPN policy {} is for TLS listeners only, not {}", policy.as_str(), protocol.as_str()),
        )),
        _ => Ok(()),
    }
}
