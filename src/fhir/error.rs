//! Errors of the FHIR endpoint: every one answers an OperationOutcome
//! (`application/fhir+json`), never the `/v1` envelope.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use thiserror::Error;

use super::outcome::{Issue, OperationOutcome, Severity};
use super::FHIR_JSON;
use crate::api::ApiError;

/// What a FHIR request can fail with.
#[derive(Debug, Error)]
pub enum FhirError {
    /// An answer made of issues (an unknown value set, a too-costly expansion …).
    #[error("{}", .outcome.issue.first().map(Issue::text).unwrap_or(""))]
    Outcome {
        status: StatusCode,
        outcome: OperationOutcome,
    },
    /// The request is not usable as sent (a parameter missing or malformed): 400.
    #[error("{0}")]
    Invalid(String),
    /// No such resource or operation: 404.
    #[error("{0}")]
    NotFound(String),
    /// The path exists but not with this method: 405 with `Allow`.
    #[error("{message}")]
    MethodNotAllowed { message: String, allow: String },
    /// An error of the service shared with `/v1` (keys, limits, the database).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl FhirError {
    /// A 400 or 404 answer of one error issue.
    pub fn issue(status: StatusCode, issue: Issue) -> Self {
        FhirError::Outcome {
            status,
            outcome: OperationOutcome::one(issue),
        }
    }

    /// The OperationOutcome the error answers with (an internal error's says "internal error",
    /// never its context).
    pub fn outcome(&self) -> OperationOutcome {
        match self {
            FhirError::Outcome { outcome, .. } => outcome.clone(),
            other => OperationOutcome::one(Issue::new(
                Severity::Error,
                other.issue_code(),
                other.to_string(),
            )),
        }
    }

    /// The IssueType of an error answer with this status.
    fn issue_code(&self) -> &'static str {
        match self {
            FhirError::Outcome { .. } => "exception",
            FhirError::Invalid(_) => "invalid",
            FhirError::NotFound(_) => "not-found",
            FhirError::MethodNotAllowed { .. } => "not-supported",
            FhirError::Api(e) => match e {
                ApiError::NotFound(_) | ApiError::Missing(..) => "not-found",
                ApiError::BadRequest(_) | ApiError::Invalid { .. } => "invalid",
                ApiError::Unauthorized(_) => "login",
                ApiError::Forbidden(_) => "forbidden",
                ApiError::Conflict(_) => "conflict",
                ApiError::TooLarge(_) | ApiError::UriTooLong(_) => "too-long",
                ApiError::UnsupportedMediaType(_) | ApiError::MethodNotAllowed { .. } => {
                    "not-supported"
                }
                ApiError::Busy(_) | ApiError::Unavailable => "transient",
                ApiError::Internal(_) => "exception",
            },
        }
    }
}

impl From<crate::store::StoreError> for FhirError {
    fn from(e: crate::store::StoreError) -> Self {
        FhirError::Api(e.into())
    }
}

impl From<actix_web::error::BlockingError> for FhirError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        FhirError::Api(e.into())
    }
}

impl ResponseError for FhirError {
    fn status_code(&self) -> StatusCode {
        match self {
            FhirError::Outcome { status, .. } => *status,
            FhirError::Invalid(_) => StatusCode::BAD_REQUEST,
            FhirError::NotFound(_) => StatusCode::NOT_FOUND,
            FhirError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            FhirError::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let FhirError::Api(ApiError::Internal(context)) = self {
            tracing::error!(%context, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(FHIR_JSON);
        match self {
            FhirError::Api(ApiError::Unauthorized(_)) => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            FhirError::MethodNotAllowed { allow, .. }
            | FhirError::Api(ApiError::MethodNotAllowed { allow, .. }) => {
                response.insert_header(("Allow", allow.as_str()));
            }
            FhirError::Api(ApiError::Busy(_)) => {
                response.insert_header((
                    "Retry-After",
                    crate::api::error::BUSY_RETRY_AFTER_SECONDS.to_string(),
                ));
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&self.outcome()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_answer_operation_outcomes_without_internal_detail() {
        let e = FhirError::Api(ApiError::Internal("SELECT … failed at /srv/db".into()));
        let response = e.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers().get("content-type").map(|v| v.as_bytes()),
            Some(FHIR_JSON.as_bytes())
        );
        let e = FhirError::Invalid("the parameter `code` is missing".into());
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(e.issue_code(), "invalid");
        let e: FhirError = ApiError::Unauthorized("an API key is required".into()).into();
        assert_eq!(
            (e.status_code(), e.issue_code()),
            (StatusCode::UNAUTHORIZED, "login")
        );
    }
}
