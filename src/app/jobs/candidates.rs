//! The candidates job: the top candidates of every local code of a mapping project (not
//! withdrawn) in its target systems, from each master's current release, written in batches
//! with the job's progress. A retry recomputes them all (the batches replace what is there).

use std::collections::HashMap;

use super::{JobContext, Tried};
use crate::ids::{ProjectId, ReleaseId};
use crate::mapping::candidates::{Candidate, LocalTerm, Suggester};
use crate::search::SearchError;
use crate::store::job_fields::{CandidatesResult, JobProblems, JobProgress, JobRequest, JobResult};
use crate::store::jobs::{JobRow, JobState, Lease};
use crate::store::StoreError;
use crate::systems::{self, Master};

/// Candidates kept per local code.
pub const PER_CODE: usize = 5;
/// Local codes scored between two progress reports (and written in one transaction).
const BATCH: usize = 250;

/// Runs a candidates job to its end, recording progress and the outcome on the job.
pub fn run(ctx: &JobContext, job: &JobRow, lease: Lease) -> Tried {
    let project = match &*job.request {
        JobRequest::Candidates(r) => Some(r.project),
        _ => None,
    };
    let outcome = match project {
        Some(project) => compute(ctx, project, lease).map(JobResult::Candidates),
        None => Err(SearchError::Store(StoreError::Corrupt(format!(
            "job {}: no project in the request",
            lease.id
        )))),
    };
    let (state, ended) = match outcome {
        Ok(result) => (
            JobState::Succeeded,
            ctx.store.finish_job(
                lease,
                JobState::Succeeded,
                &JobProblems::none(),
                Some(&result),
            ),
        ),
        Err(SearchError::Store(StoreError::Connect(why))) => {
            return Tried::Again {
                problems: JobProblems::one(
                    "database_unavailable",
                    "the database was not available in any try of the job",
                    "start it again once the database is back (GET /readyz)",
                ),
                why,
            }
        }
        Err(e) => {
            tracing::error!(job = lease.id.get(), ?project, error = %e, "candidates job failed");
            let problems = JobProblems::one(
                "failed",
                "the candidates job failed; see the server log",
                "start it again",
            );
            (
                JobState::Failed,
                ctx.store
                    .finish_job(lease, JobState::Failed, &problems, None),
            )
        }
    };
    Tried::recorded(state, ended, lease)
}

fn compute(
    ctx: &JobContext,
    project_id: ProjectId,
    lease: Lease,
) -> Result<CandidatesResult, SearchError> {
    let store = &ctx.store;
    let started = std::time::Instant::now();
    let project = store.project(project_id)?;
    let targets: Vec<&'static str> = project
        .target_systems
        .iter()
        .filter_map(|k| systems::by_key(k).map(|s| s.key))
        .collect();
    let mut releases: HashMap<Master, ReleaseId> = HashMap::new();
    for key in &targets {
        if let Some(system) = systems::by_key(key) {
            if let Some(r) = store.current_release(system.master)? {
                releases.insert(system.master, r.id);
            }
        }
    }
    let ids: Vec<ReleaseId> = releases.values().copied().collect();
    let snapshot = ctx.search.snapshot_holding(store, &ids)?;
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
            lease,
            &JobProgress::LocalCodes {
                local_codes: total,
                done,
            },
        )?;
    }
    Ok(CandidatesResult {
        project: project_id,
        local_codes: total,
        candidates: written,
        seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    })
}
