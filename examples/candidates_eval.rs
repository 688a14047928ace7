//! Quality and speed of mapping candidates (issue 6) on real data: a labelled set built from
//! the JP-CLINS core-lab and infection items (real JLAC10 codes with the names and specimens
//! hospitals use: Japanese name, abbreviation, full-width and hiragana variants) and from real
//! 病名 index terms (synonyms → the names that carry them). Prints recall@1, recall@5 and the
//! time for all local codes as one JSON object.
//!
//! ```sh
//! bash bench/load_real.sh sqlite://target/bench-search/bench.db target/bench-search/work
//! cargo run --release --example candidates_eval -- \
//!     --database-url sqlite://target/bench-search/bench.db --shared ../shared/data
//! ```
//!
//! A JLAC suggestion counts as right when it is the labelled code or shares its analyte,
//! 識別 and 材料 (the first 12 characters): a local item name does not say the method. One
//! name with one specimen is one case: where JP-CLINS lists several codes under the same
//! name (24 reagents' codes for HCV抗体(判定)), any of them is right, since the name cannot
//! tell the reagents apart.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use hyojun::mapping::candidates::{LocalTerm, Suggester};
use hyojun::search::{Location, SearchIndex};
use hyojun::store::{DatabaseUrl, Store};
use hyojun::systems::Master;

struct Case {
    kind: &'static str,
    name: String,
    specimen: Option<String>,
    system: &'static str,
    /// Accepted codes (exact), or any of these 12-character JLAC10 prefixes.
    truth: HashSet<String>,
    prefixes: HashSet<String>,
}

/// Adds a labelled local name; the same name (with the same specimen) labelled again — a
/// JP-CLINS item lists every reagent's code under one name — widens what is accepted, since a
/// local name cannot tell the reagents apart.
fn add_case(cases: &mut Vec<Case>, case: Case) {
    if let Some(same) = cases.iter_mut().find(|c| {
        c.kind == case.kind
            && c.name == case.name
            && c.specimen == case.specimen
            && c.system == case.system
    }) {
        same.truth.extend(case.truth);
        same.prefixes.extend(case.prefixes);
    } else {
        cases.push(case);
    }
}

fn tsv(path: &std::path::Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t'))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn hiragana(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0x30A1..=0x30F6 => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut url = None;
    let mut shared = PathBuf::from("../shared/data");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--database-url" => url = args.next(),
            "--shared" => shared = args.next().map(PathBuf::from).unwrap_or(shared),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let url = url.ok_or("usage: candidates_eval --database-url URL [--shared DIR]")?;
    let store = Store::open(&DatabaseUrl::parse(&url)?, 2)?;
    let index = SearchIndex::open(Location::Memory)?;
    index.sync(&store)?;
    let snapshot = index.snapshot();
    let mut releases = HashMap::new();
    for m in Master::ALL {
        if let Some(r) = store.current_release(m)? {
            releases.insert(m, r.id);
        }
    }
    // Which JLAC10 codes the loaded release has (labels outside it cannot be found).
    let known: HashSet<String> = snapshot
        .segments_by_ord
        .iter()
        .flat_map(|s| s.entries.iter())
        .filter(|e| e.system == "jlac10")
        .map(|e| e.code.clone())
        .collect();

    let mut cases = Vec::new();
    let lab = shared.join("jlac-hs014");
    for row in tsv(&lab.join("jpclins-v1.5.0_jlac10_corelabo_43items.tsv")) {
        let code = row.get("code").cloned().unwrap_or_default();
        if row.get("depth").map(String::as_str) != Some("1") || !known.contains(&code) {
            continue;
        }
        let specimen = row.get("specimen").cloned().filter(|s| !s.is_empty());
        let ja = row.get("designation_ja").cloned().unwrap_or_default();
        let abbrev = row.get("display").cloned().unwrap_or_default();
        let mut add = |kind: &'static str, name: String| {
            if !name.is_empty() {
                add_case(
                    &mut cases,
                    Case {
                        kind,
                        name,
                        specimen: specimen.clone(),
                        system: "jlac10",
                        truth: HashSet::from([code.clone()]),
                        prefixes: code.get(..12).map(str::to_owned).into_iter().collect(),
                    },
                );
            }
        };
        add("lab: Japanese name", ja.clone());
        add("lab: hiragana", hiragana(&ja));
        add("lab: full-width", full_width(&ja));
        add("lab: abbreviation", abbrev);
    }
    for row in tsv(&lab.join("jpclins-v1.5.0_jlac10_infectionlabo.tsv")) {
        let code = row.get("code").cloned().unwrap_or_default();
        if row.get("depth").map(String::as_str) != Some("1") || !known.contains(&code) {
            continue;
        }
        let comment = row.get("comment").cloned().unwrap_or_default();
        let specimen = ["血清", "血漿", "全血", "尿"]
            .into_iter()
            .find(|s| comment.contains(s))
            .map(str::to_owned);
        add_case(
            &mut cases,
            Case {
                kind: "infection: item name",
                name: row.get("display").cloned().unwrap_or_default(),
                specimen,
                system: "jlac10",
                truth: HashSet::from([code.clone()]),
                prefixes: code.get(..12).map(str::to_owned).into_iter().collect(),
            },
        );
    }
    // 病名: every 40th index term (a synonym), labelled with the names that carry it.
    let mut carriers: HashMap<String, HashSet<String>> = HashMap::new();
    for entry in snapshot
        .segments_by_ord
        .iter()
        .flat_map(|s| s.entries.iter())
    {
        if entry.system != "byomei" || entry.valid_to.is_some() {
            continue;
        }
        for (kind, value) in &entry.names {
            if kind != "kana" && kind != "short" {
                carriers
                    .entry(value.clone())
                    .or_default()
                    .insert(entry.code.clone());
            }
        }
    }
    let mut terms: Vec<(&String, &HashSet<String>)> = carriers.iter().collect();
    terms.sort_by(|a, b| a.0.cmp(b.0));
    for (term, codes) in terms.into_iter().step_by(40) {
        cases.push(Case {
            kind: "病名: synonym",
            name: term.clone(),
            specimen: None,
            system: "byomei",
            truth: codes.clone(),
            prefixes: HashSet::new(),
        });
    }

    // One suggester per target system, as a candidates job keeps one per project.
    fn systems_of(system: &str) -> &'static [&'static str] {
        if system == "jlac10" {
            &["jlac10"]
        } else {
            &["byomei"]
        }
    }
    let mut suggesters: HashMap<&str, Suggester> = HashMap::new();
    let started = Instant::now();
    let mut by_kind: HashMap<&str, (usize, usize, usize)> = HashMap::new();
    for case in &cases {
        let term = LocalTerm {
            code: "",
            name: &case.name,
            specimen: case.specimen.as_deref(),
            unit: None,
        };
        let suggester = suggesters
            .entry(case.system)
            .or_insert_with(|| Suggester::new(&snapshot, &releases, systems_of(case.system)));
        let found = suggester.suggest(&term, 5)?;
        let right = |code: &str| {
            case.truth.contains(code) || code.get(..12).is_some_and(|p| case.prefixes.contains(p))
        };
        let rank = found.iter().position(|c| right(&c.code));
        if rank.is_none() && std::env::var_os("HYOJUN_EVAL_MISSES").is_some() {
            let shown: Vec<String> = found
                .iter()
                .map(|c| format!("{} {} {:.2}", c.code, c.display, c.score))
                .collect();
            eprintln!(
                "MISS [{}] {} ({:?}) want {:?} got {shown:?}",
                case.kind, case.name, case.specimen, case.prefixes
            );
        }
        let tally = by_kind.entry(case.kind).or_default();
        tally.0 += 1;
        tally.1 += usize::from(rank == Some(0));
        tally.2 += usize::from(rank.is_some());
    }
    let seconds = started.elapsed().as_secs_f64();
    let (n, at1, at5) = by_kind
        .values()
        .fold((0, 0, 0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2));
    let mut kinds: Vec<_> = by_kind.into_iter().collect();
    kinds.sort();
    let pct = |a: usize, b: usize| (1000.0 * a as f64 / b.max(1) as f64).round() / 10.0;
    let summary = serde_json::json!({
        "local_codes": n,
        "recall_at_1_percent": pct(at1, n),
        "recall_at_5_percent": pct(at5, n),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "per_5000_codes_seconds": ((seconds / n.max(1) as f64 * 5000.0) * 100.0).round() / 100.0,
        "by_kind": kinds.iter().map(|(k, (n, a1, a5))| serde_json::json!({
            "kind": k, "cases": n, "recall_at_1_percent": pct(*a1, *n), "recall_at_5_percent": pct(*a5, *n)
        })).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
