//! Values quoted in messages: cut to a short excerpt and escaped, so that a 10 MB field or a
//! terminal control sequence in a hostile file never reaches a terminal, a log line, a job
//! row or an error body whole or raw.

use std::fmt::Write;

/// Characters of a value shown before it is cut.
pub const EXCERPT_CHARS: usize = 40;

/// `value` as a message shows it: at most [`EXCERPT_CHARS`] characters, control, format
/// (bidi overrides, zero-width) and other invisible characters written as `\u{…}`, and, when
/// cut, `…` and the value's full length in characters.
pub fn excerpt(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(EXCERPT_CHARS * 4) + 24);
    let mut chars = value.chars();
    for (shown, ch) in chars.by_ref().enumerate() {
        if shown == EXCERPT_CHARS {
            let total = shown + 1 + chars.count();
            let _ = write!(out, "… ({total} characters)");
            return out;
        }
        push_escaped(&mut out, ch);
    }
    out
}

/// Whether a character must not reach a terminal or a log as is.
pub fn is_invisible(ch: char) -> bool {
    ch.is_control()
        || matches!(ch,
            '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}')
}

/// `text` for a terminal: line breaks and tabs kept, every other control or invisible
/// character written as `\u{…}` (a key name, a label or a comment someone typed with an
/// escape sequence must not drive the terminal that prints it). Not cut.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| is_invisible(c) && c != '\n' && c != '\t')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        match ch {
            '\n' | '\t' => out.push(ch),
            c => push_escaped(&mut out, c),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn push_escaped(out: &mut String, ch: char) {
    match ch {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if is_invisible(c) => {
            let _ = write!(out, "\\u{{{:04X}}}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_keeps_lines_and_escapes_controls() {
        assert_eq!(terminal_safe("a\tb\nc"), "a\tb\nc");
        assert_eq!(
            terminal_safe("key \u{1B}]0;x\u{7}\r\u{202E}"),
            "key \\u{001B}]0;x\\u{0007}\\r\\u{202E}"
        );
    }

    #[test]
    fn short_values_are_kept_and_escaped() {
        assert_eq!(excerpt("ﾃｽﾀﾐﾄﾞ錠"), "ﾃｽﾀﾐﾄﾞ錠");
        assert_eq!(excerpt("a\u{0}b\u{1B}[31m"), "a\\u{0000}b\\u{001B}[31m");
        assert_eq!(excerpt("x\u{202E}y\n"), "x\\u{202E}y\\n");
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let long = "薬".repeat(10_000_000);
        let shown = excerpt(&long);
        assert_eq!(
            shown,
            format!("{}… (10000000 characters)", "薬".repeat(EXCERPT_CHARS))
        );
        let exact = "a".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
    }
}
