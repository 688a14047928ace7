//! Re-checking approved mappings when a master's current release changes: a target that is
//! retired (or gone) flags its mapping, with the reason and the successor its 移行先 chain
//! gives; a target whose display changed is listed as cosmetic.

use std::collections::BTreeMap;

use chrono::Utc;
use diesel::prelude::*;

use super::activation::serving_now;
use super::lookup::{code_statuses_in, CodeRef};
use super::mapping::{bump_revision, change_in, resolve_change_in};
use super::models::ReleaseRow;
use super::schema::{mapping_checks, mapping_projects, mappings};
use super::{AnyConnection, Store, StoreError};
use crate::ids::{ProjectId, ReleaseId};
use crate::mapping::state::{Action, State};
use crate::store::mapping::Change;
use crate::systems::{self, Master};

/// Who the re-check acts as in mapping histories.
pub const RECHECK_ACTOR: &str = "system:recheck";

/// One approved mapping whose target needs a look.
#[derive(Debug, Clone)]
pub struct Attention {
    pub project_id: ProjectId,
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

/// What a re-check found (and, when applied, flagged).
#[derive(Debug, Clone, Default)]
pub struct RecheckReport {
    /// Approved mappings checked.
    pub checked: usize,
    /// Retired or gone targets (flagged when applied).
    pub needs_review: Vec<Attention>,
    /// Targets whose display changed (cosmetic: nothing flagged).
    pub cosmetic: Vec<Attention>,
}

/// (project, local code, target system, target code, recorded display) of an approved mapping.
type ApprovedTarget = (
    ProjectId,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Checks the approved mappings of `project` (all projects when `None`) whose targets
    /// belong to `masters`, against each master's current release (reads only; the poller
    /// flags what needs review in [`Store::recheck_if_current_changed`]).
    pub fn recheck_mappings(
        &self,
        project: Option<ProjectId>,
        masters: &[Master],
    ) -> Result<RecheckReport, StoreError> {
        recheck_mappings_in(&mut *self.conn()?, project, masters)
    }

    /// The flag a re-check puts on a mapping whose target needs review: the reason names the
    /// release and the successors.
    fn recheck_change(item: &Attention) -> Change {
        let successors = if item.successors.is_empty() {
            "no successor is given".to_owned()
        } else {
            let list: Vec<String> = item
                .successors
                .iter()
                .map(|s| format!("{} {}", s.system, s.code))
                .collect();
            format!("successor: {}", list.join(", "))
        };
        let what = if item.kind == "retired" {
            "is retired"
        } else {
            "is no longer listed"
        };
        let reason = format!(
            "target {} {} {what} in release {}; {successors}",
            item.target_system, item.target_code, item.release
        );
        Change {
            action: Some(Action::Flag),
            reason: Some(reason),
            ..Change::default()
        }
    }

    /// Re-checks the mappings of every master whose current release differs from the one its
    /// mappings were last checked against ([`Store::recheck_master`]). Every node may call it:
    /// one node does each check.
    pub fn recheck_if_current_changed(&self) -> Result<Vec<(Master, RecheckReport)>, StoreError> {
        let mut done = Vec::new();
        for master in self.masters_to_recheck()? {
            if let Some(report) = self.recheck_master(master)? {
                done.push((master, report));
            }
        }
        Ok(done)
    }

    /// The masters whose current release is not the one their mappings were last checked
    /// against (none while there is no mapping project).
    pub fn masters_to_recheck(&self) -> Result<Vec<Master>, StoreError> {
        let mut conn = self.conn()?;
        let any_project: i64 = mapping_projects::table.count().get_result(&mut *conn)?;
        if any_project == 0 {
            return Ok(Vec::new());
        }
        let mut due = Vec::new();
        for master in Master::ALL {
            let Some(release) = serving_now(&mut conn, master)? else {
                continue;
            };
            let seen: Option<ReleaseId> = mapping_checks::table
                .filter(mapping_checks::master.eq(master.key()))
                .select(mapping_checks::release_id)
                .first(&mut *conn)
                .optional()?;
            if seen != Some(release.id) {
                due.push(master);
            }
        }
        Ok(due)
    }

    /// Re-checks the approved mappings whose targets belong to `master` against its current
    /// release, if they were last checked against another one, flags what needs review and
    /// records the check; `None` when there was nothing to do (checked already, by this node
    /// or another). The record is claimed in a transaction with the flags: one node of several
    /// does the work, and a node that stops midway leaves the check to be done again.
    pub fn recheck_master(&self, master: Master) -> Result<Option<RecheckReport>, StoreError> {
        let claimed = {
            let mut conn = self.conn()?;
            conn.transaction(
                |conn| -> Result<Option<(ReleaseRow, RecheckReport)>, StoreError> {
                    // Claimed in a write transaction (the write lock first, then the read), so
                    // that one node of several does the work; the flags are written in the
                    // same transaction, so that the record of the check and its flags commit
                    // together (a node that stops midway leaves the check to be done again).
                    diesel::update(
                        mapping_checks::table.filter(mapping_checks::master.eq(master.key())),
                    )
                    .set(mapping_checks::master.eq(master.key()))
                    .execute(conn)?;
                    let Some(release) = serving_now(conn, master)? else {
                        return Ok(None);
                    };
                    let seen: Option<ReleaseId> = mapping_checks::table
                        .filter(mapping_checks::master.eq(master.key()))
                        .select(mapping_checks::release_id)
                        .first(conn)
                        .optional()?;
                    if seen == Some(release.id) {
                        return Ok(None);
                    }
                    let now = Utc::now().naive_utc();
                    let updated = match seen {
                        Some(old) => diesel::update(
                            mapping_checks::table
                                .filter(mapping_checks::master.eq(master.key()))
                                .filter(mapping_checks::release_id.eq(old)),
                        )
                        .set((
                            mapping_checks::release_id.eq(release.id),
                            mapping_checks::checked_at.eq(now),
                        ))
                        .execute(conn)?,
                        None => diesel::insert_into(mapping_checks::table)
                            .values((
                                mapping_checks::master.eq(master.key()),
                                mapping_checks::release_id.eq(release.id),
                                mapping_checks::checked_at.eq(now),
                            ))
                            .execute(conn)?,
                    };
                    if updated != 1 {
                        return Ok(None);
                    }
                    // What needs review, read in this transaction (one connection is enough).
                    let report = recheck_mappings_in(conn, None, &[master])?;
                    let mut bumped = std::collections::BTreeSet::new();
                    for item in &report.needs_review {
                        let change = Self::recheck_change(item);
                        let resolved = resolve_change_in(conn, item.project_id, &change)?;
                        if bumped.insert(item.project_id) {
                            bump_revision(conn, item.project_id)?;
                        }
                        match change_in(conn, &resolved, &item.local_code, RECHECK_ACTOR) {
                            // Changed meanwhile (no longer flaggable): nothing to do.
                            Ok(_) | Err(StoreError::Conflict(_)) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(Some((release, report)))
                },
            )
        };
        match claimed {
            Ok(Some((release, report))) => {
                if !report.needs_review.is_empty() {
                    tracing::info!(
                        %master,
                        release = %release.label,
                        flagged = report.needs_review.len(),
                        cosmetic = report.cosmetic.len(),
                        "mappings re-checked against a new current release"
                    );
                }
                Ok(Some(report))
            }
            Ok(None) => Ok(None),
            // Another node claimed it at the same moment (unique key).
            Err(StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Checks the approved mappings of `project` (all projects when `None`) whose targets belong to
/// `masters`, against each master's current release, on `conn` (reads only; in the
/// re-check's transaction, it sees that transaction's state).
pub fn recheck_mappings_in(
    conn: &mut AnyConnection,
    project: Option<ProjectId>,
    masters: &[Master],
) -> Result<RecheckReport, StoreError> {
    let mut report = RecheckReport::default();
    let mut current: BTreeMap<Master, ReleaseRow> = BTreeMap::new();
    for &m in masters {
        if let Some(r) = serving_now(conn, m)? {
            current.insert(m, r);
        }
    }
    let approved: Vec<ApprovedTarget> = {
        let mut query = mappings::table
            .filter(mappings::state.eq(State::Approved))
            .filter(mappings::target_code.is_not_null())
            .select((
                mappings::project_id,
                mappings::local_code,
                mappings::target_system,
                mappings::target_code,
                mappings::target_display,
            ))
            .order((mappings::project_id, mappings::local_code))
            .into_boxed();
        if let Some(p) = project {
            query = query.filter(mappings::project_id.eq(p));
        }
        query.load(conn)?
    };
    // Targets by system, to read their statuses in batches.
    let mut by_system: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    for (i, (_, _, system, _, _)) in approved.iter().enumerate() {
        if let Some(s) = system.as_deref().and_then(systems::by_key) {
            if current.contains_key(&s.master) {
                by_system.entry(s.key).or_default().push(i);
            }
        }
    }
    for (system, rows) in by_system {
        let Some(release) = systems::by_key(system).and_then(|s| current.get(&s.master)) else {
            continue;
        };
        let codes: Vec<&str> = rows
            .iter()
            .filter_map(|&i| approved[i].3.as_deref())
            .collect();
        let statuses = code_statuses_in(conn, release, system, &codes)?;
        for &i in &rows {
            let (project_id, local_code, _, target, recorded) = &approved[i];
            let target = target.clone().unwrap_or_default();
            report.checked += 1;
            let status = statuses.get(&target);
            let (kind, current_display, successors) = match status {
                None => ("gone", None, Vec::new()),
                Some(s) if !s.present => {
                    ("gone", s.display().map(str::to_owned), s.successors.clone())
                }
                Some(s) if !s.active => (
                    "retired",
                    s.display().map(str::to_owned),
                    s.successors.clone(),
                ),
                Some(s) if s.display() != recorded.as_deref() => (
                    "display_changed",
                    s.display().map(str::to_owned),
                    Vec::new(),
                ),
                Some(_) => continue,
            };
            let item = Attention {
                project_id: *project_id,
                local_code: local_code.clone(),
                target_system: system.to_owned(),
                target_code: target,
                recorded_display: recorded.clone(),
                kind,
                current_display,
                successors,
                release: release.label.clone(),
            };
            if kind == "display_changed" {
                report.cosmetic.push(item);
                continue;
            }
            report.needs_review.push(item);
        }
    }
    Ok(report)
}
