//! What an Application Load Balancer's web application firewall and DDoS protection should be:
//! the AWS WAFv2 web ACL, the AWS WAF Classic (Regional) web ACL and AWS Shield Advanced
//! protection associated with it. Each is "leave it as it is" unless the user asked, the way the
//! AWS Load Balancer Controller treats its annotations: an association made in the console stays
//! until an annotation says otherwise, and is replaced or removed once one does.

use serde::{Deserialize, Serialize};

/// The load balancer's protection settings; `None` leaves the cloud's as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wafv2: Option<Wafv2WebAcl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waf_classic: Option<WafClassicWebAcl>,
    /// `true`: a Shield Advanced protection (when the account subscribes); `false`: none of
    /// Elbow's (a protection someone else made is left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shield_advanced: Option<bool>,
}

impl Protection {
    /// Nothing asked: no WAF or Shield call is made for the load balancer.
    pub fn is_unset(&self) -> bool {
        self.wafv2.is_none() && self.waf_classic.is_none() && self.shield_advanced.is_none()
    }
}

/// The WAFv2 web ACL (regional scope) a load balancer should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Wafv2WebAcl {
    /// This web ACL.
    Arn(String),
    /// The regional web ACL of this name, looked up (ListWebACLs) when deploying.
    Name(String),
    /// No web ACL: any association is removed.
    None,
}

/// The WAF Classic Regional web ACL a load balancer should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WafClassicWebAcl {
    /// This web ACL, by id.
    Id(String),
    /// No web ACL: any association is removed.
    None,
}
