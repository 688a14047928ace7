//! What a parsed release is made of: records (one per master row), links and designations.

use chrono::NaiveDate;
use serde::Serialize;
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

/// A row's columns as one compact JSON object, built once at parse time (stored as is, and
/// hashed as is): far lighter than a map of owned strings for masters of 100k rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes(String);

impl Attributes {
    /// Builds the object from (key, value) pairs in column order; empty values are left out.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut json = String::from("{");
        for (key, value) in pairs {
            if value.is_empty() {
                continue;
            }
            if json.len() > 1 {
                json.push(',');
            }
            push_json_string(&mut json, key);
            json.push(':');
            push_json_string(&mut json, value);
        }
        json.push('}');
        Attributes(json)
    }

    /// The JSON object text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// The value of one column, if present.
    pub fn get(&self, key: &str) -> Option<String> {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&self.0).ok()?;
        map.get(key)?.as_str().map(str::to_owned)
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_valid_json_in_column_order() {
        let a = Attributes::from_pairs([("b", "x\"y\\z\n\u{1}"), ("a", ""), ("c", "内")]);
        let parsed: serde_json::Value = serde_json::from_str(a.as_json()).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"b": "x\"y\\z\n\u{1}", "c": "内"})
        );
        assert!(a.as_json().starts_with("{\"b\""));
        assert_eq!(a.get("c").as_deref(), Some("内"));
    }
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
    pub attributes: Attributes,
    pub designations: Vec<Designation>,
    pub links: Vec<Link>,
    /// Index of the source file in [`ParsedRelease::files`] and 1-based line.
    pub origin: (usize, u64),
}

impl Record {
    /// Hash of everything a release says about this row; equal hashes mean unchanged.
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |s: &str| {
            hasher.update(s.as_bytes());
            hasher.update([0x1F]);
        };
        field(self.system);
        field(&self.code);
        field(self.status.as_str());
        field(&self.display);
        field(self.attributes.as_json());
        for d in &self.designations {
            field(d.kind);
            field(&d.value);
        }
        let mut links: Vec<&Link> = self.links.iter().collect();
        links.sort();
        for l in links {
            field(l.relation.as_str());
            field(l.system);
            field(&l.code);
        }
        hex::encode(&hasher.finalize()[..16])
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
    /// Whether the files are the whole release or knowingly part of it (`--partial`).
    pub scope: super::completeness::Scope,
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
