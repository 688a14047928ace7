//! Full-text search over every master.

use std::collections::HashMap;

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Reader;
use super::error::ApiError;
use super::resolve::{self, blocking};
use super::AppState;
use crate::search::document::ATTRIBUTE_FILTERS;
use crate::search::query::{MAX_LIMIT, MAX_QUERY_CHARS};
use crate::search::{SearchError, SearchHit, SearchRequest, StatusFilter};
use crate::systems::{Master, CODE_SYSTEMS};

/// Results per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 20;

/// Search parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct SearchQuery {
    /// Part of a name, reading, synonym or code (1–200 characters). Searched as plain text
    /// after normalisation (full/half width, かな/カナ, case, Ⅱ/II/2): never as query syntax.
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
    pub limit: Option<usize>,
    /// Results to skip.
    pub offset: Option<usize>,
}

/// A release a search looked in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchedRelease {
    pub master: String,
    pub id: i64,
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
            SearchError::Store(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// The request checked and its scope resolved, without touching the store.
struct Scope {
    systems: Vec<&'static str>,
    masters: Vec<Master>,
    status: StatusFilter,
    attributes: Vec<(String, String)>,
    limit: usize,
    offset: usize,
}

fn scope(query: &SearchQuery) -> Result<Scope, ApiError> {
    crate::search::query::checked_query(&query.q)?;
    let mut systems: Vec<&'static str> = Vec::new();
    for name in list(query.system.as_deref()) {
        systems.push(resolve::system(name)?.key);
    }
    let mut masters: Vec<Master> = Vec::new();
    for name in list(query.master.as_deref()) {
        masters.push(
            name.parse::<Master>()
                .map_err(|e| ApiError::BadRequest(format!("master: {e}")))?,
        );
    }
    if masters.is_empty() {
        masters = Master::ALL.to_vec();
    }
    if !systems.is_empty() {
        masters.retain(|m| {
            systems
                .iter()
                .any(|s| CODE_SYSTEMS.iter().any(|c| c.key == *s && c.master == *m))
        });
    }
    let status = match query.status.as_deref() {
        None | Some("all") => StatusFilter::All,
        Some("active") => StatusFilter::Active,
        Some("retired") => StatusFilter::Retired,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status `{other}`: use active, retired or all"
            )))
        }
    };
    let mut attributes = Vec::new();
    for (name, value) in [
        ("category", query.category.as_deref()),
        ("material", query.material.as_deref()),
    ] {
        if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
            let master = ATTRIBUTE_FILTERS
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, m, _)| *m);
            masters.retain(|m| Some(*m) == master);
            attributes.push((name.to_owned(), value.to_owned()));
        }
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!("limit must be 1–{MAX_LIMIT}")));
    }
    Ok(Scope {
        systems,
        masters,
        status,
        attributes,
        limit,
        offset: query.offset.unwrap_or(0),
    })
}

fn list(value: Option<&str>) -> impl Iterator<Item = &str> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn request(query: &SearchQuery, scope: &Scope, releases: &[(Master, i64)]) -> SearchRequest {
    SearchRequest {
        query: query.q.clone(),
        releases: releases.iter().copied().collect::<HashMap<_, _>>(),
        systems: scope.systems.clone(),
        status: scope.status,
        attributes: scope.attributes.clone(),
        limit: scope.limit,
        offset: scope.offset,
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
    if query.q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::BadRequest(format!(
            "q is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    let scope = scope(&query)?;
    // Fast path: current releases known in memory and already in the index snapshot.
    if query.release.is_none() && query.date.is_none() {
        let mut current = Vec::new();
        let mut known = true;
        for &master in &scope.masters {
            match state.cache.current_cached(master) {
                Some(Some(release)) => current.push(release),
                Some(None) => {}
                None => known = false,
            }
        }
        let snapshot = state.search.snapshot();
        if known && current.iter().all(|r| snapshot.holds(r.id)) {
            let ids: Vec<(Master, i64)> = current
                .iter()
                .filter_map(|r| r.master.parse::<Master>().ok().map(|m| (m, r.id)))
                .collect();
            let results = crate::search::query::run(&snapshot, &request(&query, &scope, &ids))?;
            return Ok(HttpResponse::Ok().json(page(results, &current)));
        }
    }
    let state = state.into_inner();
    let body = blocking(move || {
        let date = query.date.as_deref().map(resolve::date).transpose()?;
        let releases = if query.release.is_none() && date.is_none() {
            // Current releases through the cache, so the next search takes the fast path.
            let mut current = Vec::new();
            for &master in &scope.masters {
                current.extend(state.cache.current_release(&state.store, master)?);
            }
            current
        } else {
            crate::search::releases_to_search(
                &state.store,
                &scope.masters,
                query.release.as_deref(),
                date,
            )?
        };
        let ids: Vec<(Master, i64)> = releases
            .iter()
            .filter_map(|r| r.master.parse::<Master>().ok().map(|m| (m, r.id)))
            .collect();
        let results = state
            .search
            .search(&state.store, &request(&query, &scope, &ids))?;
        Ok(page(results, &releases))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

fn page(
    results: crate::search::SearchResults,
    releases: &[crate::store::models::ReleaseRow],
) -> SearchPage {
    SearchPage {
        total: results.total,
        offset: results.offset,
        limit: results.limit,
        items: results.items,
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
