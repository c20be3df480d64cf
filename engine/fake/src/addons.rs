//! WAFv2, WAF Classic Regional and Shield Advanced, as far as they touch a load balancer: web ACLs
//! (seeded by tests: Elbow never creates one), their associations with load balancers, the Shield
//! subscription and protections. It refuses what AWS refuses: an unknown web ACL (which is what
//! a web ACL of another region or account is to this region's WAF), a CloudFront-scope web ACL,
//! a resource that is not an Application Load Balancer, a protection without a subscription or a
//! second protection of one resource.

use std::collections::BTreeMap;

use elbow_cloud::api::Api;
use elbow_cloud::error::{CloudError, CloudErrorKind, CloudResult};
use elbow_cloud::types::{Arn, LoadBalancer, ShieldProtection, WebAclSummary};
use elbow_model::{LoadBalancerType, Tags};

use crate::names::{ACCOUNT, REGION, hex_id};

/// Where a WAFv2 web ACL can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebAclScope {
    /// Regional resources (load balancers, API Gateway stages) of the ACL's region.
    Regional,
    /// CloudFront distributions only.
    CloudFront,
}

#[derive(Debug, Default)]
pub(crate) struct Addons {
    next: u64,
    /// WAFv2 web ACLs by ARN, with their scope.
    wafv2_acls: BTreeMap<Arn, (WebAclSummary, WebAclScope)>,
    /// Resource ARN -> WAFv2 web ACL ARN.
    wafv2_associations: BTreeMap<Arn, Arn>,
    /// WAF Classic Regional web ACL ids.
    classic_acls: BTreeMap<String, String>,
    /// Resource ARN -> WAF Classic web ACL id.
    classic_associations: BTreeMap<Arn, String>,
    shield_subscribed: bool,
    /// By protection id.
    protections: BTreeMap<String, ShieldProtection>,
    protection_tags: BTreeMap<String, Tags>,
}

fn fail(api: Api, kind: CloudErrorKind, code: &str, message: impl Into<String>) -> CloudError {
    CloudError::new(api, kind, code, message)
}

fn nonexistent(api: Api, what: &str) -> CloudError {
    fail(
        api,
        CloudErrorKind::NotFound,
        "WAFNonexistentItemException",
        format!("AWS WAF couldn't perform the operation because your resource doesn't exist: {what}"),
    )
}

impl Addons {
    fn next_id(&mut self) -> String {
        self.next += 1;
        hex_id(self.next)
    }

    pub(crate) fn seed_wafv2_web_acl(&mut self, name: &str, scope: WebAclScope) -> WebAclSummary {
        let id = format!("{}-{}", &self.next_id()[..8], &self.next_id()[..12]);
        let path = match scope {
            WebAclScope::Regional => "regional",
            WebAclScope::CloudFront => "global",
        };
        let arn = format!("arn:aws:wafv2:{REGION}:{ACCOUNT}:{path}/webacl/{name}/{id}");
        let acl = WebAclSummary { name: name.to_string(), id, arn: arn.clone() };
        self.wafv2_acls.insert(arn, (acl.clone(), scope));
        acl
    }

    /// DeleteWebACL as WAFv2 answers it: refused while a resource is associated.
    pub(crate) fn delete_wafv2_web_acl(&mut self, arn: &str) -> Result<(), String> {
        if self.wafv2_associations.values().any(|acl| acl == arn) {
            return Err(format!("WAFAssociatedItemException: web ACL {arn} is associated with a resource"));
        }
        self.wafv2_acls.remove(arn).map(|_| ()).ok_or_else(|| format!("WAFNonexistentItemException: {arn}"))
    }

    pub(crate) fn seed_waf_regional_web_acl(&mut self, name: &str) -> String {
        let id = self.next_id();
        self.classic_acls.insert(id.clone(), name.to_string());
        id
    }

    pub(crate) fn set_shield_subscription(&mut self, active: bool) {
        self.shield_subscribed = active;
    }

    /// A load balancer is gone: so are its web ACL associations, as on AWS. Its Shield protection
    /// stays, naming a resource that no longer exists, until someone deletes it.
    pub(crate) fn forget_resource(&mut self, arn: &str) {
        self.wafv2_associations.remove(arn);
        self.classic_associations.remove(arn);
    }

    pub(crate) fn wafv2_web_acl_of(&self, resource_arn: &str) -> Option<Arn> {
        self.wafv2_associations.get(resource_arn).cloned()
    }

    pub(crate) fn waf_regional_web_acl_of(&self, resource_arn: &str) -> Option<String> {
        self.classic_associations.get(resource_arn).cloned()
    }

    pub(crate) fn protection_of(&self, resource_arn: &str) -> Option<ShieldProtection> {
        self.protections.values().find(|p| p.resource_arn == resource_arn).cloned()
    }

    pub(crate) fn protection_tags(&self, protection_id: &str) -> Tags {
        self.protection_tags.get(protection_id).cloned().unwrap_or_default()
    }

    // ---- WAFv2 ----

    pub(crate) fn wafv2_get_web_acl_for_resource(
        &self,
        api: Api,
        resource: Option<&LoadBalancer>,
        resource_arn: &str,
    ) -> CloudResult<Option<Arn>> {
        check_resource(api, resource, resource_arn)?;
        Ok(self.wafv2_associations.get(resource_arn).cloned())
    }

    pub(crate) fn wafv2_associate(
        &mut self,
        api: Api,
        resource: Option<&LoadBalancer>,
        web_acl_arn: &str,
        resource_arn: &str,
    ) -> CloudResult<()> {
        if !web_acl_arn.starts_with("arn:aws:wafv2:") {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "WAFInvalidParameterException",
                format!("the web ACL ARN {web_acl_arn:?} is not a WAFv2 ARN"),
            ));
        }
        let Some((_, scope)) = self.wafv2_acls.get(web_acl_arn) else { return Err(nonexistent(api, web_acl_arn)) };
        if *scope == WebAclScope::CloudFront {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "WAFInvalidParameterException",
                format!("the web ACL {web_acl_arn} is of the CLOUDFRONT scope; a load balancer takes a REGIONAL one"),
            ));
        }
        check_resource(api, resource, resource_arn)?;
        self.wafv2_associations.insert(resource_arn.to_string(), web_acl_arn.to_string());
        Ok(())
    }

    pub(crate) fn wafv2_disassociate(
        &mut self,
        api: Api,
        resource: Option<&LoadBalancer>,
        resource_arn: &str,
    ) -> CloudResult<()> {
        check_resource(api, resource, resource_arn)?;
        self.wafv2_associations.remove(resource_arn);
        Ok(())
    }

    /// Regional web ACLs only, as a ListWebACLs with `Scope: REGIONAL` answers.
    pub(crate) fn wafv2_list_regional(&self) -> Vec<WebAclSummary> {
        self.wafv2_acls
            .values()
            .filter(|(_, scope)| *scope == WebAclScope::Regional)
            .map(|(acl, _)| acl.clone())
            .collect()
    }

    // ---- WAF Classic Regional ----

    pub(crate) fn classic_get_web_acl_for_resource(
        &self,
        api: Api,
        resource: Option<&LoadBalancer>,
        resource_arn: &str,
    ) -> CloudResult<Option<String>> {
        check_resource(api, resource, resource_arn)?;
        Ok(self.classic_associations.get(resource_arn).cloned())
    }

    pub(crate) fn classic_associate(
        &mut self,
        api: Api,
        resource: Option<&LoadBalancer>,
        web_acl_id: &str,
        resource_arn: &str,
    ) -> CloudResult<()> {
        if !self.classic_acls.contains_key(web_acl_id) {
            return Err(nonexistent(api, web_acl_id));
        }
        check_resource(api, resource, resource_arn)?;
        self.classic_associations.insert(resource_arn.to_string(), web_acl_id.to_string());
        Ok(())
    }

    pub(crate) fn classic_disassociate(
        &mut self,
        api: Api,
        resource: Option<&LoadBalancer>,
        resource_arn: &str,
    ) -> CloudResult<()> {
        check_resource(api, resource, resource_arn)?;
        self.classic_associations.remove(resource_arn);
        Ok(())
    }

    // ---- Shield Advanced ----

    pub(crate) fn shield_subscribed(&self) -> bool {
        self.shield_subscribed
    }

    /// "Not found" is no protection, as the trait's describes answer it.
    pub(crate) fn describe_protection(&self, resource_arn: &str) -> Option<ShieldProtection> {
        self.protection_of(resource_arn)
    }

    pub(crate) fn create_protection(
        &mut self,
        api: Api,
        resource: Option<&LoadBalancer>,
        name: &str,
        resource_arn: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.check_subscription(api)?;
        if resource.is_none() {
            return Err(fail(
                api,
                CloudErrorKind::InvalidRequest,
                "InvalidResourceException",
                format!("the resource {resource_arn} does not exist"),
            ));
        }
        if self.protection_of(resource_arn).is_some() {
            return Err(fail(
                api,
                CloudErrorKind::Duplicate,
                "ResourceAlreadyExistsException",
                "The referenced protection already exists.",
            ));
        }
        let id = self.next_id();
        self.protection_tags.insert(id.clone(), tags.clone());
        self.protections.insert(
            id.clone(),
            ShieldProtection { id: id.clone(), name: name.to_string(), resource_arn: resource_arn.to_string() },
        );
        Ok(id)
    }

    pub(crate) fn delete_protection(&mut self, api: Api, protection_id: &str) -> CloudResult<()> {
        self.check_subscription(api)?;
        match self.protections.remove(protection_id) {
            Some(_) => {
                self.protection_tags.remove(protection_id);
                Ok(())
            }
            None => Err(fail(
                api,
                CloudErrorKind::NotFound,
                "ResourceNotFoundException",
                "The referenced protection does not exist.",
            )),
        }
    }

    fn check_subscription(&self, api: Api) -> CloudResult<()> {
        if self.shield_subscribed {
            Ok(())
        } else {
            Err(fail(api, CloudErrorKind::NotFound, "ResourceNotFoundException", "The subscription does not exist."))
        }
    }
}

/// WAF protects Application Load Balancers, not Network ones; an ARN that names no load balancer
/// is an unknown resource.
fn check_resource(api: Api, resource: Option<&LoadBalancer>, resource_arn: &str) -> CloudResult<()> {
    match resource {
        None => Err(nonexistent(api, resource_arn)),
        Some(lb) if lb.lb_type != LoadBalancerType::Application => Err(fail(
            api,
            CloudErrorKind::InvalidRequest,
            "WAFInvalidParameterException",
            format!("{resource_arn} is a network load balancer; AWS WAF protects application load balancers"),
        )),
        Some(_) => Ok(()),
    }
}
