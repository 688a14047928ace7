//! The handshake (`../shared/docs/fhir-terminology.md` §2.1, §3.1–3.3): `GET /fhir/metadata`
//! (CapabilityStatement), `GET /fhir/metadata?mode=terminology` (TerminologyCapabilities:
//! every code system with every release label) and `GET /fhir/$versions`. They answer
//! without a key: clients read them before they authenticate.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::canon;
use super::error::FhirError;
use super::route::{Operation, OPERATIONS};
use crate::api::AppState;
use crate::store::models::ReleaseState;
use crate::systems::{Master, CODE_SYSTEMS};

/// The FHIR version served.
pub const FHIR_VERSION: &str = "4.0.1";
/// The version of the HL7 tx-ecosystem test cases hyojun is tested with
/// (`../shared/fhir-tx-tests`, IG 1.9.3).
pub const TX_TESTS_VERSION: &str = "1.9.3";
/// When this version of hyojun was released (`CapabilityStatement.software.releaseDate`);
/// changes with the package version.
pub const RELEASE_DATE: &str = "2026-12-05";

const FEATURE: &str = "http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature";

/// `software.version`: the package version and the store's generation, so that a client
/// caching the capabilities (the HL7 validator does, until this changes) sees new releases
/// and activations.
fn software_version(state: &AppState) -> String {
    let generation = state
        .cache
        .seen_generation()
        .or_else(|| state.store.generation().ok())
        .unwrap_or(0);
    format!("{}-{generation}", env!("CARGO_PKG_VERSION"))
}

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// One `rest.resource` or `rest.operation` entry per operation served.
fn operations_of(resource: Option<&str>) -> Vec<Value> {
    OPERATIONS
        .iter()
        .filter(|op: &&Operation| op.resource == resource)
        .map(|op| json!({"name": op.name, "definition": op.definition}))
        .collect()
}

/// `GET /fhir/metadata`: what the server does.
pub fn capability_statement(state: &AppState, base: &str) -> Value {
    let version = software_version(state);
    let mut resources: Vec<Value> = ["CodeSystem", "ValueSet", "ConceptMap"]
        .into_iter()
        .map(|r| {
            let mut resource = json!({
                "type": r,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [
                    {"name": "url", "type": "uri"},
                    {"name": "version", "type": "token"}
                ]
            });
            let ops = operations_of(Some(r));
            if !ops.is_empty() {
                resource["operation"] = Value::Array(ops);
            }
            resource
        })
        .collect();
    // hyojun's own operation on documents.
    resources.push(json!({"type": "Bundle", "operation": operations_of(Some("Bundle"))}));
    json!({
        "resourceType": "CapabilityStatement",
        "extension": [
            {"url": FEATURE, "extension": [
                {"url": "definition", "valueCanonical": "http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version"},
                {"url": "value", "valueCode": TX_TESTS_VERSION}
            ]},
            // Supplied CodeSystems (tx-resource) of systems hyojun does not hold are not
            // evaluated yet: claimed once they are (issue 14).
            {"url": FEATURE, "extension": [
                {"url": "definition", "valueCanonical": "http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter"},
                {"url": "value", "valueBoolean": false}
            ]}
        ],
        "url": format!("{base}/CapabilityStatement/hyojun"),
        "version": version,
        "name": "hyojun",
        "title": "hyojun (標準): FHIR terminology service for the Japanese standard masters",
        "status": "active",
        "experimental": false,
        "date": today(),
        "publisher": "hyojun",
        "description": "HOT, ICD10対応標準病名, JLAC10/JLAC11 and 看護実践用語 masters, every release kept; the default version of each code system is its activated release.",
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/CapabilityStatement/terminology-server"],
        "software": {
            "name": "hyojun",
            "version": version,
            "releaseDate": RELEASE_DATE
        },
        "implementation": {
            "description": "hyojun FHIR R4 terminology endpoint",
            "url": base
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "service": [{"text": "API key: `Authorization: Bearer <key>` or `Api-Key: <key>` (reader role); metadata and $versions need none"}]
            },
            "resource": resources,
            "operation": operations_of(None)
        }]
    })
}

/// The release labels of every master that has imported releases: label → whether it is
/// the activated one, oldest first.
fn release_labels(state: &AppState) -> Result<BTreeMap<Master, Vec<(String, bool)>>, FhirError> {
    let mut labels: BTreeMap<Master, Vec<(String, bool)>> = BTreeMap::new();
    for info in state.store.releases(None)? {
        let r = &info.release;
        if r.state != ReleaseState::Ready {
            continue;
        }
        let Ok(master) = r.master.parse::<Master>() else {
            continue;
        };
        let list = labels.entry(master).or_default();
        match list.iter_mut().find(|(l, _)| *l == r.label) {
            Some(entry) => entry.1 |= info.current,
            None => list.push((r.label.clone(), info.current)),
        }
    }
    Ok(labels)
}

/// `GET /fhir/metadata?mode=terminology`: every code system (by canonical URL) with every
/// release label of its master as a version; `isDefault` marks the activated release.
pub fn terminology_capabilities(state: &AppState, base: &str) -> Result<Value, FhirError> {
    let labels = release_labels(state)?;
    let code_systems: Vec<Value> = CODE_SYSTEMS
        .iter()
        .filter_map(|s| {
            let versions = labels.get(&s.master)?;
            let version: Vec<Value> = versions
                .iter()
                .map(|(label, current)| {
                    let mut v = json!({"code": label});
                    if *current {
                        v["isDefault"] = Value::Bool(true);
                    }
                    v
                })
                .collect();
            Some(json!({"uri": canon::url(s), "version": version}))
        })
        .collect();
    let parameters: Vec<Value> = [
        "activeOnly",
        "check-system-version",
        "count",
        "displayLanguage",
        "excludeNested",
        "force-system-version",
        "includeDefinition",
        "includeDesignations",
        "offset",
        "property",
        "system-version",
        "tx-resource",
    ]
    .into_iter()
    .map(|name| json!({"name": name}))
    .collect();
    Ok(json!({
        "resourceType": "TerminologyCapabilities",
        "url": format!("{base}/TerminologyCapabilities/hyojun"),
        "version": software_version(state),
        "name": "hyojun",
        "title": "hyojun (標準) terminology capabilities",
        "status": "active",
        "experimental": false,
        "date": today(),
        "kind": "instance",
        "software": {"name": "hyojun", "version": software_version(state)},
        "implementation": {"description": "hyojun FHIR R4 terminology endpoint", "url": base},
        "codeSystem": code_systems,
        "expansion": {"hierarchical": false, "paging": true, "parameter": parameters},
        "codeSearch": "all",
        "validateCode": {"translations": false},
        "translation": {"needsMap": true}
    }))
}

/// `GET /fhir/$versions`: the FHIR versions served (R4 only).
pub fn versions() -> Value {
    json!({
        "resourceType": "Parameters",
        "parameter": [
            {"name": "version", "valueString": "4.0"},
            {"name": "default", "valueString": "4.0"}
        ]
    })
}
