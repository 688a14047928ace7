//! When a background job may run: at most `concurrent_jobs` at once on one node (the others
//! stay `queued` and start in turn), and release imports of one master in upload order — an
//! import waits until every earlier import job of its master, on any node sharing the
//! database, has ended, so an older release uploaded first is always imported first.
//!
//! A waiting job says why in its progress (`{"phase": "queued", "note": …}`).

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::limits::{group_digits, Limit};
use crate::store::Store;
use crate::systems::Master;

/// How often a job waiting for an earlier job of another node asks the database again (jobs
/// of this node wake it at once when they end).
const POLL: Duration = Duration::from_millis(250);

/// The job slots of one node.
#[derive(Debug)]
pub struct JobQueue {
    limit: u64,
    running: Mutex<u64>,
    changed: Condvar,
    /// The unfinished jobs this node holds (queued or running): their heartbeat.
    held: Mutex<BTreeSet<i64>>,
}

/// A job this node holds until it ends ([`JobQueue::hold`]); dropping it stops its heartbeat.
#[derive(Debug)]
pub struct Held {
    queue: Arc<JobQueue>,
    id: i64,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut held) = self.queue.held.lock() {
            held.remove(&self.id);
        }
    }
}

/// One running job's slot; dropping it frees the slot and wakes the waiting jobs.
#[derive(Debug)]
pub struct Slot {
    queue: Arc<JobQueue>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut running) = self.queue.running.lock() {
            *running = running.saturating_sub(1);
        }
        self.queue.changed.notify_all();
    }
}

impl JobQueue {
    /// Slots for `limit` jobs at once (at least one).
    pub fn new(limit: u64) -> JobQueue {
        JobQueue {
            limit: limit.max(1),
            running: Mutex::new(0),
            changed: Condvar::new(),
            held: Mutex::new(BTreeSet::new()),
        }
    }

    /// Holds job `id` on this node: its heartbeat goes on until the returned guard drops.
    pub fn hold(self: &Arc<Self>, id: i64) -> Held {
        if let Ok(mut held) = self.held.lock() {
            held.insert(id);
        }
        Held {
            queue: Arc::clone(self),
            id,
        }
    }

    /// Starts the node's job heartbeat: every quarter of `stale`, the jobs this node holds
    /// say so in the database, and jobs of any node silent for `stale` are marked failed (their
    /// node stopped). Ends with the queue.
    pub fn start_heartbeat(queue: &Arc<JobQueue>, store: Store, stale: Duration) {
        let weak = Arc::downgrade(queue);
        let every = stale / 4;
        let spawned = std::thread::Builder::new()
            .name("job-heartbeat".into())
            .spawn(move || loop {
                std::thread::sleep(every);
                let Some(queue) = weak.upgrade() else { return };
                let ids: Vec<i64> = match queue.held.lock() {
                    Ok(held) => held.iter().copied().collect(),
                    Err(_) => return,
                };
                drop(queue);
                if let Err(e) = store.beat(&ids) {
                    tracing::warn!(error = %e, "cannot record the heartbeat of this node's jobs");
                }
                match store.fail_stale_jobs(stale) {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(jobs = n, "jobs whose node stopped were marked failed"),
                    Err(e) => tracing::warn!(error = %e, "cannot look for jobs whose node stopped"),
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the job heartbeat");
        }
    }

    /// How many jobs hold a slot now.
    pub fn running(&self) -> u64 {
        self.running.lock().map(|r| *r).unwrap_or(0)
    }

    /// A slot if one is free now.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Slot> {
        let mut running = self.running.lock().ok()?;
        (*running < self.limit).then(|| {
            *running += 1;
            Slot {
                queue: Arc::clone(self),
            }
        })
    }

    /// Waits for a free slot; `waiting` is told once when the job has to wait.
    pub fn acquire(self: &Arc<Self>, waiting: impl FnOnce(u64)) -> Slot {
        let mut waiting = Some(waiting);
        loop {
            if let Some(slot) = self.try_acquire() {
                return slot;
            }
            if let Some(tell) = waiting.take() {
                tell(self.limit);
            }
            self.wait(POLL);
        }
    }

    /// Sleeps until a job of this node ends, or `timeout`.
    fn wait(&self, timeout: Duration) {
        if let Ok(running) = self.running.lock() {
            let _ = self.changed.wait_timeout(running, timeout);
        }
    }

    /// Blocks until the import job `job` of `master` may run, then takes a slot: first every
    /// earlier import job of the master (any node) must have ended, then a slot must be free.
    /// Each wait is noted in the job's progress.
    pub fn wait_for_turn(
        self: &Arc<Self>,
        store: &Store,
        job: i64,
        master: Master,
        node: &str,
    ) -> Slot {
        let mut noted = None;
        loop {
            match store.earlier_unfinished_job(
                job,
                crate::store::jobs::IMPORT_RELEASE,
                master.key(),
            ) {
                Ok(None) => break,
                Ok(Some(earlier)) => {
                    if noted != Some(earlier) {
                        note(
                            store,
                            job,
                            format!("waiting for job {earlier}: imports of one master run in upload order"),
                        );
                        noted = Some(earlier);
                    }
                }
                Err(e) => tracing::warn!(job, error = %e, "cannot read earlier jobs; trying again"),
            }
            self.wait(POLL);
        }
        self.acquire_noting(store, job, node)
    }

    /// Waits for a free slot, noting the wait in the progress of `job`.
    pub fn acquire_noting(self: &Arc<Self>, store: &Store, job: i64, node: &str) -> Slot {
        self.acquire(|limit| {
            note(
                store,
                job,
                format!(
                    "waiting for a free job slot: {} job(s) run at once on node {} ({})",
                    group_digits(limit),
                    crate::excerpt::excerpt(node),
                    Limit::ConcurrentJobs.env()
                ),
            )
        })
    }
}

/// Records why a queued job waits.
fn note(store: &Store, job: i64, text: String) {
    let progress = json!({"phase": "queued", "note": text});
    if let Err(e) = store.job_progress(job, &progress) {
        tracing::warn!(job, error = %e, "cannot record job progress");
    }
}
