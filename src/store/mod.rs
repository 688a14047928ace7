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
pub mod designations;
pub mod diff;
pub mod health;
mod id_column;
pub mod import;
pub mod job_fields;
pub mod jobs;
pub mod json_text;
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
pub mod text_column;

use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;

pub use connection::{
    lost_connection, unavailable, AnyConnection, Backend, DatabaseUrl, DbPool, MultiBackend,
    PooledConn,
};
use health::Health;

/// What kind of thing was not found ([`StoreError::NotFound`]): a stable word that error
/// answers carry (`details.missing`), so that a client can tell a missing job from a missing
/// project without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Release,
    Job,
    ApiKey,
    MappingProject,
    /// A local code of a mapping project.
    LocalCode,
}

impl Missing {
    /// The word error answers carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Missing::Release => "release",
            Missing::Job => "job",
            Missing::ApiKey => "api_key",
            Missing::MappingProject => "mapping_project",
            Missing::LocalCode => "local_code",
        }
    }
}

/// Errors of the store layer.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database URL or location is unusable.
    #[error("{0}")]
    Config(String),
    /// The database cannot be reached.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A query failed (not for want of a database: those are [`StoreError::Connect`]).
    #[error("database error: {0}")]
    Query(diesel::result::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Something asked for does not exist: what kind of thing, and the message.
    #[error("{1}")]
    NotFound(Missing, String),
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

impl From<diesel::result::Error> for StoreError {
    /// A query that failed because the database is not available ([`unavailable`]: a lost
    /// connection, a locked SQLite file) is [`StoreError::Connect`]; a stored value that does
    /// not decode (an enum's unknown spelling, JSON of the wrong shape) is
    /// [`StoreError::Corrupt`], with the whole cause (diesel's own message names only the
    /// field); anything else a query error.
    fn from(e: diesel::result::Error) -> Self {
        if let diesel::result::Error::DeserializationError(cause) = &e {
            return StoreError::Corrupt(causes(cause.as_ref()));
        }
        if unavailable(&e) {
            StoreError::Connect(e.to_string())
        } else {
            StoreError::Query(e)
        }
    }
}

/// An error with each of its sources, joined by `: ` (for causes whose own message leaves
/// the source out).
pub fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Connect(e.to_string())
    }
}

/// How long [`Store::conn`] waits for a pooled connection by default (the command line).
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long it waits on a serving node ([`Store::for_requests`]): a request fails with 503
/// rather than wait longer.
pub const REQUEST_CHECKOUT_TIMEOUT: Duration = Duration::from_millis(800);
/// A wait for the pool is cut in slices this long, so that a database found down meanwhile
/// ends it at once.
const CHECKOUT_SLICE: Duration = Duration::from_millis(50);

/// The connection pool's state ([`Store::pool_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections the pool holds (in use and idle).
    pub connections: u32,
    /// Connections waiting in the pool.
    pub idle: u32,
    /// The most the pool opens.
    pub max_size: u32,
}

/// Handle on one database: a connection pool plus what kind of database it is.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    backend: Backend,
    health: Arc<Health>,
    manager: connection::Manager,
    checkout: Duration,
}

impl Store {
    /// Connects (creating a SQLite file if needed) without migrating.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self, StoreError> {
        let health = Arc::new(Health::default());
        let manager = connection::Manager::new(url, &health);
        Ok(Store {
            pool: connection::open_pool(manager.clone(), pool_size)?,
            backend: url.backend,
            health,
            manager,
            checkout: CHECKOUT_TIMEOUT,
        })
    }

    /// Connects and applies pending migrations.
    pub fn open(url: &DatabaseUrl, pool_size: u32) -> Result<Self, StoreError> {
        let store = Store::connect(url, pool_size)?;
        store.migrate()?;
        Ok(store)
    }

    /// This store as a serving node uses it: connections are waited for at most
    /// [`REQUEST_CHECKOUT_TIMEOUT`], and a background check keeps the database's health
    /// ([`health`]) so that requests refuse at once while it is down.
    pub fn for_requests(&self) -> Store {
        health::start(&self.health, self.manager.clone());
        Store {
            checkout: REQUEST_CHECKOUT_TIMEOUT,
            ..self.clone()
        }
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database's health as the background check last saw it (always up without one).
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// A pooled connection; [`StoreError::Connect`] at once while the health check finds the
    /// database down, or when none comes within the checkout timeout.
    pub fn conn(&self) -> Result<PooledConn, StoreError> {
        if self.health.is_down() {
            return Err(self.health.refusal());
        }
        let deadline = Instant::now() + self.checkout;
        let mut reported = false;
        loop {
            let slice = deadline
                .saturating_duration_since(Instant::now())
                .min(CHECKOUT_SLICE);
            match self.pool.get_timeout(slice) {
                Ok(conn) => return Ok(conn),
                Err(e) => {
                    // Busy, or gone: let the health check look now.
                    if !reported {
                        self.health.report();
                        reported = true;
                    }
                    if self.health.is_down() {
                        return Err(self.health.refusal());
                    }
                    if Instant::now() >= deadline {
                        return Err(StoreError::Connect(format!(
                            "{}: no connection within {} ms: {e}",
                            self.manager.redacted_url(),
                            self.checkout.as_millis()
                        )));
                    }
                }
            }
        }
    }

    /// Connections the pool holds now (in use and idle).
    pub fn pooled_connections(&self) -> u32 {
        self.pool.state().connections
    }

    /// The pool's connections now (its counters: nothing waits).
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max_size: self.pool.max_size(),
        }
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
