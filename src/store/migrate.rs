//! Embedded migrations (one folder per backend) and the code-system registry seed.

use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::schema::{code_system_aliases, code_systems};
use super::{AnyConnection, StoreError};
use crate::systems::CODE_SYSTEMS;
use crate::with_backend;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The PostgreSQL advisory lock every migrating process takes first (any fixed number: it only
/// has to be the same for every hyojun process).
const MIGRATION_LOCK: i64 = 0x6879_6f6a_756e; // "hyojun"

/// Attempts of a SQLite migration run that lost races to other processes (see [`run`]).
const SQLITE_TRIES: usize = 32;

/// Applies the pending migrations of the connection's backend. Several nodes started at once
/// on one database do not race: on PostgreSQL each waits for the session advisory lock
/// [`MIGRATION_LOCK`] and then finds the migrations applied by the first; on SQLite the file's
/// write lock serialises each migration, and a process that read the applied set just before
/// another applied one reads it again: every such failure means another process applied a
/// migration, so [`SQLITE_TRIES`] (more than there are migrations) always suffices.
pub fn run(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => {
            let mut tries = 0;
            loop {
                tries += 1;
                match c.run_pending_migrations(SQLITE_MIGRATIONS) {
                    Ok(v) => break Ok(v.iter().map(ToString::to_string).collect()),
                    Err(_) if tries < SQLITE_TRIES => {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(e) => break Err(e),
                }
            }
        }
        AnyConnection::Postgres(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(c)?;
            let applied = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.iter().map(ToString::to_string).collect());
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(c)?;
            applied
        }
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Writes the code systems hyojun knows into the database (idempotent).
pub fn seed_code_systems(conn: &mut AnyConnection) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        for system in CODE_SYSTEMS.iter() {
            let row = (
                code_systems::key.eq(system.key),
                code_systems::master.eq(system.master.key()),
                code_systems::name.eq(system.name),
                code_systems::canonical_url.eq(system.canonical_url),
                code_systems::description.eq(system.description),
            );
            with_backend!(&mut *conn, |c| diesel::insert_into(code_systems::table)
                .values(row)
                .on_conflict(code_systems::key)
                .do_update()
                .set(row)
                .execute(c))?;
            for alias in system.canonical_url.iter().chain(system.oids.iter()) {
                let alias_row = (
                    code_system_aliases::alias.eq(*alias),
                    code_system_aliases::system_key.eq(system.key),
                );
                with_backend!(&mut *conn, |c| diesel::insert_into(
                    code_system_aliases::table
                )
                .values(alias_row)
                .on_conflict(code_system_aliases::alias)
                .do_update()
                .set(code_system_aliases::system_key.eq(system.key))
                .execute(c))?;
            }
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}
