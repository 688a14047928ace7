//! HS024 看護実践用語標準マスター: the sample releases in `masters/nursing/`, bad input, and
//! files built from the real extracts in `../shared/data/nursing-hs024/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hyojun::masters::{self, NoProgress, Problems};
use hyojun::store::models::{ConceptRow, ReleaseRow};
use hyojun::systems::Master;

use crate::support::{
    assert_expected_changes, databases, fingerprint, hyojun, repo, shared_data, write_cp932, TestDb,
};

const SYSTEMS: [&str; 3] = ["nursing_action", "nursing_action16", "nursing_observation"];

fn sample(rel: &str) -> PathBuf {
    repo().join("masters/nursing").join(rel)
}

fn import(db: &TestDb, path: &Path, extra: &[&str]) {
    let path = path.display().to_string();
    let mut args = vec!["import", "nursing", path.as_str()];
    args.extend_from_slice(extra);
    assert_eq!(hyojun(db, &args), 0, "{} {args:?}", db.name);
}

fn release(db: &TestDb, label: &str) -> ReleaseRow {
    db.store
        .find_release(Master::Nursing, label)
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

fn attribute(row: &ConceptRow, key: &str) -> Option<String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&row.attributes).expect("attributes");
    map.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

#[test]
fn sample_releases_give_the_expected_change_set() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sample("EXPECTED.json")).expect("EXPECTED.json"),
    )
    .expect("json");
    for db in databases("nursing_samples") {
        import(&db, &sample("4.0"), &["--activate"]);
        import(&db, &sample("4.1"), &[]);
        let (from, to, diff) = db.store.diff(Master::Nursing, "4.0", "4.1").expect("diff");
        assert_expected_changes(&db, &diff, &to, &expected, &SYSTEMS);

        // 今版削除 with a successor: active before, retired with its 移行先 after.
        let before = rows(&db, &from, "nursing_action", "12990006");
        let after = rows(&db, &to, "nursing_action", "12990006");
        assert_eq!(before[0].status, "active");
        assert_eq!(after[0].status, "retired");
        assert!(after[0]
            .links
            .contains(r#"["successor","nursing_action","12990010"]"#));
        let chain = db
            .store
            .successor_chain(&to, "nursing_action", "12990006")
            .expect("chain");
        assert_eq!(chain.final_code(), Some("12990010"));
        assert!(!chain.cycle);

        // A 管理番号 listed twice (既削除 and 移行元) keeps both rows; purged later, it stays
        // answerable in the earlier release only.
        let twice = rows(&db, &from, "nursing_action", "12990007");
        let keys: Vec<&str> = twice.iter().map(|r| r.row_key.as_str()).collect();
        assert_eq!(
            keys,
            ["action:12990007:2", "action:12990007:7"],
            "{}",
            db.name
        );
        assert!(twice.iter().all(|r| r.status == "retired"));
        assert!(rows(&db, &to, "nursing_action", "12990007").is_empty());
        let chain = db
            .store
            .successor_chain(&from, "nursing_action", "12990007")
            .expect("chain");
        assert_eq!(chain.final_code(), Some("12990008"));

        // Moved within the hierarchy: the 7 row keeps the old 16-character code, names itself
        // as 移行先 and gets no successor link.
        let moved = rows(&db, &to, "nursing_action", "12990009");
        assert_eq!(moved.len(), 2);
        let old_place = moved
            .iter()
            .find(|r| r.row_key.ends_with(":7"))
            .expect("7 row");
        assert_eq!(old_place.status, "retired");
        assert!(!old_place.links.contains("successor"));
        let by16 = db
            .store
            .lookup(&to, "nursing_action16", "A902B903C905D000")
            .expect("lookup");
        assert_eq!(by16.len(), 1);
        assert_eq!(by16[0].code, "12990009");
        let current = moved
            .iter()
            .find(|r| r.status == "active")
            .expect("current");
        assert_eq!(
            current.display, "見本処置・見本創傷ケア・見本抜糸",
            "JP Core style display: the level names joined with ・"
        );

        // Results and units attached to observations, from the files of the same release.
        let stool = &rows(&db, &to, "nursing_observation", "31990002")[0];
        assert_eq!(attribute(stool, "result:01").as_deref(), Some("硬便"));
        assert_eq!(attribute(stool, "result:02").as_deref(), Some("普通"));
        let urine = &rows(&db, &from, "nursing_observation", "31990008")[0];
        assert_eq!(attribute(urine, "unit_name").as_deref(), Some("ml"));
        let urine = &rows(&db, &to, "nursing_observation", "31990008")[0];
        assert_eq!(attribute(urine, "unit_name").as_deref(), Some("mL"));

        // The missing V-series group is a notice, recorded with the release.
        let notices = db.store.notices(&to).expect("notices");
        let missing: Vec<_> = notices
            .iter()
            .filter(|n| n.kind == "unknown_result_group")
            .collect();
        assert_eq!(missing.len(), 1, "{}", db.name);
        assert_eq!(missing[0].line, Some(7));
        assert!(missing[0].message.contains("V9001"));
    }
}

#[test]
fn utf8_files_import_exactly_like_cp932() {
    let dir = tempfile::tempdir().expect("tmp");
    for entry in std::fs::read_dir(sample("4.0")).expect("dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
        std::fs::write(dir.path().join(path.file_name().expect("name")), text).expect("write");
    }
    let cp932 = masters::parse_release(
        Master::Nursing,
        &[sample("4.0")],
        &masters::ParseOptions::default(),
        &NoProgress,
    )
    .expect("cp932");
    let utf8 = masters::parse_release(
        Master::Nursing,
        &[dir.path()],
        &masters::ParseOptions::default(),
        &NoProgress,
    )
    .expect("utf-8");
    assert_eq!(utf8.label, "4.0");
    assert!(utf8.files.iter().all(|f| f.encoding == "utf-8"));
    let hashes = |p: &masters::ParsedRelease| {
        let mut v: Vec<(String, String)> = p
            .records
            .iter()
            .map(|r| (r.row_key.clone(), r.content_hash()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(hashes(&cp932), hashes(&utf8));
}

#[test]
fn files_of_different_versions_need_an_explicit_label() {
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["koui", "kansatsu", "result", "unit"] {
        let from = sample(&format!("4.1/{name}-ver.4.1.txt"));
        let to_version = if name == "kansatsu" { "3.6" } else { "4.1" };
        std::fs::copy(
            &from,
            dir.path().join(format!("{name}-ver.{to_version}.txt")),
        )
        .expect("copy");
    }
    let problems = masters::parse_release(
        Master::Nursing,
        &[dir.path()],
        &masters::ParseOptions::default(),
        &NoProgress,
    )
    .expect_err("mixed");
    let p = only(&problems);
    assert_eq!(p.kind, "mixed_versions");
    assert!(
        p.message.contains("→ 3.6") && p.message.contains("→ 4.1"),
        "{}",
        p.message
    );
    let parsed = masters::parse_release(
        Master::Nursing,
        &[dir.path()],
        &masters::ParseOptions::labelled("2025"),
        &NoProgress,
    )
    .expect("with --version");
    assert_eq!(parsed.label, "2025");
}

// ------------------------------------------------------------------------------ bad input

fn only(problems: &Problems) -> &masters::Problem {
    assert_eq!(problems.total(), 1, "{problems}");
    &problems.items()[0]
}

fn sample_text(rel: &str) -> String {
    let bytes = std::fs::read(sample(rel)).expect("sample");
    encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned()
}

/// The 4.1 files in a temporary folder, with `edit` applied to the text of one of them.
fn release_with(file: &str, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let mut edit = Some(edit);
    for name in ["koui", "kansatsu", "result", "unit"] {
        let rel = format!("4.1/{name}-ver.4.1.txt");
        let mut text = sample_text(&rel);
        if name == file {
            if let Some(edit) = edit.take() {
                text = edit(text);
            }
        }
        write_cp932(&dir.path().join(format!("{name}-ver.4.1.txt")), &text);
    }
    dir
}

fn edit_line(text: String, line: usize, f: impl FnOnce(&str) -> String) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[line - 1] = f(&lines[line - 1]);
    lines.join("\n") + "\n"
}

/// Imports 4.0, then tries `dir`: exit code 1, database untouched on both backends. Returns
/// the parser's problems.
fn rejected(dir: &Path) -> Problems {
    for db in databases("nursing_bad") {
        import(&db, &sample("4.0"), &["--activate"]);
        let before = fingerprint(&db);
        let path = dir.display().to_string();
        assert_eq!(hyojun(&db, &["import", "nursing", &path]), 1, "{}", db.name);
        assert_eq!(
            fingerprint(&db),
            before,
            "{}: the database changed",
            db.name
        );
    }
    masters::parse_release(
        Master::Nursing,
        &[dir],
        &masters::ParseOptions::default(),
        &NoProgress,
    )
    .expect_err("refused")
}

#[test]
fn wrong_column_count() {
    let dir = release_with("kansatsu", |t| {
        edit_line(t, 4, |l| l.replacen(",", "、", 3))
    });
    let p = only(&rejected(dir.path())).clone();
    assert_eq!((p.kind, p.line), ("column_count", Some(4)));
    assert!(
        p.message.contains("43 columns") && p.message.contains("46"),
        "{}",
        p.message
    );
    assert!(p.file.ends_with("kansatsu-ver.4.1.txt"));
}

#[test]
fn duplicate_management_number() {
    // Line 3 (12990002, flag 0) gets the 管理番号 of line 2 (12990001, flag 0).
    let dir = release_with("koui", |t| {
        edit_line(t, 3, |l| l.replacen("12990002", "12990001", 1))
    });
    let p = only(&rejected(dir.path())).clone();
    assert_eq!(
        (p.kind, p.line, p.column),
        ("duplicate_key", Some(3), Some(2))
    );
    assert!(p.message.contains("already on line 2"), "{}", p.message);
}

#[test]
fn invalid_cp932_bytes() {
    let dir = release_with("koui", |t| t);
    let path = dir.path().join("koui-ver.4.1.txt");
    let mut bytes = std::fs::read(&path).expect("read");
    let line3 = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("lines");
    bytes.splice(line3 + 3..line3 + 3, [0x82, 0xFF]);
    std::fs::write(&path, bytes).expect("write");
    let p = only(&rejected(dir.path())).clone();
    assert_eq!((p.kind, p.line), ("invalid_encoding", Some(3)));
    assert!(p.message.contains("82 FF at byte 4"), "{}", p.message);
}

#[test]
fn missing_header() {
    let dir = release_with("unit", |t| t.lines().skip(1).collect::<Vec<_>>().join("\n"));
    let p = only(&rejected(dir.path())).clone();
    assert_eq!((p.kind, p.line), ("missing_header", Some(1)));
    assert!(p.file.ends_with("unit-ver.4.1.txt"));
    assert!(p.fix.contains("単位コード"), "{}", p.fix);
}

#[test]
fn wrong_header_title() {
    let dir = release_with("koui", |t| {
        edit_line(t, 1, |l| l.replace("移行先管理番号", "移行先"))
    });
    let p = only(&rejected(dir.path())).clone();
    assert_eq!(
        (p.kind, p.line, p.column),
        ("unexpected_title", Some(1), Some(17))
    );
}

#[test]
fn invalid_hierarchy_id() {
    let dir = release_with("koui", |t| {
        edit_line(t, 3, |l| l.replacen(",C901,", ",C9O1,", 1))
    });
    let p = only(&rejected(dir.path())).clone();
    assert_eq!((p.kind, p.line, p.column), ("bad_code", Some(3), Some(9)));
    assert_eq!(p.column_name.as_deref(), Some("第３階層識別番号"));
}

#[test]
fn unknown_change_flag() {
    let dir = release_with("kansatsu", |t| edit_line(t, 2, |l| format!("9{}", &l[1..])));
    let p = only(&rejected(dir.path())).clone();
    assert_eq!(
        (p.kind, p.line, p.column),
        ("bad_change_flag", Some(2), Some(1))
    );
}

#[test]
fn successor_that_points_nowhere() {
    let dir = release_with("koui", |t| t.replace(",12990010,6", ",12990099,6"));
    let p = only(&rejected(dir.path())).clone();
    assert_eq!((p.kind, p.column), ("dangling_successor", Some(17)));
    assert!(p.message.contains("12990099"), "{}", p.message);
}

#[test]
fn cycle_of_successors() {
    // 12990010 (the successor of 12990006) is deleted in turn, pointing back at 12990006.
    let dir = release_with("koui", |t| {
        let n = t
            .lines()
            .position(|l| l.contains(",12990010,A901"))
            .expect("row")
            + 1;
        edit_line(t, n, |l| {
            let mut f: Vec<String> = l.split(',').map(str::to_owned).collect();
            f[0] = "1".into();
            f[16] = "12990006".into();
            f.join(",")
        })
    });
    let p = only(&rejected(dir.path())).clone();
    assert_eq!(p.kind, "successor_cycle");
    assert!(
        p.message.contains("12990006 → 12990010 → 12990006"),
        "{}",
        p.message
    );
}

#[test]
fn missing_file() {
    let dir = release_with("koui", |t| t);
    std::fs::remove_file(dir.path().join("result-ver.4.1.txt")).expect("rm");
    let p = only(&rejected(dir.path())).clone();
    assert_eq!(p.kind, "missing_file");
    assert!(p.message.contains("result-ver"), "{}", p.message);
}

// ------------------------------------------------------------------------------ real data

fn tsv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .expect("tsv")
        .lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn utf8_sample(name: &str) -> Vec<String> {
    std::fs::read_to_string(
        shared_data()
            .join("nursing-hs024/format-samples")
            .join(name),
    )
    .expect("format sample")
    .lines()
    .map(str::to_owned)
    .collect()
}

/// A release in the real layouts: the real rows of the format samples (all four files), then
/// one 行為 row per JP Core 16-character action code and one 観察 row per JP Core vital-sign
/// and body-measurement code. Columns the extracts lack are left empty; 管理番号 the
/// extracts do not give are numbered from 13000001 (outside the real range).
pub(crate) struct RealRelease {
    pub(crate) dir: tempfile::TempDir,
    action16: BTreeMap<String, String>,
    actions: usize,
    observations: BTreeMap<String, String>,
}

pub(crate) fn real_release() -> RealRelease {
    let data = shared_data().join("nursing-hs024");
    let dir = tempfile::tempdir().expect("tmp");
    let mut koui = utf8_sample("fhir-client_nursing_acts_sample_koui-layout.utf8.txt");
    let mut action16: BTreeMap<String, String> = BTreeMap::new();
    for line in &koui[1..] {
        let f: Vec<&str> = line.split(',').collect();
        action16.insert(format!("{}{}{}{}", f[2], f[5], f[8], f[11]), String::new());
    }
    let real_rows = koui.len() - 1;
    let mut next = 13_000_001;
    for row in tsv(&data.join("jpcore-ext_nursing-action-16digit.tsv")) {
        let (code, display) = (&row[0], &row[1]);
        let known = action16.insert(code.clone(), display.clone()).is_some();
        if known {
            continue;
        }
        // The display is 第１・第２・第３・第４ with ・ inside some names too: the first two
        // parts and the last one are taken as levels 1, 2 and 4, the rest as level 3.
        let parts: Vec<&str> = display.split('・').collect();
        let (l1, l2, l4) = (parts[0], parts[1], parts[parts.len() - 1]);
        let l3 = parts[2..parts.len() - 1].join("・");
        let f = [
            "0",
            &next.to_string(),
            &code[0..4],
            l1,
            "",
            &code[4..8],
            l2,
            "",
            &code[8..12],
            &l3,
            "",
            &code[12..16],
            l4,
            "",
            "",
            "20231222",
            "",
            "",
        ];
        koui.push(f.join(","));
        next += 1;
    }
    let actions = koui.len() - 1;
    assert_eq!(actions, real_rows + 3608 - 3);

    let mut kansatsu =
        utf8_sample("fhir-client_nursing_observations_sample_kansatsu-layout.utf8.txt");
    let mut observations: BTreeMap<String, String> = BTreeMap::new();
    let mut successors = Vec::new();
    for line in &kansatsu[1..] {
        let f: Vec<&str> = line.split(',').collect();
        observations.insert(f[1].to_owned(), f[11].to_owned());
        if !f[40].is_empty() {
            successors.push(f[40].to_owned());
        }
    }
    // A real file lists every 移行先; the 3-row sample's successor (31001850) is outside the
    // extract, so a placeholder row stands in for it.
    for code in successors {
        let mut f = vec![String::new(); 46];
        f[0] = "0".into();
        f[1] = code.clone();
        f[11] = "抽出外の移行先".into();
        observations.insert(code, f[11].clone());
        kansatsu.push(f.join(","));
    }
    for file in [
        "jpcore-ext_nursing-observation-vitalsigns.tsv",
        "jpcore_nursing-observation-bodymeasurement.tsv",
    ] {
        for row in tsv(&data.join(file)) {
            if observations
                .insert(row[0].clone(), row[1].clone())
                .is_some()
            {
                continue;
            }
            let mut f = vec![String::new(); 46];
            f[0] = "0".into();
            f[1] = row[0].clone();
            f[11] = row[1].clone();
            f[18] = format!("{}R", row[0]);
            kansatsu.push(f.join(","));
        }
    }
    for (name, lines) in [
        ("koui-ver.4.0.txt", koui),
        ("kansatsu-ver.4.0.txt", kansatsu),
        (
            "result-ver.4.0.txt",
            utf8_sample("fhir-client_nursing_observation_results_sample.utf8.txt"),
        ),
        (
            "unit-ver.4.0.txt",
            utf8_sample("fhir-client_nursing_units_sample.utf8.txt"),
        ),
    ] {
        write_cp932(&dir.path().join(name), &(lines.join("\n") + "\n"));
    }
    RealRelease {
        dir,
        action16,
        actions,
        observations,
    }
}

#[test]
fn real_jp_core_codes_and_format_samples_import() {
    let real = real_release();
    assert_eq!(real.action16.len(), 3608);
    for db in databases("nursing_real") {
        import(&db, real.dir.path(), &[]);
        let r = release(&db, "4.0");
        let info = db.store.releases(Some(Master::Nursing)).expect("releases");
        let stats: BTreeMap<&str, (i64, i64)> = info[0]
            .stats
            .iter()
            .map(|s| (s.system_key.as_str(), (s.row_count, s.code_count)))
            .collect();
        assert_eq!(
            stats["nursing_action"],
            (real.actions as i64, real.actions as i64)
        );
        assert_eq!(stats["nursing_action16"].1, 3608);
        let n = real.observations.len() as i64;
        assert_eq!(stats["nursing_observation"], (n, n));

        let all = db.store.rows_at(&r).expect("rows");
        let by_code16: BTreeMap<String, &ConceptRow> = all
            .iter()
            .filter(|row| row.system_key == "nursing_action")
            .filter_map(|row| {
                let links = row.link_list().ok()?;
                let (_, _, code) = links.into_iter().find(|l| l.1 == "nursing_action16")?;
                Some((code, row))
            })
            .collect();
        for (code, display) in &real.action16 {
            let row = by_code16
                .get(code)
                .unwrap_or_else(|| panic!("{code} missing"));
            if !display.is_empty() {
                assert_eq!(row.display, display.trim_end_matches('・'), "{code}");
            }
        }
        // The real 助産 rows use E–H hierarchy letters.
        assert!(by_code16.contains_key("E017F050G107H000"));
        for (code, name) in &real.observations {
            let found = rows(&db, &r, "nursing_observation", code);
            assert_eq!(found.len(), 1, "{code}");
            assert_eq!(&found[0].display, name);
        }
        // Real sample rows: 31000001 uses unit U001 (%); 31000030 uses result group R7031,
        // absent from the 3-row result sample (a notice); 31000017 (既削除) follows to its
        // 移行先.
        let spo2 = &rows(&db, &r, "nursing_observation", "31000001")[0];
        assert_eq!(attribute(spo2, "unit_name").as_deref(), Some("%"));
        let notices = db.store.notices(&r).expect("notices");
        assert!(notices
            .iter()
            .any(|n| n.kind == "unknown_result_group" && n.message.contains("R7031")));
        let deleted = &rows(&db, &r, "nursing_observation", "31000017")[0];
        assert_eq!(deleted.status, "retired");
        let chain = db
            .store
            .successor_chain(&r, "nursing_observation", "31000017")
            .expect("chain");
        assert_eq!(chain.final_code(), Some("31001850"));
    }
}
