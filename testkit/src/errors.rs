//! API errors as `Status` objects with the reason and code kube-apiserver uses, so clients'
//! helpers (`is_not_found()`, conflict handling) work on them.

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    /// One of kube-apiserver's reasons, or what an admission webhook's denial carried (possibly
    /// empty).
    pub reason: Cow<'static, str>,
    pub message: String,
    /// The Status `details`, when there are any.
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self { code, reason: Cow::Borrowed(reason), message: message.into(), details: None }
    }

    /// A Status as something else (an admission webhook) wrote it.
    pub fn with_status(code: u16, reason: String, message: String, details: Option<Value>) -> Self {
        Self { code, reason: Cow::Owned(reason), message, details }
    }

    /// apimachinery's `NewInternalError`: a 500 whose cause is `error`.
    pub fn internal(error: impl Into<String>) -> Self {
        let error = error.into();
        Self {
            details: Some(json!({ "causes": [{ "message": error }] })),
            ..Self::new(500, "InternalError", format!("Internal error occurred: {error}"))
        }
    }

    pub fn not_found(kind: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{kind} \"{name}\" not found"))
    }

    pub fn already_exists(kind: &str, name: &str) -> Self {
        Self::new(409, "AlreadyExists", format!("{kind} \"{name}\" already exists"))
    }

    pub fn conflict(kind: &str, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {kind} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        )
    }

    /// A Conflict with its own cause, as `NewConflict(resource, name, err)` words it.
    pub fn conflict_because(kind: &str, name: &str, why: impl Into<String>) -> Self {
        Self::new(409, "Conflict", format!("Operation cannot be fulfilled on {kind} \"{name}\": {}", why.into()))
    }

    pub fn invalid(kind: &str, name: &str, detail: impl Into<String>) -> Self {
        Self::new(422, "Invalid", format!("{kind} \"{name}\" is invalid: {}", detail.into()))
    }

    /// apimachinery's `NewForbidden`: `<resource> "<name>" is forbidden: <why>`.
    pub fn forbidden(resource: &str, name: &str, why: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", format!("{resource} \"{name}\" is forbidden: {}", why.into()))
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, [("content-type", "application/json")], self.status().to_string()).into_response()
    }
}
