//! What the JSON columns of a job hold, typed: the request, the progress, the problems and the
//! result, by kind of job. Each type writes exactly the JSON the job records have always held
//! (field names, order, nulls), so that stored rows and API answers stay as they were; where
//! the shape differs by kind, an untagged enum tells the shapes apart by their fields. A
//! stored value that fits none of them is a decoding error naming its column
//! ([`super::json_text`]).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::diff::Counts;
use super::import::{ImportOutcome, ImportReport};
use super::jobs::JobKind;
use super::json_text::JsonColumn;
use super::models::{ReleaseRow, ReleaseState};
use crate::ids::{ProjectId, ReleaseId};
use crate::masters::{Problem, Problems};

/// What was asked of a job (`jobs.request`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobRequest {
    /// An upload of a release (`import_release`).
    Import(ImportRequest),
    /// The candidates of a mapping project (`mapping_candidates`).
    Candidates(CandidatesRequest),
    /// A re-check of a master's approved mappings (`recheck_mappings`).
    Recheck(RecheckRequest),
}

impl JobRequest {
    /// The kind of job that asks this.
    pub fn kind(&self) -> JobKind {
        match self {
            JobRequest::Import(_) => JobKind::ImportRelease,
            JobRequest::Candidates(_) => JobKind::MappingCandidates,
            JobRequest::Recheck(_) => JobKind::RecheckMappings,
        }
    }
}

impl JsonColumn for JobRequest {
    const COLUMN: &'static str = "jobs.request";
}

/// An upload of a release, as its import job records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    /// The master's key (`hot`, `byomei`, `jlac`, `nursing`).
    pub master: String,
    /// The label asked for (otherwise the files say).
    pub version: Option<String>,
    #[serde(default)]
    pub activate: bool,
    #[serde(default)]
    pub partial: bool,
    /// The files received, in upload order.
    pub files: Vec<UploadedFile>,
}

/// One file of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedFile {
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// The project whose candidates a job computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidatesRequest {
    pub project: ProjectId,
}

/// The master whose mappings a re-check checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckRequest {
    pub master: String,
}

/// Where a job stands in its work (`jobs.progress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobProgress {
    /// An import's step (named by the parser: `parsing HOT rows`, `writing to the database` …):
    /// `done` of `total`.
    Step {
        phase: String,
        done: u64,
        total: u64,
    },
    /// The candidates job: `done` of `local_codes` scored.
    LocalCodes { local_codes: usize, done: usize },
    /// Waiting or starting, with why a queued job waits when that is known.
    Waiting {
        phase: WaitPhase,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

impl JobProgress {
    /// Queued, with why it waits.
    pub fn queued(note: impl Into<String>) -> Self {
        JobProgress::Waiting {
            phase: WaitPhase::Queued,
            note: Some(note.into()),
        }
    }
}

impl JsonColumn for JobProgress {
    const COLUMN: &'static str = "jobs.progress";
}

/// The phase of a job that is not working yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitPhase {
    /// Waiting to be claimed.
    Queued,
    /// Claimed, its body not yet reporting.
    Starting,
}

impl WaitPhase {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitPhase::Queued => "queued",
            WaitPhase::Starting => "starting",
        }
    }
}

/// What stopped a job (`jobs.problems`): nothing, a problem of the job itself, or the
/// problems found in an upload's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobProblems {
    /// None, or problems of the job (not of a file): `{total, items: [{file, kind, message, fix}]}`.
    Job(JobIssues),
    /// Problems in the uploaded files, located: `{items: [{file, line, column, column_name,
    /// kind, message, fix}], total}`.
    Files(FileProblems),
}

impl JobProblems {
    /// No problems.
    pub fn none() -> Self {
        JobProblems::Job(JobIssues {
            total: 0,
            items: Vec::new(),
        })
    }

    /// One problem of the job itself (its file is `(job)`).
    pub fn one(kind: &str, message: &str, fix: &str) -> Self {
        Self::of("(job)", kind, message, fix)
    }

    /// One problem of the job, about `file` (`(job)`, `(release)`).
    pub fn of(file: &str, kind: &str, message: &str, fix: &str) -> Self {
        JobProblems::Job(JobIssues {
            total: 1,
            items: vec![JobIssue {
                file: file.to_owned(),
                kind: kind.to_owned(),
                message: message.to_owned(),
                fix: fix.to_owned(),
            }],
        })
    }

    /// How many problems there are (listed or not).
    pub fn total(&self) -> usize {
        match self {
            JobProblems::Job(j) => j.total,
            JobProblems::Files(f) => f.total,
        }
    }
}

impl From<&Problems> for JobProblems {
    fn from(problems: &Problems) -> Self {
        JobProblems::Files(problems.into())
    }
}

impl JsonColumn for JobProblems {
    const COLUMN: &'static str = "jobs.problems";
}

/// Problems of a job itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobIssues {
    pub total: usize,
    pub items: Vec<JobIssue>,
}

/// A problem of a job itself: no line or column (which is how it is told from a
/// [`FileProblem`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobIssue {
    /// `(job)` or `(release)`.
    pub file: String,
    /// Stable machine-readable kind (`database_unavailable`, `interrupted` …).
    pub kind: String,
    pub message: String,
    pub fix: String,
}

/// Problems found in files, as a parser lists them (at most 200; `total` counts them all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProblems {
    pub items: Vec<FileProblem>,
    pub total: usize,
}

impl From<&Problems> for FileProblems {
    fn from(problems: &Problems) -> Self {
        FileProblems {
            items: problems.items().iter().map(FileProblem::from).collect(),
            total: problems.total(),
        }
    }
}

/// One problem in a file (`crate::masters::Problem`, as stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProblem {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<usize>,
    pub column_name: Option<String>,
    pub kind: String,
    pub message: String,
    pub fix: String,
}

impl From<&Problem> for FileProblem {
    fn from(p: &Problem) -> Self {
        FileProblem {
            file: p.file.clone(),
            line: p.line,
            column: p.column,
            column_name: p.column_name.clone(),
            kind: p.kind.to_owned(),
            message: p.message.clone(),
            fix: p.fix.clone(),
        }
    }
}

/// What a job that succeeded found or did (`jobs.result`), by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobResult {
    /// The import's report.
    Import(Box<ImportResult>),
    /// The candidates written.
    Candidates(CandidatesResult),
    /// What a re-check found.
    Recheck(RecheckResult),
    /// A re-check with nothing to do.
    RecheckSkipped(RecheckSkipped),
}

impl JobResult {
    /// The kind of job that ends with this.
    pub fn kind(&self) -> JobKind {
        match self {
            JobResult::Import(_) => JobKind::ImportRelease,
            JobResult::Candidates(_) => JobKind::MappingCandidates,
            JobResult::Recheck(_) | JobResult::RecheckSkipped(_) => JobKind::RecheckMappings,
        }
    }
}

impl JsonColumn for JobResult {
    const COLUMN: &'static str = "jobs.result";
}

/// What an upload job's record says of a successful import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportResult {
    pub outcome: ImportOutcome,
    /// The release as imported (or found identical).
    pub release: ReleaseRecord,
    /// Label and revision the change set compares with (none for a master's first release).
    pub compared_with: Option<String>,
    /// Distinct codes added / removed / changed per code system.
    pub summary: BTreeMap<String, Counts>,
    /// For a new revision: what it changes relative to the revision it replaces.
    pub revision_summary: Option<BTreeMap<String, Counts>>,
    pub activated: bool,
    /// Files of the upload that are not imported.
    pub ignored: Vec<String>,
    /// Problems that did not stop the import.
    pub notices: FileProblems,
}

impl ImportResult {
    /// The record of `report`, for the release parsed with `ignored` and `notices`.
    pub fn new(report: &ImportReport, ignored: &[String], notices: &Problems) -> Self {
        ImportResult {
            outcome: report.outcome,
            release: ReleaseRecord::from(&report.release),
            compared_with: report.compared_with.clone(),
            summary: report.summary.clone(),
            revision_summary: report.revision_summary.clone(),
            activated: report.activated,
            ignored: ignored.to_vec(),
            notices: notices.into(),
        }
    }
}

/// A release as an import job recorded it (the fields of [`ReleaseRow`] at the time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub id: i64,
    pub master: String,
    pub label: String,
    pub revision: i64,
    pub publication_date: Option<NaiveDate>,
    pub effective_date: Option<NaiveDate>,
    pub state: ReleaseState,
    pub previous_release_id: Option<ReleaseId>,
    pub content_sha256: String,
    pub row_count: i64,
    #[serde(
        serialize_with = "crate::timestamp::utc",
        deserialize_with = "crate::timestamp::parse_utc"
    )]
    pub imported_at: NaiveDateTime,
    pub imported_by: String,
    /// The file roles a partial import did not have; absent for a complete release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried_over: Option<String>,
}

impl From<&ReleaseRow> for ReleaseRecord {
    fn from(r: &ReleaseRow) -> Self {
        ReleaseRecord {
            id: r.id.into(),
            master: r.master.clone(),
            label: r.label.clone(),
            revision: r.revision,
            publication_date: r.publication_date,
            effective_date: r.effective_date,
            state: r.state,
            previous_release_id: r.previous_release_id,
            content_sha256: r.content_sha256.clone(),
            row_count: r.row_count,
            imported_at: r.imported_at,
            imported_by: r.imported_by.clone(),
            carried_over: r.carried_over.clone(),
        }
    }
}

/// What a candidates job wrote.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CandidatesResult {
    pub project: ProjectId,
    /// Local codes scored.
    pub local_codes: usize,
    /// Candidates written.
    pub candidates: usize,
    /// How long it took, to the millisecond.
    pub seconds: f64,
}

/// What a re-check found (the counts of its report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckResult {
    pub master: String,
    /// Approved mappings checked.
    pub checked: usize,
    /// Mappings flagged (retired or gone targets).
    pub needs_review: usize,
    /// Targets whose display changed.
    pub cosmetic: usize,
    /// The release checked against (none when nothing needed a look).
    pub release: Option<String>,
}

/// A re-check that found the mappings checked already.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckSkipped {
    pub master: String,
    /// Always 0.
    pub checked: usize,
    pub note: String,
}

/// The JSON each column has held, as the job code writes it (for the tests of the types here
/// and of the API's answers).
#[cfg(test)]
pub(crate) mod samples {
    /// `jobs.request`: an upload (without and with a label), candidates, a re-check.
    pub const REQUESTS: &[&str] = &[
        r#"{"master":"hot","version":null,"activate":true,"partial":false,"files":[{"name":"h20260531.zip","bytes":1234}]}"#,
        r#"{"master":"jlac","version":"2026.1","activate":false,"partial":true,"files":[]}"#,
        r#"{"project":7}"#,
        r#"{"master":"hot"}"#,
    ];
    /// `jobs.progress`: queued, starting, queued with a note, an import's step, candidates.
    pub const PROGRESS: &[&str] = &[
        r#"{"phase":"queued"}"#,
        r#"{"phase":"starting"}"#,
        r#"{"phase":"queued","note":"waiting for job 3: imports of one master run in upload order"}"#,
        r#"{"phase":"parsing HOT rows","done":10,"total":20}"#,
        r#"{"local_codes":3,"done":3}"#,
    ];
    /// `jobs.problems`: none, one of the job, problems in files (more than listed).
    pub const PROBLEMS: &[&str] = &[
        r#"{"total":0,"items":[]}"#,
        r#"{"total":1,"items":[{"file":"(job)","kind":"interrupted","message":"m","fix":"f"}]}"#,
        r#"{"items":[{"file":"a.txt","line":3,"column":2,"column_name":"薬価","kind":"k","message":"m","fix":"f"},{"file":"b.txt","line":null,"column":null,"column_name":null,"kind":"k","message":"m","fix":""}],"total":250}"#,
    ];
    /// `jobs.result`: two imports (the second a partial new revision), candidates, re-checks.
    pub const RESULTS: &[&str] = &[
        r#"{"outcome":"created","release":{"id":1,"master":"hot","label":"20260531","revision":1,"publication_date":"2026-05-31","effective_date":null,"state":"ready","previous_release_id":null,"content_sha256":"ab","row_count":12,"imported_at":"2026-07-01T09:30:00.250Z","imported_by":"admin"},"compared_with":null,"summary":{"hot9":{"added":3,"removed":0,"changed":1}},"revision_summary":null,"activated":true,"ignored":["readme.pdf"],"notices":{"items":[],"total":0}}"#,
        r#"{"outcome":"new_revision","release":{"id":2,"master":"hot","label":"20260531","revision":2,"publication_date":null,"effective_date":"2026-06-01","state":"superseded","previous_release_id":1,"content_sha256":"cd","row_count":12,"imported_at":"2026-07-01T00:00:00Z","imported_by":"admin","carried_over":"hot13"},"compared_with":"20260531 r1","summary":{},"revision_summary":{"hot9":{"added":0,"removed":1,"changed":0}},"activated":false,"ignored":[],"notices":{"items":[{"file":"a","line":1,"column":null,"column_name":null,"kind":"k","message":"m","fix":"f"}],"total":1}}"#,
        r#"{"project":4,"local_codes":10,"candidates":42,"seconds":0.125}"#,
        r#"{"project":4,"local_codes":0,"candidates":0,"seconds":0.0}"#,
        r#"{"master":"hot","checked":2,"needs_review":1,"cosmetic":0,"release":"20260630"}"#,
        r#"{"master":"hot","checked":0,"needs_review":0,"cosmetic":0,"release":null}"#,
        r#"{"master":"hot","checked":0,"note":"already checked against the current release"}"#,
    ];
}

#[cfg(test)]
mod tests {
    use super::samples::{PROBLEMS, PROGRESS, REQUESTS, RESULTS};
    use super::*;
    use crate::store::json_text::decode;

    /// `json` parsed as `T` and written again: the same bytes.
    fn same<T: JsonColumn>(json: &str) -> T {
        let value: T = decode(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(serde_json::to_string(&value).expect("json"), json);
        value
    }

    #[test]
    fn requests_round_trip_by_kind() {
        let kinds: Vec<JobKind> = REQUESTS
            .iter()
            .map(|j| same::<JobRequest>(j).kind())
            .collect();
        use JobKind::*;
        assert_eq!(
            kinds,
            [
                ImportRelease,
                ImportRelease,
                MappingCandidates,
                RecheckMappings
            ]
        );
        assert_eq!(
            same::<JobRequest>(REQUESTS[2]),
            JobRequest::Candidates(CandidatesRequest {
                project: ProjectId::new(7)
            })
        );
    }

    #[test]
    fn progress_round_trips_in_each_phase() {
        let all: Vec<JobProgress> = PROGRESS.iter().map(|j| same(j)).collect();
        assert_eq!(
            all[0],
            JobProgress::Waiting {
                phase: WaitPhase::Queued,
                note: None
            }
        );
        assert_eq!(
            all[2],
            JobProgress::queued("waiting for job 3: imports of one master run in upload order")
        );
        assert!(matches!(all[3], JobProgress::Step { done: 10, .. }));
        assert!(matches!(all[4], JobProgress::LocalCodes { .. }));
    }

    #[test]
    fn problems_keep_their_two_shapes() {
        assert_eq!(same::<JobProblems>(PROBLEMS[0]), JobProblems::none());
        assert_eq!(
            same::<JobProblems>(PROBLEMS[1]),
            JobProblems::one("interrupted", "m", "f")
        );
        let files = same::<JobProblems>(PROBLEMS[2]);
        assert!(matches!(files, JobProblems::Files(_)));
        assert_eq!(files.total(), 250);
        // The parser's own list is written as it serialises itself.
        let mut problems = Problems::default();
        problems.push(Problem::field("a.txt", 3, 2, "薬価", "k", "m".into(), "f"));
        problems.push(Problem::file("b.txt", "k", "m".into(), ""));
        assert_eq!(
            serde_json::to_string(&JobProblems::from(&problems)).expect("json"),
            serde_json::to_string(&problems).expect("json")
        );
    }

    #[test]
    fn results_round_trip_by_kind() {
        let kinds: Vec<JobKind> = RESULTS
            .iter()
            .map(|j| same::<JobResult>(j).kind())
            .collect();
        use JobKind::*;
        assert_eq!(
            kinds,
            [
                ImportRelease,
                ImportRelease,
                MappingCandidates,
                MappingCandidates,
                RecheckMappings,
                RecheckMappings,
                RecheckMappings
            ]
        );
        assert!(matches!(
            same::<JobResult>(RESULTS[6]),
            JobResult::RecheckSkipped(_)
        ));
    }

    #[test]
    fn a_wrong_shape_is_an_error_naming_the_column() {
        let cases = [
            (
                decode::<JobProgress>(r#"{"phase":"running"}"#).err(),
                "jobs.progress",
            ),
            (
                decode::<JobProgress>(r#"{"done":"3"}"#).err(),
                "jobs.progress",
            ),
            (
                decode::<JobRequest>(r#"{"project":"seven"}"#).err(),
                "jobs.request",
            ),
            (
                decode::<JobProblems>(r#"{"total":1}"#).err(),
                "jobs.problems",
            ),
            (decode::<JobResult>("[1, 2]").err(), "jobs.result"),
            (decode::<JobResult>("not json").err(), "jobs.result"),
        ];
        for (error, column) in cases {
            let message = error.expect("a decoding error").to_string();
            assert!(
                message.starts_with(&format!("{column} holds JSON that is not ")),
                "{message}"
            );
        }
    }
}
