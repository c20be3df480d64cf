//! The cloud calls Elbow makes, as one trait with one method per AWS API action
//! (see [`Api`]). Implementations: the AWS SDK (`elbow-aws`), the in-memory fake (`elbow-fake`, a
//! crate of its own so that production builds never contain it), and the [`resilient`] wrapper that
//! adds client-side rate limits and retries to either.
//!
//! Contract shared by every implementation:
//! - One method call is one API request, except where a method says it pages or batches; then each
//!   page or batch is one request, counted and rate-limited as such.
//! - Errors carry the [`Api`] and a [`CloudErrorKind`]; "not found" on a describe-by-name is an empty
//!   answer, not an error.
//! - Created resources carry the given tags from the first moment (tags are sent with the create
//!   call), so a crash right after a create never leaves an untagged, unfindable resource.

pub mod api;
pub mod counter;
pub mod error;
pub mod resilient;
pub mod types;

pub use api::{Api, ApiFamily};
pub use counter::CallCounter;
pub use error::{CloudError, CloudErrorKind, CloudResult};
pub use types::*;

use std::collections::BTreeMap;

use async_trait::async_trait;
use elbow_model::{Attributes, HealthCheck, IpAddressType, Tags, Target};

#[async_trait]
pub trait Cloud: Send + Sync {
    // ---- ELBv2: describe ----

    /// Pages through all results (400 per page).
    async fn describe_load_balancers(&self, filter: LoadBalancerFilter) -> CloudResult<Vec<LoadBalancer>>;
    async fn describe_load_balancer_attributes(&self, arn: &str) -> CloudResult<AttributeMap>;
    /// Pages through all results (400 per page).
    async fn describe_target_groups(&self, filter: TargetGroupFilter) -> CloudResult<Vec<TargetGroup>>;
    async fn describe_target_group_attributes(&self, arn: &str) -> CloudResult<AttributeMap>;
    async fn describe_target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>>;
    async fn describe_listeners(&self, load_balancer_arn: &str) -> CloudResult<Vec<Listener>>;
    async fn describe_rules(&self, listener_arn: &str) -> CloudResult<Vec<Rule>>;
    /// Tags of load balancers, target groups, listeners and rules, by ARN; batches of 20 ARNs per
    /// request. ARNs that no longer exist are left out.
    async fn describe_tags(&self, arns: &[Arn]) -> CloudResult<BTreeMap<Arn, Tags>>;

    // ---- ELBv2: change ----

    async fn create_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer>;
    async fn delete_load_balancer(&self, arn: &str) -> CloudResult<()>;
    async fn set_security_groups(&self, load_balancer_arn: &str, security_groups: &[String]) -> CloudResult<()>;
    async fn set_subnets(&self, load_balancer_arn: &str, subnets: &[String]) -> CloudResult<()>;
    async fn set_ip_address_type(&self, load_balancer_arn: &str, ip_address_type: IpAddressType) -> CloudResult<()>;
    async fn modify_load_balancer_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()>;

    async fn create_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup>;
    async fn modify_target_group(&self, arn: &str, health_check: &HealthCheck) -> CloudResult<()>;
    async fn modify_target_group_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()>;
    async fn delete_target_group(&self, arn: &str) -> CloudResult<()>;
    /// Batches of 200 targets per request.
    async fn register_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()>;
    /// Batches of 200 targets per request.
    async fn deregister_targets(&self, target_group_arn: &str, targets: &[Target]) -> CloudResult<()>;

    async fn create_listener(&self, input: CreateListener) -> CloudResult<Listener>;
    async fn modify_listener(&self, input: ModifyListener) -> CloudResult<()>;
    async fn delete_listener(&self, arn: &str) -> CloudResult<()>;

    async fn create_rule(&self, input: CreateRule) -> CloudResult<Rule>;
    async fn modify_rule(&self, input: ModifyRule) -> CloudResult<()>;
    /// `(rule ARN, new priority)` pairs, applied atomically.
    async fn set_rule_priorities(&self, priorities: &[(Arn, u32)]) -> CloudResult<()>;
    async fn delete_rule(&self, arn: &str) -> CloudResult<()>;

    async fn add_tags(&self, arns: &[Arn], tags: &Tags) -> CloudResult<()>;
    async fn remove_tags(&self, arns: &[Arn], keys: &[String]) -> CloudResult<()>;

    // ---- EC2 ----

    /// Subnets of one VPC (paged).
    async fn describe_subnets(&self, vpc_id: &str) -> CloudResult<Vec<Subnet>>;
    /// By id; ids that do not exist are left out.
    async fn describe_instances(&self, ids: &[String]) -> CloudResult<Vec<Instance>>;
    async fn describe_security_groups(&self, filter: SecurityGroupFilter) -> CloudResult<Vec<SecurityGroup>>;
    /// Ingress rules (egress rules are left out), of one group or by tag across groups (paged).
    async fn describe_security_group_rules(
        &self,
        filter: SecurityGroupRuleFilter,
    ) -> CloudResult<Vec<SecurityGroupRule>>;
    /// Returns the new group's id. The group is created without ingress rules; the default egress
    /// rule AWS adds is left as it is.
    async fn create_security_group(
        &self,
        group_name: &str,
        description: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> CloudResult<String>;
    async fn delete_security_group(&self, group_id: &str) -> CloudResult<()>;
    /// All rules in one request; returns the new rules (ids and tags) in the order given.
    async fn authorize_security_group_ingress(
        &self,
        group_id: &str,
        rules: &[NewIngressRule],
    ) -> CloudResult<Vec<SecurityGroupRule>>;
    async fn revoke_security_group_ingress(&self, group_id: &str, rule_ids: &[String]) -> CloudResult<()>;
    /// EC2 resources (security groups, rules) by id.
    async fn create_tags(&self, resource_ids: &[String], tags: &Tags) -> CloudResult<()>;
    async fn delete_tags(&self, resource_ids: &[String], keys: &[String]) -> CloudResult<()>;
}
