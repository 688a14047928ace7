//! The names of a code, packed for validation: its display, every name it is known by, and
//! those names folded at [`Level::Display`] (ignoring width, case and spaces).
//!
//! Validation checks one display per item, 10,000 items per request, against statuses held
//! in memory for whole releases. What costs there is reaching memory, not comparing: so all
//! the texts of a code live in one buffer, and a check reads that buffer and nothing else.
//! The folded form of the display is computed only when no name matches exactly.

use crate::text::Level;

/// Length prefix of each name in the buffer: a little-endian `u32`.
const LEN: usize = 4;

/// Set in a name's length prefix when the name is its own folded form (it then stands for
/// both, and its folded form is not stored again).
const FOLDS_TO_ITSELF: u32 = 1 << 31;

/// One name of a section.
struct Entry<'a> {
    /// Where the text starts, relative to the section.
    start: usize,
    text: &'a [u8],
    folds_to_itself: bool,
}

/// The names of one section of the buffer, each a length prefix and its bytes.
fn entries(section: &[u8]) -> impl Iterator<Item = Entry<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let (prefix, rest) = section.get(at..)?.split_first_chunk::<LEN>()?;
        let prefix = u32::from_le_bytes(*prefix);
        let len = usize::try_from(prefix & !FOLDS_TO_ITSELF).ok()?;
        let text = rest.get(..len)?;
        let entry = Entry {
            start: at + LEN,
            text,
            folds_to_itself: prefix & FOLDS_TO_ITSELF != 0,
        };
        at += LEN + len;
        Some(entry)
    })
}

fn contains(section: &[u8], text: &[u8]) -> bool {
    entries(section).any(|e| e.text == text)
}

/// Offsets are `u32`: the texts of one code never come near 2 GiB.
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A code's display and names in one buffer: `display | names | folded names`. The display
/// has a place of its own only while it is not one of the names (it usually is); a name that
/// is its own folded form is stored once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    buf: Vec<u8>,
    /// Where the display's own place ends (0 when it has none).
    own_end: u32,
    /// Where the names end and the folded forms begin.
    names_end: u32,
    /// Where the display is in `buf`: start and length.
    display: Option<(u32, u32)>,
}

impl Names {
    fn own_end(&self) -> usize {
        self.own_end as usize
    }

    fn names_end(&self) -> usize {
        self.names_end as usize
    }

    fn names_section(&self) -> &[u8] {
        &self.buf[self.own_end()..self.names_end()]
    }

    fn folded_section(&self) -> &[u8] {
        &self.buf[self.names_end()..]
    }

    /// The display (the name shown for the code), if set.
    pub fn display(&self) -> Option<&str> {
        let (start, len) = self.display?;
        let bytes = self.buf.get(start as usize..)?.get(..len as usize)?;
        // Only ever copied from a `&str`, whole.
        std::str::from_utf8(bytes).ok()
    }

    /// Drops the display's own place, if it has one.
    fn drop_own(&mut self) {
        let own = self.own_end();
        if own > 0 {
            self.buf.drain(..own);
            self.names_end = offset(self.names_end() - own);
            self.own_end = 0;
            self.display = None;
        }
    }

    /// Sets the display.
    pub fn set_display(&mut self, display: &str) {
        self.drop_own();
        let name = entries(self.names_section())
            .find(|e| e.text == display.as_bytes())
            .map(|e| e.start);
        if let Some(start) = name {
            self.display = Some((offset(start), offset(display.len())));
            return;
        }
        self.buf.splice(..0, display.bytes());
        self.own_end = offset(display.len());
        self.names_end = offset(self.names_end() + display.len());
        self.display = Some((0, self.own_end));
    }

    fn push_entry(buf: &mut Vec<u8>, at: usize, text: &str, folds_to_itself: bool) {
        let mut prefix = offset(text.len());
        if folds_to_itself {
            prefix |= FOLDS_TO_ITSELF;
        }
        buf.splice(at..at, prefix.to_le_bytes().into_iter().chain(text.bytes()));
    }

    /// Adds a name (and its folded form).
    pub fn insert(&mut self, name: &str) {
        if contains(self.names_section(), name.as_bytes()) {
            return;
        }
        let key = Level::Display.apply(name);
        let folds_to_itself = key == name;
        let at = self.names_end();
        Self::push_entry(&mut self.buf, at, name, folds_to_itself);
        self.names_end = offset(at + LEN + name.len());
        if !folds_to_itself && !contains(self.folded_section(), key.as_bytes()) {
            let end = self.buf.len();
            Self::push_entry(&mut self.buf, end, &key, false);
        }
        // A display kept apart that turns out to be this name: point at the name instead.
        let own = self.own_end();
        if own > 0 && self.buf[..own] == *name.as_bytes() {
            self.drop_own();
            self.display = Some((offset(at + LEN - own), offset(name.len())));
        }
    }

    /// Whether `display` is one of the names, ignoring width, case and spaces.
    pub fn matches(&self, display: &str) -> bool {
        let names = self.names_section();
        if contains(names, display.as_bytes()) {
            return true;
        }
        let key = Level::Display.apply(display);
        let key = key.as_bytes();
        contains(self.folded_section(), key)
            || entries(names).any(|e| e.folds_to_itself && e.text == key)
    }

    /// Whether `text` is one of the names exactly as the master has them (bytes compared,
    /// nothing decoded: the common case of a validation, 10,000 times a batch).
    pub fn is_name(&self, text: &str) -> bool {
        contains(self.names_section(), text.as_bytes())
    }

    /// The names exactly as the master has them, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        entries(self.names_section()).filter_map(|e| std::str::from_utf8(e.text).ok())
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
        // Exact names only: not the folded forms, not a part of a name.
        assert!(names.is_name("Ａｂｃ　Ｄ"));
        assert!(!names.is_name("abcd"));
        assert!(!names.is_name("ヒョウジュンロン錠"));
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
        assert!(!empty.is_name("表示名"));
    }

    #[test]
    fn the_display_shares_its_name_and_names_their_folded_forms() {
        let mut names = Names::default();
        names.set_display("胃腸運動機能障害");
        names.insert("胃腸運動機能障害");
        names.insert("イチョウウンドウキノウショウガイ");
        names.insert("ＡＢＣ病");
        let shared = names.buf.len();
        assert_eq!(names.own_end, 0);
        assert_eq!(names.display(), Some("胃腸運動機能障害"));
        // Only ＡＢＣ病 has a folded form of its own.
        assert_eq!(entries(names.folded_section()).count(), 1);
        assert!(names.matches("abc病"));
        assert!(names.matches(" 胃腸運動機能障害"));
        assert!(names.matches("イチョウ ウンドウキノウショウガイ"));
        names.set_display("ＡＢＣ病");
        assert_eq!(names.display(), Some("ＡＢＣ病"));
        assert_eq!(names.buf.len(), shared);
        names.set_display("別名");
        assert_eq!(names.display(), Some("別名"));
        assert_eq!(names.names().count(), 3);
        assert!(!names.matches("別名"));
        names.insert("別名");
        assert_eq!(names.display(), Some("別名"));
        assert_eq!(names.own_end, 0);
        assert!(names.matches("別名"));
        assert_eq!(
            names.names().collect::<Vec<_>>(),
            [
                "胃腸運動機能障害",
                "イチョウウンドウキノウショウガイ",
                "ＡＢＣ病",
                "別名"
            ]
        );
    }

    /// Any sequence of displays and names answers as a plain list of names would.
    #[test]
    fn behaves_as_a_plain_list() {
        let pool = [
            "",
            "名",
            "ＡＢ",
            "ab",
            "AB",
            "ａ ｂ",
            "ヒョウ",
            "ﾋｮｳ",
            "長い名前　１０ｍｇ",
        ];
        let mut seed: u64 = 7;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            usize::try_from(seed >> 33).unwrap() % n
        };
        for _ in 0..300 {
            let mut names = Names::default();
            let mut list: Vec<&str> = Vec::new();
            let mut display = None;
            for _ in 0..next(8) {
                let text = pool[next(pool.len())];
                if next(3) == 0 {
                    names.set_display(text);
                    display = Some(text);
                } else {
                    names.insert(text);
                    if !list.contains(&text) {
                        list.push(text);
                    }
                }
                assert_eq!(names.display(), display);
                assert_eq!(names.names().collect::<Vec<_>>(), list);
                for probe in pool.iter().chain(&["ab ", "ｈｙｏ", "x"]) {
                    let expected = list.contains(probe)
                        || list
                            .iter()
                            .any(|n| Level::Display.apply(n) == Level::Display.apply(probe));
                    assert_eq!(names.matches(probe), expected, "{probe} in {list:?}");
                }
            }
        }
    }

    #[test]
    fn display_key_folds_width_case_and_spaces() {
        assert_eq!(Level::Display.apply("Ａｂ　ｃ 1"), "abc1");
        assert_eq!(Level::Display.apply("ﾋｮｳ"), "ヒョウ");
    }
}
