//! A database outage, through a TCP proxy in front of PostgreSQL that the test cuts and
//! restores (the shared server is never touched): under a load of concurrent requests, the
//! requests that need the database answer 503 in the error envelope (never 500, never a
//! hang past the deadlines), `/readyz` says 503, cached code answers, search, validation from
//! the warm cache and recently verified keys keep answering 200, a key never seen gets 503
//! (not 401); once the proxy forwards again, the node answers from the database without a
//! restart. No timings are asserted: `examples/outage_timings.rs` measures them.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use futures_util::future::join_all;
use serde_json::{json, Value};

use hyojun::access::Role;
use hyojun::api::auth::{KeyCache, KEY_GRACE};
use hyojun::api::{app, ApiConfig, AppState};
use hyojun::store::{DatabaseUrl, Store};

use crate::api::{call, keys, sample_db};
use crate::proxy::{Cut, Proxy};
use crate::support::{databases, TestDb};

/// Generous: the node is expected to follow within a second.
const DEADLINE: Duration = Duration::from_secs(30);

/// Whether a request can be answered without the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Answered from memory (cached answer, search index, warm validation cache).
    Memory,
    /// Needs the database: 200 while it is there, 503 while it is not.
    Database,
}

struct Request {
    needs: Needs,
    method: &'static str,
    uri: String,
    body: Option<Value>,
}

fn get(needs: Needs, uri: &str) -> Request {
    Request {
        needs,
        method: "GET",
        uri: uri.to_owned(),
        body: None,
    }
}

fn requests(release_id: hyojun::ids::ReleaseId) -> Vec<Request> {
    vec![
        get(Needs::Memory, "/v1/systems/hot9/codes/900507501"),
        get(Needs::Memory, "/v1/systems/hot13/codes/9002005010101"),
        get(
            Needs::Memory,
            "/v1/search?q=%E3%83%92%E3%83%A7%E3%82%A6%E3%82%B8%E3%83%A5%E3%83%B3",
        ),
        get(Needs::Memory, "/v1/search?q=900&system=hot9"),
        Request {
            needs: Needs::Memory,
            method: "POST",
            uri: "/v1/validate".into(),
            body: Some(json!({"items": [
                {"system": "hot9", "code": "900507501"},
                {"system": "hot9", "code": "999999999"},
                {"system": "hot13", "code": "9002005010101", "display": "ﾋｮｳｼﾞｭﾝﾛﾝ"},
                {"system": "yj", "code": "2646901M1035"}
            ]})),
        },
        get(Needs::Database, "/v1/releases"),
        get(Needs::Database, "/v1/lookup?code=900507501"),
        get(
            Needs::Database,
            &format!("/v1/releases/{release_id}/changes?limit=5"),
        ),
        get(
            Needs::Database,
            "/v1/diff?system=hot9&from=20260531&to=20260630",
        ),
    ]
}

/// Asserts the 503 error envelope.
fn assert_unavailable(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 503, "{what}: {body}");
    assert_eq!(body["error"]["code"], "unavailable", "{what}: {body}");
    assert_eq!(
        body["error"]["message"], "the database is not available",
        "{what}: {body}"
    );
}

/// Calls `uri` until `done` holds for its answer, or fails after [`DEADLINE`].
async fn until<S, B>(
    service: &S,
    key: Option<&str>,
    request: &Request,
    what: &str,
    done: impl Fn(u16) -> bool,
) -> (u16, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let started = Instant::now();
    loop {
        let answer = call(
            service,
            request.method,
            &request.uri,
            key,
            request.body.clone(),
        )
        .await;
        if done(answer.0) {
            return answer;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{what}: still {} after {DEADLINE:?}: {}",
            answer.0,
            answer.1
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The PostgreSQL database of `databases(test)`, or `None` (noted) when
/// `HYOJUN_TEST_BACKENDS` leaves PostgreSQL out.
pub(crate) fn postgres(test: &str) -> Option<TestDb> {
    let db = databases(test).into_iter().find(|db| db.name == "postgres");
    if db.is_none() {
        eprintln!("{test}: PostgreSQL is not among HYOJUN_TEST_BACKENDS: not run");
    }
    db
}

#[actix_web::test]
async fn a_database_outage_answers_503_keeps_memory_reads_and_recovers() {
    let Some(db) = postgres("faults_outage") else {
        return;
    };
    sample_db(&db);
    let k = keys(&db);
    let never_seen = hyojun::app::keys::create(&db.store, "test", "never-seen", Role::Reader)
        .expect("key")
        .key;
    let revoked_later =
        hyojun::app::keys::create(&db.store, "test", "revoked-later", Role::Reader).expect("key");
    let proxy = Proxy::in_front_of(&db.url);
    let store = Store::open(&DatabaseUrl::parse(&proxy.url(&db.url)).expect("url"), 8)
        .expect("store through the proxy");
    // Keys are checked against the database on every request (no TTL), so that the grace is
    // what keeps them accepted during the outage; a second app on the same node state has no
    // grace at all.
    let mut state = AppState::new(store, ApiConfig::default());
    state.keys = KeyCache::new(Duration::ZERO, KEY_GRACE);
    let no_grace = AppState {
        keys: KeyCache::new(Duration::ZERO, Duration::ZERO),
        ..state.clone()
    };
    let service = test::init_service(app(state.clone())).await;
    let strict = test::init_service(app(no_grace)).await;
    let reader = Some(k.reader.as_str());
    let release_id = db
        .store
        .find_release(hyojun::systems::Master::Hot, "20260630")
        .expect("release")
        .id;
    let requests = requests(release_id);
    let readyz = get(Needs::Database, "/readyz");

    // Up: everything answers; the memory reads are now in memory.
    assert_eq!(call(&service, "GET", "/readyz", None, None).await.0, 200);
    hyojun::api::warm::warm_up(&state.cache, &state.store);
    for r in &requests {
        let (status, body) = call(&service, r.method, &r.uri, reader, r.body.clone()).await;
        assert_eq!(status, 200, "{} {}: {body}", r.method, r.uri);
    }
    for node in [&service, &strict] {
        for key in [&k.reader, &revoked_later.key] {
            let (status, _) = call(node, "GET", &requests[0].uri, Some(key), None).await;
            assert_eq!(status, 200);
        }
    }

    // Cut under load: 8 clients; the first cuts the proxy after its 10th request.
    let client = |n: usize| {
        let (service, proxy, requests) = (&service, &proxy, &requests);
        async move {
            let mut seen = Vec::new();
            for i in 0..60 {
                if n == 0 && i == 10 {
                    proxy.cut(Cut::Refuse);
                }
                let r = &requests[(n + i) % requests.len()];
                let (status, body) = call(service, r.method, &r.uri, reader, r.body.clone()).await;
                seen.push((r.needs, format!("{} {}", r.method, r.uri), status, body));
            }
            seen
        }
    };
    let seen: Vec<_> = join_all((0..8).map(client))
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut unavailable = 0;
    for (needs, what, status, body) in &seen {
        match (needs, status) {
            (_, 200) => {}
            (Needs::Database, 503) => {
                assert_unavailable(*status, body, what);
                unavailable += 1;
            }
            _ => panic!("during the cut, {what} answered {status}: {body}"),
        }
    }
    eprintln!(
        "cut under load: {} requests, {unavailable} answered 503, none anything but 200/503",
        seen.len()
    );

    // Down: readiness says so; what needs the database is refused in the envelope, what is in
    // memory still answers.
    let (status, body) = until(&service, None, &readyz, "readyz after the cut", |s| {
        s != 200
    })
    .await;
    assert_unavailable(status, &body, "readyz");
    for r in &requests {
        let (status, body) = call(&service, r.method, &r.uri, reader, r.body.clone()).await;
        match r.needs {
            Needs::Memory => assert_eq!(status, 200, "down: {} {}: {body}", r.method, r.uri),
            Needs::Database => assert_unavailable(status, &body, &r.uri),
        }
    }
    // The warm validation answers as before the cut.
    let validate = &requests[4];
    let (_, answer) = call(
        &service,
        "POST",
        "/v1/validate",
        reader,
        validate.body.clone(),
    )
    .await;
    let results: Vec<&str> = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["result"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(results, ["valid", "unknown", "invalid_display", "unknown"]);
    // Keys: verified ones stay accepted within the grace, one never seen cannot be checked
    // (503, not 401), and without a grace none is accepted; a malformed key needs no database.
    let cached = &requests[0].uri;
    assert_eq!(
        call(&service, "GET", cached, Some(&revoked_later.key), None)
            .await
            .0,
        200
    );
    let (status, body) = call(&service, "GET", cached, Some(&never_seen), None).await;
    assert_unavailable(status, &body, "a key never seen");
    let (status, body) = call(&strict, "GET", cached, reader, None).await;
    assert_unavailable(status, &body, "a verified key without grace");
    assert_eq!(
        call(&service, "GET", cached, Some("nope"), None).await.0,
        401
    );
    assert_eq!(call(&service, "GET", cached, None, None).await.0, 401);
    // Revoked while the database is down: still accepted within the grace (documented), and
    // refused as soon as the database can say so.
    hyojun::app::keys::revoke(&db.store, "test", revoked_later.row.id).expect("revoke");
    assert_eq!(
        call(&service, "GET", cached, Some(&revoked_later.key), None)
            .await
            .0,
        200
    );

    // Restored: the node answers from the database again, without a restart.
    proxy.restore();
    until(
        &service,
        reader,
        &requests[5],
        "releases after the restore",
        |s| s == 200,
    )
    .await;
    assert_eq!(call(&service, "GET", "/readyz", None, None).await.0, 200);
    for r in &requests {
        let (status, body) = call(&service, r.method, &r.uri, reader, r.body.clone()).await;
        assert_eq!(status, 200, "restored: {} {}: {body}", r.method, r.uri);
    }
    assert_eq!(
        call(&service, "GET", cached, Some(&never_seen), None)
            .await
            .0,
        200
    );
    let (status, body) = call(&service, "GET", cached, Some(&revoked_later.key), None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("unauthorized")),
        "{body}"
    );

    // A black hole (connections accepted, never answered) is an outage too.
    proxy.cut(Cut::BlackHole);
    let (status, body) = until(
        &service,
        reader,
        &requests[5],
        "releases in the black hole",
        |s| s != 200,
    )
    .await;
    assert_unavailable(status, &body, "releases in the black hole");
    let (status, body) = call(&service, "GET", "/readyz", None, None).await;
    assert_unavailable(status, &body, "readyz in the black hole");
    assert_eq!(call(&service, "GET", cached, reader, None).await.0, 200);
    proxy.restore();
    until(
        &service,
        reader,
        &requests[5],
        "releases after the black hole",
        |s| s == 200,
    )
    .await;
    assert_eq!(call(&service, "GET", "/readyz", None, None).await.0, 200);
}
