//! JSON kept in TEXT columns, typed (`store::json_text`), on SQLite and PostgreSQL: each job
//! kind's request, progress, problems and result come back from the database as written, and
//! the API answers with the JSON the job recorded; a column holding JSON of the wrong shape is
//! a decoding error naming the column, never a default.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use hyojun::api::dto::jobs::JobView;
use hyojun::ids::{JobId, ProjectId};
use hyojun::store::job_fields::{
    CandidatesRequest, CandidatesResult, FileProblem, FileProblems, ImportRequest, JobProblems,
    JobProgress, JobRequest, JobResult, RecheckRequest, RecheckResult, RecheckSkipped,
    UploadedFile,
};
use hyojun::store::jobs::{self, JobKind, JobState, NewJob};
use hyojun::store::json_text::JsonText;
use hyojun::store::schema;

use crate::support::{databases, TestDb};

/// Runs SQL on the test database over a connection of its own.
fn exec(db: &TestDb, sql: &str) {
    match db.name {
        "sqlite" => SqliteConnection::establish(&db.url)
            .expect("sqlite")
            .batch_execute(sql),
        _ => PgConnection::establish(&db.url)
            .expect("postgres")
            .batch_execute(sql),
    }
    .unwrap_or_else(|e| panic!("{}: {sql}: {e}", db.name));
}

/// Queues a job of `kind` asking `request`, claims it, reports `progress` and ends it as
/// `state` with `problems` and `result`; returns its id.
fn job_through(
    db: &TestDb,
    kind: JobKind,
    request: &JobRequest,
    progress: &JobProgress,
    ended: (JobState, &JobProblems, Option<&JobResult>),
) -> i64 {
    let mut conn = db.store.conn().expect("connection");
    let new = NewJob {
        kind,
        master: "hot",
        node: "test-node",
        created_by: "test",
        request,
        upload_store: Some("test-store"),
    };
    let id = jobs::create_job(&mut conn, &new).expect("job");
    let (row, lease) = jobs::claim(&mut conn, "test-node", "test-store")
        .expect("claim")
        .expect("claimed");
    assert_eq!(row.id, id);
    assert_eq!(&*row.request, request, "{}", db.name);
    jobs::job_progress(&mut conn, lease, progress).expect("progress");
    let (state, problems, result) = ended;
    if state == JobState::Running {
        return id.into();
    }
    jobs::finish_job(&mut conn, lease, state, problems, result, None).expect("finish");
    id.into()
}

#[test]
fn each_kind_of_job_reads_back_as_written() {
    let import = JobRequest::Import(ImportRequest {
        master: "hot".into(),
        version: Some("20260531".into()),
        activate: true,
        partial: false,
        files: vec![UploadedFile {
            name: "h20260531.zip".into(),
            bytes: 1234,
        }],
    });
    let candidates = JobRequest::Candidates(CandidatesRequest {
        project: ProjectId::new(3),
    });
    let recheck = JobRequest::Recheck(RecheckRequest {
        master: "hot".into(),
    });
    let step = JobProgress::Step {
        phase: "parsing HOT rows".into(),
        done: 5,
        total: 9,
    };
    let scored = JobProgress::LocalCodes {
        local_codes: 4,
        done: 4,
    };
    let in_files = JobProblems::Files(FileProblems {
        items: vec![FileProblem {
            file: "h20260531.zip:MEDIS20260531.TXT".into(),
            line: Some(3),
            column: Some(2),
            column_name: Some("薬価基準収載医薬品コード".into()),
            kind: "column_count".into(),
            message: "m".into(),
            fix: "f".into(),
        }],
        total: 1,
    });
    let wrote = JobResult::Candidates(CandidatesResult {
        project: ProjectId::new(3),
        local_codes: 4,
        candidates: 17,
        seconds: 0.25,
    });
    let found = JobResult::Recheck(RecheckResult {
        master: "hot".into(),
        checked: 2,
        needs_review: 1,
        cosmetic: 0,
        release: Some("20260630".into()),
    });
    let skipped = JobResult::RecheckSkipped(RecheckSkipped {
        master: "hot".into(),
        checked: 0,
        note: "already checked against the current release".into(),
    });
    let none = JobProblems::none();
    for db in databases("json_jobs") {
        let cases = [
            (
                JobKind::ImportRelease,
                &import,
                &step,
                JobState::Failed,
                &in_files,
                None,
            ),
            (
                JobKind::ImportRelease,
                &import,
                &step,
                JobState::Running,
                &none,
                None,
            ),
            (
                JobKind::MappingCandidates,
                &candidates,
                &scored,
                JobState::Succeeded,
                &none,
                Some(&wrote),
            ),
            (
                JobKind::RecheckMappings,
                &recheck,
                &step,
                JobState::Succeeded,
                &none,
                Some(&found),
            ),
            (
                JobKind::RecheckMappings,
                &recheck,
                &step,
                JobState::Succeeded,
                &none,
                Some(&skipped),
            ),
        ];
        for (kind, request, progress, state, problems, result) in cases {
            let id = job_through(&db, kind, request, progress, (state, problems, result));
            let job = db.store.job(JobId::new(id)).expect("job");
            assert_eq!(
                (
                    &job.request,
                    &job.progress,
                    &job.problems,
                    job.result.as_ref()
                ),
                (request, progress, problems, result),
                "{}",
                db.name
            );
            // The answer is the JSON stored, in its order.
            let stored: (String, String, String, Option<String>) = {
                use schema::jobs::dsl as j;
                let mut conn = db.store.conn().expect("connection");
                j::jobs
                    .find(id)
                    .select((j::request, j::progress, j::problems, j::result))
                    .first(&mut *conn)
                    .expect("row")
            };
            let answer = serde_json::to_value(JobView::from(job)).expect("json");
            let shown = |v: &serde_json::Value| serde_json::to_string(v).expect("json");
            assert_eq!(shown(&answer["request"]), stored.0, "{}", db.name);
            assert_eq!(shown(&answer["progress"]), stored.1, "{}", db.name);
            assert_eq!(shown(&answer["problems"]), stored.2, "{}", db.name);
            assert_eq!(
                Some(shown(&answer["result"])).filter(|r| r != "null"),
                stored.3,
                "{}",
                db.name
            );
        }
    }
}

/// Reading a job whose `column` was overwritten with `json`: the error.
fn damaged_job(db: &TestDb, column: &str, json: &str) -> String {
    let recheck = JobRequest::Recheck(RecheckRequest {
        master: "hot".into(),
    });
    let id = job_through(
        db,
        JobKind::RecheckMappings,
        &recheck,
        &JobProgress::queued("waiting"),
        (JobState::Succeeded, &JobProblems::none(), None),
    );
    exec(
        db,
        &format!("UPDATE jobs SET {column} = '{json}' WHERE id = {id}"),
    );
    match db.store.job(JobId::new(id)) {
        Ok(job) => panic!("{}: {column} = {json} read as {job:?}", db.name),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_job_column_of_the_wrong_shape_is_a_decoding_error_naming_it() {
    for db in databases("json_damaged") {
        let cases = [
            (
                "request",
                r#"{"project":"three"}"#,
                "jobs.request holds JSON that is not JobRequest",
            ),
            (
                "progress",
                r#"{"phase":"running"}"#,
                "jobs.progress holds JSON that is not JobProgress",
            ),
            (
                "problems",
                r#"{"total":1}"#,
                "jobs.problems holds JSON that is not JobProblems",
            ),
            (
                "result",
                r#"{"checked":2}"#,
                "jobs.result holds JSON that is not JobResult",
            ),
            (
                "progress",
                "not json",
                "jobs.progress holds JSON that is not JobProgress",
            ),
        ];
        for (column, json, expected) in cases {
            let error = damaged_job(&db, column, json);
            assert!(error.contains(expected), "{}: {error}", db.name);
            assert!(
                error.contains(json),
                "{}: the stored text is shown: {error}",
                db.name
            );
        }
    }
}

/// A claimed job whose record does not decode ends failed, saying why, instead of being
/// claimed again and again.
#[test]
fn a_claimed_job_that_does_not_decode_ends_failed() {
    for db in databases("json_claim") {
        let mut conn = db.store.conn().expect("connection");
        let recheck = JobRequest::Recheck(RecheckRequest {
            master: "hot".into(),
        });
        let new = NewJob {
            kind: JobKind::RecheckMappings,
            master: "hot",
            node: "test-node",
            created_by: "test",
            request: &recheck,
            upload_store: None,
        };
        let id = jobs::create_job(&mut conn, &new).expect("job");
        drop(conn);
        exec(
            &db,
            &format!("UPDATE jobs SET request = '[]' WHERE id = {id}"),
        );
        let mut conn = db.store.conn().expect("connection");
        assert!(jobs::claim(&mut conn, "test-node", "test-store")
            .expect("claim")
            .is_none());
        use schema::jobs::dsl as j;
        let (state, problems): (JobState, JsonText<JobProblems>) = j::jobs
            .find(id)
            .select((j::state, j::problems))
            .first(&mut *conn)
            .expect("row");
        assert_eq!(state, JobState::Failed, "{}", db.name);
        let JobProblems::Job(issues) = problems.into_inner() else {
            panic!("{}: a problem of the job", db.name);
        };
        assert_eq!(issues.items.len(), 1);
        assert_eq!(issues.items[0].kind, "damaged");
        let message = &issues.items[0].message;
        assert!(
            message.starts_with("the job's record cannot be read: ")
                && message.contains("jobs.request holds JSON that is not JobRequest"),
            "{}: {message}",
            db.name
        );
        assert_eq!(
            issues.items[0].fix,
            "the next change of a current release re-checks again"
        );
        // Nothing else to claim.
        assert!(jobs::claim(&mut conn, "test-node", "test-store")
            .expect("claim")
            .is_none());
    }
}

/// A project's target systems and a local code's extra columns are typed too.
#[test]
fn mapping_columns_of_the_wrong_shape_are_decoding_errors() {
    use hyojun::store::mapping::NewProject;
    for db in databases("json_mapping") {
        let new = NewProject {
            name: "検査".into(),
            description: String::new(),
            local_system: "urn:oid:1.2.392.5".into(),
            target_systems: vec!["hot9".into()],
            four_eyes: false,
        };
        let id = hyojun::app::mapping::create_project(&db.store, "test", &new)
            .expect("project")
            .id;
        assert_eq!(
            db.store.project(id).expect("project").target_systems,
            vec!["hot9"]
        );
        exec(
            &db,
            &format!("UPDATE mapping_projects SET target_systems = '\"hot9\"' WHERE id = {id}"),
        );
        let error = db.store.project(id).expect_err("damaged").to_string();
        assert!(
            error.contains("mapping_projects.target_systems holds JSON that is not TargetSystems"),
            "{}: {error}",
            db.name
        );
    }
}
