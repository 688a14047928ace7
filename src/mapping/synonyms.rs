//! In-house names of laboratory tests (`lab_synonyms.tsv`): finds the abbreviations and
//! everyday names in a local name ("TG", "中性脂肪", "U-Glu", "血算") and says which JLAC10
//! 分析物 they stand for, so that candidates can be looked for under the master's own name.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::text::normalize;

/// The table, as written in the repository.
const TABLE: &str = include_str!("lab_synonyms.tsv");

/// One analyte of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyte {
    /// The JLAC10 分析物 code (5 characters).
    pub code: &'static str,
    /// Its name as the master spells it.
    pub name: &'static str,
}

/// A name of the table found in a local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where, in characters of the key text (see [`key_text`]).
    pub start: usize,
    pub end: usize,
    /// The name as the table spells it.
    pub term: &'static str,
    /// The analytes it stands for.
    pub analytes: Vec<&'static Analyte>,
}

/// The parsed table: every name's key → the analytes it stands for.
pub struct Synonyms {
    analytes: Vec<Analyte>,
    by_key: HashMap<Vec<char>, (&'static str, Vec<usize>)>,
    longest: usize,
}

/// The text names are compared in: normalised, without hyphens (T-CHO = TCHO, γ-GTP = γGTP).
pub fn key_text(text: &str) -> Vec<char> {
    normalize(text)
        .chars
        .into_iter()
        .filter(|c| *c != '-')
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

impl Synonyms {
    /// The built-in table.
    pub fn builtin() -> &'static Synonyms {
        static TABLE_PARSED: OnceLock<Synonyms> = OnceLock::new();
        TABLE_PARSED.get_or_init(|| Synonyms::parse(TABLE))
    }

    /// Parses the table format; lines that are not `code<TAB>name…` are skipped (the unit
    /// tests check that the built-in table has none).
    fn parse(text: &'static str) -> Synonyms {
        let mut analytes = Vec::new();
        let mut by_key: HashMap<Vec<char>, (&'static str, Vec<usize>)> = HashMap::new();
        for line in text.lines() {
            let mut fields = line.split('\t').map(str::trim);
            let (Some(code), Some(name)) = (fields.next(), fields.next()) else {
                continue;
            };
            if code.starts_with('#') || code.len() != 5 || name.is_empty() {
                continue;
            }
            let index = analytes.len();
            analytes.push(Analyte { code, name });
            for term in std::iter::once(name)
                .chain(fields)
                .filter(|t| !t.is_empty())
            {
                let entry = by_key.entry(key_text(term)).or_insert((term, Vec::new()));
                if !entry.1.contains(&index) {
                    entry.1.push(index);
                }
            }
        }
        let longest = by_key.keys().map(Vec::len).max().unwrap_or(0);
        Synonyms {
            analytes,
            by_key,
            longest,
        }
    }

    /// Every analyte of the table.
    pub fn analytes(&self) -> &[Analyte] {
        &self.analytes
    }

    /// The names of the table in `key` (a [`key_text`]), longest first and not overlapping. A
    /// name that starts or ends with a letter or digit must not continue a word there (TP is
    /// not found in U-TP, which is a name of its own).
    pub fn find(&'static self, key: &[char]) -> Vec<Found> {
        let mut found: Vec<Found> = Vec::new();
        let mut taken = vec![false; key.len()];
        for len in (1..=self.longest.min(key.len())).rev() {
            for start in 0..=key.len() - len {
                let end = start + len;
                if taken[start..end].iter().any(|t| *t) {
                    continue;
                }
                let Some((term, indexes)) = self.by_key.get(&key[start..end]) else {
                    continue;
                };
                let cuts_word = |inside: char, outside: Option<&char>| {
                    is_word_char(inside) && outside.is_some_and(|c| is_word_char(*c))
                };
                if cuts_word(key[start], start.checked_sub(1).and_then(|i| key.get(i)))
                    || cuts_word(key[end - 1], key.get(end))
                {
                    continue;
                }
                taken[start..end].iter_mut().for_each(|t| *t = true);
                found.push(Found {
                    start,
                    end,
                    term,
                    analytes: indexes.iter().map(|i| &self.analytes[*i]).collect(),
                });
            }
        }
        found.sort_by_key(|f| f.start);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(name: &str) -> Vec<(String, Vec<&'static str>)> {
        Synonyms::builtin()
            .find(&key_text(name))
            .into_iter()
            .map(|f| {
                (
                    f.term.to_owned(),
                    f.analytes.iter().map(|a| a.code).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_table_parses_completely() {
        let table = Synonyms::builtin();
        let lines = TABLE
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(
            table.analytes().len(),
            lines,
            "a line is not code<TAB>name…"
        );
        for a in table.analytes() {
            assert!(
                a.code
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
                "{}",
                a.code
            );
        }
    }

    #[test]
    fn abbreviations_and_everyday_names_are_found_as_whole_words() {
        assert_eq!(
            found("中性脂肪(TG)"),
            [
                ("中性脂肪".to_owned(), vec!["3F015"]),
                ("TG".to_owned(), vec!["3F015"])
            ]
        );
        assert_eq!(found("ｔ－ｃｈｏ"), [("T-CHO".to_owned(), vec!["3F050"])]);
        // U-TP is a name of its own (urine protein), not TP (total protein) after a U.
        assert_eq!(
            found("U-TP-半定量"),
            [("U-TP".to_owned(), vec!["1A010", "1A015"])]
        );
        assert_eq!(found("HIV-1抗体"), [("HIV-1".to_owned(), vec!["5F500"])]);
        assert_eq!(
            found("血算-ヘモグロビン"),
            [
                ("血算".to_owned(), vec!["2A990"]),
                ("ヘモグロビン".to_owned(), vec!["2A030"])
            ]
        );
        assert!(found("ALBUMIN").is_empty());
        assert!(found("クレアチニン").iter().all(|(_, a)| a == &["3C015"]));
    }
}
