//! Search results as `/v1/search` shows them (the page around them is `api::search::SearchPage`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::search::query;

/// Where the query was found in a concept.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Matched {
    /// The best way the concept matched, best first: `exact_code` (its own code),
    /// `exact_related_code` (a code it carries, e.g. a HOT13's YJ code), `exact_name`,
    /// `name_prefix`, `code_prefix`, `synonym_prefix`, `name_substring`, `synonym_substring`.
    #[serde(rename = "match")]
    pub kind: &'static str,
    /// The designation kind that matched (`display`, `kana`, `short`, an index-term kind, …),
    /// or `code:<system>` for a code.
    pub field: String,
    /// The matching designation or code, as stored.
    pub value: String,
    /// Highlight: character offsets `[start, end)` in `value` (Unicode scalar values).
    pub start: u32,
    pub end: u32,
}

impl From<query::Matched> for Matched {
    fn from(m: query::Matched) -> Self {
        Matched {
            kind: m.kind,
            field: m.field,
            value: m.value,
            start: m.start,
            end: m.end,
        }
    }
}

/// One result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchHit {
    pub system: String,
    pub code: String,
    pub display: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
    /// `active` or `retired`.
    pub status: String,
    pub master: String,
    /// The release the concept was found in.
    pub release_id: i64,
    pub matched: Matched,
    /// Rank score in 0–1 from the best way the concept matched: 1 for `exact_code`, then
    /// 1/8 less for each way down the list in `matched.match`.
    pub score: f32,
}

impl From<query::SearchHit> for SearchHit {
    fn from(h: query::SearchHit) -> Self {
        SearchHit {
            system: h.system,
            code: h.code,
            display: h.display,
            reading: h.reading,
            status: h.status,
            master: h.master,
            release_id: h.release_id.into(),
            matched: h.matched.into(),
            score: h.score,
        }
    }
}

/// A page of results, as `hyojun search --json` prints it (the API adds the releases
/// searched, `api::search::SearchPage`).
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// Every concept that matches, over all pages.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub items: Vec<SearchHit>,
}

impl From<query::SearchResults> for SearchResults {
    fn from(r: query::SearchResults) -> Self {
        SearchResults {
            total: r.total,
            offset: r.offset,
            limit: r.limit,
            items: super::all(r.items),
        }
    }
}
