//! Problems found in master files: where, what is wrong and how to fix it.

use std::fmt;

use serde::Serialize;

use crate::limits::{Limit, Limits};

/// How many problems an import report lists before it only counts the rest.
pub const PROBLEM_CAP: usize = 200;

/// One problem in an input file, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// File name as the user gave it (zip members as `archive.zip:member`).
    pub file: String,
    /// 1-based line number, when the problem is on a line.
    pub line: Option<u64>,
    /// 1-based column (CSV field) number, when the problem is in one field.
    pub column: Option<usize>,
    /// The column's header title, when known.
    pub column_name: Option<String>,
    /// Stable machine-readable kind, e.g. `column_count` or `hot7_check_digit`.
    pub kind: &'static str,
    /// What is wrong.
    pub message: String,
    /// What would fix it.
    pub fix: String,
}

impl Problem {
    /// A problem about a whole file.
    pub fn file(file: &str, kind: &'static str, message: String, fix: impl Into<String>) -> Self {
        Problem {
            file: file.to_owned(),
            line: None,
            column: None,
            column_name: None,
            kind,
            message,
            fix: fix.into(),
        }
    }

    /// A problem on one line of a file.
    pub fn line(
        file: &str,
        line: u64,
        kind: &'static str,
        message: String,
        fix: impl Into<String>,
    ) -> Self {
        Problem {
            line: Some(line),
            ..Problem::file(file, kind, message, fix)
        }
    }

    /// A file that goes past one of the limits: `found` says what it holds, the message adds
    /// the limit ([`Limits::describe`]) and the fix says how to raise it ([`Limits::fix`]).
    pub fn over_limit(
        file: &str,
        kind: &'static str,
        found: String,
        limits: &Limits,
        limit: Limit,
    ) -> Self {
        Problem::file(
            file,
            kind,
            format!("{found}; {}", limits.describe(limit)),
            limits.fix(limit),
        )
    }

    /// The problem, located on one line.
    pub fn on_line(self, line: u64) -> Self {
        Problem {
            line: Some(line),
            ..self
        }
    }

    /// The problem, located in one field of one line.
    pub fn in_field(self, line: u64, column: usize, column_name: &str) -> Self {
        Problem {
            line: Some(line),
            column: Some(column),
            column_name: Some(column_name.to_owned()),
            ..self
        }
    }

    /// A problem in one field of one line.
    pub fn field(
        file: &str,
        line: u64,
        column: usize,
        column_name: &str,
        kind: &'static str,
        message: String,
        fix: impl Into<String>,
    ) -> Self {
        Problem {
            line: Some(line),
            column: Some(column),
            column_name: Some(column_name.to_owned()),
            ..Problem::file(file, kind, message, fix)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
            if let Some(name) = &self.column_name {
                write!(f, " ({name})")?;
            }
        }
        write!(f, ": {}", self.message)?;
        if !self.fix.is_empty() {
            write!(f, " — fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// Names of input files as a message lists them: each by its own name (no folders; a zip
/// member as `archive.zip:member`), escaped, at most eight, then how many more; `nothing`
/// for none.
pub fn listing<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 8;
    let tail = |s: &str| super::input::base_name(s, false).to_owned();
    let short = |name: &str| {
        let shown = match name.split_once(".zip:") {
            Some((archive, member)) => format!("{}.zip:{}", tail(archive), tail(member)),
            None => tail(name),
        };
        crate::excerpt::excerpt(&shown)
    };
    let names: Vec<&str> = names.into_iter().collect();
    if names.is_empty() {
        return "nothing".to_owned();
    }
    let mut out: Vec<String> = names.iter().take(SHOWN).map(|n| short(n)).collect();
    if names.len() > SHOWN {
        out.push(format!("and {} more", names.len() - SHOWN));
    }
    out.join(", ")
}

/// A capped list of problems that still counts every problem it was given.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Problems {
    items: Vec<Problem>,
    total: usize,
}

impl Problems {
    /// Records a problem; past [`PROBLEM_CAP`] it is only counted.
    pub fn push(&mut self, problem: Problem) {
        self.total += 1;
        if self.items.len() < PROBLEM_CAP {
            self.items.push(problem);
        }
    }

    /// Records a problem built only when it will be listed; past [`PROBLEM_CAP`] it is only
    /// counted (for checks whose problems are costly to locate).
    pub fn push_with(&mut self, problem: impl FnOnce() -> Problem) {
        self.total += 1;
        if self.items.len() < PROBLEM_CAP {
            self.items.push(problem());
        }
    }

    /// Moves every problem of `other` into `self`.
    pub fn extend(&mut self, other: Problems) {
        let hidden = other.total - other.items.len();
        for p in other.items {
            self.push(p);
        }
        self.total += hidden;
    }

    /// True when no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Number of problems recorded, including those past the cap.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The listed problems (at most [`PROBLEM_CAP`]).
    pub fn items(&self) -> &[Problem] {
        &self.items
    }

    /// Number of problems counted but not listed.
    pub fn hidden(&self) -> usize {
        self.total - self.items.len()
    }
}

impl From<Problem> for Problems {
    fn from(problem: Problem) -> Self {
        let mut problems = Problems::default();
        problems.push(problem);
        problems
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.items {
            writeln!(f, "  {p}")?;
        }
        if self.hidden() > 0 {
            writeln!(f, "  … and {} more problems not listed", self.hidden())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::listing;
    use crate::masters::input::shown_name;

    #[test]
    fn listings_name_files_by_their_own_names() {
        let escaped = shown_name("/in/MEDIS20260720\u{1B}[31m.TXT");
        let member = shown_name("/in/h20260721.zip:MEDIS\u{7}.TXT");
        assert_eq!(
            listing([escaped.as_str(), member.as_str()]),
            "MEDIS20260720\\u{001B}[31m.TXT, h20260721.zip:MEDIS\\u{0007}.TXT"
        );
        let many: Vec<String> = (0..10).map(|i| format!("/in/F{i}.TXT")).collect();
        assert_eq!(
            listing(many.iter().map(String::as_str)),
            "F0.TXT, F1.TXT, F2.TXT, F3.TXT, F4.TXT, F5.TXT, F6.TXT, F7.TXT, and 2 more"
        );
    }
}
