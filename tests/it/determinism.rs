//! The same imports answer byte for byte the same on SQLite and PostgreSQL: diffs (the
//! `hyojun diff --json` document), code look-ups with their carrying rows, related codes and
//! successors, search pages with their ties, the release list, release details and change
//! pages, and a mapping project's lists and exports.
//!
//! The PostgreSQL side runs in a database whose default collation is ICU `ja-JP`, which sorts
//! text differently from SQLite's byte order: an answer that leans on the database's text
//! order shows up here. The real HOT9 history is imported once, by `real_hot9` (which calls
//! [`assert_backends_agree`] on its databases).

use std::collections::BTreeMap;

use actix_web::test::{self as web_test, init_service};
use hyojun::access::Role;
use hyojun::api::{app, ApiConfig, AppState};
use hyojun::systems::Master;
use serde_json::Value;

use crate::support::{databases_collated, TestDb, ICU_COLLATION};

/// What to ask each backend: code look-ups (release label, system, code) and searches (query
/// string after `/v1/search?`).
pub(crate) struct Probe {
    pub codes: Vec<(String, String, String)>,
    pub searches: Vec<String>,
}

/// Members whose values are the moment something happened on that database: masked.
const VOLATILE: [&str; 2] = ["imported_at", "created_at"];

fn mask(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (key, v) in members.iter_mut() {
                if VOLATILE.contains(&key.as_str()) {
                    *v = Value::String("(masked)".into());
                } else {
                    mask(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// Every answer of one backend, by what was asked.
type Answers = BTreeMap<String, Vec<u8>>;

async fn get<S, B>(service: &S, key: &str, uri: &str) -> Vec<u8>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let request = web_test::TestRequest::get()
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {key}")))
        .to_request();
    let response = web_test::call_service(service, request).await;
    let status = response.status().as_u16();
    let body = web_test::read_body(response).await.to_vec();
    assert_eq!(
        status,
        200,
        "GET {uri}: {}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
    body
}

/// `body` with its volatile members masked, re-serialised only when something was masked.
fn masked(body: Vec<u8>) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(&body).expect("JSON answer");
    let before = value.clone();
    mask(&mut value);
    if value == before {
        body
    } else {
        serde_json::to_vec(&value).expect("json")
    }
}

/// Asks one backend everything the HOT history test compares.
fn hot_answers(db: &TestDb, labels: &[&str], probe: &Probe) -> Answers {
    let mut answers = Answers::new();
    let started = std::time::Instant::now();
    let mut phases: Vec<(&str, f64)> = Vec::new();
    let mut lap = |name: &'static str| phases.push((name, started.elapsed().as_secs_f64()));
    // `hyojun diff --json` prints this document, pretty-printed.
    for pair in labels.windows(2) {
        let (from, to, diff) = db.store.diff(Master::Hot, pair[0], pair[1]).expect("diff");
        let doc =
            serde_json::to_string_pretty(&diff.document(Master::Hot, &from, &to)).expect("json");
        answers.insert(format!("diff {} {}", pair[0], pair[1]), doc.into_bytes());
    }
    lap("diffs");
    let key = hyojun::app::keys::create(&db.store, "test", "determinism", Role::Reader)
        .expect("key")
        .key;
    let config = ApiConfig {
        warm_up: false,
        ..ApiConfig::default()
    };
    actix_web::rt::System::new().block_on(async {
        let service = init_service(app(AppState::new(db.store.clone(), config))).await;
        let list = get(&service, &key, "/v1/releases").await;
        answers.insert("releases".into(), masked(list.clone()));
        let releases: Vec<Value> = serde_json::from_slice(&list).expect("releases");
        for release in &releases {
            let id = release["id"].as_i64().expect("id");
            let detail = get(&service, &key, &format!("/v1/releases/{id}")).await;
            answers.insert(format!("release {id}"), masked(detail));
            let mut offset = 0;
            loop {
                let uri = format!("/v1/releases/{id}/changes?limit=1000&offset={offset}");
                let page = get(&service, &key, &uri).await;
                let total = serde_json::from_slice::<Value>(&page).expect("page")["total"]
                    .as_i64()
                    .expect("total");
                answers.insert(format!("changes {id} {offset}"), page);
                offset += 1000;
                if offset >= total {
                    break;
                }
            }
        }
        lap("releases and change pages");
        for (label, system, code) in &probe.codes {
            let uri = format!("/v1/systems/{system}/codes/{code}?release={label}");
            answers.insert(uri.clone(), get(&service, &key, &uri).await);
        }
        lap("code look-ups");
        for query in &probe.searches {
            let uri = format!("/v1/search?{query}");
            answers.insert(uri.clone(), get(&service, &key, &uri).await);
        }
        lap("searches (index built by the first)");
    });
    eprintln!(
        "determinism on {}: {phases:?} (seconds since start)",
        db.name
    );
    answers
}

/// Where two answers first differ, with a little context.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let start = at.saturating_sub(120);
    let show = |bytes: &[u8]| {
        String::from_utf8_lossy(&bytes[start.min(bytes.len())..(at + 120).min(bytes.len())])
            .into_owned()
    };
    format!(
        "at byte {at}:\n  {}: …{}…\n  {}: …{}…",
        "first",
        show(a),
        "second",
        show(b)
    )
}

/// Asserts that every answer is byte-identical on every database.
fn assert_same(dbs: &[TestDb], answers: &[Answers]) {
    assert!(
        dbs.len() >= 2,
        "the determinism check compares SQLite with PostgreSQL: both backends are needed \
         (HYOJUN_TEST_BACKENDS narrows them to {:?})",
        dbs.iter().map(|d| d.name).collect::<Vec<_>>()
    );
    let (first, rest) = answers.split_first().expect("answers");
    for (db, other) in dbs[1..].iter().zip(rest) {
        assert_eq!(
            first.keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>(),
            "the same questions"
        );
        let differing: Vec<&String> = first
            .iter()
            .filter(|(k, v)| other.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .collect();
        let examples: Vec<String> = differing
            .iter()
            .take(5)
            .map(|k| format!("{k} {}", first_difference(&first[*k], &other[*k])))
            .collect();
        assert!(
            differing.is_empty(),
            "{} of {} answers differ between {} and {}: {:?}\n{}",
            differing.len(),
            first.len(),
            dbs[0].name,
            db.name,
            differing,
            examples.join("\n")
        );
    }
}

/// Asks every database (one per backend, same imports) the questions of `probe`, every diff
/// of consecutive `labels`, the release list, each release and its change pages, and asserts
/// the answers are byte-identical. Returns how many answers were compared.
pub(crate) fn assert_backends_agree(dbs: &[TestDb], labels: &[&str], probe: &Probe) -> usize {
    let answers: Vec<Answers> = dbs
        .iter()
        .map(|db| hot_answers(db, labels, probe))
        .collect();
    assert_same(dbs, &answers);
    answers[0].len()
}

/// A mapping project with local codes whose byte order and `ja-JP` order differ (case,
/// width, punctuation, kana): its lists and exports come out the same on both backends.
#[test]
fn mapping_lists_and_exports_are_identical_across_backends() {
    let csv = "code,name,frequency\r\n\
               b-2,ｂ小文字,5\r\n\
               B1,大文字,5\r\n\
               a10,英小文字,5\r\n\
               A2,英大文字,5\r\n\
               _x,下線,5\r\n\
               ｱ1,半角カナ,5\r\n\
               あ1,ひらがな,5\r\n\
               ア1,カタカナ,5\r\n\
               10,数字,5\r\n\
               9,数字,5\r\n\
               Ｚ,全角,1\r\n";
    let dbs = databases_collated("determinism_mapping", ICU_COLLATION);
    let mut answers = Vec::new();
    for db in &dbs {
        let admin = hyojun::app::keys::create(&db.store, "test", "admin", Role::Admin)
            .expect("key")
            .key;
        let config = ApiConfig {
            warm_up: false,
            ..ApiConfig::default()
        };
        let mut got = Answers::new();
        actix_web::rt::System::new().block_on(async {
            let service = init_service(app(AppState::new(db.store.clone(), config))).await;
            let created = web_test::TestRequest::post()
                .uri("/v1/mapping/projects")
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .set_json(serde_json::json!({
                    "name": "並び順",
                    "local_system": "urn:oid:1.2.392.100495.20.3.98",
                    "target_systems": ["hot9"],
                }))
                .to_request();
            let created: Value = web_test::call_and_read_body_json(&service, created).await;
            let id = created["id"].as_i64().expect("project id");
            let upload = web_test::TestRequest::post()
                .uri(&format!("/v1/mapping/projects/{id}/local-codes"))
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .insert_header(("Content-Type", "text/csv"))
                .set_payload(csv.as_bytes().to_vec())
                .to_request();
            let plan = web_test::call_and_read_body(&service, upload).await;
            got.insert("upload".into(), plan.to_vec());
            for uri in [
                format!("/v1/mapping/projects/{id}/mappings"),
                format!("/v1/mapping/projects/{id}/mappings?limit=3"),
                format!("/v1/mapping/projects/{id}/attention"),
                format!("/v1/mapping/projects/{id}/export?format=csv"),
                format!("/v1/mapping/projects/{id}/export?format=conceptmap&all=true"),
            ] {
                got.insert(
                    uri.clone(),
                    masked_or_raw(get(&service, &admin, &uri).await),
                );
            }
        });
        answers.push(got);
    }
    assert_same(&dbs, &answers);
    // The order is the documented one: most frequent first, then local code by bytes.
    let list: Value =
        serde_json::from_slice(&answers[0]["/v1/mapping/projects/1/mappings"]).expect("list");
    let codes: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["local_code"].as_str().expect("code"))
        .collect();
    assert_eq!(
        codes,
        ["10", "9", "A2", "B1", "_x", "a10", "b-2", "あ1", "ア1", "ｱ1", "Ｚ"]
    );
}

/// JSON answers with timestamps masked; CSV and other bodies with their `updated_at` cells
/// (the last column) cut off.
fn masked_or_raw(body: Vec<u8>) -> Vec<u8> {
    if serde_json::from_slice::<Value>(&body).is_ok() {
        let mut value: Value = serde_json::from_slice(&body).expect("json");
        mask_times(&mut value);
        return serde_json::to_vec(&value).expect("json");
    }
    let text = String::from_utf8(body).expect("utf-8");
    text.split("\r\n")
        .map(|line| line.rsplit_once(',').map_or(line, |(head, _)| head))
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes()
}

fn mask_times(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (key, v) in members.iter_mut() {
                if key.ends_with("_at") || key == "date" {
                    *v = Value::String("(masked)".into());
                } else {
                    mask_times(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_times),
        _ => {}
    }
}
