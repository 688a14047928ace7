//! `CodeSystem/$validate-code` and `ValueSet/$validate-code` (`../shared/docs/fhir-terminology.md`
//! §3.4–3.5): the request's coding (`code` + `system`/`url` + `version` + `display`, a
//! `coding`, or every coding of a `codeableConcept`) checked by [`super::check`], answered
//! with the R5 output set on R4 too (`result`, `code`, `system`, `version`, `display`,
//! `message`, `issues`, `inactive`, `x-caused-by-unknown-system`, `x-unknown-system`).

use super::check::{self, Asked, At, Options, Verdict};
use super::error::FhirError;
use super::messages;
use super::outcome::{Issue, OperationOutcome, Severity};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::params::{CodeableConcept, Coding, Params};
use super::valueset::{self, Scope};
use super::Context;

/// `url|version` pairs of a repeated parameter (`system-version`, …).
fn pairs(params: &Params, name: &str) -> Vec<(String, String)> {
    params
        .all(name)
        .filter_map(|p| p.as_text())
        .filter_map(|t| t.split_once('|').map(|(s, v)| (s.to_owned(), v.to_owned())))
        .collect()
}

/// The options of a validation request.
pub fn options(params: &Params) -> Result<Options, FhirError> {
    let lenient = params.flag("lenient-display-validation", false)?
        || params.text("mode").as_deref() == Some("lenient-display-validation");
    let date = params
        .text("date")
        .map(|d| {
            let day = d.get(..10).unwrap_or(&d);
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                FhirError::Invalid(format!(
                    "parameter `date` must be a FHIR date (YYYY-MM-DD…), not `{}`",
                    crate::excerpt::excerpt(&d)
                ))
            })
        })
        .transpose()?;
    Ok(Options {
        lenient_display: lenient,
        membership_only: params.flag("valueset-membership-only", false)?,
        date,
        system_version: pairs(params, "system-version"),
        force_system_version: pairs(params, "force-system-version"),
        check_system_version: pairs(params, "check-system-version"),
        display_language: params.text("displayLanguage"),
    })
}

/// What the request asks to validate.
enum Subject {
    One(Asked, At),
    Concept(CodeableConcept),
}

fn asked(c: &Coding) -> Asked {
    Asked {
        system: c.system.clone(),
        version: c.version.clone(),
        code: c.code.clone(),
        display: c.display.clone(),
    }
}

/// The subject: a `codeableConcept`, a `coding`, or `code` with the system parameter
/// (`url` for CodeSystem/$validate-code, `system` for ValueSet/$validate-code).
fn subject(
    params: &Params,
    system_param: &str,
    scope: Option<&Scope>,
) -> Result<Subject, FhirError> {
    if let Some(concept) = params.codeable_concept("codeableConcept")? {
        return Ok(Subject::Concept(concept));
    }
    if let Some(coding) = params.coding("coding")? {
        return Ok(Subject::One(asked(&coding), At::Coding));
    }
    let Some(code) = params.text("code") else {
        return Err(FhirError::Invalid(
            "give `code` (with the system), `coding` or `codeableConcept`".into(),
        ));
    };
    let mut system = params.text(system_param);
    if system.is_none() && params.flag("inferSystem", false)? {
        // The one system the value set includes.
        let systems: Vec<&str> = scope
            .into_iter()
            .flat_map(|s| s.include.iter())
            .filter_map(|i| i.system.as_deref())
            .collect();
        if let [only] = systems.as_slice() {
            system = Some((*only).to_owned());
        }
    }
    Ok(Subject::One(
        Asked {
            system,
            version: params.text_of(&["systemVersion", "version"]),
            code: Some(code),
            display: params.text("display"),
        },
        At::Params,
    ))
}

/// `message`: the error texts joined with `; `, else every text.
fn message(issues: &[Issue]) -> Option<String> {
    let errors: Vec<&str> = issues
        .iter()
        .filter(|i| i.is_error())
        .map(Issue::text)
        .collect();
    let texts: Vec<&str> = if errors.is_empty() {
        issues.iter().map(Issue::text).collect()
    } else {
        errors
    };
    (!texts.is_empty()).then(|| texts.join("; "))
}

/// The answer for one verdict: a `Parameters` resource written straight from it (a batch
/// writes 10,000 of them; no parameter list is built for each).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationAnswer {
    verdict: Verdict,
    concept: Option<CodeableConcept>,
    message: Option<String>,
    issues: Option<OperationOutcome>,
}

pub(super) fn answer(mut v: Verdict, concept: Option<&CodeableConcept>) -> ValidationAnswer {
    let message = message(&v.issues);
    let issues = std::mem::take(&mut v.issues);
    ValidationAnswer {
        verdict: v,
        concept: concept.cloned(),
        message,
        issues: (!issues.is_empty()).then(|| OperationOutcome::new(issues)),
    }
}

impl Serialize for ValidationAnswer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("resourceType", "Parameters")?;
        map.serialize_entry("parameter", &Outputs(self))?;
        map.end()
    }
}

/// The output parameters, in the order the R5 definition lists them.
struct Outputs<'a>(&'a ValidationAnswer);

impl Serialize for Outputs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let v = &a.verdict;
        let mut seq = serializer.serialize_seq(None)?;
        if let Some(code) = &v.code {
            seq.serialize_element(&Named("code", "valueCode", code))?;
        }
        if let Some(concept) = &a.concept {
            seq.serialize_element(&Named("codeableConcept", "valueCodeableConcept", concept))?;
        }
        if let Some(display) = &v.display {
            seq.serialize_element(&Named("display", "valueString", display))?;
        }
        if v.inactive {
            seq.serialize_element(&Named("inactive", "valueBoolean", &true))?;
        }
        if let Some(issues) = &a.issues {
            seq.serialize_element(&Named("issues", "resource", issues))?;
        }
        if let Some(text) = &a.message {
            seq.serialize_element(&Named("message", "valueString", text))?;
        }
        seq.serialize_element(&Named("result", "valueBoolean", &v.valid))?;
        if v.inactive {
            seq.serialize_element(&Named("status", "valueCode", "retired"))?;
        }
        if let Some(system) = &v.system {
            seq.serialize_element(&Named("system", "valueUri", system))?;
        }
        if let Some(version) = &v.version {
            seq.serialize_element(&Named("version", "valueString", version))?;
        }
        if let Some(caused) = &v.caused_by {
            seq.serialize_element(&Named("x-caused-by-unknown-system", "valueUri", caused))?;
        }
        if let Some(unknown) = &v.unknown_system {
            seq.serialize_element(&Named("x-unknown-system", "valueUri", unknown))?;
        }
        seq.end()
    }
}

/// One output parameter: `{"name": …, "valueX" (or "resource"): …}`.
struct Named<'a, T: ?Sized>(&'static str, &'static str, &'a T);

impl<T: Serialize + ?Sized> Serialize for Named<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("name", self.0)?;
        map.serialize_entry(self.1, self.2)?;
        map.end()
    }
}

/// Every coding of a CodeableConcept checked: valid when one is; the answer names the first
/// valid coding, and the others' problems become information.
fn concept(
    ctx: &Context,
    concept: &CodeableConcept,
    scope: Option<&Scope>,
    options: &Options,
) -> Result<Verdict, FhirError> {
    let verdicts: Vec<Verdict> = concept
        .coding
        .iter()
        .enumerate()
        .map(|(i, c)| check::coding(ctx, asked(c), &At::Concept(i), scope, options))
        .collect::<Result<_, _>>()?;
    let first_valid = verdicts.iter().position(|v| v.valid);
    let mut out = match first_valid {
        Some(i) => verdicts[i].clone(),
        None => verdicts.first().cloned().unwrap_or_default(),
    };
    out.issues = Vec::new();
    if first_valid.is_none() {
        if let Some(scope) = scope {
            out.issues.push(
                Issue::new(
                    Severity::Error,
                    "code-invalid",
                    messages::text(
                        ctx.lang,
                        "TX_GENERAL_CC_ERROR_MESSAGE",
                        &[&scope.reference()],
                    ),
                )
                .tx_type("not-in-vs")
                .message_id("TX_GENERAL_CC_ERROR_MESSAGE"),
            );
        }
    }
    for (i, v) in verdicts.into_iter().enumerate() {
        for mut issue in v.issues {
            // Beside a valid coding, the others' errors only inform; a value set's
            // not-in-vs for one coding of several is that coding's own note.
            if first_valid.is_some_and(|f| f != i) && issue.is_error() {
                issue.severity = Severity::Information;
            }
            if scope.is_some() && issue.is_error() && issue_is_not_in_vs(&issue) {
                issue.severity = Severity::Information;
                if let Some(d) = &mut issue.details {
                    for c in &mut d.coding {
                        c.code = "this-code-not-in-vs";
                    }
                }
            }
            out.issues.push(issue);
        }
        if first_valid.is_none() {
            out.caused_by = out.caused_by.or(v.caused_by);
            out.unknown_system = out.unknown_system.or(v.unknown_system);
        }
    }
    if first_valid.is_none() {
        out.valid = false;
        // With no valid coding there is no one code to name.
        out.code = None;
        out.system = None;
        out.version = None;
        out.display = None;
    }
    Ok(out)
}

fn issue_is_not_in_vs(issue: &Issue) -> bool {
    issue
        .details
        .as_ref()
        .is_some_and(|d| d.coding.iter().any(|c| c.code == "not-in-vs"))
}

/// Validates the request's subject, against `scope` when given.
pub fn run(
    ctx: &Context,
    params: &Params,
    system_param: &str,
    scope: Option<&Scope>,
) -> Result<ValidationAnswer, FhirError> {
    let options = options(params)?;
    match subject(params, system_param, scope)? {
        Subject::One(asked, at) => {
            let verdict = check::coding(ctx, asked, &at, scope, &options)?;
            Ok(answer(verdict, None))
        }
        Subject::Concept(cc) => {
            let verdict = concept(ctx, &cc, scope, &options)?;
            Ok(answer(verdict, Some(&cc)))
        }
    }
}

/// `CodeSystem/$validate-code`: the code against its code system (`url`, or the coding's
/// system) alone.
pub fn code_system(ctx: &Context, params: &Params) -> Result<ValidationAnswer, FhirError> {
    run(ctx, params, "url", None)
}

/// `ValueSet/$validate-code`: the code against a value set (`url`, inline `valueSet`).
pub fn value_set(ctx: &Context, params: &Params) -> Result<ValidationAnswer, FhirError> {
    let scope = valueset::of_request(params, ctx.lang)?.ok_or_else(|| {
        FhirError::Invalid("give the value set: `url` or an inline `valueSet`".into())
    })?;
    run(ctx, params, "system", Some(&scope))
}
