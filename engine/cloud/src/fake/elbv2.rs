//! The fake's ELBv2: load balancers, target groups, listeners, rules, targets, tags and
//! attributes, with the rules AWS enforces that the deployer must live with.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use elbow_model::{Action, Attributes, HealthCheck, Tags, Target, TargetType};

use super::names::{REGION, arn, hex_id, validate_elb_name};
use crate::api::Api;
use crate::error::{CloudError, CloudErrorKind, CloudResult};
use crate::types::*;

const MAX_LISTENERS_PER_LB: usize = 50;
const MAX_RULES_PER_LISTENER: usize = 100;
const MAX_TARGETS_PER_TG: usize = 1000;

fn fail(api: Api, kind: CloudErrorKind, code: &str, message: impl Into<String>) -> CloudError {
    CloudError::new(api, kind, code, message)
}

#[derive(Debug, Default)]
pub(crate) struct Elbv2 {
    next: u64,
    load_balancers: BTreeMap<Arn, LoadBalancer>,
    lb_attributes: HashMap<Arn, Attributes>,
    lb_by_name: HashMap<String, Arn>,
    target_groups: BTreeMap<Arn, TargetGroup>,
    tg_attributes: HashMap<Arn, Attributes>,
    tg_by_name: HashMap<String, Arn>,
    targets: HashMap<Arn, BTreeSet<Target>>,
    listeners: BTreeMap<Arn, Listener>,
    /// Rules by ARN, with the listener they belong to.
    rules: BTreeMap<Arn, (Arn, Rule)>,
    tags: HashMap<Arn, Tags>,
    /// Which listeners and rules forward to a target group, and their load balancer: a target
    /// group in use cannot be deleted, and belongs to at most one network load balancer.
    tg_users: HashMap<Arn, BTreeMap<Arn, Arn>>,
}

impl Elbv2 {
    fn next_id(&mut self) -> String {
        self.next += 1;
        hex_id(self.next)
    }

    // ---- describe ----

    pub(crate) fn describe_load_balancers(
        &mut self,
        api: Api,
        filter: &LoadBalancerFilter,
    ) -> CloudResult<Vec<LoadBalancer>> {
        let arns: Vec<Arn> = match filter {
            LoadBalancerFilter::All => self.load_balancers.keys().cloned().collect(),
            LoadBalancerFilter::Names(names) => names.iter().filter_map(|n| self.lb_by_name.get(n).cloned()).collect(),
            LoadBalancerFilter::Arns(arns) => {
                if let Some(missing) = arns.iter().find(|a| !self.load_balancers.contains_key(*a)) {
                    return Err(fail(
                        api,
                        CloudErrorKind::NotFound,
                        "LoadBalancerNotFound",
                        format!("{missing} not found"),
                    ));
                }
                arns.clone()
            }
        };
        let mut found = Vec::with_capacity(arns.len());
        for arn in &arns {
            if let Some(lb) = self.load_balancers.get_mut(arn) {
                // Like moto: a new load balancer is provisioning until it is first described.
                found.push(lb.clone());
                lb.state = "active".to_string();
            }
        }
        Ok(found)
    }

    pub(crate) fn load_balancer_attributes(&self, api: Api, arn: &str) -> CloudResult<Attributes> {
        self.lb_attributes.get(arn).cloned().ok_or_else(|| lb_not_found(api, arn))
    }

    pub(crate) fn describe_target_groups(&self, api: Api, filter: &TargetGroupFilter) -> CloudResult<Vec<TargetGroup>> {
        let arns: Vec<Arn> = match filter {
            TargetGroupFilter::All => self.target_groups.keys().cloned().collect(),
            TargetGroupFilter::Names(names) => names.iter().filter_map(|n| self.tg_by_name.get(n).cloned()).collect(),
            TargetGroupFilter::Arns(arns) => {
                if let Some(missing) = arns.iter().find(|a| !self.target_groups.contains_key(*a)) {
                    return Err(tg_not_found(api, missing));
                }
                arns.clone()
            }
            TargetGroupFilter::LoadBalancer(lb) => {
                if !self.load_balancers.contains_key(lb) {
                    return Err(lb_not_found(api, lb));
                }
                self.target_groups
                    .values()
                    .filter(|tg| tg.load_balancer_arns.contains(lb))
                    .map(|tg| tg.arn.clone())
                    .collect()
            }
        };
        Ok(arns.iter().filter_map(|arn| self.target_groups.get(arn).cloned()).collect())
    }

    pub(crate) fn target_group_attributes(&self, api: Api, arn: &str) -> CloudResult<Attributes> {
        self.tg_attributes.get(arn).cloned().ok_or_else(|| tg_not_found(api, arn))
    }

    pub(crate) fn target_health(&self, api: Api, arn: &str) -> CloudResult<Vec<TargetHealth>> {
        let targets = self.targets.get(arn).ok_or_else(|| tg_not_found(api, arn))?;
        // No data plane: every registered target is healthy, as on moto.
        Ok(targets.iter().map(|t| TargetHealth { target: t.clone(), state: "healthy".to_string() }).collect())
    }

    pub(crate) fn describe_listeners(&self, api: Api, lb: &str) -> CloudResult<Vec<Listener>> {
        if !self.load_balancers.contains_key(lb) {
            return Err(lb_not_found(api, lb));
        }
        Ok(self.listeners.values().filter(|l| l.load_balancer_arn == lb).cloned().collect())
    }

    pub(crate) fn describe_rules(&self, api: Api, listener: &str) -> CloudResult<Vec<Rule>> {
        let listener = self.listeners.get(listener).ok_or_else(|| listener_not_found(api, listener))?;
        let mut rules: Vec<Rule> =
            self.rules.values().filter(|(owner, _)| *owner == listener.arn).map(|(_, rule)| rule.clone()).collect();
        rules.sort_by_key(|r| r.priority);
        // The default rule, as AWS lists it last.
        rules.push(Rule {
            arn: format!("{}/default", listener.arn.replace(":listener/", ":listener-rule/")),
            priority: None,
            conditions: Vec::new(),
            actions: listener.default_actions.clone(),
        });
        Ok(rules)
    }

    pub(crate) fn tags_of(&self, arns: &[Arn]) -> BTreeMap<Arn, Tags> {
        arns.iter().filter_map(|arn| self.tags.get(arn).map(|tags| (arn.clone(), tags.clone()))).collect()
    }

    // ---- load balancers ----

    pub(crate) fn create_load_balancer(
        &mut self,
        api: Api,
        input: CreateLoadBalancer,
        vpc_id: String,
    ) -> CloudResult<LoadBalancer> {
        validate_elb_name(api, &input.name)?;
        let mut subnets = input.subnets.clone();
        subnets.sort();
        let mut security_groups = input.security_groups.clone();
        security_groups.sort();
        if let Some(existing) = self.lb_by_name.get(&input.name).and_then(|arn| self.load_balancers.get(arn)) {
            // AWS answers a repeated create with identical settings with the existing load balancer.
            let same = existing.lb_type == input.lb_type
                && existing.scheme == input.scheme
                && existing.subnets == subnets
                && existing.security_groups == security_groups;
            return if same {
                Ok(existing.clone())
            } else {
                Err(fail(
                    api,
                    CloudErrorKind::Duplicate,
                    "DuplicateLoadBalancerName",
                    format!("a load balancer named {} already exists", input.name),
                ))
            };
        }
        if subnets.is_empty() {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "ValidationError",
                "at least one subnet is required",
            ));
        }
        let id = self.next_id();
        let kind = match input.lb_type {
            elbow_model::LoadBalancerType::Network => "net",
            elbow_model::LoadBalancerType::Application => "app",
        };
        let arn = arn(&format!("loadbalancer/{kind}/{}/{id}", input.name));
        let prefix = if input.scheme == elbow_model::Scheme::Internal { "internal-" } else { "" };
        let dns_name = format!("{prefix}{}-{}.elb.{REGION}.amazonaws.com", input.name, &id[..10]).to_lowercase();
        let lb = LoadBalancer {
            arn: arn.clone(),
            name: input.name.clone(),
            dns_name,
            lb_type: input.lb_type,
            scheme: input.scheme,
            ip_address_type: input.ip_address_type,
            vpc_id,
            state: "provisioning".to_string(),
            subnets,
            security_groups,
        };
        self.lb_by_name.insert(input.name, arn.clone());
        self.lb_attributes.insert(arn.clone(), default_lb_attributes(input.lb_type));
        self.tags.insert(arn.clone(), input.tags);
        self.load_balancers.insert(arn, lb.clone());
        Ok(lb)
    }

    pub(crate) fn delete_load_balancer(&mut self, arn: &str) {
        // Deleting a load balancer that does not exist succeeds, as on AWS.
        let Some(lb) = self.load_balancers.remove(arn) else { return };
        self.lb_by_name.remove(&lb.name);
        self.lb_attributes.remove(arn);
        self.tags.remove(arn);
        let listeners: Vec<Arn> =
            self.listeners.values().filter(|l| l.load_balancer_arn == arn).map(|l| l.arn.clone()).collect();
        for listener in listeners {
            self.remove_listener(&listener);
        }
    }

    pub(crate) fn load_balancer_mut(&mut self, api: Api, arn: &str) -> CloudResult<&mut LoadBalancer> {
        self.load_balancers.get_mut(arn).ok_or_else(|| lb_not_found(api, arn))
    }

    pub(crate) fn load_balancers_using_security_group(&self, group_id: &str) -> bool {
        self.load_balancers.values().any(|lb| lb.security_groups.iter().any(|g| g == group_id))
    }

    pub(crate) fn modify_load_balancer_attributes(
        &mut self,
        api: Api,
        arn: &str,
        attributes: &Attributes,
    ) -> CloudResult<()> {
        let current = self.lb_attributes.get_mut(arn).ok_or_else(|| lb_not_found(api, arn))?;
        current.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }

    // ---- target groups ----

    pub(crate) fn create_target_group(&mut self, api: Api, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        validate_elb_name(api, &input.name)?;
        if let Some(existing) = self.tg_by_name.get(&input.name).and_then(|arn| self.target_groups.get(arn)) {
            let same = existing.protocol == input.protocol
                && existing.port == input.port
                && existing.target_type == input.target_type
                && existing.vpc_id == input.vpc_id
                && existing.health_check == input.health_check;
            return if same {
                Ok(existing.clone())
            } else {
                Err(fail(
                    api,
                    CloudErrorKind::Duplicate,
                    "DuplicateTargetGroupName",
                    format!("a target group named {} already exists", input.name),
                ))
            };
        }
        let id = self.next_id();
        let arn = arn(&format!("targetgroup/{}/{id}", input.name));
        let tg = TargetGroup {
            arn: arn.clone(),
            name: input.name.clone(),
            target_type: input.target_type,
            protocol: input.protocol,
            port: input.port,
            vpc_id: input.vpc_id,
            ip_address_type: input.ip_address_type,
            health_check: input.health_check,
            load_balancer_arns: Vec::new(),
        };
        self.tg_by_name.insert(input.name, arn.clone());
        self.tg_attributes.insert(arn.clone(), default_tg_attributes());
        self.targets.insert(arn.clone(), BTreeSet::new());
        self.tags.insert(arn.clone(), input.tags);
        self.target_groups.insert(arn, tg.clone());
        Ok(tg)
    }

    pub(crate) fn modify_target_group(&mut self, api: Api, arn: &str, health_check: &HealthCheck) -> CloudResult<()> {
        let tg = self.target_groups.get_mut(arn).ok_or_else(|| tg_not_found(api, arn))?;
        tg.health_check = health_check.clone();
        Ok(())
    }

    pub(crate) fn modify_target_group_attributes(
        &mut self,
        api: Api,
        arn: &str,
        attributes: &Attributes,
    ) -> CloudResult<()> {
        let current = self.tg_attributes.get_mut(arn).ok_or_else(|| tg_not_found(api, arn))?;
        current.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }

    pub(crate) fn delete_target_group(&mut self, api: Api, arn: &str) -> CloudResult<()> {
        if self.tg_users.get(arn).is_some_and(|users| !users.is_empty()) {
            return Err(fail(
                api,
                CloudErrorKind::InUse,
                "ResourceInUse",
                format!("target group {arn} is currently in use by a listener or a rule"),
            ));
        }
        if let Some(tg) = self.target_groups.remove(arn) {
            self.tg_by_name.remove(&tg.name);
        }
        self.tg_attributes.remove(arn);
        self.targets.remove(arn);
        self.tags.remove(arn);
        self.tg_users.remove(arn);
        Ok(())
    }

    pub(crate) fn register_targets(
        &mut self,
        api: Api,
        arn: &str,
        targets: &[Target],
        instance_exists: impl Fn(&str) -> bool,
    ) -> CloudResult<()> {
        let tg = self.target_groups.get(arn).ok_or_else(|| tg_not_found(api, arn))?;
        if tg.target_type == TargetType::Instance
            && let Some(unknown) = targets.iter().find(|t| !instance_exists(&t.id))
        {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "InvalidTarget",
                format!("the following targets are not valid instances: {}", unknown.id),
            ));
        }
        let registered = self.targets.entry(arn.to_string()).or_default();
        let new: BTreeSet<&Target> = targets.iter().filter(|t| !registered.contains(*t)).collect();
        if registered.len() + new.len() > MAX_TARGETS_PER_TG {
            return Err(fail(
                api,
                CloudErrorKind::LimitExceeded,
                "TooManyTargets",
                "you've reached the limit on the number of targets",
            ));
        }
        registered.extend(targets.iter().cloned());
        Ok(())
    }

    pub(crate) fn deregister_targets(&mut self, api: Api, arn: &str, targets: &[Target]) -> CloudResult<()> {
        let registered = self.targets.get_mut(arn).ok_or_else(|| tg_not_found(api, arn))?;
        for target in targets {
            registered.remove(target);
        }
        Ok(())
    }

    pub(crate) fn targets_of(&self, arn: &str) -> Vec<Target> {
        self.targets.get(arn).map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }

    // ---- listeners and rules ----

    pub(crate) fn create_listener(&mut self, api: Api, input: CreateListener) -> CloudResult<Listener> {
        let lb = self
            .load_balancers
            .get(&input.load_balancer_arn)
            .ok_or_else(|| lb_not_found(api, &input.load_balancer_arn))?;
        let lb_arn = lb.arn.clone();
        let on_lb: Vec<&Listener> = self.listeners.values().filter(|l| l.load_balancer_arn == lb_arn).collect();
        if let Some(existing) = on_lb.iter().find(|l| l.port == input.port) {
            let same = existing.protocol == input.protocol && existing.default_actions == input.default_actions;
            return if same {
                Ok((*existing).clone())
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
                "you've reached the limit on the number of listeners per load balancer",
            ));
        }
        self.check_forwards(api, &lb_arn, &input.default_actions, None)?;
        let id = self.next_id();
        let lb_path = lb_arn.split_once(":loadbalancer/").map(|(_, p)| p.to_string()).unwrap_or_default();
        let arn = arn(&format!("listener/{lb_path}/{id}"));
        let listener = Listener {
            arn: arn.clone(),
            load_balancer_arn: lb_arn.clone(),
            port: input.port,
            protocol: input.protocol,
            certificates: input.certificates,
            ssl_policy: input.ssl_policy,
            default_actions: input.default_actions,
        };
        self.attach(&arn, &lb_arn, &listener.default_actions);
        self.tags.insert(arn.clone(), input.tags);
        self.listeners.insert(arn, listener.clone());
        Ok(listener)
    }

    pub(crate) fn modify_listener(&mut self, api: Api, input: ModifyListener) -> CloudResult<()> {
        let listener = self.listeners.get(&input.arn).ok_or_else(|| listener_not_found(api, &input.arn))?;
        let lb_arn = listener.load_balancer_arn.clone();
        if input.port != listener.port
            && self.listeners.values().any(|l| l.load_balancer_arn == lb_arn && l.port == input.port)
        {
            return Err(fail(
                api,
                CloudErrorKind::Duplicate,
                "DuplicateListener",
                format!("a listener already exists on port {}", input.port),
            ));
        }
        self.check_forwards(api, &lb_arn, &input.default_actions, Some(&input.arn))?;
        self.detach(&input.arn);
        self.attach(&input.arn, &lb_arn, &input.default_actions);
        if let Some(listener) = self.listeners.get_mut(&input.arn) {
            listener.port = input.port;
            listener.protocol = input.protocol;
            listener.certificates = input.certificates;
            listener.ssl_policy = input.ssl_policy;
            listener.default_actions = input.default_actions;
        }
        Ok(())
    }

    pub(crate) fn delete_listener(&mut self, api: Api, arn: &str) -> CloudResult<()> {
        if !self.listeners.contains_key(arn) {
            return Err(listener_not_found(api, arn));
        }
        self.remove_listener(arn);
        Ok(())
    }

    fn remove_listener(&mut self, arn: &str) {
        let rules: Vec<Arn> =
            self.rules.iter().filter(|(_, (owner, _))| owner == arn).map(|(r, _)| r.clone()).collect();
        for rule in rules {
            self.detach(&rule);
            self.rules.remove(&rule);
            self.tags.remove(&rule);
        }
        self.detach(arn);
        self.listeners.remove(arn);
        self.tags.remove(arn);
    }

    pub(crate) fn create_rule(&mut self, api: Api, input: CreateRule) -> CloudResult<Rule> {
        let listener =
            self.listeners.get(&input.listener_arn).ok_or_else(|| listener_not_found(api, &input.listener_arn))?;
        let lb_arn = listener.load_balancer_arn.clone();
        let siblings: Vec<&Rule> =
            self.rules.values().filter(|(o, _)| *o == input.listener_arn).map(|(_, r)| r).collect();
        if siblings.iter().any(|r| r.priority == Some(input.priority)) {
            return Err(fail(
                api,
                CloudErrorKind::Duplicate,
                "PriorityInUse",
                format!("priority {} is in use", input.priority),
            ));
        }
        if siblings.len() >= MAX_RULES_PER_LISTENER {
            return Err(fail(
                api,
                CloudErrorKind::LimitExceeded,
                "TooManyRules",
                "you've reached the limit on the number of rules per listener",
            ));
        }
        self.check_forwards(api, &lb_arn, &input.actions, None)?;
        let id = self.next_id();
        let arn = format!("{}/{id}", input.listener_arn.replace(":listener/", ":listener-rule/"));
        let rule = Rule {
            arn: arn.clone(),
            priority: Some(input.priority),
            conditions: input.conditions,
            actions: input.actions,
        };
        self.attach(&arn, &lb_arn, &rule.actions);
        self.tags.insert(arn.clone(), input.tags);
        self.rules.insert(arn, (input.listener_arn, rule.clone()));
        Ok(rule)
    }

    pub(crate) fn modify_rule(&mut self, api: Api, input: ModifyRule) -> CloudResult<()> {
        let (listener, _) = self.rules.get(&input.arn).ok_or_else(|| rule_not_found(api, &input.arn))?;
        let lb_arn = self.listeners.get(listener).map(|l| l.load_balancer_arn.clone()).unwrap_or_default();
        self.check_forwards(api, &lb_arn, &input.actions, Some(&input.arn))?;
        self.detach(&input.arn);
        self.attach(&input.arn, &lb_arn, &input.actions);
        if let Some((_, rule)) = self.rules.get_mut(&input.arn) {
            rule.conditions = input.conditions;
            rule.actions = input.actions;
        }
        Ok(())
    }

    pub(crate) fn set_rule_priorities(&mut self, api: Api, priorities: &[(Arn, u32)]) -> CloudResult<()> {
        for (arn, _) in priorities {
            if !self.rules.contains_key(arn) {
                return Err(rule_not_found(api, arn));
            }
        }
        // All at once: check the end state for clashes per listener.
        let mut end: BTreeMap<(Arn, u32), Arn> = BTreeMap::new();
        for (arn, (listener, rule)) in &self.rules {
            let priority = priorities.iter().find(|(a, _)| a == arn).map(|(_, p)| *p).or(rule.priority);
            if let Some(p) = priority
                && end.insert((listener.clone(), p), arn.clone()).is_some()
            {
                return Err(fail(api, CloudErrorKind::Duplicate, "PriorityInUse", format!("priority {p} is in use")));
            }
        }
        for (arn, priority) in priorities {
            if let Some((_, rule)) = self.rules.get_mut(arn) {
                rule.priority = Some(*priority);
            }
        }
        Ok(())
    }

    pub(crate) fn delete_rule(&mut self, api: Api, arn: &str) -> CloudResult<()> {
        if self.rules.remove(arn).is_none() {
            return Err(rule_not_found(api, arn));
        }
        self.detach(arn);
        self.tags.remove(arn);
        Ok(())
    }

    pub(crate) fn listeners(&self) -> Vec<Listener> {
        self.listeners.values().cloned().collect()
    }

    pub(crate) fn rules_of(&self, listener: &str) -> Vec<Rule> {
        self.rules.values().filter(|(o, _)| o == listener).map(|(_, r)| r.clone()).collect()
    }

    pub(crate) fn load_balancers(&self) -> Vec<LoadBalancer> {
        self.load_balancers.values().cloned().collect()
    }

    pub(crate) fn target_groups(&self) -> Vec<TargetGroup> {
        self.target_groups.values().cloned().collect()
    }

    pub(crate) fn attributes_of(&self, arn: &str) -> Attributes {
        self.lb_attributes.get(arn).or_else(|| self.tg_attributes.get(arn)).cloned().unwrap_or_default()
    }

    // ---- tags ----

    pub(crate) fn add_tags(&mut self, api: Api, arns: &[Arn], tags: &Tags) -> CloudResult<()> {
        self.check_taggable(api, arns)?;
        for arn in arns {
            self.tags.entry(arn.clone()).or_default().extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Ok(())
    }

    pub(crate) fn remove_tags(&mut self, api: Api, arns: &[Arn], keys: &[String]) -> CloudResult<()> {
        self.check_taggable(api, arns)?;
        for arn in arns {
            if let Some(tags) = self.tags.get_mut(arn) {
                for key in keys {
                    tags.remove(key);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn tags_of_one(&self, arn: &str) -> Option<Tags> {
        self.tags.get(arn).cloned()
    }

    fn check_taggable(&self, api: Api, arns: &[Arn]) -> CloudResult<()> {
        match arns.iter().find(|arn| !self.tags.contains_key(*arn)) {
            Some(missing) => Err(fail(
                api,
                CloudErrorKind::NotFound,
                "LoadBalancerNotFound",
                format!("resource {missing} not found"),
            )),
            None => Ok(()),
        }
    }

    // ---- target group associations ----

    /// Every forwarded-to target group must exist, and a target group of a network load balancer
    /// may not serve a second load balancer.
    fn check_forwards(
        &self,
        api: Api,
        lb_arn: &str,
        actions: &[Action<Arn>],
        replacing: Option<&str>,
    ) -> CloudResult<()> {
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
                    format!("target group {tg_arn} is already associated with another load balancer"),
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

    fn detach(&mut self, user: &str) {
        let touched: Vec<Arn> =
            self.tg_users.iter_mut().filter_map(|(tg, users)| users.remove(user).map(|_| tg.clone())).collect();
        for tg in touched {
            self.refresh_tg_lbs(&tg);
        }
    }

    fn refresh_tg_lbs(&mut self, tg_arn: &str) {
        let lbs: BTreeSet<Arn> = self.tg_users.get(tg_arn).map(|u| u.values().cloned().collect()).unwrap_or_default();
        if let Some(tg) = self.target_groups.get_mut(tg_arn) {
            tg.load_balancer_arns = lbs.into_iter().collect();
        }
    }
}

fn forwarded(actions: &[Action<Arn>]) -> impl Iterator<Item = &Arn> {
    actions.iter().flat_map(|action| match action {
        Action::Forward { target_groups } => target_groups.iter().map(|w| &w.target_group).collect::<Vec<_>>(),
        _ => Vec::new(),
    })
}

fn default_lb_attributes(lb_type: elbow_model::LoadBalancerType) -> Attributes {
    let mut attributes = Attributes::from([
        ("deletion_protection.enabled".to_string(), "false".to_string()),
        ("access_logs.s3.enabled".to_string(), "false".to_string()),
    ]);
    if lb_type == elbow_model::LoadBalancerType::Network {
        attributes.insert("load_balancing.cross_zone.enabled".to_string(), "false".to_string());
    } else {
        attributes.insert("idle_timeout.timeout_seconds".to_string(), "60".to_string());
    }
    attributes
}

fn default_tg_attributes() -> Attributes {
    Attributes::from([
        ("deregistration_delay.timeout_seconds".to_string(), "300".to_string()),
        ("proxy_protocol_v2.enabled".to_string(), "false".to_string()),
    ])
}

fn lb_not_found(api: Api, arn: &str) -> CloudError {
    fail(api, CloudErrorKind::NotFound, "LoadBalancerNotFound", format!("load balancer {arn} not found"))
}

fn tg_not_found(api: Api, arn: &str) -> CloudError {
    fail(api, CloudErrorKind::NotFound, "TargetGroupNotFound", format!("target group {arn} not found"))
}

fn listener_not_found(api: Api, arn: &str) -> CloudError {
    fail(api, CloudErrorKind::NotFound, "ListenerNotFound", format!("listener {arn} not found"))
}

fn rule_not_found(api: Api, arn: &str) -> CloudError {
    fail(api, CloudErrorKind::NotFound, "RuleNotFound", format!("rule {arn} not found"))
}
