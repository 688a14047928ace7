//! `ValueSet/$expand` on real HOT9 releases, on SQLite and PostgreSQL: the too-costly answer
//! (and `_incomplete`), value sets that cannot be found, what is not evaluated yet, unknown
//! releases and malformed parameters; every kind of body passes the FHIR R4 validator harness.

use actix_web::test::init_service;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};

use crate::api::{call, keys};
use crate::fhir_support::{
    codes, enc, fhir, implicit, issue, real_hot9, save, validate_saved, EXPAND, HOT9, HOT9_VS,
};
use crate::support::databases;

#[actix_web::test]
async fn expand_too_costly_and_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let saved = tempfile::tempdir().expect("tmp");
    for db in databases("fhir_expand_errors") {
        let real = real_hot9(&db, dir.path());
        let key = keys(&db).reader;
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let url = implicit();
        assert!(real.codes.len() > 10_000);

        // Every HOT9 code without count is more than one answer lists; a count over the
        // limit too; paging with count is allowed.
        for asked in [
            vec![("url", url.as_str())],
            vec![("url", url.as_str()), ("count", "10001")],
            vec![("url", HOT9_VS)],
        ] {
            let (status, outcome) = fhir(&service, EXPAND, &asked, None, &key).await;
            assert_eq!(status, 422, "{asked:?}: {outcome}");
            let reference = if asked[0].1 == HOT9_VS {
                format!("{HOT9_VS}|1.1.0a")
            } else {
                url.clone()
            };
            assert_eq!(
                issue(&outcome),
                ("too-costly".into(), "VALUESET_TOO_COSTLY".into(),
                 format!("The value set '{reference}' expansion has too many codes to produce (>10000)"))
            );
            assert!(outcome["issue"][0]["diagnostics"]
                .as_str()
                .is_some_and(|d| d.contains(&real.codes.len().to_string())));
            save(saved.path(), &format!("{}-too-costly", db.name), &outcome);
        }
        let (status, vs) = fhir(
            &service,
            EXPAND,
            &[("url", &url), ("count", "10"), ("offset", "10000")],
            None,
            &key,
        )
        .await;
        assert_eq!(status, 200, "{vs}");
        assert_eq!(codes(&vs), real.codes[10000..10010]);
        // _incomplete: cut to the limit (here lowered by _limit), marked too costly.
        let (status, cut) = fhir(
            &service,
            EXPAND,
            &[("url", &url), ("_incomplete", "true"), ("_limit", "100")],
            None,
            &key,
        )
        .await;
        assert_eq!(status, 200, "{cut}");
        assert_eq!(codes(&cut), real.codes[..100]);
        assert_eq!(
            cut["expansion"]["total"].as_u64(),
            Some(real.codes.len() as u64)
        );
        assert_eq!(
            cut["expansion"]["extension"],
            json!([{"url": "http://hl7.org/fhir/StructureDefinition/valueset-toocostly", "valueBoolean": true}])
        );
        save(saved.path(), &format!("{}-cut", db.name), &cut);

        // Value sets that cannot be found: 404.
        for (asked, reference) in [
            (
                vec![("url", "http://example.org/ValueSet/none")],
                "http://example.org/ValueSet/none".to_owned(),
            ),
            (
                vec![("url", HOT9_VS), ("valueSetVersion", "9.9")],
                format!("{HOT9_VS}|9.9"),
            ),
            (
                vec![("url", "http://example.org/cs?fhir_vs")],
                "http://example.org/cs?fhir_vs".to_owned(),
            ),
        ] {
            let (status, outcome) = fhir(&service, EXPAND, &asked, None, &key).await;
            assert_eq!(status, 404, "{outcome}");
            assert_eq!(
                issue(&outcome),
                (
                    "not-found".into(),
                    "Unable_to_resolve_value_Set_".into(),
                    format!("A definition for the value Set '{reference}' could not be found")
                )
            );
            save(saved.path(), &format!("{}-not-found", db.name), &outcome);
        }

        // Filters and imports are not evaluated yet: 422 naming them.
        let inline = |include: Value| {
            json!({"resourceType": "Parameters", "parameter": [
                {"name": "valueSet", "resource": {"resourceType": "ValueSet", "url": "http://example.org/ValueSet/f", "status": "active", "compose": {"include": [include]}}}
            ]})
        };
        let (status, outcome) = fhir(&service, EXPAND, &[], Some(inline(json!({"system": HOT9, "filter": [{"property": "category", "op": "=", "value": "内"}]}))), &key).await;
        assert_eq!(status, 422, "{outcome}");
        assert_eq!(
            issue(&outcome),
            ("not-supported".into(), "HYOJUN_EXPAND_FILTER".into(),
             format!("The value set 'http://example.org/ValueSet/f' filters the CodeSystem '{HOT9}' (category = 内): filters on hyojun's code systems are not evaluated yet, so the value set cannot be expanded"))
        );
        save(saved.path(), &format!("{}-filter", db.name), &outcome);
        let (status, outcome) = fhir(
            &service,
            EXPAND,
            &[],
            Some(inline(json!({"valueSet": [HOT9_VS]}))),
            &key,
        )
        .await;
        assert_eq!(status, 422, "{outcome}");
        assert_eq!(issue(&outcome).1, "HYOJUN_EXPAND_IMPORT");

        // A release the system does not have: 422 naming the valid ones.
        let (status, outcome) = fhir(
            &service,
            EXPAND,
            &[
                ("url", &url),
                ("filter", "錠"),
                ("system-version", &format!("{HOT9}|19990101")),
            ],
            None,
            &key,
        )
        .await;
        assert_eq!(status, 422, "{outcome}");
        assert_eq!(
            issue(&outcome),
            ("not-found".into(), "UNKNOWN_CODESYSTEM_VERSION_EXP".into(),
             format!("A definition for CodeSystem '{HOT9}' version '19990101' could not be found, so the value set cannot be expanded. Valid versions: 20030124 or 20030228"))
        );

        // Malformed parameters: 400.
        let long = "錠".repeat(201);
        for asked in [
            vec![("filter", "錠")],
            vec![("url", url.as_str()), ("count", "-1")],
            vec![("url", url.as_str()), ("offset", "x")],
            vec![("url", url.as_str()), ("activeOnly", "yes")],
            vec![("url", url.as_str()), ("filter", long.as_str())],
            vec![("url", url.as_str()), ("date", "2003-02-30")],
        ] {
            let (status, outcome) = fhir(&service, EXPAND, &asked, None, &key).await;
            assert_eq!(status, 400, "{asked:?}: {outcome}");
            assert_eq!(outcome["issue"][0]["code"], "invalid", "{outcome}");
            save(saved.path(), &format!("{}-invalid", db.name), &outcome);
        }
        // No key: 401 as an OperationOutcome.
        let (status, _) = call(
            &service,
            "GET",
            &format!("{EXPAND}?url={}", enc(&url)),
            None,
            None,
        )
        .await;
        assert_eq!(status, 401);
    }
    validate_saved(saved.path());
}
