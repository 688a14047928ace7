//! Release completeness: a release missing one of its master's required files is refused
//! with the file named and nothing written; with `--partial` only the codes of the files
//! given are compared and every other row carries over unchanged.

use std::io::Read;
use std::path::{Path, PathBuf};

use hyojun::masters::{self, NoProgress, ParseOptions};
use hyojun::store::diff::Counts;
use hyojun::systems::Master;

use crate::support::{databases, fingerprint, hyojun, repo, TestDb};

fn hot_sample(rel: &str) -> String {
    repo().join("masters/hot").join(rel).display().to_string()
}

/// Copies one member of a sample zip out as a loose file.
fn unzipped(zip: &Path, member: &str, dir: &Path) -> PathBuf {
    let file = std::fs::File::open(zip).expect("sample zip");
    let mut archive = zip::ZipArchive::new(file).expect("zip");
    let mut bytes = Vec::new();
    archive
        .by_name(member)
        .expect("member")
        .read_to_end(&mut bytes)
        .expect("read member");
    let path = dir.join(member);
    std::fs::write(&path, bytes).expect("write member");
    path
}

fn summary(db: &TestDb, master: Master, from: &str, to: &str, system: &str) -> Counts {
    let (_, _, diff) = db.store.diff(master, from, to).expect("diff");
    diff.summary(master)
        .remove(system)
        .unwrap_or_else(|| panic!("{system} in the summary"))
}

fn zero() -> Counts {
    Counts {
        added: 0,
        removed: 0,
        changed: 0,
    }
}

#[test]
fn a_hot9_file_alone_is_refused_and_with_partial_retires_nothing_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = repo().join("masters/hot/h20260630.zip");
    let hot9 = unzipped(&zip, "MEDIS20260630_HOT9.TXT", dir.path());
    let hot9 = hot9.display().to_string();

    let problems =
        masters::parse_release(Master::Hot, &[&hot9], &ParseOptions::default(), &NoProgress)
            .expect_err("refused");
    assert_eq!(problems.total(), 1, "{problems}");
    let p = &problems.items()[0];
    assert_eq!(
        (p.kind, p.file.as_str()),
        ("incomplete_release", hot9.as_str())
    );
    assert_eq!(
        p.message,
        "the hot release has no standard file MEDIS{yyyymmdd}.TXT (HOT13) (given: HOT9 file \
         MEDIS{yyyymmdd}_HOT9.TXT); imported as it is, every code only that file carries would \
         be retired"
    );
    assert!(p.fix.contains("--partial"), "{}", p.fix);

    for db in databases("hot9_alone") {
        assert_eq!(
            hyojun(
                &db,
                &["import", "hot", &hot_sample("20260531"), "--activate"]
            ),
            0
        );
        let before = fingerprint(&db);
        assert_eq!(hyojun(&db, &["import", "hot", &hot9, "--activate"]), 1);
        assert_eq!(fingerprint(&db), before, "{}: nothing written", db.name);

        assert_eq!(
            hyojun(&db, &["import", "hot", &hot9, "--partial", "--activate"]),
            0
        );
        let release = db.store.find_release(Master::Hot, "20260630").expect("new");
        assert_eq!(release.carried_over.as_deref(), Some("hot13,hot9del"));
        let current = db.store.current_release(Master::Hot).expect("current");
        assert_eq!(current.map(|r| r.label).as_deref(), Some("20260630"));
        // Every HOT13 and JAN code stays as it was: no code only the standard file carries
        // is retired or removed.
        for system in ["hot13", "jan"] {
            assert_eq!(
                summary(&db, Master::Hot, "20260531", "20260630", system),
                zero(),
                "{} {system}",
                db.name
            );
        }
        // The HOT9 file's own codes are compared: the sample adds one HOT9.
        assert_eq!(
            summary(&db, Master::Hot, "20260531", "20260630", "hot9").added,
            1,
            "{}",
            db.name
        );

        // The complete release afterwards compares everything again.
        let del = hot_sample("h20260630_HOT9del.txt");
        let zip = zip.display().to_string();
        assert_eq!(
            hyojun(&db, &["import", "hot", &zip, &del, "--version", "20260701"]),
            0
        );
        let full = db
            .store
            .find_release(Master::Hot, "20260701")
            .expect("full");
        assert_eq!(full.carried_over, None);
    }
}

#[test]
fn a_jlac_workbook_alone_is_refused_and_with_partial_keeps_every_jlac11_code() {
    let sample = |rel: &str| repo().join("masters/jlac").join(rel);
    let book = sample("902/902_matome.xlsx").display().to_string();
    let problems = masters::parse_release(
        Master::Jlac,
        &[&book],
        &ParseOptions::default(),
        &NoProgress,
    )
    .expect_err("refused");
    let kinds: Vec<(&str, &str)> = problems
        .items()
        .iter()
        .map(|p| (p.kind, p.file.as_str()))
        .collect();
    assert_eq!(kinds, vec![("incomplete_release", book.as_str())]);
    assert!(problems.items()[0].message.starts_with(
        "the jlac release has no 共有項目JLACコードマスタ CSV (JLAC11) (given: まとめ表"
    ));

    for db in databases("jlac_book_alone") {
        let first = sample("901").display().to_string();
        assert_eq!(hyojun(&db, &["import", "jlac", &first, "--activate"]), 0);
        let before = fingerprint(&db);
        assert_eq!(hyojun(&db, &["import", "jlac", &book]), 1);
        assert_eq!(fingerprint(&db), before, "{}: nothing written", db.name);

        assert_eq!(hyojun(&db, &["import", "jlac", &book, "--partial"]), 0);
        let release = db.store.find_release(Master::Jlac, "902").expect("902");
        assert_eq!(release.carried_over.as_deref(), Some("kyoyu"));
        assert_eq!(
            summary(&db, Master::Jlac, "901", "902", "jlac11"),
            zero(),
            "{}: every JLAC11 code carries over",
            db.name
        );
    }
}

#[test]
fn a_complete_release_given_with_partial_is_complete() {
    let parsed = masters::parse_release(
        Master::Hot,
        &[hot_sample("20260531")],
        &ParseOptions {
            partial: true,
            ..ParseOptions::default()
        },
        &NoProgress,
    )
    .expect("parse");
    assert_eq!(parsed.scope, masters::Scope::Complete);
}
