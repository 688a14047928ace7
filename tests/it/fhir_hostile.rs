//! Hostile and malformed input on the FHIR endpoint and `hyojun check-codes`, on SQLite and
//! PostgreSQL: bodies over the size and depth limits, bytes that are not UTF-8 or not JSON,
//! batches and documents over the item limit, batch items of every wrong shape. Each gets a
//! 4xx OperationOutcome that names the problem (and the limit), never a 500, and the same
//! answer on both backends.

use actix_web::test;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};

use crate::api::keys;
use crate::fhir::{load, HOT9};
use crate::fhir_support::fhir_bytes;
use crate::support::{databases, hyojun};

const BATCH: &str = "/fhir/ValueSet/$batch-validate-code";

/// POSTs raw bytes; returns the status and the OperationOutcome's first issue text (or the
/// whole body when it is not one).
async fn post<S, B>(service: &S, key: &str, uri: &str, body: Vec<u8>) -> (u16, String, Value)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let (status, _, bytes) = fhir_bytes(service, uri, key, Some(body)).await;
    let body: Value = serde_json::from_slice(&bytes).expect("a JSON answer");
    let text = body["issue"][0]["details"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, text, body)
}

fn item(code: &str) -> Value {
    json!({"name": "validation", "resource": {"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": HOT9, "code": code}}]}})
}

#[actix_web::test]
async fn hostile_fhir_bodies_get_outcomes_naming_the_problem() {
    for db in databases("fhir_hostile") {
        let dir = tempfile::tempdir().expect("tmp");
        load(&db, dir.path());
        let k = keys(&db);
        let key = k.reader.as_str();
        let mut config = ApiConfig {
            warm_up: false,
            ..ApiConfig::default()
        };
        config.limits.json_bytes = 4096;
        config.limits.json_depth = 8;
        config.limits.validate_items = 3;
        let service = test::init_service(app(AppState::new(db.store.clone(), config))).await;
        let name = db.name;
        let batch = |items: Vec<Value>| {
            serde_json::to_vec(&json!({"resourceType": "Parameters", "parameter": items}))
                .expect("json")
        };

        // Within the limits: answered.
        let (status, _, ok) = post(&service, key, BATCH, batch(vec![item("100137201")])).await;
        assert_eq!(
            (status, ok["resourceType"].as_str()),
            (200, Some("Parameters")),
            "{name}"
        );

        // Too large, too deep, too many items (a batch and a document), not UTF-8, not JSON,
        // not a Parameters resource.
        let large = batch(vec![item(&"1".repeat(5000))]);
        let (status, text, _) = post(&service, key, BATCH, large).await;
        assert_eq!(status, 413, "{name}: {text}");
        assert!(text.contains("HYOJUN_MAX_JSON_BYTES"), "{name}: {text}");
        let deep = format!("{}{}", "[".repeat(9), "]".repeat(9)).into_bytes();
        let (status, text, _) = post(&service, key, BATCH, deep).await;
        assert_eq!(status, 400, "{name}: {text}");
        assert!(text.contains("HYOJUN_MAX_JSON_DEPTH"), "{name}: {text}");
        let many = batch((0..4).map(|_| item("100137201")).collect());
        let (status, text, _) = post(&service, key, BATCH, many).await;
        assert_eq!(status, 400, "{name}: {text}");
        assert!(text.contains("HYOJUN_MAX_VALIDATE_ITEMS"), "{name}: {text}");
        let codings: Vec<Value> = (0..4)
            .map(|_| json!({"system": HOT9, "code": "100137201"}))
            .collect();
        let document = json!({"resourceType": "Condition", "code": {"coding": codings}});
        let (status, text, _) = post(
            &service,
            key,
            "/fhir/Bundle/$check-codes",
            document.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, 400, "{name}: {text}");
        assert!(text.contains("HYOJUN_MAX_VALIDATE_ITEMS"), "{name}: {text}");
        let mut not_utf8 = batch(vec![item("100137201")]);
        let at = not_utf8.len() - 10;
        not_utf8[at] = 0xff;
        for (body, what) in [
            (not_utf8, "not UTF-8"),
            (b"{\"resourceType\": \"Parameters\", ".to_vec(), "cut short"),
            (b"[]".to_vec(), "an array"),
            (br#"{"resourceType": "Bundle"}"#.to_vec(), "a Bundle"),
            (
                br#"{"resourceType": "Parameters", "parameter": {}}"#.to_vec(),
                "parameter not a list",
            ),
            (
                br#"{"resourceType": "Parameters", "parameter": [3]}"#.to_vec(),
                "a number as parameter",
            ),
        ] {
            let (status, text, body) = post(&service, key, BATCH, body).await;
            assert_eq!(
                (status, body["resourceType"].as_str()),
                (400, Some("OperationOutcome")),
                "{name}: {what}: {body}"
            );
            assert!(!text.is_empty(), "{name}: {what}");
        }

        // Items of every wrong shape: each answered in its place, the others still checked.
        let items = vec![
            item("100137201"),
            json!({"name": "validation", "resource": "text"}),
            json!({"name": "validation", "resource": {"resourceType": "Parameters", "parameter": [
                {"name": "coding", "valueCoding": {"system": 7, "code": ["x"]}}]}}),
        ];
        let (status, _, answered) = post(&service, key, BATCH, batch(items)).await;
        assert_eq!(status, 200, "{name}: {answered}");
        let kinds: Vec<&str> = answered["parameter"]
            .as_array()
            .expect("answers")
            .iter()
            .map(|a| a["resource"]["resourceType"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            kinds,
            ["Parameters", "OperationOutcome", "OperationOutcome"],
            "{name}"
        );
    }
}

#[::core::prelude::v1::test]
fn check_codes_refuses_what_is_not_a_readable_json_document() {
    for db in databases("fhir_hostile_cli") {
        let dir = tempfile::tempdir().expect("tmp");
        let deep = dir.path().join("deep.json");
        std::fs::write(&deep, format!("{}{}", "[".repeat(100), "]".repeat(100))).expect("write");
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, b"{\"resourceType\": \xff").expect("write");
        let folder = dir.path().display().to_string();
        for (path, what) in [
            (folder.as_str(), "a folder"),
            (deep.to_str().expect("utf-8"), "nested too deep"),
            (broken.to_str().expect("utf-8"), "not JSON"),
        ] {
            assert_ne!(
                hyojun(&db, &["check-codes", path]),
                0,
                "{}: {what}",
                db.name
            );
        }
    }
}
