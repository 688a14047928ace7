//! Every answer of the application keeps the error envelope: the URL is checked before
//! routing (length: 414; percent-encoding and UTF-8: 400), unknown paths answer 404 and known
//! paths asked with another method 405 with `Allow`, and any error response that is not JSON
//! yet (actix's own, e.g. a payload limit) is rewritten into the envelope.
//!
//! What actix-http answers before the application sees a request (a request line or header
//! that is not HTTP: 400; a request head over 128 KiB: 431) has an empty body; the URL limit
//! (8 KiB by default) is far below that head limit, so over-long URLs get our 414.

use std::sync::OnceLock;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::{HttpRequest, HttpResponse};

use super::error::{ApiError, ErrorBody, ErrorCode, ErrorEnvelope};
use crate::limits::{Limit, Limits};

/// Refuses a URL over `url_bytes` (414), with a `%` not followed by two hex digits, or whose
/// path or query does not decode to UTF-8 (400).
pub fn check_url(uri: &Uri, limits: &Limits) -> Result<(), ApiError> {
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if !limits.allows(Limit::UrlBytes, target.len() as u64) {
        return Err(ApiError::UriTooLong(format!(
            "the URL is {} bytes long; {}",
            crate::limits::group_digits(target.len() as u64),
            limits.describe(Limit::UrlBytes)
        )));
    }
    for (part, text) in [("path", uri.path()), ("query", uri.query().unwrap_or(""))] {
        let decoded = percent_decode(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "the URL's {part} has a `%` that is not followed by two hex digits: percent-encode it as %25"
            ))
        })?;
        if std::str::from_utf8(&decoded).is_err() {
            return Err(ApiError::BadRequest(format!(
                "the URL's {part} does not decode to UTF-8: percent-encode the UTF-8 bytes of the text"
            )));
        }
    }
    Ok(())
}

/// The bytes `%XX` escapes stand for; `None` for a malformed escape.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let value = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())?;
            out.push(value);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The documented paths with their methods (from the OpenAPI document), and the documents
/// the application serves besides.
fn routes() -> &'static [(ResourceDef, Vec<Method>)] {
    static ROUTES: OnceLock<Vec<(ResourceDef, Vec<Method>)>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let doc = super::openapi();
        let mut routes: Vec<(ResourceDef, Vec<Method>)> = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, has)| has.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        routes.push((ResourceDef::new("/openapi.json"), vec![Method::GET]));
        routes.push((ResourceDef::new("/docs/{_:.*}"), vec![Method::GET]));
        routes
    })
}

/// The answer for a request no endpoint took: 405 with `Allow` when the path is served with
/// other methods, else 404.
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    let allowed: Vec<&str> = routes()
        .iter()
        .filter(|(def, _)| def.is_match(path))
        .flat_map(|(_, methods)| methods.iter().map(Method::as_str))
        .collect();
    if allowed.is_empty() {
        return Err(ApiError::NotFound("no such endpoint".into()));
    }
    let allow = allowed.join(", ");
    Err(ApiError::MethodNotAllowed {
        message: format!(
            "{} is not served on this path: use {allow}",
            crate::excerpt::excerpt(req.method().as_str())
        ),
        allow,
    })
}

/// Checks the URL before routing: a refused URL answers at once.
pub fn refuse(
    req: ServiceRequest,
    limits: &Limits,
) -> Result<ServiceRequest, Box<ServiceResponse>> {
    match check_url(req.uri(), limits) {
        Ok(()) => Ok(req),
        // The FHIR endpoint answers its errors as OperationOutcomes.
        Err(e) if is_fhir(req.path()) => Err(Box::new(
            req.error_response(crate::fhir::error::FhirError::Api(e)),
        )),
        Err(e) => Err(Box::new(req.error_response(e))),
    }
}

/// Whether a path is the FHIR endpoint's.
fn is_fhir(path: &str) -> bool {
    path == "/fhir" || path.starts_with("/fhir/")
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/json") || v.starts_with("application/fhir+json")
        })
}

/// The OperationOutcome IssueType of an error answer with this status.
fn fhir_issue_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        405 | 415 => "not-supported",
        409 => "conflict",
        413 | 414 => "too-long",
        503 => "transient",
        500..=599 => "exception",
        _ => "invalid",
    }
}

/// The stable code of an error answer with this status.
fn code(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::TooLarge,
        414 => ErrorCode::UriTooLong,
        415 => ErrorCode::UnsupportedMediaType,
        503 => ErrorCode::Unavailable,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    }
}

/// An error response that is not JSON (actix's own) rewritten into the envelope, keeping its
/// status and headers; any other response unchanged.
pub fn enveloped<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response.map_into_boxed_body();
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            // actix's own 413 comes from the payload limit of bodies read whole (local-code
            // lists, decision imports): the larger of the two limits.
            let limits = super::json::limits_of(response.request());
            let limit = if limits.list_bytes >= limits.json_bytes {
                Limit::ListBytes
            } else {
                Limit::JsonBytes
            };
            format!("the request body is too large: {}", limits.describe(limit))
        }
        _ if status.is_server_error() => "internal error".to_owned(),
        _ => response
            .response()
            .error()
            .map(|e| crate::excerpt::excerpt(&e.to_string()))
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
    };
    if let Some(e) = response
        .response()
        .error()
        .filter(|_| status.is_server_error())
    {
        tracing::error!(error = %e, "internal error");
    }
    let (request, old) = response.into_parts();
    let mut new = if is_fhir(request.path()) {
        use crate::fhir::outcome::{Issue, OperationOutcome, Severity};
        let issue = Issue::new(Severity::Error, fhir_issue_code(status), message);
        actix_web::ResponseError::error_response(&crate::fhir::error::FhirError::Outcome {
            status,
            outcome: OperationOutcome::one(issue),
        })
    } else {
        HttpResponse::build(status).json(ErrorEnvelope {
            error: ErrorBody {
                code: code(status),
                message,
                details: None,
            },
        })
    };
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(request, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let limits = Limits {
            url_bytes: 30,
            ..Limits::default()
        };
        let check = |u: &str| {
            check_url(&u.parse::<Uri>().expect("uri"), &limits).map_err(|e| e.to_string())
        };
        assert_eq!(check("/v1/search?q=%E8%83%83"), Ok(()));
        assert_eq!(
            check("/v1/search?q=aaaaaaaaaaaaaaaaaaaaa"),
            Err("the URL is 34 bytes long; the limit is 30 bytes (HYOJUN_MAX_URL_BYTES)".into())
        );
        assert_eq!(
            check("/v1/search?q=%zz"),
            Err("the URL's query has a `%` that is not followed by two hex digits: percent-encode it as %25".into())
        );
        assert_eq!(
            check("/v1/systems/%FF"),
            Err("the URL's path does not decode to UTF-8: percent-encode the UTF-8 bytes of the text".into())
        );
    }
}
