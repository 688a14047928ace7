//! The one JSON error envelope every endpoint answers with.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use thiserror::Error;
use utoipa::ToSchema;

use crate::store::{Missing, StoreError};

/// Errors an endpoint can answer with; each maps to one status and one stable code.
#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    /// A stored thing that is not there: 404 with `details.missing` naming its kind.
    #[error("{1}")]
    Missing(Missing, String),
    #[error("{0}")]
    BadRequest(String),
    /// Bad input with structured problems (e.g. every line of a file that is wrong): 400.
    #[error("{message}")]
    Invalid {
        message: String,
        details: serde_json::Value,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    /// The request URL (path and query) is over the URL limit: 414.
    #[error("{0}")]
    UriTooLong(String),
    /// A body in a content type the endpoint does not read: 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A known path asked with a method it does not serve: 405 with `Allow`.
    #[error("{message}")]
    MethodNotAllowed { message: String, allow: String },
    /// The node is at a limit that frees itself (uploads in flight): 503 with `Retry-After`.
    #[error("{0}")]
    Busy(String),
    #[error("the database is not available")]
    Unavailable,
    /// A bug or damaged data: logged with context, answered without detail.
    #[error("internal error")]
    Internal(String),
}

/// What a 503 for a busy node (`Retry-After`) asks the client to wait, in seconds.
pub const BUSY_RETRY_AFTER_SECONDS: u64 = 5;

/// Body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// The error itself: a stable machine-readable code and a message for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Extra structured information, when there is any: the problems of a bad input
    /// (`bad_request`), `retry_after_seconds` (`busy`), `missing` — what kind of thing is not
    /// there — for a `not_found` of a stored thing (`release`, `job`, `api_key`,
    /// `mapping_project`, `local_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// The stable machine-readable code of an error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    TooLarge,
    UriTooLong,
    UnsupportedMediaType,
    /// The request head is over the server's limit (answered by the HTTP layer).
    HeadersTooLarge,
    Busy,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The code as the envelope spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::Busy => "busy",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

impl ApiError {
    /// The stable error code of the envelope.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The stable error code of the envelope, typed.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ApiError::NotFound(_) | ApiError::Missing(..) => ErrorCode::NotFound,
            ApiError::BadRequest(_) | ApiError::Invalid { .. } => ErrorCode::BadRequest,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::TooLarge(_) => ErrorCode::TooLarge,
            ApiError::UriTooLong(_) => ErrorCode::UriTooLong,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            ApiError::Busy(_) => ErrorCode::Busy,
            ApiError::Unavailable => ErrorCode::Unavailable,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) | ApiError::Missing(..) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Busy(_) | ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(context) = self {
            tracing::error!(%context, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                response.insert_header(("Allow", allow.as_str()));
            }
            ApiError::Busy(_) => {
                response.insert_header(("Retry-After", BUSY_RETRY_AFTER_SECONDS.to_string()));
            }
            _ => {}
        }
        response.json(ErrorEnvelope {
            error: ErrorBody {
                code: self.error_code(),
                message: self.to_string(),
                details: match self {
                    ApiError::Invalid { details, .. } => Some(details.clone()),
                    ApiError::Busy(_) => Some(serde_json::json!({
                        "retry_after_seconds": BUSY_RETRY_AFTER_SECONDS
                    })),
                    ApiError::Missing(missing, _) => {
                        Some(serde_json::json!({ "missing": missing.as_str() }))
                    }
                    _ => None,
                },
            },
        })
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(missing, m) => ApiError::Missing(missing, m),
            StoreError::Invalid(m) => ApiError::BadRequest(m),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Connect(m) => {
                // During an outage every request gets here: one line a second is enough (the
                // health check logs when the database goes and comes back).
                if once_a_second() {
                    tracing::error!(error = %m, "database unavailable (answered 503; logged at most once a second)");
                }
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// True at most once per wall-clock second, across threads.
fn once_a_second() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    LAST.swap(now, Ordering::Relaxed) != now
}
