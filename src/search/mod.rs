//! Japanese full-text search over every master (tantivy).
//!
//! The index is derived data: one document per concept version, with its validity range, so
//! any release — current or past — is searched by filtering on the range. It is kept in step
//! with the store by [`SearchIndex::sync`]: each commit records which releases it holds (ids
//! and content hashes) in its payload, and a search only ever runs on a snapshot that holds
//! every release it asks for, so it never sees half a release. `hyojun reindex` rebuilds it;
//! an index written by another schema version (see [`document::SCHEMA_VERSION`]), or for
//! another database, is rebuilt on open or on the first sync.

pub mod codes;
pub mod document;
pub mod query;
pub mod scope;
pub mod similar;
pub mod tokens;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::index::SegmentId;
use tantivy::schema::Value;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};
use thiserror::Error;

use crate::ids::ReleaseId;
use crate::store::search_feed::{ReleaseStamp, Versions};
use crate::store::{Store, StoreError};
use document::{Attributes, Entry, Fields, Meta, SCHEMA_VERSION};
pub use query::{SearchHit, SearchRequest, SearchResults, StatusFilter};

/// The file beside the index that names its schema version.
const VERSION_FILE: &str = "hyojun-search.json";
/// Memory the writer may use before it flushes a segment.
const WRITER_BUDGET: usize = 64 * 1024 * 1024;
/// How often a serving node checks whether the store changed.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Errors of the search index.
#[derive(Debug, Error)]
pub enum SearchError {
    /// The query cannot be searched (empty, too long); the message says why.
    #[error("{0}")]
    BadQuery(String),
    /// A code system named in the request does not exist (the message says so).
    #[error("{0}")]
    UnknownSystem(String),
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another process holds the index for writing.
    #[error("the search index at {0} is being written by another process (a running server?)")]
    Busy(PathBuf),
    /// Stored index data could not be decoded.
    #[error("search index data is damaged: {0}")]
    Corrupt(String),
}

/// What the index holds, recorded in each commit's payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct IndexState {
    schema_version: u32,
    releases: Vec<ReleaseStamp>,
}

/// The decoded entries of one segment, by document id.
pub struct SegmentData {
    pub entries: Vec<Entry>,
    pub metas: Vec<Meta>,
    /// Normalised display names, end to end in document order (the collector reads them in
    /// that order: one contiguous buffer keeps those reads sequential).
    display_text: String,
    /// Where document `i`'s display is in `display_text`: `display_ends[i - 1]..display_ends[i]`.
    display_ends: Vec<u32>,
}

impl SegmentData {
    /// The normalised display of document `doc`.
    #[inline]
    pub fn display(&self, doc: u32) -> Option<&str> {
        let end = *self.display_ends.get(doc as usize)? as usize;
        let start = match doc {
            0 => 0,
            _ => self.display_ends[doc as usize - 1] as usize,
        };
        self.display_text.get(start..end)
    }
}

/// One consistent view: a searcher and the releases it holds.
pub struct Snapshot {
    pub searcher: Searcher,
    pub fields: Fields,
    /// Number of distinct (system, code) keys the segments use.
    pub key_count: usize,
    pub segments: Arc<HashMap<SegmentId, Arc<SegmentData>>>,
    /// The same, by segment ordinal of `searcher`.
    pub segments_by_ord: Vec<Arc<SegmentData>>,
    releases: Vec<ReleaseStamp>,
}

impl Snapshot {
    /// Whether the snapshot holds release `id`.
    pub fn holds(&self, id: ReleaseId) -> bool {
        self.releases.iter().any(|r| r.id == id)
    }

    /// Number of concept versions indexed.
    pub fn documents(&self) -> u64 {
        self.searcher.num_docs()
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Whether the index was rebuilt from scratch.
    pub rebuilt: bool,
    /// Releases added to the index.
    pub releases_added: usize,
    /// Concept versions written.
    pub documents_written: u64,
    pub seconds: f64,
}

/// Where the index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// In memory, built at start (tests, one-off commands).
    Memory,
    /// On disk, kept across restarts.
    Dir(PathBuf),
}

/// The search index of one node.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    location: Location,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serialises writers within the process (tantivy's lock guards across processes).
    writing: Mutex<()>,
    /// Interned (system, code) keys, stable for the life of the process.
    keys: Mutex<KeyInterner>,
    /// Whether a sync has completed since the index was opened.
    synced: std::sync::atomic::AtomicBool,
    /// The node's metrics, told of each sync that changed the index.
    metrics: Option<Arc<crate::telemetry::Metrics>>,
}

/// Numbers each (system, code) once.
#[derive(Default)]
struct KeyInterner {
    ids: rustc_hash::FxHashMap<(String, String), u32>,
}

impl KeyInterner {
    fn key(&mut self, system: &str, code: &str) -> u32 {
        let next = self.ids.len() as u32;
        *self
            .ids
            .entry((system.to_owned(), code.to_owned()))
            .or_insert(next)
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SearchIndex {
    /// Opens the index at `location`, creating it (or recreating it, when it was written with
    /// another schema version or cannot be opened) as needed. It is empty until [`sync`].
    ///
    /// [`sync`]: SearchIndex::sync
    pub fn open(location: Location) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = Fields::schema();
        let index = match &location {
            Location::Memory => Index::create_in_ram(schema),
            Location::Dir(dir) => open_dir(dir, schema)?,
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let empty = Snapshot {
            searcher: reader.searcher(),
            fields,
            key_count: 0,
            segments: Arc::new(HashMap::new()),
            segments_by_ord: Vec::new(),
            releases: Vec::new(),
        };
        let search = SearchIndex {
            index,
            reader,
            fields,
            location,
            snapshot: RwLock::new(Arc::new(empty)),
            writing: Mutex::new(()),
            keys: Mutex::new(KeyInterner::default()),
            synced: std::sync::atomic::AtomicBool::new(false),
            metrics: None,
        };
        search.refresh()?;
        Ok(search)
    }

    /// This index, reporting its syncs to a node's metrics.
    pub fn reporting_to(self, metrics: &Arc<crate::telemetry::Metrics>) -> SearchIndex {
        SearchIndex {
            metrics: Some(metrics.clone()),
            ..self
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        read(&self.snapshot).clone()
    }

    /// A snapshot holding every release in `ids`, syncing first when the current one does not.
    pub fn snapshot_holding(
        &self,
        store: &Store,
        ids: &[ReleaseId],
    ) -> Result<Arc<Snapshot>, SearchError> {
        let snapshot = self.snapshot();
        if ids.iter().all(|id| snapshot.holds(*id)) {
            return Ok(snapshot);
        }
        self.sync(store)?;
        let snapshot = self.snapshot();
        match ids.iter().find(|id| !snapshot.holds(**id)) {
            None => Ok(snapshot),
            Some(id) => Err(SearchError::Corrupt(format!(
                "release {id} is not in the search index after a sync"
            ))),
        }
    }

    /// Runs a search on a snapshot holding every release it asks for.
    pub fn search(
        &self,
        store: &Store,
        request: &SearchRequest,
    ) -> Result<SearchResults, SearchError> {
        query::checked_query(&request.query)?;
        let ids: Vec<ReleaseId> = request.releases.values().copied().collect();
        let snapshot = self.snapshot_holding(store, &ids)?;
        query::run(&snapshot, request)
    }

    /// Brings the index in step with the store: adds the releases imported since the last
    /// sync in one commit, or rebuilds everything when the index does not match the store.
    pub fn sync(&self, store: &Store) -> Result<SyncReport, SearchError> {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let stamps = store.release_stamps()?;
        let indexed = self.state()?;
        let consistent = indexed.schema_version == SCHEMA_VERSION
            && indexed.releases.iter().all(|r| stamps.contains(r));
        if consistent && indexed.releases.len() == stamps.len() {
            self.synced
                .store(true, std::sync::atomic::Ordering::Release);
            return Ok(SyncReport::default());
        }
        let started = Instant::now();
        let rebuild = !consistent || indexed.releases.is_empty();
        let new: Vec<ReleaseId> = stamps
            .iter()
            .filter(|s| rebuild || !indexed.releases.contains(s))
            .map(|s| s.id)
            .collect();
        let written = self.write(store, &stamps, &new, rebuild)?;
        self.refresh()?;
        self.synced
            .store(true, std::sync::atomic::Ordering::Release);
        let report = SyncReport {
            rebuilt: rebuild,
            releases_added: new.len(),
            documents_written: written,
            seconds: started.elapsed().as_secs_f64(),
        };
        if let Some(metrics) = &self.metrics {
            metrics.search_synced(report.seconds);
        }
        tracing::info!(
            rebuilt = report.rebuilt,
            releases = report.releases_added,
            documents = report.documents_written,
            seconds = report.seconds,
            "search index in step with the store"
        );
        Ok(report)
    }

    /// Rebuilds the index from the store.
    pub fn rebuild(&self, store: &Store) -> Result<SyncReport, SearchError> {
        {
            let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
            let mut writer = self.writer()?;
            writer.delete_all_documents()?;
            let mut commit = writer.prepare_commit()?;
            commit.set_payload(&serde_json::to_string(&IndexState::default()).unwrap_or_default());
            commit.commit()?;
            writer.wait_merging_threads()?;
            self.refresh()?;
        }
        self.sync(store)
    }

    /// Keeps the index in step with the store from a background thread (each node of a
    /// cluster keeps its own index): syncs at once, then whenever `generation` — the store
    /// generation the node's cache poller last saw — changes.
    pub fn start_syncing(
        index: &Arc<SearchIndex>,
        store: Store,
        generation: impl Fn() -> Option<i64> + Send + 'static,
    ) {
        let weak: Weak<SearchIndex> = Arc::downgrade(index);
        let spawned = std::thread::Builder::new()
            .name("search-sync".into())
            .spawn(move || {
                // `None` until the first sync succeeds.
                let mut synced_at: Option<Option<i64>> = None;
                loop {
                    let Some(index) = weak.upgrade() else {
                        return;
                    };
                    let now = generation();
                    if synced_at != Some(now) {
                        match index.sync(&store) {
                            Ok(_) => synced_at = Some(now),
                            Err(e) => tracing::error!(error = %e, "search index sync failed"),
                        }
                    }
                    drop(index);
                    std::thread::sleep(POLL_INTERVAL);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the search index sync thread");
        }
    }

    /// Whether the index has been brought in step with the store since it was opened.
    pub fn is_synced(&self) -> bool {
        self.synced.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Where the index lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    fn writer(&self) -> Result<tantivy::IndexWriter<TantivyDocument>, SearchError> {
        match self.index.writer_with_num_threads(1, WRITER_BUDGET) {
            Ok(writer) => Ok(writer),
            Err(tantivy::TantivyError::LockFailure(_, _)) => {
                Err(SearchError::Busy(match &self.location {
                    Location::Dir(dir) => dir.clone(),
                    Location::Memory => PathBuf::from("(memory)"),
                }))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// What the last commit says the index holds.
    fn state(&self) -> Result<IndexState, SearchError> {
        let metas = self.index.load_metas()?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default())
    }

    /// Writes the concept versions `releases` opened or closed (all, when rebuilding) and
    /// commits with the new state. Returns the number of documents written.
    fn write(
        &self,
        store: &Store,
        stamps: &[ReleaseStamp],
        releases: &[ReleaseId],
        rebuild: bool,
    ) -> Result<u64, SearchError> {
        let mut writer = self.writer()?;
        if rebuild {
            writer.delete_all_documents()?;
        }
        let versions = if rebuild {
            Versions::All
        } else {
            Versions::TouchedBy(releases)
        };
        let mut written = 0u64;
        let mut failure: Option<SearchError> = None;
        store
            .for_each_concept_page(versions, |page| {
                for row in page {
                    // A row whose columns do not parse still has its names indexed.
                    let attributes: Attributes =
                        serde_json::from_str(&row.attributes).unwrap_or_default();
                    let entry = match Entry::from_row(&row, &attributes) {
                        Ok(Some(entry)) => entry,
                        Ok(None) => continue,
                        Err(e) => {
                            failure =
                                Some(SearchError::Corrupt(format!("concept {}: {e}", row.id)));
                            return Err(StoreError::Corrupt(format!("concept {}", row.id)));
                        }
                    };
                    if !rebuild {
                        writer.delete_term(Term::from_field_u64(self.fields.id, row.id as u64));
                    }
                    if let Err(e) = writer.add_document(entry.document(&self.fields, &attributes)) {
                        failure = Some(e.into());
                        return Err(StoreError::Corrupt("search index write".into()));
                    }
                    written += 1;
                }
                Ok(())
            })
            .map_err(|e| failure.take().unwrap_or(SearchError::Store(e)))?;
        let state = IndexState {
            schema_version: SCHEMA_VERSION,
            releases: stamps.to_vec(),
        };
        let payload = serde_json::to_string(&state)
            .map_err(|e| SearchError::Corrupt(format!("index state: {e}")))?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&payload);
        commit.commit()?;
        writer.wait_merging_threads()?;
        Ok(written)
    }

    /// Reloads the reader and publishes a new snapshot (decoding only new segments).
    fn refresh(&self) -> Result<(), SearchError> {
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        let state = self.state()?;
        let previous = self.snapshot();
        let mut segments = HashMap::new();
        let mut by_ord = Vec::new();
        for segment in searcher.segment_readers() {
            let id = segment.segment_id();
            let data = match previous.segments.get(&id) {
                Some(data) => data.clone(),
                None => {
                    let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
                    Arc::new(decode_segment(segment, &self.fields, &mut keys)?)
                }
            };
            segments.insert(id, data.clone());
            by_ord.push(data);
        }
        let key_count = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ids
            .len();
        let snapshot = Snapshot {
            searcher,
            fields: self.fields,
            key_count,
            segments: Arc::new(segments),
            segments_by_ord: by_ord,
            releases: if state.schema_version == SCHEMA_VERSION {
                state.releases
            } else {
                Vec::new()
            },
        };
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
        Ok(())
    }
}

/// The decoded entries of the segment `reader` reads (every segment of a snapshot has them).
pub(crate) fn segment_data(
    segments: &HashMap<SegmentId, Arc<SegmentData>>,
    reader: &tantivy::SegmentReader,
) -> tantivy::Result<Arc<SegmentData>> {
    segments.get(&reader.segment_id()).cloned().ok_or_else(|| {
        tantivy::TantivyError::InternalError(format!(
            "segment {} has no decoded entries",
            reader.segment_id()
        ))
    })
}

/// Decodes every stored entry of a segment (deleted documents too: ids stay aligned).
fn decode_segment(
    segment: &tantivy::SegmentReader,
    fields: &Fields,
    keys: &mut KeyInterner,
) -> Result<SegmentData, SearchError> {
    let store = segment.get_store_reader(0)?;
    let mut entries = Vec::with_capacity(segment.max_doc() as usize);
    for doc in store.iter::<TantivyDocument>(None) {
        let doc = doc?;
        let bytes = doc
            .get_first(fields.entry)
            .and_then(|v| v.as_bytes())
            .ok_or_else(|| SearchError::Corrupt("a document without its entry".into()))?;
        let entry: Entry = serde_json::from_slice(bytes)
            .map_err(|e| SearchError::Corrupt(format!("entry: {e}")))?;
        entries.push(entry);
    }
    let metas = entries
        .iter()
        .map(|e| e.meta(keys.key(&e.system, &e.code)))
        .collect();
    let mut display_text = String::new();
    let mut display_ends = Vec::with_capacity(entries.len());
    for entry in &entries {
        display_text.extend(crate::text::normalize(&entry.display).chars);
        display_ends.push(display_text.len() as u32);
    }
    Ok(SegmentData {
        entries,
        metas,
        display_text,
        display_ends,
    })
}

/// Opens the index in `dir`; wipes and recreates it when it was written with another schema
/// version or cannot be opened.
fn open_dir(dir: &Path, schema: tantivy::schema::Schema) -> Result<Index, SearchError> {
    std::fs::create_dir_all(dir)?;
    let version_file = dir.join(VERSION_FILE);
    let recorded: Option<u32> = std::fs::read_to_string(&version_file)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get("schema_version")?.as_u64())
        .map(|v| v as u32);
    if recorded == Some(SCHEMA_VERSION) {
        match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => return Ok(index),
            Ok(_) => {
                tracing::warn!(dir = %dir.display(), "search index schema differs: rebuilding")
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable: rebuilding")
            }
        }
    } else if dir.join("meta.json").exists() {
        tracing::info!(dir = %dir.display(), found = ?recorded, expected = SCHEMA_VERSION,
            "search index schema version changed: rebuilding");
    }
    for item in std::fs::read_dir(dir)? {
        let path = item?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    let index = Index::create_in_dir(dir, schema)?;
    std::fs::write(
        &version_file,
        serde_json::json!({ "schema_version": SCHEMA_VERSION }).to_string(),
    )?;
    Ok(index)
}

/// The release of each master a search looks in: `release` (LABEL or LABEL@REVISION, which
/// needs exactly one master in `masters`), else each master's release in force on `date`,
/// else each master's current release. Masters without one are left out.
pub fn releases_to_search(
    store: &Store,
    masters: &[crate::systems::Master],
    release: Option<&str>,
    date: Option<chrono::NaiveDate>,
) -> Result<Vec<crate::store::models::ReleaseRow>, SearchError> {
    if let Some(spec) = release {
        if date.is_some() {
            return Err(SearchError::BadQuery(
                "give either release or date, not both".into(),
            ));
        }
        let [master] = masters else {
            return Err(SearchError::BadQuery(
                "release names a release of one master: also give the master (or a code system) it belongs to"
                    .into(),
            ));
        };
        return Ok(vec![store.find_release(*master, spec)?]);
    }
    let mut releases = Vec::new();
    for &master in masters {
        let release = match date {
            Some(date) => store.release_as_of(master, date)?,
            None => store.current_release(master)?,
        };
        releases.extend(release);
    }
    Ok(releases)
}
