//! The answer of `$expand`: the value set as defined (url, version, name, title, status …;
//! `compose` only with `includeDefinition=true`; for an implicit or inline value set what is
//! known of it) with its `expansion`: a random `urn:uuid:` identifier, the timestamp, `total`
//! (every code over all pages), `offset`, the parameters asked and used (`used-codesystem` =
//! `url|release` of each system expanded) and the page's codes with their display, status
//! and, when asked, designations. Displays are the masters' (Japanese) whatever
//! `displayLanguage` says: hyojun has no other.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use serde_json::{Map, Value};

use super::super::error::FhirError;
use super::super::lookup::DESIGNATION_USE;
use super::super::messages;
use super::super::params::{Out, OutParam};
use super::super::valueset::Scope;
use super::super::Context;
use super::compose::Composed;
use super::{Candidate, Options};
use crate::api::ApiError;
use crate::store::designations::Designations;

/// Marks an expansion that may leave out members (R4 core extension).
pub const UNCLOSED: &str = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed";
/// Why an expansion is unclosed (as tx.fhir.org words it).
pub const UNCLOSED_REASON: &str =
    "http://hl7.org/fhir/StructureDefinition/valueset-unclosed-reason";
/// Marks an expansion cut short because it is too costly (R4 core extension).
pub const TOO_COSTLY: &str = "http://hl7.org/fhir/StructureDefinition/valueset-toocostly";

/// The counts of an expansion.
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    /// Codes over all pages.
    pub total: u64,
    pub offset: u64,
    /// The page was cut to the limit (`_incomplete=true`).
    pub cut: bool,
}

/// `expansion.contains`.
#[derive(Debug, Serialize)]
struct Contains<'a> {
    system: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    inactive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    designation: Vec<Designation<'a>>,
}

/// `contains.designation`: a name of the code, `use` naming its kind in the master.
#[derive(Debug, Serialize)]
struct Designation<'a> {
    language: &'static str,
    #[serde(rename = "use")]
    kind: Use<'a>,
    value: &'a str,
}

#[derive(Debug, Serialize)]
struct Use<'a> {
    system: &'static str,
    code: &'a str,
}

/// A random (version 4) UUID as a lower-case `urn:uuid:`.
fn uuid_urn() -> Result<String, FhirError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| FhirError::Api(ApiError::Internal(e.to_string())))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    Ok(format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// The parameters the expansion was made with: those asked, then each system used.
fn parameters(options: &Options, composed: &Composed<'_>) -> Vec<OutParam> {
    let mut out = Vec::new();
    let mut flag = |name: &'static str, value: Option<bool>| {
        if let Some(v) = value {
            out.push(OutParam::value(name, Out::Boolean(v)));
        }
    };
    flag("activeOnly", options.active_only);
    flag("excludeNested", options.exclude_nested);
    flag("includeDesignations", options.include_designations);
    if let Some(count) = options.count {
        out.push(OutParam::value("count", Out::Integer(count as i64)));
    }
    if let Some(offset) = options.offset {
        out.push(OutParam::value("offset", Out::Integer(offset as i64)));
    }
    if let Some(filter) = &options.filter {
        out.push(OutParam::value("filter", Out::String(filter.clone())));
    }
    if let Some(language) = &options.display_language {
        out.push(OutParam::value(
            "displayLanguage",
            Out::Code(language.clone()),
        ));
    }
    if let Some(date) = &options.date {
        out.push(OutParam::value("date", Out::DateTime(date.clone())));
    }
    for (name, pairs) in [
        ("system-version", &options.check.system_version),
        ("force-system-version", &options.check.force_system_version),
        ("check-system-version", &options.check.check_system_version),
    ] {
        for (system, version) in pairs {
            out.push(OutParam::value(
                name,
                Out::Uri(format!("{system}|{version}")),
            ));
        }
    }
    for (system, version) in &options.exclude_system {
        let uri = match version {
            Some(v) => format!("{system}|{v}"),
            None => system.clone(),
        };
        out.push(OutParam::value("exclude-system", Out::Uri(uri)));
    }
    let mut used: Vec<String> = Vec::new();
    for part in &composed.parts {
        let uri = format!("{}|{}", part.url, part.release.label);
        if !used.contains(&uri) {
            used.push(uri);
        }
    }
    out.extend(
        used.into_iter()
            .map(|uri| OutParam::value("used-codesystem", Out::Uri(uri))),
    );
    out
}

/// The value set's own elements for the answer.
fn definition(scope: &Scope, options: &Options) -> Map<String, Value> {
    let mut resource = scope.resource.as_object().cloned().unwrap_or_default();
    resource.remove("text");
    resource.remove("expansion");
    if !options.include_definition {
        resource.remove("compose");
        resource.remove("contained");
    }
    resource.insert("resourceType".into(), Value::String("ValueSet".into()));
    // R4 requires a status; an inline value set without one is of unknown status.
    resource
        .entry("status")
        .or_insert_with(|| Value::String("unknown".into()));
    resource
}

/// The ValueSet with the expansion of `page`.
pub fn build(
    ctx: &Context,
    scope: &Scope,
    composed: &Composed<'_>,
    options: &Options,
    page: &[Candidate<'_>],
    totals: Totals,
) -> Result<Value, FhirError> {
    // The page's codes, part by part: display and status (the cache first), names.
    let mut by_part: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
    for (i, c) in page.iter().enumerate() {
        by_part.entry(c.part).or_default().push(i);
    }
    let mut shown: Vec<(Option<String>, Option<bool>)> = vec![(None, None); page.len()];
    let mut names: FxHashMap<(usize, &str), Designations> = FxHashMap::default();
    let designations = options.include_designations == Some(true);
    for (&part_index, indices) in &by_part {
        let part = &composed.parts[part_index];
        let codes: Vec<&str> = indices.iter().map(|&i| page[i].code).collect();
        let statuses = super::super::codes::statuses(ctx, &part.release, part.system, &codes)?;
        for (&i, status) in indices.iter().zip(statuses) {
            let status = status.filter(|s| s.present);
            shown[i] = (
                page[i]
                    .display
                    .map(str::to_owned)
                    .or_else(|| status.as_ref().and_then(|s| s.display().map(str::to_owned))),
                status.map(|s| !s.active),
            );
        }
        if designations {
            let found =
                ctx.state
                    .store
                    .code_designations(&part.release, part.system.key, &codes)?;
            for (code, list) in found {
                if let Some(&i) = indices.iter().find(|&&i| page[i].code == code) {
                    names.insert((part_index, page[i].code), list);
                }
            }
        }
    }
    // A system expanded at several releases names the release of each code.
    let mut releases_of: FxHashMap<&str, FxHashSet<crate::ids::ReleaseId>> = FxHashMap::default();
    for part in &composed.parts {
        releases_of
            .entry(part.system.key)
            .or_default()
            .insert(part.release.id);
    }
    let contains: Vec<Contains<'_>> = page
        .iter()
        .zip(shown)
        .map(|(c, (display, inactive))| {
            let part = &composed.parts[c.part];
            let several = releases_of
                .get(part.system.key)
                .is_some_and(|r| r.len() > 1);
            Contains {
                system: part.url,
                inactive: inactive.filter(|i| *i),
                version: several.then_some(part.release.label.as_str()),
                code: c.code,
                display,
                designation: names
                    .get(&(c.part, c.code))
                    .map(|list| {
                        list.iter()
                            .map(|(kind, value)| Designation {
                                language: "ja",
                                kind: Use {
                                    system: DESIGNATION_USE,
                                    code: kind,
                                },
                                value,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();

    let mut expansion = Map::new();
    let mut extensions = Vec::new();
    if !composed.missing.is_empty() {
        let named: Vec<String> = composed.missing.iter().map(|m| format!("'{m}'")).collect();
        extensions.push(serde_json::json!({"url": UNCLOSED, "valueBoolean": true}));
        extensions.push(serde_json::json!({
            "url": UNCLOSED_REASON,
            "valueString": messages::text(ctx.lang, "HYOJUN_EXPAND_UNCLOSED", &[&named.join(", ")])
        }));
    }
    if totals.cut {
        extensions.push(serde_json::json!({"url": TOO_COSTLY, "valueBoolean": true}));
    }
    if !extensions.is_empty() {
        expansion.insert("extension".into(), Value::Array(extensions));
    }
    expansion.insert("identifier".into(), Value::String(uuid_urn()?));
    expansion.insert(
        "timestamp".into(),
        Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    );
    expansion.insert("total".into(), Value::from(totals.total));
    expansion.insert("offset".into(), Value::from(totals.offset));
    let parameter = parameters(options, composed);
    if !parameter.is_empty() {
        expansion.insert("parameter".into(), to_json(&parameter)?);
    }
    if !contains.is_empty() {
        expansion.insert("contains".into(), to_json(&contains)?);
    }
    let mut resource = definition(scope, options);
    resource.insert("expansion".into(), Value::Object(expansion));
    Ok(Value::Object(resource))
}

fn to_json(value: &impl Serialize) -> Result<Value, FhirError> {
    serde_json::to_value(value).map_err(|e| FhirError::Api(ApiError::Internal(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_lower_case_v4_uuids() {
        let a = uuid_urn().expect("uuid");
        let b = uuid_urn().expect("uuid");
        assert_ne!(a, b);
        let hex = a.strip_prefix("urn:uuid:").expect("urn");
        let groups: Vec<&str> = hex.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(hex
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert!(groups[2].starts_with('4'), "{a}");
        assert!(
            matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{a}"
        );
    }
}
