//! Value sets over hyojun's code systems: the JP Core / JP-CLINS ValueSets bound to them
//! (`valuesets.json`, faithful copies of their `compose`), the implicit value set
//! `{system}?fhir_vs` of every system, a `valueSet` sent inline and the ValueSets a request
//! supplies as `tx-resource`. A value set is read into a [`Scope`]: what it includes and
//! excludes, system by system, which the operations evaluate against hyojun's own releases.
//!
//! Supplied CodeSystems never change what a system hyojun holds answers (the masters are
//! authoritative); filters on hyojun's systems and value sets over systems it does not hold
//! are evaluated by the general engine (issue 14): until then such an include is reported.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::canon;
use super::error::FhirError;
use super::messages::{self, Lang};
use super::outcome::{Issue, Severity};
use super::params::Params;

/// The JP Core / JP-CLINS ValueSets over hyojun's systems, as published.
pub fn published() -> &'static [Value] {
    static SETS: OnceLock<Vec<Value>> = OnceLock::new();
    SETS.get_or_init(|| {
        serde_json::from_str(include_str!("valuesets.json"))
            .expect("src/fhir/valuesets.json is a JSON array of ValueSets (checked by a test)")
    })
}

/// A `compose.include` or `compose.exclude` as the operations need it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Part {
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub concept: Vec<PartConcept>,
    #[serde(default)]
    pub filter: Vec<Value>,
    #[serde(default, rename = "valueSet")]
    pub value_set: Vec<String>,
}

/// One `include.concept`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PartConcept {
    pub code: String,
    #[serde(default)]
    pub display: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Compose {
    #[serde(default)]
    include: Vec<Part>,
    #[serde(default)]
    exclude: Vec<Part>,
    #[serde(default, rename = "inactive")]
    inactive: Option<bool>,
}

/// A value set read for evaluation.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Its canonical URL (empty for an inline value set without one).
    pub url: String,
    pub version: Option<String>,
    pub include: Vec<Part>,
    pub exclude: Vec<Part>,
    /// `compose.inactive`: whether inactive codes are members (default: yes).
    pub inactive: bool,
    /// The resource itself (for `$expand`'s answer).
    pub resource: Value,
}

impl Scope {
    /// `url|version` as messages name the value set.
    pub fn reference(&self) -> String {
        match &self.version {
            Some(v) => format!("{}|{v}", self.url),
            None => self.url.clone(),
        }
    }

    /// Reads a ValueSet resource.
    pub fn from_resource(resource: &Value) -> Result<Scope, FhirError> {
        if resource.get("resourceType").and_then(Value::as_str) != Some("ValueSet") {
            return Err(FhirError::Invalid(
                "the valueSet parameter must carry a ValueSet resource".into(),
            ));
        }
        let compose: Compose = match resource.get("compose") {
            Some(c) => serde_json::from_value(c.clone()).map_err(|e| {
                FhirError::Invalid(format!(
                    "ValueSet.compose: {}",
                    crate::excerpt::excerpt(&e.to_string())
                ))
            })?,
            None => Compose::default(),
        };
        Ok(Scope {
            url: resource
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            version: resource
                .get("version")
                .and_then(Value::as_str)
                .map(str::to_owned),
            include: compose.include,
            exclude: compose.exclude,
            inactive: compose.inactive.unwrap_or(true),
            resource: resource.clone(),
        })
    }

    /// The implicit value set of every code of a system (`{url}?fhir_vs`).
    pub fn whole_system(system_url: &str) -> Scope {
        let url = format!("{system_url}?fhir_vs");
        Scope {
            resource: serde_json::json!({
                "resourceType": "ValueSet",
                "url": url,
                "status": "active",
                "compose": {"include": [{"system": system_url}]}
            }),
            url,
            version: None,
            include: vec![Part {
                system: Some(system_url.to_owned()),
                ..Part::default()
            }],
            exclude: Vec::new(),
            inactive: true,
        }
    }
}

/// The ValueSets a request supplies as `tx-resource`.
pub fn supplied(params: &Params) -> Vec<&Value> {
    params
        .all("tx-resource")
        .filter_map(|p| p.resource())
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("ValueSet"))
        .collect()
}

/// The value set a canonical reference (`url` or `url|version`) names: supplied with the
/// request first, then the published ones, then an implicit `?fhir_vs` value set of one of
/// hyojun's systems. `None` when nothing matches.
pub fn resolve(reference: &str, version: Option<&str>, params: &Params) -> Option<Scope> {
    let (url, pinned) = match reference.split_once('|') {
        Some((u, v)) => (u, Some(v)),
        None => (reference, None),
    };
    let version = pinned.or(version);
    let matches = |r: &&Value| {
        r.get("url").and_then(Value::as_str) == Some(url)
            && version.is_none_or(|v| r.get("version").and_then(Value::as_str) == Some(v))
    };
    if let Some(found) = supplied(params).into_iter().find(matches) {
        return Scope::from_resource(found).ok();
    }
    if let Some(found) = published().iter().find(matches) {
        return Scope::from_resource(found).ok();
    }
    let system = url.strip_suffix("?fhir_vs")?;
    let resolved = canon::resolve(system)?;
    Some(Scope::whole_system(resolved.url()))
}

/// The answer for a value set that cannot be found: 404 with `Unable_to_resolve_value_Set_`.
pub fn not_found(lang: Lang, reference: &str) -> FhirError {
    let text = messages::text(lang, "Unable_to_resolve_value_Set_", &[&reference]);
    FhirError::issue(
        actix_web::http::StatusCode::NOT_FOUND,
        Issue::new(Severity::Error, "not-found", text)
            .tx_type("not-found")
            .message_id("Unable_to_resolve_value_Set_"),
    )
}

/// The value set an operation is asked about: `valueSet` (inline) or `url` (+
/// `valueSetVersion`); `Ok(None)` when neither is given.
pub fn of_request(params: &Params, lang: Lang) -> Result<Option<Scope>, FhirError> {
    if let Some(inline) = params.get("valueSet").and_then(|p| p.resource()) {
        return Scope::from_resource(inline).map(Some);
    }
    let Some(url) = params.text_of(&["url", "valueSetUrl"]) else {
        return Ok(None);
    };
    let version = params.text("valueSetVersion");
    resolve(&url, version.as_deref(), params)
        .map(Some)
        .ok_or_else(|| {
            let reference = match &version {
                Some(v) => format!("{url}|{v}"),
                None => url.clone(),
            };
            not_found(lang, &reference)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_value_sets_are_valid_and_over_hyojun_systems() {
        let sets = published();
        assert!(!sets.is_empty());
        let mut urls = std::collections::HashSet::new();
        for set in sets {
            let scope = Scope::from_resource(set).expect("a ValueSet");
            assert!(!scope.url.is_empty() && scope.version.is_some(), "{set}");
            assert!(
                urls.insert(scope.reference()),
                "{} twice",
                scope.reference()
            );
            assert!(!scope.include.is_empty(), "{}", scope.url);
            // Each includes at least one of hyojun's systems.
            assert!(
                scope
                    .include
                    .iter()
                    .filter_map(|i| i.system.as_deref())
                    .any(|s| canon::resolve(s).is_some()),
                "{} includes none of hyojun's systems",
                scope.url
            );
        }
    }

    #[test]
    fn references_resolve_to_supplied_published_and_implicit_value_sets() {
        let params = Params::default();
        let implicit = resolve(
            "http://medis.or.jp/CodeSystem/master-HOT9?fhir_vs",
            None,
            &params,
        )
        .expect("implicit");
        assert_eq!(
            implicit.include[0].system.as_deref(),
            Some("http://medis.or.jp/CodeSystem/master-HOT9")
        );
        assert!(resolve("http://loinc.org?fhir_vs", None, &params).is_none());
        assert!(resolve("http://example.org/ValueSet/none", None, &params).is_none());
    }
}
