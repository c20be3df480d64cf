//! Walks a plan against the cloud, step by step, binding resource ids to the ARNs and ids the
//! create calls return, and keeping a copy of the actual state up to date as it goes (so the next
//! deploy of the same stack needs no describe call).

use std::collections::BTreeMap;

use elbow_cloud::{
    Arn, Cloud, CloudError, CloudErrorKind, CreateListener, CreateLoadBalancer, CreateRule, CreateTargetGroup,
    ModifyListener, ModifyRule, SecurityGroup, SecurityGroupFilter,
};
use elbow_model::{
    Action, AlpnPolicy, ListenerSpec, MutualAuthentication, Ownership, Protocol, ResourceId, RuleSource,
    SecurityGroupRef, SecurityGroupSpec,
};
use tracing::debug;

use crate::actual::{ActualLoadBalancer, ActualSecurityGroup, ActualStack, ActualTargetGroup, SatisfiedNodeRule};
use crate::changes::{self, Changes};
use crate::error::DeployError;
use crate::node_groups::NodeRules;
use crate::node_groups::Spanned;
use crate::node_groups::record::NodePorts;
use crate::plan::{GroupRef, Plan, PlannedRule, Step, bind_action, default_certificate};
use crate::secrets::{SentSecrets, fingerprint, without_secrets};
use crate::targets;

pub(crate) struct Applier<'a> {
    cloud: &'a dyn Cloud,
    node_rules: NodeRules<'a>,
    bindings: BTreeMap<ResourceId, String>,
    pub(crate) actual: ActualStack,
    /// How many steps took effect, and what they changed, by kind.
    pub(crate) applied_steps: usize,
    pub(crate) changes: Changes,
    /// Fingerprints of the client secrets sent by the steps that took effect, by listener or rule.
    pub(crate) sent_secrets: SentSecrets,
}

impl<'a> Applier<'a> {
    pub(crate) fn new(
        cloud: &'a dyn Cloud,
        node_rules: NodeRules<'a>,
        plan_bindings: BTreeMap<ResourceId, String>,
        actual: ActualStack,
    ) -> Self {
        Self {
            cloud,
            node_rules,
            bindings: plan_bindings,
            actual,
            applied_steps: 0,
            changes: Changes::default(),
            sent_secrets: SentSecrets::new(),
        }
    }

    /// Applies every step in order; stops at the first failure (the steps before it took effect,
    /// and `self.actual` says so).
    pub(crate) async fn run(&mut self, plan: Plan) -> Result<(), DeployError> {
        for step in plan.steps {
            let description = step.describe();
            debug!(step = %description, "applying");
            let effect = changes::effect(&step);
            let spanned = self.step(step).await.map_err(|error| match error {
                StepError::Cloud(source) => DeployError::Apply { step: description.clone(), source },
                StepError::Deploy(error) => error,
            })?;
            match spanned {
                // A range step finds most often that the ranges are as they should be: no change.
                Some(done) => {
                    if done.authorized + done.revoked > 0 {
                        self.applied_steps += 1;
                    }
                    self.changes.add((changes::Verb::Created, changes::Kind::NodeRule, done.authorized));
                    self.changes.add((changes::Verb::Deleted, changes::Kind::NodeRule, done.revoked));
                }
                None => {
                    self.applied_steps += 1;
                    self.changes.add(effect);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn binding(&self, id: &ResourceId) -> Option<&String> {
        self.bindings.get(id)
    }

    fn bound(&self, id: &ResourceId) -> Result<String, StepError> {
        self.bindings.get(id).cloned().ok_or_else(|| StepError::Deploy(DeployError::Unbound(id.to_string())))
    }

    fn group_id(&self, group: &GroupRef) -> Result<String, StepError> {
        match group {
            GroupRef::Id(id) => Ok(id.clone()),
            GroupRef::Managed(rid) => self.bound(rid),
        }
    }

    /// What a range step changed; `None` for any other step.
    async fn step(&mut self, step: Step) -> Result<Option<Spanned>, StepError> {
        let cloud = self.cloud;
        if let Step::SpanNodePorts { ports } = &step {
            return Ok(Some(self.node_rules.span(cloud, ports).await?));
        }
        match step {
            Step::CreateSecurityGroup { spec } => {
                let id = match cloud
                    .create_security_group(&spec.group_name, &spec.description, &spec.vpc_id, &spec.tags)
                    .await
                {
                    Ok(id) => id,
                    Err(error) if error.kind == CloudErrorKind::Duplicate => {
                        return Err(self.group_name_taken(&spec, error).await);
                    }
                    Err(error) => return Err(error.into()),
                };
                self.bindings.insert(spec.resource_id.clone(), id.clone());
                self.actual.security_groups.push(ActualSecurityGroup {
                    resource_id: spec.resource_id,
                    group: SecurityGroup {
                        id,
                        group_name: spec.group_name,
                        description: spec.description,
                        vpc_id: spec.vpc_id,
                        tags: spec.tags,
                    },
                    rules: Vec::new(),
                });
            }
            Step::AuthorizeIngress { group, rules } => {
                let group_id = self.group_id(&group)?;
                let mut new_rules = Vec::with_capacity(rules.len());
                for rule in rules {
                    let source = self.rule_source_group(&rule)?;
                    new_rules.push(rule.into_new(source));
                }
                let created = cloud.authorize_security_group_ingress(&group_id, &new_rules).await?;
                if let Some(sg) = self.actual.security_groups.iter_mut().find(|g| g.group.id == group_id) {
                    sg.rules.extend(created);
                }
            }
            Step::RevokeIngress { group_id, rule_ids } => {
                ignore_not_found(cloud.revoke_security_group_ingress(&group_id, &rule_ids).await)?;
                if let Some(sg) = self.actual.security_groups.iter_mut().find(|g| g.group.id == group_id) {
                    sg.rules.retain(|r| !rule_ids.contains(&r.rule_id));
                }
            }
            Step::ClaimNodeRules { group_id, rules } => {
                let mut wanted = Vec::with_capacity(rules.len());
                for rule in rules {
                    let source = self.rule_source_group(&rule)?;
                    wanted.push(rule.into_new(source));
                }
                let claimed = self.node_rules.claim(cloud, &group_id, &wanted).await?;
                for rule in claimed.rules {
                    if !self.actual.node_rules.iter().any(|r| r.rule.rule_id == rule.rule.rule_id) {
                        self.actual.node_rules.push(rule);
                    }
                }
                self.actual.satisfied_node_rules.extend(
                    claimed.satisfied.into_iter().map(|rule| SatisfiedNodeRule { group_id: group_id.clone(), rule }),
                );
            }
            Step::ReleaseNodeRules { group_id, rule_ids } => {
                self.node_rules.release(cloud, &group_id, &rule_ids).await?;
                self.actual.node_rules.retain(|r| !rule_ids.contains(&r.rule.rule_id));
            }
            Step::CreateTargetGroup { spec } => {
                let tg = cloud
                    .create_target_group(CreateTargetGroup {
                        name: spec.name.clone(),
                        target_type: spec.target_type,
                        protocol: spec.protocol,
                        port: spec.port,
                        protocol_version: spec.protocol_version,
                        vpc_id: spec.vpc_id.clone(),
                        ip_address_type: spec.ip_address_type,
                        health_check: spec.health_check.clone(),
                        tags: spec.tags.clone(),
                    })
                    .await?;
                self.bindings.insert(spec.resource_id.clone(), tg.arn.clone());
                self.actual.target_groups.push(ActualTargetGroup {
                    resource_id: spec.resource_id,
                    tg,
                    tags: spec.tags,
                    targets: Vec::new(),
                    attributes: Default::default(),
                });
            }
            Step::ModifyTargetGroup { resource_id, health_check, grpc } => {
                let arn = self.bound(&resource_id)?;
                cloud.modify_target_group(&arn, &health_check, grpc).await?;
                if let Some(tg) = self.target_group(&arn) {
                    tg.tg.health_check = health_check;
                }
            }
            Step::ModifyTargetGroupAttributes { resource_id, attributes } => {
                let arn = self.bound(&resource_id)?;
                cloud.modify_target_group_attributes(&arn, &attributes).await?;
                if let Some(tg) = self.target_group(&arn) {
                    tg.attributes.extend(attributes);
                }
            }
            Step::RegisterTargets { resource_id, targets } => {
                let arn = self.bound(&resource_id)?;
                let mut scratch = Vec::new();
                let registered = self.target_group(&arn).map_or(&mut scratch, |tg| &mut tg.targets);
                targets::register(cloud, &arn, &targets, registered).await.map_err(|e| StepError::Cloud(e.source))?;
            }
            Step::DeregisterTargets { resource_id, targets } => {
                let arn = self.bound(&resource_id)?;
                let mut scratch = Vec::new();
                let registered = self.target_group(&arn).map_or(&mut scratch, |tg| &mut tg.targets);
                targets::deregister(cloud, &arn, &targets, registered).await.map_err(|e| StepError::Cloud(e.source))?;
            }
            Step::CreateLoadBalancer { spec, security_groups } => {
                let groups = security_groups.iter().map(|g| self.group_id(g)).collect::<Result<Vec<_>, _>>()?;
                let lb = cloud
                    .create_load_balancer(CreateLoadBalancer {
                        name: spec.name.clone(),
                        lb_type: spec.lb_type,
                        scheme: spec.scheme,
                        ip_address_type: spec.ip_address_type,
                        subnets: spec.subnets.clone(),
                        subnet_addresses: spec.subnet_addresses.clone(),
                        security_groups: groups,
                        tags: spec.tags.clone(),
                    })
                    .await?;
                self.bindings.insert(spec.resource_id.clone(), lb.arn.clone());
                // Its record exists now: a widening decided meanwhile by another stack's range
                // step may as well cover it.
                self.node_rules.groups.announce(self.node_rules.stack, &NodePorts::from_tags(&spec.tags));
                self.actual.load_balancers.push(ActualLoadBalancer {
                    resource_id: spec.resource_id,
                    lb,
                    tags: spec.tags,
                    listeners: Vec::new(),
                    rules: Default::default(),
                    certificate_lists: Default::default(),
                    listener_attributes: Default::default(),
                    attributes: Default::default(),
                });
            }
            Step::SetSubnets { resource_id, subnets } => {
                let arn = self.bound(&resource_id)?;
                cloud.set_subnets(&arn, &subnets).await?;
                if let Some(lb) = self.load_balancer(&arn) {
                    lb.lb.subnets = sorted(subnets);
                }
            }
            Step::SetSecurityGroups { resource_id, security_groups } => {
                let arn = self.bound(&resource_id)?;
                let groups = security_groups.iter().map(|g| self.group_id(g)).collect::<Result<Vec<_>, _>>()?;
                cloud.set_security_groups(&arn, &groups).await?;
                if let Some(lb) = self.load_balancer(&arn) {
                    lb.lb.security_groups = sorted(groups);
                }
            }
            Step::SetIpAddressType { resource_id, ip_address_type } => {
                let arn = self.bound(&resource_id)?;
                cloud.set_ip_address_type(&arn, ip_address_type).await?;
                if let Some(lb) = self.load_balancer(&arn) {
                    lb.lb.ip_address_type = ip_address_type;
                }
            }
            Step::ModifyLoadBalancerAttributes { resource_id, attributes } => {
                let arn = self.bound(&resource_id)?;
                cloud.modify_load_balancer_attributes(&arn, &attributes).await?;
                if let Some(lb) = self.load_balancer(&arn) {
                    lb.attributes.extend(attributes);
                }
            }
            Step::CreateListener { load_balancer, spec } => {
                let lb_arn = self.bound(&load_balancer)?;
                let input = self.listener_settings(&spec)?;
                let listener = cloud
                    .create_listener(CreateListener {
                        load_balancer_arn: lb_arn.clone(),
                        port: spec.port,
                        protocol: spec.protocol,
                        certificates: input.certificates,
                        ssl_policy: input.ssl_policy,
                        alpn_policy: input.alpn_policy,
                        // A new listener has no mutual TLS unless asked for.
                        mutual_authentication: spec
                            .mutual_authentication
                            .clone()
                            .filter(|_| spec.protocol == Protocol::Https),
                        default_actions: input.default_actions.clone(),
                        tags: spec.tags.clone(),
                    })
                    .await?;
                self.record_secrets(&listener.arn, &input.default_actions);
                if let Some(lb) = self.load_balancer(&lb_arn) {
                    if matches!(listener.protocol, Protocol::Tls | Protocol::Https) {
                        lb.certificate_lists.insert(listener.arn.clone(), Vec::new());
                    }
                    lb.listeners.push(listener);
                }
            }
            Step::ModifyListener { load_balancer, arn, spec } => {
                let lb_arn = self.bound(&load_balancer)?;
                let mut input = self.listener_settings(&spec)?;
                input.arn = arn.clone();
                cloud.modify_listener(input.clone()).await?;
                self.record_secrets(&arn, &input.default_actions);
                if let Some(lb) = self.load_balancer(&lb_arn)
                    && let Some(listener) = lb.listeners.iter_mut().find(|l| l.arn == arn)
                {
                    listener.port = input.port;
                    listener.protocol = input.protocol;
                    listener.certificates = input.certificates;
                    listener.ssl_policy = input.ssl_policy;
                    listener.alpn_policy = input.alpn_policy;
                    // Sent on every HTTPS listener; one that is no longer HTTPS has none.
                    listener.mutual_authentication = input.mutual_authentication;
                    // As AWS would report it.
                    listener.default_actions = without_secrets(&input.default_actions);
                }
            }
            Step::ModifyListenerAttributes { load_balancer, listener_port, attributes } => {
                let lb_arn = self.bound(&load_balancer)?;
                let listener_arn = self.listener_arn(&lb_arn, listener_port)?;
                cloud.modify_listener_attributes(&listener_arn, &attributes).await?;
                if let Some(lb) = self.load_balancer(&lb_arn) {
                    lb.listener_attributes.entry(listener_arn).or_default().extend(attributes);
                }
            }
            Step::DeleteListener { load_balancer, arn } => {
                let lb_arn = self.bound(&load_balancer)?;
                ignore_not_found(cloud.delete_listener(&arn).await)?;
                if let Some(lb) = self.load_balancer(&lb_arn) {
                    lb.listeners.retain(|l| l.arn != arn);
                    lb.rules.remove(&arn);
                    lb.certificate_lists.remove(&arn);
                    lb.listener_attributes.remove(&arn);
                }
            }
            Step::AddListenerCertificates { load_balancer, listener_port, certificates } => {
                let lb_arn = self.bound(&load_balancer)?;
                let listener_arn = self.listener_arn(&lb_arn, listener_port)?;
                // One certificate per request, as AWS takes them; each one that lands is recorded
                // at once, so a failure part-way leaves the copy of the actual state true.
                for certificate in certificates {
                    cloud.add_listener_certificates(&listener_arn, std::slice::from_ref(&certificate)).await?;
                    if let Some(lb) = self.load_balancer(&lb_arn) {
                        let list = lb.certificate_lists.entry(listener_arn.clone()).or_default();
                        list.push(certificate);
                        list.sort();
                        list.dedup();
                    }
                }
            }
            Step::RemoveListenerCertificates { load_balancer, arn, certificates } => {
                let lb_arn = self.bound(&load_balancer)?;
                for certificate in certificates {
                    ignore_not_found(
                        cloud.remove_listener_certificates(&arn, std::slice::from_ref(&certificate)).await,
                    )?;
                    if let Some(lb) = self.load_balancer(&lb_arn)
                        && let Some(list) = lb.certificate_lists.get_mut(&arn)
                    {
                        list.retain(|c| c != &certificate);
                    }
                }
            }
            Step::CreateRule { load_balancer, listener_port, priority, rule, tags } => {
                let lb_arn = self.bound(&load_balancer)?;
                let listener_arn = self.listener_arn(&lb_arn, listener_port)?;
                let actions = self.bind_actions(&rule.actions, || format!("a target group of rule {priority}"))?;
                let created = cloud
                    .create_rule(CreateRule {
                        listener_arn: listener_arn.clone(),
                        priority,
                        conditions: rule.conditions,
                        actions: actions.clone(),
                        transforms: rule.transforms,
                        tags,
                    })
                    .await?;
                self.record_secrets(&created.arn, &actions);
                if let Some(lb) = self.load_balancer(&lb_arn) {
                    let rules = lb.rules.entry(listener_arn).or_default();
                    rules.push(created);
                    rules.sort_by_key(|r| r.priority);
                }
            }
            Step::ModifyRule { load_balancer, arn, rule } => {
                let lb_arn = self.bound(&load_balancer)?;
                let actions = self.bind_actions(&rule.actions, || format!("a target group of rule {arn}"))?;
                let input =
                    ModifyRule { arn: arn.clone(), conditions: rule.conditions, actions, transforms: rule.transforms };
                cloud.modify_rule(input.clone()).await?;
                self.record_secrets(&arn, &input.actions);
                if let Some(lb) = self.load_balancer(&lb_arn)
                    && let Some(existing) = lb.rules.values_mut().flatten().find(|r| r.arn == arn)
                {
                    existing.conditions = input.conditions;
                    existing.actions = without_secrets(&input.actions);
                    existing.transforms = input.transforms;
                }
            }
            Step::DeleteRule { load_balancer, arn } => {
                let lb_arn = self.bound(&load_balancer)?;
                ignore_not_found(cloud.delete_rule(&arn).await)?;
                if let Some(lb) = self.load_balancer(&lb_arn) {
                    for rules in lb.rules.values_mut() {
                        rules.retain(|r| r.arn != arn);
                    }
                }
            }
            Step::AddTags { arn, tags, .. } => {
                cloud.add_tags(std::slice::from_ref(&arn), &tags).await?;
                if let Some(lb) = self.load_balancer(&arn) {
                    lb.tags.extend(tags.clone());
                }
                if let Some(tg) = self.target_group(&arn) {
                    tg.tags.extend(tags);
                }
            }
            Step::CreateTags { id, tags, .. } => {
                cloud.create_tags(std::slice::from_ref(&id), &tags).await?;
                if let Some(sg) = self.actual.security_groups.iter_mut().find(|g| g.group.id == id) {
                    sg.group.tags.extend(tags);
                }
            }
            Step::RemoveTags { arn, keys, .. } => {
                cloud.remove_tags(std::slice::from_ref(&arn), &keys).await?;
                if let Some(lb) = self.load_balancer(&arn) {
                    lb.tags.retain(|k, _| !keys.contains(k));
                }
                if let Some(tg) = self.target_group(&arn) {
                    tg.tags.retain(|k, _| !keys.contains(k));
                }
            }
            Step::DeleteTags { id, keys, .. } => {
                cloud.delete_tags(std::slice::from_ref(&id), &keys).await?;
                if let Some(sg) = self.actual.security_groups.iter_mut().find(|g| g.group.id == id) {
                    sg.group.tags.retain(|k, _| !keys.contains(k));
                }
            }
            Step::DeleteLoadBalancer { arn } => {
                ignore_not_found(cloud.delete_load_balancer(&arn).await)?;
                self.actual.load_balancers.retain(|lb| lb.lb.arn != arn);
                // Its listeners are gone with it, so its target groups are free.
                for tg in &mut self.actual.target_groups {
                    tg.tg.load_balancer_arns.retain(|lb| lb != &arn);
                }
            }
            Step::DeleteTargetGroup { arn } => {
                ignore_not_found(cloud.delete_target_group(&arn).await)?;
                self.actual.target_groups.retain(|tg| tg.tg.arn != arn);
            }
            Step::DeleteSecurityGroup { id } => {
                ignore_not_found(cloud.delete_security_group(&id).await)?;
                self.actual.security_groups.retain(|g| g.group.id != id);
            }
            // Applied above.
            Step::SpanNodePorts { .. } => {}
        }
        Ok(None)
    }

    /// Remembers the secrets `actions` carried to the listener or rule `arn`, once AWS took them.
    fn record_secrets(&mut self, arn: &str, actions: &[Action<Arn>]) {
        match fingerprint(actions) {
            Some(print) => self.sent_secrets.insert(arn.to_string(), print),
            None => self.sent_secrets.remove(arn),
        };
    }

    /// The group name is taken. By a group of this stack (created by a run whose answer was lost,
    /// unknown to stale state): the original error stands, retryable, and the re-run's discovery
    /// finds the group by its tags. By anyone else: a conflict only the user can resolve, since
    /// Elbow never adopts a group it cannot prove is its own.
    async fn group_name_taken(&self, spec: &SecurityGroupSpec, error: CloudError) -> StepError {
        let groups = match self.cloud.describe_security_groups(SecurityGroupFilter::Vpc(spec.vpc_id.clone())).await {
            Ok(groups) => groups,
            Err(_) => return error.into(),
        };
        let ours = groups
            .iter()
            .filter(|g| g.group_name == spec.group_name)
            .all(|g| Ownership::from_tags(&g.tags) == Ownership::from_tags(&spec.tags));
        if ours {
            error.into()
        } else {
            StepError::Deploy(DeployError::NameConflict { kind: "security group", name: spec.group_name.clone() })
        }
    }

    /// A rule whose source is one of this stack's groups gets that group's id.
    fn rule_source_group(&self, rule: &PlannedRule) -> Result<Option<String>, StepError> {
        match &rule.rule.source {
            RuleSource::SecurityGroup(SecurityGroupRef::Managed(rid)) => Ok(Some(self.bound(rid)?)),
            _ => Ok(None),
        }
    }

    /// Actions with their target groups' ARNs; `what` names the owner for the error.
    fn bind_actions(
        &self,
        actions: &[Action<ResourceId>],
        what: impl FnOnce() -> String,
    ) -> Result<Vec<Action<Arn>>, StepError> {
        actions
            .iter()
            .map(|action| bind_action(action, &self.bindings))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| StepError::Deploy(DeployError::Unbound(what())))
    }

    /// The listener at `port` of a load balancer, created earlier in this plan or found.
    fn listener_arn(&mut self, lb_arn: &str, port: u16) -> Result<Arn, StepError> {
        self.load_balancer(lb_arn)
            .and_then(|lb| lb.listeners.iter().find(|l| l.port == port))
            .map(|l| l.arn.clone())
            .ok_or_else(|| StepError::Deploy(DeployError::Unbound(format!("listener {port}"))))
    }

    /// What CreateListener and ModifyListener send: the default certificate only, as AWS takes
    /// exactly one there; the rest are the listener's certificate list, changed by their own steps.
    fn listener_settings(&self, spec: &ListenerSpec) -> Result<ModifyListener, StepError> {
        let default_actions =
            self.bind_actions(&spec.default_actions, || format!("a target group of listener {}", spec.port))?;
        Ok(ModifyListener {
            arn: String::new(),
            port: spec.port,
            protocol: spec.protocol,
            certificates: default_certificate(spec).map(str::to_string).into_iter().collect(),
            ssl_policy: spec.ssl_policy.clone(),
            // Sent on every TLS listener, so that a policy no longer asked for is taken off.
            alpn_policy: (spec.protocol == Protocol::Tls).then(|| spec.alpn_policy.unwrap_or(AlpnPolicy::None)),
            // Sent on every HTTPS listener, so that mutual TLS no longer asked for is turned off.
            mutual_authentication: (spec.protocol == Protocol::Https)
                .then(|| spec.mutual_authentication.clone().unwrap_or_else(MutualAuthentication::off)),
            default_actions,
        })
    }

    fn load_balancer(&mut self, arn: &str) -> Option<&mut ActualLoadBalancer> {
        self.actual.load_balancers.iter_mut().find(|lb| lb.lb.arn == arn)
    }

    fn target_group(&mut self, arn: &str) -> Option<&mut ActualTargetGroup> {
        self.actual.target_groups.iter_mut().find(|tg| tg.tg.arn == arn)
    }
}

enum StepError {
    Cloud(CloudError),
    Deploy(DeployError),
}

impl From<CloudError> for StepError {
    fn from(error: CloudError) -> Self {
        Self::Cloud(error)
    }
}

/// Deleting what is already gone is done.
fn ignore_not_found(result: Result<(), CloudError>) -> Result<(), CloudError> {
    match result {
        Err(error) if error.is_not_found() => Ok(()),
        other => other,
    }
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}
