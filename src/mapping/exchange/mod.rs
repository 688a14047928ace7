//! Exporting a project's mappings and reading such exports back ("apply a previous mapping").
//!
//! Two formats:
//!
//! * **CSV** for spreadsheets: one row per local code, the local code list's columns (with the
//!   upload's extra columns), then the mapping and its review. UTF-8, optionally with a BOM
//!   (Excel in Japan needs one to read UTF-8), CRLF line ends. [`read_csv`] reads such a file
//!   back (UTF-8 or CP932, as Excel may save it again) into [`Decision`]s.
//! * **FHIR R4 ConceptMap** for systems: [`ConceptMapWriter`] streams one JSON resource, one
//!   group per target system and one group without a target for no-match decisions.
//!   [`read_concept_map`] reads a ConceptMap from hyojun or any other producer.
//!
//! Both writers work row by row: a project of 50,000 mappings is never one string in memory.
//!
//! By concern: `decision` (what an import yields, shared by both readers), `csv_export`,
//! `csv_import`, `concept_map_export`, `concept_map_import` and `concept_map_model` (the
//! serde types the ConceptMap reader deserializes into). Everything public is
//! re-exported here, so callers name `mapping::exchange::…` whatever file it lives in.

mod concept_map_export;
mod concept_map_import;
mod concept_map_model;
mod csv_export;
mod csv_import;
mod decision;
#[cfg(test)]
mod fixtures;

pub use concept_map_export::{
    concept_map_group, sort_for_concept_map, system_uri, ConceptMapOptions, ConceptMapWriter,
};
pub use concept_map_import::read_concept_map;
pub use csv_export::{
    extra_headers, write_csv_header, write_csv_row, LEADING_COLUMNS, TRAILING_COLUMNS,
};
pub use csv_import::read_csv;
pub use decision::Decision;

/// Whether an export/import is a FHIR ConceptMap (`conceptmap`) or CSV (`csv`, the default);
/// the message of an error names the accepted values.
pub fn is_concept_map(format: Option<&str>) -> Result<bool, String> {
    match format {
        None | Some("csv") => Ok(false),
        Some("conceptmap") => Ok(true),
        Some(other) => Err(format!("format `{other}`: use csv or conceptmap")),
    }
}

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Written as a ConceptMap target's comment when a `narrower` or `inexact` mapping has none:
/// FHIR R4 (constraint cmd-1) requires a comment there. Read back as an empty comment.
pub const NO_COMMENT: &str = "(no comment recorded in hyojun)";
