//! Batch validation of codes.

use std::collections::BTreeMap;

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Reader;
use super::error::ApiError;
use super::resolve::{self, blocking};
use super::AppState;
use crate::store::lookup::{ValidateItem, ValidateResult};
use crate::systems::Master;

/// Most items one request may carry.
pub const MAX_ITEMS: usize = 10_000;

/// Codes to validate, optionally against one release or the releases in force on a date.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ValidateRequest {
    pub items: Vec<ValidateItem>,
    /// Release label (LABEL or LABEL@REVISION); only when every item is of one master.
    pub release: Option<String>,
    /// Answer as of this date (YYYY-MM-DD).
    pub date: Option<String>,
}

/// The answer for every item, in request order, and the release used per master.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateResponse {
    pub results: Vec<ValidateResult>,
    /// master → release label used.
    pub releases: BTreeMap<String, String>,
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
    let store = state.store.clone();
    let response = blocking(move || {
        let mut by_system: BTreeMap<&'static str, Vec<(usize, &ValidateItem)>> = BTreeMap::new();
        let mut results: Vec<Option<ValidateResult>> = vec![None; request.items.len()];
        for (index, item) in request.items.iter().enumerate() {
            match crate::systems::find(&item.system) {
                Some(system) => by_system.entry(system.key).or_default().push((index, item)),
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
        let masters: std::collections::BTreeSet<Master> = by_system
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
            let release = resolve::release(&store, master, request.release.as_deref(), date)?;
            for (system, items) in by_system
                .iter()
                .filter(|(k, _)| crate::systems::find(k).is_some_and(|s| s.master == master))
            {
                for result in store.validate_codes(&release, system, items)? {
                    let index = result.index;
                    results[index] = Some(result);
                }
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
