//! One snapshot per request: validations and translations answered while another thread
//! activates releases back and forth (and so clears the node's caches) in a loop. Every answer
//! must be 200 and exactly right for the release its body names.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::test;
use futures_util::future::join_all;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};
use hyojun::systems::Master;

use crate::api::{call, keys, sample_db};
use crate::support::databases;

const FIRST: &str = "20260531";
const SECOND: &str = "20260630";

/// Codes whose answers differ between the two sample releases, and some that do not.
fn items() -> Vec<Value> {
    vec![
        json!({"system": "hot9", "code": "900507501"}),
        json!({"system": "hot9", "code": "900101502"}),
        json!({"system": "yj", "code": "2646901M1035"}),
        json!({"system": "hot13", "code": "9001183010201"}),
        json!({"system": "hot13", "code": "9001015010202"}),
        json!({"system": "hot13", "code": "9001015020101"}),
        json!({"system": "hot13", "code": "9002005010101", "display": "ヒョウジュンロン錠１０ｍｇ「ミホン」"}),
        json!({"system": "hot7", "code": "9005075"}),
    ]
}

/// (result, expected_display, successors) per item: what an answer says of each code.
fn verdicts(body: &Value) -> Vec<Value> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| json!([r["result"], r["expected_display"], r["successors"]]))
        .collect()
}

/// Stops the flipper when dropped, also when the test fails.
struct Stop(Arc<AtomicBool>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Flips the served HOT release and clears the node's caches as fast as it can until told
/// to stop; returns how many activations it made.
fn flipper(
    store: hyojun::store::Store,
    state: AppState,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut flips = 0;
        // A failed test drops its database under the flipper: stop on the first error.
        while !stop.load(Ordering::Acquire) {
            let label = if flips % 2 == 0 { SECOND } else { FIRST };
            if hyojun::app::releases::activate_label(&store, "test", Master::Hot, label).is_err() {
                break;
            }
            // What the poller does on a generation change, without waiting for its second.
            state.cache.check_generation(&store);
            state.cache.clear();
            flips += 1;
        }
        flips
    })
}

#[actix_web::test]
async fn validation_answers_from_one_snapshot_while_activations_land() {
    for db in databases("snapshot_validate") {
        sample_db(&db);
        let k = keys(&db);
        let state = AppState::new(db.store.clone(), ApiConfig::default());
        let service = test::init_service(app(state.clone())).await;
        let key = Some(k.reader.as_str());
        // What each release answers, asked for by name while nothing moves.
        let mut expected = std::collections::BTreeMap::new();
        for label in [FIRST, SECOND] {
            let (status, body) = call(
                &service,
                "POST",
                "/v1/validate",
                key,
                Some(json!({"items": items(), "release": label})),
            )
            .await;
            assert_eq!(status, 200, "{}: {body}", db.name);
            expected.insert(label, verdicts(&body));
        }
        assert_ne!(
            expected[FIRST], expected[SECOND],
            "the releases must differ"
        );

        let stop = Stop(Arc::new(AtomicBool::new(false)));
        let flips = flipper(db.store.clone(), state.clone(), stop.0.clone());
        let unique = AtomicUsize::new(0);
        let seen = [AtomicUsize::new(0), AtomicUsize::new(0)];
        // 8 clients, 60 requests each; every request also asks for a code never seen, so it
        // reads the database between its two look-ups while the flipper clears the cache.
        let client = |_: usize| async {
            for _ in 0..60 {
                let n = unique.fetch_add(1, Ordering::Relaxed);
                let mut asked = items();
                asked.push(json!({"system": "hot9", "code": format!("8{n:08}")}));
                asked.push(json!({"system": "hot13", "code": format!("8{n:012}")}));
                let (status, body) = call(
                    &service,
                    "POST",
                    "/v1/validate",
                    key,
                    Some(json!({ "items": asked })),
                )
                .await;
                assert_eq!(status, 200, "{}: {body}", db.name);
                let label = body["releases"]["hot"].as_str().expect("release label");
                let slot = [FIRST, SECOND]
                    .iter()
                    .position(|l| *l == label)
                    .unwrap_or_else(|| panic!("{}: unexpected release {label}", db.name));
                seen[slot].fetch_add(1, Ordering::Relaxed);
                let mut got = verdicts(&body);
                let tail = got.split_off(items().len());
                assert_eq!(got, expected[label], "{}: answer for {label}", db.name);
                assert!(
                    tail.iter().all(|v| v[0] == "unknown"),
                    "{}: {tail:?}",
                    db.name
                );
                for result in body["results"].as_array().expect("results") {
                    assert_eq!(result["release"], label, "{}: {result}", db.name);
                }
            }
        };
        join_all((0..8).map(client)).await;
        drop(stop);
        let flips = flips.join().expect("flipper");
        eprintln!(
            "{}: 480 validations during {flips} activations ({} answered from {FIRST}, {} from {SECOND})",
            db.name,
            seen[0].load(Ordering::Relaxed),
            seen[1].load(Ordering::Relaxed)
        );
        assert!(flips > 10, "{}: only {flips} activations", db.name);
    }
}

/// Serves `label` now, on this node at once.
fn serve(db: &crate::support::TestDb, state: &AppState, label: &str) {
    hyojun::app::releases::activate_label(&db.store, "test", Master::Hot, label).expect("activate");
    state.cache.clear();
}

#[actix_web::test]
async fn translation_answers_from_one_snapshot_while_activations_land() {
    for db in databases("snapshot_translate") {
        sample_db(&db);
        let k = keys(&db);
        let state = AppState::new(db.store.clone(), ApiConfig::default());
        let service = test::init_service(app(state.clone())).await;
        let (status, project) = call(
            &service,
            "POST",
            "/v1/mapping/projects",
            Some(&k.admin),
            Some(
                json!({"name": "snapshot", "local_system": "urn:oid:1.2.392.100495.20.3.98",
                        "target_systems": ["hot9", "hot13", "yj"]}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{project}");
        let id = project["id"].as_i64().expect("id");
        let csv = "code,name\nD001,a\nD002,b\nD003,c\nD004,d\n";
        let request = test::TestRequest::post()
            .uri(&format!("/v1/mapping/projects/{id}/local-codes"))
            .insert_header(("Authorization", format!("Bearer {}", k.mapper)))
            .insert_header(("Content-Type", "text/csv"))
            .set_payload(csv)
            .to_request();
        assert_eq!(test::call_service(&service, request).await.status(), 200);
        // Targets whose status differs between the releases, proposed where they are valid.
        let proposals = [
            (FIRST, "D001", "hot9", "900101502"),
            (FIRST, "D002", "hot13", "9001015020101"),
            (SECOND, "D003", "yj", "2646901M1035"),
            (SECOND, "D004", "hot13", "9001015010202"),
        ];
        for (label, code, system, target) in proposals {
            serve(&db, &state, label);
            let (status, body) = call(
                &service,
                "POST",
                &format!("/v1/mapping/projects/{id}/mappings/{code}"),
                Some(&k.mapper),
                Some(json!({"action": "propose", "target_system": system, "target_code": target})),
            )
            .await;
            assert_eq!(status, 200, "{}: {body}", db.name);
        }
        let uri = format!("/v1/mapping/projects/{id}/translate");
        let body = json!({"codes": ["D001", "D002", "D003", "D004"], "include": "all"});
        let mut expected = Vec::new();
        for label in [FIRST, SECOND] {
            serve(&db, &state, label);
            let (status, out) =
                call(&service, "POST", &uri, Some(&k.reader), Some(body.clone())).await;
            assert_eq!(status, 200, "{}: {out}", db.name);
            expected.push(out);
        }
        assert_ne!(expected[0], expected[1], "the releases must differ");

        let stop = Stop(Arc::new(AtomicBool::new(false)));
        let flips = flipper(db.store.clone(), state.clone(), stop.0.clone());
        let client = |_: usize| async {
            for _ in 0..60 {
                let (status, out) =
                    call(&service, "POST", &uri, Some(&k.reader), Some(body.clone())).await;
                assert_eq!(status, 200, "{}: {out}", db.name);
                assert!(
                    expected.contains(&out),
                    "{}: {out} is the answer of neither release",
                    db.name
                );
            }
        };
        join_all((0..8).map(client)).await;
        drop(stop);
        let flips = flips.join().expect("flipper");
        assert!(flips > 10, "{}: only {flips} activations", db.name);
    }
}
