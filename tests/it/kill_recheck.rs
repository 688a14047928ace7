//! kill -9 of a serving node during a mapping re-check: 15,000 approved mappings to a real
//! HOT9 code, and a new current release that no longer has it. Node a (`hyojun serve` as a
//! child process) queues and runs the re-check job and is killed with SIGKILL at a random
//! point of it; node b, on the same database, takes the job over once node a's heartbeat is
//! stale and finishes it. Every mapping ends flagged exactly once, and the check is recorded
//! against the new release.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::Value;

use hyojun::access::Role;
use hyojun::mapping::local_codes::LocalCode;
use hyojun::mapping::state::{Action, State};
use hyojun::store::mapping::{Change, NewProject};
use hyojun::systems::Master;

use crate::kill::{real_files, Node, Rng};
use crate::support::{databases, hyojun, repo};

/// Mappings in the project.
const MAPPINGS: usize = 15_000;
/// A code of the first real HOT9 release that the sample release 20260531 does not have.
const TARGET: &str = "100303101";

/// The re-check job of HOT the node lists, if any.
fn recheck_job(node: &Node, key: &str) -> Option<Value> {
    let (status, jobs) = node.get("/v1/jobs?limit=20", Some(key))?;
    assert_eq!(status, 200, "{jobs}");
    jobs.as_array()?
        .iter()
        .find(|j| j["kind"] == "recheck_mappings" && j["master"] == "hot")
        .cloned()
}

#[test]
fn kill_9_of_a_serving_node_mid_recheck_another_node_finishes_it() {
    let data = tempfile::tempdir().expect("temp dir");
    let first = real_files(data.path()).remove(0);
    let sample = repo().join("masters/hot/20260531");
    let mut rng = Rng::new("kill_recheck");
    for db in databases("kill_recheck") {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = &db.store;
        let args = [
            "import",
            "hot",
            &first.display().to_string(),
            "--activate",
            "--partial",
        ];
        assert_eq!(hyojun(&db, &args), 0);
        assert_eq!(
            hyojun(&db, &["import", "hot", &sample.display().to_string()]),
            0
        );
        let key = hyojun::app::keys::create(store, "test", "admin", Role::Admin)
            .expect("key")
            .key;
        let project = NewProject {
            name: "薬剤".into(),
            description: String::new(),
            local_system: "urn:oid:1.2.392.5".into(),
            target_systems: vec!["hot9".into()],
            four_eyes: false,
        };
        let id = hyojun::app::mapping::create_project(store, "test", &project)
            .expect("project")
            .id;
        let codes: Vec<LocalCode> = (0..MAPPINGS)
            .map(|n| LocalCode {
                code: format!("L{n:05}"),
                name: format!("院内薬{n}"),
                unit: None,
                specimen: None,
                frequency: None,
                category: None,
                extra: Vec::new(),
                line: n as u64 + 2,
            })
            .collect();
        hyojun::app::mapping::merge_local_codes(store, "test", id, &codes).expect("merge");
        let all: Vec<String> = codes.iter().map(|c| c.code.clone()).collect();
        let propose = Change {
            action: Some(Action::Propose),
            target: Some(("hot9".into(), TARGET.into())),
            ..Change::default()
        };
        let approve = Change {
            action: Some(Action::Approve),
            ..Change::default()
        };
        hyojun::app::mapping::bulk_change(store, "m1", id, &all, &propose).expect("propose");
        hyojun::app::mapping::bulk_change(store, "m2", id, &all, &approve).expect("approve");
        store
            .recheck_if_current_changed()
            .expect("checked against the first release");

        let node = Node::start(&db, dir.path(), "node-a");
        // Activated in-process (no re-check here: `hyojun activate` would do it itself).
        hyojun::app::releases::activate_label(store, "test", Master::Hot, "20260531")
            .expect("activate");
        // Node a sees the new current release, queues the re-check and runs it.
        let started = Instant::now();
        let job = loop {
            if let Some(job) = recheck_job(&node, &key).filter(|j| j["state"] != "queued") {
                break job;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no re-check ran:\n{}",
                node.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        let job_id = job["id"].as_i64().expect("job id");
        let delay = rng.below(Duration::from_millis(1500));
        std::thread::sleep(delay);
        drop(node);
        let ended_before = db
            .store
            .job(hyojun::ids::JobId::new(job_id))
            .expect("job")
            .state;
        eprintln!(
            "{}: node a killed {:.2} s into the re-check (job {job_id} then {ended_before:?})",
            db.name,
            delay.as_secs_f64()
        );
        let other = Node::start(&db, dir.path(), "node-b");
        let started = Instant::now();
        let job = loop {
            let job = other.job(&key, job_id);
            if job["state"] == "succeeded" || job["state"] == "failed" {
                break job;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{}: {job}\n{}",
                db.name,
                other.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(job["state"], "succeeded", "{}: {job}", db.name);
        // Every mapping flagged, each once, and the check recorded against the new release.
        let flagged = store
            .mappings(id, Some(State::Flagged), 1, 0)
            .expect("mappings")
            .total;
        assert_eq!(flagged, MAPPINGS as i64, "{}: {job}", db.name);
        use hyojun::store::schema::{mapping_checks, mapping_history};
        let mut conn = store.conn().expect("connection");
        let flags: i64 = mapping_history::table
            .filter(mapping_history::actor.eq("system:recheck"))
            .count()
            .get_result(&mut conn)
            .expect("history");
        assert_eq!(flags, MAPPINGS as i64, "{}: flagged exactly once", db.name);
        let checked: hyojun::ids::ReleaseId = mapping_checks::table
            .filter(mapping_checks::master.eq("hot"))
            .select(mapping_checks::release_id)
            .first(&mut conn)
            .expect("check");
        drop(conn);
        let current = store
            .current_release(Master::Hot)
            .expect("current")
            .expect("one");
        assert_eq!(checked, current.id, "{}", db.name);
        eprintln!(
            "{}: the re-check ended on node b after {} tries: {}",
            db.name, job["attempts"], job["result"]
        );
    }
}
