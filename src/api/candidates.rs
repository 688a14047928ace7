//! Candidate targets for a project's local codes: a job computes them (with progress), and
//! each local code's candidates can then be read.

use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Mapper, Reader};
use super::dto::jobs::JobView;
use super::dto::mapping::StoredCandidate;
use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::app;
use crate::ids::{JobId, ProjectId};
use crate::store::job_fields::{CandidatesRequest, JobRequest};
use crate::store::jobs::{JobKind, NewJob};

/// A job just queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    #[schema(value_type = i64)]
    pub job: JobId,
    /// Where to follow it.
    pub href: String,
}

/// Starts computing the top candidates of every local code of the project (not withdrawn) in
/// its target systems, from each master's current release; 202 with the job to follow.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    responses(
        (status = 202, description = "Queued", body = JobAccepted),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 403, description = "Not a mapper", body = super::ErrorEnvelope),
        (status = 404, description = "No such project", body = super::ErrorEnvelope)
    )
)]
#[post("/v1/mapping/projects/{id}/candidates")]
pub async fn start_candidates(
    mapper: Mapper,
    state: web::Data<AppState>,
    path: web::Path<ProjectId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let actor = mapper.0.actor();
    let store = state.store.clone();
    let node = state.config.node.clone();
    let runner = state.jobs.clone();
    let job = blocking(move || {
        store.project(id)?;
        let request = JobRequest::Candidates(CandidatesRequest { project: id });
        let new = NewJob {
            kind: JobKind::MappingCandidates,
            master: "mapping",
            node: &node,
            created_by: &actor,
            request: &request,
            upload_store: None,
        };
        let target = Some(format!("mapping_project:{id}"));
        let job = app::jobs::queue(&store, "compute_candidates", target, &new, None, |job| {
            format!("job {job}")
        })?;
        runner.notify();
        Ok(job)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(JobAccepted {
        job,
        href: format!("/v1/mapping/jobs/{job}"),
    }))
}

/// A candidates job: state, progress (`done` of `local_codes`) and result.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such candidates job", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/jobs/{id}")]
pub async fn candidates_job(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<JobId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let store = state.store.clone();
    let view = blocking(move || {
        let view = store.job(id)?;
        if view.kind != JobKind::MappingCandidates {
            return Err(ApiError::NotFound(format!("no candidates job {id}")));
        }
        Ok(JobView::from(view))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The candidates the last job found for one local code, best first (score 0–1, reasons).
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id"),
        ("code" = String, Path, description = "Local code")
    ),
    responses(
        (status = 200, description = "Candidates", body = Vec<StoredCandidate>),
        (status = 401, description = "No or bad API key", body = super::ErrorEnvelope),
        (status = 404, description = "No such project or local code", body = super::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/projects/{id}/mappings/{code}/candidates")]
pub async fn list_candidates(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<(ProjectId, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let store = state.store.clone();
    let candidates: Vec<StoredCandidate> =
        blocking(move || Ok(super::dto::all(store.candidates(id, &code)?))).await?;
    Ok(HttpResponse::Ok().json(candidates))
}
