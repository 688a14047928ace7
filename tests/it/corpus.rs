//! The malformed-input corpus (`tests/corpus/`, written by `make_corpus.py`): every bad
//! input, over the CLI, the upload API, local-code uploads, decision imports and plain HTTP
//! requests, gets exactly its expected outcome (exit code or status, error code, problem kind,
//! file, line, column, message) on SQLite and PostgreSQL, and leaves the database as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use actix_web::test;
use serde::Deserialize;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};
use hyojun::masters::{self, NoProgress, ParseOptions};
use hyojun::systems::Master;

use crate::api::{call, keys, sample_db, wait_for_job};
use crate::support::{databases, fingerprint, hyojun, multipart, repo, TestDb};

#[derive(Debug, Deserialize)]
struct Case {
    id: String,
    what: String,
    channel: String,
    master: Option<String>,
    files: Vec<String>,
    args: Vec<String>,
    request: Option<Value>,
    expect: Value,
}

fn corpus() -> PathBuf {
    repo().join("tests/corpus")
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus().join("cases.json"))
        .expect("tests/corpus/cases.json (python3 tests/corpus/make_corpus.py writes it)");
    serde_json::from_str(&text).expect("cases.json")
}

impl Case {
    fn path(&self, file: &str) -> PathBuf {
        if Path::new(file).is_absolute() {
            PathBuf::from(file)
        } else {
            corpus().join("cases").join(&self.id).join(file)
        }
    }

    fn bytes(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.path(file)).unwrap_or_else(|e| panic!("{}: {file}: {e}", self.id))
    }

    fn expected(&self, key: &str) -> Option<&Value> {
        self.expect.get(key)
    }
}

/// At most 400 characters of a failure's evidence (a bad answer may quote megabytes).
fn cut(text: &str) -> String {
    match text.char_indices().nth(400) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
        None => text.to_owned(),
    }
}

/// Checks a problem (`{file, line, column, kind, message}`) against the case's expectation.
fn check_problem(case: &Case, problem: &Value) -> Result<(), String> {
    let at = || format!("got {}", cut(&problem.to_string()));
    eprintln!(
        "corpus {}: {} {}",
        case.id,
        problem["kind"],
        cut(problem["message"].as_str().unwrap_or(""))
    );
    if let Some(kind) = case.expected("kind") {
        if &problem["kind"] != kind {
            return Err(format!("kind should be {kind}: {}", at()));
        }
    }
    if let Some(file) = case.expected("file").and_then(Value::as_str) {
        let got = problem["file"].as_str().unwrap_or("");
        if !got.ends_with(file) {
            return Err(format!("file should end with {file}: {}", at()));
        }
    }
    for key in ["line", "column"] {
        if let Some(want) = case.expected(key) {
            if &problem[key] != want {
                return Err(format!("{key} should be {want}: {}", at()));
            }
        }
    }
    let message = problem["message"].as_str().unwrap_or("");
    if let Some(fragment) = case.expected("message").and_then(Value::as_str) {
        if !message.contains(fragment) {
            return Err(format!("message lacks `{fragment}`: {}", at()));
        }
    }
    if message.chars().count() > 600 || message.chars().any(char::is_control) {
        return Err(format!(
            "a message must be short and hold no control characters: {}",
            at()
        ));
    }
    Ok(())
}

/// `hyojun import`: the exit code, and the first problem the parser reports.
fn import_case(db: &TestDb, case: &Case) -> Result<(), String> {
    let master = case.master.as_deref().expect("master");
    let paths: Vec<String> = case
        .files
        .iter()
        .map(|f| case.path(f).display().to_string())
        .collect();
    let mut argv = vec!["import", master];
    argv.extend(paths.iter().map(String::as_str));
    argv.extend(case.args.iter().map(String::as_str));
    let exit = hyojun(db, &argv);
    if Some(exit as i64) != case.expect["exit"].as_i64() {
        return Err(format!(
            "exit code {exit}, expected {}",
            case.expect["exit"]
        ));
    }
    if case.expected("kind").is_none() {
        return Ok(());
    }
    let label = case
        .args
        .iter()
        .position(|a| a == "--version")
        .map(|i| case.args[i + 1].clone());
    let options = ParseOptions {
        label,
        partial: case.args.iter().any(|a| a == "--partial"),
        ..ParseOptions::default()
    };
    let master: Master = master.parse().expect("master");
    let problems = masters::parse_release(master, &paths, &options, &NoProgress)
        .err()
        .ok_or("the parser accepted it")?;
    check_problem(
        case,
        &serde_json::to_value(&problems.items()[0]).expect("json"),
    )
}

/// An error envelope answer: status, code and (unless the case's message is its problem's)
/// message.
fn check_envelope(case: &Case, status: u16, body: &Value) -> Result<(), String> {
    let at = || format!("got {status} {}", cut(&body.to_string()));
    eprintln!(
        "corpus {}: {status} {} {}",
        case.id,
        body["error"]["code"],
        cut(body["error"]["message"].as_str().unwrap_or(""))
    );
    if Some(status as u64) != case.expect["status"].as_u64() {
        return Err(format!(
            "status should be {}: {}",
            case.expect["status"],
            at()
        ));
    }
    if let Some(code) = case.expected("code") {
        if &body["error"]["code"] != code {
            return Err(format!("code should be {code}: {}", at()));
        }
    }
    let problem_message = case.expected("kind").is_some();
    if let Some(fragment) = case.expected("message").and_then(Value::as_str) {
        let message = body["error"]["message"].as_str().unwrap_or("");
        if !problem_message && !message.contains(fragment) {
            return Err(format!("message lacks `{fragment}`: {}", at()));
        }
    }
    Ok(())
}

/// Sends one raw request (any method, body and headers) with the admin key unless the case
/// sets its own `Authorization`.
async fn raw<S, B>(service: &S, admin: &str, case: &Case, path: &str) -> (u16, Value)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let request = case.request.as_ref().expect("request");
    let method = request["method"].as_str().unwrap_or("GET");
    let mut req = test::TestRequest::default()
        .method(method.parse().expect("method"))
        .uri(path);
    let headers = request["headers"].as_array().cloned().unwrap_or_default();
    if !headers
        .iter()
        .any(|h| h[0].as_str() == Some("Authorization"))
    {
        req = req.insert_header(("Authorization", format!("Bearer {admin}")));
    }
    for h in &headers {
        req = req.insert_header((
            h[0].as_str().unwrap_or("").to_owned(),
            h[1].as_str().unwrap_or("").to_owned(),
        ));
    }
    if let Some(file) = case.files.first() {
        if let Some(ct) = request["content_type"].as_str() {
            req = req.insert_header(("Content-Type", ct.to_owned()));
        }
        req = req.set_payload(case.bytes(file));
    }
    let response = test::call_service(service, req.to_request()).await;
    let status = response.status().as_u16();
    let bytes = test::read_body(response).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

/// Everything a mapping project holds, as the API shows it.
async fn project_state<S, B>(service: &S, key: &str, project: i64) -> Value
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let (_, mappings) = call(
        service,
        "GET",
        &format!("/v1/mapping/projects/{project}/mappings?limit=1000"),
        Some(key),
        None,
    )
    .await;
    let (_, project) = call(
        service,
        "GET",
        &format!("/v1/mapping/projects/{project}"),
        Some(key),
        None,
    )
    .await;
    json!({"mappings": mappings, "project": project})
}

#[actix_web::test]
async fn every_bad_input_gets_its_outcome_and_changes_nothing() {
    let cases = cases();
    assert!(cases.len() >= 60, "the corpus holds {} cases", cases.len());
    for db in databases("corpus") {
        sample_db(&db);
        let k = keys(&db);
        let uploads = tempfile::tempdir().expect("tmp");
        let config = ApiConfig {
            upload_dir: uploads.path().to_owned(),
            ..ApiConfig::default()
        };
        let service = test::init_service(app(AppState::new(db.store.clone(), config))).await;
        let (status, project) = call(
            &service,
            "POST",
            "/v1/mapping/projects",
            Some(&k.admin),
            Some(json!({"name": "corpus", "local_system": "urn:oid:1.2.3", "target_systems": ["hot9"]})),
        )
        .await;
        assert_eq!(status, 201, "{project}");
        let project = project["id"].as_i64().expect("project id");
        let good = "code,name,unit\nD001,ヒョウジュン錠１０ｍｇ,錠\n";
        let req = test::TestRequest::post()
            .uri(&format!("/v1/mapping/projects/{project}/local-codes"))
            .insert_header(("Authorization", format!("Bearer {}", k.mapper)))
            .insert_header(("Content-Type", "text/csv"))
            .set_payload(good)
            .to_request();
        assert_eq!(test::call_service(&service, req).await.status(), 200);

        let mut before = fingerprint(&db);
        let held = project_state(&service, &k.admin, project).await;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut failures = Vec::new();
        for case in &cases {
            let outcome: Result<(), String> = match case.channel.as_str() {
                "import" => import_case(&db, case),
                "upload" => {
                    let fields: Vec<(String, String)> = case.request.as_ref().expect("request")
                        ["fields"]
                        .as_array()
                        .expect("fields")
                        .iter()
                        .map(|f| {
                            (
                                f[0].as_str().unwrap_or("").to_owned(),
                                f[1].as_str().unwrap_or("").to_owned(),
                            )
                        })
                        .collect();
                    let fields: Vec<(&str, &str)> = fields
                        .iter()
                        .map(|(a, b)| (a.as_str(), b.as_str()))
                        .collect();
                    let files: Vec<(&str, Vec<u8>)> = case
                        .files
                        .iter()
                        .map(|f| (f.as_str(), case.bytes(f)))
                        .collect();
                    let (content_type, body) = multipart(&fields, &files);
                    let req = test::TestRequest::post()
                        .uri("/v1/releases")
                        .insert_header(("Authorization", format!("Bearer {}", k.admin)))
                        .insert_header(("Content-Type", content_type))
                        .set_payload(body)
                        .to_request();
                    let response = test::call_service(&service, req).await;
                    let status = response.status().as_u16();
                    let body: Value = serde_json::from_slice(&test::read_body(response).await)
                        .unwrap_or_default();
                    match (case.expected("job"), body["id"].as_i64()) {
                        (Some(state), Some(id)) if status == 202 => {
                            let job = wait_for_job(&service, &k.admin, id).await;
                            if &job["state"] == state {
                                check_problem(case, &job["problems"]["items"][0])
                            } else {
                                Err(format!(
                                    "the job should have {state}: {}",
                                    cut(&job.to_string())
                                ))
                            }
                        }
                        (Some(_), _) => Err(format!(
                            "expected a job: {status} {}",
                            cut(&body.to_string())
                        )),
                        (None, _) => check_envelope(case, status, &body),
                    }
                }
                "local_codes" | "decisions" => {
                    let (path, key) = if case.channel == "local_codes" {
                        (
                            format!("/v1/mapping/projects/{project}/local-codes"),
                            &k.mapper,
                        )
                    } else {
                        let format = case.request.as_ref().expect("request")["format"]
                            .as_str()
                            .expect("format");
                        (
                            format!("/v1/mapping/projects/{project}/import?format={format}"),
                            &k.admin,
                        )
                    };
                    let req = test::TestRequest::post()
                        .uri(&path)
                        .insert_header(("Authorization", format!("Bearer {key}")))
                        .insert_header(("Content-Type", "text/csv"))
                        .set_payload(case.bytes(&case.files[0]))
                        .to_request();
                    let response = test::call_service(&service, req).await;
                    let status = response.status().as_u16();
                    let body: Value = serde_json::from_slice(&test::read_body(response).await)
                        .unwrap_or_default();
                    let checked = check_envelope(case, status, &body).and_then(|()| {
                        match case.expected("kind") {
                            Some(_) => check_problem(case, &body["error"]["details"]["items"][0]),
                            None => Ok(()),
                        }
                    });
                    if project_state(&service, &k.admin, project).await != held {
                        failures.push(format!("{}: the mapping project changed", case.id));
                    }
                    checked
                }
                "http" => {
                    let path = case.request.as_ref().expect("request")["path"]
                        .as_str()
                        .expect("path")
                        .to_owned();
                    let (status, body) = raw(&service, &k.admin, case, &path).await;
                    check_envelope(case, status, &body)
                }
                other => Err(format!("unknown channel {other}")),
            };
            if let Err(e) = outcome {
                failures.push(format!("{} ({}): {e}", case.id, case.what));
            }
            let after = fingerprint(&db);
            if after != before {
                failures.push(format!("{}: {} changed the database", case.id, case.what));
                before = after;
            }
            *counts.entry(case.channel.as_str()).or_default() += 1;
        }
        assert!(
            failures.is_empty(),
            "{}: {} of {} cases failed:\n{}",
            db.name,
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
        eprintln!(
            "{}: {} bad inputs refused as expected, nothing changed: {counts:?}",
            db.name,
            cases.len()
        );
    }
}
