//! The fake's EC2: the network Elbow reads (VPCs, subnets, instances) and the security groups
//! and tagged ingress rules it manages. Groups are indexed by name per VPC, rules by group, and
//! cross-group references are counted, so no call scans every rule of the account.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use elbow_model::{IngressRule, RuleSource, SecurityGroupRef, Tags};

use super::names::ec2_suffix;
use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudError, CloudErrorKind, CloudResult};
use elbow_cloud::types::*;

/// EC2's limit on tags per resource, tags whose key starts with `aws:` aside.
const MAX_TAGS_PER_RESOURCE: usize = 50;
/// EC2's default quota of inbound rules per security group ("Inbound or outbound rules per
/// security group": 60, adjustable up to 1,000).
const DEFAULT_RULES_PER_GROUP: usize = 60;

fn fail(api: Api, kind: CloudErrorKind, code: &str, message: impl Into<String>) -> CloudError {
    CloudError::new(api, kind, code, message)
}

#[derive(Debug, Default)]
pub(crate) struct Ec2 {
    next: u64,
    vpcs: BTreeSet<String>,
    subnets: BTreeMap<String, Subnet>,
    instances: BTreeMap<String, Instance>,
    groups: BTreeMap<String, SecurityGroup>,
    /// Group ids by (VPC, group name): names are unique per VPC.
    group_by_name: HashMap<(String, String), String>,
    /// Ingress rules by rule id.
    rules: BTreeMap<String, SecurityGroupRule>,
    /// Rule ids of each group.
    group_rules: HashMap<String, BTreeSet<String>>,
    /// The permissions each group grants, to refuse a duplicate without reading every rule.
    group_permissions: HashMap<String, HashSet<Permission>>,
    /// How many rules of other groups name each group as their source: such a group is in use.
    references: HashMap<String, usize>,
    /// Ingress rules per group; `None` for EC2's default quota, 60 (adjustable up to 1,000).
    pub(crate) rules_per_group: Option<usize>,
    /// Managed prefix lists, with their maximum number of entries: a rule naming one counts as
    /// that many rules against the group's limit, as on AWS.
    prefix_lists: HashMap<String, usize>,
    /// Allocation ids of the account's Elastic IPs (which load balancer holds one is the ELBv2
    /// half's to say).
    elastic_ips: BTreeSet<String>,
}

impl Ec2 {
    fn next_suffix(&mut self) -> String {
        self.next += 1;
        ec2_suffix(self.next)
    }

    // ---- seeding ----

    pub(crate) fn seed_vpc(&mut self, vpc_id: &str) {
        self.vpcs.insert(vpc_id.to_string());
    }

    /// A subnet, an instance or a group implies that its VPC exists.
    pub(crate) fn seed_subnet(&mut self, subnet: Subnet) {
        self.vpcs.insert(subnet.vpc_id.clone());
        self.subnets.insert(subnet.id.clone(), subnet);
    }

    pub(crate) fn seed_instance(&mut self, instance: Instance) {
        self.vpcs.insert(instance.vpc_id.clone());
        self.instances.insert(instance.id.clone(), instance);
    }

    pub(crate) fn remove_instance(&mut self, instance_id: &str) {
        self.instances.remove(instance_id);
    }

    pub(crate) fn seed_prefix_list(&mut self, id: &str, max_entries: usize) {
        self.prefix_lists.insert(id.to_string(), max_entries.max(1));
    }

    /// How many rules a permission counts as against its group's limit.
    fn weight(&self, source: &RuleSource) -> usize {
        match source {
            RuleSource::PrefixList(id) => self.prefix_lists.get(id).copied().unwrap_or(1),
            _ => 1,
        }
    }

    pub(crate) fn seed_group(&mut self, group: SecurityGroup) {
        if let Some(old) = self.groups.get(&group.id) {
            self.group_by_name.remove(&(old.vpc_id.clone(), old.group_name.clone()));
        }
        self.vpcs.insert(group.vpc_id.clone());
        self.group_by_name.insert((group.vpc_id.clone(), group.group_name.clone()), group.id.clone());
        self.groups.insert(group.id.clone(), group);
    }

    // ---- lookups for the other half of the fake ----

    pub(crate) fn seed_elastic_ip(&mut self, allocation_id: &str) {
        self.elastic_ips.insert(allocation_id.to_string());
    }

    pub(crate) fn elastic_ip_exists(&self, allocation_id: &str) -> bool {
        self.elastic_ips.contains(allocation_id)
    }

    /// A public address derived from the allocation id, stable for the id (from the documentation
    /// range 198.51.100.0/24, so it can reach nothing).
    pub(crate) fn elastic_ip_address(&self, allocation_id: &str) -> String {
        let last = allocation_id.bytes().fold(0u8, |sum, b| sum.wrapping_add(b));
        format!("198.51.100.{last}")
    }

    pub(crate) fn subnet(&self, id: &str) -> Option<&Subnet> {
        self.subnets.get(id)
    }

    pub(crate) fn group(&self, id: &str) -> Option<&SecurityGroup> {
        self.groups.get(id)
    }

    /// Only running instances can be registered as targets.
    /// Whether `address` lies in one of `vpc_id`'s subnets (by their CIDR blocks).
    pub(crate) fn in_subnet_of(&self, vpc_id: &str, address: std::net::Ipv4Addr) -> bool {
        self.subnets.values().filter(|s| s.vpc_id == vpc_id).any(|s| {
            let Some((base, bits)) = s.cidr_block.split_once('/') else { return false };
            let (Ok(base), Ok(bits)) = (base.parse::<std::net::Ipv4Addr>(), bits.parse::<u32>()) else { return false };
            let mask = u32::MAX.checked_shl(32 - bits.min(32)).unwrap_or(0);
            u32::from(address) & mask == u32::from(base) & mask
        })
    }

    pub(crate) fn instance_is_running(&self, id: &str) -> bool {
        self.instances.get(id).is_some_and(|i| i.state == "running")
    }

    pub(crate) fn groups(&self) -> Vec<SecurityGroup> {
        self.groups.values().cloned().collect()
    }

    // ---- describe ----

    /// By filter, as Elbow asks: unknown ids are left out.
    pub(crate) fn describe_vpcs(&self, ids: &[String]) -> Vec<String> {
        ids.iter().filter(|id| self.vpcs.contains(id.as_str())).cloned().collect()
    }

    pub(crate) fn describe_subnets(&self, vpc_id: &str) -> Vec<Subnet> {
        self.subnets.values().filter(|s| s.vpc_id == vpc_id).cloned().collect()
    }

    /// Unknown ids are left out (Elbow asks by filter, not by id).
    pub(crate) fn describe_instances(&self, ids: &[String]) -> Vec<Instance> {
        ids.iter().filter_map(|id| self.instances.get(id).cloned()).collect()
    }

    /// By id an unknown group fails the request (`InvalidGroup.NotFound`); by tag or VPC it is a
    /// listing.
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
            SecurityGroupFilter::NamedInVpc { vpc_id, names } => self
                .groups
                .values()
                .filter(|g| &g.vpc_id == vpc_id && g.tags.get("Name").is_some_and(|name| names.contains(name)))
                .cloned()
                .collect(),
        })
    }

    /// Ingress rules only; the default egress rule is not modelled.
    pub(crate) fn describe_security_group_rules(&self, filter: &SecurityGroupRuleFilter) -> Vec<SecurityGroupRule> {
        match filter {
            SecurityGroupRuleFilter::Group(group_id) => self
                .group_rules
                .get(group_id)
                .into_iter()
                .flatten()
                .filter_map(|id| self.rules.get(id).cloned())
                .collect(),
            SecurityGroupRuleFilter::Tag { key, value } => {
                self.rules.values().filter(|r| r.tags.get(key) == Some(value)).cloned().collect()
            }
        }
    }

    // ---- groups ----

    pub(crate) fn create_security_group(
        &mut self,
        api: Api,
        name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        if !self.vpcs.contains(vpc_id) {
            return Err(fail(
                api,
                CloudErrorKind::NotFound,
                "InvalidVpcID.NotFound",
                format!("the vpc ID '{vpc_id}' does not exist"),
            ));
        }
        if self.group_by_name.contains_key(&(vpc_id.to_string(), name.to_string())) {
            return Err(fail(
                api,
                CloudErrorKind::Duplicate,
                "InvalidGroup.Duplicate",
                format!("the security group '{name}' already exists for VPC '{vpc_id}'"),
            ));
        }
        let id = format!("sg-{}", self.next_suffix());
        self.seed_group(SecurityGroup {
            id: id.clone(),
            group_name: name.to_string(),
            description: description.to_string(),
            vpc_id: vpc_id.to_string(),
            tags: tags.clone(),
        });
        Ok(id)
    }

    /// `in_use_by_load_balancer` says whether a load balancer still has the group attached; a
    /// group named by another group's rule or attached to an instance is in use too.
    pub(crate) fn delete_security_group(
        &mut self,
        api: Api,
        group_id: &str,
        in_use_by_load_balancer: bool,
    ) -> CloudResult<()> {
        if !self.groups.contains_key(group_id) {
            return Err(group_not_found(api, group_id));
        }
        let referenced = self.references.get(group_id).is_some_and(|n| *n > 0);
        // A scan, but over instances (nodes), not over load balancers or rules.
        let on_instance = self.instances.values().any(|i| i.security_groups.iter().any(|g| g == group_id));
        if in_use_by_load_balancer || referenced || on_instance {
            return Err(fail(
                api,
                CloudErrorKind::InUse,
                "DependencyViolation",
                format!("resource {group_id} has a dependent object"),
            ));
        }
        if let Some(group) = self.groups.remove(group_id) {
            self.group_by_name.remove(&(group.vpc_id, group.group_name));
        }
        self.group_permissions.remove(group_id);
        for rule_id in self.group_rules.remove(group_id).unwrap_or_default() {
            if let Some(rule) = self.rules.remove(&rule_id) {
                self.count_reference(&rule, -1);
            }
        }
        Ok(())
    }

    // ---- rules ----

    /// All rules or none: each source group and prefix list must exist, and a permission the group
    /// already has (or that the request names twice) is `InvalidPermission.Duplicate`.
    pub(crate) fn authorize_ingress(
        &mut self,
        api: Api,
        group_id: &str,
        rules: &[NewIngressRule],
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        if !self.groups.contains_key(group_id) {
            return Err(group_not_found(api, group_id));
        }
        let existing = self.group_permissions.get(group_id);
        let in_use: usize = existing.into_iter().flatten().map(|p| self.weight(&p.source)).sum();
        let asked: usize = rules.iter().map(|r| self.weight(&r.rule.source)).sum();
        let limit = self.rules_per_group.unwrap_or(DEFAULT_RULES_PER_GROUP);
        if in_use + asked > limit {
            return Err(fail(
                api,
                CloudErrorKind::LimitExceeded,
                "RulesPerSecurityGroupLimitExceeded",
                format!("the maximum number of rules per security group ({limit}) has been reached"),
            ));
        }
        let mut seen = HashSet::new();
        for new in rules {
            if let RuleSource::PrefixList(id) = &new.rule.source
                && !self.prefix_lists.contains_key(id)
            {
                return Err(fail(
                    api,
                    CloudErrorKind::NotFound,
                    "InvalidPrefixListId.NotFound",
                    format!("The prefix list ID '{id}' does not exist"),
                ));
            }
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
            let permission = Permission::of(&new.rule);
            if existing.is_some_and(|granted| granted.contains(&permission)) || !seen.insert(permission) {
                return Err(fail(
                    api,
                    CloudErrorKind::Duplicate,
                    "InvalidPermission.Duplicate",
                    format!("the specified rule already exists in {group_id}"),
                ));
            }
        }
        let mut created = Vec::new();
        for new in rules {
            let rule = SecurityGroupRule {
                rule_id: format!("sgr-{}", self.next_suffix()),
                group_id: group_id.to_string(),
                rule: new.rule.clone(),
                tags: new.tags.clone(),
            };
            self.count_reference(&rule, 1);
            self.group_permissions.entry(group_id.to_string()).or_default().insert(Permission::of(&rule.rule));
            self.group_rules.entry(group_id.to_string()).or_default().insert(rule.rule_id.clone());
            self.rules.insert(rule.rule_id.clone(), rule.clone());
            created.push(rule);
        }
        Ok(created)
    }

    /// By rule id; all ids must be rules of this group.
    pub(crate) fn revoke_ingress(&mut self, api: Api, group_id: &str, rule_ids: &[String]) -> CloudResult<()> {
        if !self.groups.contains_key(group_id) {
            return Err(group_not_found(api, group_id));
        }
        if let Some(missing) = rule_ids.iter().find(|id| self.rules.get(*id).is_none_or(|r| r.group_id != group_id)) {
            return Err(fail(
                api,
                CloudErrorKind::NotFound,
                "InvalidSecurityGroupRuleId.NotFound",
                format!("security group rule {missing} does not exist"),
            ));
        }
        for id in rule_ids {
            if let Some(rule) = self.rules.remove(id) {
                self.count_reference(&rule, -1);
                if let Some(granted) = self.group_permissions.get_mut(group_id) {
                    granted.remove(&Permission::of(&rule.rule));
                }
            }
            if let Some(ids) = self.group_rules.get_mut(group_id) {
                ids.remove(id);
            }
        }
        Ok(())
    }

    /// A rule naming another group as its source keeps that group in use.
    fn count_reference(&mut self, rule: &SecurityGroupRule, delta: isize) {
        if let RuleSource::SecurityGroup(SecurityGroupRef::Existing(source)) = &rule.rule.source
            && source != &rule.group_id
        {
            let count = self.references.entry(source.clone()).or_default();
            *count = count.saturating_add_signed(delta);
            if *count == 0 {
                self.references.remove(source);
            }
        }
    }

    // ---- tags ----

    /// All ids must exist before any is tagged, and none may end up with more than 50 tags.
    pub(crate) fn create_tags(&mut self, api: Api, resource_ids: &[String], tags: &Tags) -> CloudResult<()> {
        self.check_taggable(api, resource_ids)?;
        for id in resource_ids {
            let current = self.tags_of(id).unwrap_or_default();
            let after = current.keys().chain(tags.keys()).filter(|k| !k.starts_with("aws:")).collect::<BTreeSet<_>>();
            if after.len() > MAX_TAGS_PER_RESOURCE {
                return Err(fail(
                    api,
                    CloudErrorKind::LimitExceeded,
                    "TagLimitExceeded",
                    format!("the maximum number of tags ({MAX_TAGS_PER_RESOURCE}) for resource {id} has been reached"),
                ));
            }
        }
        for id in resource_ids {
            if let Some(current) = self.tags_mut(id) {
                current.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        Ok(())
    }

    pub(crate) fn delete_tags(&mut self, api: Api, resource_ids: &[String], keys: &[String]) -> CloudResult<()> {
        self.check_taggable(api, resource_ids)?;
        for id in resource_ids {
            if let Some(current) = self.tags_mut(id) {
                for key in keys {
                    current.remove(key);
                }
            }
        }
        Ok(())
    }

    fn check_taggable(&self, api: Api, resource_ids: &[String]) -> CloudResult<()> {
        match resource_ids.iter().find(|id| !self.groups.contains_key(*id) && !self.rules.contains_key(*id)) {
            Some(missing) => {
                Err(fail(api, CloudErrorKind::NotFound, "InvalidID", format!("the ID '{missing}' is not valid")))
            }
            None => Ok(()),
        }
    }

    fn tags_mut(&mut self, resource_id: &str) -> Option<&mut Tags> {
        if let Some(group) = self.groups.get_mut(resource_id) {
            return Some(&mut group.tags);
        }
        self.rules.get_mut(resource_id).map(|rule| &mut rule.tags)
    }

    pub(crate) fn tags_of(&self, resource_id: &str) -> Option<Tags> {
        self.groups
            .get(resource_id)
            .map(|g| g.tags.clone())
            .or_else(|| self.rules.get(resource_id).map(|r| r.tags.clone()))
    }
}

/// What a rule admits: two rules admitting the same traffic are the same permission, whatever
/// their descriptions say.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Permission {
    ip_protocol: String,
    from_port: u16,
    to_port: u16,
    source: RuleSource,
}

impl Permission {
    fn of(rule: &IngressRule) -> Self {
        Self {
            ip_protocol: rule.ip_protocol.clone(),
            from_port: rule.from_port,
            to_port: rule.to_port,
            source: rule.source.clone(),
        }
    }
}

fn group_not_found(api: Api, id: &str) -> CloudError {
    fail(api, CloudErrorKind::NotFound, "InvalidGroup.NotFound", format!("the security group '{id}' does not exist"))
}
