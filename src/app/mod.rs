//! The application layer: every write hyojun makes, as one command that the HTTP API, the
//! command line and the FHIR service call alike.
//!
//! A command takes typed input, opens one connection and one transaction, applies the domain
//! rule through `store` functions that take that connection, writes its audit row in the same
//! transaction and returns a typed outcome: the write and its audit entry commit together or
//! not at all. A write that is refused or fails changes nothing; its audit row (`refused` or
//! `failed`) is written afterwards on its own, best effort, since there is nothing to keep in
//! step with it.
//!
//! Front ends only parse, call and render: the rules live here and in `store`/`mapping`.

pub mod jobs;
pub mod keys;
pub mod mapping;
pub mod releases;
pub mod translate;

use crate::store::audit::{self, Outcome};
use crate::store::{AnyConnection, Store, StoreError};
use diesel::Connection;

/// Who writes, and what the audit log calls the write.
#[derive(Debug, Clone)]
pub struct Audit<'a> {
    /// How the audit log names the caller (`key:3 (admin)`, `cli:root`, …).
    pub actor: &'a str,
    /// The action (`create_key`, `activate_release`, …).
    pub action: &'static str,
    /// What it acts on (`key:3`, `release:12`, `mapping_project:1`, …).
    pub target: String,
}

impl<'a> Audit<'a> {
    /// The audit entry of `action` on `target` by `actor`.
    pub fn new(actor: &'a str, action: &'static str, target: impl Into<String>) -> Self {
        Audit {
            actor,
            action,
            target: target.into(),
        }
    }
}

/// How the audit log records a write that did not happen: `refused` when the request was at
/// fault (the error says what to change), `failed` when hyojun or its database was.
pub fn outcome_of(e: &StoreError) -> Outcome {
    match e {
        StoreError::NotFound(..) | StoreError::Invalid(_) | StoreError::Conflict(_) => {
            Outcome::Refused
        }
        StoreError::Config(_)
        | StoreError::Connect(_)
        | StoreError::Query(_)
        | StoreError::Migration(_)
        | StoreError::Corrupt(_) => Outcome::Failed,
    }
}

/// Runs `write` and its audit row (`ok`, with what `detail` says of the outcome) in one
/// transaction on one connection. When `write` or the audit row fails, everything rolls back
/// and the failure is recorded on its own ([`record_failure`]).
pub fn command<T>(
    store: &Store,
    audit: &Audit<'_>,
    write: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    detail: impl FnOnce(&T) -> String,
) -> Result<T, StoreError> {
    command_on(store, audit, write, |value| {
        (audit.target.clone(), detail(value))
    })
}

/// As [`command`], for a write whose audit target is known only from its outcome (a new
/// row's id): `entry` gives the `ok` row's target and detail; `audit.target` names the
/// write when it fails.
#[tracing::instrument(level = "debug", skip_all, fields(action = audit.action, target = %audit.target))]
pub fn command_on<T>(
    store: &Store,
    audit: &Audit<'_>,
    write: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    entry: impl FnOnce(&T) -> (String, String),
) -> Result<T, StoreError> {
    let mut conn = store.conn()?;
    let done = conn.transaction(|conn| {
        let value = write(conn)?;
        let (target, detail) = entry(&value);
        audit::record(
            conn,
            audit.actor,
            audit.action,
            &target,
            Outcome::Ok,
            &detail,
        )?;
        Ok(value)
    });
    if let Err(e) = &done {
        record_failure(&mut conn, audit, e);
    }
    done
}

/// Records a write that did not happen, after its transaction rolled back. Best effort: when
/// the database is what failed, the entry cannot be written either, and the log says so.
pub fn record_failure(conn: &mut AnyConnection, audit: &Audit<'_>, e: &StoreError) {
    let outcome = outcome_of(e);
    if let Err(not_recorded) = audit::record(
        conn,
        audit.actor,
        audit.action,
        &audit.target,
        outcome,
        &e.to_string(),
    ) {
        tracing::warn!(
            action = audit.action,
            target = %audit.target,
            error = %not_recorded,
            "the audit entry of a write that did not happen could not be written"
        );
    }
}
