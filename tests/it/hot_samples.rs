//! The sample HOT releases in `masters/hot/`: change sets, no-op re-imports, revisions,
//! ordering and activation.

use std::collections::BTreeMap;
use std::path::Path;

use hyojun::store::diff::ChangeKind;
use hyojun::systems::Master;

use crate::support::{
    assert_expected_changes, databases, fingerprint, hyojun, repo, write_cp932, TestDb,
};

fn masters(rel: &str) -> String {
    repo().join("masters/hot").join(rel).display().to_string()
}

fn import_first(db: &TestDb) {
    assert_eq!(
        hyojun(db, &["import", "hot", &masters("20260531"), "--activate"]),
        0,
        "{}",
        db.name
    );
}

fn import_second(db: &TestDb) {
    let args = [
        "import",
        "hot",
        &masters("h20260630.zip"),
        &masters("h20260630_HOT9del.txt"),
    ];
    assert_eq!(hyojun(db, &args), 0, "{}", db.name);
}

#[test]
fn sample_releases_give_the_expected_change_set() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(masters("EXPECTED.json")).expect("EXPECTED.json"),
    )
    .expect("json");
    for db in databases("samples") {
        import_first(&db);
        import_second(&db);
        let (from, to, diff) = db
            .store
            .diff(Master::Hot, "20260531", "20260630")
            .expect("diff");
        assert_eq!(
            (from.label.as_str(), to.label.as_str()),
            ("20260531", "20260630")
        );
        assert_expected_changes(&db, &diff, &to, &expected, &["hot13", "hot9", "hot7", "yj"]);

        // The stored change set is the same as the computed one.
        let stored = db.store.change_set(&to).expect("change set");
        assert_eq!(stored.len(), diff.changes.len(), "{}", db.name);
        let stored: BTreeMap<(String, String), String> = stored
            .into_iter()
            .map(|c| ((c.system_key, c.code), c.kind))
            .collect();
        for c in &diff.changes {
            assert_eq!(
                stored.get(&(c.system.clone(), c.code.clone())),
                Some(&c.kind.as_str().to_owned())
            );
        }

        // A renamed generic: the field-level change names old and new values.
        let renamed = diff
            .changes
            .iter()
            .find(|c| c.system == "hot13" && c.code == "9002005010101")
            .expect("renamed HOT13");
        let notice = renamed
            .fields
            .iter()
            .find(|f| f.field == "notice_name")
            .expect("notice_name");
        assert_eq!(
            notice.old.as_deref(),
            Some("ヒョウジュンロン１０ｍｇ錠－ＧＥ")
        );
        assert_eq!(notice.new.as_deref(), Some("ヒョウジュンロン１０ｍｇ錠"));

        // Deleted HOT9 codes stay answerable, as retired, whether or not the files still list them.
        for code in ["900101502", "900903501"] {
            let rows = db.store.lookup(&to, "hot9", code).expect("lookup");
            assert!(!rows.is_empty(), "{} {code}", db.name);
            assert!(rows
                .iter()
                .filter(|r| r.system_key == "hot9")
                .all(|r| r.status == "retired"));
        }
        // …and in the earlier release they are still active.
        let rows = db.store.lookup(&from, "hot9", "900903501").expect("lookup");
        assert!(rows.iter().all(|r| r.status == "active") && !rows.is_empty());

        // The second release was not activated: the first one still serves.
        let current = db
            .store
            .current_release(Master::Hot)
            .expect("current")
            .expect("some");
        assert_eq!(current.label, "20260531");
        assert_eq!(hyojun(&db, &["activate", "hot", "20260630"]), 0);
        let (_, audit) = db.store.audit_entries(10, 0).expect("audit");
        assert_eq!(
            (
                audit[0].action.as_str(),
                audit[0].target.as_str(),
                audit[0].outcome.as_str()
            ),
            ("activate_release", "hot:20260630", "ok")
        );
        assert_eq!(hyojun(&db, &["activate", "hot", "19990101"]), 4);
        let (_, audit) = db.store.audit_entries(1, 0).expect("audit");
        assert_eq!(
            (audit[0].action.as_str(), audit[0].outcome.as_str()),
            ("activate_release", "refused")
        );
        let current = db
            .store
            .current_release(Master::Hot)
            .expect("current")
            .expect("some");
        assert_eq!(current.label, "20260630");
    }
}

#[test]
fn unchanged_rows_are_stored_once() {
    for db in databases("stored_once") {
        import_first(&db);
        import_second(&db);
        let releases = db.store.releases(Some(Master::Hot)).expect("releases");
        let first = &releases[0].release;
        let second = &releases[1].release;
        let a = db.store.rows_at(first).expect("rows");
        let b = db.store.rows_at(second).expect("rows");
        let shared = a.iter().filter(|r| b.iter().any(|s| s.id == r.id)).count();
        // 31 HOT13 + 16 HOT9-file rows in the first release; the unchanged ones are shared.
        assert_eq!(a.len(), 47);
        assert_eq!(b.len(), 31 + 16 + 2);
        assert_eq!(shared, 47 - 19, "{}", db.name);
    }
}

#[test]
fn reimporting_identical_files_is_a_noop_loose_or_zipped() {
    for db in databases("noop") {
        import_first(&db);
        import_second(&db);
        let before = fingerprint(&db);
        import_first(&db);
        import_second(&db);
        // The zip's members given as loose files are the same bytes: still nothing to do.
        let dir = tempfile::tempdir().expect("tmp");
        let zip = std::fs::read(masters("h20260630.zip")).expect("zip");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("archive");
        archive.extract(dir.path()).expect("extract");
        let loose = [
            dir.path().join("MEDIS20260630.TXT").display().to_string(),
            dir.path()
                .join("MEDIS20260630_HOT9.TXT")
                .display()
                .to_string(),
            masters("h20260630_HOT9del.txt"),
        ];
        assert_eq!(
            hyojun(&db, &["import", "hot", &loose[0], &loose[1], &loose[2]]),
            0
        );
        assert_eq!(fingerprint(&db), before, "{}", db.name);
    }
}

/// The first sample release with one HOT13 renamed, as MEDIS re-issuing corrected data.
fn corrected_first_release(dir: &Path) -> String {
    let out = dir.join("20260531");
    std::fs::create_dir_all(&out).expect("dir");
    let std_file = std::fs::read(masters("20260531/MEDIS20260531.TXT")).expect("read");
    let text = encoding_rs::SHIFT_JIS.decode(&std_file).0.into_owned();
    let corrected = text.replacen(
        "ヒョウジュン錠２０ｍｇ\"",
        "ヒョウジュン錠２０ｍｇ（訂正）\"",
        1,
    );
    assert_ne!(corrected, text);
    write_cp932(&out.join("MEDIS20260531.TXT"), &corrected);
    std::fs::copy(
        masters("20260531/MEDIS20260531_HOT9.TXT"),
        out.join("MEDIS20260531_HOT9.TXT"),
    )
    .expect("copy");
    out.display().to_string()
}

#[test]
fn different_content_under_an_existing_label_is_a_new_revision() {
    for db in databases("revision") {
        import_first(&db);
        let dir = tempfile::tempdir().expect("tmp");
        let corrected = corrected_first_release(dir.path());
        assert_eq!(hyojun(&db, &["import", "hot", &corrected]), 0);
        let releases = db.store.releases(Some(Master::Hot)).expect("releases");
        assert_eq!(releases.len(), 2);
        assert_eq!(
            (
                releases[0].release.revision,
                releases[0].release.state.as_str()
            ),
            (1, "superseded")
        );
        assert_eq!(
            (
                releases[1].release.revision,
                releases[1].release.state.as_str()
            ),
            (2, "ready")
        );
        // The revision replaced the current one, so it serves now.
        assert!(releases[1].current && !releases[0].current, "{}", db.name);
        let (_, _, diff) = db
            .store
            .diff(Master::Hot, "20260531@1", "20260531@2")
            .expect("diff");
        let hot13: Vec<_> = diff
            .changes
            .iter()
            .filter(|c| c.system == "hot13")
            .collect();
        assert_eq!(hot13.len(), 1, "{}", db.name);
        assert_eq!(hot13[0].kind, ChangeKind::Changed);
        // Revision 1 is still readable as it was.
        let rev1 = db
            .store
            .find_release(Master::Hot, "20260531@1")
            .expect("rev 1");
        let rows = db
            .store
            .lookup(&rev1, "hot13", &hot13[0].code)
            .expect("lookup");
        assert_eq!(rows[0].display, "ヒョウジュン錠２０ｍｇ");
    }
}

#[test]
fn out_of_order_imports_are_refused_and_change_nothing() {
    for db in databases("order") {
        import_second(&db);
        let before = fingerprint(&db);
        assert_eq!(
            hyojun(&db, &["import", "hot", &masters("20260531")]),
            3,
            "{}",
            db.name
        );
        assert_eq!(fingerprint(&db), before);
    }
    // A corrected revision of a label that is no longer the newest is refused too.
    for db in databases("old_revision") {
        import_first(&db);
        import_second(&db);
        let before = fingerprint(&db);
        let dir = tempfile::tempdir().expect("tmp");
        let corrected = corrected_first_release(dir.path());
        assert_eq!(
            hyojun(&db, &["import", "hot", &corrected]),
            3,
            "{}",
            db.name
        );
        assert_eq!(fingerprint(&db), before);
    }
}

#[test]
fn diff_document_counts_distinct_codes_per_system() {
    for db in databases("diff_json") {
        import_first(&db);
        import_second(&db);
        let (from, to, diff) = db
            .store
            .diff(Master::Hot, "20260531", "20260630")
            .expect("diff");
        let doc = serde_json::to_value(diff.document(Master::Hot, &from, &to)).expect("json");
        assert_eq!(doc["master"], "hot");
        assert_eq!(
            (doc["from"]["label"].as_str(), doc["to"]["label"].as_str()),
            (Some("20260531"), Some("20260630"))
        );
        let counts = |system: &str| {
            let c = &doc["summary"][system];
            (
                c["added"].as_u64(),
                c["removed"].as_u64(),
                c["changed"].as_u64(),
            )
        };
        assert_eq!(counts("hot13"), (Some(3), Some(3), Some(10)), "{}", db.name);
        assert_eq!(counts("hot9"), (Some(1), Some(0), Some(8)));
        assert_eq!(counts("hot7"), (Some(1), Some(0), Some(6)));
        assert_eq!(counts("yj"), (Some(2), Some(2), Some(5)));
        // Lists: added codes carry no fields, changed codes list old → new.
        assert_eq!(doc["changes"]["hot9"]["added"][0]["code"], "901208001");
        assert!(doc["changes"]["hot9"]["added"][0].get("fields").is_none());
        let yj_fix = doc["changes"]["hot9"]["changed"]
            .as_array()
            .expect("changed")
            .iter()
            .find(|c| c["code"] == "900507501")
            .expect("YJ correction");
        assert!(yj_fix["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .any(|f| f["field"] == "yj_code"
                && f["old"] == "2646901M1027"
                && f["new"] == "2646901M1035"));
        // Reverse direction: what was added is now removed.
        let (_, _, back) = db
            .store
            .diff(Master::Hot, "20260630", "20260531")
            .expect("diff");
        let summary = back.summary(Master::Hot);
        assert_eq!(
            (
                summary["hot13"].added,
                summary["hot13"].removed,
                summary["hot13"].changed
            ),
            (3, 3, 10)
        );
    }
}

#[test]
fn concurrent_imports_of_one_release_store_it_once() {
    for db in databases("concurrent") {
        let path = repo().join("masters/hot/20260531");
        let parsed = hyojun::masters::parse_release(
            Master::Hot,
            &[&path],
            &hyojun::masters::ParseOptions::default(),
            &hyojun::masters::NoProgress,
        )
        .expect("parse");
        let outcomes: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        hyojun::app::releases::import(&db.store, "test", &parsed, false, None)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread").expect("import").outcome)
                .collect()
        });
        use hyojun::store::import::ImportOutcome::{Created, Unchanged};
        assert_eq!(
            outcomes.iter().filter(|o| **o == Created).count(),
            1,
            "{} {outcomes:?}",
            db.name
        );
        assert_eq!(outcomes.iter().filter(|o| **o == Unchanged).count(), 2);
        assert_eq!(db.store.releases(None).expect("releases").len(), 1);
    }
}

#[test]
fn failing_hot7_check_digits_are_imported_and_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("20260531");
    std::fs::create_dir_all(&out).expect("dir");
    let text = encoding_rs::SHIFT_JIS
        .decode(&std::fs::read(masters("20260531/MEDIS20260531.TXT")).expect("read"))
        .0
        .into_owned();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Line 4: give the HOT7 (and the HOT13 that starts with it) a wrong check digit.
    let fields: Vec<&str> = lines[3].split(',').collect();
    let hot13 = fields[0].trim_matches('"').to_owned();
    let hot7 = fields[1].trim_matches('"').to_owned();
    let bad_digit = (hot7.as_bytes()[6] - b'0' + 1) % 10;
    let bad7 = format!("{}{bad_digit}", &hot7[..6]);
    let bad13 = format!("{bad7}{}", &hot13[7..]);
    lines[3] = lines[3].replacen(&hot13, &bad13, 1).replacen(
        &format!("\"{hot7}\""),
        &format!("\"{bad7}\""),
        1,
    );
    write_cp932(&out.join("MEDIS20260531.TXT"), &lines.join("\n"));
    std::fs::copy(
        masters("20260531/MEDIS20260531_HOT9.TXT"),
        out.join("MEDIS20260531_HOT9.TXT"),
    )
    .expect("copy");
    let path = out.display().to_string();
    for db in databases("check_digit") {
        assert_eq!(hyojun(&db, &["import", "hot", &path]), 0, "{}", db.name);
        let release = db
            .store
            .find_release(Master::Hot, "20260531")
            .expect("release");
        let notices = db.store.notices(&release).expect("notices");
        let check: Vec<_> = notices
            .iter()
            .filter(|n| n.kind == "hot7_check_digit")
            .collect();
        assert_eq!(check.len(), 1, "{} {notices:?}", db.name);
        assert_eq!(check[0].line, Some(4));
        assert!(check[0].message.contains(&bad7));
        // The code is imported as published.
        assert_eq!(
            db.store
                .lookup(&release, "hot7", &bad7)
                .expect("lookup")
                .len(),
            1
        );
    }
}

#[test]
fn activate_on_an_identical_reimport_serves_that_release() {
    for db in databases("reactivate") {
        import_first(&db);
        import_second(&db);
        assert_eq!(
            db.store
                .current_release(Master::Hot)
                .expect("current")
                .expect("some")
                .label,
            "20260531"
        );
        let args = [
            "import",
            "hot",
            &masters("h20260630.zip"),
            &masters("h20260630_HOT9del.txt"),
            "--activate",
        ];
        assert_eq!(hyojun(&db, &args), 0);
        assert_eq!(
            db.store
                .releases(Some(Master::Hot))
                .expect("releases")
                .len(),
            2,
            "nothing imported again"
        );
        assert_eq!(
            db.store
                .current_release(Master::Hot)
                .expect("current")
                .expect("some")
                .label,
            "20260630",
            "{}",
            db.name
        );
    }
}
