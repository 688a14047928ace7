//! Local-to-standard mapping: the review workflow's rules, the local code lists hospitals
//! upload, candidate suggestions (with a table of in-house lab names), and the CSV / FHIR ConceptMap exchange formats. Storage is
//! in `store::mapping` and `store::recheck`, the endpoints in `api::mapping` and
//! `api::translate`.

pub mod candidates;
pub mod exchange;
mod fields;
pub mod local_codes;
pub mod state;
pub mod synonyms;
