//! Batch validation of codes.
//!
//! A request carries up to 10,000 items and should answer within a few milliseconds, so the
//! handler does no per-item allocation on the warm path: the body is parsed borrowing its
//! strings ([`Text`]), each item's status is looked up once in the cache under one read lock,
//! and the answer is written straight into one JSON buffer ([`super::validate_json`]), in the
//! shape of [`ValidateResponse`].

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use actix_web::http::header::ContentType;
use actix_web::{post, web, HttpRequest, HttpResponse};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Reader;
use super::cache::{Fetched, StatusesRead};
use super::dto::codes::CodeRef;
use super::error::ApiError;
use super::resolve::{self, blocking};
use super::validate_json::ResultWriter;
use super::AppState;
use crate::store::lookup::CodeStatus;
use crate::store::models::ReleaseRow;
use crate::systems::{CodeSystem, Master};

/// A string of the request body: borrowed from the body unless it holds escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a str>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

/// One code to validate.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ValidateItem<'a> {
    /// Code system key, canonical URL or `urn:oid:` alias.
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub system: Text<'a>,
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub code: Text<'a>,
    /// The display the document carries, checked against the code's names when given.
    #[serde(borrow)]
    #[schema(value_type = Option<String>)]
    pub display: Option<Text<'a>>,
}

/// Codes to validate, optionally against one release or the releases in force on a date.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ValidateRequest<'a> {
    /// At most 10,000 by default (`HYOJUN_MAX_VALIDATE_ITEMS`).
    #[serde(borrow)]
    #[schema(max_items = 10000)]
    pub items: Vec<ValidateItem<'a>>,
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

/// The verdict on one item of a known system.
pub(crate) fn verdict(status: Option<&CodeStatus>, display: Option<&str>) -> &'static str {
    let Some(status) = status else {
        return "unknown";
    };
    let display_ok = display.is_none_or(|d| status.has_name(d));
    match (status.present && status.active, display_ok) {
        (false, _) => "retired",
        (true, false) => "invalid_display",
        (true, true) => "valid",
    }
}

/// The code systems a request names, each with the release its answers come from.
struct Plan {
    /// The distinct systems, in order of first appearance.
    systems: Vec<&'static CodeSystem>,
    /// Per system: index into `releases`.
    release_of: Vec<usize>,
    /// Per item: index into `systems`; `None` for an unknown system.
    slot_of: Vec<Option<usize>>,
    /// The release used per master.
    releases: Vec<(Master, ReleaseRow)>,
}

impl Plan {
    fn new(state: &AppState, request: &ValidateRequest<'_>) -> Result<Plan, ApiError> {
        // Items name few systems, in few spellings: find each spelling once.
        let mut spelled: FxHashMap<&str, Option<usize>> = FxHashMap::default();
        let mut systems: Vec<&'static CodeSystem> = Vec::new();
        let slot_of = request
            .items
            .iter()
            .map(|item| {
                let name = item.system.as_str();
                *spelled.entry(name).or_insert_with(|| {
                    let system = crate::systems::find(name)?;
                    Some(match systems.iter().position(|s| s.key == system.key) {
                        Some(slot) => slot,
                        None => {
                            systems.push(system);
                            systems.len() - 1
                        }
                    })
                })
            })
            .collect();
        let masters: BTreeSet<Master> = systems.iter().map(|s| s.master).collect();
        if request.release.is_some() && masters.len() > 1 {
            return Err(ApiError::BadRequest(
                "`release` names one master's release: every item must then be of that master"
                    .into(),
            ));
        }
        let date = request.date.as_deref().map(resolve::date).transpose()?;
        let store = &state.store;
        let mut releases = Vec::with_capacity(masters.len());
        for master in masters {
            let release = match (&request.release, date) {
                (None, None) => state
                    .cache
                    .current_release(store, master)?
                    .ok_or_else(|| ApiError::NotFound(format!("{master} serves no release yet")))?,
                (spec, date) => resolve::release(store, master, spec.as_deref(), date)?,
            };
            releases.push((master, release));
        }
        let release_of = systems
            .iter()
            .map(|s| releases.iter().position(|(m, _)| *m == s.master))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| ApiError::Internal("a system's master has no release".into()))?;
        Ok(Plan {
            systems,
            release_of,
            slot_of,
            releases,
        })
    }

    fn release(&self, slot: usize) -> &ReleaseRow {
        &self.releases[self.release_of[slot]].1
    }
}

/// What the look-up found for one item.
enum Looked<'a> {
    /// The item's system is not one hyojun knows.
    UnknownSystem,
    /// The code's status; `None` for a code the master never had.
    Known(Option<&'a Arc<CodeStatus>>),
    /// Neither the cache nor what was read for the request knows the code yet.
    Missing,
}

/// Looks every item up in the cache (`None`: not at all) and in `fetched` (what this request
/// kept and read); also returns, per system, the codes neither knows.
fn look_up<'a>(
    plan: &Plan,
    request: &ValidateRequest<'_>,
    cached: Option<&'a StatusesRead<'_>>,
    fetched: &'a [Fetched],
) -> (Vec<Looked<'a>>, Vec<FxHashSet<String>>) {
    let maps: Vec<_> = plan
        .systems
        .iter()
        .enumerate()
        .map(|(slot, s)| cached.and_then(|c| c.map(plan.release(slot).id, s.key)))
        .collect();
    let mut missing: Vec<FxHashSet<String>> = vec![FxHashSet::default(); plan.systems.len()];
    let looked = request
        .items
        .iter()
        .zip(&plan.slot_of)
        .map(|(item, slot)| {
            let Some(slot) = *slot else {
                return Looked::UnknownSystem;
            };
            let code = item.code.as_str();
            let known = maps[slot]
                .and_then(|m| m.shared(code))
                .or_else(|| fetched.get(slot).and_then(|f| f.shared(code)));
            match known {
                Some(status) => Looked::Known(status),
                None => {
                    if !missing[slot].contains(code) {
                        missing[slot].insert(code.to_owned());
                    }
                    Looked::Missing
                }
            }
        })
        .collect();
    (looked, missing)
}

/// Writes the answer (the shape of [`ValidateResponse`]).
fn answer(
    plan: &Plan,
    request: &ValidateRequest<'_>,
    looked: &[Looked<'_>],
) -> Result<Vec<u8>, ApiError> {
    let labels: Vec<&str> = (0..plan.systems.len())
        .map(|slot| plan.release(slot).label.as_str())
        .collect();
    let mut out = ResultWriter::new(request.items.len());
    for (index, ((item, slot), status)) in request
        .items
        .iter()
        .zip(&plan.slot_of)
        .zip(looked)
        .enumerate()
    {
        match (slot, status) {
            (Some(slot), Looked::Known(status)) => {
                let status = status.map(|s| &**s);
                let result = verdict(status, item.display.as_ref().map(Text::as_str));
                out.result(
                    index,
                    plan.systems[*slot].key,
                    item.code.as_str(),
                    result,
                    status,
                    Some(labels[*slot]),
                );
            }
            (None, _) | (_, Looked::UnknownSystem) => out.result(
                index,
                item.system.as_str(),
                item.code.as_str(),
                "unknown_system",
                None,
                None,
            ),
            (Some(_), Looked::Missing) => {
                return Err(ApiError::Internal(format!(
                    "validation: no status for item {index} after reading the database"
                )))
            }
        }
    }
    let releases = plan
        .releases
        .iter()
        .map(|(master, release)| (master.key(), release.label.as_str()));
    Ok(out.finish(releases))
}

/// Copies, per system, the statuses the cache gave `looked`, so that the answer does not
/// need the cache again (see [`super::cache::ReadCache::statuses`]).
fn keep_found(plan: &Plan, request: &ValidateRequest<'_>, looked: &[Looked<'_>]) -> Vec<Fetched> {
    let mut kept: Vec<Fetched> = (0..plan.systems.len())
        .map(|_| Fetched::default())
        .collect();
    for ((item, slot), looked) in request.items.iter().zip(&plan.slot_of).zip(looked) {
        if let (Some(slot), Looked::Known(status)) = (slot, looked) {
            kept[*slot].keep(item.code.as_str(), *status);
        }
    }
    kept
}

/// Validates a parsed request (on a blocking thread: it may read the database).
///
/// One snapshot per request: the plan fixes the release of each master once, and releases
/// never change, so any status read for (release, system) stays right. What the cache knows
/// is looked up under one read lock; when some codes are missing, the statuses found are
/// copied before the lock is dropped, the rest read from the database, and the answer comes
/// from those copies alone — an activation clearing the cache meanwhile cannot take any away.
fn run(state: &AppState, request: &ValidateRequest<'_>) -> Result<Vec<u8>, ApiError> {
    let plan = Plan::new(state, request)?;
    let (mut kept, missing) = {
        let cached = state.cache.statuses();
        let (looked, missing) = look_up(&plan, request, Some(&cached), &[]);
        if missing.iter().all(FxHashSet::is_empty) {
            // The warm path: everything is in the cache.
            return answer(&plan, request, &looked);
        }
        (keep_found(&plan, request, &looked), missing)
    };
    // Some codes are new: read them, keep them in the cache for the next requests, and
    // answer from what this request kept and read.
    for (slot, codes) in missing.iter().enumerate() {
        if codes.is_empty() {
            continue;
        }
        let system = plan.systems[slot].key;
        let release = plan.release(slot);
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let found = state.store.code_statuses(release, system, &codes)?;
        let read = Fetched::new(&codes, found);
        state.cache.put_statuses(release.id, system, &read);
        kept[slot].extend(read);
    }
    let (looked, _) = look_up(&plan, request, None, &kept);
    answer(&plan, request, &looked)
}

/// Validates up to 10,000 `{system, code, display?}` items (`HYOJUN_MAX_VALIDATE_ITEMS`):
/// `valid`, `unknown`, `retired` (with successors when the master names them) or
/// `invalid_display` (with the expected display). Displays compare ignoring full-/half-width,
/// case and spaces.
#[utoipa::path(
    tag = "codes",
    security(("bearer" = [])),
    request_body = ValidateRequest,
    responses(
        (status = 200, description = "One result per item", body = ValidateResponse),
        (status = 400, description = "Too many items (10,000 by default, HYOJUN_MAX_VALIDATE_ITEMS), bad JSON or nesting over the limit (64 levels by default, HYOJUN_MAX_JSON_DEPTH), or bad parameters", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "Release not found", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/validate")]
pub async fn validate(
    _: Reader,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let limits = &state.config.limits;
    let body = super::json::read_body(&req, payload, limits).await?;
    let max_items = limits.validate_items;
    let state = state.into_inner();
    let json = blocking(move || {
        let request: ValidateRequest<'_> = super::json::parse(&body)?;
        if request.items.len() as u64 > max_items {
            return Err(ApiError::BadRequest(format!(
                "{} items: at most {} per request ({})",
                crate::limits::group_digits(request.items.len() as u64),
                crate::limits::group_digits(max_items),
                crate::limits::Limit::ValidateItems.env()
            )));
        }
        run(&state, &request)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(json))
}
