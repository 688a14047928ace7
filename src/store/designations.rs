//! The names of codes in a release, with the kind each has in its master (readings, short
//! names, 索引 synonyms …): what `$lookup` lists as designations for one code, for a page of
//! codes at once (`ValueSet/$expand` with `includeDesignations`).

use std::collections::HashMap;

use super::carriers::{rows_defining, CHUNK};
use super::models::{ConceptRow, ReleaseRow};
use super::{Store, StoreError};

/// A code's names as (kind, value), each pair once, empty values left out.
pub type Designations = Vec<(String, String)>;

impl Store {
    /// The names of each of `codes` of `system` in `release`, from the rows that define the
    /// code (as `$lookup` lists them: rows by status, then row key; each row's names in its
    /// order). Codes no row defines there (carried codes, unknown codes) are absent.
    pub fn code_designations(
        &self,
        release: &ReleaseRow,
        system: &str,
        codes: &[&str],
    ) -> Result<HashMap<String, Designations>, StoreError> {
        let mut conn = self.conn()?;
        let mut out: HashMap<String, Designations> = HashMap::new();
        for chunk in codes.chunks(CHUNK) {
            let mut rows: Vec<ConceptRow> = rows_defining(&mut conn, release, system, chunk)?;
            rows.sort_by(|a, b| {
                (&a.code, &a.status, &a.row_key).cmp(&(&b.code, &b.status, &b.row_key))
            });
            for row in &rows {
                let names: Vec<serde_json::Value> = serde_json::from_str(&row.designations)
                    .map_err(|e| StoreError::Corrupt(format!("concept {}: {e}", row.id)))?;
                let list = out.entry(row.code.clone()).or_default();
                for name in &names {
                    let (Some(kind), Some(value)) = (name["kind"].as_str(), name["value"].as_str())
                    else {
                        continue;
                    };
                    if value.is_empty() || list.iter().any(|(k, v)| k == kind && v == value) {
                        continue;
                    }
                    list.push((kind.to_owned(), value.to_owned()));
                }
            }
        }
        Ok(out)
    }
}
