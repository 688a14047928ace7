//! A background job as `GET /v1/jobs/{id}`, `GET /v1/jobs`, `POST /v1/releases` and
//! `GET /v1/mapping/jobs/{id}` answer with it: the job's record with its request, progress,
//! problems and result described by kind (`crate::store::job_fields`, which these mirror
//! field for field, so that an answer is the JSON the job recorded).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::diff::Counts;
use crate::store::import::ImportOutcome;
use crate::store::job_fields as stored;
use crate::store::jobs::{Job, JobKind, JobState};

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: JobKind,
    pub master: String,
    /// A queued job waits for an earlier import of its master (imports of one master run in
    /// upload order), for the backoff of a retry, or for a free worker; `progress.note` says
    /// which.
    pub state: JobState,
    pub created_by: String,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub created_at: NaiveDateTime,
    /// When the current (or last) attempt started.
    #[serde(serialize_with = "crate::timestamp::utc_opt")]
    pub started_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::timestamp::utc_opt")]
    pub finished_at: Option<NaiveDateTime>,
    /// How many times a node started the job: more than one when a node stopped while
    /// running it, or a try failed for a passing reason (the database was away), and another
    /// try followed.
    pub attempts: i32,
    /// What was asked, by kind.
    pub request: JobRequest,
    /// Where the job stands: `{phase, done, total}` while an import runs, `{local_codes,
    /// done}` while candidates are computed, `{phase: "queued", note}` while waiting.
    pub progress: JobProgress,
    /// Problems that stopped the job: of the job itself, or located in the uploaded files.
    pub problems: JobProblems,
    /// What the job found or did, once it succeeded, by kind.
    pub result: Option<JobResult>,
    /// The release the job created (or found identical).
    pub release_id: Option<i64>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> Self {
        JobView {
            id: job.id.get(),
            kind: job.kind,
            master: job.master,
            state: job.state,
            created_by: job.created_by,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            attempts: job.attempts,
            request: job.request.into(),
            progress: job.progress.into(),
            problems: job.problems.into(),
            result: job.result.map(JobResult::from),
            release_id: job.release_id.map(|r| r.get()),
        }
    }
}

/// The unions below that serde writes untagged (the first variant that fits): the document
/// describes them with `anyOf` (`api::doc`), as a value may fit more than one.
pub const UNTAGGED: [&str; 4] = ["JobRequest", "JobProgress", "JobProblems", "JobResult"];

/// What was asked of a job, by kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum JobRequest {
    /// An upload of a release (`import_release`).
    Import(ImportJobRequest),
    /// The candidates of a mapping project (`mapping_candidates`).
    Candidates(CandidatesJobRequest),
    /// A re-check of a master's approved mappings (`recheck_mappings`).
    Recheck(RecheckJobRequest),
}

impl From<stored::JobRequest> for JobRequest {
    fn from(r: stored::JobRequest) -> Self {
        match r {
            stored::JobRequest::Import(r) => JobRequest::Import(ImportJobRequest {
                master: r.master,
                version: r.version,
                activate: r.activate,
                partial: r.partial,
                files: r
                    .files
                    .into_iter()
                    .map(|f| UploadedFile {
                        name: f.name,
                        bytes: f.bytes,
                    })
                    .collect(),
            }),
            stored::JobRequest::Candidates(r) => JobRequest::Candidates(CandidatesJobRequest {
                project: r.project.into(),
            }),
            stored::JobRequest::Recheck(r) => {
                JobRequest::Recheck(RecheckJobRequest { master: r.master })
            }
        }
    }
}

/// An upload of a release.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportJobRequest {
    /// hot, byomei, jlac or nursing.
    pub master: String,
    /// The label asked for (otherwise the files say).
    pub version: Option<String>,
    /// Activate the release once imported.
    pub activate: bool,
    /// A partial release: the file roles it lacks carry over from the previous release.
    pub partial: bool,
    /// The files received, in upload order.
    pub files: Vec<UploadedFile>,
}

/// One file of an upload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadedFile {
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// The project whose candidates a job computes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CandidatesJobRequest {
    pub project: i64,
}

/// The master whose approved mappings a re-check checks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecheckJobRequest {
    pub master: String,
}

/// Where a job stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum JobProgress {
    /// An import's step, as the parser names it (`parsing HOT rows`, `writing to the
    /// database` …): `done` of `total`.
    Step {
        phase: String,
        done: u64,
        total: u64,
    },
    /// Candidates: `done` of `local_codes` scored.
    LocalCodes { local_codes: usize, done: usize },
    /// Waiting or starting; a queued job says why it waits (an earlier import of its master,
    /// a retry's backoff, busy workers).
    Waiting {
        phase: WaitPhase,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

impl From<stored::JobProgress> for JobProgress {
    fn from(p: stored::JobProgress) -> Self {
        match p {
            stored::JobProgress::Step { phase, done, total } => {
                JobProgress::Step { phase, done, total }
            }
            stored::JobProgress::LocalCodes { local_codes, done } => {
                JobProgress::LocalCodes { local_codes, done }
            }
            stored::JobProgress::Waiting { phase, note } => JobProgress::Waiting {
                phase: phase.into(),
                note,
            },
        }
    }
}

/// The phase of a job that is not working yet.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitPhase {
    /// Waiting to be claimed by a node.
    Queued,
    /// Claimed; its work is about to report.
    Starting,
}

impl From<stored::WaitPhase> for WaitPhase {
    fn from(p: stored::WaitPhase) -> Self {
        match p {
            stored::WaitPhase::Queued => WaitPhase::Queued,
            stored::WaitPhase::Starting => WaitPhase::Starting,
        }
    }
}

/// What stopped a job: nothing, problems of the job itself, or problems located in the
/// uploaded files.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum JobProblems {
    /// None, or problems of the job itself (not of a file).
    Job(JobIssues),
    /// Problems in the uploaded files (at most 200 listed; `total` counts them all).
    Files(FileProblems),
}

impl From<stored::JobProblems> for JobProblems {
    fn from(p: stored::JobProblems) -> Self {
        match p {
            stored::JobProblems::Job(j) => JobProblems::Job(JobIssues {
                total: j.total,
                items: j
                    .items
                    .into_iter()
                    .map(|i| JobIssue {
                        file: i.file,
                        kind: i.kind,
                        message: i.message,
                        fix: i.fix,
                    })
                    .collect(),
            }),
            stored::JobProblems::Files(f) => JobProblems::Files(f.into()),
        }
    }
}

/// Problems of a job itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobIssues {
    pub total: usize,
    pub items: Vec<JobIssue>,
}

/// A problem of a job itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobIssue {
    /// `(job)`, or `(release)` for a refused import.
    pub file: String,
    /// Stable machine-readable kind (`database_unavailable`, `interrupted`, `damaged` …).
    pub kind: String,
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// Problems found in files.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileProblems {
    /// The first 200.
    pub items: Vec<FileProblem>,
    /// All of them.
    pub total: usize,
}

impl From<stored::FileProblems> for FileProblems {
    fn from(f: stored::FileProblems) -> Self {
        FileProblems {
            items: f
                .items
                .into_iter()
                .map(|p| FileProblem {
                    file: p.file,
                    line: p.line,
                    column: p.column,
                    column_name: p.column_name,
                    kind: p.kind,
                    message: p.message,
                    fix: p.fix,
                })
                .collect(),
            total: f.total,
        }
    }
}

/// One problem in a file, located as precisely as the file allows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileProblem {
    /// File name as uploaded (zip members as `archive.zip:member`).
    pub file: String,
    /// 1-based line number.
    pub line: Option<u64>,
    /// 1-based column (CSV field) number.
    pub column: Option<usize>,
    /// The column's header title, when known.
    pub column_name: Option<String>,
    /// Stable machine-readable kind, e.g. `column_count` or `hot7_check_digit`.
    pub kind: String,
    pub message: String,
    pub fix: String,
}

/// What a job found or did, by kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum JobResult {
    /// The import's report.
    Import(Box<ImportJobResult>),
    /// The candidates written.
    Candidates(CandidatesJobResult),
    /// What a re-check found.
    Recheck(RecheckJobResult),
    /// A re-check with nothing to do.
    RecheckSkipped(RecheckSkipped),
}

impl From<stored::JobResult> for JobResult {
    fn from(r: stored::JobResult) -> Self {
        match r {
            stored::JobResult::Import(i) => JobResult::Import(Box::new((*i).into())),
            stored::JobResult::Candidates(c) => JobResult::Candidates(CandidatesJobResult {
                project: c.project.into(),
                local_codes: c.local_codes,
                candidates: c.candidates,
                seconds: c.seconds,
            }),
            stored::JobResult::Recheck(r) => JobResult::Recheck(RecheckJobResult {
                master: r.master,
                checked: r.checked,
                needs_review: r.needs_review,
                cosmetic: r.cosmetic,
                release: r.release,
            }),
            stored::JobResult::RecheckSkipped(s) => JobResult::RecheckSkipped(RecheckSkipped {
                master: s.master,
                checked: s.checked,
                note: s.note,
            }),
        }
    }
}

/// What an upload's import did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportJobResult {
    /// `created`, `new_revision` or `unchanged`.
    #[schema(value_type = String)]
    pub outcome: ImportOutcome,
    /// The release as imported (or found identical).
    pub release: super::releases::ReleaseRow,
    /// Label and revision the change set compares with (none for a master's first release).
    pub compared_with: Option<String>,
    /// Distinct codes added / removed / changed per code system.
    pub summary: BTreeMap<String, ChangeCounts>,
    /// For a new revision: what it changes relative to the revision it replaces.
    pub revision_summary: Option<BTreeMap<String, ChangeCounts>>,
    pub activated: bool,
    /// Files of the upload that are not imported (layout PDFs, option files).
    pub ignored: Vec<String>,
    /// Problems that did not stop the import (e.g. HOT7 check digit failures).
    pub notices: FileProblems,
}

impl From<stored::ImportResult> for ImportJobResult {
    fn from(i: stored::ImportResult) -> Self {
        let counts = |m: BTreeMap<String, Counts>| {
            m.into_iter()
                .map(|(k, c)| {
                    let c = ChangeCounts {
                        added: c.added,
                        removed: c.removed,
                        changed: c.changed,
                    };
                    (k, c)
                })
                .collect()
        };
        let r = i.release;
        ImportJobResult {
            outcome: i.outcome,
            release: r.into(),
            compared_with: i.compared_with,
            summary: counts(i.summary),
            revision_summary: i.revision_summary.map(counts),
            activated: i.activated,
            ignored: i.ignored,
            notices: i.notices.into(),
        }
    }
}

/// Distinct codes added, removed and changed.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ChangeCounts {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
}

/// What a candidates job wrote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CandidatesJobResult {
    pub project: i64,
    /// Local codes scored.
    pub local_codes: usize,
    /// Candidates written.
    pub candidates: usize,
    /// How long it took, to the millisecond.
    pub seconds: f64,
}

/// What a re-check found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecheckJobResult {
    pub master: String,
    /// Approved mappings checked.
    pub checked: usize,
    /// Mappings flagged (their target retired or gone).
    pub needs_review: usize,
    /// Targets whose display changed (nothing flagged).
    pub cosmetic: usize,
    /// The release checked against (null when nothing needed a look).
    pub release: Option<String>,
}

/// A re-check that found the mappings checked already (by this node or another).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecheckSkipped {
    pub master: String,
    /// Always 0.
    pub checked: usize,
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::job_fields::samples;
    use crate::store::json_text::decode;

    /// The API answers with the JSON each job recorded, byte for byte.
    #[test]
    fn answers_are_the_recorded_json() {
        for json in samples::REQUESTS {
            let dto = JobRequest::from(decode::<stored::JobRequest>(json).expect("request"));
            assert_eq!(serde_json::to_string(&dto).expect("json"), *json);
        }
        for json in samples::PROGRESS {
            let dto = JobProgress::from(decode::<stored::JobProgress>(json).expect("progress"));
            assert_eq!(serde_json::to_string(&dto).expect("json"), *json);
        }
        for json in samples::PROBLEMS {
            let dto = JobProblems::from(decode::<stored::JobProblems>(json).expect("problems"));
            assert_eq!(serde_json::to_string(&dto).expect("json"), *json);
        }
        for json in samples::RESULTS {
            let dto = JobResult::from(decode::<stored::JobResult>(json).expect("result"));
            assert_eq!(serde_json::to_string(&dto).expect("json"), *json);
        }
    }
}
