//! The ELBv2 half of the SDK implementation: one request per call, pages and batches counted one
//! by one.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types as elb;
use elbow_cloud::*;
use elbow_model::{Attributes, HealthCheck, HealthCheckPort, IpAddressType, Protocol, ProtocolVersion, Tags, Target};

use crate::convert::*;
use crate::errors::classify;

const PAGE_SIZE: i32 = 400;
const TAGS_BATCH: usize = 20;
const TARGETS_BATCH: usize = 200;
/// DescribeLoadBalancers takes at most 20 ARNs per request.
const ARNS_PER_DESCRIBE: usize = 20;

pub(crate) struct Elbv2 {
    pub(crate) client: Client,
    pub(crate) calls: Arc<CallCounter>,
}

impl Elbv2 {
    fn count(&self, api: Api) -> Api {
        self.calls.record(api);
        api
    }

    pub(crate) async fn describe_load_balancers(&self, filter: LoadBalancerFilter) -> CloudResult<Vec<LoadBalancer>> {
        if let LoadBalancerFilter::Names(names) = &filter
            && names.len() > 1
        {
            // AWS fails the whole request when one name is unknown; ask name by name instead.
            let mut found = Vec::new();
            for name in names {
                found.extend(
                    Box::pin(self.describe_load_balancers(LoadBalancerFilter::Names(vec![name.clone()]))).await?,
                );
            }
            return Ok(found);
        }
        if let LoadBalancerFilter::Arns(arns) = &filter
            && arns.len() > ARNS_PER_DESCRIBE
        {
            let mut found = Vec::new();
            for batch in arns.chunks(ARNS_PER_DESCRIBE) {
                found.extend(Box::pin(self.describe_load_balancers(LoadBalancerFilter::Arns(batch.to_vec()))).await?);
            }
            return Ok(found);
        }
        let mut marker = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::DescribeLoadBalancers);
            let mut request = self.client.describe_load_balancers().set_marker(marker.clone());
            request = match &filter {
                LoadBalancerFilter::All => request.page_size(PAGE_SIZE),
                LoadBalancerFilter::Names(names) => request.set_names(Some(names.clone())),
                LoadBalancerFilter::Arns(arns) => request.set_load_balancer_arns(Some(arns.clone())),
            };
            match request.send().await {
                Ok(page) => {
                    found.extend(page.load_balancers().iter().map(load_balancer));
                    marker = page.next_marker().map(str::to_string);
                    if marker.is_none() {
                        return Ok(found);
                    }
                }
                Err(error) => {
                    let error = classify(api, error);
                    return if error.is_not_found() && matches!(filter, LoadBalancerFilter::Names(_)) {
                        Ok(found)
                    } else {
                        Err(error)
                    };
                }
            }
        }
    }

    pub(crate) async fn load_balancer_attributes(&self, arn: &str) -> CloudResult<Attributes> {
        let api = self.count(Api::DescribeLoadBalancerAttributes);
        let out = self
            .client
            .describe_load_balancer_attributes()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(attribute_map(out.attributes()))
    }

    pub(crate) async fn describe_target_groups(&self, filter: TargetGroupFilter) -> CloudResult<Vec<TargetGroup>> {
        if let TargetGroupFilter::Names(names) = &filter
            && names.len() > 1
        {
            let mut found = Vec::new();
            for name in names {
                found
                    .extend(Box::pin(self.describe_target_groups(TargetGroupFilter::Names(vec![name.clone()]))).await?);
            }
            return Ok(found);
        }
        let mut marker = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::DescribeTargetGroups);
            let mut request = self.client.describe_target_groups().set_marker(marker.clone());
            request = match &filter {
                TargetGroupFilter::All => request.page_size(PAGE_SIZE),
                TargetGroupFilter::Names(names) => request.set_names(Some(names.clone())),
                TargetGroupFilter::Arns(arns) => request.set_target_group_arns(Some(arns.clone())),
                TargetGroupFilter::LoadBalancer(arn) => request.load_balancer_arn(arn),
            };
            match request.send().await {
                Ok(page) => {
                    found.extend(page.target_groups().iter().map(target_group));
                    marker = page.next_marker().map(str::to_string);
                    if marker.is_none() {
                        return Ok(found);
                    }
                }
                Err(error) => {
                    let error = classify(api, error);
                    return if error.is_not_found() && matches!(filter, TargetGroupFilter::Names(_)) {
                        Ok(found)
                    } else {
                        Err(error)
                    };
                }
            }
        }
    }

    pub(crate) async fn target_group_attributes(&self, arn: &str) -> CloudResult<Attributes> {
        let api = self.count(Api::DescribeTargetGroupAttributes);
        let out = self
            .client
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(attribute_map(out.attributes()))
    }

    pub(crate) async fn target_health(&self, arn: &str) -> CloudResult<Vec<TargetHealth>> {
        let api = self.count(Api::DescribeTargetHealth);
        let out =
            self.client.describe_target_health().target_group_arn(arn).send().await.map_err(|e| classify(api, e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .filter_map(|d| {
                let target = d.target()?;
                Some(TargetHealth {
                    target: Target {
                        id: target.id()?.to_string(),
                        port: target.port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
                        quic_server_id: target.quic_server_id().map(str::to_string),
                    },
                    state: d
                        .target_health()
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: d.target_health().and_then(|h| h.reason()).map(|r| r.as_str().to_string()),
                    description: d.target_health().and_then(|h| h.description()).map(str::to_string),
                })
            })
            .collect())
    }

    pub(crate) async fn describe_listeners(&self, lb: &str) -> CloudResult<Vec<Listener>> {
        let mut marker = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::DescribeListeners);
            let page = self
                .client
                .describe_listeners()
                .load_balancer_arn(lb)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            found.extend(page.listeners().iter().map(listener));
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(found);
            }
        }
    }

    pub(crate) async fn describe_rules(&self, listener_arn: &str) -> CloudResult<Vec<Rule>> {
        let mut marker = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::DescribeRules);
            let page = self
                .client
                .describe_rules()
                .listener_arn(listener_arn)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            found.extend(page.rules().iter().map(rule));
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(found);
            }
        }
    }

    pub(crate) async fn describe_tags(&self, arns: &[Arn]) -> CloudResult<BTreeMap<Arn, Tags>> {
        let mut found = BTreeMap::new();
        for batch in arns.chunks(TAGS_BATCH) {
            let api = self.count(Api::DescribeTags);
            match self.client.describe_tags().set_resource_arns(Some(batch.to_vec())).send().await {
                Ok(out) => {
                    for description in out.tag_descriptions() {
                        if let Some(arn) = description.resource_arn() {
                            found.insert(arn.to_string(), from_elb_tags(description.tags()));
                        }
                    }
                }
                // A resource deleted between the list and this call fails the whole batch; its
                // neighbours are asked again one by one and the missing one left out.
                Err(error) => {
                    let error = classify(api, error);
                    if !error.is_not_found() || batch.len() == 1 {
                        if error.is_not_found() {
                            continue;
                        }
                        return Err(error);
                    }
                    for arn in batch {
                        found.extend(Box::pin(self.describe_tags(std::slice::from_ref(arn))).await?);
                    }
                }
            }
        }
        Ok(found)
    }

    pub(crate) async fn create_load_balancer(&self, input: CreateLoadBalancer) -> CloudResult<LoadBalancer> {
        let api = self.count(Api::CreateLoadBalancer);
        let out = self
            .client
            .create_load_balancer()
            .name(&input.name)
            .r#type(lb_type(input.lb_type))
            .scheme(scheme(input.scheme))
            .ip_address_type(ip_address_type(input.ip_address_type))
            // AWS takes either subnets or subnet mappings, not both.
            .set_subnets(input.subnet_addresses.is_empty().then(|| input.subnets.clone()))
            .set_subnet_mappings(subnet_mappings(&input.subnet_addresses))
            .set_security_groups((!input.security_groups.is_empty()).then(|| input.security_groups.clone()))
            .set_tags(elb_tags_on_create(&input.tags))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        out.load_balancers().first().map(load_balancer).ok_or_else(|| empty_answer(api))
    }

    pub(crate) async fn delete_load_balancer(&self, arn: &str) -> CloudResult<()> {
        let api = self.count(Api::DeleteLoadBalancer);
        self.client.delete_load_balancer().load_balancer_arn(arn).send().await.map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn set_security_groups(&self, arn: &str, groups: &[String]) -> CloudResult<()> {
        let api = self.count(Api::SetSecurityGroups);
        self.client
            .set_security_groups()
            .load_balancer_arn(arn)
            .set_security_groups(Some(groups.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn set_subnets(&self, arn: &str, subnets: &[String]) -> CloudResult<()> {
        let api = self.count(Api::SetSubnets);
        self.client
            .set_subnets()
            .load_balancer_arn(arn)
            .set_subnets(Some(subnets.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn set_ip_address_type(&self, arn: &str, t: IpAddressType) -> CloudResult<()> {
        let api = self.count(Api::SetIpAddressType);
        self.client
            .set_ip_address_type()
            .load_balancer_arn(arn)
            .ip_address_type(ip_address_type(t))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn modify_load_balancer_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        let api = self.count(Api::ModifyLoadBalancerAttributes);
        let attributes =
            attributes.iter().map(|(k, v)| elb::LoadBalancerAttribute::builder().key(k).value(v).build()).collect();
        self.client
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn listener_attributes(&self, listener_arn: &str) -> CloudResult<AttributeMap> {
        let api = self.count(Api::DescribeListenerAttributes);
        let out = self
            .client
            .describe_listener_attributes()
            .listener_arn(listener_arn)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(attribute_map(out.attributes()))
    }

    pub(crate) async fn modify_listener_attributes(
        &self,
        listener_arn: &str,
        attributes: &Attributes,
    ) -> CloudResult<()> {
        let api = self.count(Api::ModifyListenerAttributes);
        let attributes =
            attributes.iter().map(|(k, v)| elb::ListenerAttribute::builder().key(k).value(v).build()).collect();
        self.client
            .modify_listener_attributes()
            .listener_arn(listener_arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn describe_capacity_reservation(&self, load_balancer_arn: &str) -> CloudResult<Option<u32>> {
        let api = self.count(Api::DescribeCapacityReservation);
        let out = self
            .client
            .describe_capacity_reservation()
            .load_balancer_arn(load_balancer_arn)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        // A load balancer without a reservation reports none, or zero units.
        let units = out.minimum_load_balancer_capacity().and_then(|c| c.capacity_units());
        Ok(units.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0))
    }

    pub(crate) async fn modify_capacity_reservation(
        &self,
        load_balancer_arn: &str,
        capacity_units: Option<u32>,
    ) -> CloudResult<()> {
        let api = self.count(Api::ModifyCapacityReservation);
        let request = self.client.modify_capacity_reservation().load_balancer_arn(load_balancer_arn);
        let request = match capacity_units {
            Some(units) => request.minimum_load_balancer_capacity(
                elb::MinimumLoadBalancerCapacity::builder()
                    .capacity_units(i32::try_from(units).unwrap_or(i32::MAX))
                    .build(),
            ),
            None => request.reset_capacity_reservation(true),
        };
        request.send().await.map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn create_target_group(&self, input: CreateTargetGroup) -> CloudResult<TargetGroup> {
        let api = self.count(Api::CreateTargetGroup);
        let hc = &input.health_check;
        let http = matches!(hc.protocol, Protocol::Http | Protocol::Https);
        let out = self
            .client
            .create_target_group()
            .name(&input.name)
            .protocol(protocol(input.protocol))
            .port(i32::from(input.port))
            .set_protocol_version(input.protocol_version.map(|v| v.as_str().to_string()))
            .vpc_id(&input.vpc_id)
            .target_type(target_type(input.target_type))
            .health_check_enabled(true)
            .health_check_protocol(protocol(hc.protocol))
            .health_check_port(hc.port.to_api_string())
            .set_health_check_path(if http { hc.path.clone() } else { None })
            .health_check_interval_seconds(seconds(hc.interval_seconds))
            .health_check_timeout_seconds(seconds(hc.timeout_seconds))
            .healthy_threshold_count(seconds(hc.healthy_threshold_count))
            .unhealthy_threshold_count(seconds(hc.unhealthy_threshold_count))
            .set_matcher(matcher(hc, input.protocol_version == Some(ProtocolVersion::Grpc)))
            .set_tags(elb_tags_on_create(&input.tags))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        out.target_groups().first().map(target_group).ok_or_else(|| empty_answer(api))
    }

    pub(crate) async fn modify_target_group(&self, arn: &str, hc: &HealthCheck, grpc: bool) -> CloudResult<()> {
        let api = self.count(Api::ModifyTargetGroup);
        let http = matches!(hc.protocol, Protocol::Http | Protocol::Https);
        self.client
            .modify_target_group()
            .target_group_arn(arn)
            .health_check_protocol(protocol(hc.protocol))
            .health_check_port(match hc.port {
                HealthCheckPort::TrafficPort => "traffic-port".to_string(),
                HealthCheckPort::Port(p) => p.to_string(),
            })
            .set_health_check_path(if http { hc.path.clone() } else { None })
            .health_check_interval_seconds(seconds(hc.interval_seconds))
            .health_check_timeout_seconds(seconds(hc.timeout_seconds))
            .healthy_threshold_count(seconds(hc.healthy_threshold_count))
            .unhealthy_threshold_count(seconds(hc.unhealthy_threshold_count))
            .set_matcher(matcher(hc, grpc))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn modify_target_group_attributes(&self, arn: &str, attributes: &Attributes) -> CloudResult<()> {
        let api = self.count(Api::ModifyTargetGroupAttributes);
        let attributes =
            attributes.iter().map(|(k, v)| elb::TargetGroupAttribute::builder().key(k).value(v).build()).collect();
        self.client
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn delete_target_group(&self, arn: &str) -> CloudResult<()> {
        let api = self.count(Api::DeleteTargetGroup);
        self.client.delete_target_group().target_group_arn(arn).send().await.map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn register_targets(&self, arn: &str, targets: &[Target]) -> CloudResult<()> {
        for batch in targets.chunks(TARGETS_BATCH) {
            let api = self.count(Api::RegisterTargets);
            self.client
                .register_targets()
                .target_group_arn(arn)
                .set_targets(Some(batch.iter().map(target).collect()))
                .send()
                .await
                .map_err(|e| classify(api, e))?;
        }
        Ok(())
    }

    pub(crate) async fn deregister_targets(&self, arn: &str, targets: &[Target]) -> CloudResult<()> {
        for batch in targets.chunks(TARGETS_BATCH) {
            let api = self.count(Api::DeregisterTargets);
            self.client
                .deregister_targets()
                .target_group_arn(arn)
                .set_targets(Some(batch.iter().map(target).collect()))
                .send()
                .await
                .map_err(|e| classify(api, e))?;
        }
        Ok(())
    }

    pub(crate) async fn create_listener(&self, input: CreateListener) -> CloudResult<Listener> {
        let api = self.count(Api::CreateListener);
        let out = self
            .client
            .create_listener()
            .load_balancer_arn(&input.load_balancer_arn)
            .port(i32::from(input.port))
            .protocol(protocol(input.protocol))
            .set_certificates(certificates(&input.certificates))
            .set_ssl_policy(input.ssl_policy.clone())
            .set_alpn_policy(input.alpn_policy.map(|p| vec![p.as_str().to_string()]))
            .set_mutual_authentication(input.mutual_authentication.as_ref().map(mutual_authentication))
            .set_default_actions(Some(actions(&input.default_actions)))
            .set_tags(elb_tags_on_create(&input.tags))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        out.listeners().first().map(listener).ok_or_else(|| empty_answer(api))
    }

    pub(crate) async fn modify_listener(&self, input: ModifyListener) -> CloudResult<()> {
        let api = self.count(Api::ModifyListener);
        self.client
            .modify_listener()
            .listener_arn(&input.arn)
            .port(i32::from(input.port))
            .protocol(protocol(input.protocol))
            .set_certificates(certificates(&input.certificates))
            .set_ssl_policy(input.ssl_policy.clone())
            .set_alpn_policy(input.alpn_policy.map(|p| vec![p.as_str().to_string()]))
            .set_mutual_authentication(input.mutual_authentication.as_ref().map(mutual_authentication))
            .set_default_actions(Some(actions(&input.default_actions)))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn describe_trust_stores(&self, names: &[String]) -> CloudResult<Vec<TrustStore>> {
        let api = self.count(Api::DescribeTrustStores);
        let out = self
            .client
            .describe_trust_stores()
            .set_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(out
            .trust_stores()
            .iter()
            .filter_map(|t| Some(TrustStore { name: t.name()?.to_string(), arn: t.trust_store_arn()?.to_string() }))
            .collect())
    }

    pub(crate) async fn delete_listener(&self, arn: &str) -> CloudResult<()> {
        let api = self.count(Api::DeleteListener);
        self.client.delete_listener().listener_arn(arn).send().await.map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn describe_listener_certificates(
        &self,
        listener_arn: &str,
    ) -> CloudResult<Vec<ListenerCertificate>> {
        let mut marker = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::DescribeListenerCertificates);
            let page = self
                .client
                .describe_listener_certificates()
                .listener_arn(listener_arn)
                .page_size(PAGE_SIZE)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            found.extend(page.certificates().iter().filter_map(|c| {
                Some(ListenerCertificate {
                    arn: c.certificate_arn()?.to_string(),
                    is_default: c.is_default().unwrap_or(false),
                })
            }));
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(found);
            }
        }
    }

    pub(crate) async fn add_listener_certificates(&self, listener_arn: &str, arns: &[String]) -> CloudResult<()> {
        let api = self.count(Api::AddListenerCertificates);
        self.client
            .add_listener_certificates()
            .listener_arn(listener_arn)
            .set_certificates(Some(certificate_list(arns)))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn remove_listener_certificates(&self, listener_arn: &str, arns: &[String]) -> CloudResult<()> {
        let api = self.count(Api::RemoveListenerCertificates);
        self.client
            .remove_listener_certificates()
            .listener_arn(listener_arn)
            .set_certificates(Some(certificate_list(arns)))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn create_rule(&self, input: CreateRule) -> CloudResult<Rule> {
        let api = self.count(Api::CreateRule);
        let out = self
            .client
            .create_rule()
            .listener_arn(&input.listener_arn)
            .priority(i32::try_from(input.priority).unwrap_or(i32::MAX))
            .set_conditions(Some(input.conditions.iter().map(condition).collect()))
            .set_actions(Some(actions(&input.actions)))
            .set_transforms((!input.transforms.is_empty()).then(|| transforms(&input.transforms)))
            .set_tags(elb_tags_on_create(&input.tags))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        out.rules().first().map(rule).ok_or_else(|| empty_answer(api))
    }

    pub(crate) async fn modify_rule(&self, input: ModifyRule) -> CloudResult<()> {
        let api = self.count(Api::ModifyRule);
        self.client
            .modify_rule()
            .rule_arn(&input.arn)
            .set_conditions(Some(input.conditions.iter().map(condition).collect()))
            .set_actions(Some(actions(&input.actions)))
            // ModifyRule leaves transforms as they are unless told: no transforms is a reset
            // (AWS takes either ResetTransforms or Transforms, not both).
            .set_transforms((!input.transforms.is_empty()).then(|| transforms(&input.transforms)))
            .set_reset_transforms(input.transforms.is_empty().then_some(true))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn delete_rule(&self, arn: &str) -> CloudResult<()> {
        let api = self.count(Api::DeleteRule);
        self.client.delete_rule().rule_arn(arn).send().await.map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn add_tags(&self, arns: &[Arn], tags: &Tags) -> CloudResult<()> {
        let api = self.count(Api::AddTags);
        self.client
            .add_tags()
            .set_resource_arns(Some(arns.to_vec()))
            .set_tags(Some(elb_tags(tags)))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn remove_tags(&self, arns: &[Arn], keys: &[String]) -> CloudResult<()> {
        let api = self.count(Api::RemoveTags);
        self.client
            .remove_tags()
            .set_resource_arns(Some(arns.to_vec()))
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }
}

/// A health check's success codes as ELBv2 takes them: `GrpcCode` on a gRPC target group,
/// `HttpCode` on the other HTTP(S) ones, none for TCP health checks.
fn matcher(hc: &HealthCheck, grpc: bool) -> Option<elb::Matcher> {
    if !matches!(hc.protocol, Protocol::Http | Protocol::Https) {
        return None;
    }
    let codes = hc.matcher.as_ref()?;
    Some(if grpc { elb::Matcher::builder().grpc_code(codes) } else { elb::Matcher::builder().http_code(codes) }.build())
}

fn seconds(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn empty_answer(api: Api) -> CloudError {
    CloudError::new(api, CloudErrorKind::Other, "", "the answer named no resource")
}

/// An ELBv2 attribute of any kind (load balancer, target group, listener): the SDK has a type for
/// each, all of them a key and a value.
trait SdkAttribute {
    fn pair(&self) -> Option<(String, String)>;
}

macro_rules! sdk_attribute {
    ($($ty:ty),*) => {$(
        impl SdkAttribute for $ty {
            fn pair(&self) -> Option<(String, String)> {
                Some((self.key()?.to_string(), self.value().unwrap_or_default().to_string()))
            }
        }
    )*};
}

sdk_attribute!(elb::LoadBalancerAttribute, elb::TargetGroupAttribute, elb::ListenerAttribute);

/// The attributes AWS reported, keyed by name (an attribute without a key is dropped).
fn attribute_map<A: SdkAttribute>(attributes: &[A]) -> Attributes {
    attributes.iter().filter_map(SdkAttribute::pair).collect()
}
