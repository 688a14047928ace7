//! The command layer (`hyojun::app`): a write and its audit row commit or roll back together,
//! and a bulk review is one transaction. Faults are injected in the database itself, with
//! triggers that refuse one insert, so the code under test runs unchanged — on SQLite and
//! PostgreSQL, through the HTTP API and the command line alike.

use actix_web::test::init_service;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use hyojun::api::{app, ApiConfig, AppState};
use hyojun::ids::ProjectId;
use hyojun::mapping::state::State;
use serde_json::{json, Value};

use crate::api::{call, keys, sample_db};
use crate::support::{databases, hyojun, TestDb};

/// Runs SQL on the test database over a connection of its own.
fn exec(db: &TestDb, sql: &str) {
    match db.name {
        "sqlite" => SqliteConnection::establish(&db.url)
            .expect("sqlite")
            .batch_execute(sql),
        _ => PgConnection::establish(&db.url)
            .expect("postgres")
            .batch_execute(sql),
    }
    .unwrap_or_else(|e| panic!("{}: {sql}: {e}", db.name));
}

/// Makes every insert into `table` for which `condition` (SQL over `NEW`) holds fail.
fn refuse_inserts(db: &TestDb, table: &str, condition: &str) {
    let sql = match db.name {
        "sqlite" => format!(
            "CREATE TRIGGER injected_fault BEFORE INSERT ON {table} WHEN {condition} \
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
        ),
        _ => format!(
            "CREATE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF {condition} THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER injected_fault BEFORE INSERT ON {table} \
             FOR EACH ROW EXECUTE FUNCTION injected_fault();"
        ),
    };
    exec(db, &sql);
}

fn heal(db: &TestDb, table: &str) {
    match db.name {
        "sqlite" => exec(db, "DROP TRIGGER injected_fault;"),
        _ => exec(
            db,
            &format!("DROP TRIGGER injected_fault ON {table}; DROP FUNCTION injected_fault();"),
        ),
    }
}

/// (action, target, outcome) of the audit log, oldest first.
fn audit(db: &TestDb) -> Vec<(String, String, String)> {
    let (_, rows) = db.store.audit_entries(1000, 0).expect("audit");
    rows.into_iter()
        .rev()
        .map(|r| (r.action, r.target, r.outcome.as_str().to_owned()))
        .collect()
}

/// What each write of the test changes, read back.
fn state(db: &TestDb, project: i64) -> Value {
    let project = ProjectId::new(project);
    let keys: Vec<String> = db
        .store
        .keys()
        .expect("keys")
        .into_iter()
        .map(|k| format!("{} {}", k.name, k.revoked_at.is_some()))
        .collect();
    let projects: Vec<String> = db
        .store
        .projects()
        .expect("projects")
        .into_iter()
        .map(|p| p.name)
        .collect();
    let current = db
        .store
        .current_release(hyojun::systems::Master::Hot)
        .expect("current")
        .map(|r| r.label);
    let mappings = db.store.mappings(project, None, 100, 0).expect("mappings");
    let states: Vec<String> = mappings
        .items
        .iter()
        .map(|m| format!("{} {}", m.local_code, m.state.as_str()))
        .collect();
    json!({"keys": keys, "projects": projects, "current": current, "mappings": states,
           "revision": db.store.project_revision(project).expect("revision")})
}

#[actix_web::test]
async fn a_write_and_its_audit_row_commit_or_roll_back_together() {
    for db in databases("audit_atomic") {
        sample_db(&db);
        let k = keys(&db);
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let (admin, mapper) = (Some(k.admin.as_str()), Some(k.mapper.as_str()));
        let (status, project) = call(
            &service,
            "POST",
            "/v1/mapping/projects",
            admin,
            Some(json!({"name": "検査", "local_system": "urn:oid:1.2.392.1", "target_systems": ["hot9"]})),
        )
        .await;
        assert_eq!(status, 201, "{project}");
        let id = project["id"].as_i64().expect("id");
        let releases = db
            .store
            .releases(Some(hyojun::systems::Master::Hot))
            .expect("releases");
        let newest = releases.last().expect("release").release.id;
        let codes = "code,name\nL1,ナトリウム\nL2,カリウム\n";
        let before = state(&db, id);
        let audited = audit(&db).len();

        // Every audit row that says `ok` is refused: each write fails and changes nothing,
        // and what is recorded is that it failed.
        refuse_inserts(&db, "audit_log", "NEW.outcome = 'ok'");
        let writes: Vec<(&str, String, Option<Value>, Option<&str>)> = vec![
            (
                "POST",
                "/v1/keys".into(),
                Some(json!({"name": "lab", "role": "reader"})),
                admin,
            ),
            ("DELETE", format!("/v1/keys/{}", 1), None, admin),
            (
                "POST",
                "/v1/mapping/projects".into(),
                Some(
                    json!({"name": "薬剤", "local_system": "urn:oid:1.2.392.2", "target_systems": ["hot9"]}),
                ),
                admin,
            ),
            (
                "POST",
                format!("/v1/releases/{newest}/activate"),
                None,
                admin,
            ),
        ];
        for (method, uri, body, key) in &writes {
            let (status, answer) = call(&service, method, uri, *key, body.clone()).await;
            assert_eq!(status, 500, "{} {method} {uri}: {answer}", db.name);
            assert_eq!(answer["error"]["code"], "internal", "{answer}");
        }
        let (status, answer) =
            crate::mapping::upload(&service, id, &k.mapper, codes.as_bytes().to_vec()).await;
        assert_eq!(status, 500, "{answer}");
        assert_eq!(state(&db, id), before, "{}: nothing changed", db.name);
        let failed: Vec<(String, String)> = audit(&db)[audited..]
            .iter()
            .map(|(action, _, outcome)| (action.clone(), outcome.clone()))
            .collect();
        let expected = [
            "create_key",
            "revoke_key",
            "create_mapping_project",
            "activate_release",
            "upload_local_codes",
        ]
        .map(|a| (a.to_owned(), "failed".to_owned()));
        assert_eq!(failed, expected, "{}", db.name);

        // The command line goes through the same command.
        let cli = ["keys", "create", "--role", "reader", "--name", "cli"];
        assert_ne!(hyojun(&db, &cli), 0);
        assert_eq!(state(&db, id), before);
        assert_eq!(
            audit(&db).pop().expect("row"),
            ("create_key".into(), "key:cli".into(), "failed".into())
        );

        // Without the fault, the same writes happen, each with its `ok` row.
        heal(&db, "audit_log");
        let (status, _) =
            crate::mapping::upload(&service, id, &k.mapper, codes.as_bytes().to_vec()).await;
        assert_eq!(status, 200);
        let (status, answer) = call(
            &service,
            "POST",
            &format!("/v1/mapping/projects/{id}/mappings/L1"),
            mapper,
            Some(json!({"action": "no_match"})),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let tail: Vec<(String, String, String)> = audit(&db).split_off(audited + 6);
        assert_eq!(
            tail,
            [
                ("upload_local_codes", format!("mapping_project:{id}"), "ok"),
                ("change_mapping", format!("mapping_project:{id}/L1"), "ok"),
            ]
            .map(|(a, t, o)| (a.to_owned(), t, o.to_owned())),
            "{}",
            db.name
        );
    }
}

#[actix_web::test]
async fn a_bulk_change_of_ten_thousand_mappings_is_one_transaction() {
    for db in databases("bulk_one_tx") {
        let k = keys(&db);
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let (status, project) = call(
            &service,
            "POST",
            "/v1/mapping/projects",
            Some(&k.admin),
            Some(json!({"name": "院内検査", "local_system": "urn:oid:1.2.392.3", "target_systems": ["jlac10"]})),
        )
        .await;
        assert_eq!(status, 201, "{project}");
        let id = project["id"].as_i64().expect("id");
        let mut list = String::from("code,name\n");
        let codes: Vec<String> = (0..10_000).map(|i| format!("K{i:05}")).collect();
        for code in &codes {
            list.push_str(&format!("{code},検査項目{code}\n"));
        }
        let (status, _) = crate::mapping::upload(&service, id, &k.mapper, list.into_bytes()).await;
        assert_eq!(status, 200);
        let revision = db
            .store
            .project_revision(ProjectId::new(id))
            .expect("revision");
        let bulk = json!({"codes": codes, "action": "no_match", "comment": "対応なし"});

        // The 5,001st history row fails: nothing of the 10,000 is changed.
        refuse_inserts(&db, "mapping_history", "NEW.local_code = 'K05000'");
        let uri = format!("/v1/mapping/projects/{id}/bulk");
        let (status, answer) =
            call(&service, "POST", &uri, Some(&k.mapper), Some(bulk.clone())).await;
        assert_eq!(status, 500, "{answer}");
        let no_match = |db: &TestDb| {
            db.store
                .mappings(ProjectId::new(id), Some(State::NoMatch), 1, 0)
                .expect("mappings")
                .total
        };
        assert_eq!(no_match(&db), 0, "{}: rolled back whole", db.name);
        assert_eq!(
            db.store
                .project_revision(ProjectId::new(id))
                .expect("revision"),
            revision
        );

        // Without it, all 10,000 change at once, the revision moves once, one audit row.
        heal(&db, "mapping_history");
        let (status, answer) = call(&service, "POST", &uri, Some(&k.mapper), Some(bulk)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            (answer["changed"].as_u64(), answer["refused"].as_u64()),
            (Some(10_000), Some(0))
        );
        assert_eq!(no_match(&db), 10_000);
        assert_eq!(
            db.store
                .project_revision(ProjectId::new(id))
                .expect("revision"),
            revision + 1
        );
        let last = audit(&db).pop().expect("audit row");
        assert_eq!(
            last,
            (
                "bulk_change".to_owned(),
                format!("mapping_project:{id}"),
                "ok".to_owned()
            )
        );
        // A code the project does not have is refused on its own; the others change.
        let some = json!({"codes": ["K00001", "NOPE"], "action": "reset"});
        let (status, answer) = call(&service, "POST", &uri, Some(&k.mapper), Some(some)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            (answer["changed"].as_u64(), answer["refused"].as_u64()),
            (Some(1), Some(1)),
            "{answer}"
        );
        assert_eq!(answer["items"][1]["outcome"], "not_found", "{answer}");
        assert_eq!(no_match(&db), 9_999);
    }
}

/// Nodes started at once on a fresh database migrate it once between them, without errors.
#[test]
fn nodes_started_at_once_do_not_race_on_migrations() {
    use hyojun::store::{DatabaseUrl, Store};
    for backend in crate::support::backends() {
        let dir = tempfile::tempdir().expect("tmp");
        let (url, drop_db) = match backend {
            "sqlite" => (dir.path().join("fresh.sqlite3").display().to_string(), None),
            _ => {
                let admin = crate::support::postgres_admin_url();
                let db = format!("hyojun_t{}_migrate_race", std::process::id());
                let mut conn = PgConnection::establish(&admin).expect("postgres");
                diesel::sql_query(format!("CREATE DATABASE {db}"))
                    .execute(&mut conn)
                    .expect("create");
                let (base, _) = admin.rsplit_once('/').expect("url");
                (format!("{base}/{db}"), Some((conn, db)))
            }
        };
        let parsed = DatabaseUrl::parse(&url).expect("url");
        let opened: Vec<Result<usize, String>> = std::thread::scope(|s| {
            let nodes: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let store = Store::open(&parsed, 2).map_err(|e| e.to_string())?;
                        store
                            .migrate()
                            .map(|again| again.len())
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            nodes
                .into_iter()
                .map(|n| n.join().expect("thread"))
                .collect()
        });
        assert_eq!(
            opened,
            vec![Ok(0); 4],
            "{backend}: every node opened it, nothing left to apply"
        );
        if let Some((mut conn, db)) = drop_db {
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                .execute(&mut conn)
                .expect("drop");
        }
    }
}

/// A stored mapping state hyojun does not know is damaged data: reading it is an error (500,
/// nothing internal in the body), never a guess at some state.
#[actix_web::test]
async fn a_stored_state_hyojun_does_not_know_is_an_error_not_a_guess() {
    for db in databases("typed_state") {
        let k = keys(&db);
        let service =
            init_service(app(AppState::new(db.store.clone(), ApiConfig::default()))).await;
        let project =
            json!({"name": "p", "local_system": "urn:oid:1.2.392.4", "target_systems": ["hot9"]});
        let (_, project) = call(
            &service,
            "POST",
            "/v1/mapping/projects",
            Some(&k.admin),
            Some(project),
        )
        .await;
        let id = project["id"].as_i64().expect("id");
        let list = b"code,name\nA1,alpha\n".to_vec();
        assert_eq!(
            crate::mapping::upload(&service, id, &k.mapper, list)
                .await
                .0,
            200
        );
        let uri = format!("/v1/mapping/projects/{id}/mappings/A1");
        let (status, answer) = call(&service, "GET", &uri, Some(&k.reader), None).await;
        assert_eq!(
            (status, answer["state"].as_str()),
            (200, Some("unmapped")),
            "{answer}"
        );
        exec(&db, "UPDATE mappings SET state = 'done'");
        let (status, answer) = call(&service, "GET", &uri, Some(&k.reader), None).await;
        assert_eq!(status, 500, "{}: {answer}", db.name);
        assert_eq!(answer["error"]["code"], "internal");
        assert!(!answer.to_string().contains("done"), "{answer}");
    }
}

/// A project mapping local code D002, approved, to the HOT9 code 900903501 (which the sample
/// release 20260630 retires).
fn approved_mapping(store: &hyojun::store::Store) -> ProjectId {
    use hyojun::mapping::local_codes::LocalCode;
    use hyojun::mapping::state::Action;
    use hyojun::store::mapping::{Change, NewProject};
    let new = NewProject {
        name: "薬剤".into(),
        description: String::new(),
        local_system: "urn:oid:1.2.392.5".into(),
        target_systems: vec!["hot9".into()],
        four_eyes: false,
    };
    let id = hyojun::app::mapping::create_project(store, "test", &new)
        .expect("project")
        .id;
    let code = LocalCode {
        code: "D002".into(),
        name: "テスト錠".into(),
        unit: None,
        specimen: None,
        frequency: None,
        category: None,
        extra: Vec::new(),
        line: 2,
    };
    hyojun::app::mapping::merge_local_codes(store, "test", id, &[code]).expect("merge");
    let propose = Change {
        action: Some(Action::Propose),
        target: Some(("hot9".into(), "900903501".into())),
        ..Change::default()
    };
    let approve = Change {
        action: Some(Action::Approve),
        ..Change::default()
    };
    hyojun::app::mapping::change(store, "m1", id, "D002", &propose).expect("propose");
    hyojun::app::mapping::change(store, "m2", id, "D002", &approve).expect("approve");
    store.recheck_if_current_changed().expect("first check");
    id
}

/// `hyojun activate` re-checks the mappings itself and says what it flagged (with one pooled
/// connection it waited for a second one until it timed out).
#[test]
fn activate_on_the_command_line_flags_retired_targets() {
    for db in databases("recheck_cli") {
        sample_db(&db);
        let id = approved_mapping(&db.store);
        assert_eq!(
            hyojun(&db, &["activate", "hot", "20260630"]),
            0,
            "{}",
            db.name
        );
        let state = db.store.mapping(id, "D002").expect("mapping").state;
        assert_eq!(state, State::Flagged, "{}", db.name);
    }
}

/// The re-check reads what needs review on its own transaction's connection: a store with a
/// pool of exactly one connection re-checks and flags (it used to wait for a second one).
#[test]
fn a_recheck_needs_one_pooled_connection() {
    use hyojun::store::{DatabaseUrl, Store};
    use hyojun::systems::Master;
    for db in databases("recheck_one_conn") {
        sample_db(&db);
        let id = approved_mapping(&db.store);
        let one = Store::open(&DatabaseUrl::parse(&db.url).expect("url"), 1).expect("store");
        hyojun::app::releases::activate_label(&one, "test", Master::Hot, "20260630")
            .expect("activate");
        let report = one
            .recheck_master(Master::Hot)
            .expect("re-check")
            .expect("a check to do");
        let flagged: Vec<_> = report
            .needs_review
            .iter()
            .map(|a| {
                (
                    a.project_id,
                    a.local_code.as_str(),
                    a.target_system.as_str(),
                    a.target_code.as_str(),
                    a.kind,
                    a.release.as_str(),
                )
            })
            .collect();
        assert_eq!(
            flagged,
            vec![(id, "D002", "hot9", "900903501", "retired", "20260630")],
            "{}",
            db.name
        );
        assert_eq!(
            (report.checked, report.cosmetic.len()),
            (1, 0),
            "{}",
            db.name
        );
        let mapping = one.mapping(id, "D002").expect("mapping");
        assert_eq!(mapping.state, State::Flagged, "{}", db.name);
        assert_eq!(
            mapping.flag_reason.as_deref(),
            Some("target hot9 900903501 is retired in release 20260630; no successor is given"),
            "{}",
            db.name
        );
        assert!(one.recheck_master(Master::Hot).expect("again").is_none());
    }
}

/// A re-check of the mappings against a new current release records the check and its flags
/// in one transaction: when flagging fails midway (a node stopping, here a refused history
/// row), the check is not recorded as done, and the next poll does it.
#[test]
fn a_recheck_that_fails_midway_is_done_again() {
    use hyojun::systems::Master;
    for db in databases("recheck_again") {
        sample_db(&db);
        let store = &db.store;
        let id = approved_mapping(store);
        // The next release retires the target.
        hyojun::app::releases::activate_label(store, "test", Master::Hot, "20260630")
            .expect("activate");
        refuse_inserts(&db, "mapping_history", "NEW.actor = 'system:recheck'");
        assert!(store.recheck_if_current_changed().is_err(), "{}", db.name);
        let state = || store.mapping(id, "D002").expect("mapping").state;
        assert_eq!(state(), State::Approved, "{}: nothing flagged", db.name);
        heal(&db, "mapping_history");
        let done = store.recheck_if_current_changed().expect("again");
        let flagged: Vec<(Master, usize)> = done
            .iter()
            .map(|(m, r)| (*m, r.needs_review.len()))
            .collect();
        assert_eq!(flagged, vec![(Master::Hot, 1)], "{}", db.name);
        assert_eq!(state(), State::Flagged, "{}", db.name);
        assert!(store.recheck_if_current_changed().expect("once").is_empty());
    }
}
