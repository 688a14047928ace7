//! hyojun's code systems at one release: which release a FHIR version names
//! (`../shared/docs/fhir-terminology.md` §5), and the status of codes in it, read from the
//! node's cache and the database as `/v1/validate` reads them (one snapshot per request);
//! and the 404 answers of an operation asked about an unknown system, version or code.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use chrono::NaiveDate;
use rustc_hash::{FxHashMap, FxHashSet};

use super::canon::{self, Resolved};
use super::error::FhirError;
use super::messages::{self, Lang};
use super::outcome::{Issue, Severity};
use super::Context;
use crate::api::cache::{Fetched, StatusMap, Statuses};
use crate::api::code_key::CodeKey;
use crate::ids::ReleaseId;
use crate::store::lookup::CodeStatus;
use crate::store::models::{ReleaseRow, ReleaseState};
use crate::store::StoreError;
use crate::systems::{CodeSystem, Master};
use actix_web::http::StatusCode;

/// Why no release answers for a code system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRelease {
    /// The version asked for is not a release label of the master; `valid` lists them.
    UnknownVersion { asked: String, valid: Vec<String> },
    /// The master has no release (in force on the date asked, or at all).
    None { valid: Vec<String> },
}

/// What one request has resolved already: the release each (system, version, date) names
/// and the status of each code looked up. A batch of 10,000 codings resolves its releases
/// once and reads its statuses in one pass ([`prefetch`]), or, when the node's cache holds
/// every code of a (release, system), holds that map itself; and every coding of a request is
/// answered from the same snapshot, even when the cache is cleared meanwhile.
#[derive(Default)]
pub struct Memo {
    releases: Mutex<FxHashMap<ReleaseKey, Arc<Result<ReleaseRow, NoRelease>>>>,
    statuses: RwLock<FxHashMap<(ReleaseId, &'static str), MemoStatuses>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The statuses a request answers from in one (release, system).
enum MemoStatuses {
    /// The node's cache held every code of the (release, system) when the request first
    /// asked: the request keeps that map ([`StatusMap::snapshot`]), nothing is copied.
    Whole(Arc<Statuses>),
    /// The codes the request looked up, one by one (the cache held only some).
    Asked(Statuses),
}

impl MemoStatuses {
    /// `Some(None)`: a code the master never had; `None`: not looked up yet.
    fn get(&self, code: &str) -> Option<Option<Arc<CodeStatus>>> {
        match self {
            MemoStatuses::Whole(all) => Some(all.get(code).cloned().flatten()),
            MemoStatuses::Asked(asked) => asked.get(code).cloned(),
        }
    }
}

/// (master, version asked, date asked).
type ReleaseKey = (Master, Option<String>, Option<NaiveDate>);

/// The labels of a master's imported releases, oldest first, each once.
pub fn labels(ctx: &Context, master: Master) -> Result<Vec<String>, FhirError> {
    let mut labels: Vec<String> = Vec::new();
    for info in ctx.state.store.releases(Some(master))? {
        if info.release.state == ReleaseState::Ready && !labels.contains(&info.release.label) {
            labels.push(info.release.label);
        }
    }
    Ok(labels)
}

/// The release a request means for `system`: the version asked (a release label, or
/// `LABEL@N` for one revision), else the release in force on `date`, else the activated one.
pub fn release(
    ctx: &Context,
    system: &CodeSystem,
    version: Option<&str>,
    date: Option<NaiveDate>,
) -> Result<Result<ReleaseRow, NoRelease>, FhirError> {
    Ok((*release_shared(ctx, system, version, date)?).clone())
}

/// As [`release`], shared with the request's memo (no copy per coding of a batch).
pub fn release_shared(
    ctx: &Context,
    system: &CodeSystem,
    version: Option<&str>,
    date: Option<NaiveDate>,
) -> Result<Arc<Result<ReleaseRow, NoRelease>>, FhirError> {
    let key = (system.master, version.map(str::to_owned), date);
    if let Some(known) = lock(&ctx.memo.releases).get(&key) {
        return Ok(known.clone());
    }
    let found = Arc::new(resolve_release(ctx, system, version, date)?);
    lock(&ctx.memo.releases).insert(key, found.clone());
    Ok(found)
}

fn resolve_release(
    ctx: &Context,
    system: &CodeSystem,
    version: Option<&str>,
    date: Option<NaiveDate>,
) -> Result<Result<ReleaseRow, NoRelease>, FhirError> {
    let master = system.master;
    let store = &ctx.state.store;
    let found = match (version, date) {
        (Some(asked), _) => match store.find_release(master, asked) {
            Ok(r) if r.state == ReleaseState::Ready => Some(r),
            Ok(_) | Err(StoreError::NotFound(..)) | Err(StoreError::Invalid(_)) => {
                return Ok(Err(NoRelease::UnknownVersion {
                    asked: asked.to_owned(),
                    valid: labels(ctx, master)?,
                }))
            }
            Err(e) => return Err(e.into()),
        },
        (None, Some(date)) => store.release_as_of(master, date)?,
        (None, None) => ctx.state.cache.current_release(store, master)?,
    };
    match found {
        Some(release) => Ok(Ok(release)),
        None => Ok(Err(NoRelease::None {
            valid: labels(ctx, master)?,
        })),
    }
}

/// `a`, `a or b`, `a, b or c`: how the validator lists valid versions.
pub fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The status of each of `codes` of `system` in `release`, in order (`None`: the master never
/// had the code). Not kept in the request's memo: for the long lists of `$expand` and
/// ConceptMaps (see [`status`] for single codes).
pub fn statuses(
    ctx: &Context,
    release: &ReleaseRow,
    system: &'static CodeSystem,
    codes: &[&str],
) -> Result<Vec<Option<CodeStatus>>, FhirError> {
    let mut by_code: FxHashMap<&str, Option<Arc<CodeStatus>>> = FxHashMap::default();
    read_statuses(
        ctx,
        release,
        system,
        codes.iter().copied(),
        |code, status| {
            by_code.insert(code, status);
        },
    )?;
    Ok(codes
        .iter()
        .map(|code| by_code.get(code).cloned().flatten().map(|s| (*s).clone()))
        .collect())
}

/// Reads the status of each of `codes` into `found`: what the node's cache knows under one
/// read lock, the rest from the database in one pass (kept in the cache for the next
/// requests).
fn read_statuses<'c>(
    ctx: &Context,
    release: &ReleaseRow,
    system: &'static CodeSystem,
    codes: impl Iterator<Item = &'c str>,
    mut found: impl FnMut(&'c str, Option<Arc<CodeStatus>>),
) -> Result<(), FhirError> {
    let mut missing: FxHashSet<&str> = FxHashSet::default();
    {
        let cached = ctx.state.cache.statuses();
        let map = cached.map(release.id, system.key);
        for code in codes {
            match map.and_then(|m| m.shared(code)) {
                Some(status) => found(code, status.cloned()),
                None => {
                    missing.insert(code);
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let asked: Vec<&str> = missing.into_iter().collect();
    let read = Fetched::new(
        &asked,
        ctx.state.store.code_statuses(release, system.key, &asked)?,
    );
    ctx.state.cache.put_statuses(release.id, system.key, &read);
    for code in asked {
        found(code, read.shared(code).flatten().cloned());
    }
    Ok(())
}

/// The status of one code (shared with the request's memo: no copy).
pub fn status(
    ctx: &Context,
    release: &ReleaseRow,
    system: &'static CodeSystem,
    code: &str,
) -> Result<Option<Arc<CodeStatus>>, FhirError> {
    let cached = |ctx: &Context| {
        ctx.memo
            .statuses
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&(release.id, system.key))
            .and_then(|m| m.get(code))
    };
    if let Some(known) = cached(ctx) {
        return Ok(known);
    }
    prefetch(ctx, release, system, &[code])?;
    Ok(cached(ctx).flatten())
}

/// Makes the request's memo hold the status of each of `codes` ([`read_statuses`]).
pub fn prefetch(
    ctx: &Context,
    release: &ReleaseRow,
    system: &'static CodeSystem,
    codes: &[&str],
) -> Result<(), FhirError> {
    let mut memo = ctx
        .memo
        .statuses
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let known = memo.entry((release.id, system.key)).or_insert_with(|| {
        let whole = ctx
            .state
            .cache
            .statuses()
            .map(release.id, system.key)
            .and_then(StatusMap::snapshot);
        match whole {
            Some(all) => MemoStatuses::Whole(all),
            None => MemoStatuses::Asked(Statuses::default()),
        }
    });
    let MemoStatuses::Asked(known) = known else {
        return Ok(());
    };
    let wanted: Vec<&str> = codes
        .iter()
        .copied()
        .filter(|code| !known.contains_key(*code))
        .collect();
    read_statuses(ctx, release, system, wanted.into_iter(), |code, status| {
        known.insert(CodeKey::from(code), status);
    })
}

/// Makes the request's memo hold the status of every coding of a request at once, one pass
/// per (system, version): `(system, version, code)` as the codings give them. Codings of
/// systems hyojun does not hold, or of versions that name no release, are left to the check.
pub fn prefetch_codings<'a>(
    ctx: &Context,
    codings: impl Iterator<Item = (&'a str, Option<&'a str>, &'a str)>,
    date: Option<NaiveDate>,
) -> Result<(), FhirError> {
    let mut groups: FxHashMap<(&str, Option<&str>), Vec<&str>> = FxHashMap::default();
    for (system, version, code) in codings {
        groups.entry((system, version)).or_default().push(code);
    }
    for ((system, version), codes) in groups {
        let Some(resolved) = canon::resolve(system) else {
            continue;
        };
        if let Ok(release) = release_shared(ctx, resolved.system, version, date)?.as_ref() {
            prefetch(ctx, release, resolved.system, &codes)?;
        }
    }
    Ok(())
}

/// The label of the last release of the master that had `code`, for a code the asked
/// release no longer has.
pub fn last_release_with(
    ctx: &Context,
    release: &ReleaseRow,
    system: &CodeSystem,
    code: &str,
) -> Result<Option<String>, FhirError> {
    let view = ctx.state.store.code_view(release, system.key, code)?;
    Ok(view.and_then(|v| {
        v.valid_in
            .iter()
            .filter(|r| r.id < release.id)
            .max_by_key(|r| r.id)
            .map(|r| r.label.clone())
    }))
}

/// The system a request names, or the 404 OperationOutcome `UNKNOWN_CODESYSTEM` at `at`
/// (the parameter that named it).
pub fn system_or_404(lang: Lang, uri: &str, at: &str) -> Result<Resolved, FhirError> {
    canon::resolve(uri).ok_or_else(|| {
        FhirError::issue(
            StatusCode::NOT_FOUND,
            Issue::new(
                Severity::Error,
                "not-found",
                messages::text(lang, "UNKNOWN_CODESYSTEM", &[&uri]),
            )
            .tx_type("not-found")
            .message_id("UNKNOWN_CODESYSTEM")
            .at(at),
        )
    })
}

/// The release a request means for a system ([`release`]), or the 404 OperationOutcome
/// naming the valid versions (`UNKNOWN_CODESYSTEM_VERSION`, at `version_at`) or, when the
/// master has no release to answer from, `UNKNOWN_CODESYSTEM`.
pub fn release_or_404(
    ctx: &Context,
    resolved: &Resolved,
    version: Option<&str>,
    date: Option<NaiveDate>,
    version_at: &str,
) -> Result<ReleaseRow, FhirError> {
    let url = resolved.url();
    let (id, text) = match release(ctx, resolved.system, version, date)? {
        Ok(release) => return Ok(release),
        Err(NoRelease::UnknownVersion { asked, valid }) => (
            "UNKNOWN_CODESYSTEM_VERSION",
            messages::text(
                ctx.lang,
                "UNKNOWN_CODESYSTEM_VERSION",
                &[&url, &asked, &or_list(&valid)],
            ),
        ),
        Err(NoRelease::None { .. }) => (
            "UNKNOWN_CODESYSTEM",
            messages::text(ctx.lang, "UNKNOWN_CODESYSTEM", &[&url]),
        ),
    };
    Err(FhirError::issue(
        StatusCode::NOT_FOUND,
        Issue::new(Severity::Error, "not-found", text)
            .tx_type("not-found")
            .message_id(id)
            .at(version_at),
    ))
}

/// The issue of a code not in a release (`Unknown_Code_in_Version`), at `at`.
pub fn unknown_code(lang: Lang, code: &str, url: &str, label: &str, at: &str) -> Issue {
    Issue::new(
        Severity::Error,
        "code-invalid",
        messages::text(lang, "Unknown_Code_in_Version", &[&code, &url, &label]),
    )
    .tx_type("invalid-code")
    .message_id("Unknown_Code_in_Version")
    .at(at)
}

#[cfg(test)]
mod tests {
    use super::or_list;

    #[test]
    fn versions_are_listed_as_the_validator_lists_them() {
        let v = |s: &[&str]| or_list(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(v(&[]), "");
        assert_eq!(v(&["1.0.0"]), "1.0.0");
        assert_eq!(v(&["1.0.0", "1.2.0"]), "1.0.0 or 1.2.0");
        assert_eq!(v(&["a", "b", "c"]), "a, b or c");
    }
}
