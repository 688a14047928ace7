//! Row types: what is read from and written to the tables.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::ids::{ApiKeyId, ReleaseId};

use super::schema::{
    activations, api_keys, audit_log, concept_links, concepts, release_changes, release_files,
    release_notices, release_stats, releases,
};

/// A release as stored. `Serialize` for the import report (`store::import::ImportReport`),
/// which an upload job's result and `hyojun import --json` show; answers use
/// `api::dto::releases::ReleaseRow`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = releases)]
pub struct ReleaseRow {
    pub id: ReleaseId,
    pub master: String,
    pub label: String,
    pub revision: i64,
    pub publication_date: Option<NaiveDate>,
    pub effective_date: Option<NaiveDate>,
    pub state: ReleaseState,
    /// The release this one's change set is computed against.
    pub previous_release_id: Option<ReleaseId>,
    pub content_sha256: String,
    pub row_count: i64,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub imported_at: NaiveDateTime,
    pub imported_by: String,
    /// For a partial import (`--partial`): the file roles it did not have, comma-separated
    /// (e.g. `hot13`); their rows carry over unchanged from the previous release. Absent for
    /// a complete release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried_over: Option<String>,
}

/// Whether a release is usable.
// Stored as its `as_str` spelling (`crate::store::text_column`); serde and the OpenAPI
// schema (`crate::api::schema`) spell it the same, as a test there checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseState {
    /// Imported and usable.
    Ready,
    /// Replaced by a newer revision of the same label; still readable.
    Superseded,
}

impl ReleaseState {
    /// The stored and shown spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Ready => "ready",
            ReleaseState::Superseded => "superseded",
        }
    }

    /// Every state.
    pub const ALL: [ReleaseState; 2] = [ReleaseState::Ready, ReleaseState::Superseded];
}

crate::text_column!(ReleaseState);

/// A source file of a release.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = release_files)]
pub struct ReleaseFileRow {
    pub release_id: ReleaseId,
    pub position: i64,
    pub name: String,
    pub role: String,
    pub sha256: String,
    pub byte_size: i64,
    pub row_count: i64,
    pub encoding: String,
}

/// Counts of one code system in one release.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = release_stats)]
pub struct ReleaseStatRow {
    pub release_id: ReleaseId,
    pub system_key: String,
    pub row_count: i64,
    pub code_count: i64,
    pub added: i64,
    pub removed: i64,
    pub changed: i64,
}

/// A notice from the import report.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = release_notices)]
pub struct ReleaseNoticeRow {
    pub release_id: ReleaseId,
    pub position: i64,
    pub file: String,
    pub line: Option<i64>,
    pub column_name: Option<String>,
    pub kind: String,
    pub message: String,
}

/// One version of one master row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = concepts)]
pub struct ConceptRow {
    pub id: i64,
    pub master: String,
    pub system_key: String,
    pub code: String,
    pub row_key: String,
    pub content_hash: String,
    pub valid_from: ReleaseId,
    pub valid_to: Option<ReleaseId>,
    pub status: String,
    pub display: String,
    /// JSON object of the row's columns.
    pub attributes: String,
    /// JSON array of `{kind, value}`.
    pub designations: String,
    /// JSON array of `[relation, system, code]`, sorted.
    pub links: String,
}

impl ConceptRow {
    /// The links as (relation, system, code).
    pub fn link_list(&self) -> Result<Vec<(String, String, String)>, serde_json::Error> {
        serde_json::from_str(&self.links)
    }
}

/// A concept version being written (borrows from the parsed release: no copies).
#[derive(Debug, Insertable)]
#[diesel(table_name = concepts, treat_none_as_default_value = false)]
pub struct NewConcept<'a> {
    pub id: i64,
    pub master: &'a str,
    pub system_key: &'a str,
    pub code: &'a str,
    pub row_key: &'a str,
    pub content_hash: &'a str,
    pub valid_from: ReleaseId,
    pub valid_to: Option<ReleaseId>,
    pub status: &'a str,
    pub display: &'a str,
    pub attributes: &'a str,
    pub designations: &'a str,
    pub links: &'a str,
}

/// A reverse-index entry being written.
#[derive(Debug, Insertable)]
#[diesel(table_name = concept_links, treat_none_as_default_value = false)]
pub struct NewLink<'a> {
    pub system_key: &'a str,
    pub code: &'a str,
    pub relation: &'a str,
    pub concept_id: i64,
}

/// A code a concept version carries or points to (the reverse index).
#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq, PartialOrd, Ord)]
#[diesel(table_name = concept_links)]
pub struct LinkRow {
    pub system_key: String,
    pub code: String,
    pub relation: String,
    pub concept_id: i64,
}

/// One entry of a stored change set.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = release_changes)]
pub struct ChangeRow {
    pub release_id: ReleaseId,
    pub system_key: String,
    pub code: String,
    pub kind: String,
    pub display: String,
    /// JSON array of field changes.
    pub fields: String,
}

/// One activation: from `effective_from` on, `master` serves `release_id`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = activations)]
pub struct ActivationRow {
    pub id: i64,
    pub master: String,
    pub release_id: ReleaseId,
    pub effective_from: NaiveDateTime,
    pub activated_at: NaiveDateTime,
    pub activated_by: String,
}

/// An activation being recorded.
#[derive(Debug, Insertable)]
#[diesel(table_name = activations)]
pub struct NewActivation<'a> {
    pub master: &'a str,
    pub release_id: ReleaseId,
    pub effective_from: NaiveDateTime,
    pub activated_at: NaiveDateTime,
    pub activated_by: &'a str,
}

/// An API key as stored: never the key itself, only its hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub name: String,
    pub role: String,
    /// The first characters of the key, to recognise it in lists.
    pub key_prefix: String,
    pub key_hash: String,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub revoked_at: Option<NaiveDateTime>,
}

/// One recorded write.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: super::audit::Outcome,
    pub detail: String,
}
