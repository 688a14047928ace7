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

/// What hyojun knows of one master: each master's module exports one (`DESCRIPTOR`), and the
/// code-system registry (`crate::systems`), the file checks and the parsers are read from them.
/// A fifth master is a module with its descriptor, one line in [`DESCRIPTORS`] and its
/// [`Master`] variant.
#[derive(Debug)]
pub struct Descriptor {
    pub master: Master,
    /// The key used on the command line, in the API and in the database.
    pub key: &'static str,
    /// Human name of the master.
    pub name: &'static str,
    /// Its code systems, in registry order.
    pub systems: &'static [crate::systems::CodeSystem],
    /// The kinds of file a release is made of, for the completeness check of partial
    /// imports (empty: the parser checks its own file set).
    pub files: &'static [completeness::FileRole],
    /// The file role a stored row version came from, from its code system and row key.
    pub row_role: fn(&str, &str) -> Option<&'static str>,
    /// Whether the parser reads a file of this name when it comes in a distribution zip.
    pub reads: fn(&str) -> bool,
    /// Parses a release's files.
    pub parse: Parse,
}

/// A master's parser.
pub type Parse = fn(&[SourceFile], &ParseOptions, &dyn Progress) -> Result<ParsedRelease, Problems>;

/// Every master's descriptor, in [`Master::ALL`] order.
pub const DESCRIPTORS: [&Descriptor; 4] = [
    &hot::DESCRIPTOR,
    &byomei::DESCRIPTOR,
    &jlac::DESCRIPTOR,
    &nursing::DESCRIPTOR,
];

/// The descriptor of `master`.
pub fn descriptor(master: Master) -> &'static Descriptor {
    match master {
        Master::Hot => &hot::DESCRIPTOR,
        Master::Byomei => &byomei::DESCRIPTOR,
        Master::Jlac => &jlac::DESCRIPTOR,
        Master::Nursing => &nursing::DESCRIPTOR,
    }
}

/// Whether `master`'s parser reads a file of this name when it comes in a distribution zip;
/// members it does not read are listed as ignored without being decompressed.
pub fn reads(master: Master, file_name: &str) -> bool {
    (descriptor(master).reads)(file_name)
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
    (descriptor(master).parse)(sources, options, progress)
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
