//! The tags of a group's resources, layered as the AWS Load Balancer Controller layers them, each
//! layer winning over the ones before it, key by key:
//!
//! 1. the members' `tags` annotations (two members setting one key to two values is a conflict,
//!    unless the IngressClassParams set that key);
//! 2. for a target group, the backend Service's `tags` annotation (the Service wins over the
//!    Ingress, as for the other settings LBC reads from backend Services);
//! 3. the IngressClassParams `tags`;
//! 4. the operator's `--default-tag`s;
//! 5. Elbow's ownership tags, which nothing overrides.

use crate::annotations::Annotations;
use crate::config::BuildConfig;
use crate::crd::IngressClassParamsSpec;
use crate::error::BuildError;
use crate::ingress::group::Member;
use crate::ingress::settings::merged_pairs_except;
use elbow_model::stack::{ResourceId, StackId};
use elbow_model::tags::{Tags, ownership_tags};

pub(crate) struct GroupTags<'a> {
    annotations: Tags,
    params: Tags,
    config: &'a BuildConfig,
    stack_id: &'a StackId,
}

impl<'a> GroupTags<'a> {
    pub fn read(
        members: &[Member<'_>],
        params: Option<&IngressClassParamsSpec>,
        config: &'a BuildConfig,
        stack_id: &'a StackId,
    ) -> Result<Self, BuildError> {
        let params: Tags = params
            .and_then(|p| p.tags.as_ref())
            .map(|tags| tags.iter().map(|kv| (kv.key.clone(), kv.value.clone())).collect())
            .unwrap_or_default();
        let annotations = merged_pairs_except(members, "tags", &params)?;
        Ok(Self { annotations, params, config, stack_id })
    }

    /// The tags of the load balancer, a listener or the frontend group.
    pub fn resource(&self, resource: &ResourceId) -> Tags {
        self.layered(&Tags::new(), resource)
    }

    /// The tags of a target group made for `service`; its `tags` annotation is checked here.
    pub fn target_group(&self, service: &Annotations<'_>, resource: &ResourceId) -> Result<Tags, BuildError> {
        let own = service.pairs("tags", false)?.unwrap_or_default();
        Ok(self.layered(&own, resource))
    }

    fn layered(&self, service: &Tags, resource: &ResourceId) -> Tags {
        let mut tags = self.annotations.clone();
        tags.extend(service.clone());
        tags.extend(self.params.clone());
        tags.extend(self.config.default_tags.clone());
        tags.extend(ownership_tags(&self.config.cluster_name, self.stack_id, resource));
        tags
    }
}
