//! What a field may contain, and what an exported cell must not start with.
//!
//! * Imports refuse control characters (NUL included) in every field, with their position:
//!   [`control_char`]. Tab is refused too except in free text, where line breaks are allowed.
//! * Text typed into the API or the command line (key and project names, comments,
//!   assignees) is held to the same rule and a length: [`check_typed`].
//! * CSV exports neutralise cells a spreadsheet would run as a formula (OWASP "CSV
//!   injection"): [`neutralise_formula`]; [`restore_formula`] reads such a cell back.

use std::borrow::Cow;

/// The first character a field may not hold: its 1-based character position and the
/// character. C0 and C1 controls and DEL are refused; with `free_text`, tab, LF and CR are
/// allowed.
pub fn control_char(value: &str, free_text: bool) -> Option<(usize, char)> {
    value.chars().enumerate().find_map(|(i, ch)| {
        let allowed = free_text && matches!(ch, '\t' | '\n' | '\r');
        (ch.is_control() && !allowed).then_some((i + 1, ch))
    })
}

/// Checks a value typed into a write request before it is stored: at most `max_chars`
/// characters and no control character ([`control_char`]; with `free_text`, tab and line
/// breaks are allowed). The error names `field`, what is wrong and the fix.
pub fn check_typed(
    field: &str,
    value: &str,
    max_chars: usize,
    free_text: bool,
) -> Result<(), String> {
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(format!(
            "`{field}` is {} characters long; at most {} are kept: shorten it",
            crate::limits::group_digits(chars as u64),
            crate::limits::group_digits(max_chars as u64)
        ));
    }
    if let Some((at, ch)) = control_char(value, free_text) {
        return Err(format!(
            "`{field}` has the control character U+{:04X} at character {at}: remove it",
            ch as u32
        ));
    }
    Ok(())
}

/// Characters that make a spreadsheet read a cell as a formula when they lead it (OWASP:
/// `=`, `+`, `-`, `@`, tab and carriage return; full-width `＝ ＋ － ＠`, which Excel in a
/// Japanese locale also accepts).
fn starts_formula(value: &str) -> bool {
    value.starts_with([
        '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
    ])
}

/// Whether the exporter prefixes `value`: it starts a formula, or it is one or more `'`
/// followed by what starts a formula (so that a value that already looks neutralised keeps
/// its own `'` through [`restore_formula`]).
fn needs_prefix(value: &str) -> bool {
    starts_formula(value.trim_start_matches('\''))
}

/// The cell as exported: a value that would start a formula gets a leading `'`, which
/// spreadsheets show as text and do not evaluate (OWASP's rule). A value that is one or more
/// `'` and then such a character gets one more `'`, so that [`restore_formula`] gives every
/// value back exactly. Other values are unchanged.
pub fn neutralise_formula(value: &str) -> Cow<'_, str> {
    if needs_prefix(value) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// The value of a cell [`neutralise_formula`] wrote: a cell that is `'` followed by a value
/// the exporter prefixes loses that one `'`; every other cell is the value itself. For every
/// value `v`, `restore_formula(&neutralise_formula(v)) == v`.
pub fn restore_formula(cell: &str) -> Cow<'_, str> {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_prefix(rest) => Cow::Borrowed(rest),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_with_their_position() {
        assert_eq!(control_char("ﾃｽﾄ", false), None);
        assert_eq!(control_char("ab\u{0}c", false), Some((3, '\u{0}')));
        assert_eq!(control_char("a\tb", false), Some((2, '\t')));
        assert_eq!(control_char("a\tb\r\nc", true), None);
        assert_eq!(control_char("a\u{85}", true), Some((2, '\u{85}')));
        assert_eq!(control_char("\u{7F}", true), Some((1, '\u{7F}')));
    }

    #[test]
    fn typed_text_is_checked() {
        assert_eq!(check_typed("name", "受付 端末1", 100, false), Ok(()));
        assert_eq!(check_typed("comment", "一行目\n二行目", 100, true), Ok(()));
        assert_eq!(
            check_typed("name", "a\u{1B}]0;x", 100, false),
            Err("`name` has the control character U+001B at character 2: remove it".into())
        );
        assert_eq!(
            check_typed("comment", &"あ".repeat(12_345), 10_000, true),
            Err("`comment` is 12,345 characters long; at most 10,000 are kept: shorten it".into())
        );
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for cell in ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "＝HYPERLINK()"] {
            assert_eq!(neutralise_formula(cell), format!("'{cell}"));
        }
        for cell in ["1-2", "ﾃｽﾀﾐﾄﾞ錠", "", "a=b", "'quoted", "''"] {
            assert_eq!(neutralise_formula(cell), cell);
        }
        assert_eq!(neutralise_formula("'=1"), "''=1");
    }

    #[test]
    fn restoring_gives_every_value_back() {
        for value in [
            "=1+1",
            "+81",
            "-",
            "@x",
            "\tx",
            "\rx",
            "＝A",
            "'=1",
            "''+2",
            "'",
            "'abc",
            "a'=b",
            "",
            "1-2",
            "ﾃｽﾄ",
        ] {
            let cell = neutralise_formula(value);
            assert_eq!(restore_formula(&cell), value, "{value:?} → {cell:?}");
        }
        // Only a `'` the exporter adds is removed.
        assert_eq!(restore_formula("'abc"), "'abc");
        assert_eq!(restore_formula("'=1"), "=1");
    }
}
