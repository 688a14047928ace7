//! The HTTP API: actix handlers, documented with utoipa. One file per resource.

pub mod error;
pub mod health;

use std::net::SocketAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

pub use error::{ApiError, ErrorEnvelope};

use crate::store::Store;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hyojun",
        description = "Standard-code registry for Japanese healthcare masters (HOT, 標準病名, JLAC, 看護)."
    ),
    components(schemas(ErrorEnvelope))
)]
struct ApiDoc;

/// Registers every documented endpoint.
fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(health::healthz);
}

/// JSON 404 for every path no endpoint serves.
async fn no_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such endpoint".into()))
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
    let (app, _) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(web::Data::new(state))
        .configure(routes)
        .split_for_parts();
    app.default_service(web::to(no_route))
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
pub async fn serve(store: Store, bind: SocketAddr) -> std::io::Result<()> {
    let state = AppState { store };
    tracing::info!(%bind, "hyojun listening");
    HttpServer::new(move || app(state.clone()))
        .bind(bind)?
        .run()
        .await
}
