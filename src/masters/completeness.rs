//! Which files make a complete release of each master, and what a partial import compares.
//!
//! A release missing one of its master's required files is refused with the missing file
//! named: importing a HOT9 file alone as if it were the release would retire every HOT13
//! and JAN code, a まとめ表 workbook alone every JLAC11 code. With `--partial` the admin says
//! the files are knowingly part of a release: then only the rows the given files carry are
//! compared with the previous release, and every other row is carried over unchanged.
//! 病名 and 看護 releases are always whole (their tables refer to each other).

use super::problem::{Problem, Problems};
use crate::systems::Master;

/// One kind of file of a master's release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRole {
    /// The role key stored with the release's file list (`hot13`, `kyoyu`, …).
    pub key: &'static str,
    /// How people know the file.
    pub title: &'static str,
    /// A complete release has one.
    pub required: bool,
}

/// The kinds of file a release of `master` is made of (its descriptor's `files`). 病名 and
/// 看護 check their own file sets (every table is required and partial imports do not apply):
/// none are listed for them.
pub fn roles(master: Master) -> &'static [FileRole] {
    super::descriptor(master).files
}

/// The file role a stored row version came from (for partial imports), from its code
/// system and row key as the parsers build them (its descriptor's `row_role`).
pub fn row_role(master: Master, system: &str, row_key: &str) -> Option<&'static str> {
    (super::descriptor(master).row_role)(system, row_key)
}

/// What a release's file set means for its import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every required file is there: the release replaces the previous one whole.
    Complete,
    /// `--partial` with files missing: only rows of these roles are compared; the others
    /// carry over from the previous release.
    Partial(Vec<&'static str>),
}

/// Checks that the roles given make a complete release of `master`. Without `partial`, each
/// missing required file is a problem (on `first_file`, the first input, so the admin knows
/// which import it is); with `partial`, the release is taken as the roles given.
pub fn check(
    master: Master,
    given: &[&str],
    partial: bool,
    first_file: &str,
    problems: &mut Problems,
) -> Scope {
    let all = roles(master);
    let missing: Vec<&FileRole> = all
        .iter()
        .filter(|r| r.required && !given.contains(&r.key))
        .collect();
    if missing.is_empty() {
        return Scope::Complete;
    }
    if partial {
        return Scope::Partial(
            all.iter()
                .map(|r| r.key)
                .filter(|k| given.contains(k))
                .collect(),
        );
    }
    let given_titles: Vec<&str> = all
        .iter()
        .filter(|r| given.contains(&r.key))
        .map(|r| r.title)
        .collect();
    for role in missing {
        problems.push(Problem::file(
            first_file,
            "incomplete_release",
            format!(
                "the {master} release has no {} (given: {}); imported as it is, every code only that file carries would be retired",
                role.title,
                given_titles.join(", ")
            ),
            "give every file of the release; or, if only part of it is meant to change, import with --partial (the `partial` form field of an upload): only the codes of the files given are compared and nothing else is retired",
        ));
    }
    Scope::Complete
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_named_unless_partial() {
        let mut problems = Problems::default();
        let scope = check(Master::Hot, &["hot9"], false, "a.TXT", &mut problems);
        assert_eq!(scope, Scope::Complete);
        assert_eq!(problems.total(), 1);
        let p = &problems.items()[0];
        assert_eq!((p.kind, p.file.as_str()), ("incomplete_release", "a.TXT"));
        assert!(p.message.starts_with(
            "the hot release has no standard file MEDIS{yyyymmdd}.TXT (HOT13) (given: HOT9 file"
        ));

        let mut problems = Problems::default();
        let scope = check(Master::Hot, &["hot9", "hot9del"], true, "a", &mut problems);
        assert_eq!(scope, Scope::Partial(vec!["hot9", "hot9del"]));
        assert!(problems.is_empty());

        let scope = check(Master::Jlac, &["matome", "kyoyu"], true, "a", &mut problems);
        assert_eq!(
            scope,
            Scope::Complete,
            "partial with every file is complete"
        );
        let scope = check(Master::Hot, &["hot13", "hot9"], false, "a", &mut problems);
        assert_eq!(scope, Scope::Complete, "the deletion list is optional");
        assert!(problems.is_empty());
    }

    #[test]
    fn stored_rows_map_to_their_file() {
        assert_eq!(
            row_role(Master::Hot, "hot9", "deleted:123456701"),
            Some("hot9del")
        );
        assert_eq!(
            row_role(Master::Hot, "hot9", "123456701:abcdef"),
            Some("hot9")
        );
        assert_eq!(
            row_role(Master::Hot, "hot13", "1234567010101"),
            Some("hot13")
        );
        assert_eq!(row_role(Master::Jlac, "jlac11", "x"), Some("kyoyu"));
        assert_eq!(row_role(Master::Byomei, "byomei", "byomei:1"), None);
    }
}
