//! The FHIR endpoint (`/fhir`) in-process on SQLite and PostgreSQL: the handshake, lookup,
//! every status `$validate-code` reports on real HOT9 releases (and the samples' 移行先),
//! value sets, batches, `$check-codes`, resources; and every response body kind checked
//! against the FHIR R4 definitions by `scripts/fhir-validate`.

use std::path::Path;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};

use crate::api::keys;
use crate::real_hot9::real_files;
use crate::support::{databases, hyojun, repo, TestDb};

pub(crate) const HOT9: &str = "http://medis.or.jp/CodeSystem/master-HOT9";
pub(crate) const BYOMEI: &str = "http://medis.or.jp/CodeSystem/master-disease-keyNumber";

/// The last two real HOT9 files (2003-01-24, 2003-02-28) as partial releases of HOT (the
/// HOT9 file alone), the newer one activated; the samples' 病名 releases (移行先 links).
pub(crate) fn load(db: &TestDb, dir: &Path) {
    let files = real_files(dir);
    for file in &files[7..] {
        let path = file.cp932.display().to_string();
        assert_eq!(hyojun(db, &["import", "hot", &path, "--partial"]), 0);
    }
    assert_eq!(hyojun(db, &["activate", "hot", "20030228"]), 0);
    for zip in ["byomei518.zip", "byomei519.zip"] {
        let path = repo()
            .join("masters/byomei")
            .join(zip)
            .display()
            .to_string();
        assert_eq!(hyojun(db, &["import", "byomei", &path, "--activate"]), 0);
    }
}

/// A response: status and JSON body; bodies are kept for the R4 validator.
struct Bodies {
    dir: tempfile::TempDir,
    n: usize,
}

impl Bodies {
    fn keep(&mut self, name: &str, body: &Value) {
        self.n += 1;
        let path = self.dir.path().join(format!("{:03}-{name}.json", self.n));
        std::fs::write(path, serde_json::to_vec_pretty(body).expect("json")).expect("write");
    }
}

pub(crate) async fn fhir<S, B>(
    service: &S,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut request = if method == "POST" {
        test::TestRequest::post()
    } else {
        test::TestRequest::get()
    }
    .uri(uri);
    if let Some(key) = key {
        request = request.insert_header(("Authorization", format!("Bearer {key}")));
    }
    if let Some(body) = body {
        request = request
            .insert_header(("Content-Type", "application/fhir+json"))
            .set_payload(body.to_string());
    }
    let response = test::call_service(service, request.to_request()).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = test::read_body(response).await;
    let value = serde_json::from_slice(&bytes).expect("a JSON body");
    (status, content_type, value)
}

/// The value of output parameter `name` (its `valueX` or resource).
pub(crate) fn param<'a>(p: &'a Value, name: &str) -> Option<&'a Value> {
    p["parameter"]
        .as_array()?
        .iter()
        .find(|x| x["name"] == name)
        .map(|x| {
            x.as_object()
                .and_then(|o| {
                    o.iter()
                        .find(|(k, _)| k.starts_with("value") || *k == "resource")
                })
                .map_or(&Value::Null, |(_, v)| v)
        })
}

/// (severity, tx-issue-type, message id, text, expression) of each issue of `issues`.
fn issues(p: &Value) -> Vec<(String, String, String, String, String)> {
    param(p, "issues")
        .and_then(|o| o["issue"].as_array())
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["severity"].as_str().unwrap_or("").to_owned(),
                i["details"]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                i["extension"][0]["valueString"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                i["details"]["text"].as_str().unwrap_or("").to_owned(),
                i["expression"][0].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn validate_uri(pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    format!("/fhir/CodeSystem/$validate-code?{}", q.join("&"))
}

#[actix_web::test]
async fn fhir_terminology_on_real_hot9_releases_and_the_samples() {
    for db in databases("fhir") {
        let dir = tempfile::tempdir().expect("tmp");
        load(&db, dir.path());
        let k = keys(&db);
        let key = Some(k.reader.as_str());
        let service = test::init_service(app(AppState::new(
            db.store.clone(),
            ApiConfig {
                warm_up: false,
                ..ApiConfig::default()
            },
        )))
        .await;
        let mut bodies = Bodies {
            dir: tempfile::tempdir().expect("tmp"),
            n: 0,
        };
        let name = db.name;

        // The handshake answers without a key; everything else needs one.
        let (status, content_type, versions) =
            fhir(&service, "GET", "/fhir/$versions", None, None).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/fhir+json; charset=utf-8")
        );
        assert_eq!(param(&versions, "default"), Some(&json!("4.0")));
        bodies.keep("versions", &versions);
        let (status, _, caps) = fhir(&service, "GET", "/fhir/metadata", None, None).await;
        assert_eq!((status, caps["fhirVersion"].as_str()), (200, Some("4.0.1")));
        bodies.keep("capabilities", &caps);
        let (status, _, terms) = fhir(
            &service,
            "GET",
            "/fhir/metadata?mode=terminology",
            None,
            None,
        )
        .await;
        assert_eq!(status, 200);
        let hot9 = terms["codeSystem"]
            .as_array()
            .expect("code systems")
            .iter()
            .find(|c| c["uri"] == HOT9)
            .expect("HOT9 listed");
        assert_eq!(
            hot9["version"],
            json!([{"code": "20030124"}, {"code": "20030228", "isDefault": true}]),
            "{name}"
        );
        bodies.keep("terminology", &terms);
        let (status, _, refused) = fhir(
            &service,
            "GET",
            &validate_uri(&[("url", HOT9), ("code", "100137201")]),
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, refused["resourceType"].as_str()),
            (401, Some("OperationOutcome"))
        );
        bodies.keep("unauthorized", &refused);

        // A code of the activated release, with its display; a width-only difference names
        // the display it is equal to; whitespace only, likewise.
        let (status, _, ok) = fhir(
            &service,
            "GET",
            &validate_uri(&[("url", HOT9), ("code", "100137201")]),
            key,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            (
                param(&ok, "result"),
                param(&ok, "display"),
                param(&ok, "version")
            ),
            (
                Some(&json!(true)),
                Some(&json!("プレドニン注（１％）")),
                Some(&json!("20030228"))
            ),
            "{name}: {ok}"
        );
        bodies.keep("validate-ok", &ok);
        let (_, _, width) = fhir(
            &service,
            "GET",
            &validate_uri(&[
                ("url", HOT9),
                ("code", "100137201"),
                ("display", "プレドニン注(1%)"),
            ]),
            key,
            None,
        )
        .await;
        assert_eq!(param(&width, "result"), Some(&json!(false)));
        assert_eq!(
            issues(&width),
            vec![
                ("error".into(), "invalid-display".into(), "Display_Name_for__should_be_one_of__instead_of".into(),
                 "Wrong Display Name 'プレドニン注(1%)' for http://medis.or.jp/CodeSystem/master-HOT9#100137201. Valid display is 'プレドニン注（１％）' (ja) (for the language(s) '--')".into(), "display".into()),
                ("information".into(), "invalid-display".into(), "HYOJUN_DISPLAY_WIDTH".into(),
                 "The display 'プレドニン注(1%)' differs from the valid display 'プレドニン注（１％）' only in character width (full-width and half-width forms)".into(), "display".into()),
            ],
            "{name}"
        );
        bodies.keep("validate-width", &width);
        let (_, _, lenient) = fhir(
            &service,
            "GET",
            &validate_uri(&[
                ("url", HOT9),
                ("code", "100137201"),
                ("display", "プレドニン注(1%)"),
                ("lenient-display-validation", "true"),
            ]),
            key,
            None,
        )
        .await;
        assert_eq!(param(&lenient, "result"), Some(&json!(true)));
        assert_eq!(issues(&lenient)[0].0, "warning");
        let (_, _, ws) = fhir(
            &service,
            "GET",
            &validate_uri(&[
                ("url", HOT9),
                ("code", "100715202"),
                ("display", "アンヒバ ５０ｍｇ"),
            ]),
            key,
            None,
        )
        .await;
        assert_eq!(
            issues(&ws)[0].2,
            "Display_Name_WS_for__should_be_one_of__instead_of",
            "{ws}"
        );

        // A code the newer release dropped: unknown there, with the release it was last in;
        // valid in the older one when that version is asked for.
        let (_, _, dropped) = fhir(
            &service,
            "GET",
            &validate_uri(&[("url", HOT9), ("code", "100738103")]),
            key,
            None,
        )
        .await;
        assert_eq!(param(&dropped, "result"), Some(&json!(false)));
        assert_eq!(
            issues(&dropped).iter().map(|i| (i.2.as_str(), i.3.as_str())).collect::<Vec<_>>(),
            vec![
                ("Unknown_Code_in_Version", "Unknown code '100738103' in the CodeSystem 'http://medis.or.jp/CodeSystem/master-HOT9' version '20030228'"),
                ("HYOJUN_CODE_DROPPED", "The code '100738103' is not in version '20030228' of the CodeSystem 'http://medis.or.jp/CodeSystem/master-HOT9'; it was last in version '20030124'"),
            ],
            "{name}"
        );
        bodies.keep("validate-dropped", &dropped);
        let (_, _, older) = fhir(
            &service,
            "GET",
            &validate_uri(&[
                ("url", HOT9),
                ("code", "100738103"),
                ("version", "20030124"),
            ]),
            key,
            None,
        )
        .await;
        assert_eq!(
            (param(&older, "result"), param(&older, "version")),
            (Some(&json!(true)), Some(&json!("20030124")))
        );

        // Unknown code, unknown version (with the valid ones), unknown system, an OID.
        let (_, _, unknown) = fhir(
            &service,
            "GET",
            &validate_uri(&[("url", HOT9), ("code", "999999999")]),
            key,
            None,
        )
        .await;
        assert_eq!(issues(&unknown).len(), 1);
        assert_eq!(issues(&unknown)[0].1, "invalid-code");
        let (_, _, version) = fhir(
            &service,
            "GET",
            &validate_uri(&[
                ("url", HOT9),
                ("code", "100137201"),
                ("version", "20990101"),
            ]),
            key,
            None,
        )
        .await;
        assert_eq!(
            (param(&version, "x-caused-by-unknown-system"), issues(&version)[0].3.as_str()),
            (Some(&json!(format!("{HOT9}|20990101"))), "A definition for CodeSystem 'http://medis.or.jp/CodeSystem/master-HOT9' version '20990101' could not be found, so the code cannot be validated. Valid versions: 20030124 or 20030228"),
            "{name}"
        );
        bodies.keep("validate-version", &version);
        let (_, _, system) = fhir(
            &service,
            "GET",
            &validate_uri(&[("url", "http://example.org/cs"), ("code", "1")]),
            key,
            None,
        )
        .await;
        assert_eq!(
            param(&system, "x-caused-by-unknown-system"),
            Some(&json!("http://example.org/cs"))
        );
        let (_, _, oid) = fhir(
            &service,
            "GET",
            &validate_uri(&[
                ("url", "urn:oid:1.2.392.200119.4.403.1"),
                ("code", "100137201"),
            ]),
            key,
            None,
        )
        .await;
        assert_eq!(param(&oid, "result"), Some(&json!(true)), "{oid}");
        assert_eq!(issues(&oid)[0].2, "HYOJUN_OID_SYSTEM");
        bodies.keep("validate-oid", &oid);

        // Japanese messages when Accept-Language prefers ja.
        let request = test::TestRequest::get()
            .uri(&validate_uri(&[("url", HOT9), ("code", "100738103")]))
            .insert_header(("Authorization", format!("Bearer {}", k.reader)))
            .insert_header(("Accept-Language", "ja,en;q=0.5"))
            .to_request();
        let ja: Value = test::call_and_read_body_json(&service, request).await;
        assert_eq!(issues(&ja)[1].3, "コード'100738103'はコードシステム'http://medis.or.jp/CodeSystem/master-HOT9'のバージョン'20030228'にありません。最後に含まれていたのはバージョン'20030124'です");

        // An abolished 病名 (retired, still in the release): valid, with a warning and its 移行先.
        let coding = json!({"resourceType": "Parameters", "parameter": [
            {"name": "coding", "valueCoding": {"system": BYOMEI, "code": "29990008"}}
        ]});
        let (_, _, abolished) = fhir(
            &service,
            "POST",
            "/fhir/CodeSystem/$validate-code?",
            key,
            Some(coding),
        )
        .await;
        assert_eq!(
            (param(&abolished, "result"), param(&abolished, "inactive")),
            (Some(&json!(true)), Some(&json!(true))),
            "{name}: {abolished}"
        );
        let found = issues(&abolished);
        assert_eq!(found[0].2, "INACTIVE_CONCEPT_FOUND");
        assert_eq!(found[0].4, "Coding");
        assert_eq!(found[1].2, "HYOJUN_SUCCESSOR", "{abolished}");
        bodies.keep("validate-retired", &abolished);

        // Value sets: a JP Core value set, its implicit value set, another system's code.
        let vs = |url: &str, system: &str, code: &str| {
            format!(
                "/fhir/ValueSet/$validate-code?url={}&system={}&code={code}",
                enc(url),
                enc(system)
            )
        };
        let (_, _, member) = fhir(
            &service,
            "GET",
            &vs(
                "http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCodeHOT9_VS",
                HOT9,
                "100137201",
            ),
            key,
            None,
        )
        .await;
        assert_eq!(param(&member, "result"), Some(&json!(true)), "{member}");
        let (_, _, other) = fhir(
            &service,
            "GET",
            &vs(
                "http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCodeHOT9_VS",
                BYOMEI,
                "29990008",
            ),
            key,
            None,
        )
        .await;
        assert_eq!(issues(&other)[0].1, "not-in-vs", "{other}");
        bodies.keep("vs-not-member", &other);
        let (status, _, missing) = fhir(
            &service,
            "GET",
            &vs("http://example.org/ValueSet/none", HOT9, "1"),
            key,
            None,
        )
        .await;
        assert_eq!(
            (
                status,
                missing["issue"][0]["details"]["coding"][0]["code"].as_str()
            ),
            (404, Some("not-found"))
        );
        bodies.keep("vs-unknown", &missing);

        // Lookup: display, designations and properties.
        let (_, _, looked) = fhir(
            &service,
            "GET",
            &format!(
                "/fhir/CodeSystem/$lookup?system={}&code=100137201",
                enc(HOT9)
            ),
            key,
            None,
        )
        .await;
        assert_eq!(
            param(&looked, "display"),
            Some(&json!("プレドニン注（１％）"))
        );
        bodies.keep("lookup", &looked);

        // 10,000 codings in one batch, one answer each, in order; 10,001 refused.
        let mut codes: Vec<String> = real_files(dir.path())[8]
            .rows
            .iter()
            .map(|r| r[0].clone())
            .collect();
        codes.sort();
        codes.dedup();
        codes.truncate(10_000);
        assert_eq!(codes.len(), 10_000);
        let items: Vec<Value> = codes
            .iter()
            .map(|c| json!({"name": "validation", "resource": {"resourceType": "Parameters", "parameter": [
                {"name": "coding", "valueCoding": {"system": HOT9, "code": c}}]}}))
            .collect();
        let mut batch = vec![json!({"name": "url", "valueUri": format!("{HOT9}?fhir_vs")})];
        batch.extend(items.clone());
        let (status, _, answered) = fhir(
            &service,
            "POST",
            "/fhir/ValueSet/$batch-validate-code",
            key,
            Some(json!({"resourceType": "Parameters", "parameter": batch})),
        )
        .await;
        assert_eq!(status, 200, "{name}");
        let results = answered["parameter"].as_array().expect("validations");
        assert_eq!(results.len(), 10_000);
        for (code, r) in codes.iter().zip(results) {
            let p = &r["resource"];
            assert_eq!(
                (param(p, "code"), param(p, "result")),
                (Some(&json!(code)), Some(&json!(true))),
                "{code}"
            );
        }
        let mut too_many = vec![json!({"name": "url", "valueUri": format!("{HOT9}?fhir_vs")})];
        too_many.extend(
            items
                .iter()
                .cloned()
                .chain(std::iter::once(items[0].clone())),
        );
        let (status, _, _) = fhir(
            &service,
            "POST",
            "/fhir/ValueSet/$batch-validate-code",
            key,
            Some(json!({"resourceType": "Parameters", "parameter": too_many})),
        )
        .await;
        assert_eq!(status, 400);

        // A whole document: every coding's verdict at its path.
        let document = json!({"resourceType": "Bundle", "type": "document", "entry": [
            {"resource": {"resourceType": "MedicationRequest", "medicationCodeableConcept": {"coding": [
                {"system": HOT9, "code": "100137201", "display": "プレドニン注（１％）"},
                {"system": HOT9, "code": "100738103"},
                {"system": "http://medis.or.jp/CodeSystem/master-HOTX", "code": "1"}
            ]}}},
            {"resource": {"resourceType": "Condition", "code": {"coding": [
                {"system": BYOMEI, "code": "29990008"},
                {"system": "http://example.org/local", "code": "x"}
            ]}}},
            {"resource": {"resourceType": "Condition", "code": {"coding": [
                {"system": HOT9, "code": "100137201", "display": "プレドニン注(1%)"}
            ]}}}
        ]});
        let (status, _, checked) = fhir(
            &service,
            "POST",
            "/fhir/Bundle/$check-codes",
            key,
            Some(document),
        )
        .await;
        assert_eq!(status, 200);
        let verdicts: Vec<(&str, &str, &str)> = checked["issue"]
            .as_array()
            .expect("issues")
            .iter()
            .map(|i| {
                (
                    i["severity"].as_str().unwrap_or(""),
                    i["extension"][0]["valueString"].as_str().unwrap_or(""),
                    i["expression"][0].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            verdicts,
            vec![
                (
                    "information",
                    "HYOJUN_CODING_VALID",
                    "Bundle.entry[0].resource.medicationCodeableConcept.coding[0]"
                ),
                (
                    "error",
                    "Unknown_Code_in_Version",
                    "Bundle.entry[0].resource.medicationCodeableConcept.coding[1].code"
                ),
                (
                    "information",
                    "HYOJUN_CODE_DROPPED",
                    "Bundle.entry[0].resource.medicationCodeableConcept.coding[1].code"
                ),
                (
                    "error",
                    "UNKNOWN_CODESYSTEM",
                    "Bundle.entry[0].resource.medicationCodeableConcept.coding[2].system"
                ),
                (
                    "warning",
                    "INACTIVE_CONCEPT_FOUND",
                    "Bundle.entry[1].resource.code.coding[0]"
                ),
                (
                    "information",
                    "HYOJUN_SUCCESSOR",
                    "Bundle.entry[1].resource.code.coding[0]"
                ),
                (
                    "information",
                    "HYOJUN_CODING_VALID",
                    "Bundle.entry[1].resource.code.coding[0]"
                ),
                (
                    "information",
                    "UNKNOWN_CODESYSTEM",
                    "Bundle.entry[1].resource.code.coding[1].system"
                ),
                (
                    "error",
                    "Display_Name_for__should_be_one_of__instead_of",
                    "Bundle.entry[2].resource.code.coding[0].display"
                ),
                (
                    "information",
                    "HYOJUN_DISPLAY_WIDTH",
                    "Bundle.entry[2].resource.code.coding[0].display"
                ),
                (
                    "error",
                    "TX_GENERAL_CC_ERROR_MESSAGE",
                    "Bundle.entry[2].resource.code"
                ),
            ],
            "{name}: {checked}"
        );
        bodies.keep("check-codes", &checked);

        // Resources: CodeSystem per release, ValueSets, a searchset; a batch Bundle.
        let (_, _, searched) = fhir(
            &service,
            "GET",
            &format!("/fhir/CodeSystem?url={}", enc(HOT9)),
            key,
            None,
        )
        .await;
        assert_eq!(searched["total"], 2);
        bodies.keep("codesystem-search", &searched);
        let (status, _, cs) =
            fhir(&service, "GET", "/fhir/CodeSystem/hot9-20030228", key, None).await;
        assert_eq!(
            (status, cs["version"].as_str(), cs["content"].as_str()),
            (200, Some("20030228"), Some("not-present"))
        );
        let (_, _, vss) = fhir(&service, "GET", "/fhir/ValueSet", key, None).await;
        bodies.keep("valueset-search", &vss);
        let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": validate_uri(&[("url", HOT9), ("code", "100137201")]).trim_start_matches("/fhir/")}},
            {"request": {"method": "GET", "url": "Patient/1"}}
        ]});
        let (status, _, batch_response) = fhir(&service, "POST", "/fhir", key, Some(bundle)).await;
        assert_eq!(status, 200);
        assert_eq!(batch_response["entry"][0]["response"]["status"], "200 OK");
        assert_eq!(
            batch_response["entry"][1]["response"]["status"],
            "404 Not Found"
        );
        bodies.keep("batch-bundle", &batch_response);

        // Every body kind conforms to FHIR R4 (the official definitions, not our own).
        let output = std::process::Command::new(repo().join("scripts/fhir-validate"))
            .arg(bodies.dir.path())
            .output()
            .expect("scripts/fhir-validate runs (needs python3 and npm)");
        assert!(
            output.status.success(),
            "{name}: responses that are not valid FHIR R4:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// JLAC10 (the 8,108 real codes of the JP Core まとめ表 list) and 看護 (a release of the real
/// rows and JP Core codes): each operation's happy path on a code of each, and the JP Core
/// value sets over them (the nursing one is published over the JP-CLINS OID).
#[actix_web::test]
async fn fhir_on_real_jlac10_and_nursing_codes() {
    const JLAC10: &str = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits";
    const NURSING16: &str = "http://medis.or.jp/CodeSystem/master-nursingAction-16digits";
    let dir = tempfile::tempdir().expect("tmp");
    let codes = crate::jlac::real_codes();
    let book = dir.path().join("2023_matome.xlsx");
    std::fs::write(&book, crate::jlac::real_workbook(&codes)).expect("workbook");
    let nursing = crate::nursing::real_release();
    for db in databases("fhir_jlac_nursing") {
        let book = book.display().to_string();
        let folder = nursing.dir.path().display().to_string();
        assert_eq!(
            hyojun(&db, &["import", "jlac", &book, "--activate", "--partial"]),
            0
        );
        assert_eq!(
            hyojun(&db, &["import", "nursing", &folder, "--activate"]),
            0
        );
        let k = keys(&db);
        let key = Some(k.reader.as_str());
        let service = test::init_service(app(AppState::new(
            db.store.clone(),
            ApiConfig {
                warm_up: false,
                ..ApiConfig::default()
            },
        )))
        .await;
        let mut bodies = Bodies {
            dir: tempfile::tempdir().expect("tmp"),
            n: 0,
        };
        for (system, code, display, value_set) in [
            (
                JLAC10,
                "1A010000000190111",
                "蛋白定性[尿]_尿(含むその他)_化学発色法_判定",
                "http://jpfhir.jp/fhir/core/ValueSet/JP_ObservationLabResultCode_VS",
            ),
            (
                NURSING16,
                "A001B001C001D001",
                "日常生活ケア・清潔ケア・入浴・全介助",
                "http://jpfhir.jp/fhir/core/ValueSet/JP_ProcedureCodesNurse_VS",
            ),
        ] {
            let (_, _, looked) = fhir(
                &service,
                "GET",
                &format!(
                    "/fhir/CodeSystem/$lookup?system={}&code={code}",
                    enc(system)
                ),
                key,
                None,
            )
            .await;
            assert_eq!(
                param(&looked, "display"),
                Some(&json!(display)),
                "{}: {looked}",
                db.name
            );
            bodies.keep("lookup", &looked);
            let (_, _, valid) = fhir(
                &service,
                "GET",
                &validate_uri(&[("url", system), ("code", code), ("display", display)]),
                key,
                None,
            )
            .await;
            assert_eq!(param(&valid, "result"), Some(&json!(true)), "{valid}");
            let (_, _, member) = fhir(
                &service,
                "GET",
                &format!(
                    "/fhir/ValueSet/$validate-code?url={}&system={}&code={code}",
                    enc(value_set),
                    enc(system)
                ),
                key,
                None,
            )
            .await;
            assert_eq!(param(&member, "result"), Some(&json!(true)), "{member}");
            bodies.keep("vs-member", &member);
            let filter: String = display.chars().take(2).collect();
            let (status, _, expanded) = fhir(
                &service,
                "GET",
                &format!(
                    "/fhir/ValueSet/$expand?url={}&filter={}&count=1000",
                    enc(&format!("{system}?fhir_vs")),
                    enc(&filter)
                ),
                key,
                None,
            )
            .await;
            assert_eq!(status, 200, "{expanded}");
            assert!(
                expanded["expansion"]["contains"]
                    .as_array()
                    .expect("contains")
                    .iter()
                    .any(|c| c["code"] == code),
                "{filter} finds {code}"
            );
            bodies.keep("expand", &expanded);
        }
        let output = std::process::Command::new(repo().join("scripts/fhir-validate"))
            .arg(bodies.dir.path())
            .output()
            .expect("scripts/fhir-validate runs (needs python3 and npm)");
        assert!(
            output.status.success(),
            "{}: responses that are not valid FHIR R4:\n{}",
            db.name,
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
