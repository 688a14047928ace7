//! Turning request parameters into code systems and releases.

use chrono::NaiveDate;

use super::error::ApiError;
use crate::store::models::ReleaseRow;
use crate::store::Store;
use crate::systems::{self, CodeSystem, Master};

/// A code system by key, canonical URL or `urn:oid:` alias.
pub fn system(name: &str) -> Result<&'static CodeSystem, ApiError> {
    systems::find(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "unknown code system `{}`: use a key, canonical URL or urn:oid: alias from GET /v1/systems",
            crate::excerpt::excerpt(name)
        ))
    })
}

/// Parses a `YYYY-MM-DD` date parameter.
pub fn date(value: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ApiError::BadRequest(format!(
            "date `{}` is not YYYY-MM-DD",
            crate::excerpt::excerpt(value)
        ))
    })
}

/// The release an answer uses: `release` (LABEL or LABEL@REVISION), the one in force on
/// `date`, or the master's current release. Runs store queries: call it off the async threads.
pub fn release(
    store: &Store,
    master: Master,
    release: Option<&str>,
    date: Option<NaiveDate>,
) -> Result<ReleaseRow, ApiError> {
    match (release, date) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "give either release or date, not both".into(),
        )),
        (Some(spec), None) => Ok(store.find_release(master, spec)?),
        (None, Some(date)) => store.release_as_of(master, date)?.ok_or_else(|| {
            ApiError::NotFound(format!("{master} has no release in force on {date}"))
        }),
        (None, None) => store.current_release(master)?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "{master} serves no release yet: an admin activates one (POST /v1/releases/{{id}}/activate)"
            ))
        }),
    }
}

/// Runs blocking store work on actix's blocking pool.
pub async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    actix_web::web::block(work).await?
}
