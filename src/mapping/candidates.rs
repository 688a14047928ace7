//! Candidate standard codes for a local code: retrieval by shared character bigrams, then a
//! score in 0–1 from the best-matching designation, with the reasons.
//!
//! - The local code itself may be a standard code (a hospital using JLAC10 or YJ codes as its
//!   own): score 1, reason `code match`.
//! - Name: 1 for the same name after normalisation (`exact name` / `normalised name`),
//!   otherwise the Dice coefficient of the two names' bigram sets, raised when one name
//!   contains the other (a short local name inside a long standard one); the reason says
//!   which designation (display, かな reading, synonym, component name) matched.
//! - Coverage: the share of the local name's bigrams that the concept's names explain
//!   together (an analyte and a 識別 name may each cover a part); the score blends the best
//!   single name (60 %) with it (40 %).
//! - Specimen hint: a local specimen (血清, 尿, …) equal to the candidate's JLAC 材料 keeps the
//!   score, a different 材料 lowers it (×0.7).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use crate::search::document::Entry;
use crate::search::normalize::{normalize, normalize_code};
use crate::search::similar::similar;
use crate::search::{SearchError, Snapshot};
use crate::systems::Master;

/// Concepts retrieved per local code before scoring.
const RETRIEVE: usize = 60;

/// A local code as candidates see it.
#[derive(Debug, Clone, Default)]
pub struct LocalTerm<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub specimen: Option<&'a str>,
}

/// One suggested target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub system: String,
    pub code: String,
    pub display: String,
    /// 0–1, higher is better.
    pub score: f32,
    /// Why, in words: `code match`, `exact name`, `normalised name`, `name similarity 0.72
    /// (kana)`, `contains the local name`, `specimen 血清 = 材料`, `specimen differs (血漿)`.
    pub reasons: Vec<String>,
}

fn bigrams(chars: &[char]) -> HashSet<(char, char)> {
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// How alike two normalised names are (0–1), and whether it is containment.
fn name_similarity(
    local: &[char],
    local_grams: &HashSet<(char, char)>,
    other: &[char],
) -> (f32, bool) {
    if local == other {
        return (1.0, false);
    }
    let grams = bigrams(other);
    let shared = local_grams.intersection(&grams).count();
    let dice = if local_grams.is_empty() || grams.is_empty() {
        0.0
    } else {
        2.0 * shared as f32 / (local_grams.len() + grams.len()) as f32
    };
    let (short, long) = if local.len() <= other.len() {
        (local, other)
    } else {
        (other, local)
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

/// Scores one retrieved concept for a local term.
fn score(
    entry: &Entry,
    term: &LocalTerm<'_>,
    local: &[char],
    grams: &HashSet<(char, char)>,
) -> Candidate {
    let mut reasons = Vec::new();
    let code = normalize_code(term.code);
    let code_match = !code.is_empty() && entry.all_codes().any(|(_, c)| normalize_code(c) == code);
    let mut best: (f32, bool, &str, &str) = (0.0, false, "display", &entry.display);
    for (kind, value) in std::iter::once(("display", entry.display.as_str()))
        .chain(entry.names.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        let norm = normalize(value);
        let (sim, contains) = name_similarity(local, grams, &norm.chars);
        if sim > best.0 {
            best = (sim, contains, kind, value);
        }
    }
    let (best_value, contains, kind, text) = best;
    // How much of the local name the concept's names explain together (an analyte name and a
    // 識別 name may each cover part of it): lifts the right family above look-alikes.
    let mut covered: HashSet<(char, char)> = HashSet::new();
    for value in
        std::iter::once(entry.display.as_str()).chain(entry.names.iter().map(|(_, v)| v.as_str()))
    {
        covered.extend(
            bigrams(&normalize(value).chars)
                .intersection(grams)
                .copied(),
        );
    }
    let coverage = if grams.is_empty() {
        0.0
    } else {
        covered.len() as f32 / grams.len() as f32
    };
    let mut value = if best_value >= 1.0 {
        1.0
    } else {
        0.6 * best_value + 0.4 * coverage
    };
    if code_match {
        reasons.push("code match".to_owned());
        value = 1.0;
    } else if best_value >= 1.0 {
        reasons.push(if text == term.name {
            format!("exact name ({kind})")
        } else {
            format!("normalised name ({kind}: {text})")
        });
    } else if contains {
        reasons.push(format!("contains the local name ({kind}: {text})"));
    } else {
        reasons.push(format!("name similarity {best_value:.2} ({kind}: {text})"));
    }
    if best_value < 1.0 && coverage > 0.0 {
        reasons.push(format!(
            "names cover {:.0}% of the local name",
            coverage * 100.0
        ));
    }
    if let Some(specimen) = term.specimen.map(normalize).filter(|s| !s.is_empty()) {
        let materials: Vec<&str> = entry
            .names
            .iter()
            .filter(|(k, _)| k == "material")
            .map(|(_, v)| v.as_str())
            .collect();
        if let Some(first) = materials.first() {
            if materials
                .iter()
                .any(|m| normalize(m).chars == specimen.chars)
            {
                reasons.push(format!("specimen {} = 材料", specimen.text()));
            } else if !code_match {
                value *= 0.7;
                reasons.push(format!("specimen differs ({first})"));
            }
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

/// The `k` best candidates for `term` among the active concepts of `systems` in `releases`.
pub fn suggest(
    snapshot: &Snapshot,
    releases: &HashMap<Master, i64>,
    systems: &[&'static str],
    term: &LocalTerm<'_>,
    k: usize,
) -> Result<Vec<Candidate>, SearchError> {
    let local = normalize(term.name);
    let grams = bigrams(&local.chars);
    let mut found: Vec<&Entry> = similar(snapshot, term.name, releases, systems, RETRIEVE)?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    // The local code may itself be a standard code.
    if !term.code.trim().is_empty() {
        found.extend(
            similar(snapshot, term.code, releases, systems, 5)?
                .into_iter()
                .map(|(_, e)| e),
        );
    }
    let mut seen = HashSet::new();
    let mut scored: Vec<Candidate> = found
        .into_iter()
        .filter(|e| seen.insert((e.system.as_str(), e.code.as_str())))
        .map(|e| score(e, term, &local.chars, &grams))
        .collect();
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.display.chars().count().cmp(&b.display.chars().count()))
            .then_with(|| a.code.cmp(&b.code))
    });
    scored.truncate(k);
    Ok(scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(a: &str, b: &str) -> (f32, bool) {
        let a = normalize(a);
        name_similarity(&a.chars, &bigrams(&a.chars), &normalize(b).chars)
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
}
