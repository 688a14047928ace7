//! A value set's `compose` read against hyojun's releases for `$expand`: each include of a
//! system hyojun holds becomes a [`Part`] at one release (`force-system-version`, else
//! `include.version`, else `system-version`, else the release in force on `date`, else the
//! activated one), excludes become code lists or drop whole parts, and includes of systems
//! hyojun does not hold are collected for the caller to report.
//!
//! What is not evaluated yet answers 422 and says so: `include.filter` on hyojun's systems
//! and `include.valueSet` (the general engine, issue 14).

use actix_web::http::StatusCode;
use rustc_hash::FxHashSet;
use serde_json::Value;

use super::super::canon;
use super::super::check::{pick, version_check_failed, version_matches};
use super::super::codes::{self, NoRelease};
use super::super::error::FhirError;
use super::super::messages::{self, Lang};
use super::super::outcome::{Issue, Severity};
use super::super::valueset::{Part as Include, PartConcept, Scope};
use super::super::Context;
use super::Options;
use crate::store::models::ReleaseRow;
use crate::systems::CodeSystem;

/// One include over a system hyojun holds, at the release it is expanded from.
#[derive(Debug, Clone)]
pub struct Part<'v> {
    pub system: &'static CodeSystem,
    /// The system's canonical URI.
    pub url: &'static str,
    pub release: ReleaseRow,
    /// The codes the include lists (with the displays it gives), in its order; `None`: every
    /// code of the system.
    pub listed: Option<&'v [PartConcept]>,
}

/// Codes an exclude takes out of the parts of one system (of one release when it names a
/// version).
#[derive(Debug, Clone)]
pub struct Excluded {
    pub system: &'static str,
    pub version: Option<String>,
    pub codes: FxHashSet<String>,
}

impl Excluded {
    /// Whether it takes `code` out of `part`.
    pub fn takes(&self, part: &Part<'_>, code: &str) -> bool {
        self.system == part.system.key
            && self
                .version
                .as_deref()
                .is_none_or(|v| v == part.release.label)
            && self.codes.contains(code)
    }
}

/// The compose as the expansion evaluates it.
#[derive(Debug, Clone, Default)]
pub struct Composed<'v> {
    pub parts: Vec<Part<'v>>,
    pub excluded: Vec<Excluded>,
    /// The systems included that hyojun does not hold (or holds no release of), as named
    /// (`url`, or `url|version`), each once.
    pub missing: Vec<String>,
}

/// A 422 answer of one error issue: the value set cannot be expanded as asked.
pub fn unprocessable(issue: Issue) -> FhirError {
    FhirError::issue(StatusCode::UNPROCESSABLE_ENTITY, issue)
}

/// The answer for an include of a system hyojun does not hold.
pub fn unknown_system(lang: Lang, system: &str) -> FhirError {
    unprocessable(
        Issue::new(
            Severity::Error,
            "not-found",
            messages::text(lang, "UNKNOWN_CODESYSTEM_EXP", &[&system]),
        )
        .tx_type("not-found")
        .message_id("UNKNOWN_CODESYSTEM_EXP"),
    )
}

fn unknown_version(lang: Lang, url: &str, asked: &str, valid: &[String]) -> FhirError {
    let (id, text) = if valid.is_empty() {
        (
            "UNKNOWN_CODESYSTEM_VERSION_EXP_NONE",
            messages::text(lang, "UNKNOWN_CODESYSTEM_VERSION_EXP_NONE", &[&url, &asked]),
        )
    } else {
        (
            "UNKNOWN_CODESYSTEM_VERSION_EXP",
            messages::text(
                lang,
                "UNKNOWN_CODESYSTEM_VERSION_EXP",
                &[&url, &asked, &codes::or_list(valid)],
            ),
        )
    };
    unprocessable(
        Issue::new(Severity::Error, "not-found", text)
            .tx_type("not-found")
            .message_id(id),
    )
}

/// `property op value` of each filter, as messages name them.
fn describe_filters(filters: &[Value]) -> String {
    filters
        .iter()
        .map(|f| {
            let field = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("?");
            format!("{} {} {}", field("property"), field("op"), field("value"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_evaluated(lang: Lang, scope: &Scope, part: &Include) -> Option<FhirError> {
    let reference = scope.reference();
    if let Some(imported) = part.value_set.first() {
        return Some(unprocessable(
            Issue::new(
                Severity::Error,
                "not-supported",
                messages::text(lang, "HYOJUN_EXPAND_IMPORT", &[&reference, imported]),
            )
            .message_id("HYOJUN_EXPAND_IMPORT"),
        ));
    }
    let system = part.system.as_deref()?;
    if part.filter.is_empty() || canon::resolve(system).is_none() {
        return None;
    }
    Some(unprocessable(
        Issue::new(
            Severity::Error,
            "not-supported",
            messages::text(
                lang,
                "HYOJUN_EXPAND_FILTER",
                &[&reference, &system, &describe_filters(&part.filter)],
            ),
        )
        .message_id("HYOJUN_EXPAND_FILTER"),
    ))
}

/// Whether `exclude-system` (`url` or `url|version`) leaves out `system` at `version`.
fn excluded_system(options: &Options, named: &str, url: &str, version: Option<&str>) -> bool {
    options
        .exclude_system
        .iter()
        .any(|(s, v)| (s == named || s == url) && v.as_deref().is_none_or(|v| Some(v) == version))
}

/// Reads `scope`'s compose against hyojun's releases.
pub fn compose<'v>(
    ctx: &Context,
    scope: &'v Scope,
    options: &Options,
) -> Result<Composed<'v>, FhirError> {
    let lang = ctx.lang;
    let mut out = Composed::default();
    for include in &scope.include {
        if let Some(e) = not_evaluated(lang, scope, include) {
            return Err(e);
        }
        let Some(named) = include.system.as_deref() else {
            return Err(FhirError::Invalid(format!(
                "the value set `{}` has an include with neither a system nor a value set",
                crate::excerpt::excerpt(&scope.reference())
            )));
        };
        let Some(resolved) = canon::resolve(named) else {
            if !excluded_system(options, named, named, include.version.as_deref()) {
                let missing = match &include.version {
                    Some(v) => format!("{named}|{v}"),
                    None => named.to_owned(),
                };
                if !out.missing.contains(&missing) {
                    out.missing.push(missing);
                }
            }
            continue;
        };
        let url = resolved.url();
        let version = pick(&options.check.force_system_version, url)
            .or_else(|| pick(&options.check.force_system_version, named))
            .or(include.version.as_deref())
            .or_else(|| pick(&options.check.system_version, url))
            .or_else(|| pick(&options.check.system_version, named));
        let release = match codes::release(ctx, resolved.system, version, options.check.date)? {
            Ok(release) => release,
            Err(NoRelease::UnknownVersion { asked, valid }) => {
                return Err(unknown_version(lang, url, &asked, &valid))
            }
            Err(NoRelease::None { valid }) => match version {
                Some(asked) => return Err(unknown_version(lang, url, asked, &valid)),
                // Known to hyojun, but no release imported (or in force): as if not held.
                None => {
                    if !out.missing.iter().any(|m| m == url) {
                        out.missing.push(url.to_owned());
                    }
                    continue;
                }
            },
        };
        if excluded_system(options, named, url, Some(&release.label)) {
            continue;
        }
        if let Some(pattern) = pick(&options.check.check_system_version, url)
            .or_else(|| pick(&options.check.check_system_version, named))
        {
            if !version_matches(&release.label, pattern) {
                return Err(unprocessable(version_check_failed(
                    lang,
                    url,
                    &release.label,
                    pattern,
                )));
            }
        }
        out.parts.push(Part {
            system: resolved.system,
            url,
            release,
            listed: (!include.concept.is_empty()).then_some(include.concept.as_slice()),
        });
    }
    for exclude in &scope.exclude {
        if let Some(e) = not_evaluated(lang, scope, exclude) {
            return Err(e);
        }
        // An exclude of a system hyojun does not hold takes nothing out of what it lists.
        let Some(resolved) = exclude.system.as_deref().and_then(canon::resolve) else {
            continue;
        };
        let key = resolved.system.key;
        let version = exclude.version.clone();
        if exclude.concept.is_empty() {
            out.parts.retain(|p| {
                !(p.system.key == key && version.as_deref().is_none_or(|v| v == p.release.label))
            });
        } else {
            out.excluded.push(Excluded {
                system: key,
                version,
                codes: exclude.concept.iter().map(|c| c.code.clone()).collect(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_are_named_as_property_op_value() {
        assert_eq!(
            describe_filters(&[
                json!({"property": "concept", "op": "is-a", "value": "A"}),
                json!({"property": "status", "op": "="}),
            ]),
            "concept is-a A, status = ?"
        );
    }
}
