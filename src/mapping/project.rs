//! A mapping project and one local code's mapping, as the front ends show them and the
//! exchange formats write them. The store loads them from its rows (`store::mapping`, which
//! re-exports both).

use chrono::NaiveDateTime;

use crate::ids::ProjectId;
use crate::mapping::state::{Equivalence, State};

/// A mapping project.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub description: String,
    pub local_system: String,
    /// Code system keys mappings may target.
    pub target_systems: Vec<String>,
    /// Whether an approver must differ from the author.
    pub four_eyes: bool,
    /// Bumped by every change to the project's local codes or mappings.
    pub revision: i64,
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

/// A local code and its mapping.
#[derive(Debug, Clone)]
pub struct MappingView {
    pub local_code: String,
    pub local_name: String,
    pub unit: Option<String>,
    pub specimen: Option<String>,
    pub frequency: Option<i64>,
    pub category: Option<String>,
    /// The upload's other columns, as (header, value).
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
    pub updated_at: NaiveDateTime,
}
