//! A load balancer's listeners, their attributes, certificates and rules. Listeners are matched by port
//! and rules by priority, both unique on their parent, so neither needs tags of its own; a listener
//! no longer desired is deleted with the other changes of its load balancer, and its rules and
//! certificates go with it. Forward actions name target groups by resource id and are compared
//! through their bindings, so a listener or rule whose target group is being created or replaced
//! differs and moves to the new one.
//!
//! A TLS or HTTPS listener has one default certificate, the first one desired, which
//! CreateListener and ModifyListener set (AWS takes exactly one there), and a certificate list for
//! the rest, which only AddListenerCertificates and RemoveListenerCertificates change. Certificates
//! leaving the list are removed before the listener is modified and new ones added after it, so
//! that a certificate moving between the default and the list is never in both places at a
//! removal, removals free the load balancer's certificate quota before additions use it, and a
//! listener turning to HTTPS is HTTPS by the time certificates are added.

use std::collections::BTreeMap;

use elbow_cloud::{Arn, Rule};
use elbow_model::{
    Action, AlpnPolicy, Attributes, ListenerSpec, MutualAuthentication, Protocol, ResourceId, RuleSpec, RuleTransform,
    WeightedTargetGroup,
};

use super::{Planner, Step, changed_entries};
use crate::actual::ActualLoadBalancer;
use crate::secrets::same_actions;

impl Planner<'_> {
    pub(super) fn listeners(&mut self, lb: &ResourceId, desired: &[&ListenerSpec], actual_lb: &ActualLoadBalancer) {
        let actual = &actual_lb.listeners;
        for listener in desired {
            match actual.iter().find(|a| a.port == listener.port) {
                None => self.create_listener(lb, listener),
                Some(existing) => {
                    let wanted = certificate_list(listener);
                    let current = actual_lb.certificate_lists.get(&existing.arn).map(Vec::as_slice).unwrap_or_default();
                    let leaving: Vec<String> = current.iter().filter(|c| !wanted.contains(c)).cloned().collect();
                    if !leaving.is_empty() {
                        self.push(Step::RemoveListenerCertificates {
                            load_balancer: lb.clone(),
                            arn: existing.arn.clone(),
                            certificates: leaving,
                        });
                    }
                    if !self.same_listener(listener, existing) {
                        self.push(Step::ModifyListener {
                            load_balancer: lb.clone(),
                            arn: existing.arn.clone(),
                            spec: (*listener).clone(),
                        });
                    }
                    let arriving: Vec<String> = wanted.into_iter().filter(|c| !current.contains(c)).collect();
                    self.add_certificates(lb, listener.port, arriving);
                    let current = actual_lb.listener_attributes.get(&existing.arn).cloned().unwrap_or_default();
                    self.listener_attributes(lb, listener, &changed_entries(&listener.attributes, &current));
                    let rules = actual_lb.rules.get(&existing.arn).map(Vec::as_slice).unwrap_or_default();
                    self.listener_rules(lb, listener, Some(&existing.arn), rules);
                }
            }
        }
        for existing in actual {
            if !desired.iter().any(|l| l.port == existing.port) {
                // Its rules go with it.
                self.push(Step::DeleteListener { load_balancer: lb.clone(), arn: existing.arn.clone() });
            }
        }
    }

    /// A new listener and all its rules, on a load balancer that exists or one created earlier in
    /// the plan.
    pub(super) fn create_listener(&mut self, lb: &ResourceId, listener: &ListenerSpec) {
        self.push(Step::CreateListener { load_balancer: lb.clone(), spec: listener.clone() });
        self.listener_attributes(lb, listener, &listener.attributes);
        self.add_certificates(lb, listener.port, certificate_list(listener));
        self.listener_rules(lb, listener, None, &[]);
    }

    fn listener_attributes(&mut self, lb: &ResourceId, listener: &ListenerSpec, attributes: &Attributes) {
        if !attributes.is_empty() {
            self.push(Step::ModifyListenerAttributes {
                load_balancer: lb.clone(),
                listener_port: listener.port,
                attributes: attributes.clone(),
            });
        }
    }

    fn add_certificates(&mut self, lb: &ResourceId, listener_port: u16, certificates: Vec<String>) {
        if !certificates.is_empty() {
            self.push(Step::AddListenerCertificates { load_balancer: lb.clone(), listener_port, certificates });
        }
    }

    /// Rules are matched by priority (the position in the desired list, from 1): a rule that
    /// differs is modified in place, a missing one created, one beyond the desired list deleted.
    /// Matching by priority keeps a re-run after a crash from creating a second rule at a taken
    /// priority, and never needs two rules to swap priorities.
    fn listener_rules(&mut self, lb: &ResourceId, listener: &ListenerSpec, arn: Option<&Arn>, actual: &[Rule]) {
        for (index, desired) in listener.rules.iter().enumerate() {
            let priority = u32::try_from(index + 1).unwrap_or(u32::MAX);
            match actual.iter().find(|a| a.priority == Some(priority)) {
                None => self.push(Step::CreateRule {
                    load_balancer: lb.clone(),
                    listener_port: listener.port,
                    priority,
                    rule: desired.clone(),
                    tags: listener.tags.clone(),
                }),
                Some(existing) if !self.same_rule(desired, existing) => self.push(Step::ModifyRule {
                    load_balancer: lb.clone(),
                    arn: existing.arn.clone(),
                    rule: desired.clone(),
                }),
                Some(_) => {}
            }
        }
        if arn.is_none() {
            return;
        }
        let wanted = u32::try_from(listener.rules.len()).unwrap_or(u32::MAX);
        for extra in actual.iter().filter(|a| a.priority.is_none_or(|p| p > wanted)) {
            self.push(Step::DeleteRule { load_balancer: lb.clone(), arn: extra.arn.clone() });
        }
    }

    /// Actions compare without their client secrets (AWS never reports them); a secret counts as
    /// in place when it is the one last sent to that rule (`secrets`).
    fn same_rule(&self, desired: &RuleSpec, actual: &Rule) -> bool {
        let actions: Option<Vec<Action<Arn>>> =
            desired.actions.iter().map(|a| bind_action(a, &self.plan.bindings)).collect();
        desired.conditions == actual.conditions
            && same_transforms(&desired.transforms, &actual.transforms)
            && actions.is_some_and(|a| same_actions(&a, &actual.actions, &actual.arn, &self.ctx.sent_secrets))
    }

    /// Compares settings; target groups are compared through their bindings, so a listener whose
    /// target group is being created or replaced differs.
    fn same_listener(&self, desired: &ListenerSpec, actual: &elbow_cloud::Listener) -> bool {
        let actions: Option<Vec<Action<Arn>>> =
            desired.default_actions.iter().map(|a| bind_action(a, &self.plan.bindings)).collect();
        // Certificates and policy mean something only on TLS and HTTPS listeners; some endpoints
        // (moto) report a default policy on plain ones too. Only the default certificate is a
        // setting of the listener; the rest are its certificate list.
        let secure = is_secure(desired.protocol);
        // No ALPN policy and `None` mean the same, on either side.
        let alpn = |policy: Option<AlpnPolicy>| policy.unwrap_or(AlpnPolicy::None);
        // No mutual TLS and mode `off` mean the same, on either side.
        let mutual = |m: Option<&MutualAuthentication>| m.cloned().unwrap_or_else(MutualAuthentication::off);
        desired.protocol == actual.protocol
            && (!secure
                || (default_certificate(desired) == actual.default_certificate()
                    && desired.ssl_policy == actual.ssl_policy))
            && (desired.protocol != Protocol::Tls || alpn(desired.alpn_policy) == alpn(actual.alpn_policy))
            && (desired.protocol != Protocol::Https
                || mutual(desired.mutual_authentication.as_ref())
                    .same_as(&mutual(actual.mutual_authentication.as_ref())))
            && actions.is_some_and(|a| same_actions(&a, &actual.default_actions, &actual.arn, &self.ctx.sent_secrets))
    }
}

/// A rule has at most one transform of each type, so the set, not the order, is what counts.
fn same_transforms(desired: &[RuleTransform], actual: &[RuleTransform]) -> bool {
    let mut desired = desired.to_vec();
    let mut actual = actual.to_vec();
    desired.sort();
    actual.sort();
    desired == actual
}

fn is_secure(protocol: Protocol) -> bool {
    matches!(protocol, Protocol::Tls | Protocol::Https)
}

/// The certificate CreateListener and ModifyListener send: the first one desired.
pub(crate) fn default_certificate(listener: &ListenerSpec) -> Option<&str> {
    listener.certificates.first().filter(|_| is_secure(listener.protocol)).map(String::as_str)
}

/// The rest of a TLS or HTTPS listener's certificates, sorted, without the default one; none on
/// other listeners.
fn certificate_list(listener: &ListenerSpec) -> Vec<String> {
    let Some(default) = default_certificate(listener) else { return Vec::new() };
    let mut list: Vec<String> = listener.certificates.iter().filter(|c| *c != default).cloned().collect();
    list.sort();
    list.dedup();
    list
}

/// An action with target-group resource ids replaced by bound ARNs; `None` if one is unbound.
pub(crate) fn bind_action(action: &Action<ResourceId>, bindings: &BTreeMap<ResourceId, String>) -> Option<Action<Arn>> {
    Some(match action {
        Action::Forward { target_groups, stickiness } => Action::Forward {
            target_groups: target_groups
                .iter()
                .map(|w| {
                    Some(WeightedTargetGroup { target_group: bindings.get(&w.target_group)?.clone(), weight: w.weight })
                })
                .collect::<Option<Vec<_>>>()?,
            stickiness: *stickiness,
        },
        Action::Redirect { protocol, port, host, path, query, status_code } => Action::Redirect {
            protocol: protocol.clone(),
            port: port.clone(),
            host: host.clone(),
            path: path.clone(),
            query: query.clone(),
            status_code: status_code.clone(),
        },
        Action::FixedResponse { status_code, content_type, message_body } => Action::FixedResponse {
            status_code: status_code.clone(),
            content_type: content_type.clone(),
            message_body: message_body.clone(),
        },
        Action::AuthenticateOidc(config) => Action::AuthenticateOidc(config.clone()),
        Action::AuthenticateCognito(config) => Action::AuthenticateCognito(config.clone()),
        Action::JwtValidation(config) => Action::JwtValidation(config.clone()),
    })
}

#[cfg(test)]
mod tests {
    use elbow_cloud::Rule;
    use elbow_model::*;

    use crate::actual::*;
    use crate::plan::fixtures::*;
    use crate::plan::*;

    #[test]
    fn listener_rules_are_matched_by_priority() {
        let rule = |path: &str| RuleSpec {
            conditions: vec![RuleCondition::PathPattern(vec![path.into()])],
            actions: vec![Action::forward(ResourceId::new("TargetGroup/TCP-80"))],
            transforms: vec![],
        };
        let actual_rule = |priority: u32, path: &str| Rule {
            arn: format!("arn:rule/{priority}"),
            priority: Some(priority),
            conditions: vec![RuleCondition::PathPattern(vec![path.into()])],
            actions: vec![Action::forward("arn:tg/tg-31000".to_string())],
            transforms: vec![],
        };
        let mut desired = stack(Scheme::InternetFacing, 31000);
        desired.listeners[0].rules = vec![rule("/a"), rule("/b")];
        let mut actual = applied(&desired);
        actual.load_balancers[0]
            .rules
            .insert("arn:listener/80".into(), vec![actual_rule(1, "/a"), actual_rule(2, "/old"), actual_rule(3, "/x")]);
        let plan = plan(&desired, &actual, &ctx());
        assert_eq!(kinds(&plan), ["ModifyRule", "DeleteRule"]);
        assert!(matches!(&plan.steps[0], Step::ModifyRule { arn, .. } if arn == "arn:rule/2"));
        assert!(matches!(&plan.steps[1], Step::DeleteRule { arn, .. } if arn == "arn:rule/3"));

        let created = crate::plan::plan(&desired, &ActualStack::default(), &ctx());
        assert_eq!(
            kinds(&created),
            [
                "CreateTargetGroup",
                "RegisterTargets",
                "CreateLoadBalancer",
                "CreateListener",
                "CreateRule",
                "CreateRule"
            ]
        );
    }

    /// A TLS listener serving `desired` (default first), and the plan from one whose default
    /// certificate is `default` (as DescribeListeners reports it) with certificate list `list`.
    fn certificate_plan(desired: &[&str], reported: &[&str], list: &[&str]) -> Plan {
        let mut stack = stack(Scheme::InternetFacing, 31000);
        stack.listeners[0].protocol = Protocol::Tls;
        stack.listeners[0].ssl_policy = Some("ELBSecurityPolicy-2016-08".into());
        stack.listeners[0].certificates = desired.iter().map(|c| c.to_string()).collect();
        let mut actual = applied(&stack);
        let lb = &mut actual.load_balancers[0];
        lb.listeners[0].protocol = Protocol::Tls;
        lb.listeners[0].ssl_policy = Some("ELBSecurityPolicy-2016-08".into());
        lb.listeners[0].certificates = reported.iter().map(|c| c.to_string()).collect();
        lb.certificate_lists.insert("arn:listener/80".into(), list.iter().map(|c| c.to_string()).collect());
        plan(&stack, &actual, &ctx())
    }

    fn certificates_of(step: &Step) -> Vec<String> {
        match step {
            Step::AddListenerCertificates { certificates, .. }
            | Step::RemoveListenerCertificates { certificates, .. } => certificates.clone(),
            Step::ModifyListener { spec, .. } => spec.certificates.clone(),
            other => panic!("not a certificate step: {other:?}"),
        }
    }

    #[test]
    fn certificates_beyond_the_default_are_the_certificate_list_and_change_only_where_they_differ() {
        assert_eq!(certificate_plan(&["a", "b", "c"], &["a"], &["b", "c"]).steps, [], "as desired");
        // moto's DescribeListeners names the whole list, default first: only the first counts.
        assert_eq!(certificate_plan(&["a", "b", "c"], &["a", "b", "c"], &["b", "c"]).steps, []);

        let added = certificate_plan(&["a", "b", "c", "d"], &["a"], &["b", "c"]);
        assert_eq!(kinds(&added), ["AddListenerCertificates"]);
        assert_eq!(certificates_of(&added.steps[0]), ["d"]);

        let removed = certificate_plan(&["a", "c"], &["a"], &["b", "c"]);
        assert_eq!(kinds(&removed), ["RemoveListenerCertificates"]);
        assert_eq!(certificates_of(&removed.steps[0]), ["b"]);

        // A new default: it leaves the list first, then ModifyListener sets it (alone, with the
        // full settings); the old default joins the list afterwards if it is still wanted.
        let swapped = certificate_plan(&["c", "a"], &["a"], &["b", "c"]);
        assert_eq!(kinds(&swapped), ["RemoveListenerCertificates", "ModifyListener", "AddListenerCertificates"]);
        assert_eq!(certificates_of(&swapped.steps[0]), ["b", "c"]);
        assert!(matches!(&swapped.steps[1], Step::ModifyListener { spec, .. } if spec.certificates[0] == "c"));
        assert_eq!(certificates_of(&swapped.steps[2]), ["a"]);
    }

    #[test]
    fn a_new_listener_gets_its_certificate_list_right_after_it_is_created() {
        let mut desired = stack(Scheme::InternetFacing, 31000);
        desired.listeners[0].protocol = Protocol::Tls;
        desired.listeners[0].ssl_policy = Some("ELBSecurityPolicy-2016-08".into());
        desired.listeners[0].certificates = vec!["a".into(), "c".into(), "b".into(), "c".into()];
        let plan = crate::plan::plan(&desired, &ActualStack::default(), &ctx());
        assert_eq!(
            kinds(&plan),
            ["CreateTargetGroup", "RegisterTargets", "CreateLoadBalancer", "CreateListener", "AddListenerCertificates"]
        );
        assert_eq!(certificates_of(&plan.steps[4]), ["b", "c"], "sorted, once each, without the default");

        // A plain listener has no certificate list, whatever the spec carries.
        desired.listeners[0].protocol = Protocol::Tcp;
        let plan = crate::plan::plan(&desired, &ActualStack::default(), &ctx());
        assert!(!kinds(&plan).contains(&"AddListenerCertificates".to_string()));
    }
}
