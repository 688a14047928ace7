//! JSON request bodies under the limits: content type (415), size (`json_bytes`, 413) and
//! nesting depth (`json_depth`, checked on the bytes before anything is deserialised, 400).
//! [`Json`] is the extractor for typed bodies; [`read_body`] gives the checked bytes to
//! handlers that parse the body themselves (`/v1/validate`, activation).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::AppState;
use crate::limits::{Limit, Limits};

/// A JSON body deserialised into `T` after the checks of [`read_body`].
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let limits = limits_of(&req);
            let body = read_body(&req, payload, &limits).await?;
            if body.is_empty() {
                return Err(ApiError::BadRequest(
                    "request body: a JSON document is required".into(),
                ));
            }
            parse(&body).map(Json)
        })
    }
}

/// The limits of the application serving `req` (the defaults outside one).
pub fn limits_of(req: &HttpRequest) -> Limits {
    req.app_data::<web::Data<AppState>>()
        .map(|s| s.config.limits.clone())
        .unwrap_or_default()
}

/// `true` for `application/json` and `…+json`.
fn is_json(req: &HttpRequest) -> bool {
    matches!(req.mime_type(), Ok(Some(mime))
        if mime.subtype() == actix_web::mime::JSON || mime.suffix() == Some(actix_web::mime::JSON))
}

/// The body's bytes: at most `json_bytes` (413 past it; a `Content-Length` over it is refused
/// before anything is read), sent as JSON (415 otherwise; an empty body may have no content
/// type), nested at most `json_depth` deep (400). An empty body is returned as is.
pub async fn read_body(
    req: &HttpRequest,
    payload: impl Stream<Item = Result<Bytes, PayloadError>> + Unpin,
    limits: &Limits,
) -> Result<Bytes, ApiError> {
    let body = read_bytes(req, payload, limits).await?;
    if !body.is_empty() {
        check_depth(&body, limits)?;
    }
    Ok(body)
}

/// [`read_body`] without the depth check: for a reader that checks the depth itself, or
/// reads with types of a fixed shape, which have no depth to exhaust.
pub async fn read_bytes(
    req: &HttpRequest,
    mut payload: impl Stream<Item = Result<Bytes, PayloadError>> + Unpin,
    limits: &Limits,
) -> Result<Bytes, ApiError> {
    let max = limits.json_bytes;
    let too_large = || {
        ApiError::TooLarge(format!(
            "the request body is too large: {}",
            limits.describe(Limit::JsonBytes)
        ))
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let has_type = req
        .headers()
        .contains_key(actix_web::http::header::CONTENT_TYPE);
    if has_type && !is_json(req) {
        return Err(unsupported());
    }
    // Room for the declared length up front (no copying while a large body grows), up to
    // 4 MiB: a client cannot make the server hold more than it actually sends beyond that.
    let room = declared.unwrap_or(0).min(4 << 20) as usize;
    let mut body = BytesMut::with_capacity(room);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            PayloadError::Overflow => too_large(),
            other => ApiError::BadRequest(format!("request body: {other}")),
        })?;
        if (body.len() + chunk.len()) as u64 > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Ok(body.freeze());
    }
    if !has_type {
        return Err(unsupported());
    }
    Ok(body.freeze())
}

fn unsupported() -> ApiError {
    ApiError::UnsupportedMediaType(
        "request body: send JSON with `Content-Type: application/json`".into(),
    )
}

/// Refuses arrays and objects nested deeper than `json_depth` (strings are skipped, so
/// brackets inside them do not count).
pub fn check_depth(body: &[u8], limits: &Limits) -> Result<(), ApiError> {
    match crate::json_depth::too_deep(body, limits.json_depth) {
        Some(_) => Err(ApiError::BadRequest(format!(
            "request body: arrays and objects are nested too deep; {}",
            limits.describe(Limit::JsonDepth)
        ))),
        None => Ok(()),
    }
}

/// Deserialises a checked body, which must be one JSON object (every request body of the API
/// is one: serde would otherwise read a struct from an array and `null` as "nothing given");
/// the error names what is wrong, cut short.
pub fn parse<'de, T: serde::Deserialize<'de>>(body: &'de [u8]) -> Result<T, ApiError> {
    let first = body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        // Text that is not JSON at all is told so, as serde says it.
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|e| json_error(&e))?;
        return Err(ApiError::BadRequest(
            "request body: a JSON object (`{…}`) is required".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| json_error(&e))
}

/// A serde error as a 400 (its text can quote a value of the body: cut to 200 characters).
pub fn json_error(e: &serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!("request body: {}", shorten(&e.to_string())))
}

/// A message part that may quote a value of the request, cut to 200 characters.
pub fn shorten(text: &str) -> String {
    let cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut + "…"
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        at: Option<String>,
    }

    #[test]
    fn bodies_are_objects() {
        let body: Body = parse(b" \n{\"at\": \"x\"}").expect("an object");
        assert_eq!(body.at.as_deref(), Some("x"));
        // serde alone would read these as a Body (a struct from a sequence, null as none).
        for bad in [&b"[]"[..], b"[\"x\"]", b"null", b" \"x\"", b"1", b"true"] {
            let err = parse::<Option<Body>>(bad).expect_err("not an object");
            assert_eq!(
                err.to_string(),
                "request body: a JSON object (`{…}`) is required"
            );
        }
        let err = parse::<Body>(b"not json").expect_err("not JSON");
        assert_eq!(
            err.to_string(),
            "request body: expected ident at line 1 column 2"
        );
    }

    #[test]
    fn depth_counts_brackets_outside_strings() {
        let limits = Limits {
            json_depth: 3,
            ..Limits::default()
        };
        assert!(check_depth(br#"{"a":[[1]]}"#, &limits).is_ok());
        assert!(check_depth(br#"{"a":"[[[[[[\"[[[["}"#, &limits).is_ok());
        let err = check_depth(br#"{"a":[[[1]]]}"#, &limits).expect_err("4 deep");
        assert_eq!(
            err.to_string(),
            "request body: arrays and objects are nested too deep; the limit is 3 levels (HYOJUN_MAX_JSON_DEPTH)"
        );
    }
}
