//! What a parsed release is made of: records (one per master row), links and designations.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::problem::Problems;
use crate::systems::Master;

/// Whether a code may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Retired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Retired => "retired",
        }
    }
}

/// How a record relates to another code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    /// The record *carries* this code too: it is a lookup key of the record (HOT9 → YJ).
    Code,
    /// The record is replaced by this code (移行先).
    Successor,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Code => "code",
            Relation::Successor => "successor",
        }
    }
}

/// A link from a record to a code of some system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Link {
    pub relation: Relation,
    pub system: &'static str,
    pub code: String,
}

/// A name of a record: display name, reading, short name, synonym, …
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Designation {
    pub kind: &'static str,
    pub value: String,
}

/// One row of a master as it stands in one release.
#[derive(Debug, Clone)]
pub struct Record {
    /// The code system the row defines a code of.
    pub system: &'static str,
    pub code: String,
    /// Identity of the row across releases; unique within (master, release).
    pub row_key: String,
    pub status: Status,
    pub display: String,
    /// Every column of the row under stable keys (empty values omitted).
    pub attributes: Map<String, Value>,
    pub designations: Vec<Designation>,
    pub links: Vec<Link>,
    /// Index of the source file in [`ParsedRelease::files`] and 1-based line.
    pub origin: (usize, u64),
}

impl Record {
    /// Hash of everything a release says about this row; equal hashes mean unchanged.
    pub fn content_hash(&self) -> String {
        let mut links = self.links.clone();
        links.sort();
        let canonical = serde_json::json!([
            self.system,
            self.code,
            self.status,
            self.display,
            self.attributes,
            self.designations,
            links,
        ]);
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        hex::encode(&digest[..16])
    }
}

/// One file of a release as it was imported.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseFile {
    /// Name as given (zip members as `archive.zip:member`).
    pub name: String,
    /// What the file is in the release (`hot13`, `hot9`, `hot9del`, …).
    pub role: &'static str,
    pub sha256: String,
    pub byte_size: u64,
    pub row_count: u64,
    pub encoding: &'static str,
}

/// A release parsed and validated, ready to store.
#[derive(Debug)]
pub struct ParsedRelease {
    pub master: Master,
    pub label: String,
    pub publication_date: Option<NaiveDate>,
    pub files: Vec<ReleaseFile>,
    pub records: Vec<Record>,
    /// Problems that do not stop the import (e.g. HOT7 check digit failures).
    pub notices: Problems,
    /// Files present in the input that are not imported (layout PDFs, option files).
    pub ignored: Vec<String>,
}

impl ParsedRelease {
    /// SHA-256 over the sorted content hashes of the files: equal for byte-identical input
    /// whether it came loose or zipped.
    pub fn content_sha256(&self) -> String {
        let mut hashes: Vec<&str> = self.files.iter().map(|f| f.sha256.as_str()).collect();
        hashes.sort_unstable();
        hex::encode(Sha256::digest(hashes.join("\n").as_bytes()))
    }
}
