//! The import job of an upload: reads the files kept under the job's id in the upload store,
//! parses them (progress on the job), and imports the release in one transaction with the
//! job's end and its audit row. Problems in the files end the job `failed` with each problem
//! (file, line, column); a database that is away makes it try again later.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{JobContext, Tried};
use crate::app;
use crate::limits::Limits;
use crate::masters::{self, Problems, Progress, SourceFile};
use crate::store::job_fields::{JobProblems, JobProgress as Recorded, JobRequest};
use crate::store::jobs::{JobRow, JobState, Lease};
use crate::store::{Store, StoreError};
use crate::systems::Master;

/// Reports parsing progress to the job row, at most twice a second.
struct JobProgress<'a> {
    store: &'a Store,
    lease: Lease,
    phase: Mutex<String>,
    total: AtomicU64,
    done: AtomicU64,
    last: Mutex<Instant>,
}

impl JobProgress<'_> {
    fn write(&self, force: bool) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if !force && last.elapsed() < Duration::from_millis(500) {
            return;
        }
        *last = Instant::now();
        let phase = self.phase.lock().map(|p| p.clone()).unwrap_or_default();
        let progress = Recorded::Step {
            phase,
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
        };
        if let Err(e) = self.store.job_progress(self.lease, &progress) {
            tracing::warn!(job = self.lease.id.get(), error = %e, "cannot record job progress");
        }
    }
}

impl Progress for JobProgress<'_> {
    fn start(&self, phase: &str, total: u64) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase.to_owned();
        }
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.write(true);
    }
    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.write(false);
    }
    fn finish(&self) {
        self.done
            .store(self.total.load(Ordering::Relaxed), Ordering::Relaxed);
        self.write(true);
    }
}

fn read_sources(dir: &Path, master: Master, limits: &Limits) -> Result<Vec<SourceFile>, Problems> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.sort();
    let mut inputs = masters::input::Collector::new(master, limits);
    for path in names {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("(upload)")
            .to_owned();
        inputs.add_file_as(&path, &name);
    }
    inputs.finish()
}

/// Ends the job `failed` with one problem (nothing was imported), and lets its files go.
fn fail(ctx: &JobContext, job: &JobRow, lease: Lease, problems: &JobProblems) -> Tried {
    let refused = app::releases::refuse_upload(&ctx.store, &job.created_by, lease, problems);
    if refused.is_ok() {
        ctx.uploads.discard(lease.id);
    }
    Tried::recorded(JobState::Failed, refused, lease)
}

/// Parses and imports an upload; the job row says how it ended.
pub fn run(ctx: &JobContext, job: &JobRow, lease: Lease) -> Tried {
    let started = Instant::now();
    let JobRequest::Import(request) = &*job.request else {
        let message = "the job's request is not an upload's (no files)";
        return fail(
            ctx,
            job,
            lease,
            &JobProblems::one("damaged", message, "upload the release again"),
        );
    };
    let master: Master = match request.master.parse() {
        Ok(m) => m,
        Err(e) => {
            return fail(
                ctx,
                job,
                lease,
                &JobProblems::one("damaged", &e, "upload the release again"),
            )
        }
    };
    let dir = ctx.uploads.files(lease.id);
    if !dir.is_dir() {
        let message = format!(
            "the uploaded files are not in the upload folder ({}): they were removed, or this node does not see the folder that received them",
            dir.display()
        );
        return fail(
            ctx,
            job,
            lease,
            &JobProblems::one(
                "files_missing",
                &message,
                "upload the release again; nodes that share jobs must share HYOJUN_UPLOAD_DIR",
            ),
        );
    }
    let progress = JobProgress {
        store: &ctx.store,
        lease,
        phase: Mutex::new("reading".into()),
        total: AtomicU64::new(0),
        done: AtomicU64::new(0),
        last: Mutex::new(Instant::now()),
    };
    progress.write(true);
    let options = masters::ParseOptions {
        label: request.version.clone(),
        partial: request.partial,
        limits: ctx.limits.clone(),
    };
    let parsed = read_sources(&dir, master, &options.limits)
        .and_then(|sources| masters::parse_sources(master, &sources, &options, &progress));
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(problems) => return fail(ctx, job, lease, &JobProblems::from(&problems)),
    };
    progress.start("writing to the database", parsed.records.len() as u64);
    // The import records the job's end and its audit row in its own transaction.
    let imported = app::releases::import(
        &ctx.store,
        &job.created_by,
        &parsed,
        request.activate,
        Some(lease),
    );
    let e = match imported {
        Ok(report) => {
            ctx.uploads.discard(lease.id);
            (ctx.releases_changed)();
            ctx.metrics
                .imported(master.key(), report.rows_written, started.elapsed());
            return Tried::Ended { succeeded: true };
        }
        Err(e) => e,
    };
    if !matches!(e, StoreError::Connect(_)) && !ctx.store.holds(lease).unwrap_or(true) {
        tracing::warn!(job = lease.id.get(), error = %e, "the job was taken over by another node");
        return Tried::Lost;
    }
    tracing::warn!(job = lease.id.get(), error = %e, "import failed");
    let (kind, message, fix) = match e {
        StoreError::Connect(why) => {
            return Tried::Again {
                why,
                problems: JobProblems::one(
                    "database_unavailable",
                    "the database was not available in any try of the job; nothing was changed",
                    "upload the release again once the database is back (GET /readyz)",
                ),
            }
        }
        StoreError::Conflict(m) => (
            "history_conflict",
            m,
            "a master's releases are imported in date order: import the missing releases in that order, or leave this one out",
        ),
        StoreError::Invalid(m) => ("invalid", m, "correct the value named and upload again"),
        _ => (
            "database_error",
            "the database refused the import; nothing was changed (see the server log)".to_owned(),
            "upload the release again; if it fails again, the server log names the cause",
        ),
    };
    let problems = JobProblems::of("(release)", kind, &message, fix);
    // The import's own audit row says it was refused or failed.
    let ended = ctx
        .store
        .finish_job(lease, JobState::Failed, &problems, None);
    if ended.is_ok() {
        ctx.uploads.discard(lease.id);
    }
    Tried::recorded(JobState::Failed, ended, lease)
}
