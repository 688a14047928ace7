//! Background jobs as stored, shared by every node: kind, state, progress and outcome, and
//! the claims of the job runner (`crate::app::jobs`). A node claims a queued job in one
//! statement (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite's write lock), which makes it
//! `running` under that node and numbers the claim (`attempts`): the number fences every
//! later write of the claim, so a node whose job was taken over can neither end it nor
//! report progress on it.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::job_fields::{JobProblems, JobProgress, JobRequest, JobResult, WaitPhase};
use super::json_text::JsonText;
use super::schema::jobs;
use super::{AnyConnection, Missing, Store, StoreError};
use crate::ids::{JobId, ReleaseId};

/// Where a job stands.
// Stored as its `as_str` spelling (`crate::store::text_column`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting to be claimed by a node with a free worker (`progress.note` says why it
    /// waits: an earlier import of its master, a retry's backoff, or busy workers).
    Queued,
    Running,
    Succeeded,
    /// Ended without a result; `problems` says why.
    Failed,
}

impl JobState {
    /// The stored and shown spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    /// Every state, in the order a job goes through them.
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
    ];

    /// Queued or running: the job has not ended.
    pub const UNFINISHED: [JobState; 2] = [JobState::Queued, JobState::Running];
}

crate::text_column!(JobState);

/// What a job does.
// Stored as its `as_str` spelling (`crate::store::text_column`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Imports an uploaded release (`POST /v1/releases`); its files are in the upload store.
    ImportRelease,
    /// Computes the candidates of a mapping project's local codes.
    MappingCandidates,
    /// Re-checks the approved mappings of a master whose current release changed.
    RecheckMappings,
}

impl JobKind {
    /// The stored and shown spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::ImportRelease => "import_release",
            JobKind::MappingCandidates => "mapping_candidates",
            JobKind::RecheckMappings => "recheck_mappings",
        }
    }

    /// Every kind.
    pub const ALL: [JobKind; 3] = [
        JobKind::ImportRelease,
        JobKind::MappingCandidates,
        JobKind::RecheckMappings,
    ];
}

crate::text_column!(JobKind);

/// A job as stored, its JSON columns typed ([`super::job_fields`]).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: JobId,
    pub kind: JobKind,
    pub master: String,
    pub state: JobState,
    pub node: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub request: JsonText<JobRequest>,
    pub progress: JsonText<JobProgress>,
    pub problems: JsonText<JobProblems>,
    pub result: Option<JsonText<JobResult>>,
    pub release_id: Option<ReleaseId>,
    pub attempts: i32,
    pub run_after: Option<NaiveDateTime>,
    pub upload_store: Option<String>,
}

/// A job as its readers see it (`crate::api` answers with it): a queued one says why it
/// waits ([`Store::job`], [`Store::recent_jobs`]).
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub master: String,
    pub state: JobState,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// When the current (or last) attempt started.
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    /// How many times a node started the job.
    pub attempts: i32,
    pub request: JobRequest,
    pub progress: JobProgress,
    pub problems: JobProblems,
    /// What the job found or did, once it succeeded.
    pub result: Option<JobResult>,
    /// The release the job created (or found identical).
    pub release_id: Option<ReleaseId>,
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Self {
        Job {
            request: row.request.into_inner(),
            progress: row.progress.into_inner(),
            problems: row.problems.into_inner(),
            result: row.result.map(JsonText::into_inner),
            id: row.id,
            kind: row.kind,
            master: row.master,
            state: row.state,
            created_by: row.created_by,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            attempts: row.attempts,
            release_id: row.release_id,
        }
    }
}

/// One claim of a job: its id and the claim's number. Every write of a running job names
/// its lease, and does nothing once the job was claimed again (taken over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lease {
    pub id: JobId,
    pub attempt: i32,
}

/// A job to queue.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    pub kind: JobKind,
    /// The master it concerns (`mapping` for candidates).
    pub master: &'a str,
    /// The node that queued it.
    pub node: &'a str,
    pub created_by: &'a str,
    /// What was asked, as the job record shows it.
    pub request: &'a JobRequest,
    /// The upload store holding its files (jobs/ID/), when it has files.
    pub upload_store: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = jobs)]
struct JobInsert<'a> {
    kind: JobKind,
    master: &'a str,
    state: JobState,
    node: &'a str,
    created_by: &'a str,
    created_at: NaiveDateTime,
    request: JsonText<JobRequest>,
    progress: JsonText<JobProgress>,
    problems: JsonText<JobProblems>,
    heartbeat_at: Option<NaiveDateTime>,
    upload_store: Option<&'a str>,
}

/// What a job is told to do when it cannot go on: how to have the work done again.
pub fn fix_for(kind: JobKind) -> &'static str {
    match kind {
        JobKind::ImportRelease => "upload the release again",
        JobKind::MappingCandidates => "start the candidates job again",
        JobKind::RecheckMappings => "the next change of a current release re-checks again",
    }
}

/// Queues a job on `conn`; returns its id.
pub fn create_job(conn: &mut AnyConnection, job: &NewJob<'_>) -> Result<JobId, StoreError> {
    let created_at = Utc::now().naive_utc();
    diesel::insert_into(jobs::table)
        .values(JobInsert {
            kind: job.kind,
            master: job.master,
            state: JobState::Queued,
            node: job.node,
            created_by: job.created_by,
            created_at,
            request: JsonText(job.request.clone()),
            progress: JsonText(JobProgress::Waiting {
                phase: WaitPhase::Queued,
                note: None,
            }),
            problems: JsonText(JobProblems::none()),
            heartbeat_at: None,
            upload_store: job.upload_store,
        })
        .execute(conn)?;
    Ok(jobs::table
        .filter(jobs::node.eq(job.node))
        .filter(jobs::created_at.eq(created_at))
        .order(jobs::id.desc())
        .select(jobs::id)
        .first(conn)?)
}

/// The id of the unfinished job of `kind` and `master`, if there is one.
pub fn unfinished(
    conn: &mut AnyConnection,
    kind: JobKind,
    master: &str,
) -> Result<Option<JobId>, StoreError> {
    Ok(jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::master.eq(master))
        .filter(jobs::state.eq_any(JobState::UNFINISHED))
        .select(jobs::id)
        .first(conn)
        .optional()?)
}

/// Of the job ids `ids`, those that exist, each with whether it has not ended.
pub fn unfinished_among(
    conn: &mut AnyConnection,
    ids: &[JobId],
) -> Result<Vec<(JobId, bool)>, StoreError> {
    let found: Vec<(JobId, JobState)> = jobs::table
        .filter(jobs::id.eq_any(ids))
        .select((jobs::id, jobs::state))
        .load(conn)?;
    Ok(found
        .into_iter()
        .map(|(id, state)| (id, JobState::UNFINISHED.contains(&state)))
        .collect())
}

/// What a claimable job is, in SQL over `jobs j`, with two binds: now, and the claiming node's
/// upload store. Imports of one master wait for every earlier one (upload order).
const CLAIMABLE: &str = "j.state = 'queued' \
     AND (j.run_after IS NULL OR j.run_after <= ?) \
     AND (j.upload_store IS NULL OR j.upload_store = ?) \
     AND NOT (j.kind = 'import_release' AND j.upload_store IS NULL) \
     AND NOT (j.kind = 'import_release' AND EXISTS (SELECT 1 FROM jobs e \
         WHERE e.kind = j.kind AND e.master = j.master AND e.id < j.id \
         AND e.state IN ('queued', 'running')))";

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: JobId,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

/// `sql` with its `?` placeholders numbered for PostgreSQL (`$1`, `$2`, …).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// Claims the first claimable job (lowest id) for `node`, whose upload store is
/// `upload_store`: it becomes `running` under that node with a new lease. `None` when no job
/// may run now. One statement: two nodes never claim the same job.
pub fn claim(
    conn: &mut AnyConnection,
    node: &str,
    upload_store: &str,
) -> Result<Option<(JobRow, Lease)>, StoreError> {
    use diesel::sql_types::{Text, Timestamp};
    let now = Utc::now().naive_utc();
    // A read first, so that an idle node asks for no write lock.
    let peek =
        format!("SELECT j.id, j.attempts FROM jobs j WHERE {CLAIMABLE} ORDER BY j.id LIMIT 1");
    let pg = matches!(conn, AnyConnection::Postgres(_));
    let waiting: Vec<Claimed> = crate::with_backend!(conn, |c| {
        let sql = if pg { numbered(&peek) } else { peek.clone() };
        diesel::sql_query(sql)
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(upload_store)
            .load(c)?
    });
    if waiting.is_empty() {
        return Ok(None);
    }
    let update = |lock: &str| {
        format!(
            "UPDATE jobs SET state = 'running', node = ?, started_at = ?, heartbeat_at = ?, \
             attempts = attempts + 1, run_after = NULL, progress = '{{\"phase\":\"starting\"}}' \
             WHERE state = 'queued' AND id = (SELECT j.id FROM jobs j WHERE {CLAIMABLE} \
             ORDER BY j.id LIMIT 1{lock}) RETURNING id, attempts"
        )
    };
    let claimed: Vec<Claimed> = crate::with_backend!(conn, |c| {
        let sql = if pg {
            numbered(&update(" FOR UPDATE OF j SKIP LOCKED"))
        } else {
            update("")
        };
        diesel::sql_query(sql)
            .bind::<Text, _>(node)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(upload_store)
            .load(c)?
    });
    let Some(claimed) = claimed.into_iter().next() else {
        return Ok(None);
    };
    let lease = Lease {
        id: claimed.id,
        attempt: claimed.attempts,
    };
    let row = jobs::table
        .find(claimed.id)
        .select(JobRow::as_select())
        .first(conn);
    match row {
        Ok(row) => Ok(Some((row, lease))),
        // A record that does not decode cannot be run: it ends failed, saying why, rather
        // than be claimed again and again.
        Err(diesel::result::Error::DeserializationError(e)) => {
            let e = super::causes(e.as_ref());
            tracing::error!(job = lease.id.get(), error = %e, "a claimed job's record cannot be read");
            let kind: JobKind = jobs::table.find(lease.id).select(jobs::kind).first(conn)?;
            let message = format!("the job's record cannot be read: {e}");
            finish_job(
                conn,
                lease,
                JobState::Failed,
                &JobProblems::one("damaged", &message, fix_for(kind)),
                None,
                None,
            )?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The running job of `lease`, still held by that claim.
macro_rules! held {
    ($lease:expr) => {
        jobs::table
            .filter(jobs::id.eq($lease.id))
            .filter(jobs::attempts.eq($lease.attempt))
            .filter(jobs::state.eq(JobState::Running))
    };
}

/// The refusal of a write by a claim that is no longer the job's.
fn taken_over(lease: Lease) -> StoreError {
    StoreError::Conflict(format!(
        "job {} was taken over by another node (its try {} ended)",
        lease.id, lease.attempt
    ))
}

/// Ends the job of `lease` on `conn`: `succeeded` with a result, or `failed` with problems.
/// Refused ([`StoreError::Conflict`]) when the job was taken over meanwhile, so that the
/// transaction it is part of rolls back. An import records its job's end in its own
/// transaction (`crate::app::releases::import`).
pub fn finish_job(
    conn: &mut AnyConnection,
    lease: Lease,
    state: JobState,
    problems: &JobProblems,
    result: Option<&JobResult>,
    release_id: Option<ReleaseId>,
) -> Result<(), StoreError> {
    let updated = diesel::update(held!(lease))
        .set((
            jobs::state.eq(state),
            jobs::finished_at.eq(Some(Utc::now().naive_utc())),
            jobs::problems.eq(JsonText(problems.clone())),
            jobs::result.eq(result.cloned().map(JsonText)),
            jobs::release_id.eq(release_id),
        ))
        .execute(conn)?;
    if updated == 1 {
        Ok(())
    } else {
        Err(taken_over(lease))
    }
}

/// Puts the job of `lease` back in the queue, claimable again from `after`, with `note` as
/// its progress. Refused when the job was taken over meanwhile.
pub fn retry_later(
    conn: &mut AnyConnection,
    lease: Lease,
    after: NaiveDateTime,
    note: &str,
) -> Result<(), StoreError> {
    let updated = diesel::update(held!(lease))
        .set((
            jobs::state.eq(JobState::Queued),
            jobs::run_after.eq(Some(after)),
            jobs::progress.eq(JsonText(JobProgress::queued(note))),
        ))
        .execute(conn)?;
    if updated == 1 {
        Ok(())
    } else {
        Err(taken_over(lease))
    }
}

/// How long a job waits before its try after `attempt`: 1 s, doubling, at most a minute.
pub fn backoff(attempt: i32) -> std::time::Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(6);
    std::time::Duration::from_secs(1 << doublings)
}

/// What [`take_over_stale`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TakenOver {
    /// Queued again for any node.
    pub requeued: usize,
    /// Failed: their last try was interrupted.
    pub failed: usize,
}

/// Takes over the running jobs whose node stopped (no heartbeat for `stale`): each is queued
/// again for any node, after its backoff, or failed when it has had `max_attempts` tries.
/// Any node may do it, whatever the jobs' node names: a job whose node is alive keeps beating.
pub fn take_over_stale(
    conn: &mut AnyConnection,
    stale: std::time::Duration,
    max_attempts: i32,
) -> Result<TakenOver, StoreError> {
    let now = Utc::now().naive_utc();
    let before = now - chrono::Duration::from_std(stale).unwrap_or(chrono::Duration::MAX);
    let silent = || {
        jobs::table
            .filter(jobs::state.eq(JobState::Running))
            .filter(
                jobs::heartbeat_at
                    .lt(before)
                    .or(jobs::heartbeat_at.is_null()),
            )
    };
    let found: Vec<(JobId, i32, String, JobKind)> = silent()
        .select((jobs::id, jobs::attempts, jobs::node, jobs::kind))
        .load(conn)?;
    let mut done = TakenOver::default();
    for (id, attempt, node, kind) in found {
        let this = silent()
            .filter(jobs::id.eq(id))
            .filter(jobs::attempts.eq(attempt));
        let node = crate::excerpt::excerpt(&node);
        if attempt < max_attempts {
            let after = now + chrono::Duration::from_std(backoff(attempt)).unwrap_or_default();
            let note = format!(
                "node {node} stopped during try {attempt} of {max_attempts}; any node takes the job up again"
            );
            done.requeued += diesel::update(this)
                .set((
                    jobs::state.eq(JobState::Queued),
                    jobs::run_after.eq(Some(after)),
                    jobs::progress.eq(JsonText(JobProgress::queued(note))),
                ))
                .execute(conn)?;
        } else {
            let fix = fix_for(kind);
            let message = format!(
                "the node running the job stopped before the job finished, in each of its {attempt} tries (the last on node {node})"
            );
            done.failed += diesel::update(this)
                .set((
                    jobs::state.eq(JobState::Failed),
                    jobs::finished_at.eq(Some(now)),
                    jobs::problems.eq(JsonText(JobProblems::one("interrupted", &message, fix))),
                ))
                .execute(conn)?;
        }
    }
    Ok(done)
}

/// Says that the claims `leases` still run; returns those that no longer hold their job
/// (taken over while this node was silent, or ended).
pub fn beat(conn: &mut AnyConnection, leases: &[Lease]) -> Result<Vec<Lease>, StoreError> {
    let now = Utc::now().naive_utc();
    let mut lost = Vec::new();
    for &lease in leases {
        let updated = diesel::update(held!(lease))
            .set(jobs::heartbeat_at.eq(Some(now)))
            .execute(conn)?;
        if updated == 0 {
            lost.push(lease);
        }
    }
    Ok(lost)
}

/// Records the progress of the job of `lease` (nothing once it was taken over).
pub fn job_progress(
    conn: &mut AnyConnection,
    lease: Lease,
    progress: &JobProgress,
) -> Result<(), StoreError> {
    diesel::update(held!(lease))
        .set(jobs::progress.eq(JsonText(progress.clone())))
        .execute(conn)?;
    Ok(())
}

/// A job as the API shows it, a queued one with why it waits ([`explain_wait`]).
fn view_of(conn: &mut AnyConnection, row: JobRow) -> Result<Job, StoreError> {
    let after = row.run_after;
    let mut view = Job::from(row);
    explain_wait(conn, &mut view, after)?;
    Ok(view)
}

/// Says why a queued job waits, in its progress note, from what the database says now: an
/// earlier import of its master, or a retry's backoff (whose note is kept), or busy workers.
fn explain_wait(
    conn: &mut AnyConnection,
    view: &mut Job,
    row_after: Option<NaiveDateTime>,
) -> Result<(), StoreError> {
    if view.state != JobState::Queued {
        return Ok(());
    }
    let earlier: Option<JobId> = if view.kind == JobKind::ImportRelease {
        jobs::table
            .filter(jobs::kind.eq(view.kind))
            .filter(jobs::master.eq(&view.master))
            .filter(jobs::id.lt(view.id))
            .filter(jobs::state.eq_any(JobState::UNFINISHED))
            .order(jobs::id.asc())
            .select(jobs::id)
            .first(conn)
            .optional()?
    } else {
        None
    };
    let note = match (earlier, row_after) {
        (Some(earlier), _) => {
            format!("waiting for job {earlier}: imports of one master run in upload order")
        }
        (None, Some(after)) if after > Utc::now().naive_utc() => return Ok(()),
        (None, _) => format!(
            "waiting for a free worker: each node runs at most {} at once",
            crate::limits::Limit::ConcurrentJobs.env()
        ),
    };
    view.progress = JobProgress::queued(note);
    Ok(())
}

impl Store {
    /// One job.
    pub fn job(&self, id: JobId) -> Result<Job, StoreError> {
        let mut conn = self.conn()?;
        let row = jobs::table
            .find(id)
            .select(JobRow::as_select())
            .first(&mut *conn)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(Missing::Job, format!("no job with id {id}")))?;
        view_of(&mut conn, row)
    }

    /// The most recent jobs, newest first.
    pub fn recent_jobs(&self, limit: i64) -> Result<Vec<Job>, StoreError> {
        let mut conn = self.conn()?;
        let rows = jobs::table
            .order(jobs::id.desc())
            .limit(limit)
            .select(JobRow::as_select())
            .load(&mut *conn)?;
        rows.into_iter()
            .map(|row| view_of(&mut conn, row))
            .collect()
    }

    /// Records the progress of a running job ([`job_progress`]).
    pub fn job_progress(&self, lease: Lease, progress: &JobProgress) -> Result<(), StoreError> {
        job_progress(&mut *self.conn()?, lease, progress)
    }

    /// Whether the claim `lease` still holds its job (not taken over, not ended).
    pub fn holds(&self, lease: Lease) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        Ok(held!(lease).count().get_result::<i64>(&mut *conn)? == 1)
    }

    /// Ends a job ([`finish_job`]).
    pub fn finish_job(
        &self,
        lease: Lease,
        state: JobState,
        problems: &JobProblems,
        result: Option<&JobResult>,
    ) -> Result<(), StoreError> {
        finish_job(&mut *self.conn()?, lease, state, problems, result, None)
    }
}
