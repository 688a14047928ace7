//! Reading codes: one code in a release, a code of unknown kind, and batch validation.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::prelude::*;

use super::carriers::{carrier_ids, rows_by_id, rows_defining, CHUNK};
use super::diff::ReleaseRef;
use super::models::{ConceptRow, ReleaseRow};
use super::names::Names;
use super::schema::{concept_links, concepts, releases};
use super::speaker::{by_identity, last_speaker, speaker};
use super::successors::successor_chain_in;
use super::{AnyConnection, Store, StoreError};
use crate::ids::ReleaseId;
use crate::with_backend;

/// One stored row of a code, as an API shows it.
#[derive(Debug, Clone)]
pub struct RowView {
    pub system: String,
    pub code: String,
    pub status: String,
    pub display: String,
    /// Every column of the master row, under stable keys.
    pub attributes: serde_json::Value,
    /// Names: `[{kind, value}]`.
    pub designations: serde_json::Value,
}

/// A code of another system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CodeRef {
    pub system: String,
    pub code: String,
}

/// Everything known about one code in one release.
#[derive(Debug, Clone)]
pub struct CodeView {
    pub system: String,
    pub code: String,
    pub display: String,
    /// `active` or `retired` (retired also when the master no longer lists the code).
    pub status: String,
    /// The release the answer comes from.
    pub release: ReleaseRef,
    /// The rows that define this code (several for a HOT9 in the HOT9 file).
    pub rows: Vec<RowView>,
    /// Rows of other code systems that carry this code (e.g. the HOT9 rows of a YJ code).
    pub carried_by: Vec<RowView>,
    /// Codes of other systems this code's rows carry (HOT9 → HOT7, YJ, レセ電算 …).
    pub related: Vec<CodeRef>,
    /// Codes this one is replaced by directly (移行先).
    pub successors: Vec<CodeRef>,
    /// Where following the successors transitively ends (the codes to use instead), with the
    /// walk itself; present only when the code has successors.
    pub successor_chain: Option<super::successors::SuccessorChain>,
    /// The releases of the master in which the code is present.
    pub valid_in: Vec<ReleaseRef>,
    /// Set when the code is not in this release but was in an earlier one: the first release
    /// without it.
    pub removed_in: Option<ReleaseRef>,
}

fn row_view(row: &ConceptRow) -> Result<RowView, StoreError> {
    let parse = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .map_err(|e| StoreError::Corrupt(format!("concept {}: {e}", row.id)))
    };
    Ok(RowView {
        system: row.system_key.clone(),
        code: row.code.clone(),
        status: row.status.clone(),
        display: row.display.clone(),
        attributes: parse(&row.attributes)?,
        designations: parse(&row.designations)?,
    })
}

fn valid_at(release_id: ReleaseId) -> impl Fn(&ConceptRow) -> bool {
    move |r: &ConceptRow| r.valid_from <= release_id && r.valid_to.is_none_or(|to| to > release_id)
}

/// Every version (any release) of the rows that define `code` or carry it.
fn all_versions(
    conn: &mut AnyConnection,
    master: &str,
    system: &str,
    code: &str,
) -> Result<(Vec<ConceptRow>, Vec<ConceptRow>), StoreError> {
    let mut own: Vec<ConceptRow> = concepts::table
        .filter(concepts::system_key.eq(system))
        .filter(concepts::code.eq(code))
        .select(ConceptRow::as_select())
        .load(conn)?;
    own.sort_by(by_identity);
    let ids: Vec<i64> = carrier_ids(conn, system, &[code])?.into_keys().collect();
    let carriers = rows_by_id(conn, master, &ids)?;
    Ok((own, carriers))
}

impl Store {
    /// One code of `system` as `release` has it; `None` when the master never had the code
    /// ([`code_view_in`]).
    pub fn code_view(
        &self,
        release: &ReleaseRow,
        system: &str,
        code: &str,
    ) -> Result<Option<CodeView>, StoreError> {
        code_view_in(&mut *self.conn()?, release, system, code)
    }
}

/// One code of `system` as `release` has it, on `conn`; `None` when the master never had the
/// code.
pub fn code_view_in(
    conn: &mut AnyConnection,
    release: &ReleaseRow,
    system: &str,
    code: &str,
) -> Result<Option<CodeView>, StoreError> {
    let (own_all, carriers_all) = all_versions(conn, &release.master, system, code)?;
    if own_all.is_empty() && carriers_all.is_empty() {
        return Ok(None);
    }
    let history: Vec<ReleaseRow> = releases::table
        .filter(releases::master.eq(&release.master))
        .order(releases::id.asc())
        .select(ReleaseRow::as_select())
        .load(conn)?;
    let present = |id: ReleaseId| own_all.iter().chain(&carriers_all).any(valid_at(id));
    let valid_in: Vec<ReleaseRef> = history
        .iter()
        .filter(|r| present(r.id))
        .map(ReleaseRef::from)
        .collect();

    let at = valid_at(release.id);
    let mut own: Vec<&ConceptRow> = own_all.iter().filter(|r| at(r)).collect();
    let mut carriers: Vec<&ConceptRow> = carriers_all.iter().filter(|r| at(r)).collect();
    own.sort_by(|a, b| (&a.status, &a.row_key).cmp(&(&b.status, &b.row_key)));
    carriers.sort_by(|a, b| by_identity(a, b));

    let removed_in = if own.is_empty() && carriers.is_empty() {
        // Absent here: the first release after the last one that had it, if it is not newer.
        let last = valid_in
            .iter()
            .filter(|r| r.id < release.id)
            .map(|r| r.id)
            .max();
        match last {
            Some(last) => history.iter().find(|r| r.id > last).map(ReleaseRef::from),
            None => return Ok(None),
        }
    } else {
        None
    };
    let mut related = BTreeSet::new();
    let mut successors = BTreeSet::new();
    for row in &own {
        for (relation, sys, c) in row
            .link_list()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
        {
            let target = CodeRef {
                system: sys,
                code: c,
            };
            if relation == "successor" {
                successors.insert(target);
            } else if !(target.system == system && target.code == code) {
                related.insert(target);
            }
        }
    }
    let successor_chain = if successors.is_empty() {
        None
    } else {
        Some(successor_chain_in(conn, release, system, code)?)
    };
    let active = own.iter().chain(&carriers).any(|r| r.status == "active");
    // The row that speaks for the code (speaker.rs); a removed code keeps the name it
    // last had.
    let display = speaker(own.iter().chain(&carriers).copied(), system, code)
        .or_else(|| last_speaker(own_all.iter().chain(&carriers_all), system, code))
        .map(|r| r.display.clone())
        .unwrap_or_default();
    Ok(Some(CodeView {
        system: system.to_owned(),
        code: code.to_owned(),
        display,
        status: if active { "active" } else { "retired" }.to_owned(),
        release: release.into(),
        rows: own.iter().map(|r| row_view(r)).collect::<Result<_, _>>()?,
        carried_by: carriers
            .iter()
            .map(|r| row_view(r))
            .collect::<Result<_, _>>()?,
        related: related.into_iter().collect(),
        successors: successors.into_iter().collect(),
        successor_chain,
        valid_in,
        removed_in,
    }))
}

/// What validation needs to know of one code in one release.
#[derive(Debug, Clone, Default)]
pub struct CodeStatus {
    /// The code is in the release (defined or carried by a row valid there).
    pub present: bool,
    /// Some row carrying it is active.
    pub active: bool,
    /// Its display (the last name it had, for codes no longer present) and every name it is
    /// known by.
    pub names: Names,
    /// What replaces it: where its 移行先 chain ends, when the master says.
    pub successors: Vec<CodeRef>,
}

impl CodeStatus {
    /// Its name (the last one it had, for codes no longer present).
    pub fn display(&self) -> Option<&str> {
        self.names.display()
    }

    /// Whether `display` is one of the code's names, ignoring width, case and spaces.
    pub fn has_name(&self, display: &str) -> bool {
        self.names.matches(display)
    }
}

impl Store {
    /// The status of each of `codes` of `system` in `release`, in batches. Codes the master
    /// never had are absent from the answer; codes an earlier release had come back with
    /// `present: false`.
    pub fn code_statuses(
        &self,
        release: &ReleaseRow,
        system: &str,
        codes: &[&str],
    ) -> Result<HashMap<String, CodeStatus>, StoreError> {
        code_statuses_in(&mut *self.conn()?, release, system, codes)
    }

    /// Every code [`Store::code_statuses`] can know of `system` in `release` (and possibly a
    /// few more): the codes of its rows up to that release, and the codes rows carry. Warms
    /// the validation cache up.
    pub fn system_codes(
        &self,
        release: &ReleaseRow,
        system: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let mut own: Vec<String> = with_backend!(&mut *conn, |c| concepts::table
            .filter(concepts::system_key.eq(system))
            .filter(concepts::valid_from.le(release.id))
            .select(concepts::code)
            .distinct()
            .load(c))?;
        let carried: Vec<String> = with_backend!(&mut *conn, |c| concept_links::table
            .filter(concept_links::system_key.eq(system))
            .filter(concept_links::relation.eq("code"))
            .select(concept_links::code)
            .distinct()
            .load(c))?;
        own.extend(carried);
        own.sort_unstable();
        own.dedup();
        Ok(own)
    }
}

/// The status of each of `codes` of `system` in `release`, on `conn` (a caller's transaction
/// sees its own writes): see [`Store::code_statuses`].
pub fn code_statuses_in(
    conn: &mut AnyConnection,
    release: &ReleaseRow,
    system: &str,
    codes: &[&str],
) -> Result<HashMap<String, CodeStatus>, StoreError> {
    let at = valid_at(release.id);
    let mut known: HashMap<String, CodeStatus> = HashMap::new();
    // The rows of each code valid in the release, in listing order: the display is the
    // speaker's (speaker.rs), successors come in row order.
    let mut rows_of: BTreeMap<String, Vec<(ConceptRow, bool)>> = BTreeMap::new();
    let absorb = |known: &mut HashMap<String, CodeStatus>,
                  code: &str,
                  row: &ConceptRow,
                  own: bool|
     -> Result<(), StoreError> {
        let entry = known.entry(code.to_owned()).or_default();
        entry.present = true;
        entry.active |= row.status == "active";
        let designations: Vec<serde_json::Value> = serde_json::from_str(&row.designations)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let names = std::iter::once(row.display.as_str())
            .chain(designations.iter().filter_map(|d| d["value"].as_str()));
        for name in names {
            entry.names.insert(name);
        }
        if own {
            for (relation, sys, c) in row
                .link_list()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
            {
                let target = CodeRef {
                    system: sys,
                    code: c,
                };
                if relation == "successor" && !entry.successors.contains(&target) {
                    entry.successors.push(target);
                }
            }
        }
        Ok(())
    };
    for chunk in codes.chunks(CHUNK) {
        rows_of.clear();
        let own: Vec<ConceptRow> = rows_defining(conn, release, system, chunk)?;
        let code_of = carrier_ids(conn, system, chunk)?;
        let ids: Vec<i64> = code_of.keys().copied().collect();
        let rows = rows_by_id(conn, &release.master, &ids)?;
        for row in own {
            rows_of
                .entry(row.code.clone())
                .or_default()
                .push((row, true));
        }
        for row in rows.into_iter().filter(|r| at(r)) {
            for code in code_of.get(&row.id).into_iter().flatten() {
                rows_of
                    .entry(code.clone())
                    .or_default()
                    .push((row.clone(), false));
            }
        }
        for (code, rows) in &mut rows_of {
            rows.sort_by(|a, b| by_identity(&a.0, &b.0));
            for (row, own) in rows.iter() {
                absorb(&mut known, code, row, *own)?;
            }
            if let Some(row) = speaker(rows.iter().map(|(r, _)| r), system, code) {
                if let Some(entry) = known.get_mut(code.as_str()) {
                    entry.names.set_display(&row.display);
                }
            }
        }
    }
    // Replace direct successors by where their chain ends (abolished names are few).
    for status in known.values_mut().filter(|s| !s.successors.is_empty()) {
        let mut ends = Vec::new();
        for start in std::mem::take(&mut status.successors) {
            let chain = successor_chain_in(conn, release, &start.system, &start.code)?;
            for (system, code) in chain.resolved {
                let end = CodeRef { system, code };
                if !ends.contains(&end) {
                    ends.push(end);
                }
            }
        }
        status.successors = ends;
    }
    // Codes not in this release: known (retired) if an earlier release had them.
    let missing: Vec<&str> = codes
        .iter()
        .copied()
        .filter(|c| !known.contains_key(*c))
        .collect();
    for chunk in missing.chunks(CHUNK) {
        let rows: Vec<ConceptRow> = with_backend!(conn, |c| concepts::table
            .filter(concepts::system_key.eq(system))
            .filter(concepts::code.eq_any(chunk))
            .filter(concepts::valid_from.lt(release.id))
            .filter(concepts::master.eq(&release.master))
            .select(ConceptRow::as_select())
            .load(c))?;
        let mut by_code: BTreeMap<&str, Vec<&ConceptRow>> = BTreeMap::new();
        for row in &rows {
            by_code.entry(row.code.as_str()).or_default().push(row);
        }
        for (code, versions) in by_code {
            // The name it last had: the last release's speaker.
            if let Some(row) = last_speaker(versions.iter().copied(), system, code) {
                let mut status = CodeStatus::default();
                status.names.set_display(&row.display);
                known.insert(code.to_owned(), status);
            }
        }
    }
    for status in known.values_mut() {
        status.names.shrink_to_fit();
    }
    Ok(known)
}
