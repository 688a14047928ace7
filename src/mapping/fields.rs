//! Limits and content hygiene for the files the mapping workflow reads (local code lists and
//! decision imports): row and column counts, field lengths by kind, control characters. Each
//! finding is one [`Problem`] naming file, line, column and column name, with the value
//! quoted through [`excerpt`] and the limit's fix.

use crate::excerpt::excerpt;
use crate::hygiene::control_char;
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

/// Fix for a control character in a field.
const CONTROL_FIX: &str = "remove the control character and save the file again (tabs and \
                           line breaks are allowed only in free-text columns)";

/// The problem with one field's value, if any: a control character (free text may hold tabs
/// and line breaks), then a length over `kind`'s limit. `column` is 1-based.
pub(crate) fn field_problem(
    file: &str,
    line: u64,
    column: usize,
    column_name: &str,
    value: &str,
    kind: FieldKind,
    limits: &Limits,
) -> Option<Problem> {
    if let Some((position, ch)) = control_char(value, kind == FieldKind::Text) {
        return Some(Problem::field(
            file,
            line,
            column,
            column_name,
            "control_character",
            format!(
                "control character U+{:04X} at character {position} of `{}`",
                ch as u32,
                excerpt(value)
            ),
            CONTROL_FIX,
        ));
    }
    let limit = kind.limit();
    let chars = value.chars().count() as u64;
    if !limits.allows(limit, chars) {
        return Some(Problem::field(
            file,
            line,
            column,
            column_name,
            "field_too_long",
            format!(
                "`{}` is {} characters long; {}",
                excerpt(value),
                group_digits(chars),
                limits.describe(limit)
            ),
            limits.fix(limit),
        ));
    }
    None
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

/// Problems of a CSV's shape before its rows are read: more columns in the header than
/// [`Limit::Columns`], more data rows than `rows_limit`. `what` names a data row in messages
/// (`local codes`, `rows`).
pub(crate) fn shape_problems(
    file: &str,
    header: &Row,
    data_rows: usize,
    rows_limit: Limit,
    what: &str,
    limits: &Limits,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let columns = header.fields.len() as u64;
    if !limits.allows(Limit::Columns, columns) {
        out.push(Problem::line(
            file,
            header.line,
            "too_many_columns",
            format!(
                "the header row has {} columns; {}",
                group_digits(columns),
                limits.describe(Limit::Columns)
            ),
            limits.fix(Limit::Columns),
        ));
    }
    let rows = data_rows as u64;
    if !limits.allows(rows_limit, rows) {
        out.push(Problem::file(
            file,
            "too_many_rows",
            format!(
                "the file has {} {what}; {}",
                group_digits(rows),
                limits.describe(rows_limit)
            ),
            limits.fix(rows_limit),
        ));
    }
    out
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
    fn control_characters_then_lengths() {
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
            "control character U+0000 at character 2 of `A\\u{0000}B`"
        );
        let p = field_problem("f.csv", 3, 1, "code", "ABCDE", FieldKind::Code, &limits)
            .expect("problem");
        assert_eq!(p.kind, "field_too_long");
        assert_eq!(
            p.message,
            "`ABCDE` is 5 characters long; the limit is 4 characters (HYOJUN_MAX_CODE_CHARS)"
        );
        assert!(field_problem("f", 1, 1, "x", "a\tb\nc", FieldKind::Text, &limits).is_none());
        assert!(field_problem("f", 1, 1, "x", "a\tb", FieldKind::Name, &limits).is_some());
    }
}
