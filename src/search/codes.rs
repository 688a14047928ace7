//! The codes of one code system in one release, from the index: those a search finds, ranked
//! as `GET /v1/search` ranks them, or every code the release has. This is what
//! `ValueSet/$expand` lists (`src/fhir/expand.rs`): nothing is read from the database and no
//! master is loaded, only the snapshot's decoded entries are walked.
//!
//! A code of a system whose codes the masters define by rows ([`systems::ROW_SYSTEMS`]) is
//! found through its own rows, exactly as `/v1/search` restricted to that system finds it; a
//! code of a system whose codes are only carried (YJ, HOT7, ICD-10 …) is found through the
//! rows that carry it, and ranks as the best of them. Every code of a release is every code a
//! row valid there defines or carries (what membership in `$validate-code` means).

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::AllQuery;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::query::{self, Filter, SearchRequest, StatusFilter};
use super::{SearchError, SegmentData, Snapshot};
use crate::ids::ReleaseId;
use crate::systems::{self, CodeSystem, Master};
use crate::text::normalize;

/// A code a search found, with what ranks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'s> {
    /// Best first when ascending; equal ranks are ordered by (system, code) bytewise, as
    /// `/v1/search` orders them.
    pub rank: u64,
    pub code: &'s str,
}

/// Where to look: one release of one master, one code system, which statuses.
#[derive(Debug, Clone, Copy)]
pub struct Within {
    pub master: Master,
    /// The release (its id).
    pub release: ReleaseId,
    pub system: &'static CodeSystem,
    /// Only rows of this status are looked at: [`StatusFilter::Active`] keeps the codes an
    /// active row defines or carries, i.e. the active codes.
    pub status: StatusFilter,
}

impl Within {
    /// The request over this release: the system's own rows, or every row of the master when
    /// the system's codes are carried (or `all_rows`).
    fn request(&self, query: &str, all_rows: bool) -> SearchRequest {
        let own = systems::defines_rows(self.system) && !all_rows;
        SearchRequest {
            query: query.to_owned(),
            releases: HashMap::from([(self.master, self.release)]),
            systems: if own {
                vec![self.system.key]
            } else {
                Vec::new()
            },
            status: self.status,
            attributes: Vec::new(),
            limit: 0,
            offset: 0,
        }
    }
}

/// The codes of `within.system` whose rows (or carrying rows) match `query`, each once with
/// its best rank, in no particular order. Recall is the search's: every code whose
/// normalised designations contain the normalised query, or whose codes start with it.
pub fn matching<'s>(
    snapshot: &'s Snapshot,
    query: &str,
    within: &Within,
) -> Result<Vec<Found<'s>>, SearchError> {
    let request = within.request(query, false);
    let (hits, _, _) = query::matches(snapshot, &request)?;
    let entry = |segment: u32, doc: DocId| {
        &snapshot.segments_by_ord[segment as usize].entries[doc as usize]
    };
    let mut found: Vec<Found<'s>> = Vec::new();
    if systems::defines_rows(within.system) {
        // Own rows only: one code per interned (system, code) key.
        let mut at: FxHashMap<u32, usize> = FxHashMap::default();
        for hit in &hits {
            let rank = hit.order();
            match at.get(&hit.code_key) {
                Some(&i) => found[i].rank = found[i].rank.min(rank),
                None => {
                    at.insert(hit.code_key, found.len());
                    found.push(Found {
                        rank,
                        code: &entry(hit.segment, hit.doc).code,
                    });
                }
            }
        }
    } else {
        let key = within.system.key;
        let mut at: FxHashMap<&'s str, usize> = FxHashMap::default();
        for hit in &hits {
            let rank = hit.order();
            let carrier = entry(hit.segment, hit.doc);
            for (_, code) in carrier.codes.iter().filter(|(s, _)| s == key) {
                match at.get(code.as_str()) {
                    Some(&i) => found[i].rank = found[i].rank.min(rank),
                    None => {
                        at.insert(code, found.len());
                        found.push(Found { rank, code });
                    }
                }
            }
        }
    }
    Ok(found)
}

/// Every code of `within.system` a row valid in the release defines or carries (of the
/// status asked), each once, in byte order.
pub fn every<'s>(snapshot: &'s Snapshot, within: &Within) -> Result<Vec<&'s str>, SearchError> {
    let request = within.request("", true);
    let collector = AdmittedCollector {
        filter: Arc::new(Filter::new(&request, &normalize(""))),
        segments: snapshot.segments.clone(),
    };
    let docs = snapshot.searcher.search(&AllQuery, &collector)?;
    let key = within.system.key;
    let mut codes: Vec<&'s str> = Vec::new();
    for (segment, doc) in docs {
        let entry = &snapshot.segments_by_ord[segment as usize].entries[doc as usize];
        if entry.system == key {
            codes.push(&entry.code);
        }
        codes.extend(
            entry
                .codes
                .iter()
                .filter(|(s, _)| s == key)
                .map(|(_, c)| c.as_str()),
        );
    }
    codes.sort_unstable();
    codes.dedup();
    Ok(codes)
}

/// Collects every live document the filter admits, as (segment ordinal, document).
struct AdmittedCollector {
    filter: Arc<Filter>,
    segments: Arc<HashMap<tantivy::index::SegmentId, Arc<SegmentData>>>,
}

struct AdmittedSegmentCollector {
    filter: Arc<Filter>,
    data: Arc<SegmentData>,
    segment: u32,
    docs: Vec<(u32, DocId)>,
}

impl Collector for AdmittedCollector {
    type Fruit = Vec<(u32, DocId)>;
    type Child = AdmittedSegmentCollector;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<AdmittedSegmentCollector> {
        Ok(AdmittedSegmentCollector {
            filter: self.filter.clone(),
            data: super::segment_data(&self.segments, segment)?,
            segment: segment_local_id,
            docs: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(u32, DocId)>>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for AdmittedSegmentCollector {
    type Fruit = Vec<(u32, DocId)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if self
            .data
            .metas
            .get(doc as usize)
            .is_some_and(|meta| self.filter.admits(meta))
        {
            self.docs.push((self.segment, doc));
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.docs
    }
}
