//! CodeSystem and ValueSet resources, read by id and searched by `url` and `version`
//! (`../shared/docs/fhir-terminology.md` §3.12, §4.3): one CodeSystem per code system and
//! release of its master (`version` = the release label, `content: not-present` — the codes
//! are asked for with the operations), and the published JP Core / JP-CLINS ValueSets.

use serde_json::{json, Value};

use super::canon;
use super::error::FhirError;
use super::valueset;
use super::Context;
use crate::store::models::ReleaseState;
use crate::store::releases::ReleaseInfo;
use crate::systems::{self, CodeSystem, Master, CODE_SYSTEMS};

/// A FHIR id from parts: `[A-Za-z0-9.-]`, other characters as `-` (labels are
/// `[A-Za-z0-9._-]`), at most 64 characters.
fn fhir_id(parts: &[&str]) -> String {
    let joined = parts.join("-");
    joined
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect()
}

/// The id of the CodeSystem of `system` at release `label`.
pub fn code_system_id(system: &CodeSystem, label: &str) -> String {
    fhir_id(&[system.key, label])
}

/// The newest revision of every ready release, per master, oldest label first.
fn ready_releases(ctx: &Context, master: Option<Master>) -> Result<Vec<ReleaseInfo>, FhirError> {
    let mut out: Vec<ReleaseInfo> = Vec::new();
    for info in ctx.state.store.releases(master)? {
        if info.release.state != ReleaseState::Ready {
            continue;
        }
        out.retain(|o| {
            !(o.release.master == info.release.master && o.release.label == info.release.label)
        });
        out.push(info);
    }
    Ok(out)
}

/// Properties every code of hyojun's systems has in `$lookup`, and the codes of the other
/// systems of the same master it may carry.
fn properties(system: &CodeSystem) -> Vec<Value> {
    let mut props = vec![
        json!({"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status", "description": "active | retired (retired also when the master has marked or deleted it)", "type": "code"}),
        json!({"code": "inactive", "uri": "http://hl7.org/fhir/concept-properties#inactive", "description": "true for a retired code", "type": "boolean"}),
        json!({"code": "replacedBy", "description": "移行先: the code to use instead, when the master names one", "type": "Coding"}),
        json!({"code": "effectiveDate", "description": "the release's effective (or publication) date", "type": "dateTime"}),
    ];
    for other in systems::of_master(system.master).filter(|s| s.key != system.key) {
        props.push(json!({
            "code": other.key,
            "description": format!("{} carried by or carrying this code", other.name),
            "type": "Coding"
        }));
    }
    props
}

/// The CodeSystem resource of `system` at one release.
fn code_system(system: &'static CodeSystem, info: &ReleaseInfo) -> Value {
    let r = &info.release;
    let count = info
        .stats
        .iter()
        .find(|s| s.system_key == system.key)
        .map_or(0, |s| s.code_count);
    let identifiers: Vec<Value> = system
        .oids
        .iter()
        .map(|oid| json!({"system": "urn:ietf:rfc:3986", "value": oid}))
        .collect();
    let value_set = valueset::published()
        .iter()
        .find(|vs| {
            vs["compose"]["include"].as_array().is_some_and(|inc| {
                inc.len() == 1
                    && inc[0]["system"]
                        .as_str()
                        .and_then(canon::resolve)
                        .is_some_and(|r| r.system.key == system.key)
            })
        })
        .and_then(|vs| vs["url"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{}?fhir_vs", canon::url(system)));
    let mut cs = json!({
        "resourceType": "CodeSystem",
        "id": code_system_id(system, &r.label),
        "meta": {"versionId": r.revision.to_string()},
        "extension": [{
            "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-CodeSystem.versionAlgorithm[x]",
            "valueCoding": {"system": "http://hl7.org/fhir/version-algorithm", "code": canon::version_algorithm(system.master)}
        }],
        "url": canon::url(system),
        "version": r.label,
        "name": fhir_id(&[system.key]).replace(['-', '.'], "_"),
        "title": system.name,
        "status": "active",
        "experimental": false,
        "publisher": canon::publisher(system),
        "description": format!("{} ({}): {}; release {} of {} as imported into hyojun", system.name, system.master.name(), system.description, r.label, system.master.key()),
        "caseSensitive": true,
        "valueSet": value_set,
        "content": "not-present",
        "count": count,
        "property": properties(system),
        "language": "ja",
    });
    if let Some(obj) = cs.as_object_mut() {
        if !identifiers.is_empty() {
            obj.insert("identifier".into(), Value::Array(identifiers));
        }
        if let Some(date) = r.publication_date {
            obj.insert("date".into(), Value::String(date.to_string()));
        }
    }
    cs
}

/// Every CodeSystem resource matching `url` and `version` (either may be absent).
pub fn code_systems(
    ctx: &Context,
    url: Option<&str>,
    version: Option<&str>,
) -> Result<Vec<Value>, FhirError> {
    let wanted: Vec<&'static CodeSystem> = match url {
        Some(u) => canon::resolve(u)
            .map(|r| vec![r.system])
            .unwrap_or_default(),
        None => CODE_SYSTEMS.iter().collect(),
    };
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let releases = ready_releases(ctx, None)?;
    let mut out = Vec::new();
    for system in wanted {
        for info in releases
            .iter()
            .filter(|i| i.release.master == system.master.key())
        {
            let has_codes = info
                .stats
                .iter()
                .any(|s| s.system_key == system.key && s.code_count > 0);
            if has_codes && version.is_none_or(|v| v == info.release.label) {
                out.push(code_system(system, info));
            }
        }
    }
    Ok(out)
}

/// The CodeSystem with this id.
pub fn code_system_by_id(ctx: &Context, id: &str) -> Result<Option<Value>, FhirError> {
    Ok(code_systems(ctx, None, None)?
        .into_iter()
        .find(|cs| cs["id"].as_str() == Some(id)))
}

/// Every published ValueSet matching `url` and `version`.
pub fn value_sets(url: Option<&str>, version: Option<&str>) -> Vec<Value> {
    valueset::published()
        .iter()
        .filter(|vs| url.is_none_or(|u| vs["url"].as_str() == Some(u)))
        .filter(|vs| version.is_none_or(|v| vs["version"].as_str() == Some(v)))
        .cloned()
        .collect()
}

/// The published ValueSet with this id.
pub fn value_set_by_id(id: &str) -> Option<Value> {
    valueset::published()
        .iter()
        .find(|vs| vs["id"].as_str() == Some(id))
        .cloned()
}

/// A `searchset` Bundle of `resources`.
pub fn searchset(ctx: &Context, resource_type: &str, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let id = r["id"].as_str().unwrap_or("").to_owned();
            json!({
                "fullUrl": format!("{}/{resource_type}/{id}", ctx.base),
                "resource": r,
                "search": {"mode": "match"}
            })
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "link": [{"relation": "self", "url": format!("{}/{resource_type}", ctx.base)}],
        "entry": entries
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fhir_ids() {
        let hot9 = systems::by_key("hot9").expect("hot9");
        assert_eq!(code_system_id(hot9, "20260630"), "hot9-20260630");
        let receipt = systems::by_key("receipt_drug").expect("receipt_drug");
        assert_eq!(code_system_id(receipt, "5.18_a"), "receipt-drug-5.18-a");
    }
}
