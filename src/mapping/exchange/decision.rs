//! What reading an export yields ([`Decision`]), and the rules both readers share: code
//! systems by any of their names, and which states go with a target.

use crate::mapping::state::{Equivalence, State};
use crate::systems;

/// One mapping decision read from an export, to apply to a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub local_code: String,
    pub state: State,
    /// A hyojun code system key (`jlac10`, …), whatever form the file used.
    pub target_system: Option<String>,
    pub target_code: Option<String>,
    pub equivalence: Option<Equivalence>,
    pub comment: String,
    /// 1-based line of the CSV row (None for a ConceptMap).
    pub line: Option<u64>,
}

/// A hyojun code system key from a key, a canonical URL (optionally `|version`), a `urn:oid:`
/// alias or `urn:hyojun:<key>`.
pub(super) fn resolve_system(name: &str) -> Option<&'static str> {
    let name = name.split('|').next().unwrap_or(name).trim();
    if let Some(key) = name.strip_prefix("urn:hyojun:") {
        return systems::by_key(key).map(|s| s.key);
    }
    systems::find(name)
        .or_else(|| systems::by_key(&name.to_ascii_lowercase()))
        .map(|s| s.key)
}

/// Whether a state goes with a target (`Some(true)`), without one (`Some(false)`) or either.
pub(super) fn wants_target(state: State) -> Option<bool> {
    match state {
        State::Proposed | State::Approved | State::Rejected => Some(true),
        State::Unmapped | State::NoMatch => Some(false),
        State::Flagged => None,
    }
}

/// The fix of a code system hyojun does not know.
pub(super) const FIX_SYSTEM: &str = "write a code system key from GET /v1/systems (e.g. jlac10), its canonical URL or its urn:oid: alias";
