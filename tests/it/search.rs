//! Search: exact recall against a brute-force scan of real data, ranking, filters, releases
//! and the endpoint's errors, on SQLite and PostgreSQL.

use std::collections::{BTreeSet, HashMap};

/// Concepts found, as (system, code).
type Found = BTreeSet<(String, String)>;
use std::io::Read;

use actix_web::test::init_service;
use hyojun::api::{app, ApiConfig, AppState};
use hyojun::search::{query, Location, SearchIndex, SearchRequest, StatusFilter};
use hyojun::store::search_feed::Versions;
use hyojun::store::Store;
use hyojun::systems::Master;
use hyojun::text::{normalize, Level};
use serde_json::Value;

use crate::api::{call, keys, sample_db};
use crate::support::{databases, hyojun, repo, shared_data, write_cp932, TestDb};

/// Every designation and code of the versions valid in each master's current release, as
/// the recall contract states them: normalised designations (display and every designation
/// value) and normalised codes (own and carried), by (system, code).
struct Reference {
    concepts: Vec<(String, String, Vec<String>, Vec<String>)>,
}

impl Reference {
    fn of(store: &Store) -> Reference {
        let current: HashMap<String, hyojun::ids::ReleaseId> = Master::ALL
            .iter()
            .filter_map(|m| {
                let r = store.current_release(*m).expect("current")?;
                Some((m.key().to_owned(), r.id))
            })
            .collect();
        let mut concepts = Vec::new();
        store
            .for_each_concept_page(Versions::All, |page| {
                for row in page {
                    let Some(&release) = current.get(&row.master) else {
                        continue;
                    };
                    if row.valid_from > release || row.valid_to.is_some_and(|to| to <= release) {
                        continue;
                    }
                    let designations: Vec<Value> =
                        serde_json::from_str(&row.designations).expect("designations");
                    let mut names = vec![normalize(&row.display).text()];
                    names.extend(
                        designations
                            .iter()
                            .filter_map(|d| d["value"].as_str())
                            .map(|v| normalize(v).text()),
                    );
                    let mut codes = vec![Level::Code.apply(&row.code)];
                    for (relation, _, code) in row.link_list().expect("links") {
                        if relation == "code" {
                            codes.push(Level::Code.apply(&code));
                        }
                    }
                    concepts.push((row.system_key.clone(), row.code.clone(), names, codes));
                }
                Ok(())
            })
            .expect("concepts");
        Reference { concepts }
    }

    /// The (system, code) pairs a query must find: a normalised designation contains the
    /// normalised query, or a code starts with the normalised code query.
    fn expected(&self, q: &str) -> Found {
        let text = normalize(q).text();
        let code = Level::Code.apply(q);
        self.concepts
            .iter()
            .filter(|(_, _, names, codes)| {
                names.iter().any(|n| n.contains(&text))
                    || (!code.is_empty() && codes.iter().any(|c| c.starts_with(&code)))
            })
            .map(|(s, c, _, _)| (s.clone(), c.clone()))
            .collect()
    }
}

/// Every page of a search, as (system, code) pairs; also checks `total` and that no pair
/// comes twice.
fn all_pages(index: &SearchIndex, store: &Store, q: &str) -> Found {
    let releases = Master::ALL
        .iter()
        .filter_map(|m| Some((*m, store.current_release(*m).expect("current")?.id)))
        .collect();
    let mut found = Found::new();
    let mut offset = 0;
    loop {
        let request = SearchRequest {
            query: q.to_owned(),
            releases: std::collections::HashMap::clone(&releases),
            systems: Vec::new(),
            status: StatusFilter::All,
            attributes: Vec::new(),
            limit: query::MAX_LIMIT,
            offset,
        };
        let page = index.search(store, &request).expect("search");
        for hit in &page.items {
            let fresh = found.insert((hit.system.clone(), hit.code.clone()));
            assert!(fresh, "{q}: {} {} twice", hit.system, hit.code);
        }
        offset += page.items.len();
        if page.items.is_empty() || offset >= page.total {
            assert_eq!(found.len(), page.total, "{q}: total");
            return found;
        }
    }
}

/// A deterministic pseudo-random sequence (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Queries as mapping staff type them: fragments of real names of every length (original
/// text, so full-width, kana and kanji as stored), readings in hiragana, code prefixes,
/// the variants the issue names, and text no master has.
fn queries(reference: &Reference, store: &Store) -> Vec<String> {
    let mut rng = Lcg(2026);
    let mut out: Vec<String> = [
        "胃炎",
        "とうにょう",
        "ｶﾌﾟｾﾙ",
        "ＨｂＡ１ｃ",
        "hba1c",
        "2型",
        "Ⅱ型",
        "II型",
        "炎",
        "ｲﾝｽﾘﾝ",
        "急性 胃炎",
        "ビタミン",
        "ｂ１２",
        "血清",
        "観察",
        "錠",
        "ー",
        "・",
        "(",
        "\"",
        "OR",
        "存在しない語ｘｙｚ",
        "zzzzqqq",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut originals: Vec<String> = Vec::new();
    store
        .for_each_concept_page(Versions::All, |page| {
            for row in page.iter().filter(|r| r.valid_to.is_none()) {
                originals.push(row.display.clone());
                let d: Vec<Value> = serde_json::from_str(&row.designations).expect("json");
                originals.extend(
                    d.iter()
                        .filter_map(|d| d["value"].as_str().map(str::to_owned)),
                );
            }
            Ok(())
        })
        .expect("designations");
    for _ in 0..600 {
        let text: Vec<char> = originals[rng.below(originals.len())].chars().collect();
        if text.is_empty() {
            continue;
        }
        let len = 1 + rng.below(6.min(text.len()));
        let start = rng.below(text.len() - len + 1);
        let fragment: String = text[start..start + len].iter().collect();
        // Every fourth fragment as hiragana (readings are stored in katakana).
        let fragment = if rng.below(4) == 0 {
            fragment
                .chars()
                .map(|c| match c as u32 {
                    0x30A1..=0x30F6 => char::from_u32(c as u32 - 0x60).unwrap_or(c),
                    _ => c,
                })
                .collect()
        } else {
            fragment
        };
        if !normalize(&fragment).is_empty() {
            out.push(fragment);
        }
    }
    for _ in 0..150 {
        let (_, _, _, codes) = &reference.concepts[rng.below(reference.concepts.len())];
        let code = &codes[rng.below(codes.len())];
        let len = 1 + rng.below(code.len());
        let prefix: String = code.chars().take(len).collect();
        out.push(if rng.below(3) == 0 {
            prefix.to_lowercase()
        } else {
            prefix
        });
    }
    out
}

/// Real data of every master: the HOT9 file of 2003-02, the 5.07-shaped 病名 release (names,
/// modifiers, ~100k index terms), the 8,108 real JLAC10 codes and the real 看護 codes.
fn import_real_data(db: &TestDb, dir: &std::path::Path) {
    let gz =
        std::fs::File::open(shared_data().join(
            "hot-hs001/jp-medicine-master-data_hot9_2001-2003/MEDIS20030228_HOT9.utf8.csv.gz",
        ))
        .expect("real HOT9 file");
    let hot = dir.join("MEDIS20030228_HOT9.TXT");
    if !hot.exists() {
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .expect("gunzip");
        write_cp932(&hot, &text);
    }
    let byomei = crate::byomei::real_release_507(dir);
    let jlac = dir.join("2023_matome.xlsx");
    if !jlac.exists() {
        std::fs::write(
            &jlac,
            crate::jlac::real_workbook(&crate::jlac::real_codes()),
        )
        .expect("workbook");
    }
    let nursing = crate::nursing::real_release();
    for (master, path) in [
        ("hot", hot.as_path()),
        ("byomei", byomei.as_path()),
        ("jlac", jlac.as_path()),
        ("nursing", nursing.dir.path()),
    ] {
        let shown = path.display().to_string();
        let mut args = vec!["import", master, &shown, "--activate"];
        if matches!(master, "hot" | "jlac") {
            // The real extracts are one file of their release (HOT9; the JLAC10 まとめ表).
            args.push("--partial");
        }
        assert_eq!(hyojun(db, &args), 0, "{} {master}", db.name);
    }
}

#[test]
fn recall_is_exactly_the_brute_force_substring_set_on_real_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut expected_by_query: Option<Vec<(String, Found)>> = None;
    for db in databases("search_recall") {
        import_real_data(&db, dir.path());
        let index = SearchIndex::open(Location::Memory).expect("index");
        let report = index.sync(&db.store).expect("sync");
        assert!(report.rebuilt);
        assert_eq!(report.releases_added, 4);
        // The reference and the queries come from the first backend; both must agree.
        let expected = expected_by_query.get_or_insert_with(|| {
            let reference = Reference::of(&db.store);
            assert!(
                reference.concepts.len() > 60_000,
                "{}",
                reference.concepts.len()
            );
            queries(&reference, &db.store)
                .into_iter()
                .map(|q| {
                    let e = reference.expected(&q);
                    (q, e)
                })
                .collect()
        });
        let mut matched_queries = 0;
        for (q, want) in expected.iter() {
            let got = all_pages(&index, &db.store, q);
            if got != *want {
                let missing: Vec<_> = want.iter().filter(|k| !got.contains(*k)).take(5).collect();
                let extra: Vec<_> = got.iter().filter(|k| !want.contains(*k)).take(5).collect();
                panic!(
                    "{} query {q:?}: {} expected, {} found; missing {missing:?}, extra {extra:?}",
                    db.name,
                    want.len(),
                    got.len()
                );
            }
            matched_queries += usize::from(!want.is_empty());
        }
        assert!(
            matched_queries > 700,
            "{matched_queries} queries matched something"
        );
    }
}

/// Search through the app on the two sample HOT releases (the first serving).
#[actix_web::test]
async fn endpoint_ranks_filters_highlights_and_follows_activation() {
    for db in databases("search_api") {
        sample_db(&db);
        let k = keys(&db);
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let key = Some(k.reader.as_str());
        let get = |uri: String| {
            let service = &service;
            async move { call(service, "GET", &uri, key, None).await }
        };
        let enc = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };

        // No key: 401.
        let (status, _) = call(&service, "GET", "/v1/search?q=abc", None, None).await;
        assert_eq!(status, 401);

        // An exact code ranks first and says so; the highlight covers the code.
        let (status, page) = get(format!("/v1/search?q={}", "900903501")).await;
        assert_eq!(status, 200, "{page}");
        let first = &page["items"][0];
        assert_eq!(first["code"], "900903501", "{page}");
        assert_eq!(first["matched"]["match"], "exact_code");
        assert_eq!(first["matched"]["start"], 0);
        assert_eq!(first["matched"]["end"], 9);
        assert_eq!(page["releases"][0]["label"], "20260531");

        // A name fragment typed in half-width kana finds the full-width name, with offsets.
        let (_, page) = get(format!("/v1/search?q={}&system=hot9", enc("ｼﾖｳﾏｲｼﾝ"))).await;
        assert_eq!(page["total"], 1, "{page}");
        let hit = &page["items"][0];
        assert_eq!(hit["display"], "ケンショウマイシン錠５０ｍｇ");
        assert_eq!(hit["matched"]["match"], "name_substring");
        assert_eq!(hit["matched"]["field"], "display");
        assert_eq!(
            (
                hit["matched"]["start"].as_u64(),
                hit["matched"]["end"].as_u64()
            ),
            (Some(2), Some(9))
        );

        // Exact name before prefix before substring; shorter names first among equals.
        let (_, page) = get(format!(
            "/v1/search?q={}&system=hot9",
            enc("ヒョウジュン錠１０ｍｇ")
        ))
        .await;
        assert_eq!(page["items"][0]["matched"]["match"], "exact_name", "{page}");
        let (_, page) = get(format!(
            "/v1/search?q={}&system=hot9&limit=50",
            enc("ヒョウジュン")
        ))
        .await;
        let kinds: Vec<&str> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["matched"]["match"].as_str().unwrap_or(""))
            .collect();
        assert!(kinds.iter().all(|k| *k == "name_prefix"), "{kinds:?}");
        let lengths: Vec<usize> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["display"].as_str().unwrap_or("").chars().count())
            .collect();
        assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "{lengths:?}");

        // The code added by the second release is not found until that release is activated,
        // and then it is; as-of the first release it still is not.
        let added = "9012080010101";
        let (_, page) = get(format!("/v1/search?q={added}")).await;
        assert_eq!(page["total"], 0, "{page}");
        let second = db
            .store
            .find_release(Master::Hot, "20260630")
            .expect("release")
            .id;
        let (status, _) = call(
            &service,
            "POST",
            &format!("/v1/releases/{second}/activate"),
            Some(k.admin.as_str()),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (_, page) = get(format!("/v1/search?q={added}")).await;
        assert_eq!(page["total"], 1, "{page}");
        assert_eq!(page["items"][0]["release_id"], second.get());
        let (_, page) = get(format!("/v1/search?q={added}&master=hot&release=20260531")).await;
        assert_eq!(page["total"], 0, "{page}");

        // Attribute filters: HOT 区分 (the one 外 product), and filters of another master
        // leave HOT out.
        let (_, page) = get(format!(
            "/v1/search?q={}&category={}",
            enc("サンプリン"),
            enc("外")
        ))
        .await;
        let codes: Vec<&str> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["code"].as_str().unwrap_or(""))
            .collect();
        // Equal names: registry order of systems (hot13 before hot9), then index order.
        assert_eq!(
            codes,
            ["9012080010101", "9012080010102", "901208001"],
            "{page}"
        );
        let (_, page) = get(format!("/v1/search?q={}&material=023", enc("サンプリン"))).await;
        assert_eq!(page["total"], 0, "{page}");

        // Retired codes: the status filter, and active before retired.
        let (_, page) = get(format!("/v1/search?q={}&status=retired", "9009035")).await;
        let statuses: Vec<&str> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["status"].as_str().unwrap_or(""))
            .collect();
        assert!(
            !statuses.is_empty() && statuses.iter().all(|s| *s == "retired"),
            "{page}"
        );
        let (_, page) = get(format!("/v1/search?q={}&status=active", "900903501")).await;
        assert_eq!(page["total"], 0, "{page}");

        // Bad requests: 400 with the error envelope; query syntax is just text.
        let long = "あ".repeat(201);
        for uri in [
            "/v1/search?q=".to_owned(),
            format!("/v1/search?q={}", enc("   ")),
            format!("/v1/search?q={}", enc(&long)),
            "/v1/search?q=abc&status=maybe".to_owned(),
            "/v1/search?q=abc&limit=0".to_owned(),
            "/v1/search?q=abc&release=20260531".to_owned(),
            "/v1/search?q=abc&date=2026-13-01".to_owned(),
        ] {
            let (status, body) = get(uri.clone()).await;
            assert_eq!(status, 400, "{uri}: {body}");
            assert_eq!(body["error"]["code"], "bad_request", "{uri}");
        }
        let (status, _) = get("/v1/search?q=abc&system=nope".to_owned()).await;
        assert_eq!(status, 404);
        for q in ["\"(錠 OR", "*:*", "title:x AND -y", "\\", "[1 TO 2]"] {
            let (status, body) = get(format!("/v1/search?q={}", enc(q))).await;
            assert_eq!(status, 200, "{q}: {body}");
        }
    }
}

/// The index on disk: kept across restarts, rebuilt when its schema version differs, and
/// brought in step with releases imported by another process.
#[test]
fn an_index_on_disk_follows_the_store_and_its_schema_version() {
    for db in databases("search_disk") {
        let dir = tempfile::tempdir().expect("tmp");
        let at = dir.path().join("index");
        let first = repo().join("masters/hot/20260531").display().to_string();
        assert_eq!(hyojun(&db, &["import", "hot", &first, "--activate"]), 0);
        let releases = |store: &Store| {
            Master::ALL
                .iter()
                .filter_map(|m| Some((*m, store.current_release(*m).expect("current")?.id)))
                .collect::<std::collections::HashMap<_, _>>()
        };
        let request = |store: &Store| SearchRequest {
            query: "テスタミド".into(),
            releases: releases(store),
            systems: vec!["hot13"],
            status: StatusFilter::All,
            attributes: Vec::new(),
            limit: 10,
            offset: 0,
        };
        {
            let index = SearchIndex::open(Location::Dir(at.clone())).expect("open");
            assert_eq!(
                index
                    .search(&db.store, &request(&db.store))
                    .expect("search")
                    .total,
                3
            );
        }
        // Reopened: already in step, nothing to write.
        {
            let index = SearchIndex::open(Location::Dir(at.clone())).expect("reopen");
            assert!(index.snapshot().documents() > 0);
            let report = index.sync(&db.store).expect("sync");
            assert_eq!(report.documents_written, 0);
        }
        // A release imported meanwhile is added on the next search that needs it.
        let zip = repo()
            .join("masters/hot/h20260630.zip")
            .display()
            .to_string();
        assert_eq!(hyojun(&db, &["import", "hot", &zip, "--activate"]), 0);
        {
            let index = SearchIndex::open(Location::Dir(at.clone())).expect("reopen");
            let page = index
                .search(&db.store, &request(&db.store))
                .expect("search");
            assert_eq!(page.total, 3);
            let report = index.sync(&db.store).expect("sync");
            assert_eq!(report.documents_written, 0, "already in step");
        }
        // Another schema version: wiped and rebuilt.
        std::fs::write(at.join("hyojun-search.json"), r#"{"schema_version": 0}"#).expect("write");
        let index = SearchIndex::open(Location::Dir(at.clone())).expect("reopen");
        assert_eq!(index.snapshot().documents(), 0, "rebuilt from nothing");
        let report = index.sync(&db.store).expect("sync");
        assert!(report.rebuilt);
        assert_eq!(
            index
                .search(&db.store, &request(&db.store))
                .expect("search")
                .total,
            3
        );
        // `hyojun reindex` and `hyojun search` on the CLI.
        let dir_arg = at.display().to_string();
        drop(index);
        assert_eq!(hyojun(&db, &["reindex", "--index-dir", &dir_arg]), 0);
        assert_eq!(
            hyojun(&db, &["search", "テスタミド", "--index-dir", &dir_arg]),
            0
        );
        assert_eq!(hyojun(&db, &["search", "  ", "--index-dir", &dir_arg]), 1);
    }
}
