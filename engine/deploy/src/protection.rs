//! The web ACLs and Shield Advanced protection of a stack's application load balancer, once the
//! load balancer exists: what `LoadBalancerSpec::protection` asks, with the AWS Load Balancer
//! Controller's rules.
//!
//! ```text
//! wafv2 / waf_classic   unset: no call   none: disassociate if associated   acl: associate unless it is the one
//! shield_advanced       unset: no call   false: delete Elbow's protection   true: create one if there is none
//!                       (only when GetSubscriptionState says the subscription is active)
//! ```
//!
//! Each runs on a full deploy only (the stack changed, or the drift period passed), so an
//! association changed by hand is put back at the next comparison with the cloud, and only for a
//! setting the user made, as LBC does. A load balancer's associations go with it when it is
//! deleted. Each integration can be turned off as a whole ([`Integrations`], the `--enable-*`
//! flags): its calls are then never made, whatever the annotations say.
//!
//! Two answers hold for every load balancer of the account, so they are looked up once and kept
//! ([`Lookups`]) rather than asked again by each stack's full deploy: the Shield Advanced
//! subscription state, and the ARN behind a WAFv2 web ACL name.

use std::collections::HashMap;
use std::time::Duration;

use elbow_cloud::{Cloud, CloudError, CloudErrorKind};
use elbow_model::tags::{CLUSTER_TAG, RESOURCE_TAG, STACK_TAG};
use elbow_model::{LoadBalancerSpec, Protection, StackId, Tags, WafClassicWebAcl, Wafv2WebAcl};
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::changes::{Changes, Kind, Verb};
use crate::error::DeployError;
use crate::expiring::Expiring;

/// The name of the Shield Advanced protections Elbow creates; it deletes no protection of another
/// name (one made in the console, or by another controller).
pub const SHIELD_PROTECTION_NAME: &str = "managed by elbow";

/// The `elbow.dev/resource` tag of a Shield protection, next to the cluster and stack tags.
const SHIELD_RESOURCE_ID: &str = "ShieldProtection";

/// Which of the integrations Elbow uses (all by default, as LBC's `--enable-waf`,
/// `--enable-wafv2` and `--enable-shield`). One turned off is never called: for a partition or
/// region without the service, or a role not allowed to use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integrations {
    pub wafv2: bool,
    pub waf_classic: bool,
    pub shield: bool,
}

impl Integrations {
    pub fn all() -> Self {
        Self { wafv2: true, waf_classic: true, shield: true }
    }
}

impl Default for Integrations {
    fn default() -> Self {
        Self::all()
    }
}

/// How long an active Shield Advanced subscription is trusted: the AWS Load Balancer Controller's
/// two hours (a subscription runs for a year at least).
pub const SHIELD_ACTIVE_TTL: Duration = Duration::from_secs(2 * 60 * 60);
/// How long "no active subscription" is trusted: shorter, so that the load balancers asking for
/// protection get it within minutes of the account subscribing.
pub const SHIELD_INACTIVE_TTL: Duration = Duration::from_secs(10 * 60);
/// How long the ARN of a WAFv2 web ACL name is trusted (the controller's 60 minutes). A web ACL
/// deleted and made again under the name has a new ARN: the association then fails as not found,
/// and the name is looked up again at the next deploy.
pub const WEB_ACL_NAME_TTL: Duration = Duration::from_secs(60 * 60);

/// The account-wide answers, kept for the deployer's life. Each lock is held across its lookup,
/// so stacks deployed together after a start wait for one call instead of each making its own.
#[derive(Default)]
pub(crate) struct Lookups {
    /// Whether the subscription is active.
    shield_subscription: Mutex<Option<Expiring<bool>>>,
    /// Web ACL ARNs by name.
    web_acls: Mutex<HashMap<String, Expiring<String>>>,
}

impl Lookups {
    async fn shield_subscription_active(&self, cloud: &dyn Cloud) -> elbow_cloud::CloudResult<bool> {
        let mut kept = self.shield_subscription.lock().await;
        if let Some(&active) = kept.as_ref().and_then(Expiring::fresh) {
            return Ok(active);
        }
        // A failed lookup is not kept: the next deploy asks again.
        let active = cloud.shield_subscription_active().await?;
        let ttl = if active { SHIELD_ACTIVE_TTL } else { SHIELD_INACTIVE_TTL };
        *kept = Some(Expiring::new(active, ttl));
        Ok(active)
    }

    async fn web_acl_arn(&self, cloud: &dyn Cloud, name: &str) -> Result<String, DeployError> {
        let mut kept = self.web_acls.lock().await;
        if let Some(arn) = kept.get(name).and_then(Expiring::fresh) {
            return Ok(arn.clone());
        }
        let acls =
            cloud.wafv2_list_web_acls().await.map_err(failed(format!("look up the WAFv2 web ACL named {name:?}")))?;
        // Every name of the listing is kept: the next stack naming another web ACL costs no call.
        kept.retain(|_, acl| acl.fresh().is_some());
        for acl in &acls {
            kept.insert(acl.name.clone(), Expiring::new(acl.arn.clone(), WEB_ACL_NAME_TTL));
        }
        let found = acls.into_iter().find(|acl| acl.name == name);
        Ok(found.ok_or_else(|| DeployError::WebAclNameNotFound { name: name.to_string() })?.arn)
    }

    async fn forget_web_acl(&self, name: &str) {
        self.web_acls.lock().await.remove(name);
    }
}

/// Makes the load balancer's protection what `lb.protection` asks.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn apply(
    cloud: &dyn Cloud,
    lookups: &Lookups,
    integrations: Integrations,
    cluster: &str,
    stack: &StackId,
    lb: &LoadBalancerSpec,
    lb_arn: &str,
    changes: &mut Changes,
) -> Result<(), DeployError> {
    let protection: &Protection = &lb.protection;
    if integrations.wafv2
        && let Some(desired) = &protection.wafv2
    {
        wafv2(cloud, lookups, desired, lb_arn, changes).await?;
    }
    if integrations.waf_classic
        && let Some(desired) = &protection.waf_classic
    {
        waf_classic(cloud, desired, lb_arn, changes).await?;
    }
    if integrations.shield
        && let Some(enabled) = protection.shield_advanced
    {
        shield(cloud, lookups, enabled, &protection_tags(cluster, stack, lb), lb_arn, changes).await?;
    }
    Ok(())
}

fn failed(step: String) -> impl FnOnce(CloudError) -> DeployError {
    move |source| DeployError::Protection { step, source }
}

async fn wafv2(
    cloud: &dyn Cloud,
    lookups: &Lookups,
    desired: &Wafv2WebAcl,
    lb_arn: &str,
    changes: &mut Changes,
) -> Result<(), DeployError> {
    let wanted = match desired {
        Wafv2WebAcl::Arn(arn) => Some(arn.clone()),
        Wafv2WebAcl::Name(name) => Some(lookups.web_acl_arn(cloud, name).await?),
        Wafv2WebAcl::None => None,
    };
    let result = converge_association(cloud, WebAclService::Wafv2, wanted, lb_arn, changes).await;
    if let (Wafv2WebAcl::Name(name), Err(DeployError::Protection { source, .. })) = (desired, &result)
        && source.kind == CloudErrorKind::NotFound
    {
        lookups.forget_web_acl(name).await;
    }
    result
}

async fn waf_classic(
    cloud: &dyn Cloud,
    desired: &WafClassicWebAcl,
    lb_arn: &str,
    changes: &mut Changes,
) -> Result<(), DeployError> {
    let wanted = match desired {
        WafClassicWebAcl::Id(id) => Some(id.clone()),
        WafClassicWebAcl::None => None,
    };
    converge_association(cloud, WebAclService::Classic, wanted, lb_arn, changes).await
}

/// The two WAF services a load balancer's web ACL association lives in. Both have the same three
/// calls (read, associate, disassociate), a web ACL named by ARN (WAFv2) or by id (Classic).
#[derive(Debug, Clone, Copy)]
enum WebAclService {
    Wafv2,
    Classic,
}

impl WebAclService {
    fn label(self) -> &'static str {
        match self {
            Self::Wafv2 => "WAFv2",
            Self::Classic => "WAF Classic",
        }
    }

    /// What a web ACL the service refuses must be instead, for the error.
    fn requirement(self) -> &'static str {
        match self {
            Self::Wafv2 => "it must exist, in the load balancer's region, with the REGIONAL scope",
            Self::Classic => "it must be a regional WAF Classic web ACL of the load balancer's region",
        }
    }

    async fn current(self, cloud: &dyn Cloud, lb_arn: &str) -> elbow_cloud::CloudResult<Option<String>> {
        match self {
            Self::Wafv2 => cloud.wafv2_get_web_acl_for_resource(lb_arn).await,
            Self::Classic => cloud.waf_regional_get_web_acl_for_resource(lb_arn).await,
        }
    }

    async fn associate(self, cloud: &dyn Cloud, web_acl: &str, lb_arn: &str) -> elbow_cloud::CloudResult<()> {
        match self {
            Self::Wafv2 => cloud.wafv2_associate_web_acl(web_acl, lb_arn).await,
            Self::Classic => cloud.waf_regional_associate_web_acl(web_acl, lb_arn).await,
        }
    }

    async fn disassociate(self, cloud: &dyn Cloud, lb_arn: &str) -> elbow_cloud::CloudResult<()> {
        match self {
            Self::Wafv2 => cloud.wafv2_disassociate_web_acl(lb_arn).await,
            Self::Classic => cloud.waf_regional_disassociate_web_acl(lb_arn).await,
        }
    }
}

/// Makes the load balancer's association in `service` the `wanted` web ACL, or none.
async fn converge_association(
    cloud: &dyn Cloud,
    service: WebAclService,
    wanted: Option<String>,
    lb_arn: &str,
    changes: &mut Changes,
) -> Result<(), DeployError> {
    let label = service.label();
    let current =
        service.current(cloud, lb_arn).await.map_err(failed(format!("read the load balancer's {label} web ACL")))?;
    match (wanted, current) {
        (None, Some(current)) => {
            service
                .disassociate(cloud, lb_arn)
                .await
                .map_err(failed(format!("remove the {label} web ACL {current} from the load balancer")))?;
            info!(load_balancer = lb_arn, web_acl = %current, "removed the {label} web ACL");
            changes.add((Verb::Deleted, Kind::WebAclAssociation, 1));
        }
        (Some(wanted), current) if current.as_deref() != Some(wanted.as_str()) => {
            service.associate(cloud, &wanted, lb_arn).await.map_err(failed(format!(
                "associate the {label} web ACL {wanted} with the load balancer ({})",
                service.requirement()
            )))?;
            info!(load_balancer = lb_arn, web_acl = %wanted, replaced = ?current, "associated the {label} web ACL");
            let verb = if current.is_some() { Verb::Modified } else { Verb::Created };
            changes.add((verb, Kind::WebAclAssociation, 1));
        }
        _ => {}
    }
    Ok(())
}

async fn shield(
    cloud: &dyn Cloud,
    lookups: &Lookups,
    enabled: bool,
    tags: &Tags,
    lb_arn: &str,
    changes: &mut Changes,
) -> Result<(), DeployError> {
    // As LBC: without an active subscription (or an answer about it) there is nothing to do, and
    // not knowing is no reason to fail the rest of the deploy.
    match lookups.shield_subscription_active(cloud).await {
        Ok(true) => {}
        Ok(false) => {
            if enabled {
                warn!(
                    load_balancer = lb_arn,
                    "shield-advanced-protection is true, but the account has no active Shield Advanced subscription: \
                     the load balancer is not protected"
                );
            }
            return Ok(());
        }
        Err(error) => {
            warn!(load_balancer = lb_arn, %error, "could not read the Shield Advanced subscription state; Shield left as it is");
            return Ok(());
        }
    }
    let current = cloud
        .shield_describe_protection(lb_arn)
        .await
        .map_err(failed("read the load balancer's Shield Advanced protection".into()))?;
    match (enabled, current) {
        (true, None) => {
            let id = cloud
                .shield_create_protection(SHIELD_PROTECTION_NAME, lb_arn, tags)
                .await
                .map_err(failed("create a Shield Advanced protection of the load balancer".into()))?;
            info!(load_balancer = lb_arn, protection = %id, "created the Shield Advanced protection");
            changes.add((Verb::Created, Kind::ShieldProtection, 1));
        }
        (false, Some(current)) if current.name == SHIELD_PROTECTION_NAME => {
            cloud
                .shield_delete_protection(&current.id)
                .await
                .map_err(failed(format!("delete the Shield Advanced protection {}", current.id)))?;
            info!(load_balancer = lb_arn, protection = %current.id, "deleted the Shield Advanced protection");
            changes.add((Verb::Deleted, Kind::ShieldProtection, 1));
        }
        (false, Some(current)) => {
            info!(
                load_balancer = lb_arn,
                protection = %current.id,
                name = %current.name,
                "left a Shield Advanced protection Elbow did not make"
            );
        }
        _ => {}
    }
    Ok(())
}

/// The load balancer's own tags (the user's ones included), as the protection's resource.
fn protection_tags(cluster: &str, stack: &StackId, lb: &LoadBalancerSpec) -> Tags {
    let mut tags: Tags =
        lb.tags.iter().filter(|(k, _)| !k.starts_with("elbow.dev/")).map(|(k, v)| (k.clone(), v.clone())).collect();
    tags.insert(CLUSTER_TAG.into(), cluster.into());
    tags.insert(STACK_TAG.into(), stack.as_str().into());
    tags.insert(RESOURCE_TAG.into(), SHIELD_RESOURCE_ID.into());
    tags
}
