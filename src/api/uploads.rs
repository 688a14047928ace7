//! Release uploads (admin): files are streamed to disk, then imported by a background job
//! whose state, progress and problems `GET /v1/jobs/{id}` shows.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_multipart::Multipart;
use actix_web::{get, post, web, HttpResponse};
use futures_util::TryStreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::dto::jobs::JobView;
use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::app;
use crate::ids::JobId;
use crate::limits::{Limit, Limits};
use crate::store::job_fields::{ImportRequest, JobRequest, UploadedFile};
use crate::store::jobs::{JobKind, NewJob};
use crate::systems::Master;

/// The multipart form of an upload (for the API documentation).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// hot, byomei, jlac or nursing.
    master: String,
    /// Release label; by default taken from the file names.
    version: Option<String>,
    /// `true` to make the release current when the import succeeds.
    activate: Option<bool>,
    /// `true` when the files are knowingly only part of the release (see `hyojun import
    /// --partial`): only the codes of the files given are compared, nothing else is retired.
    partial: Option<bool>,
    /// The release's files (loose files or the distribution zip); repeat the field.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

/// Upload bytes one node is receiving, all requests together (`uploads_in_flight_bytes`).
#[derive(Debug, Default)]
pub struct InFlight {
    bytes: AtomicU64,
}

impl InFlight {
    /// Bytes being received now.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::SeqCst)
    }
}

/// The bytes one request has counted in flight; released when it is dropped (the request
/// ended, its files received or refused).
struct Reservation<'a> {
    in_flight: &'a InFlight,
    bytes: u64,
}

impl<'a> Reservation<'a> {
    fn new(in_flight: &'a InFlight) -> Self {
        Reservation {
            in_flight,
            bytes: 0,
        }
    }

    /// Counts the request as receiving `total` bytes; `false` (nothing counted) when the node
    /// would be over `limit`.
    fn grow_to(&mut self, total: u64, limit: u64) -> bool {
        let Some(more) = total.checked_sub(self.bytes).filter(|m| *m > 0) else {
            return true;
        };
        let grown = self
            .in_flight
            .bytes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                now.checked_add(more).filter(|t| *t <= limit)
            })
            .is_ok();
        if grown {
            self.bytes = total;
        }
        grown
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.in_flight.bytes.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

fn busy(limits: &Limits) -> ApiError {
    ApiError::Busy(format!(
        "this node is receiving as many upload bytes as it may at once; nothing was kept: try again later ({})",
        limits.describe(Limit::UploadsInFlightBytes)
    ))
}

fn too_large(limits: &Limits) -> ApiError {
    ApiError::TooLarge(format!(
        "the upload is too large; nothing was kept: {}",
        limits.describe(Limit::UploadBytes)
    ))
}

/// A file name safe to create in the upload folder.
fn safe_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next()?.trim();
    (!base.is_empty()
        && !base.starts_with('.')
        && base.len() <= 200
        && !base.chars().any(char::is_control))
    .then(|| base.to_owned())
}

/// Uploads a release (multipart form: `master`, optional `version` and `activate`, one or more
/// `file` parts). Answers 202 with the job that imports it (`Location: /v1/jobs/{id}`; the
/// job's `id` is not a release id — the release is the job's `release_id` once it succeeded).
/// Imports of one master run in upload order; at most `HYOJUN_MAX_CONCURRENT_JOBS` jobs run
/// at once on a node, the others stay `queued`.
#[utoipa::path(
    tag = "releases",
    security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Accepted: the job importing the release (its id is a job id: follow `Location` or the `job` link to `GET /v1/jobs/{id}`)", body = JobView,
            headers(("Location" = String, description = "The job: /v1/jobs/{id}")),
            links(("job" = (operation_id = "get_job", parameters(("id" = "$response.body#/id")), description = "The job importing the upload")))),
        (status = 400, description = "Missing master or files, or a bad form", body = super::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope),
        (status = 413, description = "Upload over the size limit, 1,073,741,824 bytes by default (HYOJUN_MAX_UPLOAD_BYTES)", body = super::ErrorEnvelope),
        (status = 415, description = "Not a multipart/form-data body", body = super::ErrorEnvelope),
        (status = 503, description = "The node is receiving its limit of upload bytes at once, 2,147,483,648 bytes by default (HYOJUN_MAX_UPLOADS_IN_FLIGHT_BYTES; `Retry-After` says when to try again), or the database is not available", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/releases")]
pub async fn upload_release(
    admin: Admin,
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    mut form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let limits = &state.config.limits;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut reservation = Reservation::new(&state.uploads_in_flight);
    if let Some(declared) = declared {
        if declared > limits.upload_bytes {
            return Err(too_large(limits));
        }
        if !reservation.grow_to(declared, limits.uploads_in_flight_bytes) {
            return Err(busy(limits));
        }
    }
    let uploads = state.jobs.context().uploads.clone();
    let dir = uploads.incoming()?;
    let received = receive(&mut form, &dir, limits, &mut reservation).await;
    drop(reservation);
    let (fields, files) = match received {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    let outcome = (|| {
        let master: Master = fields
            .master
            .as_deref()
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "the form needs a `master` field (hot, byomei, jlac or nursing)".into(),
                )
            })?
            .parse()
            .map_err(ApiError::BadRequest)?;
        if files.is_empty() {
            return Err(ApiError::BadRequest("the form has no `file` part".into()));
        }
        Ok(master)
    })();
    let master = match outcome {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    let request = JobRequest::Import(ImportRequest {
        master: master.key().to_owned(),
        version: fields.version.clone(),
        activate: fields.activate,
        partial: fields.partial,
        files: files
            .iter()
            .map(|(name, size)| UploadedFile {
                name: name.clone(),
                bytes: *size,
            })
            .collect(),
    });
    let store = state.store.clone();
    let node = state.config.node.clone();
    let actor = admin.0.actor();
    let runner = state.jobs.clone();
    let received = dir.clone();
    let job = blocking(move || {
        let new = NewJob {
            kind: JobKind::ImportRelease,
            master: master.key(),
            node: &node,
            created_by: &actor,
            request: &request,
            upload_store: Some(uploads.id()),
        };
        let id = app::jobs::queue(
            &store,
            "upload_release",
            None,
            &new,
            Some((&uploads, &received)),
            |_| serde_json::to_string(&request).unwrap_or_default(),
        )?;
        runner.notify();
        Ok(JobView::from(store.job(id)?))
    })
    .await;
    if job.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let job = job?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/v1/jobs/{}", job.id),
        ))
        .json(job))
}

#[derive(Default)]
struct Fields {
    master: Option<String>,
    version: Option<String>,
    activate: bool,
    partial: bool,
}

/// Streams the form to `dir`: text fields into [`Fields`], files to disk (never all in memory).
///
/// Why a hand-written loop over [`Multipart`] rather than actix-multipart's `MultipartForm`
/// derive (issue 13 asked which serves better; read against actix-multipart 0.7.2):
/// - `MultipartForm` receives the whole form before the handler runs, with one per-request
///   `total_limit`. The node-wide budget of bytes in flight (`uploads_in_flight_bytes`, all
///   uploads of the node together) must be checked while the bytes arrive, chunk by chunk,
///   so that a chunked upload without `Content-Length` is refused with 503 as soon as the
///   node is full, not after it was written to disk (`api_limits` tests it).
/// - Its `TempFile` takes the file name from `filename=` only (`get_filename`), so a client
///   that names a file with RFC 5987 `filename*=UTF-8''…` alone (as some do for Japanese
///   names) would lose the name the importer needs to tell a file's role (`api_jobs` tests it).
/// - Each file would land under a random name in `TempFileConfig`'s folder and need a rename
///   into the upload store's `incoming/` folder: one more step that can fail half-way.
///
/// The loop is about 100 lines; every limit and message of the form is in it.
async fn receive(
    form: &mut Multipart,
    dir: &Path,
    limits: &Limits,
    reservation: &mut Reservation<'_>,
) -> Result<(Fields, Vec<(String, u64)>), ApiError> {
    use actix_multipart::MultipartError as E;
    let mut fields = Fields::default();
    let mut files = Vec::new();
    let mut total = 0u64;
    let bad = |e: E| match e {
        E::ContentTypeMissing | E::ContentTypeParse | E::ContentTypeIncompatible => {
            ApiError::UnsupportedMediaType(
                "the upload must be a multipart/form-data body (`master`, `file` parts)".into(),
            )
        }
        E::Payload(actix_web::error::PayloadError::Overflow) => too_large(limits),
        other => ApiError::BadRequest(format!(
            "multipart form: {}",
            crate::excerpt::excerpt(&other.to_string())
        )),
    };
    while let Some(mut field) = form.try_next().await.map_err(bad)? {
        let disposition = field.content_disposition().cloned();
        let name = disposition
            .as_ref()
            .and_then(|d| d.get_name())
            .unwrap_or("")
            .to_owned();
        // `filename*=UTF-8''…` (RFC 5987; some clients send it for non-ASCII names) before
        // the plain `filename=`.
        let file_name = disposition.as_ref().and_then(|d| {
            d.get_filename_ext()
                .map(|ext| match ext.charset {
                    actix_web::http::header::Charset::Iso_8859_1 => {
                        ext.value.iter().map(|&b| char::from(b)).collect()
                    }
                    _ => String::from_utf8_lossy(&ext.value).into_owned(),
                })
                .or_else(|| d.get_filename().map(str::to_owned))
        });
        match file_name {
            Some(file_name) => {
                let safe = safe_name(&file_name).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "file name `{}` is not usable",
                        crate::excerpt::excerpt(&file_name)
                    ))
                })?;
                if files.iter().any(|(n, _)| *n == safe) {
                    return Err(ApiError::BadRequest(format!(
                        "the file `{safe}` is in the form twice"
                    )));
                }
                let path = dir.join(&safe);
                let mut out = std::fs::File::create(&path)
                    .map_err(|e| ApiError::Internal(format!("{}: {e}", path.display())))?;
                let mut size = 0u64;
                while let Some(chunk) = field.try_next().await.map_err(bad)? {
                    size += chunk.len() as u64;
                    total += chunk.len() as u64;
                    if total > limits.upload_bytes {
                        return Err(too_large(limits));
                    }
                    if !reservation.grow_to(total, limits.uploads_in_flight_bytes) {
                        return Err(busy(limits));
                    }
                    out.write_all(&chunk)
                        .map_err(|e| ApiError::Internal(format!("{}: {e}", path.display())))?;
                }
                files.push((safe, size));
            }
            None if name == "file" => {
                return Err(ApiError::BadRequest(
                    "the `file` part has no file name: send each file as a file part (curl -F file=@PATH)"
                        .into(),
                ))
            }
            None => {
                let mut value = Vec::new();
                while let Some(chunk) = field.try_next().await.map_err(bad)? {
                    if value.len() + chunk.len() > 1024 {
                        return Err(ApiError::BadRequest(format!(
                            "form field `{}` is too long (at most 1,024 bytes)",
                            crate::excerpt::excerpt(&name)
                        )));
                    }
                    value.extend_from_slice(&chunk);
                }
                let value = String::from_utf8(value).map_err(|_| {
                    ApiError::BadRequest(format!(
                        "form field `{}` is not UTF-8",
                        crate::excerpt::excerpt(&name)
                    ))
                })?;
                match name.as_str() {
                    "master" => fields.master = Some(value.trim().to_owned()),
                    "version" => {
                        fields.version = Some(value.trim().to_owned()).filter(|v| !v.is_empty())
                    }
                    "activate" => fields.activate = is_true(&value),
                    "partial" => fields.partial = is_true(&value),
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "unknown form field `{}`",
                            crate::excerpt::excerpt(other)
                        )))
                    }
                }
            }
        }
    }
    Ok((fields, files))
}

/// A form flag: `true`, `1`, `yes` or `on`.
fn is_true(value: &str) -> bool {
    matches!(value.trim(), "true" | "1" | "yes" | "on")
}

/// Which jobs to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct JobsQuery {
    /// How many of the most recent jobs (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// One job: state, progress while running, problems (file, line, column) when it failed, the
/// import report when it succeeded.
#[utoipa::path(
    tag = "releases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope),
        (status = 404, description = "No such job", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/jobs/{id}")]
pub async fn get_job(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<JobId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let store = state.store.clone();
    let job = blocking(move || Ok(JobView::from(store.job(id)?))).await?;
    Ok(HttpResponse::Ok().json(job))
}

/// The most recent jobs, newest first.
#[utoipa::path(
    tag = "releases",
    security(("bearer" = [])),
    params(JobsQuery),
    responses(
        (status = 200, description = "Jobs", body = Vec<JobView>),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/jobs")]
pub async fn list_jobs(
    _: Admin,
    state: web::Data<AppState>,
    query: web::Query<JobsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be 1–200".into()));
    }
    let store = state.store.clone();
    let jobs = blocking(move || Ok(store.recent_jobs(limit)?)).await?;
    let jobs: Vec<JobView> = jobs.into_iter().map(JobView::from).collect();
    Ok(HttpResponse::Ok().json(jobs))
}
