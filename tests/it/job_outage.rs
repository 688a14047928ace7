//! A job's try cut short by a database outage (PostgreSQL through a TCP proxy that the test
//! cuts and restores; the shared server is never touched): the import's transaction is lost
//! mid-write, nothing of it stays, and the job is queued again after its backoff (try 1 of 2)
//! and finished by the next try; a job whose every try meets an outage fails with the reason
//! and the fix. The runner is stepped; the outage starts once the import has written inside
//! its transaction (seen from PostgreSQL's own activity view), so it always lands mid-write.
//!
//! SQLite has no "database away" of this kind (the file is local; a lock held past the busy
//! timeout is the nearest, and the takeover tests cover a try that never reports): PostgreSQL
//! only, as `faults.rs`.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::Value;

use hyojun::api::AppState;
use hyojun::app::jobs::runner::Ran;
use hyojun::store::{DatabaseUrl, Store};
use hyojun::systems::Master;

use crate::api::keys;
use crate::faults::postgres;
use crate::job_runner::{job, metrics, node_config, upload};
use crate::proxy::{Cut, Proxy};
use crate::real_hot9::real_files;

/// Whether the import of job `id` has written inside its transaction: its job row says it is
/// writing, and a server process of this database other than ours holds a transaction id.
fn writing(direct: &Store, id: i64) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = direct.conn().expect("a direct connection");
    let found: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND backend_xid IS NOT NULL \
         AND pid <> pg_backend_pid() \
         AND EXISTS (SELECT 1 FROM jobs WHERE id = {id} \
                     AND progress LIKE '%writing to the database%')"
    ))
    .get_result(&mut *conn)
    .expect("pg_stat_activity");
    found.n > 0
}

/// Steps `node`'s runner on a thread and cuts the proxy once the claimed import (job `id`)
/// writes in its transaction; forwards again 200 ms later. Returns what the step ran.
fn step_through_an_outage(node: &AppState, direct: &Store, proxy: &Proxy, id: i64) -> Ran {
    let runner = node.jobs.clone();
    let stepping = std::thread::spawn(move || runner.step());
    let started = Instant::now();
    while !writing(direct, id) {
        assert!(
            !stepping.is_finished(),
            "the step of job {id} ended before it wrote"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "job {id} never wrote"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    proxy.cut(Cut::Refuse);
    std::thread::sleep(Duration::from_millis(200));
    proxy.restore();
    stepping
        .join()
        .expect("the step thread")
        .expect("step")
        .expect("a job ran")
}

/// Steps until a job runs (its backoff may hold it back), at most 10 s.
fn step_when_due(node: &AppState) -> Ran {
    let started = Instant::now();
    loop {
        if let Some(ran) = node.jobs.step().expect("step") {
            return ran;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no job became due"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The count of a `hyojun_jobs_total` outcome of imports on a node.
fn outcomes(text: &str, outcome: &str) -> u64 {
    let prefix = format!("hyojun_jobs_total{{kind=\"import_release\",outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map_or(0, |n| n.parse().expect("a count"))
}

#[actix_web::test]
async fn a_try_cut_by_a_database_outage_is_tried_again_and_fails_only_after_its_tries() {
    let Some(db) = postgres("job_outage") else {
        return;
    };
    let k = keys(&db);
    let files_dir = tempfile::tempdir().expect("tmp");
    let real = real_files(files_dir.path());
    // The form's file of the `n`th real release.
    let file = |n: usize| {
        let path = &real[n].cp932;
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        vec![(
            name.to_owned(),
            std::fs::read(path).expect("real HOT9 file"),
        )]
    };
    let uploads = tempfile::tempdir().expect("tmp");
    let proxy = Proxy::in_front_of(&db.url);
    let through_proxy = Store::open(&DatabaseUrl::parse(&proxy.url(&db.url)).expect("url"), 8)
        .expect("store through the proxy");
    // The node runs jobs only when stepped, and gives each job 2 tries; it records a failed
    // try while the database is back within half of 10 s.
    let config = |name: &str| hyojun::api::ApiConfig {
        job_stale: Duration::from_secs(10),
        ..node_config(name, uploads.path(), 1, false)
    };
    let node = AppState::new(through_proxy, config("outage-node"));
    assert_eq!(node.config.job_attempts, 2);
    // Reads of the test go around the proxy.
    let observer = AppState::new(db.store.clone(), config("observer"));
    let release = || db.store.find_release(Master::Hot, "20011214");

    // Try 1 of the first upload is cut mid-write: nothing stays, the job waits for its
    // backoff with the reason.
    let first = upload(&node, &k.admin, "hot", &file(0)).await;
    let ran = step_through_an_outage(&node, &db.store, &proxy, first);
    assert_eq!((ran.lease.id.get(), ran.lease.attempt), (first, 1));
    let queued = job(&observer, &k.admin, first).await;
    assert_eq!(queued["state"], "queued", "{queued}");
    assert_eq!(queued["attempts"], 1, "{queued}");
    let note = queued["progress"]["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("try 1 of 2 failed (") && note.contains("; tried again from "),
        "{queued}"
    );
    assert!(release().is_err(), "a release of the cut try stayed");
    assert!(
        uploads.path().join("jobs").join(first.to_string()).is_dir(),
        "the files of a job to try again are kept"
    );
    // Try 2, after the backoff, imports the release.
    let ran = step_when_due(&node);
    assert_eq!((ran.lease.id.get(), ran.lease.attempt), (first, 2));
    let done = job(&observer, &k.admin, first).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2);
    let imported = release().expect("the release of try 2");
    assert_eq!(done["release_id"], Value::from(imported.id.get()), "{done}");

    // The second upload (the next release) meets an outage in each of its 2 tries: it fails with the reason and
    // the fix, and its files go.
    let second = upload(&node, &k.admin, "hot", &file(1)).await;
    for attempt in 1..=2 {
        if attempt > 1 {
            // The backoff after try 1 (1 s).
            std::thread::sleep(Duration::from_millis(1_100));
        }
        let ran = step_through_an_outage(&node, &db.store, &proxy, second);
        assert_eq!((ran.lease.id.get(), ran.lease.attempt), (second, attempt));
    }
    let failed = job(&observer, &k.admin, second).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["attempts"], 2, "{failed}");
    assert_eq!(
        failed["problems"],
        serde_json::json!({"total": 1, "items": [{
            "file": "(job)",
            "kind": "database_unavailable",
            "message": "the database was not available in any try of the job; nothing was changed",
            "fix": "upload the release again once the database is back (GET /readyz)",
        }]}),
        "{failed}"
    );
    assert!(!uploads
        .path()
        .join("jobs")
        .join(second.to_string())
        .exists());

    let text = metrics(&node).await;
    assert_eq!(outcomes(&text, "retried"), 2, "{text}");
    assert_eq!(outcomes(&text, "succeeded"), 1, "{text}");
    assert_eq!(outcomes(&text, "failed"), 1, "{text}");
}
