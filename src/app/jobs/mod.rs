//! Background jobs: queueing one is a write like any other, with its audit row; running them
//! is the job runner's ([`runner::Runner`]): every node with free workers claims queued jobs
//! from the `jobs` table, so a job survives the node that received it.
//!
//! | kind | queued by | files | a retry is safe because |
//! |---|---|---|---|
//! | `import_release` | `POST /v1/releases` | upload store, `jobs/ID/` | the import and the job's end commit together |
//! | `mapping_candidates` | `POST /v1/mapping/projects/{id}/candidates` | — | it replaces the project's candidates |
//! | `recheck_mappings` | each node, when a master's current release changes | — | the check's record and its flags commit together |

pub mod candidates;
pub mod import;
pub mod recheck;
pub mod runner;
pub mod upload_store;

use std::path::Path;
use std::sync::Arc;

use super::{command_on, Audit};
use crate::ids::JobId;
use crate::limits::Limits;
use crate::search::SearchIndex;
use crate::store::jobs::{create_job, JobKind, JobRow, JobState, Lease, NewJob};
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
pub use upload_store::UploadStore;

/// What jobs need to run, on one node.
#[derive(Clone)]
pub struct JobContext {
    pub store: Store,
    /// The node's search index (candidates).
    pub search: Arc<SearchIndex>,
    pub limits: Limits,
    pub uploads: UploadStore,
    /// This node's name, in the jobs it claims.
    pub node: String,
    /// The node's metrics: jobs' ends, imports.
    pub metrics: Arc<Metrics>,
    /// Called after a job changed releases (an import), so that the node's caches forget.
    pub releases_changed: Arc<dyn Fn() + Send + Sync>,
}

/// How a job's try ended, as its body reports it to the runner.
#[derive(Debug)]
pub enum Tried {
    /// The body recorded the job's end itself: succeeded or failed.
    Ended { succeeded: bool },
    /// The body could not record the job's end: another node took the job over, or the
    /// database refused the write (logged; the job is taken over once its heartbeat is stale).
    Lost,
    /// A passing failure (the database was away): try again after a backoff, or fail with
    /// `problems` once the job has had its tries.
    Again {
        why: String,
        problems: crate::store::job_fields::JobProblems,
    },
}

impl Tried {
    /// What recording a job's end as `state` came to (an error is logged).
    fn recorded(state: JobState, recorded: Result<(), StoreError>, lease: Lease) -> Tried {
        match recorded {
            Ok(()) => Tried::Ended {
                succeeded: state == JobState::Succeeded,
            },
            Err(e) => {
                tracing::error!(job = lease.id.get(), error = %e, "cannot record the end of a job");
                Tried::Lost
            }
        }
    }
}

/// Runs one claimed job's body.
fn run_body(ctx: &JobContext, job: &JobRow, lease: Lease) -> Tried {
    match job.kind {
        JobKind::ImportRelease => import::run(ctx, job, lease),
        JobKind::MappingCandidates => candidates::run(ctx, job, lease),
        JobKind::RecheckMappings => recheck::run(ctx, job, lease),
    }
}

/// Queues `job` with its audit row in one transaction; returns the job id. The audit row's
/// target is `target`, or `job:ID` without one; its detail is what `detail` says of the id.
/// `files`, when given, is a received upload folder moved to the job in the same transaction.
pub fn queue(
    store: &Store,
    action: &'static str,
    target: Option<String>,
    job: &NewJob<'_>,
    files: Option<(&UploadStore, &Path)>,
    detail: impl FnOnce(JobId) -> String,
) -> Result<JobId, StoreError> {
    let failed_as = target.clone().unwrap_or_else(|| "job".to_owned());
    command_on(
        store,
        &Audit::new(job.created_by, action, failed_as),
        |conn| {
            let id = create_job(conn, job)?;
            if let Some((uploads, dir)) = files {
                uploads.keep(dir, id)?;
            }
            Ok(id)
        },
        |id| {
            let target = target.unwrap_or_else(|| format!("job:{id}"));
            (target, detail(*id))
        },
    )
}
