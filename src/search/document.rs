//! The index schema and what one indexed concept version is made of.

use serde::{Deserialize, Serialize};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, INDEXED, STORED, STRING,
};
use tantivy::TantivyDocument;

use super::tokens::{code_prefixes, value_tokens};
use crate::ids::ReleaseId;
use crate::store::models::ConceptRow;
use crate::systems::{self, Master, CODE_SYSTEMS};
use crate::text::{normalize, Level};

/// Bumped whenever the schema, the tokens or the normalisation change: an index written with
/// another version is rebuilt at start.
pub const SCHEMA_VERSION: u32 = 5;

/// Attribute filters a search can ask for, as (filter name, master, attribute key).
pub const ATTRIBUTE_FILTERS: [(&str, Master, &str); 2] = [
    // HOT 区分: 内 (internal), 注 (injection), 外 (external), 歯 (dental).
    ("category", Master::Hot, "category"),
    // JLAC10 材料 (specimen) code, e.g. 023 serum; taken from the code itself.
    ("material", Master::Jlac, "material"),
];

/// A concept row's column object (`ConceptRow::attributes`, parsed).
pub type Attributes = serde_json::Map<String, serde_json::Value>;

/// Row attributes that hold a concept's unit (HOT 規格単位; JLAC and 看護 単位).
const UNIT_ATTRIBUTES: [&str; 2] = ["standard_unit", "unit"];

/// The fields of the index.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The concept version's id (for replacing it).
    pub id: Field,
    /// The [`Entry`], as JSON.
    pub entry: Field,
    /// Tokens of the display name and of every other designation (readings, short names,
    /// synonyms, components), one value each. How the display matched is decided from its
    /// normalised text when collecting (see `query.rs`).
    pub names: Field,
    /// The concept's own code, normalised.
    pub own_code: Field,
    /// Every code the concept has or carries, normalised.
    pub code: Field,
    /// Every prefix of those codes.
    pub code_prefix: Field,
    /// `name:value` attribute filters.
    pub filter: Field,
}

impl Fields {
    /// The schema and its fields.
    pub fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let grams = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions)
                .set_fieldnorms(false),
        );
        let fields = Fields {
            id: builder.add_u64_field("id", INDEXED),
            entry: builder.add_bytes_field("entry", STORED),
            names: builder.add_text_field("names", grams),
            own_code: builder.add_text_field("own_code", STRING),
            code: builder.add_text_field("code", STRING),
            code_prefix: builder.add_text_field("code_prefix", STRING),
            filter: builder.add_text_field("filter", STRING),
        };
        (builder.build(), fields)
    }
}

/// One concept version as search answers it (stored in the index, decoded once per segment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub system: String,
    pub code: String,
    pub status: String,
    pub display: String,
    /// The first reading (かな) designation, if any.
    pub reading: Option<String>,
    /// Designations other than the display, as (kind, value), without repeats.
    pub names: Vec<(String, String)>,
    /// Codes the concept carries besides its own, as (system, code).
    pub codes: Vec<(String, String)>,
    /// The unit: HOT 規格単位, or the unit a JLAC result is reported in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub valid_from: ReleaseId,
    pub valid_to: Option<ReleaseId>,
}

/// What the collector needs of an entry, packed.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// The (system, code) this version is of, interned: results list each code once.
    pub key: u32,
    /// The release ids as numbers ([`ReleaseId::get`]), packed.
    pub valid_from: i64,
    /// `i64::MAX` while open.
    pub valid_to: i64,
    pub master: u8,
    pub system: u8,
    pub active: bool,
    /// Display length in characters (shorter ranks first among equals).
    pub len: u16,
}

impl Entry {
    /// Builds the entry of a stored concept version, whose column object is `attributes`;
    /// `None` for a system hyojun does not know (a newer database than this binary).
    pub fn from_row(
        row: &ConceptRow,
        attributes: &Attributes,
    ) -> Result<Option<Entry>, serde_json::Error> {
        if systems::by_key(&row.system_key).is_none() {
            return Ok(None);
        }
        #[derive(Deserialize)]
        struct Designation {
            kind: String,
            value: String,
        }
        let designations: Vec<Designation> = serde_json::from_str(&row.designations)?;
        let links: Vec<(String, String, String)> = row.link_list()?;
        let reading = designations
            .iter()
            .find(|d| d.kind == "kana" && !d.value.is_empty())
            .map(|d| d.value.clone());
        let mut names: Vec<(String, String)> = Vec::new();
        for d in designations {
            if d.value.is_empty()
                || d.value == row.display
                || names.iter().any(|(_, v)| *v == d.value)
            {
                continue;
            }
            names.push((d.kind, d.value));
        }
        let mut codes: Vec<(String, String)> = Vec::new();
        for (relation, system, code) in links {
            if relation == "code"
                && !(system == row.system_key && code == row.code)
                && !codes.iter().any(|(s, c)| *s == system && *c == code)
            {
                codes.push((system, code));
            }
        }
        let unit = UNIT_ATTRIBUTES
            .iter()
            .find_map(|key| attributes.get(*key).and_then(|v| v.as_str()))
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned);
        Ok(Some(Entry {
            id: row.id,
            system: row.system_key.clone(),
            code: row.code.clone(),
            status: row.status.clone(),
            display: row.display.clone(),
            reading,
            names,
            codes,
            unit,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
        }))
    }

    /// The packed form the collector reads; `key` identifies (system, code).
    pub fn meta(&self, key: u32) -> Meta {
        let system = CODE_SYSTEMS
            .iter()
            .position(|s| s.key == self.system)
            .unwrap_or(usize::MAX);
        let master = CODE_SYSTEMS
            .get(system)
            .and_then(|s| Master::ALL.iter().position(|m| *m == s.master))
            .unwrap_or(usize::MAX);
        Meta {
            key,
            valid_from: self.valid_from.get(),
            valid_to: self.valid_to.map_or(i64::MAX, ReleaseId::get),
            master: master.min(u8::MAX as usize) as u8,
            system: system.min(u8::MAX as usize) as u8,
            active: self.status == "active",
            len: self.display.chars().count().min(u16::MAX as usize) as u16,
        }
    }

    /// Every code of the concept, own code first, as (system, code).
    pub fn all_codes(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::once((self.system.as_str(), self.code.as_str()))
            .chain(self.codes.iter().map(|(s, c)| (s.as_str(), c.as_str())))
    }

    /// The index document of this entry; `attributes` is the row's column object.
    pub fn document(&self, fields: &Fields, attributes: &Attributes) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_u64(fields.id, self.id as u64);
        let json = serde_json::to_vec(self).unwrap_or_default();
        doc.add_bytes(fields.entry, &json);
        let mut seen: Vec<String> = Vec::new();
        let values = std::iter::once(&self.display).chain(self.names.iter().map(|(_, v)| v));
        for value in values {
            let norm = normalize(value);
            let text = norm.text();
            if norm.is_empty() || seen.contains(&text) {
                continue;
            }
            doc.add_pre_tokenized_text(fields.names, value_tokens(&norm.chars));
            seen.push(text);
        }
        let mut codes: Vec<String> = Vec::new();
        for (_, code) in self.all_codes() {
            let code = Level::Code.apply(code);
            if !code.is_empty() && !codes.contains(&code) {
                codes.push(code);
            }
        }
        let mut prefixes: Vec<&str> = codes.iter().flat_map(|c| code_prefixes(c)).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        for prefix in prefixes {
            doc.add_text(fields.code_prefix, prefix);
        }
        if let Some(own) = codes.first() {
            doc.add_text(fields.own_code, own);
        }
        for code in &codes {
            doc.add_text(fields.code, code);
        }
        for filter in self.filters(attributes) {
            doc.add_text(fields.filter, filter);
        }
        doc
    }

    /// The attribute filter terms of the entry (see [`ATTRIBUTE_FILTERS`]).
    fn filters(&self, attributes: &Attributes) -> Vec<String> {
        let mut out = Vec::new();
        let Some(system) = systems::by_key(&self.system) else {
            return out;
        };
        for (name, master, key) in ATTRIBUTE_FILTERS {
            if system.master != master {
                continue;
            }
            let value = if name == "material" {
                // JLAC10: 分析物 5, 識別 4, 材料 3, 測定法 3, 結果識別 2.
                self.all_codes()
                    .find(|(s, _)| *s == "jlac10")
                    .and_then(|(_, c)| c.get(9..12))
                    .map(str::to_owned)
            } else {
                attributes
                    .get(key)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                out.push(filter_term(name, &value));
            }
        }
        out
    }
}

/// The term of one attribute filter.
pub fn filter_term(name: &str, value: &str) -> String {
    format!("{name}:{}", Level::Code.apply(value))
}
