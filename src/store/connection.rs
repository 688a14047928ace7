//! Connections to either backend: SQLite (embedded default) or PostgreSQL, pooled.

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

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

/// Opens connections for the backend the URL names; never guesses another backend.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        match self.url.backend {
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
                Ok(AnyConnection::Sqlite(conn))
            }
            Backend::Postgres => Ok(AnyConnection::Postgres(PgConnection::establish(
                &self.url.target,
            )?)),
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), diesel::ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

/// A pool of connections to one database.
pub type DbPool = r2d2::Pool<Manager>;
/// A connection taken from the pool.
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Opens a pool; for SQLite the file's folder is created on first use.
pub fn open_pool(url: &DatabaseUrl, max_size: u32) -> Result<DbPool, StoreError> {
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
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(10))
        .build(Manager { url: url.clone() })
        .map_err(|e| StoreError::Connect(format!("{}: {e}", url.redacted())))
}
