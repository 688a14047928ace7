//! The FHIR endpoint's fast paths answer exactly as the general ones, on SQLite and
//! PostgreSQL: `$batch-validate-code` items read straight from the posted bytes against the
//! same items sent in forms that go the general way (an item option, `part`s, a batch Bundle
//! entry); and GET answers kept in the node's cache follow an activation on this node and on
//! another node sharing the database, and the language asked.

use actix_web::test;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};

use crate::api::{call, keys};
use crate::fhir::{fhir, load, param, validate_uri, BYOMEI, HOT9};
use crate::support::databases;

fn config() -> ApiConfig {
    ApiConfig {
        warm_up: false,
        ..ApiConfig::default()
    }
}

/// The parts of one item of every kind a validator sends.
fn item_parts() -> Vec<Vec<Value>> {
    let coding = |c: Value| vec![json!({"name": "coding", "valueCoding": c})];
    vec![
        // Known, display right; display wrong; width-only difference.
        coding(json!({"system": HOT9, "code": "100137201", "display": "プレドニン注（１％）"})),
        coding(json!({"system": HOT9, "code": "100137201", "display": "プレドニン"})),
        coding(json!({"system": HOT9, "code": "100137201", "display": "プレドニン注(1%)"})),
        // Dropped in the activated release; the same code in the release that had it.
        coding(json!({"system": HOT9, "code": "100738103"})),
        coding(json!({"system": HOT9, "version": "20030124", "code": "100738103"})),
        // Unknown version, unknown code, unknown system, no system, retired with 移行先.
        coding(json!({"system": HOT9, "version": "1999", "code": "100137201"})),
        coding(json!({"system": HOT9, "code": "000000000"})),
        coding(json!({"system": "http://example.org/x", "code": "1"})),
        coding(json!({"code": "100137201"})),
        coding(json!({"system": BYOMEI, "code": "29990008"})),
        // Code and system as parameters of their own.
        vec![
            json!({"name": "code", "valueCode": "100137201"}),
            json!({"name": "system", "valueUri": HOT9}),
            json!({"name": "systemVersion", "valueString": "20030124"}),
            json!({"name": "display", "valueString": "プレドニン注（１％）"}),
        ],
        // A code without a system parameter; a display without a code.
        vec![json!({"name": "code", "valueCode": "100137201"})],
        vec![json!({"name": "display", "valueString": "x"})],
    ]
}

fn as_resource(parts: &[Value]) -> Value {
    json!({"name": "validation", "resource": {"resourceType": "Parameters", "parameter": parts}})
}

/// A batch against the code systems alone (no value set: the 病名 item is checked too).
fn batch(items: Vec<Value>) -> Value {
    json!({"resourceType": "Parameters", "parameter": items})
}

#[actix_web::test]
async fn batch_items_read_fast_answer_as_the_general_way() {
    for db in databases("fhir_paths_batch") {
        let dir = tempfile::tempdir().expect("tmp");
        load(&db, dir.path());
        let k = keys(&db);
        let key = Some(k.reader.as_str());
        let service = test::init_service(app(AppState::new(db.store.clone(), config()))).await;
        let name = db.name;
        let op = "/fhir/ValueSet/$batch-validate-code";
        let parts = item_parts();

        let plain: Vec<Value> = parts.iter().map(|p| as_resource(p)).collect();
        let (status, _, fast) = fhir(&service, "POST", op, key, Some(batch(plain.clone()))).await;
        assert_eq!(status, 200, "{name}: {fast}");
        let answers: Vec<Value> = fast["parameter"]
            .as_array()
            .expect("answers")
            .iter()
            .map(|a| a["resource"].clone())
            .collect();
        assert_eq!(answers.len(), parts.len(), "{name}");
        // Exact outcomes of a few: the first is valid in the activated release, the dropped
        // code is valid in the release that had it, the wrong display is not.
        let results: Vec<Option<&Value>> = answers.iter().map(|a| param(a, "result")).collect();
        let t = Some(&json!(true));
        let f = Some(&json!(false));
        assert_eq!(
            results,
            vec![t, f, f, f, t, f, f, f, f, t, t, f, None],
            "{name}: {answers:?}"
        );
        assert_eq!(param(&answers[0], "version"), Some(&json!("20030228")));
        assert_eq!(param(&answers[4], "version"), Some(&json!("20030124")));
        assert_eq!(answers[12]["resourceType"], "OperationOutcome", "{name}");

        // The same items with an option of their own (the general way).
        let general: Vec<Value> = parts
            .iter()
            .map(|p| {
                let mut p = p.clone();
                p.push(json!({"name": "lenient-display-validation", "valueBoolean": false}));
                as_resource(&p)
            })
            .collect();
        let (_, _, slow) = fhir(&service, "POST", op, key, Some(batch(general))).await;
        assert_eq!(slow, fast, "{name}: items with an option of their own");

        // As `part`s, and inside a batch Bundle (read from a JSON tree).
        let as_parts: Vec<Value> = parts
            .iter()
            .map(|p| json!({"name": "validation", "part": p}))
            .collect();
        let (_, _, parted) = fhir(&service, "POST", op, key, Some(batch(as_parts))).await;
        assert_eq!(parted, fast, "{name}: items as parts");
        let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "POST", "url": "ValueSet/$batch-validate-code"},
             "resource": batch(plain)}
        ]});
        let (status, _, in_bundle) = fhir(&service, "POST", "/fhir", key, Some(bundle)).await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(
            in_bundle["entry"][0]["resource"], fast,
            "{name}: in a Bundle"
        );

        // A shared system makes every item go the general way, with the same answers.
        let mut shared = vec![json!({"name": "system", "valueUri": HOT9})];
        shared.push(as_resource(&[
            json!({"name": "code", "valueCode": "100137201"}),
        ]));
        let (_, _, with_system) = fhir(
            &service,
            "POST",
            op,
            key,
            Some(json!({"resourceType": "Parameters", "parameter": shared})),
        )
        .await;
        let first = &with_system["parameter"][0]["resource"];
        assert_eq!(
            (param(first, "result"), param(first, "system")),
            (t, Some(&json!(HOT9))),
            "{name}: {with_system}"
        );
    }
}

#[actix_web::test]
async fn cached_answers_follow_activations_and_languages() {
    for db in databases("fhir_paths_cache") {
        let dir = tempfile::tempdir().expect("tmp");
        load(&db, dir.path());
        let k = keys(&db);
        let key = Some(k.reader.as_str());
        let state_a = AppState::new(db.store.clone(), config());
        let node_a = test::init_service(app(state_a.clone())).await;
        let node_b = test::init_service(app(AppState::new(db.store.clone(), config()))).await;
        let name = db.name;
        let uri = validate_uri(&[("url", HOT9), ("code", "100738103")]);

        // Asked twice on each node (the second from the cache): dropped in 20030228.
        for node in [&node_a, &node_b] {
            for _ in 0..2 {
                let (status, _, answer) = fhir(node, "GET", &uri, key, None).await;
                assert_eq!(status, 200, "{name}");
                assert_eq!(
                    (param(&answer, "result"), param(&answer, "version")),
                    (Some(&json!(false)), Some(&json!("20030228"))),
                    "{name}"
                );
            }
        }
        // The answer is kept once (the first request also learns the activated releases).
        assert_eq!(state_a.cache.fhir_answers().0, 1, "{name}");
        // The language asked is part of the answer.
        let ja = test::TestRequest::get()
            .uri(&uri)
            .insert_header(("Authorization", format!("Bearer {}", k.reader)))
            .insert_header(("Accept-Language", "ja"))
            .to_request();
        let ja: Value = test::read_body_json(test::call_service(&node_a, ja).await).await;
        let message = param(&ja, "message").and_then(Value::as_str).unwrap_or("");
        assert!(message.contains("未知のコード"), "{name}: {message}");
        assert_eq!(state_a.cache.fhir_answers().0, 2, "{name}");

        // Activating the older release on node A: node A answers from it at once, node B
        // once its poller has seen the change.
        let older = db
            .store
            .find_release(hyojun::systems::Master::Hot, "20030124")
            .expect("release")
            .id;
        let (status, _) = call(
            &node_a,
            "POST",
            &format!("/v1/releases/{older}/activate"),
            Some(&k.admin),
            None,
        )
        .await;
        assert_eq!(status, 200, "{name}");
        let (_, _, now) = fhir(&node_a, "GET", &uri, key, None).await;
        assert_eq!(
            (param(&now, "result"), param(&now, "version")),
            (Some(&json!(true)), Some(&json!("20030124"))),
            "{name}: node A"
        );
        let mut seen = Value::Null;
        for _ in 0..40 {
            seen = fhir(&node_b, "GET", &uri, key, None).await.2;
            if param(&seen, "version") == Some(&json!("20030124")) {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            (param(&seen, "result"), param(&seen, "version")),
            (Some(&json!(true)), Some(&json!("20030124"))),
            "{name}: node B kept the old answer"
        );
    }
}
