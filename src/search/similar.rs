//! Concepts whose names share the most character bigrams with a text: the retrieval step of
//! mapping candidates (where the exact-substring search of `query.rs` is too strict: a local
//! name rarely appears verbatim in a standard name).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, Term};

use super::document::Entry;
use super::query::{Filter, SearchRequest, StatusFilter};
use super::{SearchError, SegmentData, Snapshot};
use crate::ids::ReleaseId;
use crate::systems::Master;
use crate::text::{normalize, Level, Normalized};

/// Texts of at most this many characters are also matched by their single characters.
const SHORT_TEXT: usize = 3;

/// The `limit` active concepts of `systems` (in each master's release in `releases`) whose
/// designations share the most bigrams (and characters, for short texts) with `text`,
/// best first, with their BM25 scores.
pub fn similar<'s>(
    snapshot: &'s Snapshot,
    text: &str,
    releases: &HashMap<Master, ReleaseId>,
    systems: &[&'static str],
    limit: usize,
) -> Result<Vec<(f32, &'s Entry)>, SearchError> {
    let normalized = normalize(text);
    if normalized.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let mut grams: Vec<String> = normalized
        .chars
        .windows(2)
        .map(|w| w.iter().collect())
        .collect();
    // A short text shares few bigrams with a name that spells it differently (尿糖 and
    // 糖定性[尿]): its characters are looked for too.
    if normalized.len() <= SHORT_TEXT {
        grams.extend(normalized.chars.iter().map(char::to_string));
    }
    grams.sort();
    grams.dedup();
    let clauses: Vec<(Occur, Box<dyn Query>)> = grams
        .iter()
        .map(|g| {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(snapshot.fields.names, g),
                IndexRecordOption::WithFreqs,
            ));
            (Occur::Should, q)
        })
        .collect();
    collect_best(
        snapshot,
        &BooleanQuery::new(clauses),
        &normalized,
        releases,
        systems,
        limit,
    )
}

/// Up to `limit` active concepts of `systems` having or carrying a code that starts with
/// `prefix` (e.g. every concept of a JLAC10 分析物), in index order.
pub fn with_code_prefix<'s>(
    snapshot: &'s Snapshot,
    prefix: &str,
    releases: &HashMap<Master, ReleaseId>,
    systems: &[&'static str],
    limit: usize,
) -> Result<Vec<(f32, &'s Entry)>, SearchError> {
    let prefix = Level::Code.apply(prefix);
    if prefix.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let query = TermQuery::new(
        Term::from_field_text(snapshot.fields.code_prefix, &prefix),
        IndexRecordOption::Basic,
    );
    // The filter's query text only ranks displays in a search; nothing here reads it.
    let no_text = Normalized::default();
    collect_best(snapshot, &query, &no_text, releases, systems, limit)
}

/// The `limit` best-scoring active concepts of `systems` matching `query`.
fn collect_best<'s>(
    snapshot: &'s Snapshot,
    query: &dyn Query,
    text: &Normalized,
    releases: &HashMap<Master, ReleaseId>,
    systems: &[&'static str],
    limit: usize,
) -> Result<Vec<(f32, &'s Entry)>, SearchError> {
    let request = SearchRequest {
        query: text.text(),
        releases: releases.clone(),
        systems: systems.to_vec(),
        status: StatusFilter::Active,
        attributes: Vec::new(),
        limit,
        offset: 0,
    };
    let collector = TopSimilar {
        filter: Arc::new(Filter::new(&request, text)),
        segments: snapshot.segments.clone(),
        limit,
    };
    let mut best = snapshot.searcher.search(query, &collector)?;
    best.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(best
        .into_iter()
        .map(|(score, segment, doc)| {
            (
                score,
                &snapshot.segments_by_ord[segment as usize].entries[doc as usize],
            )
        })
        .collect())
}

/// (score, segment, doc), ordered so that the heap's top is the worst kept.
#[derive(Clone, Copy)]
struct Scored(f32, u32, DocId);

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the smallest score is the greatest, so it sits on top of the heap.
        other
            .0
            .total_cmp(&self.0)
            .then((self.1, self.2).cmp(&(other.1, other.2)))
    }
}

struct TopSimilar {
    filter: Arc<Filter>,
    segments: Arc<HashMap<tantivy::index::SegmentId, Arc<SegmentData>>>,
    limit: usize,
}

struct TopSimilarSegment {
    filter: Arc<Filter>,
    data: Arc<SegmentData>,
    segment: u32,
    limit: usize,
    heap: BinaryHeap<Scored>,
}

impl Collector for TopSimilar {
    type Fruit = Vec<(f32, u32, DocId)>;
    type Child = TopSimilarSegment;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<TopSimilarSegment> {
        let data = super::segment_data(&self.segments, segment)?;
        Ok(TopSimilarSegment {
            filter: self.filter.clone(),
            data,
            segment: segment_local_id,
            limit: self.limit,
            heap: BinaryHeap::with_capacity(self.limit + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Vec<(f32, u32, DocId)>>,
    ) -> tantivy::Result<Vec<(f32, u32, DocId)>> {
        let mut all: Vec<(f32, u32, DocId)> = fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0));
        all.truncate(self.limit);
        Ok(all)
    }
}

impl SegmentCollector for TopSimilarSegment {
    type Fruit = Vec<(f32, u32, DocId)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let Some(meta) = self.data.metas.get(doc as usize) else {
            return;
        };
        if !self.filter.admits(meta) {
            return;
        }
        let scored = Scored(score, self.segment, doc);
        if self.heap.len() < self.limit {
            self.heap.push(scored);
        } else if self.heap.peek().is_some_and(|worst| scored < *worst) {
            self.heap.pop();
            self.heap.push(scored);
        }
    }

    fn harvest(self) -> Vec<(f32, u32, DocId)> {
        self.heap
            .into_iter()
            .map(|Scored(score, segment, doc)| (score, segment, doc))
            .collect()
    }
}
