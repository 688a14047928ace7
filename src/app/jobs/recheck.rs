//! The re-check job: when a master's current release changes (an activation on any node, or
//! a dated one taking effect), each node that notices queues one `recheck_mappings` job for
//! the master (at most one waits or runs per master), and any node runs it. The check's
//! record and its flags commit together, so a try that a stopped node left half done is done
//! again whole by the next, and a try after a finished check finds nothing to do.

use diesel::Connection;

use super::{JobContext, Tried};
use crate::ids::JobId;
use crate::store::job_fields::{
    JobProblems, JobRequest, JobResult, RecheckRequest, RecheckResult, RecheckSkipped,
};
use crate::store::jobs::{create_job, unfinished, JobKind, JobRow, JobState, Lease, NewJob};
use crate::store::recheck::RECHECK_ACTOR;
use crate::store::{Store, StoreError};
use crate::systems::Master;

/// Queues a re-check job for every master whose mappings were not checked against its current
/// release and that has none waiting; returns the ids queued. A node that queues one at the
/// same moment as another finds the other's (one unfinished re-check per master).
pub fn queue_due(store: &Store, node: &str) -> Result<Vec<JobId>, StoreError> {
    let mut queued = Vec::new();
    for master in store.masters_to_recheck()? {
        let mut conn = store.conn()?;
        let request = JobRequest::Recheck(RecheckRequest {
            master: master.key().to_owned(),
        });
        let job = NewJob {
            kind: JobKind::RecheckMappings,
            master: master.key(),
            node,
            created_by: RECHECK_ACTOR,
            request: &request,
            upload_store: None,
        };
        let created = conn.transaction(|conn| match unfinished(conn, job.kind, job.master)? {
            Some(_) => Ok(None),
            None => create_job(conn, &job).map(Some),
        });
        match created {
            Ok(Some(id)) => queued.push(id),
            Ok(None) => {}
            Err(StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(queued)
}

/// Re-checks the job's master and records what was found.
pub fn run(ctx: &JobContext, job: &JobRow, lease: Lease) -> Tried {
    let (state, ended) = match job.master.parse::<Master>() {
        Err(e) => (
            JobState::Failed,
            ctx.store.finish_job(
                lease,
                JobState::Failed,
                &JobProblems::one(
                    "damaged",
                    &e,
                    "nothing: the next change of a current release re-checks",
                ),
                None,
            ),
        ),
        Ok(master) => match ctx.store.recheck_master(master) {
            Ok(report) => {
                let master = master.key().to_owned();
                let result = match report {
                    Some(r) => JobResult::Recheck(RecheckResult {
                        master,
                        checked: r.checked,
                        needs_review: r.needs_review.len(),
                        cosmetic: r.cosmetic.len(),
                        release: r
                            .needs_review
                            .iter()
                            .chain(&r.cosmetic)
                            .next()
                            .map(|a| a.release.clone()),
                    }),
                    None => JobResult::RecheckSkipped(RecheckSkipped {
                        master,
                        checked: 0,
                        note: "already checked against the current release".to_owned(),
                    }),
                };
                (
                    JobState::Succeeded,
                    ctx.store.finish_job(
                        lease,
                        JobState::Succeeded,
                        &JobProblems::none(),
                        Some(&result),
                    ),
                )
            }
            Err(StoreError::Connect(why)) => {
                return Tried::Again {
                    why,
                    problems: JobProblems::one(
                        "database_unavailable",
                        "the database was not available in any try of the re-check",
                        "nothing: the next node that sees the current release queues it again",
                    ),
                }
            }
            Err(e) => {
                tracing::error!(job = lease.id.get(), %master, error = %e, "mapping re-check failed");
                (
                    JobState::Failed,
                    ctx.store.finish_job(
                        lease,
                        JobState::Failed,
                        &JobProblems::one(
                            "failed",
                            "the re-check failed; see the server log",
                            "nothing: the next node that sees the current release queues it again",
                        ),
                        None,
                    ),
                )
            }
        },
    };
    Tried::recorded(state, ended, lease)
}
