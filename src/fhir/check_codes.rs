//! `POST /fhir/Bundle/$check-codes` and `hyojun check-codes FILE.json`: every Coding of any
//! FHIR resource or Bundle (a JP-CLINS 診療情報提供書 or 退院時サマリー) checked at once, answered
//! as one OperationOutcome — the registration-time 形式チェック of the 電子カルテ情報共有サービス.
//!
//! A Coding is any object with a `code` beside a `system` (CodeableConcept.coding, Coding
//! elements, extension values). Each gets its verdict with the FHIRPath of the element as
//! `expression`: valid (information), unknown, retired with its 移行先, dropped, display
//! mismatch with the expected display, unknown version, and — where a JP Core profile binds
//! the element to a value set over hyojun's systems ([`BINDINGS`]) — not in that value set.
//! Codings of systems hyojun does not hold are reported as not checked (information), except
//! under the masters' own namespaces, where an unknown system is an error (a mistyped URL).

use serde_json::Value;

use super::check::{self, Asked, At, Options};
use super::error::FhirError;
use super::messages;
use super::outcome::{Issue, OperationOutcome, Severity};
use super::valueset::{self, Scope};
use super::Context;
use crate::limits::{group_digits, Limit};

/// Elements JP Core profiles bind to value sets over hyojun's systems: (resource type,
/// element path below the resource, value sets, strength). A coding is checked against the
/// value set that includes its system (JP Core slices these elements by system).
pub const BINDINGS: &[(&str, &str, &[&str], &str)] = &[
    (
        "Condition",
        "code",
        &[
            "http://medis.or.jp/ValueSet/master-disease-keyNumber",
            "http://medis.or.jp/ValueSet/master-disease-exCode",
            "http://jpfhir.jp/fhir/core/mhlw/ValueSet/masterB-disease",
            "http://jpfhir.jp/fhir/core/mhlw/ValueSet/ICD10-2013-full",
        ],
        "required",
    ),
    (
        "Medication",
        "code",
        &["http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCode_VS"],
        "preferred",
    ),
    (
        "MedicationRequest",
        "medicationCodeableConcept",
        &["http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCode_VS"],
        "preferred",
    ),
    (
        "MedicationStatement",
        "medicationCodeableConcept",
        &["http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCode_VS"],
        "preferred",
    ),
    (
        "Immunization",
        "vaccineCode",
        &["http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCode_Immunization_VS"],
        "preferred",
    ),
    (
        "Observation",
        "code",
        &[
            "http://jpfhir.jp/fhir/core/ValueSet/JP_ObservationLabResultCode_VS",
            "http://jpfhir.jp/fhir/core/ValueSet/JP_ObservationVitalSignsCode_VS",
        ],
        "preferred",
    ),
    (
        "Procedure",
        "code",
        &["http://jpfhir.jp/fhir/core/ValueSet/JP_ProcedureCodesNurse_VS"],
        "required",
    ),
];

/// Namespaces of the masters' own URLs: an unknown system under one of them is a mistake.
const JP_NAMESPACES: &[&str] = &[
    "http://medis.or.jp/",
    "http://jpfhir.jp/fhir/core/mhlw/",
    "http://capstandard.jp/",
    "urn:oid:1.2.392.200119.",
    "urn:hyojun:",
];

/// One coding found in the document.
struct Found<'a> {
    /// FHIRPath of the coding element.
    path: String,
    /// The resource type it belongs to and its path below that resource.
    resource_type: String,
    element: String,
    coding: &'a serde_json::Map<String, Value>,
}

/// Walks `value`, collecting every coding with its path.
fn walk<'a>(
    value: &'a Value,
    path: &str,
    resource_type: &str,
    element: &str,
    out: &mut Vec<Found<'a>>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    match value {
        Value::Object(map) => {
            // A resource starts a new element path.
            let (path, resource_type, element) =
                match map.get("resourceType").and_then(Value::as_str) {
                    Some(rt) if path.is_empty() => (rt.to_owned(), rt.to_owned(), String::new()),
                    Some(rt) => (path.to_owned(), rt.to_owned(), String::new()),
                    None => (
                        path.to_owned(),
                        resource_type.to_owned(),
                        element.to_owned(),
                    ),
                };
            if map.contains_key("code") && map.contains_key("system") && map["code"].is_string() {
                out.push(Found {
                    path: path.clone(),
                    resource_type: resource_type.clone(),
                    element: element.clone(),
                    coding: map,
                });
                return;
            }
            for (key, child) in map {
                if key == "resourceType" || key.starts_with('_') {
                    continue;
                }
                let child_path = format!("{path}.{key}");
                let child_element = if element.is_empty() {
                    key.clone()
                } else {
                    format!("{element}.{key}")
                };
                walk(
                    child,
                    &child_path,
                    &resource_type,
                    &child_element,
                    out,
                    depth + 1,
                );
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(
                    item,
                    &format!("{path}[{i}]"),
                    resource_type,
                    element,
                    out,
                    depth + 1,
                );
            }
        }
        _ => {}
    }
}

/// The element a coding belongs to, for the bindings: `code.coding` → `code`.
fn bound_element(element: &str) -> &str {
    element.strip_suffix(".coding").unwrap_or(element)
}

/// The value set of a binding that includes `system`, if the element is bound.
fn binding_scope(
    resource_type: &str,
    element: &str,
    system: &str,
) -> Option<(Scope, &'static str)> {
    let resolved = super::canon::resolve(system)?;
    BINDINGS
        .iter()
        .filter(|(rt, el, _, _)| *rt == resource_type && *el == bound_element(element))
        .flat_map(|(_, _, sets, strength)| sets.iter().map(move |s| (*s, *strength)))
        .filter_map(|(url, strength)| {
            valueset::resolve(url, None, &super::params::Params::default()).map(|s| (s, strength))
        })
        .find(|(scope, _)| {
            scope.include.iter().any(|i| {
                i.system
                    .as_deref()
                    .and_then(super::canon::resolve)
                    .is_some_and(|r| r.system.key == resolved.system.key)
            })
        })
}

fn text(coding: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    coding.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Checks every coding of `document`; the answer is one OperationOutcome.
pub fn run(ctx: &Context, document: &Value) -> Result<OperationOutcome, FhirError> {
    if document
        .get("resourceType")
        .and_then(Value::as_str)
        .is_none()
    {
        return Err(FhirError::Invalid(
            "$check-codes takes a FHIR resource or Bundle (a JSON object with resourceType)".into(),
        ));
    }
    let mut found = Vec::new();
    walk(document, "", "", "", &mut found, 0);
    let max = ctx.state.config.limits.validate_items;
    if found.len() as u64 > max {
        return Err(FhirError::Invalid(format!(
            "the document has {} codings: at most {} per request ({})",
            group_digits(found.len() as u64),
            group_digits(max),
            Limit::ValidateItems.env()
        )));
    }
    let options = Options::default();
    // Every coding's status read at once (one pass per system and version).
    let codings = found.iter().filter_map(|f| {
        let get = |key| f.coding.get(key).and_then(Value::as_str);
        Some((get("system")?, get("version"), get("code")?))
    });
    super::codes::prefetch_codings(ctx, codings, options.date)?;
    let mut issues = Vec::new();
    for f in &found {
        let system = text(f.coding, "system").unwrap_or_default();
        let code = text(f.coding, "code").unwrap_or_default();
        let at = At::Path(f.path.clone());
        if super::canon::resolve(&system).is_none() {
            let mistyped = JP_NAMESPACES.iter().any(|ns| system.starts_with(ns));
            let severity = if mistyped {
                Severity::Error
            } else {
                Severity::Information
            };
            issues.push(
                Issue::new(
                    severity,
                    if mistyped {
                        "not-found"
                    } else {
                        "informational"
                    },
                    messages::text(ctx.lang, "UNKNOWN_CODESYSTEM", &[&system]),
                )
                .tx_type("not-found")
                .message_id("UNKNOWN_CODESYSTEM")
                .at(at.of("system")),
            );
            continue;
        }
        let asked = Asked {
            system: Some(system.clone()),
            version: text(f.coding, "version"),
            code: Some(code.clone()),
            display: text(f.coding, "display"),
        };
        let bound = binding_scope(&f.resource_type, &f.element, &system);
        let verdict = check::coding(ctx, asked, &at, bound.as_ref().map(|(s, _)| s), &options)?;
        let tx_type = |i: &Issue, t: &str| {
            i.details
                .as_ref()
                .is_some_and(|d| d.coding.iter().any(|c| c.code == t))
        };
        // An unknown code is not in any value set either: one issue says it.
        let unknown = verdict.issues.iter().any(|i| tx_type(i, "invalid-code"));
        for mut issue in verdict.issues {
            if unknown && tx_type(&issue, "not-in-vs") {
                continue;
            }
            // A preferred binding's value set only advises.
            if bound
                .as_ref()
                .is_some_and(|(_, strength)| *strength != "required")
                && issue.is_error()
                && tx_type(&issue, "not-in-vs")
            {
                issue.severity = Severity::Warning;
            }
            issues.push(issue);
        }
        if verdict.valid {
            let display = verdict.display.unwrap_or_default();
            let version = verdict.version.unwrap_or_default();
            issues.push(
                Issue::new(
                    Severity::Information,
                    "informational",
                    messages::text(
                        ctx.lang,
                        "HYOJUN_CODING_VALID",
                        &[&system, &code, &display, &version],
                    ),
                )
                .message_id("HYOJUN_CODING_VALID")
                .at(at.of("")),
            );
        }
    }
    issues.extend(unbound_elements(ctx, &found));
    Ok(OperationOutcome::new(issues))
}

/// The bound elements none of whose codings is of a system their value sets include: the
/// element is not coded from its JP Core value set (an error for a required binding, a
/// warning for a preferred one).
fn unbound_elements(ctx: &Context, found: &[Found<'_>]) -> Vec<Issue> {
    // Codings by element (the path before `.coding[i]`), in document order.
    let mut elements: Vec<(&str, &str, &str, Vec<String>)> = Vec::new();
    for f in found {
        let Some((element_path, _)) = f.path.rsplit_once(".coding[") else {
            continue;
        };
        let system = text(f.coding, "system").unwrap_or_default();
        match elements.iter_mut().find(|e| e.0 == element_path) {
            Some(e) => e.3.push(system),
            None => elements.push((element_path, &f.resource_type, &f.element, vec![system])),
        }
    }
    let mut issues = Vec::new();
    for (path, resource_type, element, systems) in elements {
        let Some((_, _, sets, strength)) = BINDINGS
            .iter()
            .find(|(rt, el, _, _)| *rt == resource_type && *el == bound_element(element))
        else {
            continue;
        };
        if systems
            .iter()
            .any(|s| binding_scope(resource_type, element, s).is_some())
        {
            continue;
        }
        let severity = if *strength == "required" {
            Severity::Error
        } else {
            Severity::Warning
        };
        issues.push(
            Issue::new(
                severity,
                "code-invalid",
                messages::text(
                    ctx.lang,
                    "TX_GENERAL_CC_ERROR_MESSAGE",
                    &[&sets.join("', '")],
                ),
            )
            .tx_type("not-in-vs")
            .message_id("TX_GENERAL_CC_ERROR_MESSAGE")
            .at(path.to_owned()),
        );
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codings_are_found_with_their_paths() {
        let bundle = json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Condition", "code": {"coding": [
                {"system": "http://medis.or.jp/CodeSystem/master-disease-keyNumber", "code": "20059596"},
                {"system": "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full", "code": "K297"}
            ]}}},
            {"resource": {"resourceType": "Observation", "code": {"coding": [{"system": "http://loinc.org", "code": "1-1"}]},
             "extension": [{"url": "x", "valueCoding": {"system": "urn:a", "code": "b"}}]}}
        ]});
        let mut found = Vec::new();
        walk(&bundle, "", "", "", &mut found, 0);
        let seen: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.resource_type.as_str(),
                    f.element.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "Bundle.entry[0].resource.code.coding[0]",
                    "Condition",
                    "code.coding"
                ),
                (
                    "Bundle.entry[0].resource.code.coding[1]",
                    "Condition",
                    "code.coding"
                ),
                (
                    "Bundle.entry[1].resource.code.coding[0]",
                    "Observation",
                    "code.coding"
                ),
                (
                    "Bundle.entry[1].resource.extension[0].valueCoding",
                    "Observation",
                    "extension.valueCoding"
                ),
            ]
        );
        assert_eq!(bound_element("code.coding"), "code");
    }
}
