//! The AWS SDK implementation of Elbow's [`Cloud`] trait (aws-sdk-elasticloadbalancingv2,
//! aws-sdk-ec2, aws-sdk-acm, aws-sdk-wafv2, aws-sdk-wafregional, aws-sdk-shield). Region and credentials come from the standard chain; an endpoint override points
//! it at LocalStack, moto or any AWS-compatible endpoint. The SDK's own retries are off: the
//! resilient layer (`elbow_cloud::resilient`) retries, and every request is counted exactly once.

mod acm;
mod config;
mod convert;
mod convert_auth;
mod ec2;
mod elbv2;
mod errors;
mod shield;
mod waf;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
pub use config::{AwsSettings, install_crypto_provider};
use elbow_cloud::*;
use elbow_model::{Attributes, HealthCheck, IpAddressType, Tags, Target};

pub struct SdkCloud {
    elbv2: elbv2::Elbv2,
    ec2: ec2::Ec2,
    acm: acm::Acm,
    wafv2: waf::Wafv2,
    waf_regional: waf::WafRegional,
    shield: shield::Shield,
    calls: Arc<CallCounter>,
    /// Kept for [`SdkCloud::configuration_problems`].
    config: aws_config::SdkConfig,
}

impl SdkCloud {
    pub async fn new(settings: &AwsSettings) -> Self {
        install_crypto_provider();
        Self::from_sdk_config(&config::load(settings).await)
    }

    /// From an SDK configuration built elsewhere (tests pass static credentials this way). Its
    /// retry settings are the caller's; Elbow's own use has them off.
    pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        let config = config.clone();
        let calls = Arc::new(CallCounter::new());
        Self {
            elbv2: elbv2::Elbv2 { client: aws_sdk_elasticloadbalancingv2::Client::new(&config), calls: calls.clone() },
            ec2: ec2::Ec2 { client: aws_sdk_ec2::Client::new(&config), calls: calls.clone() },
            acm: acm::Acm { client: aws_sdk_acm::Client::new(&config), calls: calls.clone() },
            wafv2: waf::Wafv2 { client: aws_sdk_wafv2::Client::new(&config), calls: calls.clone() },
            waf_regional: waf::WafRegional { client: aws_sdk_wafregional::Client::new(&config), calls: calls.clone() },
            shield: shield::Shield { client: aws_sdk_shield::Client::new(&config), calls: calls.clone() },
            calls,
            config,
        }
    }

    /// What the standard chain could not find, one sentence per problem: no region, or no
    /// credentials (with the chain's own reason). Every call would fail on either, with an error
    /// that names neither, so `elbow run` says it once at start-up.
    pub async fn configuration_problems(&self) -> Vec<String> {
        config::problems(&self.config).await
    }

    /// Requests sent, by action.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }
}

#[async_trait]
impl Cloud for SdkCloud {
    async fn describe_load_balancers(&self, filter: LoadBalancerFilter) -> CloudResult<Vec<LoadBalancer>> {
        self.elbv2.describe_load_balancers(filter).await
    }
    async fn describe_load_balancer_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        self.elbv2.load_balancer_attributes(arn).await
    }
    async fn describe_target_groups(&self, filter: TargetGroupFilter) -> CloudResult<Vec<TargetGroup>> {
        self.elbv2.describe_target_groups(filter).await
    }
    async fn describe_target_group_attributes(&self, arn: &str) -> CloudResult<AttributeMap> {
        self.elbv2.target_group_attributes(arn).await
    }
    async fn describe_target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>> {
        self.elbv2.target_health(target_group_arn).await
    }
    async fn describe_listeners(&self, load_balancer_arn: &str) -> CloudResult<Vec<Listener>> {
        self.elbv2.describe_listeners(load_balancer_arn).await
    }
    async fn describe_rules(&self, listener_arn: &str) -> CloudResult<Vec<Rule>> {
        self.elbv2.describe_rules(listener_arn).await
    }
    async fn describe_listener_certificates(&self, listener_arn: &str) -> CloudResult<Vec<ListenerCertificate>> {
        self.elbv2.describe_listener_certificates(listener_arn).await
    }
    async fn describe_tags(&self, arns: &[Arn]) -> CloudResult<BTreeMap<Arn, Tags>> {
        self.elbv2.describe_tags(arns).await
    }
    async fn create_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer> {
        self.elbv2.create_load_balancer(input).await
    }
    async fn delete_load_balancer(&self, arn: &str) -> CloudResult<()> {
        self.elbv2.delete_load_balancer(arn).await
    }
    async fn set_security_groups(&self, load_balancer_arn: &str, security_groups: &[String]) -> CloudResult<()> {
        self.elbv2.set_security_groups(load_balancer_arn, security_groups).await
    }
    async fn set_subnets(&self, load_balancer_arn: &str, subnets: &[String]) -> CloudResult<()> {
        self.elbv2.set_subnets(load_balancer_arn, subnets).await
    }
    async fn set_ip_address_type(&self, load_balancer_arn: &str, ip_address_type: IpAddressType) -> CloudResult<()> {
        self.elbv2.set_ip_address_type(load_balancer_arn, ip_address_type).await
    }
    async fn modify_load_balancer_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        self.elbv2.modify_load_balancer_attributes(arn, attributes).await
    }
    async fn describe_listener_attributes(&self, listener_arn: &str) -> CloudResult<AttributeMap> {
        self.elbv2.listener_attributes(listener_arn).await
    }
    async fn describe_capacity_reservation(&self, load_balancer_arn: &str) -> CloudResult<Option<u32>> {
        self.elbv2.describe_capacity_reservation(load_balancer_arn).await
    }
    async fn modify_capacity_reservation(
        &self,
        load_balancer_arn: &str,
        capacity_units: Option<u32>,
    ) -> CloudResult<()> {
        self.elbv2.modify_capacity_reservation(load_balancer_arn, capacity_units).await
    }
    async fn describe_trust_stores(&self, names: &[String]) -> CloudResult<Vec<TrustStore>> {
        self.elbv2.describe_trust_stores(names).await
    }
    async fn acm_list_certificates(&self) -> CloudResult<Vec<Arn>> {
        self.acm.list_certificates().await
    }
    async fn acm_describe_certificate(&self, arn: &str) -> CloudResult<CertificateDetail> {
        self.acm.describe_certificate(arn).await
    }
    async fn modify_listener_attributes(&self, listener_arn: &str, attributes: &Attributes) -> CloudResult<()> {
        self.elbv2.modify_listener_attributes(listener_arn, attributes).await
    }
    async fn create_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        self.elbv2.create_target_group(input).await
    }
    async fn modify_target_group(&self, arn: &str, health_check: &HealthCheck, grpc: bool) -> CloudResult<()> {
        self.elbv2.modify_target_group(arn, health_check, grpc).await
    }
    async fn modify_target_group_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        self.elbv2.modify_target_group_attributes(arn, attributes).await
    }
    async fn delete_target_group(&self, arn: &str) -> CloudResult<()> {
        self.elbv2.delete_target_group(arn).await
    }
    async fn register_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        self.elbv2.register_targets(target_group_arn, targets).await
    }
    async fn deregister_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()> {
        self.elbv2.deregister_targets(target_group_arn, targets).await
    }
    async fn create_listener(&self, input: CreateListener) -> CloudResult<Listener> {
        self.elbv2.create_listener(input).await
    }
    async fn modify_listener(&self, input: ModifyListener) -> CloudResult<()> {
        self.elbv2.modify_listener(input).await
    }
    async fn delete_listener(&self, arn: &str) -> CloudResult<()> {
        self.elbv2.delete_listener(arn).await
    }
    async fn add_listener_certificates(&self, listener_arn: &str, certificates: &[String]) -> CloudResult<()> {
        self.elbv2.add_listener_certificates(listener_arn, certificates).await
    }
    async fn remove_listener_certificates(&self, listener_arn: &str, certificates: &[String]) -> CloudResult<()> {
        self.elbv2.remove_listener_certificates(listener_arn, certificates).await
    }
    async fn create_rule(&self, input: CreateRule) -> CloudResult<Rule> {
        self.elbv2.create_rule(input).await
    }
    async fn modify_rule(&self, input: ModifyRule) -> CloudResult<()> {
        self.elbv2.modify_rule(input).await
    }
    async fn delete_rule(&self, arn: &str) -> CloudResult<()> {
        self.elbv2.delete_rule(arn).await
    }
    async fn add_tags(&self, arns: &[Arn], tags: &Tags) -> CloudResult<()> {
        self.elbv2.add_tags(arns, tags).await
    }
    async fn remove_tags(&self, arns: &[Arn], keys: &[String]) -> CloudResult<()> {
        self.elbv2.remove_tags(arns, keys).await
    }
    async fn describe_vpcs(&self, ids: &[String]) -> CloudResult<Vec<String>> {
        self.ec2.describe_vpcs(ids).await
    }
    async fn describe_elastic_ips(&self, allocation_ids: &[String]) -> CloudResult<Vec<ElasticIp>> {
        self.ec2.describe_elastic_ips(allocation_ids).await
    }
    async fn describe_subnets(&self, vpc_id: &str) -> CloudResult<Vec<Subnet>> {
        self.ec2.describe_subnets(vpc_id).await
    }
    async fn describe_instances(&self, ids: &[String]) -> CloudResult<Vec<Instance>> {
        self.ec2.describe_instances(ids).await
    }
    async fn describe_security_groups(&self, filter: SecurityGroupFilter) -> CloudResult<Vec<SecurityGroup>> {
        self.ec2.describe_security_groups(filter).await
    }
    async fn describe_security_group_rules(
        &self,
        filter: SecurityGroupRuleFilter,
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        self.ec2.describe_security_group_rules(filter).await
    }
    async fn create_security_group(
        &self,
        group_name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.ec2.create_security_group(group_name, description, vpc_id, tags).await
    }
    async fn delete_security_group(&self, group_id: &str) -> CloudResult<()> {
        self.ec2.delete_security_group(group_id).await
    }
    async fn authorize_security_group_ingress(
        &self,
        group_id: &str,
        rules: &[NewIngressRule],
    ) -> CloudResult<Vec<SecurityGroupRule>> {
        self.ec2.authorize_ingress(group_id, rules).await
    }
    async fn revoke_security_group_ingress(&self, group_id: &str, rule_ids: &[String]) -> CloudResult<()> {
        self.ec2.revoke_ingress(group_id, rule_ids).await
    }
    async fn create_tags(&self, resource_ids: &[String], tags: &Tags) -> CloudResult<()> {
        self.ec2.create_tags(resource_ids, tags).await
    }
    async fn delete_tags(&self, resource_ids: &[String], keys: &[String]) -> CloudResult<()> {
        self.ec2.delete_tags(resource_ids, keys).await
    }
    async fn wafv2_get_web_acl_for_resource(&self, resource_arn: &str) -> CloudResult<Option<Arn>> {
        self.wafv2.get_web_acl_for_resource(resource_arn).await
    }
    async fn wafv2_associate_web_acl(&self, web_acl_arn: &str, resource_arn: &str) -> CloudResult<()> {
        self.wafv2.associate_web_acl(web_acl_arn, resource_arn).await
    }
    async fn wafv2_disassociate_web_acl(&self, resource_arn: &str) -> CloudResult<()> {
        self.wafv2.disassociate_web_acl(resource_arn).await
    }
    async fn wafv2_list_web_acls(&self) -> CloudResult<Vec<WebAclSummary>> {
        self.wafv2.list_web_acls().await
    }
    async fn waf_regional_get_web_acl_for_resource(&self, resource_arn: &str) -> CloudResult<Option<String>> {
        self.waf_regional.get_web_acl_for_resource(resource_arn).await
    }
    async fn waf_regional_associate_web_acl(&self, web_acl_id: &str, resource_arn: &str) -> CloudResult<()> {
        self.waf_regional.associate_web_acl(web_acl_id, resource_arn).await
    }
    async fn waf_regional_disassociate_web_acl(&self, resource_arn: &str) -> CloudResult<()> {
        self.waf_regional.disassociate_web_acl(resource_arn).await
    }
    async fn shield_subscription_active(&self) -> CloudResult<bool> {
        self.shield.subscription_active().await
    }
    async fn shield_describe_protection(&self, resource_arn: &str) -> CloudResult<Option<ShieldProtection>> {
        self.shield.describe_protection(resource_arn).await
    }
    async fn shield_create_protection(&self, name: &str, resource_arn: &str, tags: &Tags) -> CloudResult<String> {
        self.shield.create_protection(name, resource_arn, tags).await
    }
    async fn shield_delete_protection(&self, protection_id: &str) -> CloudResult<()> {
        self.shield.delete_protection(protection_id).await
    }
}
