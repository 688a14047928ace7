//! Measures how a serving node goes through a PostgreSQL outage: time to the first 503 after
//! the database goes away, the latency of 503 answers and of `/readyz` meanwhile, and the
//! time to answer from the database again once it is back. The outage is a TCP proxy in front
//! of PostgreSQL (`tests/it/proxy.rs`) that is cut (every connection closed, new ones refused
//! or black-holed) and restored; the shared server is never touched.
//!
//! ```text
//! cargo run --example outage_timings -- [--cycles 5] [--clients 8] [--outage-ms 3000]
//! ```
//!
//! Needs PostgreSQL at `HYOJUN_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); creates and drops a database of its own. The
//! node is the real app behind actix's HTTP server on a loopback port; clients are threads
//! speaking plain HTTP/1.1.

#[path = "../tests/it/proxy.rs"]
mod proxy;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use diesel::prelude::*;

use hyojun::access::Role;
use hyojun::api::{app, ApiConfig, AppState};
use hyojun::store::{DatabaseUrl, Store};
use proxy::{Cut, Proxy};

#[derive(Parser)]
struct Args {
    /// Outages per kind of cut (refuse, black hole).
    #[arg(long, default_value_t = 5)]
    cycles: usize,
    /// Client threads asking for what needs the database.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// How long each outage lasts.
    #[arg(long, default_value_t = 3000)]
    outage_ms: u64,
}

/// One answer: when it arrived (since the start), how long it took, its status.
#[derive(Clone, Copy)]
struct Answer {
    at: Duration,
    took: Duration,
    status: u16,
}

/// GET over a fresh connection; the status of the answer (0 if none came within 10 s).
fn get(addr: SocketAddr, path: &str, key: &str) -> u16 {
    let attempt = || -> std::io::Result<u16> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        )?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        Ok(std::str::from_utf8(&head[9..12])
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0))
    };
    attempt().unwrap_or(0)
}

/// Asks `path` in a loop until `stop`, recording every answer.
fn asker(
    addr: SocketAddr,
    path: &'static str,
    key: String,
    start: Instant,
    pause: Duration,
    stop: Arc<AtomicBool>,
    out: Arc<Mutex<Vec<Answer>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Acquire) {
            let sent = Instant::now();
            let status = get(addr, path, &key);
            let answer = Answer {
                at: start.elapsed(),
                took: sent.elapsed(),
                status,
            };
            out.lock().unwrap_or_else(|p| p.into_inner()).push(answer);
            std::thread::sleep(pause);
        }
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// What one outage looked like.
struct Cycle {
    first_503: Option<Duration>,
    latencies_503: Vec<Duration>,
    readyz_first_503: Option<Duration>,
    readyz_took: Vec<Duration>,
    recovered: Option<Duration>,
    readyz_recovered: Option<Duration>,
    memory_ok: (usize, usize),
    other: usize,
}

fn analyse(
    db: &[Answer],
    ready: &[Answer],
    memory: &[Answer],
    cut: Duration,
    restore: Duration,
    end: Duration,
) -> Cycle {
    let during = |a: &&Answer| a.at >= cut && a.at < restore;
    let after = |a: &&Answer| a.at >= restore && a.at < end;
    let first = |answers: &[Answer], from: Duration, to: Duration, status: u16| {
        answers
            .iter()
            .filter(|a| a.at >= from && a.at < to && a.status == status)
            .map(|a| a.at - from)
            .min()
    };
    let mut latencies_503: Vec<Duration> = db
        .iter()
        .filter(during)
        .filter(|a| a.status == 503)
        .map(|a| a.took)
        .collect();
    latencies_503.sort();
    let mut readyz_took: Vec<Duration> = ready.iter().filter(during).map(|a| a.took).collect();
    readyz_took.sort();
    let memory_during: Vec<&Answer> = memory.iter().filter(during).collect();
    Cycle {
        first_503: first(db, cut, restore, 503),
        latencies_503,
        readyz_first_503: first(ready, cut, restore, 503),
        readyz_took,
        // The first request sent after the restore that the database answered.
        recovered: db
            .iter()
            .filter(after)
            .filter(|a| a.status == 200 && a.at - a.took >= restore)
            .map(|a| a.at - restore)
            .min(),
        readyz_recovered: first(ready, restore, end, 200),
        memory_ok: (
            memory_during.iter().filter(|a| a.status == 200).count(),
            memory_during.len(),
        ),
        other: db
            .iter()
            .chain(ready)
            .filter(|a| a.at >= cut && a.at < end)
            .filter(|a| a.status != 200 && a.status != 503)
            .count(),
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let admin = std::env::var("HYOJUN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let name = format!("hyojun_outage_{}", std::process::id());
    let mut conn = PgConnection::establish(&admin).context("PostgreSQL")?;
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)?;
    let result = run(&args, &admin, &name);
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn)?;
    result
}

fn run(args: &Args, admin: &str, name: &str) -> Result<()> {
    let (base, _) = admin.rsplit_once('/').context("URL with a database")?;
    let url = format!("{base}/{name}");
    let repo = env!("CARGO_MANIFEST_DIR");
    for argv in [
        vec!["import", "hot", "masters/hot/20260531", "--activate"],
        vec![
            "import",
            "hot",
            "masters/hot/h20260630.zip",
            "masters/hot/h20260630_HOT9del.txt",
        ],
    ] {
        let mut full = vec!["hyojun", "--database-url", url.as_str()];
        let paths: Vec<String> = argv
            .iter()
            .map(|a| {
                if a.starts_with("masters/") {
                    format!("{repo}/{a}")
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        full.extend(paths.iter().map(String::as_str));
        let cli = <hyojun::cli::Cli as Parser>::try_parse_from(full)?;
        hyojun::cli::run(cli).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let direct = Store::open(&DatabaseUrl::parse(&url)?, 2)?;
    let key = hyojun::app::keys::create(&direct, "bench", "outage", Role::Reader)?.key;

    let proxy = Proxy::in_front_of(&url);
    let store = Store::open(&DatabaseUrl::parse(&proxy.url(&url))?, 8)?;
    let state = AppState::new(store, ApiConfig::default());
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let served = state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || app(served.clone()))
                .workers(2)
                .listen(listener)?
                .run();
            server.await
        })
    });
    let started = Instant::now();
    while get(addr, "/readyz", &key) != 200 {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the node is not ready after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    hyojun::api::warm::warm_up(&state.cache, &state.store);
    let memory_path = "/v1/systems/hot9/codes/900507501";
    for path in ["/v1/releases", memory_path] {
        if get(addr, path, &key) != 200 {
            bail!("{path} does not answer 200");
        }
    }

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let (db, ready, memory) = (Arc::default(), Arc::default(), Arc::default());
    let mut threads = Vec::new();
    for _ in 0..args.clients {
        let pause = Duration::from_millis(2);
        threads.push(asker(
            addr,
            "/v1/releases",
            key.clone(),
            start,
            pause,
            stop.clone(),
            Arc::clone(&db),
        ));
    }
    let pause = Duration::from_millis(10);
    threads.push(asker(
        addr,
        "/readyz",
        key.clone(),
        start,
        pause,
        stop.clone(),
        Arc::clone(&ready),
    ));
    threads.push(asker(
        addr,
        memory_path,
        key.clone(),
        start,
        pause,
        stop.clone(),
        Arc::clone(&memory),
    ));

    let outage = Duration::from_millis(args.outage_ms);
    let mut plan = Vec::new();
    for how in [Cut::Refuse, Cut::BlackHole] {
        for _ in 0..args.cycles {
            std::thread::sleep(Duration::from_millis(1500));
            let cut = start.elapsed();
            proxy.cut(how);
            std::thread::sleep(outage);
            let restore = start.elapsed();
            proxy.restore();
            plan.push((how, cut, restore));
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Release);
    for t in threads {
        let _ = t.join();
    }
    let take = |m: &Arc<Mutex<Vec<Answer>>>| m.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let (db, ready, memory) = (take(&db), take(&ready), take(&memory));

    println!(
        "{} clients on GET /v1/releases (needs the database), /readyz and a cached code every 10 ms; outages of {} ms\n",
        args.clients, args.outage_ms
    );
    println!("| cut | first 503 after the cut | 503 latency p50 / p99 / max | /readyz first 503 | /readyz latency max | back to 200 after restore | /readyz 200 after restore | cached code 200 | other statuses |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (i, (how, cut, restore)) in plan.iter().enumerate() {
        let end = plan
            .get(i + 1)
            .map_or(start.elapsed(), |(_, next, _)| *next);
        let c = analyse(&db, &ready, &memory, *cut, *restore, end);
        let opt = |d: Option<Duration>| d.map_or("none".to_owned(), ms);
        println!(
            "| {} | {} ms | {} / {} / {} ms ({} answers) | {} ms | {} ms | {} ms | {} ms | {}/{} | {} |",
            match how {
                Cut::Refuse => "refuse",
                Cut::BlackHole => "black hole",
            },
            opt(c.first_503),
            ms(percentile(&c.latencies_503, 0.5)),
            ms(percentile(&c.latencies_503, 0.99)),
            ms(c.latencies_503.last().copied().unwrap_or_default()),
            c.latencies_503.len(),
            opt(c.readyz_first_503),
            ms(c.readyz_took.last().copied().unwrap_or_default()),
            opt(c.recovered),
            opt(c.readyz_recovered),
            c.memory_ok.0,
            c.memory_ok.1,
            c.other
        );
    }
    Ok(())
}
