//! The names of a code, packed for validation: its display, every name it is known by, and
//! those names folded with [`display_key`] (ignoring width, case and spaces).
//!
//! Validation checks one display per item, 10,000 items per request, against statuses held
//! in memory for whole releases. What costs there is reaching memory, not comparing: so all
//! the texts of a code live in one buffer, and a check reads that buffer and nothing else.
//! The folded form of the display is computed only when no name matches exactly.

use unicode_normalization::UnicodeNormalization;

/// Folds width and case for display comparison (full-width ＡＢ and half-width AB compare equal).
pub fn display_key(s: &str) -> String {
    s.nfkc()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Length prefix of each name in the buffer.
const LEN: usize = 4;

/// The texts of one section of the buffer: each is a little-endian `u32` length, then bytes.
fn entries(mut section: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = section.split_first_chunk::<LEN>()?;
        let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
        let (text, rest) = rest.split_at_checked(len)?;
        section = rest;
        Some(text)
    })
}

fn contains(section: &[u8], text: &[u8]) -> bool {
    entries(section).any(|t| t == text)
}

/// A code's display and names in one buffer: `display | names | folded names`, each name
/// length-prefixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    buf: Vec<u8>,
    /// Where the display ends and the names begin (0 without a display, as with an empty one).
    display_end: u32,
    /// Where the names end and their folded forms begin.
    names_end: u32,
    has_display: bool,
}

/// Offsets are `u32`: the texts of one code never come near 4 GiB.
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Names {
    fn display_end(&self) -> usize {
        self.display_end as usize
    }

    fn names_end(&self) -> usize {
        self.names_end as usize
    }

    /// The display (the name shown for the code), if set.
    pub fn display(&self) -> Option<&str> {
        if !self.has_display {
            return None;
        }
        // Only ever set from a `&str`.
        std::str::from_utf8(&self.buf[..self.display_end()]).ok()
    }

    /// Sets the display.
    pub fn set_display(&mut self, display: &str) {
        let old = self.display_end();
        let names_end = self.names_end() - old + display.len();
        self.buf.splice(..old, display.bytes());
        self.display_end = offset(display.len());
        self.names_end = offset(names_end);
        self.has_display = true;
    }

    fn push_entry(buf: &mut Vec<u8>, at: usize, text: &str) {
        let len = offset(text.len()).to_le_bytes();
        buf.splice(at..at, len.into_iter().chain(text.bytes()));
    }

    /// Adds a name (and its folded form).
    pub fn insert(&mut self, name: &str) {
        let names = &self.buf[self.display_end()..self.names_end()];
        if contains(names, name.as_bytes()) {
            return;
        }
        let at = self.names_end();
        Self::push_entry(&mut self.buf, at, name);
        self.names_end = offset(at + LEN + name.len());
        let key = display_key(name);
        if !contains(&self.buf[self.names_end()..], key.as_bytes()) {
            let end = self.buf.len();
            Self::push_entry(&mut self.buf, end, &key);
        }
    }

    /// Whether `display` is one of the names, ignoring width, case and spaces.
    pub fn matches(&self, display: &str) -> bool {
        let names = &self.buf[self.display_end()..self.names_end()];
        if contains(names, display.as_bytes()) {
            return true;
        }
        let key = display_key(display);
        contains(&self.buf[self.names_end()..], key.as_bytes())
    }

    /// The names exactly as the master has them, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        entries(&self.buf[self.display_end()..self.names_end()])
            .filter_map(|t| std::str::from_utf8(t).ok())
    }

    /// Frees the spare capacity left by adding names one by one.
    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_exactly_and_folded() {
        let mut names = Names::default();
        names.insert("ヒョウジュンロン錠１０ｍｇ「ミホン」");
        names.insert("Ａｂｃ　Ｄ");
        names.insert("ヒョウジュンロン錠１０ｍｇ「ミホン」");
        assert_eq!(names.names().count(), 2);
        assert!(names.matches("ヒョウジュンロン錠１０ｍｇ「ミホン」"));
        assert!(names.matches("ヒョウジュンロン錠10MG「ミホン」"));
        assert!(names.matches("abcd"));
        assert!(names.matches("ABC D"));
        assert!(!names.matches("ﾋｮｳｼﾞｭﾝﾛﾝ"));
        assert!(!names.matches(""));
        assert!(!Names::default().matches("abc"));
        assert_eq!(names.display(), None);
    }

    #[test]
    fn display_is_kept_apart_from_the_names() {
        let mut names = Names::default();
        names.set_display("旧名");
        names.insert("旧名");
        names.insert("");
        assert_eq!(names.display(), Some("旧名"));
        names.set_display("新しい名前");
        names.insert("新しい名前");
        assert_eq!(names.display(), Some("新しい名前"));
        assert_eq!(
            names.names().collect::<Vec<_>>(),
            ["旧名", "", "新しい名前"]
        );
        assert!(names.matches(""));
        assert!(names.matches("旧名"));
        names.set_display("");
        assert_eq!(names.display(), Some(""));
        assert_eq!(names.names().count(), 3);
        assert!(!names.matches("新名"));
        let mut empty = Names::default();
        empty.set_display("表示名");
        assert!(!empty.matches("表示名"), "the display alone is not a name");
    }

    #[test]
    fn display_key_folds_width_case_and_spaces() {
        assert_eq!(display_key("Ａｂ　ｃ 1"), "abc1");
        assert_eq!(display_key("ﾋｮｳ"), "ヒョウ");
    }
}
