//! The Shield Advanced part of the SDK implementation: the subscription state and the protection
//! of a load balancer.

use std::sync::Arc;

use aws_sdk_shield::types::{SubscriptionState, Tag};
use elbow_cloud::*;
use elbow_model::Tags;

use crate::errors::classify;

pub(crate) struct Shield {
    pub(crate) client: aws_sdk_shield::Client,
    pub(crate) calls: Arc<CallCounter>,
}

impl Shield {
    fn count(&self, api: Api) -> Api {
        self.calls.record(api);
        api
    }

    pub(crate) async fn subscription_active(&self) -> CloudResult<bool> {
        let api = self.count(Api::GetSubscriptionState);
        let answer = self.client.get_subscription_state().send().await.map_err(|e| classify(api, e))?;
        Ok(*answer.subscription_state() == SubscriptionState::Active)
    }

    pub(crate) async fn describe_protection(&self, resource_arn: &str) -> CloudResult<Option<ShieldProtection>> {
        let api = self.count(Api::DescribeProtection);
        let answer = match self.client.describe_protection().resource_arn(resource_arn).send().await {
            Ok(answer) => answer,
            Err(error) => {
                let error = classify(api, error);
                // "No protection" is an answer, as the trait's describes promise.
                return if error.is_not_found() { Ok(None) } else { Err(error) };
            }
        };
        Ok(answer.protection().and_then(|p| {
            Some(ShieldProtection {
                id: p.id()?.to_string(),
                name: p.name().unwrap_or_default().to_string(),
                resource_arn: p.resource_arn().unwrap_or(resource_arn).to_string(),
            })
        }))
    }

    pub(crate) async fn create_protection(&self, name: &str, resource_arn: &str, tags: &Tags) -> CloudResult<String> {
        let api = self.count(Api::CreateProtection);
        let tags = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        let answer = self
            .client
            .create_protection()
            .name(name)
            .resource_arn(resource_arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(answer.protection_id().unwrap_or_default().to_string())
    }

    pub(crate) async fn delete_protection(&self, protection_id: &str) -> CloudResult<()> {
        let api = self.count(Api::DeleteProtection);
        self.client.delete_protection().protection_id(protection_id).send().await.map_err(|e| classify(api, e))?;
        Ok(())
    }
}
