//! The cloud calls Elbow makes, as one trait with one method per AWS API action (see [`Api`]).
//! Implementations: the AWS SDK (`elbow-aws`) and the in-memory fake (`elbow-fake`, a crate of its
//! own so that production builds never contain it). Wrappers around either are [`Layer`]s: the
//! [`resilient`] one adds client-side rate limits and retries, the operator's adds metrics.
//!
//! The list below is the single place an action is declared: the `actions!` macro (`actions.rs`)
//! makes the trait, [`Api`], [`Observe`] and the forwarding impl every [`Layer`] gets from it.
//!
//! Contract shared by every implementation:
//! - One method call is one API request, except where a method says it pages or batches; then each
//!   page or batch is one request, counted and rate-limited as such.
//! - Errors carry the [`Api`] and a [`CloudErrorKind`]; "not found" on a describe-by-name is an empty
//!   answer, not an error.
//! - Created resources carry the given tags from the first moment (tags are sent with the create
//!   call), so a crash right after a create never leaves an untagged, unfindable resource.

#[macro_use]
mod actions;
pub mod api;
pub mod counter;
pub mod error;
pub mod layer;
pub mod resilient;
pub mod types;

pub use api::ApiFamily;
pub use counter::CallCounter;
pub use error::{CloudError, CloudErrorKind, CloudResult};
pub use layer::{Attempt, Call, Layer};
pub use types::*;

use std::collections::BTreeMap;

use elbow_model::{Attributes, HealthCheck, IpAddressType, Tags, Target};

actions! {
    // ---- ELBv2: describe ----

    /// Pages through all results (400 per page).
    async fn describe_load_balancers(&self, filter: LoadBalancerFilter) -> CloudResult<Vec<LoadBalancer>>
        => DescribeLoadBalancers in "elasticloadbalancing", Elbv2Describe;
    async fn describe_load_balancer_attributes(&self, arn: &str) -> CloudResult<AttributeMap>
        => DescribeLoadBalancerAttributes in "elasticloadbalancing", Elbv2Describe;
    /// Pages through all results (400 per page).
    async fn describe_target_groups(&self, filter: TargetGroupFilter) -> CloudResult<Vec<TargetGroup>>
        => DescribeTargetGroups in "elasticloadbalancing", Elbv2Describe;
    async fn describe_target_group_attributes(&self, arn: &str) -> CloudResult<AttributeMap>
        => DescribeTargetGroupAttributes in "elasticloadbalancing", Elbv2Describe;
    async fn describe_target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>>
        => DescribeTargetHealth in "elasticloadbalancing", Elbv2Describe;
    async fn describe_listeners(&self, load_balancer_arn: &str) -> CloudResult<Vec<Listener>>
        => DescribeListeners in "elasticloadbalancing", Elbv2Describe;
    async fn describe_rules(&self, listener_arn: &str) -> CloudResult<Vec<Rule>>
        => DescribeRules in "elasticloadbalancing", Elbv2Describe;
    /// The default certificate (`is_default`) and the certificate list of an HTTPS or TLS listener
    /// (paged). As on AWS, a certificate that is the default and also in the list is there twice.
    async fn describe_listener_certificates(&self, listener_arn: &str) -> CloudResult<Vec<ListenerCertificate>>
        => DescribeListenerCertificates in "elasticloadbalancing", Elbv2Describe;
    /// Every attribute of a listener, as AWS reports them (its defaults included).
    async fn describe_listener_attributes(&self, listener_arn: &str) -> CloudResult<AttributeMap>
        => DescribeListenerAttributes in "elasticloadbalancing", Elbv2Describe;
    /// The load balancer's minimum capacity reservation (capacity units), if it has one.
    async fn describe_capacity_reservation(&self, load_balancer_arn: &str) -> CloudResult<Option<u32>>
        => DescribeCapacityReservation in "elasticloadbalancing", Elbv2Describe;
    /// Tags of load balancers, target groups, listeners and rules, by ARN; batches of 20 ARNs per
    /// request. ARNs that no longer exist are left out.
    async fn describe_tags(&self, arns: &[Arn]) -> CloudResult<BTreeMap<Arn, Tags>>
        => DescribeTags in "elasticloadbalancing", Elbv2Describe, batches of 20 arns;

    // ---- ELBv2: change ----

    async fn create_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer>
        => CreateLoadBalancer in "elasticloadbalancing", Elbv2Modify;
    async fn delete_load_balancer(&self, arn: &str) -> CloudResult<()>
        => DeleteLoadBalancer in "elasticloadbalancing", Elbv2Modify;
    async fn set_security_groups(&self, load_balancer_arn: &str, security_groups: &[String]) -> CloudResult<()>
        => SetSecurityGroups in "elasticloadbalancing", Elbv2Modify;
    async fn set_subnets(&self, load_balancer_arn: &str, subnets: &[String]) -> CloudResult<()>
        => SetSubnets in "elasticloadbalancing", Elbv2Modify;
    async fn set_ip_address_type(&self, load_balancer_arn: &str, ip_address_type: IpAddressType) -> CloudResult<()>
        => SetIpAddressType in "elasticloadbalancing", Elbv2Modify;
    async fn modify_load_balancer_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()>
        => ModifyLoadBalancerAttributes in "elasticloadbalancing", Elbv2Modify;
    /// Reserves `Some(capacity units)` of minimum capacity, or resets the reservation (`None`).
    async fn modify_capacity_reservation(&self, load_balancer_arn: &str, capacity_units: Option<u32>) -> CloudResult<()>
        => ModifyCapacityReservation in "elasticloadbalancing", Elbv2Modify;

    async fn create_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup>
        => CreateTargetGroup in "elasticloadbalancing", Elbv2Modify;
    /// Sets the health check; its success codes are gRPC codes when `grpc` (the group's protocol
    /// version is gRPC: AWS takes `GrpcCode` there and `HttpCode` elsewhere).
    async fn modify_target_group(&self, arn: &str, health_check: &HealthCheck, grpc: bool) -> CloudResult<()>
        => ModifyTargetGroup in "elasticloadbalancing", Elbv2Modify;
    async fn modify_target_group_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()>
        => ModifyTargetGroupAttributes in "elasticloadbalancing", Elbv2Modify;
    async fn delete_target_group(&self, arn: &str) -> CloudResult<()>
        => DeleteTargetGroup in "elasticloadbalancing", Elbv2Modify;
    /// Batches of 200 targets per request.
    async fn register_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()>
        => RegisterTargets in "elasticloadbalancing", Elbv2Targets, batches of 200 targets;
    /// Batches of 200 targets per request.
    async fn deregister_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()>
        => DeregisterTargets in "elasticloadbalancing", Elbv2Targets, batches of 200 targets;

    async fn create_listener(&self, input: CreateListener) -> CloudResult<Listener>
        => CreateListener in "elasticloadbalancing", Elbv2Modify;
    async fn modify_listener(&self, input: ModifyListener) -> CloudResult<()>
        => ModifyListener in "elasticloadbalancing", Elbv2Modify;
    async fn delete_listener(&self, arn: &str) -> CloudResult<()>
        => DeleteListener in "elasticloadbalancing", Elbv2Modify;
    /// Adds to the listener's certificate list (not its default certificate) in one request. AWS
    /// takes one certificate per request; one already in the list is not added again.
    async fn add_listener_certificates(&self, listener_arn: &str, certificates: &[String]) -> CloudResult<()>
        => AddListenerCertificates in "elasticloadbalancing", Elbv2Modify;
    /// Removes from the listener's certificate list in one request (AWS takes one certificate per
    /// request); the default certificate is changed with `modify_listener` only.
    async fn remove_listener_certificates(&self, listener_arn: &str, certificates: &[String]) -> CloudResult<()>
        => RemoveListenerCertificates in "elasticloadbalancing", Elbv2Modify;

    /// The trust stores of these names (mutual TLS), in one request. A name no trust store has is
    /// refused (`TrustStoreNotFound`, kind [`CloudErrorKind::NotFound`]), as AWS does.
    async fn describe_trust_stores(&self, names: &[String]) -> CloudResult<Vec<TrustStore>>
        => DescribeTrustStores in "elasticloadbalancing", Elbv2Describe;

    /// Sets the given attributes; the others keep their values.
    async fn modify_listener_attributes(&self, listener_arn: &str, attributes: &Attributes) -> CloudResult<()>
        => ModifyListenerAttributes in "elasticloadbalancing", Elbv2Modify;

    async fn create_rule(&self, input: CreateRule) -> CloudResult<Rule>
        => CreateRule in "elasticloadbalancing", Elbv2Modify;
    async fn modify_rule(&self, input: ModifyRule) -> CloudResult<()>
        => ModifyRule in "elasticloadbalancing", Elbv2Modify;
    async fn delete_rule(&self, arn: &str) -> CloudResult<()>
        => DeleteRule in "elasticloadbalancing", Elbv2Modify;

    async fn add_tags(&self, arns: &[Arn], tags: &Tags) -> CloudResult<()>
        => AddTags in "elasticloadbalancing", Elbv2Modify;
    async fn remove_tags(&self, arns: &[Arn], keys: &[String]) -> CloudResult<()>
        => RemoveTags in "elasticloadbalancing", Elbv2Modify;

    // ---- EC2 ----

    /// The ids among `ids` that name an existing VPC (by filter: an unknown id is left out rather
    /// than failing the request). Asked only to tell "wrong VPC id" from "no tagged subnet".
    async fn describe_vpcs(&self, ids: &[String]) -> CloudResult<Vec<String>>
        => DescribeVpcs in "ec2", Ec2Describe;
    /// Subnets of one VPC (paged).
    async fn describe_subnets(&self, vpc_id: &str) -> CloudResult<Vec<Subnet>>
        => DescribeSubnets in "ec2", Ec2Describe;
    /// By id; ids that do not exist are left out.
    async fn describe_instances(&self, ids: &[String]) -> CloudResult<Vec<Instance>>
        => DescribeInstances in "ec2", Ec2Describe;
    async fn describe_security_groups(&self, filter: SecurityGroupFilter) -> CloudResult<Vec<SecurityGroup>>
        => DescribeSecurityGroups in "ec2", Ec2Describe;
    /// The Elastic IPs among `allocation_ids` (by filter: an unknown id is left out rather than
    /// failing the request, so the caller can name it).
    async fn describe_elastic_ips(&self, allocation_ids: &[String]) -> CloudResult<Vec<ElasticIp>>
        => DescribeAddresses in "ec2", Ec2Describe;
    /// Ingress rules (egress rules are left out), of one group or by tag across groups (paged).
    async fn describe_security_group_rules(
        &self,
        filter: SecurityGroupRuleFilter
    ) -> CloudResult<Vec<SecurityGroupRule>>
        => DescribeSecurityGroupRules in "ec2", Ec2Describe;
    /// Returns the new group's id. The group is created without ingress rules; the default egress
    /// rule AWS adds is left as it is.
    async fn create_security_group(
        &self,
        group_name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags
    ) -> CloudResult<String>
        => CreateSecurityGroup in "ec2", Ec2Modify;
    async fn delete_security_group(&self, group_id: &str) -> CloudResult<()>
        => DeleteSecurityGroup in "ec2", Ec2Modify;
    /// All rules in one request; returns the new rules (ids and tags) in the order given.
    async fn authorize_security_group_ingress(
        &self,
        group_id: &str,
        rules: &[NewIngressRule]
    ) -> CloudResult<Vec<SecurityGroupRule>>
        => AuthorizeSecurityGroupIngress in "ec2", Ec2Modify;
    async fn revoke_security_group_ingress(&self, group_id: &str, rule_ids: &[String]) -> CloudResult<()>
        => RevokeSecurityGroupIngress in "ec2", Ec2Modify;
    /// EC2 resources (security groups, rules) by id.
    async fn create_tags(&self, resource_ids: &[String], tags: &Tags) -> CloudResult<()>
        => CreateTags in "ec2", Ec2Modify;
    async fn delete_tags(&self, resource_ids: &[String], keys: &[String]) -> CloudResult<()>
        => DeleteTags in "ec2", Ec2Modify;

    // ---- ACM (certificate discovery) ----

    /// The ARNs of the region's issued certificates, of every key algorithm (ACM lists only RSA
    /// 2048-bit ones unless asked for others); pages through all of them, 1,000 per page.
    async fn acm_list_certificates(&self) -> CloudResult<Vec<Arn>>
        => ListCertificates in "acm", AcmRead;
    /// An unknown ARN is refused (`ResourceNotFoundException`, kind [`CloudErrorKind::NotFound`]).
    async fn acm_describe_certificate(&self, arn: &str) -> CloudResult<CertificateDetail>
        => DescribeCertificate in "acm", AcmRead;

    // ---- WAFv2 (regional scope: web ACLs of the load balancer's region) ----

    /// The ARN of the web ACL associated with a resource (a load balancer), if any.
    async fn wafv2_get_web_acl_for_resource(&self, resource_arn: &str) -> CloudResult<Option<Arn>>
        => GetWebACLForResource in "wafv2", Wafv2Read;
    /// Associates the web ACL with the resource; one already associated with another web ACL is
    /// moved to this one. An unknown web ACL, or one of another region or of the CloudFront scope,
    /// is refused (`WAFNonexistentItemException`, kind [`CloudErrorKind::NotFound`]).
    async fn wafv2_associate_web_acl(&self, web_acl_arn: &str, resource_arn: &str) -> CloudResult<()>
        => AssociateWebACL in "wafv2", Wafv2Modify;
    /// Removes the resource's association, if any (none is not an error).
    async fn wafv2_disassociate_web_acl(&self, resource_arn: &str) -> CloudResult<()>
        => DisassociateWebACL in "wafv2", Wafv2Modify;
    /// The regional web ACLs of the region (pages through all of them, 100 per page).
    async fn wafv2_list_web_acls(&self) -> CloudResult<Vec<WebAclSummary>>
        => ListWebACLs in "wafv2", Wafv2Read;

    // ---- WAF Classic Regional ----

    /// The id of the WAF Classic web ACL associated with a resource, if any.
    async fn waf_regional_get_web_acl_for_resource(&self, resource_arn: &str) -> CloudResult<Option<String>>
        => WafRegionalGetWebACLForResource named "GetWebACLForResource" in "waf-regional", WafRegionalRead;
    /// Associates the web ACL (by id) with the resource, replacing any other; an unknown id is
    /// refused (`WAFNonexistentItemException`, kind [`CloudErrorKind::NotFound`]).
    async fn waf_regional_associate_web_acl(&self, web_acl_id: &str, resource_arn: &str) -> CloudResult<()>
        => WafRegionalAssociateWebACL named "AssociateWebACL" in "waf-regional", WafRegionalModify;
    /// Removes the resource's association, if any.
    async fn waf_regional_disassociate_web_acl(&self, resource_arn: &str) -> CloudResult<()>
        => WafRegionalDisassociateWebACL named "DisassociateWebACL" in "waf-regional", WafRegionalModify;

    // ---- Shield Advanced ----

    /// Whether the account's Shield Advanced subscription is active.
    async fn shield_subscription_active(&self) -> CloudResult<bool>
        => GetSubscriptionState in "shield", ShieldRead;
    /// The protection of a resource, if it has one.
    async fn shield_describe_protection(&self, resource_arn: &str) -> CloudResult<Option<ShieldProtection>>
        => DescribeProtection in "shield", ShieldRead;
    /// Returns the new protection's id; the tags are sent with the request. A resource has at
    /// most one protection: a second is refused (`ResourceAlreadyExistsException`, kind
    /// [`CloudErrorKind::Duplicate`]).
    async fn shield_create_protection(&self, name: &str, resource_arn: &str, tags: &Tags) -> CloudResult<String>
        => CreateProtection in "shield", ShieldModify;
    async fn shield_delete_protection(&self, protection_id: &str) -> CloudResult<()>
        => DeleteProtection in "shield", ShieldModify;
}
