//! Hostile and malformed master files: workbooks that claim a huge range, zip bombs, inputs
//! that are not regular files, files in the wrong encoding, rows, columns and fields past
//! their limits, control characters and escape sequences. Each is refused with one clear
//! problem that names where and which limit; through the CLI the command exits 1 and the
//! database is exactly as before, on both backends.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hyojun::limits::{group_digits, Limit, Limits};
use hyojun::masters::{self, NoProgress, Problem, Problems, SourceFile};
use hyojun::systems::Master;

use crate::support::{databases, fingerprint, hyojun, repo, write_cp932};

mod archives;
mod encodings;
mod fields;
mod inputs;
mod settings;
mod workbooks;
mod zips;

// Shared by the submodules: the CLI and parser drivers.

/// On both backends: imports `first` of `master`, then tries every case through the CLI and
/// asserts exit code 1 and an untouched database each time. Returns each case's problems as
/// the parser gives them with the default limits (what the CLI used). Cases are read as
/// partial releases (`--partial`): each is about the content of the files it gives, not
/// about which files a release needs (tests/it/completeness.rs).
fn refused(master: Master, first: &[PathBuf], cases: &[Vec<PathBuf>]) -> Vec<Problems> {
    let key = master.to_string();
    let strings = |paths: &[PathBuf]| -> Vec<String> {
        paths.iter().map(|p| p.display().to_string()).collect()
    };
    for db in databases("hostile") {
        let mut argv = vec!["import", key.as_str()];
        let first = strings(first);
        argv.extend(first.iter().map(String::as_str));
        argv.extend(["--activate", "--partial"]);
        assert_eq!(
            hyojun(&db, &argv),
            0,
            "{}: the first release imports",
            db.name
        );
        let before = fingerprint(&db);
        for case in cases {
            let args = strings(case);
            let mut argv = vec!["import", key.as_str()];
            argv.extend(args.iter().map(String::as_str));
            argv.push("--partial");
            assert_eq!(hyojun(&db, &argv), 1, "{} {args:?}", db.name);
            assert_eq!(
                fingerprint(&db),
                before,
                "{}: {args:?} changed the database",
                db.name
            );
        }
    }
    cases
        .iter()
        .map(|case| parse(master, case, Limits::default()))
        .collect()
}

fn parse(master: Master, paths: &[PathBuf], limits: Limits) -> Problems {
    let options = masters::ParseOptions {
        limits,
        partial: true,
        ..masters::ParseOptions::default()
    };
    masters::parse_release(master, paths, &options, &NoProgress).expect_err("must be refused")
}

fn parse_sources(master: Master, sources: &[SourceFile], limits: Limits) -> Problems {
    let options = masters::ParseOptions {
        limits,
        partial: true,
        ..masters::ParseOptions::default()
    };
    masters::parse_sources(master, sources, &options, &NoProgress).expect_err("must be refused")
}

fn only(problems: &Problems) -> &Problem {
    assert_eq!(problems.total(), 1, "{problems}");
    &problems.items()[0]
}

fn hot_first() -> Vec<PathBuf> {
    vec![repo().join("masters/hot/20260531")]
}

fn hot_sample_text() -> String {
    let path = repo().join("masters/hot/20260531/MEDIS20260531.TXT");
    let bytes = std::fs::read(path).expect("sample");
    encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned()
}

/// The HOT sample with line `line` (1-based) changed by `edit` on its fields.
fn hot_text_with(line: usize, edit: impl Fn(&mut Vec<String>)) -> String {
    let text = hot_sample_text();
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
    let mut fields: Vec<String> = lines[line - 1].split(',').map(str::to_owned).collect();
    edit(&mut fields);
    lines[line - 1] = fields.join(",");
    lines.join("\r\n")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

fn limits(set: &[(Limit, u64)]) -> Limits {
    let mut limits = Limits::default();
    for (limit, value) in set {
        limits.set(*limit, *value);
    }
    limits
}

const MIB: usize = 1024 * 1024;
