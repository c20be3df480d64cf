//! The EC2 half of the SDK implementation: the network Elbow reads and the security groups and
//! tagged rules it manages.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{self as ec2, ResourceType};
use elbow_cloud::*;
use elbow_model::Tags;

use crate::convert::{ec2_tags, filter, ip_permission, security_group_rule, tag_specifications};
use crate::errors::classify;

/// Values per EC2 filter that one request may carry.
const FILTER_VALUES: usize = 200;

pub(crate) struct Ec2 {
    pub(crate) client: Client,
    pub(crate) calls: Arc<CallCounter>,
}

impl Ec2 {
    fn count(&self, api: Api) -> Api {
        self.calls.record(api);
        api
    }

    /// One request: Elbow asks about its own VPC only, far below a page.
    pub(crate) async fn describe_vpcs(&self, ids: &[String]) -> CloudResult<Vec<String>> {
        let api = self.count(Api::DescribeVpcs);
        let answer = self
            .client
            .describe_vpcs()
            .filters(filter("vpc-id", ids.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(answer.vpcs().iter().filter_map(|v| v.vpc_id().map(str::to_string)).collect())
    }

    /// DescribeAddresses is not paged; the ids go in batches of the filter's limit.
    pub(crate) async fn describe_elastic_ips(&self, allocation_ids: &[String]) -> CloudResult<Vec<ElasticIp>> {
        let mut found = Vec::new();
        for batch in allocation_ids.chunks(FILTER_VALUES) {
            let api = self.count(Api::DescribeAddresses);
            let answer = self
                .client
                .describe_addresses()
                .filters(filter("allocation-id", batch.to_vec()))
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            found.extend(answer.addresses().iter().filter_map(|a| {
                Some(ElasticIp {
                    allocation_id: a.allocation_id()?.to_string(),
                    public_ip: a.public_ip().unwrap_or_default().to_string(),
                    association_id: a.association_id().map(str::to_string),
                    instance_id: a.instance_id().filter(|id| !id.is_empty()).map(str::to_string),
                })
            }));
        }
        Ok(found)
    }

    pub(crate) async fn describe_subnets(&self, vpc_id: &str) -> CloudResult<Vec<Subnet>> {
        let mut token = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::DescribeSubnets);
            let page = self
                .client
                .describe_subnets()
                .filters(filter("vpc-id", vec![vpc_id.to_string()]))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            found.extend(page.subnets().iter().filter_map(|s| {
                Some(Subnet {
                    id: s.subnet_id()?.to_string(),
                    vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                    availability_zone: s.availability_zone().unwrap_or_default().to_string(),
                    cidr_block: s.cidr_block().unwrap_or_default().to_string(),
                    ipv6_cidr_blocks: ipv6_cidrs(s),
                    tags: ec2_tags(s.tags()),
                })
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    /// By filter rather than by id, so unknown ids are left out instead of failing the request;
    /// 200 ids per request, as EC2 takes at most 200 filter values per call (FilterLimitExceeded).
    pub(crate) async fn describe_instances(&self, ids: &[String]) -> CloudResult<Vec<Instance>> {
        let mut found = Vec::new();
        for batch in ids.chunks(FILTER_VALUES) {
            found.extend(self.describe_instance_batch(batch).await?);
        }
        Ok(found)
    }

    async fn describe_instance_batch(&self, ids: &[String]) -> CloudResult<Vec<Instance>> {
        let mut token = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::DescribeInstances);
            let page = self
                .client
                .describe_instances()
                .filters(filter("instance-id", ids.to_vec()))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            for reservation in page.reservations() {
                found.extend(reservation.instances().iter().filter_map(|i| {
                    Some(Instance {
                        id: i.instance_id()?.to_string(),
                        vpc_id: i.vpc_id().unwrap_or_default().to_string(),
                        availability_zone: i
                            .placement()
                            .and_then(|p| p.availability_zone())
                            .unwrap_or_default()
                            .to_string(),
                        state: i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()).unwrap_or_default(),
                        security_groups: i
                            .security_groups()
                            .iter()
                            .filter_map(|g| g.group_id().map(str::to_string))
                            .collect(),
                    })
                }));
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    pub(crate) async fn describe_security_groups(&self, by: SecurityGroupFilter) -> CloudResult<Vec<SecurityGroup>> {
        let mut token = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::DescribeSecurityGroups);
            let mut request = self.client.describe_security_groups().set_next_token(token.clone());
            request = match &by {
                SecurityGroupFilter::Ids(ids) => request.set_group_ids(Some(ids.clone())),
                SecurityGroupFilter::Tag { key, value: Some(value) } => {
                    request.filters(filter(&format!("tag:{key}"), vec![value.clone()]))
                }
                SecurityGroupFilter::Tag { key, value: None } => request.filters(filter("tag-key", vec![key.clone()])),
                SecurityGroupFilter::Vpc(vpc) => request.filters(filter("vpc-id", vec![vpc.clone()])),
                SecurityGroupFilter::NamedInVpc { vpc_id, names } => {
                    request.filters(filter("vpc-id", vec![vpc_id.clone()])).filters(filter("tag:Name", names.clone()))
                }
            };
            let page = request.send().await.map_err(|e| classify(api, e))?;
            found.extend(page.security_groups().iter().filter_map(|g| {
                Some(SecurityGroup {
                    id: g.group_id()?.to_string(),
                    group_name: g.group_name().unwrap_or_default().to_string(),
                    description: g.description().unwrap_or_default().to_string(),
                    vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                    tags: ec2_tags(g.tags()),
                })
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    pub(crate) async fn describe_security_group_rules(
        &self,
        by: SecurityGroupRuleFilter,
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        let filter = match &by {
            SecurityGroupRuleFilter::Group(id) => filter("group-id", vec![id.clone()]),
            SecurityGroupRuleFilter::Tag { key, value } => filter(&format!("tag:{key}"), vec![value.clone()]),
        };
        let mut token = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::DescribeSecurityGroupRules);
            let page = self
                .client
                .describe_security_group_rules()
                .filters(filter.clone())
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            found.extend(page.security_group_rules().iter().filter_map(security_group_rule));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    pub(crate) async fn create_security_group(
        &self,
        name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        let api = self.count(Api::CreateSecurityGroup);
        let out = self
            .client
            .create_security_group()
            .group_name(name)
            .description(description)
            .vpc_id(vpc_id)
            .set_tag_specifications(tag_specifications(ResourceType::SecurityGroup, tags))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        out.group_id()
            .map(str::to_string)
            .ok_or_else(|| CloudError::new(api, CloudErrorKind::Other, "", "no group id in the answer"))
    }

    pub(crate) async fn delete_security_group(&self, group_id: &str) -> CloudResult<()> {
        let api = self.count(Api::DeleteSecurityGroup);
        self.client.delete_security_group().group_id(group_id).send().await.map_err(|e| classify(api, e))?;
        Ok(())
    }

    /// EC2 tags every rule of one request alike, so rules are sent in one request per tag set
    /// (Elbow's rules of one group share their tags, so that is one request in practice).
    pub(crate) async fn authorize_ingress(
        &self,
        group_id: &str,
        rules: &[NewIngressRule],
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        let mut by_tags: BTreeMap<&Tags, Vec<&NewIngressRule>> = BTreeMap::new();
        for rule in rules {
            by_tags.entry(&rule.tags).or_default().push(rule);
        }
        let mut created = Vec::new();
        for (tags, batch) in by_tags {
            let api = self.count(Api::AuthorizeSecurityGroupIngress);
            let permissions: Vec<ec2::IpPermission> = batch.iter().map(|r| ip_permission(&r.rule)).collect();
            let out = self
                .client
                .authorize_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(permissions))
                .set_tag_specifications(tag_specifications(ResourceType::SecurityGroupRule, tags))
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            let answered: Vec<SecurityGroupRule> =
                out.security_group_rules().iter().filter_map(security_group_rule).collect();
            if answered.len() < batch.len() {
                // Every rule was created (the request is all or nothing), but the answer names
                // fewer (moto names only the last of several prefix-list rules): read the group's
                // rules and take the ones asked for, so that none is taken for missing later.
                let rules =
                    self.describe_security_group_rules(SecurityGroupRuleFilter::Group(group_id.to_string())).await?;
                created.extend(
                    rules.into_iter().filter(|r| batch.iter().any(|asked| same_permission(&asked.rule, &r.rule))),
                );
            } else {
                created.extend(answered);
            }
        }
        // Report rules in the order they were asked for, whatever order EC2 answered in.
        created.sort_by_key(|r| {
            rules.iter().position(|asked| {
                asked.rule.source == r.rule.source
                    && asked.rule.from_port == r.rule.from_port
                    && asked.rule.ip_protocol == r.rule.ip_protocol
            })
        });
        Ok(created)
    }

    pub(crate) async fn revoke_ingress(&self, group_id: &str, rule_ids: &[String]) -> CloudResult<()> {
        let api = self.count(Api::RevokeSecurityGroupIngress);
        self.client
            .revoke_security_group_ingress()
            .group_id(group_id)
            .set_security_group_rule_ids(Some(rule_ids.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn create_tags(&self, ids: &[String], tags: &Tags) -> CloudResult<()> {
        let api = self.count(Api::CreateTags);
        self.client
            .create_tags()
            .set_resources(Some(ids.to_vec()))
            .set_tags(Some(tags.iter().map(|(k, v)| ec2::Tag::builder().key(k).value(v).build()).collect()))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn delete_tags(&self, ids: &[String], keys: &[String]) -> CloudResult<()> {
        let api = self.count(Api::DeleteTags);
        self.client
            .delete_tags()
            .set_resources(Some(ids.to_vec()))
            .set_tags(Some(keys.iter().map(|k| ec2::Tag::builder().key(k).build()).collect()))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }
}

/// The same permission: what EC2 tells rules apart by (a description is not part of it).
fn same_permission(a: &elbow_model::IngressRule, b: &elbow_model::IngressRule) -> bool {
    (&a.ip_protocol, a.from_port, a.to_port, &a.source) == (&b.ip_protocol, b.from_port, b.to_port, &b.source)
}

/// The IPv6 blocks associated with a subnet. A block being associated or disassociated is left
/// out: no address of it can be given to a load balancer.
fn ipv6_cidrs(subnet: &ec2::Subnet) -> Vec<String> {
    subnet
        .ipv6_cidr_block_association_set()
        .iter()
        .filter(|a| {
            a.ipv6_cidr_block_state()
                .and_then(|s| s.state())
                .is_none_or(|s| *s == ec2::SubnetCidrBlockStateCode::Associated)
        })
        .filter_map(|a| a.ipv6_cidr_block().map(str::to_string))
        .collect()
}
