//! Many validations in one request (`../shared/docs/fhir-terminology.md` §3.6):
//! `ValueSet/$batch-validate-code` — shared parameters (`url`/`valueSet`, `tx-resource`,
//! options) and one `validation` Parameters per coding, answered with one `validation` per
//! input, in order, each echoing its `code` and `system` (the validator refuses a batch
//! answer that does not) — and a FHIR `Bundle` of type `batch` posted to `/fhir`, whose
//! entries are any requests of this endpoint. At most `HYOJUN_MAX_VALIDATE_ITEMS` per request.

use std::borrow::Cow;

use actix_web::http::{Method, StatusCode};
use actix_web::ResponseError;
use serde::Serialize;
use serde_json::Value;

use super::batch_items::{self, Item};
use super::check::{self, Options};
use super::error::FhirError;
use super::outcome::OperationOutcome;
use super::params::{OutParam, Param, Parameters, Params};
use super::route::{self, Target};
use super::valueset::Scope;
use super::{codes, validate, valueset, Answer, Context};
use crate::limits::{group_digits, Limit};

fn too_many(ctx: &Context, n: usize) -> FhirError {
    let max = ctx.state.config.limits.validate_items;
    FhirError::Invalid(format!(
        "{} items: at most {} per request ({})",
        group_digits(n as u64),
        group_digits(max),
        Limit::ValidateItems.env()
    ))
}

/// The items of a batch: read with the shared options (those of one coding as simple
/// ones), or all the general way when the shared parameters do not allow that.
enum Batch<'p> {
    Fast(Options, Vec<Item<'p>>),
    General(Vec<&'p Param>),
}

/// `ValueSet/$batch-validate-code` of parameters already read.
pub fn validate_codes(ctx: &Context, params: &Params) -> Result<Parameters, FhirError> {
    let shared = params.without("validation");
    let items = params.all("validation");
    let batch = match fast_options(&shared) {
        Some(options) => Batch::Fast(
            options,
            items
                .map(|p| match batch_items::simple(p) {
                    Some((asked, at)) => Item::Simple(asked, at),
                    None => Item::General(Cow::Borrowed(p)),
                })
                .collect(),
        ),
        None => Batch::General(items.collect()),
    };
    answer_items(ctx, &shared, batch)
}

/// `ValueSet/$batch-validate-code` posted, its size checked and its depth not yet: read in one
/// pass when it has the shapes validators send, else (its depth checked then) in two passes
/// without a JSON tree of its items, else as a JSON tree ([`batch_items`]).
pub fn validate_body(ctx: &Context, query: Params, body: &[u8]) -> Result<Parameters, FhirError> {
    // UTF-8 checked once, with SIMD (the parser would check every string and raw item).
    let text = simdutf8::basic::from_utf8(body).ok();
    // Items read, answered fast when the shared parameters allow it.
    let fast = |read: Option<(Params, Vec<Item<'static>>)>| {
        let (shared, items) = read?;
        let options = fast_options(&shared)?;
        Some(answer_items(ctx, &shared, Batch::Fast(options, items)))
    };
    if let Some(answered) = fast(text.and_then(|t| batch_items::read_flat(&query, t))) {
        return answered;
    }
    crate::api::json::check_depth(body, &ctx.state.config.limits)?;
    if let Some(answered) = fast(text.and_then(|t| batch_items::read_body(&query, t))) {
        return answered;
    }
    let mut params = query;
    params.extend(Params::from_body(super::parse_json(body)?)?);
    validate_codes(ctx, &params)
}

/// The shared options, when the items that give only a coding can be checked with them
/// alone: they parse, and the shared parameters name no part of a coding themselves.
fn fast_options(shared: &Params) -> Option<Options> {
    if shared
        .items()
        .iter()
        .any(|p| SUBJECT.contains(&p.name.as_str()))
    {
        return None;
    }
    validate::options(shared).ok()
}

/// One answer per item, in order.
fn answer_items(ctx: &Context, shared: &Params, batch: Batch<'_>) -> Result<Parameters, FhirError> {
    let count = match &batch {
        Batch::Fast(_, items) => items.len(),
        Batch::General(items) => items.len(),
    };
    if count as u64 > ctx.state.config.limits.validate_items {
        return Err(too_many(ctx, count));
    }
    // The shared value set is resolved once; an item may name its own.
    let shared_scope = valueset::of_request(shared, ctx.lang)?;
    let scope = shared_scope.as_ref();
    let answer = |result: Result<validate::ValidationAnswer, FhirError>| match result {
        Ok(answer) => OutParam::resource("validation", answer),
        Err(e) => OutParam::resource("validation", e.outcome()),
    };
    let mut out = Parameters::default();
    out.parameter = match batch {
        Batch::Fast(options, items) => {
            prefetch(ctx, &items, &options, scope)?;
            items
                .into_iter()
                .map(|item| match item {
                    Item::Simple(asked, at) => check::coding(ctx, asked, &at, scope, &options)
                        .map(|verdict| validate::answer(verdict, None)),
                    Item::General(param) => general_item(ctx, shared, scope, &param),
                })
                .map(answer)
                .collect()
        }
        Batch::General(items) => items
            .into_iter()
            .map(|param| general_item(ctx, shared, scope, param))
            .map(answer)
            .collect(),
    };
    Ok(out)
}

/// The parameters that name the coding to check (or how to find its system).
const SUBJECT: [&str; 8] = [
    "code",
    "system",
    "version",
    "systemVersion",
    "display",
    "coding",
    "codeableConcept",
    "inferSystem",
];

/// One item checked with its own parameters merged after the shared ones.
fn general_item(
    ctx: &Context,
    shared: &Params,
    shared_scope: Option<&Scope>,
    item: &Param,
) -> Result<validate::ValidationAnswer, FhirError> {
    let own = match item.resource() {
        Some(resource) => Params::from_resource(resource)?,
        None => item.parts()?,
    };
    let own_scope = if own.get("url").is_some() || own.get("valueSet").is_some() {
        valueset::of_request(&own, ctx.lang)?
    } else {
        None
    };
    let mut merged = shared.clone();
    merged.extend(own);
    validate::run(ctx, &merged, "system", own_scope.as_ref().or(shared_scope))
}

/// Reads the statuses of the simple items' codes in one pass per (system, version), when
/// the release each names does not depend on anything but the coding and the date.
fn prefetch(
    ctx: &Context,
    items: &[Item<'_>],
    options: &Options,
    scope: Option<&Scope>,
) -> Result<(), FhirError> {
    let pinned = scope.is_some_and(|s| s.include.iter().any(|i| i.version.is_some()));
    if pinned || !options.force_system_version.is_empty() || !options.system_version.is_empty() {
        return Ok(());
    }
    let codings = items.iter().filter_map(|item| match item {
        Item::Simple(asked, _) => Some((
            asked.system.as_deref()?,
            asked.version.as_deref(),
            asked.code.as_deref()?,
        )),
        Item::General(_) => None,
    });
    codes::prefetch_codings(ctx, codings, options.date)
}

/// A `batch-response` Bundle.
#[derive(Debug, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    entry: Vec<Entry>,
}

/// One entry of a batch-response: the answer, or the error's OperationOutcome.
#[derive(Debug, Serialize)]
struct Entry {
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<Answer>,
    response: EntryResponse,
}

#[derive(Debug, Serialize)]
struct EntryResponse {
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<OperationOutcome>,
}

fn status_line(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}

/// A `batch` Bundle posted to `/fhir`: each entry run as its own request, answered in a
/// `batch-response` Bundle in the same order.
pub fn bundle(
    ctx: &Context,
    body: &Value,
    run: impl Fn(&Context, &Target, &Params) -> Result<Answer, FhirError>,
) -> Result<BatchResponse, FhirError> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(FhirError::Invalid(
            "POST /fhir takes a Bundle of type batch".into(),
        ));
    }
    if body.get("type").and_then(Value::as_str) != Some("batch") {
        return Err(FhirError::Invalid(
            "only Bundles of type batch are processed (no transactions: nothing here writes)"
                .into(),
        ));
    }
    let entries: &[Value] = body
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    if entries.len() as u64 > ctx.state.config.limits.validate_items {
        return Err(too_many(ctx, entries.len()));
    }
    let mut answered = Vec::with_capacity(entries.len());
    for entry in entries {
        let result = entry_request(entry).and_then(|(target, params)| run(ctx, &target, &params));
        answered.push(match result {
            Ok(resource) => Entry {
                resource: Some(resource),
                response: EntryResponse {
                    status: status_line(StatusCode::OK),
                    outcome: None,
                },
            },
            Err(e) => Entry {
                resource: None,
                response: EntryResponse {
                    status: status_line(e.status_code()),
                    outcome: Some(e.outcome()),
                },
            },
        });
    }
    Ok(BatchResponse {
        resource_type: "Bundle",
        kind: "batch-response",
        entry: answered,
    })
}

/// The interaction and parameters of one batch entry (`request.method`, `request.url`
/// relative to `/fhir`, and a Parameters `resource` for a POST).
fn entry_request(entry: &Value) -> Result<(Target, Params), FhirError> {
    let request = entry
        .get("request")
        .ok_or_else(|| FhirError::Invalid("a batch entry needs a request".into()))?;
    let method = match request.get("method").and_then(Value::as_str) {
        Some("GET") => Method::GET,
        Some("POST") => Method::POST,
        Some(other) => {
            return Err(FhirError::Invalid(format!(
                "batch entries may GET or POST, not {}",
                crate::excerpt::excerpt(other)
            )))
        }
        None => {
            return Err(FhirError::Invalid(
                "a batch entry needs request.method".into(),
            ))
        }
    };
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| FhirError::Invalid("a batch entry needs request.url".into()))?;
    let url = url.trim_start_matches('/');
    let url = url.strip_prefix("fhir/").unwrap_or(url);
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let target = route::target(&method, path)?;
    if matches!(target, Target::Batch) {
        return Err(FhirError::Invalid("a batch entry cannot be a batch".into()));
    }
    let mut params = Params::from_query(query)?;
    if let Some(resource) = entry.get("resource") {
        params.extend(Params::from_resource(resource)?);
    }
    Ok((target, params))
}
