//! The HTTP API under hostile requests, in-process on SQLite and PostgreSQL: the limits of
//! `Limits` the API applies (JSON size and depth, items, URL length, upload size and bytes in
//! flight), every error in the JSON envelope (actix's own 413, 404/405, bad URLs, requests that
//! are not HTTP), and the documented forms of answers (timestamps, file names).

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::test;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};
use hyojun::limits::Limits;

use crate::api::{call, keys, sample_db};
use crate::support::{databases, fingerprint, repo};

/// Status, headers and JSON body of one request.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: actix_web::http::header::HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    /// `(status, code, message)` of an error envelope.
    pub(crate) fn error(&self) -> (u16, &str, &str) {
        (
            self.status,
            self.body["error"]["code"].as_str().unwrap_or("(no code)"),
            self.body["error"]["message"]
                .as_str()
                .unwrap_or("(no message)"),
        )
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) async fn send<S, B>(service: &S, request: test::TestRequest) -> Answer
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(service, request.to_request()).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        headers,
        body,
    }
}

pub(crate) fn with_key(method: Method, uri: &str, key: &str) -> test::TestRequest {
    test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {key}")))
}

fn small_limits() -> Limits {
    Limits {
        json_bytes: 1_000,
        json_depth: 4,
        validate_items: 2,
        url_bytes: 100,
        upload_bytes: 5_000,
        uploads_in_flight_bytes: 3_000,
        ..Limits::default()
    }
}

pub(crate) fn config(limits: Limits, uploads: &std::path::Path) -> ApiConfig {
    ApiConfig {
        limits,
        upload_dir: uploads.to_owned(),
        node: "test-node".into(),
        warm_up: false,
        ..ApiConfig::default()
    }
}

#[actix_web::test]
async fn limits_and_errors_keep_the_envelope() {
    for db in databases("api_limits") {
        sample_db(&db);
        let k = keys(&db);
        let uploads = tempfile::tempdir().expect("tmp");
        let service = test::init_service(app(AppState::new(
            db.store.clone(),
            config(small_limits(), uploads.path()),
        )))
        .await;
        let admin = k.admin.as_str();
        let before = fingerprint(&db);

        // JSON bodies: size (declared or streamed), depth, items, content type.
        let big = json!({"items": [{"system": "hot9", "code": "x".repeat(1_000)}]});
        let a = send(
            &service,
            with_key(Method::POST, "/v1/validate", admin).set_json(&big),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                413,
                "too_large",
                "the request body is too large: the limit is 1,000 bytes (HYOJUN_MAX_JSON_BYTES)"
            ),
            "{}",
            db.name
        );
        let deep = json!({"items": [{"system": "hot9", "code": "1", "display": [[[["x"]]]]}]});
        let depth_message = "request body: arrays and objects are nested too deep; the limit is 4 levels (HYOJUN_MAX_JSON_DEPTH)";
        let a = send(
            &service,
            with_key(Method::POST, "/v1/validate", admin).set_json(&deep),
        )
        .await;
        assert_eq!(a.error(), (400, "bad_request", depth_message));
        // The same check for a typed body (POST /v1/keys), before anything is deserialised.
        let a = send(
            &service,
            with_key(Method::POST, "/v1/keys", admin)
                .set_json(json!({"name": "n", "role": "reader", "x": [[[[1]]]]})),
        )
        .await;
        assert_eq!(a.error(), (400, "bad_request", depth_message));
        // A ConceptMap read whole by its import: the reader checks the depth before parsing
        // and reports it as a problem of the file.
        let a = send(
            &service,
            with_key(
                Method::POST,
                "/v1/mapping/projects/1/import?format=conceptmap",
                admin,
            )
            .insert_header(("Content-Type", "application/json"))
            .set_payload(r#"{"group": [[[[["x"]]]]]}"#),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                400,
                "bad_request",
                "1 problem(s) in the file; nothing was applied"
            )
        );
        assert_eq!(a.body["error"]["details"]["items"][0]["kind"], "too_deep");
        let three = json!({"items": [
            {"system": "hot9", "code": "1"}, {"system": "hot9", "code": "2"}, {"system": "hot9", "code": "3"}
        ]});
        let a = send(
            &service,
            with_key(Method::POST, "/v1/validate", admin).set_json(&three),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                400,
                "bad_request",
                "3 items: at most 2 per request (HYOJUN_MAX_VALIDATE_ITEMS)"
            )
        );
        let a = send(
            &service,
            with_key(Method::POST, "/v1/mapping/projects/1/translate", admin)
                .set_json(json!({"codes": ["a", "b", "c"]})),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                400,
                "bad_request",
                "codes lists 1–2 local codes (HYOJUN_MAX_VALIDATE_ITEMS)"
            )
        );
        let a = send(
            &service,
            with_key(Method::POST, "/v1/validate", admin)
                .insert_header(("Content-Type", "text/plain"))
                .set_payload(r#"{"items": []}"#),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                415,
                "unsupported_media_type",
                "request body: send JSON with `Content-Type: application/json`"
            )
        );

        // actix's own payload limit (a body read whole) answers in the envelope too.
        let a = send(
            &service,
            with_key(Method::POST, "/v1/mapping/projects/1/local-codes", admin)
                .insert_header(("Content-Type", "text/csv"))
                .set_payload("code,name\n")
                .insert_header(("Content-Length", "900000000")),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                413,
                "too_large",
                "the request body is too large: the limit is 33,554,432 bytes (HYOJUN_MAX_LIST_BYTES)"
            )
        );

        // URLs: length, percent-encoding, UTF-8, bad path and query values.
        let long = format!("/v1/search?q={}", "a".repeat(100));
        let a = send(&service, with_key(Method::GET, &long, admin)).await;
        assert_eq!(
            a.error(),
            (
                414,
                "uri_too_long",
                "the URL is 113 bytes long; the limit is 100 bytes (HYOJUN_MAX_URL_BYTES)"
            )
        );
        let a = send(&service, with_key(Method::GET, "/v1/search?q=%zz", admin)).await;
        assert_eq!(
            a.error(),
            (
                400,
                "bad_request",
                "the URL's query has a `%` that is not followed by two hex digits: percent-encode it as %25"
            )
        );
        let a = send(
            &service,
            with_key(Method::GET, "/v1/systems/hot9/codes/%FF%FE", admin),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                400,
                "bad_request",
                "the URL's path does not decode to UTF-8: percent-encode the UTF-8 bytes of the text"
            )
        );
        let a = send(&service, with_key(Method::GET, "/v1/jobs/abc", admin)).await;
        assert_eq!(
            a.error(),
            (400, "bad_request", "path: can not parse \"abc\" to a i64")
        );
        let a = send(&service, with_key(Method::GET, "/v1/jobs?limit=x", admin)).await;
        assert_eq!(
            a.error(),
            (
                400,
                "bad_request",
                "query string: invalid digit found in string"
            )
        );

        // Unknown paths 404; known paths with another method 405 and `Allow`.
        let a = send(&service, with_key(Method::GET, "/v1/nothing", admin)).await;
        assert_eq!(a.error(), (404, "not_found", "no such endpoint"));
        for (method, uri, allow) in [
            (Method::TRACE, "/v1/systems", "GET"),
            (Method::DELETE, "/v1/releases", "GET, POST"),
            (Method::PUT, "/v1/keys/5", "DELETE"),
            (Method::GET, "/v1/releases/1/activate", "POST"),
        ] {
            let a = send(&service, with_key(method.clone(), uri, admin)).await;
            assert_eq!(
                (a.error(), a.header("allow")),
                (
                    (
                        405,
                        "method_not_allowed",
                        format!("{method} is not served on this path: use {allow}").as_str()
                    ),
                    Some(allow)
                ),
                "{method} {uri}"
            );
        }

        // Uploads: declared or streamed size over the limit, bytes in flight over the node's.
        let (content_type, body) = crate::support::multipart(
            &[("master", "hot")],
            &[("MEDIS20990101.TXT", vec![b'x'; 6_000])],
        );
        let a = send(
            &service,
            with_key(Method::POST, "/v1/releases", admin)
                .insert_header(("Content-Type", content_type.clone()))
                .set_payload(body),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                413,
                "too_large",
                "the upload is too large; nothing was kept: the limit is 5,000 bytes (HYOJUN_MAX_UPLOAD_BYTES)"
            )
        );
        let (content_type, body) = crate::support::multipart(
            &[("master", "hot")],
            &[("MEDIS20990101.TXT", vec![b'x'; 4_000])],
        );
        let a = send(
            &service,
            with_key(Method::POST, "/v1/releases", admin)
                .insert_header(("Content-Type", content_type))
                .set_payload(body),
        )
        .await;
        assert_eq!(
            (a.error(), a.header("retry-after"), &a.body["error"]["details"]),
            (
                (
                    503,
                    "busy",
                    "this node is receiving as many upload bytes as it may at once; nothing was kept: try again later (the limit is 3,000 bytes (HYOJUN_MAX_UPLOADS_IN_FLIGHT_BYTES))"
                ),
                Some("5"),
                &json!({"retry_after_seconds": 5})
            )
        );
        // The same upload streamed without `Content-Length`: refused while it arrives.
        let (content_type, body) = crate::support::multipart(
            &[("master", "hot")],
            &[("MEDIS20990101.TXT", vec![b'x'; 4_000])],
        );
        let mut request = with_key(Method::POST, "/v1/releases", admin)
            .insert_header(("Content-Type", content_type))
            .set_payload(body)
            .to_request();
        request
            .headers_mut()
            .remove(actix_web::http::header::CONTENT_LENGTH);
        let response = test::call_service(&service, request).await;
        let status = response.status().as_u16();
        let body: Value = serde_json::from_slice(&test::read_body(response).await).expect("json");
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (503, Some("busy")),
            "{body}"
        );
        let a = send(
            &service,
            with_key(Method::POST, "/v1/releases", admin)
                .insert_header(("Content-Type", "text/plain"))
                .set_payload("master=hot"),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                415,
                "unsupported_media_type",
                "the upload must be a multipart/form-data body (`master`, `file` parts)"
            )
        );
        assert_eq!(
            crate::support::uploads_kept(uploads.path()),
            0,
            "nothing kept"
        );
        assert_eq!(fingerprint(&db), before, "{}", db.name);

        // `bearer` in lower case is the same scheme (RFC 7235).
        let a = send(
            &service,
            test::TestRequest::get()
                .uri("/v1/systems")
                .insert_header(("Authorization", format!("bearer {admin}"))),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
}

#[actix_web::test]
async fn answers_keep_the_documented_forms() {
    for db in databases("api_forms") {
        sample_db(&db);
        let k = keys(&db);
        let service = test::init_service(app(AppState::new(
            db.store.clone(),
            ApiConfig {
                warm_up: false,
                ..ApiConfig::default()
            },
        )))
        .await;
        let reader = Some(k.reader.as_str());
        let is_utc = |v: &Value| {
            v.as_str().is_some_and(|s| {
                s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
            })
        };
        let (status, releases) = call(&service, "GET", "/v1/releases", reader, None).await;
        assert_eq!(status, 200);
        for release in releases.as_array().expect("list") {
            assert!(is_utc(&release["imported_at"]), "{release}");
            for file in release["files"].as_array().expect("files") {
                let name = file["name"].as_str().expect("name");
                assert!(
                    !name.contains('/') && !name.contains(&*repo().display().to_string()),
                    "a server path is shown: {name}"
                );
            }
        }
        let second = &releases[1];
        let names: Vec<&str> = second["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert!(
            names.contains(&"h20260630_HOT9del.txt")
                && names.iter().any(|n| n.starts_with("h20260630.zip:")),
            "{names:?}"
        );
        let (_, detail) = call(
            &service,
            "GET",
            &format!("/v1/releases/{}", second["id"]),
            reader,
            None,
        )
        .await;
        assert_eq!(detail["files"], second["files"]);
        for notice in detail["notices"].as_array().expect("notices") {
            assert!(
                !notice["file"].as_str().expect("file").contains('/'),
                "{notice}"
            );
        }
        let (_, listed) = call(&service, "GET", "/v1/keys", Some(&k.admin), None).await;
        assert!(listed
            .as_array()
            .expect("keys")
            .iter()
            .all(|key| is_utc(&key["created_at"]) && key["revoked_at"].is_null()));
        let (_, audit) = call(&service, "GET", "/v1/audit", Some(&k.admin), None).await;
        assert!(audit["items"]
            .as_array()
            .expect("audit")
            .iter()
            .all(|entry| is_utc(&entry["at"])));
    }
}

/// Sends raw bytes to `addr` and reads the answer until the server closes the connection.
fn raw_request(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    // The server may answer and close before it has read everything: the answer counts.
    let _ = stream.write_all(bytes);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[actix_web::test]
async fn requests_that_are_not_http_get_the_envelope_from_the_server() {
    for db in databases("api_wire") {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = AppState::new(
            db.store.clone(),
            ApiConfig {
                warm_up: false,
                ..ApiConfig::default()
            },
        );
        let server = hyojun::api::server(state, listener).expect("server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let many_headers: String = (0..100).map(|i| format!("X-{i}: a\r\n")).collect();
        let cases: Vec<(Vec<u8>, &str, &str)> = vec![
            (
                b"GET /v1/sys tems HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                "400 Bad Request",
                "bad_request",
            ),
            (
                "GET /v1/systems/胃 HTTP/1.1\r\nHost: x\r\n\r\n"
                    .as_bytes()
                    .to_vec(),
                "400 Bad Request",
                "bad_request",
            ),
            (
                b"GET /v1/systems HTTP/1.1\r\nHost: x\r\nX-A: \x01\r\n\r\n".to_vec(),
                "400 Bad Request",
                "bad_request",
            ),
            (
                format!("GET /v1/systems HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
                "431 Request Header Fields Too Large",
                "headers_too_large",
            ),
            (
                format!(
                    "GET /v1/search?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
                    "a".repeat(140_000)
                )
                .into_bytes(),
                "431 Request Header Fields Too Large",
                "headers_too_large",
            ),
        ];
        for (bytes, status, code) in cases {
            let answer = actix_web::web::block(move || raw_request(addr, &bytes))
                .await
                .expect("request");
            let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
            assert!(
                head.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{head}"
            );
            assert!(head.contains("content-type: application/json"), "{head}");
            let body: Value = serde_json::from_str(body).expect("JSON body");
            let message = if code == "bad_request" {
                "the request is not valid HTTP: its request line or a header has bytes HTTP does not allow (percent-encode spaces, control characters and non-ASCII text in URLs)"
            } else {
                "the request head is too large: at most 128 KiB and 96 headers"
            };
            assert_eq!(
                body,
                json!({"error": {"code": code, "message": message}}),
                "{head}"
            );
        }
        // A URL over the limit (but under actix-http's head limit) is the application's 414.
        let long = format!(
            "GET /v1/search?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "a".repeat(9_000)
        );
        let answer = actix_web::web::block(move || raw_request(addr, long.as_bytes()))
            .await
            .expect("request");
        assert!(
            answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"),
            "{answer}"
        );
        assert!(answer.contains(r#""code":"uri_too_long""#), "{answer}");
        // Over the `http` crate's 64 KiB URL limit actix-http refuses the request itself: the
        // connection layer still answers 414 with the envelope, not a bare 400.
        for len in [65_522, 100_000] {
            let long = format!(
                "GET /v1/search?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "a".repeat(len)
            );
            let answer = actix_web::web::block(move || raw_request(addr, long.as_bytes()))
                .await
                .expect("request");
            let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
            assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
            let body: Value = serde_json::from_str(body).expect("JSON body");
            assert_eq!(
                body,
                json!({"error": {"code": "uri_too_long", "message": "the URL is too long; the limit is 8,192 bytes (HYOJUN_MAX_URL_BYTES)"}})
            );
        }
        handle.stop(false).await;
    }
}
