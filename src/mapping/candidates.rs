//! Candidate standard codes for a local code: retrieval, then a score in 0–1 with the reasons.
//!
//! - **Code match:** the local code may itself be a standard code (a hospital using JLAC10 or
//!   YJ codes as its own): score 1.
//! - **Readings of the local name:** the name as written, and — for lab targets — the name
//!   read through the table of in-house lab names ([`Synonyms`]): "TG" and "中性脂肪(TG)" read
//!   as トリグリセリド, "血算-ヘモグロビン" as 末梢血液一般検査-ヘモグロビン. A reading through
//!   the table counts 0.95 of one as written.
//! - **Name:** 1 for the same name after normalisation, otherwise the Dice coefficient of the
//!   two names' bigram sets, raised when one name contains the other. Every designation is
//!   compared (display, かな reading, synonyms, component names) and, for a display made of
//!   `_`-joined parts (JLAC 分析物_材料_測定法_結果識別), each part.
//! - **Coverage:** the share of the reading's bigrams the concept's names explain together
//!   (an analyte and a 識別 name may each cover a part; for names of one or two bigrams, the
//!   share of its characters counts half, from two shared characters on). The score blends
//!   the best single name (60 %) with it (40 %); concepts scoring 0 are no candidates.
//! - **Hints:** a local specimen (血清, 尿, …) equal to the candidate's JLAC 材料 keeps the
//!   score, the same specimen with other details (尿 / 尿(含むその他)) costs 5 %, a different
//!   one 30 %; a local unit that is the candidate's unit (HOT 規格単位) or part of it keeps it,
//!   another unit costs 10 %.
//!
//! Retrieval gathers concepts sharing bigrams with each reading, every concept of the JLAC10
//! 分析物 the table names, and those with the local code.

use std::collections::{HashMap, HashSet};

use super::synonyms::{key_text, Analyte, Synonyms};
use crate::ids::ReleaseId;
use crate::search::document::Entry;
use crate::search::similar::{similar, with_code_prefix};
use crate::search::{SearchError, Snapshot};
use crate::systems::Master;
use crate::text::{normalize, Level};

/// Concepts retrieved by the name as written.
const RETRIEVE: usize = 60;
/// Concepts retrieved by each other reading, and per analyte the table names.
const RETRIEVE_READING: usize = 30;
const RETRIEVE_ANALYTE: usize = 60;
/// Readings through the table, at most.
const MAX_READINGS: usize = 3;
/// What a reading through the table counts, against the name as written.
const READING_WEIGHT: f32 = 0.95;

/// A local code as candidates see it.
#[derive(Debug, Clone, Default)]
pub struct LocalTerm<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub specimen: Option<&'a str>,
    pub unit: Option<&'a str>,
}

/// One suggested target.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub system: String,
    pub code: String,
    pub display: String,
    /// 0–1, higher is better.
    pub score: f32,
    /// Why, in words: `code match`, `exact name (display)`, `normalised name (kana: …)`,
    /// `contains the local name (…)`, `name similarity 0.72 (…)`, `read TG as トリグリセリド`,
    /// `分析物 3F015 トリグリセリド`, `names cover 80% of the local name`,
    /// `specimen 血清 = 材料 023`, `specimen differs (血漿)`, `unit 錠 = 規格単位`, ….
    pub reasons: Vec<String>,
}

/// A name's distinct character bigrams, sorted.
type Grams = Vec<(char, char)>;

fn bigrams(chars: &[char]) -> Grams {
    let mut grams: Grams = chars.windows(2).map(|w| (w[0], w[1])).collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// How many items two sorted, distinct lists share.
fn shared<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// One way of reading the local name.
struct Reading {
    chars: Vec<char>,
    grams: Grams,
    /// Its distinct characters, sorted.
    distinct: Vec<char>,
    weight: f32,
    /// How it was read, for the reasons: `TG as トリグリセリド`.
    via: Option<String>,
}

impl Reading {
    fn new(chars: Vec<char>, weight: f32, via: Option<String>) -> Reading {
        let mut distinct = chars.clone();
        distinct.sort_unstable();
        distinct.dedup();
        Reading {
            grams: bigrams(&chars),
            distinct,
            chars,
            weight,
            via,
        }
    }
}

/// The local name, read.
struct LocalName {
    readings: Vec<Reading>,
    /// The analytes the table found, with the local words that named them.
    analytes: Vec<(&'static Analyte, &'static str)>,
}

/// Characters that only separate words (nothing is left to explain when only these remain).
fn is_separator(c: char) -> bool {
    "()[]{}<>（）［］/・,.:;%+＋、。 ".contains(c)
}

fn read_local_name(name: &str, lab: bool) -> LocalName {
    let written = normalize(name).chars;
    let mut readings = vec![Reading::new(written.clone(), 1.0, None)];
    let mut analytes: Vec<(&'static Analyte, &'static str)> = Vec::new();
    if !lab {
        return LocalName { readings, analytes };
    }
    let key = key_text(name);
    let found = Synonyms::builtin().find(&key);
    if found.is_empty() {
        return LocalName { readings, analytes };
    }
    for f in &found {
        for a in &f.analytes {
            if !analytes.iter().any(|(b, _)| b.code == a.code) {
                analytes.push((a, f.term));
            }
        }
    }
    let mut explained = vec![false; key.len()];
    for f in &found {
        explained[f.start..f.end].iter_mut().for_each(|e| *e = true);
    }
    let whole = key
        .iter()
        .zip(&explained)
        .all(|(c, e)| *e || is_separator(*c));
    // Analytes every word found names: "中性脂肪(TG)" is トリグリセリド and nothing else.
    let shared: Vec<&'static Analyte> = found[0]
        .analytes
        .iter()
        .copied()
        .filter(|a| {
            found
                .iter()
                .all(|f| f.analytes.iter().any(|b| b.code == a.code))
        })
        .collect();
    let terms: Vec<&str> = found.iter().map(|f| f.term).collect();
    let mut push = |chars: Vec<char>, via: String| {
        if readings.len() <= MAX_READINGS && !readings.iter().any(|r| r.chars == chars) {
            readings.push(Reading::new(chars, READING_WEIGHT, Some(via)));
        }
    };
    if whole && !shared.is_empty() {
        for a in shared {
            push(
                key_text(a.name),
                format!("{} as {}", terms.join(" "), a.name),
            );
        }
    } else {
        // Each word found put in place by its first, second, … analyte.
        let most = found.iter().map(|f| f.analytes.len()).max().unwrap_or(1);
        for k in 0..most {
            let mut chars = Vec::with_capacity(key.len() * 2);
            let mut via = Vec::new();
            let mut at = 0;
            for f in &found {
                let a = f.analytes[k.min(f.analytes.len() - 1)];
                chars.extend_from_slice(&key[at..f.start]);
                chars.extend(key_text(a.name));
                if key_text(f.term) != key_text(a.name) {
                    via.push(format!("{} as {}", f.term, a.name));
                }
                at = f.end;
            }
            chars.extend_from_slice(&key[at..]);
            if !via.is_empty() {
                push(chars, via.join(", "));
            }
        }
    }
    LocalName { readings, analytes }
}

/// How alike two normalised names are (0–1), and whether it is containment.
fn name_similarity(local: &[char], local_grams: &[(char, char)], other: &Name) -> (f32, bool) {
    if local == other.chars.as_slice() {
        return (1.0, false);
    }
    let dice = if local_grams.is_empty() || other.grams.is_empty() {
        0.0
    } else {
        2.0 * shared(local_grams, &other.grams) as f32
            / (local_grams.len() + other.grams.len()) as f32
    };
    let (short, long) = if local.len() <= other.chars.len() {
        (local, other.chars.as_slice())
    } else {
        (other.chars.as_slice(), local)
    };
    let contains = !short.is_empty() && long.windows(short.len()).any(|w| w == short);
    if contains {
        let ratio = short.len() as f32 / long.len() as f32;
        let lifted = 0.6 + 0.35 * ratio;
        if lifted > dice {
            return (lifted, true);
        }
    }
    (dice, false)
}

/// One designation of a concept, normalised.
struct Name {
    kind: String,
    value: String,
    chars: Vec<char>,
    grams: Grams,
}

/// A concept's names, codes, materials and unit, normalised once (a job meets the same
/// concepts again and again).
struct Names {
    names: Vec<Name>,
    /// Every bigram and every character of all names, sorted.
    grams: Grams,
    chars: Vec<char>,
    /// Every code the concept has or carries.
    codes: Vec<String>,
    /// JLAC 材料 designations: (as stored, normalised).
    materials: Vec<(String, Vec<char>)>,
    /// The unit: (as stored, normalised).
    unit: Option<(String, Vec<char>)>,
}

impl Names {
    fn of(entry: &Entry) -> Names {
        let mut names: Vec<Name> = Vec::new();
        let mut add = |kind: &str, value: &str| {
            let chars = normalize(value).chars;
            if !chars.is_empty() && !names.iter().any(|n| n.chars == chars) {
                names.push(Name {
                    kind: kind.to_owned(),
                    value: value.to_owned(),
                    grams: bigrams(&chars),
                    chars,
                });
            }
        };
        add("display", &entry.display);
        for (kind, value) in &entry.names {
            add(kind, value);
        }
        if entry.display.contains('_') {
            for part in entry.display.split('_') {
                add("display part", part);
            }
        }
        let mut grams: Grams = names.iter().flat_map(|n| n.grams.iter().copied()).collect();
        grams.sort_unstable();
        grams.dedup();
        let mut chars: Vec<char> = names.iter().flat_map(|n| n.chars.iter().copied()).collect();
        chars.sort_unstable();
        chars.dedup();
        Names {
            names,
            grams,
            chars,
            codes: entry
                .all_codes()
                .map(|(_, c)| Level::Code.apply(c))
                .collect(),
            materials: entry
                .names
                .iter()
                .filter(|(k, _)| k == "material")
                .map(|(_, v)| (v.clone(), normalize(v).chars))
                .collect(),
            unit: entry.unit.as_ref().map(|u| (u.clone(), normalize(u).chars)),
        }
    }

    /// The share of `reading` the names explain together.
    fn coverage(&self, reading: &Reading) -> f32 {
        let by_grams = if reading.grams.is_empty() {
            0.0
        } else {
            shared(&reading.grams, &self.grams) as f32 / reading.grams.len() as f32
        };
        if reading.grams.len() > 2 {
            return by_grams;
        }
        // One shared character is no evidence (ｚｚｚ and anything with a z).
        let chars = shared(&reading.distinct, &self.chars);
        let by_chars = if chars < 2 {
            0.0
        } else {
            chars as f32 / reading.distinct.len() as f32
        };
        by_grams.max(0.5 * (by_grams + by_chars))
    }
}

/// What of the local term besides its name is compared, normalised once per term.
struct Hints {
    /// The local code, as codes are compared (empty when there is none).
    code: String,
    specimen: Option<Vec<char>>,
    unit: Option<Vec<char>>,
}

impl Hints {
    fn of(term: &LocalTerm<'_>) -> Hints {
        let chars = |text: Option<&str>| text.map(|t| normalize(t).chars).filter(|c| !c.is_empty());
        Hints {
            code: Level::Code.apply(term.code),
            specimen: chars(term.specimen),
            unit: chars(term.unit),
        }
    }
}

/// How well one retrieved concept fits the local term.
fn score(
    entry: &Entry,
    names: &Names,
    term: &LocalTerm<'_>,
    local: &LocalName,
    hints: &Hints,
) -> Candidate {
    // The best reading: (value, best single name, containment, which name, coverage, reading).
    let mut best: Option<(f32, f32, bool, usize, f32, &Reading)> = None;
    for reading in &local.readings {
        let mut top = (0.0f32, false, 0usize);
        for (i, name) in names.names.iter().enumerate() {
            let (sim, contains) = name_similarity(&reading.chars, &reading.grams, name);
            if sim > top.0 {
                top = (sim, contains, i);
            }
        }
        let coverage = names.coverage(reading);
        let value = if top.0 >= 1.0 {
            1.0
        } else {
            0.6 * top.0 + 0.4 * coverage
        } * reading.weight;
        if best.is_none_or(|b| value > b.0) {
            best = Some((value, top.0, top.1, top.2, coverage, reading));
        }
    }
    let mut reasons = Vec::new();
    let (mut value, name_value, contains, which, coverage, reading) =
        best.unwrap_or((0.0, 0.0, false, 0, 0.0, &local.readings[0]));
    let (kind, text) = names
        .names
        .get(which)
        .map(|n| (n.kind.as_str(), n.value.as_str()))
        .unwrap_or(("display", entry.display.as_str()));
    let code_match = !hints.code.is_empty() && names.codes.contains(&hints.code);
    if code_match {
        reasons.push("code match".to_owned());
        value = 1.0;
    }
    if let Some(via) = &reading.via {
        reasons.push(format!("read {via}"));
    }
    if let Some((analyte, word)) = local.analytes.iter().find(|(a, _)| {
        entry
            .all_codes()
            .any(|(s, c)| s == "jlac10" && c.starts_with(a.code))
    }) {
        reasons.push(format!("{word}: 分析物 {} {}", analyte.code, analyte.name));
    }
    // How the name matched (a code match says enough).
    let name_reason = if code_match {
        None
    } else if name_value >= 1.0 && text == term.name {
        Some(format!("exact name ({kind})"))
    } else if name_value >= 1.0 {
        Some(format!("normalised name ({kind}: {text})"))
    } else if contains {
        Some(format!("contains the name ({kind}: {text})"))
    } else if name_value > 0.0 {
        Some(format!("name similarity {name_value:.2} ({kind}: {text})"))
    } else {
        None
    };
    reasons.extend(name_reason);
    if name_value < 1.0 && coverage > 0.0 && !code_match {
        reasons.push(format!(
            "names cover {:.0}% of the local name",
            coverage * 100.0
        ));
    }
    if let Some(specimen) = hints.specimen.as_deref() {
        let material_code = entry
            .all_codes()
            .find(|(s, _)| *s == "jlac10")
            .and_then(|(_, c)| c.get(9..12));
        let label = |m: &str| match material_code {
            Some(code) => format!("{m} = 材料 {code}"),
            None => format!("{m} = 材料"),
        };
        if let Some((first, _)) = names.materials.first() {
            let head =
                |c: &[char]| -> Vec<char> { c.iter().copied().take_while(|c| *c != '(').collect() };
            if names.materials.iter().any(|(_, m)| m == specimen) {
                reasons.push(format!("specimen {}", label(first)));
            } else if names
                .materials
                .iter()
                .any(|(_, m)| head(m) == head(specimen))
            {
                value *= 0.95;
                reasons.push(format!("specimen close to {}", label(first)));
            } else if !code_match {
                value *= 0.7;
                reasons.push(format!("specimen differs ({first})"));
            }
        }
    }
    if let (Some(unit), Some((theirs, norm))) = (hints.unit.as_deref(), &names.unit) {
        if norm == unit {
            reasons.push(format!("unit {theirs} = 単位"));
        } else if !unit.is_empty() && norm.windows(unit.len()).any(|w| w == unit) {
            reasons.push(format!("unit in 単位 {theirs}"));
        } else if !code_match {
            value *= 0.9;
            reasons.push(format!("unit differs ({theirs})"));
        }
    }
    Candidate {
        system: entry.system.clone(),
        code: entry.code.clone(),
        display: entry.display.clone(),
        score: value.clamp(0.0, 1.0),
        reasons,
    }
}

/// Whether candidates in these systems are lab tests (the table of in-house lab names
/// applies).
fn lab_targets(systems: &[&'static str]) -> bool {
    systems.iter().any(|s| s.starts_with("jlac"))
}

/// Concepts whose normalised names a [`Suggester`] keeps, at most (then it starts afresh):
/// about 4 KB each for a JLAC10 concept, so a job holds no more than ~20 MB of them.
const NAMES_KEPT: usize = 5_000;

/// Suggests candidates for many local codes in the same systems and releases, keeping the
/// concepts' normalised names between codes.
pub struct Suggester<'s> {
    snapshot: &'s Snapshot,
    releases: &'s HashMap<Master, ReleaseId>,
    systems: &'s [&'static str],
    lab: bool,
    names: HashMap<i64, Names>,
}

impl<'s> Suggester<'s> {
    pub fn new(
        snapshot: &'s Snapshot,
        releases: &'s HashMap<Master, ReleaseId>,
        systems: &'s [&'static str],
    ) -> Suggester<'s> {
        Suggester {
            snapshot,
            releases,
            systems,
            lab: lab_targets(systems),
            names: HashMap::new(),
        }
    }

    /// The `k` best candidates for `term` among the active concepts of the systems.
    pub fn suggest(
        &mut self,
        term: &LocalTerm<'_>,
        k: usize,
    ) -> Result<Vec<Candidate>, SearchError> {
        let (snapshot, releases, systems) = (self.snapshot, self.releases, self.systems);
        let local = read_local_name(term.name, self.lab);
        let mut found: Vec<&Entry> = similar(snapshot, term.name, releases, systems, RETRIEVE)?
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        for reading in &local.readings[1..] {
            let text: String = reading.chars.iter().collect();
            found.extend(
                similar(snapshot, &text, releases, systems, RETRIEVE_READING)?
                    .into_iter()
                    .map(|(_, e)| e),
            );
        }
        for (analyte, _) in &local.analytes {
            found.extend(
                with_code_prefix(snapshot, analyte.code, releases, systems, RETRIEVE_ANALYTE)?
                    .into_iter()
                    .map(|(_, e)| e),
            );
        }
        // The local code may itself be a standard code.
        let hints = Hints::of(term);
        if !hints.code.is_empty() {
            found.extend(
                with_code_prefix(snapshot, &hints.code, releases, systems, 5)?
                    .into_iter()
                    .map(|(_, e)| e)
                    .filter(|e| {
                        e.all_codes()
                            .any(|(_, c)| Level::Code.apply(c) == hints.code)
                    }),
            );
        }
        if self.names.len() > NAMES_KEPT {
            self.names.clear();
        }
        let mut seen = HashSet::new();
        let mut scored: Vec<Candidate> = Vec::with_capacity(found.len());
        for entry in found {
            if !seen.insert((entry.system.as_str(), entry.code.as_str())) {
                continue;
            }
            let names = self
                .names
                .entry(entry.id)
                .or_insert_with(|| Names::of(entry));
            scored.push(score(entry, names, term, &local, &hints));
        }
        // A candidate needs some evidence: a code, a name, shared bigrams or characters.
        scored.retain(|c| c.score > 0.0);
        scored.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.display.chars().count().cmp(&b.display.chars().count()))
                .then_with(|| a.code.cmp(&b.code))
        });
        scored.truncate(k);
        Ok(scored)
    }
}

/// The `k` best candidates for one `term` among the active concepts of `systems` in
/// `releases` (for many terms, keep one [`Suggester`]).
pub fn suggest(
    snapshot: &Snapshot,
    releases: &HashMap<Master, ReleaseId>,
    systems: &[&'static str],
    term: &LocalTerm<'_>,
    k: usize,
) -> Result<Vec<Candidate>, SearchError> {
    Suggester::new(snapshot, releases, systems).suggest(term, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(a: &str, b: &str) -> (f32, bool) {
        let a = normalize(a).chars;
        let b = normalize(b).chars;
        let other = Name {
            kind: String::new(),
            value: String::new(),
            grams: bigrams(&b),
            chars: b,
        };
        name_similarity(&a, &bigrams(&a), &other)
    }

    fn readings(name: &str) -> Vec<(String, Option<String>)> {
        read_local_name(name, true)
            .readings
            .into_iter()
            .map(|r| (r.chars.into_iter().collect(), r.via))
            .collect()
    }

    #[test]
    fn names_score_by_normalised_equality_containment_and_bigrams() {
        assert_eq!(sim("ＡＳＴ", "ast"), (1.0, false));
        let (contained, yes) = sim("アルブミン", "アルブミン_血清_可視吸光光度法_定量値");
        assert!(yes && contained > 0.6 && contained < 0.8, "{contained}");
        let (dice, no) = sim("総ビリルビン", "直接ビリルビン");
        assert!(!no && (dice - 2.0 * 4.0 / 11.0).abs() < 1e-6, "{dice}");
        assert_eq!(sim("ナトリウム", "クロール"), (0.0, false));
    }

    #[test]
    fn local_names_are_read_through_the_lab_table() {
        // Every word names the same analyte: the master's name alone.
        assert_eq!(
            readings("中性脂肪(TG)"),
            [
                ("中性脂肪(tg)".to_owned(), None),
                (
                    "トリグリセリド".to_owned(),
                    Some("中性脂肪 TG as トリグリセリド".to_owned())
                )
            ]
        );
        // Words naming different analytes: each put in place.
        assert_eq!(
            readings("血算-ヘモグロビン"),
            [
                ("血算-ヘモグロビン".to_owned(), None),
                (
                    "末梢血液一般検査ヘモグロビン".to_owned(),
                    Some("血算 as 末梢血液一般検査".to_owned())
                )
            ]
        );
        // One word, two analytes: both readings.
        assert_eq!(
            readings("尿糖")[1..],
            [
                (
                    "糖定性[尿]".to_owned(),
                    Some("尿糖 as 糖定性[尿]".to_owned())
                ),
                (
                    "糖定量[尿]".to_owned(),
                    Some("尿糖 as 糖定量[尿]".to_owned())
                )
            ]
        );
        // Not lab targets, or nothing the table knows: as written only.
        assert_eq!(read_local_name("TG", false).readings.len(), 1);
        assert_eq!(readings("急性胃炎").len(), 1);
    }
}
