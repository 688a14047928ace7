//! Releases: import and activation, each with its audit row.

use chrono::NaiveDateTime;
use diesel::Connection;

use super::{command, Audit};
use crate::ids::ReleaseId;
use crate::masters::ParsedRelease;
use crate::store::activation::{self, serving_now};
use crate::store::audit::{self, Outcome};
use crate::store::import::{self, ImportOptions, ImportOutcome, ImportReport};
use crate::store::job_fields::{ImportResult, JobProblems, JobResult};
use crate::store::jobs::{finish_job, JobState, Lease};
use crate::store::models::ReleaseRow;
use crate::store::{releases, Store, StoreError};
use crate::systems::Master;

/// Imports a parsed release in one transaction with its audit row and, for an upload, the end
/// of its job (`job`): a crash leaves either the release imported and the job succeeded, or
/// neither. With `activate`, a release already imported byte for byte is made the one its
/// master serves, if it is not yet (its own `activate_release` audit row, same transaction).
pub fn import(
    store: &Store,
    actor: &str,
    parsed: &ParsedRelease,
    activate: bool,
    job: Option<Lease>,
) -> Result<ImportReport, StoreError> {
    let target = match job {
        Some(lease) => format!("job:{}", lease.id),
        None => format!("{}:{}", parsed.master, parsed.label),
    };
    let options = ImportOptions {
        imported_by: actor.to_owned(),
        activate,
    };
    command(
        store,
        &Audit::new(actor, "import_release", target),
        |conn| {
            let mut report = import::import(conn, parsed, &options)?;
            if activate && report.outcome == ImportOutcome::Unchanged {
                let current = serving_now(conn, parsed.master)?.map(|r| r.id);
                if current != Some(report.release.id) {
                    activation::activate_release(conn, &report.release, None, actor)?;
                    audit::record(
                        conn,
                        actor,
                        "activate_release",
                        &format!("{}:{}", parsed.master, report.release.label),
                        Outcome::Ok,
                        "",
                    )?;
                    report.activated = true;
                }
            }
            if let Some(lease) = job {
                let result = JobResult::Import(Box::new(ImportResult::new(
                    &report,
                    &parsed.ignored,
                    &parsed.notices,
                )));
                let release = Some(report.release.id);
                finish_job(
                    conn,
                    lease,
                    JobState::Succeeded,
                    &JobProblems::none(),
                    Some(&result),
                    release,
                )?;
            }
            Ok(report)
        },
        |r| {
            format!(
                "{:?} release id {} revision {}",
                r.outcome, r.release.id, r.release.revision
            )
        },
    )
}

/// What an activation did: the release as it is now (its effective date may have changed)
/// and the moment it takes effect.
#[derive(Debug, Clone)]
pub struct Activated {
    pub release: ReleaseRow,
    pub effective_from: NaiveDateTime,
}

/// Makes release `id` the one its master serves, now or from `effective_from`.
pub fn activate(
    store: &Store,
    actor: &str,
    id: ReleaseId,
    effective_from: Option<NaiveDateTime>,
) -> Result<Activated, StoreError> {
    command(
        store,
        &Audit::new(actor, "activate_release", format!("release:{id}")),
        |conn| {
            let release = releases::release_in(conn, id)?;
            let from = activation::activate_release(conn, &release, effective_from, actor)?;
            Ok(Activated {
                release: releases::release_in(conn, id)?,
                effective_from: from,
            })
        },
        |a| {
            format!(
                "{} {} from {}",
                a.release.master, a.release.label, a.effective_from
            )
        },
    )
}

/// Makes the release `spec` (`LABEL[@REVISION]`) of `master` the one it serves, now.
pub fn activate_label(
    store: &Store,
    actor: &str,
    master: Master,
    spec: &str,
) -> Result<ReleaseRow, StoreError> {
    command(
        store,
        &Audit::new(actor, "activate_release", format!("{master}:{spec}")),
        |conn| {
            let release = releases::find_release_in(conn, master, spec)?;
            activation::activate_release(conn, &release, None, actor)?;
            Ok(release)
        },
        |r| format!("release id {} revision {}", r.id, r.revision),
    )
}

/// Ends an upload job whose files were refused (nothing imported): the job's problems and the
/// `refused` audit row, in one transaction.
pub fn refuse_upload(
    store: &Store,
    actor: &str,
    job: Lease,
    problems: &JobProblems,
) -> Result<(), StoreError> {
    let mut conn = store.conn()?;
    conn.transaction(|conn| {
        finish_job(conn, job, JobState::Failed, problems, None, None)?;
        let detail = format!("{} problem(s)", problems.total());
        audit::record(
            conn,
            actor,
            "import_release",
            &format!("job:{}", job.id),
            Outcome::Refused,
            &detail,
        )
    })
}
