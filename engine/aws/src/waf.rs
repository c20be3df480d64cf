//! The WAF half of the SDK implementation: web ACL associations of load balancers, in WAFv2
//! (regional scope) and in WAF Classic Regional, and the name-to-ARN lookup of WAFv2 web ACLs.

use std::sync::Arc;

use aws_sdk_wafv2::types::Scope;
use elbow_cloud::*;

use crate::errors::classify;

/// Web ACLs per ListWebACLs page: the most WAFv2 gives.
const WEB_ACLS_PER_PAGE: i32 = 100;

pub(crate) struct Wafv2 {
    pub(crate) client: aws_sdk_wafv2::Client,
    pub(crate) calls: Arc<CallCounter>,
}

impl Wafv2 {
    fn count(&self, api: Api) -> Api {
        self.calls.record(api);
        api
    }

    pub(crate) async fn get_web_acl_for_resource(&self, resource_arn: &str) -> CloudResult<Option<Arn>> {
        let api = self.count(Api::GetWebACLForResource);
        let answer = self
            .client
            .get_web_acl_for_resource()
            .resource_arn(resource_arn)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(answer.web_acl().map(|acl| acl.arn().to_string()).filter(|arn| !arn.is_empty()))
    }

    pub(crate) async fn associate_web_acl(&self, web_acl_arn: &str, resource_arn: &str) -> CloudResult<()> {
        let api = self.count(Api::AssociateWebACL);
        self.client
            .associate_web_acl()
            .web_acl_arn(web_acl_arn)
            .resource_arn(resource_arn)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn disassociate_web_acl(&self, resource_arn: &str) -> CloudResult<()> {
        let api = self.count(Api::DisassociateWebACL);
        self.client.disassociate_web_acl().resource_arn(resource_arn).send().await.map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn list_web_acls(&self) -> CloudResult<Vec<WebAclSummary>> {
        let mut marker: Option<String> = None;
        let mut found = Vec::new();
        loop {
            let api = self.count(Api::ListWebACLs);
            let page = self
                .client
                .list_web_acls()
                .scope(Scope::Regional)
                .limit(WEB_ACLS_PER_PAGE)
                .set_next_marker(marker.clone())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            found.extend(page.web_acls().iter().filter_map(|acl| {
                Some(WebAclSummary {
                    name: acl.name()?.to_string(),
                    id: acl.id().unwrap_or_default().to_string(),
                    arn: acl.arn()?.to_string(),
                })
            }));
            // No marker means the last page. An empty page, or the marker just sent, ends the loop
            // too, so an endpoint that keeps answering with a marker cannot make it run forever.
            match page.next_marker().filter(|m| !m.is_empty()) {
                Some(next) if !page.web_acls().is_empty() && marker.as_deref() != Some(next) => {
                    marker = Some(next.to_string())
                }
                _ => return Ok(found),
            }
        }
    }
}

pub(crate) struct WafRegional {
    pub(crate) client: aws_sdk_wafregional::Client,
    pub(crate) calls: Arc<CallCounter>,
}

impl WafRegional {
    fn count(&self, api: Api) -> Api {
        self.calls.record(api);
        api
    }

    pub(crate) async fn get_web_acl_for_resource(&self, resource_arn: &str) -> CloudResult<Option<String>> {
        let api = self.count(Api::WafRegionalGetWebACLForResource);
        let answer = self
            .client
            .get_web_acl_for_resource()
            .resource_arn(resource_arn)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(answer.web_acl_summary().map(|acl| acl.web_acl_id().to_string()).filter(|id| !id.is_empty()))
    }

    pub(crate) async fn associate_web_acl(&self, web_acl_id: &str, resource_arn: &str) -> CloudResult<()> {
        let api = self.count(Api::WafRegionalAssociateWebACL);
        self.client
            .associate_web_acl()
            .web_acl_id(web_acl_id)
            .resource_arn(resource_arn)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(())
    }

    pub(crate) async fn disassociate_web_acl(&self, resource_arn: &str) -> CloudResult<()> {
        let api = self.count(Api::WafRegionalDisassociateWebACL);
        self.client.disassociate_web_acl().resource_arn(resource_arn).send().await.map_err(|e| classify(api, e))?;
        Ok(())
    }
}
