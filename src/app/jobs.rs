//! Background jobs: queueing one is a write like any other, with its audit row.

use super::{command_on, Audit};
use crate::store::jobs::create_job;
use crate::store::{Store, StoreError};

/// A job to queue: its kind, the master it concerns (`mapping` for mapping jobs), the node
/// that received it, and the request as the job record shows it.
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub master: &'a str,
    pub node: &'a str,
    pub request: &'a serde_json::Value,
}

/// Queues `job` with its audit row in one transaction; returns the job id. The audit row's
/// target is `target`, or `job:ID` without one; its detail is what `detail` says of the id.
pub fn queue(
    store: &Store,
    actor: &str,
    action: &'static str,
    target: Option<String>,
    job: &NewJob<'_>,
    detail: impl FnOnce(i64) -> String,
) -> Result<i64, StoreError> {
    let failed_as = target.clone().unwrap_or_else(|| "job".to_owned());
    command_on(
        store,
        &Audit::new(actor, action, failed_as),
        |conn| create_job(conn, job.kind, job.master, job.node, actor, job.request),
        |id| {
            let target = target.unwrap_or_else(|| format!("job:{id}"));
            (target, detail(*id))
        },
    )
}
