//! One code, and a code of unknown kind.

use actix_web::web::Bytes;
use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Reader;
use super::dto::codes::CodeView;
use super::error::ApiError;
use super::resolve::{self, blocking};
use super::AppState;
use crate::store::diff::ReleaseRef;
use crate::systems::CODE_SYSTEMS;

/// Which release to answer from (default: the master's current release).
#[derive(Debug, Deserialize, IntoParams)]
pub struct AsOf {
    /// Release label, or LABEL@REVISION.
    pub release: Option<String>,
    /// The release in force on this date (YYYY-MM-DD).
    pub date: Option<String>,
}

/// One code: display, status, attributes, the releases it is valid in, successors and related
/// codes. `{system}` is a key, canonical URL (URL-encoded) or `urn:oid:` alias. Retired codes
/// answer 200 with `status: retired`; codes the master never had answer 404.
#[utoipa::path(
    tag = "codes",
    security(("bearer" = [])),
    params(
        ("system" = String, Path, description = "Code system key, canonical URL or urn:oid: alias"),
        ("code" = String, Path, description = "The code"),
        AsOf
    ),
    responses(
        (status = 200, description = "The code", body = CodeView),
        (status = 400, description = "Bad parameters", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "Unknown system, release or code", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/systems/{system}/codes/{code}")]
pub async fn get_code(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<AsOf>,
) -> Result<HttpResponse, ApiError> {
    let (system_name, code) = path.into_inner();
    let system = resolve::system(&system_name)?;
    let date = query.date.as_deref().map(resolve::date).transpose()?;
    let release_spec = query.release.clone();
    let json = |body: Bytes| {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(body)
    };
    // Fast path: the current release's answer is already in memory.
    if release_spec.is_none() && date.is_none() {
        if let Some(Some(release)) = state.cache.current_cached(system.master) {
            if let Some(body) = state
                .cache
                .response(&(release.id, system.key, code.clone()))
            {
                return Ok(json(body));
            }
        }
    }
    let state = state.into_inner();
    let body = blocking(move || {
        let release = match (&release_spec, date) {
            (None, None) => state
                .cache
                .current_release(&state.store, system.master)?
                .ok_or_else(|| {
                    ApiError::NotFound(format!("{} serves no release yet", system.master))
                })?,
            (spec, date) => resolve::release(&state.store, system.master, spec.as_deref(), date)?,
        };
        let key = (release.id, system.key, code.clone());
        if let Some(body) = state.cache.response(&key) {
            return Ok(body);
        }
        let view = state
            .store
            .code_view(&release, system.key, &code)?
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "{} has no code `{}` (release {} of {})",
                    system.key,
                    crate::excerpt::excerpt(&code),
                    release.label,
                    system.master
                ))
            })?;
        let body = Bytes::from(
            serde_json::to_vec(&CodeView::from(view))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        state.cache.put_response(key, body.clone());
        Ok(body)
    })
    .await?;
    Ok(json(body))
}

/// A code to find across every code system.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LookupQuery {
    /// The code (a 9-digit HOT9, a 12-character YJ, a 17-character JLAC10, …).
    #[param(min_length = 1, max_length = 64)]
    pub code: String,
}

/// One system in which a code was found.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupMatch {
    pub system: String,
    pub code: String,
    pub display: String,
    pub status: String,
    #[schema(value_type = Object)]
    pub release: ReleaseRef,
}

/// Where a code was found.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupResult {
    pub code: String,
    pub matches: Vec<LookupMatch>,
}

/// Finds a code whatever its kind, in every code system whose codes have its shape, answered
/// from each master's current release.
#[utoipa::path(
    tag = "codes",
    security(("bearer" = [])),
    params(LookupQuery),
    responses(
        (status = 200, description = "The systems that have the code", body = LookupResult),
        (status = 400, description = "Empty or over-long code", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No system has the code", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/lookup")]
pub async fn lookup(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<LookupQuery>,
) -> Result<HttpResponse, ApiError> {
    let code = query.code.trim().to_owned();
    if code.is_empty() || code.chars().count() > 64 {
        return Err(ApiError::BadRequest(
            "code must have 1–64 characters".into(),
        ));
    }
    let state = state.into_inner();
    let lookup_code = code.clone();
    let matches = blocking(move || {
        let store = &state.store;
        // The current release of each master, chosen once for every system of it.
        let mut current = std::collections::HashMap::new();
        let mut matches = Vec::new();
        for system in CODE_SYSTEMS
            .iter()
            .filter(|s| crate::systems::plausible(s.key, &lookup_code))
        {
            let release = match current.get(&system.master) {
                Some(release) => Option::clone(release),
                None => {
                    let release = state.cache.current_release(store, system.master)?;
                    current.insert(system.master, release.clone());
                    release
                }
            };
            let Some(release) = release else {
                continue;
            };
            if let Some(view) = store.code_view(&release, system.key, &lookup_code)? {
                matches.push(LookupMatch {
                    system: view.system,
                    code: view.code,
                    display: view.display,
                    status: view.status,
                    release: view.release,
                });
            }
        }
        Ok(matches)
    })
    .await?;
    if matches.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no code system has `{}` in its current release",
            crate::excerpt::excerpt(&code)
        )));
    }
    Ok(HttpResponse::Ok().json(LookupResult { code, matches }))
}
