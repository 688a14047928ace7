//! The versioned release store: the only module that speaks SQL.
//!
//! Every master row version is stored once, with the range of releases it is valid in
//! (`valid_from` ≤ release < `valid_to`; release ids grow with import order). A release is
//! therefore the set of row versions valid at its id, and the difference between two releases
//! is the set of versions valid in exactly one of them.

pub mod activation;
pub mod audit;
mod carriers;
mod connection;
pub mod diff;
pub mod import;
pub mod jobs;
pub mod keys;
pub mod lookup;
pub mod mapping;
pub mod migrate;
pub mod models;
pub mod names;
pub mod recheck;
pub mod releases;
pub mod schema;
pub mod search_feed;
mod speaker;
pub mod successors;

use thiserror::Error;

pub use connection::{open_pool, AnyConnection, Backend, DatabaseUrl, DbPool, PooledConn};

/// Errors of the store layer.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database URL or location is unusable.
    #[error("{0}")]
    Config(String),
    /// The database cannot be reached.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Something asked for does not exist (release label, master …).
    #[error("{0}")]
    NotFound(String),
    /// A request value is unusable (named in the message).
    #[error("{0}")]
    Invalid(String),
    /// The request contradicts the store's history (e.g. an out-of-order import).
    #[error("{0}")]
    Conflict(String),
    /// Stored data could not be decoded (a bug or a damaged database).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Connect(e.to_string())
    }
}

/// Handle on one database: a connection pool plus what kind of database it is.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    backend: Backend,
}

impl Store {
    /// Connects (creating a SQLite file if needed) without migrating.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self, StoreError> {
        Ok(Store {
            pool: open_pool(url, pool_size)?,
            backend: url.backend,
        })
    }

    /// Connects and applies pending migrations.
    pub fn open(url: &DatabaseUrl, pool_size: u32) -> Result<Self, StoreError> {
        let store = Store::connect(url, pool_size)?;
        store.migrate()?;
        Ok(store)
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A pooled connection.
    pub fn conn(&self) -> Result<PooledConn, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Applies pending migrations and refreshes the code-system registry; returns the names
    /// of the migrations applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let applied = migrate::run(&mut conn)?;
        migrate::seed_code_systems(&mut conn)?;
        Ok(applied)
    }
}
