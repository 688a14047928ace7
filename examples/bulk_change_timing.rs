//! Measures a bulk review of 10,000 mappings (issue 13's target: < 2 s) on SQLite and
//! PostgreSQL, as one command in one transaction (`hyojun::app::mapping::bulk_change`), and,
//! for comparison in the same run, the same change made one mapping per command (what the
//! bulk endpoint did before: one transaction per mapping).
//!
//! ```text
//! cargo run --release --example bulk_change_timing -- [--codes 10000] [--runs 3]
//! ```
//!
//! SQLite in a temporary directory; PostgreSQL at `HYOJUN_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), in a database of its own, dropped at the end.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use diesel::prelude::*;

use hyojun::app;
use hyojun::mapping::local_codes::LocalCode;
use hyojun::mapping::state::Action;
use hyojun::store::mapping::{Change, NewProject};
use hyojun::store::{DatabaseUrl, Store};

#[derive(Parser)]
struct Args {
    /// Mappings changed at once.
    #[arg(long, default_value_t = 10_000)]
    codes: usize,
    /// Fresh projects measured per backend (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

fn project(store: &Store, run: usize, codes: &[String]) -> Result<hyojun::ids::ProjectId> {
    let new = NewProject {
        name: format!("bulk {run}"),
        description: String::new(),
        local_system: "urn:oid:1.2.392.100495.20.3.99".into(),
        target_systems: vec!["jlac10".into()],
        four_eyes: false,
    };
    let id = app::mapping::create_project(store, "bench", &new)?.id;
    let list: Vec<LocalCode> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| LocalCode {
            code: code.clone(),
            name: format!("検査項目{i}"),
            unit: None,
            specimen: None,
            frequency: None,
            category: None,
            extra: Vec::new(),
            line: i as u64 + 2,
        })
        .collect();
    app::mapping::merge_local_codes(store, "bench", id, &list)?;
    Ok(id)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure(name: &str, store: &Store, args: &Args) -> Result<()> {
    let codes: Vec<String> = (0..args.codes).map(|i| format!("K{i:06}")).collect();
    let change = Change {
        action: Some(Action::NoMatch),
        comment: Some("対応なし".into()),
        ..Change::default()
    };
    let (mut bulk, mut single) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        let id = project(store, 2 * run, &codes)?;
        let started = Instant::now();
        let items = app::mapping::bulk_change(store, "bench", id, &codes, &change)?;
        bulk.push(started.elapsed().as_secs_f64());
        assert_eq!(items.len(), codes.len());

        let id = project(store, 2 * run + 1, &codes)?;
        let started = Instant::now();
        for code in &codes {
            app::mapping::change(store, "bench", id, code, &change)?;
        }
        single.push(started.elapsed().as_secs_f64());
    }
    let (b, s) = (median(bulk), median(single));
    println!(
        "{name:<9} {:>6} codes   one command: {b:>6.2} s   one command per mapping: {s:>6.2} s   ratio {:.2}",
        args.codes,
        b / s
    );
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bulk.sqlite3").display().to_string();
    let sqlite = Store::open(&DatabaseUrl::parse(&path)?, 4)?;
    measure("sqlite", &sqlite, &args)?;

    let admin = std::env::var("HYOJUN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let db = format!("hyojun_bulk_{}", std::process::id());
    let mut conn = PgConnection::establish(&admin).context("PostgreSQL")?;
    diesel::sql_query(format!("CREATE DATABASE {db}")).execute(&mut conn)?;
    let (base, _) = admin.rsplit_once('/').context("database URL")?;
    let result = Store::open(&DatabaseUrl::parse(&format!("{base}/{db}"))?, 4)
        .map_err(anyhow::Error::from)
        .and_then(|pg| measure("postgres", &pg, &args));
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&mut conn)?;
    result
}
