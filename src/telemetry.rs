//! The node's Prometheus metrics (`GET /metrics`), kept with the `metrics` crate and rendered
//! by `metrics-exporter-prometheus`.
//!
//! Each node ([`crate::api::AppState`]) has a recorder of its own, never the process-wide
//! one: a process may hold several nodes (the tests do), and each counts only its own work.
//! Everything is recorded through [`Metrics`] (`metrics::with_local_recorder` around the
//! `metrics` macros), whose methods name every metric this crate exports. Requests, the hot
//! path, register their two series once per (method, route, status) and then record through
//! the handles kept (building a key per request cost ~6× more; `examples/metrics_overhead.rs`).
//!
//! | metric | type | labels | recorded |
//! |---|---|---|---|
//! | `hyojun_http_requests_total` | counter | `method`, `route`, `status` | each answered request |
//! | `hyojun_http_request_duration_seconds` | histogram | `method`, `route`, `status` | each answered request |
//! | `hyojun_jobs_total` | counter | `kind`, `outcome` | each try of a job this node ran ([`JobOutcome`]) |
//! | `hyojun_jobs_running` | gauge | | at scrape time: jobs this node runs |
//! | `hyojun_import_rows_total` | counter | `master` | row versions written by an import job |
//! | `hyojun_import_seconds` | histogram | `master` | an import job's parse and write |
//! | `hyojun_search_index_sync_seconds` | histogram | | each search index sync that wrote |
//! | `hyojun_search_documents` | gauge | | at scrape time: documents in the search index |
//! | `hyojun_db_pool_connections` | gauge | | at scrape time: pooled connections (in use and idle) |
//! | `hyojun_db_pool_idle` | gauge | | at scrape time: idle pooled connections |
//! | `hyojun_db_pool_max_connections` | gauge | | at scrape time: the pool's size limit |
//! | `hyojun_db_up` | gauge | | at scrape time: 1 while the database answers the health check |
//!
//! The module depends on nothing else in the crate, so that every layer may record.

use std::sync::RwLock;
use std::time::Duration;

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Counter,
    Histogram, SharedString,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use rustc_hash::FxHashMap;

const REQUESTS: &str = "hyojun_http_requests_total";
const REQUEST_SECONDS: &str = "hyojun_http_request_duration_seconds";
const JOBS: &str = "hyojun_jobs_total";
const JOBS_RUNNING: &str = "hyojun_jobs_running";
const IMPORT_ROWS: &str = "hyojun_import_rows_total";
const IMPORT_SECONDS: &str = "hyojun_import_seconds";
const SEARCH_SYNC_SECONDS: &str = "hyojun_search_index_sync_seconds";
const SEARCH_DOCUMENTS: &str = "hyojun_search_documents";
const POOL_CONNECTIONS: &str = "hyojun_db_pool_connections";
const POOL_IDLE: &str = "hyojun_db_pool_idle";
const POOL_MAX: &str = "hyojun_db_pool_max_connections";
const DB_UP: &str = "hyojun_db_up";

/// Request latency bucket bounds, in seconds.
pub const REQUEST_BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0,
];
/// Import job bucket bounds, in seconds (a partial release takes well under a second, a whole
/// 病名 or HOT master minutes).
const IMPORT_BUCKETS: [f64; 9] = [0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0];
/// Search index sync bucket bounds, in seconds.
const SYNC_BUCKETS: [f64; 8] = [0.01, 0.05, 0.25, 1.0, 5.0, 15.0, 60.0, 300.0];

/// Histogram observations between two drains of the recorder's sample buffers into their
/// buckets (the exporter keeps each observation until then: without a drain, a node nobody
/// scrapes would grow by 16 bytes a request).
const UPKEEP_EVERY: u64 = 4096;

/// How one try of a job ended on this node (`hyojun_jobs_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// The job succeeded.
    Succeeded,
    /// The job failed (its problems are on the job), or a passing failure ended its last try.
    Failed,
    /// A passing failure (the database away): the job was queued again after a backoff.
    Retried,
    /// The try could not record its end: another node took the job over, or the database
    /// refused the write (the job is taken over once its heartbeat is stale).
    Lost,
}

impl JobOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Succeeded => "succeeded",
            JobOutcome::Failed => "failed",
            JobOutcome::Retried => "retried",
            JobOutcome::Lost => "lost",
        }
    }
}

/// What the scrape reads of the database pool and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseGauges {
    /// Connections the pool holds (in use and idle).
    pub connections: u32,
    pub idle: u32,
    /// The pool's size limit.
    pub max: u32,
    /// The database answered the health check's last probe.
    pub up: bool,
}

/// The request series of one route: (method, status) and their registered handles.
type RouteSeries = Vec<(String, u16, Counter, Histogram)>;

/// The metrics of one node (see the module documentation).
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// The request series registered so far, by route: a request records through handles
    /// found here without building a key (registering costs several times the recording).
    requests: RwLock<FxHashMap<String, RouteSeries>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// An empty set of metrics with every metric described (`# HELP`).
    pub fn new() -> Metrics {
        let builder = PrometheusBuilder::new();
        let with_buckets = [
            (REQUEST_SECONDS, &REQUEST_BUCKETS[..]),
            (IMPORT_SECONDS, &IMPORT_BUCKETS[..]),
            (SEARCH_SYNC_SECONDS, &SYNC_BUCKETS[..]),
        ]
        .into_iter()
        .try_fold(builder, |b, (name, buckets)| {
            b.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
        });
        // Only an empty bucket list is refused; ours are constants.
        let recorder = match with_buckets {
            Ok(builder) => builder.build_recorder(),
            Err(e) => unreachable!("histogram buckets refused: {e}"),
        };
        let metrics = Metrics {
            handle: recorder.handle(),
            recorder,
            requests: RwLock::default(),
        };
        metrics.record(|| {
            describe_counter!(REQUESTS, "HTTP requests answered.");
            describe_histogram!(REQUEST_SECONDS, "Time to answer HTTP requests.");
            describe_counter!(
                JOBS,
                "Tries of jobs run by this node, by kind and outcome (succeeded, failed, retried, lost)."
            );
            describe_gauge!(JOBS_RUNNING, "Jobs this node runs now.");
            describe_counter!(
                IMPORT_ROWS,
                "Row versions written by the import jobs this node ran, by master."
            );
            describe_histogram!(
                IMPORT_SECONDS,
                "Time of import jobs (parse and write) that imported, by master."
            );
            describe_histogram!(
                SEARCH_SYNC_SECONDS,
                "Time of the search index syncs that changed the index."
            );
            describe_gauge!(
                SEARCH_DOCUMENTS,
                "Documents (concept versions) in this node's search index."
            );
            describe_gauge!(
                POOL_CONNECTIONS,
                "Database connections the pool holds (in use and idle)."
            );
            describe_gauge!(POOL_IDLE, "Idle database connections in the pool.");
            describe_gauge!(POOL_MAX, "The database pool's size limit.");
            describe_gauge!(
                DB_UP,
                "1 while the database answers the health check, else 0."
            );
        });
        metrics
    }

    /// Runs `f` with this node's recorder as the `metrics` macros' recorder (on this thread,
    /// for the call).
    pub fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// Counts histogram observations; drains the sample buffers now and then. Counted per
    /// thread (a counter shared by the threads answering requests would be written by all of
    /// them): samples wait for a drain at most [`UPKEEP_EVERY`] per recording thread.
    fn observed(&self) {
        thread_local! {
            static OBSERVED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
        }
        let n = OBSERVED.with(|c| {
            let n = c.get() + 1;
            c.set(n);
            n
        });
        if n % UPKEEP_EVERY == 0 {
            self.handle.run_upkeep();
        }
    }

    /// One answered request: `route` is the matched pattern (`unmatched` for none).
    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let record_in = |series: &RouteSeries| {
            series
                .iter()
                .find(|(m, s, _, _)| *s == status && m == method)
                .map(|(_, _, counter, histogram)| {
                    counter.increment(1);
                    histogram.record(seconds);
                })
        };
        let known = {
            let requests = self.requests.read().unwrap_or_else(|p| p.into_inner());
            requests.get(route).and_then(record_in)
        };
        if known.is_none() {
            let mut requests = self.requests.write().unwrap_or_else(|p| p.into_inner());
            let series = requests.entry(route.to_owned()).or_default();
            // Another request may have registered it meanwhile.
            if record_in(series).is_none() {
                let (counter, histogram) = self.register_request(method, route, status);
                counter.increment(1);
                histogram.record(seconds);
                series.push((method.to_owned(), status, counter, histogram));
            }
        }
        self.observed();
    }

    /// Registers the request series of (method, route, status) with the recorder.
    fn register_request(&self, method: &str, route: &str, status: u16) -> (Counter, Histogram) {
        let (method, route, status) = (
            SharedString::from(method.to_owned()),
            SharedString::from(route.to_owned()),
            SharedString::from(status.to_string()),
        );
        self.record(|| {
            let counter = counter!(REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status.clone());
            let histogram = histogram!(REQUEST_SECONDS, "method" => method, "route" => route, "status" => status);
            (counter, histogram)
        })
    }

    /// One try of a job of `kind` ended on this node.
    pub fn job_ended(&self, kind: &'static str, outcome: JobOutcome) {
        self.record(|| counter!(JOBS, "kind" => kind, "outcome" => outcome.as_str()).increment(1));
    }

    /// An import job of `master` imported (`rows` row versions written) in `elapsed`.
    pub fn imported(&self, master: &'static str, rows: u64, elapsed: Duration) {
        self.record(|| {
            counter!(IMPORT_ROWS, "master" => master).increment(rows);
            histogram!(IMPORT_SECONDS, "master" => master).record(elapsed.as_secs_f64());
        });
        self.observed();
    }

    /// A search index sync that changed the index took `seconds`.
    pub fn search_synced(&self, seconds: f64) {
        self.record(|| histogram!(SEARCH_SYNC_SECONDS).record(seconds));
        self.observed();
    }

    /// What the scrape read: jobs running, documents in the search index, the database pool
    /// and health.
    pub fn scraped(&self, jobs_running: usize, search_documents: u64, db: DatabaseGauges) {
        self.record(|| {
            gauge!(JOBS_RUNNING).set(jobs_running as f64);
            gauge!(SEARCH_DOCUMENTS).set(search_documents as f64);
            gauge!(POOL_CONNECTIONS).set(db.connections);
            gauge!(POOL_IDLE).set(db.idle);
            gauge!(POOL_MAX).set(db.max);
            gauge!(DB_UP).set(if db.up { 1.0 } else { 0.0 });
        });
    }

    /// The Prometheus text exposition of everything recorded so far.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, prefix: &str) -> Vec<String> {
        let mut found: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_owned)
            .collect();
        found.sort();
        found
    }

    #[test]
    fn requests_render_as_before() {
        let m = Metrics::new();
        m.request("GET", "/readyz", 200, Duration::from_micros(300));
        m.request("GET", "/readyz", 200, Duration::from_millis(2));
        m.request(
            "BREW",
            "/v1/codes/{system}/{code}",
            418,
            Duration::from_secs(2),
        );
        let text = m.render();
        assert!(
            text.contains("# HELP hyojun_http_requests_total HTTP requests answered.\n# TYPE hyojun_http_requests_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP hyojun_http_request_duration_seconds Time to answer HTTP requests.\n# TYPE hyojun_http_request_duration_seconds histogram\n"),
            "{text}"
        );
        assert_eq!(
            lines(&text, "hyojun_http_requests_total{"),
            [
                "hyojun_http_requests_total{method=\"BREW\",route=\"/v1/codes/{system}/{code}\",status=\"418\"} 1",
                "hyojun_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 2",
            ]
        );
        let readyz = "hyojun_http_request_duration_seconds_bucket{method=\"GET\",route=\"/readyz\",status=\"200\",le=";
        let mut expected: Vec<String> = [
            ("0.0001", 0),
            ("0.00025", 0),
            ("0.0005", 1),
            ("0.001", 1),
            ("0.0025", 2),
            ("0.005", 2),
            ("0.01", 2),
            ("0.05", 2),
            ("0.25", 2),
            ("1", 2),
            ("+Inf", 2),
        ]
        .iter()
        .map(|(le, n)| format!("{readyz}\"{le}\"}} {n}"))
        .collect();
        expected.sort();
        assert_eq!(lines(&text, readyz), expected);
        assert!(text.contains("hyojun_http_request_duration_seconds_count{method=\"GET\",route=\"/readyz\",status=\"200\"} 2\n"), "{text}");
        assert!(text.contains("hyojun_http_request_duration_seconds_sum{method=\"GET\",route=\"/readyz\",status=\"200\"} 0.0023"), "{text}");
    }

    #[test]
    fn nodes_count_apart() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.request("GET", "/healthz", 200, Duration::ZERO);
        a.job_ended("import_release", JobOutcome::Succeeded);
        assert!(b.render().is_empty(), "{}", b.render());
        assert!(a
            .render()
            .contains("hyojun_jobs_total{kind=\"import_release\",outcome=\"succeeded\"} 1\n"));
    }

    #[test]
    fn jobs_imports_search_and_scrape_gauges() {
        let m = Metrics::new();
        m.job_ended("import_release", JobOutcome::Succeeded);
        m.job_ended("import_release", JobOutcome::Retried);
        m.job_ended("import_release", JobOutcome::Succeeded);
        m.imported("hot", 120, Duration::from_secs(3));
        m.imported("hot", 30, Duration::from_millis(200));
        m.search_synced(0.3);
        m.scraped(
            2,
            1234,
            DatabaseGauges {
                connections: 3,
                idle: 2,
                max: 16,
                up: true,
            },
        );
        let text = m.render();
        for line in [
            "# HELP hyojun_jobs_total Tries of jobs run by this node",
            "hyojun_jobs_total{kind=\"import_release\",outcome=\"succeeded\"} 2\n",
            "hyojun_jobs_total{kind=\"import_release\",outcome=\"retried\"} 1\n",
            "# HELP hyojun_import_rows_total ",
            "hyojun_import_rows_total{master=\"hot\"} 150\n",
            "hyojun_import_seconds_bucket{master=\"hot\",le=\"0.5\"} 1\n",
            "hyojun_import_seconds_bucket{master=\"hot\",le=\"5\"} 2\n",
            "hyojun_import_seconds_count{master=\"hot\"} 2\n",
            "hyojun_search_index_sync_seconds_bucket{le=\"0.25\"} 0\n",
            "hyojun_search_index_sync_seconds_bucket{le=\"1\"} 1\n",
            "# HELP hyojun_jobs_running Jobs this node runs now.\n# TYPE hyojun_jobs_running gauge\nhyojun_jobs_running 2\n",
            "hyojun_search_documents 1234\n",
            "hyojun_db_pool_connections 3\n",
            "hyojun_db_pool_idle 2\n",
            "hyojun_db_pool_max_connections 16\n",
            "hyojun_db_up 1\n",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
    }

    #[test]
    fn counts_survive_the_periodic_drain() {
        let m = Metrics::new();
        for _ in 0..UPKEEP_EVERY * 2 + 5 {
            m.request("GET", "/healthz", 200, Duration::from_micros(50));
        }
        let text = m.render();
        assert!(
            text.contains(&format!(
                "hyojun_http_request_duration_seconds_count{{method=\"GET\",route=\"/healthz\",status=\"200\"}} {}\n",
                UPKEEP_EVERY * 2 + 5
            )),
            "{text}"
        );
    }
}
