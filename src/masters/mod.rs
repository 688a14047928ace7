//! Master file formats: each submodule turns one master's distribution files into a
//! [`ParsedRelease`]. No database and no HTTP here.

pub mod byomei;
pub mod checks;
pub mod hot;
pub mod input;
pub mod jlac;
pub mod nursing;
pub mod problem;
pub mod record;
pub mod text;

use std::path::Path;

pub use input::SourceFile;
pub use problem::{Problem, Problems};
pub use record::{
    Attributes, Designation, Link, ParsedRelease, Record, Relation, ReleaseFile, Status,
};

use crate::systems::Master;

/// Receives progress while a long file is parsed (a terminal progress bar, or nothing).
pub trait Progress {
    /// A phase with `total` units of work begins.
    fn start(&self, _phase: &str, _total: u64) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
    /// The phase is over.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Reads and parses the files of one release of `master`.
pub fn parse_release(
    master: Master,
    paths: &[impl AsRef<Path>],
    label: Option<&str>,
    progress: &dyn Progress,
) -> Result<ParsedRelease, Problems> {
    let sources = input::collect(paths)?;
    parse_sources(master, &sources, label, progress)
}

/// Parses files already in memory (uploads, tests).
pub fn parse_sources(
    master: Master,
    sources: &[SourceFile],
    label: Option<&str>,
    progress: &dyn Progress,
) -> Result<ParsedRelease, Problems> {
    if let Some(label) = label {
        check_label(label)?;
    }
    match master {
        Master::Hot => hot::parse(sources, label, progress),
        Master::Nursing => nursing::parse(sources, label, progress),
        Master::Byomei => byomei::parse(sources, label, progress),
        Master::Jlac => jlac::parse(sources, label, progress),
    }
}

/// Labels appear in URLs and file names: keep them to a safe alphabet.
fn check_label(label: &str) -> Result<(), Problems> {
    let ok = !label.is_empty()
        && label.len() <= 40
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Problem::file(
            "(--version)",
            "bad_label",
            format!("release label `{label}` is not usable"),
            "use 1–40 characters of A–Z, a–z, 0–9, '.', '-' or '_' (e.g. 20260630 or 5.18)",
        )
        .into())
    }
}
