//! The HTTP API: actix handlers, documented with utoipa. One file per resource.

pub mod auth;
pub mod cache;
pub mod candidates;
pub mod code_key;
pub mod codes;
pub mod error;
pub mod health;
pub mod keys;
pub mod mapping;
pub mod ops;
pub mod releases;
pub mod resolve;
pub mod search;
pub mod systems;
pub mod translate;
pub mod uploads;
pub mod validate;
pub mod validate_json;
pub mod warm;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App, HttpServer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ErrorEnvelope};

use crate::search::{Location, SearchIndex};
use crate::store::Store;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Let requests without a key read (lookups, search, validate). Off by default.
    pub anonymous_read: bool,
    /// Where uploads are streamed before their import job reads them.
    pub upload_dir: std::path::PathBuf,
    /// Largest upload (all files of one request together), in bytes.
    pub max_upload_bytes: u64,
    /// This node's name: jobs run on the node that received their files.
    pub node: String,
    /// Load the validation statuses of every code of the current releases in the background
    /// (at start and after each import or activation), so that validation does not wait for
    /// the database. On by default; costs memory (60–70 MB for real HOT9 + 病名 data).
    pub warm_up: bool,
    /// Where this node keeps its search index (each node keeps its own).
    pub search_index: crate::search::Location,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            anonymous_read: false,
            upload_dir: std::path::PathBuf::from("data/uploads"),
            max_upload_bytes: 1024 * 1024 * 1024,
            node: node_name(),
            warm_up: true,
            search_index: crate::search::Location::Memory,
        }
    }
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
    pub metrics: Arc<ops::Metrics>,
    pub cache: Arc<cache::ReadCache>,
    pub search: Arc<SearchIndex>,
    pub translations: Arc<translate::TranslationCache>,
}

impl AppState {
    /// State for one node; starts the poller that keeps cached answers in step with the store.
    pub fn new(store: Store, config: ApiConfig) -> Self {
        // Requests wait briefly for connections, and not at all while the database is down.
        let store = store.for_requests();
        let cache = Arc::new(cache::ReadCache::new(100_000, 1_000_000));
        cache.check_generation(&store);
        cache::ReadCache::start_polling(&cache, store.clone(), config.warm_up);
        mapping::start_rechecking(&cache, store.clone());
        let search = Arc::new(open_search_index(&config.search_index));
        let seen = Arc::downgrade(&cache);
        SearchIndex::start_syncing(&search, store.clone(), move || {
            seen.upgrade().and_then(|c| c.seen_generation())
        });
        AppState {
            store,
            config,
            keys: auth::KeyCache::default(),
            metrics: Arc::new(ops::Metrics::default()),
            cache,
            search,
            translations: Arc::default(),
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

/// JSON 404 for every path no endpoint serves.
async fn no_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such endpoint".into()))
}

/// Bad JSON bodies and query strings get the error envelope too.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(16 * 1024 * 1024)
        .error_handler(|err, _| ApiError::BadRequest(format!("request body: {err}")).into())
}

/// Bodies read whole (validation parses its JSON itself, borrowing the strings) have the
/// JSON limit.
fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::default().limit(16 * 1024 * 1024)
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::BadRequest(format!("query string: {err}")).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _| ApiError::BadRequest(format!("path: {err}")).into())
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
    let (app, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(web::Data::new(state))
        .app_data(json_config())
        .app_data(payload_config())
        .app_data(query_config())
        .app_data(path_config())
        .configure(routes)
        .split_for_parts();
    app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc))
        .default_service(web::to(no_route))
        .wrap_fn(move |req, srv| {
            let started = Instant::now();
            let method = req.method().to_string();
            let metrics = metrics.clone();
            let response = srv.call(req);
            async move {
                let mut response = response.await?;
                let elapsed = started.elapsed();
                let route = response
                    .request()
                    .match_pattern()
                    .unwrap_or_else(|| "unmatched".to_owned());
                metrics.observe(&method, &route, response.status().as_u16(), elapsed);
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
}

/// The OpenAPI document (committed as `openapi/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    doc
}

/// Serves the API until the process is stopped.
pub async fn serve(store: Store, config: ApiConfig, bind: SocketAddr) -> std::io::Result<()> {
    let interrupted = store
        .fail_interrupted_jobs(&config.node)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if interrupted > 0 {
        tracing::warn!(interrupted, node = %config.node, "jobs left unfinished by the last run were marked failed");
    }
    let state = AppState::new(store, config);
    tracing::info!(%bind, anonymous_read = state.config.anonymous_read, node = %state.config.node, "hyojun listening");
    HttpServer::new(move || app(state.clone()))
        .bind(bind)?
        .run()
        .await
}
