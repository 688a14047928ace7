//! The job runner on SQLite and PostgreSQL: a node without workers only queues and a step
//! runs the job; a running job whose node stopped is taken over by another node and finished
//! there (its files are in the shared upload store), or failed after its tries; a live node's
//! job is left alone; the stopped node's late writes are refused; two nodes on one database
//! share the queue, each within its worker limit.

use std::path::Path;
use std::time::{Duration, Instant};

use actix_web::test;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};
use hyojun::ids::JobId;
use hyojun::limits::Limits;
use hyojun::store::jobs::{self, JobKind, JobState, Lease, TakenOver};

use crate::api::{call, gauge, keys};
use crate::api_limits::{config, send, with_key};
use crate::support::{databases, multipart, repo, TestDb};

/// A node of the test: its own name, the shared upload folder, a short staleness limit.
pub(crate) fn node_config(name: &str, uploads: &Path, workers: u64, run_jobs: bool) -> ApiConfig {
    ApiConfig {
        node: name.into(),
        job_stale: Duration::from_millis(600),
        job_attempts: 2,
        run_jobs,
        ..config(
            Limits {
                concurrent_jobs: workers,
                ..Limits::default()
            },
            uploads,
        )
    }
}

/// The files of a sample release folder of `master` (`masters/MASTER/NAME/`), or one file.
fn sample_files(master: &str, name: &str) -> Vec<(String, Vec<u8>)> {
    let path = repo().join("masters").join(master).join(name);
    let mut entries: Vec<_> = if path.is_dir() {
        std::fs::read_dir(&path)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect()
    } else {
        vec![path]
    };
    entries.sort();
    entries
        .into_iter()
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect()
}

/// Uploads `files` as a release of `master` through `state`'s API; returns the job id.
pub(crate) async fn upload(
    state: &AppState,
    key: &str,
    master: &str,
    files: &[(String, Vec<u8>)],
) -> i64 {
    let service = test::init_service(app(state.clone())).await;
    let parts: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let (content_type, body) = multipart(&[("master", master), ("partial", "true")], &parts);
    let a = send(
        &service,
        with_key(actix_web::http::Method::POST, "/v1/releases", key)
            .insert_header(("Content-Type", content_type))
            .set_payload(body),
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.body);
    a.body["id"].as_i64().expect("job id")
}

/// `GET /metrics` of a node.
pub(crate) async fn metrics(state: &AppState) -> String {
    let service = test::init_service(app(state.clone())).await;
    let (status, text) = call(&service, "GET", "/metrics", None, None).await;
    assert_eq!(status, 200);
    text.as_str().expect("text").to_owned()
}

/// Search index syncs that wrote, as a node's metrics count them.
fn syncs_written(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("hyojun_search_index_sync_seconds_count "))
        .map_or(0, |n| n.parse().expect("a count"))
}

pub(crate) async fn job(state: &AppState, key: &str, id: i64) -> Value {
    let service = test::init_service(app(state.clone())).await;
    call(&service, "GET", &format!("/v1/jobs/{id}"), Some(key), None)
        .await
        .1
}

/// The upload store's id (its `store-id` file).
fn store_id(uploads: &Path) -> String {
    std::fs::read_to_string(uploads.join("store-id")).expect("store-id")
}

/// The job once it is in `state` (10 s at most).
async fn state_after(state: &AppState, key: &str, id: i64, wanted: &str) -> Value {
    let started = Instant::now();
    loop {
        let j = job(state, key, id).await;
        if j["state"] == wanted {
            return j;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "job {id} is not {wanted}: {j}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Claims the next job as node `name` would, then stops beating for it (the node "died").
fn claim_as(db: &TestDb, name: &str, uploads: &Path) -> Lease {
    let mut conn = db.store.conn().expect("connection");
    jobs::claim(&mut conn, name, &store_id(uploads))
        .expect("claim")
        .expect("a job to claim")
        .1
}

#[actix_web::test]
async fn a_node_without_workers_queues_and_a_step_runs_the_job() {
    for db in databases("runner_step") {
        let k = keys(&db);
        let uploads = tempfile::tempdir().expect("tmp");
        let node = AppState::new(
            db.store.clone(),
            node_config("queuing-node", uploads.path(), 2, false),
        );
        let id = upload(&node, &k.admin, "hot", &sample_files("hot", "20260531")).await;
        // Kept by job id in the upload store until the job ends.
        let kept = uploads.path().join("jobs").join(id.to_string());
        assert!(
            kept.join("MEDIS20260531_HOT9.TXT").is_file()
                || kept.read_dir().expect("kept").count() > 0
        );
        assert!(uploads
            .path()
            .join("incoming")
            .read_dir()
            .expect("incoming")
            .next()
            .is_none());
        let queued = job(&node, &k.admin, id).await;
        assert_eq!(queued["state"], "queued", "{queued}");
        assert_eq!(queued["attempts"], 0);
        assert_eq!(
            queued["progress"],
            json!({"phase": "queued", "note": "waiting for a free worker: each node runs at most HYOJUN_MAX_CONCURRENT_JOBS at once"}),
            "{}",
            db.name
        );
        // Nothing runs it until the runner is stepped.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(job(&node, &k.admin, id).await["state"], "queued");
        // The index in step with the store before the import (the start's sync has written).
        node.search.sync(&node.store).expect("sync");
        let syncs = syncs_written(&metrics(&node).await);
        let ran = node.jobs.step().expect("step").expect("a job ran");
        assert_eq!(
            (ran.lease, ran.kind),
            (
                Lease {
                    id: JobId::new(id),
                    attempt: 1
                },
                JobKind::ImportRelease
            )
        );
        let done = job(&node, &k.admin, id).await;
        assert_eq!(done["state"], "succeeded", "{} {done}", db.name);
        assert_eq!(done["attempts"], 1);
        assert!(done["release_id"].as_i64().is_some(), "{done}");
        assert!(!kept.exists(), "the files of an ended job are removed");
        assert_eq!(node.jobs.step().expect("step"), None, "{}", db.name);
        // The node counted the try and the import, and the one search index sync that wrote
        // the release (this one, or the background one).
        node.search.sync(&node.store).expect("sync");
        let text = metrics(&node).await;
        assert_eq!(syncs_written(&text), syncs + 1, "{text}");
        for line in [
            "hyojun_jobs_total{kind=\"import_release\",outcome=\"succeeded\"} 1\n",
            "hyojun_import_seconds_count{master=\"hot\"} 1\n",
            "hyojun_jobs_running 0\n",
            "# HELP hyojun_jobs_total ",
            "# HELP hyojun_import_rows_total ",
        ] {
            assert!(text.contains(line), "{} {line:?} in\n{text}", db.name);
        }
        assert!(
            !text.contains("outcome=\"failed\"") && !text.contains("outcome=\"retried\""),
            "{text}"
        );
        let rows = text
            .lines()
            .find_map(|l| l.strip_prefix("hyojun_import_rows_total{master=\"hot\"} "))
            .and_then(|n| n.parse::<u64>().ok());
        assert!(rows.is_some_and(|n| n > 0), "{text}");
        assert!(gauge(&text, "hyojun_search_documents") > 0.0, "{text}");
        // A job that is not there: 404, and what is missing, typed.
        assert_eq!(
            job(&node, &k.admin, 424_242).await,
            json!({"error": {"code": "not_found", "message": "no job with id 424242",
                "details": {"missing": "job"}}}),
            "{}",
            db.name
        );
    }
}

#[actix_web::test]
async fn a_stopped_nodes_job_is_taken_over_and_finished_by_another_node() {
    for db in databases("runner_takeover") {
        let k = keys(&db);
        let uploads = tempfile::tempdir().expect("tmp");
        let a = AppState::new(
            db.store.clone(),
            node_config("node-a", uploads.path(), 1, false),
        );
        let b = AppState::new(
            db.store.clone(),
            node_config("node-b", uploads.path(), 1, false),
        );
        let id = upload(&a, &k.admin, "hot", &sample_files("hot", "20260531")).await;
        // Node a claims the job and stops: no heartbeat.
        let dead = claim_as(&db, "node-a", uploads.path());
        assert_eq!(
            dead,
            Lease {
                id: JobId::new(id),
                attempt: 1
            }
        );
        assert_eq!(job(&b, &k.admin, id).await["state"], "running");
        assert_eq!(
            b.jobs.maintain().expect("upkeep"),
            TakenOver::default(),
            "not stale yet"
        );
        // Taken over once its heartbeat is stale, by the upkeep of either node.
        let queued = state_after(&b, &k.admin, id, "queued").await;
        assert_eq!(queued["state"], "queued", "{queued}");
        assert_eq!(
            queued["progress"]["note"],
            "node node-a stopped during try 1 of 2; any node takes the job up again"
        );
        // Not before its backoff (1 s after the takeover).
        assert_eq!(b.jobs.step().expect("step"), None);
        std::thread::sleep(Duration::from_millis(1100));
        let ran = b.jobs.step().expect("step").expect("the job ran on node b");
        assert_eq!(
            ran.lease,
            Lease {
                id: JobId::new(id),
                attempt: 2
            }
        );
        let done = job(&b, &k.admin, id).await;
        assert_eq!(done["state"], "succeeded", "{} {done}", db.name);
        assert_eq!(done["attempts"], 2);
        // The stopped node's late writes are refused: the job stays as node b ended it.
        let mut conn = db.store.conn().expect("connection");
        let none = hyojun::store::job_fields::JobProblems::none();
        let late = jobs::finish_job(&mut conn, dead, JobState::Failed, &none, None, None);
        assert!(
            matches!(late, Err(hyojun::store::StoreError::Conflict(ref m)) if m == &format!("job {id} was taken over by another node (its try 1 ended)")),
            "{late:?}"
        );
        assert_eq!(jobs::beat(&mut conn, &[dead]).expect("beat"), vec![dead]);
        drop(conn);
        assert_eq!(job(&b, &k.admin, id).await["state"], "succeeded");

        // A job whose every try was interrupted fails, and its files are swept.
        let id = upload(&a, &k.admin, "hot", &sample_files("hot", "h20260630.zip")).await;
        for attempt in 1..=2 {
            let lease = claim_as(&db, "node-a", uploads.path());
            assert_eq!(
                lease,
                Lease {
                    id: JobId::new(id),
                    attempt
                }
            );
            if attempt == 1 {
                state_after(&b, &k.admin, id, "queued").await;
                std::thread::sleep(Duration::from_millis(1100));
            }
        }
        state_after(&b, &k.admin, id, "failed").await;
        let failed = job(&b, &k.admin, id).await;
        assert_eq!(failed["state"], "failed", "{failed}");
        assert_eq!(
            failed["problems"],
            json!({"total": 1, "items": [{"file": "(job)", "kind": "interrupted",
                "message": "the node running the job stopped before the job finished, in each of its 2 tries (the last on node node-a)",
                "fix": "upload the release again"}]}),
            "{}",
            db.name
        );
        assert!(uploads.path().join("jobs").join(id.to_string()).is_dir());
        assert_eq!(b.jobs.sweep_uploads().expect("sweep"), 1);
        assert!(!uploads.path().join("jobs").join(id.to_string()).exists());
    }
}

#[actix_web::test]
async fn a_live_nodes_job_is_left_alone_whatever_its_name() {
    for db in databases("runner_live") {
        let k = keys(&db);
        let uploads = tempfile::tempdir().expect("tmp");
        // Both nodes left on one name (the host name, say).
        let a = AppState::new(
            db.store.clone(),
            node_config("same-name", uploads.path(), 1, false),
        );
        let b = AppState::new(
            db.store.clone(),
            node_config("same-name", uploads.path(), 1, false),
        );
        let id = upload(&a, &k.admin, "hot", &sample_files("hot", "20260531")).await;
        let lease = claim_as(&db, "same-name", uploads.path());
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(300));
            let mut conn = db.store.conn().expect("connection");
            assert!(jobs::beat(&mut conn, &[lease]).expect("beat").is_empty());
            drop(conn);
            assert_eq!(
                b.jobs.maintain().expect("upkeep"),
                TakenOver::default(),
                "{}",
                db.name
            );
        }
        assert_eq!(job(&b, &k.admin, id).await["state"], "running");
        assert_eq!(
            a.jobs.step().expect("step"),
            None,
            "a running job is not claimed twice"
        );
    }
}

/// The intervals `[started, finished]` of the jobs `ids`, with the node that ran each.
fn intervals(
    db: &TestDb,
    ids: &[i64],
) -> Vec<(String, chrono::NaiveDateTime, chrono::NaiveDateTime)> {
    use diesel::prelude::*;
    use hyojun::store::schema::jobs as t;
    let mut conn = db.store.conn().expect("connection");
    t::table
        .filter(t::id.eq_any(ids))
        .order(t::id)
        .select((t::node, t::started_at, t::finished_at))
        .load::<(
            String,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
        )>(&mut conn)
        .expect("jobs")
        .into_iter()
        .map(|(n, s, f)| (n, s.expect("started"), f.expect("finished")))
        .collect()
}

/// How many of `intervals` overlap at most, at any moment.
fn most_at_once(intervals: &[(chrono::NaiveDateTime, chrono::NaiveDateTime)]) -> usize {
    intervals
        .iter()
        .map(|(s, _)| {
            intervals
                .iter()
                .filter(|(s2, f2)| s2 <= s && s < f2)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[actix_web::test]
async fn two_nodes_share_the_queue_each_within_its_workers() {
    let data = tempfile::tempdir().expect("tmp");
    let real = crate::real_hot9::real_files(data.path());
    let hot9 = vec![(
        real[0]
            .cp932
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned(),
        std::fs::read(&real[0].cp932).expect("real HOT9"),
    )];
    for db in databases("runner_two_nodes") {
        let k = keys(&db);
        let uploads = tempfile::tempdir().expect("tmp");
        let a = AppState::new(
            db.store.clone(),
            node_config("node-a", uploads.path(), 1, true),
        );
        // A whole real HOT9 release first: node a is busy with it for a while.
        let mut ids = vec![upload(&a, &k.admin, "hot", &hot9).await];
        let started = Instant::now();
        while job(&a, &k.admin, ids[0]).await["state"] != "running" {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the first job never ran"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        for (master, name) in [
            ("byomei", "byomei518.zip"),
            ("jlac", "901"),
            ("nursing", "4.0"),
        ] {
            ids.push(upload(&a, &k.admin, master, &sample_files(master, name)).await);
        }
        // Node b comes up while node a's one worker is busy.
        let b = AppState::new(
            db.store.clone(),
            node_config("node-b", uploads.path(), 1, true),
        );
        let started = Instant::now();
        let mut ended = Vec::new();
        while ended.len() < ids.len() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "jobs did not end: {ended:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
            ended.clear();
            for &id in &ids {
                let j = job(&b, &k.admin, id).await;
                if j["state"] == "succeeded" || j["state"] == "failed" {
                    ended.push(j);
                }
            }
        }
        for j in &ended {
            assert_eq!(j["state"], "succeeded", "{} {j}", db.name);
            assert_eq!(j["attempts"], 1, "{j}");
        }
        let ran = intervals(&db, &ids);
        let on = |node: &str| -> Vec<_> {
            ran.iter()
                .filter(|(n, _, _)| n == node)
                .map(|(_, s, f)| (*s, *f))
                .collect()
        };
        let (on_a, on_b) = (on("node-a"), on("node-b"));
        assert_eq!(ran[0].0, "node-a");
        assert!(!on_b.is_empty(), "{}: node b ran nothing: {ran:?}", db.name);
        assert_eq!(on_a.len() + on_b.len(), ids.len(), "{ran:?}");
        assert_eq!(
            most_at_once(&on_a),
            1,
            "{}: node a ran more than its one worker: {ran:?}",
            db.name
        );
        assert_eq!(
            most_at_once(&on_b),
            1,
            "{}: node b ran more than its one worker: {ran:?}",
            db.name
        );
        let all: Vec<_> = ran.iter().map(|(_, s, f)| (*s, *f)).collect();
        assert_eq!(
            most_at_once(&all),
            2,
            "{}: the nodes ran side by side: {ran:?}",
            db.name
        );
    }
}
