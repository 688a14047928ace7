//! Limits from the environment, and the README table of them.

use super::*;

#[test]
fn a_bad_limit_in_the_environment_is_a_clear_exit_1() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("db.sqlite3");
    let sample = repo().join("masters/hot/20260531");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hyojun"))
        .args([
            "--database-url",
            db.to_str().expect("path"),
            "import",
            "hot",
        ])
        .arg(&sample)
        .env("HYOJUN_MAX_NAME_CHARS", "lots")
        .output()
        .expect("run hyojun");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "HYOJUN_MAX_NAME_CHARS=lots is not a usable limit: give a whole number greater than 0"
        ),
        "{stderr}"
    );
    // A good value is used: a name limit of 5 refuses the sample's names.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hyojun"))
        .args([
            "--database-url",
            db.to_str().expect("path"),
            "import",
            "hot",
        ])
        .arg(&sample)
        .env("HYOJUN_MAX_NAME_CHARS", "5")
        .output()
        .expect("run hyojun");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the limit is 5 characters (HYOJUN_MAX_NAME_CHARS)"),
        "{stderr}"
    );
}

/// The README's "Limits" table: (variable, default) per row, in order.
fn readme_limits() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let section = readme
        .split("\n### Limits\n")
        .nth(1)
        .expect("a ### Limits section in README.md");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_owned(),
                cells[2].trim_matches('`').to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_readme_lists_every_limit_with_its_default() {
    let rows = readme_limits();
    let variables: Vec<&str> = rows.iter().map(|(v, _)| v.as_str()).collect();
    let expected: Vec<&str> = Limit::ALL.iter().map(|l| l.env()).collect();
    assert_eq!(
        variables, expected,
        "README.md's Limits table and src/limits.rs"
    );
    for ((variable, default), limit) in rows.iter().zip(Limit::ALL) {
        // The default as written is what the variable would be set to.
        let parsed = Limits::from_vars(|name| (name == variable).then(|| default.clone()))
            .unwrap_or_else(|e| panic!("README default of {variable}: {e}"));
        assert_eq!(
            parsed.get(*limit),
            limit.default_value(),
            "README default of {variable}"
        );
    }
}
