//! Translations of local codes (`app::translate`, the read model the API, FHIR and the
//! command line share), as `/v1/mapping/projects/{id}/translate` answers them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::app::translate as model;
use crate::mapping::state::{Equivalence, State};

use super::codes::CodeRef;

/// A standard code a local code translates to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranslatedTarget {
    pub system: String,
    pub code: String,
    /// The display recorded with the mapping.
    pub display: Option<String>,
    pub equivalence: Option<Equivalence>,
    /// The target in its master's current release: `active`, `retired` or `unknown` (the
    /// master no longer has it).
    pub status: &'static str,
    /// The current display, when it differs from the recorded one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_display: Option<String>,
    /// What replaces a retired target (end of its 移行先 chain).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successors: Vec<CodeRef>,
}

impl From<model::TranslatedTarget> for TranslatedTarget {
    fn from(t: model::TranslatedTarget) -> Self {
        TranslatedTarget {
            system: t.system,
            code: t.code,
            display: t.display,
            equivalence: t.equivalence,
            status: t.status,
            current_display: t.current_display,
            successors: super::all(t.successors),
        }
    }
}

/// The translation of one local code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Translation {
    pub code: String,
    /// `translated`, `no_match` (reviewed: no standard code exists), `not_approved` (a
    /// mapping exists but is not approved), `unmapped` or `unknown` (not a local code of the
    /// project).
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// The local code is missing from the latest upload.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TranslatedTarget>,
}

impl From<model::Translation> for Translation {
    fn from(t: model::Translation) -> Self {
        Translation {
            code: t.code,
            result: t.result,
            state: t.state,
            withdrawn: t.withdrawn,
            targets: super::all(t.targets),
        }
    }
}

/// The translations, in request order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranslateResult {
    pub project: i64,
    pub items: Vec<Translation>,
}

impl From<model::TranslateResult> for TranslateResult {
    fn from(r: model::TranslateResult) -> Self {
        TranslateResult {
            project: r.project.into(),
            items: super::all(r.items),
        }
    }
}
