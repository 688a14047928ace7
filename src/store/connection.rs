//! Connections to either backend: SQLite (embedded default) or PostgreSQL, pooled.

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, PgConnection, SqliteConnection};

use super::health::Health;
use super::StoreError;

/// A connection to whichever backend the database URL names.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection, compiled once per backend.
/// Use it where the backends' SQL or diesel's support differs (bulk inserts, dialect).
#[macro_export]
macro_rules! with_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::AnyConnection::Sqlite($c) => $body,
            $crate::store::AnyConnection::Postgres($c) => $body,
        }
    };
}

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database location, parsed from `--database-url` / `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, the URL for PostgreSQL.
    pub target: String,
}

impl DatabaseUrl {
    /// `postgres://…`/`postgresql://…` is PostgreSQL; `sqlite://path`, `sqlite:path` or a
    /// plain path is a SQLite file.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl {
                backend: Backend::Postgres,
                target: url.to_owned(),
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(StoreError::Config(format!(
                "database URL `{url}` is neither postgres://… nor a SQLite file path"
            )));
        }
        Ok(DatabaseUrl {
            backend: Backend::Sqlite,
            target: path.to_owned(),
        })
    }

    /// The URL with any password hidden, for messages.
    pub fn redacted(&self) -> String {
        match (self.backend, self.target.split_once('@')) {
            (Backend::Postgres, Some((userinfo, host))) => match userinfo.split_once("://") {
                Some((scheme, creds)) => {
                    let user = creds.split(':').next().unwrap_or("");
                    format!("{scheme}://{user}@{host}")
                }
                None => format!("postgres://…@{host}"),
            },
            _ => self.target.clone(),
        }
    }

    /// The default: a SQLite file under `./data/`.
    pub fn default_sqlite() -> Self {
        DatabaseUrl {
            backend: Backend::Sqlite,
            target: "data/hyojun.sqlite3".to_owned(),
        }
    }
}

/// Whether a query failed because the connection to the database is gone (the server went
/// away, the network dropped it, or diesel gave up on the connection's transaction state):
/// the connection is of no further use. After the first failure on a lost PostgreSQL
/// connection, every later statement on it (the rollback of its transaction, a retry) fails
/// before it is sent: libpq's "no connection to the server", `UnableToSendCommand`.
pub fn lost_connection(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::BrokenTransactionManager => true,
        Error::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => lost_connection(rollback_error) || lost_connection(commit_error),
        _ => false,
    }
}

/// Whether a query failed because the database is not available (a lost connection, or a
/// SQLite file another process keeps locked past the busy timeout): worth a retry later, not
/// a bug. The store reports these as [`StoreError::Connect`].
pub fn unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            message.starts_with("database is locked") || message.starts_with("database is busy")
        }
        Error::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => unavailable(rollback_error) || unavailable(commit_error),
        e => lost_connection(e),
    }
}

/// Watches one connection's queries: a query that failed on a lost connection marks the
/// connection broken (the pool drops it when it comes back, [`Manager::has_broken`]) and asks
/// the health check for a probe.
struct Watch {
    lost: bool,
    health: Weak<Health>,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error: Some(e), .. } = event {
            self.lost |= lost_connection(e);
            if unavailable(e) {
                if let Some(health) = self.health.upgrade() {
                    health.report();
                }
            }
        }
    }
}

/// libpq settings hyojun gives unless the URL sets them: give up connecting after 2 s (the
/// shortest libpq allows), and on a connection whose sent data stays unacknowledged for 10 s.
const PG_DEFAULTS: [(&str, &str); 2] = [("connect_timeout", "2"), ("tcp_user_timeout", "10000")];

/// The URL given to libpq: `target` with [`PG_DEFAULTS`] added where it does not set them.
fn with_pg_defaults(target: &str) -> String {
    let mut url = target.to_owned();
    let query = target.split_once('?').map_or("", |(_, q)| q);
    for (key, value) in PG_DEFAULTS {
        let set = query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(key));
        if !set {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&format!("{key}={value}"));
        }
    }
    url
}

/// Opens connections for the backend the URL names; never guesses another backend.
#[derive(Clone)]
pub struct Manager {
    url: DatabaseUrl,
    /// What libpq is given (the URL with [`PG_DEFAULTS`]).
    pg_target: String,
    health: Weak<Health>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("url", &self.url.redacted())
            .finish()
    }
}

impl Manager {
    /// The database URL with any password hidden.
    pub(super) fn redacted_url(&self) -> String {
        self.url.redacted()
    }

    pub(super) fn new(url: &DatabaseUrl, health: &Arc<Health>) -> Self {
        Manager {
            url: url.clone(),
            pg_target: with_pg_defaults(&url.target),
            health: Arc::downgrade(health),
        }
    }

    fn open(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        let mut conn = match self.url.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url.target)?;
                // WAL lets readers work beside one writer; the busy timeout makes writers
                // wait for each other instead of failing. The page size applies when the file
                // is created (bulk loads of 100k-row releases write fewer, fuller pages).
                conn.batch_execute(
                    "PRAGMA busy_timeout = 30000;
                     PRAGMA page_size = 16384;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA cache_size = -32768;
                     PRAGMA temp_store = MEMORY;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                AnyConnection::Sqlite(conn)
            }
            Backend::Postgres => AnyConnection::Postgres(PgConnection::establish(&self.pg_target)?),
        };
        conn.set_instrumentation(Watch {
            lost: false,
            health: self.health.clone(),
        });
        Ok(conn)
    }

    /// A connection for the health check: on SQLite it waits at most 200 ms for a lock (a
    /// file another process keeps locked counts as down, not as slow).
    pub(super) fn connect_for_probe(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        let mut conn = self.open()?;
        if let AnyConnection::Sqlite(c) = &mut conn {
            c.batch_execute("PRAGMA busy_timeout = 200;")
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
        }
        Ok(conn)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), diesel::ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
    }

    /// Broken: a query on it failed on a lost connection ([`lost_connection`]), its
    /// transaction state is broken or a transaction was left open (diesel's check), or it is
    /// given back while a thread panics.
    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking()
            || R2D2Connection::is_broken(conn)
            || conn
                .instrumentation()
                .downcast_ref::<Watch>()
                .is_some_and(|w| w.lost)
    }
}

/// A pool of connections to one database.
pub type DbPool = r2d2::Pool<Manager>;
/// A connection taken from the pool.
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// The pool's own attempts to open connections back off at most half this after a failure
/// (r2d2), so it is short: the pool follows a database that is back within 0.15 s. (The pool
/// never waits for it: [`Store::conn`](super::Store::conn) waits with its own deadline.)
const POOL_TIMEOUT: Duration = Duration::from_millis(300);

/// The pool's failed connection attempts (retried every 0.15 s while the database is away)
/// are logged at debug level only: the health check logs the outage once, and a checkout that
/// gives up says why.
#[derive(Debug)]
struct QuietErrors;

impl r2d2::HandleError<diesel::ConnectionError> for QuietErrors {
    fn handle_error(&self, error: diesel::ConnectionError) {
        tracing::debug!(%error, "connection attempt failed");
    }
}

/// Opens a pool; for SQLite the file's folder is created on first use.
pub(super) fn open_pool(manager: Manager, max_size: u32) -> Result<DbPool, StoreError> {
    let url = manager.url.clone();
    if url.backend == Backend::Sqlite {
        if let Some(parent) = Path::new(&url.target).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Config(format!(
                        "cannot create the database folder {}: {e}",
                        parent.display()
                    ))
                })?;
            }
        }
    }
    // Unchecked: the first checkout waits for a connection (and says why none came).
    Ok(r2d2::Pool::builder()
        .error_handler(Box::new(QuietErrors))
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(POOL_TIMEOUT)
        .build_unchecked(manager))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use diesel::connection::{SimpleConnection, TransactionManager};
    use diesel::prelude::*;
    use r2d2::ManageConnection;

    use super::{with_pg_defaults, AnyConnection, Backend, DatabaseUrl, Health, Manager};
    use crate::store::StoreError;

    type Transactions = <AnyConnection as Connection>::TransactionManager;

    /// A transaction left open is broken on both backends (the pool must not hand it out).
    fn left_in_a_transaction(manager: &Manager) {
        let mut conn = manager.connect().expect("connect");
        assert!(!manager.has_broken(&mut conn));
        Transactions::begin_transaction(&mut conn).expect("begin");
        assert!(manager.has_broken(&mut conn));
        Transactions::commit_transaction(&mut conn).expect("commit");
        assert!(!manager.has_broken(&mut conn));
    }

    #[test]
    fn a_connection_left_in_a_transaction_is_broken_sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.sqlite3").display().to_string();
        let url = DatabaseUrl::parse(&path).expect("url");
        left_in_a_transaction(&Manager::new(&url, &Arc::new(Health::default())));
    }

    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }

    /// PostgreSQL: a connection whose server process is gone fails its next query with a
    /// `Connect` error and is broken; a fresh one is not. Uses the tests' PostgreSQL
    /// (`HYOJUN_TEST_POSTGRES_URL`) and ends only its own server process.
    #[test]
    fn a_connection_left_in_a_transaction_or_lost_is_broken_postgres() {
        if std::env::var("HYOJUN_TEST_BACKENDS").is_ok_and(|b| !b.contains("postgres")) {
            return;
        }
        let admin = std::env::var("HYOJUN_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let url = DatabaseUrl::parse(&admin).expect("url");
        assert_eq!(url.backend, Backend::Postgres);
        let manager = Manager::new(&url, &Arc::new(Health::default()));
        left_in_a_transaction(&manager);
        let mut conn = manager.connect().unwrap_or_else(|e| {
            panic!("PostgreSQL is not reachable at {admin} ({e}): the tests need it")
        });
        let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Pid>(&mut conn)
            .expect("pid")
            .pid;
        let mut other = manager.connect().expect("second connection");
        other
            .batch_execute(&format!("SELECT pg_terminate_backend({pid})"))
            .expect("terminate");
        assert!(!manager.has_broken(&mut conn), "nothing told it yet");
        let error = conn
            .batch_execute("SELECT 1")
            .expect_err("the server process is gone");
        assert!(manager.has_broken(&mut conn), "{error}");
        assert!(
            matches!(StoreError::from(error), StoreError::Connect(_)),
            "a lost connection is a Connect error"
        );
        // The next statement on it is not even sent: a Connect error as well (it was a query
        // error, and a job cut by an outage failed for good instead of being tried again).
        let again = conn
            .batch_execute("SELECT 1")
            .expect_err("the connection is gone");
        assert!(
            matches!(
                again,
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UnableToSendCommand,
                    _
                )
            ),
            "{again:?}"
        );
        assert!(
            matches!(StoreError::from(again), StoreError::Connect(_)),
            "a statement on a lost connection is a Connect error"
        );
        assert!(!manager.has_broken(&mut other));
    }

    #[test]
    fn libpq_gets_timeouts_unless_the_url_sets_them() {
        assert_eq!(
            with_pg_defaults("postgres://u@h:5432/db"),
            "postgres://u@h:5432/db?connect_timeout=2&tcp_user_timeout=10000"
        );
        assert_eq!(
            with_pg_defaults("postgres://u@h/db?sslmode=disable&connect_timeout=7"),
            "postgres://u@h/db?sslmode=disable&connect_timeout=7&tcp_user_timeout=10000"
        );
    }
}
