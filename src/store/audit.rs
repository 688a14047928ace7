//! The audit log: every write, who did it, when, and how it ended.

use chrono::Utc;
use diesel::prelude::*;

use super::models::AuditRow;
use super::schema::audit_log;
use super::{AnyConnection, Store, StoreError};

/// How a write ended.
// Stored as its `as_str` spelling (`crate::store::text_column`); serde and the OpenAPI
// schema (`crate::api::schema`) spell it the same, as a test there checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done: the write and this entry committed together.
    Ok,
    /// Refused: the request was at fault (the detail says what to change); nothing changed.
    Refused,
    /// Failed: hyojun or its database was at fault; nothing changed.
    Failed,
}

impl Outcome {
    /// The stored and shown spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }

    /// Every outcome.
    pub const ALL: [Outcome; 3] = [Outcome::Ok, Outcome::Refused, Outcome::Failed];
}

crate::text_column!(Outcome);

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewEntry<'a> {
    at: chrono::NaiveDateTime,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    outcome: Outcome,
    detail: &'a str,
}

/// Records one write on `conn`, in whatever transaction the caller holds (a command writes it
/// in the write's own: see `crate::app`). `outcome` is `ok`, `refused` or `failed`.
pub fn record(
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    target: &str,
    outcome: Outcome,
    detail: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(audit_log::table)
        .values(NewEntry {
            at: Utc::now().naive_utc(),
            actor,
            action,
            target,
            outcome,
            detail,
        })
        .execute(conn)?;
    Ok(())
}

impl Store {
    /// Audit entries, newest first, `limit` from `offset`.
    pub fn audit_entries(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(i64, Vec<AuditRow>), StoreError> {
        let mut conn = self.conn()?;
        let total: i64 = audit_log::table.count().get_result(&mut *conn)?;
        let rows = audit_log::table
            .order(audit_log::id.desc())
            .limit(limit)
            .offset(offset)
            .select(AuditRow::as_select())
            .load(&mut *conn)?;
        Ok((total, rows))
    }
}
