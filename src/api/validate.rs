//! Batch validation of codes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Reader;
use super::error::ApiError;
use super::resolve::{self, blocking};
use super::AppState;
use crate::store::lookup::{CodeRef, CodeStatus};
use crate::systems::Master;

/// Most items one request may carry.
pub const MAX_ITEMS: usize = 10_000;

/// One code to validate.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ValidateItem {
    /// Code system key, canonical URL or `urn:oid:` alias.
    pub system: String,
    pub code: String,
    /// The display the document carries, checked against the code's names when given.
    pub display: Option<String>,
}

/// Codes to validate, optionally against one release or the releases in force on a date.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ValidateRequest {
    pub items: Vec<ValidateItem>,
    /// Release label (LABEL or LABEL@REVISION); only when every item is of one master.
    pub release: Option<String>,
    /// Answer as of this date (YYYY-MM-DD).
    pub date: Option<String>,
}

/// The answer for one item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidateResult {
    /// Position of the item in the request.
    pub index: usize,
    pub system: String,
    pub code: String,
    /// `valid`, `retired`, `unknown`, `invalid_display` or `unknown_system`.
    pub result: &'static str,
    /// True only for an active code whose display (if given) matches.
    pub valid: bool,
    /// The code's name, when the code is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_display: Option<String>,
    /// For retired codes: what replaces them (移行先), when the master says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successors: Vec<CodeRef>,
    /// Label of the release the answer used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

/// The answer for every item, in request order, and the release used per master.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateResponse {
    pub results: Vec<ValidateResult>,
    /// master → release label used.
    pub releases: BTreeMap<String, String>,
}

fn judge(
    index: usize,
    system: &str,
    item: &ValidateItem,
    status: Option<&CodeStatus>,
    release: &str,
) -> ValidateResult {
    let base = ValidateResult {
        index,
        system: system.to_owned(),
        code: item.code.clone(),
        result: "unknown",
        valid: false,
        expected_display: None,
        successors: Vec::new(),
        release: Some(release.to_owned()),
    };
    let Some(status) = status else { return base };
    let display_ok = item.display.as_deref().is_none_or(|d| status.has_name(d));
    let result = match (status.present && status.active, display_ok) {
        (false, _) => "retired",
        (true, false) => "invalid_display",
        (true, true) => "valid",
    };
    ValidateResult {
        result,
        valid: result == "valid",
        expected_display: status.display.clone(),
        successors: status.successors.clone(),
        ..base
    }
}

/// Validates up to 10,000 `{system, code, display?}` items: `valid`, `unknown`, `retired`
/// (with successors when the master names them) or `invalid_display` (with the expected
/// display). Displays compare ignoring full-/half-width, case and spaces.
#[utoipa::path(
    tag = "codes",
    security(("bearer" = [])),
    request_body = ValidateRequest,
    responses(
        (status = 200, description = "One result per item", body = ValidateResponse),
        (status = 400, description = "Too many items or bad parameters", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "Release not found", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/validate")]
pub async fn validate(
    _: Reader,
    state: web::Data<AppState>,
    body: web::Json<ValidateRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    if request.items.len() > MAX_ITEMS {
        return Err(ApiError::BadRequest(format!(
            "{} items: at most {MAX_ITEMS} per request",
            request.items.len()
        )));
    }
    let date = request.date.as_deref().map(resolve::date).transpose()?;
    let state = state.into_inner();
    let response = blocking(move || {
        let store = &state.store;
        let mut by_system: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        let mut results: Vec<Option<ValidateResult>> = vec![None; request.items.len()];
        for (index, item) in request.items.iter().enumerate() {
            match crate::systems::find(&item.system) {
                Some(system) => by_system.entry(system.key).or_default().push(index),
                None => {
                    results[index] = Some(ValidateResult {
                        index,
                        system: item.system.clone(),
                        code: item.code.clone(),
                        result: "unknown_system",
                        valid: false,
                        expected_display: None,
                        successors: Vec::new(),
                        release: None,
                    })
                }
            }
        }
        let masters: BTreeSet<Master> = by_system
            .keys()
            .filter_map(|k| crate::systems::find(k).map(|s| s.master))
            .collect();
        if request.release.is_some() && masters.len() > 1 {
            return Err(ApiError::BadRequest(
                "`release` names one master's release: every item must then be of that master"
                    .into(),
            ));
        }
        let mut releases = BTreeMap::new();
        for master in masters {
            let release = match (&request.release, date) {
                (None, None) => state
                    .cache
                    .current_release(store, master)?
                    .ok_or_else(|| ApiError::NotFound(format!("{master} serves no release yet")))?,
                (spec, date) => resolve::release(store, master, spec.as_deref(), date)?,
            };
            for (system, indexes) in by_system
                .iter()
                .filter(|(k, _)| crate::systems::find(k).is_some_and(|s| s.master == master))
            {
                let codes: Vec<&str> = {
                    let set: BTreeSet<&str> = indexes
                        .iter()
                        .map(|i| request.items[*i].code.as_str())
                        .collect();
                    set.into_iter().collect()
                };
                let missing = state.cache.missing_statuses(release.id, system, &codes);
                let mut fresh: HashMap<String, Option<Arc<CodeStatus>>> = HashMap::new();
                if !missing.is_empty() {
                    let mut fetched = store.code_statuses(&release, system, &missing)?;
                    fresh = missing
                        .iter()
                        .map(|c| ((*c).to_owned(), fetched.remove(*c).map(Arc::new)))
                        .collect();
                    state.cache.put_statuses(release.id, system, &fresh);
                }
                // Judge from the cache without copying; what was just fetched covers a cache
                // cleared in between by a new generation.
                state.cache.with_statuses(release.id, system, |cached| {
                    let cached =
                        |code: &str| cached.and_then(|m| m.get(code)).map(|s| s.as_deref());
                    for &index in indexes {
                        let item = &request.items[index];
                        let status = match fresh.get(&item.code) {
                            Some(status) => status.as_deref(),
                            None => cached(&item.code).flatten(),
                        };
                        results[index] = Some(judge(index, system, item, status, &release.label));
                    }
                });
            }
            releases.insert(master.key().to_owned(), release.label.clone());
        }
        Ok(ValidateResponse {
            results: results.into_iter().flatten().collect(),
            releases,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(response))
}
