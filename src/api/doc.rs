//! The answers every operation can give besides its own (bad URL 400, 414, 503, and 413/415
//! for operations with a body), added to the OpenAPI document once instead of to each path.

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{AnyOf, Schema};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::Modify;

use crate::limits::{group_digits, Limit};

/// Adds the shared error answers to every operation that does not list them itself.
pub struct CommonResponses;

/// The document with [`CommonResponses`] applied (after every path is registered).
pub fn complete(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    CommonResponses.modify(&mut doc);
    untagged_as_any_of(&mut doc);
    let limits: Vec<String> = [
        (Limit::JsonBytes, "413"),
        (Limit::JsonDepth, "400"),
        (Limit::ValidateItems, "400"),
        (Limit::UrlBytes, "414"),
        (Limit::UploadBytes, "413"),
        (Limit::UploadsInFlightBytes, "503 with `Retry-After`"),
        (Limit::ConcurrentJobs, "later jobs stay `queued`"),
    ]
    .iter()
    .map(|(limit, answer)| {
        format!(
            "- {} {} ({answer})",
            limit.description(),
            default_limit(*limit)
        )
    })
    .collect();
    let description = doc.info.description.take().unwrap_or_default();
    doc.info.description = Some(format!(
        "{description}\n\nLimits (each set on the server by its variable; over one the answer is \
         the error envelope and nothing changes):\n{}",
        limits.join("\n")
    ));
    doc
}

/// The schemas of `#[serde(untagged)]` unions as `anyOf`: serde writes the first variant a
/// value fits, and one value may fit several (an empty problem list is either kind), while
/// the `oneOf` utoipa derives for them says "exactly one", which such values break (the
/// schemathesis run of `.ci/run` checks every answer against the document).
fn untagged_as_any_of(doc: &mut utoipa::openapi::OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for name in super::dto::jobs::UNTAGGED {
        if let Some(RefOr::T(Schema::OneOf(one))) = components.schemas.get(name).cloned() {
            let any = AnyOf {
                items: one.items,
                description: one.description,
                default: one.default,
                example: one.example,
                examples: one.examples,
                discriminator: one.discriminator,
                extensions: one.extensions,
                ..AnyOf::default()
            };
            components
                .schemas
                .insert(name.to_owned(), RefOr::T(Schema::AnyOf(any)));
        }
    }
}

fn envelope(description: String) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))),
            )
            .build(),
    )
}

/// `16,777,216 bytes (HYOJUN_MAX_JSON_BYTES)`: a limit's default as the document states it.
pub fn default_limit(limit: Limit) -> String {
    format!(
        "{} {} by default ({})",
        group_digits(limit.default_value()),
        limit.unit(),
        limit.env()
    )
}

fn add(operation: &mut Operation, status: &str, description: impl FnOnce() -> String) {
    if !operation.responses.responses.contains_key(status) {
        operation
            .responses
            .responses
            .insert(status.to_owned(), envelope(description()));
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let needs_database = !matches!(path.as_str(), "/healthz" | "/metrics");
            for operation in [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                add(operation, "400", || {
                    "Bad request: a path or query parameter that is not valid, or a URL that is not valid percent-encoded UTF-8".into()
                });
                add(operation, "414", || {
                    format!(
                        "URL (path and query) over the limit, {}",
                        default_limit(Limit::UrlBytes)
                    )
                });
                if operation.request_body.is_some() {
                    add(operation, "413", || {
                        format!(
                            "Request body over the limit, {}",
                            default_limit(Limit::JsonBytes)
                        )
                    });
                    add(operation, "415", || {
                        "Request body not in the documented content type".into()
                    });
                }
                if operation.security.is_some() {
                    add(operation, "401", || "No or bad API key".into());
                }
                if needs_database {
                    add(operation, "503", || {
                        "The database is not available (try again later)".into()
                    });
                }
            }
        }
    }
}
