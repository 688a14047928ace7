//! The FHIR R4 (4.0.1) terminology endpoint at `/fhir`, for hyojun's own code systems: what
//! the HL7 validator and other FHIR clients call (`../shared/docs/fhir-terminology.md`).
//!
//! Every request below `/fhir` comes to [`dispatch`]: [`route`] tells which interaction it
//! is, [`params`] reads its parameters (query string and `Parameters` body), the operation
//! runs on a blocking thread, and the answer is `application/fhir+json`; every error is an
//! OperationOutcome ([`error`], [`outcome`]). The handshake answers without a key, the rest
//! takes the reader key as `Authorization: Bearer` or `Api-Key`.

pub mod canon;
pub mod capability;
pub mod check;
pub mod codes;
pub mod error;
pub mod expand;
pub mod lookup;
pub mod messages;
pub mod outcome;
pub mod params;
pub mod route;
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
    let bytes = serde_json::to_vec(body)
        .map_err(|e| FhirError::Api(crate::api::ApiError::Internal(e.to_string())))?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(bytes))
}

/// The request's parameters: its query string, then the `Parameters` resource of a POST body.
async fn read_params(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Params, FhirError> {
    let mut params = Params::from_query(req.query_string())?;
    if req.method() == actix_web::http::Method::POST {
        let body = crate::api::json::read_body(req, payload, &state.config.limits).await?;
        if !body.is_empty() {
            let json: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| crate::api::json::json_error(&e))?;
            params.extend(Params::from_resource(&json)?);
        }
    }
    Ok(params)
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
    let params = read_params(&req, payload, &state).await?;
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
    match target {
        Target::Metadata => {
            let terminology = params.text("mode").as_deref() == Some("terminology");
            if terminology {
                let body = web::block(move || {
                    capability::terminology_capabilities(&context.state, &context.base)
                })
                .await??;
                answer(&body)
            } else {
                answer(&capability::capability_statement(
                    &context.state,
                    &context.base,
                ))
            }
        }
        Target::Op { op, .. } if op.resource.is_none() && op.name == "versions" => {
            answer(&capability::versions())
        }
        Target::Op { op, id } => {
            let body = web::block(move || run(&context, op, id.as_deref(), &params)).await??;
            answer(&body)
        }
        Target::Read { resource, id } => Err(FhirError::NotFound(format!(
            "{resource}/{} is not known",
            crate::excerpt::excerpt(&id)
        ))),
        Target::Search { resource } => Err(FhirError::NotFound(format!(
            "searching {resource} is not served yet"
        ))),
    }
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
        (Some("CodeSystem"), "validate-code") => {
            validate::code_system(ctx, params).map(Answer::from)
        }
        (Some("ValueSet"), "validate-code") => validate::value_set(ctx, params).map(Answer::from),
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
