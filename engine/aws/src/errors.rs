//! SDK errors as [`CloudError`]s: the action, a kind the deployer and the retry layer decide on,
//! AWS's error code and message.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use elbow_cloud::{Api, CloudError, CloudErrorKind};

pub(crate) fn classify<E>(api: Api, error: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            CloudError::new(api, CloudErrorKind::Timeout, "", describe(&error))
        }
        SdkError::ResponseError(context) => {
            let status = context.raw().status().as_u16();
            CloudError::new(api, kind_for(None, status), "", describe(&error))
        }
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().unwrap_or_default().to_string();
            let message = context.err().message().map(str::to_string).unwrap_or_else(|| describe(&error));
            CloudError::new(api, kind_for(Some(&code), status), code, message)
        }
        SdkError::ConstructionFailure(_) => CloudError::new(api, CloudErrorKind::InvalidRequest, "", describe(&error)),
        _ => CloudError::new(api, CloudErrorKind::Other, "", describe(&error)),
    }
}

fn describe<E: std::error::Error + 'static>(error: &SdkError<E, HttpResponse>) -> String {
    aws_smithy_types::error::display::DisplayErrorContext(error).to_string()
}

/// The kind of an AWS error code (ELBv2 and EC2 spellings), falling back on the HTTP status.
pub(crate) fn kind_for(code: Option<&str>, status: u16) -> CloudErrorKind {
    let code = code.unwrap_or_default();
    match code {
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequestsException" => {
            CloudErrorKind::Throttled
        }
        "InternalFailure" | "InternalError" | "ServiceUnavailable" | "Unavailable" => CloudErrorKind::ServerError,
        "ResourceInUse" | "DependencyViolation" | "OperationNotPermitted" => CloudErrorKind::InUse,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthFailure" => {
            CloudErrorKind::AccessDenied
        }
        "InvalidPermission.Duplicate" | "InvalidGroup.Duplicate" | "PriorityInUse" => CloudErrorKind::Duplicate,
        _ if code.ends_with("NotFound") || code.ends_with(".NotFound") => CloudErrorKind::NotFound,
        _ if code.starts_with("Duplicate") => CloudErrorKind::Duplicate,
        _ if code.starts_with("TooMany") || code.ends_with("LimitExceeded") => CloudErrorKind::LimitExceeded,
        _ if code.starts_with("Validation")
            || code.starts_with("Invalid")
            || code.starts_with("MissingParameter")
            || code.starts_with("Unsupported")
            || code == "IncompatibleProtocols" =>
        {
            CloudErrorKind::InvalidRequest
        }
        _ if status >= 500 => CloudErrorKind::ServerError,
        _ if status == 429 => CloudErrorKind::Throttled,
        _ => CloudErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_error_codes_map_to_kinds() {
        let cases = [
            ("Throttling", 400, CloudErrorKind::Throttled),
            ("RequestLimitExceeded", 503, CloudErrorKind::Throttled),
            ("InternalFailure", 500, CloudErrorKind::ServerError),
            ("", 502, CloudErrorKind::ServerError),
            ("LoadBalancerNotFound", 400, CloudErrorKind::NotFound),
            ("InvalidGroup.NotFound", 400, CloudErrorKind::NotFound),
            ("InvalidSecurityGroupRuleId.NotFound", 400, CloudErrorKind::NotFound),
            ("DuplicateLoadBalancerName", 400, CloudErrorKind::Duplicate),
            ("InvalidPermission.Duplicate", 400, CloudErrorKind::Duplicate),
            ("InvalidGroup.Duplicate", 400, CloudErrorKind::Duplicate),
            ("ResourceInUse", 400, CloudErrorKind::InUse),
            ("DependencyViolation", 400, CloudErrorKind::InUse),
            ("TooManyTargets", 400, CloudErrorKind::LimitExceeded),
            ("RulesPerSecurityGroupLimitExceeded", 400, CloudErrorKind::LimitExceeded),
            ("ValidationError", 400, CloudErrorKind::InvalidRequest),
            ("InvalidConfigurationRequest", 400, CloudErrorKind::InvalidRequest),
            ("InvalidTarget", 400, CloudErrorKind::InvalidRequest),
            ("UnauthorizedOperation", 403, CloudErrorKind::AccessDenied),
            ("Weird", 400, CloudErrorKind::Other),
        ];
        for (code, status, kind) in cases {
            assert_eq!(kind_for(Some(code), status), kind, "{code} {status}");
        }
    }
}
