//! Full-text search over every master.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Reader;
use super::dto::search::SearchHit;
use super::error::ApiError;
use super::resolve::{self, blocking};
use super::AppState;
use crate::ids::ReleaseId;
use crate::search::query::MAX_LIMIT;
use crate::search::scope::Scope;
use crate::search::{SearchError, SearchRequest};
use crate::store::models::ReleaseRow;
use crate::systems::Master;

/// Results per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 20;

/// Search parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct SearchQuery {
    /// Part of a name, reading, synonym or code (1–200 characters). Searched as plain text
    /// after normalisation (full/half width, かな/カナ, case, Ⅱ/II/2): never as query syntax.
    #[param(min_length = 1, max_length = 200)]
    pub q: String,
    /// Code systems to search (keys, canonical URLs or urn:oid: aliases; comma-separated).
    pub system: Option<String>,
    /// Masters to search (`hot`, `byomei`, `jlac`, `nursing`; comma-separated).
    pub master: Option<String>,
    /// Release label (LABEL or LABEL@REVISION) of the one master searched.
    pub release: Option<String>,
    /// Search each master's release in force on this date (YYYY-MM-DD).
    pub date: Option<String>,
    /// `active`, `retired` or `all` (default).
    pub status: Option<String>,
    /// HOT 区分: 内, 注, 外 or 歯 (HOT concepts only).
    pub category: Option<String>,
    /// JLAC10 材料 code, e.g. 023 (JLAC concepts only).
    pub material: Option<String>,
    /// Results per page (default 20, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Results to skip.
    pub offset: Option<usize>,
}

/// A release a search looked in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchedRelease {
    pub master: String,
    #[schema(value_type = i64)]
    pub id: ReleaseId,
    pub label: String,
    pub revision: i64,
}

/// A page of search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchPage {
    /// Every concept that matches, over all pages.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    /// Best first: exact code, exact name, name prefix, code prefix, reading/synonym prefix,
    /// other substrings; active before retired; shorter names first.
    pub items: Vec<SearchHit>,
    /// The release of each master searched.
    pub releases: Vec<SearchedRelease>,
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::BadQuery(m) => ApiError::BadRequest(m),
            SearchError::UnknownSystem(m) => ApiError::NotFound(m),
            SearchError::Store(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// The request checked and its scope resolved, without touching the store.
struct Checked {
    scope: Scope,
    limit: usize,
    offset: usize,
}

fn check(query: &SearchQuery) -> Result<Checked, ApiError> {
    crate::search::query::checked_query(&query.q)?;
    let scope = Scope::parse(
        query.system.as_deref(),
        query.master.as_deref(),
        query.status.as_deref(),
        &[
            ("category", query.category.as_deref()),
            ("material", query.material.as_deref()),
        ],
    )?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!("limit must be 1–{MAX_LIMIT}")));
    }
    Ok(Checked {
        scope,
        limit,
        offset: query.offset.unwrap_or(0),
    })
}

impl Checked {
    fn request(&self, q: &str, releases: &[ReleaseRow]) -> SearchRequest {
        let pairs = releases
            .iter()
            .filter_map(|r| r.master.parse::<Master>().ok().map(|m| (m, r.id)));
        self.scope.request(q, pairs, self.limit, self.offset)
    }
}

/// Finds concepts whose names, readings or synonyms contain the query, or whose codes start
/// with it. Recall is exact: every concept whose normalised designations contain the
/// normalised query is counted in `total` and reachable through the pages. Searches each
/// master's current release unless `release` or `date` says otherwise; `matched` says which
/// designation or code matched and where (character offsets for highlighting).
#[utoipa::path(
    tag = "search",
    security(("bearer" = [])),
    params(SearchQuery),
    responses(
        (status = 200, description = "Matching concepts, best first", body = SearchPage),
        (status = 400, description = "Empty or over-long query, or bad filters", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "Unknown system or release", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/search")]
pub async fn search(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let checked = check(&query)?;
    // Fast path: current releases known in memory and already in the index snapshot.
    if query.release.is_none() && query.date.is_none() {
        let mut current = Vec::new();
        let mut known = true;
        for &master in &checked.scope.masters {
            match state.cache.current_cached(master) {
                Some(Some(release)) => current.push(release),
                Some(None) => {}
                None => known = false,
            }
        }
        let snapshot = state.search.snapshot();
        if known && current.iter().all(|r| snapshot.holds(r.id)) {
            let results =
                crate::search::query::run(&snapshot, &checked.request(&query.q, &current))?;
            return Ok(HttpResponse::Ok().json(page(results, &current)));
        }
    }
    let state = state.into_inner();
    let body = blocking(move || {
        let date = query.date.as_deref().map(resolve::date).transpose()?;
        let releases = if query.release.is_none() && date.is_none() {
            // Current releases through the cache, so the next search takes the fast path.
            let mut current = Vec::new();
            for &master in &checked.scope.masters {
                current.extend(state.cache.current_release(&state.store, master)?);
            }
            current
        } else {
            crate::search::releases_to_search(
                &state.store,
                &checked.scope.masters,
                query.release.as_deref(),
                date,
            )?
        };
        let results = state
            .search
            .search(&state.store, &checked.request(&query.q, &releases))?;
        Ok(page(results, &releases))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

fn page(results: crate::search::SearchResults, releases: &[ReleaseRow]) -> SearchPage {
    SearchPage {
        total: results.total,
        offset: results.offset,
        limit: results.limit,
        items: super::dto::all(results.items),
        releases: releases
            .iter()
            .map(|r| SearchedRelease {
                master: r.master.clone(),
                id: r.id,
                label: r.label.clone(),
                revision: r.revision,
            })
            .collect(),
    }
}
