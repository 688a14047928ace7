//! `ValueSet/$expand` (`../shared/docs/fhir-terminology.md` §3.7) over hyojun's code
//! systems: the value set (`url` + `valueSetVersion`, inline `valueSet`, `tx-resource`, the
//! published JP Core ValueSets, `{system}?fhir_vs`) read by [`compose`], its codes taken from
//! the search index ([`crate::search::codes`]: no master is loaded), paged, and answered as
//! the ValueSet with its `expansion` ([`answer`]).
//!
//! - **Order.** With `filter`, the search ranking (`GET /v1/search`'s: same normalisation,
//!   exact recall, 1–2 character and かな queries); without, the includes in order, every
//!   code of a system in byte order, listed codes in their listed order.
//! - **Status.** Retired codes are listed with `inactive: true`; `activeOnly` (or
//!   `compose.inactive: false`) leaves them out: a code is active when a row valid in the
//!   release that defines or carries it is active (with `filter`: such a row matches).
//! - **Systems hyojun does not hold** (一般名処方 in JP_MedicationCode_VS …): an expansion
//!   missing members is not the value set, so the answer is 422 `UNKNOWN_CODESYSTEM_EXP`, as
//!   tx.fhir.org answers. A client that accepts an incomplete expansion says so with
//!   `_incomplete=true` (the tx ecosystem's parameter; the HL7 validator sends it): it gets
//!   the codes hyojun holds, the expansion marked `valueset-unclosed` (codes other than those
//!   listed may be members) with the reason naming the systems left out.
//! - **Too costly.** An answer lists at most `HYOJUN_MAX_EXPANSION_CODES` codes (10,000 by
//!   default; `_limit` may lower it): more without `count` (or a larger `count`) answers 422
//!   `too-costly` / `VALUESET_TOO_COSTLY`; paging with `count` through a larger value set is
//!   allowed. With `_incomplete=true` the answer is cut to the limit instead and marked
//!   `valueset-toocostly`.

mod answer;
mod compose;

use std::cmp::Ordering;

use rustc_hash::{FxHashMap, FxHashSet};

use super::error::FhirError;
use super::messages;
use super::outcome::{Issue, Severity};
use super::params::Params;
use super::valueset::{self, PartConcept};
use super::Context;
use crate::search::codes::{self as found, Within};
use crate::search::StatusFilter;
use compose::{Composed, Part};

/// What the request asks of the expansion.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The text filter, as given (not blank).
    pub filter: Option<String>,
    pub count: Option<u64>,
    pub offset: Option<u64>,
    pub active_only: Option<bool>,
    pub include_designations: Option<bool>,
    pub include_definition: bool,
    pub exclude_nested: Option<bool>,
    pub display_language: Option<String>,
    pub date: Option<String>,
    /// `_incomplete`: an incomplete expansion is acceptable (marked as such).
    pub incomplete_ok: bool,
    /// The most codes one answer lists (the server's limit, lowered by `_limit`).
    pub limit: u64,
    /// Versions and date, as `$validate-code` reads them.
    pub check: super::check::Options,
    /// `exclude-system`: (system, version) pairs left out.
    pub exclude_system: Vec<(String, Option<String>)>,
}

impl Options {
    /// Reads the request's parameters; bad values answer 400.
    pub fn read(params: &Params, server_limit: u64) -> Result<Options, FhirError> {
        let flag = |name: &str| -> Result<Option<bool>, FhirError> {
            params
                .get(name)
                .map(|_| params.flag(name, false))
                .transpose()
        };
        let filter = params.text("filter").filter(|f| !f.trim().is_empty());
        if let Some(f) = &filter {
            crate::search::query::checked_query(f)
                .map_err(|e| FhirError::Invalid(format!("parameter `filter`: {e}")))?;
        }
        let limit = match params.count("_limit")? {
            Some(asked) if asked > 0 => asked.min(server_limit),
            _ => server_limit,
        };
        Ok(Options {
            filter,
            count: params.count("count")?,
            offset: params.count("offset")?,
            active_only: flag("activeOnly")?,
            include_designations: flag("includeDesignations")?,
            include_definition: params.flag("includeDefinition", false)?,
            exclude_nested: flag("excludeNested")?,
            display_language: params.text("displayLanguage"),
            date: params.text("date"),
            incomplete_ok: params.flag("_incomplete", false)?,
            limit,
            check: super::validate::options(params)?,
            exclude_system: params
                .all("exclude-system")
                .filter_map(|p| p.as_text())
                .map(|t| match t.split_once('|') {
                    Some((s, v)) => (s.to_owned(), Some(v.to_owned())),
                    None => (t, None),
                })
                .collect(),
        })
    }
}

/// A code the expansion may list.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Index of its part.
    pub part: usize,
    pub code: &'a str,
    /// Its rank (with a filter; 0 without).
    pub rank: u64,
    /// The display the value set gives it.
    pub display: Option<&'a str>,
}

/// `$expand`: the value set with its expansion.
pub fn run(ctx: &Context, params: &Params) -> Result<serde_json::Value, FhirError> {
    let options = Options::read(params, ctx.state.config.limits.expansion_codes)?;
    let scope = valueset::of_request(params, ctx.lang)?.ok_or_else(|| {
        FhirError::Invalid("give the value set: `url` or an inline `valueSet`".into())
    })?;
    let composed = compose::compose(ctx, &scope, &options)?;
    if let (Some(first), false) = (composed.missing.first(), options.incomplete_ok) {
        return Err(compose::unknown_system(ctx.lang, first));
    }
    let active_only = options.active_only == Some(true) || !scope.inactive;
    let releases: Vec<crate::ids::ReleaseId> =
        composed.parts.iter().map(|p| p.release.id).collect();
    let snapshot = ctx
        .state
        .search
        .snapshot_holding(&ctx.state.store, &releases)
        .map_err(|e| FhirError::Api(e.into()))?;
    let mut candidates = candidates(ctx, &snapshot, &composed, &options, active_only)?;
    let total = candidates.len() as u64;
    let offset = options.offset.unwrap_or(0);
    let remaining = total.saturating_sub(offset);
    let mut listed = options.count.map_or(remaining, |c| c.min(remaining));
    let cut = listed > options.limit;
    if cut {
        if !options.incomplete_ok {
            return Err(too_costly(ctx, &scope.reference(), total, &options));
        }
        listed = options.limit;
    }
    page(
        &mut candidates,
        offset as usize,
        listed as usize,
        &composed,
        options.filter.is_some(),
    );
    answer::build(
        ctx,
        &scope,
        &composed,
        &options,
        &candidates,
        answer::Totals { total, offset, cut },
    )
}

/// Every code the expansion lists, before paging (ranked when filtered; in listing order
/// otherwise), each once, excludes applied.
fn candidates<'a>(
    ctx: &Context,
    snapshot: &'a crate::search::Snapshot,
    composed: &'a Composed<'a>,
    options: &Options,
    active_only: bool,
) -> Result<Vec<Candidate<'a>>, FhirError> {
    let status = if active_only {
        StatusFilter::Active
    } else {
        StatusFilter::All
    };
    let mut out: Vec<Candidate<'a>> = Vec::new();
    for (index, part) in composed.parts.iter().enumerate() {
        let within = Within {
            master: part.system.master,
            release: part.release.id,
            system: part.system,
            status,
        };
        let before = out.len();
        match (&options.filter, part.listed) {
            (Some(filter), listed) => {
                let hits = found::matching(snapshot, filter, &within)
                    .map_err(|e| FhirError::Api(e.into()))?;
                let shown: Option<FxHashMap<&str, &PartConcept>> =
                    listed.map(|l| l.iter().map(|c| (c.code.as_str(), c)).collect());
                for hit in hits {
                    let display = match &shown {
                        None => None,
                        Some(shown) => match shown.get(hit.code) {
                            None => continue,
                            Some(c) => c.display.as_deref(),
                        },
                    };
                    out.push(Candidate {
                        part: index,
                        code: hit.code,
                        rank: hit.rank,
                        display,
                    });
                }
            }
            (None, None) => {
                let every =
                    found::every(snapshot, &within).map_err(|e| FhirError::Api(e.into()))?;
                out.extend(every.into_iter().map(|code| Candidate {
                    part: index,
                    code,
                    rank: 0,
                    display: None,
                }));
            }
            (None, Some(listed)) => {
                // Listed codes the release does not have are left out.
                let codes: Vec<&str> = listed.iter().map(|c| c.code.as_str()).collect();
                let statuses = super::codes::statuses(ctx, &part.release, part.system, &codes)?;
                for (concept, status) in listed.iter().zip(statuses) {
                    let Some(status) = status.filter(|s| s.present) else {
                        continue;
                    };
                    if active_only && !status.active {
                        continue;
                    }
                    out.push(Candidate {
                        part: index,
                        code: &concept.code,
                        rank: 0,
                        display: concept.display.as_deref(),
                    });
                }
            }
        }
        let excluded: Vec<&compose::Excluded> = composed
            .excluded
            .iter()
            .filter(|e| e.system == part.system.key)
            .collect();
        if !excluded.is_empty() {
            let mine = out.split_off(before);
            out.extend(
                mine.into_iter()
                    .filter(|c| !excluded.iter().any(|e| e.takes(part, c.code))),
            );
        }
    }
    // A code included twice (two includes of one system and release) is listed once: first
    // where it comes, or at its best rank.
    if composed.parts.len() > 1 {
        if options.filter.is_some() {
            out.sort_by(|a, b| order(a, b, &composed.parts));
        }
        let mut seen: FxHashSet<(&str, crate::ids::ReleaseId, &str)> = FxHashSet::default();
        out.retain(|c| {
            let part = &composed.parts[c.part];
            seen.insert((part.system.key, part.release.id, c.code))
        });
    }
    Ok(out)
}

/// Best rank first; equal ranks by (system, code) bytewise, as `/v1/search` orders them.
fn order(a: &Candidate<'_>, b: &Candidate<'_>, parts: &[Part<'_>]) -> Ordering {
    let (pa, pb) = (&parts[a.part], &parts[b.part]);
    (a.rank, pa.system.key, a.code, pa.release.id).cmp(&(
        b.rank,
        pb.system.key,
        b.code,
        pb.release.id,
    ))
}

/// Cuts `candidates` to the page `[offset, offset + count)`, ordered.
fn page(
    candidates: &mut Vec<Candidate<'_>>,
    offset: usize,
    count: usize,
    composed: &Composed<'_>,
    ranked: bool,
) {
    let end = offset.saturating_add(count).min(candidates.len());
    if ranked {
        let cmp = |a: &Candidate<'_>, b: &Candidate<'_>| order(a, b, &composed.parts);
        if end > 0 && end < candidates.len() {
            candidates.select_nth_unstable_by(end - 1, cmp);
        }
        candidates.truncate(end);
        candidates.sort_unstable_by(cmp);
    } else {
        candidates.truncate(end);
    }
    candidates.drain(..offset.min(candidates.len()));
}

/// 422 `too-costly`: the answer would list more codes than one answer may.
fn too_costly(ctx: &Context, reference: &str, total: u64, options: &Options) -> FhirError {
    let mut issue = Issue::new(
        Severity::Error,
        "too-costly",
        messages::text(
            ctx.lang,
            "VALUESET_TOO_COSTLY",
            &[&reference, &format!(">{}", options.limit)],
        ),
    )
    .message_id("VALUESET_TOO_COSTLY");
    issue.diagnostics = Some(format!(
        "the expansion has {total} codes; one answer lists at most {} (HYOJUN_MAX_EXPANSION_CODES{}): \
         page through it with count and offset, or narrow it with filter",
        options.limit,
        if options.limit < ctx.state.config.limits.expansion_codes {
            ", lowered by _limit"
        } else {
            ""
        }
    ));
    compose::unprocessable(issue)
}
