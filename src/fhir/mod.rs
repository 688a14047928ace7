//! The FHIR R4 (4.0.1) terminology endpoint at `/fhir`, for hyojun's own code systems: what
//! the HL7 validator and other FHIR clients call (`../shared/docs/fhir-terminology.md`).
//!
//! Every request below `/fhir` comes to [`dispatch`]: [`route`] tells which interaction it
//! is, [`params`] reads its parameters (query string and `Parameters` body), the operation
//! runs on a blocking thread, and the answer is `application/fhir+json`; every error is an
//! OperationOutcome ([`error`], [`outcome`]). The handshake answers without a key, the rest
//! takes the reader key as `Authorization: Bearer` or `Api-Key`.

pub mod batch;
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
}

/// An answer as FHIR JSON.
pub fn answer(body: &impl Serialize) -> Result<HttpResponse, FhirError> {
    let bytes = serde_json::to_vec(body).map_err(internal)?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(bytes))
}

/// The request's query parameters and its JSON body (a POST's; `None` when empty).
async fn read_request(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Params, Option<serde_json::Value>), FhirError> {
    let params = Params::from_query(req.query_string())?;
    if req.method() != actix_web::http::Method::POST {
        return Ok((params, None));
    }
    let body = crate::api::json::read_body(req, payload, &state.config.limits).await?;
    if body.is_empty() {
        return Ok((params, None));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| crate::api::json::json_error(&e))?;
    Ok((params, Some(json)))
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
    let (mut params, body) = read_request(&req, payload, &state).await?;
    let lang = Lang::from_accept_language(
        req.headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let base = {
        let info = req.connection_info();
        format!("{}://{}/fhir", info.scheme(), info.host())
    };
    let context = Context {
        state: state.into_inner(),
        lang,
        base,
    };
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
    let answered = web::block(move || match (&target, body) {
        (Target::Batch, Some(body)) => batch::bundle(&context, &body, serve),
        (Target::Batch, None) => Err(FhirError::Invalid(
            "POST /fhir takes a Bundle of type batch".into(),
        )),
        (Target::Op { op, .. }, body) if op.definition == route::CHECK_CODES => {
            let document = body.ok_or_else(|| {
                FhirError::Invalid("$check-codes takes the resource or Bundle as the body".into())
            })?;
            serde_json::to_value(check_codes::run(&context, &document)?).map_err(internal)
        }
        (_, body) => {
            if let Some(body) = body {
                params.extend(Params::from_resource(&body)?);
            }
            serve(&context, &target, &params)
        }
    })
    .await??;
    answer(&answered)
}

/// Answers one interaction (on a blocking thread: it may read the database).
fn serve(ctx: &Context, target: &Target, params: &Params) -> Result<serde_json::Value, FhirError> {
    match target {
        Target::Metadata if params.text("mode").as_deref() == Some("terminology") => {
            capability::terminology_capabilities(&ctx.state, &ctx.base)
        }
        Target::Metadata => Ok(capability::capability_statement(&ctx.state, &ctx.base)),
        Target::Op { op, id } => match (op.resource, op.name) {
            (None, "versions") => Ok(capability::versions()),
            _ => serde_json::to_value(run(ctx, op, id.as_deref(), params)?).map_err(internal),
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
        Target::Read { resource, id } => read(ctx, resource, id),
        Target::Search { resource } => search(ctx, resource, params),
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

/// What an operation answers with: a `Parameters` resource, or another resource (the
/// ValueSet of `$expand`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Parameters(params::Parameters),
    Resource(serde_json::Value),
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
