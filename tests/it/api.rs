//! The HTTP API started in-process on SQLite and PostgreSQL: every endpoint's happy path and
//! errors, the auth matrix, as-of queries and activation; and the committed OpenAPI document.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use serde_json::{json, Value};

use hyojun::access::Role;
use hyojun::api::{app, ApiConfig, AppState};

use crate::support::{databases, hyojun, multipart, repo, TestDb};

/// A database with both sample HOT releases imported and the first one serving.
pub(crate) fn sample_db(db: &TestDb) {
    let first = repo().join("masters/hot/20260531").display().to_string();
    let zip = repo()
        .join("masters/hot/h20260630.zip")
        .display()
        .to_string();
    let del = repo()
        .join("masters/hot/h20260630_HOT9del.txt")
        .display()
        .to_string();
    assert_eq!(hyojun(db, &["import", "hot", &first, "--activate"]), 0);
    assert_eq!(hyojun(db, &["import", "hot", &zip, &del]), 0);
}

pub(crate) struct Keys {
    pub(crate) reader: String,
    pub(crate) mapper: String,
    pub(crate) admin: String,
}

pub(crate) fn keys(db: &TestDb) -> Keys {
    let key = |role, name| {
        hyojun::app::keys::create(&db.store, "test", name, role)
            .expect("key")
            .key
    };
    Keys {
        reader: key(Role::Reader, "reader"),
        mapper: key(Role::Mapper, "mapper"),
        admin: key(Role::Admin, "admin"),
    }
}

pub(crate) async fn call<S, B>(
    service: &S,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut request = match method {
        "POST" => test::TestRequest::post(),
        "DELETE" => test::TestRequest::delete(),
        _ => test::TestRequest::get(),
    }
    .uri(uri);
    if let Some(key) = key {
        request = request.insert_header(("Authorization", format!("Bearer {key}")));
    }
    if let Some(body) = body {
        request = request.set_json(body);
    }
    let response = test::call_service(service, request.to_request()).await;
    let status = response.status().as_u16();
    let bytes = test::read_body(response).await;
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

#[actix_web::test]
async fn auth_matrix_for_every_write_and_reads() {
    for db in databases("api_auth") {
        sample_db(&db);
        let k = keys(&db);
        let service =
            test::init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let release_id = db
            .store
            .find_release(hyojun::systems::Master::Hot, "20260630")
            .expect("release")
            .id;
        let victim = hyojun::app::keys::create(&db.store, "test", "victim", Role::Reader)
            .expect("key")
            .row
            .id;
        let writes: Vec<(&str, String, Option<Value>)> = vec![
            ("POST", format!("/v1/releases/{release_id}/activate"), None),
            (
                "POST",
                "/v1/keys".into(),
                Some(json!({"name": "new", "role": "reader"})),
            ),
            ("DELETE", format!("/v1/keys/{victim}"), None),
            ("GET", "/v1/keys".into(), None),
            ("GET", "/v1/audit".into(), None),
        ];
        for (method, uri, body) in &writes {
            let no_key = call(&service, method, uri, None, body.clone()).await;
            assert_eq!(no_key.0, 401, "{} {method} {uri}", db.name);
            assert_eq!(no_key.1["error"]["code"], "unauthorized");
            let bad = call(&service, method, uri, Some("hyj_0000"), body.clone()).await;
            assert_eq!(bad.0, 401);
            for key in [&k.reader, &k.mapper] {
                let (status, body) = call(&service, method, uri, Some(key), body.clone()).await;
                assert_eq!(status, 403, "{} {method} {uri}", db.name);
                assert_eq!(body["error"]["code"], "forbidden");
            }
            let (status, _) = call(&service, method, uri, Some(&k.admin), body.clone()).await;
            assert!(
                (200..300).contains(&status),
                "{} {method} {uri}: {status}",
                db.name
            );
        }
        // Reads need a key unless anonymous reading is on.
        assert_eq!(
            call(&service, "GET", "/v1/systems", None, None).await.0,
            401
        );
        for key in [&k.reader, &k.mapper, &k.admin] {
            assert_eq!(
                call(&service, "GET", "/v1/systems", Some(key), None)
                    .await
                    .0,
                200
            );
        }
        let open = test::init_service(app(AppState::new(
            db.store.clone(),
            ApiConfig {
                anonymous_read: true,
                ..ApiConfig::default()
            },
        )))
        .await;
        assert_eq!(call(&open, "GET", "/v1/systems", None, None).await.0, 200);
        assert_eq!(call(&open, "GET", "/v1/keys", None, None).await.0, 401);
    }
}

#[actix_web::test]
async fn codes_lookup_and_as_of_queries() {
    for db in databases("api_codes") {
        sample_db(&db);
        let k = keys(&db);
        let service =
            test::init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let key = Some(k.reader.as_str());

        let (status, systems) = call(&service, "GET", "/v1/systems", key, None).await;
        assert_eq!(status, 200);
        let hot9 = systems
            .as_array()
            .expect("list")
            .iter()
            .find(|s| s["key"] == "hot9")
            .expect("hot9");
        assert_eq!(
            hot9["canonical_url"],
            "http://medis.or.jp/CodeSystem/master-HOT9"
        );
        assert_eq!(hot9["current_release"]["label"], "20260531", "{}", db.name);

        // The current release (20260531): the HOT9 is active, with its YJ among related codes.
        let (status, code) = call(
            &service,
            "GET",
            "/v1/systems/hot9/codes/900507501",
            key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{code}");
        assert_eq!(
            (code["status"].as_str(), code["release"]["label"].as_str()),
            (Some("active"), Some("20260531"))
        );
        assert!(code["related"]
            .as_array()
            .expect("related")
            .contains(&json!({"system": "yj", "code": "2646901M1027"})));
        assert!(code["carried_by"]
            .as_array()
            .expect("carriers")
            .iter()
            .all(|r| r["system"] == "hot13"));
        let valid_in: Vec<&str> = code["valid_in"]
            .as_array()
            .expect("valid_in")
            .iter()
            .filter_map(|r| r["label"].as_str())
            .collect();
        assert_eq!(valid_in, vec!["20260531", "20260630"]);

        // As of the next release: the corrected YJ, and the same answer by canonical URL and OID.
        for system in [
            "hot9",
            "http%3A%2F%2Fmedis.or.jp%2FCodeSystem%2Fmaster-HOT9",
            "urn:oid:1.2.392.200119.4.403.1",
        ] {
            let uri = format!("/v1/systems/{system}/codes/900507501?release=20260630");
            let (status, code) = call(&service, "GET", &uri, key, None).await;
            assert_eq!(status, 200, "{system}: {code}");
            assert!(code["related"]
                .as_array()
                .expect("related")
                .contains(&json!({"system": "yj", "code": "2646901M1035"})));
        }
        let (_, by_date) = call(
            &service,
            "GET",
            "/v1/systems/hot9/codes/900507501?date=2026-07-15",
            key,
            None,
        )
        .await;
        assert_eq!(by_date["release"]["label"], "20260630");
        let (_, by_date) = call(
            &service,
            "GET",
            "/v1/systems/hot9/codes/900507501?date=2026-06-15",
            key,
            None,
        )
        .await;
        assert_eq!(by_date["release"]["label"], "20260531");

        // A deleted HOT9 is retired (200), a dropped package is retired with the release that dropped it.
        let (status, deleted) = call(
            &service,
            "GET",
            "/v1/systems/hot9/codes/900101502?release=20260630",
            key,
            None,
        )
        .await;
        assert_eq!((status, deleted["status"].as_str()), (200, Some("retired")));
        let (status, dropped) = call(
            &service,
            "GET",
            "/v1/systems/hot13/codes/9001183010201?release=20260630",
            key,
            None,
        )
        .await;
        assert_eq!((status, dropped["status"].as_str()), (200, Some("retired")));
        assert_eq!(dropped["removed_in"]["label"], "20260630");
        assert_eq!(dropped["display"], "ヒョウジュン錠２０ｍｇ");

        // Errors: unknown code, system, release; bad parameters.
        for (uri, status, code) in [
            ("/v1/systems/hot9/codes/999999999", 404, "not_found"),
            ("/v1/systems/nope/codes/1", 404, "not_found"),
            (
                "/v1/systems/hot9/codes/900507501?release=19990101",
                404,
                "not_found",
            ),
            (
                "/v1/systems/hot9/codes/900507501?release=20260630&date=2026-07-01",
                400,
                "bad_request",
            ),
            (
                "/v1/systems/hot9/codes/900507501?date=July",
                400,
                "bad_request",
            ),
            ("/v1/systems/byomei/codes/20058678", 404, "not_found"),
        ] {
            let (got, body) = call(&service, "GET", uri, key, None).await;
            assert_eq!(
                (got, body["error"]["code"].as_str()),
                (status, Some(code)),
                "{uri}: {body}"
            );
        }

        // Lookup by code alone.
        let (status, found) =
            call(&service, "GET", "/v1/lookup?code=2646901M1027", key, None).await;
        assert_eq!(status, 200, "{found}");
        let systems: Vec<&str> = found["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .filter_map(|m| m["system"].as_str())
            .collect();
        assert_eq!(systems, vec!["yj", "yakka"]);
        assert_eq!(
            call(&service, "GET", "/v1/lookup?code=0000000", key, None)
                .await
                .0,
            404
        );
        assert_eq!(
            call(&service, "GET", "/v1/lookup?code=", key, None).await.0,
            400
        );
    }
}

#[actix_web::test]
async fn batch_validation() {
    for db in databases("api_validate") {
        sample_db(&db);
        let k = keys(&db);
        let service =
            test::init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let key = Some(k.reader.as_str());
        let items = json!([
            {"system": "hot9", "code": "900507501"},
            {"system": "hot9", "code": "999999999"},
            {"system": "hot9", "code": "900101502"},
            {"system": "urn:oid:1.2.392.100495.20.2.73", "code": "2646901M1035"},
            {"system": "hot13", "code": "9002005010101", "display": "ヒョウジュンロン錠１０ｍｇ「ミホン」"},
            {"system": "hot13", "code": "9002005010101", "display": "ﾋｮｳｼﾞｭﾝﾛﾝ"},
            {"system": "hot13", "code": "9001183010201"},
            {"system": "nope", "code": "1"}
        ]);
        let (status, body) = call(
            &service,
            "POST",
            "/v1/validate",
            key,
            Some(json!({"items": items, "release": "20260630"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let results: Vec<(&str, bool)> = body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                (
                    r["result"].as_str().unwrap_or(""),
                    r["valid"].as_bool().unwrap_or(true),
                )
            })
            .collect();
        assert_eq!(
            results,
            vec![
                ("valid", true),
                ("unknown", false),
                ("retired", false),
                ("valid", true),
                ("valid", true),
                ("invalid_display", false),
                ("retired", false),
                ("unknown_system", false)
            ],
            "{}",
            db.name
        );
        assert_eq!(
            body["results"][5]["expected_display"],
            "ヒョウジュンロン錠１０ｍｇ「ミホン」"
        );
        assert_eq!(body["releases"]["hot"], "20260630");
        // Full-width/half-width and case do not make a display wrong.
        let (_, width) = call(&service, "POST", "/v1/validate", key, Some(json!({"items": [
            {"system": "hot13", "code": "9002005010101", "display": "ヒョウジュンロン錠10mg「ミホン」"}
        ]}))).await;
        assert_eq!(width["results"][0]["result"], "valid");
        // Without a release: the current one (20260531), where the YJ correction is not yet in.
        let (_, current) = call(
            &service,
            "POST",
            "/v1/validate",
            key,
            Some(json!({"items": [
                {"system": "yj", "code": "2646901M1035"}
            ]})),
        )
        .await;
        assert_eq!(
            (
                current["results"][0]["result"].as_str(),
                current["releases"]["hot"].as_str()
            ),
            (Some("unknown"), Some("20260531"))
        );
        // Limits and bad bodies.
        let many: Vec<Value> = (0..10_001)
            .map(|i| json!({"system": "hot9", "code": format!("{i:09}")}))
            .collect();
        assert_eq!(
            call(
                &service,
                "POST",
                "/v1/validate",
                key,
                Some(json!({"items": many}))
            )
            .await
            .0,
            400
        );
        let (status, bad) = call(
            &service,
            "POST",
            "/v1/validate",
            key,
            Some(json!({"codes": []})),
        )
        .await;
        assert_eq!(
            (status, bad["error"]["code"].as_str()),
            (400, Some("bad_request"))
        );
    }
}

/// Validation answers alike from statuses a warm-up loaded for whole systems and from
/// statuses read for the request's codes: every code of every HOT system, with and without
/// displays, unknown codes, in the current release before and after an activation.
#[actix_web::test]
async fn warmed_up_validation_answers_as_reading_the_database_does() {
    use hyojun::systems::{of_master, Master};
    for db in databases("api_warm_up") {
        sample_db(&db);
        let k = keys(&db);
        let key = Some(k.reader.as_str());
        let config = ApiConfig {
            warm_up: false,
            ..ApiConfig::default()
        };
        let reading = AppState::new(db.store.clone(), config.clone());
        let warmed = AppState::new(db.store.clone(), config);
        let reading_service = test::init_service(app(reading.clone())).await;
        let warmed_service = test::init_service(app(warmed.clone())).await;
        for round in ["20260531", "20260630"] {
            if round == "20260630" {
                assert_eq!(hyojun(&db, &["activate", "hot", "20260630"]), 0);
                reading.cache.clear();
                warmed.cache.clear();
            }
            let release = db.store.find_release(Master::Hot, round).expect("release");
            let mut codes: Vec<(&str, String)> = Vec::new();
            for system in of_master(Master::Hot) {
                for code in db.store.system_codes(&release, system.key).expect("codes") {
                    codes.push((system.key, code));
                }
            }
            codes.push(("hot9", "999999999".into()));
            codes.push(("hot7", "9001183010201".into()));
            codes.push(("urn:oid:1.2.392.100495.20.2.73", "2646901M1035".into()));
            assert!(codes.len() > 50, "{} codes", codes.len());
            hyojun::api::warm::warm_up(&warmed.cache, &warmed.store);
            let bare: Vec<Value> = codes
                .iter()
                .map(|(system, code)| json!({"system": system, "code": code}))
                .collect();
            let (status, first) = call(
                &reading_service,
                "POST",
                "/v1/validate",
                key,
                Some(json!({ "items": bare })),
            )
            .await;
            assert_eq!(status, 200, "{first}");
            // Each code again with its expected display, a folded one and a wrong one.
            let mut items = bare.clone();
            for (item, result) in bare
                .iter()
                .zip(first["results"].as_array().expect("results"))
            {
                if let Some(display) = result["expected_display"].as_str() {
                    for shown in [
                        display.to_owned(),
                        display.to_lowercase() + " ",
                        "違う名前".into(),
                    ] {
                        let mut item = item.clone();
                        item["display"] = json!(shown);
                        items.push(item);
                    }
                }
            }
            let body = Some(json!({ "items": items }));
            let (_, read) = call(&reading_service, "POST", "/v1/validate", key, body.clone()).await;
            let (_, warm) = call(&warmed_service, "POST", "/v1/validate", key, body).await;
            assert_eq!(read["releases"]["hot"], round, "{}", db.name);
            assert_eq!(read, warm, "{} {round}", db.name);
            let kinds: std::collections::BTreeSet<&str> = read["results"]
                .as_array()
                .expect("results")
                .iter()
                .filter_map(|r| r["result"].as_str())
                .collect();
            let expected: &[&str] = if round == "20260531" {
                &["invalid_display", "unknown", "valid"]
            } else {
                &["invalid_display", "retired", "unknown", "valid"]
            };
            assert_eq!(
                kinds.into_iter().collect::<Vec<_>>(),
                expected,
                "{}",
                db.name
            );
        }
    }
}

#[actix_web::test]
async fn releases_changes_diff_and_activation() {
    for db in databases("api_releases") {
        sample_db(&db);
        let k = keys(&db);
        let service =
            test::init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let key = Some(k.reader.as_str());

        let (status, list) = call(&service, "GET", "/v1/releases?master=hot", key, None).await;
        assert_eq!(status, 200);
        let list = list.as_array().expect("list");
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[0]["current"].as_bool(), list[1]["current"].as_bool()),
            (Some(true), Some(false))
        );
        assert_eq!(list[1]["files"].as_array().expect("files").len(), 3);
        let second = list[1]["id"].as_i64().expect("id");
        assert_eq!(
            call(&service, "GET", "/v1/releases?master=x", key, None)
                .await
                .0,
            400
        );

        let (status, detail) = call(
            &service,
            "GET",
            &format!("/v1/releases/{second}"),
            key,
            None,
        )
        .await;
        assert_eq!((status, detail["label"].as_str()), (200, Some("20260630")));
        assert!(detail["notices"].is_array());
        assert_eq!(
            call(&service, "GET", "/v1/releases/999", key, None).await.0,
            404
        );

        let (_, page) = call(
            &service,
            "GET",
            &format!("/v1/releases/{second}/changes?kind=added&system=hot13"),
            key,
            None,
        )
        .await;
        assert_eq!(page["total"], 3);
        let (_, page) = call(
            &service,
            "GET",
            &format!("/v1/releases/{second}/changes?limit=5&offset=5"),
            key,
            None,
        )
        .await;
        assert_eq!(page["items"].as_array().expect("items").len(), 5);
        let total = page["total"].as_i64().expect("total");
        let (_, rest) = call(
            &service,
            "GET",
            &format!("/v1/releases/{second}/changes?limit=1000"),
            key,
            None,
        )
        .await;
        assert_eq!(rest["items"].as_array().expect("items").len() as i64, total);
        assert_eq!(
            call(
                &service,
                "GET",
                &format!("/v1/releases/{second}/changes?kind=moved"),
                key,
                None
            )
            .await
            .0,
            400
        );
        assert_eq!(
            call(
                &service,
                "GET",
                &format!("/v1/releases/{second}/changes?limit=0"),
                key,
                None
            )
            .await
            .0,
            400
        );

        let (status, diff) = call(
            &service,
            "GET",
            "/v1/diff?system=hot9&from=20260531&to=20260630",
            key,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            diff["summary"]["hot9"],
            json!({"added": 1, "removed": 0, "changed": 8})
        );
        assert_eq!(
            call(
                &service,
                "GET",
                "/v1/diff?system=hot&from=20260531&to=1",
                key,
                None
            )
            .await
            .0,
            404
        );

        // A future activation leaves the current release serving; an immediate one switches.
        let admin = Some(k.admin.as_str());
        let uri = format!("/v1/releases/{second}/activate");
        let (status, activated) = call(
            &service,
            "POST",
            &uri,
            admin,
            Some(json!({"effective_from": "2099-01-01T00:00:00"})),
        )
        .await;
        assert_eq!(status, 200, "{activated}");
        let (_, code) = call(
            &service,
            "GET",
            "/v1/systems/hot9/codes/900507501",
            key,
            None,
        )
        .await;
        assert_eq!(code["release"]["label"], "20260531", "{}", db.name);
        let (status, _) = call(&service, "POST", &uri, admin, None).await;
        assert_eq!(status, 200);
        let (_, code) = call(
            &service,
            "GET",
            "/v1/systems/hot9/codes/900507501",
            key,
            None,
        )
        .await;
        assert_eq!(code["release"]["label"], "20260630");

        // Every write is in the audit log.
        let (_, audit) = call(&service, "GET", "/v1/audit", admin, None).await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(&actions[..2], &["activate_release", "activate_release"]);
        assert!(actions.contains(&"import_release"));
    }
}

#[actix_web::test]
async fn keys_are_created_shown_once_and_revoked() {
    for db in databases("api_keys") {
        let k = keys(&db);
        let service =
            test::init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let admin = Some(k.admin.as_str());
        let (status, created) = call(
            &service,
            "POST",
            "/v1/keys",
            admin,
            Some(json!({"name": "lab", "role": "mapper"})),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let key = created["key"].as_str().expect("key").to_owned();
        assert!(key.starts_with("hyj_") && key.len() == 68);
        assert_eq!(
            call(&service, "GET", "/v1/systems", Some(&key), None)
                .await
                .0,
            200
        );
        // The list never shows keys or hashes.
        let (_, list) = call(&service, "GET", "/v1/keys", admin, None).await;
        assert!(!list.to_string().contains(&key[4..]) && !list.to_string().contains("hash"));
        let id = created["id"].as_i64().expect("id");
        assert_eq!(
            call(&service, "DELETE", &format!("/v1/keys/{id}"), admin, None)
                .await
                .0,
            200
        );
        assert_eq!(
            call(&service, "GET", "/v1/systems", Some(&key), None)
                .await
                .0,
            401
        );
        assert_eq!(
            call(&service, "DELETE", "/v1/keys/9999", admin, None)
                .await
                .0,
            404
        );
        let (status, bad) = call(
            &service,
            "POST",
            "/v1/keys",
            admin,
            Some(json!({"name": "x", "role": "owner"})),
        )
        .await;
        assert_eq!(
            (status, bad["error"]["code"].as_str()),
            (400, Some("bad_request"))
        );
        // Stored hashed: the database holds no key.
        assert!(db
            .store
            .keys()
            .expect("keys")
            .iter()
            .all(|row| row.key_hash != key && !key.contains(&row.key_hash)));
    }
}

/// The value of the unlabelled metric `name` in a Prometheus exposition.
pub(crate) fn gauge(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[actix_web::test]
async fn operations_endpoints_and_docs() {
    for db in databases("api_ops") {
        let service =
            test::init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let (status, body) = call(&service, "GET", "/healthz", None, None).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
        assert_eq!(call(&service, "GET", "/readyz", None, None).await.0, 200);
        let (status, body) = call(&service, "GET", "/nope", None, None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found"))
        );
        let (status, metrics) = call(&service, "GET", "/metrics", None, None).await;
        assert_eq!(status, 200);
        let text = metrics.as_str().expect("text");
        assert!(
            text.contains(
                "hyojun_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"
            ),
            "{text}"
        );
        let readyz = r#"{method="GET",route="/readyz",status="200""#;
        for line in [
            "# HELP hyojun_http_requests_total HTTP requests answered.\n# TYPE hyojun_http_requests_total counter\n",
            "# HELP hyojun_http_request_duration_seconds Time to answer HTTP requests.\n# TYPE hyojun_http_request_duration_seconds histogram\n",
            r#"hyojun_http_requests_total{method="GET",route="/healthz",status="200"} 1"#,
            r#"hyojun_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
            &format!("hyojun_http_request_duration_seconds_bucket{readyz},le=\"+Inf\"}} 1\n"),
            &format!("hyojun_http_request_duration_seconds_count{readyz}}} 1\n"),
            "# HELP hyojun_db_pool_connections Database connections the pool holds (in use and idle).\n# TYPE hyojun_db_pool_connections gauge\n",
            "# HELP hyojun_db_pool_idle Idle database connections in the pool.\n",
            "hyojun_db_pool_max_connections 4\n",
            "hyojun_db_up 1\n",
            "hyojun_jobs_running 0\n",
            "hyojun_search_documents 0\n",
        ] {
            assert!(text.contains(line), "{} {line:?} in\n{text}", db.name);
        }
        // Every bucket bound of before, in order, ending at +Inf.
        let bounds: Vec<&str> = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix(&format!(
                    "hyojun_http_request_duration_seconds_bucket{readyz},le=\""
                ))
            })
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(
            bounds,
            [
                "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.05", "0.25",
                "1", "+Inf"
            ]
        );
        let (connections, idle) = (
            gauge(text, "hyojun_db_pool_connections"),
            gauge(text, "hyojun_db_pool_idle"),
        );
        assert!(
            (1.0..=4.0).contains(&connections) && (0.0..=connections).contains(&idle),
            "{connections} {idle}"
        );
        let (status, docs) = call(&service, "GET", "/docs/", None, None).await;
        assert_eq!(status, 200);
        assert!(
            docs.as_str().is_some_and(|html| html.contains("swagger")),
            "{docs}"
        );
        let (status, spec) = call(&service, "GET", "/openapi.json", None, None).await;
        assert_eq!(
            (status, spec["info"]["title"].as_str()),
            (200, Some("hyojun"))
        );
    }
}

#[::core::prelude::v1::test]
fn committed_openapi_document_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let generated = hyojun::api::openapi().to_pretty_json().expect("render") + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test it openapi` and commit it"
    );
}

/// A multipart body: text fields, then files.
pub(crate) async fn upload<S, B>(
    service: &S,
    key: &str,
    fields: &[(&str, &str)],
    files: &[(&str, Vec<u8>)],
) -> (u16, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (content_type, body) = multipart(fields, files);
    let request = test::TestRequest::post()
        .uri("/v1/releases")
        .insert_header(("Authorization", format!("Bearer {key}")))
        .insert_header(("Content-Type", content_type))
        .set_payload(body)
        .to_request();
    let response = test::call_service(service, request).await;
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&test::read_body(response).await).unwrap_or(Value::Null),
    )
}

/// Polls a job until it ends (or 60 s pass).
pub(crate) async fn wait_for_job<S, B>(service: &S, key: &str, id: i64) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    for _ in 0..600 {
        let (_, job) = call(service, "GET", &format!("/v1/jobs/{id}"), Some(key), None).await;
        if job["state"] == "succeeded" || job["state"] == "failed" {
            return job;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish");
}

#[actix_web::test]
async fn uploads_run_as_jobs_and_bad_files_change_nothing() {
    for db in databases("api_upload") {
        let first = repo().join("masters/hot/20260531").display().to_string();
        assert_eq!(hyojun(&db, &["import", "hot", &first, "--activate"]), 0);
        let k = keys(&db);
        let uploads = tempfile::tempdir().expect("tmp");
        let config = ApiConfig {
            upload_dir: uploads.path().to_owned(),
            limits: hyojun::limits::Limits {
                upload_bytes: 200_000,
                ..Default::default()
            },
            ..ApiConfig::default()
        };
        let service = test::init_service(app(AppState::new(db.store.clone(), config))).await;
        let read = |rel: &str| std::fs::read(repo().join("masters/hot").join(rel)).expect("sample");

        // A broken file: the job fails with the line, nothing changes, the release keeps serving.
        let before = crate::support::fingerprint(&db);
        let text = encoding_rs::SHIFT_JIS
            .decode(&read("20260531/MEDIS20260531.TXT"))
            .0
            .into_owned();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[5] = lines[5].replacen(",", "", 1);
        let broken = encoding_rs::SHIFT_JIS
            .encode(&lines.join("\r\n"))
            .0
            .into_owned();
        let (status, job) = upload(
            &service,
            &k.admin,
            &[("master", "hot")],
            &[
                ("MEDIS20260630.TXT", broken),
                (
                    "MEDIS20260630_HOT9.TXT",
                    read("20260531/MEDIS20260531_HOT9.TXT"),
                ),
            ],
        )
        .await;
        assert_eq!(status, 202, "{job}");
        let job = wait_for_job(&service, &k.admin, job["id"].as_i64().expect("id")).await;
        assert_eq!(job["state"], "failed", "{job}");
        let problem = &job["problems"]["items"][0];
        assert_eq!(
            (
                problem["file"].as_str(),
                problem["line"].as_u64(),
                problem["kind"].as_str()
            ),
            (Some("MEDIS20260630.TXT"), Some(6), Some("column_count"))
        );
        assert_eq!(crate::support::fingerprint(&db), before, "{}", db.name);
        let current = db
            .store
            .current_release(hyojun::systems::Master::Hot)
            .expect("current")
            .expect("some");
        assert_eq!(current.label, "20260531");

        // The real distribution: zip plus deletion list, activated on success.
        let (status, job) = upload(
            &service,
            &k.admin,
            &[("master", "hot"), ("activate", "true")],
            &[
                ("h20260630.zip", read("h20260630.zip")),
                ("h20260630_HOT9del.txt", read("h20260630_HOT9del.txt")),
            ],
        )
        .await;
        assert_eq!(status, 202, "{job}");
        let job = wait_for_job(&service, &k.admin, job["id"].as_i64().expect("id")).await;
        assert_eq!(job["state"], "succeeded", "{} {job}", db.name);
        assert_eq!(
            job["result"]["summary"]["hot9"],
            json!({"added": 1, "removed": 0, "changed": 8})
        );
        let current = db
            .store
            .current_release(hyojun::systems::Master::Hot)
            .expect("current")
            .expect("some");
        assert_eq!(
            (current.label.as_str(), Some(current.id.get())),
            ("20260630", job["release_id"].as_i64())
        );
        assert_eq!(
            crate::support::uploads_kept(uploads.path()),
            0,
            "upload files are removed"
        );

        // Refusals: no master, no file, too large, not an admin.
        assert_eq!(
            upload(&service, &k.admin, &[], &[("a.txt", b"x".to_vec())])
                .await
                .0,
            400
        );
        assert_eq!(
            upload(&service, &k.admin, &[("master", "hot")], &[])
                .await
                .0,
            400
        );
        let (status, body) = upload(
            &service,
            &k.admin,
            &[("master", "hot")],
            &[("big.txt", vec![b'x'; 300_000])],
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (413, Some("too_large"))
        );
        assert_eq!(
            upload(
                &service,
                &k.reader,
                &[("master", "hot")],
                &[("a.txt", b"x".to_vec())]
            )
            .await
            .0,
            403
        );
        assert_eq!(
            upload(
                &service,
                &k.mapper,
                &[("master", "hot")],
                &[("a.txt", b"x".to_vec())]
            )
            .await
            .0,
            403
        );
        let (content_type, body) = multipart(&[("master", "hot")], &[("a.txt", b"x".to_vec())]);
        let anonymous = test::TestRequest::post()
            .uri("/v1/releases")
            .insert_header(("Content-Type", content_type))
            .set_payload(body)
            .to_request();
        assert_eq!(
            test::call_service(&service, anonymous)
                .await
                .status()
                .as_u16(),
            401
        );
        let (_, jobs) = call(&service, "GET", "/v1/jobs", Some(&k.admin), None).await;
        assert_eq!(jobs.as_array().expect("jobs").len(), 2);
        assert_eq!(
            call(&service, "GET", "/v1/jobs", Some(&k.reader), None)
                .await
                .0,
            403
        );
        // The node's metrics count both tries (once their worker has returned) and the one
        // import.
        let wanted = [
            r#"hyojun_jobs_total{kind="import_release",outcome="failed"} 1"#,
            r#"hyojun_jobs_total{kind="import_release",outcome="succeeded"} 1"#,
            r#"hyojun_import_seconds_count{master="hot"} 1"#,
        ];
        let mut text = String::new();
        for _ in 0..100 {
            text = call(&service, "GET", "/metrics", None, None)
                .await
                .1
                .as_str()
                .expect("text")
                .to_owned();
            if wanted.iter().all(|line| text.lines().any(|l| l == *line)) {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        for line in wanted {
            assert!(
                text.lines().any(|l| l == line),
                "{} {line} in\n{text}",
                db.name
            );
        }
    }
}

#[actix_web::test]
async fn a_second_node_follows_an_activation_within_its_poll_interval() {
    for db in databases("api_nodes") {
        sample_db(&db);
        let k = keys(&db);
        let node_a =
            test::init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let node_b =
            test::init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let key = Some(k.reader.as_str());
        let uri = "/v1/systems/hot9/codes/900507501";
        // Node B answers (and caches) from the serving release.
        assert_eq!(
            call(&node_b, "GET", uri, key, None).await.1["release"]["label"],
            "20260531"
        );
        let second = db
            .store
            .find_release(hyojun::systems::Master::Hot, "20260630")
            .expect("release")
            .id;
        let (status, _) = call(
            &node_a,
            "POST",
            &format!("/v1/releases/{second}/activate"),
            Some(&k.admin),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            call(&node_a, "GET", uri, key, None).await.1["release"]["label"],
            "20260630"
        );
        let mut seen = String::new();
        for _ in 0..40 {
            seen = call(&node_b, "GET", uri, key, None).await.1["release"]["label"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            if seen == "20260630" {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(seen, "20260630", "{}: node B kept the old release", db.name);
    }
}

#[actix_web::test]
async fn retired_names_answer_with_their_resolved_successors() {
    for db in databases("api_successors") {
        for zip in ["byomei518.zip", "byomei519.zip"] {
            let path = repo()
                .join("masters/byomei")
                .join(zip)
                .display()
                .to_string();
            assert_eq!(
                hyojun(&db, &["import", "byomei", &path, "--activate"]),
                0,
                "{zip}"
            );
        }
        let k = keys(&db);
        let service =
            test::init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let key = Some(k.reader.as_str());
        // 29990008 → 29990009 → 29990010 in 5.19: the chain ends at 29990010.
        let (status, code) = call(
            &service,
            "GET",
            "/v1/systems/byomei/codes/29990008",
            key,
            None,
        )
        .await;
        assert_eq!(
            (status, code["status"].as_str()),
            (200, Some("retired")),
            "{} {code}",
            db.name
        );
        assert_eq!(
            code["successors"],
            json!([{"system": "byomei", "code": "29990009"}])
        );
        assert_eq!(
            code["successor_chain"]["resolved"],
            json!([["byomei", "29990010"]])
        );
        let (_, body) = call(&service, "POST", "/v1/validate", key, Some(json!({"items": [
            {"system": "byomei", "code": "29990008"},
            {"system": "http://medis.or.jp/CodeSystem/master-disease-keyNumber", "code": "29990010"}
        ]}))).await;
        assert_eq!(body["results"][0]["result"], "retired", "{body}");
        assert_eq!(
            body["results"][0]["successors"],
            json!([{"system": "byomei", "code": "29990010"}])
        );
        assert_eq!(body["results"][1]["result"], "valid");
        assert_eq!(body["releases"]["byomei"], "5.19");
    }
}
