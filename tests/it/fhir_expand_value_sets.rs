//! `ValueSet/$expand` of the published JP Core value sets on real HOT9 releases, on SQLite
//! and PostgreSQL: a value set's definition with its expansion, YJ codes found through the
//! HOT9 rows that carry them, and JP_MedicationCode_VS, which includes 一般名処方 (a system
//! hyojun does not hold): 422, or with `_incomplete` an expansion marked unclosed. Every body
//! passes the FHIR R4 validator harness.

use actix_web::test::init_service;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};

use crate::api::keys;
use crate::fhir_support::{
    codes, fhir, implicit, issue, parameters, real_hot9, save, validate_saved, EXPAND,
    GENERAL_NAMES, HOT9, HOT9_VS, YJ,
};
use crate::support::databases;

#[actix_web::test]
async fn expand_published_value_sets_and_systems_not_held() {
    let dir = tempfile::tempdir().expect("tmp");
    let saved = tempfile::tempdir().expect("tmp");
    for db in databases("fhir_expand_published") {
        real_hot9(&db, dir.path());
        let key = keys(&db).reader;
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let url = implicit();
        let total = |vs: &Value| vs["expansion"]["total"].as_u64().expect("total");
        let (_, tablets) = fhir(
            &service,
            EXPAND,
            &[("url", &url), ("filter", "錠"), ("count", "1")],
            None,
            &key,
        )
        .await;

        // The published JP Core value set of HOT9: its definition, codes as the implicit one.
        let (status, jp) = fhir(
            &service,
            EXPAND,
            &[("url", HOT9_VS), ("filter", "錠"), ("count", "20")],
            None,
            &key,
        )
        .await;
        assert_eq!(status, 200, "{jp}");
        assert_eq!(
            (&jp["url"], &jp["name"], &jp["status"]),
            (
                &json!(HOT9_VS),
                &json!("JP_MedicationCodeHOT9_VS"),
                &json!("active")
            )
        );
        assert_eq!(jp["version"], "1.1.0a");
        assert_eq!(
            parameters(&jp, "used-codesystem"),
            [json!(format!("{HOT9}|20030228"))]
        );
        assert_eq!(total(&jp), total(&tablets));
        let (_, implicit20) = fhir(
            &service,
            EXPAND,
            &[("url", &url), ("filter", "錠"), ("count", "20")],
            None,
            &key,
        )
        .await;
        assert_eq!(codes(&jp), codes(&implicit20));
        let ident = jp["expansion"]["identifier"].as_str().expect("identifier");
        assert!(
            ident.starts_with("urn:uuid:") && ident == ident.to_lowercase(),
            "{ident}"
        );
        assert_ne!(
            jp["expansion"]["identifier"],
            implicit20["expansion"]["identifier"]
        );
        assert!(jp["expansion"]["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')));
        save(saved.path(), &format!("{}-jp-core-hot9", db.name), &jp);

        // YJ codes are only carried (by HOT9 rows): found through the rows that carry them.
        let (status, yj) = fhir(
            &service,
            EXPAND,
            &[
                (
                    "url",
                    "http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCodeYJ_VS",
                ),
                ("filter", "錠"),
                ("count", "5"),
            ],
            None,
            &key,
        )
        .await;
        assert_eq!(status, 200, "{yj}");
        assert!(total(&yj) > 100, "{yj}");
        for item in yj["expansion"]["contains"].as_array().expect("contains") {
            assert_eq!(item["system"], YJ);
            let (_, valid) = fhir(
                &service,
                "/fhir/ValueSet/$validate-code",
                &[
                    (
                        "url",
                        "http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCodeYJ_VS",
                    ),
                    ("system", YJ),
                    ("code", item["code"].as_str().expect("code")),
                ],
                None,
                &key,
            )
            .await;
            assert_eq!(
                valid["parameter"]
                    .as_array()
                    .expect("p")
                    .iter()
                    .find(|p| p["name"] == "result")
                    .map(|p| &p["valueBoolean"]),
                Some(&json!(true)),
                "{valid}"
            );
            assert_eq!(
                item["display"],
                valid["parameter"]
                    .as_array()
                    .expect("p")
                    .iter()
                    .find(|p| p["name"] == "display")
                    .map(|p| p["valueString"].clone())
                    .unwrap_or(Value::Null)
            );
        }

        // JP_MedicationCode_VS includes 一般名処方, which hyojun does not hold: 422, unless an
        // incomplete expansion is acceptable; then it is marked unclosed.
        let all_drugs = "http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCode_VS";
        let (status, outcome) = fhir(
            &service,
            EXPAND,
            &[("url", all_drugs), ("filter", "錠"), ("count", "5")],
            None,
            &key,
        )
        .await;
        assert_eq!(status, 422, "{outcome}");
        assert_eq!(
            issue(&outcome),
            ("not-found".into(), "UNKNOWN_CODESYSTEM_EXP".into(),
             format!("A definition for CodeSystem '{GENERAL_NAMES}' could not be found, so the value set cannot be expanded"))
        );
        save(
            saved.path(),
            &format!("{}-unknown-system", db.name),
            &outcome,
        );
        let (status, partial) = fhir(
            &service,
            EXPAND,
            &[
                ("url", all_drugs),
                ("filter", "錠"),
                ("count", "5"),
                ("_incomplete", "true"),
            ],
            None,
            &key,
        )
        .await;
        assert_eq!(status, 200, "{partial}");
        let ext = partial["expansion"]["extension"]
            .as_array()
            .expect("extensions");
        assert_eq!(
            ext[0],
            json!({"url": "http://hl7.org/fhir/StructureDefinition/valueset-unclosed", "valueBoolean": true})
        );
        assert!(
            ext[1]["valueString"]
                .as_str()
                .is_some_and(|t| t.contains(GENERAL_NAMES)),
            "{partial}"
        );
        let used: Vec<Value> = parameters(&partial, "used-codesystem");
        for system in ["master-HOT13", "master-HOT7", "master-HOT9"] {
            assert!(
                used.contains(&json!(format!(
                    "http://medis.or.jp/CodeSystem/{system}|20030228"
                ))),
                "{used:?}"
            );
        }
        assert!(used.contains(&json!(format!("{YJ}|20030228"))));
        assert!(
            total(&partial) > total(&tablets) + total(&yj) - 1,
            "{partial}"
        );
        save(saved.path(), &format!("{}-unclosed", db.name), &partial);
    }
    validate_saved(saved.path());
}
