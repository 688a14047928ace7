//! The job runner of one node: a dispatcher thread claims queued jobs while the node has a
//! free worker (at most `workers` jobs at once, `HYOJUN_MAX_CONCURRENT_JOBS`), runs each on a
//! thread of its own, and beats for the jobs it holds. Every node also takes over the jobs of
//! nodes that stopped (no heartbeat for `stale`): queued again after a backoff, or failed after
//! `max_attempts` tries. A passing failure of a try (the database away) is retried the same
//! way. Finished jobs' leftover upload files are swept once a minute. Each try's end is counted
//! in the node's metrics (`hyojun_jobs_total{kind,outcome}`, [`JobOutcome`]).
//!
//! The runner is driven in two ways: [`Runner::start`] starts the dispatcher (a serving node);
//! tests and tools call [`Runner::step`] and [`Runner::maintain`] instead, which do one claim
//! or one round of upkeep on the calling thread and say what they did.

use crate::store::job_fields::JobProblems;
use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{run_body, JobContext, Tried};
use crate::store::jobs::{self, backoff, beat, claim, JobKind, JobState, Lease, TakenOver};
use crate::store::StoreError;
use crate::telemetry::JobOutcome;

/// How often an idle dispatcher looks for queued jobs of other nodes (jobs queued on this
/// node wake it at once).
const POLL: Duration = Duration::from_millis(250);
/// How often the upload store is swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often a failed try's record is attempted again while the database is away.
const RECORD_RETRY: Duration = Duration::from_millis(100);

/// How the runner of a node behaves.
#[derive(Debug, Clone, Copy)]
pub struct RunnerConfig {
    /// Jobs this node runs at once (0: it only queues; other nodes run them).
    pub workers: u64,
    /// A running job whose node has not beaten for this long is taken over.
    pub stale: Duration,
    /// Tries a job gets before it fails.
    pub max_attempts: i32,
}

/// One job's run, as [`Runner::step`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub lease: Lease,
    pub kind: JobKind,
}

/// The job runner of one node (see the module documentation).
pub struct Runner {
    ctx: JobContext,
    config: RunnerConfig,
    /// The claims this node runs now: their heartbeat.
    running: Mutex<BTreeSet<Lease>>,
    /// Woken when a job is queued on this node or one of its jobs ends.
    wake: Condvar,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Runner {
    pub fn new(ctx: JobContext, config: RunnerConfig) -> Arc<Runner> {
        Arc::new(Runner {
            ctx,
            config,
            running: Mutex::new(BTreeSet::new()),
            wake: Condvar::new(),
        })
    }

    /// What the jobs run with.
    pub fn context(&self) -> &JobContext {
        &self.ctx
    }

    /// How the runner behaves.
    pub fn config(&self) -> RunnerConfig {
        self.config
    }

    /// Jobs this node runs now.
    pub fn running(&self) -> usize {
        locked(&self.running).len()
    }

    /// Says that a job was queued: an idle dispatcher claims it now rather than at its next
    /// poll.
    pub fn notify(&self) {
        self.wake.notify_all();
    }

    /// Starts the node's dispatcher thread; it ends when the runner is dropped.
    pub fn start(runner: &Arc<Runner>) {
        let weak = Arc::downgrade(runner);
        let spawned = std::thread::Builder::new()
            .name("job-dispatcher".into())
            .spawn(move || dispatch(weak));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the job runner: this node runs no jobs");
        }
    }

    /// Claims one job and runs it to its end on this thread; `None` when no job may run now.
    /// Whatever the node's worker count: tests step a runner that has no workers.
    pub fn step(&self) -> Result<Option<Ran>, StoreError> {
        let Some((job, lease)) = self.claim()? else {
            return Ok(None);
        };
        self.run(&job, lease);
        Ok(Some(Ran {
            lease,
            kind: job.kind,
        }))
    }

    /// One round of upkeep: beats for this node's jobs, and takes over the jobs of stopped
    /// nodes.
    pub fn maintain(&self) -> Result<TakenOver, StoreError> {
        let held: Vec<Lease> = locked(&self.running).iter().copied().collect();
        let mut conn = self.ctx.store.conn()?;
        if !held.is_empty() {
            for lost in beat(&mut conn, &held)? {
                tracing::warn!(
                    job = lost.id.get(),
                    attempt = lost.attempt,
                    "this node's try of the job was taken over by another node (it was silent too long); its writes will be refused"
                );
            }
        }
        let taken = jobs::take_over_stale(&mut conn, self.config.stale, self.config.max_attempts)?;
        if taken != TakenOver::default() {
            tracing::warn!(
                requeued = taken.requeued,
                failed = taken.failed,
                "jobs whose node stopped were taken over"
            );
        }
        Ok(taken)
    }

    /// Removes upload files that crashes left behind; returns the folders removed.
    pub fn sweep_uploads(&self) -> Result<usize, StoreError> {
        let store = &self.ctx.store;
        self.ctx
            .uploads
            .sweep(|ids| jobs::unfinished_among(&mut *store.conn()?, ids))
    }

    fn claim(&self) -> Result<Option<(jobs::JobRow, Lease)>, StoreError> {
        let mut conn = self.ctx.store.conn()?;
        let claimed = claim(&mut conn, &self.ctx.node, self.ctx.uploads.id())?;
        if let Some((_, lease)) = &claimed {
            locked(&self.running).insert(*lease);
        }
        Ok(claimed)
    }

    /// Runs a claimed job's body, then retries or fails it if the body asks.
    fn run(&self, job: &jobs::JobRow, lease: Lease) {
        let span = tracing::info_span!(
            "job",
            id = lease.id.get(),
            kind = job.kind.as_str(),
            attempt = lease.attempt
        );
        let _entered = span.enter();
        let started = Instant::now();
        let outcome = match run_body(&self.ctx, job, lease) {
            Tried::Ended { succeeded: true } => JobOutcome::Succeeded,
            Tried::Ended { succeeded: false } => JobOutcome::Failed,
            Tried::Lost => JobOutcome::Lost,
            Tried::Again { why, problems } => self.again(lease, &why, &problems),
        };
        self.ctx.metrics.job_ended(job.kind.as_str(), outcome);
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            outcome = outcome.as_str(),
            "job try ended"
        );
        locked(&self.running).remove(&lease);
        self.wake.notify_all();
    }

    /// A try failed for a passing reason: queued again after its backoff, or failed when the
    /// job has had its tries. The reason is usually that the database is away, so the record
    /// itself is tried until half the staleness limit has passed (the node still beats for
    /// the job meanwhile, so nobody takes it over): an outage shorter than that keeps the
    /// retry's note and, at the last try, the job's problems. A longer one leaves the job to
    /// the takeover of stale jobs, which queues it again without the reason.
    fn again(&self, lease: Lease, why: &str, problems: &JobProblems) -> JobOutcome {
        tracing::warn!(
            job = lease.id.get(),
            attempt = lease.attempt,
            why,
            "job try failed; it is tried again"
        );
        let max = self.config.max_attempts;
        let retried = lease.attempt < max;
        let deadline = Instant::now() + self.config.stale / 2;
        let record = || {
            self.ctx.store.conn().and_then(|mut conn| {
                if retried {
                    let wait = backoff(lease.attempt);
                    let after = Utc::now().naive_utc()
                        + chrono::Duration::from_std(wait).unwrap_or_default();
                    let note = format!(
                        "try {} of {max} failed ({}); tried again from {}",
                        lease.attempt,
                        crate::excerpt::excerpt(why),
                        crate::timestamp::rfc3339(&after)
                    );
                    jobs::retry_later(&mut conn, lease, after, &note)
                } else {
                    jobs::finish_job(&mut conn, lease, JobState::Failed, problems, None, None)
                }
            })
        };
        let recorded = loop {
            match record() {
                Err(StoreError::Connect(_)) if Instant::now() < deadline => {
                    std::thread::sleep(RECORD_RETRY)
                }
                other => break other,
            }
        };
        match recorded {
            Ok(()) if retried => JobOutcome::Retried,
            Ok(()) => {
                // Ended: its files go now rather than at the next sweep.
                self.ctx.uploads.discard(lease.id);
                JobOutcome::Failed
            }
            Err(e) => {
                tracing::error!(job = lease.id.get(), error = %e, "cannot record a failed try; the job is taken over once its heartbeat is stale");
                JobOutcome::Lost
            }
        }
    }
}

/// The dispatcher: claims while a worker is free, beats every quarter of `stale`, sweeps.
fn dispatch(weak: Weak<Runner>) {
    let mut last_beat = Instant::now() - Duration::from_secs(3600);
    let mut last_sweep = Instant::now();
    loop {
        let Some(runner) = weak.upgrade() else { return };
        if last_beat.elapsed() >= runner.config.stale / 4 {
            last_beat = Instant::now();
            if let Err(e) = runner.maintain() {
                tracing::warn!(error = %e, "job heartbeat failed; trying again");
            }
        }
        if last_sweep.elapsed() >= SWEEP_EVERY {
            last_sweep = Instant::now();
            match runner.sweep_uploads() {
                Ok(0) => {}
                Ok(n) => tracing::info!(folders = n, "upload folders left by crashes removed"),
                Err(e) => tracing::warn!(error = %e, "cannot sweep the upload folder"),
            }
        }
        let free = (runner.running() as u64) < runner.config.workers;
        let claimed = if free {
            match runner.claim() {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim a job; trying again");
                    None
                }
            }
        } else {
            None
        };
        match claimed {
            Some((job, lease)) => {
                let worker = Arc::clone(&runner);
                let spawned = std::thread::Builder::new()
                    .name(format!("job-{}", lease.id))
                    .spawn(move || worker.run(&job, lease));
                if let Err(e) = spawned {
                    // Left running: taken over once its heartbeat is stale.
                    locked(&runner.running).remove(&lease);
                    tracing::error!(job = lease.id.get(), error = %e, "cannot start a job thread");
                }
            }
            None => {
                let wait = POLL.min(runner.config.stale / 4);
                let guard = locked(&runner.running);
                let _ = runner.wake.wait_timeout(guard, wait);
            }
        }
    }
}
