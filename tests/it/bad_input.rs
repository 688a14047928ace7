//! Bad input: each case is refused with a problem that names file, line and column, the
//! command exits non-zero, and the database is exactly as before.

use std::path::{Path, PathBuf};

use hyojun::masters::{self, NoProgress, Problems};
use hyojun::systems::Master;

use crate::support::{databases, fingerprint, hyojun, repo, write_cp932};

fn sample_text(name: &str) -> String {
    let bytes = std::fs::read(repo().join("masters/hot/20260531").join(name)).expect("sample");
    encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned()
}

/// Imports the first sample release, then tries `paths`: asserts exit code 1 and an untouched
/// database on both backends, and returns the parser's problems for the caller to check.
fn rejected(paths: &[PathBuf]) -> Problems {
    let args: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    for db in databases("bad_input") {
        let first = repo().join("masters/hot/20260531").display().to_string();
        assert_eq!(hyojun(&db, &["import", "hot", &first, "--activate"]), 0);
        let before = fingerprint(&db);
        let mut argv = vec!["import", "hot"];
        argv.extend(args.iter().map(String::as_str));
        assert_eq!(hyojun(&db, &argv), 1, "{} {args:?}", db.name);
        assert_eq!(
            fingerprint(&db),
            before,
            "{}: the database changed",
            db.name
        );
        let current = db
            .store
            .current_release(Master::Hot)
            .expect("current")
            .expect("served");
        assert_eq!(
            current.label, "20260531",
            "the previous release keeps serving"
        );
    }
    masters::parse_release(
        Master::Hot,
        paths,
        &masters::ParseOptions::default(),
        &NoProgress,
    )
    .expect_err("must be refused")
}

fn only(problems: &Problems) -> &masters::Problem {
    assert_eq!(problems.total(), 1, "{problems}");
    &problems.items()[0]
}

/// A release of `text` as its standard file and the sample's (sound) HOT9 file, so that the
/// problems found are the standard file's own.
fn standard_file(dir: &Path, text: &str) -> Vec<PathBuf> {
    let path = dir.join("MEDIS20260630.TXT");
    write_cp932(&path, text);
    let hot9 = dir.join("MEDIS20260630_HOT9.TXT");
    write_cp932(&hot9, &sample_text("MEDIS20260531_HOT9.TXT"));
    vec![path, hot9]
}

#[test]
fn truncated_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = sample_text("MEDIS20260531.TXT");
    let body = text.trim_end_matches(['\u{1A}', '\r', '\n']);
    let cut = &body[..body.len() - 12];
    let lines = cut.lines().count() as u64;
    let problems = rejected(&standard_file(dir.path(), cut));
    let p = only(&problems);
    assert_eq!((p.kind, p.line), ("truncated", Some(lines)));
    assert!(p.file.ends_with("MEDIS20260630.TXT"));
}

#[test]
fn wrong_column_count() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut lines: Vec<String> = sample_text("MEDIS20260531.TXT")
        .lines()
        .map(str::to_owned)
        .collect();
    lines[4] = lines[4].replacen(",", "", 1);
    let problems = rejected(&standard_file(dir.path(), &lines.join("\n")));
    let p = only(&problems);
    assert_eq!((p.kind, p.line), ("column_count", Some(5)));
    assert!(p.message.contains("23 columns"), "{}", p.message);
    assert!(p.to_string().contains("line 5"), "{p}");
}

#[test]
fn invalid_cp932_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("MEDIS20260630.TXT");
    write_cp932(&path, &sample_text("MEDIS20260531.TXT"));
    let mut bytes = std::fs::read(&path).expect("read");
    let line3 = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("three lines");
    bytes.splice(line3 + 1..line3 + 1, [0x82, 0xFF]);
    std::fs::write(&path, bytes).expect("write");
    let problems = rejected(&[path]);
    let p = only(&problems);
    assert_eq!((p.kind, p.line), ("invalid_encoding", Some(3)));
    assert!(p.message.contains("82 FF at byte 2"), "{}", p.message);
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("MEDIS20260630.TXT");
    std::fs::write(&path, b"").expect("write");
    let problems = rejected(&[path]);
    assert_eq!(only(&problems).kind, "empty_file");
}

#[test]
fn zip_with_the_wrong_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("h20260630.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("readme.txt", options).expect("member");
    std::io::Write::write_all(&mut zip, b"sample").expect("write");
    zip.start_file("layout.pdf", options).expect("member");
    std::io::Write::write_all(&mut zip, b"%PDF-1.4").expect("write");
    zip.finish().expect("finish");
    let problems = rejected(&[path]);
    let p = only(&problems);
    assert_eq!(p.kind, "no_hot_data");
    assert!(
        p.message.contains("readme.txt") && p.message.contains("layout.pdf"),
        "{}",
        p.message
    );
}

#[test]
fn header_that_is_not_hot() {
    let dir = tempfile::tempdir().expect("tmp");
    // A 病名 nmain row: no header, 20 columns.
    let byomei = "\"0\",\"20058678\",\"急性膵炎\",\"キュウセイスイエン\",\"1\",\"VK0H\",\"K859\",\"\",\"\",\"\",\"5770013\",\"急性膵炎\",\"1\",\"201\",\"20150101\",\"\",\"00\",\"0\",\"\",\"\"\n";
    let problems = rejected(&standard_file(dir.path(), byomei));
    let p = only(&problems);
    assert_eq!(
        (p.kind, p.line, p.column),
        ("not_hot_header", Some(1), Some(1))
    );
}

#[test]
fn duplicate_hot13_keys() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = sample_text("MEDIS20260531.TXT");
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('\u{1A}')).collect();
    let third = lines[2];
    lines.push(third);
    let total = lines.len() as u64;
    let problems = rejected(&standard_file(dir.path(), &lines.join("\n")));
    let p = only(&problems);
    assert_eq!(
        (p.kind, p.line, p.column),
        ("duplicate_key", Some(total), Some(1))
    );
    assert!(p.message.contains("already on line 3"), "{}", p.message);
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut lines: Vec<String> = sample_text("MEDIS20260531.TXT")
        .lines()
        .map(str::to_owned)
        .collect();
    lines[2] = lines[2].replacen(",", "", 1);
    lines[6] = lines[6].replacen("\"9", "\"X", 1);
    let problems = rejected(&standard_file(dir.path(), &lines.join("\n")));
    let found: Vec<(&str, Option<u64>)> =
        problems.items().iter().map(|p| (p.kind, p.line)).collect();
    assert_eq!(
        found,
        vec![("column_count", Some(3)), ("bad_code", Some(7))]
    );
}

#[test]
fn a_failure_inside_the_write_transaction_rolls_everything_back() {
    // Two rows claiming one identity can only come from a bug; the store must still refuse
    // the release after it has begun writing, and leave nothing behind.
    let second = [
        repo().join("masters/hot/h20260630.zip"),
        repo().join("masters/hot/h20260630_HOT9del.txt"),
    ];
    for db in databases("rollback") {
        let first = repo().join("masters/hot/20260531").display().to_string();
        assert_eq!(hyojun(&db, &["import", "hot", &first, "--activate"]), 0);
        let before = fingerprint(&db);
        let mut parsed = masters::parse_release(
            Master::Hot,
            &second,
            &masters::ParseOptions::default(),
            &NoProgress,
        )
        .expect("parse");
        let twin = parsed.records[5].clone();
        parsed.records.push(twin);
        let err = hyojun::app::releases::import(&db.store, "test", &parsed, true, None)
            .expect_err("refused");
        assert!(err.to_string().contains("share the identity"), "{err}");
        assert_eq!(fingerprint(&db), before, "{}", db.name);
    }
}

#[test]
fn problems_are_capped_but_all_counted() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = sample_text("MEDIS20260531.TXT");
    let mut lines: Vec<String> = text.lines().take(2).map(str::to_owned).collect();
    let template = lines[1].clone();
    for _ in 0..300 {
        // 300 rows whose HOT13 is not all digits: every one is a problem.
        lines.push(template.replacen("\"9", "\"X", 1));
    }
    let paths = standard_file(dir.path(), &lines.join("\n"));
    let problems = masters::parse_release(
        Master::Hot,
        &paths,
        &masters::ParseOptions::default(),
        &NoProgress,
    )
    .expect_err("refused");
    assert_eq!(problems.total(), 300);
    assert_eq!(problems.items().len(), masters::problem::PROBLEM_CAP);
    assert!(
        problems
            .to_string()
            .contains("100 more problems not listed"),
        "{problems}"
    );
}
