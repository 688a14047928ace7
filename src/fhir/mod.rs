//! The FHIR R4 (4.0.1) terminology endpoint at `/fhir`, for hyojun's own code systems: what
//! the HL7 validator and other FHIR clients call (`../shared/docs/fhir-terminology.md`).
//!
//! Every request below `/fhir` comes to [`dispatch`]: [`route`] tells which interaction it
//! is, [`params`] reads its parameters (query string and `Parameters` body), the operation
//! runs on a blocking thread, and the answer is `application/fhir+json`; every error is an
//! OperationOutcome ([`error`], [`outcome`]). The handshake answers without a key, the rest
//! takes the reader key as `Authorization: Bearer` or `Api-Key`. Repeated GETs are answered
//! from the node's cache ([`answers`]); a batch's items are read straight from the posted
//! bytes ([`batch_items`]); the answer is written once, on the blocking thread.

pub mod answers;
pub mod batch;
pub mod batch_items;
pub mod canon;
pub mod capability;
pub mod check;
pub mod check_codes;
pub mod codes;
pub mod conceptmap;
pub mod error;
pub mod expand;
pub mod lookup;
pub mod messages;
pub mod outcome;
pub mod params;
pub mod resources;
pub mod route;
pub mod subsumes;
pub mod translate;
pub mod validate;
pub mod valueset;

use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use self::error::FhirError;
use self::messages::Lang;
use self::params::Params;
use self::route::Target;
use crate::access::Role;
use crate::api::AppState;

/// The media type of every answer.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// What an operation needs besides its parameters.
pub struct Context {
    pub state: std::sync::Arc<AppState>,
    /// The language of issue texts (`Accept-Language`).
    pub lang: Lang,
    /// The endpoint's URL as the client reached it (`https://host/fhir`).
    pub base: String,
    /// What this request has resolved already (releases, statuses).
    pub memo: codes::Memo,
}

impl Context {
    /// The context of one request.
    pub fn new(state: std::sync::Arc<AppState>, lang: Lang, base: String) -> Self {
        Context {
            state,
            lang,
            base,
            memo: codes::Memo::default(),
        }
    }
}

/// The request's query parameters and its body (a POST's, checked for size and depth;
/// `None` when empty), parsed on the blocking thread. The body of a `$batch-validate-code`
/// is checked for depth only when it is not read in one typed pass (`batch::validate_body`):
/// on 10,000 items the check costs as much as that reading.
async fn read_request(
    req: &HttpRequest,
    payload: web::Payload,
    target: &Target,
    state: &AppState,
) -> Result<(Params, Option<web::Bytes>), FhirError> {
    let params = Params::from_query(req.query_string())?;
    if req.method() != actix_web::http::Method::POST {
        return Ok((params, None));
    }
    let limits = &state.config.limits;
    let body = if target.is_batch_validate() {
        crate::api::json::read_bytes(req, payload, limits).await?
    } else {
        crate::api::json::read_body(req, payload, limits).await?
    };
    Ok((params, (!body.is_empty()).then_some(body)))
}

/// A body as JSON.
fn parse_json(body: &[u8]) -> Result<serde_json::Value, FhirError> {
    serde_json::from_slice(body).map_err(|e| crate::api::json::json_error(&e).into())
}

/// Every request below `/fhir`.
pub async fn dispatch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, FhirError> {
    let path = req.path().strip_prefix("/fhir").unwrap_or("");
    let target = route::target(req.method(), path)?;
    if !target.is_open() {
        crate::api::auth::authorize(&req, Role::Reader).await?;
    }
    let (params, body) = read_request(&req, payload, &target, &state).await?;
    let lang = Lang::from_accept_language(
        req.headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let base = {
        let info = req.connection_info();
        format!("{}://{}/fhir", info.scheme(), info.host())
    };
    let cacheable = answers::cacheable(&target, req.method(), req.query_string());
    let cache_key = cacheable
        .then(|| answers::key(&state, lang, &base, req.path(), req.query_string()))
        .flatten();
    if let Some(bytes) = cache_key
        .as_ref()
        .and_then(|k| state.cache.fhir_answer(k.as_str()))
    {
        return Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(bytes));
    }
    let context = Context::new(state.into_inner(), lang, base);
    // ConceptMaps stream their answer.
    match &target {
        Target::Read {
            resource: "ConceptMap",
            id,
        } => return conceptmap::read(context, id.clone()).await,
        Target::Search {
            resource: "ConceptMap",
        } => return conceptmap::search(context, params).await,
        _ => {}
    }
    let state = context.state.clone();
    let unprimed = cacheable && cache_key.is_none();
    let room = answer_room(&target, body.as_deref());
    let bytes = web::block(move || {
        if unprimed {
            answers::prime(&context.state);
        }
        let answered = answer_request(&context, &target, params, body)?;
        // Written and dropped here, not on the worker that serves other connections.
        let mut bytes = Vec::with_capacity(room);
        serde_json::to_writer(&mut bytes, &answered).map_err(internal)?;
        Ok::<_, FhirError>(web::Bytes::from(bytes))
    })
    .await??;
    if let Some(key) = cache_key {
        answers::keep(&state, key, &bytes);
    }
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(bytes))
}

/// Room for an answer, so that writing it does not copy it as it grows: a batch's answer is
/// about 1.4 times the size of its request (an answer per item, each echoing the coding).
fn answer_room(target: &Target, body: Option<&[u8]>) -> usize {
    const SMALL: usize = 16 * 1024;
    match body {
        Some(body) if target.is_batch_validate() => (body.len() / 2 * 3).max(SMALL),
        _ => SMALL,
    }
}

/// Answers a request with its parameters and body (on a blocking thread).
fn answer_request(
    context: &Context,
    target: &Target,
    mut params: Params,
    body: Option<web::Bytes>,
) -> Result<Answer, FhirError> {
    match (target, body) {
        (Target::Batch, Some(body)) => {
            batch::bundle(context, &parse_json(&body)?, serve).map(Answer::Bundle)
        }
        (target, Some(body)) if target.is_batch_validate() => {
            batch::validate_body(context, params, &body).map(Answer::Parameters)
        }
        (Target::Batch, None) => Err(FhirError::Invalid(
            "POST /fhir takes a Bundle of type batch".into(),
        )),
        (Target::Op { op, .. }, body) if op.definition == route::CHECK_CODES => {
            let document = body.ok_or_else(|| {
                FhirError::Invalid("$check-codes takes the resource or Bundle as the body".into())
            })?;
            check_codes::run(context, &parse_json(&document)?).map(Answer::Outcome)
        }
        (_, body) => {
            if let Some(body) = body {
                params.extend(Params::from_body(parse_json(&body)?)?);
            }
            serve(context, target, &params)
        }
    }
}

/// Answers one interaction (on a blocking thread: it may read the database).
fn serve(ctx: &Context, target: &Target, params: &Params) -> Result<Answer, FhirError> {
    match target {
        Target::Metadata if params.text("mode").as_deref() == Some("terminology") => {
            capability::terminology_capabilities(&ctx.state, &ctx.base).map(Answer::Resource)
        }
        Target::Metadata => Ok(Answer::Resource(capability::capability_statement(
            &ctx.state, &ctx.base,
        ))),
        Target::Op { op, id } => match (op.resource, op.name) {
            (None, "versions") => Ok(Answer::Resource(capability::versions())),
            _ => run(ctx, op, id.as_deref(), params),
        },
        // A ConceptMap streams (a project's map can be large): answered outside a batch only.
        Target::Read {
            resource: "ConceptMap",
            ..
        }
        | Target::Search {
            resource: "ConceptMap",
        } => Err(FhirError::Invalid(
            "read or search ConceptMaps on their own, not in a batch".into(),
        )),
        Target::Read { resource, id } => read(ctx, resource, id).map(Answer::Resource),
        Target::Search { resource } => search(ctx, resource, params).map(Answer::Resource),
        Target::Batch => Err(FhirError::Invalid("a batch cannot be nested".into())),
    }
}

fn internal(e: impl std::fmt::Display) -> FhirError {
    FhirError::Api(crate::api::ApiError::Internal(e.to_string()))
}

/// `GET [type]/[id]`.
fn read(ctx: &Context, resource: &str, id: &str) -> Result<serde_json::Value, FhirError> {
    let found = match resource {
        "CodeSystem" => resources::code_system_by_id(ctx, id)?,
        "ValueSet" => resources::value_set_by_id(id),
        _ => None,
    };
    found.ok_or_else(|| {
        FhirError::NotFound(format!(
            "{resource}/{} is not known",
            crate::excerpt::excerpt(id)
        ))
    })
}

/// `GET [type]?url=…&version=…`: a searchset Bundle.
fn search(ctx: &Context, resource: &str, params: &Params) -> Result<serde_json::Value, FhirError> {
    for p in params.items() {
        if !matches!(
            p.name.as_str(),
            "url" | "version" | "_format" | "_summary" | "_count"
        ) {
            return Err(FhirError::Invalid(format!(
                "searching {resource} by `{}` is not supported: search by url and version",
                crate::excerpt::excerpt(&p.name)
            )));
        }
    }
    let (url, version) = (params.text("url"), params.text("version"));
    let found = match resource {
        "CodeSystem" => resources::code_systems(ctx, url.as_deref(), version.as_deref())?,
        "ValueSet" => resources::value_sets(url.as_deref(), version.as_deref()),
        _ => Vec::new(),
    };
    Ok(resources::searchset(ctx, resource, found))
}

/// What an interaction answers with, kept typed until it is written once: a `Parameters`
/// resource, an OperationOutcome (`$check-codes`), a batch-response Bundle, or another
/// resource as JSON (the ValueSet of `$expand`, a CodeSystem, a searchset).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Parameters(params::Parameters),
    Validation(Box<validate::ValidationAnswer>),
    Outcome(outcome::OperationOutcome),
    Bundle(batch::BatchResponse),
    Resource(serde_json::Value),
}

impl From<validate::ValidationAnswer> for Answer {
    fn from(v: validate::ValidationAnswer) -> Self {
        Answer::Validation(Box::new(v))
    }
}

impl From<params::Parameters> for Answer {
    fn from(p: params::Parameters) -> Self {
        Answer::Parameters(p)
    }
}

/// Runs an operation (on a blocking thread: it may read the database).
fn run(
    ctx: &Context,
    op: &route::Operation,
    id: Option<&str>,
    params: &Params,
) -> Result<Answer, FhirError> {
    if let (Some("ConceptMap"), "translate") = (op.resource, op.name) {
        return translate::run(ctx, params, id).map(Answer::from);
    }
    if let Some(id) = id {
        return Err(FhirError::NotFound(format!(
            "{}/{} is not known: invoke ${} on the type",
            op.resource.unwrap_or(""),
            crate::excerpt::excerpt(id),
            op.name
        )));
    }
    match (op.resource, op.name) {
        (Some("CodeSystem"), "lookup") => lookup::run(ctx, params).map(Answer::from),
        (Some("CodeSystem"), "subsumes") => subsumes::run(ctx, params).map(Answer::from),
        (Some("CodeSystem"), "validate-code") => {
            validate::code_system(ctx, params).map(Answer::from)
        }
        (Some("ValueSet"), "validate-code") => validate::value_set(ctx, params).map(Answer::from),
        (Some("ValueSet"), "batch-validate-code") => {
            batch::validate_codes(ctx, params).map(Answer::from)
        }
        (Some("ValueSet"), "expand") => expand::run(ctx, params).map(Answer::Resource),
        _ => Err(FhirError::NotFound(format!(
            "the operation ${} is not served",
            op.name
        ))),
    }
}

/// Registers the endpoint on an application.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/fhir").default_service(web::to(dispatch)));
}
