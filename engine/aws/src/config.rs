//! How the SDK is set up for Elbow: region and credentials from the standard chain, an optional
//! endpoint override, the SDK's own retries off, and the process-wide TLS crypto provider.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// How long to wait for a connection, and for one request's answer. Without a limit a request
/// whose connection hangs would hold its reconcile for ever; with one, it fails as a timeout and
/// the resilient layer retries it. ELBv2 and EC2 answer in well under a second when healthy.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// `None`: from the standard chain (AWS_REGION, profile, instance metadata).
    pub region: Option<String>,
    /// `None`: AWS itself (or AWS_ENDPOINT_URL, which the standard chain also reads).
    pub endpoint: Option<String>,
}

/// The SDK configuration for `settings`. Retries are disabled: the resilient layer
/// (`elbow_cloud::resilient`) retries with its own backoff and rate limits, and with the SDK
/// retrying underneath, one call could become several requests that no counter sees.
pub(crate) async fn load(settings: &AwsSettings) -> SdkConfig {
    let timeouts =
        TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).operation_attempt_timeout(ATTEMPT_TIMEOUT).build();
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::disabled()).timeout_config(timeouts);
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// See [`crate::SdkCloud::configuration_problems`].
pub(crate) async fn problems(config: &SdkConfig) -> Vec<String> {
    use aws_credential_types::provider::ProvideCredentials;

    let mut problems = Vec::new();
    if config.region().is_none() {
        problems.push("no AWS region: pass --region, or set AWS_REGION (or a profile's region)".to_string());
    }
    match config.credentials_provider() {
        None => problems.push("no AWS credentials provider is configured".to_string()),
        Some(provider) => {
            if let Err(error) = provider.provide_credentials().await {
                let mut reason = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    reason.push_str(": ");
                    reason.push_str(&cause.to_string());
                    source = cause.source();
                }
                problems.push(format!(
                    "no AWS credentials: {reason} (on EKS, give the service account a role through IRSA or \
                     Pod Identity)"
                ));
            }
        }
    }
    problems
}

/// The AWS SDK brings rustls with aws-lc, and other crates may bring ring: with two providers
/// compiled in, rustls cannot pick one and panics on the first TLS connection unless the process
/// installs one. Call it at start-up (main and tests); idempotent.
pub fn install_crypto_provider() {
    // An error only says a provider is installed already, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;

    use super::*;

    #[tokio::test]
    async fn a_missing_region_and_missing_credentials_are_each_one_problem() {
        let bare = SdkConfig::builder().build();
        let problems = problems(&bare).await;
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("no AWS region"), "{problems:?}");
        assert!(problems[1].contains("no AWS credentials"), "{problems:?}");

        let complete = SdkConfig::builder()
            .region(Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            )))
            .build();
        assert_eq!(super::problems(&complete).await, Vec::<String>::new());
    }

    #[tokio::test]
    async fn settings_override_region_and_endpoint_and_retries_stay_off() {
        let config =
            load(&AwsSettings { region: Some("eu-west-3".into()), endpoint: Some("http://127.0.0.1:4566".into()) })
                .await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-3"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:4566"));
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(1));
        let timeouts = config.timeout_config().expect("timeouts set");
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
    }

    #[test]
    fn installing_the_crypto_provider_twice_is_harmless() {
        install_crypto_provider();
        install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
