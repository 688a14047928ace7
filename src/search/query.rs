//! Running one search: the query, the release filter, ranking and highlights.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, Term};

use super::document::{filter_term, Entry, Fields, Meta};
use super::tokens::{marked, query_grams};
use super::{SearchError, SegmentData, Snapshot};
use crate::ids::ReleaseId;
use crate::systems::{Master, CODE_SYSTEMS};
use crate::text::{normalize, Level, Normalized};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Largest page.
pub const MAX_LIMIT: usize = 1000;

/// How a concept matched, best first. Each way is one bit of the collected score, so the
/// highest bit set is the best way a concept matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    ExactCode = 128,
    ExactCarriedCode = 64,
    ExactName = 32,
    NamePrefix = 16,
    CodePrefix = 8,
    OtherPrefix = 4,
    NameSubstring = 2,
    OtherSubstring = 1,
}

impl MatchKind {
    const ALL: [MatchKind; 8] = [
        MatchKind::ExactCode,
        MatchKind::ExactCarriedCode,
        MatchKind::ExactName,
        MatchKind::NamePrefix,
        MatchKind::CodePrefix,
        MatchKind::OtherPrefix,
        MatchKind::NameSubstring,
        MatchKind::OtherSubstring,
    ];

    /// Stable name in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::ExactCode => "exact_code",
            MatchKind::ExactCarriedCode => "exact_related_code",
            MatchKind::ExactName => "exact_name",
            MatchKind::NamePrefix => "name_prefix",
            MatchKind::CodePrefix => "code_prefix",
            MatchKind::OtherPrefix => "synonym_prefix",
            MatchKind::NameSubstring => "name_substring",
            MatchKind::OtherSubstring => "synonym_substring",
        }
    }

    /// Rank of the best way a score says a concept matched (0 = best).
    fn tier(score: u8) -> u8 {
        score.leading_zeros() as u8
    }

    /// The best way a score says a concept matched.
    fn best(score: u8) -> MatchKind {
        MatchKind::ALL
            .into_iter()
            .find(|k| score & (*k as u8) != 0)
            .unwrap_or(MatchKind::OtherSubstring)
    }
}

/// Which statuses to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    Active,
    Retired,
    #[default]
    All,
}

/// A search, with its filters already resolved to releases.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: String,
    /// The release each master is searched in; masters without one are not searched.
    pub releases: HashMap<Master, ReleaseId>,
    /// Only these code systems (all when empty).
    pub systems: Vec<&'static str>,
    pub status: StatusFilter,
    /// (filter name, value) attribute filters, all required.
    pub attributes: Vec<(String, String)>,
    pub limit: usize,
    pub offset: usize,
}

/// Where the query was found in a concept.
#[derive(Debug, Clone)]
pub struct Matched {
    /// The best way the concept matched, best first: `exact_code` (its own code),
    /// `exact_related_code` (a code it carries, e.g. a HOT13's YJ code), `exact_name`,
    /// `name_prefix`, `code_prefix`, `synonym_prefix`, `name_substring`, `synonym_substring`.
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

/// One result.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub system: String,
    pub code: String,
    pub display: String,
    pub reading: Option<String>,
    /// `active` or `retired`.
    pub status: String,
    pub master: String,
    /// The release the concept was found in.
    pub release_id: ReleaseId,
    pub matched: Matched,
    /// Rank score in 0–1 from the best way the concept matched: 1 for `exact_code`, then
    /// 1/8 less for each way down the list in `matched.match`.
    pub score: f32,
}

/// A page of results.
#[derive(Debug, Clone)]
pub struct SearchResults {
    /// Every concept that matches, over all pages.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub items: Vec<SearchHit>,
}

/// Checks a query and normalises it.
pub fn checked_query(query: &str) -> Result<(Normalized, String), SearchError> {
    let count = query.chars().count();
    if count > MAX_QUERY_CHARS {
        return Err(SearchError::BadQuery(format!(
            "the query is {count} characters long; at most {MAX_QUERY_CHARS} are searched"
        )));
    }
    let normalized = normalize(query);
    if normalized.is_empty() {
        return Err(SearchError::BadQuery(
            "the query is empty (or only spaces): type part of a name, a reading or a code".into(),
        ));
    }
    Ok((normalized, Level::Code.apply(query)))
}

/// Every admitted match of `request`, unranked and unpaged: one hit per matching concept
/// version (a code can come several times).
pub(crate) fn matches(
    snapshot: &Snapshot,
    request: &SearchRequest,
) -> Result<(Vec<Hit>, Normalized, String), SearchError> {
    let (normalized, code) = checked_query(&request.query)?;
    let query = build_query(&snapshot.fields, &normalized, &code, &request.attributes);
    let filter = Arc::new(Filter::new(request, &normalized));
    let collector = RankCollector {
        filter,
        segments: snapshot.segments.clone(),
    };
    let hits = snapshot.searcher.search(&query, &collector)?;
    Ok((hits, normalized, code))
}

/// Runs `request` on a snapshot of the index.
pub fn run(snapshot: &Snapshot, request: &SearchRequest) -> Result<SearchResults, SearchError> {
    let (mut hits, normalized, code) = matches(snapshot, request)?;
    let segments = &snapshot.segments_by_ord;
    // Equal ranks are ordered by what the hits are, not by where the index holds them (the
    // interned key and the segment layout depend on indexing history): (system, code)
    // bytewise, and, between versions of one code, the newest, then the smallest concept id
    // (ids are given by the importer, the same on every backend).
    let entry = |h: &Hit| &segments[h.segment as usize].entries[h.doc as usize];
    let order = |a: &Hit, b: &Hit| -> Ordering {
        (a.rank >> KEY_BITS)
            .cmp(&(b.rank >> KEY_BITS))
            .then_with(|| {
                let (x, y) = (entry(a), entry(b));
                (&x.system, &x.code, std::cmp::Reverse(x.valid_from), x.id).cmp(&(
                    &y.system,
                    &y.code,
                    std::cmp::Reverse(y.valid_from),
                    y.id,
                ))
            })
    };
    best_version_per_code(&mut hits, snapshot.key_count, order);
    let total = hits.len();
    let wanted = request.offset.saturating_add(request.limit).min(total);
    if wanted > 0 && wanted < total {
        hits.select_nth_unstable_by(wanted - 1, order);
        hits.truncate(wanted);
    }
    hits.sort_unstable_by(order);
    let items = hits
        .iter()
        .skip(request.offset)
        .take(request.limit)
        .map(|hit| {
            let entry = &segments[hit.segment as usize].entries[hit.doc as usize];
            answer(entry, hit.score, &normalized, &code, &request.releases)
        })
        .collect();
    Ok(SearchResults {
        total,
        offset: request.offset,
        limit: request.limit,
        items,
    })
}

thread_local! {
    /// Per-thread scratch for [`best_version_per_code`]: (query stamp, hit index) by key.
    static SEEN: std::cell::RefCell<(u32, Vec<(u32, u32)>)> = const {
        std::cell::RefCell::new((0, Vec::new()))
    };
}

/// Keeps one hit per (system, code): the best-ranked of its versions (a code may have several
/// rows in one release, e.g. a HOT9 with one row per package).
fn best_version_per_code(
    hits: &mut Vec<Hit>,
    key_count: usize,
    order: impl Fn(&Hit, &Hit) -> Ordering,
) {
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        let (stamp, slots) = &mut *seen;
        *stamp = stamp.wrapping_add(1);
        if *stamp == 0 {
            slots.iter_mut().for_each(|s| s.0 = 0);
            *stamp = 1;
        }
        if slots.len() < key_count {
            slots.resize(key_count, (0, 0));
        }
        let mut kept = 0usize;
        for i in 0..hits.len() {
            let hit = hits[i];
            let Some(slot) = slots.get_mut(hit.code_key as usize) else {
                continue;
            };
            if slot.0 == *stamp {
                let best = &mut hits[slot.1 as usize];
                if order(&hit, best) == Ordering::Less {
                    *best = hit;
                }
            } else {
                *slot = (*stamp, kept as u32);
                hits[kept] = hit;
                kept += 1;
            }
        }
        hits.truncate(kept);
    });
}

fn term(field: tantivy::schema::Field, text: &str) -> Term {
    Term::from_field_text(field, text)
}

fn scored(query: Box<dyn Query>, kind: MatchKind) -> (Occur, Box<dyn Query>) {
    (
        Occur::Should,
        Box::new(ConstScoreQuery::new(query, kind as u8 as Score)),
    )
}

/// Terms at consecutive positions: one term query, or a phrase.
fn grams_query(field: tantivy::schema::Field, grams: &[String]) -> Box<dyn Query> {
    if grams.len() == 1 {
        Box::new(TermQuery::new(
            term(field, &grams[0]),
            IndexRecordOption::Basic,
        ))
    } else {
        Box::new(PhraseQuery::new(
            grams.iter().map(|g| term(field, g)).collect(),
        ))
    }
}

/// The grams with the first one marked: "a value starts with the query".
fn prefix_query(field: tantivy::schema::Field, grams: &[String]) -> Box<dyn Query> {
    let first = term(field, &marked(&grams[0]));
    if grams.len() == 1 {
        return Box::new(TermQuery::new(first, IndexRecordOption::Basic));
    }
    let mut terms = vec![(0, first)];
    terms.extend(
        grams
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, g)| (i, term(field, g))),
    );
    Box::new(PhraseQuery::new_with_offset(terms))
}

/// Recall (any designation contains the query, or a code starts with it) plus the ways of
/// matching that the index decides; the display's ways are added when collecting.
fn build_query(
    fields: &Fields,
    normalized: &Normalized,
    code: &str,
    attributes: &[(String, String)],
) -> Box<dyn Query> {
    let grams = query_grams(&normalized.chars);
    let mut ways = vec![
        scored(grams_query(fields.names, &grams), MatchKind::OtherSubstring),
        scored(prefix_query(fields.names, &grams), MatchKind::OtherPrefix),
    ];
    if !code.is_empty() {
        ways.push(scored(
            Box::new(TermQuery::new(
                term(fields.code_prefix, code),
                IndexRecordOption::Basic,
            )),
            MatchKind::CodePrefix,
        ));
        ways.push(scored(
            Box::new(TermQuery::new(
                term(fields.code, code),
                IndexRecordOption::Basic,
            )),
            MatchKind::ExactCarriedCode,
        ));
        ways.push(scored(
            Box::new(TermQuery::new(
                term(fields.own_code, code),
                IndexRecordOption::Basic,
            )),
            MatchKind::ExactCode,
        ));
    }
    let any_way: Box<dyn Query> = Box::new(BooleanQuery::new(ways));
    if attributes.is_empty() {
        return any_way;
    }
    let mut clauses = vec![(Occur::Must, any_way)];
    for (name, value) in attributes {
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(
                    term(fields.filter, &filter_term(name, value)),
                    IndexRecordOption::Basic,
                )),
                0.0,
            )),
        ));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Which versions a search sees: per master the release, plus system and status filters.
pub(crate) struct Filter {
    /// The normalised query, to tell how the display matched.
    query: Box<str>,
    release_of_master: [Option<i64>; Master::ALL.len()],
    systems: u64,
    status: StatusFilter,
}

impl Filter {
    pub(crate) fn new(request: &SearchRequest, query: &Normalized) -> Filter {
        let mut release_of_master = [None; Master::ALL.len()];
        for (i, m) in Master::ALL.iter().enumerate() {
            release_of_master[i] = request.releases.get(m).map(|r| r.get());
        }
        let systems = if request.systems.is_empty() {
            u64::MAX
        } else {
            CODE_SYSTEMS
                .iter()
                .enumerate()
                .filter(|(_, s)| request.systems.contains(&s.key))
                .fold(0u64, |mask, (i, _)| mask | (1 << i))
        };
        Filter {
            query: query.text().into_boxed_str(),
            release_of_master,
            systems,
            status: request.status,
        }
    }

    #[inline]
    pub(crate) fn admits(&self, meta: &Meta) -> bool {
        let Some(Some(release)) = self.release_of_master.get(meta.master as usize) else {
            return false;
        };
        meta.valid_from <= *release
            && *release < meta.valid_to
            && meta.system < 64
            && self.systems & (1 << meta.system) != 0
            && match self.status {
                StatusFilter::All => true,
                StatusFilter::Active => meta.active,
                StatusFilter::Retired => !meta.active,
            }
    }
}

/// One matching, admitted document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    /// Best first when ascending: the best way of matching, active before retired, shorter
    /// display first, registry order of systems — packed into one integer so ranking
    /// thousands of hits compares integers only — and the interned (system, code) key in the
    /// low [`KEY_BITS`] (ties are ordered by the hits' system and code instead, see `run`).
    rank: u64,
    pub(crate) code_key: u32,
    score: u8,
    pub(crate) segment: u32,
    pub(crate) doc: DocId,
}

/// Bits of [`Hit::rank`] that hold the interned key.
const KEY_BITS: u32 = 32;

impl Hit {
    /// What ranks the hit, best first when ascending, without the interned key: equal
    /// values are ordered by (system, code) bytewise, as [`run`] orders them.
    pub(crate) fn order(&self) -> u64 {
        self.rank >> KEY_BITS
    }

    fn rank(score: u8, meta: &Meta) -> u64 {
        (u64::from(MatchKind::tier(score)) << 60)
            | (u64::from(!meta.active) << 59)
            | (u64::from(meta.len) << 40)
            | (u64::from(meta.system.min(63)) << 32)
            | u64::from(meta.key)
    }
}

/// Collects every admitted match with its rank key (the count is the total).
struct RankCollector {
    filter: Arc<Filter>,
    segments: Arc<HashMap<tantivy::index::SegmentId, Arc<SegmentData>>>,
}

struct RankSegmentCollector {
    filter: Arc<Filter>,
    data: Arc<SegmentData>,
    segment: u32,
    hits: Vec<Hit>,
}

impl Collector for RankCollector {
    type Fruit = Vec<Hit>;
    type Child = RankSegmentCollector;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<RankSegmentCollector> {
        let data = super::segment_data(&self.segments, segment)?;
        Ok(RankSegmentCollector {
            filter: self.filter.clone(),
            data,
            segment: segment_local_id,
            hits: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Hit>>) -> tantivy::Result<Vec<Hit>> {
        let mut all = Vec::with_capacity(fruits.iter().map(Vec::len).sum());
        for fruit in fruits {
            all.extend(fruit);
        }
        Ok(all)
    }
}

impl SegmentCollector for RankSegmentCollector {
    type Fruit = Vec<Hit>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let Some(meta) = self.data.metas.get(doc as usize) else {
            return;
        };
        if self.filter.admits(meta) {
            let mut score = score.round().clamp(0.0, 255.0) as u8;
            if let Some(display) = self.data.display(doc) {
                let query = &*self.filter.query;
                score |= if display == query {
                    MatchKind::ExactName as u8
                        | MatchKind::NamePrefix as u8
                        | MatchKind::NameSubstring as u8
                } else if display.starts_with(query) {
                    MatchKind::NamePrefix as u8 | MatchKind::NameSubstring as u8
                } else if display.contains(query) {
                    MatchKind::NameSubstring as u8
                } else {
                    0
                };
            }
            self.hits.push(Hit {
                rank: Hit::rank(score, meta),
                code_key: meta.key,
                score,
                segment: self.segment,
                doc,
            });
        }
    }

    fn harvest(self) -> Vec<Hit> {
        self.hits
    }
}

/// The answer for one hit: which designation or code matched, and where.
fn answer(
    entry: &Entry,
    score: u8,
    query: &Normalized,
    code: &str,
    releases: &HashMap<Master, ReleaseId>,
) -> SearchHit {
    let best = MatchKind::best(score);
    let matched = match best {
        MatchKind::ExactCode | MatchKind::ExactCarriedCode | MatchKind::CodePrefix => entry
            .all_codes()
            .find(|(_, c)| Level::Code.apply(c).starts_with(code))
            .map(|(system, c)| Matched {
                kind: best.as_str(),
                field: format!("code:{system}"),
                value: c.to_owned(),
                start: 0,
                end: code_span(c, code),
            }),
        _ => None,
    }
    .or_else(|| designation_match(entry, best, query))
    .unwrap_or_else(|| Matched {
        kind: best.as_str(),
        field: "display".into(),
        value: entry.display.clone(),
        start: 0,
        end: 0,
    });
    let master = crate::systems::by_key(&entry.system).map(|s| s.master);
    let release_id = master
        .and_then(|m| releases.get(&m).copied())
        .unwrap_or(entry.valid_from);
    SearchHit {
        system: entry.system.clone(),
        code: entry.code.clone(),
        display: entry.display.clone(),
        reading: entry.reading.clone(),
        status: entry.status.clone(),
        master: master.map(Master::key).unwrap_or_default().to_owned(),
        release_id,
        matched,
        score: 1.0 - MatchKind::tier(score) as f32 / MatchKind::ALL.len() as f32,
    }
}

/// How many characters of `code` a normalised code prefix covers.
fn code_span(code: &str, prefix: &str) -> u32 {
    let mut covered = 0;
    for (i, _) in code
        .char_indices()
        .skip(1)
        .chain(std::iter::once((code.len(), ' ')))
    {
        covered += 1;
        if Level::Code.apply(&code[..i]).len() >= prefix.len() {
            return covered;
        }
    }
    covered
}

/// The designation the query was found in: the display when the best way was through it,
/// else the first other designation that starts with (or, failing that, contains) the query.
fn designation_match(entry: &Entry, best: MatchKind, query: &Normalized) -> Option<Matched> {
    let matched = |field: &str, value: &str, norm: &Normalized, at: usize| {
        let original_len = value.chars().count() as u32;
        let (start, end) = norm.original_span(at, at + query.len(), original_len);
        Matched {
            kind: best.as_str(),
            field: field.to_owned(),
            value: value.to_owned(),
            start,
            end,
        }
    };
    if matches!(
        best,
        MatchKind::ExactName | MatchKind::NamePrefix | MatchKind::NameSubstring
    ) {
        let norm = normalize(&entry.display);
        let at = find(&norm.chars, &query.chars)?;
        return Some(matched("display", &entry.display, &norm, at));
    }
    let mut first_containing: Option<Matched> = None;
    for (kind, value) in &entry.names {
        let norm = normalize(value);
        let Some(at) = find(&norm.chars, &query.chars) else {
            continue;
        };
        if at == 0 || best != MatchKind::OtherPrefix {
            return Some(matched(kind, value, &norm, at));
        }
        if first_containing.is_none() {
            first_containing = Some(matched(kind, value, &norm, at));
        }
    }
    first_containing
}

/// First position of `needle` in `haystack`.
pub fn find(haystack: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
