//! The verdict on one coding of hyojun's code systems, in the shape the HL7 validator reads
//! (`../shared/docs/fhir-terminology.md` §7): every status a master gives a code — known and
//! active, retired (still valid, with a warning and its 移行先), dropped in a later release,
//! never known — the display checks (exact; width-only and whitespace-only differences named),
//! unknown systems and versions, OIDs used as systems, and value set membership. Shared by
//! `$validate-code` (CodeSystem and ValueSet), `$batch-validate-code` and `$check-codes`.

use chrono::NaiveDate;

use super::canon::{self, Named, Resolved};
use super::codes::{self, NoRelease};
use super::messages::{self, Lang};
use super::outcome::{Issue, Severity};
use super::valueset::Scope;
use super::Context;
use crate::store::lookup::CodeStatus;
use crate::store::models::ReleaseRow;
use crate::text::Level;

/// Where a coding sits in the request, for the issues' `expression`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// `code`, `system`, `version`, `display` parameters.
    Params,
    /// The `coding` parameter.
    Coding,
    /// `CodeableConcept.coding[i]`.
    Concept(usize),
    /// A path inside a resource (`$check-codes`): the coding's own FHIRPath.
    Path(String),
}

impl At {
    /// The path of `field` (`code`, `system`, `display`, `version`), or of the coding itself
    /// when `field` is empty.
    pub fn of(&self, field: &str) -> String {
        let base = match self {
            At::Params => {
                return if field.is_empty() {
                    "code".into()
                } else {
                    field.into()
                }
            }
            At::Coding => "Coding".to_owned(),
            At::Concept(i) => format!("CodeableConcept.coding[{i}]"),
            At::Path(p) => p.clone(),
        };
        if field.is_empty() {
            base
        } else {
            format!("{base}.{field}")
        }
    }
}

/// A coding to check.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub system: Option<String>,
    pub version: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

/// How to check: the options of the request.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A wrong display is a warning, not an error (`lenient-display-validation`).
    pub lenient_display: bool,
    /// Only membership is checked, not displays (`valueset-membership-only`).
    pub membership_only: bool,
    /// The release in force on this date, unless a version is given.
    pub date: Option<NaiveDate>,
    /// `system-version`: the version of a system when neither the coding nor the value set
    /// says (`url|version`).
    pub system_version: Vec<(String, String)>,
    /// `force-system-version`: the version of a system, whatever the coding says.
    pub force_system_version: Vec<(String, String)>,
    /// `check-system-version`: the versions a system's release must match.
    pub check_system_version: Vec<(String, String)>,
    /// The languages displays are asked in (`displayLanguage`), for messages.
    pub display_language: Option<String>,
}

/// The verdict on one coding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// The code is a usable member: known, in the release, display right, in the value set.
    pub valid: bool,
    pub code: Option<String>,
    /// The system as asked.
    pub system: Option<String>,
    /// The release label used.
    pub version: Option<String>,
    /// The code's display in that release.
    pub display: Option<String>,
    /// The code is retired (still in the release).
    pub inactive: bool,
    pub issues: Vec<Issue>,
    /// `x-caused-by-unknown-system`: the system (`url` or `url|version`) that made the check
    /// impossible.
    pub caused_by: Option<String>,
    /// `x-unknown-system`: a system of the coding hyojun does not know.
    pub unknown_system: Option<String>,
}

pub(crate) fn pick<'a>(list: &'a [(String, String)], system: &str) -> Option<&'a str> {
    list.iter()
        .find(|(s, _)| s == system)
        .map(|(_, v)| v.as_str())
}

/// Whether a release label matches a version pattern (`x` and `*` match any part).
pub(crate) fn version_matches(label: &str, pattern: &str) -> bool {
    let (l, p): (Vec<&str>, Vec<&str>) = (label.split('.').collect(), pattern.split('.').collect());
    if p.len() > l.len() {
        return false;
    }
    p.iter()
        .zip(&l)
        .all(|(p, l)| *p == "x" || *p == "*" || p == l)
        && (p.len() == l.len() || p.last().is_some_and(|x| *x == "x" || *x == "*"))
}

/// The error of a release whose label does not match `check-system-version`.
pub(crate) fn version_check_failed(lang: Lang, url: &str, label: &str, pattern: &str) -> Issue {
    Issue::new(
        Severity::Error,
        "exception",
        messages::text(lang, "VALUESET_VERSION_CHECK", &[&url, &label, &pattern]),
    )
    .tx_type("version-error")
    .message_id("VALUESET_VERSION_CHECK")
}

/// `'a' (ja)`, `'a' (ja) or 'b' (ja)`: the valid displays as the validator lists them.
fn listed(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}' (ja)")).collect();
    codes::or_list(&quoted)
}

/// Checks one coding (of a hyojun system or not) against a release and, when given, a value
/// set.
pub fn coding(
    ctx: &Context,
    asked: Asked,
    at: &At,
    scope: Option<&Scope>,
    options: &Options,
) -> Result<Verdict, super::error::FhirError> {
    let mut v = Verdict::default();
    check(ctx, &asked, at, scope, options, &mut v)?;
    // The coding's own strings, moved (a batch checks 10,000).
    v.code = asked.code;
    v.system = asked.system;
    Ok(v)
}

/// [`coding`]'s checks, writing all of the verdict but the code and system it echoes.
fn check(
    ctx: &Context,
    asked: &Asked,
    at: &At,
    scope: Option<&Scope>,
    options: &Options,
    v: &mut Verdict,
) -> Result<(), super::error::FhirError> {
    let lang = ctx.lang;
    let Some(code) = asked.code.as_deref() else {
        v.issues.push(
            Issue::new(Severity::Error, "required", "a code is required")
                .tx_type("invalid-data")
                .at(at.of("code")),
        );
        return Ok(());
    };
    let Some(system_uri) = asked.system.as_deref() else {
        v.issues.push(
            Issue::new(
                Severity::Error,
                "invalid",
                messages::text(lang, "Coding_has_no_system__cannot_validate", &[]),
            )
            .tx_type("invalid-data")
            .message_id("Coding_has_no_system__cannot_validate")
            .at(at.of("")),
        );
        return Ok(());
    };
    let Some(resolved) = canon::resolve(system_uri) else {
        // A system hyojun does not hold (and the general engine does not evaluate yet).
        if let Some(scope) = scope {
            v.issues
                .push(not_in_value_set(lang, scope, system_uri, code, at));
            v.unknown_system = Some(system_uri.to_owned());
        } else {
            v.caused_by = Some(system_uri.to_owned());
        }
        v.issues.push(
            Issue::new(
                Severity::Error,
                "not-found",
                messages::text(lang, "UNKNOWN_CODESYSTEM", &[&system_uri]),
            )
            .tx_type("not-found")
            .message_id("UNKNOWN_CODESYSTEM")
            .at(at.of("system")),
        );
        return Ok(());
    };
    if resolved.named == Named::Oid {
        v.issues.push(
            Issue::new(
                Severity::Warning,
                "invalid",
                messages::text(lang, "HYOJUN_OID_SYSTEM", &[&system_uri, &resolved.url()]),
            )
            .tx_type("invalid-data")
            .message_id("HYOJUN_OID_SYSTEM")
            .at(at.of("system")),
        );
    }
    let url = resolved.url();
    // The value set's include for this system, if any (its version pins the release).
    let include = scope.and_then(|s| {
        s.include.iter().find(|p| {
            p.system
                .as_deref()
                .and_then(canon::resolve)
                .is_some_and(|r| r.system.key == resolved.system.key)
        })
    });
    let forced = pick(&options.force_system_version, url);
    let version = forced
        .map(str::to_owned)
        .or_else(|| asked.version.clone())
        .or_else(|| include.and_then(|i| i.version.clone()))
        .or_else(|| pick(&options.system_version, url).map(str::to_owned));
    if let (Some(pinned), Some(given), None) = (
        include.and_then(|i| i.version.as_deref()),
        asked.version.as_deref(),
        forced,
    ) {
        if pinned != given {
            v.issues.push(
                Issue::new(
                    Severity::Error,
                    "invalid",
                    messages::text(lang, "VALUESET_VALUE_MISMATCH", &[&url, &pinned, &given]),
                )
                .tx_type("vs-invalid")
                .message_id("VALUESET_VALUE_MISMATCH")
                .at(at.of("version")),
            );
        }
    }
    let found = codes::release_shared(ctx, resolved.system, version.as_deref(), options.date)?;
    let release = match found.as_ref() {
        Ok(release) => release,
        Err(problem) => {
            unknown_version(lang, v, url, version.as_deref(), problem.clone(), at);
            return Ok(());
        }
    };
    v.version = Some(release.label.clone());
    if let Some(pattern) = pick(&options.check_system_version, url) {
        if !version_matches(&release.label, pattern) {
            v.issues.push(
                version_check_failed(lang, url, &release.label, pattern).at(at.of("version")),
            );
        }
    }
    let status = codes::status(ctx, release, resolved.system, code)?;
    let present = status.as_ref().filter(|s| s.present);
    let Some(status) = present else {
        unknown_code(ctx, v, &resolved, release, code, status.is_some(), at)?;
        if let Some(scope) = scope {
            v.issues
                .push(not_in_value_set(lang, scope, system_uri, code, at));
        }
        return Ok(());
    };
    v.display = status.display().map(str::to_owned);
    let mut usable = true;
    if let Some(scope) = scope {
        if !member(scope, &resolved, code, status) {
            v.issues
                .push(not_in_value_set(lang, scope, system_uri, code, at));
            usable = false;
        }
    }
    if !status.active {
        v.inactive = true;
        retired(ctx, v, release, code, status, at)?;
    }
    if !options.membership_only {
        if let Some(display) = asked.display.as_deref() {
            usable &= display_ok(lang, v, url, code, display, status, options, at);
        }
    }
    v.valid = usable && !v.issues.iter().any(Issue::is_error);
    Ok(())
}

/// Whether a code of a system a value set includes is a member: in an include of its system
/// (all codes, or listed), in no exclude, and active when the value set leaves out inactive
/// codes.
fn member(scope: &Scope, resolved: &Resolved, code: &str, status: &CodeStatus) -> bool {
    let same = |p: &super::valueset::Part| {
        p.system
            .as_deref()
            .and_then(canon::resolve)
            .is_some_and(|r| r.system.key == resolved.system.key)
    };
    let lists = |p: &super::valueset::Part| {
        p.concept.is_empty() && p.filter.is_empty() || p.concept.iter().any(|c| c.code == code)
    };
    let included = scope.include.iter().any(|p| same(p) && lists(p));
    let excluded = scope.exclude.iter().any(|p| same(p) && lists(p));
    included && !excluded && (scope.inactive || status.active)
}

fn not_in_value_set(lang: Lang, scope: &Scope, system: &str, code: &str, at: &At) -> Issue {
    let id = "None_of_the_provided_codes_are_in_the_value_set_one";
    Issue::new(
        Severity::Error,
        "code-invalid",
        messages::text(
            lang,
            id,
            &[&1, &scope.reference(), &format!("'{system}#{code}'")],
        ),
    )
    .tx_type("not-in-vs")
    .message_id(id)
    .at(at.of("code"))
}

fn unknown_version(
    lang: Lang,
    v: &mut Verdict,
    url: &str,
    version: Option<&str>,
    problem: NoRelease,
    at: &At,
) {
    let (id, text) = match (&problem, version) {
        (NoRelease::UnknownVersion { asked, valid }, _) if !valid.is_empty() => (
            "UNKNOWN_CODESYSTEM_VERSION",
            messages::text(
                lang,
                "UNKNOWN_CODESYSTEM_VERSION",
                &[&url, asked, &codes::or_list(valid)],
            ),
        ),
        (NoRelease::UnknownVersion { asked, .. }, _) => (
            "UNKNOWN_CODESYSTEM_VERSION_NONE",
            messages::text(lang, "UNKNOWN_CODESYSTEM_VERSION_NONE", &[&url, asked]),
        ),
        (NoRelease::None { valid }, Some(asked)) => (
            "UNKNOWN_CODESYSTEM_VERSION",
            messages::text(
                lang,
                "UNKNOWN_CODESYSTEM_VERSION",
                &[&url, &asked, &codes::or_list(valid)],
            ),
        ),
        (NoRelease::None { .. }, None) => (
            "UNKNOWN_CODESYSTEM",
            messages::text(lang, "UNKNOWN_CODESYSTEM", &[&url]),
        ),
    };
    v.caused_by = Some(match &problem {
        NoRelease::UnknownVersion { asked, .. } => format!("{url}|{asked}"),
        NoRelease::None { .. } => url.to_owned(),
    });
    v.issues.push(
        Issue::new(Severity::Error, "not-found", text)
            .tx_type("not-found")
            .message_id(id)
            .at(at.of("system")),
    );
}

fn unknown_code(
    ctx: &Context,
    v: &mut Verdict,
    resolved: &Resolved,
    release: &ReleaseRow,
    code: &str,
    known_before: bool,
    at: &At,
) -> Result<(), super::error::FhirError> {
    let lang = ctx.lang;
    let url = resolved.url();
    v.issues.push(
        Issue::new(
            Severity::Error,
            "code-invalid",
            messages::text(
                lang,
                "Unknown_Code_in_Version",
                &[&code, &url, &release.label],
            ),
        )
        .tx_type("invalid-code")
        .message_id("Unknown_Code_in_Version")
        .at(at.of("code")),
    );
    if known_before {
        if let Some(last) = codes::last_release_with(ctx, release, resolved.system, code)? {
            v.issues.push(
                Issue::new(
                    Severity::Information,
                    "informational",
                    messages::text(
                        lang,
                        "HYOJUN_CODE_DROPPED",
                        &[&code, &url, &release.label, &last],
                    ),
                )
                .tx_type("code-comment")
                .message_id("HYOJUN_CODE_DROPPED")
                .at(at.of("code")),
            );
        }
    }
    Ok(())
}

fn retired(
    ctx: &Context,
    v: &mut Verdict,
    release: &ReleaseRow,
    code: &str,
    status: &CodeStatus,
    at: &At,
) -> Result<(), super::error::FhirError> {
    let lang = ctx.lang;
    v.issues.push(
        Issue::new(
            Severity::Warning,
            "business-rule",
            messages::text(lang, "INACTIVE_CONCEPT_FOUND", &[&"retired", &code]),
        )
        .tx_type("code-comment")
        .message_id("INACTIVE_CONCEPT_FOUND")
        .at(at.of("")),
    );
    if status.successors.is_empty() {
        return Ok(());
    }
    let mut named = Vec::with_capacity(status.successors.len());
    for successor in &status.successors {
        let Some(system) = crate::systems::by_key(&successor.system) else {
            continue;
        };
        let display = if system.master.key() == release.master {
            codes::status(ctx, release, system, &successor.code)?
                .and_then(|s| s.display().map(str::to_owned))
        } else {
            None
        };
        named.push(match display {
            Some(d) => format!("{}#{} ({d})", canon::url(system), successor.code),
            None => format!("{}#{}", canon::url(system), successor.code),
        });
    }
    v.issues.push(
        Issue::new(
            Severity::Information,
            "informational",
            messages::text(lang, "HYOJUN_SUCCESSOR", &[&code, &named.join(", ")]),
        )
        .tx_type("code-comment")
        .message_id("HYOJUN_SUCCESSOR")
        .at(at.of("")),
    );
    Ok(())
}

/// Checks a display against the code's names; `false` (with its issue) when it is wrong.
#[allow(clippy::too_many_arguments)]
fn display_ok(
    lang: Lang,
    v: &mut Verdict,
    url: &str,
    code: &str,
    display: &str,
    status: &CodeStatus,
    options: &Options,
    at: &At,
) -> bool {
    if status.names.is_name(display) {
        return true;
    }
    let names: Vec<&str> = status.names.names().collect();
    let severity = if options.lenient_display {
        Severity::Warning
    } else {
        Severity::Error
    };
    let languages = options.display_language.as_deref().unwrap_or("--");
    let width_only = names.iter().find(|n| Level::Width.same(n, display));
    let ws_only = names.iter().find(|n| Level::Spacing.same(n, display));
    let (root, valid): (&str, Vec<&str>) = match (width_only, ws_only) {
        (_, Some(n)) => ("Display_Name_WS_for__should_be_one_of__instead_of", vec![n]),
        (Some(n), None) => ("Display_Name_for__should_be_one_of__instead_of", vec![n]),
        (None, None) => (
            "Display_Name_for__should_be_one_of__instead_of",
            status.display().map_or_else(|| names.clone(), |d| vec![d]),
        ),
    };
    let text = messages::plural(
        lang,
        root,
        valid.len(),
        &[&url, &code, &listed(&valid), &display, &languages],
    );
    v.issues.push(
        Issue::new(severity, "invalid", text)
            .tx_type("invalid-display")
            .message_id(root)
            .at(at.of("display")),
    );
    if let (Some(n), None) = (width_only, ws_only) {
        v.issues.push(
            Issue::new(
                Severity::Information,
                "informational",
                messages::text(lang, "HYOJUN_DISPLAY_WIDTH", &[&display, n]),
            )
            .tx_type("invalid-display")
            .message_id("HYOJUN_DISPLAY_WIDTH")
            .at(at.of("display")),
        );
    }
    options.lenient_display
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_version_patterns() {
        assert_eq!(At::Params.of("code"), "code");
        assert_eq!(At::Params.of(""), "code");
        assert_eq!(At::Coding.of("display"), "Coding.display");
        assert_eq!(At::Concept(1).of("code"), "CodeableConcept.coding[1].code");
        assert_eq!(At::Concept(0).of(""), "CodeableConcept.coding[0]");
        assert!(version_matches("5.18", "5.x"));
        assert!(version_matches("20260630", "20260630"));
        assert!(!version_matches("20260630", "20260531"));
        assert!(!version_matches("5.18", "4.x"));
        assert_eq!(listed(&["A", "B"]), "'A' (ja) or 'B' (ja)");
    }
}
