//! The field check every master parser runs on every value it reads: its length against its
//! column kind's limit ([`FieldKind`]: code, name or free text, declared per column next to
//! each layout) and control characters (NUL included, [`hygiene::control_char`]), each
//! problem located by line, column, column name and, for a control character, its position.

use super::problem::{Problem, Problems};
use super::text::Row;
use crate::excerpt::excerpt;
use crate::hygiene;
use crate::limits::{group_digits, FieldKind, Limits};

/// The field checks for one file.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    /// The file as problems name it (for a workbook: `file [sheet]`).
    pub file: &'a str,
    pub limits: &'a Limits,
}

/// The problem with one value of a field of `kind` (1-based `column`), if any: a length over
/// the kind's limit, else a control character (free text may hold tabs and line breaks).
/// Master files, local-code lists and decision imports all check their fields with it.
pub fn problem(
    file: &str,
    line: u64,
    column: usize,
    column_name: &str,
    kind: FieldKind,
    value: &str,
    limits: &Limits,
) -> Option<Problem> {
    let limit = kind.limit();
    let max = limits.get(limit);
    // A value of at most `max` bytes has at most `max` characters: no need to count.
    let chars = if value.len() as u64 <= max {
        0
    } else {
        value.chars().count() as u64
    };
    if chars > max {
        return Some(
            Problem::over_limit(
                file,
                "field_too_long",
                format!(
                    "the {} is {} characters long (`{}`)",
                    kind_word(kind),
                    group_digits(chars),
                    excerpt(value)
                ),
                limits,
                limit,
            )
            .in_field(line, column, column_name),
        );
    }
    let (at, ch) = hygiene::control_char(value, kind == FieldKind::Text)?;
    Some(Problem::field(
        file,
        line,
        column,
        column_name,
        "control_character",
        format!(
            "the value holds the control character {} at character {at}: `{}`",
            char_name(ch),
            excerpt(value)
        ),
        "remove the character: fields hold text only, tabs and line breaks in free-text columns alone (control characters often mean a corrupt copy, or a file saved as UTF-16)",
    ))
}

impl Fields<'_> {
    /// Checks one value (1-based `column`); `false` after reporting its problem.
    pub fn value(
        &self,
        line: u64,
        column: usize,
        column_name: &str,
        kind: FieldKind,
        value: &str,
        problems: &mut Problems,
    ) -> bool {
        match problem(
            self.file,
            line,
            column,
            column_name,
            kind,
            value,
            self.limits,
        ) {
            Some(p) => {
                problems.push(p);
                false
            }
            None => true,
        }
    }

    /// Checks every field of a row of a layout whose column `i` (0-based) is titled
    /// `title(i)` and of kind `kinds[i]` (columns past the layout count as free text);
    /// `false` when any field failed.
    pub fn row<'t>(
        &self,
        row: &Row,
        title: impl Fn(usize) -> &'t str,
        kinds: &[FieldKind],
        problems: &mut Problems,
    ) -> bool {
        let mut ok = true;
        for (i, value) in row.fields.iter().enumerate() {
            let kind = kinds.get(i).copied().unwrap_or(FieldKind::Text);
            ok &= self.value(row.line, i + 1, title(i), kind, value, problems);
        }
        ok
    }
}

fn kind_word(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Code => "code",
        FieldKind::Name => "name",
        FieldKind::Text => "text",
    }
}

/// `U+0000 (NUL)`, `U+001B (escape)`, `U+0085`.
fn char_name(ch: char) -> String {
    let name = match ch {
        '\0' => " (NUL)",
        '\t' => " (tab)",
        '\n' => " (line feed)",
        '\r' => " (carriage return)",
        '\u{1B}' => " (escape)",
        '\u{7F}' => " (delete)",
        _ => "",
    };
    format!("U+{:04X}{name}", ch as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: FieldKind, value: &str) -> Vec<Problem> {
        let limits = Limits::default();
        let fields = Fields {
            file: "f.txt",
            limits: &limits,
        };
        let mut problems = Problems::default();
        fields.value(7, 12, "販売名", kind, value, &mut problems);
        problems.items().to_vec()
    }

    #[test]
    fn long_values_are_one_problem_with_an_excerpt() {
        let long = "ア".repeat(5 * 1024 * 1024);
        let p = check(FieldKind::Name, &long);
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].kind, p[0].line, p[0].column),
            ("field_too_long", Some(7), Some(12))
        );
        assert_eq!(p[0].column_name.as_deref(), Some("販売名"));
        assert_eq!(
            p[0].message,
            format!(
                "the name is 5,242,880 characters long (`{}… (5242880 characters)`); the limit is 1,000 characters (HYOJUN_MAX_NAME_CHARS)",
                "ア".repeat(40)
            )
        );
        assert_eq!(
            p[0].fix,
            Limits::default().fix(crate::limits::Limit::NameChars)
        );
        assert!(
            check(FieldKind::Name, &"ア".repeat(1000)).is_empty(),
            "at the limit"
        );
        assert_eq!(
            check(FieldKind::Code, &"1".repeat(65))[0].kind,
            "field_too_long"
        );
    }

    #[test]
    fn control_characters_are_located() {
        let p = check(FieldKind::Name, "ﾃｽ\u{0}ﾄ");
        assert_eq!(p[0].kind, "control_character");
        assert_eq!(
            p[0].message,
            "the value holds the control character U+0000 (NUL) at character 3: `ﾃｽ\\u{0000}ﾄ`"
        );
        assert_eq!(check(FieldKind::Code, "a\tb")[0].kind, "control_character");
        assert!(
            check(FieldKind::Text, "a\tb\r\nc").is_empty(),
            "free text keeps its layout"
        );
        assert_eq!(
            check(FieldKind::Text, "\u{1B}[2J")[0].kind,
            "control_character"
        );
    }
}
