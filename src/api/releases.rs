//! Releases, their change sets, diffs between them, and activation.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Admin, Reader};
use super::dto::all;
use super::dto::releases::{ReleaseInfo, ReleaseNoticeRow, ReleaseRow};
use super::error::ApiError;
use super::resolve::{self, blocking};
use super::AppState;
use crate::app;
use crate::ids::ReleaseId;
use crate::store::diff::{DiffDocument, FieldChange};
use crate::systems::Master;

/// Filter for the release list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReleaseFilter {
    /// hot, byomei, jlac or nursing.
    pub master: Option<String>,
}

fn master(name: &str) -> Result<Master, ApiError> {
    name.parse().map_err(ApiError::BadRequest)
}

/// Every release, oldest first: label, dates, files with sha256, counts, state, current.
#[utoipa::path(
    tag = "releases",
    security(("bearer" = [])),
    params(ReleaseFilter),
    responses(
        (status = 200, description = "Releases", body = Vec<ReleaseInfo>),
        (status = 400, description = "Unknown master", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/releases")]
pub async fn list_releases(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<ReleaseFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.master.as_deref().map(master).transpose()?;
    let store = state.store.clone();
    let mut releases: Vec<ReleaseInfo> = blocking(move || Ok(all(store.releases(filter)?))).await?;
    releases.iter_mut().for_each(file_names_only);
    Ok(HttpResponse::Ok().json(releases))
}

/// Shows a release's files by name only: files imported from the command line are stored
/// with the server-side path they were read from, which readers are not shown.
fn file_names_only(info: &mut ReleaseInfo) {
    for file in &mut info.files {
        file.name = public_name(&file.name);
    }
}

/// `/srv/in/h20260630.zip:MEDIS20260630.TXT` → `h20260630.zip:MEDIS20260630.TXT`;
/// `/srv/in/MEDIS20260531.TXT` → `MEDIS20260531.TXT`.
fn public_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let (outer, member) = match lower.find(".zip:") {
        Some(at) => name.split_at(at + 4),
        None => (name, ""),
    };
    let base = crate::masters::input::base_name(outer, false);
    format!("{base}{member}")
}

/// A release with its import notices.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseDetail {
    #[serde(flatten)]
    pub info: ReleaseInfo,
    pub notices: Vec<ReleaseNoticeRow>,
}

/// One release: files, counts per code system, state, and the notices of its import report.
#[utoipa::path(
    tag = "releases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Release id")),
    responses(
        (status = 200, description = "The release", body = ReleaseDetail),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such release", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/releases/{id}")]
pub async fn get_release(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<ReleaseId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let store = state.store.clone();
    let detail = blocking(move || {
        let release = store.release_by_id(id)?;
        let master: Master = release.master.parse().map_err(ApiError::Internal)?;
        let info = store
            .releases(Some(master))?
            .into_iter()
            .find(|r| r.release.id == id)
            .ok_or_else(|| ApiError::NotFound(format!("no release with id {id}")))?;
        let mut notices: Vec<ReleaseNoticeRow> = all(store.notices(&release)?);
        for notice in &mut notices {
            notice.file = public_name(&notice.file);
        }
        let mut info = ReleaseInfo::from(info);
        file_names_only(&mut info);
        Ok(ReleaseDetail { info, notices })
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Which changes to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ChangeQuery {
    /// added, removed or changed.
    pub kind: Option<String>,
    /// Only this code system (key).
    pub system: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// One entry of a change set.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeItem {
    pub system: String,
    pub code: String,
    pub kind: String,
    pub display: String,
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<FieldChange>,
}

/// A page of changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub total: i64,
    pub items: Vec<ChangeItem>,
}

fn page(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), ApiError> {
    let limit = limit.unwrap_or(100);
    let offset = offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) || offset < 0 {
        return Err(ApiError::BadRequest(
            "limit must be 1–1000 and offset ≥ 0".into(),
        ));
    }
    Ok((limit, offset))
}

/// The change set of a release against the release before it, by distinct code, paged.
#[utoipa::path(
    tag = "releases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Release id"), ChangeQuery),
    responses(
        (status = 200, description = "A page of changes", body = ChangePage),
        (status = 400, description = "Bad parameters", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such release", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/releases/{id}/changes")]
pub async fn release_changes(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<ReleaseId>,
    query: web::Query<ChangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (limit, offset) = page(query.limit, query.offset)?;
    if let Some(kind) = &query.kind {
        if crate::store::diff::ChangeKind::parse(kind).is_none() {
            return Err(ApiError::BadRequest(format!(
                "kind `{kind}`: expected added, removed or changed"
            )));
        }
    }
    let kind = query.kind.clone();
    let system = query.system.clone();
    let store = state.store.clone();
    let page = blocking(move || {
        let release = store.release_by_id(id)?;
        let (total, rows) =
            store.change_page(&release, kind.as_deref(), system.as_deref(), limit, offset)?;
        let items = rows
            .into_iter()
            .map(|c| {
                Ok(ChangeItem {
                    fields: serde_json::from_str(&c.fields)
                        .map_err(|e| ApiError::Internal(e.to_string()))?,
                    system: c.system_key,
                    code: c.code,
                    kind: c.kind,
                    display: c.display,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(ChangePage { total, items })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Two releases to compare.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DiffQuery {
    /// A code system key (its master is compared) or a master name.
    pub system: String,
    /// Release label (LABEL or LABEL@REVISION).
    pub from: String,
    pub to: String,
}

/// What changed between two releases: the same document as `hyojun diff --json`.
#[utoipa::path(
    tag = "releases",
    security(("bearer" = [])),
    params(DiffQuery),
    responses(
        (status = 200, description = "The diff", body = Object),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "Unknown system or release", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/diff")]
pub async fn diff(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<DiffQuery>,
) -> Result<HttpResponse, ApiError> {
    let master = match query.system.parse::<Master>() {
        Ok(m) => m,
        Err(_) => resolve::system(&query.system)?.master,
    };
    let (from, to) = (query.from.clone(), query.to.clone());
    let store = state.store.clone();
    let doc: DiffDocument = blocking(move || {
        let (from, to, diff) = store.diff(master, &from, &to)?;
        Ok(diff.document(master, &from, &to))
    })
    .await?;
    Ok(HttpResponse::Ok().json(doc))
}

/// When an activation takes effect. An empty body or `{}` means now.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// An RFC 3339 date-time, with `Z` or an offset (`2026-07-01T00:00:00Z`,
    /// `2026-07-01T09:00:00+09:00`); one without an offset (`2026-07-01T00:00:00`) is taken
    /// as UTC. A date alone is refused. Default (absent or null): now. A future moment leaves
    /// the current release serving until then.
    #[serde(default, deserialize_with = "effective_moment")]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-07-01T00:00:00Z")]
    pub effective_from: Option<NaiveDateTime>,
}

/// The UTC moment of an RFC 3339 date-time, or of a naive one taken as UTC.
pub fn parse_moment(text: &str) -> Result<NaiveDateTime, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.naive_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(at);
        }
    }
    let shown = crate::excerpt::excerpt(text);
    if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        return Err(format!(
            "effective_from `{shown}` is a date alone: give a date-time, e.g. {text}T00:00:00Z (UTC) or {text}T00:00:00+09:00 (JST)"
        ));
    }
    Err(format!(
        "effective_from `{shown}` is not an RFC 3339 date-time, e.g. 2026-07-01T00:00:00Z"
    ))
}

fn effective_moment<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDateTime>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| parse_moment(&text).map_err(serde::de::Error::custom))
        .transpose()
}

/// The activation recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activated {
    pub release: ReleaseRow,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub effective_from: NaiveDateTime,
}

/// Makes a release the one its master serves, now or from a future moment (admin). A body
/// that cannot be read (not JSON, an unknown field, a date alone) is refused and changes
/// nothing.
#[utoipa::path(
    tag = "releases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Release id")),
    request_body(content = Option<ActivateRequest>, description = "Optional effective moment; an empty body or `{}` means now", content_type = "application/json"),
    responses(
        (status = 200, description = "Activated", body = Activated),
        (status = 400, description = "A body that is not an activation request (bad JSON, an unknown field, not a date-time); nothing changed", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope),
        (status = 404, description = "No such release", body = super::ErrorEnvelope),
        (status = 415, description = "A body that is not JSON; nothing changed", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/releases/{id}/activate")]
pub async fn activate(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ReleaseId>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = super::json::read_body(&req, payload, &state.config.limits).await?;
    // An empty body and `{}` mean now; anything but an object is refused (an array or
    // `null` read as "no moment given" would activate at once).
    let request: ActivateRequest = if body.is_empty() {
        ActivateRequest::default()
    } else {
        super::json::parse(&body)?
    };
    let effective_from = request.effective_from;
    let store = state.store.clone();
    let actor = admin.0.actor();
    let cache = state.cache.clone();
    let result = blocking(move || {
        let done = app::releases::activate(&store, &actor, id, effective_from)?;
        // This node answers from the new release at once; others follow their poller.
        cache.clear();
        Ok(Activated {
            release: done.release.into(),
            effective_from: done.effective_from,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}
