//! Translation of local codes through a project's mappings, with each target's status in its
//! master's current release: the read model the HTTP API (with the node's cache), FHIR
//! `ConceptMap/$translate` and the command line (straight from the database) share.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::ids::ProjectId;
use crate::mapping::state::{Equivalence, State};
use crate::store::lookup::{CodeRef, CodeStatus};
use crate::store::mapping::TranslationRow;
use crate::store::{Store, StoreError};
use crate::systems;

/// Which mappings translation uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Include {
    #[default]
    Approved,
    All,
}

impl Include {
    /// Whether translation uses this mapping.
    fn admits(self, row: &TranslationRow) -> bool {
        match self {
            Include::Approved => row.state == State::Approved,
            Include::All => row.target_code.is_some(),
        }
    }
}

/// The targets `codes` translate to, by code system: the statuses translation needs.
pub fn wanted_targets<'a>(
    table: &'a FxHashMap<String, TranslationRow>,
    codes: &[String],
    include: Include,
) -> FxHashMap<&'static str, FxHashSet<&'a str>> {
    let mut wanted: FxHashMap<&'static str, FxHashSet<&str>> = FxHashMap::default();
    for code in codes {
        if let Some(row) = table.get(code).filter(|r| include.admits(r)) {
            if let (Some(system), Some(target)) = (
                row.target_system.as_deref().and_then(systems::by_key),
                row.target_code.as_deref(),
            ) {
                wanted.entry(system.key).or_default().insert(target);
            }
        }
    }
    wanted
}

/// A standard code a local code translates to.
#[derive(Debug, Clone)]
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
    pub current_display: Option<String>,
    /// What replaces a retired target (end of its 移行先 chain).
    pub successors: Vec<CodeRef>,
}

/// The translation of one local code.
#[derive(Debug, Clone)]
pub struct Translation {
    pub code: String,
    /// `translated`, `no_match` (reviewed: no standard code exists), `not_approved` (a
    /// mapping exists but is not approved), `unmapped` or `unknown` (not a local code of the
    /// project).
    pub result: &'static str,
    pub state: Option<State>,
    /// The local code is missing from the latest upload.
    pub withdrawn: bool,
    pub targets: Vec<TranslatedTarget>,
}

/// The translations, in request order.
#[derive(Debug, Clone)]
pub struct TranslateResult {
    pub project: ProjectId,
    pub items: Vec<Translation>,
}

/// Translates local codes of project `id` straight from the database (no node cache): the
/// statuses of the targets asked for, one read per code system in its master's current
/// release.
pub fn translate_from_store(
    store: &Store,
    id: ProjectId,
    codes: &[String],
    include: Include,
) -> Result<TranslateResult, StoreError> {
    let (_, rows) = store.translation_table(id)?;
    let table: FxHashMap<String, TranslationRow> = rows
        .into_iter()
        .map(|r| (r.local_code.clone(), r))
        .collect();
    let mut statuses: FxHashMap<(&'static str, String), CodeStatus> = FxHashMap::default();
    for (system, targets) in wanted_targets(&table, codes, include) {
        let Some(master) = systems::by_key(system).map(|s| s.master) else {
            continue;
        };
        if let Some(release) = store.current_release(master)? {
            let targets: Vec<&str> = targets.into_iter().collect();
            for (code, status) in store.code_statuses(&release, system, &targets)? {
                statuses.insert((system, code), status);
            }
        }
    }
    let items = translate_codes(&table, codes, include, |s, c| {
        Some(statuses.get(&(s, c.to_owned())))
    });
    Ok(TranslateResult { project: id, items })
}

/// The mappings of `table` (a project's mappings by local code) that translate to `code` of
/// `system` (a code system key): the reverse of [`translate_codes`], by the same rule (the
/// mappings `include` admits), by local code (bytes).
pub fn sources_of<'a>(
    table: &'a FxHashMap<String, TranslationRow>,
    system: &str,
    code: &str,
    include: Include,
) -> Vec<&'a TranslationRow> {
    let mut found: Vec<&TranslationRow> = table
        .values()
        .filter(|row| {
            include.admits(row)
                && row.target_system.as_deref() == Some(system)
                && row.target_code.as_deref() == Some(code)
        })
        .collect();
    found.sort_by(|a, b| a.local_code.cmp(&b.local_code));
    found
}

/// Translates `codes` through `table` (a project's mappings by local code); `status` gives a
/// target's status in its master's current release (`None`: not known; `Some(None)`: the
/// master never had it). Shared by the API and the command line.
pub fn translate_codes<'a>(
    table: &FxHashMap<String, TranslationRow>,
    codes: &[String],
    include: Include,
    status: impl Fn(&'static str, &str) -> Option<Option<&'a CodeStatus>>,
) -> Vec<Translation> {
    codes
        .iter()
        .map(|code| {
            let Some(row) = table.get(code) else {
                return Translation {
                    code: code.clone(),
                    result: "unknown",
                    state: None,
                    withdrawn: false,
                    targets: Vec::new(),
                };
            };
            let (result, targets) = if row.state == State::NoMatch {
                ("no_match", Vec::new())
            } else if !include.admits(row) {
                let result = if row.state == State::Unmapped {
                    "unmapped"
                } else {
                    "not_approved"
                };
                (result, Vec::new())
            } else {
                let target = row.target_code.clone().unwrap_or_default();
                let found = row
                    .target_system
                    .as_deref()
                    .and_then(systems::by_key)
                    .and_then(|s| status(s.key, &target));
                let (status_name, current_display, successors) = match found {
                    Some(Some(s)) if s.present && s.active => {
                        ("active", s.display().map(str::to_owned), Vec::new())
                    }
                    Some(Some(s)) => (
                        "retired",
                        s.display().map(str::to_owned),
                        s.successors.clone(),
                    ),
                    _ => ("unknown", None, Vec::new()),
                };
                let current_display =
                    current_display.filter(|d| Some(d.as_str()) != row.target_display.as_deref());
                (
                    "translated",
                    vec![TranslatedTarget {
                        system: row.target_system.clone().unwrap_or_default(),
                        code: target,
                        display: row.target_display.clone(),
                        equivalence: row.equivalence,
                        status: status_name,
                        current_display,
                        successors,
                    }],
                )
            };
            Translation {
                code: code.clone(),
                result,
                state: Some(row.state),
                withdrawn: row.withdrawn,
                targets,
            }
        })
        .collect()
}
