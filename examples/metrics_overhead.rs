//! Per-request cost of recording a request's metrics (issue 13): the hand-written series map
//! that `/metrics` used before (a `Mutex<BTreeMap>`, copied here as the baseline) against
//! [`hyojun::telemetry::Metrics`] (`metrics` + `metrics-exporter-prometheus`, one recorder
//! per node), which records through handles it registered once per label set; and, for
//! comparison, the crate's macros building the key of every observation (`counter!` and
//! `histogram!` under `metrics::with_local_recorder`). All record the same observations — a
//! few dozen (method, route, status) label sets — on one thread, then on two threads at once,
//! and print ns per observation.
//!
//! ```sh
//! cargo run --release --example metrics_overhead            # 1,000,000 observations
//! cargo run --release --example metrics_overhead -- 200000  # fewer
//! ```

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyojun::telemetry::{Metrics, REQUEST_BUCKETS};

/// The hand-written recorder this crate had before (`api/ops.rs`), recording only.
mod before {
    use super::*;

    #[derive(Default)]
    struct Series {
        count: u64,
        sum: f64,
        buckets: [u64; REQUEST_BUCKETS.len()],
    }

    #[derive(Default)]
    pub struct Metrics {
        series: Mutex<BTreeMap<(String, String, u16), Series>>,
    }

    impl Metrics {
        pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
            let seconds = elapsed.as_secs_f64();
            if let Ok(mut series) = self.series.lock() {
                let s = series
                    .entry((method.to_owned(), route.to_owned(), status))
                    .or_default();
                s.count += 1;
                s.sum += seconds;
                for (i, bound) in REQUEST_BUCKETS.iter().enumerate() {
                    if seconds <= *bound {
                        s.buckets[i] += 1;
                    }
                }
            }
        }

        pub fn series(&self) -> usize {
            self.series.lock().map(|s| s.len()).unwrap_or(0)
        }
    }
}

/// A few dozen label sets, as a busy node sees them.
fn label_sets() -> Vec<(&'static str, &'static str, u16)> {
    let routes = [
        ("GET", "/v1/codes/{system}/{code}"),
        ("GET", "/v1/search"),
        ("POST", "/v1/validate"),
        ("GET", "/v1/systems"),
        ("GET", "/v1/releases"),
        ("GET", "/v1/releases/{id}/changes"),
        ("GET", "/fhir/CodeSystem/$lookup"),
        ("POST", "/fhir/CodeSystem/$validate-code"),
        ("POST", "/fhir/ValueSet/$expand"),
        ("GET", "/v1/mapping/projects/{id}/mappings"),
        ("PATCH", "/v1/mapping/projects/{id}/mappings/{code}"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "unmatched"),
    ];
    let mut sets = Vec::new();
    for (i, (method, route)) in routes.iter().enumerate() {
        for status in [200, 400, 404] {
            if status == 200 || i % 2 == 0 {
                sets.push((*method, *route, status));
            }
        }
    }
    sets
}

/// Latencies spread over the buckets (10 µs … 2 s).
fn latencies() -> Vec<Duration> {
    (0..97)
        .map(|i| Duration::from_nanos(10_000 + (i as u64 * i as u64 * i as u64 * 2_100)))
        .collect()
}

/// ns per observation of `record` called `n` times on each of `threads` threads at once.
fn timed(threads: usize, n: usize, record: &(dyn Fn(usize) + Sync)) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..n {
                    record(black_box(i + t * 1_000));
                }
            });
        }
    });
    started.elapsed().as_nanos() as f64 / (n * threads) as f64
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let sets = label_sets();
    let lat = latencies();
    let old = before::Metrics::default();
    let new = Metrics::new();
    let keyed = Metrics::new();
    let record_old = |i: usize| {
        let (m, r, s) = sets[i % sets.len()];
        old.observe(m, r, s, lat[(i * 7) % lat.len()]);
    };
    let record_new = |i: usize| {
        let (m, r, s) = sets[i % sets.len()];
        new.request(m, r, s, lat[(i * 7) % lat.len()]);
    };
    let record_keyed = |i: usize| {
        let (m, r, s) = sets[i % sets.len()];
        let seconds = lat[(i * 7) % lat.len()].as_secs_f64();
        keyed.record(|| {
            let labels = [("method", m), ("route", r)];
            let labels: Vec<metrics::Label> = labels
                .iter()
                .map(|(k, v)| metrics::Label::new(*k, v.to_string()))
                .chain([metrics::Label::new("status", s.to_string())])
                .collect();
            metrics::counter!("hyojun_http_requests_total", labels.clone()).increment(1);
            metrics::histogram!("hyojun_http_request_duration_seconds", labels).record(seconds);
        });
    };
    // Warm-up: every series exists before timing.
    timed(1, sets.len() * 10, &record_old);
    timed(1, sets.len() * 10, &record_new);
    timed(1, sets.len() * 10, &record_keyed);
    let mut rows = Vec::new();
    for threads in [1, 2] {
        let per_thread = n / threads;
        // Interleaved rounds, best of three each (the machine is shared).
        let (mut o, mut c, mut k) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..3 {
            o = o.min(timed(threads, per_thread, &record_old));
            c = c.min(timed(threads, per_thread, &record_new));
            k = k.min(timed(threads, per_thread, &record_keyed));
        }
        rows.push((threads, o, c, k));
    }
    let render_started = Instant::now();
    let text = new.render();
    let render = render_started.elapsed();
    println!(
        "{} observations per run, {} label sets ({} series before), best of 3",
        n,
        sets.len(),
        old.series()
    );
    println!("threads  hand-written ns/obs  telemetry::Metrics ns/obs  ratio  macros, key per call ns/obs  ratio");
    for (threads, o, c, k) in rows {
        println!(
            "{threads:>7}  {o:>19.1}  {c:>25.1}  {:>5.2}  {k:>27.1}  {:>5.2}",
            c / o,
            k / o
        );
    }
    println!(
        "render of the crate's exposition: {:.2} ms, {} bytes",
        render.as_secs_f64() * 1000.0,
        text.len()
    );
}
