//! Master file formats: each submodule turns one master's distribution files into a
//! [`ParsedRelease`]. No database and no HTTP here.

pub mod archive;
pub mod byomei;
pub mod checks;
pub mod completeness;
pub mod fields;
pub mod hot;
pub mod input;
pub mod jlac;
pub mod nursing;
pub mod problem;
pub mod record;
pub mod sniff;
pub mod text;

use std::path::Path;

pub use completeness::Scope;
pub use input::SourceFile;
pub use problem::{Problem, Problems};
pub use record::{
    Attributes, Designation, Link, ParsedRelease, Record, Relation, ReleaseFile, Status,
};

use crate::limits::Limits;
use crate::systems::Master;

/// How to read a release's files.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// The release label; by default taken from the file names or contents.
    pub label: Option<String>,
    /// The files are knowingly only part of a release (`--partial`): a release missing one
    /// of its master's required files is then accepted, and only the code systems the given
    /// files carry are compared with the previous release.
    pub partial: bool,
    /// Limits on everything the files control.
    pub limits: Limits,
}

impl ParseOptions {
    /// The defaults with a given label.
    pub fn labelled(label: &str) -> Self {
        ParseOptions {
            label: Some(label.to_owned()),
            ..ParseOptions::default()
        }
    }
}

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
    options: &ParseOptions,
    progress: &dyn Progress,
) -> Result<ParsedRelease, Problems> {
    let sources = input::collect(master, paths, &options.limits)?;
    parse_sources(master, &sources, options, progress)
}

/// Whether `master`'s parser reads a file of this name when it comes in a distribution zip;
/// members it does not read are listed as ignored without being decompressed.
pub fn reads(master: Master, file_name: &str) -> bool {
    match master {
        Master::Hot => hot::reads(file_name),
        Master::Nursing => nursing::reads(file_name),
        Master::Byomei => byomei::reads(file_name),
        Master::Jlac => jlac::reads(file_name),
    }
}

/// Parses files already in memory (uploads, tests).
pub fn parse_sources(
    master: Master,
    sources: &[SourceFile],
    options: &ParseOptions,
    progress: &dyn Progress,
) -> Result<ParsedRelease, Problems> {
    if let Some(label) = &options.label {
        check_label(label)?;
    }
    match master {
        Master::Hot => hot::parse(sources, options, progress),
        Master::Nursing => nursing::parse(sources, options, progress),
        Master::Byomei => byomei::parse(sources, options, progress),
        Master::Jlac => jlac::parse(sources, options, progress),
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
            format!(
                "release label `{}` is not usable",
                crate::excerpt::excerpt(label)
            ),
            "use 1–40 characters of A–Z, a–z, 0–9, '.', '-' or '_' (e.g. 20260630 or 5.18)",
        )
        .into())
    }
}
