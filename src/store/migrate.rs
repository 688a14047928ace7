//! Embedded migrations (one folder per backend) and the code-system registry seed.

use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::schema::{code_system_aliases, code_systems};
use super::{AnyConnection, StoreError};
use crate::systems::CODE_SYSTEMS;
use crate::with_backend;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies the pending migrations of the connection's backend.
pub fn run(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect()),
        AnyConnection::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect()),
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Writes the code systems hyojun knows into the database (idempotent).
pub fn seed_code_systems(conn: &mut AnyConnection) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        for system in CODE_SYSTEMS {
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
