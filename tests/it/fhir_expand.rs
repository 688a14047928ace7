//! `ValueSet/$expand` on real HOT9 releases, on SQLite and PostgreSQL: text filters give
//! exactly `/v1/search`'s codes in its order, paging, statuses, designations, inline,
//! supplied and implicit value sets; every kind of body passes the FHIR R4 validator harness.
//! Published value sets and systems hyojun does not hold: `fhir_expand_value_sets`; the
//! too-costly answer and the errors: `fhir_expand_errors`.

use std::collections::BTreeSet;

use actix_web::test::init_service;
use serde_json::{json, Value};

use hyojun::api::{app, ApiConfig, AppState};

use crate::api::{call, keys};
use crate::fhir_support::{
    codes, enc, fhir, implicit, parameters, real_hot9, save, validate_saved, EXPAND, HOT9,
};
use crate::support::databases;

/// Every page of `/v1/search` for `q` in HOT9 at `release`: the codes in order, and `total`.
async fn v1_pages<S, B>(service: &S, key: &str, q: &str, release: &str) -> (Vec<String>, u64)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut out = Vec::new();
    loop {
        let uri = format!(
            "/v1/search?q={}&system=hot9&release={release}&limit=1000&offset={}",
            enc(q),
            out.len()
        );
        let (status, page) = call(service, "GET", &uri, Some(key), None).await;
        assert_eq!(status, 200, "{uri}: {page}");
        let items = page["items"].as_array().expect("items");
        out.extend(
            items
                .iter()
                .map(|i| i["code"].as_str().expect("code").to_owned()),
        );
        let total = page["total"].as_u64().expect("total");
        if items.is_empty() || out.len() as u64 >= total {
            assert_eq!(out.len() as u64, total, "{q}");
            return (out, total);
        }
    }
}

/// Every page of an expansion (`count` codes a page): the codes in order; `total` must be
/// the same on every page.
async fn expand_pages<S, B>(
    service: &S,
    key: &str,
    asked: &[(&str, &str)],
    count: usize,
) -> (Vec<String>, u64)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut out: Vec<String> = Vec::new();
    let mut total: Option<u64> = None;
    let count_text = count.to_string();
    loop {
        let offset = out.len().to_string();
        let mut query = asked.to_vec();
        query.push(("count", &count_text));
        query.push(("offset", &offset));
        let (status, vs) = fhir(service, EXPAND, &query, None, key).await;
        assert_eq!(status, 200, "{query:?}: {vs}");
        let t = vs["expansion"]["total"].as_u64().expect("total");
        assert_eq!(*total.get_or_insert(t), t, "total is stable across pages");
        assert_eq!(vs["expansion"]["offset"].as_u64(), Some(out.len() as u64));
        let page = codes(&vs);
        assert!(page.len() <= count);
        if page.is_empty() {
            assert_eq!(out.len() as u64, t, "{query:?}");
            return (out, t);
        }
        out.extend(page);
    }
}

#[actix_web::test]
async fn expand_filter_matches_v1_search_exactly() {
    let dir = tempfile::tempdir().expect("tmp");
    for db in databases("fhir_expand_filter") {
        real_hot9(&db, dir.path());
        let key = keys(&db).reader;
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let url = implicit();
        // One character, hiragana (readings and names are katakana), two characters, a code
        // prefix; the serving release and the one before it.
        for (q, release) in [
            ("錠", "20030228"),
            ("ぷろ", "20030228"),
            ("軟膏", "20030228"),
            ("1149", "20030228"),
            ("錠", "20030124"),
            ("ぷろ", "20030124"),
        ] {
            let (want, want_total) = v1_pages(&service, &key, q, release).await;
            assert!(want.len() > 20, "{q} finds {} codes", want.len());
            let pinned = format!("{HOT9}|{release}");
            let mut asked = vec![("url", url.as_str()), ("filter", q)];
            if release != "20030228" {
                asked.push(("system-version", pinned.as_str()));
            }
            let (got, total) = expand_pages(&service, &key, &asked, 1000).await;
            assert_eq!(total, want_total, "{} {q} {release}", db.name);
            assert_eq!(
                got, want,
                "{} {q} {release}: same codes, same order",
                db.name
            );
            // What was asked and used is echoed.
            asked.push(("count", "3"));
            let (_, vs) = fhir(&service, EXPAND, &asked, None, &key).await;
            assert_eq!(parameters(&vs, "used-codesystem"), [json!(pinned)]);
            assert_eq!(parameters(&vs, "filter"), [json!(q)]);
            assert_eq!(parameters(&vs, "count"), [json!(3)]);
            assert!(parameters(&vs, "offset").is_empty(), "not asked");
            assert!(parameters(&vs, "displayLanguage").is_empty(), "not assumed");
            assert_eq!(vs["url"], url.as_str());
        }
        // The same request as a POST of Parameters answers the same codes.
        let (status, posted) = fhir(
            &service,
            EXPAND,
            &[],
            Some(json!({"resourceType": "Parameters", "parameter": [
                {"name": "url", "valueUri": url},
                {"name": "filter", "valueString": "ぷろ"},
                {"name": "count", "valueInteger": 50}
            ]})),
            &key,
        )
        .await;
        assert_eq!(status, 200, "{posted}");
        let (want, _) = v1_pages(&service, &key, "ぷろ", "20030228").await;
        assert_eq!(codes(&posted), want[..50.min(want.len())]);
    }
}

#[actix_web::test]
async fn expand_pages_are_stable_disjoint_and_complete() {
    let dir = tempfile::tempdir().expect("tmp");
    for db in databases("fhir_expand_paging") {
        let real = real_hot9(&db, dir.path());
        let key = keys(&db).reader;
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let url = implicit();
        // Every code of the release, in byte order, each once, over pages.
        let (all, total) = expand_pages(&service, &key, &[("url", &url)], 4000).await;
        assert_eq!(total as usize, real.codes.len(), "{}", db.name);
        assert_eq!(all, real.codes, "{}", db.name);
        // A filter paged in odd sizes gives the pages of one large page, disjoint.
        let (one, t1) =
            expand_pages(&service, &key, &[("url", &url), ("filter", "錠")], 9000).await;
        let (paged, t2) =
            expand_pages(&service, &key, &[("url", &url), ("filter", "錠")], 333).await;
        assert_eq!((t1, &paged), (t2, &one), "{}", db.name);
        assert_eq!(one.iter().collect::<BTreeSet<_>>().len(), one.len());
        // count 0: the total only; an offset past the end: no codes.
        for (count, offset) in [("0", "0"), ("10", "999999")] {
            let (status, vs) = fhir(
                &service,
                EXPAND,
                &[
                    ("url", &url),
                    ("filter", "錠"),
                    ("count", count),
                    ("offset", offset),
                ],
                None,
                &key,
            )
            .await;
            assert_eq!(status, 200, "{vs}");
            assert_eq!(vs["expansion"]["total"].as_u64(), Some(t1));
            assert!(vs["expansion"].get("contains").is_none(), "{vs}");
        }
    }
}

#[actix_web::test]
async fn expand_statuses_designations_and_inline_value_sets() {
    let dir = tempfile::tempdir().expect("tmp");
    let saved = tempfile::tempdir().expect("tmp");
    for db in databases("fhir_expand_values") {
        let real = real_hot9(&db, dir.path());
        let key = keys(&db).reader;
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let url = implicit();
        let retired = &real.retired[0];

        // A retired code is listed as inactive; activeOnly leaves it (and only the retired
        // codes) out.
        let (_, vs) = fhir(
            &service,
            EXPAND,
            &[("url", &url), ("filter", retired), ("count", "5")],
            None,
            &key,
        )
        .await;
        assert_eq!(
            vs["expansion"]["contains"][0]["code"],
            retired.as_str(),
            "{vs}"
        );
        assert_eq!(vs["expansion"]["contains"][0]["inactive"], true, "{vs}");
        let (_, active) = fhir(
            &service,
            EXPAND,
            &[
                ("url", &url),
                ("filter", retired),
                ("activeOnly", "true"),
                ("count", "5"),
            ],
            None,
            &key,
        )
        .await;
        assert!(!codes(&active).contains(retired), "{active}");
        assert_eq!(parameters(&active, "activeOnly"), [json!(true)]);
        let total = |vs: &Value| vs["expansion"]["total"].as_u64().expect("total");
        let (_, tablets) = fhir(
            &service,
            EXPAND,
            &[("url", &url), ("filter", "錠"), ("count", "1")],
            None,
            &key,
        )
        .await;
        let (_, active_tablets) = fhir(
            &service,
            EXPAND,
            &[
                ("url", &url),
                ("filter", "錠"),
                ("count", "1"),
                ("activeOnly", "true"),
            ],
            None,
            &key,
        )
        .await;
        assert_eq!(
            total(&tablets) - total(&active_tablets),
            real.retired.len() as u64
        );
        let (_, every_active) = fhir(
            &service,
            EXPAND,
            &[("url", &url), ("count", "1"), ("activeOnly", "true")],
            None,
            &key,
        )
        .await;
        assert_eq!(
            total(&every_active) as usize,
            real.codes.len() - real.retired.len()
        );
        save(saved.path(), &format!("{}-implicit-filter", db.name), &vs);

        // An inline value set: a concept list (order and displays kept, a code the release
        // does not have left out) and an exclude; designations as $lookup lists them.
        let active: Vec<&String> = real
            .codes
            .iter()
            .filter(|c| !real.retired.contains(c))
            .collect();
        let (a, b, c) = (active[10], active[20], active[30]);
        let inline = json!({
            "resourceType": "ValueSet",
            "url": "http://example.org/ValueSet/hot9-picks",
            "version": "1",
            "name": "Hot9Picks",
            "status": "draft",
            "compose": {
                "include": [{"system": HOT9, "concept": [
                    {"code": retired},
                    {"code": b, "display": "値セットの表示名"},
                    {"code": "999999999"},
                    {"code": a},
                    {"code": c}
                ]}],
                "exclude": [{"system": HOT9, "concept": [{"code": a}]}]
            }
        });
        let post = |extra: Vec<Value>| {
            let mut parameter = vec![json!({"name": "valueSet", "resource": inline.clone()})];
            parameter.extend(extra);
            json!({"resourceType": "Parameters", "parameter": parameter})
        };
        let (status, vs) = fhir(
            &service,
            EXPAND,
            &[],
            Some(post(vec![
                json!({"name": "includeDesignations", "valueBoolean": true}),
            ])),
            &key,
        )
        .await;
        assert_eq!(status, 200, "{vs}");
        assert_eq!(
            codes(&vs),
            [retired.as_str(), b.as_str(), c.as_str()],
            "{}",
            db.name
        );
        assert_eq!(vs["expansion"]["total"], 3);
        assert_eq!(vs["url"], "http://example.org/ValueSet/hot9-picks");
        assert_eq!(vs["status"], "draft");
        assert!(
            vs.get("compose").is_none(),
            "includeDefinition is false by default"
        );
        let contains = vs["expansion"]["contains"].as_array().expect("contains");
        assert_eq!(contains[0]["inactive"], true);
        assert!(contains[1].get("inactive").is_none());
        assert_eq!(contains[1]["display"], "値セットの表示名");
        for (item, code) in contains
            .iter()
            .zip([retired.as_str(), b.as_str(), c.as_str()])
        {
            let (_, lookup) = fhir(
                &service,
                "/fhir/CodeSystem/$lookup",
                &[("system", HOT9), ("code", code)],
                None,
                &key,
            )
            .await;
            let want: Vec<Value> = lookup["parameter"].as_array().expect("parameters").iter()
                .filter(|p| p["name"] == "designation")
                .map(|p| {
                    let part = |n: &str| p["part"].as_array().expect("parts").iter().find(|x| x["name"] == n).cloned().unwrap_or(Value::Null);
                    json!({"language": part("language")["valueCode"], "use": part("use")["valueCoding"], "value": part("value")["valueString"]})
                })
                .collect();
            assert!(!want.is_empty(), "{lookup}");
            assert_eq!(item["designation"], Value::Array(want), "{code}");
            if code != b {
                assert_eq!(
                    item["display"], lookup["parameter"][2]["valueString"],
                    "{lookup}"
                );
            }
        }
        save(
            saved.path(),
            &format!("{}-inline-designations", db.name),
            &vs,
        );
        // The same value set supplied as a tx-resource and named by its url.
        let (status, supplied) = fhir(
            &service,
            EXPAND,
            &[],
            Some(json!({"resourceType": "Parameters", "parameter": [
                {"name": "url", "valueUri": "http://example.org/ValueSet/hot9-picks"},
                {"name": "tx-resource", "resource": inline.clone()}
            ]})),
            &key,
        )
        .await;
        assert_eq!(status, 200, "{supplied}");
        assert_eq!(codes(&supplied), codes(&vs));
        // Displays are the masters' whatever language is asked; the language asked is echoed.
        let (_, english) = fhir(
            &service,
            EXPAND,
            &[],
            Some(post(vec![
                json!({"name": "displayLanguage", "valueCode": "en"}),
            ])),
            &key,
        )
        .await;
        assert_eq!(english["expansion"]["contains"], {
            let mut plain = vs["expansion"]["contains"].clone();
            for item in plain.as_array_mut().expect("contains") {
                item.as_object_mut().expect("item").remove("designation");
            }
            plain
        });
        assert_eq!(parameters(&english, "displayLanguage"), [json!("en")]);
        let (_, vs) = fhir(
            &service,
            EXPAND,
            &[],
            Some(post(vec![
                json!({"name": "activeOnly", "valueBoolean": true}),
                json!({"name": "includeDefinition", "valueBoolean": true}),
                json!({"name": "filter", "valueString": "錠"}),
            ])),
            &key,
        )
        .await;
        assert!(!codes(&vs).contains(retired), "{vs}");
        assert!(vs["compose"].is_object(), "includeDefinition");
    }
    validate_saved(saved.path());
}
