//! What the FHIR endpoint's tests share: a store with real HOT9 releases, requests in FHIR's
//! media type, and the FHIR R4 validator harness (`scripts/fhir-validate`) run on the bodies
//! a test saved.

use std::io::Read;
use std::path::Path;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use serde_json::Value;

use crate::support::{hyojun, repo, shared_data, write_cp932, TestDb};

/// The canonical URL of HOT9.
pub(crate) const HOT9: &str = "http://medis.or.jp/CodeSystem/master-HOT9";

/// The operation's path.
pub(crate) const EXPAND: &str = "/fhir/ValueSet/$expand";
/// The JP Core value set of every HOT9 code.
pub(crate) const HOT9_VS: &str = "http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCodeHOT9_VS";
/// The canonical URL of YJ (codes carried by HOT9 rows).
pub(crate) const YJ: &str = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code";
/// 一般名処方, which hyojun does not hold.
pub(crate) const GENERAL_NAMES: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode";

/// The implicit value set of every HOT9 code.
pub(crate) fn implicit() -> String {
    format!("{HOT9}?fhir_vs")
}

/// The codes of `expansion.contains`.
pub(crate) fn codes(vs: &Value) -> Vec<String> {
    vs["expansion"]["contains"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|i| i["code"].as_str().expect("code").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The value of the expansion parameters named `name`, as JSON.
pub(crate) fn parameters(vs: &Value, name: &str) -> Vec<Value> {
    vs["expansion"]["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == name)
        .map(|p| {
            p.as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.starts_with("value")))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null)
        })
        .collect()
}

/// The one issue of an OperationOutcome: (IssueType, message id, text).
pub(crate) fn issue(outcome: &Value) -> (String, String, String) {
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    let issues = outcome["issue"].as_array().expect("issues");
    assert_eq!(issues.len(), 1, "{outcome}");
    let i = &issues[0];
    assert_eq!(i["severity"], "error", "{outcome}");
    (
        i["code"].as_str().unwrap_or("").to_owned(),
        i["extension"][0]["valueString"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        i["details"]["text"].as_str().unwrap_or("").to_owned(),
    )
}

/// The real HOT9 releases of 2003-01 and 2003-02 (HOT9 files only, so `--partial`), the
/// second serving, with a deletion list that retires a few of its real codes.
pub(crate) struct RealHot9 {
    /// The codes the 2003-02 deletion list retires (each 告示名称 has 錠), ascending.
    pub(crate) retired: Vec<String>,
    /// Every HOT9 code of the 2003-02 file, ascending, each once.
    pub(crate) codes: Vec<String>,
}

/// The rows of a real HOT9 file (`MEDIS{date}_HOT9.utf8.csv.gz`), header excluded, and its
/// text.
fn real_rows(date: &str) -> (String, Vec<Vec<String>>) {
    let gz = std::fs::File::open(shared_data().join(format!(
        "hot-hs001/jp-medicine-master-data_hot9_2001-2003/MEDIS{date}_HOT9.utf8.csv.gz"
    )))
    .expect("real HOT9 file");
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .expect("gunzip");
    let rows = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("csv")
                .iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|r| r.len() == 24)
        .collect();
    (text, rows)
}

/// Imports the two releases into `db` (files written to `dir`).
pub(crate) fn real_hot9(db: &TestDb, dir: &Path) -> RealHot9 {
    let (older, _) = real_rows("20030124");
    let (newer, rows) = real_rows("20030228");
    let older_path = dir.join("MEDIS20030124_HOT9.TXT");
    let newer_path = dir.join("MEDIS20030228_HOT9.TXT");
    write_cp932(&older_path, &older);
    write_cp932(&newer_path, &newer);
    let mut codes: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    codes.sort();
    codes.dedup();
    // Three real products with 錠 in their 告示名称 (column 11), from different places of the
    // file, retired by a deletion list in MEDIS's layout.
    let tablets: Vec<&Vec<String>> = rows.iter().filter(|r| r[10].contains('錠')).collect();
    assert!(tablets.len() > 100, "{} tablets", tablets.len());
    let picked = [
        tablets[7],
        tablets[tablets.len() / 2],
        tablets[tablets.len() - 3],
    ];
    let mut list = String::from(
        "\"基準番号（ＨＯＴ９）\",\"処方用番号（ＨＯＴ７）\",\"告示名称\",\"販売名\",\"削除年月日\"\n",
    );
    for row in picked {
        list.push_str(&format!(
            "\"{}\",\"{}\",\"{}\",\"{}\",\"20030228\"\n",
            row[0], row[1], row[10], row[11]
        ));
    }
    let deleted = dir.join("h20030228_HOT9del.txt");
    write_cp932(&deleted, &list);
    let path = |p: &Path| p.display().to_string();
    assert_eq!(
        hyojun(db, &["import", "hot", &path(&older_path), "--partial"]),
        0,
        "{}",
        db.name
    );
    assert_eq!(
        hyojun(
            db,
            &[
                "import",
                "hot",
                &path(&newer_path),
                &path(&deleted),
                "--partial",
                "--activate"
            ]
        ),
        0,
        "{}",
        db.name
    );
    let mut retired: Vec<String> = picked.iter().map(|r| r[0].clone()).collect();
    retired.sort();
    RealHot9 { retired, codes }
}

/// Percent-encodes a query value.
pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A FHIR request: GET with `query` (name, value pairs), or POST of a `Parameters` body.
pub(crate) async fn fhir<S, B>(
    service: &S,
    path: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
    key: &str,
) -> (u16, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let query: Vec<String> = query
        .iter()
        .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
        .collect();
    let uri = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    };
    fhir_uri(service, &uri, key, body).await
}

/// A FHIR request to `uri`: POST of `body` when given, else GET. The answer must be
/// `application/fhir+json`; returns (status, body).
pub(crate) async fn fhir_uri<S, B>(
    service: &S,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = body.map(|b| serde_json::to_vec(&b).expect("json"));
    let (status, content_type, bytes) = fhir_bytes(service, uri, key, body).await;
    assert!(
        content_type.starts_with("application/fhir+json"),
        "{uri}: {status} answered as {content_type}"
    );
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{uri}: {status} body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, value)
}

/// A FHIR request to `uri`: POST of `body` (any bytes, sent as FHIR JSON) when given, else
/// GET; returns (status, content type, body) as answered.
pub(crate) async fn fhir_bytes<S, B>(
    service: &S,
    uri: &str,
    key: &str,
    body: Option<Vec<u8>>,
) -> (u16, String, actix_web::web::Bytes)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let request = match &body {
        Some(_) => test::TestRequest::post(),
        None => test::TestRequest::get(),
    }
    .uri(uri)
    .insert_header(("Authorization", format!("Bearer {key}")))
    .insert_header(("Accept", "application/fhir+json"));
    let request = match body {
        Some(body) => request
            .insert_header(("Content-Type", "application/fhir+json; fhirVersion=4.0"))
            .set_payload(body),
        None => request,
    };
    let response = test::call_service(service, request.to_request()).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, test::read_body(response).await)
}

/// Saves a response body for [`validate_saved`] as `dir/NAME.json`.
pub(crate) fn save(dir: &Path, name: &str, body: &Value) {
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_vec_pretty(body).expect("json"),
    )
    .expect("save body");
}

/// Runs the FHIR R4 validator harness on every body saved in `dir`: each must be valid. A
/// harness that cannot run (no python3 or npm, no registry) fails the test, never skips it.
pub(crate) fn validate_saved(dir: &Path) {
    let saved = std::fs::read_dir(dir).expect("saved bodies").count();
    assert!(saved > 0, "no bodies saved in {}", dir.display());
    let script = repo().join("scripts/fhir-validate");
    let output = std::process::Command::new(&script)
        .arg(dir)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(1) => panic!("the FHIR R4 validator finds invalid responses:\n{stdout}\n{stderr}"),
        other => panic!(
            "the FHIR R4 validator harness could not run (exit {other:?}); it must, for this \
             test to mean anything:\n{stdout}\n{stderr}"
        ),
    }
    let ok = stdout.lines().filter(|l| l.starts_with("OK ")).count();
    assert_eq!(ok, saved, "every saved body is checked:\n{stdout}");
}
