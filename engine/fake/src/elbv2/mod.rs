//! The fake's ELBv2: load balancers, target groups, targets, tags and attributes, with the rules
//! AWS enforces that the deployer must live with. Listeners and rules live in [`listeners`].
//!
//! Every lookup goes through an index (by ARN, by name, listeners per load balancer, rules per
//! listener, users per target group), so ten thousand load balancers cost no more per call than ten.

mod actions;
mod certificates;
mod listeners;
mod trust_stores;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

use elbow_model::{
    Attributes, HealthCheck, IpAddressType, LoadBalancerType, Protocol, ProtocolVersion, Scheme, SubnetAddresses, Tags,
    Target, TargetType,
};

use super::names::{REGION, arn, hex_id, validate_elb_name};
use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudError, CloudErrorKind, CloudResult};
use elbow_cloud::types::*;

const MAX_TARGETS_PER_TG: usize = 1000;
const MAX_TAGS_PER_RESOURCE: usize = 50;

/// A target's health as DescribeTargetHealth reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

impl Health {
    /// What AWS says of a target that passes its health checks: no reason, no description.
    pub fn healthy() -> Self {
        Self { state: "healthy".into(), reason: None, description: None }
    }
}

fn fail(api: Api, kind: CloudErrorKind, code: &str, message: impl Into<String>) -> CloudError {
    CloudError::new(api, kind, code, message)
}

#[derive(Debug, Default)]
pub(crate) struct Elbv2 {
    next: u64,
    load_balancers: BTreeMap<Arn, LoadBalancer>,
    lb_by_name: HashMap<String, Arn>,
    lb_attributes: HashMap<Arn, Attributes>,
    /// The fixed addresses a network load balancer was created with (its `SubnetMappings`).
    subnet_addresses: HashMap<Arn, Vec<SubnetAddresses>>,
    /// Network load balancers created without security groups: AWS never lets them have any.
    lbs_without_security_groups: BTreeSet<Arn>,
    /// Minimum capacity reservations, in capacity units, by load balancer.
    capacity_reservations: HashMap<Arn, u32>,
    /// How many load balancers each security group is attached to.
    security_group_users: HashMap<String, usize>,
    target_groups: BTreeMap<Arn, TargetGroup>,
    tg_by_name: HashMap<String, Arn>,
    tg_attributes: HashMap<Arn, Attributes>,
    targets: HashMap<Arn, BTreeSet<Target>>,
    /// Health a test gave targets (see `FakeCloud::set_target_health`); every other registered
    /// target is healthy. Dropped when the target is deregistered, as AWS starts a target that is
    /// registered again from scratch.
    health: HashMap<Arn, BTreeMap<Target, Health>>,
    /// The health a target starts with when it is registered and a test gave it none (see
    /// `FakeCloud::set_new_target_health`): on AWS a new target is `initial` until its health
    /// checks pass; unset, the fake (like moto) reports it healthy at once.
    new_target_health: Option<Health>,
    /// Which listeners and rules forward to a target group, with their load balancer: a target
    /// group in use cannot be deleted, and belongs to at most one network load balancer.
    tg_users: HashMap<Arn, BTreeMap<Arn, Arn>>,
    listeners: BTreeMap<Arn, Listener>,
    /// Listeners of each load balancer.
    lb_listeners: HashMap<Arn, BTreeSet<Arn>>,
    /// Rules (not the default one) of each listener.
    listener_rules: HashMap<Arn, BTreeSet<Arn>>,
    /// The ARN of each listener's default rule.
    default_rules: HashMap<Arn, Arn>,
    /// Rules by ARN, with the listener they belong to.
    rules: HashMap<Arn, (Arn, Rule)>,
    /// The certificate list of each listener (its default certificate is on the listener).
    certificate_lists: HashMap<Arn, Vec<String>>,
    /// Every attribute of each listener, AWS's defaults included.
    listener_attributes: HashMap<Arn, Attributes>,
    /// Trust stores (mutual TLS): ARN by name.
    trust_stores: BTreeMap<String, Arn>,
    tags: HashMap<Arn, Tags>,
    /// Whether new load balancers stay `provisioning` (see `FakeCloud::hold_provisioning`).
    hold_provisioning: bool,
    /// Load balancers created while held: `provisioning` to every describe until released.
    still_provisioning: BTreeSet<Arn>,
}

impl Elbv2 {
    pub(crate) fn hold_provisioning(&mut self, hold: bool) {
        self.hold_provisioning = hold;
        if !hold {
            self.still_provisioning.clear();
        }
    }

    fn next_id(&mut self) -> String {
        self.next += 1;
        hex_id(self.next)
    }

    // ---- describe ----

    /// One request's worth: every load balancer, the named ones (unknown names left out), or the
    /// given ARNs (an unknown ARN fails the request, as on AWS).
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
                    return Err(lb_not_found(api, missing));
                }
                arns.clone()
            }
        };
        let mut found = Vec::with_capacity(arns.len());
        for arn in &arns {
            if let Some(lb) = self.load_balancers.get_mut(arn) {
                // Like moto by default: the create answer says `provisioning`, every describe
                // says `active`. AWS takes minutes, which `hold_provisioning` stands in for.
                if !self.still_provisioning.contains(arn) {
                    lb.state = "active".to_string();
                }
                found.push(lb.clone());
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
                self.target_groups_of_load_balancer(lb).into_iter().collect()
            }
        };
        Ok(arns.iter().filter_map(|arn| self.target_groups.get(arn).cloned()).collect())
    }

    pub(crate) fn target_group_attributes(&self, api: Api, arn: &str) -> CloudResult<Attributes> {
        self.tg_attributes.get(arn).cloned().ok_or_else(|| tg_not_found(api, arn))
    }

    pub(crate) fn target_health(&self, api: Api, arn: &str) -> CloudResult<Vec<TargetHealth>> {
        let targets = self.targets.get(arn).ok_or_else(|| tg_not_found(api, arn))?;
        // No data plane: every registered target is healthy, as on moto, unless a test said
        // otherwise.
        let set = self.health.get(arn);
        Ok(targets
            .iter()
            .map(|t| {
                let health = set.and_then(|s| s.get(t)).cloned().unwrap_or_else(Health::healthy);
                TargetHealth {
                    target: t.clone(),
                    state: health.state,
                    reason: health.reason,
                    description: health.description,
                }
            })
            .collect())
    }

    /// Gives a target the health DescribeTargetHealth reports while it is registered (now, or
    /// once it is); false when there is no such target group.
    pub(crate) fn set_target_health(&mut self, arn: &str, target: &Target, health: Health) -> bool {
        if !self.target_groups.contains_key(arn) {
            return false;
        }
        self.health.entry(arn.to_string()).or_default().insert(target.clone(), health);
        true
    }

    /// Tags of the given ARNs; unknown ARNs are left out.
    pub(crate) fn tags_of(&self, arns: &[Arn]) -> BTreeMap<Arn, Tags> {
        arns.iter().filter_map(|arn| self.tags.get(arn).map(|tags| (arn.clone(), tags.clone()))).collect()
    }

    // ---- load balancers ----

    /// `vpc_id` is the VPC of the subnets, checked by the caller (EC2 knows the subnets).
    pub(crate) fn create_load_balancer(
        &mut self,
        api: Api,
        input: CreateLoadBalancer,
        vpc_id: String,
    ) -> CloudResult<LoadBalancer> {
        validate_elb_name(api, &input.name)?;
        let subnets = sorted(&input.subnets);
        let security_groups = sorted(&input.security_groups);
        if let Some(existing) = self.lb_by_name.get(&input.name).and_then(|arn| self.load_balancers.get(arn)) {
            // AWS answers a repeated create with identical settings with the existing load balancer.
            let same = existing.lb_type == input.lb_type
                && existing.scheme == input.scheme
                && existing.ip_address_type == input.ip_address_type
                && existing.subnets == subnets
                && existing.security_groups == security_groups
                && self.subnet_addresses.get(&existing.arn).map_or(&[][..], Vec::as_slice)
                    == input.subnet_addresses.as_slice();
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
            LoadBalancerType::Network => "net",
            LoadBalancerType::Application => "app",
        };
        let arn = arn(&format!("loadbalancer/{kind}/{}/{id}", input.name));
        let lb = LoadBalancer {
            arn: arn.clone(),
            name: input.name.clone(),
            dns_name: dns_name(&input.name, input.scheme, input.lb_type, &id),
            lb_type: input.lb_type,
            scheme: input.scheme,
            ip_address_type: input.ip_address_type,
            vpc_id,
            state: "provisioning".to_string(),
            subnets,
            security_groups,
            created_time: Some(std::time::SystemTime::now()),
        };
        if self.hold_provisioning {
            self.still_provisioning.insert(arn.clone());
        }
        if !input.subnet_addresses.is_empty() {
            self.subnet_addresses.insert(arn.clone(), input.subnet_addresses.clone());
        }
        if input.lb_type == LoadBalancerType::Network && lb.security_groups.is_empty() {
            self.lbs_without_security_groups.insert(arn.clone());
        }
        self.count_security_group_users(&lb.security_groups, 1);
        self.lb_by_name.insert(input.name, arn.clone());
        self.lb_attributes.insert(arn.clone(), default_lb_attributes(input.lb_type));
        self.tags.insert(arn.clone(), input.tags);
        self.load_balancers.insert(arn, lb.clone());
        Ok(lb)
    }

    pub(crate) fn delete_load_balancer(&mut self, arn: &str) {
        // Deleting a load balancer that does not exist succeeds, as on AWS.
        let Some(lb) = self.load_balancers.remove(arn) else { return };
        self.count_security_group_users(&lb.security_groups, -1);
        self.lb_by_name.remove(&lb.name);
        self.lb_attributes.remove(arn);
        self.subnet_addresses.remove(arn);
        self.still_provisioning.remove(arn);
        self.lbs_without_security_groups.remove(arn);
        self.capacity_reservations.remove(arn);
        self.tags.remove(arn);
        for listener in self.lb_listeners.remove(arn).unwrap_or_default() {
            self.remove_listener(&listener);
        }
    }

    /// The fixed addresses of a load balancer; none when AWS picked them or it does not exist.
    pub(crate) fn subnet_addresses_of(&self, arn: &str) -> Vec<SubnetAddresses> {
        self.subnet_addresses.get(arn).cloned().unwrap_or_default()
    }

    /// The load balancer other than one named `except` that holds Elastic IP `allocation_id`.
    pub(crate) fn holder_of_elastic_ip(&self, allocation_id: &str, except: &str) -> Option<&LoadBalancer> {
        self.subnet_addresses
            .iter()
            .filter(|(_, addresses)| addresses.iter().any(|a| a.allocation_id.as_deref() == Some(allocation_id)))
            .filter_map(|(arn, _)| self.load_balancers.get(arn))
            .find(|lb| lb.name != except)
    }

    pub(crate) fn load_balancer(&self, api: Api, arn: &str) -> CloudResult<&LoadBalancer> {
        self.load_balancers.get(arn).ok_or_else(|| lb_not_found(api, arn))
    }

    pub(crate) fn set_security_groups(&mut self, api: Api, arn: &str, groups: &[String]) -> CloudResult<()> {
        self.load_balancer(api, arn)?;
        if self.lbs_without_security_groups.contains(arn) {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "InvalidConfigurationRequest",
                "a network load balancer created without security groups cannot be given any",
            ));
        }
        let groups = sorted(groups);
        let old = self.load_balancers.get(arn).map(|lb| lb.security_groups.clone()).unwrap_or_default();
        self.count_security_group_users(&old, -1);
        self.count_security_group_users(&groups, 1);
        if let Some(lb) = self.load_balancers.get_mut(arn) {
            lb.security_groups = groups;
        }
        Ok(())
    }

    pub(crate) fn set_subnets(&mut self, api: Api, arn: &str, subnets: &[String]) -> CloudResult<()> {
        let lb = self.load_balancers.get_mut(arn).ok_or_else(|| lb_not_found(api, arn))?;
        lb.subnets = sorted(subnets);
        Ok(())
    }

    pub(crate) fn set_ip_address_type(
        &mut self,
        api: Api,
        arn: &str,
        ip_address_type: IpAddressType,
    ) -> CloudResult<()> {
        let lb = self.load_balancers.get_mut(arn).ok_or_else(|| lb_not_found(api, arn))?;
        lb.ip_address_type = ip_address_type;
        Ok(())
    }

    /// Whether a load balancer still has the security group attached.
    pub(crate) fn security_group_in_use(&self, group_id: &str) -> bool {
        self.security_group_users.get(group_id).is_some_and(|n| *n > 0)
    }

    fn count_security_group_users(&mut self, groups: &[String], delta: isize) {
        for group in groups {
            let users = self.security_group_users.entry(group.clone()).or_default();
            *users = users.saturating_add_signed(delta);
            if *users == 0 {
                self.security_group_users.remove(group);
            }
        }
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

    pub(crate) fn capacity_reservation(&self, api: Api, arn: &str) -> CloudResult<Option<u32>> {
        self.load_balancer(api, arn)?;
        Ok(self.capacity_reservations.get(arn).copied())
    }

    /// As on AWS: zero units is no reservation (ModifyCapacityReservation takes at least one),
    /// and resetting a load balancer without one succeeds.
    pub(crate) fn modify_capacity_reservation(&mut self, api: Api, arn: &str, units: Option<u32>) -> CloudResult<()> {
        self.load_balancer(api, arn)?;
        match units {
            Some(0) => {
                return Err(fail(
                    api,
                    CloudErrorKind::InvalidRequest,
                    "ValidationError",
                    "capacity units must be at least 1; reset the reservation instead",
                ));
            }
            Some(units) => {
                self.capacity_reservations.insert(arn.to_string(), units);
            }
            None => {
                self.capacity_reservations.remove(arn);
            }
        }
        Ok(())
    }

    // ---- target groups ----

    pub(crate) fn create_target_group(&mut self, api: Api, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        validate_elb_name(api, &input.name)?;
        let http = matches!(input.protocol, Protocol::Http | Protocol::Https);
        if input.protocol_version.is_some() && !http {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "ValidationError",
                format!(
                    "a protocol version cannot be specified for target groups with the {} protocol",
                    input.protocol.as_str()
                ),
            ));
        }
        // AWS reports HTTP1 for every HTTP(S) group made without a version.
        let protocol_version = ProtocolVersion::effective(input.protocol, input.protocol_version);
        validate_matcher(api, &input.health_check, protocol_version == Some(ProtocolVersion::Grpc))?;
        if let Some(existing) = self.tg_by_name.get(&input.name).and_then(|arn| self.target_groups.get(arn)) {
            // As for load balancers: identical settings return the existing group.
            let same = existing.protocol == input.protocol
                && existing.port == input.port
                && existing.protocol_version == protocol_version
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
            protocol_version,
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

    /// Only the health check can change: target type, protocol, port, protocol version and VPC
    /// are fixed for life. A gRPC group takes gRPC success codes (`GrpcCode`) only, the others
    /// HTTP codes (`HttpCode`) only.
    pub(crate) fn modify_target_group(
        &mut self,
        api: Api,
        arn: &str,
        health_check: &HealthCheck,
        grpc: bool,
    ) -> CloudResult<()> {
        let tg = self.target_groups.get_mut(arn).ok_or_else(|| tg_not_found(api, arn))?;
        let is_grpc = tg.protocol_version == Some(ProtocolVersion::Grpc);
        if health_check.matcher.is_some() && grpc != is_grpc {
            let (sent, takes) = if grpc { ("GrpcCode", "HttpCode") } else { ("HttpCode", "GrpcCode") };
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "ValidationError",
                format!("target group {} takes a {takes} matcher, not a {sent} one", tg.name),
            ));
        }
        validate_matcher(api, health_check, is_grpc)?;
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

    /// Deleting a target group that does not exist succeeds; one still forwarded to is in use.
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
        self.health.remove(arn);
        self.tags.remove(arn);
        self.tg_users.remove(arn);
        Ok(())
    }

    /// One request: every target is checked before any is added. Instance targets must be
    /// running instances; ip targets, as AWS has it, IPv4 addresses in a subnet of the target
    /// group's VPC (an address in the private ranges outside the VPC needs an Availability Zone
    /// of `all`, which Elbow never sends; a public one is refused outright), never instance ids.
    pub(crate) fn register_targets(
        &mut self,
        api: Api,
        arn: &str,
        targets: &[Target],
        instance_exists: impl Fn(&str) -> bool,
        in_vpc_subnet: impl Fn(&str, Ipv4Addr) -> bool,
    ) -> CloudResult<()> {
        let tg = self.target_groups.get(arn).ok_or_else(|| tg_not_found(api, arn))?;
        let invalid = |message: String| fail(api, CloudErrorKind::InvalidRequest, "InvalidTarget", message);
        if let Some(zero) = targets.iter().find(|t| t.port == 0) {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "ValidationError",
                format!("target '{}' has port 0; ports are 1 to 65535", zero.id),
            ));
        }
        match tg.target_type {
            TargetType::Instance => {
                if let Some(unknown) = targets.iter().find(|t| !instance_exists(&t.id)) {
                    return Err(invalid(format!(
                        "the following targets are not in a running state and can't be registered: '{}'",
                        unknown.id
                    )));
                }
            }
            TargetType::Ip => {
                for target in targets {
                    let Ok(address) = target.id.parse::<Ipv4Addr>() else {
                        return Err(invalid(format!(
                            "the IP address '{}' is not a valid IPv4 address; a target group of type ip takes IP addresses, not instance ids",
                            target.id
                        )));
                    };
                    if in_vpc_subnet(&tg.vpc_id, address) {
                        continue;
                    }
                    return Err(invalid(if is_private(address) {
                        format!(
                            "the IP address '{address}' is outside the VPC '{}'; an Availability Zone of 'all' must be specified",
                            tg.vpc_id
                        )
                    } else {
                        format!("the IP address '{address}' is publicly routable and can't be registered")
                    }));
                }
            }
        }
        check_quic_server_ids(api, tg.protocol, targets, self.targets.get(arn))?;
        let registered = self.targets.entry(arn.to_string()).or_default();
        let new: BTreeSet<&Target> = targets.iter().filter(|t| !registered.contains(*t)).collect();
        if registered.len() + new.len() > MAX_TARGETS_PER_TG {
            return Err(fail(
                api,
                CloudErrorKind::LimitExceeded,
                "TooManyTargets",
                format!("you've reached the limit of {MAX_TARGETS_PER_TG} targets per target group"),
            ));
        }
        if let Some(start) = &self.new_target_health {
            let health = self.health.entry(arn.to_string()).or_default();
            for target in &new {
                health.entry((*target).clone()).or_insert_with(|| start.clone());
            }
        }
        registered.extend(targets.iter().cloned());
        Ok(())
    }

    /// The health targets registered from now on start with (`None`: healthy).
    pub(crate) fn set_new_target_health(&mut self, health: Option<Health>) {
        self.new_target_health = health;
    }

    /// Targets that are not registered are ignored, as on AWS. A target is its address and port:
    /// a QUIC target goes whatever server id the request names.
    pub(crate) fn deregister_targets(&mut self, api: Api, arn: &str, targets: &[Target]) -> CloudResult<()> {
        let registered = self.targets.get_mut(arn).ok_or_else(|| tg_not_found(api, arn))?;
        let mut health = self.health.get_mut(arn);
        for target in targets {
            let found: Vec<Target> = registered.iter().filter(|t| t.same_place(target)).cloned().collect();
            for gone in found {
                registered.remove(&gone);
                if let Some(health) = health.as_mut() {
                    health.remove(&gone);
                }
            }
        }
        Ok(())
    }

    // ---- inspection ----

    pub(crate) fn set_created_time(&mut self, arn: &str, time: std::time::SystemTime) -> bool {
        self.load_balancers.get_mut(arn).map(|lb| lb.created_time = Some(time)).is_some()
    }

    pub(crate) fn load_balancers(&self) -> Vec<LoadBalancer> {
        self.load_balancers.values().cloned().collect()
    }

    pub(crate) fn target_groups(&self) -> Vec<TargetGroup> {
        self.target_groups.values().cloned().collect()
    }

    pub(crate) fn targets_of(&self, arn: &str) -> Vec<Target> {
        self.targets.get(arn).map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }

    pub(crate) fn attributes_of(&self, arn: &str) -> Attributes {
        self.lb_attributes.get(arn).or_else(|| self.tg_attributes.get(arn)).cloned().unwrap_or_default()
    }

    pub(crate) fn security_groups_of(&self, arn: &str) -> Vec<String> {
        self.load_balancers.get(arn).map(|lb| lb.security_groups.clone()).unwrap_or_default()
    }

    pub(crate) fn tags_of_one(&self, arn: &str) -> Option<Tags> {
        self.tags.get(arn).cloned()
    }

    // ---- tags ----

    /// All ARNs must exist; a resource holds at most 50 tags.
    pub(crate) fn add_tags(&mut self, api: Api, arns: &[Arn], tags: &Tags) -> CloudResult<()> {
        self.check_taggable(api, arns)?;
        for arn in arns {
            let current = self.tags.get(arn).map(|t| t.keys().chain(tags.keys()).collect::<BTreeSet<_>>().len());
            if current.unwrap_or(0) > MAX_TAGS_PER_RESOURCE {
                return Err(fail(
                    api,
                    CloudErrorKind::LimitExceeded,
                    "TooManyTags",
                    format!("{arn} would have more than {MAX_TAGS_PER_RESOURCE} tags"),
                ));
            }
        }
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

    fn check_taggable(&self, api: Api, arns: &[Arn]) -> CloudResult<()> {
        match arns.iter().find(|arn| !self.tags.contains_key(*arn)) {
            Some(missing) if missing.contains(":targetgroup/") => Err(tg_not_found(api, missing)),
            Some(missing) if missing.contains(":listener/") => Err(listener_not_found(api, missing)),
            Some(missing) if missing.contains(":listener-rule/") => Err(rule_not_found(api, missing)),
            Some(missing) => Err(lb_not_found(api, missing)),
            None => Ok(()),
        }
    }
}

/// RFC 1918 and RFC 6598 (carrier-grade NAT): the ranges ELBv2 takes ip targets from outside the
/// target group's VPC.
fn is_private(address: Ipv4Addr) -> bool {
    let [a, b, ..] = address.octets();
    address.is_private() || (a == 100 && (64..128).contains(&b))
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    items
}

/// Lower case, as AWS reports it. NLB: `<name>-<16 hex>.elb.<region>.amazonaws.com`; ALB:
/// `<name>-<10 digits>.<region>.elb.amazonaws.com`, with `internal-` in front when internal.
fn dns_name(name: &str, scheme: Scheme, lb_type: LoadBalancerType, id: &str) -> String {
    match lb_type {
        LoadBalancerType::Network => format!("{name}-{id}.elb.{REGION}.amazonaws.com"),
        LoadBalancerType::Application => {
            let prefix = if scheme == Scheme::Internal { "internal-" } else { "" };
            let digits = u64::from_str_radix(id, 16).unwrap_or_default() % 10_000_000_000;
            format!("{prefix}{name}-{digits:010}.{REGION}.elb.amazonaws.com")
        }
    }
    .to_lowercase()
}

fn default_lb_attributes(lb_type: LoadBalancerType) -> Attributes {
    let mut attributes = Attributes::from([
        ("deletion_protection.enabled".to_string(), "false".to_string()),
        ("access_logs.s3.enabled".to_string(), "false".to_string()),
    ]);
    if lb_type == LoadBalancerType::Network {
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
    fail(api, CloudErrorKind::NotFound, "LoadBalancerNotFound", format!("load balancer '{arn}' not found"))
}

fn tg_not_found(api: Api, arn: &str) -> CloudError {
    fail(api, CloudErrorKind::NotFound, "TargetGroupNotFound", format!("target group '{arn}' not found"))
}

fn listener_not_found(api: Api, arn: &str) -> CloudError {
    fail(api, CloudErrorKind::NotFound, "ListenerNotFound", format!("listener '{arn}' not found"))
}

fn rule_not_found(api: Api, arn: &str) -> CloudError {
    fail(api, CloudErrorKind::NotFound, "RuleNotFound", format!("rule '{arn}' not found"))
}

/// AWS's ranges for success codes: gRPC codes 0 to 99, HTTP codes 200 to 599 (499 on an
/// application load balancer's groups, which the fake does not tell apart), each as a code, a
/// range `a-b` or a comma-separated list of those.
fn validate_matcher(api: Api, health_check: &HealthCheck, grpc: bool) -> CloudResult<()> {
    let Some(codes) = &health_check.matcher else { return Ok(()) };
    let (low, high, name) = if grpc { (0, 99, "GrpcCode") } else { (200, 599, "HttpCode") };
    let in_range = |code: &str| code.parse::<u16>().is_ok_and(|c| (low..=high).contains(&c));
    let valid = codes.split(',').all(|part| match part.split_once('-') {
        Some((from, to)) => in_range(from) && in_range(to) && from.parse::<u16>().ok() <= to.parse::<u16>().ok(),
        None => in_range(part),
    });
    if valid {
        Ok(())
    } else {
        Err(fail(
            api,
            CloudErrorKind::InvalidRequest,
            "ValidationError",
            format!("{name} '{codes}' must be codes from {low} to {high}, like {low} | {low}-{high} | {low},{high}"),
        ))
    }
}

/// ELBv2's rules for `QuicServerId`: required on every target of a QUIC or TCP_QUIC group and
/// refused on any other; `0x` and 16 lowercase hex digits; unique in the group; and fixed for a
/// registered target (another id at its address and port must wait for it to be deregistered).
fn check_quic_server_ids(
    api: Api,
    protocol: Protocol,
    targets: &[Target],
    registered: Option<&BTreeSet<Target>>,
) -> CloudResult<()> {
    let invalid = |message: String| Err(fail(api, CloudErrorKind::InvalidRequest, "ValidationError", message));
    if !protocol.is_quic() {
        return match targets.iter().find(|t| t.quic_server_id.is_some()) {
            Some(t) => invalid(format!(
                "target '{}' has a QUIC server ID, which only QUIC and TCP_QUIC target groups take",
                t.id
            )),
            None => Ok(()),
        };
    }
    let well_formed = |id: &str| {
        id.strip_prefix("0x")
            .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    };
    let mut ids: BTreeMap<&str, &Target> = BTreeMap::new();
    for target in registered.into_iter().flatten() {
        if let Some(id) = &target.quic_server_id {
            ids.insert(id, target);
        }
    }
    for target in targets {
        let Some(id) = target.quic_server_id.as_deref() else {
            return invalid(format!(
                "target '{}' needs a QUIC server ID in a {} target group",
                target.id,
                protocol.as_str()
            ));
        };
        if !well_formed(id) {
            return invalid(format!("QUIC server ID '{id}' is not 0x followed by 16 lowercase hexadecimal characters"));
        }
        if let Some(holder) = registered.into_iter().flatten().find(|t| t.same_place(target) && *t != target) {
            return invalid(format!(
                "target '{}:{}' is registered with QUIC server ID '{}'; deregister it before registering it with another",
                holder.id,
                holder.port,
                holder.quic_server_id.as_deref().unwrap_or_default()
            ));
        }
        if let Some(other) = ids.insert(id, target)
            && !other.same_place(target)
        {
            return invalid(format!("QUIC server ID '{id}' is already used by target '{}:{}'", other.id, other.port));
        }
    }
    Ok(())
}
