//! The HTTP API: actix handlers, documented with utoipa. One file per resource.

pub mod auth;
pub mod cache;
pub mod candidates;
pub mod code_key;
pub mod codes;
pub mod doc;
pub mod dto;
pub mod envelope;
pub mod error;
pub mod health;
pub mod json;
pub mod keys;
pub mod mapping;
pub mod ops;
pub mod releases;
pub mod resolve;
pub mod schema;
pub mod search;
pub mod systems;
pub mod translate;
pub mod uploads;
pub mod validate;
pub mod validate_json;
pub mod warm;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ErrorEnvelope};

use crate::app::jobs::runner::{Runner, RunnerConfig};
use crate::app::jobs::{JobContext, UploadStore};
use crate::search::{Location, SearchIndex};
use crate::store::Store;
use crate::telemetry::Metrics;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Let requests without a key read (lookups, search, validate). Off by default.
    pub anonymous_read: bool,
    /// The upload store: where uploads wait for their import job, under the job's id. Nodes
    /// that share it (same folder, e.g. on a network file system) run each other's uploads.
    pub upload_dir: std::path::PathBuf,
    /// Every input limit; the API uses the JSON, URL, upload and job limits.
    pub limits: crate::limits::Limits,
    /// This node's name, in job records and logs (the node that queued a job, then the node
    /// running it). Nodes may share a name (their jobs are told apart by their claims).
    pub node: String,
    /// Load the validation statuses of every code of the current releases in the background
    /// (at start and after each import or activation), so that validation does not wait for
    /// the database. On by default; costs memory (60–70 MB for real HOT9 + 病名 data).
    pub warm_up: bool,
    /// Where this node keeps its search index (each node keeps its own).
    pub search_index: crate::search::Location,
    /// A running job whose node has not said for this long that it still runs it (heartbeats
    /// every quarter of it) belongs to a node that stopped: any node takes it over.
    /// `HYOJUN_JOB_STALE_MS`, default 30 s.
    pub job_stale: std::time::Duration,
    /// Tries a job gets (a node stopping under it, the database away) before it fails.
    /// `HYOJUN_JOB_ATTEMPTS`, default 3.
    pub job_attempts: i32,
    /// Run jobs on this node (`HYOJUN_MAX_CONCURRENT_JOBS` at once). Off: the node queues
    /// jobs and other nodes run them (`hyojun serve --no-jobs`; tests step the runner).
    pub run_jobs: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            anonymous_read: false,
            upload_dir: std::path::PathBuf::from("data/uploads"),
            limits: crate::limits::Limits::default(),
            node: node_name(),
            warm_up: true,
            search_index: crate::search::Location::Memory,
            job_stale: job_stale(),
            job_attempts: job_attempts(),
            run_jobs: true,
        }
    }
}

/// `HYOJUN_JOB_ATTEMPTS` (1–100), else 3.
pub fn job_attempts() -> i32 {
    std::env::var("HYOJUN_JOB_ATTEMPTS")
        .ok()
        .and_then(|v| v.trim().parse::<i32>().ok())
        .map_or(3, |n| n.clamp(1, 100))
}

/// `HYOJUN_JOB_STALE_MS` (at least 200 ms), else 30 s.
pub fn job_stale() -> std::time::Duration {
    std::env::var("HYOJUN_JOB_STALE_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(std::time::Duration::from_secs(30), |ms| {
            std::time::Duration::from_millis(ms.max(200))
        })
}

/// `HYOJUN_NODE`, else the host name.
pub fn node_name() -> String {
    std::env::var("HYOJUN_NODE")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "local".to_owned())
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: ApiConfig,
    pub keys: auth::KeyCache,
    /// The node's metrics (`GET /metrics`): its own recorder, not the process's.
    pub metrics: Arc<Metrics>,
    pub cache: Arc<cache::ReadCache>,
    pub search: Arc<SearchIndex>,
    pub translations: Arc<translate::TranslationCache>,
    /// Upload bytes being received by all requests of this node together.
    pub uploads_in_flight: Arc<uploads::InFlight>,
    /// The node's job runner (queued jobs are claimed by any node with a free worker).
    pub jobs: Arc<Runner>,
}

impl AppState {
    /// State for one node; starts the poller that keeps cached answers in step with the store.
    pub fn new(store: Store, config: ApiConfig) -> Self {
        // Requests wait briefly for connections, and not at all while the database is down.
        let store = store.for_requests();
        let cache = Arc::new(cache::ReadCache::new(100_000, 1_000_000));
        cache.check_generation(&store);
        cache::ReadCache::start_polling(&cache, store.clone(), config.warm_up);
        let metrics = Arc::new(Metrics::new());
        let search = Arc::new(open_search_index(&config.search_index).reporting_to(&metrics));
        let jobs = runner(&store, &config, &search, &cache, &metrics);
        Runner::start(&jobs);
        mapping::start_rechecking(&cache, store.clone(), &jobs);
        let seen = Arc::downgrade(&cache);
        SearchIndex::start_syncing(&search, store.clone(), move || {
            seen.upgrade().and_then(|c| c.seen_generation())
        });
        AppState {
            store,
            keys: auth::KeyCache::default(),
            metrics,
            cache,
            search,
            translations: Arc::default(),
            uploads_in_flight: Arc::default(),
            jobs,
            config,
        }
    }
}

impl AppState {
    /// State for one command run in-process (`hyojun check-codes`): no background pollers,
    /// no warm-up, the search index in memory (built only if a search asks for it).
    pub fn for_command(store: Store, config: ApiConfig) -> Self {
        let metrics = Arc::new(Metrics::new());
        let search = Arc::new(open_search_index(&Location::Memory).reporting_to(&metrics));
        let cache = Arc::new(cache::ReadCache::new(100_000, 1_000_000));
        // No uploads in a command: a shared folder under the temporary directory, so that
        // nothing is created where the command runs.
        let config = ApiConfig {
            run_jobs: false,
            upload_dir: std::env::temp_dir().join("hyojun-command-uploads"),
            ..config
        };
        AppState {
            jobs: runner(&store, &config, &search, &cache, &metrics),
            search,
            store,
            keys: auth::KeyCache::default(),
            metrics,
            cache,
            translations: Arc::default(),
            uploads_in_flight: Arc::default(),
            config,
        }
    }
}

/// The job runner of a node (not started).
fn runner(
    store: &Store,
    config: &ApiConfig,
    search: &Arc<SearchIndex>,
    cache: &Arc<cache::ReadCache>,
    metrics: &Arc<Metrics>,
) -> Arc<Runner> {
    let uploads = open_upload_store(&config.upload_dir);
    let seen = Arc::downgrade(cache);
    let ctx = JobContext {
        store: store.clone(),
        search: search.clone(),
        limits: config.limits.clone(),
        uploads,
        node: config.node.clone(),
        metrics: metrics.clone(),
        releases_changed: Arc::new(move || {
            if let Some(cache) = seen.upgrade() {
                cache.clear();
            }
        }),
    };
    Runner::new(
        ctx,
        RunnerConfig {
            workers: if config.run_jobs {
                config.limits.concurrent_jobs
            } else {
                0
            },
            stale: config.job_stale,
            max_attempts: config.job_attempts,
        },
    )
}

/// Opens the node's upload store; an unusable folder (checked by `serve` before it starts)
/// falls back to a private temporary folder, logged, so that a node still serves.
fn open_upload_store(dir: &std::path::Path) -> UploadStore {
    match UploadStore::open(dir) {
        Ok(store) => store,
        Err(e) => {
            let fallback =
                std::env::temp_dir().join(format!("hyojun-uploads-{}", std::process::id()));
            tracing::error!(error = %e, fallback = %fallback.display(), "cannot open the upload folder: using a private one");
            match UploadStore::open(&fallback) {
                Ok(store) => store,
                Err(e) => panic!("no upload folder can be opened: {e}"),
            }
        }
    }
}

/// Opens the node's search index; an unusable directory falls back to memory (logged), so
/// a node still serves.
fn open_search_index(location: &Location) -> SearchIndex {
    match SearchIndex::open(location.clone()) {
        Ok(index) => index,
        Err(e) => {
            tracing::error!(error = %e, ?location, "cannot open the search index: keeping it in memory");
            match SearchIndex::open(Location::Memory) {
                Ok(index) => index,
                Err(e) => panic!("an in-memory search index cannot be created: {e}"),
            }
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key: `Authorization: Bearer hyj_…` (see `hyojun keys create`)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hyojun",
        description = "Standard-code registry for Japanese healthcare masters (HOT, 標準病名, JLAC, 看護): lookup, validation, releases and diffs."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorEnvelope))
)]
struct ApiDoc;

/// Registers every documented endpoint.
fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(health::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(systems::list_systems)
        .service(codes::get_code)
        .service(codes::lookup)
        .service(validate::validate)
        .service(search::search)
        .service(releases::list_releases)
        .service(releases::get_release)
        .service(releases::release_changes)
        .service(releases::diff)
        .service(releases::activate)
        .service(uploads::upload_release)
        .service(uploads::get_job)
        .service(uploads::list_jobs)
        .service(keys::list_keys)
        .service(keys::create_key)
        .service(keys::revoke_key)
        .service(keys::audit_log)
        .service(mapping::create_project)
        .service(mapping::list_projects)
        .service(mapping::get_project)
        .service(mapping::upload_local_codes)
        .service(mapping::list_mappings)
        .service(mapping::get_mapping)
        .service(mapping::change_mapping)
        .service(mapping::bulk_change)
        .service(mapping::mapping_history)
        .service(translate::translate)
        .service(mapping::attention)
        .service(mapping::export)
        .service(mapping::import)
        .service(candidates::start_candidates)
        .service(candidates::candidates_job)
        .service(candidates::list_candidates);
}

/// Bad JSON bodies and query strings get the error envelope too (the handlers read JSON with
/// [`json::Json`]; this covers any `web::Json` left).
fn json_config(limits: &crate::limits::Limits) -> web::JsonConfig {
    let limits = limits.clone();
    web::JsonConfig::default()
        .limit(usize::try_from(limits.json_bytes).unwrap_or(usize::MAX))
        .error_handler(move |err, _| {
            use actix_web::error::JsonPayloadError as E;
            match err {
                E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::TooLarge(format!(
                    "the request body is too large: {}",
                    limits.describe(crate::limits::Limit::JsonBytes)
                )),
                E::ContentType => ApiError::UnsupportedMediaType(
                    "request body: send JSON with `Content-Type: application/json`".into(),
                ),
                E::Deserialize(e) => json::json_error(&e),
                other => ApiError::BadRequest(format!("request body: {other}")),
            }
            .into()
        })
}

/// Bodies read whole (local-code lists, decision imports) may be as large as the larger of
/// the JSON limit and the local-code list limit; each handler checks its own.
fn payload_config(limits: &crate::limits::Limits) -> web::PayloadConfig {
    let bytes = limits.json_bytes.max(limits.list_bytes);
    web::PayloadConfig::default().limit(usize::try_from(bytes).unwrap_or(usize::MAX))
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let text = err.to_string();
        let text = text
            .strip_prefix("Query deserialize error: ")
            .unwrap_or(&text);
        ApiError::BadRequest(format!("query string: {}", json::shorten(text))).into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        let text = err.to_string();
        let text = text
            .strip_prefix("Path deserialize error: ")
            .unwrap_or(&text);
        ApiError::BadRequest(format!("path: {}", json::shorten(text))).into()
    })
}

/// The application, as `serve` and the integration tests run it.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = state.metrics.clone();
    let limits = state.config.limits.clone();
    let (json, payload) = (json_config(&limits), payload_config(&limits));
    let (app, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(web::Data::new(state))
        .app_data(json)
        .app_data(payload)
        .app_data(query_config())
        .app_data(path_config())
        .configure(routes)
        .split_for_parts();
    let doc = doc::complete(doc);
    app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc))
        .configure(crate::fhir::configure)
        .default_service(web::to(envelope::no_route))
        .wrap_fn(move |req, srv| {
            let call = envelope::refuse(req, &limits).map(|req| srv.call(req));
            async move {
                match call {
                    Ok(response) => Ok(envelope::enveloped(response.await?)),
                    Err(refused) => Ok(*refused),
                }
            }
        })
        .wrap_fn(move |req, srv| {
            let started = Instant::now();
            let method = req.method().clone();
            let metrics = metrics.clone();
            let response = srv.call(req);
            async move {
                let mut response = response.await?;
                let elapsed = started.elapsed();
                let route = response
                    .request()
                    .match_pattern()
                    .unwrap_or_else(|| "unmatched".to_owned());
                metrics.request(method.as_str(), &route, response.status().as_u16(), elapsed);
                // Server time for clients and benchmarks (the W3C Server-Timing header).
                if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&format!(
                    "app;dur={:.3}",
                    elapsed.as_secs_f64() * 1000.0
                )) {
                    response.headers_mut().insert(
                        actix_web::http::header::HeaderName::from_static("server-timing"),
                        value,
                    );
                }
                Ok(response)
            }
        })
    // No request span middleware: tracing-actix-web's `TracingLogger` (a span and a
    // request id per request, even with the span at DEBUG and so disabled) cost 15 % of
    // the /v1 and FHIR lookup throughput at 16 connections in bench/fhir.sh (2026-12-06:
    // 70,059 against 81,944 and 50,492 against 59,626 requests/s, rounds alternated).
    // Request ids come with issue 18, at a cost measured the same way.
}

/// The OpenAPI document (committed as `openapi/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    doc::complete(doc)
}

/// Serves the API until the process is stopped.
pub async fn serve(store: Store, config: ApiConfig, bind: SocketAddr) -> std::io::Result<()> {
    // The upload folder must be usable before the node accepts uploads.
    let uploads = UploadStore::open(&config.upload_dir)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    tracing::info!(folder = %config.upload_dir.display(), store_id = uploads.id(), "upload store");
    let state = AppState::new(store, config);
    tracing::info!(%bind, anonymous_read = state.config.anonymous_read, node = %state.config.node, "hyojun listening");
    server(state, std::net::TcpListener::bind(bind)?)?.await
}

/// The HTTP/1.1 server of `state` on a bound listener (tests bind port 0): actix-web's
/// defaults (a worker per core, 5 s keep-alive and request-head timeouts, SIGINT/SIGTERM stop
/// it gracefully), each connection wrapped in [`wire::Enveloped`] so that the answers
/// actix-http gives unparsable requests keep the error envelope.
pub fn server(
    state: AppState,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_server::Server> {
    use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
    let url_limit = state.config.limits.url_bytes;
    let server = actix_server::Server::build().listen("hyojun", listener, move || {
        let factory = app(state.clone())
            .into_factory()
            .map_err(|e| e.error_response());
        let http = actix_http::HttpService::build().finish(map_config(factory, |_| {
            actix_web::dev::AppConfig::default()
        }));
        fn_service(move |io: actix_rt::net::TcpStream| async move {
            let peer = io.peer_addr().ok();
            let _ = io.set_nodelay(true);
            Ok::<_, actix_http::error::DispatchError>((
                wire::Enveloped::new(io, url_limit),
                actix_http::Protocol::Http1,
                peer,
            ))
        })
        .and_then(http)
    })?;
    Ok(server.run())
}
