//! In-process search benchmark (issue 4): rebuilds the search index of a database, then runs
//! a query file against it and prints one JSON object with build time, index size, RSS and
//! latency percentiles for short (1–2 character) and long (3+ character) queries.
//!
//! ```sh
//! cargo run --release --example search_bench -- \
//!     --database-url sqlite://target/bench-search/bench.db \
//!     --index-dir target/bench-search/index --queries target/bench-search/queries.txt
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use hyojun::search::{query, Location, SearchIndex, SearchRequest};
use hyojun::store::{DatabaseUrl, Store};
use hyojun::systems::Master;
use hyojun::text::normalize;

/// Each query is run this many times after one warm-up pass.
const REPEATS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut database_url = None;
    let mut index_dir = None;
    let mut queries = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--database-url" => database_url = args.next(),
            "--index-dir" => index_dir = args.next().map(PathBuf::from),
            "--queries" => queries = args.next().map(PathBuf::from),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (Some(url), Some(dir), Some(queries)) = (database_url, index_dir, queries) else {
        return Err("usage: search_bench --database-url URL --index-dir DIR --queries FILE".into());
    };
    let queries: Vec<String> = std::fs::read_to_string(&queries)?
        .lines()
        .map(str::to_owned)
        .filter(|q| !normalize(q).is_empty())
        .collect();

    let store = Store::open(&DatabaseUrl::parse(&url)?, 2)?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let index = SearchIndex::open(Location::Dir(dir.clone()))?;
    let built = Instant::now();
    let report = index.sync(&store)?;
    let build_seconds = built.elapsed().as_secs_f64();
    let snapshot = index.snapshot();

    let mut releases = std::collections::HashMap::new();
    for master in Master::ALL {
        if let Some(r) = store.current_release(master)? {
            releases.insert(master, r.id);
        }
    }
    let request = |q: &str| SearchRequest {
        query: q.to_owned(),
        releases: releases.clone(),
        systems: Vec::new(),
        status: Default::default(),
        attributes: Vec::new(),
        limit: 20,
        offset: 0,
    };
    let requests: Vec<(bool, SearchRequest)> = queries
        .iter()
        .map(|q| (normalize(q).len() <= 2, request(q)))
        .collect();
    let mut total_hits = 0usize;
    for (_, r) in &requests {
        total_hits += query::run(&snapshot, r)?.total;
    }
    let (mut short, mut long) = (Vec::new(), Vec::new());
    for _ in 0..REPEATS {
        for (is_short, r) in &requests {
            let started = Instant::now();
            let results = query::run(&snapshot, r)?;
            let micros = started.elapsed().as_secs_f64() * 1e6;
            std::hint::black_box(results);
            if *is_short {
                short.push(micros);
            } else {
                long.push(micros);
            }
        }
    }
    let summary = serde_json::json!({
        "documents": snapshot.documents(),
        "build_seconds": round(build_seconds),
        "build_report": report,
        "index_bytes": dir_size(&dir),
        "rss_kb": proc_status("VmRSS:"),
        "peak_rss_kb": proc_status("VmHWM:"),
        "queries": queries.len(),
        "mean_hits_per_query": round(total_hits as f64 / queries.len().max(1) as f64),
        "short_queries": percentiles(&mut short),
        "long_queries": percentiles(&mut long),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn percentiles(samples: &mut [f64]) -> serde_json::Value {
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| {
        if samples.is_empty() {
            0.0
        } else {
            round(samples[((samples.len() - 1) as f64 * p).round() as usize])
        }
    };
    serde_json::json!({
        "runs": samples.len(),
        "p50_us": at(0.5),
        "p90_us": at(0.9),
        "p99_us": at(0.99),
        "max_us": at(1.0),
    })
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|items| {
            items
                .flatten()
                .map(|item| {
                    let path = item.path();
                    if path.is_dir() {
                        dir_size(&path)
                    } else {
                        item.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn proc_status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
