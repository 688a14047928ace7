//! Warming the validation cache up: a background thread loads the status of every code of
//! each master's current release, system by system, so that the first validation after a
//! start, an import or an activation does not wait for the database. Nothing waits for it:
//! until a system is loaded, validation reads the codes it needs itself, as before.
//!
//! The cache poller calls [`start`] at startup and every poll; it starts a thread only when a
//! current release has systems not loaded since the last clear, and one at a time.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Instant;

use rustc_hash::FxHashMap;

use super::cache::ReadCache;
use super::code_key::CodeKey;
use crate::store::lookup::CodeStatus;
use crate::store::models::ReleaseRow;
use crate::store::{Store, StoreError};
use crate::systems::{self, Master};

/// Clears the cache's warming flag when the warm-up thread ends, however it ends.
struct Running(Weak<ReadCache>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(cache) = self.0.upgrade() {
            cache.warming.store(false, Ordering::Release);
        }
    }
}

/// The (release, system) pairs of the current releases not loaded since the last clear.
fn pending(cache: &ReadCache, store: &Store) -> Vec<(ReleaseRow, &'static str)> {
    let mut work = Vec::new();
    for master in Master::ALL {
        let release = match cache.current_release(store, master) {
            Ok(Some(release)) => release,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, %master, "cache warm-up: cannot read the current release");
                continue;
            }
        };
        for system in systems::of_master(master) {
            if !cache.warmed(release.id, system.key) {
                work.push((release.clone(), system.key));
            }
        }
    }
    work
}

/// The status of every code of `system` in `release`.
fn load(
    store: &Store,
    release: &ReleaseRow,
    system: &str,
) -> Result<FxHashMap<CodeKey, CodeStatus>, StoreError> {
    let codes = store.system_codes(release, system)?;
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let statuses = store.code_statuses(release, system, &codes)?;
    Ok(statuses
        .into_iter()
        .map(|(code, status)| (CodeKey::from(code.as_str()), status))
        .collect())
}

/// Loads (release, system) into the cache, unless it was cleared since `epoch`.
fn warm_one(
    cache: &ReadCache,
    store: &Store,
    epoch: u64,
    release: &ReleaseRow,
    system: &'static str,
) {
    let started = Instant::now();
    match load(store, release, system) {
        Ok(statuses) => {
            let codes = statuses.len();
            let ms = started.elapsed().as_millis();
            if cache.put_warmed(epoch, release.id, system, Some(statuses)) {
                tracing::debug!(system, release = %release.label, codes, ms, "validation statuses loaded");
            } else {
                tracing::warn!(system, release = %release.label, codes, "validation statuses not kept: over the cache's size limit");
            }
        }
        // The database went away: the next poll after it is back tries again.
        Err(StoreError::Connect(e)) => {
            tracing::debug!(error = %e, system, release = %release.label, "cache warm-up put off: no database");
        }
        Err(e) => {
            tracing::warn!(error = %e, system, release = %release.label, "cache warm-up failed");
            cache.put_warmed(epoch, release.id, system, None);
        }
    }
}

/// Loads, on the calling thread, every system of the current releases not loaded since the
/// last clear: what the background warm-up does.
pub fn warm_up(cache: &ReadCache, store: &Store) {
    let epoch = cache.epoch();
    for (release, system) in pending(cache, store) {
        warm_one(cache, store, epoch, &release, system);
    }
}

/// Starts a warm-up thread if the current releases have systems to load and none runs.
pub fn start(cache: &Arc<ReadCache>, store: &Store) {
    // Nothing to load while the database is down; what was loaded keeps serving.
    if cache.warming.load(Ordering::Acquire) || store.health().is_down() {
        return;
    }
    let epoch = cache.epoch();
    let work = pending(cache, store);
    if work.is_empty() || cache.warming.swap(true, Ordering::AcqRel) {
        return;
    }
    let weak = Arc::downgrade(cache);
    let running = Running(weak.clone());
    let store = store.clone();
    let spawned = std::thread::Builder::new()
        .name("cache-warm-up".into())
        .spawn(move || {
            let _running = running;
            for (release, system) in work {
                match weak.upgrade() {
                    Some(cache) if cache.epoch() == epoch => {
                        warm_one(&cache, &store, epoch, &release, system);
                    }
                    // Dropped, or cleared since: the next poll starts again.
                    _ => return,
                }
            }
        });
    if let Err(e) = spawned {
        // The closure, and with it the flag's guard, was dropped: the next poll tries again.
        tracing::error!(error = %e, "cannot start the cache warm-up thread");
    }
}
