//! The FHIR endpoint's ConceptMaps, `ConceptMap/$translate` and `CodeSystem/$subsumes`
//! through the app, on SQLite and PostgreSQL: a mapping project's approved mappings (forward
//! and reverse, R4 and R5 parameter names), the masters' 移行先 (a retired code → where its
//! chain ends, and back), ConceptMap read and search, and `$subsumes` on real ICD-10 and
//! 看護行為 16桁 codes. Every kind of body answered is checked by the FHIR R4 validator
//! harness (`scripts/fhir-validate`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{self as web_test, init_service};
use hyojun::access::Role;
use hyojun::api::{app, ApiConfig, AppState};
use serde_json::{json, Value};

use crate::api::{call, keys, sample_db};
use crate::fhir_support::{enc, fhir_uri};
use crate::support::{databases, hyojun, repo, TestDb};

const LOCAL: &str = "http://hospital.example.jp/CodeSystem/drug";
const HOT9: &str = "http://medis.or.jp/CodeSystem/master-HOT9";
const YJ: &str = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code";
const BYOMEI: &str = "http://medis.or.jp/CodeSystem/master-disease-keyNumber";
const ICD10: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full";
const NURSING16: &str = "http://medis.or.jp/CodeSystem/master-nursingAction-16digits";
const BYOMEI_MAP: &str = "urn:hyojun:conceptmap:hyojun-successors-byomei";
const NURSING_MAP: &str = "urn:hyojun:conceptmap:hyojun-successors-nursing";
const MESSAGE_ID: &str = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id";

/// A query string, each value percent-encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A Parameters resource of (name, value key, value).
fn parameters(items: &[(&str, &str, Value)]) -> Value {
    let parameter: Vec<Value> = items
        .iter()
        .map(|(name, key, value)| {
            let mut p = serde_json::Map::new();
            p.insert("name".into(), json!(name));
            p.insert((*key).into(), value.clone());
            Value::Object(p)
        })
        .collect();
    json!({"resourceType": "Parameters", "parameter": parameter})
}

/// The value of an output parameter.
fn out<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body["parameter"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| {
            p.as_object()?
                .iter()
                .find(|(k, _)| k.starts_with("value"))
                .map(|(_, v)| v)
        })
}

/// Each `match` as (equivalence, system, code, display, source).
fn matches(body: &Value) -> Vec<(String, String, String, Option<String>, String)> {
    body["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "match")
        .map(|m| {
            let part = |name: &str| {
                m["part"]
                    .as_array()
                    .and_then(|parts| parts.iter().find(|p| p["name"] == name))
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            let concept = &part("concept")["valueCoding"];
            (
                part("equivalence")["valueCode"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                concept["system"].as_str().unwrap_or("").to_owned(),
                concept["code"].as_str().unwrap_or("").to_owned(),
                concept["display"].as_str().map(str::to_owned),
                part("source")["valueUri"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn m(
    equivalence: &str,
    system: &str,
    code: &str,
    display: Option<&str>,
    source: &str,
) -> (String, String, String, Option<String>, String) {
    (
        equivalence.into(),
        system.into(),
        code.into(),
        display.map(str::to_owned),
        source.into(),
    )
}

/// The issues of an OperationOutcome as (severity, code, message id, text, expression).
fn issues(body: &Value) -> Vec<(String, String, String, String, Option<String>)> {
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    body["issue"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| {
            let id = i["extension"]
                .as_array()
                .and_then(|e| e.iter().find(|x| x["url"] == MESSAGE_ID))
                .and_then(|x| x["valueString"].as_str())
                .unwrap_or("")
                .to_owned();
            (
                i["severity"].as_str().unwrap_or("").to_owned(),
                i["code"].as_str().unwrap_or("").to_owned(),
                id,
                i["details"]["text"].as_str().unwrap_or("").to_owned(),
                i["expression"][0].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The bodies answered, kept for the FHIR R4 validator harness (one file each).
struct Bodies {
    dir: tempfile::TempDir,
    count: usize,
}

impl Bodies {
    fn new() -> Self {
        Bodies {
            dir: tempfile::tempdir().expect("tmp"),
            count: 0,
        }
    }

    fn keep(&mut self, label: &str, body: &Value) {
        self.count += 1;
        let path = self
            .dir
            .path()
            .join(format!("{:03}-{label}.json", self.count));
        std::fs::write(&path, serde_json::to_vec_pretty(body).expect("json")).expect("write");
    }

    /// Runs `scripts/fhir-validate` over every body kept; fails loudly when the harness
    /// cannot run or any body is not valid FHIR R4.
    fn validate(self) {
        // One harness at a time: its first run builds its environment.
        static HARNESS: Mutex<()> = Mutex::new(());
        let _one = HARNESS.lock().unwrap_or_else(|p| p.into_inner());
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                    .parent()
                    .expect("the target directory")
                    .to_path_buf()
            });
        let script = repo().join("scripts/fhir-validate");
        let output = Command::new(&script)
            .arg(self.dir.path())
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "the FHIR R4 validator harness {} could not be run: {e}",
                    script.display()
                )
            });
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "scripts/fhir-validate failed ({}): the answers below are not valid FHIR R4, or the harness could not run\n{stdout}\n{stderr}",
            output.status
        );
        let valid = stdout.lines().filter(|l| l.starts_with("OK ")).count();
        assert_eq!(
            valid, self.count,
            "the harness checked {valid} of {} bodies:\n{stdout}\n{stderr}",
            self.count
        );
    }
}

/// A mapping project over the sample HOT releases, with every state a mapping can be in:
/// D001 → hot9 900309501 equivalent, D006 → the same narrower, D002 → yj 2149901F1023 wider
/// (all approved, four-eyes), D003 no match (reviewed), D004 proposed, D005 unmapped.
/// Returns the project id.
async fn mapping_project<S, B>(service: &S, db: &TestDb) -> i64
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let k = keys(db);
    let second = hyojun::app::keys::create(&db.store, "test", "mapper2", Role::Mapper)
        .expect("key")
        .key;
    let (status, created) = call(
        service,
        "POST",
        "/v1/mapping/projects",
        Some(&k.admin),
        Some(json!({"name": "薬剤部", "local_system": LOCAL, "target_systems": ["hot9", "yj"]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    let csv = "院内コード,院内名称\nD001,ﾃｽﾀﾐﾄﾞ錠\nD002,ヒョウジュン錠\nD003,院内製剤Ａ\nD004,新規薬\nD005,未着手薬\nD006,テスタミド錠５\n";
    let request = web_test::TestRequest::post()
        .uri(&format!("/v1/mapping/projects/{id}/local-codes"))
        .insert_header(("Authorization", format!("Bearer {}", k.mapper)))
        .insert_header(("Content-Type", "text/csv"))
        .set_payload(csv.as_bytes().to_vec())
        .to_request();
    let response = web_test::call_service(service, request).await;
    assert_eq!(response.status().as_u16(), 200);
    let mapping = |code: &str| format!("/v1/mapping/projects/{id}/mappings/{code}");
    for (code, target, approve) in [
        (
            "D001",
            json!({"action": "propose", "target_system": "hot9", "target_code": "900309501", "equivalence": "equivalent"}),
            true,
        ),
        (
            "D006",
            json!({"action": "propose", "target_system": "hot9", "target_code": "900309501", "equivalence": "narrower", "comment": "5mg のみ"}),
            true,
        ),
        (
            "D002",
            json!({"action": "propose", "target_system": "yj", "target_code": "2149901F1023", "equivalence": "wider"}),
            true,
        ),
        (
            "D003",
            json!({"action": "no_match", "comment": "院内製剤"}),
            true,
        ),
        (
            "D004",
            json!({"action": "propose", "target_system": "hot9", "target_code": "900101501"}),
            false,
        ),
    ] {
        let (status, body) = call(
            service,
            "POST",
            &mapping(code),
            Some(&k.mapper),
            Some(target),
        )
        .await;
        assert_eq!(status, 200, "{code}: {body}");
        if approve {
            let (status, body) = call(
                service,
                "POST",
                &mapping(code),
                Some(&second),
                Some(json!({"action": "approve"})),
            )
            .await;
            assert_eq!(status, 200, "{code}: {body}");
        }
    }
    id
}

#[actix_web::test]
async fn translate_read_and_search_a_projects_approved_mappings() {
    let mut bodies = Bodies::new();
    for db in databases("fhir_translate_project") {
        sample_db(&db);
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let id = mapping_project(&service, &db).await;
        let reader = hyojun::app::keys::create(&db.store, "test", "fhir-reader", Role::Reader)
            .expect("key")
            .key;
        let key = reader.as_str();
        let map = format!("urn:hyojun:conceptmap:hyojun-mapping-{id}");
        let (_, project) = call(
            &service,
            "GET",
            &format!("/v1/mapping/projects/{id}"),
            Some(key),
            None,
        )
        .await;
        let revision = project["revision"].as_i64().expect("revision").to_string();
        let (_, hot9) = call(
            &service,
            "GET",
            "/v1/systems/hot9/codes/900309501",
            Some(key),
            None,
        )
        .await;
        let hot9_display = hot9["display"].as_str().expect("display").to_owned();
        // The row that speaks for the HOT9 (two rows, one named テスタミド錠).
        assert_eq!(hot9_display, "テスタミド錠");
        let d001 = m("equivalent", HOT9, "900309501", Some(&hot9_display), &map);
        let d002 = m(
            "wider",
            YJ,
            "2149901F1023",
            Some("ヒョウジュン錠１０ｍｇ"),
            &map,
        );
        let translate = "/fhir/ConceptMap/$translate";

        // Local → standard, R4 names (GET), then R5 names and Codings (POST).
        let (status, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[("code", "D001"), ("system", LOCAL)])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(out(&body, "result"), Some(&json!(true)), "{body}");
        assert_eq!(out(&body, "message"), None, "{body}");
        assert_eq!(matches(&body), std::slice::from_ref(&d001));
        assert_eq!(body["parameter"][0]["name"], "result");
        bodies.keep("translate-forward", &body);
        for request in [
            parameters(&[
                ("sourceCode", "valueCode", json!("D001")),
                ("sourceSystem", "valueUri", json!(LOCAL)),
            ]),
            parameters(&[
                ("sourceCode", "valueCode", json!("D001")),
                ("system", "valueUri", json!(LOCAL)),
            ]),
            parameters(&[(
                "coding",
                "valueCoding",
                json!({"system": LOCAL, "code": "D001"}),
            )]),
            parameters(&[(
                "sourceCoding",
                "valueCoding",
                json!({"system": LOCAL, "code": "D001"}),
            )]),
            parameters(&[
                ("url", "valueUri", json!(map)),
                ("conceptMapVersion", "valueString", json!(revision)),
                ("code", "valueCode", json!("D001")),
                ("system", "valueUri", json!(LOCAL)),
                ("targetsystem", "valueUri", json!(HOT9)),
            ]),
        ] {
            let (status, body) = fhir_uri(&service, translate, key, Some(request.clone())).await;
            assert_eq!(status, 200, "{request}: {body}");
            assert_eq!(matches(&body), std::slice::from_ref(&d001), "{request}");
        }
        // The instance's $translate is that map's.
        let (status, body) = fhir_uri(
            &service,
            &format!(
                "/fhir/ConceptMap/hyojun-mapping-{id}/$translate?{}",
                query(&[("code", "D002"), ("system", LOCAL)])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(matches(&body), std::slice::from_ref(&d002));
        // Every coding of a CodeableConcept.
        let (_, body) = fhir_uri(
            &service,
            translate,
            key,
            Some(parameters(&[(
                "sourceCodeableConcept",
                "valueCodeableConcept",
                json!({"coding": [{"system": LOCAL, "code": "D002"}, {"system": LOCAL, "code": "D001"}]}),
            )])),
        )
        .await;
        assert_eq!(matches(&body), [d002.clone(), d001.clone()]);
        // Only answers in the system asked for.
        let (_, body) = fhir_uri(
            &service,
            translate,
            key,
            Some(parameters(&[
                ("sourceCode", "valueCode", json!("D001")),
                ("sourceSystem", "valueUri", json!(LOCAL)),
                ("targetSystem", "valueUri", json!(YJ)),
            ])),
        )
        .await;
        assert_eq!(out(&body, "result"), Some(&json!(false)));
        assert_eq!(
            out(&body, "message"),
            Some(&json!(format!(
                "Every match of {LOCAL}#D001 is outside the system or value set the answers were asked in"
            )))
        );
        let (_, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[
                    ("code", "D001"),
                    ("system", LOCAL),
                    ("target", &format!("{YJ}?fhir_vs"))
                ])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(out(&body, "result"), Some(&json!(false)), "{body}");
        let (_, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[
                    ("code", "D001"),
                    ("system", LOCAL),
                    (
                        "target",
                        "http://jpfhir.jp/fhir/core/ValueSet/JP_MedicationCodeHOT9_VS"
                    )
                ])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(matches(&body), std::slice::from_ref(&d001), "{body}");
        // A code system as `target` (R4 clients send one), an unknown value set (404).
        let (_, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[("code", "D002"), ("system", LOCAL), ("target", YJ)])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(matches(&body), std::slice::from_ref(&d002), "{body}");
        let (status, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[
                    ("code", "D002"),
                    ("system", LOCAL),
                    ("targetScope", "http://example.org/ValueSet/none")
                ])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(issues(&body)[0].2, "Unable_to_resolve_value_Set_");

        // Local codes without an approved mapping: no match, the message says why.
        for (code, message) in [
            (
                "D003",
                format!("The local code 'D003' was reviewed as having no standard code (no match) in the ConceptMap '{map}'"),
            ),
            (
                "D004",
                format!("The local code 'D004' has no approved mapping in the ConceptMap '{map}' (its mapping is proposed): only approved mappings translate"),
            ),
            (
                "D005",
                format!("The local code 'D005' has no approved mapping in the ConceptMap '{map}' (its mapping is unmapped): only approved mappings translate"),
            ),
            (
                "NOPE",
                format!("The code 'NOPE' is not a local code of the ConceptMap '{map}'"),
            ),
        ] {
            let (status, body) = fhir_uri(
                &service,
                &format!("{translate}?{}", query(&[("code", code), ("system", LOCAL)])),
                key,
                None,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(out(&body, "result"), Some(&json!(false)), "{code}");
            assert_eq!(out(&body, "message"), Some(&json!(message)), "{code}");
            assert!(matches(&body).is_empty());
            if code == "D003" {
                bodies.keep("translate-no-match", &body);
            }
        }
        let (_, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[("code", "X1"), ("system", "http://other.example.jp/cs")])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(
            out(&body, "message"),
            Some(&json!(
                "No ConceptMap of this server maps codes of 'http://other.example.jp/cs'"
            ))
        );

        // Reverse: a standard code → the local codes mapped to it, the equivalence read from
        // the local side (a narrower mapping answers wider). R4 `reverse`, then R5 names.
        let local = |code: &str, equivalence: &str, display: &str| {
            m(equivalence, LOCAL, code, Some(display), &map)
        };
        let (status, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[("code", "900309501"), ("system", HOT9), ("reverse", "true")])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            matches(&body),
            [
                local("D001", "equivalent", "ﾃｽﾀﾐﾄﾞ錠"),
                local("D006", "wider", "テスタミド錠５")
            ]
        );
        bodies.keep("translate-reverse", &body);
        for request in [
            parameters(&[
                ("targetCode", "valueCode", json!("2149901F1023")),
                ("targetSystem", "valueUri", json!(YJ)),
            ]),
            parameters(&[
                ("targetCode", "valueCode", json!("2149901F1023")),
                ("targetSystem", "valueUri", json!(YJ)),
                ("sourceSystem", "valueUri", json!(LOCAL)),
            ]),
            parameters(&[(
                "targetCoding",
                "valueCoding",
                json!({"system": YJ, "code": "2149901F1023"}),
            )]),
            parameters(&[
                (
                    "coding",
                    "valueCoding",
                    json!({"system": YJ, "code": "2149901F1023"}),
                ),
                ("reverse", "valueBoolean", json!(true)),
            ]),
        ] {
            let (status, body) = fhir_uri(&service, translate, key, Some(request.clone())).await;
            assert_eq!(status, 200, "{request}: {body}");
            assert_eq!(
                matches(&body),
                [local("D002", "narrower", "ヒョウジュン錠")],
                "{request}"
            );
        }
        // A proposed mapping does not translate back; a code nothing maps to says so.
        let (_, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[("code", "900101501"), ("system", HOT9), ("reverse", "true")])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(out(&body, "result"), Some(&json!(false)));
        assert_eq!(
            out(&body, "message"),
            Some(&json!(format!(
                "No code is mapped to '{HOT9}#900101501' in the ConceptMap '{map}'"
            )))
        );

        // Errors: an unknown map or version (404), no concept (400), a supplied map (400).
        for (request, status, id) in [
            (
                parameters(&[
                    ("url", "valueUri", json!("urn:hyojun:conceptmap:hyojun-mapping-999")),
                    ("code", "valueCode", json!("D001")),
                    ("system", "valueUri", json!(LOCAL)),
                ]),
                404,
                "HYOJUN_CONCEPTMAP_UNKNOWN",
            ),
            (
                parameters(&[
                    ("url", "valueUri", json!(map)),
                    ("conceptMapVersion", "valueString", json!("0")),
                    ("code", "valueCode", json!("D001")),
                    ("system", "valueUri", json!(LOCAL)),
                ]),
                404,
                "HYOJUN_CONCEPTMAP_VERSION",
            ),
            (parameters(&[("system", "valueUri", json!(LOCAL))]), 400, ""),
            (
                parameters(&[
                    ("code", "valueCode", json!("D001")),
                    ("system", "valueUri", json!(LOCAL)),
                ])
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o["parameter"]
                        .as_array_mut()
                        .expect("parameters")
                        .push(json!({"name": "conceptMap", "resource": {"resourceType": "ConceptMap", "url": "http://example.org/cm", "status": "draft"}}));
                    Value::Object(o)
                })
                .expect("object"),
                400,
                "",
            ),
        ] {
            let (got, body) = fhir_uri(&service, translate, key, Some(request)).await;
            assert_eq!(got, status, "{body}");
            let found = issues(&body);
            assert_eq!(found.len(), 1, "{body}");
            assert_eq!(found[0].0, "error");
            assert_eq!(found[0].2, id, "{body}");
            if id == "HYOJUN_CONCEPTMAP_VERSION" {
                assert_eq!(
                    found[0].3,
                    format!("The ConceptMap '{map}' has no version '0'. Valid versions: {revision}")
                );
                bodies.keep("translate-404", &body);
            }
            if status == 400 && found[0].3.contains("supplied") {
                bodies.keep("translate-400", &body);
            }
        }

        // The CapabilityStatement lists $translate and $subsumes.
        let (_, capabilities) = fhir_uri(&service, "/fhir/metadata", key, None).await;
        let operations = |resource: &str| -> Vec<String> {
            capabilities["rest"][0]["resource"]
                .as_array()
                .expect("resources")
                .iter()
                .find(|r| r["type"] == resource)
                .and_then(|r| r["operation"].as_array())
                .into_iter()
                .flatten()
                .map(|o| o["name"].as_str().unwrap_or("").to_owned())
                .collect()
        };
        assert_eq!(operations("ConceptMap"), ["translate"]);
        assert!(operations("CodeSystem").contains(&"subsumes".to_owned()));

        // Read: the export's ConceptMap with its canonical URL and the project's revision.
        let (status, resource) = fhir_uri(
            &service,
            &format!("/fhir/ConceptMap/hyojun-mapping-{id}"),
            key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{resource}");
        assert_eq!(resource["resourceType"], "ConceptMap");
        assert_eq!(resource["id"], format!("hyojun-mapping-{id}"));
        assert_eq!(resource["url"], map);
        assert_eq!(resource["version"], revision);
        assert_eq!(resource["status"], "active");
        let hot9_target = |equivalence: &str, comment: Option<&str>| {
            let mut t =
                json!({"code": "900309501", "display": hot9_display, "equivalence": equivalence});
            if let Some(c) = comment {
                t["comment"] = json!(c);
            }
            t
        };
        assert_eq!(
            resource["group"],
            json!([
                {"source": LOCAL, "target": HOT9, "element": [
                    {"code": "D001", "display": "ﾃｽﾀﾐﾄﾞ錠", "target": [hot9_target("equivalent", None)]},
                    {"code": "D006", "display": "テスタミド錠５", "target": [hot9_target("narrower", Some("5mg のみ"))]}
                ]},
                {"source": LOCAL, "target": YJ, "element": [
                    {"code": "D002", "display": "ヒョウジュン錠", "target": [{"code": "2149901F1023", "display": "ヒョウジュン錠１０ｍｇ", "equivalence": "wider"}]}
                ]},
                {"source": LOCAL, "element": [
                    {"code": "D003", "display": "院内製剤Ａ", "target": [{"equivalence": "unmatched", "comment": "院内製剤"}]}
                ]}
            ]),
            "{resource}"
        );
        bodies.keep("conceptmap-project", &resource);
        let (status, body) =
            fhir_uri(&service, "/fhir/ConceptMap/hyojun-mapping-999", key, None).await;
        assert_eq!(status, 404);
        assert_eq!(issues(&body)[0].2, "HYOJUN_CONCEPTMAP_UNKNOWN");
        // HOT records no 移行先: no successor map for it.
        let (status, _) = fhir_uri(
            &service,
            "/fhir/ConceptMap/hyojun-successors-hot",
            key,
            None,
        )
        .await;
        assert_eq!(status, 404);

        // Search by url (and version): a searchset Bundle of the resource as read.
        for (q, total) in [
            (query(&[("url", &map)]), 1),
            (query(&[("url", &map), ("version", &revision)]), 1),
            (query(&[("url", &map), ("version", "0")]), 0),
            (
                query(&[("url", "urn:hyojun:conceptmap:hyojun-mapping-999")]),
                0,
            ),
            (query(&[("url", "http://example.org/cm")]), 0),
            (String::new(), 1),
        ] {
            let uri = if q.is_empty() {
                "/fhir/ConceptMap".to_owned()
            } else {
                format!("/fhir/ConceptMap?{q}")
            };
            let (status, bundle) = fhir_uri(&service, &uri, key, None).await;
            assert_eq!(status, 200, "{bundle}");
            assert_eq!(bundle["resourceType"], "Bundle");
            assert_eq!(bundle["type"], "searchset");
            assert_eq!(bundle["total"], total, "{uri}: {bundle}");
            assert_eq!(bundle["link"][0]["relation"], "self");
            if total == 0 {
                assert!(bundle.get("entry").is_none(), "{bundle}");
                bodies.keep("search-empty", &bundle);
            } else {
                assert_eq!(bundle["entry"][0]["resource"], resource, "{uri}");
                assert_eq!(bundle["entry"][0]["search"]["mode"], "match");
                assert!(bundle["entry"][0]["fullUrl"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with(&format!("/fhir/ConceptMap/hyojun-mapping-{id}")));
                bodies.keep("search", &bundle);
            }
        }
    }
    bodies.validate();
}

/// The sample 病名 releases (5.18 activated, 5.19 imported) and 看護 releases (4.0
/// activated, 4.1 imported).
fn successor_samples(db: &TestDb) {
    let path = |rel: &str| repo().join("masters").join(rel).display().to_string();
    for (master, release, activate) in [
        ("byomei", path("byomei/byomei518.zip"), true),
        ("byomei", path("byomei/byomei519.zip"), false),
        ("nursing", path("nursing/4.0"), true),
        ("nursing", path("nursing/4.1"), false),
    ] {
        let mut args = vec!["import", master, release.as_str()];
        if activate {
            args.push("--activate");
        }
        assert_eq!(hyojun(db, &args), 0, "{args:?}");
    }
}

#[actix_web::test]
async fn translate_read_and_search_the_masters_successors() {
    let mut bodies = Bodies::new();
    for db in databases("fhir_translate_successors") {
        successor_samples(&db);
        let key = hyojun::app::keys::create(&db.store, "test", "fhir-reader", Role::Reader)
            .expect("key")
            .key;
        let key = key.as_str();
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let translate = "/fhir/ConceptMap/$translate";
        let byomei = |code: &str, display: &str, version: &str| {
            (
                "relatedto".to_owned(),
                BYOMEI.to_owned(),
                code.to_owned(),
                Some(display.to_owned()),
                BYOMEI_MAP.to_owned(),
                version.to_owned(),
            )
        };
        let with_version =
            |body: &Value| -> Vec<(String, String, String, Option<String>, String, String)> {
                let versions: Vec<String> = body["parameter"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["name"] == "match")
                    .map(|p| {
                        p["part"]
                            .as_array()
                            .and_then(|parts| parts.iter().find(|x| x["name"] == "concept"))
                            .and_then(|c| c["valueCoding"]["version"].as_str())
                            .unwrap_or("")
                            .to_owned()
                    })
                    .collect();
                matches(body)
                    .into_iter()
                    .zip(versions)
                    .map(|((e, s, c, d, src), v)| (e, s, c, d, src, v))
                    .collect()
            };

        // A retired code → where its 移行先 chain ends, in the activated release by default.
        for (pairs, expected) in [
            (
                vec![("code", "29990008"), ("system", BYOMEI)],
                vec![byomei("29990009", "旧見本病", "5.18")],
            ),
            (
                vec![("code", "29990002"), ("system", BYOMEI)],
                vec![byomei("29990001", "見本性胃炎", "5.18")],
            ),
            (
                vec![
                    ("code", "29990008"),
                    ("system", BYOMEI),
                    ("version", "5.19"),
                ],
                vec![byomei("29990010", "新見本病", "5.19")],
            ),
            (
                vec![
                    ("code", "29990009"),
                    ("system", BYOMEI),
                    ("version", "5.19"),
                ],
                vec![byomei("29990010", "新見本病", "5.19")],
            ),
            (
                vec![
                    ("url", BYOMEI_MAP),
                    ("conceptMapVersion", "5.19"),
                    ("sourceCode", "29990008"),
                    ("sourceSystem", BYOMEI),
                ],
                vec![byomei("29990010", "新見本病", "5.19")],
            ),
            (
                vec![
                    ("code", "29990008"),
                    ("system", "urn:oid:1.2.392.200119.4.101.2"),
                ],
                vec![byomei("29990009", "旧見本病", "5.18")],
            ),
        ] {
            let (status, body) = fhir_uri(
                &service,
                &format!("{translate}?{}", query(&pairs)),
                key,
                None,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                out(&body, "result"),
                Some(&json!(true)),
                "{pairs:?}: {body}"
            );
            assert_eq!(with_version(&body), expected, "{pairs:?}");
            bodies.keep("translate-successor", &body);
        }
        // Reverse: a code → the codes whose chain ends at it (R4 `reverse`, R5 targetCode).
        for pairs in [
            vec![
                ("code", "29990010"),
                ("system", BYOMEI),
                ("version", "5.19"),
                ("reverse", "true"),
            ],
            vec![
                ("targetCode", "29990010"),
                ("targetSystem", BYOMEI),
                ("version", "5.19"),
            ],
        ] {
            let (status, body) = fhir_uri(
                &service,
                &format!("{translate}?{}", query(&pairs)),
                key,
                None,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                with_version(&body),
                [
                    byomei("29990008", "旧々見本病", "5.19"),
                    byomei("29990009", "旧見本病", "5.19")
                ],
                "{pairs:?}"
            );
            bodies.keep("translate-predecessors", &body);
        }
        let (_, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[
                    ("code", "29990009"),
                    ("system", BYOMEI),
                    ("reverse", "true")
                ])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(
            with_version(&body),
            [byomei("29990008", "旧々見本病", "5.18")]
        );
        // No answer: no 移行先, a code the release lacks, a version that does not exist, a
        // code the chain passes through.
        for (pairs, message) in [
            (
                vec![("code", "29990001"), ("system", BYOMEI)],
                format!("The concept '29990001' has no 移行先 (successor) in version '5.18' of the CodeSystem '{BYOMEI}'"),
            ),
            (
                vec![("code", "29990002"), ("system", BYOMEI), ("version", "5.19")],
                format!("Unknown code '29990002' in the CodeSystem '{BYOMEI}' version '5.19'"),
            ),
            (
                vec![("code", "29990008"), ("system", BYOMEI), ("version", "9.99")],
                format!("A definition for CodeSystem '{BYOMEI}' version '9.99' could not be found, so the code cannot be validated. Valid versions: 5.18 or 5.19"),
            ),
            (
                vec![("code", "29990009"), ("system", BYOMEI), ("version", "5.19"), ("reverse", "true")],
                format!("No code is mapped to '{BYOMEI}#29990009' in the ConceptMap '{BYOMEI_MAP}'"),
            ),
        ] {
            let (status, body) = fhir_uri(
                &service,
                &format!("{translate}?{}", query(&pairs)),
                key,
                None,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(out(&body, "result"), Some(&json!(false)), "{pairs:?}");
            assert_eq!(out(&body, "message"), Some(&json!(message)), "{pairs:?}");
        }
        let (status, body) = fhir_uri(
            &service,
            &format!(
                "{translate}?{}",
                query(&[
                    ("url", BYOMEI_MAP),
                    ("conceptMapVersion", "9.99"),
                    ("code", "29990008"),
                    ("system", BYOMEI)
                ])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            issues(&body)[0].3,
            format!(
                "The ConceptMap '{BYOMEI_MAP}' has no version '9.99'. Valid versions: 5.18 or 5.19"
            )
        );
        // 看護: 行為 and 観察 each follow their own 移行先.
        for (pairs, system, code) in [
            (
                vec![
                    ("code", "12990006"),
                    ("system", "urn:hyojun:nursing_action"),
                    ("version", "4.1"),
                ],
                "urn:hyojun:nursing_action",
                "12990010",
            ),
            (
                vec![
                    ("code", "31990004"),
                    (
                        "system",
                        "http://medis.or.jp/CodeSystem/master-nursingObservationKeyCode",
                    ),
                ],
                "http://medis.or.jp/CodeSystem/master-nursingObservationKeyCode",
                "31990005",
            ),
        ] {
            let (_, body) = fhir_uri(
                &service,
                &format!("{translate}?{}", query(&pairs)),
                key,
                None,
            )
            .await;
            let found = matches(&body);
            assert_eq!(found.len(), 1, "{body}");
            assert_eq!(
                (
                    found[0].0.as_str(),
                    found[0].1.as_str(),
                    found[0].2.as_str(),
                    found[0].4.as_str()
                ),
                ("relatedto", system, code, NURSING_MAP)
            );
        }

        // Read: the activated release's 移行先, only the codes that have one.
        let target = |code: &str, display: &str| {
            json!({"code": code, "display": display, "equivalence": "relatedto",
                   "comment": "移行先 (replaced by): where the retired code's 移行先 chain ends in this release"})
        };
        let (status, map518) = fhir_uri(
            &service,
            "/fhir/ConceptMap/hyojun-successors-byomei",
            key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{map518}");
        let release518 = db
            .store
            .find_release(hyojun::systems::Master::Byomei, "5.18")
            .expect("release");
        assert_eq!(map518["meta"]["versionId"], release518.id.to_string());
        assert_eq!(
            (
                &map518["id"],
                &map518["url"],
                &map518["version"],
                &map518["status"]
            ),
            (
                &json!("hyojun-successors-byomei"),
                &json!(BYOMEI_MAP),
                &json!("5.18"),
                &json!("active")
            )
        );
        assert_eq!(
            map518["group"],
            json!([{"source": BYOMEI, "sourceVersion": "5.18", "target": BYOMEI, "targetVersion": "5.18", "element": [
                {"code": "29990002", "display": "見本胃炎", "target": [target("29990001", "見本性胃炎")]},
                {"code": "29990008", "display": "旧々見本病", "target": [target("29990009", "旧見本病")]}
            ]}])
        );
        bodies.keep("conceptmap-successors", &map518);
        let (_, nursing) = fhir_uri(
            &service,
            "/fhir/ConceptMap/hyojun-successors-nursing",
            key,
            None,
        )
        .await;
        let groups: Vec<(String, Vec<String>)> = nursing["group"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                assert_eq!(g["source"], g["target"]);
                (
                    g["source"].as_str().unwrap_or("").to_owned(),
                    g["element"]
                        .as_array()
                        .expect("elements")
                        .iter()
                        .map(|e| {
                            format!(
                                "{}→{}",
                                e["code"].as_str().unwrap_or(""),
                                e["target"][0]["code"].as_str().unwrap_or("")
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            groups,
            [
                (
                    "urn:hyojun:nursing_action".to_owned(),
                    vec!["12990007→12990008".to_owned()]
                ),
                (
                    "http://medis.or.jp/CodeSystem/master-nursingObservationKeyCode".to_owned(),
                    vec![
                        "31990004→31990005".to_owned(),
                        "31990007→31990008".to_owned()
                    ]
                )
            ],
            "{nursing}"
        );
        bodies.keep("conceptmap-successors-nursing", &nursing);
        for missing in ["hyojun-successors-hot", "hyojun-successors-jlac", "nothing"] {
            let (status, body) =
                fhir_uri(&service, &format!("/fhir/ConceptMap/{missing}"), key, None).await;
            assert_eq!(status, 404, "{missing}");
            assert_eq!(issues(&body)[0].2, "HYOJUN_CONCEPTMAP_UNKNOWN");
        }

        // Search: every release is a version.
        let versions = |bundle: &Value| -> Vec<String> {
            bundle["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    format!(
                        "{}|{}",
                        e["resource"]["url"].as_str().unwrap_or(""),
                        e["resource"]["version"].as_str().unwrap_or("")
                    )
                })
                .collect()
        };
        let (_, bundle) = fhir_uri(
            &service,
            &format!("/fhir/ConceptMap?{}", query(&[("url", BYOMEI_MAP)])),
            key,
            None,
        )
        .await;
        assert_eq!(bundle["total"], 2);
        assert_eq!(
            versions(&bundle),
            [format!("{BYOMEI_MAP}|5.18"), format!("{BYOMEI_MAP}|5.19")]
        );
        assert_eq!(bundle["entry"][0]["resource"], map518);
        let (_, bundle) = fhir_uri(
            &service,
            &format!(
                "/fhir/ConceptMap?{}",
                query(&[("url", BYOMEI_MAP), ("version", "5.19")])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(
            bundle["entry"][0]["resource"]["group"][0]["element"],
            json!([
                {"code": "29990008", "display": "旧々見本病", "target": [target("29990010", "新見本病")]},
                {"code": "29990009", "display": "旧見本病", "target": [target("29990010", "新見本病")]}
            ])
        );
        bodies.keep("search-successors", &bundle);
        let (_, bundle) = fhir_uri(&service, "/fhir/ConceptMap", key, None).await;
        assert_eq!(
            versions(&bundle),
            [
                format!("{BYOMEI_MAP}|5.18"),
                format!("{BYOMEI_MAP}|5.19"),
                format!("{NURSING_MAP}|4.0"),
                format!("{NURSING_MAP}|4.1")
            ]
        );
        bodies.keep("search-all", &bundle);
    }
    bodies.validate();
}

#[actix_web::test]
async fn subsumes_on_real_icd10_and_nursing_codes() {
    let mut bodies = Bodies::new();
    let dir = tempfile::tempdir().expect("tmp");
    let byomei = crate::byomei::real_release_507(dir.path());
    let nursing = crate::nursing::real_release();
    for db in databases("fhir_subsumes") {
        let byomei = byomei.display().to_string();
        let nursing = nursing.dir.path().display().to_string();
        assert_eq!(hyojun(&db, &["import", "byomei", &byomei, "--activate"]), 0);
        assert_eq!(
            hyojun(&db, &["import", "nursing", &nursing, "--activate"]),
            0
        );
        let key = hyojun::app::keys::create(&db.store, "test", "fhir-reader", Role::Reader)
            .expect("key")
            .key;
        let key = key.as_str();
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let subsumes = "/fhir/CodeSystem/$subsumes";
        let outcome = |body: &Value| out(body, "outcome").cloned();

        // ICD-10: category ⊃ subcategory ⊃ 5th-character extension; dots are read away.
        for (system, a, b, expected) in [
            (ICD10, "E10", "E100", "subsumes"),
            (ICD10, "E100", "E10", "subsumed-by"),
            (ICD10, "E11", "E119", "subsumes"),
            (ICD10, "F152", "F152a", "subsumes"),
            (ICD10, "F150", "F152a", "not-subsumed"),
            (ICD10, "I7020", "I702", "subsumed-by"),
            (ICD10, "E10", "E10", "equivalent"),
            (ICD10, "E10.0", "E100", "equivalent"),
            (ICD10, "E10", "E11", "not-subsumed"),
            (ICD10, "E100", "E101", "not-subsumed"),
            (ICD10, "F152a", "F152b", "not-subsumed"),
            (
                NURSING16,
                "A001B001C001D000",
                "A001B001C001D001",
                "subsumes",
            ),
            (
                NURSING16,
                "A001B001C001D388",
                "A001B001C001D000",
                "subsumed-by",
            ),
            (
                NURSING16,
                "A001B001C001D001",
                "A001B001C001D002",
                "not-subsumed",
            ),
            (
                NURSING16,
                "A001B001C001D000",
                "A001B001C002D001",
                "not-subsumed",
            ),
            (
                NURSING16,
                "A001B001C001D000",
                "A001B001C001D000",
                "equivalent",
            ),
            (
                NURSING16,
                "E017F050G107H000",
                "E017F050G107H004",
                "subsumes",
            ),
            (
                "urn:oid:1.2.392.200119.4.704",
                "A001B001C002D000",
                "A001B001C002D004",
                "subsumes",
            ),
        ] {
            let (status, body) = fhir_uri(
                &service,
                &format!(
                    "{subsumes}?{}",
                    query(&[("system", system), ("codeA", a), ("codeB", b)])
                ),
                key,
                None,
            )
            .await;
            assert_eq!(status, 200, "{a} {b}: {body}");
            assert_eq!(outcome(&body), Some(json!(expected)), "{a} {b}");
            assert_eq!(body["parameter"].as_array().map(Vec::len), Some(1));
        }
        bodies.keep(
            "subsumes",
            &fhir_uri(
                &service,
                &format!(
                    "{subsumes}?{}",
                    query(&[
                        ("system", ICD10),
                        ("codeA", "E10"),
                        ("codeB", "E100"),
                        ("version", "5.07")
                    ])
                ),
                key,
                None,
            )
            .await
            .1,
        );
        // POST with Codings, as the validator sends them.
        let (status, body) = fhir_uri(
            &service,
            subsumes,
            key,
            Some(parameters(&[
                (
                    "codingA",
                    "valueCoding",
                    json!({"system": ICD10, "version": "5.07", "code": "E11"}),
                ),
                (
                    "codingB",
                    "valueCoding",
                    json!({"system": ICD10, "code": "E117"}),
                ),
            ])),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(outcome(&body), Some(json!("subsumes")));
        bodies.keep("subsumes-post", &body);

        // Unknown codes: 404 with an issue per code (a category no 病名 uses alone is none
        // of hyojun's codes).
        let (status, body) = fhir_uri(
            &service,
            &format!(
                "{subsumes}?{}",
                query(&[("system", ICD10), ("codeA", "A00"), ("codeB", "A000")])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(
            issues(&body),
            [(
                "error".to_owned(),
                "code-invalid".to_owned(),
                "Unknown_Code_in_Version".to_owned(),
                format!("Unknown code 'A00' in the CodeSystem '{ICD10}' version '5.07'"),
                Some("codeA".to_owned())
            )]
        );
        bodies.keep("subsumes-unknown", &body);
        let (status, body) = fhir_uri(
            &service,
            subsumes,
            key,
            Some(parameters(&[
                (
                    "codingA",
                    "valueCoding",
                    json!({"system": NURSING16, "code": "A001B001C001D999"}),
                ),
                (
                    "codingB",
                    "valueCoding",
                    json!({"system": NURSING16, "code": "Z999Z999Z999Z999"}),
                ),
            ])),
        )
        .await;
        assert_eq!(status, 404);
        let found = issues(&body);
        assert_eq!(
            found
                .iter()
                .map(|i| (i.2.as_str(), i.4.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("Unknown_Code_in_Version", Some("codingA.code")),
                ("Unknown_Code_in_Version", Some("codingB.code"))
            ]
        );
        // A system without a hierarchy, unknown systems and versions, mixed systems.
        let (status, body) = fhir_uri(
            &service,
            &format!(
                "{subsumes}?{}",
                query(&[
                    ("system", BYOMEI),
                    ("codeA", "20083022"),
                    ("codeB", "20085408")
                ])
            ),
            key,
            None,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            issues(&body),
            [(
                "error".to_owned(),
                "not-supported".to_owned(),
                "HYOJUN_NO_HIERARCHY".to_owned(),
                format!("The CodeSystem '{BYOMEI}' defines no hierarchy, so $subsumes cannot compare its codes (CodeSystems with one: {ICD10}, {NURSING16})"),
                Some("system".to_owned())
            )]
        );
        bodies.keep("subsumes-no-hierarchy", &body);
        for (pairs, status, id) in [
            (
                vec![
                    ("system", "http://example.org/cs"),
                    ("codeA", "a"),
                    ("codeB", "b"),
                ],
                404,
                "UNKNOWN_CODESYSTEM",
            ),
            (
                vec![
                    ("system", ICD10),
                    ("version", "9.99"),
                    ("codeA", "E10"),
                    ("codeB", "E100"),
                ],
                404,
                "UNKNOWN_CODESYSTEM_VERSION",
            ),
            (vec![("system", ICD10), ("codeA", "E10")], 400, ""),
            (vec![("codeA", "E10"), ("codeB", "E100")], 400, ""),
        ] {
            let (got, body) = fhir_uri(
                &service,
                &format!("{subsumes}?{}", query(&pairs)),
                key,
                None,
            )
            .await;
            assert_eq!(got, status, "{pairs:?}: {body}");
            assert_eq!(issues(&body)[0].2, id, "{pairs:?}");
        }
        let (status, body) = fhir_uri(
            &service,
            subsumes,
            key,
            Some(parameters(&[
                (
                    "codingA",
                    "valueCoding",
                    json!({"system": ICD10, "code": "E10"}),
                ),
                (
                    "codingB",
                    "valueCoding",
                    json!({"system": NURSING16, "code": "A001B001C001D000"}),
                ),
            ])),
        )
        .await;
        assert_eq!(status, 400, "{body}");
    }
    bodies.validate();
}
