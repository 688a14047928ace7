//! Text normalisation, in named levels. Every comparison of text that should ignore how it was
//! typed goes through one of these, so that two modules never disagree on what "the same name"
//! means, and a new rule is added in one place.
//!
//! | level | what it folds | used for |
//! | --- | --- | --- |
//! | [`Level::Spacing`] | runs of white space as one space, none at either end | the FHIR display check's "differs only in white space" notice |
//! | [`Level::Width`] | NFKC only (full-width ↔ half-width, ｶﾞ → ガ, ① → 1, ㎎ → mg) | the FHIR display check's "differs only in width" notice |
//! | [`Level::Display`] | `Width`, no white space, lower case | a display compared with a code's names (`store::names`) |
//! | [`Level::Code`] | `Width`, no white space or control characters, upper case | codes in the search index and in mapping hints |
//! | [`Level::Title`] | `Width`, no white space, BOM or `"`, every dash as `-`, ASCII upper case | the column titles of master files, which drift between releases (`ＩＣＤ１０‐２０１３` / `ＩＣＤ１０ー２０１３`) |
//! | [`Level::Search`] | `Display`, Roman numerals as digits, hiragana as katakana, small kana as large, dashes by context (see [`search`]) | search designations and queries, mapping candidates; [`search::normalize`] also keeps each character's origin for highlights |
//!
//! From `Width` down, each level folds what the one before it folds and more (`Code` and `Title`
//! fold case upward, the others downward): a text equal at one level is equal at every later
//! level of its branch. `Spacing` stands apart: it keeps width and case.

pub mod search;

pub use search::{normalize, Normalized};

use unicode_normalization::UnicodeNormalization;

/// How far a text is folded before it is compared (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Spacing,
    Width,
    Display,
    Code,
    Title,
    Search,
}

impl Level {
    /// `text` folded to this level.
    pub fn apply(self, text: &str) -> String {
        match self {
            Level::Spacing => text.split_whitespace().collect::<Vec<_>>().join(" "),
            Level::Width => text.nfkc().collect(),
            Level::Display => text
                .nfkc()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect(),
            Level::Code => text
                .nfkc()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .flat_map(char::to_uppercase)
                .collect(),
            Level::Title => text
                .nfkc()
                .filter(|c| !c.is_whitespace() && *c != '\u{FEFF}' && *c != '"')
                .map(|c| {
                    if is_dash(c) {
                        '-'
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect(),
            Level::Search => normalize(text).text(),
        }
    }

    /// Whether `a` and `b` are the same text at this level.
    pub fn same(self, a: &str, b: &str) -> bool {
        self.apply(a) == self.apply(b)
    }

    /// Whether `text` is one of `accepted` at this level (a column title among its spellings).
    pub fn matches_any(self, text: &str, accepted: &[&str]) -> bool {
        let text = self.apply(text);
        accepted.iter().any(|a| self.apply(a) == text)
    }
}

/// Every dash-like character master files and typists use for a hyphen or a long vowel:
/// `- ‐ ‑ ‒ – — ― − ー ﹣ － ｰ`.
pub(crate) fn is_dash(ch: char) -> bool {
    matches!(
        ch,
        '-' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FE63}' | '\u{FF0D}' | '\u{FF70}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_level_folds_what_its_row_says() {
        assert_eq!(Level::Spacing.apply("  急性 \u{3000} 胃炎 "), "急性 胃炎");
        assert_eq!(Level::Width.apply("ＡＢ ｶﾞ①"), "AB ガ1");
        assert_eq!(Level::Display.apply("ＡＢ ｃ病"), "abc病");
        assert_eq!(Level::Code.apply("３ａ０１０ 0000"), "3A0100000");
        assert_eq!(Level::Code.apply("k29.7"), "K29.7");
        assert_eq!(
            Level::Title.apply("\u{FEFF}\"ＩＣＤ１０ー２０１３\""),
            "ICD10-2013"
        );
        assert_eq!(Level::Title.apply("ＩＣＤ１０‐２０１３"), "ICD10-2013");
        assert_eq!(Level::Title.apply("hot9 コード"), "HOT9コ-ド");
        assert_eq!(Level::Search.apply("とうにょう Ⅱ型"), "トウニヨウ2型");
    }

    #[test]
    fn same_compares_at_the_level() {
        assert!(Level::Display.same("ＡＢＣ病", "abc 病"));
        assert!(!Level::Width.same("ＡＢＣ病", "abc病"));
        assert!(Level::Title.same("基準番号（ＨＯＴコード）", "基準番号(HOTコ-ド)"));
        assert!(!Level::Display.same("とうにょう", "トウニョウ"));
        assert!(Level::Search.same("とうにょう", "トウニョウ"));
    }
}
