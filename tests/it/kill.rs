//! kill -9 during imports: the real binary imports real HOT9 releases (CP932 copies of the
//! files in `../shared/data`) and is killed with SIGKILL at random points. After every kill
//! the previous release still serves and the database is either exactly as before (every row
//! of every table) or holds the whole new release; the next import succeeds. Likewise an
//! upload job on a serving node (`hyojun serve` as a child process) killed mid-job: another
//! node sharing the database and the upload folder takes the job over once its heartbeat is
//! stale and finishes it; the previous release serves meanwhile.
//!
//! `HYOJUN_KILL_RUNS` (default 3) sets the kills per backend, `HYOJUN_KILL_SEED` the random
//! seed (printed); `bench/kill_imports.sh` runs the long loop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::Value;

use hyojun::access::Role;
use hyojun::store::jobs::JobState;
use hyojun::systems::Master;

use crate::support::{databases, fingerprint, free_port, http, hyojun, multipart, TestDb};

use crate::real_hot9::DATES;

/// CP932 copies of the real HOT9 files (each a whole HOT9 file of ~17,000–19,600 rows), as
/// MEDIS ships them, oldest first.
pub(crate) fn real_files(dir: &Path) -> Vec<PathBuf> {
    crate::real_hot9::real_files(dir)
        .into_iter()
        .map(|f| f.cp932)
        .collect()
}

/// A small PRNG (splitmix64), seeded from `HYOJUN_KILL_SEED` or the clock (printed).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(test: &str) -> Rng {
        let seed = std::env::var("HYOJUN_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{test}: HYOJUN_KILL_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A duration in [0, max).
    pub(crate) fn below(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros().max(1) as u64;
        Duration::from_micros(self.next() % micros)
    }
}

fn kill_runs() -> usize {
    std::env::var("HYOJUN_KILL_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

/// The binary under test, against `db`.
fn binary(db: &TestDb) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hyojun"));
    command
        .arg("--database-url")
        .arg(&db.url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

fn import(db: &TestDb, file: &Path) -> Command {
    let mut command = binary(db);
    command
        .args(["import", "hot", "--partial"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Kills with SIGKILL (if it still runs); whether it had already exited, and how.
fn kill(child: &mut Child) -> Option<std::process::ExitStatus> {
    let exited = child.try_wait().expect("try_wait");
    if exited.is_none() {
        child.kill().expect("kill -9");
    }
    child.wait().expect("wait");
    exited
}

/// What identifies a release's content without the ids and times an import allocates: every
/// release (master, label, revision, state), the new release's counts per system, and the
/// number of rows of each table.
fn content(db: &TestDb) -> String {
    use hyojun::store::schema::*;
    let mut conn = db.store.conn().expect("connection");
    let c = &mut *conn;
    let releases: Vec<(String, String, i64, String)> = releases::table
        .order(releases::id)
        .select((
            releases::master,
            releases::label,
            releases::revision,
            releases::state,
        ))
        .load(c)
        .expect("releases");
    type Stat = (String, String, i64, i64, i64, i64, i64);
    let stats: Vec<Stat> = release_stats::table
        .inner_join(releases::table)
        .order((releases::id, release_stats::system_key))
        .select((
            releases::label,
            release_stats::system_key,
            release_stats::row_count,
            release_stats::code_count,
            release_stats::added,
            release_stats::removed,
            release_stats::changed,
        ))
        .load(c)
        .expect("stats");
    let counts = [
        concepts::table.count().get_result::<i64>(c),
        concept_links::table.count().get_result::<i64>(c),
        release_changes::table.count().get_result::<i64>(c),
        release_files::table.count().get_result::<i64>(c),
        release_notices::table.count().get_result::<i64>(c),
        activations::table.count().get_result::<i64>(c),
    ]
    .map(|n| n.expect("count"));
    format!("{releases:?}\n{stats:?}\n{counts:?}")
}

fn current_label(db: &TestDb) -> Option<String> {
    db.store
        .current_release(Master::Hot)
        .expect("current release")
        .map(|r| r.label)
}

/// A database beside `db` of the same backend that imports the releases to the end without
/// kills: how long each import takes, and what the database holds after it.
struct Reference {
    db: TestDb,
    imported: Vec<(Duration, String)>,
}

impl Reference {
    fn new(db: TestDb, first: &Path) -> Reference {
        assert_eq!(
            hyojun(
                &db,
                &[
                    "import",
                    "hot",
                    &first.display().to_string(),
                    "--activate",
                    "--partial"
                ]
            ),
            0
        );
        Reference {
            db,
            imported: Vec::new(),
        }
    }

    /// (import time, content after it) of the `n`th release after the first.
    fn after(&mut self, files: &[PathBuf], n: usize) -> (Duration, String) {
        while self.imported.len() < n {
            let file = &files[self.imported.len() + 1];
            let started = Instant::now();
            let status = import(&self.db, file).status().expect("run hyojun");
            assert!(
                status.success(),
                "{}: reference import {}",
                self.db.name,
                file.display()
            );
            self.imported.push((started.elapsed(), content(&self.db)));
        }
        self.imported[n - 1].clone()
    }
}

#[test]
fn kill_9_during_imports_leaves_the_previous_release_or_the_whole_new_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = real_files(dir.path());
    let mut rng = Rng::new("kill_imports");
    let references = databases("kill_reference");
    for (db, reference) in databases("kill_imports").into_iter().zip(references) {
        let mut reference = Reference::new(reference, &files[0]);
        assert_eq!(
            hyojun(
                &db,
                &[
                    "import",
                    "hot",
                    &files[0].display().to_string(),
                    "--activate",
                    "--partial"
                ]
            ),
            0
        );
        let first = DATES[0].to_owned();
        // `next`: the release the runs import (the 1st after the first, then the 2nd … once
        // one lands whole).
        let mut next = 1;
        let (mut before, mut kept, mut whole) = (fingerprint(&db), 0, 0);
        for run in 0..kill_runs() {
            if next == files.len() {
                break;
            }
            let (took, expected) = reference.after(&files, next);
            let delay = rng.below(took);
            let mut child = import(&db, &files[next]).spawn().expect("run hyojun");
            std::thread::sleep(delay);
            let exited = kill(&mut child);
            assert_eq!(
                current_label(&db),
                Some(first.clone()),
                "{} run {run}",
                db.name
            );
            let now = fingerprint(&db);
            let outcome = if exited.is_some() {
                "exited before the kill"
            } else {
                "killed"
            };
            eprintln!(
                "{} run {run}: {} after {:.2} s of a {:.2} s import",
                db.name,
                outcome,
                delay.as_secs_f64(),
                took.as_secs_f64()
            );
            if now == before {
                kept += 1;
            } else {
                assert_eq!(
                    content(&db),
                    expected,
                    "{} run {run}: killed after {delay:?} ({exited:?}), the database holds \
                     neither the state before nor the whole of {}",
                    db.name,
                    DATES[next]
                );
                whole += 1;
                next += 1;
                before = now;
            }
        }
        // The next import succeeds and holds exactly what an import without kills holds.
        if next < files.len() {
            let status = import(&db, &files[next]).status().expect("run hyojun");
            assert!(status.success(), "{}: the import after the kills", db.name);
            assert_eq!(content(&db), reference.after(&files, next).1, "{}", db.name);
        }
        assert_eq!(current_label(&db), Some(first), "{}", db.name);
        eprintln!(
            "{}: {} kills during imports: {kept} left the database as it was, {whole} after the \
             whole release had landed, 0 lost",
            db.name,
            kept + whole
        );
    }
}

/// `hyojun serve` as a child process on a free port; killed (SIGKILL) when dropped.
pub(crate) struct Node {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Node {
    pub(crate) fn start(db: &TestDb, dir: &Path, name: &str) -> Node {
        let port = free_port();
        let log = dir.join(format!("serve-{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = binary(db)
            .args(["serve", "--no-warm-up", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--upload-dir")
            .arg(dir.join("uploads"))
            .arg("--index-dir")
            .arg(dir.join("index"))
            .env("HYOJUN_NODE", name)
            .env("HYOJUN_JOB_STALE_MS", "1000")
            .env("RUST_LOG", "info")
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("run hyojun serve");
        let node = Node { child, port, log };
        let started = Instant::now();
        while node.get("/readyz", None).map(|(s, _)| s) != Some(200) {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "hyojun serve not ready after 120 s:\n{}",
                node.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        node
    }

    pub(crate) fn get(&self, path: &str, key: Option<&str>) -> Option<(u16, Value)> {
        http(self.port, "GET", path, key, None)
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn upload(&self, key: &str, file: &Path) -> i64 {
        let bytes = std::fs::read(file).expect("release file");
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        let (content_type, body) =
            multipart(&[("master", "hot"), ("partial", "true")], &[(name, &bytes)]);
        let (status, job) = http(
            self.port,
            "POST",
            "/v1/releases",
            Some(key),
            Some((&content_type, &body)),
        )
        .expect("upload answered");
        assert_eq!(status, 202, "{job}");
        job["id"].as_i64().expect("job id")
    }

    pub(crate) fn job(&self, key: &str, id: i64) -> Value {
        self.get(&format!("/v1/jobs/{id}"), Some(key))
            .expect("job answered")
            .1
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// PostgreSQL: waits (10 s at most) until no other session of the test's database runs a
/// statement, so that a COMMIT a killed node sent has landed or failed. SQLite: nothing to wait
/// for (a killed process's transaction is gone with it).
fn settled(db: &TestDb) {
    if db.name != "postgres" {
        return;
    }
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let started = Instant::now();
    loop {
        let mut conn = db.store.conn().expect("connection");
        let running: Count = diesel::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND state <> 'idle'",
            ),
            &mut *conn,
        )
        .expect("pg_stat_activity");
        if running.n == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a killed node's statements still run"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The label the node serves a code of the HOT9 master from.
fn served_label(node: &Node, key: &str) -> Value {
    let (status, body) = node
        .get("/v1/systems/hot9/codes/100303101", Some(key))
        .expect("code answered");
    assert_eq!(status, 200, "{body}");
    body["release"]["label"].clone()
}

#[test]
fn kill_9_of_a_serving_node_mid_upload_another_node_finishes_the_job() {
    let data = tempfile::tempdir().expect("temp dir");
    let files = real_files(data.path());
    let first = &files[0];
    let mut rng = Rng::new("kill_serve");
    for db in databases("kill_serve") {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            hyojun(
                &db,
                &[
                    "import",
                    "hot",
                    &first.display().to_string(),
                    "--activate",
                    "--partial"
                ]
            ),
            0
        );
        let key = hyojun::app::keys::create(&db.store, "test", "admin", Role::Admin)
            .expect("key")
            .key;
        let (mut taken_over, mut before_kill) = (0, 0);
        for (run, file) in files[1..].iter().enumerate().take(kill_runs().div_ceil(2)) {
            let label = DATES[run + 1];
            let node = Node::start(&db, dir.path(), "node-a");
            assert_eq!(served_label(&node, &key), DATES[0]);
            let id = node.upload(&key, file);
            // Kill once the job runs on node a, at a random point of an import's time.
            let started = Instant::now();
            while node.job(&key, id)["state"] != "running" {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "job {id} never ran"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            let delay = rng.below(Duration::from_millis(1500));
            std::thread::sleep(delay);
            drop(node);
            // A COMMIT the node sent just before it died still completes on the server: wait
            // until no statement of the killed node runs there before looking.
            settled(&db);
            // The import, its audit row and the job's end are one transaction: a release that
            // is there is whole, and its job says succeeded; a job that does not say so left
            // nothing behind.
            let committed = db.store.find_release(Master::Hot, label).is_ok();
            let job = db.store.job(hyojun::ids::JobId::new(id)).expect("job");
            assert_eq!(
                job.state == JobState::Succeeded,
                committed,
                "{} run {run}: the job's end and the import commit together: {job:?}",
                db.name
            );
            // Node b, sharing the database and the upload folder, takes the job over once
            // node a's heartbeat is a second old, and finishes it.
            let other = Node::start(&db, dir.path(), "node-b");
            let started = Instant::now();
            let job = loop {
                let job = other.job(&key, id);
                if job["state"] == "succeeded" || job["state"] == "failed" {
                    break job;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "{} run {run}: job {id}: {job}\n{}",
                    db.name,
                    other.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            };
            assert_eq!(job["state"], "succeeded", "{} run {run}: {job}", db.name);
            if committed {
                assert_eq!(job["attempts"], 1, "{job}");
                before_kill += 1;
                eprintln!(
                    "{} run {run}: the import committed before the kill",
                    db.name
                );
            } else {
                assert_eq!(job["attempts"], 2, "{} run {run}: {job}", db.name);
                taken_over += 1;
                eprintln!(
                    "{} run {run}: killed {:.2} s into the job; node b finished it",
                    db.name,
                    delay.as_secs_f64()
                );
            }
            assert_eq!(
                served_label(&other, &key),
                DATES[0],
                "{} run {run}",
                db.name
            );
            // The node that ended the job removes its files just after the end commits. When
            // node a was killed between its commit and the removal, the files wait for the
            // sweep of ended jobs' folders (once a minute): only node b's end is checked here.
            let files = dir.path().join("uploads/jobs").join(id.to_string());
            let started = Instant::now();
            while !committed && files.exists() {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "{} run {run}: the job's files were not removed",
                    db.name
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let releases = db.store.releases(Some(Master::Hot)).expect("releases");
        let labels: Vec<&str> = releases.iter().map(|r| r.release.label.as_str()).collect();
        let runs = kill_runs().div_ceil(2).min(files.len() - 1);
        assert_eq!(labels, DATES[..=runs], "{}", db.name);
        eprintln!(
            "{}: {taken_over} jobs of killed nodes finished by another node, {before_kill} committed before the kill, 0 lost",
            db.name
        );
    }
}
