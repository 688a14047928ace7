//! In-memory answers. Releases never change once imported, so an answer computed for a
//! release stays right until the store's generation changes (an import or an activation on
//! any node); a poller drops everything then. The current release of each master is kept
//! until the generation changes or a pending activation takes effect.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, Weak};
use std::time::Duration;

use actix_web::web::Bytes;
use chrono::{NaiveDateTime, Utc};
use lru::LruCache;
use rustc_hash::{FxHashMap, FxHashSet};

use super::code_key::CodeKey;
use super::error::ApiError;
use crate::ids::ReleaseId;
use crate::store::lookup::CodeStatus;
use crate::store::models::ReleaseRow;
use crate::store::Store;
use crate::systems::Master;

/// How often each node asks the database whether anything changed.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// (release id, code system key, code).
type AnswerKey = (ReleaseId, &'static str, String);

/// The most the kept FHIR answers (keys and bodies) take together.
pub const FHIR_ANSWER_BYTES: usize = 64 << 20;

/// FHIR answers, least recently used first out, and the bytes they take.
struct FhirAnswers {
    answers: LruCache<String, Bytes>,
    bytes: usize,
}

impl FhirAnswers {
    fn put(&mut self, key: String, body: Bytes) {
        let size = key.len() + body.len();
        if size > FHIR_ANSWER_BYTES {
            return;
        }
        if let Some((old_key, old)) = self.answers.push(key, body) {
            self.bytes -= old_key.len() + old.len();
        }
        self.bytes += size;
        while self.bytes > FHIR_ANSWER_BYTES {
            match self.answers.pop_lru() {
                Some((k, b)) => self.bytes -= k.len() + b.len(),
                None => break,
            }
        }
    }

    fn clear(&mut self) {
        self.answers.clear();
        self.bytes = 0;
    }
}

struct Current {
    release: Option<ReleaseRow>,
    /// The moment a pending activation takes over, if any.
    until: Option<NaiveDateTime>,
}

/// Answers kept in memory, shared by all workers of a node.
pub struct ReadCache {
    generation: Mutex<Option<i64>>,
    current: Mutex<HashMap<Master, Current>>,
    responses: Mutex<LruCache<AnswerKey, Bytes>>,
    /// Whole FHIR answers to GET requests, by a key that names everything they depend on
    /// (see `crate::fhir::answers`), held to [`FHIR_ANSWER_BYTES`] together.
    fhir: Mutex<FhirAnswers>,
    /// Validation statuses per (release, system), looked up by code without allocating.
    statuses: RwLock<StatusMaps>,
    max_statuses: usize,
    /// Set while a warm-up thread runs (see [`super::warm`]).
    pub(super) warming: AtomicBool,
}

/// Statuses by code, held in the map itself; `None` records a code the master never had.
/// Shared (`Arc`): a request copies what it uses from the cache by a count, not a clone.
pub type Statuses = FxHashMap<CodeKey, Option<Arc<CodeStatus>>>;

/// The cached statuses of one (release, system). The codes are shared: a request answers a
/// batch from a complete map by holding it ([`StatusMap::snapshot`]), not by copying what it
/// uses code by code; a later write to the map copies it first if a request still holds it.
#[derive(Default)]
pub struct StatusMap {
    codes: Arc<Statuses>,
    /// Every code the system can know in the release is in `codes` (a warm-up loaded them
    /// all): a code not there is one the master never had.
    complete: bool,
}

impl StatusMap {
    /// What the cache knows of `code`: `Some(None)` for a code the master never had, `None`
    /// when it does not know yet.
    pub fn get(&self, code: &str) -> Option<Option<&CodeStatus>> {
        self.shared(code).map(|s| s.map(|s| &**s))
    }

    /// As [`StatusMap::get`], the status shared.
    pub fn shared(&self, code: &str) -> Option<Option<&Arc<CodeStatus>>> {
        match self.codes.get(code) {
            Some(status) => Some(status.as_ref()),
            None if self.complete => Some(None),
            None => None,
        }
    }

    /// Every status of the (release, system), when the map holds them all: what a request
    /// answers from for the rest of its life, whatever happens to the cache meanwhile.
    pub fn snapshot(&self) -> Option<Arc<Statuses>> {
        self.complete.then(|| self.codes.clone())
    }
}

/// Statuses just read from the database for one request (the cache keeps copies).
#[derive(Default)]
pub struct Fetched {
    codes: Statuses,
}

impl Fetched {
    /// The statuses found for `asked`; the codes among them the master never had get `None`.
    pub fn new(asked: &[&str], mut found: HashMap<String, CodeStatus>) -> Self {
        let codes = asked
            .iter()
            .map(|c| (CodeKey::from(*c), found.remove(*c).map(Arc::new)))
            .collect();
        Fetched { codes }
    }

    /// What was read of `code`, as [`StatusMap::get`].
    pub fn get(&self, code: &str) -> Option<Option<&CodeStatus>> {
        self.shared(code).map(|s| s.map(|s| &**s))
    }

    /// As [`Fetched::get`], the status shared.
    pub fn shared(&self, code: &str) -> Option<Option<&Arc<CodeStatus>>> {
        self.codes.get(code).map(Option::as_ref)
    }

    /// Keeps a copy of what the cache knew of `code` (see [`ReadCache::statuses`]).
    pub fn keep(&mut self, code: &str, status: Option<&Arc<CodeStatus>>) {
        if !self.codes.contains_key(code) {
            self.codes.insert(CodeKey::from(code), status.cloned());
        }
    }

    /// Adds what was read for other codes.
    pub fn extend(&mut self, other: Fetched) {
        self.codes.extend(other.codes);
    }
}

#[derive(Default)]
struct StatusMaps {
    maps: FxHashMap<(ReleaseId, &'static str), StatusMap>,
    entries: usize,
    /// Counts the clears: a warm-up keeps its result only if none happened meanwhile.
    epoch: u64,
    /// The (release, system) pairs a warm-up has dealt with since the last clear.
    warmed: FxHashSet<(ReleaseId, &'static str)>,
}

/// The cached statuses, read-locked (see [`ReadCache::statuses`]).
pub struct StatusesRead<'a>(RwLockReadGuard<'a, StatusMaps>);

impl StatusesRead<'_> {
    /// The statuses of (release, system), if any are cached.
    pub fn map(&self, release: ReleaseId, system: &'static str) -> Option<&StatusMap> {
        self.0.maps.get(&(release, system))
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ReadCache {
    /// A cache holding up to `responses` code answers and `statuses` validation entries.
    pub fn new(responses: usize, statuses: usize) -> Self {
        let cap = |n: usize| NonZeroUsize::new(n.max(1)).unwrap_or(NonZeroUsize::MIN);
        ReadCache {
            generation: Mutex::new(None),
            current: Mutex::new(HashMap::new()),
            responses: Mutex::new(LruCache::new(cap(responses))),
            fhir: Mutex::new(FhirAnswers {
                answers: LruCache::unbounded(),
                bytes: 0,
            }),
            statuses: RwLock::new(StatusMaps::default()),
            max_statuses: statuses,
            warming: AtomicBool::new(false),
        }
    }

    /// Drops every answer.
    pub fn clear(&self) {
        locked(&self.current).clear();
        locked(&self.responses).clear();
        locked(&self.fhir).clear();
        let mut statuses = write(&self.statuses);
        *statuses = StatusMaps {
            epoch: statuses.epoch + 1,
            ..StatusMaps::default()
        };
    }

    /// Compares the store's generation with the last one seen; clears on change. While the
    /// database is down nothing is cleared (releases do not change, and nothing can be
    /// activated meanwhile): the answers in memory keep serving.
    pub fn check_generation(&self, store: &Store) {
        if store.health().is_down() {
            return;
        }
        match store.generation() {
            Ok(generation) => {
                let mut seen = locked(&self.generation);
                if *seen != Some(generation) {
                    if seen.is_some() {
                        self.clear();
                    }
                    *seen = Some(generation);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the store generation"),
        }
    }

    /// The store generation the poller saw last (`None` before the first poll).
    pub fn seen_generation(&self) -> Option<i64> {
        *locked(&self.generation)
    }

    /// Starts the poller thread; it ends when the cache is dropped. With `warm_up`, each
    /// poll also starts a warm-up of the validation statuses when needed
    /// ([`super::warm`]), the first one right away.
    pub fn start_polling(cache: &Arc<ReadCache>, store: Store, warm_up: bool) {
        let weak: Weak<ReadCache> = Arc::downgrade(cache);
        let spawned = std::thread::Builder::new()
            .name("cache-poller".into())
            .spawn(move || {
                if let Some(cache) = weak.upgrade().filter(|_| warm_up) {
                    super::warm::start(&cache, &store);
                }
                loop {
                    std::thread::sleep(POLL_INTERVAL);
                    let Some(cache) = weak.upgrade() else { return };
                    cache.check_generation(&store);
                    if warm_up {
                        super::warm::start(&cache, &store);
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the cache poller: answers are not cached");
        }
    }

    /// The current release of `master` if memory has a valid answer (no database access).
    pub fn current_cached(&self, master: Master) -> Option<Option<ReleaseRow>> {
        let now = Utc::now().naive_utc();
        locked(&self.current)
            .get(&master)
            .filter(|c| c.until.is_none_or(|until| now < until))
            .map(|c| c.release.clone())
    }

    /// The current release of `master`, from memory when still valid.
    pub fn current_release(
        &self,
        store: &Store,
        master: Master,
    ) -> Result<Option<ReleaseRow>, ApiError> {
        let now = Utc::now().naive_utc();
        if let Some(c) = locked(&self.current).get(&master) {
            if c.until.is_none_or(|until| now < until) {
                return Ok(c.release.clone());
            }
        }
        let release = store.current_release(master)?;
        let until = store.next_activation_after(master, now)?;
        locked(&self.current).insert(
            master,
            Current {
                release: release.clone(),
                until,
            },
        );
        Ok(release)
    }

    /// A stored code answer.
    pub fn response(&self, key: &AnswerKey) -> Option<Bytes> {
        locked(&self.responses).get(key).cloned()
    }

    pub fn put_response(&self, key: AnswerKey, body: Bytes) {
        locked(&self.responses).put(key, body);
    }

    /// A stored FHIR answer.
    pub fn fhir_answer(&self, key: &str) -> Option<Bytes> {
        locked(&self.fhir).answers.get(key).cloned()
    }

    pub fn put_fhir_answer(&self, key: String, body: Bytes) {
        locked(&self.fhir).put(key, body);
    }

    /// How many FHIR answers are kept, and the bytes they take.
    pub fn fhir_answers(&self) -> (usize, usize) {
        let kept = locked(&self.fhir);
        (kept.answers.len(), kept.bytes)
    }

    /// The cached statuses, read-locked while the answer lives: look everything up, then
    /// drop it (writers wait meanwhile). A clear can land as soon as the lock is dropped, so
    /// a request that must read the database too copies what it found first
    /// ([`Fetched::keep`]) and answers from its copies alone: one snapshot per request.
    pub fn statuses(&self) -> StatusesRead<'_> {
        StatusesRead(read(&self.statuses))
    }

    /// Keeps statuses read for a request; past the size limit, the statuses no warm-up
    /// loaded are dropped first, and everything if that is not enough (a release's statuses
    /// are rebuilt from the database in large batches).
    pub fn put_statuses(&self, release: ReleaseId, system: &'static str, fetched: &Fetched) {
        let mut cache = write(&self.statuses);
        if cache.entries + fetched.codes.len() > self.max_statuses {
            cache.maps.retain(|_, m| m.complete);
            cache.entries = cache.maps.values().map(|m| m.codes.len()).sum();
            if cache.entries + fetched.codes.len() > self.max_statuses {
                *cache = StatusMaps {
                    epoch: cache.epoch,
                    warmed: std::mem::take(&mut cache.warmed),
                    ..StatusMaps::default()
                };
            }
        }
        let map = cache.maps.entry((release, system)).or_default();
        let before = map.codes.len();
        let codes = Arc::make_mut(&mut map.codes);
        for (code, status) in &fetched.codes {
            codes.insert(code.clone(), status.clone());
        }
        let added = map.codes.len() - before;
        cache.entries += added;
    }

    /// The current epoch (see [`ReadCache::put_warmed`]).
    pub(super) fn epoch(&self) -> u64 {
        read(&self.statuses).epoch
    }

    /// Whether a warm-up has dealt with (release, system) since the last clear.
    pub(super) fn warmed(&self, release: ReleaseId, system: &'static str) -> bool {
        read(&self.statuses).warmed.contains(&(release, system))
    }

    /// Records a warm-up of (release, system) begun in `epoch`, with every code the system
    /// can know there (`None` when it failed); either way it is not tried again until the
    /// next clear. Ignored if the cache was cleared meanwhile; the statuses are not kept
    /// (false) past the size limit.
    pub(super) fn put_warmed(
        &self,
        epoch: u64,
        release: ReleaseId,
        system: &'static str,
        statuses: Option<FxHashMap<CodeKey, CodeStatus>>,
    ) -> bool {
        let mut cache = write(&self.statuses);
        if cache.epoch != epoch {
            return true;
        }
        cache.warmed.insert((release, system));
        let Some(statuses) = statuses else {
            return true;
        };
        let old = cache
            .maps
            .get(&(release, system))
            .map_or(0, |m| m.codes.len());
        if cache.entries - old + statuses.len() > self.max_statuses {
            return false;
        }
        let codes: Statuses = statuses
            .into_iter()
            .map(|(c, s)| (c, Some(Arc::new(s))))
            .collect();
        cache.entries = cache.entries - old + codes.len();
        cache.maps.insert(
            (release, system),
            StatusMap {
                codes: Arc::new(codes),
                complete: true,
            },
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fhir_answers_are_held_to_their_byte_budget() {
        let cache = ReadCache::new(10, 10);
        let mib = Bytes::from(vec![b' '; 1 << 20]);
        for i in 0..70 {
            cache.put_fhir_answer(format!("k{i:02}"), mib.clone());
        }
        let (count, bytes) = cache.fhir_answers();
        assert!(bytes <= FHIR_ANSWER_BYTES, "{bytes}");
        assert_eq!(count, FHIR_ANSWER_BYTES / ((1 << 20) + 3));
        assert!(cache.fhir_answer("k00").is_none(), "the oldest went first");
        assert!(cache.fhir_answer("k69").is_some());
        // The same key again replaces its answer; an answer over the budget is not kept.
        cache.put_fhir_answer("k69".into(), Bytes::from_static(b"{}"));
        assert_eq!(cache.fhir_answers().1, bytes - (1 << 20) + 2);
        cache.put_fhir_answer("huge".into(), Bytes::from(vec![0; FHIR_ANSWER_BYTES]));
        assert!(cache.fhir_answer("huge").is_none());
        cache.clear();
        assert_eq!(cache.fhir_answers(), (0, 0));
    }

    #[test]
    fn a_snapshot_of_a_complete_map_stays_as_it_was_taken() {
        let cache = ReadCache::new(10, 100);
        let status = |present| CodeStatus {
            present,
            ..CodeStatus::default()
        };
        // A map filled request by request is not complete: no snapshot.
        cache.put_statuses(
            ReleaseId::new(1),
            "hot9",
            &Fetched::new(&["a"], HashMap::new()),
        );
        assert!(cache
            .statuses()
            .map(ReleaseId::new(1), "hot9")
            .unwrap()
            .snapshot()
            .is_none());
        // A warm-up's map is; a request holding it keeps what it took.
        let all = FxHashMap::from_iter([(CodeKey::from("a"), status(true))]);
        assert!(cache.put_warmed(cache.epoch(), ReleaseId::new(1), "hot9", Some(all)));
        let taken = cache
            .statuses()
            .map(ReleaseId::new(1), "hot9")
            .unwrap()
            .snapshot()
            .unwrap();
        let read = HashMap::from([("b".to_owned(), status(false))]);
        cache.put_statuses(ReleaseId::new(1), "hot9", &Fetched::new(&["b"], read));
        cache.clear();
        assert_eq!(taken.len(), 1);
        assert!(taken.get("a").unwrap().as_ref().unwrap().present);
        assert!(cache.statuses().map(ReleaseId::new(1), "hot9").is_none());
    }
}
