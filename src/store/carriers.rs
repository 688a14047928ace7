//! Rows that carry a code of another system (relation `code` in `concept_links`), read in
//! two index look-ups: codes → carrying row ids → rows. (A single join lets the SQLite
//! planner start from the wrong side.)

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::models::{ConceptRow, ReleaseRow};
use super::schema::{concept_links, concepts};
use super::{AnyConnection, StoreError};
use crate::with_backend;

/// Rows per `IN` list.
pub(crate) const CHUNK: usize = 500;

/// The ids of the row versions (any release) carrying any of `codes` of `system`, each with
/// the codes it carries (ids ascending, codes sorted: not in database order).
pub(crate) fn carrier_ids(
    conn: &mut AnyConnection,
    system: &str,
    codes: &[&str],
) -> Result<BTreeMap<i64, Vec<String>>, StoreError> {
    let mut code_of: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for chunk in codes.chunks(CHUNK) {
        let links: Vec<(String, i64)> = with_backend!(&mut *conn, |c| concept_links::table
            .filter(concept_links::system_key.eq(system))
            .filter(concept_links::code.eq_any(chunk))
            .filter(concept_links::relation.eq("code"))
            .select((concept_links::code, concept_links::concept_id))
            .load(c))?;
        for (code, id) in links {
            code_of.entry(id).or_default().push(code);
        }
    }
    for codes in code_of.values_mut() {
        codes.sort_unstable();
    }
    Ok(code_of)
}

/// The row versions with these ids, of `master`, in the listing order of `speaker.rs`.
pub(crate) fn rows_by_id(
    conn: &mut AnyConnection,
    master: &str,
    ids: &[i64],
) -> Result<Vec<ConceptRow>, StoreError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<ConceptRow> = with_backend!(&mut *conn, |c| concepts::table
            .filter(concepts::id.eq_any(chunk))
            .filter(concepts::master.eq(master))
            .select(ConceptRow::as_select())
            .load(c))?;
        rows.extend(found);
    }
    rows.sort_by(super::speaker::by_identity);
    Ok(rows)
}

/// The rows of `system` in `release` that define any of `codes` (at most [`CHUNK`] codes: one
/// `IN` list), in database order.
pub(crate) fn rows_defining(
    conn: &mut AnyConnection,
    release: &ReleaseRow,
    system: &str,
    codes: &[&str],
) -> Result<Vec<ConceptRow>, StoreError> {
    Ok(with_backend!(&mut *conn, |c| concepts::table
        .filter(concepts::system_key.eq(system))
        .filter(concepts::code.eq_any(codes))
        .filter(concepts::valid_from.le(release.id))
        .filter(
            concepts::valid_to
                .is_null()
                .or(concepts::valid_to.gt(release.id))
        )
        .select(ConceptRow::as_select())
        .load(c))?)
}
