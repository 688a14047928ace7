//! Translation of local codes through a project's mappings, with each target's status in its
//! master's current release.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{post, web, HttpResponse};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Reader;
use super::cache::Fetched;
use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::mapping::state::{Equivalence, State};
use crate::store::lookup::{CodeRef, CodeStatus};
use crate::store::mapping::TranslationRow;
use crate::systems;

/// A project's mappings by local code.
pub type Table = Arc<FxHashMap<String, TranslationRow>>;

/// Each project's mappings by local code, kept while the project's revision stays the same.
#[derive(Default)]
pub struct TranslationCache {
    /// Project id → (revision, table).
    tables: Mutex<HashMap<i64, (i64, Table)>>,
}

impl TranslationCache {
    /// The project's mappings at its current revision (read once per revision, shared by
    /// every request until the project changes).
    pub fn table(&self, state: &AppState, project_id: i64) -> Result<Table, ApiError> {
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

/// Which mappings translation uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Include {
    #[default]
    Approved,
    All,
}

impl Include {
    /// Whether translation uses this mapping.
    fn admits(self, row: &TranslationRow) -> bool {
        match self {
            Include::Approved => row.state == State::Approved,
            Include::All => row.target_code.is_some(),
        }
    }
}

/// The targets `codes` translate to, by code system: the statuses translation needs.
pub fn wanted_targets<'a>(
    table: &'a FxHashMap<String, TranslationRow>,
    codes: &[String],
    include: Include,
) -> FxHashMap<&'static str, FxHashSet<&'a str>> {
    let mut wanted: FxHashMap<&'static str, FxHashSet<&str>> = FxHashMap::default();
    for code in codes {
        if let Some(row) = table.get(code).filter(|r| include.admits(r)) {
            if let (Some(system), Some(target)) = (
                row.target_system.as_deref().and_then(systems::by_key),
                row.target_code.as_deref(),
            ) {
                wanted.entry(system.key).or_default().insert(target);
            }
        }
    }
    wanted
}

/// A standard code a local code translates to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranslatedTarget {
    pub system: String,
    pub code: String,
    /// The display recorded with the mapping.
    pub display: Option<String>,
    pub equivalence: Option<Equivalence>,
    /// The target in its master's current release: `active`, `retired` or `unknown` (the
    /// master no longer has it).
    pub status: &'static str,
    /// The current display, when it differs from the recorded one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_display: Option<String>,
    /// What replaces a retired target (end of its 移行先 chain).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successors: Vec<CodeRef>,
}

/// The translation of one local code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Translation {
    pub code: String,
    /// `translated`, `no_match` (reviewed: no standard code exists), `not_approved` (a
    /// mapping exists but is not approved), `unmapped` or `unknown` (not a local code of the
    /// project).
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// The local code is missing from the latest upload.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TranslatedTarget>,
}

/// The translations, in request order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranslateResult {
    pub project: i64,
    pub items: Vec<Translation>,
}

/// Translates local codes to standard codes through the project's approved mappings (or all,
/// with `include: all`), answering with each target's status in the current release.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    request_body = TranslateRequest,
    responses(
        (status = 200, description = "Translations in request order", body = TranslateResult),
        (status = 400, description = "No codes, or more than 10,000 by default (HYOJUN_MAX_VALIDATE_ITEMS)", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/mapping/projects/{id}/translate")]
pub async fn translate(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<i64>,
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
    Ok(HttpResponse::Ok().json(result))
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
    id: i64,
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

/// The mappings of `table` (a project's mappings by local code) that translate to `code` of
/// `system` (a code system key): the reverse of [`translate_codes`], by the same rule (the
/// mappings `include` admits), by local code (bytes).
pub fn sources_of<'a>(
    table: &'a FxHashMap<String, TranslationRow>,
    system: &str,
    code: &str,
    include: Include,
) -> Vec<&'a TranslationRow> {
    let mut found: Vec<&TranslationRow> = table
        .values()
        .filter(|row| {
            include.admits(row)
                && row.target_system.as_deref() == Some(system)
                && row.target_code.as_deref() == Some(code)
        })
        .collect();
    found.sort_by(|a, b| a.local_code.cmp(&b.local_code));
    found
}

/// Translates `codes` through `table` (a project's mappings by local code); `status` gives a
/// target's status in its master's current release (`None`: not known; `Some(None)`: the
/// master never had it). Shared by the API and the command line.
pub fn translate_codes<'a>(
    table: &FxHashMap<String, TranslationRow>,
    codes: &[String],
    include: Include,
    status: impl Fn(&'static str, &str) -> Option<Option<&'a CodeStatus>>,
) -> Vec<Translation> {
    codes
        .iter()
        .map(|code| {
            let Some(row) = table.get(code) else {
                return Translation {
                    code: code.clone(),
                    result: "unknown",
                    state: None,
                    withdrawn: false,
                    targets: Vec::new(),
                };
            };
            let (result, targets) = if row.state == State::NoMatch {
                ("no_match", Vec::new())
            } else if !include.admits(row) {
                let result = if row.state == State::Unmapped {
                    "unmapped"
                } else {
                    "not_approved"
                };
                (result, Vec::new())
            } else {
                let target = row.target_code.clone().unwrap_or_default();
                let found = row
                    .target_system
                    .as_deref()
                    .and_then(systems::by_key)
                    .and_then(|s| status(s.key, &target));
                let (status_name, current_display, successors) = match found {
                    Some(Some(s)) if s.present && s.active => {
                        ("active", s.display().map(str::to_owned), Vec::new())
                    }
                    Some(Some(s)) => (
                        "retired",
                        s.display().map(str::to_owned),
                        s.successors.clone(),
                    ),
                    _ => ("unknown", None, Vec::new()),
                };
                let current_display =
                    current_display.filter(|d| Some(d.as_str()) != row.target_display.as_deref());
                (
                    "translated",
                    vec![TranslatedTarget {
                        system: row.target_system.clone().unwrap_or_default(),
                        code: target,
                        display: row.target_display.clone(),
                        equivalence: row.equivalence,
                        status: status_name,
                        current_display,
                        successors,
                    }],
                )
            };
            Translation {
                code: code.clone(),
                result,
                state: Some(row.state),
                withdrawn: row.withdrawn,
                targets,
            }
        })
        .collect()
}
