//! Releases as the API shows them: the release, its files, counts and import notices.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::models::{self, ReleaseState};
use crate::store::releases;

/// A release as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseRow {
    pub id: i64,
    pub master: String,
    pub label: String,
    pub revision: i64,
    pub publication_date: Option<NaiveDate>,
    pub effective_date: Option<NaiveDate>,
    pub state: ReleaseState,
    /// The release this one's change set is computed against.
    pub previous_release_id: Option<i64>,
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

/// Through the job record's form, so that the release's fields are listed once (in
/// [`crate::store::job_fields::ReleaseRecord`]'s conversion) for both sources of this view.
impl From<models::ReleaseRow> for ReleaseRow {
    fn from(r: models::ReleaseRow) -> Self {
        crate::store::job_fields::ReleaseRecord::from(&r).into()
    }
}

/// A release as its import job recorded it: the same view (the record keeps the fields the
/// release had then).
impl From<crate::store::job_fields::ReleaseRecord> for ReleaseRow {
    fn from(r: crate::store::job_fields::ReleaseRecord) -> Self {
        ReleaseRow {
            id: r.id,
            master: r.master,
            label: r.label,
            revision: r.revision,
            publication_date: r.publication_date,
            effective_date: r.effective_date,
            state: r.state,
            previous_release_id: r.previous_release_id.map(|r| r.get()),
            content_sha256: r.content_sha256,
            row_count: r.row_count,
            imported_at: r.imported_at,
            imported_by: r.imported_by,
            carried_over: r.carried_over,
        }
    }
}

/// A source file of a release.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseFileRow {
    pub name: String,
    pub role: String,
    pub sha256: String,
    pub byte_size: i64,
    pub row_count: i64,
    pub encoding: String,
}

impl From<models::ReleaseFileRow> for ReleaseFileRow {
    fn from(f: models::ReleaseFileRow) -> Self {
        ReleaseFileRow {
            name: f.name,
            role: f.role,
            sha256: f.sha256,
            byte_size: f.byte_size,
            row_count: f.row_count,
            encoding: f.encoding,
        }
    }
}

/// Counts of one code system in one release.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseStatRow {
    pub system_key: String,
    pub row_count: i64,
    pub code_count: i64,
    pub added: i64,
    pub removed: i64,
    pub changed: i64,
}

impl From<models::ReleaseStatRow> for ReleaseStatRow {
    fn from(s: models::ReleaseStatRow) -> Self {
        ReleaseStatRow {
            system_key: s.system_key,
            row_count: s.row_count,
            code_count: s.code_count,
            added: s.added,
            removed: s.removed,
            changed: s.changed,
        }
    }
}

/// A notice from the import report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseNoticeRow {
    pub file: String,
    pub line: Option<i64>,
    pub column_name: Option<String>,
    pub kind: String,
    pub message: String,
}

impl From<models::ReleaseNoticeRow> for ReleaseNoticeRow {
    fn from(n: models::ReleaseNoticeRow) -> Self {
        ReleaseNoticeRow {
            file: n.file,
            line: n.line,
            column_name: n.column_name,
            kind: n.kind,
            message: n.message,
        }
    }
}

/// A release with its files, per-system counts and whether it is current.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseInfo {
    #[serde(flatten)]
    pub release: ReleaseRow,
    pub current: bool,
    pub files: Vec<ReleaseFileRow>,
    pub stats: Vec<ReleaseStatRow>,
    pub notice_count: i64,
}

impl From<releases::ReleaseInfo> for ReleaseInfo {
    fn from(info: releases::ReleaseInfo) -> Self {
        ReleaseInfo {
            release: info.release.into(),
            current: info.current,
            files: super::all(info.files),
            stats: super::all(info.stats),
            notice_count: info.notice_count,
        }
    }
}
