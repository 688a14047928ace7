//! Test databases: every test gets its own SQLite file and its own PostgreSQL database.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::prelude::*;
use diesel::PgConnection;
use hyojun::store::{DatabaseUrl, Store};

/// Where the PostgreSQL used by the tests lives (a database that exists; tests create their
/// own databases beside it).
pub fn postgres_admin_url() -> String {
    std::env::var("HYOJUN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh, migrated database of one backend, removed when dropped.
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    pub store: Store,
    pg_database: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(db) = &self.pg_database {
            if let Ok(mut conn) = PgConnection::establish(&postgres_admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The backends the tests accept in `HYOJUN_TEST_BACKENDS`.
pub const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

/// The backends a `HYOJUN_TEST_BACKENDS` value selects (`None`: the variable is not set, so
/// both). A name that is not one of [`BACKENDS`], or a selection of none, is an error: a test
/// command must never pass by running no storage test.
pub fn select_backends(value: Option<&str>) -> Result<Vec<&'static str>, String> {
    let Some(value) = value else {
        return Ok(BACKENDS.to_vec());
    };
    let mut selected = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(backend) = BACKENDS.iter().find(|b| **b == name) else {
            return Err(format!(
                "HYOJUN_TEST_BACKENDS names `{name}`: the accepted values are {} \
                 (comma-separated), e.g. HYOJUN_TEST_BACKENDS=sqlite",
                BACKENDS.join(", ")
            ));
        };
        if !selected.contains(backend) {
            selected.push(*backend);
        }
    }
    if selected.is_empty() {
        return Err(format!(
            "HYOJUN_TEST_BACKENDS is set but names no backend: give one or more of {} \
             (comma-separated), or unset it to test both",
            BACKENDS.join(", ")
        ));
    }
    Ok(selected)
}

pub(crate) fn backends() -> Vec<&'static str> {
    let value = std::env::var("HYOJUN_TEST_BACKENDS").ok();
    select_backends(value.as_deref()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn unknown_or_empty_backend_selections_are_refused() {
    assert_eq!(select_backends(None), Ok(vec!["sqlite", "postgres"]));
    assert_eq!(select_backends(Some("sqlite")), Ok(vec!["sqlite"]));
    assert_eq!(
        select_backends(Some(" postgres , sqlite,postgres")),
        Ok(vec!["postgres", "sqlite"])
    );
    assert_eq!(
        select_backends(Some("postgresql")),
        Err(
            "HYOJUN_TEST_BACKENDS names `postgresql`: the accepted values are sqlite, \
             postgres (comma-separated), e.g. HYOJUN_TEST_BACKENDS=sqlite"
                .to_owned()
        )
    );
    assert_eq!(
        select_backends(Some("sqlite,pg")).unwrap_err(),
        "HYOJUN_TEST_BACKENDS names `pg`: the accepted values are sqlite, postgres \
         (comma-separated), e.g. HYOJUN_TEST_BACKENDS=sqlite"
    );
    for empty in ["", " ", ",", " , "] {
        assert_eq!(
            select_backends(Some(empty)),
            Err(
                "HYOJUN_TEST_BACKENDS is set but names no backend: give one or more of \
                 sqlite, postgres (comma-separated), or unset it to test both"
                    .to_owned()
            ),
            "{empty:?}"
        );
    }
}

/// One fresh database per backend under test (SQLite and PostgreSQL unless
/// `HYOJUN_TEST_BACKENDS` narrows it).
pub fn databases(test: &str) -> Vec<TestDb> {
    backends()
        .into_iter()
        .map(|b| database(b, test, None))
        .collect()
}

/// An ICU collation whose text order differs from byte order (case, width, kana).
pub const ICU_COLLATION: &str = "ja-JP";

/// As [`databases`], with the PostgreSQL database's default collation the ICU `locale`
/// (text order unlike SQLite's byte order), for tests that answers do not lean on it.
pub fn databases_collated(test: &str, locale: &str) -> Vec<TestDb> {
    backends()
        .into_iter()
        .map(|b| database(b, test, Some(locale)))
        .collect()
}

fn database(backend: &'static str, test: &str, icu_locale: Option<&str>) -> TestDb {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("hyojun.sqlite3");
            let url = path.display().to_string();
            let store =
                Store::open(&DatabaseUrl::parse(&url).expect("url"), 4).expect("sqlite store");
            TestDb {
                name: "sqlite",
                url,
                store,
                pg_database: None,
                _dir: Some(dir),
            }
        }
        _ => {
            let admin = postgres_admin_url();
            let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at {admin} ({e}). The tests need it: start it \
                     (pg_ctlcluster … main start) or set HYOJUN_TEST_POSTGRES_URL; \
                     HYOJUN_TEST_BACKENDS=sqlite runs the SQLite half only."
                )
            });
            let safe: String = test
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(30)
                .collect();
            let db = format!(
                "hyojun_t{}_{n}_{}",
                std::process::id(),
                safe.to_ascii_lowercase()
            );
            let collation = icu_locale.map_or(String::new(), |l| {
                format!(" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{l}'")
            });
            diesel::sql_query(format!("CREATE DATABASE {db}{collation}"))
                .execute(&mut conn)
                .expect("create test database");
            let (base, _) = admin
                .rsplit_once('/')
                .expect("database URL with a database name");
            let url = format!("{base}/{db}");
            let store =
                Store::open(&DatabaseUrl::parse(&url).expect("url"), 4).expect("postgres store");
            TestDb {
                name: "postgres",
                url,
                store,
                pg_database: Some(db),
                _dir: None,
            }
        }
    }
}

/// The repository root (for `masters/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/data` beside the repository; tests that need real data fail clearly without it.
pub fn shared_data() -> PathBuf {
    let dir = std::env::var("HYOJUN_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("../shared/data"));
    assert!(
        dir.is_dir(),
        "real master extracts are expected at {} (set HYOJUN_SHARED_DATA)",
        dir.display()
    );
    dir
}

/// Runs the `hyojun` command line in-process against `db`; returns the exit code (0 = ok).
pub fn hyojun(db: &TestDb, args: &[&str]) -> i32 {
    let mut argv = vec!["hyojun", "--database-url", db.url.as_str()];
    argv.extend_from_slice(args);
    let cli = <hyojun::cli::Cli as clap::Parser>::try_parse_from(argv).expect("valid command line");
    match hyojun::cli::run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("hyojun {args:?}: {e}");
            e.exit_code()
        }
    }
}

/// Everything a failed import must leave untouched: every row of every table, in key order.
pub fn fingerprint(db: &TestDb) -> String {
    use hyojun::store::models::*;
    use hyojun::store::schema::*;
    let mut conn = db.store.conn().expect("connection");
    let c = &mut *conn;
    let mut out = String::new();
    macro_rules! dump {
        ($table:ident, $row:ty, $order:expr) => {{
            let rows: Vec<$row> = $table::table
                .order($order)
                .select(<$row>::as_select())
                .load(c)
                .expect(stringify!($table));
            out.push_str(&format!(
                "{}: {} rows\n{:?}\n",
                stringify!($table),
                rows.len(),
                rows
            ));
        }};
    }
    dump!(releases, ReleaseRow, releases::id);
    dump!(
        release_files,
        ReleaseFileRow,
        (release_files::release_id, release_files::position)
    );
    dump!(
        release_stats,
        ReleaseStatRow,
        (release_stats::release_id, release_stats::system_key)
    );
    dump!(
        release_notices,
        ReleaseNoticeRow,
        (release_notices::release_id, release_notices::position)
    );
    dump!(concepts, ConceptRow, concepts::id);
    dump!(
        concept_links,
        LinkRow,
        (
            concept_links::concept_id,
            concept_links::relation,
            concept_links::system_key,
            concept_links::code
        )
    );
    dump!(
        release_changes,
        ChangeRow,
        (
            release_changes::release_id,
            release_changes::system_key,
            release_changes::code
        )
    );
    dump!(activations, ActivationRow, activations::id);
    out
}

/// Writes `text` CP932-encoded with CRLF line ends, as MEDIS ships its files.
pub fn write_cp932(path: &Path, text: &str) {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&crlf);
    assert!(
        !unmappable,
        "{} has characters CP932 cannot hold",
        path.display()
    );
    std::fs::write(path, bytes).expect("write test file");
}

/// Asserts that `diff` lists, for each of `systems`, exactly the codes `expected` (an
/// `EXPECTED.json` written by a sample generator) gives as added, removed and changed, and
/// that the change set stored with `to` has one entry per change.
pub fn assert_expected_changes(
    db: &TestDb,
    diff: &hyojun::store::diff::Diff,
    to: &hyojun::store::models::ReleaseRow,
    expected: &serde_json::Value,
    systems: &[&str],
) {
    use hyojun::store::diff::ChangeKind;
    for system in systems {
        for kind in [ChangeKind::Added, ChangeKind::Removed, ChangeKind::Changed] {
            let got: Vec<&str> = diff
                .changes
                .iter()
                .filter(|c| c.system == *system && c.kind == kind)
                .map(|c| c.code.as_str())
                .collect();
            let want: Vec<&str> = expected[*system][kind.as_str()]
                .as_array()
                .expect("list")
                .iter()
                .map(|v| v.as_str().expect("code"))
                .collect();
            assert_eq!(got, want, "{} {system} {}", db.name, kind.as_str());
        }
    }
    let stored = db.store.change_set(to).expect("change set");
    assert_eq!(stored.len(), diff.changes.len(), "{}", db.name);
}

/// A free loopback port (for a server started as a child process).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One HTTP/1.1 request over a fresh connection to a server started as a child process:
/// (status, JSON body or the body as a string). `None` when nothing answers.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> Option<(u16, serde_json::Value)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(key) = key {
        head.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    let (content_type, bytes) = body.unwrap_or(("", b""));
    if body.is_some() {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(bytes).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let mut body = answer[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
    Some((status, value))
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || body.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[(end + 4 + size).min(body.len())..];
    }
    out
}

/// A multipart form body: (content type, bytes) with `fields` and `files` (all as `file`).
pub fn multipart<B: AsRef<[u8]>>(
    fields: &[(&str, &str)],
    files: &[(&str, B)],
) -> (String, Vec<u8>) {
    let boundary = "hyojun-test-boundary-91c2";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes.as_ref());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads an upload folder still holds: folders being received (`incoming/`) and folders
/// kept for a job (`jobs/`).
pub fn uploads_kept(root: &Path) -> usize {
    ["incoming", "jobs"]
        .iter()
        .map(|sub| std::fs::read_dir(root.join(sub)).map_or(0, |d| d.count()))
        .sum()
}
