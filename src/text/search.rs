//! The search level of [`crate::text`]: the one text normalisation search uses, for designations and queries alike, so that "the
//! normalised designation contains the normalised query" is the whole recall contract.
//!
//! Steps, per character cluster (a base character and the marks that follow it):
//! - ローマ数字 (Ⅰ … ⅿ, U+2160–U+217F) become Arabic digits (Ⅱ → 2);
//! - NFKC (full-width ↔ half-width, ｶﾞ → ガ, ① → 1, ㎎ → mg, …);
//! - lower case (ＨｂＡ１ｃ → hba1c);
//! - hiragana → katakana (とうにょう → トウニョウ), small kana → large (ニョ → ニヨ);
//! - dashes: after kana every dash variant is the long-vowel mark ー, elsewhere `-` (ー and
//!   ｰ themselves always stay ー, so a query may start with one);
//!   〜 and ～ are `~`;
//! - white space and control characters are dropped (急性 胃炎 finds 急性胃炎).
//!
//! and then over the result: a stand-alone run of Latin letters that is a Roman numeral of two
//! letters or more (ii, iii, iv, …, xxxix) becomes its Arabic number, so Ⅱ, II and 2 meet.
//! Single letters stay letters (X線, I). Every output character remembers the character
//! offset of the original it came from, for highlights.

use unicode_normalization::char::{canonical_combining_class, is_combining_mark};
use unicode_normalization::UnicodeNormalization;

use super::is_dash;

/// A normalised text and, for each of its characters, the offset (in characters) of the
/// original character it came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalized {
    pub chars: Vec<char>,
    pub origin: Vec<u32>,
}

impl Normalized {
    /// The normalised text as a string.
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// The original character range `[start, end)` that normalised characters
    /// `[from, to)` came from; `original_len` is the original text's length in characters.
    pub fn original_span(&self, from: usize, to: usize, original_len: u32) -> (u32, u32) {
        let start = self.origin[from];
        let end = self
            .origin
            .get(to)
            .copied()
            .unwrap_or(original_len)
            .max(start + 1);
        (start, end)
    }
}

/// Normalises `text` (see the module documentation).
pub fn normalize(text: &str) -> Normalized {
    let mut out = Normalized {
        chars: Vec::with_capacity(text.len()),
        origin: Vec::with_capacity(text.len()),
    };
    let mut cluster = String::new();
    let mut cluster_start = 0u32;
    for (offset, ch) in text.chars().enumerate() {
        if !cluster.is_empty() && !continues_cluster(ch) {
            push_cluster(&cluster, cluster_start, &mut out);
            cluster.clear();
        }
        if cluster.is_empty() {
            cluster_start = offset as u32;
        }
        cluster.push(ch);
    }
    if !cluster.is_empty() {
        push_cluster(&cluster, cluster_start, &mut out);
    }
    arabic_for_roman_runs(&mut out);
    out
}

/// Marks that belong to the character before them (combining marks, and the half-width
/// voiced sound marks that NFKC turns into combining ones).
fn continues_cluster(ch: char) -> bool {
    matches!(ch, '\u{FF9E}' | '\u{FF9F}' | '\u{3099}' | '\u{309A}')
        || canonical_combining_class(ch) != 0
        || is_combining_mark(ch)
}

fn push_cluster(cluster: &str, origin: u32, out: &mut Normalized) {
    let mut chars = cluster.chars();
    if let (Some(first), None) = (chars.next(), chars.next()) {
        if let Some(n) = roman_numeral_value(first) {
            for digit in n.to_string().chars() {
                out.chars.push(digit);
                out.origin.push(origin);
            }
            return;
        }
    }
    for ch in cluster.nfkc() {
        if ch.is_whitespace() || ch.is_control() {
            continue;
        }
        for lower in ch.to_lowercase() {
            let folded = fold_kana(lower);
            let folded = if folded == 'ー' {
                // The long-vowel mark itself stays one, even first (a query may start with it).
                'ー'
            } else if is_dash(folded) {
                match out.chars.last() {
                    Some(&prev) if is_kana(prev) => 'ー',
                    _ => '-',
                }
            } else if folded == '〜' {
                '~'
            } else {
                folded
            };
            out.chars.push(folded);
            out.origin.push(origin);
        }
    }
}

/// The value of a Unicode Roman numeral character (Ⅰ U+2160 … ↈ excluded).
fn roman_numeral_value(ch: char) -> Option<u32> {
    const VALUES: [u32; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 50, 100, 500, 1000];
    let c = ch as u32;
    match c {
        0x2160..=0x216F => Some(VALUES[(c - 0x2160) as usize]),
        0x2170..=0x217F => Some(VALUES[(c - 0x2170) as usize]),
        _ => None,
    }
}

/// Hiragana → katakana, small kana → large.
fn fold_kana(ch: char) -> char {
    let c = ch as u32;
    let katakana = match c {
        0x3041..=0x3096 => char::from_u32(c + 0x60).unwrap_or(ch),
        0x309D => 'ヽ',
        0x309E => 'ヾ',
        _ => ch,
    };
    match katakana {
        'ァ' => 'ア',
        'ィ' => 'イ',
        'ゥ' => 'ウ',
        'ェ' => 'エ',
        'ォ' => 'オ',
        'ッ' => 'ツ',
        'ャ' => 'ヤ',
        'ュ' => 'ユ',
        'ョ' => 'ヨ',
        'ヮ' => 'ワ',
        'ヵ' => 'カ',
        'ヶ' => 'ケ',
        other => other,
    }
}

fn is_kana(ch: char) -> bool {
    matches!(ch as u32, 0x30A1..=0x30FA | 0x30FC..=0x30FE)
}

/// Replaces stand-alone Latin runs that are Roman numerals of 2+ letters by their value.
fn arabic_for_roman_runs(text: &mut Normalized) {
    let mut i = 0;
    let mut result: Option<Normalized> = None;
    let mut copied = 0;
    while i < text.chars.len() {
        if !text.chars[i].is_ascii_lowercase() {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.chars.len() && text.chars[i].is_ascii_lowercase() {
            i += 1;
        }
        if i - start < 2 {
            continue;
        }
        let run: String = text.chars[start..i].iter().collect();
        if let Some(value) = roman_value(&run) {
            let out = result.get_or_insert_with(|| Normalized {
                chars: Vec::with_capacity(text.chars.len()),
                origin: Vec::with_capacity(text.chars.len()),
            });
            out.chars.extend_from_slice(&text.chars[copied..start]);
            out.origin.extend_from_slice(&text.origin[copied..start]);
            for digit in value.to_string().chars() {
                out.chars.push(digit);
                out.origin.push(text.origin[start]);
            }
            copied = i;
        }
    }
    if let Some(mut out) = result {
        out.chars.extend_from_slice(&text.chars[copied..]);
        out.origin.extend_from_slice(&text.origin[copied..]);
        *text = out;
    }
}

/// The value of a lower-case Roman numeral 1–39 written canonically (`iv`, not `iiii`).
fn roman_value(run: &str) -> Option<u32> {
    const ONES: [&str; 10] = ["", "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix"];
    let tens = run.bytes().take_while(|&b| b == b'x').count();
    if tens > 3 {
        return None;
    }
    let ones = ONES.iter().position(|o| *o == &run[tens..])?;
    let value = tens as u32 * 10 + ones as u32;
    (value > 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).text()
    }

    #[test]
    fn widths_kana_and_case_fold_together() {
        assert_eq!(n("ｶﾌﾟｾﾙ"), "カプセル");
        assert_eq!(n("カプセル"), "カプセル");
        assert_eq!(n("とうにょう"), "トウニヨウ");
        assert_eq!(n("トウニョウ"), "トウニヨウ");
        assert_eq!(n("ＨｂＡ１ｃ"), "hba1c");
        assert_eq!(n("HbA1c"), "hba1c");
        assert_eq!(n("２型"), "2型");
        assert_eq!(n("ｶﾞｽ"), "ガス");
        assert_eq!(n("急性 胃炎"), "急性胃炎");
        assert_eq!(n("㎎"), "mg");
    }

    #[test]
    fn roman_numerals_meet_arabic_digits() {
        assert_eq!(n("Ⅱ型糖尿病"), "2型糖尿病");
        assert_eq!(n("II型糖尿病"), "2型糖尿病");
        assert_eq!(n("ＩＩ型"), "2型");
        assert_eq!(n("ⅳ度"), "4度");
        assert_eq!(n("Ⅻ"), "12");
        assert_eq!(n("XIV"), "14");
        // Single letters and ordinary words are not numerals.
        assert_eq!(n("X線"), "x線");
        assert_eq!(n("vitamin"), "vitamin");
        assert_eq!(n("IgG"), "igg");
        assert_eq!(n("IIa"), "iia");
    }

    #[test]
    fn dashes_are_long_vowels_after_kana_only() {
        assert_eq!(n("ｺｰﾙ"), "コール");
        assert_eq!(n("コ－ル"), "コール");
        assert_eq!(n("コ―ル"), "コール");
        assert_eq!(n("B-12"), "b-12");
        assert_eq!(n("Ｂ－１２"), "b-12");
        assert_eq!(n("1〜2"), "1~2");
        assert_eq!(n("ール"), "ール");
        assert_eq!(n("ｰﾙ"), "ール");
        assert_eq!(n("-ル"), "-ル");
    }

    #[test]
    fn every_character_knows_its_origin() {
        let text = "ｶﾞｽ Ⅱ型";
        let norm = normalize(text);
        assert_eq!(norm.text(), "ガス2型");
        assert_eq!(norm.origin, vec![0, 2, 4, 5]);
        assert_eq!(norm.original_span(1, 3, 6), (2, 5));
        assert_eq!(norm.original_span(3, 4, 6), (5, 6));
        let roman = normalize("XIV度");
        assert_eq!(roman.text(), "14度");
        assert_eq!(roman.origin, vec![0, 0, 3]);
    }
}
