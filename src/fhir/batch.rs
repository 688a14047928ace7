//! Many validations in one request (`../shared/docs/fhir-terminology.md` §3.6):
//! `ValueSet/$batch-validate-code` — shared parameters (`url`/`valueSet`, `tx-resource`,
//! options) and one `validation` Parameters per coding, answered with one `validation` per
//! input, in order, each echoing its `code` and `system` (the validator refuses a batch
//! answer that does not) — and a FHIR `Bundle` of type `batch` posted to `/fhir`, whose
//! entries are any requests of this endpoint. At most `HYOJUN_MAX_VALIDATE_ITEMS` per request.

use actix_web::http::{Method, StatusCode};
use actix_web::ResponseError;
use serde_json::{json, Value};

use super::error::FhirError;
use super::params::{OutParam, Parameters, Params};
use super::route::{self, Target};
use super::{validate, valueset, Context};
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

/// `ValueSet/$batch-validate-code`.
pub fn validate_codes(ctx: &Context, params: &Params) -> Result<Parameters, FhirError> {
    let items: Vec<&super::params::Param> = params.all("validation").collect();
    if items.len() as u64 > ctx.state.config.limits.validate_items {
        return Err(too_many(ctx, items.len()));
    }
    // The shared value set is resolved once; an item may name its own.
    let shared_scope = valueset::of_request(params, ctx.lang)?;
    let shared = params.without("validation");
    let mut out = Parameters::default();
    for item in items {
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
        let scope = own_scope.as_ref().or(shared_scope.as_ref());
        let result = validate::run(ctx, &merged, "system", scope);
        let resource = match result {
            Ok(answer) => serde_json::to_value(answer).unwrap_or_default(),
            Err(e) => outcome_of(&e),
        };
        out.push_param(OutParam::resource("validation", resource));
    }
    Ok(out)
}

/// The OperationOutcome an error answers with.
fn outcome_of(e: &FhirError) -> Value {
    serde_json::to_value(e.outcome()).unwrap_or_default()
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
    run: impl Fn(&Context, &Target, &Params) -> Result<Value, FhirError>,
) -> Result<Value, FhirError> {
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
    let entries = body
        .get("entry")
        .map(|e| e.as_array().cloned().unwrap_or_default())
        .unwrap_or_default();
    if entries.len() as u64 > ctx.state.config.limits.validate_items {
        return Err(too_many(ctx, entries.len()));
    }
    let mut answered = Vec::with_capacity(entries.len());
    for entry in &entries {
        let result = entry_request(entry).and_then(|(target, params)| run(ctx, &target, &params));
        answered.push(match result {
            Ok(resource) => json!({
                "resource": resource,
                "response": {"status": status_line(StatusCode::OK)}
            }),
            Err(e) => json!({
                "response": {
                    "status": status_line(e.status_code()),
                    "outcome": outcome_of(&e)
                }
            }),
        });
    }
    Ok(json!({
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": answered
    }))
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
