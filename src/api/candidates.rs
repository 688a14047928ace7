//! Candidate targets for a project's local codes: a job computes them (with progress), and
//! each local code's candidates can then be read.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Mapper, Reader};
use super::error::ApiError;
use super::resolve::blocking;
use super::AppState;
use crate::app;
use crate::mapping::candidates::{Candidate, LocalTerm, Suggester};
use crate::search::SearchIndex;
use crate::store::jobs::{JobState, JobView};
use crate::store::mapping::StoredCandidate;
use crate::store::Store;
use crate::systems::{self, Master};

/// The job kind in `/v1/mapping/jobs/{id}`.
pub const JOB_KIND: &str = "mapping_candidates";
/// Candidates kept per local code.
pub const PER_CODE: usize = 5;
/// Local codes scored between two progress reports (and written in one transaction).
const BATCH: usize = 250;

/// A job just queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    pub job: i64,
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
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let actor = mapper.0.actor();
    let store = state.store.clone();
    let search = state.search.clone();
    let node = state.config.node.clone();
    let queue = state.jobs.clone();
    let job = blocking(move || {
        store.project(id)?;
        let request = serde_json::json!({"project": id});
        let new = app::jobs::NewJob {
            kind: JOB_KIND,
            master: "mapping",
            node: &node,
            request: &request,
        };
        let target = Some(format!("mapping_project:{id}"));
        let job = app::jobs::queue(&store, &actor, "compute_candidates", target, &new, |job| {
            format!("job {job}")
        })?;
        let runner_store = store.clone();
        let held = queue.hold(job);
        let spawned = std::thread::Builder::new()
            .name(format!("candidates-{job}"))
            .spawn(move || {
                let _held = held;
                let _slot = queue.acquire_noting(&runner_store, job, &node);
                run(&runner_store, &search, id, job)
            });
        if let Err(e) = spawned {
            return Err(ApiError::Internal(format!(
                "cannot start the candidates job: {e}"
            )));
        }
        Ok(job)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(JobAccepted {
        job,
        href: format!("/v1/mapping/jobs/{job}"),
    }))
}

/// Runs a candidates job to its end, recording progress and the outcome on the job.
fn run(store: &Store, search: &Arc<SearchIndex>, project: i64, job: i64) {
    let outcome = compute(store, search, project, job);
    let finished = match &outcome {
        Ok(result) => store.finish_job(
            job,
            JobState::Succeeded,
            &serde_json::json!({"total": 0, "items": []}),
            Some(result),
            None,
        ),
        Err(e) => {
            tracing::error!(job, project, error = %e, "candidates job failed");
            let problems = serde_json::json!({"total": 1, "items": [{"file": "", "kind": "failed",
                "message": "the candidates job failed; see the server log", "fix": "start it again"}]});
            store.finish_job(job, JobState::Failed, &problems, None, None)
        }
    };
    if let Err(e) = finished {
        tracing::error!(job, error = %e, "cannot record the end of a candidates job");
    }
}

fn compute(
    store: &Store,
    search: &Arc<SearchIndex>,
    project_id: i64,
    job: i64,
) -> Result<serde_json::Value, ApiError> {
    let started = std::time::Instant::now();
    store.start_job(job)?;
    let project = store.project(project_id)?;
    let targets: Vec<&'static str> = project
        .target_systems
        .iter()
        .filter_map(|k| systems::by_key(k).map(|s| s.key))
        .collect();
    let mut releases: HashMap<Master, i64> = HashMap::new();
    for key in &targets {
        if let Some(system) = systems::by_key(key) {
            if let Some(r) = store.current_release(system.master)? {
                releases.insert(system.master, r.id);
            }
        }
    }
    let ids: Vec<i64> = releases.values().copied().collect();
    let snapshot = search.snapshot_holding(store, &ids)?;
    let terms = store.local_terms(project_id)?;
    let total = terms.len();
    let mut written = 0;
    let mut suggester = Suggester::new(&snapshot, &releases, &targets);
    for (n, chunk) in terms.chunks(BATCH).enumerate() {
        let mut batch: Vec<(String, Vec<Candidate>)> = Vec::with_capacity(chunk.len());
        for t in chunk {
            let term = LocalTerm {
                code: &t.code,
                name: &t.name,
                specimen: t.specimen.as_deref(),
                unit: t.unit.as_deref(),
            };
            batch.push((t.code.clone(), suggester.suggest(&term, PER_CODE)?));
        }
        written += store.store_candidates(project_id, &batch)?;
        let done = (n * BATCH + chunk.len()).min(total);
        store.job_progress(
            job,
            &serde_json::json!({"local_codes": total, "done": done}),
        )?;
    }
    Ok(serde_json::json!({
        "project": project_id,
        "local_codes": total,
        "candidates": written,
        "seconds": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
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
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let store = state.store.clone();
    let view = blocking(move || {
        let view = store.job(id)?;
        if view.kind != JOB_KIND {
            return Err(ApiError::NotFound(format!("no candidates job {id}")));
        }
        Ok(view)
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
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let store = state.store.clone();
    Ok(HttpResponse::Ok().json(blocking(move || Ok(store.candidates(id, &code)?)).await?))
}
