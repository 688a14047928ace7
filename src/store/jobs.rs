//! Background jobs (release uploads): state, progress and outcome, shared by every node.

use chrono::Utc;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::jobs;
use super::{AnyConnection, Store, StoreError};

/// Where a job stands.
// Stored as its `as_str` spelling (`crate::store::text_column`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its turn (an earlier import of its master, or a free job slot).
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

/// The kind of a release-import job.
pub const IMPORT_RELEASE: &str = "import_release";

/// A job as stored; the JSON columns are decoded in [`JobView`].
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub master: String,
    pub state: JobState,
    pub node: String,
    pub created_by: String,
    pub created_at: chrono::NaiveDateTime,
    pub started_at: Option<chrono::NaiveDateTime>,
    pub finished_at: Option<chrono::NaiveDateTime>,
    pub request: String,
    pub progress: String,
    pub problems: String,
    pub result: Option<String>,
    pub release_id: Option<i64>,
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    pub master: String,
    /// A queued job waits for an earlier import of its master (imports of one master run in
    /// upload order) or for a free job slot of its node; `progress.note` says which.
    pub state: JobState,
    pub created_by: String,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub created_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::timestamp::utc_opt")]
    pub started_at: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::timestamp::utc_opt")]
    pub finished_at: Option<chrono::NaiveDateTime>,
    /// What was asked: master, label, activate, files (name, size).
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// `{phase, done, total}` while running; `{phase: "queued", note}` while waiting.
    #[schema(value_type = Object)]
    pub progress: serde_json::Value,
    /// Problems that stopped the job: `{total, items: [{file, line, column, column_name, kind, message, fix}]}`.
    #[schema(value_type = Object)]
    pub problems: serde_json::Value,
    /// The import report when the job succeeded.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// The release the job created (or found identical).
    pub release_id: Option<i64>,
}

impl TryFrom<JobRow> for JobView {
    type Error = StoreError;
    fn try_from(row: JobRow) -> Result<Self, StoreError> {
        let parse = |s: &str| {
            serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("job {}: {e}", row.id)))
        };
        Ok(JobView {
            request: parse(&row.request)?,
            progress: parse(&row.progress)?,
            problems: parse(&row.problems)?,
            result: row.result.as_deref().map(parse).transpose()?,
            id: row.id,
            kind: row.kind,
            master: row.master,
            state: row.state,
            created_by: row.created_by,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            release_id: row.release_id,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = jobs)]
struct NewJob<'a> {
    kind: &'a str,
    master: &'a str,
    state: JobState,
    node: &'a str,
    created_by: &'a str,
    created_at: chrono::NaiveDateTime,
    request: &'a str,
    progress: &'a str,
    problems: &'a str,
    heartbeat_at: Option<chrono::NaiveDateTime>,
}

/// Queues a job on `conn`; returns its id.
pub fn create_job(
    conn: &mut AnyConnection,
    kind: &str,
    master: &str,
    node: &str,
    created_by: &str,
    request: &serde_json::Value,
) -> Result<i64, StoreError> {
    let created_at = Utc::now().naive_utc();
    let request = request.to_string();
    diesel::insert_into(jobs::table)
        .values(NewJob {
            kind,
            master,
            state: JobState::Queued,
            node,
            created_by,
            created_at,
            request: &request,
            progress: "{}",
            problems: r#"{"total":0,"items":[]}"#,
            heartbeat_at: Some(created_at),
        })
        .execute(conn)?;
    Ok(jobs::table
        .filter(jobs::node.eq(node))
        .filter(jobs::created_at.eq(created_at))
        .order(jobs::id.desc())
        .select(jobs::id)
        .first(conn)?)
}

/// Ends a job on `conn`: `succeeded` with a result, or `failed` with problems. An import
/// records its job's end in its own transaction (`crate::app::releases::import`), so a release
/// is never imported by a job that still says it is running.
pub fn finish_job(
    conn: &mut AnyConnection,
    id: i64,
    state: JobState,
    problems: &serde_json::Value,
    result: Option<&serde_json::Value>,
    release_id: Option<i64>,
) -> Result<(), StoreError> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::state.eq(state),
            jobs::finished_at.eq(Some(Utc::now().naive_utc())),
            jobs::problems.eq(problems.to_string()),
            jobs::result.eq(result.map(|r| r.to_string())),
            jobs::release_id.eq(release_id),
        ))
        .execute(conn)?;
    Ok(())
}

impl Store {
    /// One job.
    pub fn job(&self, id: i64) -> Result<JobView, StoreError> {
        let mut conn = self.conn()?;
        jobs::table
            .find(id)
            .select(JobRow::as_select())
            .first(&mut *conn)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no job with id {id}")))?
            .try_into()
    }

    /// The most recent jobs, newest first.
    pub fn recent_jobs(&self, limit: i64) -> Result<Vec<JobView>, StoreError> {
        let mut conn = self.conn()?;
        jobs::table
            .order(jobs::id.desc())
            .limit(limit)
            .select(JobRow::as_select())
            .load(&mut *conn)?
            .into_iter()
            .map(JobView::try_from)
            .collect()
    }

    /// The earliest job of `kind` and `master` created before `id` (lower id) that has not
    /// ended, on any node.
    pub fn earlier_unfinished_job(
        &self,
        id: i64,
        kind: &str,
        master: &str,
    ) -> Result<Option<i64>, StoreError> {
        let mut conn = self.conn()?;
        Ok(jobs::table
            .filter(jobs::kind.eq(kind))
            .filter(jobs::master.eq(master))
            .filter(jobs::id.lt(id))
            .filter(jobs::state.eq_any(JobState::UNFINISHED))
            .order(jobs::id.asc())
            .select(jobs::id)
            .first(&mut *conn)
            .optional()?)
    }

    /// Marks a job running.
    pub fn start_job(&self, id: i64) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        diesel::update(jobs::table.find(id))
            .set((
                jobs::state.eq(JobState::Running),
                jobs::started_at.eq(Some(Utc::now().naive_utc())),
            ))
            .execute(&mut *conn)?;
        Ok(())
    }

    /// Records progress of a running job.
    pub fn job_progress(&self, id: i64, progress: &serde_json::Value) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        diesel::update(jobs::table.find(id))
            .set(jobs::progress.eq(progress.to_string()))
            .execute(&mut *conn)?;
        Ok(())
    }

    /// Ends a job: `succeeded` with a result, or `failed` with problems ([`finish_job`]).
    pub fn finish_job(
        &self,
        id: i64,
        state: JobState,
        problems: &serde_json::Value,
        result: Option<&serde_json::Value>,
        release_id: Option<i64>,
    ) -> Result<(), StoreError> {
        finish_job(&mut *self.conn()?, id, state, problems, result, release_id)
    }

    /// Says that this node still holds the unfinished jobs `ids` (queued or running).
    pub fn beat(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn()?;
        diesel::update(
            jobs::table
                .filter(jobs::id.eq_any(ids))
                .filter(jobs::state.eq_any(JobState::UNFINISHED)),
        )
        .set(jobs::heartbeat_at.eq(Some(Utc::now().naive_utc())))
        .execute(&mut *conn)?;
        Ok(())
    }

    /// Fails the unfinished jobs whose node stopped: no heartbeat for `stale` (its files and
    /// worker are gone). Any node may do it, whatever the jobs' node names: a job whose node
    /// is alive keeps beating.
    pub fn fail_stale_jobs(&self, stale: std::time::Duration) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let stale = chrono::Duration::from_std(stale).unwrap_or(chrono::Duration::MAX);
        let before = Utc::now().naive_utc() - stale;
        let problems = serde_json::json!({"total": 1, "items": [{
            "file": "(job)", "kind": "interrupted",
            "message": "the node running the job stopped before the job finished",
            "fix": "upload the release again"
        }]});
        Ok(diesel::update(
            jobs::table
                .filter(jobs::state.eq_any(JobState::UNFINISHED))
                .filter(
                    jobs::heartbeat_at
                        .lt(before)
                        .or(jobs::heartbeat_at.is_null()),
                ),
        )
        .set((
            jobs::state.eq(JobState::Failed),
            jobs::finished_at.eq(Some(Utc::now().naive_utc())),
            jobs::problems.eq(problems.to_string()),
        ))
        .execute(&mut *conn)?)
    }
}
