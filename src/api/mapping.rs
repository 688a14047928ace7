//! Mapping projects: local code uploads, review of each mapping, bulk review, history.
//! Admins manage projects, mappers upload and review, readers read.

use actix_web::web::Bytes;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Admin, Mapper, Reader};
use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::app;
use crate::limits::{Limit, Limits};
use crate::mapping::local_codes::{self, MergePlan};
use crate::mapping::state::{Action, Equivalence, State};
use crate::masters::SourceFile;
use crate::store::mapping::{
    Change, ExportCursor, HistoryEntry, MappingPage, MappingView, NewProject, Project,
};

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
    Ok(HttpResponse::Created().json(project))
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
    Ok(HttpResponse::Ok().json(blocking(move || Ok(store.projects()?)).await?))
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
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(blocking(move || Ok(store.project(id)?)).await?))
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
    path: web::Path<i64>,
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
    Ok(HttpResponse::Ok().json(plan))
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
    path: web::Path<i64>,
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
    Ok(HttpResponse::Ok().json(page))
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
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let store = state.store.clone();
    Ok(HttpResponse::Ok().json(blocking(move || Ok(store.mapping(id, &code)?)).await?))
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
    path: web::Path<(i64, String)>,
    body: super::json::Json<ChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let change = body.into_inner().change()?;
    let store = state.store.clone();
    let actor = mapper.0.actor();
    let view =
        blocking(move || Ok(app::mapping::change(&store, &actor, id, &code, &change)?)).await?;
    Ok(HttpResponse::Ok().json(view))
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
    path: web::Path<i64>,
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
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let store = state.store.clone();
    let history = blocking(move || Ok(store.mapping_history(id, &code)?)).await?;
    Ok(HttpResponse::Ok().json(history))
}

/// Re-checks mappings whenever a master's current release changes (an activation on any node,
/// or a dated one taking effect), from a background thread that ends with the cache. The
/// current releases come from the cache, so an idle node asks the database nothing.
pub fn start_rechecking(
    cache: &std::sync::Arc<super::cache::ReadCache>,
    store: crate::store::Store,
) {
    let weak = std::sync::Arc::downgrade(cache);
    let spawned = std::thread::Builder::new()
        .name("mapping-recheck".into())
        .spawn(move || {
            let mut checked: Option<Vec<Option<i64>>> = None;
            loop {
                std::thread::sleep(RECHECK_INTERVAL);
                let Some(cache) = weak.upgrade() else {
                    return;
                };
                let current: Result<Vec<Option<i64>>, ApiError> = crate::systems::Master::ALL
                    .iter()
                    .map(|&m| Ok(cache.current_release(&store, m)?.map(|r| r.id)))
                    .collect();
                let outcome = match current {
                    Ok(ids) if checked.as_ref() != Some(&ids) => store
                        .recheck_if_current_changed()
                        .map(|_| checked = Some(ids))
                        .map_err(|e| e.to_string()),
                    Ok(_) => Ok(()),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, "mapping re-check failed; retrying");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the mapping re-check thread");
    }
}

/// How often a node looks for a changed current release.
const RECHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// What needs attention in a project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttentionReport {
    pub project: i64,
    /// Mapping counts by state.
    pub states: std::collections::BTreeMap<String, i64>,
    /// Flagged mappings with their reasons (retired targets, renamed local codes, …).
    pub flagged: Vec<MappingView>,
    /// Approved mappings whose target's display changed in the current release (cosmetic).
    pub cosmetic: Vec<crate::store::recheck::Attention>,
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
    path: web::Path<i64>,
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
            flagged.extend(page.items);
            if done {
                break;
            }
        }
        let cosmetic = store
            .recheck_mappings(Some(id), &crate::systems::Master::ALL, false)?
            .cosmetic;
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

/// Export format and scope.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `csv` (default; UTF-8 with BOM, every column including extra source columns) or
    /// `conceptmap` (FHIR R4 ConceptMap JSON).
    pub format: Option<String>,
    /// ConceptMap only: every mapping in every state (status draft) instead of the settled
    /// ones.
    #[serde(default)]
    pub all: bool,
}

/// Rows read per page while streaming an export.
const EXPORT_PAGE: i64 = 1000;

/// Streams a project's mappings as CSV or as a FHIR R4 ConceptMap, page by page (memory stays
/// constant whatever the project's size).
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), ExportQuery),
    responses(
        (status = 200, description = "The export", content_type = "text/csv"),
        (status = 400, description = "Unknown format", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/projects/{id}/export")]
pub async fn export(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    use crate::mapping::exchange;
    let id = path.into_inner();
    let concept_map =
        exchange::is_concept_map(query.format.as_deref()).map_err(ApiError::BadRequest)?;
    let all = query.all;
    let store = state.store.clone();
    // The first chunk (header, or the resource's opening) is made before answering, so an
    // unknown project is a 404, not a broken stream.
    let (project, headers) = {
        let store = store.clone();
        blocking(move || Ok((store.project(id)?, store.extra_headers(id)?))).await?
    };
    let (content_type, extension) = if concept_map {
        ("application/fhir+json", "json")
    } else {
        ("text/csv; charset=utf-8", "csv")
    };
    let mut response = HttpResponse::Ok();
    response.content_type(content_type).insert_header((
        "Content-Disposition",
        format!("attachment; filename=\"mapping-{id}.{extension}\""),
    ));
    if concept_map {
        let options = exchange::ConceptMapOptions {
            url: None,
            version: None,
            source_uri: None,
            include_all: all,
            date: chrono::Utc::now(),
        };
        Ok(response.streaming(concept_map_stream(store, &project, &options)?))
    } else {
        let shared = SharedBuffer::default();
        exchange::write_csv_header(&mut shared.clone(), &headers, true)
            .map_err(|e| ApiError::Internal(format!("export: {e}")))?;
        Ok(response.streaming(export_stream(store, id, RowWriter::Csv(headers), shared)))
    }
}

/// A chunk of a streamed export.
pub type ExportChunk = Result<Bytes, actix_web::Error>;

/// A project's mappings as one FHIR R4 ConceptMap ([`crate::mapping::exchange::ConceptMapWriter`]),
/// streamed page by page in constant memory: the export's `format=conceptmap` and the FHIR
/// endpoint's ConceptMap read and search. The resource's opening is written before this
/// returns; a database failure later ends the stream early (logged), as a response already
/// under way cannot turn into an error.
pub fn concept_map_stream(
    store: crate::store::Store,
    project: &Project,
    options: &crate::mapping::exchange::ConceptMapOptions,
) -> Result<impl futures_util::Stream<Item = ExportChunk> + 'static, ApiError> {
    let shared = SharedBuffer::default();
    let writer = crate::mapping::exchange::ConceptMapWriter::new(shared.clone(), project, options)
        .map_err(|e| ApiError::Internal(format!("export: {e}")))?;
    Ok(export_stream(
        store,
        project.id,
        RowWriter::ConceptMap(writer),
        shared,
    ))
}

/// What an export writes each mapping with.
enum RowWriter {
    /// CSV rows, with the extra columns of these headers.
    Csv(Vec<String>),
    /// ConceptMap elements (closed with the last page).
    ConceptMap(crate::mapping::exchange::ConceptMapWriter<SharedBuffer>),
}

/// Streams project `id`'s mappings page by page through `writer`; each chunk is what `shared`
/// holds after a page (whatever it held before the first page comes first).
fn export_stream(
    store: crate::store::Store,
    id: i64,
    writer: RowWriter,
    shared: SharedBuffer,
) -> impl futures_util::Stream<Item = ExportChunk> + 'static {
    use crate::mapping::exchange;
    struct Export {
        cursor: ExportCursor,
        done: bool,
        writer: Option<RowWriter>,
    }
    let start = Export {
        cursor: ExportCursor::default(),
        done: false,
        writer: Some(writer),
    };
    futures_util::stream::unfold(start, move |mut job| {
        let store = store.clone();
        let shared = shared.clone();
        async move {
            if job.done {
                return None;
            }
            let sink = shared.clone();
            let step = web::block(move || -> Result<Export, String> {
                let by_target = matches!(job.writer, Some(RowWriter::ConceptMap(_)));
                let page = store
                    .export_page(id, by_target, EXPORT_PAGE, &mut job.cursor)
                    .map_err(|e| e.to_string())?;
                for m in &page {
                    match job.writer.as_mut() {
                        Some(RowWriter::ConceptMap(w)) => {
                            w.write(m).map_err(|e| e.to_string())?;
                        }
                        Some(RowWriter::Csv(headers)) => {
                            exchange::write_csv_row(&mut sink.clone(), m, headers)
                                .map_err(|e| e.to_string())?
                        }
                        None => {}
                    }
                }
                if (page.len() as i64) < EXPORT_PAGE {
                    job.done = true;
                    if let Some(RowWriter::ConceptMap(w)) = job.writer.take() {
                        w.finish().map_err(|e| e.to_string())?;
                    }
                }
                Ok(job)
            })
            .await;
            match step {
                Ok(Ok(next)) => Some((Ok::<_, actix_web::Error>(shared.take()), next)),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, project = id, "export failed midway");
                    None
                }
                Err(e) => {
                    tracing::error!(error = %e, project = id, "export task failed");
                    None
                }
            }
        }
    })
}

/// A byte buffer several writers share, drained chunk by chunk into the response.
#[derive(Clone, Default)]
struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn take(&self) -> Bytes {
        let mut buf = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Bytes::from(std::mem::take(&mut *buf))
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Import format.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// `csv` (an export of hyojun; UTF-8 or CP932) or `conceptmap` (FHIR R4 ConceptMap JSON).
    pub format: Option<String>,
}

/// Re-applies earlier decisions ("apply previous mapping") from a CSV export or a FHIR
/// ConceptMap: each listed local code gets the file's state, target, equivalence and comment,
/// recorded in its history as an import. Admins only, since it sets review states directly.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), ImportQuery),
    request_body(content = String, description = "The CSV or ConceptMap"),
    responses(
        (status = 200, description = "What was applied", body = crate::store::mapping::ImportReport),
        (status = 400, description = "Problems in the file (nothing applied)", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/mapping/projects/{id}/import")]
pub async fn import(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<ImportQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    use crate::mapping::exchange;
    check_list_size(&body, &state.config.limits)?;
    let id = path.into_inner();
    let concept_map =
        exchange::is_concept_map(query.format.as_deref()).map_err(ApiError::BadRequest)?;
    // The ConceptMap reader checks its size and nesting depth itself, before parsing, and
    // reports them as problems of the file.
    let limits = state.config.limits.clone();
    let store = state.store.clone();
    let actor = admin.0.actor();
    let report = blocking(move || {
        let decisions = if concept_map {
            exchange::read_concept_map(&body, "conceptmap.json", &limits)
        } else {
            exchange::read_csv(
                &SourceFile::new("mappings.csv".to_owned(), body.to_vec()),
                &limits,
            )
        }
        .map_err(|problems| ApiError::Invalid {
            message: format!(
                "{} problem(s) in the file; nothing was applied",
                problems.total()
            ),
            details: serde_json::to_value(&problems).unwrap_or_default(),
        })?;
        Ok(app::mapping::import_decisions(
            &store, &actor, id, &decisions,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}
