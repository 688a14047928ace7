//! The nine real monthly HOT9 files (2001-12 … 2003-02) from `../shared/data`, converted back
//! to CP932 as MEDIS ships them, imported in date order. Every row of every file must be
//! retrievable from its release, and each change set must match what the files themselves say.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

use hyojun::store::diff::ChangeKind;
use hyojun::systems::Master;

use crate::determinism::{assert_backends_agree, Probe};
use crate::support::{
    databases, databases_collated, hyojun, shared_data, write_cp932, ICU_COLLATION,
};

pub(crate) const DATES: [&str; 9] = [
    "20011214", "20020322", "20020531", "20020625", "20020731", "20020930", "20021115", "20030124",
    "20030228",
];

/// Attribute keys of the 24 HOT columns, in file order.
const KEYS: [&str; 24] = [
    "hot_code",
    "hot7",
    "company_code",
    "dispensing_code",
    "logistics_code",
    "jan",
    "yakka_code",
    "yj_code",
    "receipt_code_1",
    "receipt_code_2",
    "notice_name",
    "brand_name",
    "receipt_name",
    "standard_unit",
    "package_form",
    "package_unit_quantity",
    "package_unit_unit",
    "package_total_quantity",
    "package_total_unit",
    "category",
    "manufacturer",
    "distributor",
    "record_flag",
    "updated_on",
];

type Row = Vec<String>;

pub(crate) struct RealFile {
    date: &'static str,
    pub(crate) cp932: PathBuf,
    pub(crate) rows: Vec<Row>,
}

/// Reads the files with the csv crate alone (not hyojun's parser) and writes CP932 copies.
pub(crate) fn real_files(dir: &std::path::Path) -> Vec<RealFile> {
    let folder = shared_data().join("hot-hs001/jp-medicine-master-data_hot9_2001-2003");
    DATES
        .iter()
        .map(|date| {
            let gz = std::fs::File::open(folder.join(format!("MEDIS{date}_HOT9.utf8.csv.gz")))
                .expect("real HOT9 file");
            let mut text = String::new();
            flate2::read::GzDecoder::new(gz)
                .read_to_string(&mut text)
                .expect("gunzip");
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .flexible(true)
                .from_reader(text.as_bytes());
            let rows: Vec<Row> = reader
                .records()
                .map(|r| r.expect("csv").iter().map(str::to_owned).collect::<Row>())
                .filter(|r| !(r.len() == 1 && r[0] == "\u{1A}"))
                .collect();
            assert!(rows.iter().all(|r| r.len() == 24), "{date}");
            let cp932 = dir.join(format!("MEDIS{date}_HOT9.TXT"));
            write_cp932(&cp932, &text);
            RealFile { date, cp932, rows }
        })
        .collect()
}

/// code system → code → the multiset (sorted list) of rows carrying the code.
fn carriers(rows: &[Row]) -> BTreeMap<&'static str, BTreeMap<String, Vec<Row>>> {
    let mut out: BTreeMap<&'static str, BTreeMap<String, Vec<Row>>> = BTreeMap::new();
    for row in rows {
        let mut add = |system: &'static str, code: &str| {
            if !code.is_empty() {
                out.entry(system)
                    .or_default()
                    .entry(code.to_owned())
                    .or_default()
                    .push(row.clone());
            }
        };
        add("hot9", &row[0]);
        add("hot7", &row[1]);
        add("yakka", &row[6]);
        add("yj", &row[7]);
        add("receipt_drug", &row[8]);
        if row[9] != row[8] {
            add("receipt_drug", &row[9]);
        }
    }
    for codes in out.values_mut() {
        for rows in codes.values_mut() {
            rows.sort();
        }
    }
    out
}

/// (system, kind) → sorted codes, derived from two files' rows.
fn expected_changes(a: &[Row], b: &[Row]) -> BTreeMap<(&'static str, ChangeKind), Vec<String>> {
    let (ca, cb) = (carriers(a), carriers(b));
    let mut out: BTreeMap<(&'static str, ChangeKind), Vec<String>> = BTreeMap::new();
    let systems: BTreeSet<&'static str> = ca.keys().chain(cb.keys()).copied().collect();
    let empty = BTreeMap::new();
    for system in systems {
        let (sa, sb) = (
            ca.get(system).unwrap_or(&empty),
            cb.get(system).unwrap_or(&empty),
        );
        for (code, rows) in sb {
            match sa.get(code) {
                None => out
                    .entry((system, ChangeKind::Added))
                    .or_default()
                    .push(code.clone()),
                Some(old) if old != rows => out
                    .entry((system, ChangeKind::Changed))
                    .or_default()
                    .push(code.clone()),
                Some(_) => {}
            }
        }
        for code in sa.keys().filter(|c| !sb.contains_key(*c)) {
            out.entry((system, ChangeKind::Removed))
                .or_default()
                .push(code.clone());
        }
    }
    out
}

#[test]
fn nine_real_hot9_files_keep_every_row_and_the_right_change_sets() {
    let dir = tempfile::tempdir().expect("tmp");
    let files = real_files(dir.path());
    // The row counts SOURCES.md states for the first and last file.
    assert_eq!((files[0].rows.len(), files[8].rows.len()), (14_475, 19_558));

    // The PostgreSQL database sorts text by ICU ja-JP: the determinism check below compares
    // its answers with SQLite's byte order.
    let dbs = databases_collated("real_hot9", ICU_COLLATION);
    for db in &dbs {
        for file in &files {
            let path = file.cp932.display().to_string();
            assert_eq!(
                hyojun(db, &["import", "hot", &path, "--partial"]),
                0,
                "{} {}",
                db.name,
                file.date
            );
        }
        let releases = db.store.releases(Some(Master::Hot)).expect("releases");
        assert_eq!(releases.len(), 9);

        for (info, file) in releases.iter().zip(&files) {
            assert_eq!(info.release.label, file.date);
            // Counts: rows and distinct codes per system, as the file says.
            let derived = carriers(&file.rows);
            for stat in &info.stats {
                let codes = derived.get(stat.system_key.as_str()).map_or(0, |c| c.len());
                assert_eq!(
                    stat.code_count as usize, codes,
                    "{} {} {}",
                    db.name, file.date, stat.system_key
                );
            }
            let hot9 = info
                .stats
                .iter()
                .find(|s| s.system_key == "hot9")
                .expect("hot9 stat");
            assert_eq!(hot9.row_count as usize, file.rows.len());

            // Every row of the file is retrievable from its release, duplicates included.
            let mut stored: Vec<Row> = db
                .store
                .rows_at(&info.release)
                .expect("rows")
                .into_iter()
                .filter(|r| r.system_key == "hot9")
                .map(|r| {
                    let attrs: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(&r.attributes).expect("attributes");
                    KEYS.iter()
                        .map(|k| {
                            attrs
                                .get(*k)
                                .and_then(|v| v.as_str())
                                .unwrap_or("")
                                .to_owned()
                        })
                        .collect()
                })
                .collect();
            stored.sort();
            let mut original = file.rows.clone();
            original.sort();
            assert!(
                stored == original,
                "{} {}: stored rows differ from the file",
                db.name,
                file.date
            );
        }

        // Each release's change set against the one before, and one long-range diff.
        let mut pairs: Vec<(usize, usize)> = (1..9).map(|i| (i - 1, i)).collect();
        pairs.push((0, 8));
        for (i, j) in pairs {
            let (_, _, diff) = db
                .store
                .diff(Master::Hot, files[i].date, files[j].date)
                .expect("diff");
            let mut got: BTreeMap<(&'static str, ChangeKind), Vec<String>> = BTreeMap::new();
            for c in &diff.changes {
                let system = hyojun::systems::find(&c.system).expect("known system").key;
                got.entry((system, c.kind))
                    .or_default()
                    .push(c.code.clone());
            }
            let want = expected_changes(&files[i].rows, &files[j].rows);
            for key in want.keys().chain(got.keys()).collect::<BTreeSet<_>>() {
                assert_eq!(
                    got.get(key).map_or(0, Vec::len),
                    want.get(key).map_or(0, Vec::len),
                    "{} {}→{} {:?}",
                    db.name,
                    files[i].date,
                    files[j].date,
                    key
                );
            }
            assert!(
                got == want,
                "{} {}→{}: codes differ",
                db.name,
                files[i].date,
                files[j].date
            );
            if j == i + 1 {
                let stored = db
                    .store
                    .change_set(&releases[j].release)
                    .expect("change set");
                assert_eq!(stored.len(), diff.changes.len());
            }
        }
    }

    // The same history answers byte for byte the same on both backends (the import above is
    // shared: the history is imported once per backend).
    let started = std::time::Instant::now();
    let compared = assert_backends_agree(&dbs, &DATES, &probe(&files));
    eprintln!(
        "determinism: {compared} answers identical on {} backends in {:.1} s",
        dbs.len(),
        started.elapsed().as_secs_f64()
    );
}

/// `n` items spread evenly over `items` (all of them when there are fewer).
fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    let n = n.min(items.len());
    (0..n).map(|i| items[i * items.len() / n].clone()).collect()
}

/// URL query encoding of one value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the determinism check asks: in the first, a middle and the last release, codes of
/// every system carried by several rows and by one; for each consecutive pair, codes the
/// later release removed (retired, with `removed_in`) and changed; searches whose pages hold
/// ties (equal rank: same way of matching, status and name length).
fn probe(files: &[RealFile]) -> Probe {
    const SYSTEMS: [&str; 5] = ["hot9", "hot7", "yakka", "yj", "receipt_drug"];
    let mut codes = Vec::new();
    for file in [&files[0], &files[4], &files[8]] {
        let carried = carriers(&file.rows);
        for system in SYSTEMS {
            let all = &carried[system];
            let several: Vec<&String> = all
                .iter()
                .filter(|(_, rows)| rows.len() > 1)
                .map(|(c, _)| c)
                .collect();
            let one: Vec<&String> = all
                .iter()
                .filter(|(_, rows)| rows.len() == 1)
                .map(|(c, _)| c)
                .collect();
            assert!(
                several.len() >= 12,
                "{} {system}: codes on several rows",
                file.date
            );
            for code in spread(&several, 12).into_iter().chain(spread(&one, 4)) {
                codes.push((file.date.to_owned(), system.to_owned(), code.clone()));
            }
        }
    }
    for pair in files.windows(2) {
        let changes = expected_changes(&pair[0].rows, &pair[1].rows);
        for system in SYSTEMS {
            for kind in [ChangeKind::Removed, ChangeKind::Changed] {
                let listed = changes.get(&(system, kind)).map_or(&[][..], Vec::as_slice);
                for code in spread(listed, 3) {
                    codes.push((pair[1].date.to_owned(), system.to_owned(), code));
                }
            }
        }
    }
    let mut searches = Vec::new();
    for date in [DATES[0], DATES[8]] {
        for q in [
            "錠",
            "ｶﾌﾟｾﾙ",
            "注射",
            "塩酸",
            "mg",
            "アスピリン",
            "61",
            "1",
            "3",
        ] {
            searches.push(format!(
                "q={}&master=hot&release={date}&limit=100",
                encode(q)
            ));
        }
        searches.push(format!(
            "q={}&master=hot&release={date}&limit=100&offset=100&status=all",
            encode("錠")
        ));
    }
    Probe { codes, searches }
}

#[test]
fn utf8_with_bom_imports_the_same_as_cp932() {
    let dir = tempfile::tempdir().expect("tmp");
    let files = real_files(dir.path());
    let first = &files[0];
    let gz =
        std::fs::File::open(shared_data().join(
            "hot-hs001/jp-medicine-master-data_hot9_2001-2003/MEDIS20011214_HOT9.utf8.csv.gz",
        ))
        .expect("real file");
    let mut utf8 = Vec::from(*b"\xEF\xBB\xBF");
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut utf8)
        .expect("gunzip");
    let utf8_dir = dir.path().join("utf8");
    std::fs::create_dir_all(&utf8_dir).expect("dir");
    let utf8_path = utf8_dir.join("MEDIS20011214_HOT9.TXT");
    std::fs::write(&utf8_path, utf8).expect("write");
    for db in databases("utf8_bom") {
        let utf8_path = utf8_path.display().to_string();
        assert_eq!(hyojun(&db, &["import", "hot", &utf8_path, "--partial"]), 0);
        let cp932_path = first.cp932.display().to_string();
        assert_eq!(hyojun(&db, &["import", "hot", &cp932_path, "--partial"]), 0);
        let releases = db.store.releases(Some(Master::Hot)).expect("releases");
        // Same label, different bytes: a second revision, with no change at all.
        assert_eq!(releases.len(), 2);
        assert_eq!(releases[0].files[0].encoding, "utf-8-bom");
        assert_eq!(releases[1].files[0].encoding, "cp932");
        let (_, _, diff) = db
            .store
            .diff(Master::Hot, "20011214@1", "20011214@2")
            .expect("diff");
        assert!(
            diff.changes.is_empty(),
            "{} {:?}",
            db.name,
            &diff.changes[..diff.changes.len().min(3)]
        );
        let counts = |i: usize| -> Vec<(String, i64, i64)> {
            releases[i]
                .stats
                .iter()
                .map(|s| (s.system_key.clone(), s.row_count, s.code_count))
                .collect()
        };
        assert_eq!(counts(0), counts(1));
    }
}
