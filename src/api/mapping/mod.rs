//! Mapping projects: local code uploads, review of each mapping, bulk review, history.
//! Admins manage projects, mappers upload and review, readers read. Export and decision
//! import are in [`exchange`].

use actix_web::web::Bytes;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Admin, Mapper, Reader};
use super::dto::all;
use super::dto::mapping::{Attention, HistoryEntry, MappingPage, MappingView, MergePlan, Project};
use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::app;
use crate::ids::ProjectId;
use crate::limits::{Limit, Limits};
use crate::mapping::local_codes;
use crate::mapping::state::{Action, Equivalence, State};
use crate::masters::SourceFile;
use crate::store::mapping::{Change, ExportCursor, NewProject};

mod exchange;

pub use exchange::*;

/// Most local codes one bulk request may change.
pub const MAX_BULK: usize = 10_000;

/// A project to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewProjectRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// URI or OID (urn:oid:…) of the hospital's local code system.
    pub local_system: String,
    /// Standard code systems to map to (keys, canonical URLs or urn:oid: aliases).
    pub target_systems: Vec<String>,
    /// Whether an approver must differ from the author (default: yes).
    #[serde(default = "yes")]
    pub four_eyes: bool,
}

fn yes() -> bool {
    true
}

/// Creates a mapping project.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    request_body = NewProjectRequest,
    responses(
        (status = 201, description = "Created", body = Project),
        (status = 400, description = "Bad name or systems", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope),
        (status = 409, description = "The name is taken", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/mapping/projects")]
pub async fn create_project(
    admin: Admin,
    state: web::Data<AppState>,
    body: super::json::Json<NewProjectRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let store = state.store.clone();
    let actor = admin.0.actor();
    let project = blocking(move || {
        let new = NewProject {
            name: request.name,
            description: request.description,
            local_system: request.local_system,
            target_systems: request.target_systems,
            four_eyes: request.four_eyes,
        };
        Ok(app::mapping::create_project(&store, &actor, &new)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(Project::from(project)))
}

/// Every mapping project.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Projects", body = Vec<Project>),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/projects")]
pub async fn list_projects(
    _: Reader,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let projects: Vec<Project> = blocking(move || Ok(all(store.projects()?))).await?;
    Ok(HttpResponse::Ok().json(projects))
}

/// One mapping project.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project", body = Project),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/projects/{id}")]
pub async fn get_project(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<ProjectId>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let id = path.into_inner();
    let project = blocking(move || Ok(store.project(id)?)).await?;
    Ok(HttpResponse::Ok().json(Project::from(project)))
}

/// Uploads the project's local code list (CSV, UTF-8 or CP932, header row; columns: local code
/// and name required, unit, specimen/material, frequency, category optional, any others kept).
/// A re-upload merges: new codes are added, renamed codes' mappings are flagged, missing codes
/// are marked withdrawn; no mapping is lost. A bad file changes nothing and answers 400 with
/// every problem (line, column, fix) in `details`.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    request_body(content = String, content_type = "text/csv", description = "The local code list"),
    responses(
        (status = 200, description = "What the merge did", body = MergePlan),
        (status = 400, description = "Problems in the file", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not a mapper", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope),
        (status = 413, description = "Too large", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/mapping/projects/{id}/local-codes")]
pub async fn upload_local_codes(
    mapper: Mapper,
    state: web::Data<AppState>,
    path: web::Path<ProjectId>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    check_list_size(&body, &state.config.limits)?;
    let id = path.into_inner();
    let store = state.store.clone();
    let actor = mapper.0.actor();
    let limits = state.config.limits.clone();
    let plan = blocking(move || {
        let file = SourceFile::new("local-codes.csv".to_owned(), body.to_vec());
        let codes = local_codes::parse(&file, &limits).map_err(|problems| ApiError::Invalid {
            message: format!(
                "{} problem(s) in the local code list; nothing was changed",
                problems.total()
            ),
            details: serde_json::to_value(&problems).unwrap_or_default(),
        })?;
        Ok(app::mapping::merge_local_codes(&store, &actor, id, &codes)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MergePlan::from(plan)))
}

/// A local-code list or decision import over [`Limit::ListBytes`] is refused whole.
fn check_list_size(body: &Bytes, limits: &Limits) -> Result<(), ApiError> {
    if limits.allows(Limit::ListBytes, body.len() as u64) {
        return Ok(());
    }
    Err(ApiError::TooLarge(format!(
        "the body is {} bytes; {}",
        crate::limits::group_digits(body.len() as u64),
        limits.describe(Limit::ListBytes)
    )))
}

/// Which mappings to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MappingsQuery {
    /// Only mappings in this state.
    pub state: Option<State>,
    /// Page size (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// A project's mappings with their local codes, most frequent local codes first.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), MappingsQuery),
    responses(
        (status = 200, description = "A page of mappings", body = MappingPage),
        (status = 400, description = "Bad paging or state", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/projects/{id}/mappings")]
pub async fn list_mappings(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<ProjectId>,
    query: web::Query<MappingsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let limit = query.limit.unwrap_or(100);
    let offset = query.offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) || offset < 0 {
        return Err(ApiError::BadRequest(
            "limit must be 1–1000 and offset ≥ 0".into(),
        ));
    }
    let filter = query.state;
    let store = state.store.clone();
    let page = blocking(move || Ok(store.mappings(id, filter, limit, offset)?)).await?;
    Ok(HttpResponse::Ok().json(MappingPage::from(page)))
}

/// One local code and its mapping.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id"),
        ("code" = String, Path, description = "Local code")
    ),
    responses(
        (status = 200, description = "The mapping", body = MappingView),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such project or local code", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/projects/{id}/mappings/{code}")]
pub async fn get_mapping(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<(ProjectId, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let store = state.store.clone();
    let view = blocking(move || Ok(store.mapping(id, &code)?)).await?;
    Ok(HttpResponse::Ok().json(MappingView::from(view)))
}

/// A review step on one mapping.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChangeRequest {
    /// propose, approve, reject, flag, no_match or reset; may be left out to only re-assign.
    pub action: Option<Action>,
    /// With propose: the target's code system (one of the project's) and code, valid in the
    /// current release.
    pub target_system: Option<String>,
    pub target_code: Option<String>,
    /// With propose (default equivalent).
    pub equivalence: Option<Equivalence>,
    pub comment: Option<String>,
    /// Who should look at it next (empty string: nobody).
    pub assignee: Option<String>,
    /// With flag: why.
    pub reason: Option<String>,
    /// The version last seen: refused with 409 if the mapping changed since.
    pub version: Option<i64>,
}

impl ChangeRequest {
    fn change(&self) -> Result<Change, ApiError> {
        let target = match (&self.target_system, &self.target_code) {
            (Some(s), Some(c)) => Some((s.clone(), c.clone())),
            (None, None) => None,
            _ => {
                return Err(ApiError::BadRequest(
                    "give target_system and target_code together".into(),
                ))
            }
        };
        Ok(Change {
            action: self.action,
            target,
            equivalence: self.equivalence,
            comment: self.comment.clone(),
            assignee: self.assignee.clone(),
            reason: self.reason.clone(),
            expected_version: self.version,
        })
    }
}

/// Applies a review step to one mapping (409 when the review rules refuse it, e.g. four-eyes:
/// the author of a proposal cannot approve it).
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id"),
        ("code" = String, Path, description = "Local code")
    ),
    request_body = ChangeRequest,
    responses(
        (status = 200, description = "The mapping after the change", body = MappingView),
        (status = 400, description = "Bad target or request", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not a mapper", body = super::ErrorEnvelope),
        (status = 404, description = "No such project or local code", body = super::ErrorEnvelope),
        (status = 409, description = "Refused by the review rules, or changed meanwhile", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/mapping/projects/{id}/mappings/{code}")]
pub async fn change_mapping(
    mapper: Mapper,
    state: web::Data<AppState>,
    path: web::Path<(ProjectId, String)>,
    body: super::json::Json<ChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let change = body.into_inner().change()?;
    let store = state.store.clone();
    let actor = mapper.0.actor();
    let view =
        blocking(move || Ok(app::mapping::change(&store, &actor, id, &code, &change)?)).await?;
    Ok(HttpResponse::Ok().json(MappingView::from(view)))
}

/// The same review step on a selection of mappings.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BulkRequest {
    /// Local codes (at most 10,000).
    #[schema(min_items = 1, max_items = 10000)]
    pub codes: Vec<String>,
    #[serde(flatten)]
    pub change: ChangeRequest,
}

/// What happened to one mapping of a bulk request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkOutcome {
    pub code: String,
    /// `ok`, or the error code (`conflict`, `not_found`, `bad_request`).
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
}

/// Bulk result: one transaction; each mapping is changed or refused on its own (one refused
/// change does not stop the others; a database failure changes none).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkResult {
    pub changed: usize,
    pub refused: usize,
    pub items: Vec<BulkOutcome>,
}

/// Applies one review step (approve, reject, no_match, flag, re-assign, …) to many mappings.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    request_body = BulkRequest,
    responses(
        (status = 200, description = "Per-mapping outcomes", body = BulkResult),
        (status = 400, description = "Bad request", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not a mapper", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/mapping/projects/{id}/bulk")]
pub async fn bulk_change(
    mapper: Mapper,
    state: web::Data<AppState>,
    path: web::Path<ProjectId>,
    body: super::json::Json<BulkRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let request = body.into_inner();
    if request.codes.is_empty() || request.codes.len() > MAX_BULK {
        return Err(ApiError::BadRequest(format!(
            "codes lists 1–{MAX_BULK} local codes"
        )));
    }
    let change = request.change.change()?;
    let store = state.store.clone();
    let actor = mapper.0.actor();
    let result = blocking(move || {
        let done = app::mapping::bulk_change(&store, &actor, id, &request.codes, &change)?;
        let items: Vec<BulkOutcome> = request
            .codes
            .into_iter()
            .zip(done)
            .map(|(code, item)| match item {
                app::mapping::BulkItem::Changed(view) => BulkOutcome {
                    code,
                    outcome: "ok",
                    message: None,
                    state: Some(view.state),
                },
                app::mapping::BulkItem::Refused(e) => {
                    let e = ApiError::from(e);
                    BulkOutcome {
                        code,
                        outcome: e.code(),
                        message: Some(e.to_string()),
                        state: None,
                    }
                }
            })
            .collect();
        let changed = items.iter().filter(|i| i.outcome == "ok").count();
        Ok(BulkResult {
            changed,
            refused: items.len() - changed,
            items,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// Every change of one mapping, oldest first (append-only).
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id"),
        ("code" = String, Path, description = "Local code")
    ),
    responses(
        (status = 200, description = "History", body = Vec<HistoryEntry>),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such project or local code", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/projects/{id}/mappings/{code}/history")]
pub async fn mapping_history(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<(ProjectId, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let store = state.store.clone();
    let history: Vec<HistoryEntry> =
        blocking(move || Ok(all(store.mapping_history(id, &code)?))).await?;
    Ok(HttpResponse::Ok().json(history))
}

/// Queues the re-check of mappings ([`crate::app::jobs::recheck`]) whenever a master's
/// current release changes (an activation on any node, or a dated one taking effect), and at
/// least once a minute while one is due (a try that failed), from a background thread that
/// ends with the cache. The current releases come from the cache, so an idle node asks the
/// database nothing between those minutes.
pub fn start_rechecking(
    cache: &std::sync::Arc<super::cache::ReadCache>,
    store: crate::store::Store,
    runner: &std::sync::Arc<crate::app::jobs::runner::Runner>,
) {
    let weak = std::sync::Arc::downgrade(cache);
    let runner = std::sync::Arc::downgrade(runner);
    let spawned = std::thread::Builder::new()
        .name("mapping-recheck".into())
        .spawn(move || {
            let mut checked: Option<Vec<Option<crate::ids::ReleaseId>>> = None;
            let mut asked = std::time::Instant::now();
            loop {
                std::thread::sleep(RECHECK_INTERVAL);
                let (Some(cache), Some(runner)) = (weak.upgrade(), runner.upgrade()) else {
                    return;
                };
                let current: Result<Vec<Option<crate::ids::ReleaseId>>, ApiError> =
                    crate::systems::Master::ALL
                        .iter()
                        .map(|&m| Ok(cache.current_release(&store, m)?.map(|r| r.id)))
                        .collect();
                let outcome = match current {
                    Ok(ids)
                        if checked.as_ref() != Some(&ids) || asked.elapsed() >= RECHECK_AGAIN =>
                    {
                        asked = std::time::Instant::now();
                        crate::app::jobs::recheck::queue_due(&store, &runner.context().node)
                            .map(|queued| {
                                checked = Some(ids);
                                if !queued.is_empty() {
                                    runner.notify();
                                }
                            })
                            .map_err(|e| e.to_string())
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, "cannot queue the mapping re-check; retrying");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the mapping re-check thread");
    }
}

/// How often a node asks the database whether a re-check is due although no current release
/// changed in its view (a re-check that failed, or one queued before a restart).
const RECHECK_AGAIN: std::time::Duration = std::time::Duration::from_secs(60);

/// How often a node looks for a changed current release.
const RECHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// What needs attention in a project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttentionReport {
    #[schema(value_type = i64)]
    pub project: ProjectId,
    /// Mapping counts by state.
    pub states: std::collections::BTreeMap<String, i64>,
    /// Flagged mappings with their reasons (retired targets, renamed local codes, …).
    pub flagged: Vec<MappingView>,
    /// Approved mappings whose target's display changed in the current release (cosmetic).
    pub cosmetic: Vec<Attention>,
}

/// What needs attention in a project: flagged mappings (with reasons and successors) and
/// cosmetic display changes of approved targets; counts by state.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    responses(
        (status = 200, description = "The report", body = AttentionReport),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/projects/{id}/attention")]
pub async fn attention(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<ProjectId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let store = state.store.clone();
    let report = blocking(move || {
        // A change of current release not yet seen by the background thread is applied first.
        store.recheck_if_current_changed()?;
        let mut states = std::collections::BTreeMap::new();
        for s in State::ALL {
            states.insert(
                s.as_str().to_owned(),
                store.mappings(id, Some(s), 1, 0)?.total,
            );
        }
        let mut flagged = Vec::new();
        loop {
            let page = store.mappings(id, Some(State::Flagged), 1000, flagged.len() as i64)?;
            let done = page.items.len() < 1000;
            flagged.extend(page.items.into_iter().map(MappingView::from));
            if done {
                break;
            }
        }
        let cosmetic = all(store
            .recheck_mappings(Some(id), &crate::systems::Master::ALL)?
            .cosmetic);
        Ok(AttentionReport {
            project: id,
            states,
            flagged,
            cosmetic,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}
