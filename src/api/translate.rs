//! Translation of local codes through a project's mappings, with each target's status in its
//! master's current release.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{post, web, HttpResponse};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Reader;
use super::cache::Fetched;
use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::app::translate::{translate_codes, wanted_targets};
pub use crate::app::translate::{Include, TranslateResult};
use crate::ids::ProjectId;
use crate::store::mapping::TranslationRow;
use crate::systems;

/// A project's mappings by local code.
pub type Table = Arc<FxHashMap<String, TranslationRow>>;

/// Each project's mappings by local code, kept while the project's revision stays the same.
#[derive(Default)]
pub struct TranslationCache {
    /// Project id → (revision, table).
    tables: Mutex<HashMap<ProjectId, (i64, Table)>>,
}

impl TranslationCache {
    /// The project's mappings at its current revision (read once per revision, shared by
    /// every request until the project changes).
    pub fn table(&self, state: &AppState, project_id: ProjectId) -> Result<Table, ApiError> {
        let revision = state.store.project_revision(project_id)?;
        let lock = || self.tables.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, table)) = lock().get(&project_id) {
            if *seen == revision {
                return Ok(table.clone());
            }
        }
        let (revision, rows) = state.store.translation_table(project_id)?;
        let table: Table = Arc::new(
            rows.into_iter()
                .map(|r| (r.local_code.clone(), r))
                .collect(),
        );
        lock().insert(project_id, (revision, table.clone()));
        Ok(table)
    }
}

/// Local codes to translate.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TranslateRequest {
    /// 1 to 10,000 local codes (`HYOJUN_MAX_VALIDATE_ITEMS`).
    #[schema(min_items = 1, max_items = 10000)]
    pub codes: Vec<String>,
    /// `approved` (default): only approved mappings; `all`: also proposed and flagged ones
    /// (each answer says its state).
    #[serde(default)]
    pub include: Include,
}

/// Translates local codes to standard codes through the project's approved mappings (or all,
/// with `include: all`), answering with each target's status in the current release.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    request_body = TranslateRequest,
    responses(
        (status = 200, description = "Translations in request order", body = super::dto::translate::TranslateResult),
        (status = 400, description = "No codes, or more than 10,000 by default (HYOJUN_MAX_VALIDATE_ITEMS)", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/mapping/projects/{id}/translate")]
pub async fn translate(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<ProjectId>,
    body: super::json::Json<TranslateRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let request = body.into_inner();
    let max = state.config.limits.validate_items;
    if request.codes.is_empty() || request.codes.len() as u64 > max {
        return Err(ApiError::BadRequest(format!(
            "codes lists 1–{} local codes ({})",
            crate::limits::group_digits(max),
            crate::limits::Limit::ValidateItems.env()
        )));
    }
    let state = state.into_inner();
    let result =
        blocking(move || translate_local(&state, id, &request.codes, request.include)).await?;
    Ok(HttpResponse::Ok().json(super::dto::translate::TranslateResult::from(result)))
}

/// Translates local codes of project `id` (in request order) through its mappings that
/// `include` admits, with each target's status in its master's current release: what
/// `POST /v1/mapping/projects/{id}/translate` and FHIR `ConceptMap/$translate` answer from.
///
/// One snapshot, as validation does: the current release of each target system is chosen
/// once; what the cache knows of the targets is copied under one read lock, the rest read
/// from the database, and the answer comes from those copies alone (an activation clearing
/// the cache meanwhile takes nothing away).
pub fn translate_local(
    state: &AppState,
    id: ProjectId,
    codes: &[String],
    include: Include,
) -> Result<TranslateResult, ApiError> {
    let table = state.translations.table(state, id)?;
    let wanted = wanted_targets(&table, codes, include);
    // The release per master, chosen once (a master's systems must not answer from two).
    let mut per_master = FxHashMap::default();
    let mut releases = FxHashMap::default();
    for &system in wanted.keys() {
        let Some(master) = systems::by_key(system).map(|s| s.master) else {
            continue;
        };
        let release = match per_master.get(&master) {
            Some(release) => Option::clone(release),
            None => {
                let release = state.cache.current_release(&state.store, master)?;
                per_master.insert(master, release.clone());
                release
            }
        };
        if let Some(release) = release {
            releases.insert(system, release);
        }
    }
    let mut statuses: FxHashMap<&'static str, Fetched> = FxHashMap::default();
    let mut missing: FxHashMap<&'static str, Vec<&str>> = FxHashMap::default();
    {
        let cached = state.cache.statuses();
        let status = |system: &'static str, code: &str| {
            let release = releases.get(system)?;
            cached.map(release.id, system)?.get(code)
        };
        let complete = wanted.iter().all(|(&system, codes)| {
            !releases.contains_key(system) || codes.iter().all(|c| status(system, c).is_some())
        });
        if complete {
            // The warm path: everything is in the cache.
            let items = translate_codes(&table, codes, include, status);
            return Ok(TranslateResult { project: id, items });
        }
        // Copy what the cache knows of the targets; the missing ones are read below.
        for (&system, codes) in &wanted {
            let Some(release) = releases.get(system) else {
                continue;
            };
            let map = cached.map(release.id, system);
            let kept = statuses.entry(system).or_default();
            for &code in codes {
                match map.and_then(|m| m.shared(code)) {
                    Some(status) => kept.keep(code, status),
                    None => missing.entry(system).or_default().push(code),
                }
            }
        }
    }
    for (system, codes) in missing {
        let Some(release) = releases.get(system) else {
            continue;
        };
        let found = state.store.code_statuses(release, system, &codes)?;
        let read = Fetched::new(&codes, found);
        state.cache.put_statuses(release.id, system, &read);
        statuses.entry(system).or_default().extend(read);
    }
    let items = translate_codes(&table, codes, include, |system, target| {
        statuses.get(system).and_then(|s| s.get(target))
    });
    Ok(TranslateResult { project: id, items })
}
