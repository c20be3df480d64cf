//! The fake's EC2: the network Elbow reads (VPCs, subnets, instances) and the security groups
//! and tagged ingress rules it manages.

use std::collections::{BTreeMap, BTreeSet};

use elbow_model::{IngressRule, RuleSource, SecurityGroupRef, Tags};

use super::names::ec2_suffix;
use crate::api::Api;
use crate::error::{CloudError, CloudErrorKind, CloudResult};
use crate::types::*;

fn fail(api: Api, kind: CloudErrorKind, code: &str, message: impl Into<String>) -> CloudError {
    CloudError::new(api, kind, code, message)
}

#[derive(Debug, Default)]
pub(crate) struct Ec2 {
    next: u64,
    pub(crate) vpcs: BTreeSet<String>,
    pub(crate) subnets: BTreeMap<String, Subnet>,
    pub(crate) instances: BTreeMap<String, Instance>,
    pub(crate) groups: BTreeMap<String, SecurityGroup>,
    /// Ingress rules by rule id.
    pub(crate) rules: BTreeMap<String, SecurityGroupRule>,
}

impl Ec2 {
    fn next_suffix(&mut self) -> String {
        self.next += 1;
        ec2_suffix(self.next)
    }

    pub(crate) fn describe_subnets(&self, vpc_id: &str) -> Vec<Subnet> {
        self.subnets.values().filter(|s| s.vpc_id == vpc_id).cloned().collect()
    }

    pub(crate) fn describe_instances(&self, ids: &[String]) -> Vec<Instance> {
        ids.iter().filter_map(|id| self.instances.get(id).cloned()).collect()
    }

    pub(crate) fn describe_security_groups(
        &self,
        api: Api,
        filter: &SecurityGroupFilter,
    ) -> CloudResult<Vec<SecurityGroup>> {
        Ok(match filter {
            SecurityGroupFilter::Ids(ids) => {
                if let Some(missing) = ids.iter().find(|id| !self.groups.contains_key(*id)) {
                    return Err(group_not_found(api, missing));
                }
                ids.iter().filter_map(|id| self.groups.get(id).cloned()).collect()
            }
            SecurityGroupFilter::Tag { key, value } => self
                .groups
                .values()
                .filter(|g| g.tags.get(key).is_some_and(|v| value.as_ref().is_none_or(|wanted| wanted == v)))
                .cloned()
                .collect(),
            SecurityGroupFilter::Vpc(vpc) => self.groups.values().filter(|g| &g.vpc_id == vpc).cloned().collect(),
        })
    }

    pub(crate) fn describe_security_group_rules(&self, filter: &SecurityGroupRuleFilter) -> Vec<SecurityGroupRule> {
        self.rules
            .values()
            .filter(|r| match filter {
                SecurityGroupRuleFilter::Group(group_id) => &r.group_id == group_id,
                SecurityGroupRuleFilter::Tag { key, value } => r.tags.get(key) == Some(value),
            })
            .cloned()
            .collect()
    }

    pub(crate) fn create_security_group(
        &mut self,
        api: Api,
        name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        if !self.vpcs.is_empty() && !self.vpcs.contains(vpc_id) {
            return Err(fail(
                api,
                CloudErrorKind::NotFound,
                "InvalidVpcID.NotFound",
                format!("the vpc ID '{vpc_id}' does not exist"),
            ));
        }
        if self.groups.values().any(|g| g.vpc_id == vpc_id && g.group_name == name) {
            return Err(fail(
                api,
                CloudErrorKind::Duplicate,
                "InvalidGroup.Duplicate",
                format!("the security group '{name}' already exists for VPC '{vpc_id}'"),
            ));
        }
        let id = format!("sg-{}", self.next_suffix());
        self.groups.insert(
            id.clone(),
            SecurityGroup {
                id: id.clone(),
                group_name: name.to_string(),
                description: description.to_string(),
                vpc_id: vpc_id.to_string(),
                tags: tags.clone(),
            },
        );
        Ok(id)
    }

    /// `in_use_by_load_balancer` says whether a load balancer still has the group attached.
    pub(crate) fn delete_security_group(
        &mut self,
        api: Api,
        group_id: &str,
        in_use_by_load_balancer: bool,
    ) -> CloudResult<()> {
        if !self.groups.contains_key(group_id) {
            return Err(group_not_found(api, group_id));
        }
        let referenced = self.rules.values().any(|r| {
            r.group_id != group_id
                && r.rule.source == RuleSource::SecurityGroup(SecurityGroupRef::Existing(group_id.to_string()))
        });
        if in_use_by_load_balancer || referenced {
            return Err(fail(
                api,
                CloudErrorKind::InUse,
                "DependencyViolation",
                format!("resource {group_id} has a dependent object"),
            ));
        }
        self.groups.remove(group_id);
        self.rules.retain(|_, r| r.group_id != group_id);
        Ok(())
    }

    pub(crate) fn authorize_ingress(
        &mut self,
        api: Api,
        group_id: &str,
        rules: &[NewIngressRule],
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        if !self.groups.contains_key(group_id) {
            return Err(group_not_found(api, group_id));
        }
        let existing: Vec<&IngressRule> =
            self.rules.values().filter(|r| r.group_id == group_id).map(|r| &r.rule).collect();
        let mut seen: Vec<&IngressRule> = Vec::new();
        for new in rules {
            if let RuleSource::SecurityGroup(reference) = &new.rule.source {
                match reference {
                    SecurityGroupRef::Existing(source) if self.groups.contains_key(source) => {}
                    SecurityGroupRef::Existing(source) => return Err(group_not_found(api, source)),
                    other => {
                        return Err(fail(
                            api,
                            CloudErrorKind::InvalidRequest,
                            "InvalidParameterValue",
                            format!("unresolved security group reference {other:?}"),
                        ));
                    }
                }
            }
            if existing.iter().chain(seen.iter()).any(|r| same_permission(r, &new.rule)) {
                return Err(fail(
                    api,
                    CloudErrorKind::Duplicate,
                    "InvalidPermission.Duplicate",
                    format!("the specified rule already exists in {group_id}"),
                ));
            }
            seen.push(&new.rule);
        }
        let mut created = Vec::new();
        for new in rules {
            let rule = SecurityGroupRule {
                rule_id: format!("sgr-{}", self.next_suffix()),
                group_id: group_id.to_string(),
                rule: new.rule.clone(),
                tags: new.tags.clone(),
            };
            self.rules.insert(rule.rule_id.clone(), rule.clone());
            created.push(rule);
        }
        Ok(created)
    }

    pub(crate) fn revoke_ingress(&mut self, api: Api, group_id: &str, rule_ids: &[String]) -> CloudResult<()> {
        if let Some(missing) = rule_ids.iter().find(|id| self.rules.get(*id).is_none_or(|r| r.group_id != group_id)) {
            return Err(fail(
                api,
                CloudErrorKind::NotFound,
                "InvalidSecurityGroupRuleId.NotFound",
                format!("security group rule {missing} does not exist"),
            ));
        }
        for id in rule_ids {
            self.rules.remove(id);
        }
        Ok(())
    }

    pub(crate) fn tags_mut(&mut self, api: Api, resource_id: &str) -> CloudResult<&mut Tags> {
        if let Some(group) = self.groups.get_mut(resource_id) {
            return Ok(&mut group.tags);
        }
        if let Some(rule) = self.rules.get_mut(resource_id) {
            return Ok(&mut rule.tags);
        }
        Err(fail(api, CloudErrorKind::NotFound, "InvalidID", format!("the ID '{resource_id}' is not valid")))
    }

    pub(crate) fn tags_of(&self, resource_id: &str) -> Option<Tags> {
        self.groups
            .get(resource_id)
            .map(|g| g.tags.clone())
            .or_else(|| self.rules.get(resource_id).map(|r| r.tags.clone()))
    }
}

/// Two permissions are the same when they admit the same traffic; descriptions do not count.
fn same_permission(a: &IngressRule, b: &IngressRule) -> bool {
    a.ip_protocol == b.ip_protocol && a.from_port == b.from_port && a.to_port == b.to_port && a.source == b.source
}

fn group_not_found(api: Api, id: &str) -> CloudError {
    fail(api, CloudErrorKind::NotFound, "InvalidGroup.NotFound", format!("the security group '{id}' does not exist"))
}
