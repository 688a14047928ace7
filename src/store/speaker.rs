//! Which row speaks for a code, and the one order of a code's rows.
//!
//! A code can be defined or carried by several rows of one release (a HOT9 with one row per
//! package, a 薬価 code carried by every HOT9 row of its products). Whatever names a code —
//! a look-up's display, a diff entry's display, a successor step, a validation name — takes it
//! from the row that speaks for it, chosen by [`speaks_before`] over the rows valid in the
//! release in question. The order uses only stored values that are the same on every backend
//! (never database order, concept ids or hash iteration), so every answer is the same on
//! SQLite and PostgreSQL. `docs/ARCHITECTURE.md` states the rule.

use std::cmp::Ordering;

use super::models::ConceptRow;
use crate::ids::ReleaseId;

/// Whether `row` defines `code` of `system` itself (rather than carrying it).
pub(crate) fn defines(row: &ConceptRow, system: &str, code: &str) -> bool {
    row.system_key == system && row.code == code
}

/// The order in which rows speak for `code` of `system`, first = the speaker: a row with a
/// display before one without, an active row before a retired one, a row defining the code
/// before one carrying it, then by (system, code, row key), bytewise, and the later version
/// first (a row key has one version per release, so this only orders versions of different
/// releases).
pub(crate) fn speaks_before<'a>(
    system: &'a str,
    code: &'a str,
) -> impl Fn(&ConceptRow, &ConceptRow) -> Ordering + Copy + 'a {
    move |a, b| {
        let rank = |r: &ConceptRow| {
            (
                r.display.is_empty(),
                r.status != "active",
                !defines(r, system, code),
            )
        };
        rank(a)
            .cmp(&rank(b))
            .then_with(|| by_identity(a, b))
            .then_with(|| b.valid_from.cmp(&a.valid_from))
    }
}

/// The one listing order of rows: (system, code, row key) bytewise, then the later version
/// first.
pub(crate) fn by_identity(a: &ConceptRow, b: &ConceptRow) -> Ordering {
    (&a.system_key, &a.code, &a.row_key)
        .cmp(&(&b.system_key, &b.code, &b.row_key))
        .then_with(|| b.valid_from.cmp(&a.valid_from))
}

/// The row of `rows` that speaks for `code` of `system`.
pub(crate) fn speaker<'r>(
    rows: impl IntoIterator<Item = &'r ConceptRow>,
    system: &str,
    code: &str,
) -> Option<&'r ConceptRow> {
    let order = speaks_before(system, code);
    rows.into_iter().min_by(|a, b| order(a, b))
}

/// For a code no release after `rows`' last one has: the row that spoke for it in the last
/// release that had it (the versions that ended last, then [`speaks_before`]).
pub(crate) fn last_speaker<'r>(
    rows: impl IntoIterator<Item = &'r ConceptRow> + Clone,
    system: &str,
    code: &str,
) -> Option<&'r ConceptRow> {
    let end = |r: &ConceptRow| r.valid_to.map_or(i64::MAX, ReleaseId::get);
    let last = rows.clone().into_iter().map(end).max()?;
    speaker(rows.into_iter().filter(|r| end(r) == last), system, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(system: &str, code: &str, key: &str, status: &str, display: &str) -> ConceptRow {
        ConceptRow {
            id: 0,
            master: "hot".into(),
            system_key: system.into(),
            code: code.into(),
            row_key: key.into(),
            content_hash: String::new(),
            valid_from: ReleaseId::new(1),
            valid_to: None,
            status: status.into(),
            display: display.into(),
            attributes: "{}".into(),
            designations: "[]".into(),
            links: "[]".into(),
        }
    }

    #[test]
    fn display_then_status_then_own_row_then_row_key() {
        let rows = [
            row("hot9", "105746106", "b", "active", "マルオキシール"),
            row("hot9", "105746102", "a", "active", "オキシドールＦＭ"),
            row("hot9", "105746103", "0", "retired", "旧名"),
            row("hot9", "105746104", "0", "active", ""),
        ];
        // Two active carrying rows with names: the smaller (system, code, row key) speaks,
        // whatever order the rows came in.
        for perm in [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]] {
            let shuffled: Vec<&ConceptRow> = perm.iter().map(|&i| &rows[i]).collect();
            let got = speaker(shuffled, "yakka", "2614700X1018").expect("speaker");
            assert_eq!(got.display, "オキシドールＦＭ");
        }
        // The row defining the code speaks before rows carrying it.
        let own = row("yakka", "2614700X1018", "z", "active", "自身");
        let got = speaker(rows.iter().chain([&own]), "yakka", "2614700X1018");
        assert_eq!(got.map(|r| r.display.as_str()), Some("自身"));
    }

    #[test]
    fn a_removed_code_is_named_by_its_last_release() {
        let mut old = row("hot9", "1", "a", "active", "前の名前");
        old.valid_to = Some(ReleaseId::new(3));
        let mut last = row("hot9", "1", "b", "active", "最後の名前");
        last.valid_from = ReleaseId::new(2);
        last.valid_to = Some(ReleaseId::new(5));
        let got = last_speaker([&old, &last], "hot9", "1").expect("speaker");
        assert_eq!(got.display, "最後の名前");
    }
}
