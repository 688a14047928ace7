//! Mapping projects through the app: roles, local code uploads and their merge, the review
//! workflow with four-eyes, bulk review, history — on SQLite and PostgreSQL.

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{self as web_test, init_service};
use hyojun::access::Role;
use hyojun::api::{app, ApiConfig, AppState};
use serde_json::{json, Value};

use crate::api::{call, keys, sample_db};
use crate::support::{databases, hyojun};

/// Posts a CSV body (bytes as given: CP932 or UTF-8).
pub(crate) async fn upload<S, B>(
    service: &S,
    project: i64,
    key: &str,
    body: Vec<u8>,
) -> (u16, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let request = web_test::TestRequest::post()
        .uri(&format!("/v1/mapping/projects/{project}/local-codes"))
        .insert_header(("Authorization", format!("Bearer {key}")))
        .insert_header(("Content-Type", "text/csv"))
        .set_payload(body)
        .to_request();
    let response = web_test::call_service(service, request).await;
    let status = response.status().as_u16();
    let bytes = web_test::read_body(response).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn cp932(text: &str) -> Vec<u8> {
    encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
}

#[actix_web::test]
async fn review_workflow_with_four_eyes_merge_bulk_and_history() {
    for db in databases("mapping_api") {
        sample_db(&db);
        let k = keys(&db);
        let second_mapper = hyojun::app::keys::create(&db.store, "test", "mapper2", Role::Mapper)
            .expect("key")
            .key;
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let (admin, mapper, reader) = (k.admin.as_str(), k.mapper.as_str(), k.reader.as_str());

        // Projects: admin only.
        let project = json!({
            "name": "薬剤部 院内コード",
            "local_system": "urn:oid:1.2.392.100495.20.3.99",
            "target_systems": ["hot9", "yj"],
        });
        for (key, status) in [(None, 401), (Some(reader), 403), (Some(mapper), 403)] {
            let (got, _) = call(
                &service,
                "POST",
                "/v1/mapping/projects",
                key,
                Some(project.clone()),
            )
            .await;
            assert_eq!(got, status, "{}", db.name);
        }
        let (status, created) = call(
            &service,
            "POST",
            "/v1/mapping/projects",
            Some(admin),
            Some(project.clone()),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["four_eyes"], true);
        assert_eq!(created["target_systems"], json!(["hot9", "yj"]));
        let id = created["id"].as_i64().expect("id");
        let (status, _) = call(
            &service,
            "POST",
            "/v1/mapping/projects",
            Some(admin),
            Some(project),
        )
        .await;
        assert_eq!(status, 409);

        // Local codes: a mapper uploads (CP932, Japanese headers, an extra column).
        let csv = "院内コード,院内名称,単位,件数,備考\r\n\
                   D001,ﾃｽﾀﾐﾄﾞ錠,錠,1200,採用\r\n\
                   D002,ケンショウ軟膏,g,30,\r\n\
                   D003,院内製剤Ａ,mL,5,院内\r\n";
        let (status, _) = upload(&service, id, reader, cp932(csv)).await;
        assert_eq!(status, 403);
        let (status, plan) = upload(&service, id, mapper, cp932(csv)).await;
        assert_eq!(status, 200, "{plan}");
        assert_eq!(plan["added"], json!(["D001", "D002", "D003"]));

        // Candidates: a job scores every local code against the target systems.
        let (status, accepted) = call(
            &service,
            "POST",
            &format!("/v1/mapping/projects/{id}/candidates"),
            Some(mapper),
            None,
        )
        .await;
        assert_eq!(status, 202, "{accepted}");
        let job_uri = accepted["href"].as_str().expect("href").to_owned();
        let mut job = Value::Null;
        for _ in 0..200 {
            job = call(&service, "GET", &job_uri, Some(reader), None).await.1;
            if job["state"] == "succeeded" || job["state"] == "failed" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(job["state"], "succeeded", "{job}");
        assert_eq!(job["progress"]["done"], 3, "{job}");
        let (_, candidates) = call(
            &service,
            "GET",
            &format!("/v1/mapping/projects/{id}/mappings/D001/candidates"),
            Some(reader),
            None,
        )
        .await;
        let best = &candidates[0];
        assert_eq!(
            (best["target_system"].as_str(), best["target_code"].as_str()),
            (Some("hot9"), Some("900309501")),
            "{candidates}"
        );
        assert_eq!(best["score"], 1.0);
        assert!(
            best["reasons"][0]
                .as_str()
                .unwrap_or("")
                .starts_with("normalised name"),
            "{best}"
        );
        // The local unit (錠) is part of the HOT 規格単位.
        assert!(
            best["reasons"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("unit in 単位 ５ｍｇ１錠"))),
            "{best}"
        );

        // A bad upload names its lines and changes nothing.
        let bad = "院内コード,院内名称\nD001,a\nD009,b\nD001,c\n";
        let (status, body) = upload(&service, id, mapper, bad.as_bytes().to_vec()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["details"]["items"][0]["line"], 4);
        assert_eq!(
            body["error"]["details"]["items"][0]["kind"],
            "duplicate_code"
        );
        let uri = format!("/v1/mapping/projects/{id}/mappings");
        let (_, page) = call(&service, "GET", &uri, Some(reader), None).await;
        assert_eq!(page["total"], 3, "{page}");
        // Most frequent first, extra columns kept.
        assert_eq!(page["items"][0]["local_code"], "D001");
        assert_eq!(page["items"][0]["extra"], json!([["備考", "採用"]]));
        assert_eq!(page["items"][0]["state"], "unmapped");

        // Propose: the target must be a code of a target system in the current release.
        let d001 = format!("/v1/mapping/projects/{id}/mappings/D001");
        for (target, status) in [
            (
                json!({"action": "propose", "target_system": "hot9", "target_code": "999999999"}),
                400,
            ),
            (
                json!({"action": "propose", "target_system": "hot13", "target_code": "9003095010101"}),
                400,
            ),
            (json!({"action": "propose"}), 400),
            (json!({"action": "approve"}), 409),
        ] {
            let (got, body) = call(&service, "POST", &d001, Some(mapper), Some(target)).await;
            assert_eq!(got, status, "{body}");
        }
        let (status, body) = call(
            &service,
            "POST",
            &d001,
            Some(reader),
            Some(json!({"action": "propose", "target_system": "hot9", "target_code": "900309501"})),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        // Typed text with a terminal escape sequence, or over its length, is refused.
        for (change, message) in [
            (
                json!({"action": "flag", "comment": "c\u{1b}[2Jc"}),
                "`comment` has the control character U+001B at character 2: remove it",
            ),
            (
                json!({"assignee": "x".repeat(201)}),
                "`assignee` is 201 characters long; at most 200 are kept: shorten it",
            ),
        ] {
            let (status, body) = call(&service, "POST", &d001, Some(mapper), Some(change)).await;
            assert_eq!(
                (status, body["error"]["message"].as_str()),
                (400, Some(message)),
                "{body}"
            );
        }
        let (status, proposed) = call(
            &service,
            "POST",
            &d001,
            Some(mapper),
            Some(
                json!({"action": "propose", "target_system": "hot9", "target_code": "900309501",
                        "equivalence": "narrower", "comment": "錠剤のみ"}),
            ),
        )
        .await;
        assert_eq!(status, 200, "{proposed}");
        assert_eq!(proposed["state"], "proposed");
        assert_eq!(proposed["target_release"], "20260531");
        assert_eq!(proposed["equivalence"], "narrower");
        assert!(proposed["author"]
            .as_str()
            .unwrap_or("")
            .ends_with(":mapper"));

        // Four-eyes: the author may not approve; another mapper may. A stale version is refused.
        let (status, body) = call(
            &service,
            "POST",
            &d001,
            Some(mapper),
            Some(json!({"action": "approve"})),
        )
        .await;
        assert_eq!(status, 409, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("four-eyes"));
        let (status, _) = call(
            &service,
            "POST",
            &d001,
            Some(second_mapper.as_str()),
            Some(json!({"action": "approve", "version": 0})),
        )
        .await;
        assert_eq!(status, 409, "stale version");
        let (status, approved) = call(
            &service,
            "POST",
            &d001,
            Some(second_mapper.as_str()),
            Some(json!({"action": "approve", "version": proposed["version"]})),
        )
        .await;
        assert_eq!(status, 200, "{approved}");
        assert_eq!(approved["state"], "approved");
        assert!(approved["reviewer"]
            .as_str()
            .unwrap_or("")
            .ends_with(":mapper2"));

        // Bulk: no-match for two codes; an unknown code is refused on its own.
        let (status, bulk) = call(
            &service,
            "POST",
            &format!("/v1/mapping/projects/{id}/bulk"),
            Some(mapper),
            Some(json!({"codes": ["D002", "D003", "NOPE"], "action": "no_match", "comment": "院内のみ"})),
        )
        .await;
        assert_eq!(status, 200, "{bulk}");
        assert_eq!(
            (bulk["changed"].as_u64(), bulk["refused"].as_u64()),
            (Some(2), Some(1))
        );
        assert_eq!(bulk["items"][2]["outcome"], "not_found");

        // History: append-only, who and what changed.
        let (_, history) = call(
            &service,
            "GET",
            &format!("{d001}/history"),
            Some(reader),
            None,
        )
        .await;
        let steps: Vec<(&str, &str, &str)> = history
            .as_array()
            .expect("history")
            .iter()
            .map(|h| {
                (
                    h["action"].as_str().unwrap_or(""),
                    h["from_state"].as_str().unwrap_or(""),
                    h["to_state"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                ("propose", "unmapped", "proposed"),
                ("approve", "proposed", "approved")
            ]
        );
        assert_eq!(
            history[0]["changes"]["target_code"],
            json!([null, "900309501"])
        );

        // Translate: approved mappings only by default, with the target's current status.
        let translate = format!("/v1/mapping/projects/{id}/translate");
        let (status, out) = call(
            &service,
            "POST",
            &translate,
            Some(reader),
            Some(json!({"codes": ["D001", "D002", "NOPE"]})),
        )
        .await;
        assert_eq!(status, 200, "{out}");
        assert_eq!(out["items"][0]["result"], "translated");
        assert_eq!(out["items"][0]["targets"][0]["code"], "900309501");
        assert_eq!(out["items"][0]["targets"][0]["status"], "active");
        assert_eq!(out["items"][0]["targets"][0]["equivalence"], "narrower");
        assert_eq!(out["items"][1]["result"], "no_match");
        assert_eq!(out["items"][2]["result"], "unknown");
        let (status, _) = call(
            &service,
            "POST",
            &translate,
            Some(reader),
            Some(json!({"codes": []})),
        )
        .await;
        assert_eq!(status, 400);

        // Re-upload: D001 renamed (its approved mapping is flagged), D003 missing (withdrawn,
        // its no-match decision kept), D004 new.
        let again = "院内コード,院内名称,単位,件数,備考\n\
                     D001,テスタミド錠10mg,錠,1300,採用\n\
                     D002,ケンショウ軟膏,g,30,\n\
                     D004,新規薬,錠,1,\n";
        let (status, plan) = upload(&service, id, mapper, again.as_bytes().to_vec()).await;
        assert_eq!(status, 200, "{plan}");
        assert_eq!(plan["added"], json!(["D004"]));
        assert_eq!(plan["renamed"], json!(["D001"]));
        assert_eq!(plan["withdrawn"], json!(["D003"]));
        let (_, d1) = call(&service, "GET", &d001, Some(reader), None).await;
        assert_eq!(d1["state"], "flagged", "{d1}");
        assert_eq!(d1["previous_name"], "ﾃｽﾀﾐﾄﾞ錠");
        assert_eq!(d1["target_code"], "900309501", "the target is kept");
        assert!(d1["flag_reason"]
            .as_str()
            .unwrap_or("")
            .contains("テスタミド錠10mg"));
        let (_, d3) = call(
            &service,
            "GET",
            &format!("/v1/mapping/projects/{id}/mappings/D003"),
            Some(reader),
            None,
        )
        .await;
        assert_eq!(
            (d3["withdrawn"].as_bool(), d3["state"].as_str()),
            (Some(true), Some("no_match"))
        );
        let (_, flagged) = call(
            &service,
            "GET",
            &format!("{uri}?state=flagged"),
            Some(reader),
            None,
        )
        .await;
        assert_eq!(flagged["total"], 1);
        let (_, all) = call(&service, "GET", &uri, Some(reader), None).await;
        assert_eq!(all["total"], 4, "no mapping lost");

        // Re-check: D002 maps to a HOT9 that the next release retires. Activating that
        // release flags the approved mapping with the reason; translation says retired.
        let d002 = format!("/v1/mapping/projects/{id}/mappings/D002");
        let (status, body) = call(
            &service,
            "POST",
            &d002,
            Some(mapper),
            Some(json!({"action": "propose", "target_system": "hot9", "target_code": "900903501"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = call(
            &service,
            "POST",
            &d002,
            Some(second_mapper.as_str()),
            Some(json!({"action": "approve"})),
        )
        .await;
        assert_eq!(status, 200);
        let (_, report) = call(
            &service,
            "GET",
            &format!("/v1/mapping/projects/{id}/attention"),
            Some(reader),
            None,
        )
        .await;
        assert_eq!(report["states"]["approved"], 1, "{report}");
        let second = db
            .store
            .find_release(hyojun::systems::Master::Hot, "20260630")
            .expect("release")
            .id;
        let (status, _) = call(
            &service,
            "POST",
            &format!("/v1/releases/{second}/activate"),
            Some(admin),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (_, report) = call(
            &service,
            "GET",
            &format!("/v1/mapping/projects/{id}/attention"),
            Some(reader),
            None,
        )
        .await;
        let flagged: Vec<(&str, &str)> = report["flagged"]
            .as_array()
            .expect("flagged")
            .iter()
            .map(|m| {
                (
                    m["local_code"].as_str().unwrap_or(""),
                    m["flag_reason"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(flagged.len(), 2, "{report}");
        assert_eq!(flagged[1].0, "D002");
        assert!(
            flagged[1]
                .1
                .contains("hot9 900903501 is retired in release 20260630"),
            "{}",
            flagged[1].1
        );
        assert_eq!(report["states"]["approved"], 0);
        let (_, history) = call(
            &service,
            "GET",
            &format!("{d002}/history"),
            Some(reader),
            None,
        )
        .await;
        let last = history
            .as_array()
            .and_then(|h| h.last())
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (last["actor"].as_str(), last["to_state"].as_str()),
            (Some("system:recheck"), Some("flagged"))
        );
        let (_, out) = call(
            &service,
            "POST",
            &format!("/v1/mapping/projects/{id}/translate"),
            Some(reader),
            Some(json!({"codes": ["D002"], "include": "all"})),
        )
        .await;
        assert_eq!(out["items"][0]["targets"][0]["status"], "retired", "{out}");

        // Export → import round trips, CSV and ConceptMap (every state), into new projects
        // with the same local codes: the decisions come back as they were.
        let decisions = |page: &Value| -> Vec<String> {
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|m| {
                    format!(
                        "{} {} {} {} {} {}",
                        m["local_code"],
                        m["state"],
                        m["target_system"],
                        m["target_code"],
                        m["equivalence"],
                        m["comment"]
                    )
                })
                .collect()
        };
        let (_, original) = call(
            &service,
            "GET",
            &format!("{uri}?limit=1000"),
            Some(reader),
            None,
        )
        .await;
        // Export pages continue after the last row of the page before: pages of two rows
        // give every mapping once, by local code, or by (target system, local code) with
        // the untargeted last.
        let mut by_code: Vec<String> = decisions(&original)
            .iter()
            .map(|d| {
                d.split(' ')
                    .next()
                    .unwrap_or("")
                    .trim_matches('"')
                    .to_owned()
            })
            .collect();
        by_code.sort();
        let mut by_target: Vec<(Option<String>, String)> = original["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|m| {
                (
                    m["target_system"].as_str().map(str::to_owned),
                    m["local_code"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        by_target.sort_by(|a, b| (a.0.is_none(), &a.0, &a.1).cmp(&(b.0.is_none(), &b.0, &b.1)));
        assert!(
            by_target.iter().any(|t| t.0.is_some()) && by_target.iter().any(|t| t.0.is_none()),
            "{by_target:?}"
        );
        for grouped in [false, true] {
            let mut cursor = hyojun::store::mapping::ExportCursor::default();
            let mut walked: Vec<(Option<String>, String)> = Vec::new();
            loop {
                let page = db
                    .store
                    .export_page(hyojun::ids::ProjectId::new(id), grouped, 2, &mut cursor)
                    .expect("page");
                assert!(page.len() <= 2);
                walked.extend(
                    page.iter()
                        .map(|m| (m.target_system.clone(), m.local_code.clone())),
                );
                if page.len() < 2 {
                    break;
                }
            }
            if grouped {
                assert_eq!(walked, by_target, "{}", db.name);
            } else {
                let codes: Vec<String> = walked.into_iter().map(|w| w.1).collect();
                assert_eq!(codes, by_code, "{}", db.name);
            }
        }
        for (n, format) in [(2, "csv"), (3, "conceptmap")] {
            let export_uri = format!("/v1/mapping/projects/{id}/export?format={format}&all=true");
            let request = web_test::TestRequest::get()
                .uri(&export_uri)
                .insert_header(("Authorization", format!("Bearer {reader}")))
                .to_request();
            let response = web_test::call_service(&service, request).await;
            let status = response.status().as_u16();
            let exported = web_test::read_body(response).await.to_vec();
            assert_eq!(
                status,
                200,
                "{format}: {}",
                String::from_utf8_lossy(&exported)
            );
            let (_, copy) = call(
                &service,
                "POST",
                "/v1/mapping/projects",
                Some(admin),
                Some(
                    json!({"name": format!("copy {n}"), "local_system": "urn:oid:1.2.3",
                            "target_systems": ["hot9", "yj"]}),
                ),
            )
            .await;
            let copy_id = copy["id"].as_i64().expect("id");
            upload(&service, copy_id, mapper, cp932(csv)).await;
            upload(&service, copy_id, mapper, again.as_bytes().to_vec()).await;
            let import_uri = format!("/v1/mapping/projects/{copy_id}/import?format={format}");
            let post = |key: &str| {
                web_test::TestRequest::post()
                    .uri(&import_uri)
                    .insert_header(("Authorization", format!("Bearer {key}")))
                    .set_payload(exported.clone())
                    .to_request()
            };
            let response = web_test::call_service(&service, post(mapper)).await;
            assert_eq!(response.status().as_u16(), 403, "import is for admins");
            let response = web_test::call_service(&service, post(admin)).await;
            assert_eq!(response.status().as_u16(), 200, "{format}");
            let report: Value =
                serde_json::from_slice(&web_test::read_body(response).await).expect("json");
            assert_eq!(report["unknown_codes"], json!([]), "{report}");
            assert_eq!(report["refused"], json!([]), "{report}");
            let (_, imported) = call(
                &service,
                "GET",
                &format!("/v1/mapping/projects/{copy_id}/mappings?limit=1000"),
                Some(reader),
                None,
            )
            .await;
            assert_eq!(decisions(&imported), decisions(&original), "{format}");
        }

        // The command line: upload, export, translate.
        let dir = tempfile::tempdir().expect("tmp");
        let list = dir.path().join("local.csv");
        std::fs::write(&list, again.as_bytes()).expect("write");
        let pid = id.to_string();
        let shown = list.display().to_string();
        assert_eq!(hyojun(&db, &["mapping", "upload", &pid, &shown]), 0);
        let exported = dir.path().join("out.csv");
        let out = exported.display().to_string();
        assert_eq!(
            hyojun(&db, &["mapping", "export", &pid, "--output", &out]),
            0
        );
        let text = std::fs::read_to_string(&exported).expect("export");
        assert!(text.starts_with("\u{FEFF}local_code,local_name,"), "{text}");
        assert_eq!(text.lines().count(), 5, "header and four local codes");
        let cm = dir.path().join("out.json");
        let cm_out = cm.display().to_string();
        assert_eq!(
            hyojun(
                &db,
                &[
                    "mapping",
                    "export",
                    &pid,
                    "--format",
                    "conceptmap",
                    "--all",
                    "--output",
                    &cm_out
                ]
            ),
            0
        );
        let map: Value = serde_json::from_slice(&std::fs::read(&cm).expect("cm")).expect("json");
        assert_eq!(map["resourceType"], "ConceptMap");
        assert_eq!(
            hyojun(
                &db,
                &[
                    "mapping",
                    "translate",
                    &pid,
                    "D001",
                    "D002",
                    "--include",
                    "all"
                ]
            ),
            0
        );
        assert_ne!(hyojun(&db, &["mapping", "translate", "999", "D001"]), 0);

        // The audit log has the writes.
        let (_, audit) = call(&service, "GET", "/v1/audit", Some(admin), None).await;
        let text = audit.to_string();
        assert!(text.contains("create_mapping_project") && text.contains("upload_local_codes"));
    }
}

/// One candidate as the test compares it: code, score to 2 decimals, reasons.
type Shown = (String, String, Vec<String>);

fn shown(c: &hyojun::mapping::candidates::Candidate) -> Shown {
    (c.code.clone(), format!("{:.2}", c.score), c.reasons.clone())
}

/// Candidates for in-house lab names against the 8,108 real JLAC10 codes: abbreviations and
/// everyday names read through the lab table, specimen hints, and the table agreeing with the
/// master's analyte names — on SQLite and PostgreSQL, with the same answers.
#[test]
fn candidates_for_in_house_lab_names_on_the_real_jlac10_codes() {
    use hyojun::mapping::candidates::{LocalTerm, Suggester};
    use hyojun::mapping::synonyms::Synonyms;
    use hyojun::search::{Location, SearchIndex};
    use hyojun::systems::Master;

    let codes = crate::jlac::real_codes();
    // Every analyte of the table that the real codes have is named as the master names it
    // (the first part of a plain code's JP Core display, 分析物_材料_測定法_結果識別).
    let mut checked = 0;
    for analyte in Synonyms::builtin().analytes() {
        let names: Vec<&str> = codes
            .iter()
            .filter(|(c, d)| c.starts_with(analyte.code) && d.split('_').count() == 4)
            .filter_map(|(_, d)| d.split('_').next())
            .collect();
        if let Some(first) = names.first() {
            assert!(
                names.contains(&analyte.name),
                "{} is {first} in the master, not {}",
                analyte.code,
                analyte.name
            );
            checked += 1;
        }
    }
    assert!(checked >= 60, "{checked} analytes checked");

    let dir = tempfile::tempdir().expect("tmp");
    let book = dir.path().join("2023_matome.xlsx");
    std::fs::write(&book, crate::jlac::real_workbook(&codes)).expect("workbook");
    let mut answers: Option<Vec<Vec<Shown>>> = None;
    for db in databases("mapping_candidates_real") {
        let shown_book = book.display().to_string();
        assert_eq!(
            hyojun(
                &db,
                &["import", "jlac", &shown_book, "--activate", "--partial"]
            ),
            0
        );
        let index = SearchIndex::open(Location::Memory).expect("index");
        index.sync(&db.store).expect("sync");
        let snapshot = index.snapshot();
        let release = db
            .store
            .current_release(Master::Jlac)
            .expect("release")
            .expect("current");
        let releases = std::collections::HashMap::from([(Master::Jlac, release.id)]);
        let mut suggester = Suggester::new(&snapshot, &releases, &["jlac10"]);
        let mut got = Vec::new();
        for (name, specimen) in [
            ("中性脂肪(TG)", Some("血清")),
            ("ＡＳＴ", Some("血清")),
            ("くろーる", Some("血清")),
            ("尿酸", Some("尿")),
            ("尿酸", Some("髄液")),
            ("3C015000002327101", None),
            ("ｚｚｚ", None),
        ] {
            let term = LocalTerm {
                code: if name.starts_with('3') { name } else { "L1" },
                name,
                specimen,
                unit: None,
            };
            let found = suggester.suggest(&term, 3).expect("suggest");
            got.push(found.iter().map(shown).collect::<Vec<_>>());
        }
        let top = |i: usize| got[i].first().cloned().unwrap_or_default();
        let strings = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            top(0),
            (
                "3F015000002327101".to_owned(),
                "0.95".to_owned(),
                strings(&[
                    "read 中性脂肪 TG as トリグリセリド",
                    "中性脂肪: 分析物 3F015 トリグリセリド",
                    "normalised name (analyte: トリグリセリド)",
                    "specimen 血清 = 材料 023"
                ])
            ),
            "{}",
            db.name
        );
        assert_eq!(top(1).0, "3B035000002327201", "{}", db.name);
        assert_eq!(top(1).2[0], "AST: 分析物 3B035 AST", "{}", db.name);
        assert_eq!(top(2).0, "3H020000002326101", "{}", db.name);
        assert!(top(2).2.contains(&"specimen 血清 = 材料 023".to_owned()));
        // 尿 is 尿(含むその他) with its details left out; 髄液 is another specimen.
        assert!(top(3).0.starts_with("3C020000000"), "{:?}", top(3));
        assert!(top(3)
            .2
            .contains(&"specimen close to 尿(含むその他) = 材料 001".to_owned()));
        assert!(got[4]
            .iter()
            .all(|c| c.2.iter().any(|r| r.starts_with("specimen differs"))));
        assert_eq!(
            (top(5).0.as_str(), top(5).1.as_str(), top(5).2[0].as_str()),
            ("3C015000002327101", "1.00", "code match")
        );
        assert!(got[6].is_empty(), "{:?}", got[6]);
        // Both backends give the same answers.
        match &answers {
            Some(first) => assert_eq!(&got, first, "{}", db.name),
            None => answers = Some(got),
        }
    }
}
