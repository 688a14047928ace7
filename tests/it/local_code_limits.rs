//! Hostile and incomplete local-code lists and decision imports over the API, on SQLite and
//! PostgreSQL: each is refused with its exact problems (kind, line, column, message), and the
//! project's local codes and mappings are as before. Limits that need large inputs with the
//! default values are checked on the parser with smaller limits.

use actix_web::test::{self as web_test, init_service};
use hyojun::access::Role;
use hyojun::api::{app, ApiConfig, AppState};
use hyojun::limits::Limits;
use hyojun::mapping::local_codes;
use hyojun::masters::SourceFile;
use serde_json::{json, Value};

use crate::support::databases;

/// (kind, line, column, column name, message) of each problem of a refused request.
type Found = Vec<(String, Option<u64>, Option<u64>, Option<String>, String)>;

fn found(body: &Value) -> Found {
    body["error"]["details"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("problems in {body}"))
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().expect("kind").to_owned(),
                p["line"].as_u64(),
                p["column"].as_u64(),
                p["column_name"].as_str().map(str::to_owned),
                p["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect()
}

fn problem(
    kind: &str,
    line: Option<u64>,
    column: Option<u64>,
    column_name: Option<&str>,
    message: &str,
) -> (String, Option<u64>, Option<u64>, Option<String>, String) {
    (
        kind.to_owned(),
        line,
        column,
        column_name.map(str::to_owned),
        message.to_owned(),
    )
}

const HEADER_ONLY: &str = "the file has a header row but no local codes: uploading it would withdraw every local code of the project";

#[actix_web::test]
async fn bad_lists_and_imports_are_refused_and_change_nothing() {
    let long_name = "あ".repeat(1_001);
    let long_code = "C".repeat(65);
    let wide_header: Vec<String> = (0..201).map(|i| format!("c{i}")).collect();
    let wide = format!(
        "code,name,{}\r\nD1,x{}\r\n",
        wide_header[2..].join(","),
        ",".repeat(199)
    );
    let lists: Vec<(&str, String, Found)> = vec![
        (
            "header only",
            "院内コード,院内名称,件数\r\n".into(),
            vec![problem("header_only", None, None, None, HEADER_ONLY)],
        ),
        (
            "header and blank lines",
            "code,name\r\n\r\n\r\n  \r\n".into(),
            vec![problem("header_only", None, None, None, HEADER_ONLY)],
        ),
        (
            "NUL in a name, ESC in an extra column, tab in a code",
            "code,name,備考\r\nD1,ab\u{0}c,ok\r\nD2,x,\u{1B}[31m\r\nD\t3,y,\"tab\tand\nbreak ok\"\r\n".into(),
            vec![
                problem(
                    "control_character",
                    Some(2),
                    Some(2),
                    Some("name"),
                    "the value holds the control character U+0000 (NUL) at character 3: `ab\\u{0000}c`",
                ),
                problem(
                    "control_character",
                    Some(3),
                    Some(3),
                    Some("備考"),
                    "the value holds the control character U+001B (escape) at character 1: `\\u{001B}[31m`",
                ),
                problem(
                    "control_character",
                    Some(4),
                    Some(1),
                    Some("code"),
                    "the value holds the control character U+0009 (tab) at character 2: `D\\t3`",
                ),
            ],
        ),
        (
            "a name and a code over their limits",
            format!("code,name\r\nD1,{long_name}\r\n{long_code},x\r\n"),
            vec![
                problem(
                    "field_too_long",
                    Some(2),
                    Some(2),
                    Some("name"),
                    &format!(
                        "the name is 1,001 characters long (`{}… (1001 characters)`); the limit is 1,000 characters (HYOJUN_MAX_NAME_CHARS)",
                        "あ".repeat(40)
                    ),
                ),
                problem(
                    "field_too_long",
                    Some(3),
                    Some(1),
                    Some("code"),
                    &format!(
                        "the code is 65 characters long (`{}… (65 characters)`); the limit is 64 characters (HYOJUN_MAX_CODE_CHARS)",
                        "C".repeat(40)
                    ),
                ),
            ],
        ),
        (
            "201 columns",
            wide,
            vec![problem(
                "too_many_columns",
                Some(1),
                None,
                None,
                "the row has 201 columns; the limit is 200 columns (HYOJUN_MAX_COLUMNS)",
            )],
        ),
    ];
    let imports: Vec<(&str, &str, Vec<u8>, Found)> = vec![
        (
            "a CSV import with a control character",
            "csv",
            b"local_code,state,comment\r\nD1,no_match,\x07bell\r\n".to_vec(),
            vec![problem(
                "control_character",
                Some(2),
                Some(3),
                Some("comment"),
                "the value holds the control character U+0007 at character 1: `\\u{0007}bell`",
            )],
        ),
        (
            "a ConceptMap nested 65 levels deep",
            "conceptmap",
            format!(
                "{{\"resourceType\":\"ConceptMap\",\"x\":{}{}}}",
                "[".repeat(64),
                "]".repeat(64)
            )
            .into_bytes(),
            vec![problem(
                "too_deep",
                Some(1),
                None,
                None,
                "arrays and objects nest too deep here; the limit is 64 levels (HYOJUN_MAX_JSON_DEPTH)",
            )],
        ),
    ];

    for db in databases("local_code_limits") {
        let key = |role| {
            hyojun::app::keys::create(&db.store, "test", "k", role)
                .expect("key")
                .key
        };
        let (admin, mapper) = (key(Role::Admin), key(Role::Mapper));
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let created = web_test::TestRequest::post()
            .uri("/v1/mapping/projects")
            .insert_header(("Authorization", format!("Bearer {admin}")))
            .set_json(json!({
                "name": "上限",
                "local_system": "urn:oid:1.2.392.100495.20.3.97",
                "target_systems": ["hot9"],
            }))
            .to_request();
        let created: Value = web_test::call_and_read_body_json(&service, created).await;
        let id = created["id"].as_i64().expect("project id");
        let post = |uri: String, key: &str, body: Vec<u8>| {
            web_test::TestRequest::post()
                .uri(&uri)
                .insert_header(("Authorization", format!("Bearer {key}")))
                .insert_header(("Content-Type", "text/csv"))
                .set_payload(body)
                .to_request()
        };
        let upload = format!("/v1/mapping/projects/{id}/local-codes");
        let good = "code,name,備考\r\nD1,ﾃｽﾀﾐﾄﾞ錠,採用\r\nD2,ケンショウ軟膏,\r\n";
        let response =
            web_test::call_service(&service, post(upload.clone(), &mapper, good.into())).await;
        assert_eq!(response.status().as_u16(), 200, "{}", db.name);
        let state = || async {
            let request = web_test::TestRequest::get()
                .uri(&format!("/v1/mapping/projects/{id}/mappings"))
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .to_request();
            let list: Value = web_test::call_and_read_body_json(&service, request).await;
            let request = web_test::TestRequest::get()
                .uri(&format!("/v1/mapping/projects/{id}/export?format=csv"))
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .to_request();
            let export = web_test::call_and_read_body(&service, request).await;
            (list, export)
        };
        let before = state().await;
        assert_eq!(before.0["total"], 2, "{}", db.name);

        for (what, body, expected) in &lists {
            let response = web_test::call_service(
                &service,
                post(upload.clone(), &mapper, body.clone().into()),
            )
            .await;
            assert_eq!(response.status().as_u16(), 400, "{} {what}", db.name);
            let body: Value = web_test::read_body_json(response).await;
            assert_eq!(body["error"]["code"], "bad_request", "{what}");
            assert_eq!(&found(&body), expected, "{} {what}", db.name);
            assert!(
                body.to_string().len() < 4_000,
                "{what}: the answer quotes excerpts only"
            );
            assert!(
                state().await == before,
                "{} {what}: something changed",
                db.name
            );
        }
        for (what, format, body, expected) in &imports {
            let uri = format!("/v1/mapping/projects/{id}/import?format={format}");
            let response = web_test::call_service(&service, post(uri, &admin, body.clone())).await;
            assert_eq!(response.status().as_u16(), 400, "{} {what}", db.name);
            let body: Value = web_test::read_body_json(response).await;
            assert_eq!(&found(&body), expected, "{} {what}", db.name);
            assert!(
                state().await == before,
                "{} {what}: something changed",
                db.name
            );
        }
    }
}

#[test]
fn row_and_column_limits_of_a_local_code_list() {
    let limits = Limits {
        local_codes: 3,
        columns: 4,
        ..Limits::default()
    };
    let list = |text: &str| SourceFile::new("list.csv".to_owned(), text.as_bytes().to_vec());
    let problems = local_codes::parse(&list("code,name\nA,a\nB,b\nC,c\nD,d\n"), &limits)
        .expect_err("four codes");
    let p = &problems.items()[0];
    assert_eq!((p.kind, p.line, p.column), ("too_many_rows", None, None));
    assert_eq!(
        p.message,
        "the file has 4 local codes; the limit is 3 codes (HYOJUN_MAX_LOCAL_CODES)"
    );
    assert_eq!(
        p.fix,
        "check that this is the right file; if it is genuine, raise the limit with HYOJUN_MAX_LOCAL_CODES=N (now 3)"
    );
    let ok = local_codes::parse(&list("code,name\nA,a\n\nB,b\nC,c\n"), &limits).expect("three");
    assert_eq!(ok.len(), 3);
    let problems =
        local_codes::parse(&list("code,name,a,b,c\nA,a,,,\n"), &limits).expect_err("five");
    assert_eq!(
        problems.items()[0].message,
        "the row has 5 columns; the limit is 4 columns (HYOJUN_MAX_COLUMNS)"
    );
}
