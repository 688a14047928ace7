//! Limits and content hygiene for the files the mapping workflow reads (local code lists and
//! decision imports): row and column counts, field lengths by kind, control characters. Each
//! finding is one [`Problem`] naming file, line, column and column name, with the value
//! quoted through [`excerpt`] and the limit's fix.

use crate::excerpt::excerpt;
use crate::limits::{group_digits, FieldKind, Limit, Limits};
use crate::masters::text::Row;
use crate::masters::{Problem, Problems};

/// `problems` as one capped list.
pub(crate) fn collect(problems: impl IntoIterator<Item = Problem>) -> Problems {
    let mut out = Problems::default();
    for p in problems {
        out.push(p);
    }
    out
}

/// The problem with one field's value, if any (the check every file hyojun reads runs:
/// [`crate::masters::fields::problem`]). `column` is 1-based.
pub(crate) fn field_problem(
    file: &str,
    line: u64,
    column: usize,
    column_name: &str,
    value: &str,
    kind: FieldKind,
    limits: &Limits,
) -> Option<Problem> {
    crate::masters::fields::problem(file, line, column, column_name, kind, value, limits)
}

/// The problem with a string of a JSON document (a ConceptMap), if any; `path` names it
/// (`ConceptMap.group[0].element[3].code`).
pub(crate) fn json_string_problem(
    file: &str,
    path: &str,
    value: &str,
    kind: FieldKind,
    limits: &Limits,
) -> Option<Problem> {
    let mut problem = field_problem(file, 0, 0, "", value, kind, limits)?;
    problem.line = None;
    problem.column = None;
    problem.column_name = None;
    problem.message = format!("{path}: {}", problem.message);
    Some(problem)
}

/// Problems of a CSV's shape before its rows are read: more data rows than `rows_limit`
/// (`what` names a data row in messages: `local codes`, `rows`). Columns are counted while
/// the CSV is read ([`crate::masters::text::read_rows`]).
pub(crate) fn shape_problems(
    file: &str,
    data_rows: usize,
    rows_limit: Limit,
    what: &str,
    limits: &Limits,
) -> Vec<Problem> {
    let rows = data_rows as u64;
    if limits.allows(rows_limit, rows) {
        return Vec::new();
    }
    vec![Problem::over_limit(
        file,
        "too_many_rows",
        format!("the file has {} {what}", group_digits(rows)),
        limits,
        rows_limit,
    )]
}

/// The header row's titles (trimmed, with a leading BOM removed) and, for each one that is
/// bad, its problem (a title is a name field).
pub(crate) fn header_titles(
    file: &str,
    header: &Row,
    limits: &Limits,
) -> (Vec<String>, Vec<Problem>) {
    let mut problems = Vec::new();
    let titles = header
        .fields
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let title = h.trim().trim_start_matches('\u{FEFF}').trim();
            problems.extend(field_problem(
                file,
                header.line,
                i + 1,
                &excerpt(title),
                title,
                FieldKind::Name,
                limits,
            ));
            title.to_owned()
        })
        .collect();
    (titles, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_then_control_characters() {
        let limits = Limits {
            code_chars: 4,
            ..Limits::default()
        };
        let p = field_problem("f.csv", 3, 1, "code", "A\u{0}B", FieldKind::Code, &limits)
            .expect("problem");
        assert_eq!(
            (p.kind, p.line, p.column, p.column_name.as_deref()),
            ("control_character", Some(3), Some(1), Some("code"))
        );
        assert_eq!(
            p.message,
            "the value holds the control character U+0000 (NUL) at character 2: `A\\u{0000}B`"
        );
        let p = field_problem("f.csv", 3, 1, "code", "ABCDE", FieldKind::Code, &limits)
            .expect("problem");
        assert_eq!(p.kind, "field_too_long");
        assert_eq!(
            p.message,
            "the code is 5 characters long (`ABCDE`); the limit is 4 characters (HYOJUN_MAX_CODE_CHARS)"
        );
        assert!(field_problem("f", 1, 1, "x", "a\tb\nc", FieldKind::Text, &limits).is_none());
        assert!(field_problem("f", 1, 1, "x", "a\tb", FieldKind::Name, &limits).is_some());
    }
}
