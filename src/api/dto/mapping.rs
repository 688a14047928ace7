//! Mapping projects, mappings, their histories and candidates, and what merges, imports and
//! re-checks did, as the mapping endpoints show them.

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::mapping::state::{Equivalence, State};
use crate::mapping::{local_codes, project};
use crate::store::{mapping as stored, recheck};

use super::codes::CodeRef;

/// A mapping project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub local_system: String,
    /// Code system keys mappings may target.
    pub target_systems: Vec<String>,
    /// Whether an approver must differ from the author.
    pub four_eyes: bool,
    /// Bumped by every change to the project's local codes or mappings.
    pub revision: i64,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

impl From<project::Project> for Project {
    fn from(p: project::Project) -> Self {
        Project {
            id: p.id.into(),
            name: p.name,
            description: p.description,
            local_system: p.local_system,
            target_systems: p.target_systems,
            four_eyes: p.four_eyes,
            revision: p.revision,
            created_at: p.created_at,
            created_by: p.created_by,
        }
    }
}

/// A local code and its mapping.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MappingView {
    pub local_code: String,
    pub local_name: String,
    pub unit: Option<String>,
    pub specimen: Option<String>,
    pub frequency: Option<i64>,
    pub category: Option<String>,
    /// The upload's other columns, as (header, value).
    #[schema(value_type = Vec<Vec<String>>)]
    pub extra: Vec<(String, String)>,
    /// Missing from the latest upload.
    pub withdrawn: bool,
    /// The local name before the latest upload changed it.
    pub previous_name: Option<String>,
    pub state: State,
    pub target_system: Option<String>,
    pub target_code: Option<String>,
    pub target_display: Option<String>,
    pub equivalence: Option<Equivalence>,
    pub comment: String,
    pub author: Option<String>,
    pub reviewer: Option<String>,
    pub assignee: Option<String>,
    pub flag_reason: Option<String>,
    /// The release the target was chosen in.
    pub target_release: Option<String>,
    /// Send it back with a change to refuse it if someone changed the mapping meanwhile.
    pub version: i64,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub updated_at: NaiveDateTime,
}

impl From<project::MappingView> for MappingView {
    fn from(m: project::MappingView) -> Self {
        MappingView {
            local_code: m.local_code,
            local_name: m.local_name,
            unit: m.unit,
            specimen: m.specimen,
            frequency: m.frequency,
            category: m.category,
            extra: m.extra,
            withdrawn: m.withdrawn,
            previous_name: m.previous_name,
            state: m.state,
            target_system: m.target_system,
            target_code: m.target_code,
            target_display: m.target_display,
            equivalence: m.equivalence,
            comment: m.comment,
            author: m.author,
            reviewer: m.reviewer,
            assignee: m.assignee,
            flag_reason: m.flag_reason,
            target_release: m.target_release,
            version: m.version,
            updated_at: m.updated_at,
        }
    }
}

/// Page of mappings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MappingPage {
    pub total: i64,
    pub items: Vec<MappingView>,
}

impl From<stored::MappingPage> for MappingPage {
    fn from(p: stored::MappingPage) -> Self {
        MappingPage {
            total: p.total,
            items: super::all(p.items),
        }
    }
}

/// One entry of a mapping's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    #[serde(serialize_with = "crate::timestamp::utc")]
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    /// Field → [old, new] for every field the change touched.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

impl From<stored::HistoryEntry> for HistoryEntry {
    fn from(h: stored::HistoryEntry) -> Self {
        HistoryEntry {
            id: h.id,
            at: h.at,
            actor: h.actor,
            action: h.action,
            from_state: h.from_state,
            to_state: h.to_state,
            changes: json_text(&h.changes),
        }
    }
}

/// A JSON column's value (`null` if it does not parse: the store wrote it).
fn json_text(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_default()
}

/// What merging an upload into a project's codes does; no mapping is ever dropped.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergePlan {
    /// Codes new to the project (get an unmapped mapping).
    pub added: Vec<String>,
    /// Codes whose local name changed: their mappings are flagged for review.
    pub renamed: Vec<String>,
    /// Codes missing from the upload: marked withdrawn, mappings kept.
    pub withdrawn: Vec<String>,
    /// Withdrawn codes that are back.
    pub restored: Vec<String>,
    /// Codes present and named as before (other columns may still be updated).
    pub unchanged: usize,
}

impl From<local_codes::MergePlan> for MergePlan {
    fn from(p: local_codes::MergePlan) -> Self {
        MergePlan {
            added: p.added,
            renamed: p.renamed,
            withdrawn: p.withdrawn,
            restored: p.restored,
            unchanged: p.unchanged,
        }
    }
}

/// What importing decisions did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// Mappings set from the file.
    pub applied: usize,
    /// Mappings that already were as the file says.
    pub unchanged: usize,
    /// Local codes in the file the project does not have (upload them first).
    pub unknown_codes: Vec<String>,
    /// Decisions not applied, as (local code, why).
    #[schema(value_type = Vec<Vec<String>>)]
    pub refused: Vec<(String, String)>,
}

impl From<stored::ImportReport> for ImportReport {
    fn from(r: stored::ImportReport) -> Self {
        ImportReport {
            applied: r.applied,
            unchanged: r.unchanged,
            unknown_codes: r.unknown_codes,
            refused: r.refused,
        }
    }
}

/// A stored candidate target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoredCandidate {
    /// 1 = best.
    pub rank: i64,
    pub target_system: String,
    pub target_code: String,
    pub target_display: String,
    /// 0–1.
    pub score: f64,
    /// JSON array of the reasons, in words.
    #[schema(value_type = Vec<String>)]
    pub reasons: serde_json::Value,
}

impl From<stored::StoredCandidate> for StoredCandidate {
    fn from(c: stored::StoredCandidate) -> Self {
        StoredCandidate {
            rank: c.rank,
            target_system: c.target_system,
            target_code: c.target_code,
            target_display: c.target_display,
            score: c.score,
            reasons: json_text(&c.reasons),
        }
    }
}

/// One approved mapping whose target needs a look.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attention {
    pub project_id: i64,
    pub local_code: String,
    pub target_system: String,
    pub target_code: String,
    /// The display recorded when the target was chosen.
    pub recorded_display: Option<String>,
    /// `retired`, `gone` (the release no longer has the code) or `display_changed`.
    pub kind: &'static str,
    pub current_display: Option<String>,
    /// What replaces a retired target.
    pub successors: Vec<CodeRef>,
    /// The release checked against.
    pub release: String,
}

impl From<recheck::Attention> for Attention {
    fn from(a: recheck::Attention) -> Self {
        Attention {
            project_id: a.project_id.into(),
            local_code: a.local_code,
            target_system: a.target_system,
            target_code: a.target_code,
            recorded_display: a.recorded_display,
            kind: a.kind,
            current_display: a.current_display,
            successors: super::all(a.successors),
            release: a.release,
        }
    }
}
