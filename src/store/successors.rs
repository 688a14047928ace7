//! Following 移行先 (successor) links inside one release, transitively, with a cycle guard;
//! and the other way round: which codes of a release name a 移行先, and which codes lead to
//! a given one (its predecessors).
//!
//! Importers refuse releases whose successors point nowhere or loop, but a store can hold
//! data from anywhere (older imports, hand-built releases), so the walk never trusts that:
//! it stops at a code it has already visited and says so.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use diesel::prelude::*;
use serde::Serialize;

use super::carriers::CHUNK;
use super::models::{ConceptRow, ReleaseRow};
use super::schema::{concept_links, concepts};
use super::{AnyConnection, Store, StoreError};
use crate::with_backend;

/// Longest walk followed before giving up (no real chain comes near it).
const MAX_STEPS: usize = 10_000;

/// One code met while following successors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuccessorStep {
    pub system: String,
    pub code: String,
    /// False when the release has no row defining the code (a dangling 移行先).
    pub present: bool,
    /// `active` when any row of the code is active, else `retired` (empty when absent).
    pub status: String,
    pub display: String,
    /// The 移行先 named by the code's rows, as (system, code), in link order.
    pub successors: Vec<(String, String)>,
}

/// Where a code's successors lead in one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuccessorChain {
    pub system: String,
    pub code: String,
    /// Every code reached, breadth first, starting with the code asked about.
    pub steps: Vec<SuccessorStep>,
    /// The codes where following ends (present, with no successor of their own): what to use
    /// instead. Just the code itself when it has no successor.
    pub resolved: Vec<(String, String)>,
    /// A successor led back to a code already visited.
    pub cycle: bool,
    /// The walk stopped at [`MAX_STEPS`] codes.
    pub truncated: bool,
}

impl SuccessorChain {
    /// The single code the chain ends at, when there is exactly one.
    pub fn final_code(&self) -> Option<&str> {
        match self.resolved.as_slice() {
            [(_, code)] => Some(code),
            _ => None,
        }
    }
}

impl Store {
    /// Follows the successors of `code` of `system` in `release` ([`successor_chain_in`]).
    pub fn successor_chain(
        &self,
        release: &ReleaseRow,
        system: &str,
        code: &str,
    ) -> Result<SuccessorChain, StoreError> {
        successor_chain_in(&mut *self.conn()?, release, system, code)
    }
}

/// Follows the successors of `code` of `system` in `release`, on `conn` (a caller's
/// transaction sees its own writes).
pub fn successor_chain_in(
    conn: &mut AnyConnection,
    release: &ReleaseRow,
    system: &str,
    code: &str,
) -> Result<SuccessorChain, StoreError> {
    let mut chain = SuccessorChain {
        system: system.to_owned(),
        code: code.to_owned(),
        steps: Vec::new(),
        resolved: Vec::new(),
        cycle: false,
        truncated: false,
    };
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut queue: VecDeque<(String, String)> = VecDeque::new();
    seen.insert((system.to_owned(), code.to_owned()));
    queue.push_back((system.to_owned(), code.to_owned()));
    while let Some((system, code)) = queue.pop_front() {
        if chain.steps.len() >= MAX_STEPS {
            chain.truncated = true;
            break;
        }
        let mut rows: Vec<ConceptRow> = concepts::table
            .filter(concepts::master.eq(&release.master))
            .filter(concepts::system_key.eq(&system))
            .filter(concepts::code.eq(&code))
            .filter(concepts::valid_from.le(release.id))
            .filter(
                concepts::valid_to
                    .is_null()
                    .or(concepts::valid_to.gt(release.id)),
            )
            .select(ConceptRow::as_select())
            .load(conn)?;
        rows.sort_by(super::speaker::by_identity);
        let step = step_of(system, code, &rows)?;
        for next in &step.successors {
            if seen.insert(next.clone()) {
                queue.push_back(next.clone());
            }
        }
        if step.present && step.successors.is_empty() {
            chain
                .resolved
                .push((step.system.clone(), step.code.clone()));
        }
        chain.steps.push(step);
    }
    chain.cycle = has_cycle(&chain.steps);
    Ok(chain)
}

/// The ids of the row versions (any release) that name a 移行先 in one of `systems` (the
/// reverse index `concept_links`, relation `successor`), optionally only those pointing to
/// `code`.
fn successor_link_ids(
    conn: &mut AnyConnection,
    systems: &[&str],
    code: Option<&str>,
) -> Result<Vec<i64>, StoreError> {
    let mut ids: Vec<i64> = Vec::new();
    for chunk in systems.chunks(CHUNK) {
        let found: Vec<i64> = with_backend!(&mut *conn, |c| {
            let mut query = concept_links::table
                .filter(concept_links::system_key.eq_any(chunk))
                .filter(concept_links::relation.eq("successor"))
                .select(concept_links::concept_id)
                .into_boxed();
            if let Some(code) = code {
                query = query.filter(concept_links::code.eq(code));
            }
            query.load(c)
        })?;
        ids.extend(found);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The (system, code) of the row versions among `ids` that are valid in `release`, each
/// once, sorted by bytes (only those two columns are read).
fn codes_valid_in(
    conn: &mut AnyConnection,
    release: &ReleaseRow,
    ids: &[i64],
) -> Result<BTreeSet<(String, String)>, StoreError> {
    let mut codes = BTreeSet::new();
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<(String, String)> = with_backend!(&mut *conn, |c| concepts::table
            .filter(concepts::id.eq_any(chunk))
            .filter(concepts::master.eq(&release.master))
            .filter(concepts::valid_from.le(release.id))
            .filter(
                concepts::valid_to
                    .is_null()
                    .or(concepts::valid_to.gt(release.id))
            )
            .select((concepts::system_key, concepts::code))
            .load(c))?;
        codes.extend(found);
    }
    Ok(codes)
}

impl Store {
    /// Whether any row version of `systems` (any release) names a 移行先: whether the master
    /// of those systems records successors at all.
    pub fn has_successor_links(&self, systems: &[&str]) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        for chunk in systems.chunks(CHUNK) {
            let found: Vec<i64> = with_backend!(&mut *conn, |c| concept_links::table
                .filter(concept_links::system_key.eq_any(chunk))
                .filter(concept_links::relation.eq("successor"))
                .select(concept_links::concept_id)
                .limit(1)
                .load(c))?;
            if !found.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The codes of `systems` whose rows valid in `release` name a 移行先, as (system, code),
    /// each once, sorted by bytes. Reads only the rows that name one (few, whatever the size
    /// of the master).
    pub fn codes_with_successors(
        &self,
        release: &ReleaseRow,
        systems: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut conn = self.conn()?;
        let ids = successor_link_ids(&mut conn, systems, None)?;
        Ok(codes_valid_in(&mut conn, release, &ids)?
            .into_iter()
            .filter(|(system, _)| systems.contains(&system.as_str()))
            .collect())
    }

    /// Every code of `release` whose 移行先 chain passes through `code` of `system`: the codes
    /// naming it as 移行先, the codes naming those, and so on (breadth first, each once, the
    /// code itself never listed; a loop stops where it meets a code already listed).
    pub fn predecessors(
        &self,
        release: &ReleaseRow,
        system: &str,
        code: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut conn = self.conn()?;
        let mut seen: HashSet<(String, String)> = HashSet::new();
        seen.insert((system.to_owned(), code.to_owned()));
        let mut queue: VecDeque<(String, String)> = VecDeque::new();
        queue.push_back((system.to_owned(), code.to_owned()));
        let mut found: Vec<(String, String)> = Vec::new();
        while let Some((system, code)) = queue.pop_front() {
            if found.len() >= MAX_STEPS {
                break;
            }
            let ids = successor_link_ids(&mut conn, &[system.as_str()], Some(&code))?;
            for next in codes_valid_in(&mut conn, release, &ids)? {
                if seen.insert(next.clone()) {
                    found.push(next.clone());
                    queue.push_back(next);
                }
            }
        }
        Ok(found)
    }
}

/// Whether the successor links among the visited codes loop (a code reached twice along
/// different branches is not a loop; one reached again from its own descendants is).
fn has_cycle(steps: &[SuccessorStep]) -> bool {
    let index: HashMap<(&str, &str), usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.system.as_str(), s.code.as_str()), i))
        .collect();
    let edges: Vec<Vec<usize>> = steps
        .iter()
        .map(|s| {
            s.successors
                .iter()
                .filter_map(|(sys, code)| index.get(&(sys.as_str(), code.as_str())).copied())
                .collect()
        })
        .collect();
    // 0 unvisited, 1 on the current path, 2 done.
    let mut state = vec![0u8; steps.len()];
    for root in 0..steps.len() {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            match edges[node].get(next) {
                Some(&to) => {
                    top.1 += 1;
                    match state[to] {
                        0 => {
                            state[to] = 1;
                            stack.push((to, 0));
                        }
                        1 => return true,
                        _ => {}
                    }
                }
                None => {
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
    }
    false
}

fn step_of(system: String, code: String, rows: &[ConceptRow]) -> Result<SuccessorStep, StoreError> {
    let mut successors: Vec<(String, String)> = Vec::new();
    for row in rows {
        let links = row
            .link_list()
            .map_err(|e| StoreError::Corrupt(format!("concept {}: {e}", row.id)))?;
        for (relation, target_system, target) in links {
            let next = (target_system, target);
            if relation == "successor" && !successors.contains(&next) {
                successors.push(next);
            }
        }
    }
    let status = if rows.is_empty() {
        String::new()
    } else if rows.iter().any(|r| r.status == "active") {
        "active".to_owned()
    } else {
        "retired".to_owned()
    };
    let display = super::speaker::speaker(rows, &system, &code)
        .map(|r| r.display.clone())
        .unwrap_or_default();
    Ok(SuccessorStep {
        system,
        code,
        present: !rows.is_empty(),
        status,
        display,
        successors,
    })
}
