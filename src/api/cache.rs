//! In-memory answers. Releases never change once imported, so an answer computed for a
//! release stays right until the store's generation changes (an import or an activation on
//! any node); a poller drops everything then. The current release of each master is kept
//! until the generation changes or a pending activation takes effect.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use actix_web::web::Bytes;
use chrono::{NaiveDateTime, Utc};
use lru::LruCache;
use rustc_hash::FxHashMap;

use super::error::ApiError;
use crate::store::lookup::CodeStatus;
use crate::store::models::ReleaseRow;
use crate::store::Store;
use crate::systems::Master;

/// How often each node asks the database whether anything changed.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// (release id, code system key, code).
type CodeKey = (i64, &'static str, String);

struct Current {
    release: Option<ReleaseRow>,
    /// The moment a pending activation takes over, if any.
    until: Option<NaiveDateTime>,
}

/// Answers kept in memory, shared by all workers of a node.
pub struct ReadCache {
    generation: Mutex<Option<i64>>,
    current: Mutex<HashMap<Master, Current>>,
    responses: Mutex<LruCache<CodeKey, Bytes>>,
    /// Validation statuses per (release, system), looked up by code without allocating;
    /// `None` records a code the master never had.
    statuses: RwLock<StatusMaps>,
    max_statuses: usize,
}

/// Statuses of one (release, system) by code; `None` for a code the master never had.
pub type StatusMap = FxHashMap<Box<str>, Option<Arc<CodeStatus>>>;

#[derive(Default)]
struct StatusMaps {
    maps: FxHashMap<(i64, &'static str), StatusMap>,
    entries: usize,
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
            statuses: RwLock::new(StatusMaps::default()),
            max_statuses: statuses,
        }
    }

    /// Drops every answer.
    pub fn clear(&self) {
        locked(&self.current).clear();
        locked(&self.responses).clear();
        *write(&self.statuses) = StatusMaps::default();
    }

    /// Compares the store's generation with the last one seen; clears on change.
    pub fn check_generation(&self, store: &Store) {
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

    /// Starts the poller thread; it ends when the cache is dropped.
    pub fn start_polling(cache: &Arc<ReadCache>, store: Store) {
        let weak: Weak<ReadCache> = Arc::downgrade(cache);
        let spawned = std::thread::Builder::new()
            .name("cache-poller".into())
            .spawn(move || loop {
                std::thread::sleep(POLL_INTERVAL);
                match weak.upgrade() {
                    Some(cache) => cache.check_generation(&store),
                    None => return,
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
    pub fn response(&self, key: &CodeKey) -> Option<Bytes> {
        locked(&self.responses).get(key).cloned()
    }

    pub fn put_response(&self, key: CodeKey, body: Bytes) {
        locked(&self.responses).put(key, body);
    }

    /// The codes whose status is not in memory yet.
    pub fn missing_statuses<'a>(
        &self,
        release: i64,
        system: &'static str,
        codes: &[&'a str],
    ) -> Vec<&'a str> {
        let cache = read(&self.statuses);
        match cache.maps.get(&(release, system)) {
            Some(map) => codes
                .iter()
                .copied()
                .filter(|c| !map.contains_key(*c))
                .collect(),
            None => codes.to_vec(),
        }
    }

    /// Runs `f` with the cached statuses of (release, system), if any (read-locked).
    pub fn with_statuses<R>(
        &self,
        release: i64,
        system: &'static str,
        f: impl FnOnce(Option<&StatusMap>) -> R,
    ) -> R {
        let cache = read(&self.statuses);
        f(cache.maps.get(&(release, system)))
    }

    /// Keeps statuses; past the size limit everything cached so far is dropped first (a
    /// release's statuses are rebuilt from the database in large batches).
    pub fn put_statuses(
        &self,
        release: i64,
        system: &'static str,
        statuses: &HashMap<String, Option<Arc<CodeStatus>>>,
    ) {
        let mut cache = write(&self.statuses);
        if cache.entries + statuses.len() > self.max_statuses {
            *cache = StatusMaps::default();
        }
        let map = cache.maps.entry((release, system)).or_default();
        let before = map.len();
        for (code, status) in statuses {
            map.insert(code.as_str().into(), status.clone());
        }
        let added = map.len() - before;
        cache.entries += added;
    }
}
