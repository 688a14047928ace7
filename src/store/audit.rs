//! The audit log: every write, who did it, when, and how it ended.

use chrono::Utc;
use diesel::prelude::*;

use super::models::AuditRow;
use super::schema::audit_log;
use super::{Store, StoreError};

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewEntry<'a> {
    at: chrono::NaiveDateTime,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    outcome: &'a str,
    detail: &'a str,
}

impl Store {
    /// Records one write. `outcome` is `ok`, `refused` or `failed`.
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        diesel::insert_into(audit_log::table)
            .values(NewEntry {
                at: Utc::now().naive_utc(),
                actor,
                action,
                target,
                outcome,
                detail,
            })
            .execute(&mut *conn)?;
        Ok(())
    }

    /// Records how a write ended: `ok` with the detail `detail` gives, or `failed` with the
    /// error.
    pub fn audit_outcome<T, E: std::fmt::Display>(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: &Result<T, E>,
        detail: impl FnOnce(&T) -> String,
    ) -> Result<(), StoreError> {
        match outcome {
            Ok(value) => self.audit(actor, action, target, "ok", &detail(value)),
            Err(e) => self.audit(actor, action, target, "failed", &e.to_string()),
        }
    }

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
