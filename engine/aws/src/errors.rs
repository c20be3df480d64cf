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
        // WAF and Shield spell their codes as exception names.
        "WAFNonexistentItemException" | "WAFNonexistentContainerException" => CloudErrorKind::NotFound,
        "ResourceAlreadyExistsException" | "WAFDuplicateItemException" => CloudErrorKind::Duplicate,
        // "If you've just created a resource that you're using in this operation, you might just need
        // to wait a few minutes": a web ACL not yet usable, worth retrying.
        "WAFUnavailableEntityException" | "OptimisticLockException" => CloudErrorKind::InUse,
        "WAFInternalErrorException" | "InternalErrorException" => CloudErrorKind::ServerError,
        "WAFLimitsExceededException" | "LimitsExceededException" => CloudErrorKind::LimitExceeded,
        "AccessDeniedForDependencyException" => CloudErrorKind::AccessDenied,
        "WAFInvalidParameterException" | "WAFInvalidOperationException" => CloudErrorKind::InvalidRequest,
        _ if code.ends_with("NotFound") || code.ends_with("NotFoundException") => CloudErrorKind::NotFound,
        // EC2's `InvalidGroup.InUse` would otherwise read as a bad request below.
        _ if code.ends_with(".InUse") => CloudErrorKind::InUse,
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
    use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

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
            ("InvalidGroup.InUse", 400, CloudErrorKind::InUse),
            ("InvalidParameterValue", 400, CloudErrorKind::InvalidRequest),
            ("TooManyTargets", 400, CloudErrorKind::LimitExceeded),
            ("RulesPerSecurityGroupLimitExceeded", 400, CloudErrorKind::LimitExceeded),
            ("ValidationError", 400, CloudErrorKind::InvalidRequest),
            ("InvalidConfigurationRequest", 400, CloudErrorKind::InvalidRequest),
            ("InvalidTarget", 400, CloudErrorKind::InvalidRequest),
            ("UnauthorizedOperation", 403, CloudErrorKind::AccessDenied),
            ("Weird", 400, CloudErrorKind::Other),
            ("WAFNonexistentItemException", 400, CloudErrorKind::NotFound),
            ("WAFUnavailableEntityException", 400, CloudErrorKind::InUse),
            ("WAFInvalidParameterException", 400, CloudErrorKind::InvalidRequest),
            ("ResourceNotFoundException", 400, CloudErrorKind::NotFound),
            ("ResourceAlreadyExistsException", 400, CloudErrorKind::Duplicate),
            ("InvalidResourceException", 400, CloudErrorKind::InvalidRequest),
        ];
        for (code, status, kind) in cases {
            assert_eq!(kind_for(Some(code), status), kind, "{code} {status}");
        }
    }

    fn service_error(code: &str, status: u16) -> SdkError<DescribeLoadBalancersError, HttpResponse> {
        let metadata = ErrorMetadata::builder().code(code).message("from AWS").build();
        let status = StatusCode::try_from(status).expect("a valid status");
        SdkError::service_error(
            DescribeLoadBalancersError::generic(metadata),
            HttpResponse::new(status, SdkBody::empty()),
        )
    }

    #[test]
    fn service_errors_keep_their_code_and_message() {
        let error = classify(Api::DescribeLoadBalancers, service_error("Throttling", 400));
        assert_eq!(error.kind, CloudErrorKind::Throttled);
        assert_eq!((error.code.as_str(), error.message.as_str()), ("Throttling", "from AWS"));
        assert!(error.is_retryable());
        let error = classify(Api::DescribeLoadBalancers, service_error("LoadBalancerNotFound", 400));
        assert!(error.is_not_found() && !error.is_retryable());
        let error = classify(Api::DescribeLoadBalancers, service_error("", 503));
        assert_eq!(error.kind, CloudErrorKind::ServerError);
    }

    #[test]
    fn requests_without_an_answer_are_timeouts_worth_retrying() {
        let timed_out: SdkError<DescribeLoadBalancersError, HttpResponse> = SdkError::timeout_error("too slow");
        let refused: SdkError<DescribeLoadBalancersError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
        for error in [timed_out, refused] {
            let error = classify(Api::DescribeLoadBalancers, error);
            assert_eq!(error.kind, CloudErrorKind::Timeout);
            assert!(error.is_retryable());
        }
    }
}
