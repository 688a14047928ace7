//! Activation bodies and upload jobs over the HTTP API, in-process on SQLite and PostgreSQL:
//! a body that cannot be read changes nothing, imports of one master run in upload order
//! (across nodes); the job runner itself is tested in `job_runner`.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::test;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};
use hyojun::limits::Limits;
use hyojun::systems::Master;

use crate::api::{call, keys, sample_db};
use crate::api_limits::{config, send, with_key};
use crate::support::{databases, fingerprint, repo};

/// The release the master serves now.
fn current(db: &crate::support::TestDb) -> String {
    db.store
        .current_release(Master::Hot)
        .expect("current")
        .expect("some")
        .label
}

#[actix_web::test]
async fn activation_bodies_that_cannot_be_read_change_nothing() {
    for db in databases("api_activate_body") {
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
        let (_, list) = call(
            &service,
            "GET",
            "/v1/releases?master=hot",
            Some(&k.reader),
            None,
        )
        .await;
        let second = list[1]["id"].as_i64().expect("id");
        let uri = format!("/v1/releases/{second}/activate");
        assert_eq!(current(&db), "20260531");
        let before = fingerprint(&db);

        // The four bodies of the issue, and bodies that are not one object (serde would read
        // an array as the struct and `null` as no moment): none switches the release at once.
        let not_an_object = (
            400,
            "bad_request",
            "request body: a JSON object (`{…}`) is required",
        );
        let refused: [(&str, &str, (u16, &str, &str)); 7] = [
            ("application/json", "[]", not_an_object),
            ("application/json", "null", not_an_object),
            ("application/json", r#"["2099-07-01T00:00:00Z"]"#, not_an_object),
            ("application/json", r#""2099-07-01T00:00:00Z""#, not_an_object),
            (
                "application/json",
                r#"{"effective_from": "2099-07-01"}"#,
                (400, "bad_request", "request body: effective_from `2099-07-01` is a date alone: give a date-time, e.g. 2099-07-01T00:00:00Z (UTC) or 2099-07-01T00:00:00+09:00 (JST) at line 1 column 32"),
            ),
            (
                "text/plain",
                r#"{"effective_from": "2099-07-01T00:00:00"}"#,
                (415, "unsupported_media_type", "request body: send JSON with `Content-Type: application/json`"),
            ),
            (
                "application/json",
                r#"{"efective_from": "2099-07-01T00:00:00"}"#,
                (400, "bad_request", "request body: unknown field `efective_from`, expected `effective_from` at line 1 column 16"),
            ),
        ];
        for (content_type, body, expected) in refused {
            let a = send(
                &service,
                with_key(Method::POST, &uri, &k.admin)
                    .insert_header(("Content-Type", content_type))
                    .set_payload(body),
            )
            .await;
            assert_eq!(a.error(), expected, "{} {body}", db.name);
            assert_eq!(current(&db), "20260531", "{body}");
            assert_eq!(fingerprint(&db), before, "{body}");
        }
        // A time ending in `Z` is the documented form: scheduled, not at once.
        let good = [
            ("2099-07-01T00:00:00Z", "2099-07-01T00:00:00Z"),
            ("2099-07-01T09:00:00+09:00", "2099-07-01T00:00:00Z"),
            ("2099-07-01T00:00:00.5", "2099-07-01T00:00:00.500Z"),
        ];
        for (given, answered) in good {
            let a = send(
                &service,
                with_key(Method::POST, &uri, &k.admin).set_json(json!({"effective_from": given})),
            )
            .await;
            assert_eq!(
                (
                    a.status,
                    a.body["effective_from"].as_str(),
                    a.body["release"]["effective_date"].as_str()
                ),
                (200, Some(answered), Some("2099-07-01")),
                "{given}: {}",
                a.body
            );
            assert_eq!(current(&db), "20260531", "{given} is in the future");
        }
        // An empty body, `{}` and `null` for the moment mean now.
        let first = db.store.releases(Some(Master::Hot)).expect("releases")[0]
            .release
            .clone();
        for body in ["", "{}", r#"{"effective_from": null}"#] {
            hyojun::app::releases::activate(&db.store, "test", first.id, None)
                .expect("back to the first");
            assert_eq!(current(&db), "20260531");
            let mut request = with_key(Method::POST, &uri, &k.admin);
            if !body.is_empty() {
                request = request
                    .insert_header(("Content-Type", "application/json"))
                    .set_payload(body);
            }
            let a = send(&service, request).await;
            assert_eq!(a.status, 200, "{body:?}: {}", a.body);
            assert_eq!(current(&db), "20260630", "{body:?} activates now");
            // Serving from now on, it is no longer effective from a later date.
            let today = chrono::Utc::now().date_naive().to_string();
            assert_eq!(
                a.body["release"]["effective_date"].as_str(),
                Some(today.as_str()),
                "{}",
                a.body
            );
        }
    }
}

/// Polls a job until `done` holds for it (60 s at most).
async fn job_until<S, B>(service: &S, key: &str, id: i64, done: impl Fn(&Value) -> bool) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, job) = call(service, "GET", &format!("/v1/jobs/{id}"), Some(key), None).await;
        if done(&job) {
            return job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job {id} did not get there: {job}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn ended(job: &Value) -> bool {
    job["state"] == "succeeded" || job["state"] == "failed"
}

/// The files of a sample HOT release folder or distribution.
fn hot_files(names: &[&str]) -> Vec<(String, Vec<u8>)> {
    let root = repo().join("masters/hot");
    let mut files = Vec::new();
    for name in names {
        let path = root.join(name);
        if path.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(&path)
                .expect("dir")
                .map(|e| e.expect("entry").path())
                .collect();
            entries.sort();
            for entry in entries {
                let file = entry
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned();
                files.push((file, std::fs::read(&entry).expect("read")));
            }
        } else {
            files.push((name.to_string(), std::fs::read(&path).expect("read")));
        }
    }
    files
}

async fn upload_hot<S, B>(service: &S, key: &str, names: &[&str]) -> i64
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let files = hot_files(names);
    let parts: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let (content_type, body) = crate::support::multipart(&[("master", "hot")], &parts);
    let a = send(
        service,
        with_key(Method::POST, "/v1/releases", key)
            .insert_header(("Content-Type", content_type))
            .set_payload(body),
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.body);
    let id = a.body["id"].as_i64().expect("job id");
    let location = format!("/v1/jobs/{id}");
    assert_eq!(a.header("location"), Some(location.as_str()));
    id
}

#[actix_web::test]
async fn imports_of_one_master_run_in_upload_order() {
    for db in databases("api_upload_order") {
        let k = keys(&db);
        let uploads = tempfile::tempdir().expect("tmp");
        let service = test::init_service(app(AppState::new(
            db.store.clone(),
            config(Limits::default(), uploads.path()),
        )))
        .await;
        // An import of HOT running on another node (whose upload folder this node does not
        // see), uploaded before both of ours.
        let mut conn = db.store.conn().expect("connection");
        let other_store = "0123456789abcdef0123456789abcdef";
        let request = hyojun::store::job_fields::JobRequest::Import(
            hyojun::store::job_fields::ImportRequest {
                master: "hot".into(),
                version: None,
                activate: false,
                partial: false,
                files: Vec::new(),
            },
        );
        let elsewhere = hyojun::store::jobs::create_job(
            &mut conn,
            &hyojun::store::jobs::NewJob {
                kind: hyojun::store::jobs::JobKind::ImportRelease,
                master: "hot",
                node: "other-node",
                created_by: "test",
                request: &request,
                upload_store: Some(other_store),
            },
        )
        .expect("job");
        let (_, lease) = hyojun::store::jobs::claim(&mut conn, "other-node", other_store)
            .expect("claim")
            .expect("claimed");
        assert_eq!(lease.id, elsewhere);
        drop(conn);
        let older = upload_hot(&service, &k.admin, &["20260531"]).await;
        let newer = upload_hot(
            &service,
            &k.admin,
            &["h20260630.zip", "h20260630_HOT9del.txt"],
        )
        .await;
        let waiting =
            format!("waiting for job {elsewhere}: imports of one master run in upload order");
        for id in [older, newer] {
            let job = job_until(&service, &k.admin, id, |j| {
                j["progress"]["note"] == waiting.as_str()
            })
            .await;
            assert_eq!(job["state"], "queued", "{job}");
        }
        // Its heartbeat goes on (the other node is alive) until it ends.
        let mut conn = db.store.conn().expect("connection");
        assert!(hyojun::store::jobs::beat(&mut conn, &[lease])
            .expect("beat")
            .is_empty());
        drop(conn);
        db.store
            .finish_job(
                lease,
                hyojun::store::jobs::JobState::Failed,
                &hyojun::store::job_fields::JobProblems::none(),
                None,
            )
            .expect("finish");
        let older = job_until(&service, &k.admin, older, ended).await;
        let newer = job_until(&service, &k.admin, newer, ended).await;
        assert_eq!(
            (older["state"].as_str(), newer["state"].as_str()),
            (Some("succeeded"), Some("succeeded")),
            "{} {older} {newer}",
            db.name
        );
        assert!(
            newer["started_at"].as_str() >= older["finished_at"].as_str(),
            "{older} {newer}"
        );
        let labels: Vec<String> = db
            .store
            .releases(Some(Master::Hot))
            .expect("releases")
            .into_iter()
            .map(|r| r.release.label)
            .collect();
        assert_eq!(labels, ["20260531", "20260630"]);
        assert!(
            older["release_id"].as_i64() < newer["release_id"].as_i64(),
            "{older} {newer}"
        );
    }
}

/// A multipart body whose file parts are named with `filename*=UTF-8''…` (RFC 5987) only.
fn multipart_ext_names(files: &[(String, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = "hyojun-test-boundary-ext";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"master\"\r\n\r\nhot\r\n")
            .into_bytes();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''{name}\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[actix_web::test]
async fn uploads_take_file_names_in_either_form() {
    for db in databases("api_upload_names") {
        let k = keys(&db);
        let uploads = tempfile::tempdir().expect("tmp");
        let service = test::init_service(app(AppState::new(
            db.store.clone(),
            config(Limits::default(), uploads.path()),
        )))
        .await;
        // `filename*=` names the files as `filename=` would.
        let (content_type, body) = multipart_ext_names(&hot_files(&["20260531"]));
        let a = send(
            &service,
            with_key(Method::POST, "/v1/releases", &k.admin)
                .insert_header(("Content-Type", content_type))
                .set_payload(body),
        )
        .await;
        assert_eq!(a.status, 202, "{}", a.body);
        let id = a.body["id"].as_i64().expect("job id");
        let job = job_until(&service, &k.admin, id, ended).await;
        assert_eq!(job["state"], "succeeded", "{job}");
        let release = db
            .store
            .find_release(Master::Hot, "20260531")
            .expect("imported");
        let (_, shown) = call(
            &service,
            "GET",
            &format!("/v1/releases/{}", release.id),
            Some(&k.reader),
            None,
        )
        .await;
        let names: Vec<&str> = shown["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["MEDIS20260531_HOT9.TXT", "MEDIS20260531.TXT"],
            "{shown}"
        );
        // A name that decodes to a control character is refused, not written to disk.
        let (content_type, body) =
            multipart_ext_names(&[("MEDIS20260531%00.TXT".to_owned(), b"x".to_vec())]);
        let a = send(
            &service,
            with_key(Method::POST, "/v1/releases", &k.admin)
                .insert_header(("Content-Type", content_type))
                .set_payload(body),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                400,
                "bad_request",
                "file name `MEDIS20260531\\u{0000}.TXT` is not usable"
            )
        );
        // A `file` part that is no file (no name at all) is named as such.
        let (content_type, body) = crate::support::multipart(
            &[("master", "hot"), ("file", "x")],
            &[] as &[(&str, Vec<u8>)],
        );
        let a = send(
            &service,
            with_key(Method::POST, "/v1/releases", &k.admin)
                .insert_header(("Content-Type", content_type))
                .set_payload(body),
        )
        .await;
        assert_eq!(
            a.error(),
            (
                400,
                "bad_request",
                "the `file` part has no file name: send each file as a file part (curl -F file=@PATH)"
            )
        );
    }
}
