//! An in-memory ELBv2 and EC2 (and the WAF and Shield calls about load balancers, see `addons`,
//! and ACM's certificate listing, see `acm`)
//! for tests, the playground and benchmarks.
//!
//! It keeps the rules of the real services that shape Elbow's code: unique names and AWS's
//! idempotent repeated creates, resources in use that cannot be deleted, a target group serving
//! one network load balancer, quotas, tagged security-group rules, "not found" answers. It counts
//! every request (pages and batches included) in a [`CallCounter`] and fails chosen requests on
//! demand ([`Failure`]), before or after they take effect. Like moto, every target is healthy
//! (unless a test sets its health, [`FakeCloud::set_target_health`]), and a
//! new load balancer is `provisioning` in the create answer and `active` in every describe.
//!
//! Seeding and inspection methods bypass the counter and the failures: they are the test's hands
//! and eyes, not Elbow's calls.

mod acm;
mod addons;
mod ec2;
mod elbv2;
mod failures;
mod names;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use elbow_model::inventory::cidr_contains;
use elbow_model::{Attributes, HealthCheck, IpAddressType, LoadBalancerType, Scheme, SubnetAddresses, Tags, Target};

pub use addons::WebAclScope;
pub use elbv2::Health;
pub use failures::Failure;

use ec2::Ec2;
use elbow_cloud::Cloud;
use elbow_cloud::api::Api;
use elbow_cloud::counter::CallCounter;
use elbow_cloud::error::{CloudError, CloudErrorKind, CloudResult};
use elbow_cloud::types::*;
use elbv2::Elbv2;
use failures::Failures;

/// AWS's page size for DescribeLoadBalancers and DescribeTargetGroups.
const DEFAULT_PAGE_SIZE: usize = 400;
const DESCRIBE_TAGS_BATCH: usize = 20;
/// DescribeLoadBalancers takes at most 20 ARNs per request.
const DESCRIBE_ARNS_BATCH: usize = 20;
const TARGETS_BATCH: usize = 200;
/// EC2 takes at most 200 filter values per request.
const INSTANCES_BATCH: usize = 200;
/// ACM's largest ListCertificates page.
const CERTIFICATES_PAGE_SIZE: usize = 1000;
/// WAFv2's largest ListWebACLs page.
const WEB_ACLS_PAGE_SIZE: usize = 100;
/// EC2's largest page.
const EC2_PAGE_SIZE: usize = 1000;

#[derive(Debug, Default)]
struct State {
    elbv2: Elbv2,
    ec2: Ec2,
    acm: acm::Acm,
    addons: addons::Addons,
}

/// See the module documentation. Cheap to share behind an `Arc`; every method takes `&self`, and no
/// lock is held across an await (the trait methods never await).
#[derive(Debug)]
pub struct FakeCloud {
    state: Mutex<State>,
    failures: Mutex<Failures>,
    counter: CallCounter,
    page_size: usize,
}

impl Default for FakeCloud {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeCloud {
    /// An empty region (`us-east-1`, account `123456789012`).
    pub fn new() -> Self {
        Self {
            state: Mutex::default(),
            failures: Mutex::default(),
            counter: CallCounter::new(),
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// While held, new load balancers answer `provisioning` to every describe, as AWS's do for
    /// the few minutes it takes to make one; releasing (`false`) makes them `active` at their next
    /// describe. Not held (the default) is moto's behaviour: the first describe says `active`.
    pub fn hold_provisioning(&self, hold: bool) {
        self.lock().elbv2.hold_provisioning(hold);
    }

    /// DescribeLoadBalancers and DescribeTargetGroups page after `page_size` items (400 on AWS),
    /// so paging can be tested small. The SDK adapter counts the pages AWS sends in the same way.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Sets the quota of ingress rules per security group. Like AWS, the fake allows 60 unless
    /// told otherwise (the quota is adjustable up to 1,000 on AWS); a request that would exceed
    /// it fails with `RulesPerSecurityGroupLimitExceeded` and adds nothing.
    pub fn with_rules_per_security_group(self, limit: usize) -> Self {
        self.lock().ec2.rules_per_group = Some(limit);
        self
    }

    pub fn counter(&self) -> &CallCounter {
        &self.counter
    }

    // ---- seeding: not counted, never failed ----

    pub fn seed_vpc(&self, vpc_id: &str) {
        self.lock().ec2.seed_vpc(vpc_id);
    }

    /// Also makes the subnet's VPC known.
    pub fn seed_subnet(&self, subnet: Subnet) {
        self.lock().ec2.seed_subnet(subnet);
    }

    /// Also makes the instance's VPC known. Only `running` instances can be registered as targets.
    pub fn seed_instance(&self, instance: Instance) {
        self.lock().ec2.seed_instance(instance);
    }

    /// A node that went away: registering it as a target fails from now on.
    pub fn remove_instance(&self, instance_id: &str) {
        self.lock().ec2.remove_instance(instance_id);
    }

    /// A managed prefix list (`pl-...`) rules may name; `max_entries` is what a rule naming it
    /// counts as against a group's rule limit.
    pub fn seed_prefix_list(&self, id: &str, max_entries: usize) {
        self.lock().ec2.seed_prefix_list(id, max_entries);
    }

    /// An Elastic IP of the account, by allocation id (`eipalloc-...`), for `SubnetMappings`.
    pub fn seed_elastic_ip(&self, allocation_id: &str) {
        self.lock().ec2.seed_elastic_ip(allocation_id);
    }

    pub fn seed_security_group(&self, group: SecurityGroup) {
        self.lock().ec2.seed_group(group);
    }

    /// A load balancer made by someone else (or by an earlier test step), created by the same
    /// rules as [`Cloud::create_load_balancer`], so a bad seed fails the same way.
    pub fn seed_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer> {
        self.lock().create_load_balancer(Api::CreateLoadBalancer, input)
    }

    pub fn seed_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        self.lock().elbv2.create_target_group(Api::CreateTargetGroup, input)
    }

    /// A rule added to a group by someone else (e.g. a human, or another controller).
    pub fn seed_security_group_rule(&self, group_id: &str, rule: NewIngressRule) -> CloudResult<SecurityGroupRule> {
        let mut created = self.lock().ec2.authorize_ingress(Api::AuthorizeSecurityGroupIngress, group_id, &[rule])?;
        // One rule asked for, one rule created: authorize_ingress returns one per input or fails.
        Ok(created.remove(0))
    }

    /// Back-dates (or moves) a load balancer's creation time, as if it had been made then.
    /// Returns whether the load balancer exists.
    pub fn set_load_balancer_created_time(&self, arn: &str, time: std::time::SystemTime) -> bool {
        self.lock().elbv2.set_created_time(arn, time)
    }

    /// An ACM certificate for `domains` (the first is its domain name) of the given type and
    /// status (`ISSUED`, `PENDING_VALIDATION`, `EXPIRED`, ...); returns its ARN.
    pub fn seed_certificate(&self, domains: &[&str], certificate_type: CertificateType, status: &str) -> Arn {
        self.lock().acm.seed(domains, certificate_type, status)
    }

    /// Imports a certificate again with other names, as ImportCertificate with its ARN does;
    /// `false` if there is no such certificate.
    pub fn reimport_certificate(&self, arn: &str, domains: &[&str]) -> bool {
        self.lock().acm.reimport(arn, domains)
    }

    pub fn delete_certificate(&self, arn: &str) -> bool {
        self.lock().acm.delete(arn)
    }

    /// An ELBv2 trust store (its CA bundle is not modelled); the same name gives the same one.
    pub fn seed_trust_store(&self, name: &str) -> TrustStore {
        self.lock().elbv2.seed_trust_store(name)
    }

    /// A WAFv2 web ACL in this region (an unknown ARN is what one of another region is to it).
    pub fn seed_wafv2_web_acl(&self, name: &str, scope: WebAclScope) -> WebAclSummary {
        self.lock().addons.seed_wafv2_web_acl(name, scope)
    }

    /// Deletes a WAFv2 web ACL, as its owner would; refused (as by WAFv2) while it is associated.
    pub fn delete_wafv2_web_acl(&self, arn: &str) -> Result<(), String> {
        self.lock().addons.delete_wafv2_web_acl(arn)
    }

    /// A WAF Classic Regional web ACL; returns its id.
    pub fn seed_waf_regional_web_acl(&self, name: &str) -> String {
        self.lock().addons.seed_waf_regional_web_acl(name)
    }

    /// Whether the account subscribes to Shield Advanced (a new account does not).
    pub fn set_shield_subscription(&self, active: bool) {
        self.lock().addons.set_shield_subscription(active);
    }

    // ---- failures ----

    pub fn inject(&self, failure: Failure) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).add(failure);
    }

    pub fn clear_failures(&self) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    // ---- inspection: not counted ----

    pub fn load_balancers(&self) -> Vec<LoadBalancer> {
        self.lock().elbv2.load_balancers()
    }

    /// The fixed addresses a load balancer was created with; none when AWS picked them.
    pub fn subnet_addresses(&self, load_balancer_arn: &str) -> Vec<SubnetAddresses> {
        self.lock().elbv2.subnet_addresses_of(load_balancer_arn)
    }

    pub fn target_groups(&self) -> Vec<TargetGroup> {
        self.lock().elbv2.target_groups()
    }

    pub fn listeners(&self) -> Vec<Listener> {
        self.lock().elbv2.listeners()
    }

    /// A listener's rules by priority, without the default rule.
    pub fn rules(&self, listener_arn: &str) -> Vec<Rule> {
        self.lock().elbv2.reported_rules_of(listener_arn)
    }

    /// The OIDC client secrets a listener (its default actions) or a rule (by ARN) was last given,
    /// which AWS keeps but never reports.
    pub fn client_secrets(&self, arn: &str) -> Vec<String> {
        self.lock().elbv2.client_secrets(arn)
    }

    /// A listener's certificate list (DescribeListenerCertificates without the default entry).
    pub fn certificate_list(&self, listener_arn: &str) -> Vec<String> {
        self.lock().elbv2.certificate_list(listener_arn).to_vec()
    }

    pub fn targets(&self, target_group_arn: &str) -> Vec<Target> {
        self.lock().elbv2.targets_of(target_group_arn)
    }

    /// What DescribeTargetHealth reports for a target of the group while it is registered, from
    /// now (or from its registration) until it is deregistered: the data plane the fake does not
    /// have. False when there is no such target group.
    pub fn set_target_health(&self, target_group_arn: &str, target: &Target, health: Health) -> bool {
        self.lock().elbv2.set_target_health(target_group_arn, target, health)
    }

    /// The health every target registered from now on starts with, in any target group, until
    /// a test sets another (`set_target_health`) or it is deregistered: `Some(initial)` plays
    /// AWS's health checks that have not passed yet; `None` (the default) reports new targets
    /// healthy at once, as moto does.
    pub fn set_new_target_health(&self, health: Option<Health>) {
        self.lock().elbv2.set_new_target_health(health);
    }

    /// Tags of an ELBv2 resource (by ARN) or an EC2 one (by id); empty when unknown.
    pub fn tags(&self, arn_or_id: &str) -> Tags {
        let state = self.lock();
        state.elbv2.tags_of_one(arn_or_id).or_else(|| state.ec2.tags_of(arn_or_id)).unwrap_or_default()
    }

    /// Attributes of a load balancer, target group or listener; empty when unknown.
    pub fn attributes(&self, arn: &str) -> AttributeMap {
        let state = self.lock();
        state
            .elbv2
            .listener_attributes(Api::DescribeListenerAttributes, arn)
            .unwrap_or_else(|_| state.elbv2.attributes_of(arn))
    }

    pub fn security_groups(&self) -> Vec<SecurityGroup> {
        self.lock().ec2.groups()
    }

    pub fn security_group_rules(&self, group_id: &str) -> Vec<SecurityGroupRule> {
        self.lock().ec2.describe_security_group_rules(&SecurityGroupRuleFilter::Group(group_id.to_string()))
    }

    /// The groups attached to a load balancer (its `security_groups`); empty when unknown.
    pub fn security_groups_of(&self, load_balancer_arn: &str) -> Vec<String> {
        self.lock().elbv2.security_groups_of(load_balancer_arn)
    }

    pub fn wafv2_web_acl_of(&self, resource_arn: &str) -> Option<Arn> {
        self.lock().addons.wafv2_web_acl_of(resource_arn)
    }

    pub fn waf_regional_web_acl_of(&self, resource_arn: &str) -> Option<String> {
        self.lock().addons.waf_regional_web_acl_of(resource_arn)
    }

    pub fn shield_protection_of(&self, resource_arn: &str) -> Option<ShieldProtection> {
        self.lock().addons.protection_of(resource_arn)
    }

    /// The tags a protection was created with.
    pub fn shield_protection_tags(&self, protection_id: &str) -> Tags {
        self.lock().addons.protection_tags(protection_id)
    }

    // ---- plumbing ----

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every operation validates before it changes anything, so a panic cannot leave the state
        // half-changed; a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One request: counted, then failed if a rule says so (before or after taking effect).
    fn request<T>(&self, api: Api, op: impl FnOnce(&mut State) -> CloudResult<T>) -> CloudResult<T> {
        self.counter.record(api);
        let failure = self.failures.lock().unwrap_or_else(|p| p.into_inner()).next(api);
        match failure {
            Some(failure) if !failure.after_apply => Err(failure.error(api)),
            Some(failure) => {
                // The request landed; what it answered is lost with the connection.
                let _ = op(&mut self.lock());
                Err(failure.error(api))
            }
            None => op(&mut self.lock()),
        }
    }

    /// A listing answered in pages of `per_page`: the first request computes the answer, each
    /// further page is one more request that can fail on its own.
    fn paged<T>(
        &self,
        api: Api,
        per_page: usize,
        op: impl FnOnce(&mut State) -> CloudResult<Vec<T>>,
    ) -> CloudResult<Vec<T>> {
        let found = self.request(api, op)?;
        for _ in 1..found.len().div_ceil(per_page) {
            self.request(api, |_| Ok(()))?;
        }
        Ok(found)
    }

    /// A call sent as one request per `per_request` items, in order; a failed request stops the
    /// call, and the requests before it have taken effect. No items, no request.
    fn batched<T, R>(
        &self,
        api: Api,
        items: &[T],
        per_request: usize,
        mut op: impl FnMut(&mut State, &[T]) -> CloudResult<R>,
    ) -> CloudResult<Vec<R>> {
        items.chunks(per_request).map(|chunk| self.request(api, |s| op(s, chunk))).collect()
    }
}

impl State {
    /// What ELBv2 checks of a load balancer's network: the subnets exist, lie in one VPC, one per
    /// Availability Zone, and the security groups exist in that VPC. Returns the VPC.
    fn check_network(&self, api: Api, subnets: &[String], groups: &[String]) -> CloudResult<String> {
        let mut vpc: Option<&str> = None;
        let mut zones = BTreeSet::new();
        for id in subnets {
            let subnet = self.ec2.subnet(id).ok_or_else(|| {
                CloudError::new(api, CloudErrorKind::NotFound, "SubnetNotFound", format!("subnet '{id}' not found"))
            })?;
            if vpc.is_some_and(|v| v != subnet.vpc_id) {
                return Err(invalid_configuration(api, "the subnets must all belong to the same VPC"));
            }
            vpc = Some(&subnet.vpc_id);
            if !zones.insert(subnet.availability_zone.as_str()) {
                return Err(invalid_configuration(
                    api,
                    &format!("a load balancer cannot be attached to two subnets of {}", subnet.availability_zone),
                ));
            }
        }
        for id in groups {
            let group = self.ec2.group(id).ok_or_else(|| {
                CloudError::new(
                    api,
                    CloudErrorKind::NotFound,
                    "InvalidSecurityGroup",
                    format!("security group '{id}' does not exist"),
                )
            })?;
            if vpc.is_some_and(|v| v != group.vpc_id) {
                return Err(invalid_configuration(api, &format!("security group '{id}' is in another VPC")));
            }
        }
        Ok(vpc.unwrap_or_default().to_string())
    }

    fn create_load_balancer(&mut self, api: Api, input: CreateLoadBalancer) -> CloudResult<LoadBalancer> {
        let vpc = self.check_network(api, &input.subnets, &input.security_groups)?;
        self.check_subnet_addresses(api, &input)?;
        self.elbv2.create_load_balancer(api, input, vpc)
    }

    /// What ELBv2 checks of `SubnetMappings` with addresses: one per subnet of the load balancer;
    /// Elastic IPs on internet-facing network load balancers only, existing and not held by
    /// another load balancer; private IPv4 addresses on internal ones only, and IPv6 addresses on
    /// dualstack ones only, each inside its subnet's CIDR block.
    fn check_subnet_addresses(&self, api: Api, input: &CreateLoadBalancer) -> CloudResult<()> {
        if input.subnet_addresses.is_empty() {
            return Ok(());
        }
        let mapped: BTreeSet<&str> = input.subnet_addresses.iter().map(|a| a.subnet.as_str()).collect();
        let subnets: BTreeSet<&str> = input.subnets.iter().map(String::as_str).collect();
        if mapped != subnets || mapped.len() != input.subnet_addresses.len() {
            return Err(CloudError::new(
                api,
                CloudErrorKind::InvalidRequest,
                "ValidationError",
                "subnet mappings must name each subnet of the load balancer once",
            ));
        }
        let network = input.lb_type == LoadBalancerType::Network;
        for entry in &input.subnet_addresses {
            let subnet = self.ec2.subnet(&entry.subnet).ok_or_else(|| {
                CloudError::new(
                    api,
                    CloudErrorKind::NotFound,
                    "SubnetNotFound",
                    format!("subnet '{}' not found", entry.subnet),
                )
            })?;
            if let Some(id) = &entry.allocation_id {
                if !network || input.scheme != Scheme::InternetFacing {
                    return Err(invalid_configuration(
                        api,
                        "Elastic IP addresses can only be given to internet-facing network load balancers",
                    ));
                }
                if !self.ec2.elastic_ip_exists(id) {
                    return Err(CloudError::new(
                        api,
                        CloudErrorKind::NotFound,
                        "AllocationIdNotFound",
                        format!("the allocation ID '{id}' does not exist"),
                    ));
                }
                if let Some(holder) = self.elbv2.holder_of_elastic_ip(id, &input.name) {
                    return Err(invalid_configuration(
                        api,
                        &format!("the allocation ID '{id}' is already associated with load balancer {}", holder.name),
                    ));
                }
            }
            if let Some(address) = &entry.private_ipv4_address {
                if !network || input.scheme != Scheme::Internal {
                    return Err(invalid_configuration(
                        api,
                        "private IPv4 addresses can only be given to internal network load balancers",
                    ));
                }
                let inside =
                    address.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| cidr_contains(&subnet.cidr_block, ip.into()));
                if !inside {
                    return Err(invalid_configuration(
                        api,
                        &format!(
                            "private IPv4 address {address} is not in the range of subnet {} ({})",
                            subnet.id, subnet.cidr_block
                        ),
                    ));
                }
            }
            if let Some(address) = &entry.ipv6_address {
                if !network || input.ip_address_type != IpAddressType::Dualstack {
                    return Err(invalid_configuration(
                        api,
                        "IPv6 addresses can only be given to dualstack network load balancers",
                    ));
                }
                let inside = address
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok_and(|ip| subnet.ipv6_cidr_blocks.iter().any(|block| cidr_contains(block, ip.into())));
                if !inside {
                    return Err(invalid_configuration(
                        api,
                        &format!("IPv6 address {address} is not in an IPv6 range of subnet {}", subnet.id),
                    ));
                }
            }
        }
        Ok(())
    }

    fn set_subnets(&mut self, api: Api, arn: &str, subnets: &[String]) -> CloudResult<()> {
        let lb_vpc = self.elbv2.load_balancer(api, arn)?.vpc_id.clone();
        let vpc = self.check_network(api, subnets, &[])?;
        if subnets.is_empty() || vpc != lb_vpc {
            return Err(invalid_configuration(api, "the subnets must belong to the load balancer's VPC"));
        }
        self.elbv2.set_subnets(api, arn, subnets)
    }

    fn set_security_groups(&mut self, api: Api, arn: &str, groups: &[String]) -> CloudResult<()> {
        let lb = self.elbv2.load_balancer(api, arn)?;
        self.check_network(api, &lb.subnets, groups)?;
        self.elbv2.set_security_groups(api, arn, groups)
    }
}

fn invalid_configuration(api: Api, message: &str) -> CloudError {
    CloudError::new(api, CloudErrorKind::InvalidRequest, "InvalidConfigurationRequest", message)
}

#[async_trait]
impl Cloud for FakeCloud {
    async fn describe_load_balancers(&self, filter: LoadBalancerFilter) -> CloudResult<Vec<LoadBalancer>> {
        let api = Api::DescribeLoadBalancers;
        match filter {
            // One request per name, as the SDK adapter asks (AWS fails a whole request for one
            // unknown name).
            LoadBalancerFilter::Names(names) if names.len() > 1 => {
                let pages = self.batched(api, &names, 1, |s, name| {
                    s.elbv2.describe_load_balancers(api, &LoadBalancerFilter::Names(name.to_vec()))
                })?;
                Ok(pages.into_iter().flatten().collect())
            }
            LoadBalancerFilter::Arns(arns) if !arns.is_empty() => {
                let pages = self.batched(api, &arns, DESCRIBE_ARNS_BATCH, |s, batch| {
                    s.elbv2.describe_load_balancers(api, &LoadBalancerFilter::Arns(batch.to_vec()))
                })?;
                Ok(pages.into_iter().flatten().collect())
            }
            filter => self.paged(api, self.page_size, |s| s.elbv2.describe_load_balancers(api, &filter)),
        }
    }

    async fn describe_load_balancer_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        let api = Api::DescribeLoadBalancerAttributes;
        self.request(api, |s| s.elbv2.load_balancer_attributes(api, arn))
    }

    async fn describe_target_groups(&self, filter: TargetGroupFilter) -> CloudResult<Vec<TargetGroup>> {
        let api = Api::DescribeTargetGroups;
        match filter {
            TargetGroupFilter::Names(names) if names.len() > 1 => {
                let pages = self.batched(api, &names, 1, |s, name| {
                    s.elbv2.describe_target_groups(api, &TargetGroupFilter::Names(name.to_vec()))
                })?;
                Ok(pages.into_iter().flatten().collect())
            }
            filter => self.paged(api, self.page_size, |s| s.elbv2.describe_target_groups(api, &filter)),
        }
    }

    async fn describe_target_group_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        let api = Api::DescribeTargetGroupAttributes;
        self.request(api, |s| s.elbv2.target_group_attributes(api, arn))
    }

    async fn describe_target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>> {
        let api = Api::DescribeTargetHealth;
        self.request(api, |s| s.elbv2.target_health(api, target_group_arn))
    }

    async fn describe_listeners(&self, load_balancer_arn: &str) -> CloudResult<Vec<Listener>> {
        let api = Api::DescribeListeners;
        self.request(api, |s| s.elbv2.describe_listeners(api, load_balancer_arn))
    }

    async fn describe_rules(&self, listener_arn: &str) -> CloudResult<Vec<Rule>> {
        let api = Api::DescribeRules;
        self.request(api, |s| s.elbv2.describe_rules(api, listener_arn))
    }

    async fn describe_listener_certificates(&self, listener_arn: &str) -> CloudResult<Vec<ListenerCertificate>> {
        let api = Api::DescribeListenerCertificates;
        self.paged(api, DEFAULT_PAGE_SIZE, |s| s.elbv2.describe_listener_certificates(api, listener_arn))
    }

    async fn describe_tags(&self, arns: &[Arn]) -> CloudResult<BTreeMap<Arn, Tags>> {
        let api = Api::DescribeTags;
        let batches = self.batched(api, arns, DESCRIBE_TAGS_BATCH, |s, batch| Ok(s.elbv2.tags_of(batch)))?;
        Ok(batches.into_iter().flatten().collect())
    }

    async fn create_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer> {
        let api = Api::CreateLoadBalancer;
        self.request(api, |s| s.create_load_balancer(api, input))
    }

    async fn delete_load_balancer(&self, arn: &str) -> CloudResult<()> {
        self.request(Api::DeleteLoadBalancer, |s| {
            s.elbv2.delete_load_balancer(arn);
            s.addons.forget_resource(arn);
            Ok(())
        })
    }

    async fn set_security_groups(&self, load_balancer_arn: &str, security_groups: &[String]) -> CloudResult<()> {
        let api = Api::SetSecurityGroups;
        self.request(api, |s| s.set_security_groups(api, load_balancer_arn, security_groups))
    }

    async fn set_subnets(&self, load_balancer_arn: &str, subnets: &[String]) -> CloudResult<()> {
        let api = Api::SetSubnets;
        self.request(api, |s| s.set_subnets(api, load_balancer_arn, subnets))
    }

    async fn set_ip_address_type(&self, load_balancer_arn: &str, ip_address_type: IpAddressType) -> CloudResult<()> {
        let api = Api::SetIpAddressType;
        self.request(api, |s| s.elbv2.set_ip_address_type(api, load_balancer_arn, ip_address_type))
    }

    async fn modify_load_balancer_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        let api = Api::ModifyLoadBalancerAttributes;
        self.request(api, |s| s.elbv2.modify_load_balancer_attributes(api, arn, attributes))
    }

    async fn describe_capacity_reservation(&self, load_balancer_arn: &str) -> CloudResult<Option<u32>> {
        let api = Api::DescribeCapacityReservation;
        self.request(api, |s| s.elbv2.capacity_reservation(api, load_balancer_arn))
    }

    async fn modify_capacity_reservation(
        &self,
        load_balancer_arn: &str,
        capacity_units: Option<u32>,
    ) -> CloudResult<()> {
        let api = Api::ModifyCapacityReservation;
        self.request(api, |s| s.elbv2.modify_capacity_reservation(api, load_balancer_arn, capacity_units))
    }

    async fn describe_listener_attributes(&self, listener_arn: &str) -> CloudResult<AttributeMap> {
        let api = Api::DescribeListenerAttributes;
        self.request(api, |s| s.elbv2.listener_attributes(api, listener_arn))
    }

    async fn describe_trust_stores(&self, names: &[String]) -> CloudResult<Vec<TrustStore>> {
        let api = Api::DescribeTrustStores;
        self.request(api, |s| s.elbv2.describe_trust_stores(api, names))
    }

    async fn acm_list_certificates(&self) -> CloudResult<Vec<Arn>> {
        self.paged(Api::ListCertificates, CERTIFICATES_PAGE_SIZE, |s| Ok(s.acm.issued()))
    }

    async fn acm_describe_certificate(&self, arn: &str) -> CloudResult<CertificateDetail> {
        let api = Api::DescribeCertificate;
        self.request(api, |s| s.acm.describe(api, arn))
    }

    async fn modify_listener_attributes(&self, listener_arn: &str, attributes: &Attributes) -> CloudResult<()> {
        let api = Api::ModifyListenerAttributes;
        self.request(api, |s| s.elbv2.modify_listener_attributes(api, listener_arn, attributes))
    }

    async fn create_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        let api = Api::CreateTargetGroup;
        self.request(api, |s| s.elbv2.create_target_group(api, input))
    }

    async fn modify_target_group(&self, arn: &str, health_check: &HealthCheck, grpc: bool) -> CloudResult<()> {
        let api = Api::ModifyTargetGroup;
        self.request(api, |s| s.elbv2.modify_target_group(api, arn, health_check, grpc))
    }

    async fn modify_target_group_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        let api = Api::ModifyTargetGroupAttributes;
        self.request(api, |s| s.elbv2.modify_target_group_attributes(api, arn, attributes))
    }

    async fn delete_target_group(&self, arn: &str) -> CloudResult<()> {
        let api = Api::DeleteTargetGroup;
        self.request(api, |s| s.elbv2.delete_target_group(api, arn))
    }

    async fn register_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        let api = Api::RegisterTargets;
        self.batched(api, targets, TARGETS_BATCH, |s, batch| {
            let ec2 = &s.ec2;
            s.elbv2.register_targets(
                api,
                target_group_arn,
                batch,
                |id| ec2.instance_is_running(id),
                |vpc, address| ec2.in_subnet_of(vpc, address),
            )
        })?;
        Ok(())
    }

    async fn deregister_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        let api = Api::DeregisterTargets;
        self.batched(api, targets, TARGETS_BATCH, |s, batch| s.elbv2.deregister_targets(api, target_group_arn, batch))?;
        Ok(())
    }

    async fn create_listener(&self, input: CreateListener) -> CloudResult<Listener> {
        let api = Api::CreateListener;
        self.request(api, |s| s.elbv2.create_listener(api, input))
    }

    async fn modify_listener(&self, input: ModifyListener) -> CloudResult<()> {
        let api = Api::ModifyListener;
        self.request(api, |s| s.elbv2.modify_listener(api, input))
    }

    async fn delete_listener(&self, arn: &str) -> CloudResult<()> {
        let api = Api::DeleteListener;
        self.request(api, |s| s.elbv2.delete_listener(api, arn))
    }

    async fn add_listener_certificates(&self, listener_arn: &str, certificates: &[String]) -> CloudResult<()> {
        let api = Api::AddListenerCertificates;
        self.request(api, |s| s.elbv2.add_listener_certificates(api, listener_arn, certificates))
    }

    async fn remove_listener_certificates(&self, listener_arn: &str, certificates: &[String]) -> CloudResult<()> {
        let api = Api::RemoveListenerCertificates;
        self.request(api, |s| s.elbv2.remove_listener_certificates(api, listener_arn, certificates))
    }

    async fn create_rule(&self, input: CreateRule) -> CloudResult<Rule> {
        let api = Api::CreateRule;
        self.request(api, |s| s.elbv2.create_rule(api, input))
    }

    async fn modify_rule(&self, input: ModifyRule) -> CloudResult<()> {
        let api = Api::ModifyRule;
        self.request(api, |s| s.elbv2.modify_rule(api, input))
    }

    async fn delete_rule(&self, arn: &str) -> CloudResult<()> {
        let api = Api::DeleteRule;
        self.request(api, |s| s.elbv2.delete_rule(api, arn))
    }

    async fn add_tags(&self, arns: &[Arn], tags: &Tags) -> CloudResult<()> {
        let api = Api::AddTags;
        self.request(api, |s| s.elbv2.add_tags(api, arns, tags))
    }

    async fn remove_tags(&self, arns: &[Arn], keys: &[String]) -> CloudResult<()> {
        let api = Api::RemoveTags;
        self.request(api, |s| s.elbv2.remove_tags(api, arns, keys))
    }

    async fn describe_vpcs(&self, ids: &[String]) -> CloudResult<Vec<String>> {
        self.request(Api::DescribeVpcs, |s| Ok(s.ec2.describe_vpcs(ids)))
    }

    async fn describe_elastic_ips(&self, allocation_ids: &[String]) -> CloudResult<Vec<ElasticIp>> {
        self.request(Api::DescribeAddresses, |s| {
            let known = allocation_ids.iter().filter(|id| s.ec2.elastic_ip_exists(id));
            Ok(known
                .map(|id| {
                    // A load balancer holding the address holds it through its network interface.
                    let held = s.elbv2.holder_of_elastic_ip(id, "").is_some();
                    ElasticIp {
                        allocation_id: id.clone(),
                        public_ip: s.ec2.elastic_ip_address(id),
                        association_id: held.then(|| format!("eipassoc-{}", id.trim_start_matches("eipalloc-"))),
                        instance_id: None,
                    }
                })
                .collect())
        })
    }

    async fn describe_subnets(&self, vpc_id: &str) -> CloudResult<Vec<Subnet>> {
        self.request(Api::DescribeSubnets, |s| Ok(s.ec2.describe_subnets(vpc_id)))
    }

    async fn describe_instances(&self, ids: &[String]) -> CloudResult<Vec<Instance>> {
        let api = Api::DescribeInstances;
        let batches = self.batched(api, ids, INSTANCES_BATCH, |s, batch| Ok(s.ec2.describe_instances(batch)))?;
        Ok(batches.into_iter().flatten().collect())
    }

    async fn describe_security_groups(&self, filter: SecurityGroupFilter) -> CloudResult<Vec<SecurityGroup>> {
        let api = Api::DescribeSecurityGroups;
        self.request(api, |s| s.ec2.describe_security_groups(api, &filter))
    }

    async fn describe_security_group_rules(
        &self,
        filter: SecurityGroupRuleFilter,
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        let api = Api::DescribeSecurityGroupRules;
        self.paged(api, EC2_PAGE_SIZE, |s| Ok(s.ec2.describe_security_group_rules(&filter)))
    }

    async fn create_security_group(
        &self,
        group_name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        let api = Api::CreateSecurityGroup;
        self.request(api, |s| s.ec2.create_security_group(api, group_name, description, vpc_id, tags))
    }

    async fn delete_security_group(&self, group_id: &str) -> CloudResult<()> {
        let api = Api::DeleteSecurityGroup;
        self.request(api, |s| {
            let in_use = s.elbv2.security_group_in_use(group_id);
            s.ec2.delete_security_group(api, group_id, in_use)
        })
    }

    async fn authorize_security_group_ingress(
        &self,
        group_id: &str,
        rules: &[NewIngressRule],
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        let api = Api::AuthorizeSecurityGroupIngress;
        self.request(api, |s| s.ec2.authorize_ingress(api, group_id, rules))
    }

    async fn revoke_security_group_ingress(&self, group_id: &str, rule_ids: &[String]) -> CloudResult<()> {
        let api = Api::RevokeSecurityGroupIngress;
        self.request(api, |s| s.ec2.revoke_ingress(api, group_id, rule_ids))
    }

    async fn create_tags(&self, resource_ids: &[String], tags: &Tags) -> CloudResult<()> {
        let api = Api::CreateTags;
        self.request(api, |s| s.ec2.create_tags(api, resource_ids, tags))
    }

    async fn delete_tags(&self, resource_ids: &[String], keys: &[String]) -> CloudResult<()> {
        let api = Api::DeleteTags;
        self.request(api, |s| s.ec2.delete_tags(api, resource_ids, keys))
    }

    async fn wafv2_get_web_acl_for_resource(&self, resource_arn: &str) -> CloudResult<Option<Arn>> {
        let api = Api::GetWebACLForResource;
        self.request(api, |s| {
            s.addons.wafv2_get_web_acl_for_resource(api, s.elbv2.load_balancer(api, resource_arn).ok(), resource_arn)
        })
    }

    async fn wafv2_associate_web_acl(&self, web_acl_arn: &str, resource_arn: &str) -> CloudResult<()> {
        let api = Api::AssociateWebACL;
        self.request(api, |s| {
            let lb = s.elbv2.load_balancer(api, resource_arn).ok();
            s.addons.wafv2_associate(api, lb, web_acl_arn, resource_arn)
        })
    }

    async fn wafv2_disassociate_web_acl(&self, resource_arn: &str) -> CloudResult<()> {
        let api = Api::DisassociateWebACL;
        self.request(api, |s| {
            let lb = s.elbv2.load_balancer(api, resource_arn).ok();
            s.addons.wafv2_disassociate(api, lb, resource_arn)
        })
    }

    async fn wafv2_list_web_acls(&self) -> CloudResult<Vec<WebAclSummary>> {
        self.paged(Api::ListWebACLs, WEB_ACLS_PAGE_SIZE, |s| Ok(s.addons.wafv2_list_regional()))
    }

    async fn waf_regional_get_web_acl_for_resource(&self, resource_arn: &str) -> CloudResult<Option<String>> {
        let api = Api::WafRegionalGetWebACLForResource;
        self.request(api, |s| {
            s.addons.classic_get_web_acl_for_resource(api, s.elbv2.load_balancer(api, resource_arn).ok(), resource_arn)
        })
    }

    async fn waf_regional_associate_web_acl(&self, web_acl_id: &str, resource_arn: &str) -> CloudResult<()> {
        let api = Api::WafRegionalAssociateWebACL;
        self.request(api, |s| {
            let lb = s.elbv2.load_balancer(api, resource_arn).ok();
            s.addons.classic_associate(api, lb, web_acl_id, resource_arn)
        })
    }

    async fn waf_regional_disassociate_web_acl(&self, resource_arn: &str) -> CloudResult<()> {
        let api = Api::WafRegionalDisassociateWebACL;
        self.request(api, |s| {
            let lb = s.elbv2.load_balancer(api, resource_arn).ok();
            s.addons.classic_disassociate(api, lb, resource_arn)
        })
    }

    async fn shield_subscription_active(&self) -> CloudResult<bool> {
        self.request(Api::GetSubscriptionState, |s| Ok(s.addons.shield_subscribed()))
    }

    async fn shield_describe_protection(&self, resource_arn: &str) -> CloudResult<Option<ShieldProtection>> {
        self.request(Api::DescribeProtection, |s| Ok(s.addons.describe_protection(resource_arn)))
    }

    async fn shield_create_protection(&self, name: &str, resource_arn: &str, tags: &Tags) -> CloudResult<String> {
        let api = Api::CreateProtection;
        self.request(api, |s| {
            let lb = s.elbv2.load_balancer(api, resource_arn).ok();
            s.addons.create_protection(api, lb, name, resource_arn, tags)
        })
    }

    async fn shield_delete_protection(&self, protection_id: &str) -> CloudResult<()> {
        let api = Api::DeleteProtection;
        self.request(api, |s| s.addons.delete_protection(api, protection_id))
    }
}

#[cfg(test)]
mod tests;
