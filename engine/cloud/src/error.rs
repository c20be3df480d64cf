//! The one error type of the cloud layer: which call failed, what kind of failure it was (the
//! deployer and the retry layer decide on the kind), and AWS's own message.

use crate::api::Api;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloudErrorKind {
    /// `Throttling`, `ThrottlingException`, `RequestLimitExceeded`: retry after a pause.
    Throttled,
    /// 5xx or a service-side fault: retry.
    ServerError,
    /// The request timed out or the connection failed: retry.
    Timeout,
    /// The named resource does not exist (`LoadBalancerNotFound`, `InvalidGroup.NotFound`, ...).
    NotFound,
    /// A resource with that name already exists with other settings (`DuplicateLoadBalancerName`,
    /// `DuplicateTargetGroupName`, `InvalidGroup.Duplicate`, `InvalidPermission.Duplicate`).
    Duplicate,
    /// The resource is still in use (`ResourceInUse`, `DependencyViolation`): retry later.
    InUse,
    /// A quota was hit (`TooMany*`, `RulesPerSecurityGroupLimitExceeded`).
    LimitExceeded,
    /// The request itself is wrong (`ValidationError`, `InvalidConfigurationRequest`, ...).
    InvalidRequest,
    /// IAM said no.
    AccessDenied,
    Other,
}

/// A failed cloud call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{api} failed ({code}): {message}")]
pub struct CloudError {
    pub api: Api,
    pub kind: CloudErrorKind,
    /// AWS's error code, e.g. `LoadBalancerNotFound`; empty when there was no response.
    pub code: String,
    pub message: String,
}

impl CloudError {
    pub fn new(api: Api, kind: CloudErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { api, kind, code: code.into(), message: message.into() }
    }

    /// Worth repeating the same call after a pause.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            CloudErrorKind::Throttled | CloudErrorKind::ServerError | CloudErrorKind::Timeout | CloudErrorKind::InUse
        )
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == CloudErrorKind::NotFound
    }
}

pub type CloudResult<T> = Result<T, CloudError>;
