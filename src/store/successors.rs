//! Following 移行先 (successor) links inside one release, transitively, with a cycle guard.
//!
//! Importers refuse releases whose successors point nowhere or loop, but a store can hold
//! data from anywhere (older imports, hand-built releases), so the walk never trusts that:
//! it stops at a code it has already visited and says so.

use std::collections::{HashMap, HashSet, VecDeque};

use diesel::prelude::*;
use serde::Serialize;

use super::models::{ConceptRow, ReleaseRow};
use super::schema::concepts;
use super::{Store, StoreError};

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
    /// Follows the successors of `code` of `system` in `release`.
    pub fn successor_chain(
        &self,
        release: &ReleaseRow,
        system: &str,
        code: &str,
    ) -> Result<SuccessorChain, StoreError> {
        let mut conn = self.conn()?;
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
                .load(&mut *conn)?;
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
